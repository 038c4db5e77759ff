/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Unit tests of llm_dialect.h: endpoints, parsing, shape checks, scan
 * units, redaction edits, error bodies.
 */

#include <stdlib.h>

#include "test_util.h"

/* --- endpoints ------------------------------------------------------- */

START_TEST(endpoints_recognised)
{
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/chat/completions"),
                     LLM_EP_OPENAI_CHAT);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/responses"),
                     LLM_EP_OPENAI_RESPONSES);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/embeddings"),
                     LLM_EP_OPENAI_EMBEDDINGS);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/completions"),
                     LLM_EP_OPENAI_COMPLETIONS);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/messages"),
                     LLM_EP_ANTHROPIC_MESSAGES);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/messages/count_tokens"),
                     LLM_EP_ANTHROPIC_COUNT_TOKENS);
    ck_assert_int_eq(llm_dialect_endpoint("GET", "/models"), LLM_EP_MODELS);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/messages/"),
                     LLM_EP_ANTHROPIC_MESSAGES);
    /* Codex's WebSocket attempt is a GET on /responses: not an endpoint. */
    ck_assert_int_eq(llm_dialect_endpoint("GET", "/responses"), LLM_EP_NONE);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/models"), LLM_EP_NONE);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/chat/completion"),
                     LLM_EP_NONE);
    ck_assert_int_eq(llm_dialect_endpoint("POST", "/messagesX"), LLM_EP_NONE);
    ck_assert_int_eq(llm_dialect_endpoint(NULL, "/messages"), LLM_EP_NONE);

    ck_assert_int_eq(llm_dialect_family(LLM_EP_OPENAI_RESPONSES),
                     LLM_FAMILY_OPENAI);
    ck_assert_int_eq(llm_dialect_family(LLM_EP_ANTHROPIC_COUNT_TOKENS),
                     LLM_FAMILY_ANTHROPIC);
    ck_assert_int_eq(llm_dialect_family(LLM_EP_NONE), LLM_FAMILY_NONE);
    ck_assert_str_eq(llm_dialect_endpoint_name(LLM_EP_OPENAI_CHAT),
                     "chat.completions");
    ck_assert_str_eq(llm_dialect_endpoint_name(LLM_EP_ANTHROPIC_MESSAGES),
                     "messages");
}
END_TEST

START_TEST(model_and_stream)
{
    json_t *j = tu_parse("{\"model\":\"m-1\",\"stream\":true}");

    ck_assert_str_eq(llm_dialect_model(j), "m-1");
    ck_assert_int_eq(llm_dialect_is_stream(j), 1);
    j = tu_parse("{\"model\":3,\"stream\":\"yes\"}");
    ck_assert_ptr_null(llm_dialect_model(j));
    ck_assert_int_eq(llm_dialect_is_stream(j), 0);
    ck_assert_ptr_null(llm_dialect_model(NULL));
}
END_TEST

/* --- parsing --------------------------------------------------------- */

START_TEST(token_like_keys_are_written_by_position)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":"
                         "\"user\",\"content\":\"hi\"}],\"metadata\":{"
                         "\"AKIAXYVJFTDFSBLUMSXZ\":\"a\","
                         "\"AKIA2OGYBAH6STMMNXNN\":\"b\","
                         "\"DATABASE_PASSWORD\":\"c\","
                         "\"maxCompletionTokens\":\"d\","
                         "\"user_id\":\"e\","
                         "\"AKIAXYVJFTDFSBLUMSXZ_a\":\"f\","
                         "\"x_AKIA2OGYBAH6STMMNXNN\":\"g\"}}");
    apr_array_header_t *units = llm_dialect_units(tp, j, LLM_EP_OPENAI_CHAT);
    int i, k;

    /* with a suffix or a prefix glued on (issue 10, item 10) */
    ck_assert_ptr_nonnull(tu_unit_with(units, "metadata.{#5}#key", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "metadata.{#6}#key", NULL));

    /* An AWS key id without a digit is an id, not a field name. */
    ck_assert_ptr_nonnull(tu_unit_with(units, "metadata.{#0}#key", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "metadata.{#1}#key", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
                                       "metadata.DATABASE_PASSWORD#key", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
                                       "metadata.maxCompletionTokens#key",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "metadata.user_id#key", NULL));
    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &((const llm_unit_t *)units->elts)[i];

        for (k = 0; k < u->pieces->nelts; k++) {
            ck_assert_ptr_null(strstr(llm_dialect_path_text(tp,
                ((const llm_piece_t *)u->pieces->elts)[k].path), "AKIA"));
        }
    }
}
END_TEST

START_TEST(parse_rejects_duplicates)
{
    const char *err = NULL;
    const char *body = "{\"model\":\"a\",\n \"model\":\"b\"}";

    ck_assert_ptr_null(llm_json_parse(tp, body, strlen(body), &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "line 2") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "duplicate") != NULL, "%s", err);
}
END_TEST

START_TEST(parse_error_never_echoes_input)
{
    const char *err = NULL;
    const char *body = "{\"a\": AKIAQWERTYUIOPASDFGH}";

    ck_assert_ptr_null(llm_json_parse(tp, body, strlen(body), &err));
    ck_assert_msg(strstr(err, "AKIA") == NULL, "%s", err);
    ck_assert_msg(strstr(err, "column") != NULL, "%s", err);

    body = "{\"a\": \"unterminated secret\n\"}";
    ck_assert_ptr_null(llm_json_parse(tp, body, strlen(body), &err));
    ck_assert_msg(strstr(err, "secret") == NULL, "%s", err);
}
END_TEST

