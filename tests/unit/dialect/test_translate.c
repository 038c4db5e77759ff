/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Unit tests of llm_usage.h and llm_translate.h.
 */

#include <stdlib.h>

#include "test_util.h"
#include "llm_translate.h"
#include "llm_usage.h"

/* --- usage ----------------------------------------------------------- */

START_TEST(usage_openai_chat_body)
{
    llm_usage_t u;
    json_t *j = tu_parse("{\"id\":\"c\",\"object\":\"chat.completion\","
                         "\"usage\":{\"prompt_tokens\":120,"
                         "\"completion_tokens\":7,\"total_tokens\":127,"
                         "\"prompt_tokens_details\":{\"cached_tokens\":100}}}");

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_body(&u, j), 1);
    ck_assert_int_eq(u.input_tokens, 120);
    ck_assert_int_eq(u.output_tokens, 7);
    ck_assert_int_eq(u.cached_input_tokens, 100);
    ck_assert_int_eq(u.seen, 1);
}
END_TEST

START_TEST(usage_anthropic_body)
{
    llm_usage_t u;
    json_t *j = tu_parse("{\"type\":\"message\",\"usage\":{\"input_tokens\":"
                         "20,\"cache_creation_input_tokens\":5,"
                         "\"cache_read_input_tokens\":300,"
                         "\"output_tokens\":9}}");

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_body(&u, j), 1);
    /* all input, cached included, in one figure */
    ck_assert_int_eq(u.input_tokens, 325);
    ck_assert_int_eq(u.cached_input_tokens, 300);
    ck_assert_int_eq(u.cache_creation_input_tokens, 5);
    ck_assert_int_eq(u.output_tokens, 9);
}
END_TEST

/* Usage of an answer's text (or one event's), read into a fresh u. */
static int fresh_body_usage(llm_usage_t *u, const char *text)
{
    llm_usage_init(u);
    return llm_usage_from_body_text(u, text, strlen(text));
}

static int fresh_event_usage(llm_usage_t *u, const char *event,
                             const char *text)
{
    llm_usage_init(u);
    return llm_usage_from_event_text(u, event, text, strlen(text));
}

START_TEST(usage_responses_body_and_none)
{
    llm_usage_t u;
    json_t *j = tu_parse("{\"object\":\"response\",\"usage\":{"
                         "\"input_tokens\":50,\"input_tokens_details\":{"
                         "\"cached_tokens\":40},\"output_tokens\":3,"
                         "\"total_tokens\":53}}");

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_body(&u, j), 1);
    ck_assert_int_eq(u.input_tokens, 50);
    ck_assert_int_eq(u.cached_input_tokens, 40);
    ck_assert_int_eq(u.output_tokens, 3);

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_body(&u, tu_parse("{\"usage\":null}")),
                     0);
    ck_assert_int_eq(u.seen, 0);

    /* Counts read in place: reals and exponents as the tree reads them;
     * what is not a JSON number is not a count. */
    ck_assert_int_eq(fresh_body_usage(&u,
        "{\"usage\":{\"prompt_tokens\":1.2e3,\"completion_tokens\":7.9,"
        "\"prompt_tokens_details\":{\"cached_tokens\":-0}}}"), 1);
    ck_assert_int_eq(u.input_tokens, 1200);
    ck_assert_int_eq(u.output_tokens, 7);
    ck_assert_int_eq(u.cached_input_tokens, 0);
    ck_assert_int_eq(fresh_body_usage(&u,
        "{\"usage\":{\"prompt_tokens\":012,\"completion_tokens\":\"5\","
        "\"output_tokens\":1e999}}"), 0);
    ck_assert_int_eq(u.seen, 0);
}
END_TEST

