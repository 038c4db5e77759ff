/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Requests: OpenAI Chat Completions <-> Anthropic Messages.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_translate.h"
#include "dialect_private.h"

/* Text of a content value: a string, or the text parts of an array
 * joined by sep.  NULL when there is non-text content.  A string value is
 * returned as it is in the tree (which outlives the translation), and
 * parts are joined into one allocation: a 1 MB tool result is not copied
 * on its way to the translated tree. */
char *llm_translate_content_text(apr_pool_t *p, json_t *content,
                                 const char *sep)
{
    size_t i, total = 0, seplen = strlen(sep);
    json_t *part;
    const char *t;
    char *out, *w;

    if (json_is_string(content)) {
        return (char *)json_string_value(content);
    }
    if (json_is_null(content) || !content) {
        return apr_pstrdup(p, "");
    }
    if (!json_is_array(content)) {
        return NULL;
    }
    json_array_foreach(content, i, part) {
        t = json_is_string(part) ? json_string_value(part)
                                 : llm_dialect_str(part, "text");
        if (!t) {
            return NULL;
        }
        total += strlen(t) + (i ? seplen : 0);
    }
    w = out = apr_palloc(p, total + 1);
    json_array_foreach(content, i, part) {
        t = json_is_string(part) ? json_string_value(part)
                                 : llm_dialect_str(part, "text");
        if (i) {
            memcpy(w, sep, seplen);
            w += seplen;
        }
        memcpy(w, t, strlen(t));
        w += strlen(t);
    }
    *w = '\0';
    return out;
}

/* A string for the translated tree from text of the parsed body (or
 * joined from it): its UTF-8 was checked when the body was parsed, and
 * checking it again was most of what translating a large body cost. */
static json_t *body_text(const char *text)
{
    return json_stringn_nocheck(text, strlen(text));
}

json_t *llm_translate_text_block(const char *text)
{
    return json_pack("{s:s,s:o}", "type", "text", "text", body_text(text));
}

/* Append one Anthropic message, merging into the previous one when the
 * role repeats (Anthropic wants the tool results of one turn in one user
 * message, and alternation is the safe shape). */
void llm_translate_push_message(json_t *msgs, const char *role,
                                json_t *blocks)
{
    size_t n = json_array_size(msgs);
    json_t *last = n ? json_array_get(msgs, n - 1) : NULL;
    const char *lrole = llm_dialect_str(last, "role");

    if (json_array_size(blocks) == 0) {
        json_decref(blocks);
        return;
    }
    if (lrole && !strcmp(lrole, role)) {
        json_array_extend(json_object_get(last, "content"), blocks);
        json_decref(blocks);
        return;
    }
    json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", role,
                                          "content", blocks));
}

/* data:image/png;base64,AAAA -> Anthropic base64 source */
json_t *llm_translate_image_source(apr_pool_t *p, const char *url)
{
    const char *comma, *semi;

    if (!strncmp(url, "data:", 5) && (comma = strchr(url, ',')) != NULL
        && (semi = strstr(url, ";base64")) != NULL && semi < comma) {
        return json_pack("{s:s,s:s%,s:s}", "type", "base64", "media_type",
                         url + 5, (size_t)(semi - url - 5), "data",
                         comma + 1);
    }
    return json_pack("{s:s,s:s}", "type", "url", "url", url);
}

