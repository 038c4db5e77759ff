/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mod_llm_route: recognises gateway endpoints, maps the requested model to
 * a provider and hands the request, with the body mod_llm_scan read, to a
 * mod_proxy balancer with the provider's credentials.  It runs after
 * mod_llm_scan in fixups: nothing is routed that has not been read whole
 * and judged.  What it learns (who calls, which provider) it writes into
 * the shared request object, where mod_llm_audit reads it; it calls no
 * other module on a gateway request's path (its quota rebuild and its
 * self-service page ask mod_llm_audit's optional functions for what the
 * audit table holds).
 */

#include <string.h>

#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_optional_hooks.h"
#include "mod_proxy.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "dialect/llm_translate.h"
#include "route_internal.h"
#include "route_access.h"
#include "route_quota.h"
#include "route_cache.h"
#include "route_quota_store.h"
#include "dialect/llm_names.h"

module AP_MODULE_DECLARE_DATA llm_route_module;

/* The gateway endpoint r->uri names under the location of LLMGateway On,
 * LLM_EP_NONE when it names none. */
static llm_endpoint_e endpoint_of(request_rec *r,
                                  const llm_route_dir_conf_t *dc)
{
    const char *sub = r->uri;
    apr_size_t blen = dc->base ? strlen(dc->base) : 0;

    while (blen && dc->base[blen - 1] == '/') {
        blen--;
    }
    if (blen && !strncmp(r->uri, dc->base, blen)) {
        sub = r->uri + blen;
    }
    return llm_dialect_endpoint(r->method, sub);
}

#define NO_STORAGE_NOTE "llm-route-no-storage"

/* translate_name runs with the <Location> configuration; map_to_storage,
 * next, does not.  A gateway endpoint is no file: say so here, so that
 * map_to_storage can skip the core's directory walk (a stat() of every
 * path component, ~3% of the gateway's CPU per request), the way
 * mod_proxy does for ProxyPass.  <Location> sections still apply. */
static int route_translate_name(request_rec *r)
{
    llm_route_dir_conf_t *dc = llm_route_dir(r);

    if (llm_route_gateway_on(dc) && !r->main
        && endpoint_of(r, dc) != LLM_EP_NONE) {
        apr_table_setn(r->notes, NO_STORAGE_NOTE, "1");
    }
    return DECLINED;
}

static int route_map_to_storage(request_rec *r)
{
    return apr_table_get(r->notes, NO_STORAGE_NOTE) ? OK : DECLINED;
}

/* The only query the providers' APIs define for these endpoints is
 * Anthropic's beta=true.  Anything else is neither forwarded
 * (route_proxy.c) nor logged: the access log writes the request line,
 * so its query is withheld there when it holds more than that. */
static int beta_only(const char *args)
{
    const char *p = args;

    while (*p) {
        const char *e = strchr(p, '&');
        apr_size_t n = e ? (apr_size_t)(e - p) : strlen(p);

        if (n < 5 || strncmp(p, "beta=", 5)
            || !llm_beta_query_ok(p + 5, n - 5)) {
            return 0;
        }
        p += n + (e ? 1 : 0);
    }
    return 1;
}

static void withhold_query(request_rec *r)
{
    const char *q = strchr(r->the_request, '?');
    const char *sp = q ? strchr(q, ' ') : NULL;

    if (q) {
        r->the_request = apr_pstrcat(r->pool,
                                     apr_pstrmemdup(r->pool, r->the_request,
                                                    q - r->the_request),
                                     "?[withheld]", sp ? sp : "", NULL);
    }
    r->args = NULL;
}

/* The path tells the dialect, except for what both dialects share (the
 * model list) and what is no endpoint: there Anthropic's SDKs and Claude
 * Code give themselves away by anthropic-version, or by a key sent as
 * x-api-key (looked at before it is promoted to Authorization below). */
static llm_family_e caller_family(request_rec *r, llm_endpoint_e ep)
{
    if (ep != LLM_EP_MODELS && llm_dialect_family(ep) != LLM_FAMILY_NONE) {
        return llm_dialect_family(ep);
    }
    if (apr_table_get(r->headers_in, "anthropic-version")
        || (apr_table_get(r->headers_in, "x-api-key")
            && !apr_table_get(r->headers_in, "Authorization"))) {
        return LLM_FAMILY_ANTHROPIC;
    }
    return LLM_FAMILY_OPENAI;
}