START_TEST(parse_rejects_garbage_and_empty)
{
    const char *err = NULL;

    ck_assert_ptr_null(llm_json_parse(tp, "", 0, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(llm_json_parse(tp, "{} x", 4, &err));
    ck_assert_ptr_null(llm_json_parse(tp, "\"str\"", 5, &err));
    ck_assert_ptr_null(llm_json_parse(tp, NULL, 0, NULL));
}
END_TEST

START_TEST(parse_refuses_deep_nesting)
{
    char *buf = apr_palloc(tp, 2 * 300 + 1);
    const char *err = NULL;
    int i;

    for (i = 0; i < 300; i++) {
        buf[i] = '[';
        buf[300 + i] = ']';
    }
    buf[600] = '\0';
    ck_assert_ptr_null(llm_json_parse(tp, buf, 600, &err));
    ck_assert_msg(strstr(err, "deeper") != NULL, "%s", err);
}
END_TEST

START_TEST(parse_decodes_escapes)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                         "\"content\":\"key \\u0041KIA\\u0000x\"}]}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_CHAT);
    const llm_unit_t *u = tu_unit_with(units, "messages[0].content", NULL);

    ck_assert_ptr_nonnull(u);
    /* NUL kept: lengths, not C strings. */
    ck_assert_uint_eq(u->len, 10);
    ck_assert_int_eq(memcmp(u->text, "key AKIA\0x", 10), 0);
}
END_TEST

START_TEST(dump_is_compact_and_ordered)
{
    json_t *j = tu_parse("{ \"z\" : 1, \"a\" : [ true , null ],"
                         " \"m\" : \"\\u00e9\" }");
    size_t len = 0;
    char *s = llm_json_dump(tp, j, &len);

    ck_assert_str_eq(s, "{\"z\":1,\"a\":[true,null],\"m\":\"\xc3\xa9\"}");
    ck_assert_uint_eq(len, strlen(s));
}
END_TEST

/* --- checks ---------------------------------------------------------- */

static const char *check(const char *body, llm_endpoint_e ep)
{
    return llm_dialect_check(tp, tu_parse(body), ep);
}

START_TEST(check_chat)
{
    ck_assert_ptr_null(check("{\"model\":\"m\",\"messages\":[{\"role\":"
                             "\"user\",\"content\":\"hi\"}]}",
                             LLM_EP_OPENAI_CHAT));
    ck_assert_ptr_null(check("{\"model\":\"m\",\"messages\":[{\"role\":"
                             "\"assistant\",\"content\":null,\"tool_calls\":"
                             "[]}]}", LLM_EP_OPENAI_CHAT));
    ck_assert_str_eq(check("{\"messages\":[]}", LLM_EP_OPENAI_CHAT),
                     "missing required field \"model\"");
    ck_assert_ptr_nonnull(check("{\"model\":\"\",\"messages\":[]}",
                                LLM_EP_OPENAI_CHAT));
    ck_assert_str_eq(check("{\"model\":\"m\"}", LLM_EP_OPENAI_CHAT),
                     "missing required field \"messages\"");
    ck_assert_str_eq(check("{\"model\":\"m\",\"messages\":{}}",
                           LLM_EP_OPENAI_CHAT),
                     "\"messages\" must be an array");
    ck_assert_str_eq(check("{\"model\":\"m\",\"messages\":[{\"content\":"
                           "\"x\"}]}", LLM_EP_OPENAI_CHAT),
                     "messages[0].role is missing or not a string");
    ck_assert_str_eq(check("{\"model\":\"m\",\"messages\":[{\"role\":\"u\"},"
                           "\"x\"]}", LLM_EP_OPENAI_CHAT),
                     "messages[1] must be an object");
    ck_assert_ptr_nonnull(check("{\"model\":\"m\",\"messages\":[{\"role\":"
                                "\"user\",\"content\":5}]}",
                                LLM_EP_OPENAI_CHAT));
    ck_assert_ptr_nonnull(check("[1]", LLM_EP_OPENAI_CHAT));
    ck_assert_ptr_nonnull(check("{\"model\":\"m\",\"messages\":[{\"role\":"
                                "\"user\"}],\"tools\":{}}",
                                LLM_EP_OPENAI_CHAT));
}
END_TEST

START_TEST(check_openai_others)
{
    ck_assert_ptr_null(check("{\"model\":\"m\",\"input\":\"hi\"}",
                             LLM_EP_OPENAI_RESPONSES));
    ck_assert_ptr_null(check("{\"model\":\"m\",\"input\":[]}",
                             LLM_EP_OPENAI_RESPONSES));
    ck_assert_str_eq(check("{\"model\":\"m\"}", LLM_EP_OPENAI_RESPONSES),
                     "missing required field \"input\"");
    ck_assert_ptr_nonnull(check("{\"model\":\"m\",\"input\":3}",
                                LLM_EP_OPENAI_RESPONSES));
    ck_assert_ptr_null(check("{\"model\":\"m\",\"input\":[\"a\",\"b\"]}",
                             LLM_EP_OPENAI_EMBEDDINGS));
    ck_assert_ptr_nonnull(check("{\"input\":\"a\"}",
                                LLM_EP_OPENAI_EMBEDDINGS));
    ck_assert_ptr_null(check("{\"model\":\"m\",\"prompt\":\"p\"}",
                             LLM_EP_OPENAI_COMPLETIONS));
    ck_assert_str_eq(check("{\"model\":\"m\",\"input\":\"p\"}",
                           LLM_EP_OPENAI_COMPLETIONS),
                     "missing required field \"prompt\"");
    ck_assert_ptr_null(check("{}", LLM_EP_MODELS));
}
END_TEST

START_TEST(check_anthropic)
{
    const char *ok = "{\"model\":\"c\",\"max_tokens\":100,\"system\":[{"
                     "\"type\":\"text\",\"text\":\"s\"}],\"messages\":["
                     "{\"role\":\"user\",\"content\":\"hi\"},"
                     "{\"role\":\"system\",\"content\":\"env\"}]}";

    /* Claude Code's role "system" inside messages is accepted. */
    ck_assert_ptr_null(check(ok, LLM_EP_ANTHROPIC_MESSAGES));
    ck_assert_str_eq(check("{\"model\":\"c\",\"messages\":[{\"role\":\"user\","
                           "\"content\":\"x\"}]}",
                           LLM_EP_ANTHROPIC_MESSAGES),
                     "missing required field \"max_tokens\"");
    /* count_tokens has no max_tokens */
    ck_assert_ptr_null(check("{\"model\":\"c\",\"messages\":[{\"role\":"
                             "\"user\",\"content\":\"x\"}]}",
                             LLM_EP_ANTHROPIC_COUNT_TOKENS));
    ck_assert_ptr_nonnull(check("{\"model\":\"c\",\"max_tokens\":\"9\","
                                "\"messages\":[{\"role\":\"user\"}]}",
                                LLM_EP_ANTHROPIC_MESSAGES));
    ck_assert_ptr_nonnull(check("{\"model\":\"c\",\"max_tokens\":9,"
                                "\"system\":5,\"messages\":[{\"role\":"
                                "\"user\"}]}", LLM_EP_ANTHROPIC_MESSAGES));
    ck_assert_ptr_nonnull(check("{\"model\":\"c\",\"max_tokens\":9,"
                                "\"messages\":[]}",
                                LLM_EP_ANTHROPIC_MESSAGES));
}
END_TEST

/* --- units ----------------------------------------------------------- */

static const char *anthropic_body =
    "{\"model\":\"claude-x\",\"max_tokens\":512,"
    "\"system\":[{\"type\":\"text\",\"text\":\"You help.\","
    "\"cache_control\":{\"type\":\"ephemeral\"}},"
    "{\"type\":\"text\",\"text\":\"Be brief.\"}],"
    "\"messages\":["
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"my key "
    "is AKIAQW\"},{\"type\":\"text\",\"text\":\"ERTYUIOPASDF ok\"},"
    "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
    "\"image/png\",\"data\":\"iVBORw0KGgoAAAANSUhEUg\"}}]},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":"
    "\"let me think\",\"signature\":\"c2lnbmF0dXJlYmxvYg\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01abc\",\"name\":\"Bash\","
    "\"input\":{\"command\":\"cat .env\",\"opts\":{\"env\":[\"A=1\"]},"
    "\"user@corp.example\":true}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
    "\"tool_use_id\":\"toolu_01abc\",\"content\":\"DB_PASSWORD=hunter2\"},"
    "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_02\",\"content\":"
    "[{\"type\":\"text\",\"text\":\"part one \"},{\"type\":\"text\","
    "\"text\":\"part two\"}]}]},"
    "{\"role\":\"system\",\"content\":\"environment notes\"}],"
    "\"tools\":[{\"name\":\"Bash\",\"description\":\"Runs commands\","
    "\"input_schema\":{\"type\":\"object\",\"properties\":{\"command\":{"
    "\"type\":\"string\",\"description\":\"The command\"}}}}],"
    "\"tool_choice\":{\"type\":\"auto\"},"
    "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
    "\"metadata\":{\"user_id\":\"dev-42\"},"
    "\"context_hint\":{\"note\":\"x-secret-note\"}}";

START_TEST(units_anthropic_paths)
{
    json_t *j = tu_parse(anthropic_body);
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_ANTHROPIC_MESSAGES);
    const llm_unit_t *u;
    int pi;

    ck_assert_ptr_null(llm_dialect_check(tp, j, LLM_EP_ANTHROPIC_MESSAGES));

    /* system text parts form one unit */
    u = tu_unit_with(units, "system[0].text", NULL);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->text, "You help.Be brief.");
    ck_assert_int_eq(u->pieces->nelts, 2);

    /* a key split over two neighbouring parts is whole in the unit */
    u = tu_unit_with(units, "messages[0].content[1].text", &pi);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(pi, 1);
    ck_assert_msg(strstr(u->text, "AKIAQWERTYUIOPASDF") != NULL, "%s",
                  u->text);

    ck_assert_ptr_nonnull(tu_unit_with(units,
                                       "messages[1].content[0].thinking",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
                                       "messages[1].content[1].input.command",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
                              "messages[1].content[1].input.opts.env[0]",
                              NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
                                       "messages[1].content[1].name", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
                                       "messages[2].content[0].content",
                                       NULL));
    u = tu_unit_with(units, "messages[2].content[1].content[0].text", NULL);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->text, "part one part two");
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[3].content", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "tools[0].description", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "tools[0].name", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "tools[0].input_schema.properties.command.description", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "metadata.user_id", NULL));
    /* unknown fields, fail closed */
    ck_assert_ptr_nonnull(tu_unit_with(units, "context_hint.note", NULL));
    ck_assert_int_eq(tu_units_contain(units, "x-secret-note"), 1);

    /* keys of a tool's input are text; one that looks like data is
     * written by position in the path */
    ck_assert_int_eq(tu_units_contain(units, "user@corp.example"), 1);
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[1].content[1].input.{#2}#key", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[1].content[1].input.command#key", NULL));

    /* the model, ids and opaque blobs are scanned (issue 10), in the
     * body's one unit of short protocol values; the model and the blob
     * cannot be redacted */
    u = tu_unit_with(units, "model", &pi);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(((const llm_piece_t *)u->pieces->elts)[pi].fixed, 1);
    ck_assert_ptr_eq(tu_unit_with(units, "messages[1].content[1].id", NULL),
                     u);
    ck_assert_ptr_eq(tu_unit_with(units, "messages[2].content[0].tool_use_id",
                                  NULL), u);
    ck_assert_ptr_eq(tu_unit_with(units, "messages[1].content[0].signature",
                                  &pi), u);
    ck_assert_int_eq(((const llm_piece_t *)u->pieces->elts)[pi].fixed, 1);
    ck_assert_msg(!strncmp(u->text, "claude-x\nc2lnbmF0dXJlYmxvYg\n"
                           "toolu_01abc\n", 40), "%s", u->text);
    /* known enum values and base64 of a real image are left out */
    ck_assert_int_eq(tu_units_contain(units, "iVBORw0KGgo"), 0);
    ck_assert_int_eq(tu_units_contain(units, "ephemeral"), 0);
    ck_assert_int_eq(tu_units_contain(units, "assistant"), 0);
    ck_assert_int_eq(tu_units_contain(units, "tool_result"), 0);
    ck_assert_int_eq(tu_units_contain(units, "enabled"), 0);
}
END_TEST

