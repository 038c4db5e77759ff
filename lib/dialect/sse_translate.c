/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Stream translation, event by event: Anthropic Messages events <->
 * OpenAI chat.completion.chunk events.  The caller's stream must always
 * end well-formed (the SDKs and Claude Code wait for their terminators),
 * whatever the provider's stream did.
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apr_strings.h"
#include "apr_tables.h"
#include "apr_time.h"

#include "llm_sse.h"
#include "llm_translate.h"
#include "dialect_private.h"
#include "sse_private.h"
#include "json_fast.h"

static llm_sse_translator_t *translator_new(apr_pool_t *p,
                                            llm_sse_mode_e mode,
                                            int include_usage,
                                            const char *model)
{
    llm_sse_translator_t *t = apr_pcalloc(p, sizeof(*t));

    t->p = p;
    t->mode = mode;
    t->include_usage = include_usage;
    t->model = model ? apr_pstrdup(p, model) : NULL;
    t->ps = llm_sse_parser_create(p, 0);
    /* Output stays small per call (one input piece's worth of events);
     * the cap only guards against a runaway event. */
    llm_dbuf_init(&t->out, p, LLM_SSE_DEFAULT_MAX_EVENT * 2);
    llm_dbuf_init(&t->held, p, LLM_SSE_DEFAULT_MAX_EVENT * 2);
    llm_usage_init(&t->usage);
    t->tool_of_block = apr_array_make(p, 4, sizeof(int));
    t->block_open = NO_INDEX;
    t->open_call = NO_INDEX;
    if (mode == LLM_SSE_A2R) {
        llm_sse_a2r_init(t);
    }
    return t;
}

llm_sse_translator_t *llm_sse_translator_create(apr_pool_t *p,
                                                llm_family_e from,
                                                llm_family_e to,
                                                int include_usage,
                                                const char *model)
{
    llm_sse_mode_e mode = LLM_SSE_PASS;

    if (from == LLM_FAMILY_ANTHROPIC && to == LLM_FAMILY_OPENAI) {
        mode = LLM_SSE_A2O;
    }
    else if (from == LLM_FAMILY_OPENAI && to == LLM_FAMILY_ANTHROPIC) {
        mode = LLM_SSE_O2A;
    }
    return translator_new(p, mode, include_usage, model);
}

llm_sse_translator_t *llm_sse_translator_create_for(apr_pool_t *p,
                                                    llm_endpoint_e caller,
                                                    llm_family_e provider,
                                                    int include_usage,
                                                    const char *model)
{
    if (caller == LLM_EP_OPENAI_RESPONSES
        && provider == LLM_FAMILY_ANTHROPIC) {
        return translator_new(p, LLM_SSE_A2R, include_usage, model);
    }
    if (caller == LLM_EP_OPENAI_RESPONSES) {
        return translator_new(p, LLM_SSE_PASS, include_usage, model);
    }
    return llm_sse_translator_create(p, provider,
                                     caller == LLM_EP_ANTHROPIC_MESSAGES
                                     ? LLM_FAMILY_ANTHROPIC
                                     : LLM_FAMILY_OPENAI,
                                     include_usage, model);
}

void llm_sse_translator_strip_usage(llm_sse_translator_t *t)
{
    if (t->mode == LLM_SSE_PASS) {
        t->strip_usage = 1;
        t->out.max = (size_t)-1 / 4;
    }
}

size_t llm_sse_translator_text_bytes(const llm_sse_translator_t *t)
{
    return t->text_bytes;
}

const llm_usage_t *llm_sse_translator_usage(const llm_sse_translator_t *t)
{
    return &t->usage;
}

int llm_sse_translator_done(const llm_sse_translator_t *t)
{
    return t->done;
}

/* --- output ---------------------------------------------------------- */

static int emit_raw(llm_sse_translator_t *t, const char *s)
{
    return llm_dbuf_puts(&t->out, s);
}

