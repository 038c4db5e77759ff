/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Provider error bodies, rewritten in the caller's dialect.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "llm_translate.h"
#include "dialect_private.h"

/* OpenAI's error type for an Anthropic one. */
static const char *openai_type(const char *anthropic_type, int status)
{
    if (anthropic_type) {
        if (!strcmp(anthropic_type, "rate_limit_error")) {
            return "rate_limit_exceeded";
        }
        if (!strcmp(anthropic_type, "api_error")
            || !strcmp(anthropic_type, "overloaded_error")
            || !strcmp(anthropic_type, "timeout_error")) {
            return "server_error";
        }
        if (!strcmp(anthropic_type, "not_found_error")) {
            return "invalid_request_error";
        }
        return anthropic_type;
    }
    if (status == 429) {
        return "rate_limit_exceeded";
    }
    return status >= 500 ? "server_error" : "invalid_request_error";
}

char *llm_translate_error_body(apr_pool_t *p, const char *buf, size_t len,
                               llm_family_e to, int status)
{
    json_t *root = (buf && len) ? json_loadb(buf, len, 0, NULL) : NULL;
    json_t *err = json_object_get(root, "error");
    const char *message = NULL, *type = NULL, *code = NULL;
    char *out;

    if (json_is_object(err)) {
        /* Both families nest the details under "error". */
        message = llm_dialect_str(err, "message");
        type = llm_dialect_str(err, "type");
        code = llm_dialect_str(err, "code");
    }
    else if (json_is_string(err)) {
        message = json_string_value(err);
    }
    else if (llm_dialect_str(root, "message")) {
        message = llm_dialect_str(root, "message");
    }
    if (!message) {
        /* Not JSON (a proxy's HTML page) or no message in it: never pass
         * unknown bytes on, say what happened. */
        message = apr_psprintf(p, "the provider answered HTTP %d", status);
    }
    if (to == LLM_FAMILY_ANTHROPIC) {
        out = llm_dialect_error_body(p, to, status, type, code, message,
                                     NULL);
    }
    else {
        /* An Anthropic body has its type under error.type as well; an
         * OpenAI one keeps its own type and code. */
        const char *rtype = llm_dialect_str(root, "type");

        if (rtype && !strcmp(rtype, "error")) {
            out = llm_dialect_error_body(p, to, status,
                                         openai_type(type, status), NULL,
                                         message, NULL);
        }
        else {
            out = llm_dialect_error_body(p, to, status,
                                         type ? type
                                              : openai_type(NULL, status),
                                         code, message, NULL);
        }
    }
    json_decref(root);
    return out;
}
