/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Anthropic Messages events -> OpenAI Responses API events, for a
 * Responses caller (Codex CLI) on an Anthropic model.  Codex needs
 * response.created, response.output_item.added, the deltas,
 * response.output_item.done and response.completed; each text block
 * becomes a message item, each tool_use block a function_call item.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "llm_translate.h"
#include "sse_private.h"

void llm_sse_a2r_init(llm_sse_translator_t *t)
{
    t->items = json_array();
    t->item_open = NO_INDEX;
    t->item_block = NO_INDEX;
    llm_dbuf_init(&t->item_id, t->p, 512);
    llm_dbuf_init(&t->call_id, t->p, 512);
    llm_dbuf_init(&t->name, t->p, 512);
    llm_dbuf_init(&t->acc, t->p, LLM_SSE_DEFAULT_MAX_EVENT);
    /* the items live in jansson's heap until the pool goes */
    llm_dialect_pool_own(t->p, t->items);
}

/* Emit one Responses event: its type is also the SSE event name, and
 * every event carries the next sequence_number. */
static int emit(llm_sse_translator_t *t, const char *type, json_t *d)
{
    if (!d) {
        return -1;
    }
    json_object_set_new(d, "type", json_string(type));
    json_object_set_new(d, "sequence_number", json_integer(t->seq++));
    return llm_sse_emit_data(t, type, d);
}

static json_t *response(llm_sse_translator_t *t, const char *status,
                        json_t *output, json_t *usage)
{
    return llm_translate_response_object(t->resp_id, t->model, status,
                                         output, usage, t->created);
}

static int a2r_start(llm_sse_translator_t *t, json_t *message)
{
    const char *id = llm_dialect_str(message, "id");
    const char *model = llm_dialect_str(message, "model");

    if (t->started) {
        return 0;
    }
    t->started = 1;
    t->resp_id = apr_pstrcat(t->p, "resp_", id ? id : "gateway", NULL);
    t->created = (json_int_t)apr_time_sec(apr_time_now());
    if (!t->model) {
        t->model = apr_pstrdup(t->p, model ? model : "");
    }
    return emit(t, "response.created", json_pack("{s:o}", "response",
                response(t, "in_progress", NULL, NULL)))
           || emit(t, "response.in_progress", json_pack("{s:o}", "response",
                   response(t, "in_progress", NULL, NULL)));
}

static json_t *text_part(const char *text)
{
    return json_pack("{s:s,s:s,s:[],s:[]}", "type", "output_text", "text",
                     text, "annotations", "logprobs");
}

static json_t *message_item(llm_sse_translator_t *t, const char *status,
                            const char *text)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", t->item_id.data,
                     "type", "message", "status", status,
                     "role", "assistant", "content",
                     text ? json_pack("[o]", text_part(text))
                          : json_array());
}

static json_t *call_item(llm_sse_translator_t *t, const char *status,
                         const char *args)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", t->item_id.data,
                     "type", "function_call", "status", status,
                     "arguments", args, "call_id", t->call_id.data,
                     "name", t->name.data);
}

static int open_item(llm_sse_translator_t *t, int block, int tool,
                     const char *call_id, const char *name)
{
    int idx = (int)json_array_size(t->items);
    char num[24];

    t->item_open = idx;
    t->item_block = block;
    t->item_is_tool = tool;
    t->acc.len = 0;
    t->item_id.len = 0;
    t->call_id.len = 0;
    t->name.len = 0;
    if (llm_dbuf_puts(&t->acc, "") || llm_dbuf_puts(&t->call_id, "")
        || llm_dbuf_puts(&t->name, "")) {
        return -1;
    }
    if (tool) {
        if (llm_dbuf_puts(&t->item_id, "fc_")
            || llm_dbuf_puts(&t->item_id, call_id)
            || llm_dbuf_puts(&t->call_id, call_id)
            || llm_dbuf_puts(&t->name, name)) {
            return -1;
        }
        return emit(t, "response.output_item.added", json_pack(
                    "{s:i,s:o}", "output_index", idx, "item",
                    call_item(t, "in_progress", "")));
    }
    apr_snprintf(num, sizeof(num), "_%d", idx);
    if (llm_dbuf_puts(&t->item_id, "msg_")
        || llm_dbuf_puts(&t->item_id, t->resp_id + 5)
        || llm_dbuf_puts(&t->item_id, num)) {
        return -1;
    }
    return emit(t, "response.output_item.added", json_pack(
                "{s:i,s:o}", "output_index", idx, "item",
                message_item(t, "in_progress", NULL)))
           || emit(t, "response.content_part.added", json_pack(
                   "{s:s,s:i,s:i,s:o}", "item_id", t->item_id.data,
                   "output_index", idx, "content_index", 0,
                   "part", text_part("")));
}

static int close_item(llm_sse_translator_t *t)
{
    int idx = t->item_open;
    json_t *item;

    if (idx == NO_INDEX) {
        return 0;
    }
    t->item_open = NO_INDEX;
    t->item_block = NO_INDEX;
    if (t->item_is_tool) {
        item = call_item(t, "completed", t->acc.data);
        json_array_append(t->items, item);
        return emit(t, "response.function_call_arguments.done", json_pack(
                    "{s:s,s:i,s:s,s:s}", "item_id", t->item_id.data,
                    "output_index", idx, "name", t->name.data,
                    "arguments", t->acc.data))
               || emit(t, "response.output_item.done", json_pack(
                       "{s:i,s:o}", "output_index", idx, "item", item));
    }
    item = message_item(t, "completed", t->acc.data);
    json_array_append(t->items, item);
    return emit(t, "response.output_text.done", json_pack(
                "{s:s,s:i,s:i,s:s,s:[]}", "item_id", t->item_id.data,
                "output_index", idx, "content_index", 0,
                "text", t->acc.data, "logprobs"))
           || emit(t, "response.content_part.done", json_pack(
                   "{s:s,s:i,s:i,s:o}", "item_id", t->item_id.data,
                   "output_index", idx, "content_index", 0,
                   "part", text_part(t->acc.data)))
           || emit(t, "response.output_item.done", json_pack(
                   "{s:i,s:o}", "output_index", idx, "item", item));
}

