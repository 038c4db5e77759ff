/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Unit tests of llm_restore.h: placeholders of a request replaced by their
 * values in answers, whole and streamed, split at every offset.
 */

#include <stdlib.h>

#include "apr_hash.h"

#include "test_util.h"
#include "llm_restore.h"
#include "llm_sse.h"

#define PH "[REDACTED_EMAIL_1]"
#define VAL "alice@corp.example"
/* A value that needs escaping inside JSON text. */
#define PH2 "[REDACTED_PASSWORD_2]"
#define VAL2 "p\"a\\ss\nw"

static llm_restore_map_t *map(void)
{
    llm_restore_map_t *m = llm_restore_map_create(tp);

    ck_assert_int_eq(llm_restore_map_add(m, PH, VAL, strlen(VAL)), 0);
    ck_assert_int_eq(llm_restore_map_add(m, PH2, VAL2, strlen(VAL2)), 0);
    return m;
}

static const char *restore(const llm_restore_map_t *m, const char *s,
                           int json_text, int *count, size_t *tail)
{
    const char *out;
    size_t n;

    *count = llm_restore_string(m, tp, s, strlen(s), json_text, &out, &n,
                                tail);
    return apr_pstrmemdup(tp, out, n);
}

START_TEST(map_shapes)
{
    llm_restore_map_t *m = map();

    ck_assert_int_eq(llm_restore_map_count(m), 2);
    /* the same again is fine, another value for it is not */
    ck_assert_int_eq(llm_restore_map_add(m, PH, VAL, strlen(VAL)), 0);
    ck_assert_int_eq(llm_restore_map_add(m, PH, "x", 1), -1);
    ck_assert_int_eq(llm_restore_map_add(m, "REDACTED_X_1", "x", 1), -1);
    ck_assert_int_eq(llm_restore_map_add(m, "[A[B]", "x", 1), -1);
    ck_assert_int_eq(llm_restore_map_add(m, "[A\"B]", "x", 1), -1);
    ck_assert_int_eq(llm_restore_map_add(m, "[]", "x", 1), -1);
    ck_assert_int_eq(llm_restore_map_count(m), 2);
}
END_TEST

START_TEST(string_replaces_only_mapped)
{
    llm_restore_map_t *m = map();
    size_t tail;
    int n;

    ck_assert_str_eq(restore(m, "to " PH ", " PH "!", 0, &n, &tail),
                     "to " VAL ", " VAL "!");
    ck_assert_int_eq(n, 2);
    /* invented or foreign placeholders, brackets of code: unchanged */
    ck_assert_str_eq(restore(m, "[REDACTED_EMAIL_9] a[i] [REDACTED_EMAIL_1",
                             0, &n, &tail),
                     "[REDACTED_EMAIL_9] a[i] [REDACTED_EMAIL_1");
    ck_assert_int_eq(n, 0);
    /* ... whose last part could still begin one */
    ck_assert_uint_eq(tail, strlen("[REDACTED_EMAIL_9] a[i] "));
    ck_assert_str_eq(restore(m, PH " and [RE", 0, &n, &tail),
                     VAL " and [RE");
    ck_assert_uint_eq(tail, strlen(VAL " and "));
    ck_assert_str_eq(restore(m, "x[", 0, &n, &tail), "x[");
    ck_assert_uint_eq(tail, 1);
    ck_assert_str_eq(restore(m, "x[Q", 0, &n, &tail), "x[Q");
    ck_assert_uint_eq(tail, 3);
    /* JSON text: escaped once */
    ck_assert_str_eq(restore(m, "{\"p\":\"" PH2 "\"}", 1, &n, &tail),
                     "{\"p\":\"p\\\"a\\\\ss\\nw\"}");
    ck_assert_str_eq(restore(m, PH2, 0, &n, &tail), VAL2);
}
END_TEST

