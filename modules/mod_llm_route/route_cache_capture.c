/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Only complete, successful answers are cached.  Two output filters
 * around route's response filter (route_response.c):
 *
 * - LLM_CACHE_UPSTREAM, before it, reads what the provider sends: its
 *   status, and for a stream whether it reached its own end ([DONE],
 *   message_stop, response.completed) without an error event.  The
 *   response filter closes a translated stream properly even when the
 *   provider's broke off, so what the caller gets cannot tell.
 * - LLM_CACHE_STORE, after it and after the answer scan
 *   (LLM_CACHE_STORE_FTYPE), keeps what the caller gets (translated,
 *   scrubbed, scanned) and stores it at the end when the provider's answer
 *   was whole, the caller's status is still 200, the answer scan neither
 *   blocked nor failed it (a blocked stream keeps its 200 and ends with an
 *   error event) and nothing broke on the way (an error bucket: the
 *   provider's connection failed mid-answer).
 *
 * Both pass every bucket on as it comes: the caller waits for nothing.
 */

#include <string.h>

#include <jansson.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_strings.h"

#include "dialect/llm_dialect.h"
#include "dialect/llm_sse.h"
#include "route_internal.h"
#include "route_cache.h"
#include "llm_keep.h"

APLOG_USE_MODULE(llm_route);

#define CACHE_UPSTREAM_FILTER "LLM_CACHE_UPSTREAM"
#define CACHE_STORE_FILTER "LLM_CACHE_STORE"

typedef struct {
    llm_request_t *req;
    llm_cache_pending_t *pd;
    int started;
    int refused;                 /* not to be stored, whatever follows */
    int stream;
    int terminal;                /* the provider's stream reached its end */
    int upstream_ended;          /* EOS seen by the upstream filter */
    llm_sse_parser_t *ps;
    llm_keep_t kept;             /* what the caller gets */
} capture_t;

static int is_stream(request_rec *r)
{
    return r->content_type
           && !strncasecmp(r->content_type, "text/event-stream", 17);
}

/* The provider's own end of a stream, and its error events. */
static int on_upstream_event(void *baton, const llm_sse_event_t *ev)
{
    capture_t *c = baton;
    const char *name = ev->event;

    if (name && (!strcmp(name, "error") || !strcmp(name, "response.failed")
                 || !strcmp(name, "response.incomplete"))) {
        c->refused = 1;
        return 1;
    }
    if (name && (!strcmp(name, "message_stop")
                 || !strcmp(name, "response.completed"))) {
        c->terminal = 1;
        return 0;
    }
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        c->terminal = 1;
        return 0;
    }
    /* A chunk that is an error ({"error": ...}, or an event typed
     * "error" without an event: line). */
    if (strstr(ev->data, "\"error\"")) {
        json_t *d = json_loadb(ev->data, ev->data_len, 0, NULL);
        const char *type = json_string_value(json_object_get(d, "type"));

        if (json_object_get(d, "error")
            || (type && !strcmp(type, "error"))) {
            c->refused = 1;
        }
        json_decref(d);
        return c->refused;
    }
    return 0;
}

static apr_status_t upstream_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    capture_t *c = f->ctx;
    request_rec *r = f->r;
    apr_bucket *e;

    if (!c->started) {
        c->started = 1;
        c->stream = is_stream(r);
        if (r->status != HTTP_OK) {
            c->refused = 1;
        }
        else if (c->stream) {
            c->ps = llm_sse_parser_create(r->pool, 0);
        }
    }
    for (e = APR_BRIGADE_FIRST(bb);
         e != APR_BRIGADE_SENTINEL(bb) && !c->refused;
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t n;

        if (AP_BUCKET_IS_ERROR(e)) {
            c->refused = 1;
        }
        else if (APR_BUCKET_IS_EOS(e)) {
            if (c->ps) {
                llm_sse_parser_finish(c->ps, on_upstream_event, c);
            }
            c->upstream_ended = 1;
        }
        else if (c->ps && !APR_BUCKET_IS_METADATA(e)) {
            if (apr_bucket_read(e, &data, &n, APR_BLOCK_READ) != APR_SUCCESS
                || llm_sse_parser_feed(c->ps, data, n, on_upstream_event,
                                       c) < 0) {
                c->refused = 1;
            }
        }
    }
    if (c->refused) {
        ap_remove_output_filter(f);
    }
    return ap_pass_brigade(f->next, bb);
}

static void keep(capture_t *c, apr_pool_t *p, const char *d, apr_size_t n)
{
    if (llm_keep(p, &c->kept, d, n, 16384, c->pd->max) != 0) {
        c->refused = 1;
    }
}

/* A whole answer that is no error: one JSON object without an error
 * member; a Responses answer whose status says it completed. */