START_TEST(usage_stream_events)
{
    llm_usage_t u;
    const char *start = "{\"type\":\"message_start\",\"message\":{\"id\":"
                        "\"m\",\"usage\":{\"input_tokens\":11,"
                        "\"cache_read_input_tokens\":4,"
                        "\"cache_creation_input_tokens\":0,"
                        "\"output_tokens\":1}}}";
    const char *delta = "{\"type\":\"message_delta\",\"delta\":{"
                        "\"stop_reason\":\"end_turn\"},\"usage\":{"
                        "\"output_tokens\":42}}";
    const char *chunk = "{\"object\":\"chat.completion.chunk\",\"choices\":[],"
                        "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":"
                        "2,\"total_tokens\":11}}";
    const char *nousage = "{\"object\":\"chat.completion.chunk\",\"choices\":"
                          "[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}";
    const char *done = "{\"type\":\"response.completed\",\"response\":{"
                       "\"usage\":{\"input_tokens\":8,\"input_tokens_details\":"
                       "{\"cached_tokens\":0},\"output_tokens\":5}}}";

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_event_text(&u, "message_start", start,
                                               strlen(start)), 1);
    ck_assert_int_eq(llm_usage_from_event_text(&u, "message_delta", delta,
                                               strlen(delta)), 1);
    ck_assert_int_eq(u.input_tokens, 15);
    ck_assert_int_eq(u.cached_input_tokens, 4);
    ck_assert_int_eq(u.output_tokens, 42);

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_event_text(&u, NULL, nousage,
                                               strlen(nousage)), 0);
    ck_assert_int_eq(llm_usage_from_event_text(&u, NULL, chunk,
                                               strlen(chunk)), 1);
    ck_assert_int_eq(u.input_tokens, 9);
    ck_assert_int_eq(u.output_tokens, 2);
    /* The word in the text as well: parsed, and the real usage read. */
    ck_assert_int_eq(fresh_event_usage(&u, NULL,
        "{\"choices\":[{\"delta\":{\"content\":\"usage\"}}],\"usage\":"
        "{\"prompt_tokens\":3,\"completion_tokens\":1}}"), 1);
    ck_assert_int_eq(u.input_tokens, 3);

    llm_usage_init(&u);
    ck_assert_int_eq(llm_usage_from_event_text(&u, "response.completed",
                                               done, strlen(done)), 1);
    ck_assert_int_eq(u.input_tokens, 8);
    ck_assert_int_eq(u.output_tokens, 5);
    ck_assert_int_eq(llm_usage_from_event_text(&u, NULL, "[DONE]", 6), 0);

    /* A type spelt with an escape is decoded; text that merely mentions
     * usage in a delta is not usage. */
    ck_assert_int_eq(fresh_event_usage(&u, NULL,
        "{\"type\":\"message\\u005fstart\",\"message\":{\"usage\":"
        "{\"input_tokens\":6,\"output_tokens\":1}}}"), 1);
    ck_assert_int_eq(u.input_tokens, 6);
    ck_assert_int_eq(fresh_event_usage(&u, "content_block_delta",
        "{\"index\":0,\"delta\":{\"text\":\"usage\"},\"usage\":"
        "{\"input_tokens\":6}}"), 0);
    ck_assert_int_eq(u.seen, 0);
}
END_TEST

/* --- requests -------------------------------------------------------- */

static const char *chat_request =
    "{\"model\":\"claude-y\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"Be terse.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look:\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
    "\"data:image/png;base64,QUJD\"}}]},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
    "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{"
    "\"name\":\"lookup\","
    "\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}},"
    "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{"
    "\"name\":\"lookup\","
    "\"arguments\":\"{\\\"q\\\":\\\"y\\\"}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"rx\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"ry\"},"
    "{\"role\":\"user\",\"content\":\"thanks\"}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\","
    "\"description\":\"Looks up\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"q\":{\"type\":\"string\"}}}}}],"
    "\"tool_choice\":\"required\",\"max_completion_tokens\":300,"
    "\"temperature\":1.5,\"top_p\":0.9,\"stop\":\"END\",\"stream\":true,"
    "\"stream_options\":{\"include_usage\":true},\"user\":\"dev-7\"}";

