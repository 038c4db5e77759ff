/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Answers kept whole, from the request pool (llm_keep.h).
 */

#include <string.h>

#include "llm_keep.h"

int llm_keep(apr_pool_t *p, llm_keep_t *k, const char *d, apr_size_t n,
             apr_size_t first, apr_size_t limit)
{
    apr_size_t cap;
    char *nb;

    if (n > limit || k->len > limit - n) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    if (k->len + n > k->cap) {
        cap = k->cap ? k->cap * 2 : first;
        while (cap < k->len + n) {
            cap *= 2;
        }
        if (cap > limit) {
            cap = limit;            /* len + n <= limit: still room */
        }
        nb = apr_palloc(p, cap + 1);
        if (k->len) {
            memcpy(nb, k->buf, k->len);
        }
        k->buf = nb;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, d, n);
    k->len += n;
    k->buf[k->len] = '\0';
    return 0;
}
