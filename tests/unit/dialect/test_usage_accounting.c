/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Unit tests of the gateway's own usage accounting: the request edit that
 * asks an OpenAI stream for usage, the usage chunk left out of a caller's
 * stream, and the estimates when a provider reports nothing.
 */

#include <stdlib.h>

#include "test_util.h"
#include "llm_sse.h"
#include "llm_usage.h"

/* --- asking for the usage chunk ----------------------------------------- */

static json_t *asked(const char *body, int expect)
{
    const char *out = NULL;
    size_t olen = 0;
    int rv = llm_usage_request_ask(tp, body, strlen(body), &out, &olen);

    ck_assert_msg(rv == expect, "%s: %d", body, rv);
    if (rv != 1) {
        return NULL;
    }
    ck_assert_uint_eq(strlen(out), olen);
    return tu_parse(out);
}

static int include_usage(json_t *j)
{
    return json_is_true(json_object_get(json_object_get(j, "stream_options"),
                                        "include_usage"));
}

START_TEST(ask_adds_include_usage)
{
    json_t *j;

    j = asked("{\"model\":\"m\",\"stream\":true,\"messages\":[]}", 1);
    ck_assert(include_usage(j));
    ck_assert_str_eq(tu_str(j, "model"), "m");
    ck_assert_uint_eq(json_object_size(j), 4);

    j = asked(" {\n \"stream\" : true }", 1);
    ck_assert(include_usage(j));

    j = asked("{\"stream\":true,\"stream_options\":{}}", 1);
    ck_assert(include_usage(j));

    j = asked("{\"stream\":true,\"stream_options\":{ }}", 1);
    ck_assert(include_usage(j));

    j = asked("{\"stream\":true,\"stream_options\":{\"include_usage\":false,"
              "\"x\":1}}", 1);
    ck_assert(include_usage(j));
    ck_assert_int_eq(json_integer_value(json_object_get(
        json_object_get(j, "stream_options"), "x")), 1);

    j = asked("{\"stream\":true,\"stream_options\":{\"x\":1}}", 1);
    ck_assert(include_usage(j));

    j = asked("{\"stream\":true,\"stream_options\":null}", 1);
    ck_assert(include_usage(j));

    j = asked("{\"stream_options\":{\"include_usage\":null},\"stream\":true}",
              1);
    ck_assert(include_usage(j));
}
END_TEST

START_TEST(ask_leaves_other_bodies)
{
    asked("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}", 0);
    asked("{\"stream\":false}", 0);
    asked("{\"model\":\"m\"}", 0);
    asked("{\"stream\":\"true\"}", 0);
    asked("[1,2]", -1);
    asked("{\"stream\":true", -1);
}
END_TEST

/* --- the usage chunk left out ------------------------------------------- */

static const char *chat_with_usage =
    ": keep-alive\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\"Hello there\"}}],"
    "\"usage\":null}\r\n\r\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":"
    "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":"
    "[ ],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":1000,"
    "\"total_tokens\":1017}}\n\n"
    "data: [DONE]\n\n";

/* Feed in pieces of step bytes; what the caller gets. */
static char *feed_all(llm_sse_translator_t *t, const char *in, size_t len,
                      size_t step)
{
    size_t pos = 0, n, olen;
    const char *out;
    char *acc = apr_pstrdup(tp, "");

    while (pos < len) {
        n = len - pos < step ? len - pos : step;
        ck_assert_int_eq(llm_sse_translate(t, in + pos, n, &out, &olen), 0);
        acc = apr_pstrcat(tp, acc, apr_pstrmemdup(tp, out, olen), NULL);
        pos += n;
    }
    ck_assert_int_eq(llm_sse_translate_finish(t, &out, &olen), 0);
    return apr_pstrcat(tp, acc, apr_pstrmemdup(tp, out, olen), NULL);
}

static llm_sse_translator_t *stripping(void)
{
    llm_sse_translator_t *t = llm_sse_translator_create_for(tp,
        LLM_EP_OPENAI_CHAT, LLM_FAMILY_OPENAI, 0, NULL);

    llm_sse_translator_strip_usage(t);
    return t;
}

START_TEST(strip_usage_chunk_at_any_split)
{
    const char *usage_ev = strstr(chat_with_usage, "data: {\"id\":\"c1\","
                                  "\"object\":\"chat.completion.chunk\","
                                  "\"choices\":[ ]");
    const char *done = strstr(chat_with_usage, "data: [DONE]");
    char *want = apr_pstrcat(tp, apr_pstrmemdup(tp, chat_with_usage,
                                                usage_ev - chat_with_usage),
                             done, NULL);
    size_t len = strlen(chat_with_usage), step;

    for (step = 1; step <= len; step++) {
        llm_sse_translator_t *t = stripping();
        char *got = feed_all(t, chat_with_usage, len, step);

        ck_assert_msg(!strcmp(got, want), "step %zu:\n%s", step, got);
        ck_assert_int_eq(llm_sse_translator_usage(t)->output_tokens, 1000);
        ck_assert_int_eq(llm_sse_translator_usage(t)->input_tokens, 17);
        ck_assert_uint_eq(llm_sse_translator_text_bytes(t), 11);
    }
}
END_TEST

START_TEST(strip_passes_aligned_pieces_untouched)
{
    llm_sse_translator_t *t = stripping();
    const char *ev =
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
    const char *out;
    size_t olen;

    ck_assert_int_eq(llm_sse_translate(t, ev, strlen(ev), &out, &olen), 0);
    ck_assert_ptr_eq(out, ev);
    ck_assert_uint_eq(olen, strlen(ev));
    /* half an event waits for its end */
    ck_assert_int_eq(llm_sse_translate(t, ev, 10, &out, &olen), 0);
    ck_assert_uint_eq(olen, 0);
    ck_assert_int_eq(llm_sse_translate(t, ev + 10, strlen(ev) - 10, &out,
                                       &olen), 0);
    ck_assert_str_eq(apr_pstrmemdup(tp, out, olen), ev);
}
END_TEST

