/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The documented shape of each endpoint's body, checked before anything is
 * scanned or forwarded, with a message a developer can act on (it becomes
 * the text of a 400).  Liberal where real clients are: only what a
 * provider would refuse, or what the gateway relies on, is checked.
 */

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

static const char *need_model(apr_pool_t *p, json_t *root)
{
    json_t *m = json_object_get(root, "model");

    if (!m) {
        return "missing required field \"model\"";
    }
    if (!json_is_string(m) || json_string_length(m) == 0) {
        return "\"model\" must be a non-empty string";
    }
    return NULL;
}

/* messages: a non-empty array of objects, each with a string role and, if
 * present, content that is a string, an array of objects, or null.  Any
 * role is accepted: Claude Code sends role "system" inside messages, and
 * providers add roles ("developer") faster than gateways learn them. */
static const char *check_messages(apr_pool_t *p, json_t *root,
                                  int allow_empty)
{
    json_t *msgs = json_object_get(root, "messages"), *m, *c, *part;
    size_t i, j;

    if (!msgs) {
        return "missing required field \"messages\"";
    }
    if (!json_is_array(msgs)) {
        return "\"messages\" must be an array";
    }
    if (!allow_empty && json_array_size(msgs) == 0) {
        return "\"messages\" must contain at least one message";
    }
    json_array_foreach(msgs, i, m) {
        if (!json_is_object(m)) {
            return apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "] must be "
                                "an object", i);
        }
        if (!json_is_string(json_object_get(m, "role"))) {
            return apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "].role is "
                                "missing or not a string", i);
        }
        c = json_object_get(m, "content");
        if (c && !json_is_string(c) && !json_is_array(c) && !json_is_null(c)) {
            return apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "].content "
                                "must be a string or an array", i);
        }
        if (json_is_array(c)) {
            json_array_foreach(c, j, part) {
                if (!json_is_object(part)) {
                    return apr_psprintf(p, "messages[%" APR_SIZE_T_FMT
                                        "].content[%" APR_SIZE_T_FMT
                                        "] must be an object", i, j);
                }
            }
        }
    }
    return NULL;
}

static const char *check_string_or_array(json_t *root, const char *field,
                                         const char *missing,
                                         const char *wrong)
{
    json_t *v = json_object_get(root, field);

    if (!v) {
        return missing;
    }
    if (!json_is_string(v) && !json_is_array(v)) {
        return wrong;
    }
    return NULL;
}

static const char *check_tools(apr_pool_t *p, json_t *root)
{
    json_t *tools = json_object_get(root, "tools"), *t;
    size_t i;

    if (!tools || json_is_null(tools)) {
        return NULL;
    }
    if (!json_is_array(tools)) {
        return "\"tools\" must be an array";
    }
    json_array_foreach(tools, i, t) {
        if (!json_is_object(t)) {
            return apr_psprintf(p, "tools[%" APR_SIZE_T_FMT "] must be an "
                                "object", i);
        }
    }
    return NULL;
}

static const char *check_anthropic(apr_pool_t *p, json_t *root, int count)
{
    const char *msg;
    json_t *mt, *sys;

    if ((msg = need_model(p, root)) != NULL) {
        return msg;
    }
    mt = json_object_get(root, "max_tokens");
    if (!count && !mt) {
        return "missing required field \"max_tokens\"";
    }
    if (mt && (!json_is_integer(mt) || json_integer_value(mt) < 1)) {
        return "\"max_tokens\" must be a positive integer";
    }
    sys = json_object_get(root, "system");
    if (sys && !json_is_string(sys) && !json_is_array(sys)) {
        return "\"system\" must be a string or an array of text blocks";
    }
    if ((msg = check_messages(p, root, 0)) != NULL) {
        return msg;
    }
    return check_tools(p, root);
}

const char *llm_dialect_check(apr_pool_t *p, json_t *root, llm_endpoint_e ep)
{
    const char *msg;

    if (ep == LLM_EP_MODELS || ep == LLM_EP_NONE) {
        return NULL;
    }
    if (!json_is_object(root)) {
        return "the request body must be a JSON object";
    }
    /* The gateway decides buffering and translation on it: a "stream"
     * that is not a boolean would be read one way here, another upstream. */
    if (json_object_get(root, "stream")
        && !json_is_boolean(json_object_get(root, "stream"))) {
        return "\"stream\" must be true or false";
    }
    switch (ep) {
    case LLM_EP_OPENAI_CHAT:
        if ((msg = need_model(p, root)) != NULL
            || (msg = check_messages(p, root, 0)) != NULL) {
            return msg;
        }
        return check_tools(p, root);
    case LLM_EP_OPENAI_RESPONSES:
        if ((msg = need_model(p, root)) != NULL
            || (msg = check_string_or_array(root, "input",
                    "missing required field \"input\"",
                    "\"input\" must be a string or an array")) != NULL) {
            return msg;
        }
        return check_tools(p, root);
    case LLM_EP_OPENAI_EMBEDDINGS:
        if ((msg = need_model(p, root)) != NULL) {
            return msg;
        }
        return check_string_or_array(root, "input",
                   "missing required field \"input\"",
                   "\"input\" must be a string or an array");
    case LLM_EP_OPENAI_COMPLETIONS:
        if ((msg = need_model(p, root)) != NULL) {
            return msg;
        }
        return check_string_or_array(root, "prompt",
                   "missing required field \"prompt\"",
                   "\"prompt\" must be a string or an array");
    case LLM_EP_ANTHROPIC_MESSAGES:
        return check_anthropic(p, root, 0);
    case LLM_EP_ANTHROPIC_COUNT_TOKENS:
        return check_anthropic(p, root, 1);
    default:
        return NULL;
    }
}
