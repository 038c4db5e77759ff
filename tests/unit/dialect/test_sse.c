/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Unit tests of llm_sse.h: the incremental parser and the stream
 * translators.
 */

#include <stdlib.h>

#include "test_util.h"
#include "llm_sse.h"

typedef struct {
    apr_array_header_t *names;   /* const char * ("" when none) */
    apr_array_header_t *datas;   /* const char * */
} events_t;

static int collect(void *baton, const llm_sse_event_t *ev)
{
    events_t *e = baton;

    *(const char **)apr_array_push(e->names) =
        apr_pstrdup(tp, ev->event ? ev->event : "");
    *(const char **)apr_array_push(e->datas) =
        apr_pstrmemdup(tp, ev->data, ev->data_len);
    return 0;
}

static events_t *events_new(void)
{
    events_t *e = apr_pcalloc(tp, sizeof(*e));

    e->names = apr_array_make(tp, 8, sizeof(const char *));
    e->datas = apr_array_make(tp, 8, sizeof(const char *));
    return e;
}

#define NAME(e, i) (((const char **)(e)->names->elts)[i])
#define DATA(e, i) (((const char **)(e)->datas->elts)[i])

/* Parse a whole text, fed in pieces of `step` bytes (0: at once). */
static events_t *parse_all(const char *text, size_t len, size_t step)
{
    llm_sse_parser_t *ps = llm_sse_parser_create(tp, 0);
    events_t *e = events_new();
    size_t pos = 0, n;

    if (step == 0) {
        step = len ? len : 1;
    }
    while (pos < len) {
        n = len - pos < step ? len - pos : step;
        ck_assert_int_eq(llm_sse_parser_feed(ps, text + pos, n, collect, e),
                         0);
        pos += n;
    }
    ck_assert_int_eq(llm_sse_parser_finish(ps, collect, e), 0);
    return e;
}

static const char *sample =
    "\xEF\xBB\xBF: a comment\r\n"
    "event: first\r\n"
    "data: line one\r\n"
    "data: line two\r\n"
    "\r\n"
    "data:no space\n"
    "id: 7\n"
    "retry: 100\n"
    "\n"
    "event: empty-is-not-dispatched\n"
    "\n"
    "event: cr\r"
    "data: {\"x\":1}\r"
    "\r"
    "data\n"
    "\n"
    "data: tail without blank line";

START_TEST(parser_any_split)
{
    size_t steps[] = { 0, 1, 2, 3, 5, 7, 64 };
    size_t k;
    events_t *e;

    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        e = parse_all(sample, strlen(sample), steps[k]);
        ck_assert_int_eq(e->names->nelts, 5);
        ck_assert_str_eq(NAME(e, 0), "first");
        ck_assert_str_eq(DATA(e, 0), "line one\nline two");
        ck_assert_str_eq(NAME(e, 1), "");
        ck_assert_str_eq(DATA(e, 1), "no space");
        ck_assert_str_eq(NAME(e, 2), "cr");
        ck_assert_str_eq(DATA(e, 2), "{\"x\":1}");
        /* "data" alone is a data line with an empty value */
        ck_assert_str_eq(DATA(e, 3), "");
        ck_assert_str_eq(DATA(e, 4), "tail without blank line");
    }
}
END_TEST

START_TEST(parser_cap)
{
    llm_sse_parser_t *ps = llm_sse_parser_create(tp, 16);
    events_t *e = events_new();

    ck_assert_int_eq(llm_sse_parser_feed(ps, "data: 0123456789", 16, collect,
                                         e), 0);
    ck_assert_int_eq(llm_sse_parser_feed(ps, "abcdef", 6, collect, e), -1);
    /* spent */
    ck_assert_int_eq(llm_sse_parser_feed(ps, "\n\n", 2, collect, e), -1);

    ps = llm_sse_parser_create(tp, 16);
    ck_assert_int_eq(llm_sse_parser_feed(ps, "data: 0123456789\ndata: "
                                         "0123456789\n", 34, collect, e), -1);
}
END_TEST