START_TEST(chat_to_anthropic_request)
{
    const char *err = NULL;
    json_t *out = llm_translate_chat_to_anthropic(tp, tu_parse(chat_request),
                                                  NULL, &err);

    ck_assert_msg(out != NULL, "%s", err);
    ck_assert_str_eq(tu_dump(out),
        "{\"model\":\"claude-y\","
        "\"system\":[{\"type\":\"text\",\"text\":\"Be terse.\"}],"
        "\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Look:\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
        "\"media_type\":\"image/png\",\"data\":\"QUJD\"}}]},"
        "{\"role\":\"assistant\",\"content\":["
        "{\"type\":\"tool_use\",\"id\":\"call_a\",\"name\":\"lookup\","
        "\"input\":{\"q\":\"x\"}},"
        "{\"type\":\"tool_use\",\"id\":\"call_b\",\"name\":\"lookup\","
        "\"input\":{\"q\":\"y\"}}]},"
        "{\"role\":\"user\",\"content\":["
        "{\"type\":\"tool_result\",\"tool_use_id\":\"call_a\",\"content\":"
        "\"rx\"},"
        "{\"type\":\"tool_result\",\"tool_use_id\":\"call_b\",\"content\":"
        "\"ry\"},"
        "{\"type\":\"text\",\"text\":\"thanks\"}]}],"
        "\"max_tokens\":300,\"temperature\":1.0,\"top_p\":0.90000000000000002,"
        "\"stream\":true,\"stop_sequences\":[\"END\"],"
        "\"tools\":[{\"name\":\"lookup\",\"description\":\"Looks up\","
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"q\":{"
        "\"type\":\"string\"}}}}],"
        "\"tool_choice\":{\"type\":\"any\"},"
        "\"metadata\":{\"user_id\":\"dev-7\"}}");
    /* the translation passes the check of its target dialect */
    ck_assert_ptr_null(llm_dialect_check(tp, out, LLM_EP_ANTHROPIC_MESSAGES));
}
END_TEST

START_TEST(chat_to_anthropic_defaults_and_refusals)
{
    const char *err = NULL;
    json_t *out;
    llm_translate_opts_t o = { 1000, 0 };

    out = llm_translate_chat_to_anthropic(tp, tu_parse(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}]}"), NULL, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(out, "max_tokens")),
                     LLM_TRANSLATE_DEFAULT_MAX_TOKENS);
    out = llm_translate_chat_to_anthropic(tp, tu_parse(
        "{\"model\":\"m\",\"max_tokens\":0,\"parallel_tool_calls\":false,"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), &o, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(out, "max_tokens")),
                     1000);
    ck_assert_str_eq(tu_dump(json_object_get(out, "tool_choice")),
        "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}");

    ck_assert_ptr_null(llm_translate_chat_to_anthropic(tp, tu_parse(
        "{\"model\":\"m\",\"n\":2,\"messages\":[]}"), NULL, &err));
    ck_assert_ptr_nonnull(strstr(err, "\"n\""));
    ck_assert_ptr_null(llm_translate_chat_to_anthropic(tp, tu_parse(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"input_audio\",\"input_audio\":{}}]}]}"), NULL, &err));
    ck_assert_ptr_nonnull(strstr(err, "input_audio"));
    ck_assert_ptr_null(llm_translate_chat_to_anthropic(tp, tu_parse("{}"),
                                                       NULL, &err));
}
END_TEST

