/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The cache of texts scanned clean (lib/scan/llm_clean_cache.h): a hit
 * only for the same bytes under the same rule set, a text with a finding
 * never kept, the budget held by evicting, threads sharing it.  The file
 * is built here with a hash the test can turn into one that gives every
 * text the same value, to show that the hash only chooses where to look.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"

static int same_hash;   /* 1: every text hashes to 42 */
static apr_uint64_t test_hash(apr_uint64_t seed, const char *text,
                              size_t len);
#define LLM_CLEAN_CACHE_HASH test_hash
#include "scan/clean_cache.c"

static apr_uint64_t test_hash(apr_uint64_t seed, const char *text,
                              size_t len)
{
    return same_hash ? 42 : hash_text(seed, text, len);
}

static apr_pool_t *pool;
static llm_scan_rules_t *rules;     /* built-in rules */
static llm_scan_rules_t *strict;    /* the same plus an admin pattern */

#define AWS_ID "AKIAQWERTYUIOPASDFGH"

static void setup(void)
{
    same_hash = 0;
}

/* n bytes of clean prose, varied by seed */
static char *prose(apr_pool_t *p, size_t n, int seed)
{
    static const char *words[] = { "the ", "request ", "handler ",
                                   "returns ", "a ", "list ", "of ",
                                   "items ", "when ", "called ", "twice ",
                                   "with ", "no ", "cursor ", "set ",
                                   "and ", "then ", "stops. " };
    char *s = apr_palloc(p, n + 1);
    size_t at = 0;
    unsigned k = (unsigned)seed * 2654435761u + 7;

    while (at < n) {
        const char *w;
        size_t wl;

        k = k * 1103515245u + 12345u;
        w = words[(k >> 16) % (sizeof(words) / sizeof(words[0]))];
        wl = strlen(w);
        if (wl > n - at) {
            wl = n - at;
        }
        memcpy(s + at, w, wl);
        at += wl;
    }
    s[n] = '\0';
    return s;
}

static llm_clean_cache_t *make(apr_size_t budget, int shards)
{
    llm_clean_cache_t *c = NULL;

    ck_assert_int_eq(llm_clean_cache_create(&c, pool, budget, shards, 64),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(c);
    return c;
}

static int scan(llm_clean_cache_t *c, const llm_scan_rules_t *rs,
                const char *text)
{
    apr_array_header_t *out = apr_array_make(pool, 4,
                                              sizeof(llm_scan_match_t));

    return llm_scan_text_cached(c, rs, text, strlen(text), pool, out, NULL);
}

START_TEST(hit_after_clean_scan)
{
    llm_clean_cache_t *c = make(1 << 20, 4);
    const char *t = prose(pool, 400, 1);
    llm_clean_cache_stats_t st;

    apr_array_header_t *out = apr_array_make(pool, 4,
                                              sizeof(llm_scan_match_t));
    int hit = -1;

    ck_assert_int_eq(llm_clean_cache_has(c, rules, t, strlen(t)), 0);
    ck_assert_int_eq(llm_scan_text_cached(c, rules, t, strlen(t), pool, out,
                                          &hit), 0);
    ck_assert_int_eq(hit, 0);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t, strlen(t)), 1);
    ck_assert_int_eq(llm_scan_text_cached(c, rules, t, strlen(t), pool, out,
                                          &hit), 0);
    ck_assert_int_eq(hit, 1);
    ck_assert_int_eq(out->nelts, 0);
    llm_clean_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.added, 1);
    ck_assert_uint_eq(st.hits, 2);
}
END_TEST

START_TEST(one_byte_changed_is_scanned)
{
    llm_clean_cache_t *c = make(1 << 20, 4);
    char *t = prose(pool, 400, 2);
    char *u = apr_pstrdup(pool, t);
    size_t n = strlen(t);

    ck_assert_int_eq(scan(c, rules, t), 0);
    /* the same length, the last 21 bytes now a blank and an AWS key id */
    memcpy(u + n - 21, " " AWS_ID, 21);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, u, n), 0);
    ck_assert_int_eq(scan(c, rules, u), 1);
    /* one byte only */
    u = apr_pstrdup(pool, t);
    u[n / 2] ^= 1;
    ck_assert_int_eq(llm_clean_cache_has(c, rules, u, n), 0);
    /* a prefix */
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t, n - 1), 0);
}
END_TEST

START_TEST(finding_never_cached)
{
    llm_clean_cache_t *c = make(1 << 20, 4);
    char *t = apr_pstrcat(pool, prose(pool, 300, 3), " key " AWS_ID, NULL);
    llm_clean_cache_stats_t st;

    ck_assert_int_eq(scan(c, rules, t), 1);
    ck_assert_int_eq(scan(c, rules, t), 1);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t, strlen(t)), 0);
    llm_clean_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
}
END_TEST

START_TEST(same_hash_other_text)
{
    llm_clean_cache_t *c = make(1 << 20, 1);
    char *t = prose(pool, 400, 4);
    char *u = apr_pstrdup(pool, t);
    size_t n = strlen(t);

    same_hash = 1;
    memcpy(u + n - 21, " " AWS_ID, 21);
    ck_assert_int_eq(scan(c, rules, t), 0);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t, n), 1);
    /* same hash, same length, other bytes: a miss, and the scan finds
     * the key */
    ck_assert_int_eq(llm_clean_cache_has(c, rules, u, n), 0);
    ck_assert_int_eq(scan(c, rules, u), 1);
}
END_TEST