START_TEST(body_openai_and_anthropic)
{
    llm_restore_map_t *m = map();
    const char *chat =
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":\"write to " PH "\",\"tool_calls\":[{"
        "\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"w\","
        "\"arguments\":\"{\\\"to\\\":\\\"" PH "\\\",\\\"pw\\\":\\\"" PH2
        "\\\"}\"}}]}}]}";
    const char *anth =
        "{\"type\":\"message\",\"content\":[{\"type\":\"thinking\","
        "\"thinking\":\"about " PH "\",\"signature\":\"s\"},{\"type\":"
        "\"text\",\"text\":\"" PH "\"},{\"type\":\"tool_use\",\"id\":\"t\","
        "\"name\":\"w\",\"input\":{\"pw\":\"" PH2 "\"}}]}";
    const char *out;
    size_t n;
    int count;
    json_t *j, *args;

    out = llm_restore_body(m, tp, chat, strlen(chat), &n, &count);
    ck_assert_int_eq(count, 3);
    j = tu_parse(apr_pstrmemdup(tp, out, n));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
        json_array_get(json_object_get(j, "choices"), 0), "message"),
        "content")), "write to " VAL);
    args = tu_parse(json_string_value(json_object_get(json_object_get(
        json_array_get(json_object_get(json_object_get(json_array_get(
            json_object_get(j, "choices"), 0), "message"), "tool_calls"), 0),
        "function"), "arguments")));
    ck_assert_str_eq(tu_str(args, "to"), VAL);
    ck_assert_str_eq(tu_str(args, "pw"), VAL2);

    out = llm_restore_body(m, tp, anth, strlen(anth), &n, &count);
    ck_assert_int_eq(count, 2);
    j = tu_parse(apr_pstrmemdup(tp, out, n));
    /* the signed thinking stays as the provider wrote it */
    ck_assert_str_eq(tu_str(json_array_get(json_object_get(j, "content"), 0),
                            "thinking"), "about " PH);
    ck_assert_str_eq(tu_str(json_array_get(json_object_get(j, "content"), 1),
                            "text"), VAL);
    ck_assert_str_eq(tu_str(json_object_get(json_array_get(
        json_object_get(j, "content"), 2), "input"), "pw"), VAL2);

    /* nothing mapped in it: the very same bytes */
    out = llm_restore_body(m, tp, "{\"a\":\"[x]\"}", 11, &n, &count);
    ck_assert_int_eq(count, 0);
    ck_assert_str_eq(out, "{\"a\":\"[x]\"}");
}
END_TEST

/* --- streams ------------------------------------------------------------- */

typedef struct {
    int events;
    apr_hash_t *text;            /* channel -> concatenated pieces */
} seen_t;

static void add_text(seen_t *s, const char *chan, const char *piece)
{
    const char *had = apr_hash_get(s->text, chan, APR_HASH_KEY_STRING);

    apr_hash_set(s->text, chan, APR_HASH_KEY_STRING,
                 apr_pstrcat(tp, had ? had : "", piece, NULL));
}

/* What a client makes of a stream: the text and the arguments. */
static int on_ev(void *baton, const llm_sse_event_t *ev)
{
    seen_t *s = baton;
    json_t *j, *d, *c, *tc;
    const char *v;

    s->events++;
    if (!strcmp(ev->data, "[DONE]")) {
        return 0;
    }
    j = tu_parse(ev->data);
    if ((d = json_object_get(j, "delta")) && json_is_object(d)) {
        if ((v = tu_str(d, "text")) && strcmp(v, "(null)")) {
            add_text(s, "text", v);
        }
        if ((v = tu_str(d, "partial_json")) && strcmp(v, "(null)")) {
            add_text(s, "args", v);
        }
        if ((v = tu_str(d, "thinking")) && strcmp(v, "(null)")) {
            add_text(s, "thinking", v);
        }
    }
    else if (json_is_string(d)) {
        add_text(s, strstr(tu_str(j, "type"), "arguments") ? "args" : "text",
                 json_string_value(d));
    }
    if ((c = json_array_get(json_object_get(j, "choices"), 0))) {
        d = json_object_get(c, "delta");
        if (json_is_string(json_object_get(d, "content"))) {
            add_text(s, "text", tu_str(d, "content"));
        }
        tc = json_array_get(json_object_get(d, "tool_calls"), 0);
        if (tc) {
            add_text(s, "args", tu_str(json_object_get(tc, "function"),
                                       "arguments"));
        }
    }
    return 0;
}

