/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Answers kept whole (llm_keep.h): pieces appended in order, the text
 * NUL-terminated, growth past the first size, and the limit: a piece that
 * would pass it is refused whole, what was kept stays as it was.
 */

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "llm_keep.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(pieces_in_order_and_growth)
{
    llm_keep_t k = { 0 };
    char piece[100];
    int i;

    ck_assert_str_eq(llm_kept_text(&k), "");
    ck_assert_int_eq(llm_keep(pool, &k, "", 0, 16, 1000), 0);
    for (i = 0; i < 9; i++) {
        memset(piece, 'a' + i, sizeof(piece));
        ck_assert_int_eq(llm_keep(pool, &k, piece, sizeof(piece), 16, 1000),
                         0);
    }
    ck_assert_uint_eq(k.len, 900);
    ck_assert_uint_eq(strlen(llm_kept_text(&k)), 900);
    for (i = 0; i < 9; i++) {
        ck_assert_int_eq(k.buf[i * 100], 'a' + i);
        ck_assert_int_eq(k.buf[i * 100 + 99], 'a' + i);
    }
}
END_TEST

START_TEST(the_limit_refuses_a_piece_whole)
{
    llm_keep_t k = { 0 };

    ck_assert_int_eq(llm_keep(pool, &k, "0123456789", 10, 4, 15), 0);
    ck_assert_int_eq(llm_keep(pool, &k, "abcdef", 6, 4, 15), -1);
    ck_assert_str_eq(llm_kept_text(&k), "0123456789");
    ck_assert_int_eq(llm_keep(pool, &k, "abcde", 5, 4, 15), 0);
    ck_assert_str_eq(llm_kept_text(&k), "0123456789abcde");
    ck_assert_int_eq(llm_keep(pool, &k, "x", 1, 4, 15), -1);
    /* a piece longer than the limit, near the size type's end */
    ck_assert_int_eq(llm_keep(pool, &k, "x", (apr_size_t)-1, 4, 15), -1);
    ck_assert_uint_eq(k.len, 15);
}
END_TEST

static Suite *keep_suite(void)
{
    Suite *s = suite_create("keep");
    TCase *tc = tcase_create("keep");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pieces_in_order_and_growth);
    tcase_add_test(tc, the_limit_refuses_a_piece_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(keep_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