int llm_sse_emit_data(llm_sse_translator_t *t, const char *event,
                      json_t *data)
{
    char *s = json_dumps(data, JSON_COMPACT);
    int rv;

    json_decref(data);
    if (!s) {
        return -1;
    }
    rv = (event && (emit_raw(t, "event: ") || emit_raw(t, event)
                    || emit_raw(t, "\n")))
         || emit_raw(t, "data: ") || emit_raw(t, s) || emit_raw(t, "\n\n");
    free(s);
    return rv ? -1 : 0;
}

/* The short name for this file's many events. */
static int emit_data(llm_sse_translator_t *t, const char *event,
                     json_t *data)
{
    return llm_sse_emit_data(t, event, data);
}

/* --- Anthropic -> OpenAI --------------------------------------------- */

static json_t *chunk(llm_sse_translator_t *t, json_t *delta,
                     const char *finish)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:n,s:s?}]}",
                     "id", t->chunk_id ? t->chunk_id : "chatcmpl-gateway",
                     "object", "chat.completion.chunk",
                     "created", t->created,
                     "model", t->model ? t->model : "",
                     "choices", "index", 0, "delta", delta, "logprobs",
                     "finish_reason", finish);
}

static int a2o_start(llm_sse_translator_t *t, json_t *message)
{
    const char *id = llm_dialect_str(message, "id");
    const char *model = llm_dialect_str(message, "model");

    if (t->started) {
        return 0;
    }
    t->started = 1;
    t->chunk_id = apr_pstrcat(t->p, "chatcmpl-", id ? id : "gateway", NULL);
    t->created = (json_int_t)apr_time_sec(apr_time_now());
    if (!t->model) {
        t->model = apr_pstrdup(t->p, model ? model : "");
    }
    return emit_data(t, NULL, chunk(t, json_pack("{s:s,s:s}", "role",
                                                 "assistant", "content", ""),
                                    NULL));
}

static int *block_slot(llm_sse_translator_t *t, json_int_t index)
{
    int none = NO_INDEX;

    /* Block indices are small and dense; anything else is not ours. */
    if (index < 0 || index > 4096) {
        return NULL;
    }
    while (t->tool_of_block->nelts <= index) {
        *(int *)apr_array_push(t->tool_of_block) = none;
    }
    return &((int *)t->tool_of_block->elts)[index];
}

static int a2o_finish(llm_sse_translator_t *t)
{
    if (t->done) {
        return 0;
    }
    if (!t->started && a2o_start(t, NULL) != 0) {
        return -1;
    }
    if (!t->finish_sent) {
        t->finish_sent = 1;
        if (emit_data(t, NULL, chunk(t, json_object(),
                                     t->finish_reason ? t->finish_reason
                                                      : "stop")) != 0) {
            return -1;
        }
    }
    if (t->include_usage) {
        json_t *c = chunk(t, json_object(), NULL);

        json_object_set_new(c, "choices", json_array());
        json_object_set_new(c, "usage", llm_translate_usage_openai(
                                            &t->usage));
        if (emit_data(t, NULL, c) != 0) {
            return -1;
        }
    }
    t->done = 1;
    return emit_raw(t, "data: [DONE]\n\n");
}