/* The caller's dialect is known before authentication, so that even a 401
 * can be answered and audited in it. */
static int route_header_parser(request_rec *r)
{
    llm_route_dir_conf_t *dc = llm_route_dir(r);
    llm_request_t *req;

    if (!llm_route_gateway_on(dc) || r->main) {
        return DECLINED;
    }
    req = llm_request_get(r, 1);
    if (r->args && *r->args && !beta_only(r->args)) {
        withhold_query(r);
    }
    req->endpoint = endpoint_of(r, dc);
    req->caller_family = caller_family(r, req->endpoint);
    /* Anthropic clients send their key as x-api-key; here that key is the
     * caller's gateway token, which mod_oauth2 reads as a bearer. */
    if (llm_route_promote_api_key(dc)
        && !apr_table_get(r->headers_in, "Authorization")) {
        const char *k = apr_table_get(r->headers_in, "x-api-key");

        if (k && *k) {
            apr_table_setn(r->headers_in, "Authorization",
                           apr_pstrcat(r->pool, "Bearer ", k, NULL));
        }
    }
    return DECLINED;
}

static int refuse(request_rec *r, llm_request_t *req, int status,
                  llm_decision_e decision, const char *type, const char *code,
                  const char *message)
{
    req->decision = decision;
    req->reason = code;
    return llm_request_send_error(r, status, type, code, message, NULL);
}

/* Runs before mod_llm_scan, so that every refusal after authentication
 * is audited with who asked, and a token the gateway does not accept
 * (no expiry, not valid yet) is refused before its body is read. */
static int route_identity_fixups(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);
    const char *why = NULL;

    if (!req || r->main || r->prev) {
        return DECLINED;
    }
    if (llm_route_take_identity(r, llm_route_dir(r), req, &why) != OK) {
        return refuse(r, req, HTTP_UNAUTHORIZED, LLM_DECISION_DENY,
                      "authentication_error", "invalid_api_key",
                      apr_pstrcat(r->pool, "The gateway did not accept your "
                                  "token (", why, "). Ask the identity "
                                  "provider for a new one.", NULL));
    }
    return DECLINED;
}

/* A request refused before it was routed (by mod_llm_scan's policy, by
 * a header or model access check here) is audited with the provider it
 * was meant for: named at the log phase, before mod_llm_audit's logger
 * (this hook is FIRST, audit's MIDDLE) builds the row from the object. */
static int route_log_provider(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);

    if (!req || req->provider || !req->model_requested) {
        return DECLINED;
    }
    llm_route_assign(r, llm_route_dir(r), llm_route_srv(r->server), req);
    return DECLINED;
}

/* The headers that go to the provider with a meaning for it: a value
 * outside their syntax is refused rather than dropped, so that the caller
 * learns why a feature it asked for is not there.  The value itself is
 * not repeated.  (User-Agent and Accept are dropped instead: they ask
 * the provider for nothing.) */
static const char *bad_protocol_header(request_rec *r)
{
    static const char *const names[] = {
        "anthropic-version", "anthropic-beta", "OpenAI-Beta", NULL
    };
    int i;

    for (i = 0; names[i]; i++) {
        const char *v = apr_table_get(r->headers_in, names[i]);

        if (v && !llm_fwd_header_ok(llm_fwd_header(names[i]), v)) {
            return names[i];
        }
    }
    return NULL;
}

