/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A whole answer kept from the request pool as its buckets pass, up to a
 * limit: route's response filter (to translate it), the answer cache's
 * capture (to store it), the answer scan (to judge it), the restore
 * filter (to put values back) and the audit's copy of the answer (its
 * first bytes, for the row) each hold one.
 */

#ifndef LLM_KEEP_H
#define LLM_KEEP_H

#include "apr.h"
#include "apr_pools.h"

typedef struct {
    char *buf;               /* NUL-terminated when len > 0 */
    apr_size_t len, cap;
} llm_keep_t;

/* Append d[0..n) (growing by doubling from first, never past limit), or
 * -1 when the answer would pass limit: nothing appended. */
int llm_keep(apr_pool_t *p, llm_keep_t *k, const char *d, apr_size_t n,
             apr_size_t first, apr_size_t limit);

/* What was kept, "" when nothing was. */
static APR_INLINE const char *llm_kept_text(const llm_keep_t *k)
{
    return k->buf ? k->buf : "";
}

#endif /* LLM_KEEP_H */
