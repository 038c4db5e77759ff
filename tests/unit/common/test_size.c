/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The size parser every size and count directive uses, and the duration
 * parser of the duration directives (llm_size.h).
 */

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "llm_size.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_int64_t bytes(const char *arg)
{
    apr_int64_t n = -7;
    const char *err = llm_size_parse(pool, arg, LLM_SIZE_BYTES, 0,
                                     APR_INT64_MAX, &n);

    ck_assert_msg(err == NULL, "'%s' refused: %s", arg, err);
    return n;
}

static apr_int64_t count(const char *arg)
{
    apr_int64_t n = -7;
    const char *err = llm_size_parse(pool, arg, LLM_SIZE_COUNT, 0,
                                     APR_INT64_MAX, &n);

    ck_assert_msg(err == NULL, "'%s' refused: %s", arg, err);
    return n;
}

/* The refusal's text, and *out left alone. */
static const char *refused(const char *arg, llm_size_unit_e unit,
                           apr_int64_t min, apr_int64_t max)
{
    apr_int64_t n = -7;
    const char *err = llm_size_parse(pool, arg, unit, min, max, &n);

    ck_assert_msg(err != NULL, "'%s' accepted as %lld", arg, (long long)n);
    ck_assert_int_eq(n, -7);
    return err;
}

START_TEST(bytes_with_suffixes)
{
    ck_assert_int_eq(bytes("0"), 0);
    ck_assert_int_eq(bytes("1048576"), 1048576);
    ck_assert_int_eq(bytes("16M"), 16 * 1024 * 1024);
    ck_assert_int_eq(bytes("16m"), 16 * 1024 * 1024);
    ck_assert_int_eq(bytes("512K"), 512 * 1024);
    ck_assert_int_eq(bytes("512k"), 512 * 1024);
    ck_assert_int_eq(bytes("2G"), APR_INT64_C(2) * 1024 * 1024 * 1024);
    ck_assert_int_eq(bytes("64MB"), 64 * 1024 * 1024);
    ck_assert_int_eq(bytes("64mb"), 64 * 1024 * 1024);
    ck_assert_int_eq(bytes("100B"), 100);
}
END_TEST

START_TEST(counts_are_decimal)
{
    ck_assert_int_eq(count("60"), 60);
    ck_assert_int_eq(count("200k"), 200000);
    ck_assert_int_eq(count("200K"), 200000);
    ck_assert_int_eq(count("5M"), 5000000);
    ck_assert_int_eq(count("5m"), 5000000);
    ck_assert_int_eq(count("3G"), APR_INT64_C(3000000000));
}
END_TEST

START_TEST(garbage_is_refused_by_name)
{
    static const char *const bad[] = {
        "", "banana", "16Q", "12 M", " 16M", "16M ", "-1", "+5", "1.5M",
        "0x10", "16MM", "M", "16MBB", "16BM", NULL
    };
    int i;

    for (i = 0; bad[i]; i++) {
        const char *err = refused(bad[i], LLM_SIZE_BYTES, 0, APR_INT64_MAX);
        char *quoted = malloc(strlen(bad[i]) + 3);

        strcpy(quoted, "'");
        strcat(quoted, bad[i]);
        strcat(quoted, "'");
        ck_assert_msg(strstr(err, quoted) != NULL, "%s does not name %s",
                      err, quoted);
        ck_assert_msg(strstr(err, "is not a size") != NULL, "%s", err);
        free(quoted);
    }
}
END_TEST

START_TEST(counts_take_no_b)
{
    const char *err = refused("5MB", LLM_SIZE_COUNT, 0, APR_INT64_MAX);

    ck_assert_msg(strstr(err, "'5MB' is not a number") != NULL, "%s", err);
}
END_TEST

START_TEST(bounds)
{
    apr_int64_t n = 0;
    const char *err;

    err = refused("100", LLM_SIZE_BYTES, 4096, APR_INT64_MAX);
    ck_assert_msg(strstr(err, "below the minimum of 4096 bytes") != NULL,
                  "%s", err);
    err = refused("3K", LLM_SIZE_BYTES, 4096, APR_INT64_MAX);
    ck_assert_msg(strstr(err, "below the minimum") != NULL, "%s", err);
    ck_assert_ptr_null(llm_size_parse(pool, "4K", LLM_SIZE_BYTES, 4096,
                                      APR_INT64_MAX, &n));
    ck_assert_int_eq(n, 4096);
    err = refused("2k", LLM_SIZE_COUNT, 0, 1999);
    ck_assert_msg(strstr(err, "too large (at most 1999)") != NULL, "%s", err);
    ck_assert_ptr_null(llm_size_parse(pool, "1999", LLM_SIZE_COUNT, 0, 1999,
                                      &n));
    ck_assert_int_eq(n, 1999);
}
END_TEST

START_TEST(overflow_is_refused_not_wrapped)
{
    const char *err;

    /* One past INT64_MAX, and a value the multiplier would wrap. */
    err = refused("9223372036854775808", LLM_SIZE_BYTES, 0, APR_INT64_MAX);
    ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
    err = refused("9000000000G", LLM_SIZE_BYTES, 0, APR_INT64_MAX);
    ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
    err = refused("10000000000G", LLM_SIZE_COUNT, 0, APR_INT64_MAX);
    ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
    ck_assert_int_eq(bytes("9223372036854775807"), APR_INT64_MAX);
}
END_TEST

START_TEST(durations)
{
    apr_int64_t sec = -1;
    const char *bad[] = { "", "0", "0s", "-5", "+5", " 5", "5 s", "5x",
                          "5ms", "5S", "1.5h", "31d", "99999999999999999999d",
                          NULL };
    int i;

    ck_assert_ptr_null(llm_duration_parse(pool, "90", 30 * 86400, &sec));
    ck_assert_int_eq(sec, 90);
    ck_assert_ptr_null(llm_duration_parse(pool, "10m", 30 * 86400, &sec));
    ck_assert_int_eq(sec, 600);
    ck_assert_ptr_null(llm_duration_parse(pool, "2h", 30 * 86400, &sec));
    ck_assert_int_eq(sec, 7200);
    ck_assert_ptr_null(llm_duration_parse(pool, "30d", 30 * 86400, &sec));
    ck_assert_int_eq(sec, 30 * 86400);
    ck_assert_ptr_null(llm_duration_parse(pool, "1s", 30 * 86400, &sec));
    ck_assert_int_eq(sec, 1);
    for (i = 0; bad[i]; i++) {
        const char *err = llm_duration_parse(pool, bad[i], 30 * 86400, &sec);

        ck_assert_msg(err && strstr(err, "is not a duration"),
                      "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, bad[i]) != NULL, "%s", err);
    }
}
END_TEST

static Suite *size_suite(void)
{
    Suite *s = suite_create("size");
    TCase *tc = tcase_create("parse");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bytes_with_suffixes);
    tcase_add_test(tc, counts_are_decimal);
    tcase_add_test(tc, garbage_is_refused_by_name);
    tcase_add_test(tc, counts_take_no_b);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, overflow_is_refused_not_wrapped);
    tcase_add_test(tc, durations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(size_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