static int route_fixups(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);
    llm_route_dir_conf_t *dc;
    llm_route_server_conf_t *sc;
    llm_provider_t *pv;
    const char *upstream_model, *bad_header;
    const char *path, *args = NULL;
    llm_cache_entry_t *hit;
    apr_size_t sent_len;
    int rv;

    /* Internal redirects (ErrorDocument) share r->pool and so the object;
     * only the request the client sent is routed. */
    if (!req || r->main || r->prev) {
        return DECLINED;
    }
    dc = llm_route_dir(r);
    sc = llm_route_srv(r->server);
    if (req->endpoint == LLM_EP_NONE) {
        /* Codex tries a WebSocket first; 426 makes it fall back to
         * HTTP at once, where 404 would cost it seconds of retries. */
        if (apr_table_get(r->headers_in, "Upgrade")) {
            apr_table_setn(r->headers_out, "Upgrade", "");
            return refuse(r, req, HTTP_UPGRADE_REQUIRED, LLM_DECISION_INVALID,
                          "invalid_request_error", "websocket_not_supported",
                          "This gateway speaks HTTP, not WebSocket: send the "
                          "request as a POST.");
        }
        return refuse(r, req, HTTP_NOT_FOUND, LLM_DECISION_INVALID,
                      "invalid_request_error", "unknown_endpoint",
                      apr_psprintf(r->pool, "%s %s is not an endpoint of this "
                                   "gateway", r->method,
                                   ap_escape_html(r->pool, r->uri)));
    }
    if (req->endpoint == LLM_EP_MODELS) {
        if (r->method_number != M_GET) {
            return refuse(r, req, HTTP_METHOD_NOT_ALLOWED,
                          LLM_DECISION_INVALID, "invalid_request_error",
                          "method_not_allowed", "Use GET for the model list.");
        }
        req->decision = LLM_DECISION_ALLOW;
        r->handler = LLM_MODELS_HANDLER;
        return OK;
    }
    if (!req->body_read || !req->json) {
        /* mod_llm_scan reads and checks every body first; a body it did
         * not see must not leave. */
        return refuse(r, req, HTTP_INTERNAL_SERVER_ERROR, LLM_DECISION_ERROR,
                      "api_error", "body_not_checked",
                      "The gateway did not check this request body, so it "
                      "was not sent.");
    }
    if (!req->model_requested) {
        return refuse(r, req, HTTP_BAD_REQUEST, LLM_DECISION_INVALID,
                      "invalid_request_error", "model_missing",
                      "The request names no model.");
    }
    if ((bad_header = bad_protocol_header(r)) != NULL) {
        return refuse(r, req, HTTP_BAD_REQUEST, LLM_DECISION_INVALID,
                      "invalid_request_error", "invalid_header",
                      apr_psprintf(r->pool, "The %s header does not have the "
                                   "form its API defines, so the request "
                                   "was not sent.", bad_header));
    }
    pv = llm_route_assign(r, dc, sc, req);
    upstream_model = req->model_used;
    /* Before anything else about the route: a model the caller may not
     * use is refused whatever provider would serve it, and decided on
     * the name that provider would be given. */
    if (!llm_route_model_allowed(r, dc, req, req->model_requested,
                                 pv ? upstream_model : NULL)) {
        return refuse(r, req, HTTP_FORBIDDEN, LLM_DECISION_DENY,
                      "permission_error", "model_not_allowed",
                      apr_psprintf(r->pool, "You may not use the model '%s' "
                                   "through this gateway (GET /v1/models "
                                   "lists the models your groups allow).",
                                   req->model_requested));
    }
    if (!pv) {
        return refuse(r, req, HTTP_NOT_FOUND, LLM_DECISION_INVALID,
                      "invalid_request_error", "model_not_found",
                      apr_psprintf(r->pool, "The model '%s' is not available "
                                   "through this gateway.",
                                   req->model_requested));
    }
    if (!pv->key) {
        /* A configuration gap, not an outage: 404, which SDKs do not
         * retry (they retry every 5xx), naming what is missing. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02002)
                      "provider %s has no key; refusing model %s", pv->name,
                      req->model_requested);
        return refuse(r, req, HTTP_NOT_FOUND, LLM_DECISION_ERROR,
                      "invalid_request_error", "provider_not_configured",
                      apr_psprintf(r->pool, "The model '%s' cannot be served: "
                                   "its provider '%s' is not configured on "
                                   "this gateway (it has no credential). "
                                   "GET /v1/models lists the models that can "
                                   "be served.", req->model_requested,
                                   pv->name));
    }
    req->provider_endpoint = llm_translate_target_endpoint(req->endpoint,
                                                           pv->family);
    if (req->provider_endpoint == LLM_EP_NONE) {
        return refuse(r, req, HTTP_BAD_REQUEST, LLM_DECISION_INVALID,
                      "invalid_request_error", "endpoint_not_supported",
                      apr_psprintf(r->pool, "The model '%s' is served by a "
                                   "provider without this endpoint.",
                                   req->model_requested));
    }
    /* A background response is generated after this request has been
     * answered and fetched by later ones: its usage would never reach the
     * quota or the audit row.  Read from the parsed body, so that a name
     * spelt with escapes is the member the provider reads too. */
    if (req->provider_endpoint == LLM_EP_OPENAI_RESPONSES
        && json_is_true(json_object_get((json_t *)req->json,
                                        "background"))) {
        return refuse(r, req, HTTP_BAD_REQUEST, LLM_DECISION_INVALID,
                      "invalid_request_error", "background_not_supported",
                      "Background responses are not supported by this "
                      "gateway: their usage could not be counted. Send "
                      "the request without \"background\": true (stream "
                      "it for long answers).");
    }
    if (!(path = llm_route_provider_path(r, req, pv, upstream_model,
                                         &args))) {
        return refuse(r, req, HTTP_BAD_REQUEST, LLM_DECISION_INVALID,
                      "invalid_request_error", "invalid_model",
                      apr_psprintf(r->pool, "The model '%s' cannot name a "
                                   "deployment of its provider (letters, "
                                   "digits, '.', '_' and '-' only).",
                                   req->model_requested));
    }
    if (llm_route_prepare_body(r, req, pv, upstream_model) != OK) {
        return refuse(r, req, HTTP_BAD_REQUEST, LLM_DECISION_INVALID,
                      "invalid_request_error", "translation_failed",
                      apr_psprintf(r->pool, "The request could not be "
                                   "translated for the provider of '%s'.",
                                   req->model_requested));
    }
    /* Before the quotas: a request that cannot be handed over is not
     * counted.  The replay filter reads req->body when mod_proxy does, so
     * the usage request below still reaches the provider. */
    if (llm_route_replay_body(r, req) != OK) {
        return refuse(r, req, HTTP_INTERNAL_SERVER_ERROR, LLM_DECISION_ERROR,
                      "api_error", "body_not_forwarded",
                      "The gateway could not hand this request to the "
                      "provider from memory, so it was not sent.");
    }
    /* Tokens are estimated from the body as the caller's request made
     * it, before the gateway asks a stream for its usage. */
    sent_len = req->body_len;
    llm_route_ask_usage(r, req);
    /* The body is now exactly what goes upstream: the cache's key. */
    hit = llm_route_cache_lookup(r, dc, req);
    /* Quotas last, just before the provider: a request refused earlier
     * is not counted.  A cached answer counts as a request and spends
     * no tokens. */
    if ((rv = llm_route_quota_check(r, dc, req, sent_len, hit != NULL))
        != OK) {
        return rv;
    }
    if (hit) {
        return llm_route_cache_answer(r, req, hit);
    }
    llm_route_to_proxy(r, req, pv, path, args);
    llm_route_cache_watch_upstream(r, req);
    llm_route_watch_response(r, req);
    llm_route_cache_watch_answer(r, req);
    return OK;
}