static seen_t *client_view(const char *stream, size_t len)
{
    seen_t *s = apr_pcalloc(tp, sizeof(*s));
    llm_sse_parser_t *ps = llm_sse_parser_create(tp, 0);

    s->text = apr_hash_make(tp);
    ck_assert_int_eq(llm_sse_parser_feed(ps, stream, len, on_ev, s), 0);
    ck_assert_int_eq(llm_sse_parser_finish(ps, on_ev, s), 0);
    return s;
}

static const char *chan(const seen_t *s, const char *name)
{
    const char *v = apr_hash_get(s->text, name, APR_HASH_KEY_STRING);

    return v ? v : "";
}

/* The stream through a restorer, fed `step` bytes at a time. */
static const char *run(const llm_restore_map_t *m, const char *in,
                       size_t step, size_t *len, int *count)
{
    llm_restore_stream_t *rs = llm_restore_stream_create(tp, m, 0);
    char *acc = apr_palloc(tp, strlen(in) * 4 + 4096);
    size_t n = strlen(in), pos = 0, k, on;
    const char *o;

    *len = 0;
    while (pos < n) {
        k = n - pos < step ? n - pos : step;
        llm_restore_stream_feed(rs, in + pos, k, &o, &on);
        memcpy(acc + *len, o, on);
        *len += on;
        pos += k;
    }
    llm_restore_stream_finish(rs, &o, &on);
    memcpy(acc + *len, o, on);
    *len += on;
    acc[*len] = '\0';
    *count = llm_restore_stream_count(rs);
    return acc;
}

/* One event of j (released), named when name is not NULL. */
static const char *sse(const char *name, json_t *j)
{
    const char *out = apr_psprintf(tp, "%s%s%sdata: %s\n\n",
                                   name ? "event: " : "", name ? name : "",
                                   name ? "\n" : "", tu_dump(j));

    json_decref(j);
    return out;
}

static const char *a_text(int index, const char *t)
{
    json_t *j = json_pack("{s:s,s:i,s:{s:s,s:s}}", "type",
                          "content_block_delta", "index", index, "delta",
                          "type", "text_delta", "text", t);

    return sse("content_block_delta", j);
}

static const char *a_json(int index, const char *t)
{
    json_t *j = json_pack("{s:s,s:i,s:{s:s,s:s}}", "type",
                          "content_block_delta", "index", index, "delta",
                          "type", "input_json_delta", "partial_json", t);

    return sse("content_block_delta", j);
}

static const char *o_chunk(const char *content, const char *args)
{
    json_t *j;

    if (args) {
        j = json_pack("{s:s,s:[{s:i,s:{s:[{s:i,s:{s:s}}]}}]}", "id", "c",
                      "choices", "index", 0, "delta", "tool_calls", "index",
                      1, "function", "arguments", args);
    }
    else {
        j = json_pack("{s:s,s:[{s:i,s:{s:s}}]}", "id", "c", "choices",
                      "index", 0, "delta", "content", content);
    }
    return sse(NULL, j);
}

static const char *r_delta(const char *type, const char *t)
{
    json_t *j = json_pack("{s:s,s:i,s:i,s:s}", "type", type, "output_index",
                          0, "content_index", 0, "delta", t);

    return sse(type, j);
}

static const char *A_START =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
    "{\"id\":\"m\",\"content\":[]}}\n\n";
static const char *A_STOP0 =
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
    "\"index\":0}\n\n";
static const char *A_END =
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/* A placeholder cut in three at every pair of offsets, each stream fed
 * in pieces of several sizes: the client sees the value, once, and as
 * many events as the provider sent. */
