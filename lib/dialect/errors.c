/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Error bodies in the caller's dialect (docs/architecture.md, Contracts;
 * docs/dialect.md, Error bodies).
 */

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

/* Anthropic's error type for an HTTP status. */
const char *llm_dialect_anthropic_error_type(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 529: return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

/* A JSON string of text that should be UTF-8; a caller's message built
 * from bytes that are not must still give a valid body. */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);

    return j ? j : json_string("(message not valid UTF-8)");
}

/* The findings array, or an empty one when the text given is not an
 * array: a malformed list must not turn into an echo of its content. */
static json_t *findings_array(const char *findings_json)
{
    json_t *f;

    if (!findings_json) {
        return NULL;
    }
    f = json_loads(findings_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(f)) {
        json_decref(f);
        f = json_array();
    }
    return f;
}

char *llm_dialect_error_body(apr_pool_t *p, llm_family_e family, int status,
                             const char *type, const char *code,
                             const char *message, const char *findings_json)
{
    json_t *root, *err, *f;
    char *out;

    if (!message) {
        message = "request refused by the gateway";
    }
    f = findings_array(findings_json);
    err = json_object();
    if (family == LLM_FAMILY_ANTHROPIC) {
        json_object_set_new(err, "type", json_string(
                                llm_dialect_anthropic_error_type(status)));
        if (code) {
            json_object_set_new(err, "code", text(code));
        }
        else if (type) {
            /* The gateway's own reason, kept for clients that show it. */
            json_object_set_new(err, "code", text(type));
        }
        json_object_set_new(err, "message", text(message));
        if (f) {
            json_object_set_new(err, "findings", f);
        }
        root = json_object();
        json_object_set_new(root, "type", json_string("error"));
        json_object_set_new(root, "error", err);
    }
    else {
        json_object_set_new(err, "message", text(message));
        json_object_set_new(err, "type",
                            text(type ? type : "api_error"));
        json_object_set_new(err, "code", code ? text(code)
                                              : json_null());
        json_object_set_new(err, "param", json_null());
        if (f) {
            json_object_set_new(err, "findings", f);
        }
        root = json_object();
        json_object_set_new(root, "error", err);
    }
    out = llm_json_dump(p, root, NULL);
    json_decref(root);
    return out;
}