/* What this module needs of others.  mod_proxy and its balancer carry
 * every request; mod_llm_scan reads and judges every body, and without it
 * every request with a body would be refused (body_not_checked): both are
 * errors, at apachectl -t already.  The quota rebuild asks mod_llm_audit
 * for its table (LLMRouteQuotaRestore); without it the counters merely
 * start from zero, which is said but does not stop the server. */
static int needs_missing(server_rec *s)
{
    if (!ap_find_linked_module("mod_proxy.c")
        || !ap_find_linked_module("mod_proxy_balancer.c")) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     LLMNO(02004) "mod_llm_route hands requests to mod_proxy "
                     "balancers: load mod_proxy, mod_proxy_http and "
                     "mod_proxy_balancer");
        return 1;
    }
    if (!ap_find_linked_module("mod_llm_scan.c")) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     LLMNO(02005) "mod_llm_route needs mod_llm_scan, which "
                     "reads and checks every request body before it is "
                     "routed: add 'LoadModule llm_scan_module "
                     ".../mod_llm_scan.so'");
        return 1;
    }
    return 0;
}

static void say_missing_peers(server_rec *s)
{
    llm_route_server_conf_t *sc = llm_route_srv(s);

    if (llm_route_quota_restore(sc)
        && !APR_RETRIEVE_OPTIONAL_FN(llm_audit_usage)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(02801)
                     "LLMRouteQuotaRestore On rebuilds the day and month "
                     "quota counters from mod_llm_audit's table, and "
                     "mod_llm_audit is not loaded: they start from zero.  "
                     "Add 'LoadModule llm_audit_module "
                     ".../mod_llm_audit.so' or set LLMRouteQuotaRestore Off");
    }
}