START_TEST(units_openai_chat)
{
    json_t *j = tu_parse(
        "{\"model\":\"gpt-x\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"sys prompt\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;"
        "base64,iVBORw0KGgoAAAANSUhEUgAA\"}},{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"https://h.example/i.png?sig=abc\"}}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\","
        "\"arguments\":\"{\\\"q\\\":\\\"v\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"res\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\","
        "\"description\":\"Gets\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"q\":{\"type\":\"string\",\"description\":"
        "\"query\"}}}}}],\"tool_choice\":\"auto\",\"user\":\"u-1\","
        "\"stop\":[\"END\"],\"stream\":true,\"stream_options\":"
        "{\"include_usage\":true}}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_CHAT);

    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[0].content", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[1].content[0].text",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[1].content[2].image_url.url", NULL));
    ck_assert_ptr_null(tu_unit_with(units,
        "messages[1].content[1].image_url.url", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[2].tool_calls[0].function.arguments", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[2].tool_calls[0].function.name", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[3].content", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "tools[0].function.parameters.properties.q.description", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "user", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "stop[0]", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[2].tool_calls[0].id",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[3].tool_call_id",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "model", NULL));
    ck_assert_int_eq(tu_units_contain(units, "auto"), 0);
    ck_assert_int_eq(tu_units_contain(units, "assistant"), 0);
}
END_TEST

/* The unit a piece is in follows the unit another piece is in (-1: none
 * of the two, or they do not follow) */
static int follows(apr_array_header_t *units, const char *path,
                   const char *prev_path)
{
    const llm_unit_t *u = tu_unit_with(units, path, NULL);
    const llm_unit_t *v = prev_path ? tu_unit_with(units, prev_path, NULL) : NULL;

    ck_assert_msg(u != NULL, "no unit with %s", path);
    if (!prev_path) {
        return u->follows == -1;
    }
    ck_assert_msg(v != NULL, "no unit with %s", prev_path);
    return u->follows >= 0
           && &APR_ARRAY_IDX(units, u->follows, llm_unit_t) == v;
}

/* Adjacent messages of one role are one turn to the provider: the unit
 * that starts a message's text follows the one that ends the message
 * before, in every dialect; a role change, a message that ends or starts
 * with something else than text, or an empty text ends the chain. */
START_TEST(units_follow_adjacent_messages)
{
    json_t *j = tu_parse(
        "{\"model\":\"c\",\"max_tokens\":8,\"messages\":["
        "{\"role\":\"user\",\"content\":\"a1\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b1\"},"
        "{\"type\":\"text\",\"text\":\"b2\"},{\"type\":\"image\",\"source\":"
        "{\"type\":\"url\",\"url\":\"https://x.test/i.png\"}},"
        "{\"type\":\"text\",\"text\":\"b3\"}]},"
        "{\"role\":\"user\",\"content\":\"c1\"},"
        "{\"role\":\"assistant\",\"content\":\"d1\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
        "\"toolu_1\",\"name\":\"x\",\"input\":{}},{\"type\":\"text\","
        "\"text\":\"e1\"}]},"
        "{\"role\":\"assistant\",\"content\":\"f1\"},"
        "{\"role\":\"user\",\"content\":\"\"},"
        "{\"role\":\"user\",\"content\":\"g1\"}]}");
    apr_array_header_t *units = llm_dialect_units(tp, j, LLM_EP_ANTHROPIC_MESSAGES);

    ck_assert(follows(units, "messages[0].content", NULL));
    ck_assert(follows(units, "messages[1].content[0].text", "messages[0].content"));
    ck_assert(follows(units, "messages[1].content[3].text", NULL));
    ck_assert(follows(units, "messages[2].content", "messages[1].content[3].text"));
    ck_assert(follows(units, "messages[3].content", NULL));      /* role */
    ck_assert(follows(units, "messages[4].content[1].text", NULL)); /* tool_use first */
    ck_assert(follows(units, "messages[5].content", "messages[4].content[1].text"));
    ck_assert(follows(units, "messages[7].content", NULL));      /* empty between */

    j = tu_parse(
        "{\"model\":\"g\",\"messages\":["
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"part one\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"part two\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"u1\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"u2\"}]}]}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_CHAT);
    ck_assert(follows(units, "messages[1].content", "messages[0].content"));
    ck_assert(follows(units, "messages[2].content[0].text", NULL));
    ck_assert(follows(units, "messages[3].content[0].text",
                      "messages[2].content[0].text"));

    j = tu_parse(
        "{\"model\":\"g\",\"input\":["
        "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":"
        "\"input_text\",\"text\":\"r1\"}]},"
        "{\"role\":\"user\",\"content\":\"r2\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"o1\"},"
        "{\"role\":\"user\",\"content\":\"r3\"}]}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_RESPONSES);
    ck_assert(follows(units, "input[1].content", "input[0].content[0].text"));
    ck_assert(follows(units, "input[3].content", NULL));

    /* results of parallel tool calls, read in a row: Messages' tool_result
     * blocks (string or text blocks), Responses' function_call_output
     * items; the message around them still chains by its own text */
    j = tu_parse(
        "{\"model\":\"c\",\"max_tokens\":8,\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"toolu_1\",\"content\":\"t1\"},"
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\","
        "\"content\":[{\"type\":\"text\",\"text\":\"t2\"}]},"
        "{\"type\":\"text\",\"text\":\"u1\"}]},"
        "{\"role\":\"user\",\"content\":\"u2\"}]}");
    units = llm_dialect_units(tp, j, LLM_EP_ANTHROPIC_MESSAGES);
    ck_assert(follows(units, "messages[0].content[0].content", NULL));
    ck_assert(follows(units, "messages[0].content[1].content[0].text",
                      "messages[0].content[0].content"));
    ck_assert(follows(units, "messages[0].content[2].text", NULL));
    ck_assert(follows(units, "messages[1].content", "messages[0].content[2].text"));

    j = tu_parse(
        "{\"model\":\"g\",\"input\":["
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"o1\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_2\","
        "\"output\":\"o2\"},"
        "{\"role\":\"user\",\"content\":\"r1\"}]}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_RESPONSES);
    ck_assert(follows(units, "input[1].output", "input[0].output"));
    ck_assert(follows(units, "input[2].content", NULL));
}
END_TEST

START_TEST(units_responses)
{
    json_t *j = tu_parse(
        "{\"model\":\"gpt-c\",\"instructions\":\"be good\",\"input\":["
        "{\"type\":\"message\",\"role\":\"developer\",\"content\":["
        "{\"type\":\"input_text\",\"text\":\"dev1\"},{\"type\":\"input_text\","
        "\"text\":\"dev2\"}]},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":"
        "\"summary_text\",\"text\":\"thought\"}],\"encrypted_content\":"
        "\"gAAAAABopaque\"},"
        "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_9\","
        "\"name\":\"exec\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\","
        "\"status\":\"completed\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_9\","
        "\"output\":\"file.txt\"}],"
        "\"tools\":[{\"type\":\"function\",\"name\":\"exec\",\"description\":"
        "\"Runs\",\"parameters\":{\"type\":\"object\"}}],"
        "\"include\":[\"reasoning.encrypted_content\"],"
        "\"client_metadata\":{\"session\":\"s-1\"}}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_RESPONSES);
    const llm_unit_t *u;

    ck_assert_ptr_nonnull(tu_unit_with(units, "instructions", NULL));
    u = tu_unit_with(units, "input[0].content[1].text", NULL);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->text, "dev1dev2");
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[1].summary[0].text",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[2].arguments", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[3].output", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "tools[0].description", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "client_metadata.session",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[1].encrypted_content",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[2].call_id", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[1].id", NULL));
    ck_assert_int_eq(tu_units_contain(units, "completed"), 0);
    ck_assert_int_eq(tu_units_contain(units, "developer"), 0);

    j = tu_parse("{\"model\":\"m\",\"input\":\"just text\"}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_RESPONSES);
    ck_assert_ptr_nonnull(tu_unit_with(units, "input", NULL));
}
END_TEST

START_TEST(keys_with_nul_are_refused)
{
    /* "role\u0000x" must never pass for "role": jansson refuses such
     * keys, so the body is a 400 (units.c treats them as free-form
     * should a later jansson accept them). */
    const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":"
                       "\"user\",\"content\":\"hi\",\"role\\u0000x\":"
                       "\"hidden-value\"}]}";
    const char *err = NULL;

    ck_assert_ptr_null(llm_json_parse(tp, body, strlen(body), &err));
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(units_embeddings_and_completions)
{
    json_t *j = tu_parse("{\"model\":\"e\",\"input\":[\"one\",\"two\"],"
                         "\"encoding_format\":\"base64\"}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_EMBEDDINGS);

    /* separate inputs are separate units (and the model one more) */
    ck_assert_int_eq(units->nelts, 3);
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[0]", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "input[1]", NULL));

    j = tu_parse("{\"model\":\"e\",\"input\":[[1,2,3]]}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_EMBEDDINGS);
    ck_assert_int_eq(units->nelts, 1);
    ck_assert_ptr_nonnull(tu_unit_with(units, "model", NULL));

    j = tu_parse("{\"model\":\"c\",\"prompt\":\"complete me\","
                 "\"suffix\":\"end\"}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_COMPLETIONS);
    ck_assert_ptr_nonnull(tu_unit_with(units, "prompt", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "suffix", NULL));
}
END_TEST

/* --- protocol fields (issue 10, items 2 and 4) ------------------------ */

static const char *units_err(const char *body, apr_array_header_t **units)
{
    const char *err = NULL;
    json_t *j = tu_parse(body);

    *units = llm_dialect_units_checked(tp, j, LLM_EP_ANTHROPIC_MESSAGES,
                                       &err);
    return err;
}

START_TEST(protocol_values_are_checked)
{
    apr_array_header_t *units;
    const char *err;

    /* an unknown enum value is scanned, a known one is not */
    err = units_err("{\"model\":\"m\",\"service_tier\":\"auto\",\"messages\":["
                    "{\"role\":\"user AKIAZ3MJQW7XK4RTLP2B\",\"content\":\"hi\"},"
                    "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                    "\"text\":\"x\",\"cache_control\":{\"type\":\"ephemeral\","
                    "\"ttl\":\"1h\",\"note\":\"c-note\"}},{\"type\":"
                    "\"weird_type\",\"text\":\"y\"}]}],"
                    "\"tool_choice\":\"any-of-them\","
                    "\"reasoning_effort\":\"high\"}", &units);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[0].role", NULL));
    ck_assert_int_eq(tu_units_contain(units, "user AKIAZ3MJQW7XK4RTLP2B"), 1);
    ck_assert_ptr_null(tu_unit_with(units, "messages[1].role", NULL));
    ck_assert_ptr_null(tu_unit_with(units, "service_tier", NULL));
    ck_assert_ptr_null(tu_unit_with(units, "reasoning_effort", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "tool_choice", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[1].content[1].type",
                                       NULL));
    ck_assert_ptr_null(tu_unit_with(units, "messages[1].content[0].type",
                                    NULL));
    /* inside cache_control: known values pass, anything else is text */
    ck_assert_ptr_null(tu_unit_with(units,
        "messages[1].content[0].cache_control.ttl", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[1].content[0].cache_control.note#key", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[1].content[0].cache_control.note", NULL));

    /* a versioned tool type is known */
    err = units_err("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                    "\"content\":\"hi\"}],\"tools\":[{\"type\":"
                    "\"web_search_20250305\",\"name\":\"web_search\"}]}",
                    &units);
    ck_assert_ptr_null(err);
    ck_assert_ptr_null(tu_unit_with(units, "tools[0].type", NULL));
}
END_TEST

START_TEST(protocol_keys_are_scanned)
{
    apr_array_header_t *units;
    int pi;
    const llm_unit_t *u;
    const char *err = units_err(
        "{\"model\":\"m\",\"AKIAZ3MJQW7XK4RTLP2B_a\":1,\"messages\":["
        "{\"role\":\"user\",\"ghp_note\":true,\"content\":[{\"type\":"
        "\"text\",\"text\":\"x\",\"x-extra\":null}]}]}", &units);

    ck_assert_ptr_null(err);
    /* the top-level key: scanned, and its path is by position */
    u = tu_unit_with(units, "{#1}#key", &pi);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(tu_units_contain(units, "AKIAZ3MJQW7XK4RTLP2B_a"), 1);
    ck_assert_ptr_nonnull(tu_unit_with(units, "messages[0].ghp_note#key",
                                       NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[0].content[0].x-extra#key", NULL));
    /* the dialects' own field names are not text */
    ck_assert_ptr_null(tu_unit_with(units, "messages[0].role#key", NULL));
    ck_assert_ptr_null(tu_unit_with(units, "messages#key", NULL));
}
END_TEST

START_TEST(protocol_ids_and_blobs_have_a_syntax)
{
    apr_array_header_t *units;
    const char *err;

    /* real ids pass, and are scanned */
    err = units_err("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
                    "\"content\":[{\"type\":\"tool_use\",\"id\":"
                    "\"toolu_01Xy9AbCdEfGhIjKlMnOpQr\",\"name\":\"b\","
                    "\"input\":{}},{\"type\":\"thinking\",\"thinking\":\"t\","
                    "\"signature\":\"EqQBCkgIARABGAIiQL+/x==\"}]},"
                    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                    "\"tool_use_id\":\"call_8f2e-41aa.x:0\",\"content\":\"ok\"}"
                    "]}]}", &units);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(tu_units_contain(units, "toolu_01Xy9AbCdEfGhIjKlMnOpQr"),
                     1);
    ck_assert_int_eq(tu_units_contain(units, "EqQBCkgIARABGAIiQL+/x=="), 1);

    /* an id with a blank, a quote, or a blob that is not base64: 400 */
    err = units_err("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                    "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                    "\"my password is hunter2\",\"content\":\"ok\"}]}]}",
                    &units);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "messages[0].content[0].tool_use_id") != NULL,
                  "%s", err);
    ck_assert_msg(strstr(err, "hunter2") == NULL, "%s", err);
    err = units_err("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
                    "\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\","
                    "\"signature\":\"not base64 at all\"}]}]}", &units);
    ck_assert_ptr_nonnull(err);
    err = units_err("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
                    "\"content\":[{\"type\":\"redacted_thinking\",\"data\":"
                    "\"plain words\"}]}]}", &units);
    ck_assert_ptr_nonnull(err);
    /* the scan never loses them even so */
    ck_assert_int_eq(tu_units_contain(units, "plain words"), 1);
}
END_TEST

START_TEST(media_exempt_only_when_binary)
{
    apr_array_header_t *units;
    const llm_unit_t *u;
    int pi;
    const char *err = units_err(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
        /* 0: a real PNG: left out */
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
        "\"image/png\",\"data\":\"iVBORw0KGgoAAAANSUhEUgAA\"}},"
        /* 1: plain text where base64 is expected */
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
        "\"image/png\",\"data\":\"key AKIAZ3MJQW7XK4RTLP2B here\"}},"
        /* 2: base64 of text, declared a PDF: scanned decoded too */
        "{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
        "\"application/pdf\",\"data\":\"a2V5IEFLSUFaM01KUVc3WEs0UlRMUDJC\"}},"
        /* 3: base64 of a PNG but declared text: scanned */
        "{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
        "\"text/plain\",\"data\":\"iVBORw0KGgoAAAANSUhEUgAA\"}}"
        "]}]}", &units);

    ck_assert_ptr_null(err);
    ck_assert_ptr_null(tu_unit_with(units,
        "messages[0].content[0].source.data", NULL));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[0].content[1].source.data", NULL));
    ck_assert_int_eq(tu_units_contain(units, "key AKIAZ3MJQW7XK4RTLP2B"), 1);
    /* decoded: a unit of its own that no edit may change */
    ck_assert_int_eq(tu_units_contain(units, "key AKIAZ3MJQW7XK4RTLP2B"), 1);
    u = NULL;
    {
        int i, found = 0;
        for (i = 0; i < units->nelts; i++) {
            u = &((const llm_unit_t *)units->elts)[i];
            if (u->len == 24 && !memcmp(u->text, "key AKIAZ3MJQW7XK4RTLP2B", 24)) {
                const llm_piece_t *pc = (const llm_piece_t *)u->pieces->elts;
                llm_edit_t e = { 4, 20, "[X]" };
                ck_assert_str_eq(llm_dialect_path_text(tp, pc->path), "messages[0].content[2].source.data");
                ck_assert_int_eq(pc->fixed, 1);
                ck_assert_int_eq(llm_unit_apply_edits(tp, u, &e, 1), -1);
                found = 1;
            }
        }
        ck_assert_int_eq(found, 1);
    }
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[0].content[3].source.data", &pi));

    /* OpenAI: data:text URLs, text in file_data and input_audio */
    {
        const char *e2 = NULL;
        json_t *j = tu_parse(
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
            "{\"type\":\"image_url\",\"image_url\":{\"url\":"
            "\"data:text/plain,AKIAZ3MJQW7XK4RTLP2B\"}},"
            "{\"type\":\"file\",\"file\":{\"filename\":\"a.txt\","
            "\"file_data\":\"token ghp_x\"}},"
            "{\"type\":\"input_audio\",\"input_audio\":{\"format\":\"wav\","
            "\"data\":\"spoken words\"}},"
            "{\"type\":\"image_url\",\"image_url\":{\"url\":"
            "\"data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==\"}},"
            "{\"type\":\"file\",\"file\":{\"filename\":\"a.txt\",\"file_data\":"
            "\"data:text/plain;base64,a2V5IEFLSUFaM01KUVc3WEs0UlRMUDJC\"}}"
            "]}]}");
        units = llm_dialect_units_checked(tp, j, LLM_EP_OPENAI_CHAT, &e2);
        ck_assert_ptr_null(e2);
        ck_assert_ptr_nonnull(tu_unit_with(units,
            "messages[0].content[0].image_url.url", NULL));
        ck_assert_ptr_nonnull(tu_unit_with(units,
            "messages[0].content[1].file.file_data", NULL));
        ck_assert_ptr_nonnull(tu_unit_with(units,
            "messages[0].content[2].input_audio.data", NULL));
        ck_assert_ptr_null(tu_unit_with(units,
            "messages[0].content[3].image_url.url", NULL));
        ck_assert_int_eq(tu_units_contain(units, "key AKIAZ3MJQW7XK4RTLP2B"),
                         1);
    }
}
END_TEST

START_TEST(batch_unit_edits_and_locate)
{
    apr_array_header_t *units;
    const llm_unit_t *u;
    const llm_piece_t *pc;
    size_t poff;
    int pi;
    llm_edit_t e;
    json_t *j = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\","
                         "\"tool_call_id\":\"call_AKIAZ3MJQW7XK4RTLP2B\","
                         "\"content\":\"ok\"}]}");

    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_CHAT);
    u = tu_unit_with(units, "messages[0].tool_call_id", &pi);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->text, "m\ncall_AKIAZ3MJQW7XK4RTLP2B");
    pc = llm_unit_locate(u, 7, &poff);
    ck_assert_str_eq(llm_dialect_path_text(tp, pc->path), "messages[0].tool_call_id");
    ck_assert_int_eq(poff, 5);
    /* an id can be redacted; the model cannot */
    e.offset = 7;
    e.length = 20;
    e.replacement = "[R]";
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, &e, 1), 0);
    ck_assert_str_eq(json_string_value(json_object_get(
        json_array_get(json_object_get(j, "messages"), 0), "tool_call_id")),
        "call_[R]");
    e.offset = 0;
    e.length = 1;
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, &e, 1), -1);
}
END_TEST

START_TEST(long_numbers_of_free_form_data_are_scanned)
{
    apr_array_header_t *units;
    const llm_unit_t *u;
    const llm_piece_t *pc;
    int pi;
    llm_edit_t e = { 0, 1, "x" };
    json_t *j = tu_parse("{\"model\":\"m\",\"max_tokens\":9,\"messages\":["
                         "{\"role\":\"assistant\",\"content\":[{\"type\":"
                         "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"pay\","
                         "\"input\":{\"card\":4787789328792170,\"n\":5,"
                         "\"ids\":[1700000000000123,7]}}]}],"
                         "\"seed\":4787789328792170}");

    units = llm_dialect_units(tp, j, LLM_EP_ANTHROPIC_MESSAGES);
    u = tu_unit_with(units, "messages[0].content[0].input.card", &pi);
    ck_assert_ptr_nonnull(u);
    pc = &((const llm_piece_t *)u->pieces->elts)[pi];
    ck_assert_int_eq(pc->fixed, 1);
    ck_assert_int_eq(pc->len, 16);
    ck_assert(!memcmp(u->text + pc->unit_offset, "4787789328792170", 16));
    ck_assert_ptr_nonnull(tu_unit_with(units,
        "messages[0].content[0].input.ids[0]", NULL));
    /* short numbers and the dialects' own numbers are no text */
    ck_assert_ptr_null(tu_unit_with(units, "messages[0].content[0].input.n",
                                    NULL));
    ck_assert_ptr_null(tu_unit_with(units, "messages[0].content[0].input.ids[1]",
                                    NULL));
    ck_assert_ptr_null(tu_unit_with(units, "seed", NULL));
    /* a number takes no placeholder */
    e.offset = pc->unit_offset;
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, &e, 1), -1);
}
END_TEST

/* The path of the piece whose text is text, written out. */
static const char *path_of(apr_array_header_t *units, const char *text)
{
    int i, k;

    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &((const llm_unit_t *)units->elts)[i];

        for (k = 0; k < u->pieces->nelts; k++) {
            const llm_piece_t *pc = &((const llm_piece_t *)u->pieces->elts)[k];
            const char *t = pc->value ? json_string_value(pc->value)
                                      : pc->key;

            if (pc->len == strlen(text) && !memcmp(t, text, pc->len)) {
                return llm_dialect_path_text(tp, pc->path);
            }
        }
    }
    return NULL;
}

START_TEST(paths_are_written_from_their_steps)
{
    char body[2048];
    char want[1024];
    size_t n = 0, w = 0;
    int i;
    json_t *j;
    apr_array_header_t *units;

    /* keys by their place, a key's own path, arrays in arrays */
    j = tu_parse("{\"model\":\"m\",\"metadata\":{\"n\":1,\"a\":[[{"
                 "\"AKIAZ3MJQW7XK4RTLP2B\":{\"x y\":\"deep value\","
                 "\"ok_name\":\"named value\"}}]]}}");
    units = llm_dialect_units(tp, j, LLM_EP_OPENAI_CHAT);
    ck_assert_str_eq(path_of(units, "deep value"),
                     "metadata.a[0][0].{#0}.{#0}");
    ck_assert_str_eq(path_of(units, "named value"),
                     "metadata.a[0][0].{#0}.ok_name");
    ck_assert_str_eq(path_of(units, "AKIAZ3MJQW7XK4RTLP2B"),
                     "metadata.a[0][0].{#0}#key");
    ck_assert_str_eq(path_of(units, "x y"), "metadata.a[0][0].{#0}.{#0}#key");
    ck_assert_str_eq(path_of(units, "m"), "model");

    /* a root that is no object: an array's members */
    units = llm_dialect_units(tp, tu_parse("[\"zero\",{\"k\":\"one\"}]"),
                              LLM_EP_OPENAI_CHAT);
    ck_assert_str_eq(path_of(units, "zero"), "[0]");
    ck_assert_str_eq(path_of(units, "one"), "[1].k");

    /* a hundred levels: every step written, in order */
    n += (size_t)snprintf(body + n, sizeof(body) - n,
                          "{\"model\":\"m\",\"metadata\":{\"d\":");
    w += (size_t)snprintf(want + w, sizeof(want) - w, "metadata.d");
    for (i = 0; i < 100; i++) {
        body[n++] = '[';
        w += (size_t)snprintf(want + w, sizeof(want) - w, "[%d]", i % 2);
        if (i % 2) {
            /* a second member before the one walked into */
            n += (size_t)snprintf(body + n, sizeof(body) - n, "0,");
        }
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\"bottom\"");
    for (i = 0; i < 100; i++) {
        body[n++] = ']';
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "}}");
    body[n] = '\0';
    units = llm_dialect_units(tp, tu_parse(body), LLM_EP_OPENAI_CHAT);
    ck_assert_str_eq(path_of(units, "bottom"), want);
}
END_TEST

static int hide_akia(void *baton, const char *key, size_t len)
{
    (void)baton;
    return len >= 4 && !memcmp(key, "AKIA", 4);
}

START_TEST(path_hide_writes_keys_by_position)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                         "\"content\":[{\"type\":\"tool_use\",\"input\":{"
                         "\"a\":1,\"AKIAsuffix_a\":{\"b\":\"v\"}}}]}]}");
    const char *p;

    p = llm_dialect_path_hide(tp, j,
        "messages[0].content[0].input.AKIAsuffix_a.b", hide_akia, NULL);
    ck_assert_str_eq(p, "messages[0].content[0].input.{#1}.b");
    p = llm_dialect_path_hide(tp, j,
        "messages[0].content[0].input.AKIAsuffix_a#key", hide_akia, NULL);
    ck_assert_str_eq(p, "messages[0].content[0].input.{#1}#key");
    p = llm_dialect_path_hide(tp, j, "messages[0].content", hide_akia, NULL);
    ck_assert_str_eq(p, "messages[0].content");
    /* a key the walker already wrote by position stays as it is */
    ck_assert_str_eq(llm_dialect_path_hide(tp, j, "{#1}[0].role", hide_akia,
                                           NULL), "{#1}[0].role");
}
END_TEST