START_TEST(parser_callback_stops)
{
    llm_sse_parser_t *ps = llm_sse_parser_create(tp, 0);

    ck_assert_int_eq(llm_sse_parser_feed(ps, "data: a\n\n", 9, NULL, NULL),
                     0);
}
END_TEST

/* Run a whole upstream stream through a translator in pieces of `step`
 * bytes; returns the caller's stream text. */
static char *translate_all(llm_sse_translator_t *t, const char *in,
                           size_t step, int finish)
{
    size_t pos = 0, n, len = strlen(in), olen;
    const char *out;
    char *acc = apr_pstrdup(tp, "");

    while (pos < len) {
        n = len - pos < step ? len - pos : step;
        ck_assert_int_eq(llm_sse_translate(t, in + pos, n, &out, &olen), 0);
        acc = apr_pstrcat(tp, acc, apr_pstrmemdup(tp, out, olen), NULL);
        pos += n;
    }
    if (finish) {
        ck_assert_int_eq(llm_sse_translate_finish(t, &out, &olen), 0);
        acc = apr_pstrcat(tp, acc, apr_pstrmemdup(tp, out, olen), NULL);
    }
    return acc;
}

static const char *anthropic_stream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_t1\","
    "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-q\","
    "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":30,"
    "\"cache_read_input_tokens\":10,\"cache_creation_input_tokens\":0,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Checking \"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"now.\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"toolu_z\",\"name\":\"ls\",\"input\":{}}}"
    "\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"dir\\\":\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\\\"/tmp\\\"}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":17}}"
    "\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

START_TEST(anthropic_to_openai_stream)
{
    size_t steps[] = { 1, 3, 17, 4096 };
    size_t k;
    int i;
    llm_sse_translator_t *t;
    char *out;
    events_t *e;
    json_t *c, *delta, *tc;
    char *text, *args;
    const llm_usage_t *u;

    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        t = llm_sse_translator_create(tp, LLM_FAMILY_ANTHROPIC,
                                      LLM_FAMILY_OPENAI, 1, "alias-model");
        out = translate_all(t, anthropic_stream, steps[k], 1);
        e = parse_all(out, strlen(out), 0);
        ck_assert_int_ge(e->names->nelts, 6);
        ck_assert_str_eq(DATA(e, e->names->nelts - 1), "[DONE]");
        ck_assert_int_eq(llm_sse_translator_done(t), 1);
        text = apr_pstrdup(tp, "");
        args = apr_pstrdup(tp, "");
        for (i = 0; i < e->names->nelts - 1; i++) {
            ck_assert_str_eq(NAME(e, i), "");
            c = tu_parse(DATA(e, i));
            ck_assert_str_eq(tu_str(c, "object"), "chat.completion.chunk");
            ck_assert_str_eq(tu_str(c, "model"), "alias-model");
            ck_assert_str_eq(tu_str(c, "id"), "chatcmpl-msg_t1");
            delta = json_object_get(json_array_get(json_object_get(c,
                                        "choices"), 0), "delta");
            if (i == 0) {
                ck_assert_str_eq(tu_str(delta, "role"), "assistant");
            }
            if (json_is_string(json_object_get(delta, "content"))) {
                text = apr_pstrcat(tp, text, tu_str(delta, "content"), NULL);
            }
            tc = json_array_get(json_object_get(delta, "tool_calls"), 0);
            if (tc) {
                ck_assert_int_eq(json_integer_value(json_object_get(tc,
                                 "index")), 0);
                if (json_object_get(tc, "id")) {
                    ck_assert_str_eq(tu_str(tc, "id"), "toolu_z");
                    ck_assert_str_eq(tu_str(json_object_get(tc, "function"),
                                            "name"), "ls");
                }
                args = apr_pstrcat(tp, args, tu_str(json_object_get(tc,
                                   "function"), "arguments"), NULL);
            }
        }
        ck_assert_str_eq(text, "Checking now.");
        ck_assert_str_eq(args, "{\"dir\":\"/tmp\"}");
        /* finish reason, then the usage chunk */
        c = tu_parse(DATA(e, e->names->nelts - 3));
        ck_assert_str_eq(tu_str(json_array_get(json_object_get(c, "choices"),
                                               0), "finish_reason"),
                         "tool_calls");
        c = tu_parse(DATA(e, e->names->nelts - 2));
        ck_assert_int_eq(json_array_size(json_object_get(c, "choices")), 0);
        ck_assert_str_eq(tu_dump(json_object_get(c, "usage")),
            "{\"prompt_tokens\":40,\"completion_tokens\":17,"
            "\"total_tokens\":57,\"prompt_tokens_details\":{"
            "\"cached_tokens\":10}}");
        u = llm_sse_translator_usage(t);
        ck_assert_int_eq(u->input_tokens, 40);
        ck_assert_int_eq(u->output_tokens, 17);
        ck_assert_int_eq(u->cached_input_tokens, 10);
    }
}
END_TEST

