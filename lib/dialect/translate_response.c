/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Non-stream responses and stop reasons: Anthropic message <-> OpenAI
 * chat.completion.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "llm_translate.h"
#include "llm_usage.h"
#include "dialect_private.h"

const char *llm_translate_stop_to_openai(const char *stop_reason)
{
    if (!stop_reason) {
        return "stop";
    }
    if (!strcmp(stop_reason, "max_tokens")
        || !strcmp(stop_reason, "model_context_window_exceeded")) {
        return "length";
    }
    if (!strcmp(stop_reason, "tool_use")) {
        return "tool_calls";
    }
    if (!strcmp(stop_reason, "refusal")) {
        return "content_filter";
    }
    /* end_turn, stop_sequence, pause_turn */
    return "stop";
}

const char *llm_translate_stop_to_anthropic(const char *finish_reason)
{
    if (!finish_reason) {
        return "end_turn";
    }
    if (!strcmp(finish_reason, "length")) {
        return "max_tokens";
    }
    if (!strcmp(finish_reason, "tool_calls")
        || !strcmp(finish_reason, "function_call")) {
        return "tool_use";
    }
    if (!strcmp(finish_reason, "content_filter")) {
        return "refusal";
    }
    return "end_turn";
}

/* OpenAI usage object from normalised usage. */
json_t *llm_translate_usage_openai(const llm_usage_t *u)
{
    return json_pack("{s:I,s:I,s:I,s:{s:I}}",
                     "prompt_tokens", (json_int_t)u->input_tokens,
                     "completion_tokens", (json_int_t)u->output_tokens,
                     "total_tokens",
                     (json_int_t)(u->input_tokens + u->output_tokens),
                     "prompt_tokens_details", "cached_tokens",
                     (json_int_t)u->cached_input_tokens);
}

/* Anthropic usage object: its input_tokens leave the cache parts out. */
json_t *llm_translate_usage_anthropic(const llm_usage_t *u)
{
    long long uncached = u->input_tokens - u->cached_input_tokens
                         - u->cache_creation_input_tokens;

    return json_pack("{s:I,s:I,s:I,s:I}",
                     "input_tokens", (json_int_t)(uncached > 0 ? uncached : 0),
                     "cache_creation_input_tokens",
                     (json_int_t)u->cache_creation_input_tokens,
                     "cache_read_input_tokens",
                     (json_int_t)u->cached_input_tokens,
                     "output_tokens", (json_int_t)u->output_tokens);
}

json_t *llm_translate_anthropic_response_to_chat(apr_pool_t *p,
                                                 json_t *message)
{
    json_t *content = json_object_get(message, "content"), *msg, *out;
    const char *id;
    llm_usage_t u;

    if (!json_is_object(message) || !json_is_array(content)) {
        return NULL;
    }
    msg = llm_translate_assistant_to_chat(p, content);
    llm_usage_init(&u);
    llm_usage_from_body(&u, message);
    id = llm_dialect_str(message, "id");
    out = json_pack("{s:s,s:s,s:I,s:s*,s:[{s:i,s:o,s:n,s:s}],s:o}",
        "id", apr_pstrcat(p, "chatcmpl-", id ? id : "gateway", NULL),
        "object", "chat.completion",
        "created", (json_int_t)apr_time_sec(apr_time_now()),
        "model", llm_dialect_str(message, "model"),
        "choices", "index", 0, "message", msg, "logprobs",
        "finish_reason", llm_translate_stop_to_openai(
            llm_dialect_str(message, "stop_reason")),
        "usage", llm_translate_usage_openai(&u));
    return llm_dialect_pool_own(p, out);
}

json_t *llm_translate_chat_response_to_anthropic(apr_pool_t *p,
                                                 json_t *completion)
{
    json_t *choice, *msg, *content, *call, *fn, *out;
    const char *text, *id, *args;
    size_t i;
    llm_usage_t u;
    json_t *in;

    choice = json_array_get(json_object_get(completion, "choices"), 0);
    msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        return NULL;
    }
    content = json_array();
    text = llm_dialect_str(msg, "content");
    if (text && *text) {
        json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text",
                                                 "text", text));
    }
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        fn = json_object_get(call, "function");
        args = llm_dialect_str(fn, "arguments");
        in = args ? json_loads(args, 0, NULL) : NULL;
        if (!json_is_object(in)) {
            json_decref(in);
            in = json_object();
            if (args && *args) {
                json_object_set_new(in, "arguments", json_string(args));
            }
        }
        json_array_append_new(content, json_pack("{s:s,s:s*,s:s*,s:o}",
            "type", "tool_use", "id", llm_dialect_str(call, "id"),
            "name", llm_dialect_str(fn, "name"), "input", in));
    }
    llm_usage_init(&u);
    llm_usage_from_body(&u, completion);
    id = llm_dialect_str(completion, "id");
    out = json_pack("{s:s,s:s,s:s,s:s*,s:o,s:s,s:n,s:o}",
        "id", apr_pstrcat(p, "msg_", id ? id : "gateway", NULL),
        "type", "message", "role", "assistant",
        "model", llm_dialect_str(completion, "model"),
        "content", content,
        "stop_reason", llm_translate_stop_to_anthropic(
            llm_dialect_str(choice, "finish_reason")),
        "stop_sequence",
        "usage", llm_translate_usage_anthropic(&u));
    return llm_dialect_pool_own(p, out);
}
