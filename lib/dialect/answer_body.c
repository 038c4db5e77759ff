/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The caller-visible strings of a whole answer (llm_answer_walk_body),
 * walked as the jansson tree the answer is parsed into anyway, and the
 * JSON form of a string for an event rewritten in place
 * (llm_answer_json_quote).  Stream events: answer_walk.c.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_answer_walk.h"

static void add(apr_pool_t *p, apr_array_header_t *out,
                llm_answer_kind_e kind, const char *loc, json_t *node)
{
    llm_answer_string_t *s;

    if (!json_is_string(node)) {
        return;
    }
    s = apr_array_push(out);
    s->kind = kind;
    s->location = loc;
    s->node = node;
}

/* Every string inside v (an Anthropic tool_use input). */
static void all_strings(apr_pool_t *p, apr_array_header_t *out,
                        const char *loc, json_t *v, int depth)
{
    const char *k;
    json_t *x;
    size_t i;

    if (depth > 64) {
        return;
    }
    if (json_is_string(v)) {
        add(p, out, LLM_ANSWER_TEXT, loc, v);
    }
    else if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            all_strings(p, out, apr_psprintf(p, "%s[%lu]", loc,
                                             (unsigned long)i), x,
                        depth + 1);
        }
    }
    else if (json_is_object(v)) {
        i = 0;
        json_object_foreach(v, k, x) {
            /* by position: a key could itself be sensitive */
            all_strings(p, out, apr_psprintf(p, "%s{#%lu}", loc,
                                             (unsigned long)i++), x,
                        depth + 1);
        }
    }
}

static void message_content(apr_pool_t *p, apr_array_header_t *out,
                            const char *loc, json_t *content)
{
    json_t *part;
    size_t i;

    if (json_is_string(content)) {
        add(p, out, LLM_ANSWER_TEXT, loc, content);
        return;
    }
    json_array_foreach(content, i, part) {
        add(p, out, LLM_ANSWER_TEXT,
            apr_psprintf(p, "%s[%lu].text", loc, (unsigned long)i),
            json_object_get(part, "text"));
        add(p, out, LLM_ANSWER_TEXT,
            apr_psprintf(p, "%s[%lu].refusal", loc, (unsigned long)i),
            json_object_get(part, "refusal"));
    }
}

static void chat_body(apr_pool_t *p, json_t *body, apr_array_header_t *out)
{
    json_t *ch, *msg, *call;
    size_t i, j;

    json_array_foreach(json_object_get(body, "choices"), i, ch) {
        const char *c = apr_psprintf(p, "choices[%lu]", (unsigned long)i);

        add(p, out, LLM_ANSWER_TEXT, apr_pstrcat(p, c, ".text", NULL),
            json_object_get(ch, "text"));
        msg = json_object_get(ch, "message");
        if (!json_is_object(msg)) {
            continue;
        }
        message_content(p, out, apr_pstrcat(p, c, ".message.content", NULL),
                        json_object_get(msg, "content"));
        add(p, out, LLM_ANSWER_TEXT,
            apr_pstrcat(p, c, ".message.refusal", NULL),
            json_object_get(msg, "refusal"));
        json_array_foreach(json_object_get(msg, "tool_calls"), j, call) {
            add(p, out, LLM_ANSWER_ARGS,
                apr_psprintf(p, "%s.message.tool_calls[%lu].function."
                             "arguments", c, (unsigned long)j),
                json_object_get(json_object_get(call, "function"),
                                "arguments"));
        }
    }
}

static void messages_body(apr_pool_t *p, json_t *body,
                          apr_array_header_t *out)
{
    json_t *b;
    size_t i;

    json_array_foreach(json_object_get(body, "content"), i, b) {
        const char *t = json_string_value(json_object_get(b, "type"));
        const char *c = apr_psprintf(p, "content[%lu]", (unsigned long)i);

        if (!t) {
            continue;
        }
        if (!strcmp(t, "text")) {
            add(p, out, LLM_ANSWER_TEXT, apr_pstrcat(p, c, ".text", NULL),
                json_object_get(b, "text"));
        }
        else if (!strcmp(t, "tool_use") || !strcmp(t, "server_tool_use")) {
            all_strings(p, out, apr_pstrcat(p, c, ".input", NULL),
                        json_object_get(b, "input"), 0);
        }
        else if (!strcmp(t, "thinking")) {
            add(p, out, LLM_ANSWER_SIGNED,
                apr_pstrcat(p, c, ".thinking", NULL),
                json_object_get(b, "thinking"));
        }
    }
}

static void responses_item(apr_pool_t *p, json_t *item, const char *c,
                           apr_array_header_t *out)
{
    const char *t = json_string_value(json_object_get(item, "type"));
    json_t *part;
    size_t j;

    if (!t) {
        return;
    }
    if (!strcmp(t, "message")) {
        message_content(p, out, apr_pstrcat(p, c, ".content", NULL),
                        json_object_get(item, "content"));
    }
    else if (!strcmp(t, "function_call")) {
        add(p, out, LLM_ANSWER_ARGS, apr_pstrcat(p, c, ".arguments", NULL),
            json_object_get(item, "arguments"));
    }
    else if (!strcmp(t, "custom_tool_call")) {
        add(p, out, LLM_ANSWER_TEXT, apr_pstrcat(p, c, ".input", NULL),
            json_object_get(item, "input"));
    }
    else if (!strcmp(t, "reasoning")) {
        json_array_foreach(json_object_get(item, "summary"), j, part) {
            add(p, out, LLM_ANSWER_TEXT,
                apr_psprintf(p, "%s.summary[%lu].text", c, (unsigned long)j),
                json_object_get(part, "text"));
        }
    }
}

static void responses_body(apr_pool_t *p, json_t *body,
                           apr_array_header_t *out)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(body, "output"), i, item) {
        responses_item(p, item, apr_psprintf(p, "output[%lu]",
                                             (unsigned long)i), out);
    }
}

void llm_answer_walk_body(apr_pool_t *p, llm_endpoint_e ep, json_t *body,
                          apr_array_header_t *out)
{
    json_t *x;

    switch (ep) {
    case LLM_EP_OPENAI_CHAT:
    case LLM_EP_OPENAI_COMPLETIONS:
        chat_body(p, body, out);
        break;
    case LLM_EP_ANTHROPIC_MESSAGES:
        messages_body(p, body, out);
        break;
    case LLM_EP_OPENAI_RESPONSES:
        /* an event's own object: an item, a part, or a whole response */
        if ((x = json_object_get(body, "response")) != NULL) {
            responses_body(p, x, out);
        }
        else if ((x = json_object_get(body, "item")) != NULL) {
            responses_item(p, x, "item", out);
        }
        else if ((x = json_object_get(body, "part")) != NULL) {
            add(p, out, LLM_ANSWER_TEXT, "part.text",
                json_object_get(x, "text"));
            add(p, out, LLM_ANSWER_TEXT, "part.refusal",
                json_object_get(x, "refusal"));
        }
        else {
            responses_body(p, body, out);
        }
        break;
    default:
        break;
    }
}

char *llm_answer_json_quote(apr_pool_t *p, const char *s, size_t n,
                            size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    char *out = apr_palloc(p, n * 6 + 3), *o = out;
    size_t i;

    *o++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (c < 0x20) {
                *o++ = '\\'; *o++ = 'u'; *o++ = '0'; *o++ = '0';
                *o++ = hex[c >> 4]; *o++ = hex[c & 15];
            }
            else {
                *o++ = (char)c;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}