START_TEST(anthropic_to_openai_no_usage_and_truncated)
{
    llm_sse_translator_t *t = llm_sse_translator_create(tp,
        LLM_FAMILY_ANTHROPIC, LLM_FAMILY_OPENAI, 0, NULL);
    const char *cut = strstr(anthropic_stream, "event: content_block_stop");
    char *in = apr_pstrmemdup(tp, anthropic_stream,
                              (size_t)(cut - anthropic_stream));
    char *out = translate_all(t, in, 50, 1);
    events_t *e = parse_all(out, strlen(out), 0);
    json_t *c;

    /* ended early: still a finish chunk and [DONE], no usage chunk */
    ck_assert_str_eq(DATA(e, e->names->nelts - 1), "[DONE]");
    c = tu_parse(DATA(e, e->names->nelts - 2));
    ck_assert_str_eq(tu_str(json_array_get(json_object_get(c, "choices"), 0),
                            "finish_reason"), "stop");
    ck_assert_str_eq(tu_str(c, "model"), "claude-q");
    ck_assert_ptr_null(strstr(out, "\"usage\""));
}
END_TEST

START_TEST(anthropic_error_event)
{
    llm_sse_translator_t *t = llm_sse_translator_create(tp,
        LLM_FAMILY_ANTHROPIC, LLM_FAMILY_OPENAI, 0, NULL);
    const char *in = "event: error\ndata: {\"type\":\"error\",\"error\":{"
                     "\"type\":\"overloaded_error\",\"message\":\"Busy\"}}\n\n";
    char *out = translate_all(t, in, 1000, 1);
    events_t *e = parse_all(out, strlen(out), 0);

    ck_assert_int_eq(e->names->nelts, 2);
    ck_assert_str_eq(DATA(e, 0), "{\"error\":{\"message\":\"Busy\",\"type\":"
                     "\"overloaded_error\",\"param\":null,\"code\":null}}");
    ck_assert_str_eq(DATA(e, 1), "[DONE]");
}
END_TEST

