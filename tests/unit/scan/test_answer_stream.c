/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer stream scanner (lib/scan/llm_answer.h): a value cut into
 * pieces at every offset is found once, whole, never after part of it was
 * declared final; tool-call arguments are scanned as the client parses
 * them and reported as spans of their JSON text.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "scan/llm_scan.h"
#include "scan/llm_answer.h"

static apr_pool_t *pool;
static llm_scan_rules_t *rules;

#define EMAIL "carol.quinn@northwind-mail.com"

/* text fed in pieces cut at the given offsets (sorted, ascending); every
 * match found, safe points checked against the value at [vs, ve). */
static apr_array_header_t *feed(const char *text, const size_t *cuts,
                                int ncuts, int json, size_t vs, size_t ve)
{
    apr_pool_t *p;
    llm_answer_stream_t *s;
    apr_array_header_t *out;
    size_t prev = 0, safe = 0, len = strlen(text);
    int i;

    apr_pool_create(&p, pool);
    s = llm_answer_stream_create(p, rules, json);
    out = apr_array_make(pool, 4, sizeof(llm_answer_match_t));
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        int before = out->nelts;

        llm_answer_stream_add(s, text + prev, end - prev);
        prev = end;
        ck_assert_int_ge(llm_answer_stream_scan(s, i == ncuts, out, &safe),
                         0);
        /* nothing of the value is final before the value is found */
        if (out->nelts == before && safe > vs && vs < ve && end < len) {
            ck_assert_msg(safe <= vs || out->nelts > 0,
                          "safe %zu inside the value [%zu,%zu) at cut %zu",
                          safe, vs, ve, end);
        }
        llm_answer_stream_release(s, safe);
    }
    ck_assert_uint_eq(safe, len);
    return out;
}

START_TEST(value_cut_at_every_offset)
{
    const char *text = "mail " EMAIL " now.";
    size_t vs = 5, ve = vs + strlen(EMAIL), k;

    for (k = vs + 1; k < ve; k++) {
        apr_array_header_t *out = feed(text, &k, 1, 0, vs, ve);
        const llm_answer_match_t *m;

        ck_assert_int_eq(out->nelts, 1);
        m = &APR_ARRAY_IDX(out, 0, llm_answer_match_t);
        ck_assert_str_eq(m->m.type, "EMAIL");
        ck_assert_uint_eq(m->start, vs);
        ck_assert_uint_eq(m->end, ve);
        ck_assert_int_eq(m->late, 0);
        ck_assert_str_eq(m->value, EMAIL);
    }
}
END_TEST

START_TEST(value_cut_in_three)
{
    const char *text = "Reach " EMAIL " or me.";
    size_t cuts[2], a, b, vs = 6, ve = 6 + strlen(EMAIL);

    for (a = vs + 1; a < ve; a++) {
        for (b = a + 1; b < ve; b++) {
            apr_array_header_t *out;

            cuts[0] = a;
            cuts[1] = b;
            out = feed(text, cuts, 2, 0, vs, ve);
            ck_assert_int_eq(out->nelts, 1);
            ck_assert_uint_eq(APR_ARRAY_IDX(out, 0, llm_answer_match_t).start,
                              vs);
            ck_assert_int_eq(APR_ARRAY_IDX(out, 0, llm_answer_match_t).late,
                             0);
        }
    }
}
END_TEST

START_TEST(json_arguments_decoded)
{
    /* "\u0040" is '@': the client reads an address */
    const char *args = "{\"path\": \"a.txt\", \"content\": "
                       "\"to carol.quinn\\u0040northwind-mail.com\\nbye\"}";
    const char *v = strstr(args, "carol");
    size_t vs = (size_t)(v - args);
    size_t ve = (size_t)(strstr(args, ".com") + 4 - args), k;

    for (k = 1; k < strlen(args); k++) {
        apr_array_header_t *out = feed(args, &k, 1, 1, vs, ve);
        const llm_answer_match_t *m;

        ck_assert_int_eq(out->nelts, 1);
        m = &APR_ARRAY_IDX(out, 0, llm_answer_match_t);
        ck_assert_str_eq(m->m.type, "EMAIL");
        ck_assert_uint_eq(m->start, vs);
        ck_assert_uint_eq(m->end, ve);
        ck_assert_str_eq(m->value, EMAIL);
    }
}
END_TEST

START_TEST(json_strings_do_not_run_together)
{
    /* "carol.quinn" ends one string, "@northwind-mail.com" starts the next */
    const char *args = "{\"a\": \"carol.quinn\", \"b\": \"@northwind-mail.com\"}";
    size_t k = 10;
    apr_array_header_t *out = feed(args, &k, 1, 1, 0, 0);

    ck_assert_int_eq(out->nelts, 0);
}
END_TEST

START_TEST(tail_is_what_could_still_grow)
{
    ck_assert_uint_eq(llm_answer_tail_start("Hello world", 11, 0), 6);
    ck_assert_uint_eq(llm_answer_tail_start("ends. ", 6, 0), 6);
    ck_assert_uint_eq(llm_answer_tail_start("card 4111 1111", 14, 0), 5);
    ck_assert_uint_eq(llm_answer_tail_start("say \"abc", 8, 0), 5);
    ck_assert_uint_eq(llm_answer_tail_start("abc", 3, 2), 2);
    ck_assert_uint_eq(llm_answer_tail_start("call (415) 867", 14, 0), 5);
}
END_TEST

