/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* The answer's copy for the audit row (audit_answer.h). */

#include <string.h>

#include "httpd.h"
#include "http_request.h"
#include "apr_buckets.h"

#include "llm_keep.h"
#include "audit_answer.h"

/* r->pool userdata: the copy of this request's answer. */
#define KEY "llm-audit-answer"

typedef struct {
    llm_keep_t kept;
    apr_size_t max;
    int truncated;
} answer_copy_t;

/* The answer's first max bytes; what goes past them only marks the copy
 * truncated. */
static void append(request_rec *r, answer_copy_t *c, const char *d,
                   apr_size_t n)
{
    apr_size_t take = n > c->max - c->kept.len ? c->max - c->kept.len : n;

    if (take < n) {
        c->truncated = 1;
    }
    llm_keep(r->pool, &c->kept, d, take, 16384, c->max);
}

static apr_status_t copy_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    answer_copy_t *c = f->ctx;
    apr_bucket *b;
    const char *data;
    apr_size_t n;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        if (c->kept.len >= c->max) {
            if (b->length) {
                c->truncated = 1;
            }
            continue;
        }
        if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
            break;
        }
        append(f->r, c, data, n);
    }
    return ap_pass_brigade(f->next, bb);
}

void llm_audit_answer_insert(request_rec *r, const llm_audit_dir_t *dc)
{
    answer_copy_t *c;

    if (llm_audit_bodies(dc) == LLM_AUDIT_BODIES_OFF) {
        return;
    }
    c = apr_pcalloc(r->pool, sizeof(*c));
    c->max = (apr_size_t)llm_audit_body_max(dc);
    apr_pool_userdata_setn(c, KEY, NULL, r->pool);
    ap_add_output_filter(LLM_AUDIT_ANSWER_FILTER, c, r, r->connection);
}

const char *llm_audit_answer_get(request_rec *r, apr_size_t *len,
                                 int *truncated)
{
    answer_copy_t *c = NULL;

    apr_pool_userdata_get((void **)&c, KEY, r->pool);
    if (!c || !c->kept.len) {
        return NULL;
    }
    *len = c->kept.len;
    *truncated = c->truncated;
    return c->kept.buf;
}

void llm_audit_answer_register(void)
{
    ap_register_output_filter(LLM_AUDIT_ANSWER_FILTER, copy_filter, NULL,
                              LLM_AUDIT_ANSWER_FTYPE);
}