START_TEST(rule_sets_do_not_share)
{
    llm_clean_cache_t *c = make(1 << 20, 4);
    char *t = apr_pstrcat(pool, prose(pool, 300, 5),
                          " the codename is BLUEHERON-7 today", NULL);

    ck_assert_int_eq(scan(c, rules, t), 0);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t, strlen(t)), 1);
    ck_assert_int_eq(llm_clean_cache_has(c, strict, t, strlen(t)), 0);
    ck_assert_int_eq(scan(c, strict, t), 1);
    /* and with every text on one hash, the identity still tells them
     * apart */
    same_hash = 1;
    c = make(1 << 20, 1);
    ck_assert_int_eq(scan(c, rules, t), 0);
    ck_assert_int_eq(scan(c, strict, t), 1);
}
END_TEST

START_TEST(budget_held_oldest_out)
{
    /* one shard of 16 KB: ~1 KB texts, 40 of them */
    llm_clean_cache_t *c = make(16384, 1);
    llm_clean_cache_stats_t st;
    const char *t[40];
    int i;

    for (i = 0; i < 40; i++) {
        t[i] = prose(pool, 1000, 100 + i);
        ck_assert_int_eq(scan(c, rules, t[i]), 0);
        llm_clean_cache_stats(c, &st);
        ck_assert_uint_le(st.bytes, 16384);
    }
    ck_assert_uint_gt(st.evicted, 20);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t[0], 1000), 0);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t[39], 1000), 1);
    /* a text hit since it was queued is spared once: t[30] stays while
     * newer texts push out the others of its age */
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t[30], 1000), 1);
    for (i = 0; i < 12; i++) {
        ck_assert_int_eq(scan(c, rules, prose(pool, 1000, 500 + i)), 0);
    }
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t[30], 1000), 1);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, t[31], 1000), 0);
    /* too large for a shard's half: scanned, not kept */
    ck_assert_int_eq(scan(c, rules, prose(pool, 9000, 7)), 0);
    llm_clean_cache_stats(c, &st);
    ck_assert_uint_le(st.bytes, 16384);
    ck_assert_int_eq(llm_clean_cache_has(c, rules, prose(pool, 9000, 7),
                                         9000), 0);
}
END_TEST

START_TEST(short_texts_not_kept)
{
    llm_clean_cache_t *c = make(1 << 20, 4);
    const char *t = prose(pool, 63, 8);
    llm_clean_cache_stats_t st;

    ck_assert_int_eq(scan(c, rules, t), 0);
    llm_clean_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
}
END_TEST

START_TEST(bad_sizes_refused)
{
    llm_clean_cache_t *c = NULL;

    ck_assert_int_eq(llm_clean_cache_create(&c, pool, 1 << 20, 3, 64),
                     APR_EINVAL);
    ck_assert_int_eq(llm_clean_cache_create(&c, pool, 100, 1, 64),
                     APR_EINVAL);
    ck_assert_ptr_null(c);
    /* NULL cache: a plain scan */
    ck_assert_int_eq(scan(NULL, rules, prose(pool, 300, 9)), 0);
}
END_TEST

typedef struct {
    llm_clean_cache_t *c;
    int id;
    int wrong;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *th, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 300; i++) {
        /* texts shared by all threads and texts of this thread, some
         * with a key: every answer must be the scan's */
        int k = (i * 7 + w->id) % 60;
        char *t = prose(p, 200 + (size_t)k * 37, k);
        apr_array_header_t *out = apr_array_make(p, 4,
                                                 sizeof(llm_scan_match_t));
        int want = 0;

        if (k % 5 == 0) {
            t = apr_pstrcat(p, t, " " AWS_ID, NULL);
            want = 1;
        }
        if (llm_scan_text_cached(w->c, rules, t, strlen(t), p, out, NULL)
            != want
            || out->nelts != want) {
            w->wrong++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

START_TEST(threads_share)
{
    /* small enough to evict while the threads run */
    llm_clean_cache_t *c = make(64 * 1024, 4);
    apr_thread_t *th[8];
    worker_t w[8];
    llm_clean_cache_stats_t st;
    apr_status_t rv;
    int i;

    for (i = 0; i < 8; i++) {
        w[i].c = c;
        w[i].id = i;
        w[i].wrong = 0;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, worker, &w[i],
                                           pool), APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        apr_thread_join(&rv, th[i]);
        ck_assert_int_eq(w[i].wrong, 0);
    }
    llm_clean_cache_stats(c, &st);
    ck_assert_uint_gt(st.hits, 0);
    ck_assert_uint_gt(st.evicted, 0);
    ck_assert_uint_le(st.bytes, 64 * 1024);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clean_cache");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    const char *err;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rules = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rules))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    strict = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_add_pattern(strict, "CODENAME", "codename",
                                          "BLUEHERON-[0-9]",
                                          LLM_CAT_CONTENT))
        || (err = llm_scan_rules_compile(strict))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hit_after_clean_scan);
    tcase_add_test(tc, one_byte_changed_is_scanned);
    tcase_add_test(tc, finding_never_cached);
    tcase_add_test(tc, same_hash_other_text);
    tcase_add_test(tc, rule_sets_do_not_share);
    tcase_add_test(tc, budget_held_oldest_out);
    tcase_add_test(tc, short_texts_not_kept);
    tcase_add_test(tc, bad_sizes_refused);
    tcase_add_test(tc, threads_share);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? 1 : 0;
}