/* --- locate and edits ------------------------------------------------ */

START_TEST(locate_maps_offsets)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                         "\"content\":[{\"type\":\"text\",\"text\":\"abc\"},"
                         "{\"type\":\"text\",\"text\":\"\"},"
                         "{\"type\":\"text\",\"text\":\"defg\"}]}]}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_CHAT);
    const llm_unit_t *u = tu_unit_with(units, "messages[0].content[0].text",
                                       NULL);
    const llm_piece_t *pc;
    size_t off;

    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->text, "abcdefg");
    pc = llm_unit_locate(u, 0, &off);
    ck_assert_str_eq(llm_dialect_path_text(tp, pc->path), "messages[0].content[0].text");
    ck_assert_uint_eq(off, 0);
    pc = llm_unit_locate(u, 3, &off);
    ck_assert_str_eq(llm_dialect_path_text(tp, pc->path), "messages[0].content[2].text");
    ck_assert_uint_eq(off, 0);
    pc = llm_unit_locate(u, 6, &off);
    ck_assert_uint_eq(off, 3);
    pc = llm_unit_locate(u, 7, &off);
    ck_assert_str_eq(llm_dialect_path_text(tp, pc->path), "messages[0].content[2].text");
    ck_assert_uint_eq(off, 4);
    ck_assert_ptr_null(llm_unit_locate(u, 8, &off));
}
END_TEST

