/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The OpenAI Responses API (what Codex CLI speaks) on an Anthropic model:
 * requests to Anthropic Messages, Anthropic messages back as response
 * objects.  The stream is in sse_responses.c.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "llm_translate.h"
#include "dialect_private.h"

json_t *llm_translate_usage_responses(const llm_usage_t *u)
{
    return json_pack("{s:I,s:{s:I},s:I,s:{s:i},s:I}",
                     "input_tokens", (json_int_t)u->input_tokens,
                     "input_tokens_details", "cached_tokens",
                     (json_int_t)u->cached_input_tokens,
                     "output_tokens", (json_int_t)u->output_tokens,
                     "output_tokens_details", "reasoning_tokens", 0,
                     "total_tokens",
                     (json_int_t)(u->input_tokens + u->output_tokens));
}

json_t *llm_translate_response_object(const char *id, const char *model,
                                      const char *status, json_t *output,
                                      json_t *usage, long long created)
{
    json_t *r = json_pack("{s:s,s:s,s:I,s:s,s:n,s:n,s:s,s:o,s:b,s:s,s:o}",
                          "id", id, "object", "response",
                          "created_at", (json_int_t)created,
                          "status", status, "error", "incomplete_details",
                          "model", model ? model : "",
                          "output", output ? output : json_array(),
                          "parallel_tool_calls", 1,
                          "tool_choice", "auto",
                          "usage", usage ? usage : json_null());

    if (r && status && !strcmp(status, "incomplete")) {
        json_object_set_new(r, "incomplete_details",
                            json_pack("{s:s}", "reason",
                                      "max_output_tokens"));
    }
    return r;
}

static json_t *responses_tools(json_t *tools)
{
    json_t *out = json_array(), *t;
    const char *type;
    size_t i;

    json_array_foreach(tools, i, t) {
        type = llm_dialect_str(t, "type");
        /* Only function tools have an Anthropic equivalent; OpenAI's
         * hosted tools (web_search, ...) and namespaces are left out. */
        if (!type || strcmp(type, "function") || !llm_dialect_str(t, "name")) {
            continue;
        }
        json_array_append_new(out, json_pack("{s:s,s:s*,s:o}",
            "name", llm_dialect_str(t, "name"),
            "description", llm_dialect_str(t, "description"),
            "input_schema", llm_translate_schema_or_empty(
                                json_object_get(t, "parameters"))));
    }
    return out;
}

json_t *llm_translate_responses_to_anthropic(apr_pool_t *p, json_t *req,
                                             const llm_translate_opts_t *opts,
                                             const char **err)
{
    json_t *out, *msgs, *system, *input, *item, *blocks, *v, *tools;
    const char *type, *role, *text, *dummy, *s;
    size_t i;

    if (!err) {
        err = &dummy;
    }
    *err = NULL;
    input = json_object_get(req, "input");
    if (!json_is_object(req) || (!json_is_string(input)
                                 && !json_is_array(input))) {
        *err = "not a responses request";
        return NULL;
    }
    if (json_object_get(req, "previous_response_id")
        && !json_is_null(json_object_get(req, "previous_response_id"))) {
        *err = "\"previous_response_id\" needs the provider's stored "
               "state; an Anthropic model has none: send the whole input";
        return NULL;
    }
    out = json_object();
    msgs = json_array();
    system = json_array();
    json_object_set(out, "model", json_object_get(req, "model"));
    s = llm_dialect_str(req, "instructions");
    if (s && *s) {
        json_array_append_new(system, llm_translate_text_block(s));
    }

    if (json_is_string(input)) {
        blocks = llm_translate_parts_to_blocks(p, input, "input", err);
        llm_translate_push_message(msgs, "user", blocks);
    }
    json_array_foreach(json_is_array(input) ? input : NULL, i, item) {
        type = llm_dialect_str(item, "type");
        role = llm_dialect_str(item, "role");
        if (!type && !role) {
            *err = apr_psprintf(p, "input[%" APR_SIZE_T_FMT "] has neither "
                                "type nor role", i);
            goto fail;
        }
        if (!type || !strcmp(type, "message")) {
            if (!role) {
                continue;
            }
            if (!(blocks = llm_translate_parts_to_blocks(p,
                      json_object_get(item, "content"),
                      apr_psprintf(p, "input[%" APR_SIZE_T_FMT "]", i),
                      err))) {
                goto fail;
            }
            if (!strcmp(role, "system") || !strcmp(role, "developer")) {
                json_array_extend(system, blocks);
                json_decref(blocks);
            }
            else {
                llm_translate_push_message(msgs, !strcmp(role, "assistant")
                                           ? "assistant" : "user", blocks);
            }
        }
        else if (!strcmp(type, "function_call")) {
            blocks = json_array();
            json_array_append_new(blocks, json_pack("{s:s,s:s*,s:s*,s:o}",
                "type", "tool_use", "id", llm_dialect_str(item, "call_id"),
                "name", llm_dialect_str(item, "name"),
                "input", llm_translate_tool_input(
                             llm_dialect_str(item, "arguments"))));
            llm_translate_push_message(msgs, "assistant", blocks);
        }
        else if (!strcmp(type, "function_call_output")) {
            text = llm_translate_content_text(p, json_object_get(item,
                                                                 "output"),
                                              "\n");
            if (!text) {
                *err = apr_psprintf(p, "input[%" APR_SIZE_T_FMT "]: tool "
                                    "output may hold text only", i);
                goto fail;
            }
            blocks = json_array();
            json_array_append_new(blocks, json_pack("{s:s,s:s*,s:s}",
                "type", "tool_result",
                "tool_use_id", llm_dialect_str(item, "call_id"),
                "content", text));
            llm_translate_push_message(msgs, "user", blocks);
        }
        else if (!strcmp(type, "reasoning")) {
            /* OpenAI's encrypted reasoning is for OpenAI models only. */
            continue;
        }
        else {
            *err = apr_psprintf(p, "input[%" APR_SIZE_T_FMT "]: item type "
                                "\"%s\" cannot be sent to an Anthropic model",
                                i, type);
            goto fail;
        }
    }
    if (json_array_size(system)) {
        json_object_set(out, "system", system);
    }
    json_object_set(out, "messages", msgs);

    llm_translate_sampling_to_anthropic(out, req,
                                        json_object_get(req,
                                                        "max_output_tokens"),
                                        opts);
    tools = responses_tools(json_object_get(req, "tools"));
    if (json_array_size(tools)) {
        json_object_set(out, "tools", tools);
        v = llm_translate_tool_choice_to_anthropic(
                json_object_get(req, "tool_choice"),
                json_object_get(req, "parallel_tool_calls"));
        if (v) {
            json_object_set_new(out, "tool_choice", v);
        }
    }
    json_decref(tools);
    json_decref(msgs);
    json_decref(system);
    return llm_dialect_pool_own(p, out);

fail:
    json_decref(msgs);
    json_decref(system);
    json_decref(out);
    return NULL;
}