START_TEST(anthropic_text_split_everywhere)
{
    llm_restore_map_t *m = map();
    size_t L = strlen(PH), i, j, len;
    static const size_t steps[] = { 1, 5, 64, 100000 };
    int count, k;

    for (i = 1; i < L; i++) {
        for (j = i + 1; j < L; j++) {
            const char *in = apr_pstrcat(tp, A_START,
                a_text(0, apr_pstrcat(tp, "mail ",
                                      apr_pstrndup(tp, PH, i), NULL)),
                a_text(0, apr_pstrndup(tp, PH + i, j - i)),
                a_text(0, apr_pstrcat(tp, PH + j, " now", NULL)),
                A_STOP0, A_END, NULL);

            for (k = 0; k < 4; k++) {
                const char *out = run(m, in, steps[k], &len, &count);
                seen_t *s = client_view(out, len);

                ck_assert_str_eq(chan(s, "text"), "mail " VAL " now");
                ck_assert_int_eq(count, 1);
                ck_assert_int_eq(s->events, 6);
            }
        }
    }
}
END_TEST

START_TEST(anthropic_tool_arguments_escaped)
{
    llm_restore_map_t *m = map();
    size_t len;
    int count;
    const char *in = apr_pstrcat(tp, A_START,
        a_json(1, "{\"path\":\"a.txt\",\"content\":\"pw=[REDACTED_PA"),
        a_json(1, "SSWORD_"),
        a_json(1, "2] mail " PH "\"}"),
        A_END, NULL);
    const char *out = run(m, in, 3, &len, &count);
    seen_t *s = client_view(out, len);
    json_t *args = tu_parse(chan(s, "args"));

    ck_assert_str_eq(tu_str(args, "content"), "pw=" VAL2 " mail " VAL);
    ck_assert_int_eq(count, 2);
}
END_TEST

START_TEST(thinking_and_foreign_unchanged)
{
    llm_restore_map_t *m = map();
    size_t len;
    int count;
    const char *think =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
        "\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":"
        "\"" PH "\"}}\n\n";
    const char *in = apr_pstrcat(tp, A_START, think,
        a_text(1, "[REDACTED_EMAIL_2] [REDACTED_EM"), a_text(1, "AIL_1"),
        a_text(1, "0] x["), A_END, NULL);
    const char *out = run(m, in, 7, &len, &count);
    seen_t *s = client_view(out, len);

    ck_assert_str_eq(chan(s, "thinking"), PH);
    ck_assert_str_eq(chan(s, "text"),
                     "[REDACTED_EMAIL_2] [REDACTED_EMAIL_10] x[");
    ck_assert_int_eq(count, 0);
    /* nothing restored: the same bytes */
    ck_assert_str_eq(out, in);
}
END_TEST

/* A block that ends in "[" is let go at its end, in order. */
START_TEST(pending_ends_with_block)
{
    llm_restore_map_t *m = map();
    size_t len;
    int count;
    const char *in = apr_pstrcat(tp, A_START, a_text(0, "a["), A_STOP0,
                                 a_json(1, "{\"x\":\"" PH "\"}"), A_END,
                                 NULL);
    llm_restore_stream_t *rs = llm_restore_stream_create(tp, m, 0);
    const char *o;
    size_t on, head = strlen(A_START) + strlen(a_text(0, "a["));

    /* held: the next event decides */
    llm_restore_stream_feed(rs, in, head, &o, &on);
    ck_assert_uint_eq(on, strlen(A_START));
    llm_restore_stream_feed(rs, in + head, strlen(A_STOP0), &o, &on);
    ck_assert_str_eq(apr_pstrmemdup(tp, o, on),
                     apr_pstrcat(tp, a_text(0, "a["), A_STOP0, NULL));
    o = run(m, in, 1, &len, &count);
    ck_assert_str_eq(tu_str(tu_parse(chan(client_view(o, len), "args")),
                            "x"), VAL);
}
END_TEST