START_TEST(edits_within_and_across_pieces)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                         "\"content\":[{\"type\":\"text\",\"text\":"
                         "\"mail a@b.example and key AKIA12\"},"
                         "{\"type\":\"text\",\"text\":\"3456 done\"}]}]}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_CHAT);
    const llm_unit_t *u = tu_unit_with(units, "messages[0].content[0].text",
                                       NULL);
    llm_edit_t edits[2];
    const char *k = strstr(u->text, "AKIA");

    edits[0].offset = 5;
    edits[0].length = strlen("a@b.example");
    edits[0].replacement = "[REDACTED_EMAIL_1]";
    edits[1].offset = (size_t)(k - u->text);
    edits[1].length = strlen("AKIA123456");
    edits[1].replacement = "[REDACTED_AWS_ACCESS_KEY_1]";
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, edits, 2), 0);
    ck_assert_str_eq(tu_dump(json_object_get(j, "messages")),
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"mail [REDACTED_EMAIL_1] and key [REDACTED_AWS_ACCESS_KEY_1]\"},"
        "{\"type\":\"text\",\"text\":\" done\"}]}]");
}
END_TEST

START_TEST(edits_validated_before_change)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"prompt\":\"hello world\"}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_COMPLETIONS);
    const llm_unit_t *u = tu_unit_with(units, "prompt", NULL);
    llm_edit_t bad[2] = { { 6, 5, "X" }, { 12, 0, "Y" } };
    llm_edit_t past[1] = { { 8, 9, "X" } };
    llm_edit_t ins[2] = { { 0, 0, ">" }, { 11, 0, "<" } };

    ck_assert_int_eq(llm_unit_apply_edits(tp, u, bad, 2), -1);
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, past, 1), -1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "prompt")),
                     "hello world");
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, ins, 2), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "prompt")),
                     ">hello world<");
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, NULL, 0), 0);
}
END_TEST