static int a2o_event(llm_sse_translator_t *t, const char *type, json_t *d)
{
    json_t *block, *delta;
    const char *btype, *dtype, *s;
    int *slot;

    if (!strcmp(type, "message_start")) {
        llm_usage_from_event(&t->usage, type, d);
        return a2o_start(t, json_object_get(d, "message"));
    }
    if (!t->started && strcmp(type, "ping") && strcmp(type, "error")
        && a2o_start(t, NULL) != 0) {
        return -1;
    }
    if (!strcmp(type, "content_block_start")) {
        block = json_object_get(d, "content_block");
        btype = llm_dialect_str(block, "type");
        if (btype && !strcmp(btype, "tool_use")) {
            slot = block_slot(t, json_integer_value(json_object_get(d,
                                                                   "index")));
            if (!slot) {
                return 0;
            }
            *slot = t->ncalls++;
            return emit_data(t, NULL, chunk(t, json_pack(
                "{s:[{s:i,s:s*,s:s,s:{s:s*,s:s}}]}", "tool_calls",
                "index", *slot, "id", llm_dialect_str(block, "id"),
                "type", "function", "function",
                "name", llm_dialect_str(block, "name"), "arguments", ""),
                NULL));
        }
        if (btype && !strcmp(btype, "text")) {
            s = llm_dialect_str(block, "text");
            if (s && *s) {
                return emit_data(t, NULL, chunk(t, json_pack("{s:s}",
                    "content", s), NULL));
            }
        }
        /* thinking blocks stay with the provider's dialect */
        return 0;
    }
    if (!strcmp(type, "content_block_delta")) {
        delta = json_object_get(d, "delta");
        dtype = llm_dialect_str(delta, "type");
        if (!dtype) {
            return 0;
        }
        if (!strcmp(dtype, "text_delta")) {
            s = llm_dialect_str(delta, "text");
            return (s && *s) ? emit_data(t, NULL, chunk(t, json_pack("{s:s}",
                                   "content", s), NULL)) : 0;
        }
        if (!strcmp(dtype, "input_json_delta")) {
            slot = block_slot(t, json_integer_value(json_object_get(d,
                                                                   "index")));
            s = llm_dialect_str(delta, "partial_json");
            if (!slot || *slot == NO_INDEX || !s || !*s) {
                return 0;
            }
            return emit_data(t, NULL, chunk(t, json_pack(
                "{s:[{s:i,s:{s:s}}]}", "tool_calls", "index", *slot,
                "function", "arguments", s), NULL));
        }
        return 0;
    }
    if (!strcmp(type, "message_delta")) {
        llm_usage_from_event(&t->usage, type, d);
        s = llm_dialect_str(json_object_get(d, "delta"), "stop_reason");
        if (s) {
            t->finish_reason = llm_translate_stop_to_openai(s);
            t->finish_sent = 1;
            return emit_data(t, NULL, chunk(t, json_object(),
                                            t->finish_reason));
        }
        return 0;
    }
    if (!strcmp(type, "message_stop")) {
        return a2o_finish(t);
    }
    if (!strcmp(type, "ping")) {
        /* A comment keeps idle timeouts between caller and gateway from
         * firing while the model thinks; clients ignore it. */
        return emit_raw(t, ": ping\n\n");
    }
    if (!strcmp(type, "error")) {
        json_t *e = json_object_get(d, "error");
        const char *msg = llm_dialect_str(e, "message");

        t->done = 1;
        return emit_data(t, NULL, json_pack("{s:{s:s,s:s,s:n,s:n}}", "error",
                         "message", msg ? msg : "provider stream error",
                         "type", llm_dialect_str(e, "type")
                                 ? llm_dialect_str(e, "type") : "api_error",
                         "param", "code"))
               || emit_raw(t, "data: [DONE]\n\n");
    }
    /* content_block_stop and events of later API versions: nothing to say
     * in the chunk dialect. */
    return 0;
}

/* --- OpenAI -> Anthropic --------------------------------------------- */

static int o2a_start(llm_sse_translator_t *t, json_t *c)
{
    const char *id = llm_dialect_str(c, "id");
    const char *model = llm_dialect_str(c, "model");

    if (t->started) {
        return 0;
    }
    t->started = 1;
    if (!t->model) {
        t->model = apr_pstrdup(t->p, model ? model : "");
    }
    /* Input tokens are known only at the end of an OpenAI stream; the
     * final message_delta carries them. */
    return emit_data(t, "message_start", json_pack(
        "{s:s,s:{s:s,s:s,s:s,s:s,s:[],s:n,s:n,s:{s:i,s:i}}}",
        "type", "message_start", "message",
        "id", apr_pstrcat(t->p, "msg_", id ? id : "gateway", NULL),
        "type", "message", "role", "assistant", "model", t->model,
        "content", "stop_reason", "stop_sequence", "usage",
        "input_tokens", 0, "output_tokens", 0));
}

