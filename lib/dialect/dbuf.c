/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Reusable pool buffers for the stream code: long streams must not grow
 * the request pool with every event.
 */

#include <string.h>

#include "dialect_private.h"

void llm_dbuf_init(llm_dbuf_t *b, apr_pool_t *p, size_t max)
{
    b->p = p;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int llm_dbuf_append(llm_dbuf_t *b, const char *s, size_t n)
{
    size_t need, ncap;
    char *nd;

    if (n > b->max || b->len > b->max - n) {
        return -1;
    }
    need = b->len + n + 1;
    if (need > b->cap) {
        ncap = b->cap ? b->cap : 256;
        while (ncap < need) {
            ncap *= 2;
        }
        if (ncap > b->max + 1) {
            ncap = b->max + 1;
        }
        nd = apr_palloc(b->p, ncap);
        if (b->len) {
            memcpy(nd, b->data, b->len);
        }
        b->data = nd;
        b->cap = ncap;
    }
    if (n) {
        memcpy(b->data + b->len, s, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int llm_dbuf_puts(llm_dbuf_t *b, const char *s)
{
    return llm_dbuf_append(b, s, strlen(s));
}
