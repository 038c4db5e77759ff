/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The output filter of reversible redaction.  It sits after every
 * RESOURCE filter -- mod_llm_route's, which translates the provider's
 * answer into the caller's dialect, and the answer scan, which must see
 * the placeholders and never the values they stand for -- and before
 * CONTENT_SET ones such as mod_deflate, which would hide the text.
 *
 * Streams are restored event by event as they pass (an event is held
 * only while the end of its text could still begin a placeholder);
 * non-stream answers are held whole, restored, and get their length.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "llm_keep.h"
#include "scan_restore.h"

APLOG_USE_MODULE(llm_scan);

/* A non-stream answer larger than this goes on as it came, unrestored
 * (the same bound mod_llm_route parses answers to). */
#define RESTORE_MAX_BODY (32 * 1024 * 1024)

typedef struct {
    const llm_restore_map_t *map;
    llm_request_t *req;
    int started;
    int stream;
    int pass;                    /* goes on untouched */
    int too_big;
    llm_restore_stream_t *rs;
    llm_keep_t kept;             /* the non-stream answer */
    apr_bucket_brigade *out;
} restore_ctx_t;

static const char *provider_of(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);

    return req && req->provider ? req->provider : "-";
}

/* mod_llm_route counted the answer's bytes as the provider's answer left
 * it; the caller gets the restored ones. */
static void count_bytes(restore_ctx_t *ctx, apr_size_t out, apr_size_t in)
{
    if (ctx->req) {
        ctx->req->bytes_out += (apr_off_t)out - (apr_off_t)in;
    }
}

static void start(request_rec *r, restore_ctx_t *ctx)
{
    const char *ct = r->content_type;
    const char *ce = apr_table_get(r->headers_out, "Content-Encoding");

    ctx->started = 1;
    ctx->req = llm_request_get(r, 0);
    if (ce && strcasecmp(ce, "identity")) {
        /* The gateway asks providers for plain answers; one that came
         * encoded cannot be read here. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(01301)
                      "answer of provider %s is %s-encoded: placeholders "
                      "of reversible redaction left in it",
                      provider_of(r), ce);
        ctx->pass = 1;
        return;
    }
    ctx->stream = ct && !strncasecmp(ct, "text/event-stream", 17);
    if (ctx->stream) {
        ctx->rs = llm_restore_stream_create(r->pool, ctx->map, 0);
    }
    /* A value is not as long as its placeholder. */
    apr_table_unset(r->headers_out, "Content-Length");
}

static void keep(restore_ctx_t *ctx, request_rec *r, const char *data,
                 apr_size_t n)
{
    if (llm_keep(r->pool, &ctx->kept, data, n, 16384, RESTORE_MAX_BODY)
        != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(01302)
                      "answer of provider %s is over %d MB: placeholders of "
                      "reversible redaction left in it", provider_of(r),
                      RESTORE_MAX_BODY >> 20);
        ctx->too_big = 1;
    }
}

static void finish_body(request_rec *r, restore_ctx_t *ctx, apr_bucket *eos)
{
    const char *out;
    apr_size_t n;
    int count = 0;

    out = llm_restore_body(ctx->map, r->pool, llm_kept_text(&ctx->kept),
                           ctx->kept.len, &n, &count);
    if (n) {
        APR_BUCKET_INSERT_BEFORE(eos, apr_bucket_pool_create(out, n, r->pool,
                                                             eos->list));
    }
    ap_set_content_length(r, n);
    count_bytes(ctx, n, ctx->kept.len);
    if (count) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(01300)
                      "%d placeholder(s) of reversible redaction restored "
                      "in the answer", count);
    }
}

static void stream_out(apr_bucket *before, const char *o, apr_size_t n)
{
    if (n) {
        APR_BUCKET_INSERT_BEFORE(before,
            apr_bucket_heap_create(o, n, NULL, before->list));
    }
}

static apr_status_t restore_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    restore_ctx_t *ctx = f->ctx;
    apr_bucket *e, *next;
    const char *data, *o;
    apr_size_t n, on;
    apr_status_t rv;

    if (!ctx->started) {
        start(r, ctx);
    }
    if (ctx->pass) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = next) {
        next = APR_BUCKET_NEXT(e);
        if (APR_BUCKET_IS_EOS(e)) {
            if (ctx->stream) {
                llm_restore_stream_finish(ctx->rs, &o, &on);
                stream_out(e, o, on);
                count_bytes(ctx, on, 0);
                if (llm_restore_stream_count(ctx->rs)) {
                    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                                  LLMNO(01303) "%d placeholder(s) of "
                                  "reversible redaction restored in the "
                                  "stream", llm_restore_stream_count(ctx->rs));
                }
            }
            else if (ctx->too_big) {
                /* what was kept went on already */
            }
            else {
                finish_body(r, ctx, e);
            }
            break;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            if (!ctx->stream && !ctx->too_big && APR_BUCKET_IS_FLUSH(e)) {
                /* Nothing of a held answer can go before its end. */
                apr_bucket_delete(e);
            }
            continue;
        }
        if ((rv = apr_bucket_read(e, &data, &n, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        if (ctx->stream) {
            llm_restore_stream_feed(ctx->rs, data, n, &o, &on);
            if (o == data && on == n) {
                continue;        /* goes on as it came */
            }
            if (llm_restore_stream_failed(ctx->rs) && o != data) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(01304)
                              "stream event of provider %s over the size "
                              "limit: placeholders after it not restored",
                              provider_of(r));
            }
            stream_out(e, o, on);
            count_bytes(ctx, on, n);
            apr_bucket_delete(e);
            continue;
        }
        if (ctx->too_big) {
            continue;
        }
        keep(ctx, r, data, n);
        if (ctx->too_big) {
            /* Everything kept goes on before this bucket, untouched. */
            if (ctx->kept.len) {
                APR_BUCKET_INSERT_BEFORE(e, apr_bucket_pool_create(
                    ctx->kept.buf, ctx->kept.len, r->pool, e->list));
            }
            continue;
        }
        apr_bucket_delete(e);
    }
    if (APR_BRIGADE_EMPTY(bb)) {
        return APR_SUCCESS;
    }
    return ap_pass_brigade(f->next, bb);
}

void llm_scan_restore_answer(request_rec *r, const llm_restore_map_t *map)
{
    restore_ctx_t *ctx;

    if (!map || !llm_restore_map_count(map)) {
        return;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->map = map;
    ap_add_output_filter(LLM_RESTORE_FILTER, ctx, r, r->connection);
}

void llm_scan_register_restore_filter(void)
{
    /* After RESOURCE (translation, the answer scan), before CONTENT_SET
     * (compression): see the top of this file. */
    ap_register_output_filter(LLM_RESTORE_FILTER, restore_filter, NULL,
                              (ap_filter_type)(AP_FTYPE_CONTENT_SET - 1));
}