START_TEST(anthropic_to_responses_stream)
{
    static const char *const want[] = {
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"
    };
    size_t steps[] = { 1, 9, 4096 };
    size_t k;
    int i;
    llm_sse_translator_t *t;
    char *out;
    events_t *e;
    json_t *d, *r;

    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        t = llm_sse_translator_create_for(tp, LLM_EP_OPENAI_RESPONSES,
                                          LLM_FAMILY_ANTHROPIC, 0, NULL);
        out = translate_all(t, anthropic_stream, steps[k], 1);
        e = parse_all(out, strlen(out), 0);
        ck_assert_int_eq(e->names->nelts, 15);
        for (i = 0; i < 15; i++) {
            ck_assert_str_eq(NAME(e, i), want[i]);
            d = tu_parse(DATA(e, i));
            ck_assert_str_eq(tu_str(d, "type"), want[i]);
            ck_assert_int_eq(json_integer_value(json_object_get(d,
                             "sequence_number")), i);
        }
        d = tu_parse(DATA(e, 2));
        ck_assert_str_eq(tu_str(json_object_get(d, "item"), "type"),
                         "message");
        d = tu_parse(DATA(e, 6));
        ck_assert_str_eq(tu_str(d, "text"), "Checking now.");
        d = tu_parse(DATA(e, 9));
        ck_assert_str_eq(tu_dump(json_object_get(d, "item")),
            "{\"id\":\"fc_toolu_z\",\"type\":\"function_call\","
            "\"status\":\"in_progress\",\"arguments\":\"\",\"call_id\":"
            "\"toolu_z\",\"name\":\"ls\"}");
        d = tu_parse(DATA(e, 12));
        ck_assert_str_eq(tu_str(d, "arguments"), "{\"dir\":\"/tmp\"}");
        d = tu_parse(DATA(e, 14));
        r = json_object_get(d, "response");
        ck_assert_str_eq(tu_str(r, "id"), "resp_msg_t1");
        ck_assert_str_eq(tu_str(r, "status"), "completed");
        ck_assert_str_eq(tu_str(r, "model"), "claude-q");
        ck_assert_int_eq(json_array_size(json_object_get(r, "output")), 2);
        ck_assert_str_eq(tu_str(json_array_get(json_object_get(r, "output"),
                                               1), "arguments"),
                         "{\"dir\":\"/tmp\"}");
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
                         r, "usage"), "input_tokens")), 40);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
                         r, "usage"), "output_tokens")), 17);
    }
}
END_TEST

START_TEST(anthropic_to_responses_error)
{
    llm_sse_translator_t *t = llm_sse_translator_create_for(tp,
        LLM_EP_OPENAI_RESPONSES, LLM_FAMILY_ANTHROPIC, 0, "shown");
    const char *in = "event: error\ndata: {\"type\":\"error\",\"error\":{"
                     "\"type\":\"overloaded_error\",\"message\":\"Busy\"}}\n\n";
    char *out = translate_all(t, in, 7, 1);
    events_t *e = parse_all(out, strlen(out), 0);
    json_t *r;

    ck_assert_int_eq(e->names->nelts, 3);
    ck_assert_str_eq(NAME(e, 2), "response.failed");
    r = json_object_get(tu_parse(DATA(e, 2)), "response");
    ck_assert_str_eq(tu_str(r, "status"), "failed");
    ck_assert_str_eq(tu_str(json_object_get(r, "error"), "message"), "Busy");
}
END_TEST

START_TEST(create_for_picks_the_translation)
{
    const char *in = "data: {\"x\":1}\n\n", *out;
    size_t olen;
    llm_sse_translator_t *t;

    /* Responses caller on an OpenAI provider: untouched */
    t = llm_sse_translator_create_for(tp, LLM_EP_OPENAI_RESPONSES,
                                      LLM_FAMILY_OPENAI, 0, NULL);
    ck_assert_int_eq(llm_sse_translate(t, in, strlen(in), &out, &olen), 0);
    ck_assert_ptr_eq(out, in);
    /* Anthropic caller on an Anthropic provider: untouched */
    t = llm_sse_translator_create_for(tp, LLM_EP_ANTHROPIC_MESSAGES,
                                      LLM_FAMILY_ANTHROPIC, 0, NULL);
    ck_assert_int_eq(llm_sse_translate(t, in, strlen(in), &out, &olen), 0);
    ck_assert_ptr_eq(out, in);
    /* chat caller on Anthropic: translated */
    t = llm_sse_translator_create_for(tp, LLM_EP_OPENAI_CHAT,
                                      LLM_FAMILY_ANTHROPIC, 0, NULL);
    ck_assert_int_eq(llm_sse_translate(t, in, strlen(in), &out, &olen), 0);
    ck_assert_ptr_ne(out, in);
}
END_TEST

