/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A bounded cache of texts a rule set scanned clean (no match at all).
 * A coding agent resends its system prompt, tool schemas and whole history
 * with every turn; llm_scan_text is a pure function of the compiled rule
 * set and the text, so a string scanned clean once is clean again, and
 * looking it up costs a hash and a compare instead of a scan.
 *
 * Only the answer "clean" is kept: a text with any match is scanned every
 * time, so findings, redactions and blocks are those of the scan itself.
 * The hash only chooses where to look: an entry holds a copy of the text
 * and a hit needs the same rule set (address and identity), the same
 * length and the same bytes.
 *
 * One cache is shared by the threads of a process: it is cut into shards,
 * each with its own mutex and its own part of the byte budget; no lock is
 * held while a text is scanned.  APR only, no httpd.
 */

#ifndef LLM_CLEAN_CACHE_H
#define LLM_CLEAN_CACHE_H

#include <stddef.h>
#include "apr_pools.h"
#include "apr_tables.h"
#include "scan/llm_scan.h"

typedef struct llm_clean_cache_t llm_clean_cache_t;

/* Below this length a text is scanned, not looked up.  Measured with
 * bench/bench_clean_cache on agent text (docs/scan-engine.md): a hit is
 * 5-14x cheaper than the scan from 32 bytes up, but an entry's header
 * (~60 bytes) and allocation would double the memory of the shortest
 * strings, the keys of tool schemas, for ~100 ns each. */
#define LLM_CLEAN_CACHE_MIN_LEN 64

/* Create a cache of at most budget bytes (texts plus their entries'
 * headers; the index adds about 1% more) in nshards shards (a power of
 * two, 1 to 256), caching texts of min_len bytes or more and at most
 * budget / nshards / 2.  The entries are freed when p is destroyed; the
 * mutexes come from p.  Returns APR_SUCCESS, APR_EINVAL for a budget too
 * small for one shard or a bad count, or the mutex's error. */
apr_status_t llm_clean_cache_create(llm_clean_cache_t **out, apr_pool_t *p,
                                    apr_size_t budget, int nshards,
                                    apr_size_t min_len);

/* llm_scan_text, except that a text this cache holds for rs returns 0
 * (no match) without being scanned, and a text of min_len bytes or more
 * that scans clean is added.  c may be NULL: then it is llm_scan_text.
 * *hit (if hit is not NULL) says whether the scan was skipped. */
int llm_scan_text_cached(llm_clean_cache_t *c, const llm_scan_rules_t *rs,
                         const char *text, size_t len, apr_pool_t *p,
                         apr_array_header_t *out, int *hit);

/* The parts, for tests and the benchmark. */
int llm_clean_cache_has(llm_clean_cache_t *c, const llm_scan_rules_t *rs,
                        const char *text, size_t len);
void llm_clean_cache_add(llm_clean_cache_t *c, const llm_scan_rules_t *rs,
                         const char *text, size_t len);

typedef struct llm_clean_cache_stats_t {
    apr_uint64_t hits;
    apr_uint64_t misses;
    apr_uint64_t added;
    apr_uint64_t evicted;
    apr_size_t entries;
    apr_size_t bytes;       /* counted against the budget */
} llm_clean_cache_stats_t;

/* Counters summed over the shards (each read under its lock). */
void llm_clean_cache_stats(llm_clean_cache_t *c, llm_clean_cache_stats_t *st);

#endif /* LLM_CLEAN_CACHE_H */
