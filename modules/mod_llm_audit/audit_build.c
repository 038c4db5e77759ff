/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The audit record of a finished gateway request, built from the shared
 * per-request object and what httpd knows about the exchange.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "audit_answer.h"
#include "mod_llm_audit.h"
#include "audit/audit_crypt.h"
#include "dialect/llm_dialect.h"

APLOG_USE_MODULE(llm_audit);

const char *llm_audit_derive_decision(const llm_request_t *req, int status)
{
    /* Forwarded, but the exchange failed (the provider's 5xx, or mod_proxy's
     * own 502/503/504): the client got an error, not an answer. */
    if (req && (req->decision == LLM_DECISION_ALLOW
                || req->decision == LLM_DECISION_REDACT)
        && status >= 500) {
        return llm_decision_name(LLM_DECISION_ERROR);
    }
    if (req && req->decision != LLM_DECISION_NONE) {
        return llm_decision_name(req->decision);
    }
    /* Refused before any gateway module decided (mod_oauth2's 401,
     * a Require's 403, httpd's own 400/413): the status says what. */
    switch (status) {
    case HTTP_UNAUTHORIZED:
    case HTTP_FORBIDDEN:
        return llm_decision_name(LLM_DECISION_DENY);
    case HTTP_TOO_MANY_REQUESTS:
        return llm_decision_name(LLM_DECISION_QUOTA);
    case HTTP_BAD_REQUEST:
    case HTTP_NOT_FOUND:
    case HTTP_METHOD_NOT_ALLOWED:
    case HTTP_LENGTH_REQUIRED:
    case HTTP_REQUEST_ENTITY_TOO_LARGE:
    case HTTP_UNSUPPORTED_MEDIA_TYPE:
    case HTTP_UNPROCESSABLE_ENTITY:
        return llm_decision_name(LLM_DECISION_INVALID);
    default:
        break;
    }
    if (status >= 200 && status < 400) {
        return llm_decision_name(LLM_DECISION_ALLOW);
    }
    return llm_decision_name(LLM_DECISION_ERROR);
}

static const char *family_name(llm_family_e f)
{
    switch (f) {
    case LLM_FAMILY_OPENAI:    return "openai";
    case LLM_FAMILY_ANTHROPIC: return "anthropic";
    case LLM_FAMILY_NONE:      break;
    }
    return NULL;
}

/* Where a random request id is kept between the intent and the record. */
#define ID_NOTE "llm-audit-request-id"

static const char *request_id(request_rec *r)
{
    const char *id = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    unsigned char rnd[12];
    int i;
    char *hex;

    if (id && *id) {
        return id;
    }
    if ((id = apr_table_get(r->notes, ID_NOTE)) != NULL) {
        return id;
    }
    /* Without mod_unique_id the row still needs an id that replay can
     * recognise: a random one, fixed now and spooled with the record. */
    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        return apr_psprintf(r->pool, "%" APR_TIME_T_FMT "-%s",
                            r->request_time, r->log_id ? r->log_id : "x");
    }
    hex = apr_palloc(r->pool, sizeof(rnd) * 2 + 1);
    for (i = 0; i < (int)sizeof(rnd); i++) {
        hex[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
    }
    hex[2 * sizeof(rnd)] = '\0';
    apr_table_setn(r->notes, ID_NOTE, hex);
    return hex;
}

/* n in decimal, as "%" APR_INT64_T_FMT prints it; by hand, because a
 * record holds a dozen of these and the formatter cost more than the
 * rest of the record's fields together. */
static const char *i64(apr_pool_t *p, apr_int64_t n)
{
    char tmp[24], *out;
    apr_uint64_t u = n < 0 ? 0 - (apr_uint64_t)n : (apr_uint64_t)n;
    apr_size_t k = 0, i = 0;

    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    out = apr_palloc(p, k + 2);
    if (n < 0) {
        out[i++] = '-';
    }
    while (k) {
        out[i++] = tmp[--k];
    }
    out[i] = '\0';
    return out;
}

static const char *env_or(request_rec *r, const char *v, const char *env)
{
    if (v && *v) {
        return v;
    }
    v = apr_table_get(r->subprocess_env, env);
    return v && *v ? v : NULL;
}

/* The answer as the answer scan left it (audit_answer.h), encrypted as
 * the request body is, under the same limit. */