static int o2a_close_block(llm_sse_translator_t *t)
{
    int idx = t->block_open;

    if (idx == NO_INDEX) {
        return 0;
    }
    t->block_open = NO_INDEX;
    t->open_call = NO_INDEX;
    return emit_data(t, "content_block_stop", json_pack("{s:s,s:i}",
                     "type", "content_block_stop", "index", idx));
}

static int o2a_open_block(llm_sse_translator_t *t, json_t *block, int tool,
                          int call)
{
    if (o2a_close_block(t) != 0) {
        json_decref(block);
        return -1;
    }
    t->block_open = t->nblocks++;
    t->block_is_tool = tool;
    t->open_call = call;
    return emit_data(t, "content_block_start", json_pack("{s:s,s:i,s:o}",
                     "type", "content_block_start", "index", t->block_open,
                     "content_block", block));
}

static int o2a_finish(llm_sse_translator_t *t)
{
    json_t *usage;

    if (t->done) {
        return 0;
    }
    if (!t->started && o2a_start(t, NULL) != 0) {
        return -1;
    }
    /* Claude Code ends with an empty answer unless it sees a block
     * closed; give an empty reply an empty text block. */
    if (t->nblocks == 0
        && o2a_open_block(t, json_pack("{s:s,s:s}", "type", "text", "text",
                                       ""), 0, NO_INDEX) != 0) {
        return -1;
    }
    if (o2a_close_block(t) != 0) {
        return -1;
    }
    usage = llm_translate_usage_anthropic(&t->usage);
    t->done = 1;
    return emit_data(t, "message_delta", json_pack(
               "{s:s,s:{s:s,s:n},s:o}", "type", "message_delta", "delta",
               "stop_reason", t->stop_reason ? t->stop_reason : "end_turn",
               "stop_sequence", "usage", usage))
           || emit_data(t, "message_stop", json_pack("{s:s}", "type",
                                                     "message_stop"));
}

static int o2a_chunk(llm_sse_translator_t *t, json_t *c)
{
    json_t *choice, *delta, *calls, *call, *fn, *e;
    const char *s, *args, *fr;
    size_t i;
    int idx;
    char gen_id[32];

    e = json_object_get(c, "error");
    if (e) {
        s = llm_dialect_str(e, "message");
        t->done = 1;
        return emit_data(t, "error", json_pack("{s:s,s:{s:s,s:s}}",
                         "type", "error", "error", "type", "api_error",
                         "message", s ? s : "provider stream error"));
    }
    if (o2a_start(t, c) != 0) {
        return -1;
    }
    llm_usage_from_event(&t->usage, NULL, c);
    choice = json_array_get(json_object_get(c, "choices"), 0);
    if (!choice) {
        return 0;
    }
    delta = json_object_get(choice, "delta");
    s = llm_dialect_str(delta, "content");
    if (s && *s) {
        if ((t->block_open == NO_INDEX || t->block_is_tool)
            && o2a_open_block(t, json_pack("{s:s,s:s}", "type", "text",
                                           "text", ""), 0, NO_INDEX) != 0) {
            return -1;
        }
        if (emit_data(t, "content_block_delta", json_pack(
                "{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_delta",
                "index", t->block_open, "delta", "type", "text_delta",
                "text", s)) != 0) {
            return -1;
        }
    }
    calls = json_object_get(delta, "tool_calls");
    json_array_foreach(calls, i, call) {
        e = json_object_get(call, "index");
        idx = json_is_integer(e) ? (int)json_integer_value(e) : 0;
        fn = json_object_get(call, "function");
        apr_snprintf(gen_id, sizeof(gen_id), "toolu_gw_%d", idx);
        /* A call opens with its id (and name); later pieces carry only
         * the index and more arguments. */
        if (llm_dialect_str(call, "id") || !t->block_is_tool
            || t->block_open == NO_INDEX || idx != t->open_call) {
            if (o2a_open_block(t, json_pack("{s:s,s:s,s:s,s:{}}",
                    "type", "tool_use",
                    "id", llm_dialect_str(call, "id")
                          ? llm_dialect_str(call, "id") : gen_id,
                    "name", llm_dialect_str(fn, "name")
                            ? llm_dialect_str(fn, "name") : "",
                    "input"), 1, idx) != 0) {
                return -1;
            }
        }
        args = llm_dialect_str(fn, "arguments");
        if (args && *args
            && emit_data(t, "content_block_delta", json_pack(
                   "{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_delta",
                   "index", t->block_open, "delta", "type",
                   "input_json_delta", "partial_json", args)) != 0) {
            return -1;
        }
    }
    fr = llm_dialect_str(choice, "finish_reason");
    if (fr) {
        t->stop_reason = llm_translate_stop_to_anthropic(fr);
        /* Usage may follow in a chunk of its own; the message ends at
         * [DONE] or at the end of the stream. */
        return o2a_close_block(t);
    }
    return 0;
}