static const char *openai_stream =
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"content\":\"On it\"},\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"tool_calls\":[{\"index\":0,\"id\":\"call_x\",\"type\":\"function\","
    "\"function\":{\"name\":\"run\",\"arguments\":\"\"}}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"{\\\"c\\\":1}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"tool_calls\":[{\"index\":1,\"id\":\"call_y\",\"type\":\"function\","
    "\"function\":{\"name\":\"run\",\"arguments\":\"{}\"}}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-o1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-q\",\"choices\":[],\"usage\":{"
    "\"prompt_tokens\":25,\"completion_tokens\":8,\"total_tokens\":33,"
    "\"prompt_tokens_details\":{\"cached_tokens\":5}}}\n\n"
    "data: [DONE]\n\n";

START_TEST(openai_to_anthropic_stream)
{
    size_t steps[] = { 1, 7, 4096 };
    static const char *const want[] = {
        "message_start", "content_block_start", "content_block_delta",
        "content_block_stop", "content_block_start", "content_block_delta",
        "content_block_stop", "content_block_start", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop"
    };
    size_t k;
    int i;
    llm_sse_translator_t *t;
    char *out;
    events_t *e;
    json_t *d;

    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        t = llm_sse_translator_create(tp, LLM_FAMILY_OPENAI,
                                      LLM_FAMILY_ANTHROPIC, 0, NULL);
        out = translate_all(t, openai_stream, steps[k], 1);
        e = parse_all(out, strlen(out), 0);
        ck_assert_int_eq(e->names->nelts, 12);
        for (i = 0; i < 12; i++) {
            ck_assert_str_eq(NAME(e, i), want[i]);
            d = tu_parse(DATA(e, i));
            ck_assert_str_eq(tu_str(d, "type"), want[i]);
        }
        d = tu_parse(DATA(e, 0));
        ck_assert_str_eq(tu_str(json_object_get(d, "message"), "model"),
                         "gpt-q");
        ck_assert_str_eq(tu_str(json_object_get(d, "message"), "id"),
                         "msg_chatcmpl-o1");
        ck_assert_str_eq(DATA(e, 1), "{\"type\":\"content_block_start\","
                         "\"index\":0,\"content_block\":{\"type\":\"text\","
                         "\"text\":\"\"}}");
        ck_assert_str_eq(DATA(e, 2), "{\"type\":\"content_block_delta\","
                         "\"index\":0,\"delta\":{\"type\":\"text_delta\","
                         "\"text\":\"On it\"}}");
        ck_assert_str_eq(DATA(e, 4), "{\"type\":\"content_block_start\","
                         "\"index\":1,\"content_block\":{\"type\":"
                         "\"tool_use\",\"id\":\"call_x\",\"name\":\"run\","
                         "\"input\":{}}}");
        ck_assert_str_eq(DATA(e, 5), "{\"type\":\"content_block_delta\","
                         "\"index\":1,\"delta\":{\"type\":"
                         "\"input_json_delta\",\"partial_json\":"
                         "\"{\\\"c\\\":1}\"}}");
        ck_assert_str_eq(DATA(e, 7), "{\"type\":\"content_block_start\","
                         "\"index\":2,\"content_block\":{\"type\":"
                         "\"tool_use\",\"id\":\"call_y\",\"name\":\"run\","
                         "\"input\":{}}}");
        ck_assert_str_eq(DATA(e, 10), "{\"type\":\"message_delta\","
                         "\"delta\":{\"stop_reason\":\"tool_use\","
                         "\"stop_sequence\":null},\"usage\":{\"input_tokens\":"
                         "20,\"cache_creation_input_tokens\":0,"
                         "\"cache_read_input_tokens\":5,\"output_tokens\":8}}");
        ck_assert_int_eq(llm_sse_translator_usage(t)->input_tokens, 25);
        ck_assert_int_eq(llm_sse_translator_done(t), 1);
    }
}
END_TEST

