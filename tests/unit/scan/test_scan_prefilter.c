/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The prefilter's two loops, the scalar one and the vector one (64 bytes
 * at a time, where the CPU has AVX-512 BW and VBMI), must find exactly the
 * same: values planted at every offset of a block, across the block's
 * end, in texts shorter than a block, among dense look-alikes.  On a CPU
 * without the vector loop the comparisons run scalar against scalar and
 * say so.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "scan/llm_scan.h"
#include "scan/scan_private.h"

static apr_pool_t *pool, *sp;        /* sp: the matches of one comparison */
static llm_scan_rules_t *rules;
static int have_vector;

static unsigned long long rng = 0x2545f4914f6cdd1dULL;

static unsigned int rnd(unsigned int n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned int)(rng % n);
}

static apr_array_header_t *scan_path(const char *t, size_t n, int path)
{
    apr_array_header_t *out = apr_array_make(sp, 8, sizeof(llm_scan_match_t));

    ck_assert_int_eq(llm_scan_prefilter_path(rules, path),
                     path == LLM_SCAN_PATH_AVX512 && !have_vector
                     ? LLM_SCAN_PATH_SCALAR : path);
    ck_assert_int_ge(llm_scan_text(rules, t, n, sp, out), 0);
    return out;
}

/* The positions the prefilter of path hands to dispatch, in order. */
static apr_array_header_t *dispatched(const char *t, size_t n, int path)
{
    llm_scan_ctx_t cx;

    llm_scan_prefilter_path(rules, path);
    memset(&cx, 0, sizeof(cx));
    cx.rs = rules;
    cx.t = (const unsigned char *)t;
    cx.len = n;
    cx.p = sp;
    cx.dispatched = apr_array_make(sp, 16, sizeof(size_t));
    llm_scan_prefilter_run(&cx);
    ck_assert_int_eq(cx.error, 0);
    return cx.dispatched;
}

/* Both loops hand the same positions to dispatch, in the same order (the
 * vector loop's drops and its going on after a dispatch must not change
 * which); returns how many. */
static int same_dispatch(const char *t, size_t n)
{
    apr_array_header_t *a = dispatched(t, n, LLM_SCAN_PATH_SCALAR);
    apr_array_header_t *b = dispatched(t, n, LLM_SCAN_PATH_AVX512);
    int i;

    for (i = 0; i < a->nelts && i < b->nelts; i++) {
        ck_assert_msg(APR_ARRAY_IDX(a, i, size_t) == APR_ARRAY_IDX(b, i, size_t),
                      "dispatch %d: scalar at %zu, vector at %zu in '%.*s'",
                      i, APR_ARRAY_IDX(a, i, size_t),
                      APR_ARRAY_IDX(b, i, size_t), (int)n, t);
    }
    ck_assert_msg(a->nelts == b->nelts, "scalar %d dispatches, vector %d in '%.*s'",
                  a->nelts, b->nelts, (int)n, t);
    return a->nelts;
}

/* Both loops give the same matches and dispatch at the same positions;
 * returns how many matches. */
static int same_both(const char *t, size_t n)
{
    apr_array_header_t *a, *b;
    int i;

    apr_pool_clear(sp);
    same_dispatch(t, n);
    a = scan_path(t, n, LLM_SCAN_PATH_SCALAR);
    b = scan_path(t, n, LLM_SCAN_PATH_AVX512);

    ck_assert_msg(a->nelts == b->nelts, "scalar %d matches, vector %d in '%.*s'",
                  a->nelts, b->nelts, (int)n, t);
    for (i = 0; i < a->nelts; i++) {
        const llm_scan_match_t *x = &APR_ARRAY_IDX(a, i, llm_scan_match_t);
        const llm_scan_match_t *y = &APR_ARRAY_IDX(b, i, llm_scan_match_t);
        ck_assert_msg(!strcmp(x->rule, y->rule) && x->offset == y->offset
                      && x->length == y->length,
                      "scalar %s@%zu+%zu, vector %s@%zu+%zu in '%.*s'",
                      x->rule, (size_t)x->offset, (size_t)x->length, y->rule,
                      (size_t)y->offset, (size_t)y->length, (int)n, t);
    }
    return a->nelts;
}