START_TEST(edits_unsorted_and_overlapping)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"prompt\":"
                         "\"a token=SECRETVALUE1 and b@c.example\"}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_COMPLETIONS);
    const llm_unit_t *u = tu_unit_with(units, "prompt", NULL);
    /* two rules on the same value, out of order, and a later email */
    llm_edit_t e[3] = { { 25, 11, "[E]" }, { 8, 12, "[S2]" },
                        { 2, 18, "[S1]" } };

    ck_assert_int_eq(llm_unit_apply_edits(tp, u, e, 3), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "prompt")),
                     "a [S1] and [E]");
}
END_TEST

START_TEST(edits_keep_utf8_whole)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"prompt\":\"caf\\u00e9\"}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_OPENAI_COMPLETIONS);
    const llm_unit_t *u = tu_unit_with(units, "prompt", NULL);
    llm_edit_t mid[1] = { { 4, 1, "" } };

    /* cutting a character in half is refused, nothing changes */
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, mid, 1), -1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "prompt")),
                     "caf\xc3\xa9");
}
END_TEST

START_TEST(edits_rename_keys_in_place)
{
    json_t *j = tu_parse("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{"
                         "\"role\":\"assistant\",\"content\":[{\"type\":"
                         "\"tool_use\",\"id\":\"t1\",\"name\":\"n\","
                         "\"input\":{\"a\":1,\"bob@corp.example\":2,"
                         "\"c\":3}}]}]}");
    apr_array_header_t *units = llm_dialect_units(tp, j,
                                                  LLM_EP_ANTHROPIC_MESSAGES);
    const llm_unit_t *u = tu_unit_with(units,
        "messages[0].content[0].input.{#1}#key", NULL);
    llm_edit_t e[1] = { { 0, 16, "[REDACTED_EMAIL_1]" } };

    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->text, "bob@corp.example");
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, e, 1), 0);
    ck_assert_str_eq(tu_dump(json_object_get(json_array_get(json_object_get(
        json_array_get(json_object_get(j, "messages"), 0), "content"), 0),
        "input")), "{\"a\":1,\"[REDACTED_EMAIL_1]\":2,\"c\":3}");
}
END_TEST