START_TEST(openai_to_anthropic_empty_and_truncated)
{
    llm_sse_translator_t *t = llm_sse_translator_create(tp,
        LLM_FAMILY_OPENAI, LLM_FAMILY_ANTHROPIC, 0, "shown");
    const char *in = "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{"
                     "\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n";
    char *out = translate_all(t, in, 5, 1);
    events_t *e = parse_all(out, strlen(out), 0);

    /* an empty answer still has a block, and the stream its ending */
    ck_assert_int_eq(e->names->nelts, 5);
    ck_assert_str_eq(NAME(e, 0), "message_start");
    ck_assert_msg(strstr(DATA(e, 0), "\"model\":\"shown\"") != NULL, "%s",
                  DATA(e, 0));
    ck_assert_str_eq(NAME(e, 1), "content_block_start");
    ck_assert_str_eq(NAME(e, 2), "content_block_stop");
    ck_assert_str_eq(NAME(e, 3), "message_delta");
    ck_assert_msg(strstr(DATA(e, 3), "\"end_turn\"") != NULL, "%s",
                  DATA(e, 3));
    ck_assert_str_eq(NAME(e, 4), "message_stop");
}
END_TEST

START_TEST(openai_error_chunk)
{
    llm_sse_translator_t *t = llm_sse_translator_create(tp,
        LLM_FAMILY_OPENAI, LLM_FAMILY_ANTHROPIC, 0, NULL);
    const char *in = "data: {\"error\":{\"message\":\"boom\",\"type\":"
                     "\"server_error\"}}\n\n";
    char *out = translate_all(t, in, 100, 1);

    ck_assert_str_eq(out, "event: error\ndata: {\"type\":\"error\",\"error\":"
                     "{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n");
}
END_TEST

START_TEST(passthrough_reads_usage)
{
    llm_sse_translator_t *t = llm_sse_translator_create(tp,
        LLM_FAMILY_OPENAI, LLM_FAMILY_OPENAI, 0, NULL);
    const char *in =
        "event: response.output_text.delta\n"
        "data: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n"
        "event: response.completed\n"
        "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{"
        "\"input_tokens\":12,\"input_tokens_details\":{\"cached_tokens\":2},"
        "\"output_tokens\":3}}}\n\n";
    const char *out;
    size_t olen;

    ck_assert_int_eq(llm_sse_translate(t, in, 30, &out, &olen), 0);
    ck_assert_ptr_eq(out, in);
    ck_assert_uint_eq(olen, 30);
    ck_assert_int_eq(llm_sse_translate(t, in + 30, strlen(in) - 30, &out,
                                       &olen), 0);
    ck_assert_ptr_eq(out, in + 30);
    ck_assert_int_eq(llm_sse_translate_finish(t, &out, &olen), 0);
    ck_assert_uint_eq(olen, 0);
    ck_assert_int_eq(llm_sse_translator_usage(t)->input_tokens, 12);
    ck_assert_int_eq(llm_sse_translator_usage(t)->cached_input_tokens, 2);
    ck_assert_int_eq(llm_sse_translator_usage(t)->output_tokens, 3);
}
END_TEST