json_t *llm_translate_anthropic_response_to_responses(apr_pool_t *p,
                                                      json_t *message)
{
    json_t *content = json_object_get(message, "content"), *b, *output,
           *parts, *in;
    const char *type, *id, *stop, *text;
    char *args;
    size_t i;
    llm_usage_t u;

    if (!json_is_object(message) || !json_is_array(content)) {
        return NULL;
    }
    id = llm_dialect_str(message, "id");
    id = id ? id : "gateway";
    output = json_array();
    parts = json_array();
    json_array_foreach(content, i, b) {
        type = llm_dialect_str(b, "type");
        if (type && !strcmp(type, "text")) {
            text = llm_dialect_str(b, "text");
            json_array_append_new(parts, json_pack("{s:s,s:s,s:[]}",
                "type", "output_text", "text", text ? text : "",
                "annotations"));
        }
    }
    if (json_array_size(parts)) {
        json_array_append_new(output, json_pack("{s:s,s:s,s:s,s:s,s:O}",
            "id", apr_pstrcat(p, "msg_", id, NULL), "type", "message",
            "status", "completed", "role", "assistant", "content", parts));
    }
    json_decref(parts);
    json_array_foreach(content, i, b) {
        type = llm_dialect_str(b, "type");
        if (type && !strcmp(type, "tool_use")) {
            in = json_object_get(b, "input");
            args = in ? json_dumps(in, JSON_COMPACT) : NULL;
            json_array_append_new(output, json_pack(
                "{s:s,s:s,s:s,s:s,s:s*,s:s*}",
                "id", apr_pstrcat(p, "fc_", llm_dialect_str(b, "id")
                                  ? llm_dialect_str(b, "id") : "", NULL),
                "type", "function_call", "status", "completed",
                "arguments", args ? args : "{}",
                "call_id", llm_dialect_str(b, "id"),
                "name", llm_dialect_str(b, "name")));
            free(args);
        }
    }
    llm_usage_init(&u);
    llm_usage_from_body(&u, message);
    stop = llm_dialect_str(message, "stop_reason");
    return llm_dialect_pool_own(p, llm_translate_response_object(
        apr_pstrcat(p, "resp_", id, NULL), llm_dialect_str(message, "model"),
        (stop && !strcmp(stop, "max_tokens")) ? "incomplete" : "completed",
        output, llm_translate_usage_responses(&u),
        (long long)apr_time_sec(apr_time_now())));
}
