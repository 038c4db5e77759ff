/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer walk (lib/dialect/llm_answer_walk.h): every event kind of
 * both dialects that carries text the caller sees gives its string, its
 * block and the exact span of its JSON token; events that end blocks say
 * so; whole answers give every caller-visible string.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "dialect/llm_answer_walk.h"

static apr_pool_t *pool;

static llm_answer_event_t walk(llm_endpoint_e ep, const char *data)
{
    llm_answer_event_t e;

    ck_assert_int_ge(llm_answer_walk_event(pool, ep, NULL, data,
                                           strlen(data), &e), 0);
    return e;
}

/* the event's only piece is text at block, and its token is exactly the
 * quoted form of text in data */
static void one_piece(const char *data, llm_endpoint_e ep,
                      llm_answer_kind_e kind, const char *block,
                      const char *text, const char *token)
{
    llm_answer_event_t e = walk(ep, data);
    const llm_answer_piece_t *pc;

    ck_assert_int_eq(e.pieces->nelts, 1);
    pc = &APR_ARRAY_IDX(e.pieces, 0, llm_answer_piece_t);
    ck_assert_int_eq(pc->kind, kind);
    ck_assert_str_eq(pc->block, block);
    ck_assert_uint_eq(pc->len, strlen(text));
    ck_assert(!memcmp(pc->text, text, pc->len));
    ck_assert_uint_eq(pc->tok_len, strlen(token));
    ck_assert(!memcmp(data + pc->tok_off, token, pc->tok_len));
}

START_TEST(messages_events)
{
    one_piece("{\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
              "{\"type\":\"text_delta\",\"text\":\"a\\u0040b\"}}",
              LLM_EP_ANTHROPIC_MESSAGES, LLM_ANSWER_TEXT,
              "content[2].text", "a@b", "\"a\\u0040b\"");
    /* same length as content_block_start: told apart by name */
    one_piece("{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": "
              "{\"type\": \"input_json_delta\", \"partial_json\": "
              "\"{\\\"a\\\": 1\"}}",
              LLM_EP_ANTHROPIC_MESSAGES, LLM_ANSWER_ARGS,
              "content[0].input", "{\"a\": 1", "\"{\\\"a\\\": 1\"");
    one_piece("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
              "{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}",
              LLM_EP_ANTHROPIC_MESSAGES, LLM_ANSWER_SIGNED,
              "content[0].thinking", "hm", "\"hm\"");
    one_piece("{\"type\":\"content_block_start\",\"index\":1,"
              "\"content_block\":{\"type\":\"text\",\"text\":\"x\"}}",
              LLM_EP_ANTHROPIC_MESSAGES, LLM_ANSWER_TEXT,
              "content[1].text", "x", "\"x\"");
    {
        llm_answer_event_t e = walk(LLM_EP_ANTHROPIC_MESSAGES,
            "{\"type\":\"content_block_stop\",\"index\":3}");

        ck_assert_int_eq(e.pieces->nelts, 0);
        ck_assert_int_eq(e.ends->nelts, 1);
        ck_assert_str_eq(APR_ARRAY_IDX(e.ends, 0, const char *),
                         "content[3].");
        e = walk(LLM_EP_ANTHROPIC_MESSAGES, "{\"type\":\"message_stop\"}");
        ck_assert_int_eq(e.last, 1);
        /* a signature is no text */
        e = walk(LLM_EP_ANTHROPIC_MESSAGES,
                 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                 "{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}}");
        ck_assert_int_eq(e.pieces->nelts, 0);
    }
}
END_TEST

START_TEST(chat_events)
{
    one_piece("{\"id\":\"c\",\"object\":\"chat.completion.chunk\","
              "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},"
              "\"finish_reason\":null}]}",
              LLM_EP_OPENAI_CHAT, LLM_ANSWER_TEXT,
              "choices[0].delta.content", "hi", "\"hi\"");
    one_piece("{\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"no\"}}]}",
              LLM_EP_OPENAI_CHAT, LLM_ANSWER_TEXT,
              "choices[0].delta.refusal", "no", "\"no\"");
    one_piece("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
              "\"index\":1,\"function\":{\"arguments\":\"{\\\"p\"}}]}}]}",
              LLM_EP_OPENAI_CHAT, LLM_ANSWER_ARGS,
              "choices[0].delta.tool_calls[1].function.arguments", "{\"p",
              "\"{\\\"p\"");
    one_piece("{\"choices\":[{\"text\":\"old\",\"index\":0}]}",
              LLM_EP_OPENAI_COMPLETIONS, LLM_ANSWER_TEXT,
              "choices[0].text", "old", "\"old\"");
    {
        /* two choices in one chunk, the second ending */
        llm_answer_event_t e = walk(LLM_EP_OPENAI_CHAT,
            "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}},"
            "{\"index\":1,\"delta\":{\"content\":\"b\"},"
            "\"finish_reason\":\"stop\"}]}");

        ck_assert_int_eq(e.pieces->nelts, 2);
        ck_assert_str_eq(APR_ARRAY_IDX(e.pieces, 1, llm_answer_piece_t).block,
                         "choices[1].delta.content");
        ck_assert_int_eq(e.ends->nelts, 1);
        ck_assert_str_eq(APR_ARRAY_IDX(e.ends, 0, const char *),
                         "choices[1].");
        e = walk(LLM_EP_OPENAI_CHAT, "[DONE]");
        ck_assert_int_eq(e.last, 1);
        /* content null, a usage chunk: nothing */
        e = walk(LLM_EP_OPENAI_CHAT, "{\"choices\":[{\"index\":0,\"delta\":"
                 "{\"content\":null}}]}");
        ck_assert_int_eq(e.pieces->nelts, 0);
        e = walk(LLM_EP_OPENAI_CHAT, "{\"choices\":[],\"usage\":{}}");
        ck_assert_int_eq(e.pieces->nelts, 0);
    }
}
END_TEST

