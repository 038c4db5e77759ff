/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The request-body parser behind llm_json_parse(): one pass over the
 * buffer in memory, building a jansson tree.  Private to lib/dialect (and
 * its tests); callers use llm_json_parse().
 */

#ifndef LLM_JSON_FAST_H
#define LLM_JSON_FAST_H

#include <stddef.h>
#include <jansson.h>

typedef struct {
    int line;            /* 1-based, as jansson counts */
    int column;          /* characters (not bytes) into the line */
    int too_deep;        /* refused for nesting alone */
    const char *text;    /* a constant string; never quotes the input */
} llm_json_fast_error_t;

/* Parse buf[0..len) into a new reference, or NULL and *err filled in.
 * Accepts exactly what json_loadb(buf, len, JSON_REJECT_DUPLICATES |
 * JSON_ALLOW_NUL) accepts, minus arrays and objects nested deeper than
 * max_depth (the root container is level 1) and bodies holding a raw NUL
 * byte (jansson drops one read just after a number or a literal); keys
 * keep their order. */
json_t *llm_json_fast_parse(const char *buf, size_t len, int max_depth,
                            llm_json_fast_error_t *err);

/* The loops that read strings, by instruction set: AUTO is the best the
 * CPU has (or, at the first parse, the one the environment's
 * LLM_JSON_FAST_PATH=scalar|sse2|avx2|avx512 names, if the CPU has it).
 * SCALAR is portable C, the others x86-64 only; all give the same trees
 * and errors. */
enum {
    LLM_JSON_PATH_AUTO = 0,
    LLM_JSON_PATH_SCALAR,
    LLM_JSON_PATH_SSE2,
    LLM_JSON_PATH_AVX2,
    LLM_JSON_PATH_AVX512
};

/* Parses from now on use path (for tests and benchmarks; AUTO returns the
 * one in use, choosing it if none is yet): the path in use, or -1 when
 * this CPU or build cannot run it (nothing changed then). */
int llm_json_fast_path(int path);

/* Where the top-level object's member `name` is, without parsing the
 * rest: 1 with its value's span (not validated), 0 when the object has no
 * such member, -1 when buf is not an object this scan can follow.  For
 * answers read only for their usage. */
int llm_json_top_member(const char *buf, size_t len, const char *name,
                        const char **value, size_t *value_len);

/* llm_json_top_member for n names in one walk: found[i] is what
 * llm_json_top_member would return for names[i] (1 with values[i] and
 * value_lens[i] set, 0, or -1); the walk stops once every name is found.
 * Returns -1 when the walk met text it cannot follow, else 0. */
int llm_json_top_members(const char *buf, size_t len,
                         const char *const *names, size_t n,
                         const char **values, size_t *value_lens, int *found);

/* Past the JSON value at p (blanks before it skipped), or NULL; containers
 * are matched by bracket count only (the walk of answer events,
 * answer_walk.c, reads the members it needs with llm_json_top_member). */
const char *llm_json_skip_value(const char *p, const char *end);

#endif