/* Is value found at off by the vector loop (the scalar one agrees)? */
static int found_at(const char *t, size_t n, const char *rule, size_t off,
                    size_t len)
{
    apr_array_header_t *b;
    int i;

    same_both(t, n);
    b = scan_path(t, n, LLM_SCAN_PATH_AVX512);
    for (i = 0; i < b->nelts; i++) {
        const llm_scan_match_t *y = &APR_ARRAY_IDX(b, i, llm_scan_match_t);
        if (!strcmp(y->rule, rule) && y->offset == off && y->length == len) {
            return 1;
        }
    }
    return 0;
}

/* Every pair the table hits passes the cover (else the vector loop would
 * skip a hit), and the cover is close: it lets few other pairs through. */
START_TEST(cover_holds_every_pair)
{
    unsigned int c0, c1, pass = 0, hits = 0;
    int k;

    ck_assert_int_gt(rules->role_count, 0);
    ck_assert_int_le(rules->role_count, LLM_SCAN_ROLE_BITS);
    for (c0 = 0; c0 < 256; c0++) {
        for (c1 = 0; c1 < 256; c1++) {
            int meet = 0;
            for (k = 0; k < LLM_SCAN_ROLE_BITS / 8; k++) {
                unsigned int f = c0 >= 128 ? (rules->role_hi_first >> (8 * k)) & 255
                                           : rules->role_first[k][c0];
                unsigned int s = c1 >= 128 ? (rules->role_hi_second >> (8 * k)) & 255
                                           : rules->role_second[k][c1];
                meet |= (f & s) != 0;
            }
            if (rules->pairbyte[c0 | (c1 << 8)]) {
                hits++;
                ck_assert_msg(meet, "pair %02x %02x hits but fails the cover",
                              c0, c1);
            }
            pass += (unsigned int)meet;
        }
    }
    ck_assert_uint_gt(hits, 1000);
    /* the superset is bounded: under twice the table's pairs */
    ck_assert_uint_lt(pass, 2 * hits);
}
END_TEST

/* The vector loop's kind of a pair says what quick_skip's first test
 * would: a hit or not, a literal anchor's pair or not, and for a literal
 * pair the neighbour sets that may drop it (those of its bucket). */
START_TEST(pair_kinds)
{
    unsigned int pr, lits = 0, droppable = 0;

    for (pr = 0; pr < 65536; pr++) {
        unsigned int k = rules->pairkind[pr];
        int lit = (rules->litmap[pr >> 3] >> (pr & 7)) & 1;
        int other = (rules->othermap[pr >> 3] >> (pr & 7)) & 1;
        ck_assert_int_eq(k != 0, rules->pairbyte[pr]);
        if (!k) {
            continue;
        }
        ck_assert_int_eq(k >= 2, lit);
        if (k > 2) {
            unsigned char c0 = (unsigned char)(pr & 255), c1 = (unsigned char)(pr >> 8);
            unsigned int fp = (unsigned int)LLM_LOWER(c0)
                              | ((unsigned int)LLM_LOWER(c1) << 8);
            unsigned int b = (fp * 40503u >> 4) & (LLM_SCAN_BUCKETS - 1);
            ck_assert(!other);
            ck_assert_uint_eq(k - 1, rules->nearclass[b]);
            droppable++;
        }
        lits += (unsigned int)lit;
    }
    ck_assert_uint_gt(lits, 100);
    ck_assert_uint_gt(droppable, lits / 2);
}
END_TEST

/* A value at every offset of the first blocks, with 0-3 bytes after it:
 * on either side of byte 31/32 and 63/64 and across them, texts shorter
 * than a block, the value as the last bytes of the text. */
