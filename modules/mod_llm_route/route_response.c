/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The provider's answer on its way back: time to first byte, bytes, token
 * usage for quotas and the audit, and -- when the provider speaks the other
 * dialect -- translation, event by event for streams.  Same-dialect answers
 * are passed on bucket by bucket without waiting: only a copy is read.
 * Error answers are held whole (they are small), so that the provider key
 * and the caller's token can be taken out of them (route_scrub.c); what
 * is relayed as it comes is scrubbed as it passes, holding back at most
 * a tail that could begin one of them.
 *
 * The gateway always knows the usage of what it relays: the provider
 * reports it (an OpenAI stream is asked to, route_usage.c), or it is
 * estimated from the text relayed (llm_usage_complete).
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
#include "llm_keep.h"
#include "route_internal.h"
#include "route_scrub.h"

APLOG_USE_MODULE(llm_route);

/* A non-stream answer is parsed for usage (and translated) only up to
 * this size; a bigger one is passed on untouched, its usage estimated
 * from its size, or -- when it needed translating -- refused with a 502. */
#define LLM_RESPONSE_MAX_PARSE (32 * 1024 * 1024)

/* An error answer bigger than this is not relayed (it could not be
 * scrubbed without holding it): the caller gets an error of its own. */
#define LLM_ERROR_MAX_KEEP (1024 * 1024)

typedef struct {
    llm_request_t *req;
    int started;
    int stream;
    int translate;               /* provider family != caller family */
    int error;                   /* status >= 400: held, scrubbed */
    int hold;                    /* nothing goes on before the end */
    int too_big;
    int ended;                   /* EOS seen: the usage is final */
    apr_size_t limit;            /* what keep() holds at most */
    apr_off_t seen;              /* body bytes from the provider */
    llm_sse_translator_t *sse;
    llm_route_secrets_t secrets;
    llm_route_scrubber_t scrubber; /* what is not held whole */
    apr_bucket_brigade *out;
    llm_keep_t kept;             /* non-stream body, when kept */
} response_ctx_t;

static void keep(request_rec *r, response_ctx_t *ctx, const char *d,
                 apr_size_t n)
{
    ctx->seen += n;
    if (ctx->too_big) {
        return;
    }
    if (llm_keep(r->pool, &ctx->kept, d, n, 8192, ctx->limit) != 0) {
        ctx->too_big = 1;
    }
}

/* What the provider reported, completed by estimates where it reported
 * nothing, becomes the request's usage.  Refusals and token counting
 * cost nothing.  r NULL: quietly. */
static void account(request_rec *r, response_ctx_t *ctx, llm_usage_t *u,
                    apr_size_t text_bytes)
{
    llm_request_t *req = ctx->req;
    int reported = u->seen;

    if (req->upstream_status >= 400
        || req->endpoint == LLM_EP_ANTHROPIC_COUNT_TOKENS) {
        return;
    }
    if (llm_usage_complete(u, req->body_len, text_bytes) && r) {
        apr_table_setn(r->notes, "llm-usage-estimated", "1");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(02300)
                      "provider %s reported %s usage; estimated from the "
                      "text relayed: %lld input, %lld output tokens",
                      req->provider, reported ? "incomplete" : "no",
                      u->input_tokens, u->output_tokens);
    }
    req->tokens_in = u->input_tokens;
    req->tokens_out = u->output_tokens;
    req->tokens_cached = u->cached_input_tokens;
}

/* The usage so far, kept current while the answer passes: an answer that
 * never ends (the caller went away mid-stream, the provider's connection
 * broke) is charged what was relayed until then, not nothing.  Quiet (no
 * r): it runs for every brigade. */
static void account_so_far(response_ctx_t *ctx)
{
    llm_usage_t u;

    if (ctx->error) {
        return;
    }
    if (ctx->stream) {
        u = *llm_sse_translator_usage(ctx->sse);
        account(NULL, ctx, &u, llm_sse_translator_text_bytes(ctx->sse));
    }
    else {
        llm_usage_init(&u);
        account(NULL, ctx, &u, (apr_size_t)ctx->seen);
    }
}

static int caller_asked_usage(const llm_request_t *req)
{
    json_t *so;

    if (!req->json) {
        return 0;
    }
    so = json_object_get(req->json, "stream_options");
    return json_is_true(json_object_get(so, "include_usage"));
}

