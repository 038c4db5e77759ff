/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mod_llm_scan: reads the whole body of every gateway request in fixups,
 * parses it once, scans every string a provider would see and blocks,
 * redacts or records what it finds.  It calls no other module and orders
 * its hooks by no other's name: it works on the shared request object
 * (llm_gateway.h) that mod_llm_route creates for the gateway's endpoints,
 * and leaves its verdict and the body there; mod_llm_route routes nothing
 * this module has not read whole and judged.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "scan/llm_scan.h"
#include "scan_config.h"
#include "scan_arena.h"
#include "scan_clean.h"
#include "scan_body.h"
#include "scan_policy.h"
#include "scan_names.h"
#include "scan_answer.h"
#include "scan_restore.h"

module AP_MODULE_DECLARE_DATA llm_scan_module;

static int invalid(request_rec *r, llm_request_t *req, int status,
                   const char *code, const char *message)
{
    req->decision = LLM_DECISION_INVALID;
    req->reason = code;
    return llm_request_send_error(r, status, "invalid_request_error", code,
                                  message, NULL);
}

static int has_body(llm_endpoint_e ep)
{
    return ep != LLM_EP_NONE && ep != LLM_EP_MODELS;
}

/* The User-Agent goes into the access log of every request, refused or
 * not: it is made safe as soon as the headers are read. */
static int scan_header_parser(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);

    if (!req || r->main || r->prev) {
        return DECLINED;
    }
    llm_scan_check_user_agent(r, req, llm_scan_srv(r->server)->rules,
                              llm_scan_dir(r));
    return DECLINED;
}

static int scan_fixups(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);
    llm_scan_dir_conf_t *dc;
    llm_scan_server_conf_t *sc;
    const char *why = NULL, *err = NULL;
    llm_decision_e decision;
    llm_restore_map_t *restore = NULL;
    int rc;

    if (!req || !has_body(req->endpoint) || r->method_number != M_POST
        || req->body_read || r->main || r->prev) {
        return DECLINED;
    }
    dc = llm_scan_dir(r);
    sc = llm_scan_srv(r->server);

    rc = llm_scan_read_body(r, req, llm_scan_max_body(dc),
                            llm_scan_inflate_on(dc), &why);
    if (rc != OK) {
        return invalid(r, req, rc,
                       rc == HTTP_REQUEST_ENTITY_TOO_LARGE ? "request_too_large"
                       : rc == HTTP_UNSUPPORTED_MEDIA_TYPE
                           ? "unsupported_content_encoding"
                       : rc == HTTP_REQUEST_TIME_OUT ? "request_timeout"
                           : "invalid_body", why);
    }
    req->json = llm_json_parse(r->pool, req->body, req->body_len, &err);
    if (!req->json) {
        return invalid(r, req, HTTP_BAD_REQUEST, "invalid_json",
                       apr_pstrcat(r->pool, "The request body is not valid "
                                   "JSON: ", err, NULL));
    }
    if ((err = llm_dialect_check(r->pool, req->json, req->endpoint)) != NULL) {
        return invalid(r, req, HTTP_BAD_REQUEST, "invalid_request", err);
    }
    /* The name is set on req only once it has passed: the audit row,
     * the metrics and the error log read it from there. */
    if (llm_scan_check_model(r, req, sc->rules, dc,
                             llm_dialect_model(req->json),
                             json_string_length(json_object_get(req->json,
                                                                "model")))
        != OK) {
        return invalid(r, req, HTTP_BAD_REQUEST, "invalid_model",
                       "The model name is not one: a model is named with "
                       "letters, digits and . _ : @ - / (at most 128), "
                       "and holds no key or personal data.");
    }
    req->model_requested = llm_dialect_model(req->json);
    req->stream = llm_dialect_is_stream(req->json);

    if (!llm_scan_enabled(dc)) {
        decision = LLM_DECISION_ALLOW;
    }
    else {
        decision = llm_scan_apply_policy(r, req, sc->rules, dc, &err,
                                         &restore);
        if (err) {
            return invalid(r, req, HTTP_BAD_REQUEST, "invalid_request", err);
        }
    }
    /* A User-Agent with a finding went on redacted (scan_names.c). */
    if (decision == LLM_DECISION_ALLOW && req->findings->nelts
        && !strcmp(APR_ARRAY_IDX(req->findings, 0, llm_finding_t).location,
                   "header.User-Agent")) {
        decision = LLM_DECISION_REDACT;
    }
    req->decision = decision;
    /* The findings text is built only when it will be logged. */
    if (req->findings->nelts && APLOGrinfo(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMNO(01003)
                      "%d finding(s), decision %s: %s", req->findings->nelts,
                      llm_decision_name(decision),
                      llm_request_findings_json(r->pool, req));
    }
    switch (decision) {
    case LLM_DECISION_BLOCK:
        return llm_scan_send_block(r, req);
    case LLM_DECISION_ERROR:
        return llm_request_send_error(r, HTTP_INTERNAL_SERVER_ERROR,
                                      "api_error", "scan_failed",
                                      "The gateway could not check this "
                                      "request, so it was not sent.", NULL);
    case LLM_DECISION_REDACT: {
        apr_size_t len;
        const char *body = llm_json_dump(r->pool, req->json, &len);

        llm_request_set_body(r, req, body, len);
        llm_scan_restore_answer(r, restore);
        break;
    }
    default:
        break;
    }
    llm_scan_answer_insert(r, req, sc->rules, dc);
    return OK;
}

/* Without mod_llm_route no request is a gateway request (LLMGateway is
 * its directive, and it creates the shared object): this module then
 * checks nothing.  Said at apachectl -t and in the error log of every
 * start; not an error, so that the modules can be loaded one by one. */
static void say_missing_peers(server_rec *s)
{
    if (!ap_find_linked_module("mod_llm_route.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(01100)
                     "mod_llm_scan checks the requests mod_llm_route marks "
                     "as gateway requests (LLMGateway On), and mod_llm_route "
                     "is not loaded: no request is checked.  Add "
                     "'LoadModule llm_route_module .../mod_llm_route.so'");
    }
}

/* The rule sets are built when the configuration is checked, which also
 * happens at apachectl -t: a duplicate rule id or an action for a rule
 * that does not exist is reported there, not at the next restart. */
static int scan_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        llm_scan_server_conf_t *sc = llm_scan_srv(vs);
        const char *err;

        if ((err = llm_scan_build_rules(pconf, sc)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                         LLMNO(01005) "mod_llm_scan rules of %s:%u: %s",
                         vs->server_hostname ? vs->server_hostname : "*",
                         vs->port, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
        say_missing_peers(s);
    }
    return OK;
}

static int scan_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        say_missing_peers(s);
    }
    return OK;
}

static void scan_register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(scan_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(scan_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(llm_scan_arena_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
    ap_hook_child_init(llm_scan_clean_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
    ap_hook_child_init(llm_scan_answer_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
    /* This module names no other: mod_llm_route, which creates the shared
     * object and routes on the body read here, places its header_parser
     * before this one and its routing fixup after it. */
    ap_hook_fixups(scan_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_header_parser(scan_header_parser, NULL, NULL, APR_HOOK_FIRST);
    llm_scan_answer_register();
    llm_scan_register_restore_filter();
}

AP_DECLARE_MODULE(llm_scan) = {
    STANDARD20_MODULE_STUFF,
    llm_scan_create_dir_conf,
    llm_scan_merge_dir_conf,
    llm_scan_create_server_conf,
    llm_scan_merge_server_conf,
    llm_scan_cmds,
    scan_register_hooks
};
