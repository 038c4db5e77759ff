/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * The provider's answer on its way back: time to first byte, bytes, token
 * usage for quotas and the audit, and -- when the provider speaks the other
 * dialect -- translation, event by event for streams.  Same-dialect answers
 * are passed on bucket by bucket without waiting: only a copy is read.
 */

#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"
#include "apr_strings.h"

#include "dialect/llm_dialect.h"
#include "dialect/llm_sse.h"
#include "dialect/llm_translate.h"
#include "dialect/llm_usage.h"
#include "route_internal.h"

APLOG_USE_MODULE(llm_route);

/* A non-stream answer is parsed for usage (and translated) only up to
 * this size; a bigger one is passed on untouched, its usage unknown. */
#define LLM_RESPONSE_MAX_PARSE (32 * 1024 * 1024)

typedef struct {
    llm_request_t *req;
    int started;
    int stream;
    int translate;               /* provider family != caller family */
    int too_big;
    llm_sse_translator_t *sse;
    apr_bucket_brigade *out;
    char *buf;                   /* non-stream body, when kept */
    apr_size_t len, cap;
} response_ctx_t;

static void keep(request_rec *r, response_ctx_t *ctx, const char *d,
                 apr_size_t n)
{
    if (ctx->too_big) {
        return;
    }
    if (ctx->len + n > LLM_RESPONSE_MAX_PARSE) {
        ctx->too_big = 1;
        return;
    }
    if (ctx->len + n > ctx->cap) {
        apr_size_t cap = ctx->cap ? ctx->cap * 2 : 8192;
        char *nb;

        while (cap < ctx->len + n) {
            cap *= 2;
        }
        nb = apr_palloc(r->pool, cap + 1);
        if (ctx->len) {
            memcpy(nb, ctx->buf, ctx->len);
        }
        ctx->buf = nb;
        ctx->cap = cap;
    }
    memcpy(ctx->buf + ctx->len, d, n);
    ctx->len += n;
}

static void take_usage(llm_request_t *req, const llm_usage_t *u)
{
    if (u && u->seen) {
        req->tokens_in = u->input_tokens;
        req->tokens_out = u->output_tokens;
        req->tokens_cached = u->cached_input_tokens;
    }
}

static void start(request_rec *r, response_ctx_t *ctx)
{
    const char *ct = r->content_type;
    llm_request_t *req = ctx->req;

    ctx->started = 1;
    req->upstream_status = r->status;
    ctx->stream = ct && !strncasecmp(ct, "text/event-stream", 17);
    ctx->translate = req->provider_family != req->caller_family;
    if (ctx->stream) {
        int include_usage = 0;

        if (req->json) {
            json_t *so = json_object_get(req->json, "stream_options");

            include_usage = json_is_true(json_object_get(so,
                                                         "include_usage"));
        }
        ctx->sse = llm_sse_translator_create_for(r->pool, req->endpoint,
            req->provider_family, include_usage,
            ctx->translate ? req->model_requested : NULL);
    }
    if (ctx->translate) {
        apr_table_unset(r->headers_out, "Content-Length");
    }
}

/* The whole non-stream answer is in ctx->buf: read usage, translate. */
static void finish_body(request_rec *r, response_ctx_t *ctx,
                        apr_bucket_brigade *bb)
{
    llm_request_t *req = ctx->req;
    const char *err = NULL;
    json_t *body;
    json_t *out = NULL;
    char *text = NULL;
    apr_size_t tlen = 0;

    if (ctx->too_big) {
        return;
    }
    if (ctx->translate && r->status >= 400) {
        text = llm_translate_error_body(r->pool, ctx->buf ? ctx->buf : "",
                                        ctx->len, req->caller_family,
                                        r->status);
        tlen = strlen(text);
    }
    else if (!ctx->translate) {
        /* Passed on untouched: only its usage is wanted. */
        llm_usage_t u;

        llm_usage_init(&u);
        llm_usage_from_body_text(&u, ctx->buf ? ctx->buf : "", ctx->len);
        take_usage(req, &u);
    }
    else if ((body = llm_json_parse(r->pool, ctx->buf ? ctx->buf : "",
                                    ctx->len, &err)) != NULL) {
        llm_usage_t u;

        llm_usage_init(&u);
        llm_usage_from_body(&u, body);
        take_usage(req, &u);
        if (ctx->translate) {
            out = llm_translate_response_for(r->pool, req->endpoint,
                                             req->provider_family, body);
            if (out) {
                if (req->model_requested) {
                    json_object_set_new(out, "model",
                                        json_string(req->model_requested));
                }
                text = llm_json_dump(r->pool, out, &tlen);
            }
        }
    }
    if (ctx->translate) {
        if (!text) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02020)
                          "answer of provider %s could not be translated "
                          "(%s)", req->provider, err ? err : "unknown shape");
            text = llm_dialect_error_body(r->pool, req->caller_family,
                                          HTTP_BAD_GATEWAY, "api_error",
                                          "bad_upstream_response",
                                          "The provider's answer could not "
                                          "be translated.", NULL);
            tlen = strlen(text);
            r->status = HTTP_BAD_GATEWAY;
        }
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(text, tlen,
                                r->pool, bb->bucket_alloc));
        ap_set_content_length(r, tlen);
    }
}