START_TEST(anthropic_to_chat_request)
{
    const char *err = NULL;
    llm_translate_opts_t o = { 0, 1 };
    json_t *in = tu_parse(
        "{\"model\":\"gpt-z\",\"max_tokens\":64,\"system\":[{\"type\":\"text\","
        "\"text\":\"S1\"},{\"type\":\"text\",\"text\":\"S2\"}],"
        "\"messages\":["
        "{\"role\":\"user\",\"content\":\"hello\"},"
        "{\"role\":\"system\",\"content\":\"inline system\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
        "\"thinking\":\"hm\",\"signature\":\"sig\"},{\"type\":\"text\","
        "\"text\":\"Let me check.\"},{\"type\":\"tool_use\",\"id\":\"tu_1\","
        "\"name\":\"Read\",\"input\":{\"path\":\"/a\"}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"tu_1\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"line1\"}],\"cache_control\":{\"type\":\"ephemeral\"}},"
        "{\"type\":\"text\",\"text\":\"and now?\"}]}],"
        "\"tools\":[{\"name\":\"Read\",\"description\":\"Reads\","
        "\"input_schema\":{\"type\":\"object\"}},{\"type\":"
        "\"web_search_20250305\",\"name\":\"web_search\"}],"
        "\"tool_choice\":{\"type\":\"tool\",\"name\":\"Read\","
        "\"disable_parallel_tool_use\":true},"
        "\"stop_sequences\":[\"###\"],\"temperature\":0.2,\"stream\":true,"
        "\"metadata\":{\"user_id\":\"u9\"},\"thinking\":{\"type\":"
        "\"enabled\",\"budget_tokens\":10}}");
    json_t *out = llm_translate_anthropic_to_chat(tp, in, &o, &err);

    ck_assert_msg(out != NULL, "%s", err);
    ck_assert_str_eq(tu_dump(out),
        "{\"model\":\"gpt-z\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"S1\\nS2\"},"
        "{\"role\":\"user\",\"content\":\"hello\"},"
        "{\"role\":\"system\",\"content\":\"inline system\"},"
        "{\"role\":\"assistant\",\"content\":\"Let me check.\",\"tool_calls\":"
        "[{\"id\":\"tu_1\",\"type\":\"function\",\"function\":{\"name\":"
        "\"Read\",\"arguments\":\"{\\\"path\\\":\\\"/a\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"tu_1\",\"content\":\"line1\"},"
        "{\"role\":\"user\",\"content\":\"and now?\"}],"
        "\"max_completion_tokens\":64,\"temperature\":0.20000000000000001,"
        "\"stop\":[\"###\"],\"stream\":true,\"stream_options\":{"
        "\"include_usage\":true},"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"Read\","
        "\"description\":\"Reads\",\"parameters\":{\"type\":\"object\"}}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
        "\"Read\"}},\"parallel_tool_calls\":false,\"user\":\"u9\"}");
    ck_assert_ptr_null(llm_dialect_check(tp, out, LLM_EP_OPENAI_CHAT));
}
END_TEST

START_TEST(anthropic_tool_result_images_to_chat)
{
    const char *err = NULL;
    json_t *out = llm_translate_anthropic_to_chat(tp, tu_parse(
        "{\"model\":\"g\",\"max_tokens\":9,\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"t1\",\"content\":[{\"type\":\"text\","
        "\"text\":\"shot:\"},{\"type\":\"image\",\"source\":{\"type\":"
        "\"base64\",\"media_type\":\"image/png\",\"data\":\"QUJD\"}}]}]}]}"),
        NULL, &err);

    ck_assert_msg(out != NULL, "%s", err);
    /* the text stays with the tool, the image follows as user content */
    ck_assert_str_eq(tu_dump(json_object_get(out, "messages")),
        "[{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":"
        "\"shot:\"},{\"role\":\"user\",\"content\":[{\"type\":"
        "\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,QUJD\"}}]}]");
    ck_assert_ptr_null(llm_translate_anthropic_to_chat(tp, tu_parse(
        "{\"model\":\"g\",\"max_tokens\":9,\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"document\","
        "\"source\":{}}]}]}"), NULL, &err));
    ck_assert_ptr_nonnull(strstr(err, "document"));
}
END_TEST