static void start(request_rec *r, response_ctx_t *ctx)
{
    const char *ct = r->content_type;
    llm_request_t *req = ctx->req;
    int include_usage = caller_asked_usage(req);

    ctx->started = 1;
    req->upstream_status = r->status;
    ctx->translate = req->provider_family != req->caller_family;
    ctx->error = r->status >= 400;
    ctx->stream = !ctx->error && ct
                  && !strncasecmp(ct, "text/event-stream", 17);
    ctx->hold = ctx->error || (ctx->translate && !ctx->stream);
    ctx->limit = ctx->error ? LLM_ERROR_MAX_KEEP : LLM_RESPONSE_MAX_PARSE;
    llm_route_answer_secrets(r, &ctx->secrets);
    if (llm_route_scrub_headers(r, &ctx->secrets)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02301)
                      "provider %s answered with a header holding the "
                      "provider key or the caller's token; replaced",
                      req->provider);
    }
    if (ctx->stream) {
        ctx->sse = llm_sse_translator_create_for(r->pool, req->endpoint,
            req->provider_family, include_usage,
            ctx->translate ? req->model_requested : NULL);
        /* The gateway asked for the usage chunk (route_usage.c); a
         * caller that did not ask does not get it. */
        if (!ctx->translate && !include_usage
            && (req->endpoint == LLM_EP_OPENAI_CHAT
                || req->endpoint == LLM_EP_OPENAI_COMPLETIONS)) {
            llm_sse_translator_strip_usage(ctx->sse);
        }
    }
    llm_route_scrubber_init(r->pool, &ctx->scrubber, &ctx->secrets);
    /* A replaced secret changes the length of a relayed answer too. */
    if (ctx->hold || ctx->translate || ctx->secrets.n) {
        apr_table_unset(r->headers_out, "Content-Length");
    }
}

/* An answer of the gateway's own in place of the provider's. */
static const char *own_error(request_rec *r, const llm_request_t *req,
                             int status, const char *code,
                             const char *message)
{
    r->status = status;
    return llm_dialect_error_body(r->pool, req->caller_family, status,
                                  "api_error", code, message, NULL);
}

static void scrub_answer(request_rec *r, response_ctx_t *ctx,
                         const char **text, apr_size_t *tlen)
{
    int hits = 0;

    *text = llm_route_scrub(r->pool, &ctx->secrets, *text, *tlen, tlen,
                            &hits);
    if (hits) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02306)
                      "answer of provider %s held the provider key or the "
                      "caller's token %d time(s); replaced",
                      ctx->req->provider, hits);
    }
}

/* The error answer, held whole: scrubbed, translated if need be. */
static const char *finish_error(request_rec *r, response_ctx_t *ctx,
                                apr_size_t *tlen)
{
    llm_request_t *req = ctx->req;
    const char *buf = llm_kept_text(&ctx->kept);
    apr_size_t len = ctx->kept.len;
    int hits = 0;

    if (ctx->too_big) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02302)
                      "provider %s answered HTTP %d with an error body over "
                      "%d bytes; not relayed", req->provider, r->status,
                      LLM_ERROR_MAX_KEEP);
        *tlen = 0;
        return own_error(r, req, r->status, "upstream_error",
                         apr_psprintf(r->pool, "The provider answered HTTP "
                                      "%d with an error too large to "
                                      "relay.", r->status));
    }
    buf = llm_route_scrub(r->pool, &ctx->secrets, buf, len, &len, &hits);
    if (hits) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02303)
                      "error answer of provider %s (HTTP %d) held the "
                      "provider key or the caller's token %d time(s); "
                      "replaced before relaying", req->provider, r->status,
                      hits);
    }
    if (ctx->translate) {
        *tlen = 0;
        return llm_translate_error_body(r->pool, buf, len,
                                        req->caller_family, r->status);
    }
    *tlen = len;
    return buf;
}

/* Usage and, when needed, the estimate's text from a whole body. */
static void account_body(request_rec *r, response_ctx_t *ctx,
                         llm_usage_t *u)
{
    account(r, ctx, u, u->output_final ? 0
                       : llm_usage_text_bytes(NULL, llm_kept_text(&ctx->kept),
                                              ctx->kept.len));
}