int llm_sse_a2r_finish(llm_sse_translator_t *t)
{
    const char *status;

    if (t->done) {
        return 0;
    }
    if (!t->started && a2r_start(t, NULL) != 0) {
        return -1;
    }
    if (close_item(t) != 0) {
        return -1;
    }
    t->done = 1;
    status = (t->stop_reason && !strcmp(t->stop_reason, "max_tokens"))
             ? "incomplete" : "completed";
    return emit(t, !strcmp(status, "completed") ? "response.completed"
                                                : "response.incomplete",
                json_pack("{s:o}", "response", response(t, status,
                          json_incref(t->items),
                          llm_translate_usage_responses(&t->usage))));
}

int llm_sse_a2r_event(llm_sse_translator_t *t, const char *type, json_t *d)
{
    json_t *block, *delta, *e;
    const char *btype, *dtype, *s, *msg;
    int index;

    if (!strcmp(type, "message_start")) {
        llm_usage_from_event(&t->usage, type, d);
        return a2r_start(t, json_object_get(d, "message"));
    }
    if (!strcmp(type, "ping")) {
        return 0;
    }
    if (!t->started && strcmp(type, "error") && a2r_start(t, NULL) != 0) {
        return -1;
    }
    index = (int)json_integer_value(json_object_get(d, "index"));
    if (!strcmp(type, "content_block_start")) {
        block = json_object_get(d, "content_block");
        btype = llm_dialect_str(block, "type");
        if (!btype) {
            return 0;
        }
        if (!strcmp(btype, "text")) {
            if (close_item(t) || open_item(t, index, 0, NULL, NULL)) {
                return -1;
            }
            s = llm_dialect_str(block, "text");
            if (s && *s) {
                if (llm_dbuf_puts(&t->acc, s)) {
                    return -1;
                }
                return emit(t, "response.output_text.delta", json_pack(
                            "{s:s,s:i,s:i,s:s,s:[]}", "item_id",
                            t->item_id.data, "output_index", t->item_open,
                            "content_index", 0, "delta", s, "logprobs"));
            }
            return 0;
        }
        if (!strcmp(btype, "tool_use")) {
            return close_item(t)
                   || open_item(t, index, 1,
                                llm_dialect_str(block, "id")
                                ? llm_dialect_str(block, "id") : "gateway",
                                llm_dialect_str(block, "name")
                                ? llm_dialect_str(block, "name") : "");
        }
        /* thinking blocks stay with Anthropic */
        return 0;
    }
    if (!strcmp(type, "content_block_delta")) {
        if (t->item_open == NO_INDEX || index != t->item_block) {
            return 0;
        }
        delta = json_object_get(d, "delta");
        dtype = llm_dialect_str(delta, "type");
        if (!dtype) {
            return 0;
        }
        if (!strcmp(dtype, "text_delta") && !t->item_is_tool) {
            s = llm_dialect_str(delta, "text");
            if (!s || !*s) {
                return 0;
            }
            return llm_dbuf_puts(&t->acc, s)
                   || emit(t, "response.output_text.delta", json_pack(
                           "{s:s,s:i,s:i,s:s,s:[]}", "item_id",
                           t->item_id.data, "output_index", t->item_open,
                           "content_index", 0, "delta", s, "logprobs"));
        }
        if (!strcmp(dtype, "input_json_delta") && t->item_is_tool) {
            s = llm_dialect_str(delta, "partial_json");
            if (!s || !*s) {
                return 0;
            }
            return llm_dbuf_puts(&t->acc, s)
                   || emit(t, "response.function_call_arguments.delta",
                           json_pack("{s:s,s:i,s:s}", "item_id",
                                     t->item_id.data, "output_index",
                                     t->item_open, "delta", s));
        }
        return 0;
    }
    if (!strcmp(type, "content_block_stop")) {
        return index == t->item_block ? close_item(t) : 0;
    }
    if (!strcmp(type, "message_delta")) {
        llm_usage_from_event(&t->usage, type, d);
        s = llm_dialect_str(json_object_get(d, "delta"), "stop_reason");
        if (s) {
            t->stop_reason = apr_pstrdup(t->p, s);
        }
        return 0;
    }
    if (!strcmp(type, "message_stop")) {
        return llm_sse_a2r_finish(t);
    }
    if (!strcmp(type, "error")) {
        e = json_object_get(d, "error");
        msg = llm_dialect_str(e, "message");
        if (!t->started && a2r_start(t, NULL) != 0) {
            return -1;
        }
        t->done = 1;
        {
            json_t *r = response(t, "failed", json_incref(t->items),
                                 json_null());

            json_object_set_new(r, "error", json_pack("{s:s,s:s}",
                                "code", "server_error", "message",
                                msg ? msg : "provider stream error"));
            return emit(t, "response.failed", json_pack("{s:o}", "response",
                                                        r));
        }
    }
    return 0;
}
