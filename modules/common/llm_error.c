/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Refusals in the caller's dialect.  A hook that refuses writes the body
 * itself and returns DONE: httpd then finishes the response with the status
 * set here and still runs log_transaction, so the audit row is written.
 */

#include <string.h>

#include "httpd.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"

int llm_request_send_error(request_rec *r, int status, const char *type,
                           const char *code, const char *message,
                           const char *findings_json)
{
    llm_request_t *req = llm_request_get(r, 0);
    llm_family_e family = req && req->caller_family ? req->caller_family
                                                    : LLM_FAMILY_OPENAI;
    const char *body;
    apr_size_t len;

    /* Anthropic errors have no room for our type: their "type" is theirs
     * (permission_error), so a data-policy refusal names itself in code. */
    if (family == LLM_FAMILY_ANTHROPIC
        && (!strcmp(type, "sensitive_data_detected")
            || !strcmp(type, "policy_violation"))) {
        code = type;
    }
    body = llm_dialect_error_body(r->pool, family, status, type, code,
                                  message, findings_json);
    len = strlen(body);

    /* The rest of a body we did not read must not be taken for the next
     * request on this connection. */
    if (!req || !req->body_read) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    r->status = status;
    r->status_line = NULL;
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, len);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return DONE;
}