static apr_status_t response_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    response_ctx_t *ctx = f->ctx;
    llm_request_t *req = ctx->req;
    apr_bucket *e, *next;
    apr_status_t rv;

    if (!ctx->started) {
        start(r, ctx);
        ctx->out = apr_brigade_create(r->pool, f->c->bucket_alloc);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = next) {
        const char *data;
        apr_size_t n;

        next = APR_BUCKET_NEXT(e);
        if (APR_BUCKET_IS_EOS(e)) {
            if (ctx->stream) {
                const char *o;
                size_t on = 0;

                llm_sse_translate_finish(ctx->sse, &o, &on);
                if (ctx->translate && on) {
                    APR_BRIGADE_INSERT_TAIL(ctx->out,
                        apr_bucket_heap_create(o, on, NULL,
                                               f->c->bucket_alloc));
                }
                take_usage(req, llm_sse_translator_usage(ctx->sse));
            }
            else {
                finish_body(r, ctx, ctx->out);
            }
            APR_BUCKET_REMOVE(e);
            APR_BRIGADE_INSERT_TAIL(ctx->out, e);
            break;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            APR_BUCKET_REMOVE(e);
            APR_BRIGADE_INSERT_TAIL(ctx->out, e);
            continue;
        }
        if ((rv = apr_bucket_read(e, &data, &n, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        if (n && !req->first_byte) {
            req->first_byte = apr_time_now();
        }
        if (ctx->stream) {
            const char *o;
            size_t on = 0;

            if (llm_sse_translate(ctx->sse, data, n, &o, &on) != 0) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02021)
                              "stream event from provider %s over the size "
                              "limit; usage of this stream is not known",
                              req->provider);
            }
            if (ctx->translate) {
                apr_bucket_delete(e);
                if (on) {
                    APR_BRIGADE_INSERT_TAIL(ctx->out,
                        apr_bucket_heap_create(o, on, NULL,
                                               f->c->bucket_alloc));
                    APR_BRIGADE_INSERT_TAIL(ctx->out,
                        apr_bucket_flush_create(f->c->bucket_alloc));
                }
                continue;
            }
        }
        else {
            keep(r, ctx, data, n);
            if (ctx->translate && !ctx->too_big) {
                apr_bucket_delete(e);
                continue;
            }
        }
        APR_BUCKET_REMOVE(e);
        APR_BRIGADE_INSERT_TAIL(ctx->out, e);
    }
    apr_brigade_cleanup(bb);
    if (APR_BRIGADE_EMPTY(ctx->out)) {
        return APR_SUCCESS;
    }
    {
        apr_off_t len = 0;

        apr_brigade_length(ctx->out, 0, &len);
        if (len > 0) {
            req->bytes_out += len;
        }
    }
    rv = ap_pass_brigade(f->next, ctx->out);
    apr_brigade_cleanup(ctx->out);
    return rv;
}

void llm_route_watch_response(request_rec *r, llm_request_t *req)
{
    response_ctx_t *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

    ctx->req = req;
    ap_add_output_filter(LLM_RESPONSE_FILTER, ctx, r, r->connection);
}

void llm_route_register_response_filter(void)
{
    ap_register_output_filter(LLM_RESPONSE_FILTER, response_filter, NULL,
                              AP_FTYPE_RESOURCE);
}