/* The whole non-stream answer has passed: read usage, translate, scrub. */
static void finish_body(request_rec *r, response_ctx_t *ctx,
                        apr_bucket_brigade *bb)
{
    llm_request_t *req = ctx->req;
    const char *err = NULL;
    const char *text = NULL;
    apr_size_t tlen = 0;
    llm_usage_t u;
    json_t *body, *out;

    llm_usage_init(&u);
    if (ctx->error) {
        text = finish_error(r, ctx, &tlen);
    }
    else if (ctx->too_big) {
        /* Too big to read: the provider billed it all the same. */
        account(r, ctx, &u, (apr_size_t)ctx->seen);
        if (!ctx->translate) {
            return;
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02304)
                      "answer of provider %s is over %d MB: too large to "
                      "translate for the caller's dialect; answered 502",
                      req->provider, LLM_RESPONSE_MAX_PARSE >> 20);
        text = own_error(r, req, HTTP_BAD_GATEWAY,
                         "upstream_response_too_large",
                         apr_psprintf(r->pool, "The provider's answer is "
                                      "larger than the %d MB the gateway "
                                      "can translate; ask for a shorter "
                                      "answer.",
                                      LLM_RESPONSE_MAX_PARSE >> 20));
    }
    else if (!ctx->translate) {
        /* Passed on untouched: only its usage is wanted. */
        llm_usage_from_body_text(&u, llm_kept_text(&ctx->kept), ctx->kept.len);
        account_body(r, ctx, &u);
        return;
    }
    else if ((body = llm_json_parse(r->pool, llm_kept_text(&ctx->kept),
                                    ctx->kept.len, &err)) != NULL) {
        llm_usage_from_body(&u, body);
        account_body(r, ctx, &u);
        out = llm_translate_response_for(r->pool, req->endpoint,
                                         req->provider_family, body);
        if (out) {
            if (req->model_requested) {
                json_object_set_new(out, "model",
                                    json_string(req->model_requested));
            }
            text = llm_json_dump(r->pool, out, &tlen);
            /* Held whole anyway: nothing the gateway holds goes back. */
            scrub_answer(r, ctx, &text, &tlen);
        }
    }
    if (!text) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02020)
                      "answer of provider %s could not be translated "
                      "(%s)", req->provider, err ? err : "unknown shape");
        text = own_error(r, req, HTTP_BAD_GATEWAY, "bad_upstream_response",
                         "The provider's answer could not be translated.");
    }
    if (!tlen) {
        tlen = strlen(text);
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(text, tlen, r->pool,
                                                       bb->bucket_alloc));
    ap_set_content_length(r, tlen);
}

static void finish_stream(request_rec *r, response_ctx_t *ctx,
                          apr_bucket_brigade *bb)
{
    const char *o;
    size_t on = 0;
    llm_usage_t u;

    llm_sse_translate_finish(ctx->sse, &o, &on);
    if (on) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_heap_create(o, on, NULL,
                                                           bb->bucket_alloc));
    }
    u = *llm_sse_translator_usage(ctx->sse);
    account(r, ctx, &u, llm_sse_translator_text_bytes(ctx->sse));
}

/* One piece of a stream: translated, or relayed (less a stripped usage
 * chunk).  The bucket is moved to out or deleted. */
static void stream_piece(request_rec *r, response_ctx_t *ctx, apr_bucket *e,
                         const char *data, apr_size_t n)
{
    const char *o;
    size_t on = 0;

    if (llm_sse_translate(ctx->sse, data, n, &o, &on) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02021)
                      "stream event from provider %s over the size limit; "
                      "the output tokens of this stream are estimated from "
                      "its bytes", ctx->req->provider);
    }
    if (o == data && on == n) {
        APR_BUCKET_REMOVE(e);
        APR_BRIGADE_INSERT_TAIL(ctx->out, e);
        return;
    }
    apr_bucket_delete(e);
    if (on) {
        APR_BRIGADE_INSERT_TAIL(ctx->out,
            apr_bucket_heap_create(o, on, NULL, ctx->out->bucket_alloc));
        APR_BRIGADE_INSERT_TAIL(ctx->out,
            apr_bucket_flush_create(ctx->out->bucket_alloc));
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
                finish_stream(r, ctx, ctx->out);
            }
            else {
                finish_body(r, ctx, ctx->out);
            }
            APR_BUCKET_REMOVE(e);
            APR_BRIGADE_INSERT_TAIL(ctx->out, e);
            ctx->ended = 1;
            break;
        }
        if (ctx->hold && APR_BUCKET_IS_FLUSH(e)) {
            /* A flush would send the status line before the answer is
             * known (a 502 must still be possible). */
            apr_bucket_delete(e);
            continue;
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
            stream_piece(r, ctx, e, data, n);
            continue;
        }
        keep(r, ctx, data, n);
        if (ctx->hold) {
            apr_bucket_delete(e);
            continue;
        }
        APR_BUCKET_REMOVE(e);
        APR_BRIGADE_INSERT_TAIL(ctx->out, e);
    }
    apr_brigade_cleanup(bb);
    if (!ctx->ended) {
        account_so_far(ctx);
    }
    if (!ctx->hold
        && (rv = llm_route_scrub_brigade(&ctx->scrubber, ctx->out))
           != APR_SUCCESS) {
        return rv;
    }
    if (ctx->ended && ctx->scrubber.hits) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02350)
                      "%s answer of provider %s held the provider key or "
                      "the caller's token %d time(s); replaced as relayed",
                      ctx->stream ? "streamed" : "non-stream",
                      req->provider, ctx->scrubber.hits);
    }
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
