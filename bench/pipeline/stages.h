/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* bench_pipeline --stages: the per-stage figures (stages.c); --parse:
 * the parse alone (parse_free.c). */

#ifndef BENCH_STAGES_H
#define BENCH_STAGES_H

/* argv: body files (and --runs=N); prints a table per file.  0 or 2. */
int bench_stages_main(int argc, const char *const *argv);

/* bench_pipeline --parse: the parse and the tree's release alone, with
 * the page faults a request (parse_free.c).  0 or 2. */
int bench_parse_main(int argc, const char *const *argv);

/* Both: the parse trees in the JSON arena, as mod_llm_scan has them in
 * each child, unless argv has --no-arena (to compare).  Says so on
 * stderr when the arena cannot be had. */
void bench_arena_unless_asked(int argc, const char *const *argv);

#endif