START_TEST(strip_keeps_usage_on_a_chunk_with_choices)
{
    const char *in =
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n"
        "data: [DONE]\n\n";
    llm_sse_translator_t *t = stripping();

    ck_assert_str_eq(feed_all(t, in, strlen(in), 7), in);
    ck_assert_int_eq(llm_sse_translator_usage(t)->output_tokens, 4);
}
END_TEST

START_TEST(strip_unterminated_last_event)
{
    const char *in =
        "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
        "\"completion_tokens\":4}}";
    llm_sse_translator_t *t = stripping();
    char *got = feed_all(t, in, strlen(in), 5);

    ck_assert_str_eq(got, "data: {\"choices\":[{\"delta\":{\"content\":"
                          "\"x\"}}]}\n\n");
    ck_assert_int_eq(llm_sse_translator_usage(t)->output_tokens, 4);
}
END_TEST

START_TEST(no_strip_without_asking)
{
    llm_sse_translator_t *t = llm_sse_translator_create_for(tp,
        LLM_EP_OPENAI_CHAT, LLM_FAMILY_OPENAI, 1, NULL);

    ck_assert_str_eq(feed_all(t, chat_with_usage, strlen(chat_with_usage),
                              9), chat_with_usage);
}
END_TEST

/* --- estimates ---------------------------------------------------------- */

#define TEXT_BYTES(ev, s) llm_usage_text_bytes(ev, s, strlen(s))
#define EVENT_USAGE(u, ev, s) llm_usage_from_event_text(u, ev, s, strlen(s))

START_TEST(text_bytes_counts_written_text)
{
    ck_assert_uint_eq(TEXT_BYTES(NULL,
        "{\"choices\":[{\"delta\":{\"content\":\"abcd\"}}]}"), 4);
    /* as written: an escape counts its bytes */
    ck_assert_uint_eq(TEXT_BYTES(NULL,
        "{\"choices\":[{\"delta\":{\"content\":\"a\\\"b\\u00e9\"}}]}"), 10);
    ck_assert_uint_eq(TEXT_BYTES("content_block_delta",
        "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
        "\"text\":\"hello\"}}"), 5);
    ck_assert_uint_eq(TEXT_BYTES(NULL,
        "{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"a\\\":1}\"}}]}"), 9);
    ck_assert_uint_eq(TEXT_BYTES("response.output_text.delta",
        "{\"delta\":\"abc\"}"), 3);
    ck_assert_uint_eq(TEXT_BYTES("response.output_text.done",
        "{\"text\":\"abc\"}"), 0);
    /* a member name inside a string value is not a member */
    ck_assert_uint_eq(TEXT_BYTES(NULL,
        "{\"id\":\"\\\"content\\\":\\\"zzzz\"}"), 0);
    ck_assert_uint_eq(TEXT_BYTES(NULL, "[DONE]"), 0);
}
END_TEST

START_TEST(complete_estimates_what_is_missing)
{
    llm_usage_t u;

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_complete(&u, 400, 4000), 1);
    ck_assert_int_eq(u.input_tokens, 100);
    ck_assert_int_eq(u.output_tokens, 1000);

    /* message_start only: its output figure is a placeholder */
    llm_usage_init(&u);
    EVENT_USAGE(&u, "message_start", "{\"type\":"
        "\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,"
        "\"output_tokens\":1}}}");
    ck_assert_int_eq(u.seen, 1);
    ck_assert_int_eq(u.output_final, 0);
    ck_assert_int_eq(llm_usage_complete(&u, 400, 40), 1);
    ck_assert_int_eq(u.input_tokens, 9);
    ck_assert_int_eq(u.output_tokens, 10);

    /* a final figure stands */
    EVENT_USAGE(&u, "message_delta", "{\"type\":"
        "\"message_delta\",\"usage\":{\"output_tokens\":3}}");
    ck_assert_int_eq(u.output_final, 1);
    ck_assert_int_eq(llm_usage_complete(&u, 400, 4000), 0);
    ck_assert_int_eq(u.output_tokens, 3);
}
END_TEST

START_TEST(huge_event_charges_its_bytes)
{
    llm_sse_translator_t *t = stripping();
    size_t n = LLM_SSE_DEFAULT_MAX_EVENT + 10, olen;
    char *big = apr_palloc(tp, n);
    const char *out;

    memset(big, 'a', n);
    memcpy(big, "data: ", 6);
    ck_assert_int_eq(llm_sse_translate(t, big, n, &out, &olen), 0);
    /* relayed whole once the event cannot be read */
    ck_assert_uint_eq(olen, n);
    ck_assert_uint_ge(llm_sse_translator_text_bytes(t), n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("usage_accounting");
    TCase *tc = tcase_create("usage_accounting");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ask_adds_include_usage);
    tcase_add_test(tc, ask_leaves_other_bodies);
    tcase_add_test(tc, strip_usage_chunk_at_any_split);
    tcase_add_test(tc, strip_passes_aligned_pieces_untouched);
    tcase_add_test(tc, strip_keeps_usage_on_a_chunk_with_choices);
    tcase_add_test(tc, strip_unterminated_last_event);
    tcase_add_test(tc, no_strip_without_asking);
    tcase_add_test(tc, text_bytes_counts_written_text);
    tcase_add_test(tc, complete_estimates_what_is_missing);
    tcase_add_test(tc, huge_event_charges_its_bytes);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