START_TEST(responses_events)
{
    llm_answer_event_t e;

    one_piece("{\"type\":\"response.output_text.delta\",\"output_index\":1,"
              "\"content_index\":0,\"delta\":\"d\"}",
              LLM_EP_OPENAI_RESPONSES, LLM_ANSWER_TEXT,
              "output[1].content[0].text", "d", "\"d\"");
    one_piece("{\"type\":\"response.function_call_arguments.delta\","
              "\"output_index\":0,\"delta\":\"{}\"}",
              LLM_EP_OPENAI_RESPONSES, LLM_ANSWER_ARGS,
              "output[0].arguments", "{}", "\"{}\"");
    e = walk(LLM_EP_OPENAI_RESPONSES,
             "{\"type\":\"response.output_text.done\",\"output_index\":0,"
             "\"content_index\":0,\"text\":\"all\"}");
    ck_assert_int_eq(e.pieces->nelts, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(e.pieces, 0, llm_answer_piece_t).whole, 1);
    /* events that repeat items are read whole by the caller */
    ck_assert_int_eq(llm_answer_walk_event(pool, LLM_EP_OPENAI_RESPONSES,
        NULL, "{\"type\":\"response.completed\",\"response\":{}}", 43, &e),
        1);
}
END_TEST

START_TEST(whole_answers)
{
    const char *chat = "{\"choices\":[{\"message\":{\"content\":\"c\","
                       "\"refusal\":\"r\",\"tool_calls\":[{\"function\":{"
                       "\"arguments\":\"{}\"}}]}}]}";
    const char *msgs = "{\"content\":[{\"type\":\"text\",\"text\":\"t\"},"
                       "{\"type\":\"tool_use\",\"input\":{\"a\":[\"x\",1]}},"
                       "{\"type\":\"thinking\",\"thinking\":\"th\","
                       "\"signature\":\"c2ln\"}]}";
    json_t *j = json_loads(chat, 0, NULL);
    apr_array_header_t *out = apr_array_make(pool, 4,
                                             sizeof(llm_answer_string_t));

    llm_answer_walk_body(pool, LLM_EP_OPENAI_CHAT, j, out);
    ck_assert_int_eq(out->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 2, llm_answer_string_t).location,
                     "choices[0].message.tool_calls[0].function.arguments");
    ck_assert_int_eq(APR_ARRAY_IDX(out, 2, llm_answer_string_t).kind,
                     LLM_ANSWER_ARGS);
    json_decref(j);
    j = json_loads(msgs, 0, NULL);
    apr_array_clear(out);
    llm_answer_walk_body(pool, LLM_EP_ANTHROPIC_MESSAGES, j, out);
    ck_assert_int_eq(out->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, llm_answer_string_t).location,
                     "content[1].input{#0}[0]");
    ck_assert_int_eq(APR_ARRAY_IDX(out, 2, llm_answer_string_t).kind,
                     LLM_ANSWER_SIGNED);
    json_decref(j);
}
END_TEST

START_TEST(quote_round_trip)
{
    size_t n;
    const char *q = llm_answer_json_quote(pool, "a\"b\\c\n\x01", 7, &n);
    json_t *j = json_loadb(q, n, JSON_DECODE_ANY, NULL);

    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(j), "a\"b\\c\n\x01");
    json_decref(j);
}
END_TEST

int main(int argc, const char *const *argv)
{
    Suite *s = suite_create("answer_walk");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    tcase_add_test(tc, messages_events);
    tcase_add_test(tc, chat_events);
    tcase_add_test(tc, responses_events);
    tcase_add_test(tc, whole_answers);
    tcase_add_test(tc, quote_round_trip);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