START_TEST(edits_rename_keys_of_large_objects)
{
    char *body = apr_pstrdup(tp, "{\"model\":\"m\",\"max_tokens\":5,"
                             "\"messages\":[{\"role\":\"user\",\"content\":"
                             "[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":"
                             "\"n\",\"input\":{");
    apr_array_header_t *units;
    const llm_unit_t *u;
    json_t *j, *input;
    llm_edit_t e[1] = { { 0, 11, "[REDACTED_EMAIL_1]" } };
    int i;

    for (i = 0; i < 300; i++) {
        body = apr_psprintf(tp, "%s\"k%d\":%d,", body, i, i);
    }
    body = apr_pstrcat(tp, body, "\"x@y.example\":1}}]}]}", NULL);
    j = tu_parse(body);
    units = llm_dialect_units(tp, j, LLM_EP_ANTHROPIC_MESSAGES);
    u = tu_unit_with(units, "messages[0].content[0].input.{#300}#key", NULL);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(llm_unit_apply_edits(tp, u, e, 1), 0);
    input = json_object_get(json_array_get(json_object_get(json_array_get(
        json_object_get(j, "messages"), 0), "content"), 0), "input");
    ck_assert_int_eq(json_object_size(input), 301);
    ck_assert_ptr_nonnull(json_object_get(input, "[REDACTED_EMAIL_1]"));
    ck_assert_ptr_null(json_object_get(input, "x@y.example"));
}
END_TEST

