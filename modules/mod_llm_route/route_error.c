/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Refusals that httpd itself produces before any gateway code runs -- the
 * 401 of mod_oauth2 above all -- reach this handler through
 * ErrorDocument, which keeps r->pool and so the per-request object: the
 * caller gets the error in its own dialect, and the audit knows why.
 */

#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "route_internal.h"

static const char *bearer_description(request_rec *r)
{
    const char *wa = apr_table_get(r->err_headers_out, "WWW-Authenticate");
    const char *d = wa ? ap_strstr_c(wa, "error_description=\"") : NULL;
    const char *e;

    if (!d) {
        return NULL;
    }
    d += 19;
    e = strchr(d, '"');
    return e ? apr_pstrmemdup(r->pool, d, e - d) : NULL;
}

int llm_route_error_handler(request_rec *r)
{
    llm_request_t *req;
    const char *st, *why;
    int status;

    if (!r->handler || strcmp(r->handler, LLM_ERROR_HANDLER)) {
        return DECLINED;
    }
    req = llm_request_get(r, 0);
    st = apr_table_get(r->subprocess_env, "REDIRECT_STATUS");
    if (!req || !r->prev || !st) {
        return HTTP_NOT_FOUND;
    }
    status = atoi(st);
    /* Refused after authentication (Require oauth2_claim ...): the audit row
     * still names who asked, with the groups read the gateway's way. */
    if (!req->user && r->prev->user) {
        const char *ignored;

        llm_route_take_identity(r->prev, llm_route_dir(r->prev), req,
                                &ignored);
    }
    /* mod_proxy_http answers a provider that never replies with 502 and
     * leaves this note: for the caller it is a timeout. */
    if (status == HTTP_BAD_GATEWAY
        && apr_table_get(r->prev->notes, "proxy_timedout")) {
        status = HTTP_GATEWAY_TIME_OUT;
    }
    switch (status) {
    case HTTP_UNAUTHORIZED:
        req->decision = LLM_DECISION_DENY;
        req->reason = "authentication_failed";
        why = bearer_description(r);
        return llm_request_send_error(r, status, "authentication_error",
            "invalid_api_key",
            apr_pstrcat(r->pool, "The gateway did not accept your token",
                        why ? " (" : "", why ? why : "", why ? ")" : "",
                        ". Send a token from the company identity provider "
                        "as 'Authorization: Bearer <token>' or 'x-api-key'.",
                        NULL),
            NULL);
    case HTTP_FORBIDDEN:
        req->decision = LLM_DECISION_DENY;
        req->reason = "forbidden";
        return llm_request_send_error(r, status, "permission_error",
            "forbidden", "Your token does not allow access to this gateway.",
            NULL);
    case HTTP_GATEWAY_TIME_OUT:
        req->decision = LLM_DECISION_ERROR;
        req->reason = "upstream_timeout";
        return llm_request_send_error(r, status, "api_error", "timeout",
            "The provider did not answer in time.", NULL);
    case HTTP_BAD_GATEWAY:
    case HTTP_SERVICE_UNAVAILABLE:
        req->decision = LLM_DECISION_ERROR;
        req->reason = "upstream_unavailable";
        return llm_request_send_error(r, status, "api_error",
            "provider_unavailable",
            "No provider for this model could be reached; try again later.",
            NULL);
    default:
        if (req->decision == LLM_DECISION_NONE) {
            req->decision = status >= 500 ? LLM_DECISION_ERROR
                                          : LLM_DECISION_INVALID;
        }
        return llm_request_send_error(r, status,
            status >= 500 ? "api_error" : "invalid_request_error",
            apr_psprintf(r->pool, "http_%d", status),
            apr_pstrcat(r->pool, "The gateway answered ",
                        ap_get_status_line(status), NULL),
            NULL);
    }
}