START_TEST(passthrough_survives_huge_events)
{
    llm_sse_translator_t *t = llm_sse_translator_create(tp,
        LLM_FAMILY_ANTHROPIC, LLM_FAMILY_ANTHROPIC, 0, NULL);
    size_t n = LLM_SSE_DEFAULT_MAX_EVENT + 10, olen;
    char *big = apr_palloc(tp, n);
    const char *out;

    memset(big, 'a', n);
    memcpy(big, "data: ", 6);
    ck_assert_int_eq(llm_sse_translate(t, big, n, &out, &olen), 0);
    ck_assert_ptr_eq(out, big);
    ck_assert_uint_eq(olen, n);
    ck_assert_int_eq(llm_sse_translate(t, "\n\n", 2, &out, &olen), 0);
    ck_assert_int_eq(llm_sse_translate_finish(t, &out, &olen), 0);

    /* translating, the same event is an error the caller must act on */
    t = llm_sse_translator_create(tp, LLM_FAMILY_ANTHROPIC,
                                  LLM_FAMILY_OPENAI, 0, NULL);
    ck_assert_int_eq(llm_sse_translate(t, big, n, &out, &olen), -1);
}
END_TEST

/* The provider streams of tests/unit/dialect/exchanges. */
static void stream_cb(const char *path, const char *name, void *baton)
{
    int *translated = baton, anthropic;
    size_t len;
    char *text = tu_slurp(path, &len), *out;
    llm_sse_translator_t *t;
    events_t *e;

    ck_assert_ptr_nonnull(text);
    if (strstr(text, "event: response.")) {
        return;   /* Responses streams pass through */
    }
    anthropic = strstr(text, "event: message_start") != NULL;
    t = llm_sse_translator_create(tp,
        anthropic ? LLM_FAMILY_ANTHROPIC : LLM_FAMILY_OPENAI,
        anthropic ? LLM_FAMILY_OPENAI : LLM_FAMILY_ANTHROPIC, 1, NULL);
    out = translate_all(t, text, 13, 1);
    e = parse_all(out, strlen(out), 0);
    ck_assert_int_ge(e->names->nelts, 3);
    if (strstr(text, "\"usage\":{")) {
        ck_assert_msg(llm_sse_translator_usage(t)->seen == 1,
                      "no usage from %s", name);
    }
    if (anthropic) {
        ck_assert_str_eq(DATA(e, e->names->nelts - 1), "[DONE]");
        t = llm_sse_translator_create_for(tp, LLM_EP_OPENAI_RESPONSES,
                                          LLM_FAMILY_ANTHROPIC, 0, NULL);
        out = translate_all(t, text, 11, 1);
        e = parse_all(out, strlen(out), 0);
        ck_assert_str_eq(NAME(e, 0), "response.created");
        ck_assert_str_eq(NAME(e, e->names->nelts - 1), "response.completed");
        ck_assert_msg(strstr(out, "event: response.output_item.done") != NULL,
                      "%s", name);
    }
    else {
        ck_assert_str_eq(NAME(e, e->names->nelts - 1), "message_stop");
        ck_assert_msg(strstr(out, "event: content_block_stop") != NULL,
                      "%s", name);
    }
    (*translated)++;
}

START_TEST(fixture_streams)
{
    int translated = 0;

    ck_assert_int_ge(tu_for_each_fixture(".sse", stream_cb, &translated), 0);
    ck_assert_int_gt(translated, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sse");
    TCase *tc = tcase_create("sse");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, parser_any_split);
    tcase_add_test(tc, parser_cap);
    tcase_add_test(tc, parser_callback_stops);
    tcase_add_test(tc, anthropic_to_openai_stream);
    tcase_add_test(tc, anthropic_to_openai_no_usage_and_truncated);
    tcase_add_test(tc, anthropic_error_event);
    tcase_add_test(tc, anthropic_to_responses_stream);
    tcase_add_test(tc, anthropic_to_responses_error);
    tcase_add_test(tc, create_for_picks_the_translation);
    tcase_add_test(tc, openai_to_anthropic_stream);
    tcase_add_test(tc, openai_to_anthropic_empty_and_truncated);
    tcase_add_test(tc, openai_error_chunk);
    tcase_add_test(tc, passthrough_reads_usage);
    tcase_add_test(tc, passthrough_survives_huge_events);
    tcase_add_test(tc, fixture_streams);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