/* --- error bodies ---------------------------------------------------- */

START_TEST(error_bodies)
{
    const char *f = "[{\"type\":\"AWS_ACCESS_KEY\","
                    "\"rule\":\"aws-access-key-id\","
                    "\"location\":\"messages[0].content\",\"offset\":3,"
                    "\"length\":20}]";
    char *b;

    b = llm_dialect_error_body(tp, LLM_FAMILY_OPENAI, 403,
                               "sensitive_data_detected", "aws_access_key",
                               "Remove it", f);
    ck_assert_str_eq(b, "{\"error\":{\"message\":\"Remove it\",\"type\":"
                     "\"sensitive_data_detected\",\"code\":\"aws_access_key\","
                     "\"param\":null,\"findings\":[{"
                     "\"type\":\"AWS_ACCESS_KEY\","
                     "\"rule\":\"aws-access-key-id\",\"location\":"
                     "\"messages[0].content\",\"offset\":3,\"length\":20}]}}");
    b = llm_dialect_error_body(tp, LLM_FAMILY_ANTHROPIC, 403,
                               "sensitive_data_detected",
                               "sensitive_data_detected", "Remove it", f);
    ck_assert_str_eq(b, "{\"type\":\"error\",\"error\":{\"type\":"
                     "\"permission_error\","
                     "\"code\":\"sensitive_data_detected\","
                     "\"message\":\"Remove it\",\"findings\":[{\"type\":"
                     "\"AWS_ACCESS_KEY\",\"rule\":\"aws-access-key-id\","
                     "\"location\":\"messages[0].content\",\"offset\":3,"
                     "\"length\":20}]}}");
    b = llm_dialect_error_body(tp, LLM_FAMILY_OPENAI, 400,
                               "invalid_request_error", NULL, "bad", NULL);
    ck_assert_str_eq(b, "{\"error\":{\"message\":\"bad\",\"type\":"
                     "\"invalid_request_error\",\"code\":null,"
                     "\"param\":null}}");
    b = llm_dialect_error_body(tp, LLM_FAMILY_ANTHROPIC, 429,
                               "rate_limit_exceeded", "quota", "slow", NULL);
    ck_assert_msg(strstr(b, "\"rate_limit_error\"") != NULL, "%s", b);
    b = llm_dialect_error_body(tp, LLM_FAMILY_ANTHROPIC, 413, "x", NULL,
                               "big", "not json");
    ck_assert_msg(strstr(b, "\"request_too_large\"") != NULL, "%s", b);
    ck_assert_msg(strstr(b, "\"findings\":[]") != NULL, "%s", b);
    ck_assert_str_eq(llm_dialect_anthropic_error_type(401),
                     "authentication_error");
    ck_assert_str_eq(llm_dialect_anthropic_error_type(404),
                     "not_found_error");
    ck_assert_str_eq(llm_dialect_anthropic_error_type(502), "api_error");
    ck_assert_str_eq(llm_dialect_anthropic_error_type(400),
                     "invalid_request_error");
}
END_TEST

static Suite *dialect_suite(void)
{
    Suite *s = suite_create("dialect");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, endpoints_recognised);
    tcase_add_test(tc, model_and_stream);
    tcase_add_test(tc, parse_rejects_duplicates);
    tcase_add_test(tc, token_like_keys_are_written_by_position);
    tcase_add_test(tc, parse_error_never_echoes_input);
    tcase_add_test(tc, parse_rejects_garbage_and_empty);
    tcase_add_test(tc, parse_refuses_deep_nesting);
    tcase_add_test(tc, parse_decodes_escapes);
    tcase_add_test(tc, dump_is_compact_and_ordered);
    tcase_add_test(tc, check_chat);
    tcase_add_test(tc, check_openai_others);
    tcase_add_test(tc, check_anthropic);
    tcase_add_test(tc, units_anthropic_paths);
    tcase_add_test(tc, units_openai_chat);
    tcase_add_test(tc, units_responses);
    tcase_add_test(tc, units_follow_adjacent_messages);
    tcase_add_test(tc, keys_with_nul_are_refused);
    tcase_add_test(tc, units_embeddings_and_completions);
    tcase_add_test(tc, protocol_values_are_checked);
    tcase_add_test(tc, protocol_keys_are_scanned);
    tcase_add_test(tc, protocol_ids_and_blobs_have_a_syntax);
    tcase_add_test(tc, media_exempt_only_when_binary);
    tcase_add_test(tc, batch_unit_edits_and_locate);
    tcase_add_test(tc, path_hide_writes_keys_by_position);
    tcase_add_test(tc, paths_are_written_from_their_steps);
    tcase_add_test(tc, long_numbers_of_free_form_data_are_scanned);
    tcase_add_test(tc, locate_maps_offsets);
    tcase_add_test(tc, edits_within_and_across_pieces);
    tcase_add_test(tc, edits_validated_before_change);
    tcase_add_test(tc, edits_unsorted_and_overlapping);
    tcase_add_test(tc, edits_keep_utf8_whole);
    tcase_add_test(tc, edits_rename_keys_in_place);
    tcase_add_test(tc, edits_rename_keys_of_large_objects);
    tcase_add_test(tc, error_bodies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(dialect_suite());
}