START_TEST(values_at_every_offset)
{
    static const struct { const char *v, *rule; } vals[] = {
        { "AKIAQYLPMN5HHHFPZAM2", "aws-access-key-id" },
        { "jane.doe@acme-corp.com", "email" },
        { "+1 415 867 5309", "phone" },
        { "415-867-5309", "phone" },
        { "4787 7893 2879 2170", "credit-card" },
        { "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d", "github-pat-classic" },
        { "34.117.59.81", "ipv4-public" },
        { "2607:f8b0:4005:80a::200e", "ipv6-public" },
        { "GB46NWBK07728378326616", "iban" },
        { "xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD", "slack-token" },
    };
    char buf[300];
    size_t i, off, tail;

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t vl = strlen(vals[i].v);
        for (off = 0; off <= 140; off++) {
            for (tail = 0; tail <= 3; tail++) {
                size_t k, n = off + vl + tail;
                for (k = 0; k < off; k++) {
                    buf[k] = k % 4 == 3 ? ' ' : (char)('a' + k % 4);
                }
                if (off > 0) {
                    buf[off - 1] = ' ';
                }
                memcpy(buf + off, vals[i].v, vl);
                for (k = 0; k < tail; k++) {
                    buf[off + vl + k] = ' ';
                }
                ck_assert_msg(found_at(buf, n, vals[i].rule, off, vl),
                              "%s not found at %zu (+%zu)", vals[i].rule,
                              off, tail);
            }
        }
    }
}
END_TEST

/* Dense look-alikes (digits after blanks or after UTF-8, "word:", '@',
 * pairs of anchors) make many hits a block that are dropped on the spot or go on
 * past the block's end; both loops must take them in the same order. */
START_TEST(dense_hits_agree)
{
    static const char *const bits[] = {
        " ", "\\n", ":", "@", "-", ".", "1", "12", "2024-05-01", "10:00:02",
        "a:", "ip:", "DE", "Z9", "r-", ".l", "t_", "pa", "AS", "PA", "key",
        "token=", "eyJ", "://", "xoxb-", "ghp_", "4111", "+1 ", "(0", "\\t7",
        "\xc3\xa9", "\xe2\x80\x9c", "\xa0"     /* bytes from 128 on */
    };
    char buf[400];
    int s, total = 0;

    for (s = 0; s < 20000; s++) {
        size_t n = 0, cap = 1 + rnd(260);
        while (n < cap) {
            const char *w = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
            size_t wl = strlen(w);
            if (n + wl > cap) {
                break;
            }
            memcpy(buf + n, w, wl);
            n += wl;
        }
        total += same_both(buf, n);
    }
    ck_assert_int_gt(total, 1000);
}
END_TEST

/* The byte classes of the vector loop's drops say what the kinds and
 * quick_skip_other say of the pairs they drop: "word:" and a number's
 * opening pair are kind 1, no digit pair hits, and no digit before a
 * byte marked as the end of a number makes a hit with it. */