static void capture_answer(request_rec *r, const llm_audit_srv_t *sc,
                           apr_off_t max, llm_audit_record_t *rec)
{
    const char *answer, *blob, *err = NULL;
    apr_size_t len = 0;
    int truncated = 0;

    if (!(answer = llm_audit_answer_get(r, &len, &truncated))) {
        return;
    }
    if ((apr_off_t)len > max) {
        len = (apr_size_t)max;
        truncated = 1;
    }
    blob = llm_audit_encrypt(r->pool, sc->body_key, sc->body_key_len,
                             rec->v[LLM_AUDIT_F_REQUEST_ID], answer, len,
                             &err);
    if (!blob) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(03360)
                      "answer not captured: %s",
                      err ? err : "encryption failed");
        return;
    }
    rec->v[LLM_AUDIT_F_ANSWER_BODY_MODE] = truncated ? "redacted-truncated"
                                                     : "redacted";
    rec->v[LLM_AUDIT_F_ANSWER_BODY] = blob;
}

static void capture_body(request_rec *r, const llm_request_t *req,
                         const llm_audit_srv_t *sc, const llm_audit_dir_t *dc,
                         llm_audit_record_t *rec)
{
    int mode = llm_audit_bodies(dc);
    apr_off_t max = llm_audit_body_max(dc);
    const char *mode_name, *blob, *body, *err = NULL;
    apr_size_t len;

    if (mode == LLM_AUDIT_BODIES_OFF) {
        return;
    }
    if (!sc->body_key) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(03010)
                      "LLMAuditBodies is on but no LLMAuditBodyKeyFile is "
                      "configured: body not captured");
        return;
    }
    capture_answer(r, sc, max, rec);
    if (!req->body_read || !req->body) {
        return;
    }
    /* req->body is what the provider received; req->body_received what
     * the client sent, before redaction or translation. */
    mode_name = "redacted";
    body = req->body;
    len = req->body_len;
    if (mode == LLM_AUDIT_BODIES_FULL && req->body_received) {
        mode_name = "full";
        body = req->body_received;
        len = req->body_len_received;
    }
    if ((apr_off_t)len > max) {
        len = (apr_size_t)max;
        mode_name = apr_pstrcat(r->pool, mode_name, "-truncated", NULL);
    }
    blob = llm_audit_encrypt(r->pool, sc->body_key, sc->body_key_len,
                             rec->v[LLM_AUDIT_F_REQUEST_ID],
                             body, len, &err);
    if (!blob) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(03011)
                      "body not captured: %s", err ? err : "encryption failed");
        return;
    }
    rec->v[LLM_AUDIT_F_BODY_MODE] = mode_name;
    rec->v[LLM_AUDIT_F_BODY] = blob;
}

/* Who called, when, and what for: the same in the final row and in the
 * intent journaled before the request goes upstream (whose row stands in
 * when a child dies before its log phase). */
static void fill_caller(llm_audit_record_t *rec, request_rec *r,
                        llm_request_t *req)
{
    apr_pool_t *p = r->pool;

    rec->v[LLM_AUDIT_F_TS] = llm_audit_time_format(p, r->request_time);
    rec->v[LLM_AUDIT_F_REQUEST_ID] = request_id(r);
    rec->v[LLM_AUDIT_F_SERVER_NAME] = r->server->server_hostname;
    rec->v[LLM_AUDIT_F_USER_NAME] = req->user && *req->user ? req->user
                                                            : r->user;
    /* The groups as mod_llm_route read them (LLMRouteGroupsClaim), as a
     * JSON array: joined with ',' a group "a,b" would read as two. */
    rec->v[LLM_AUDIT_F_USER_GROUPS] = req->groups_json;
    rec->v[LLM_AUDIT_F_CLIENT_IP] = r->useragent_ip;
    rec->v[LLM_AUDIT_F_USER_AGENT] = apr_table_get(r->headers_in,
                                                   "User-Agent");
    rec->v[LLM_AUDIT_F_METHOD] = r->method;
    rec->v[LLM_AUDIT_F_URI] = r->uri;
    if (req->endpoint != LLM_EP_NONE) {
        rec->v[LLM_AUDIT_F_ENDPOINT] = llm_dialect_endpoint_name(
                                           req->endpoint);
    }
    rec->v[LLM_AUDIT_F_DIALECT] = family_name(req->caller_family);
}