json_t *llm_translate_parts_to_blocks(apr_pool_t *p, json_t *content,
                                      const char *where, const char **err)
{
    json_t *blocks = json_array(), *part, *iu;
    const char *type, *text, *url;
    size_t i;

    if (json_is_string(content)) {
        if (json_string_length(content)) {
            json_array_append_new(blocks,
                llm_translate_text_block(json_string_value(content)));
        }
        return blocks;
    }
    json_array_foreach(content, i, part) {
        type = llm_dialect_str(part, "type");
        text = llm_dialect_str(part, "text");
        /* chat's "text", Responses' "input_text" / "output_text" */
        if (text && (!type || !strcmp(type, "text")
                     || !strcmp(type, "input_text")
                     || !strcmp(type, "output_text"))) {
            if (*text) {
                json_array_append_new(blocks, llm_translate_text_block(text));
            }
            continue;
        }
        if (type && (!strcmp(type, "image_url")
                     || !strcmp(type, "input_image"))) {
            iu = json_object_get(part, "image_url");
            url = json_is_string(iu) ? json_string_value(iu)
                                     : llm_dialect_str(iu, "url");
            if (url) {
                json_array_append_new(blocks, json_pack("{s:s,s:o}",
                    "type", "image",
                    "source", llm_translate_image_source(p, url)));
                continue;
            }
        }
        if (type && !strcmp(type, "refusal")) {
            /* an earlier answer's refusal: nothing for the model to read */
            continue;
        }
        *err = apr_psprintf(p, "%s.content[%" APR_SIZE_T_FMT "]: content "
                            "type \"%s\" cannot be sent to an Anthropic "
                            "model", where, i, type ? type : "?");
        json_decref(blocks);
        return NULL;
    }
    return blocks;
}

json_t *llm_translate_tool_input(const char *args)
{
    json_t *in = args ? json_loads(args, 0, NULL) : NULL;

    if (json_is_object(in)) {
        return in;
    }
    /* Arguments a model wrote as broken JSON still go back, unparsed, so
     * that the conversation can continue. */
    json_decref(in);
    in = json_object();
    if (args && *args) {
        json_object_set_new(in, "arguments", json_string(args));
    }
    return in;
}

json_t *llm_translate_schema_or_empty(json_t *schema)
{
    return json_is_object(schema) ? json_incref(schema)
        : json_pack("{s:s,s:{}}", "type", "object", "properties");
}

static json_t *chat_tools_to_anthropic(json_t *tools, json_t *functions)
{
    json_t *out = json_array(), *t, *f;
    size_t i;

    json_array_foreach(tools, i, t) {
        f = json_object_get(t, "function");
        if (json_is_object(f)) {
            json_array_append_new(out, json_pack("{s:s*,s:s*,s:o}",
                "name", llm_dialect_str(f, "name"),
                "description", llm_dialect_str(f, "description"),
                "input_schema",
                llm_translate_schema_or_empty(
                    json_object_get(f, "parameters"))));
        }
    }
    /* the legacy "functions" list */
    json_array_foreach(functions, i, f) {
        json_array_append_new(out, json_pack("{s:s*,s:s*,s:o}",
            "name", llm_dialect_str(f, "name"),
            "description", llm_dialect_str(f, "description"),
            "input_schema",
            llm_translate_schema_or_empty(json_object_get(f, "parameters"))));
    }
    return out;
}

json_t *llm_translate_tool_choice_to_anthropic(json_t *tc, json_t *parallel)
{
    json_t *out = NULL;
    const char *s = json_is_string(tc) ? json_string_value(tc) : NULL;
    const char *name;

    if (s) {
        if (!strcmp(s, "required")) {
            out = json_pack("{s:s}", "type", "any");
        }
        else if (!strcmp(s, "none")) {
            out = json_pack("{s:s}", "type", "none");
        }
        else {
            out = json_pack("{s:s}", "type", "auto");
        }
    }
    else if (json_is_object(tc)) {
        name = llm_dialect_str(json_object_get(tc, "function"), "name");
        if (!name) {
            name = llm_dialect_str(tc, "name");
        }
        out = name ? json_pack("{s:s,s:s}", "type", "tool", "name", name)
                   : json_pack("{s:s}", "type", "auto");
    }
    if (json_is_false(parallel)) {
        if (!out) {
            out = json_pack("{s:s}", "type", "auto");
        }
        json_object_set_new(out, "disable_parallel_tool_use", json_true());
    }
    return out;
}