/* --- pass-through without the usage chunk ---------------------------- */

static int on_event(void *baton, const llm_sse_event_t *ev);

/* Bytes to send on (t->out has no cap in this mode: it holds at most a
 * held event and one piece). */
static void pass_out(llm_sse_translator_t *t, const char *s, size_t n)
{
    if (n) {
        llm_dbuf_append(&t->out, s, n);
    }
}

/* The usage chunk OpenAI adds when asked: no choices, only usage. */
static int usage_chunk(const llm_sse_event_t *ev)
{
    const char *v;
    size_t n, i;

    if (llm_json_top_member(ev->data, ev->data_len, "choices", &v, &n) != 1
        || n < 2 || v[0] != '[') {
        return 0;
    }
    for (i = 1; i + 1 < n; i++) {
        if (v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* The event just parsed is left out: what came before it goes on. */
static void strip_event(llm_sse_translator_t *t)
{
    size_t start = llm_sse_parser_boundary(t->ps);

    t->cut = 1;
    if (!t->piece) {
        /* the unterminated last event, at the end of the stream */
        t->held.len = 0;
        return;
    }
    if (start > 0) {
        /* The held bytes end in an earlier event of this piece. */
        pass_out(t, t->held.data, t->held.len);
        pass_out(t, t->piece + t->mark, start - t->mark);
    }
    t->held.len = 0;
    t->mark = llm_sse_parser_line_end(t->ps);
}

static int pass_strip(llm_sse_translator_t *t, const char *buf, size_t len,
                      const char **out, size_t *out_len)
{
    size_t b;
    int rv;

    t->piece = buf;
    t->mark = 0;
    t->cut = 0;
    rv = llm_sse_parser_feed(t->ps, buf, len, on_event, t);
    b = rv ? len : llm_sse_parser_boundary(t->ps);
    if (rv) {
        /* An event too large to read: no more stripping, and the unread
         * bytes are all charged as text. */
        t->failed = 1;
        t->text_bytes += len;
    }
    if (!t->cut && !t->held.len && b == len) {
        *out = buf;
        *out_len = len;
        return 0;
    }
    if (t->held.len && b > 0) {
        pass_out(t, t->held.data, t->held.len);
        t->held.len = 0;
    }
    pass_out(t, buf + t->mark, b > t->mark ? b - t->mark : 0);
    if (t->failed
        || (b < len && llm_dbuf_append(&t->held, buf + b, len - b) != 0)) {
        /* From here on bytes go on as they come. */
        t->failed = 1;
        pass_out(t, t->held.data, t->held.len);
        t->held.len = 0;
        if (b < len) {
            pass_out(t, buf + b, len - b);
        }
    }
    *out = t->out.data ? t->out.data : "";
    *out_len = t->out.len;
    return 0;
}

/* --- the parser's callback ------------------------------------------- */

static int on_event(void *baton, const llm_sse_event_t *ev)
{
    llm_sse_translator_t *t = baton;
    json_t *d;
    const char *type;
    int rv = 0, has_usage;

    /* One pass finds the text (for an estimate) and a usage member. */
    t->text_bytes += llm_usage_scan_event(ev->event, ev->data, ev->data_len,
                                          &has_usage);
    if (t->mode == LLM_SSE_PASS) {
        if (has_usage
            && llm_usage_read_event_text(&t->usage, ev->event, ev->data,
                                         ev->data_len)
            && t->strip_usage && usage_chunk(ev)) {
            strip_event(t);
        }
        return 0;
    }
    if (t->done) {
        return 0;
    }
    if (t->mode == LLM_SSE_O2A && ev->data_len == 6
        && !memcmp(ev->data, "[DONE]", 6)) {
        return o2a_finish(t);
    }
    d = llm_json_fast_parse(ev->data, ev->data_len, LLM_DIALECT_MAX_DEPTH,
                            NULL);
    if (!json_is_object(d)) {
        /* Not JSON: nothing a translated stream could carry. */
        json_decref(d);
        return 0;
    }
    if (t->mode == LLM_SSE_A2O || t->mode == LLM_SSE_A2R) {
        type = llm_dialect_str(d, "type");
        if (!type) {
            type = ev->event;
        }
        if (type) {
            rv = t->mode == LLM_SSE_A2O ? a2o_event(t, type, d)
                                        : llm_sse_a2r_event(t, type, d);
        }
    }
    else {
        rv = o2a_chunk(t, d);
    }
    json_decref(d);
    return rv ? -1 : 0;
}

int llm_sse_translate(llm_sse_translator_t *t, const char *buf, size_t len,
                      const char **out, size_t *out_len)
{
    int rv;

    t->out.len = 0;
    if (t->mode == LLM_SSE_PASS && t->strip_usage && !t->failed) {
        return pass_strip(t, buf, len, out, out_len);
    }
    if (t->failed) {
        /* Unread bytes are all charged as text. */
        t->text_bytes += len;
        rv = -1;
    }
    else {
        rv = llm_sse_parser_feed(t->ps, buf, len, on_event, t);
        if (rv != 0) {
            t->failed = 1;
            t->text_bytes += len;
        }
    }
    if (t->mode == LLM_SSE_PASS) {
        /* The bytes go on as they came; an event too large to read only
         * ends the reading of usage. */
        *out = buf;
        *out_len = len;
        return 0;
    }
    *out = t->out.data ? t->out.data : "";
    *out_len = t->out.len;
    return rv ? -1 : 0;
}

int llm_sse_translate_finish(llm_sse_translator_t *t, const char **out,
                             size_t *out_len)
{
    int rv = 0;

    t->out.len = 0;
    if (!t->failed) {
        t->piece = NULL;
        rv = llm_sse_parser_finish(t->ps, on_event, t);
    }
    if (t->held.len) {
        /* a last event without its blank line, not stripped */
        pass_out(t, t->held.data, t->held.len);
        t->held.len = 0;
    }
    if (!t->done) {
        /* The provider's stream ended early or failed: close the caller's
         * stream properly all the same. */
        switch (t->mode) {
        case LLM_SSE_A2O:
            a2o_finish(t);
            break;
        case LLM_SSE_O2A:
            o2a_finish(t);
            break;
        case LLM_SSE_A2R:
            llm_sse_a2r_finish(t);
            break;
        default:
            break;
        }
    }
    *out = t->out.data ? t->out.data : "";
    *out_len = t->out.len;
    return (rv && t->mode != LLM_SSE_PASS) ? -1 : 0;
}
