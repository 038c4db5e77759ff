/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The one parser for every size and count a directive takes: LLMScanMaxBody,
 * LLMAuditBodyMax, LLMAuditSpoolMaxSize (bytes: K, M, G are powers of 1024)
 * and LLMRouteQuota limits (counts: k, M, G are powers of 1000); and the one
 * for durations (LLMCacheTTL, LLMRouteTokenMaxLifetime).  APR only, no
 * httpd: the unit tests call it directly.
 */

#ifndef LLM_SIZE_H
#define LLM_SIZE_H

#include "apr_pools.h"

/* What K, M and G multiply by. */
typedef enum {
    LLM_SIZE_BYTES = 1024,   /* "16M" = 16 * 1024 * 1024; an optional B */
    LLM_SIZE_COUNT = 1000    /* "200k" = 200000 */
} llm_size_unit_e;

/* Parse arg: decimal digits, then at most one of K, M, G (either case),
 * then for bytes an optional B ("64MB", "512b").  Nothing else: no sign,
 * no blank, no fraction.  The value must lie in [min, max].  Returns NULL
 * and sets *out, or a message from p naming arg and what is wrong, for the
 * caller to prefix with the directive's name. */
const char *llm_size_parse(apr_pool_t *p, const char *arg,
                           llm_size_unit_e unit, apr_int64_t min,
                           apr_int64_t max, apr_int64_t *out);

/* Parse a duration: decimal digits, then at most one of s, m, h, d
 * (seconds without one), from 1 second to max_sec.  Returns NULL and sets
 * *sec, or a message from p naming arg, starting "'arg' is not a
 * duration", for the caller to prefix with the directive's name. */
const char *llm_duration_parse(apr_pool_t *p, const char *arg,
                               apr_int64_t max_sec, apr_int64_t *sec);

#endif /* LLM_SIZE_H */