void llm_translate_sampling_to_anthropic(json_t *out, json_t *req,
                                         json_t *max_tokens,
                                         const llm_translate_opts_t *opts)
{
    json_int_t n = json_is_integer(max_tokens)
                   ? json_integer_value(max_tokens) : 0;
    json_t *v;

    if (n <= 0) {
        n = (opts && opts->default_max_tokens > 0)
            ? opts->default_max_tokens : LLM_TRANSLATE_DEFAULT_MAX_TOKENS;
    }
    json_object_set_new(out, "max_tokens", json_integer(n));
    v = json_object_get(req, "temperature");
    if (json_is_number(v)) {
        /* OpenAI's scale runs to 2, Anthropic's to 1. */
        json_object_set_new(out, "temperature", json_real(
            json_number_value(v) > 1.0 ? 1.0 : json_number_value(v)));
    }
    v = json_object_get(req, "top_p");
    if (json_is_number(v)) {
        json_object_set(out, "top_p", v);
    }
    v = json_object_get(req, "stream");
    if (json_is_boolean(v)) {
        json_object_set(out, "stream", v);
    }
}

json_t *llm_translate_chat_to_anthropic(apr_pool_t *p, json_t *chat,
                                        const llm_translate_opts_t *opts,
                                        const char **err)
{
    json_t *out, *msgs, *system, *m, *blocks, *v, *tc, *call, *fn;
    const char *role, *text, *dummy;
    size_t i, j;

    if (!err) {
        err = &dummy;
    }
    *err = NULL;
    if (!json_is_object(chat) || !json_is_array(json_object_get(chat,
                                                              "messages"))) {
        *err = "not a chat completions request";
        return NULL;
    }
    v = json_object_get(chat, "n");
    if (json_is_integer(v) && json_integer_value(v) > 1) {
        *err = "\"n\" greater than 1 cannot be sent to an Anthropic model";
        return NULL;
    }
    out = json_object();
    msgs = json_array();
    system = json_array();
    json_object_set(out, "model", json_object_get(chat, "model"));

    json_array_foreach(json_object_get(chat, "messages"), i, m) {
        role = llm_dialect_str(m, "role");
        v = json_object_get(m, "content");
        if (!role) {
            continue;
        }
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            /* Anthropic has one system prompt: every system message goes
             * there, in order. */
            text = llm_translate_content_text(p, v, "\n");
            if (!text) {
                *err = "system messages may hold text only";
                goto fail;
            }
            if (*text) {
                json_array_append_new(system, llm_translate_text_block(text));
            }
        }
        else if (!strcmp(role, "user")) {
            if (!(blocks = llm_translate_parts_to_blocks(p, v,
                      apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "]", i),
                      err))) {
                goto fail;
            }
            llm_translate_push_message(msgs, "user", blocks);
        }
        else if (!strcmp(role, "assistant")) {
            text = llm_translate_content_text(p, v, "");
            if (!text) {
                *err = "assistant messages may hold text only";
                goto fail;
            }
            blocks = json_array();
            if (*text) {
                json_array_append_new(blocks, llm_translate_text_block(text));
            }
            tc = json_object_get(m, "tool_calls");
            json_array_foreach(tc, j, call) {
                fn = json_object_get(call, "function");
                json_array_append_new(blocks, json_pack("{s:s,s:s*,s:s*,s:o}",
                    "type", "tool_use", "id", llm_dialect_str(call, "id"),
                    "name", llm_dialect_str(fn, "name"),
                    "input", llm_translate_tool_input(
                                 llm_dialect_str(fn, "arguments"))));
            }
            fn = json_object_get(m, "function_call");
            if (json_is_object(fn)) {
                json_array_append_new(blocks, json_pack("{s:s,s:s*,s:s*,s:o}",
                    "type", "tool_use", "id", llm_dialect_str(fn, "name"),
                    "name", llm_dialect_str(fn, "name"),
                    "input", llm_translate_tool_input(
                                 llm_dialect_str(fn, "arguments"))));
            }
            llm_translate_push_message(msgs, "assistant", blocks);
        }
        else if (!strcmp(role, "tool") || !strcmp(role, "function")) {
            text = llm_translate_content_text(p, v, "");
            if (!text) {
                *err = "tool results may hold text only";
                goto fail;
            }
            blocks = json_array();
            json_array_append_new(blocks, json_pack("{s:s,s:s*,s:o}",
                "type", "tool_result",
                "tool_use_id", llm_dialect_str(m, !strcmp(role, "tool")
                                                  ? "tool_call_id" : "name"),
                "content", body_text(text)));
            llm_translate_push_message(msgs, "user", blocks);
        }
        else {
            *err = apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "]: role "
                                "\"%s\" cannot be sent to an Anthropic model",
                                i, role);
            goto fail;
        }
    }
    if (json_array_size(system)) {
        json_object_set(out, "system", system);
    }
    json_object_set(out, "messages", msgs);

    v = json_object_get(chat, "max_completion_tokens");
    llm_translate_sampling_to_anthropic(out, chat, json_is_integer(v) ? v
                                        : json_object_get(chat, "max_tokens"),
                                        opts);
    v = json_object_get(chat, "stop");
    if (json_is_string(v)) {
        json_object_set_new(out, "stop_sequences", json_pack("[O]", v));
    }
    else if (json_is_array(v) && json_array_size(v)) {
        json_object_set(out, "stop_sequences", v);
    }
    if (json_array_size(json_object_get(chat, "tools"))
        || json_array_size(json_object_get(chat, "functions"))) {
        json_object_set_new(out, "tools", chat_tools_to_anthropic(
            json_object_get(chat, "tools"),
            json_object_get(chat, "functions")));
    }
    v = llm_translate_tool_choice_to_anthropic(
            json_object_get(chat, "tool_choice"),
            json_object_get(chat, "parallel_tool_calls"));
    if (v) {
        json_object_set_new(out, "tool_choice", v);
    }
    v = json_object_get(chat, "user");
    if (json_is_string(v)) {
        json_object_set_new(out, "metadata", json_pack("{s:O}", "user_id",
                                                       v));
    }
    json_decref(msgs);
    json_decref(system);
    return llm_dialect_pool_own(p, out);