static int body_complete(request_rec *r, capture_t *c)
{
    const char *err = NULL;
    json_t *d = llm_json_parse(r->pool, llm_kept_text(&c->kept), c->kept.len, &err);
    const char *type, *status;

    if (!json_is_object(d) || json_object_get(d, "error")) {
        return 0;
    }
    type = json_string_value(json_object_get(d, "type"));
    status = json_string_value(json_object_get(d, "status"));
    if (type && !strcmp(type, "error")) {
        return 0;
    }
    if (c->req->endpoint == LLM_EP_OPENAI_RESPONSES
        && (!status || strcmp(status, "completed"))) {
        return 0;
    }
    return 1;
}

static void store(request_rec *r, capture_t *c)
{
    llm_request_t *req = c->req;
    const char *head;
    apr_size_t hlen;
    unsigned char *entry;

    if (c->refused || !c->upstream_ended || r->status != HTTP_OK
        || req->upstream_status != HTTP_OK || c->stream != is_stream(r)
        || (req->decision != LLM_DECISION_ALLOW
            && req->decision != LLM_DECISION_REDACT)
        || (c->stream ? !c->terminal : !body_complete(r, c))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(02730)
                      "answer cache: answer not stored (status %d, "
                      "provider %d, decision %s, %s)", r->status,
                      req->upstream_status,
                      llm_decision_name(req->decision),
                      c->refused ? "error, too large or broken"
                                 : "incomplete or refused");
        return;
    }
    /* The answer scan's mark, a word of at most 40 bytes, when it found
     * nothing in this answer. */
    head = apr_psprintf(r->pool, LLM_CACHE_MAGIC " %d %" APR_INT64_T_FMT
                        " %" APR_INT64_T_FMT " %" APR_INT64_T_FMT "%s%s\n",
                        c->stream, req->tokens_in, req->tokens_out,
                        req->tokens_cached,
                        req->answer_clean_mark ? " " : "",
                        req->answer_clean_mark ? req->answer_clean_mark
                                               : "");
    hlen = strlen(head);
    entry = apr_palloc(r->pool, hlen + c->kept.len);
    memcpy(entry, head, hlen);
    if (c->kept.len) {
        memcpy(entry + hlen, c->kept.buf, c->kept.len);
    }
    if (llm_route_cache_put(r, c->pd->key, sizeof(c->pd->key),
                            apr_time_now() + c->pd->ttl, entry,
                            (unsigned int)(hlen + c->kept.len)) == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(02731)
                      "answer cache: stored an answer of %" APR_SIZE_T_FMT
                      " bytes for %" APR_TIME_T_FMT " s", c->kept.len,
                      apr_time_sec(c->pd->ttl));
    }
}

static apr_status_t store_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    capture_t *c = f->ctx;
    request_rec *r = f->r;
    apr_bucket *e;

    for (e = APR_BRIGADE_FIRST(bb);
         e != APR_BRIGADE_SENTINEL(bb) && !c->refused;
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t n;

        if (AP_BUCKET_IS_ERROR(e)) {
            c->refused = 1;
        }
        else if (APR_BUCKET_IS_EOS(e)) {
            store(r, c);
            c->refused = 1;      /* done */
        }
        else if (!APR_BUCKET_IS_METADATA(e)) {
            if (apr_bucket_read(e, &data, &n, APR_BLOCK_READ)
                != APR_SUCCESS) {
                c->refused = 1;
            }
            else {
                keep(c, r->pool, data, n);
            }
        }
    }
    if (c->refused) {
        ap_remove_output_filter(f);
    }
    return ap_pass_brigade(f->next, bb);
}

static capture_t *capture_of(request_rec *r, llm_request_t *req)
{
    llm_cache_pending_t *pd = llm_route_cache_pending(r);
    capture_t *c;

    if (!pd || !pd->store) {
        return NULL;
    }
    c = apr_pcalloc(r->pool, sizeof(*c));
    c->req = req;
    c->pd = pd;
    return c;
}

#define CAPTURE_NOTE "llm_route::cache-capture"

void llm_route_cache_watch_upstream(request_rec *r, llm_request_t *req)
{
    capture_t *c = capture_of(r, req);

    if (c) {
        apr_pool_userdata_setn(c, CAPTURE_NOTE, NULL, r->pool);
        ap_add_output_filter(CACHE_UPSTREAM_FILTER, c, r, r->connection);
    }
}

void llm_route_cache_watch_answer(request_rec *r, llm_request_t *req)
{
    void *c = NULL;

    apr_pool_userdata_get(&c, CAPTURE_NOTE, r->pool);
    if (c) {
        ap_add_output_filter(CACHE_STORE_FILTER, c, r, r->connection);
    }
}

void llm_route_cache_register_filters(void)
{
    ap_register_output_filter(CACHE_UPSTREAM_FILTER, upstream_filter, NULL,
                              AP_FTYPE_RESOURCE);
    ap_register_output_filter(CACHE_STORE_FILTER, store_filter, NULL,
                              LLM_CACHE_STORE_FTYPE);
}