llm_audit_record_t *llm_audit_build(request_rec *r, llm_request_t *req,
                                    const llm_audit_srv_t *sc,
                                    const llm_audit_dir_t *dc)
{
    llm_audit_record_t *rec = apr_pcalloc(r->pool, sizeof(*rec));
    apr_pool_t *p = r->pool;
    apr_time_t now = apr_time_now();
    request_rec *last = r;
    const char *cl, *model_used;
    apr_int64_t bytes_in = 0;
    int f;
    double cost;

    /* What the client got is the last internal redirect's status and
     * bytes (an ErrorDocument), as %>s and %B log them. */
    while (last->next) {
        last = last->next;
    }
    fill_caller(rec, r, req);
    rec->v[LLM_AUDIT_F_MODEL_REQUESTED] = req->model_requested;
    model_used = req->model_used ? req->model_used
                                 : (req->provider ? req->model_requested
                                                  : NULL);
    rec->v[LLM_AUDIT_F_MODEL_USED] = model_used;
    rec->v[LLM_AUDIT_F_PROVIDER] = req->provider;
    rec->v[LLM_AUDIT_F_BALANCER] = env_or(r, req->balancer, "BALANCER_NAME");
    /* mod_proxy_balancer names the member it chose in the environment. */
    rec->v[LLM_AUDIT_F_BALANCER_MEMBER] = env_or(r, NULL,
                                                 "BALANCER_WORKER_NAME");
    rec->v[LLM_AUDIT_F_DECISION] = llm_audit_derive_decision(req,
                                                             last->status);
    rec->v[LLM_AUDIT_F_REASON] = req->reason;
    if (!req->reason && last->status >= 500
        && (req->decision == LLM_DECISION_ALLOW
            || req->decision == LLM_DECISION_REDACT)) {
        rec->v[LLM_AUDIT_F_REASON] = "upstream_error";
    }
    rec->v[LLM_AUDIT_F_FINDINGS] = llm_request_findings_grouped_json(p, req);
    rec->v[LLM_AUDIT_F_FINDING_COUNT] = i64(p, req->findings
                                               ? req->findings->nelts : 0);
    rec->v[LLM_AUDIT_F_HTTP_STATUS] = i64(p, last->status);
    if (req->upstream_status > 0) {
        rec->v[LLM_AUDIT_F_UPSTREAM_STATUS] = i64(p, req->upstream_status);
    }
    rec->v[LLM_AUDIT_F_STREAM] = i64(p, req->stream ? 1 : 0);
    if (req->body_read) {
        bytes_in = (apr_int64_t)req->body_len_received;
    }
    else if ((cl = apr_table_get(r->headers_in, "Content-Length")) != NULL) {
        bytes_in = apr_atoi64(cl);
    }
    rec->v[LLM_AUDIT_F_BYTES_IN] = i64(p, bytes_in);
    rec->v[LLM_AUDIT_F_BYTES_OUT] = i64(p, req->bytes_out > 0
                                           ? (apr_int64_t)req->bytes_out
                                           : (apr_int64_t)last->bytes_sent);
    rec->v[LLM_AUDIT_F_TOKENS_IN] = i64(p, req->tokens_in);
    rec->v[LLM_AUDIT_F_TOKENS_OUT] = i64(p, req->tokens_out);
    rec->v[LLM_AUDIT_F_TOKENS_CACHED] = i64(p, req->tokens_cached);
    cost = llm_audit_cost(sc, model_used, req->tokens_in, req->tokens_cached,
                          req->tokens_out);
    if (cost >= 0) {
        rec->v[LLM_AUDIT_F_COST] = apr_psprintf(p, "%.9f", cost);
    }
    if (req->decision == LLM_DECISION_CACHE_HIT) {
        /* Served from the answer cache: nothing spent (tokens 0, cost 0
         * when priced); the cached answer's usage at today's price. */
        cost = llm_audit_cost(sc, model_used, req->saved_tokens_in,
                              req->saved_tokens_cached,
                              req->saved_tokens_out);
        if (cost >= 0) {
            rec->v[LLM_AUDIT_F_COST_SAVED] = apr_psprintf(p, "%.9f", cost);
        }
    }
    rec->v[LLM_AUDIT_F_LATENCY_US] = i64(p, now - r->request_time);
    if (req->first_byte > 0) {
        rec->v[LLM_AUDIT_F_TTFB_US] = i64(p, req->first_byte
                                             - r->request_time);
    }
    capture_body(r, req, sc, dc, rec);
    /* Caller-controlled text (user agent, URI, model names, claims) may
     * be anything; the database takes UTF-8 only. */
    for (f = 0; f < LLM_AUDIT_F_MAC; f++) {
        if (llm_audit_field_type(f) == LLM_AUDIT_T_TEXT) {
            rec->v[f] = llm_audit_utf8(p, rec->v[f]);
        }
    }
    return rec;
}

llm_audit_record_t *llm_audit_build_intent(request_rec *r,
                                           llm_request_t *req,
                                           const char *chain_id)
{
    llm_audit_record_t *rec = apr_pcalloc(r->pool, sizeof(*rec));
    apr_pool_t *p = r->pool;
    int f;

    fill_caller(rec, r, req);
    rec->v[LLM_AUDIT_F_CHAIN_ID] = chain_id;
    rec->v[LLM_AUDIT_F_DECISION] = llm_decision_name(LLM_DECISION_ERROR);
    rec->v[LLM_AUDIT_F_REASON] = "interrupted";
    for (f = 0; f < LLM_AUDIT_F_MAC; f++) {
        if (llm_audit_field_type(f) == LLM_AUDIT_T_TEXT) {
            rec->v[f] = llm_audit_utf8(p, rec->v[f]);
        }
    }
    return rec;
}