fail:
    json_decref(msgs);
    json_decref(system);
    json_decref(out);
    return NULL;
}

json_t *llm_translate_assistant_to_chat(apr_pool_t *p, json_t *content)
{
    json_t *calls = json_array(), *b, *msg, *in;
    const char *type, *text;
    char *args, *joined = NULL;
    size_t i;

    json_array_foreach(content, i, b) {
        type = llm_dialect_str(b, "type");
        if (!type) {
            continue;
        }
        if (!strcmp(type, "text")) {
            text = llm_dialect_str(b, "text");
            joined = apr_pstrcat(p, joined ? joined : "",
                                 text ? text : "", NULL);
        }
        else if (!strcmp(type, "tool_use")) {
            in = json_object_get(b, "input");
            args = in ? json_dumps(in, JSON_COMPACT) : NULL;
            json_array_append_new(calls, json_pack(
                "{s:s*,s:s,s:{s:s*,s:s}}", "id", llm_dialect_str(b, "id"),
                "type", "function", "function",
                "name", llm_dialect_str(b, "name"),
                "arguments", args ? args : "{}"));
            free(args);
        }
        /* thinking and redacted_thinking blocks are the provider's own;
         * an OpenAI model has no use for them. */
    }
    msg = json_pack("{s:s,s:s?}", "role", "assistant", "content", joined);
    if (json_array_size(calls)) {
        json_object_set(msg, "tool_calls", calls);
    }
    json_decref(calls);
    return msg;
}

/* Anthropic image block -> OpenAI image_url part */
static json_t *image_part(apr_pool_t *p, json_t *block)
{
    json_t *src = json_object_get(block, "source");
    const char *type = llm_dialect_str(src, "type");
    const char *url = NULL;

    if (type && !strcmp(type, "base64")) {
        url = apr_pstrcat(p, "data:", llm_dialect_str(src, "media_type")
                          ? llm_dialect_str(src, "media_type")
                          : "application/octet-stream",
                          ";base64,", llm_dialect_str(src, "data")
                          ? llm_dialect_str(src, "data") : "", NULL);
    }
    else if (type && !strcmp(type, "url")) {
        url = llm_dialect_str(src, "url");
    }
    return url ? json_pack("{s:s,s:{s:s}}", "type", "image_url",
                           "image_url", "url", url)
               : NULL;
}

/* Anthropic tool_result content (a string or blocks) -> the text of an
 * OpenAI tool message.  OpenAI tool messages hold text only: images a tool
 * returned (a screenshot, an image file read) go to images, for the user
 * message that follows.  NULL for other block types. */