START_TEST(openai_chat_split_everywhere)
{
    llm_restore_map_t *m = map();
    size_t L = strlen(PH2), i, j, len;
    int count;

    for (i = 1; i < L; i++) {
        for (j = i + 1; j < L; j++) {
            const char *in = apr_pstrcat(tp, o_chunk("see " PH, NULL),
                o_chunk(NULL, apr_pstrcat(tp, "{\"pw\":\"",
                                          apr_pstrndup(tp, PH2, i), NULL)),
                o_chunk(NULL, apr_pstrndup(tp, PH2 + i, j - i)),
                o_chunk(NULL, apr_pstrcat(tp, PH2 + j, "\"}", NULL)),
                "data: [DONE]\n\n", NULL);
            const char *out = run(m, in, 11, &len, &count);
            seen_t *s = client_view(out, len);

            ck_assert_str_eq(chan(s, "text"), "see " VAL);
            ck_assert_str_eq(tu_str(tu_parse(chan(s, "args")), "pw"), VAL2);
            ck_assert_int_eq(s->events, 5);
        }
    }
}
END_TEST

START_TEST(responses_stream)
{
    llm_restore_map_t *m = map();
    size_t len;
    int count;
    const char *in = apr_pstrcat(tp,
        r_delta("response.output_text.delta", "hi [REDACTED_E"),
        r_delta("response.output_text.delta", "MAIL_1]"),
        r_delta("response.function_call_arguments.delta", "{\"p\":\"[RED"),
        r_delta("response.function_call_arguments.delta", "ACTED_PASSWORD_2]\"}"),
        "event: response.output_item.done\ndata: {\"type\":"
        "\"response.output_item.done\",\"item\":{\"type\":\"function_call\","
        "\"arguments\":\"{\\\"p\\\":\\\"" PH2 "\\\"}\"}}\n\n", NULL);
    const char *out = run(m, in, 9, &len, &count);
    seen_t *s = client_view(out, len);

    ck_assert_str_eq(chan(s, "text"), "hi " VAL);
    ck_assert_str_eq(tu_str(tu_parse(chan(s, "args")), "p"), VAL2);
    ck_assert_int_eq(count, 3);
    ck_assert_ptr_nonnull(strstr(out, "{\\\"p\\\":\\\"p\\\\\\\"a"));
}
END_TEST

/* An event over the cap: restoring stops, every byte still goes on. */
START_TEST(oversize_event_passes)
{
    llm_restore_map_t *m = map();
    llm_restore_stream_t *rs = llm_restore_stream_create(tp, m, 64);
    const char *in = apr_pstrcat(tp, a_text(0, "x["),
        a_text(0, "0123456789012345678901234567890123456789012345678901234"
                  "5678901234567890123456789"), a_text(0, PH), NULL);
    const char *o;
    size_t on, n = strlen(in);
    char *acc = apr_palloc(tp, n + 1);
    size_t got = 0;

    llm_restore_stream_feed(rs, in, n, &o, &on);
    memcpy(acc, o, on);
    got = on;
    llm_restore_stream_finish(rs, &o, &on);
    memcpy(acc + got, o, on);
    got += on;
    ck_assert_int_eq(llm_restore_stream_failed(rs), 1);
    ck_assert_str_eq(apr_pstrmemdup(tp, acc, got), in);
}
END_TEST

/* The project's own provider streams, nothing of the map in them: they
 * go through byte for byte. */
static void same_bytes(const char *path, const char *name, void *baton)
{
    size_t len, out_len;
    char *in = tu_slurp(path, &len);
    int count;
    const char *out;

    (void)name;
    out = run(baton, in, 13, &out_len, &count);
    ck_assert_uint_eq(out_len, len);
    ck_assert(!memcmp(out, in, len));
}

START_TEST(fixture_streams_unchanged)
{
    ck_assert_int_gt(tu_for_each_fixture(".sse", same_bytes, map()), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("restore");
    TCase *tc = tcase_create("restore");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, map_shapes);
    tcase_add_test(tc, string_replaces_only_mapped);
    tcase_add_test(tc, body_openai_and_anthropic);
    tcase_add_test(tc, anthropic_text_split_everywhere);
    tcase_add_test(tc, anthropic_tool_arguments_escaped);
    tcase_add_test(tc, thinking_and_foreign_unchanged);
    tcase_add_test(tc, pending_ends_with_block);
    tcase_add_test(tc, openai_chat_split_everywhere);
    tcase_add_test(tc, responses_stream);
    tcase_add_test(tc, oversize_event_passes);
    tcase_add_test(tc, fixture_streams_unchanged);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