START_TEST(drop_classes)
{
    unsigned int c, d, num = 0, word = 0, end = 0;

    ck_assert_int_ne(rules->vclass['0'], 0);
    for (c = 0; c < 256; c++) {
        unsigned int v = rules->vclass[c];
        for (d = '0'; d <= '9'; d++) {
            ck_assert_int_eq(rules->pairkind[c | (d << 8)] != 0 && LLM_IS_DIGIT(c), 0);
            if (v & LLM_SCAN_VC_NUM) {
                ck_assert_int_eq(rules->pairkind[c | (d << 8)], 1);
            }
            if (v & LLM_SCAN_VC_END) {
                ck_assert_int_eq(rules->pairkind[d | (c << 8)], 0);
            }
        }
        if (v & LLM_SCAN_VC_NUM) {
            /* quick_skip_other takes these to number_worth */
            ck_assert(!LLM_IS_ALNUM(c) && (!c || !strchr("_.-:+(/", (int)c)));
            num++;
        }
        if (v & LLM_SCAN_VC_WORD) {
            ck_assert(LLM_IS_ALPHA(c));
            ck_assert_int_eq(rules->pairkind[c | (':' << 8)], 1);
            word++;
        }
        end += (v & LLM_SCAN_VC_END) != 0;
        ck_assert_int_eq((v & LLM_SCAN_VC_DIGIT) != 0, LLM_IS_DIGIT(c));
        if (c >= 128) {
            ck_assert_int_eq(rules->vclass_hi & ~v, 0);
        }
    }
    /* blanks, punctuation and UTF-8 open numbers; letters end them */
    ck_assert_uint_gt(num, 150);
    ck_assert_uint_gt(word, 40);
    ck_assert_uint_gt(end, 150);
    ck_assert(rules->vclass_hi & LLM_SCAN_VC_NUM);
}
END_TEST

/* Numbers and "word:" of every length after every kind of byte, with
 * every kind of byte after them, across the blocks' edges: what the
 * vector loop drops before its scalar code, and what it must leave to it
 * (nine digits and more, 2001: and 3ffe:, a separator before more
 * digits, a digit before '@', "word:" before a digit), end in the same
 * dispatches as in the scalar loop. */
START_TEST(drops_agree)
{
    static const char *const bits[] = {
        " ", "\t", "\n", "\\n", ",", "\"", "(", "+", "/", "-", ".", ":",
        "@", "%", "=", "[", "a", "x", "DE", "GB", "ip:", "ssn:", "y:", "12",
        "3", "7", "2001", "2a00", "3ffe", "12345678", "123456789", "4111",
        "555", "0", "10.0", "192", "127", "ms", "\xc2\xa0", "\xe2\x86\x92",
        "joe", "eyJ", "key", "r-", "t_"
    };
    char buf[400];
    int s, total = 0;

    for (s = 0; s < 20000; s++) {
        size_t n = 0, cap = 1 + rnd(300);
        while (n < cap) {
            const char *w = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
            size_t wl = strlen(w);
            if (n + wl > cap) {
                break;
            }
            memcpy(buf + n, w, wl);
            n += wl;
        }
        apr_pool_clear(sp);
        total += same_dispatch(buf, n);
        if (s % 10 == 0) {
            same_both(buf, n);
        }
    }
    ck_assert_int_gt(total, 20000);
}
END_TEST

/* The environment can force the scalar loop; asking for the vector loop
 * where the CPU lacks it gives the scalar one. */
START_TEST(path_choice)
{
    ck_assert_int_eq(llm_scan_prefilter_path(rules, LLM_SCAN_PATH_SCALAR),
                     LLM_SCAN_PATH_SCALAR);
    ck_assert_int_eq(llm_scan_prefilter_path(rules, LLM_SCAN_PATH_AVX512),
                     have_vector ? LLM_SCAN_PATH_AVX512 : LLM_SCAN_PATH_SCALAR);
}
END_TEST

static Suite *prefilter_suite(void)
{
    Suite *s = suite_create("scan_prefilter");
    TCase *tc = tcase_create("paths");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cover_holds_every_pair);
    tcase_add_test(tc, pair_kinds);
    tcase_add_test(tc, values_at_every_offset);
    tcase_add_test(tc, dense_hits_agree);
    tcase_add_test(tc, drop_classes);
    tcase_add_test(tc, drops_agree);
    tcase_add_test(tc, path_choice);
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
    apr_pool_create(&sp, pool);
    rules = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rules))) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }
    have_vector = llm_scan_prefilter_path(rules, LLM_SCAN_PATH_AVX512)
                  == LLM_SCAN_PATH_AVX512;
    if (!have_vector) {
        printf("test_scan_prefilter: no vector loop on this CPU or build; "
               "scalar compared with scalar\n");
    }
    sr = srunner_create(prefilter_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