static char *tool_result_text(apr_pool_t *p, json_t *content,
                              json_t *images)
{
    json_t *b, *img;
    const char *type, *t;
    char *text = NULL;
    size_t i;

    if (!json_is_array(content)) {
        return llm_translate_content_text(p, content, "\n");
    }
    json_array_foreach(content, i, b) {
        type = llm_dialect_str(b, "type");
        t = llm_dialect_str(b, "text");
        if (t && (!type || !strcmp(type, "text"))) {
            text = text ? apr_pstrcat(p, text, "\n", t, NULL)
                        : apr_pstrdup(p, t);
        }
        else if (type && !strcmp(type, "image")
                 && (img = image_part(p, b)) != NULL) {
            json_array_append_new(images, img);
        }
        else {
            return NULL;
        }
    }
    return text ? text : apr_pstrdup(p, "");
}

static int anthropic_message_to_chat(apr_pool_t *p, json_t *out, json_t *m,
                                     size_t idx, const char **err)
{
    const char *role = llm_dialect_str(m, "role");
    json_t *content = json_object_get(m, "content"), *b, *parts, *in;
    const char *type, *text;
    size_t i, n;
    int nontext = 0;

    if (!role) {
        return 0;
    }
    if (json_is_string(content) || json_is_null(content) || !content) {
        json_array_append_new(out, json_pack("{s:s,s:O}", "role", role,
            "content", content ? content : json_null()));
        return 0;
    }
    if (!json_is_array(content)) {
        *err = apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "].content must "
                            "be a string or an array", idx);
        return -1;
    }
    if (!strcmp(role, "assistant")) {
        json_array_append_new(out, llm_translate_assistant_to_chat(p,
                                                                   content));
        return 0;
    }

    /* user (or a system entry inside messages, as Claude Code sends):
     * tool results first, as tool messages, since OpenAI wants them right
     * after the assistant's calls; then the rest as one message. */
    parts = json_array();
    json_array_foreach(content, i, b) {
        type = llm_dialect_str(b, "type");
        if (type && !strcmp(type, "tool_result")) {
            n = json_array_size(parts);
            text = tool_result_text(p, json_object_get(b, "content"), parts);
            if (json_array_size(parts) > n) {
                nontext = 1;
            }
            if (!text) {
                *err = apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "]."
                                    "content[%" APR_SIZE_T_FMT "]: tool "
                                    "results may hold text and images only",
                                    idx, i);
                json_decref(parts);
                return -1;
            }
            json_array_append_new(out, json_pack("{s:s,s:s*,s:o}",
                "role", "tool", "tool_call_id",
                llm_dialect_str(b, "tool_use_id"), "content",
                body_text(text)));
        }
        else if (type && !strcmp(type, "text")) {
            json_array_append_new(parts, json_pack("{s:s,s:o}", "type",
                "text", "text", body_text(llm_dialect_str(b, "text")
                                          ? llm_dialect_str(b, "text")
                                          : "")));
        }
        else if (type && !strcmp(type, "image") && (in = image_part(p, b))) {
            json_array_append_new(parts, in);
            nontext = 1;
        }
        else {
            *err = apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "].content[%"
                                APR_SIZE_T_FMT "]: block type \"%s\" cannot "
                                "be sent to an OpenAI model", idx, i,
                                type ? type : "?");
            json_decref(parts);
            return -1;
        }
    }
    if (json_array_size(parts)) {
        if (!nontext) {
            /* Plain text travels as a string: what every OpenAI-compatible
             * server understands. */
            text = llm_translate_content_text(p, parts, "");
            json_array_append_new(out, json_pack("{s:s,s:o}", "role", role,
                                                 "content", body_text(text)));
        }
        else {
            json_array_append_new(out, json_pack("{s:s,s:O}", "role", role,
                                                 "content", parts));
        }
    }
    json_decref(parts);
    return 0;
}