START_TEST(long_text_is_not_held_whole)
{
    /* plain prose: only its last word is held */
    char text[20000];
    apr_pool_t *p;
    llm_answer_stream_t *s;
    apr_array_header_t *out = apr_array_make(pool, 4,
                                             sizeof(llm_answer_match_t));
    size_t safe = 0, i;

    for (i = 0; i + 1 < sizeof(text); i++) {
        text[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 7);
    }
    text[sizeof(text) - 1] = '\0';
    apr_pool_create(&p, pool);
    s = llm_answer_stream_create(p, rules, 0);
    for (i = 0; i < sizeof(text) - 1; i += 5) {
        llm_answer_stream_add(s, text + i, 5);
        ck_assert_int_ge(llm_answer_stream_scan(s, 0, out, &safe), 0);
        ck_assert_uint_ge(safe + 7, i + 5);
        llm_answer_stream_release(s, safe);
    }
    ck_assert_int_eq(out->nelts, 0);
}
END_TEST

START_TEST(value_reaching_back_into_relayed_text_is_late)
{
    /* a private key: its BEGIN line is final at its newline, before the
     * rest shows what it starts */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789+/";
    apr_pool_t *p;
    llm_answer_stream_t *s;
    apr_array_header_t *out = apr_array_make(pool, 4,
                                             sizeof(llm_answer_match_t));
    char body[900];
    unsigned long x = 12345;
    size_t safe = 0, i, o = 0;

    for (i = 0; i < 800; i++) {
        x = x * 1103515245UL + 12345UL;
        body[o++] = b64[(x >> 16) % 64];
        if (i % 64 == 63) {
            body[o++] = '\n';
        }
    }
    body[o] = '\0';
    apr_pool_create(&p, pool);
    s = llm_answer_stream_create(p, rules, 0);
    llm_answer_stream_add(s, "key:\n-----BEGIN RSA PRIVATE KEY-----\n", 37);
    ck_assert_int_ge(llm_answer_stream_scan(s, 0, out, &safe), 0);
    ck_assert_uint_eq(safe, 37);
    llm_answer_stream_release(s, safe);
    llm_answer_stream_add(s, body, o);
    llm_answer_stream_add(s, "\n-----END RSA PRIVATE KEY-----\nok", 33);
    ck_assert_int_ge(llm_answer_stream_scan(s, 1, out, &safe), 0);
    ck_assert_int_eq(out->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 0, llm_answer_match_t).m.type,
                     "PRIVATE_KEY");
    ck_assert_int_eq(APR_ARRAY_IDX(out, 0, llm_answer_match_t).late, 1);
}
END_TEST

START_TEST(phone_in_brackets_is_held_whole)
{
    const char *text = "call (415) 867-5309 now";
    size_t vs = 5, ve = 19, k;

    for (k = vs + 1; k < ve; k++) {
        apr_array_header_t *out = feed(text, &k, 1, 0, vs, ve);

        ck_assert_int_eq(out->nelts, 1);
        ck_assert_int_eq(APR_ARRAY_IDX(out, 0, llm_answer_match_t).late, 0);
        ck_assert_uint_eq(APR_ARRAY_IDX(out, 0, llm_answer_match_t).start,
                          vs);
    }
}
END_TEST

START_TEST(first_word_goes_at_once)
{
    /* time to first token: the block's first word is not held */
    apr_pool_t *p;
    llm_answer_stream_t *s;
    apr_array_header_t *out = apr_array_make(pool, 4,
                                             sizeof(llm_answer_match_t));
    size_t safe = 0;

    apr_pool_create(&p, pool);
    s = llm_answer_stream_create(p, rules, 0);
    llm_answer_stream_add(s, "Hello", 5);
    ck_assert_int_ge(llm_answer_stream_scan(s, 0, out, &safe), 0);
    ck_assert_uint_eq(safe, 5);
    llm_answer_stream_release(s, safe);
    /* later words wait for what follows them */
    llm_answer_stream_add(s, " wor", 4);
    ck_assert_int_ge(llm_answer_stream_scan(s, 0, out, &safe), 0);
    ck_assert_uint_eq(safe, 6);
}
END_TEST

static Suite *answer_suite(void)
{
    Suite *s = suite_create("answer_stream");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, value_cut_at_every_offset);
    tcase_add_test(tc, value_cut_in_three);
    tcase_add_test(tc, json_arguments_decoded);
    tcase_add_test(tc, json_strings_do_not_run_together);
    tcase_add_test(tc, tail_is_what_could_still_grow);
    tcase_add_test(tc, long_text_is_not_held_whole);
    tcase_add_test(tc, value_reaching_back_into_relayed_text_is_late);
    tcase_add_test(tc, phone_in_brackets_is_held_whole);
    tcase_add_test(tc, first_word_goes_at_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, const char *const *argv)
{
    SRunner *sr;
    int failed;
    const char *err;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    rules = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rules))) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }
    sr = srunner_create(answer_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