START_TEST(round_trip_keeps_the_conversation)
{
    const char *err = NULL;
    json_t *a = llm_translate_chat_to_anthropic(tp, tu_parse(chat_request),
                                                NULL, &err);
    json_t *back = llm_translate_anthropic_to_chat(tp, a, NULL, &err);
    json_t *msgs = json_object_get(back, "messages");

    ck_assert_msg(back != NULL, "%s", err);
    /* system, user, assistant(2 calls), tool, tool, user */
    ck_assert_int_eq(json_array_size(msgs), 6);
    ck_assert_str_eq(llm_dialect_model(back), "claude-y");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 3),
                                                       "tool_call_id")),
                     "call_a");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 5),
                                                       "content")),
                     "thanks");
}
END_TEST

/* --- responses ------------------------------------------------------- */

START_TEST(anthropic_response_to_chat)
{
    json_t *out = llm_translate_anthropic_response_to_chat(tp, tu_parse(
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-y\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Sure.\"},{\"type\":\"tool_use\",\"id\":\"tu_9\",\"name\":\"get\","
        "\"input\":{\"city\":\"Oslo\"}}],\"stop_reason\":\"tool_use\","
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,"
        "\"cache_read_input_tokens\":90,\"cache_creation_input_tokens\":0,"
        "\"output_tokens\":4}}"));
    json_t *choice = json_array_get(json_object_get(out, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(tu_str(out, "object"), "chat.completion");
    ck_assert_str_eq(tu_str(out, "id"), "chatcmpl-msg_1");
    ck_assert_str_eq(tu_str(choice, "finish_reason"),
                     "tool_calls");
    ck_assert_str_eq(tu_str(msg, "content"), "Sure.");
    ck_assert_str_eq(tu_dump(json_object_get(msg, "tool_calls")),
        "[{\"id\":\"tu_9\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]");
    ck_assert_str_eq(tu_dump(json_object_get(out, "usage")),
        "{\"prompt_tokens\":100,\"completion_tokens\":4,\"total_tokens\":104,"
        "\"prompt_tokens_details\":{\"cached_tokens\":90}}");
    ck_assert_ptr_null(llm_translate_anthropic_response_to_chat(tp,
        tu_parse("{\"type\":\"error\"}")));
}
END_TEST

START_TEST(chat_response_to_anthropic)
{
    json_t *out = llm_translate_chat_response_to_anthropic(tp, tu_parse(
        "{\"id\":\"chatcmpl-5\",\"object\":\"chat.completion\",\"model\":"
        "\"gpt-z\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_q\","
        "\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":"
        "\"{\\\"k\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":6,"
        "\"total_tokens\":56,\"prompt_tokens_details\":{\"cached_tokens\":"
        "20}}}"));

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(tu_dump(out),
        "{\"id\":\"msg_chatcmpl-5\",\"type\":\"message\",\"role\":"
        "\"assistant\",\"model\":\"gpt-z\",\"content\":[{\"type\":"
        "\"tool_use\",\"id\":\"call_q\",\"name\":\"get\",\"input\":{\"k\":1}}],"
        "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{"
        "\"input_tokens\":30,\"cache_creation_input_tokens\":0,"
        "\"cache_read_input_tokens\":20,\"output_tokens\":6}}");

    out = llm_translate_chat_response_to_anthropic(tp, tu_parse(
        "{\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"message\":{\"role\":"
        "\"assistant\",\"content\":\"done\"},\"finish_reason\":\"length\"}]}"));
    ck_assert_str_eq(tu_str(out, "stop_reason"), "max_tokens");
    ck_assert_ptr_null(llm_translate_chat_response_to_anthropic(tp,
        tu_parse("{\"choices\":[]}")));
}
END_TEST

START_TEST(responses_to_anthropic_request)
{
    const char *err = NULL;
    json_t *out = llm_translate_responses_to_anthropic(tp, tu_parse(
        "{\"model\":\"claude-r\",\"instructions\":\"Be exact.\","
        "\"input\":["
        "{\"type\":\"message\",\"role\":\"developer\",\"content\":["
        "{\"type\":\"input_text\",\"text\":\"Rules.\"}]},"
        "{\"type\":\"message\",\"role\":\"user\",\"content\":["
        "{\"type\":\"input_text\",\"text\":\"list files\"}]},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[],"
        "\"encrypted_content\":\"opaque\"},"
        "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":"
        "\"call_1\",\"name\":\"exec\",\"arguments\":"
        "\"{\\\"cmd\\\":\\\"ls\\\"}\",\"status\":\"completed\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"a.txt\"}],"
        "\"tools\":[{\"type\":\"function\",\"name\":\"exec\","
        "\"description\":\"Runs\",\"strict\":false,\"parameters\":{"
        "\"type\":\"object\"}},{\"type\":\"web_search\"},"
        "{\"type\":\"namespace\",\"name\":\"ns\",\"tools\":[]}],"
        "\"tool_choice\":\"auto\",\"parallel_tool_calls\":true,"
        "\"reasoning\":{\"summary\":\"auto\"},\"store\":false,"
        "\"stream\":true,\"max_output_tokens\":2000}"), NULL, &err);

    ck_assert_msg(out != NULL, "%s", err);
    ck_assert_str_eq(tu_dump(out),
        "{\"model\":\"claude-r\","
        "\"system\":[{\"type\":\"text\",\"text\":\"Be exact.\"},"
        "{\"type\":\"text\",\"text\":\"Rules.\"}],"
        "\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"list files\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
        "\"id\":\"call_1\",\"name\":\"exec\",\"input\":{\"cmd\":"
        "\"ls\"}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"call_1\",\"content\":\"a.txt\"}]}],"
        "\"max_tokens\":2000,\"stream\":true,"
        "\"tools\":[{\"name\":\"exec\",\"description\":\"Runs\","
        "\"input_schema\":{\"type\":\"object\"}}],"
        "\"tool_choice\":{\"type\":\"auto\"}}");
    ck_assert_ptr_null(llm_dialect_check(tp, out, LLM_EP_ANTHROPIC_MESSAGES));

    out = llm_translate_responses_to_anthropic(tp, tu_parse(
        "{\"model\":\"c\",\"input\":\"hi\"}"), NULL, &err);
    ck_assert_str_eq(tu_dump(json_object_get(out, "messages")),
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"hi\"}]}]");
    ck_assert_ptr_null(llm_translate_responses_to_anthropic(tp, tu_parse(
        "{\"model\":\"c\",\"input\":\"hi\",\"previous_response_id\":"
        "\"resp_1\"}"), NULL, &err));
    ck_assert_ptr_null(llm_translate_responses_to_anthropic(tp, tu_parse(
        "{\"model\":\"c\",\"input\":[{\"content\":\"x\"}]}"), NULL,
        &err));
    ck_assert_ptr_null(llm_translate_responses_to_anthropic(tp, tu_parse(
        "{\"model\":\"c\",\"input\":[{\"type\":\"local_shell_call\"}]}"),
        NULL, &err));
    ck_assert_ptr_nonnull(strstr(err, "local_shell_call"));
}
END_TEST

START_TEST(anthropic_response_to_responses)
{
    json_t *out = llm_translate_anthropic_response_to_responses(tp, tu_parse(
        "{\"id\":\"msg_7\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-r\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Running.\"},{\"type\":\"tool_use\",\"id\":\"toolu_4\",\"name\":"
        "\"exec\",\"input\":{\"cmd\":\"ls\"}}],\"stop_reason\":"
        "\"tool_use\",\"usage\":{\"input_tokens\":5,"
        "\"cache_read_input_tokens\":7,\"output_tokens\":2}}"));
    json_t *output = json_object_get(out, "output");

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(tu_str(out, "id"), "resp_msg_7");
    ck_assert_str_eq(tu_str(out, "object"), "response");
    ck_assert_str_eq(tu_str(out, "status"), "completed");
    ck_assert_str_eq(tu_dump(output),
        "[{\"id\":\"msg_msg_7\",\"type\":\"message\",\"status\":"
        "\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"output_text\",\"text\":\"Running.\",\"annotations\":[]}]},"
        "{\"id\":\"fc_toolu_4\",\"type\":\"function_call\",\"status\":"
        "\"completed\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\","
        "\"call_id\":\"toolu_4\",\"name\":\"exec\"}]");
    ck_assert_str_eq(tu_dump(json_object_get(out, "usage")),
        "{\"input_tokens\":12,\"input_tokens_details\":{\"cached_tokens\":"
        "7},\"output_tokens\":2,\"output_tokens_details\":{"
        "\"reasoning_tokens\":0},\"total_tokens\":14}");

    out = llm_translate_anthropic_response_to_responses(tp, tu_parse(
        "{\"id\":\"m\",\"content\":[],\"stop_reason\":\"max_tokens\"}"));
    ck_assert_str_eq(tu_str(out, "status"), "incomplete");
    ck_assert_str_eq(tu_str(json_object_get(out, "incomplete_details"),
                            "reason"), "max_output_tokens");
}
END_TEST

START_TEST(translation_for_endpoint_and_provider)
{
    const char *err = NULL;
    json_t *chat = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":"
                            "\"user\",\"content\":\"hi\"}]}");
    json_t *out;

    ck_assert_int_eq(llm_translate_target_endpoint(LLM_EP_OPENAI_CHAT,
                     LLM_FAMILY_ANTHROPIC), LLM_EP_ANTHROPIC_MESSAGES);
    ck_assert_int_eq(llm_translate_target_endpoint(LLM_EP_OPENAI_RESPONSES,
                     LLM_FAMILY_ANTHROPIC), LLM_EP_ANTHROPIC_MESSAGES);
    ck_assert_int_eq(llm_translate_target_endpoint(LLM_EP_ANTHROPIC_MESSAGES,
                     LLM_FAMILY_OPENAI), LLM_EP_OPENAI_CHAT);
    ck_assert_int_eq(llm_translate_target_endpoint(LLM_EP_OPENAI_CHAT,
                     LLM_FAMILY_OPENAI), LLM_EP_OPENAI_CHAT);
    ck_assert_int_eq(llm_translate_target_endpoint(LLM_EP_OPENAI_EMBEDDINGS,
                     LLM_FAMILY_ANTHROPIC), LLM_EP_NONE);
    ck_assert_int_eq(llm_translate_target_endpoint(
                     LLM_EP_ANTHROPIC_COUNT_TOKENS, LLM_FAMILY_OPENAI),
                     LLM_EP_NONE);

    /* same family: the very same body */
    ck_assert_ptr_eq(llm_translate_request_for(tp, LLM_EP_OPENAI_CHAT,
                     LLM_FAMILY_OPENAI, chat, NULL, &err), chat);
    out = llm_translate_request_for(tp, LLM_EP_OPENAI_CHAT,
                                    LLM_FAMILY_ANTHROPIC, chat, NULL, &err);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(json_object_get(out, "max_tokens"));
    ck_assert_ptr_null(llm_translate_request_for(tp,
                       LLM_EP_OPENAI_EMBEDDINGS, LLM_FAMILY_ANTHROPIC,
                       tu_parse("{\"model\":\"e\",\"input\":\"x\"}"),
                       NULL, &err));
    ck_assert_ptr_nonnull(err);

    out = tu_parse("{\"id\":\"m1\",\"type\":\"message\",\"model\":\"c\","
                   "\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],"
                   "\"stop_reason\":\"end_turn\"}");
    ck_assert_str_eq(tu_str(llm_translate_response_for(tp,
                     LLM_EP_OPENAI_CHAT, LLM_FAMILY_ANTHROPIC, out),
                     "object"), "chat.completion");
    ck_assert_str_eq(tu_str(llm_translate_response_for(tp,
                     LLM_EP_OPENAI_RESPONSES, LLM_FAMILY_ANTHROPIC, out),
                     "object"), "response");
    ck_assert_ptr_eq(llm_translate_response_for(tp,
                     LLM_EP_ANTHROPIC_MESSAGES, LLM_FAMILY_ANTHROPIC, out),
                     out);
}
END_TEST

START_TEST(stop_reasons)
{
    ck_assert_str_eq(llm_translate_stop_to_openai("end_turn"), "stop");
    ck_assert_str_eq(llm_translate_stop_to_openai("stop_sequence"), "stop");
    ck_assert_str_eq(llm_translate_stop_to_openai("max_tokens"), "length");
    ck_assert_str_eq(llm_translate_stop_to_openai("tool_use"), "tool_calls");
    ck_assert_str_eq(llm_translate_stop_to_openai(NULL), "stop");
    ck_assert_str_eq(llm_translate_stop_to_anthropic("stop"), "end_turn");
    ck_assert_str_eq(llm_translate_stop_to_anthropic("length"), "max_tokens");
    ck_assert_str_eq(llm_translate_stop_to_anthropic("tool_calls"),
                     "tool_use");
    ck_assert_str_eq(llm_translate_stop_to_anthropic("content_filter"),
                     "refusal");
}
END_TEST

START_TEST(error_bodies_translated)
{
    const char *oa = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":"
                     "\"requests\",\"param\":null,\"code\":"
                     "\"rate_limit_exceeded\"}}";
    const char *an = "{\"type\":\"error\",\"error\":{\"type\":"
                     "\"overloaded_error\",\"message\":\"Overloaded\"}}";
    char *b;

    b = llm_translate_error_body(tp, oa, strlen(oa), LLM_FAMILY_ANTHROPIC,
                                 429);
    ck_assert_str_eq(b, "{\"type\":\"error\",\"error\":{\"type\":"
                     "\"rate_limit_error\",\"code\":\"rate_limit_exceeded\","
                     "\"message\":\"Rate limit reached\"}}");
    b = llm_translate_error_body(tp, an, strlen(an), LLM_FAMILY_OPENAI, 529);
    ck_assert_str_eq(b, "{\"error\":{\"message\":\"Overloaded\",\"type\":"
                     "\"server_error\",\"code\":null,\"param\":null}}");
    b = llm_translate_error_body(tp, "<html>bad gateway</html>", 24,
                                 LLM_FAMILY_OPENAI, 502);
    ck_assert_str_eq(b, "{\"error\":{\"message\":\"the provider answered "
                     "HTTP 502\",\"type\":\"server_error\",\"code\":null,"
                     "\"param\":null}}");
    b = llm_translate_error_body(tp, NULL, 0, LLM_FAMILY_ANTHROPIC, 504);
    ck_assert_msg(strstr(b, "\"timeout_error\"") != NULL, "%s", b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("translate");
    TCase *tc = tcase_create("translate");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, usage_openai_chat_body);
    tcase_add_test(tc, usage_anthropic_body);
    tcase_add_test(tc, usage_responses_body_and_none);
    tcase_add_test(tc, usage_stream_events);
    tcase_add_test(tc, chat_to_anthropic_request);
    tcase_add_test(tc, chat_to_anthropic_defaults_and_refusals);
    tcase_add_test(tc, anthropic_to_chat_request);
    tcase_add_test(tc, anthropic_tool_result_images_to_chat);
    tcase_add_test(tc, round_trip_keeps_the_conversation);
    tcase_add_test(tc, anthropic_response_to_chat);
    tcase_add_test(tc, chat_response_to_anthropic);
    tcase_add_test(tc, responses_to_anthropic_request);
    tcase_add_test(tc, anthropic_response_to_responses);
    tcase_add_test(tc, translation_for_endpoint_and_provider);
    tcase_add_test(tc, stop_reasons);
    tcase_add_test(tc, error_bodies_translated);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