json_t *llm_translate_anthropic_to_chat(apr_pool_t *p, json_t *msg,
                                        const llm_translate_opts_t *opts,
                                        const char **err)
{
    json_t *out, *msgs, *m, *v, *tools, *t, *tc;
    const char *text, *dummy, *type;
    size_t i;

    if (!err) {
        err = &dummy;
    }
    *err = NULL;
    if (!json_is_object(msg) || !json_is_array(json_object_get(msg,
                                                             "messages"))) {
        *err = "not a messages request";
        return NULL;
    }
    out = json_object();
    msgs = json_array();
    json_object_set(out, "model", json_object_get(msg, "model"));

    v = json_object_get(msg, "system");
    if (v) {
        text = llm_translate_content_text(p, v, "\n");
        if (!text) {
            *err = "\"system\" may hold text blocks only";
            goto fail;
        }
        if (*text) {
            json_array_append_new(msgs, json_pack("{s:s,s:o}", "role",
                                                  "system", "content",
                                                  body_text(text)));
        }
    }
    json_array_foreach(json_object_get(msg, "messages"), i, m) {
        if (anthropic_message_to_chat(p, msgs, m, i, err) != 0) {
            goto fail;
        }
    }
    json_object_set(out, "messages", msgs);

    v = json_object_get(msg, "max_tokens");
    if (json_is_integer(v)) {
        json_object_set(out, (opts && opts->openai_max_completion_tokens)
                        ? "max_completion_tokens" : "max_tokens", v);
    }
    v = json_object_get(msg, "temperature");
    if (json_is_number(v)) {
        json_object_set(out, "temperature", v);
    }
    v = json_object_get(msg, "top_p");
    if (json_is_number(v)) {
        json_object_set(out, "top_p", v);
    }
    v = json_object_get(msg, "stop_sequences");
    if (json_is_array(v) && json_array_size(v)) {
        json_object_set(out, "stop", v);
    }
    if (json_is_true(json_object_get(msg, "stream"))) {
        json_object_set_new(out, "stream", json_true());
        /* The Anthropic stream reports usage; ask for it. */
        json_object_set_new(out, "stream_options",
                            json_pack("{s:b}", "include_usage", 1));
    }
    tools = json_object_get(msg, "tools");
    if (json_array_size(tools)) {
        v = json_array();
        json_array_foreach(tools, i, t) {
            type = llm_dialect_str(t, "type");
            /* Anthropic's server tools (web search, code execution) run
             * at Anthropic; an OpenAI model cannot call them. */
            if (type && strcmp(type, "custom")) {
                continue;
            }
            json_array_append_new(v, json_pack("{s:s,s:{s:s*,s:s*,s:o}}",
                "type", "function", "function",
                "name", llm_dialect_str(t, "name"),
                "description", llm_dialect_str(t, "description"),
                "parameters",
                llm_translate_schema_or_empty(
                    json_object_get(t, "input_schema"))));
        }
        if (json_array_size(v)) {
            json_object_set(out, "tools", v);
        }
        json_decref(v);
    }
    tc = json_object_get(msg, "tool_choice");
    type = llm_dialect_str(tc, "type");
    if (type && json_object_get(out, "tools")) {
        if (!strcmp(type, "any")) {
            json_object_set_new(out, "tool_choice", json_string("required"));
        }
        else if (!strcmp(type, "none")) {
            json_object_set_new(out, "tool_choice", json_string("none"));
        }
        else if (!strcmp(type, "tool") && llm_dialect_str(tc, "name")) {
            json_object_set_new(out, "tool_choice", json_pack(
                "{s:s,s:{s:s}}", "type", "function", "function", "name",
                llm_dialect_str(tc, "name")));
        }
        else {
            json_object_set_new(out, "tool_choice", json_string("auto"));
        }
        if (json_is_true(json_object_get(tc, "disable_parallel_tool_use"))) {
            json_object_set_new(out, "parallel_tool_calls", json_false());
        }
    }
    text = llm_dialect_str(json_object_get(msg, "metadata"), "user_id");
    if (text) {
        json_object_set_new(out, "user", json_string(text));
    }
    json_decref(msgs);
    return llm_dialect_pool_own(p, out);

fail:
    json_decref(msgs);
    json_decref(out);
    return NULL;
}