static int route_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    if (needs_missing(s)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (vs = s; vs; vs = vs->next) {
        llm_route_server_conf_t *sc = llm_route_srv(vs);
        int i;

        for (i = 0; i < sc->provider_refs->nelts; i++) {
            const char *name = APR_ARRAY_IDX(sc->provider_refs, i,
                                             const char *);

            if (!llm_route_find_provider(sc, name)) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                             LLMNO(02003) "LLMRouteModel names provider '%s', "
                             "which no LLMRouteProvider defines", name);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
        say_missing_peers(s);
    }
    return OK;
}

static int route_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    say_missing_peers(s);
    for (vs = s; vs; vs = vs->next) {
        llm_route_load_keys(pconf, vs, llm_route_srv(vs));
    }
    return OK;
}

/* route's lines of mod_llm_audit's metrics page: the shared quota
 * store's health and the answer cache's store, each only when used. */
static void llm_route_quota_metrics(request_rec *r)
{
    llm_quota_store_metrics(r);
    llm_route_cache_metrics(r);
}

static void route_register_hooks(apr_pool_t *p)
{
    /* This module knows mod_llm_scan by name (it needs it), never the other
     * way round: its header_parser goes first because it creates the
     * shared object, its routing fixup after scan's because it routes on
     * the body scan reads.  The two are in different hook lists, so
     * naming the same module as successor and predecessor is no cycle. */
    static const char *const scan[] = { "mod_llm_scan.c", NULL };

    ap_hook_check_config(route_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(route_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(route_translate_name, NULL, NULL,
                           APR_HOOK_FIRST);
    ap_hook_map_to_storage(route_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_header_parser(route_header_parser, NULL, scan, APR_HOOK_FIRST);
    /* Who is calling, before anyone else's fixup: by priority, not by
     * name, since a name would place this module's routing fixup too.
     * mod_llm_audit's (REALLY_FIRST + 1) journals the intent with it. */
    ap_hook_fixups(route_identity_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* After mod_llm_scan's, which reads the body it routes on.  mod_proxy's
     * own fixup (FIRST too, its module loaded before ours) has run by then
     * and never sees the proxy: URL set here: mod_proxy_balancer
     * canonicalises it when it picks a member (route_proxy.c). */
    ap_hook_fixups(route_fixups, scan, NULL, APR_HOOK_FIRST);
    APR_REGISTER_OPTIONAL_FN(llm_route_quota_metrics);
    ap_hook_handler(llm_route_models_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(llm_route_self_service_handler, NULL, NULL,
                    APR_HOOK_MIDDLE);
    ap_hook_handler(llm_route_error_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(llm_route_cache_hit_handler, NULL, NULL,
                    APR_HOOK_MIDDLE);
    llm_route_register_replay_filter();
    llm_route_register_response_filter();
    llm_route_cache_register_filters();
    llm_route_cache_register_hooks(p);
    llm_route_quota_register_hooks(p);
    ap_hook_log_transaction(route_log_provider, NULL, NULL, APR_HOOK_FIRST);
    APR_OPTIONAL_HOOK(proxy, fixups, llm_route_proxy_fixups, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(llm_route) = {
    STANDARD20_MODULE_STUFF,
    llm_route_create_dir_conf,
    llm_route_merge_dir_conf,
    llm_route_create_server_conf,
    llm_route_merge_server_conf,
    llm_route_cmds,
    route_register_hooks
};
