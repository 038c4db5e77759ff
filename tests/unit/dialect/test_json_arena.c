/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Trees built in per-pool arenas (lib/dialect/json_arena.c): the same
 * trees as jansson's own with malloc, for the project's recorded bodies
 * and for bodies larger than the region; parsed nodes and strings of any
 * length in the arena (long ones in spans of blocks), nodes added later
 * with malloc, all freed when the pool goes; blocks and spans reused
 * request after request (the region here holds 128 blocks, a few dozen
 * requests' worth), also those given back to the system when more are
 * free than a process keeps; pools destroyed by other threads than the
 * one that parsed, as httpd's event MPM may.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

#define REGION_BLOCKS 128
#define REGION ((size_t)REGION_BLOCKS * 64 * 1024)

/* A body of n small members (a tool schema's worth of nodes each). */
static char *many_small(size_t n, size_t *len)
{
    size_t cap = n * 64 + 32, used = 0, i;
    char *b = malloc(cap);

    ck_assert_ptr_nonnull(b);
    used += (size_t)snprintf(b + used, cap - used, "{\"items\":[");
    for (i = 0; i < n; i++) {
        used += (size_t)snprintf(b + used, cap - used,
                                 "%s{\"k\":\"v%zu\",\"n\":%zu}",
                                 i ? "," : "", i, i);
    }
    used += (size_t)snprintf(b + used, cap - used, "]}");
    *len = used;
    return b;
}

static void same_tree_as_jansson(const char *buf, size_t len,
                                 const char *what)
{
    apr_pool_t *p;
    json_error_t je;
    json_t *ref = json_loadb(buf, len, JSON_REJECT_DUPLICATES
                             | JSON_ALLOW_NUL, &je);
    json_t *got;
    const char *err = NULL;
    size_t l1, l2;
    char *d1, *d2;

    apr_pool_create(&p, NULL);
    got = llm_json_parse(p, buf, len, &err);
    ck_assert_msg(ref != NULL, "%s: jansson refused it", what);
    ck_assert_msg(got != NULL, "%s: %s", what, err ? err : "?");
    ck_assert_msg(json_equal(ref, got), "%s: trees differ", what);
    d1 = llm_json_dump(p, ref, &l1);
    d2 = llm_json_dump(p, got, &l2);
    ck_assert_msg(l1 == l2 && !memcmp(d1, d2, l1), "%s: dumps differ", what);
    json_decref(ref);
    apr_pool_destroy(p);
}

START_TEST(installed_once)
{
    ck_assert_int_eq(llm_json_arena_installed(), 1);
    ck_assert_int_eq(llm_json_arena_install(REGION), 0);
}
END_TEST

START_TEST(parsed_nodes_in_the_arena_later_nodes_not)
{
    char body[4200];
    json_t *root, *added;
    const char *err = NULL;

    memset(body, 'x', sizeof(body));
    memcpy(body, "{\"a\":\"short\",\"b\":\"", 18);
    memcpy(body + sizeof(body) - 2, "\"}", 2);
    root = llm_json_parse(tp, body, sizeof(body), &err);
    ck_assert_ptr_nonnull(root);
    ck_assert(llm_json_arena_owns(root));
    ck_assert(llm_json_arena_owns(json_object_get(root, "a")));
    ck_assert(llm_json_arena_owns(json_string_value(json_object_get(root,
                                                                    "a"))));
    /* 4 KB of text: in the arena too (no page faults per request) */
    ck_assert(llm_json_arena_owns(json_string_value(
        json_object_get(root, "b"))));
    ck_assert_uint_eq(json_string_length(json_object_get(root, "b")),
                      sizeof(body) - 20);
    /* Outside a parse, jansson allocates with malloc: a redaction or a
     * renamed model in a tree of the arena is freed with it. */
    added = json_string("upstream-model");
    ck_assert(!llm_json_arena_owns(added));
    json_object_set_new(root, "model", added);
    json_object_set_new(root, "a", json_string("replaced"));
    json_object_del(root, "b");
    ck_assert_str_eq(json_string_value(json_object_get(root, "a")),
                     "replaced");
}
END_TEST

/* {"s":[ "<len[0] bytes>", "<len[1] bytes>", ...], "n":[0,1,...]}: long
 * strings of the given lengths (each byte set from its string and
 * offset, so that two strings sharing memory would differ from jansson's
 * tree), and small nodes between them. */
static char *long_strings(const size_t *lens, size_t n, size_t *len)
{
    size_t cap = 64, used = 0, i, k;
    char *b;

    for (i = 0; i < n; i++) {
        cap += lens[i] + 64;
    }
    b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    used += (size_t)snprintf(b + used, cap - used, "{\"s\":[");
    for (i = 0; i < n; i++) {
        used += (size_t)snprintf(b + used, cap - used, "%s{\"i\":%zu,\"t\":\"",
                                 i ? "," : "", i);
        for (k = 0; k < lens[i]; k++) {
            b[used++] = (char)('a' + (k * 7 + i) % 26);
        }
        used += (size_t)snprintf(b + used, cap - used, "\"}");
    }
    used += (size_t)snprintf(b + used, cap - used, "]}");
    *len = used;
    return b;
}

/* Strings around each size the arena treats apart: small, up to the
 * rest of a block, a whole block, spans of one, two and many blocks. */
START_TEST(long_strings_in_blocks_and_spans)
{
    static const size_t lens[] = {
        2047, 2048, 2049, 4000, 30000, 40000, 65519, 65520, 65521, 65536,
        100, 70000, 131056, 131057, 300000, 5, 1048576, 3, 2100, 64000,
    };
    size_t len, i, j;
    char *body = long_strings(lens, sizeof(lens) / sizeof(lens[0]), &len);

    for (i = 0; i < 3; i++) {
        apr_pool_t *p;
        json_t *root, *s;
        const char *err = NULL;

        same_tree_as_jansson(body, len, "long strings");
        apr_pool_create(&p, NULL);
        root = llm_json_parse(p, body, len, &err);
        ck_assert_ptr_nonnull(root);
        s = json_object_get(root, "s");
        for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            json_t *t = json_object_get(json_array_get(s, j), "t");

            ck_assert_uint_eq(json_string_length(t), lens[j]);
            ck_assert_msg(llm_json_arena_owns(json_string_value(t)),
                          "round %zu: the string of %zu bytes is not in "
                          "the arena", i, lens[j]);
        }
        apr_pool_destroy(p);
    }
    free(body);
}
END_TEST

/* Spans come back when their pool goes and serve again: without that,
 * 40 rounds of 1 MB strings would use up the 8 MB region.  Two pools at
 * once release more spans than a process keeps resident (76 blocks);
 * those are given back to the system and must still serve whole
 * strings. */
START_TEST(spans_come_back_and_serve_again)
{
    static const size_t lens[] = { 1048576, 200000, 70000 };
    apr_pool_t *pools[2];
    size_t len;
    char *body = long_strings(lens, 3, &len);
    json_t *ref = json_loadb(body, len, 0, NULL);
    int round, i;

    ck_assert_ptr_nonnull(ref);
    for (round = 0; round < 40; round++) {
        for (i = 0; i < 2; i++) {
            const char *err = NULL;
            json_t *root, *s;
            size_t j;

            apr_pool_create(&pools[i], NULL);
            root = llm_json_parse(pools[i], body, len, &err);
            ck_assert_ptr_nonnull(root);
            s = json_object_get(root, "s");
            for (j = 0; j < 3; j++) {
                json_t *t = json_object_get(json_array_get(s, j), "t");

                ck_assert_msg(llm_json_arena_owns(json_string_value(t)),
                              "round %d, pool %d: the arena ran dry",
                              round, i);
            }
            ck_assert_msg(json_equal(ref, root), "round %d, pool %d: the "
                          "tree differs from jansson's", round, i);
        }
        for (i = 0; i < 2; i++) {
            apr_pool_destroy(pools[i]);
        }
    }
    json_decref(ref);
    free(body);
}
END_TEST

START_TEST(blocks_come_back_when_the_pool_goes)
{
    size_t len;
    char *body = many_small(2000, &len);    /* several blocks a parse */
    int i;

    for (i = 0; i < 20 * REGION_BLOCKS; i++) {
        apr_pool_t *p;
        json_t *root, *items;
        const char *err = NULL;

        apr_pool_create(&p, NULL);
        root = llm_json_parse(p, body, len, &err);
        ck_assert_ptr_nonnull(root);
        items = json_object_get(root, "items");
        ck_assert_uint_eq(json_array_size(items), 2000);
        /* Without the blocks back, the region would be used up after a
         * few rounds and the last nodes would come from malloc. */
        ck_assert_msg(llm_json_arena_owns(json_array_get(items, 1999)),
                      "round %d: the arena ran dry", i);
        apr_pool_destroy(p);
    }
    free(body);
}
END_TEST

/* More blocks free at once than a process keeps resident: the excess is
 * given back (madvise) and must still serve whole trees afterwards. */
START_TEST(blocks_given_back_serve_again)
{
    apr_pool_t *pools[100];
    size_t len;
    char *body = many_small(100, &len);     /* one block each */
    int round, i;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < 100; i++) {
            const char *err = NULL;
            json_t *root;

            apr_pool_create(&pools[i], NULL);
            root = llm_json_parse(pools[i], body, len, &err);
            ck_assert_ptr_nonnull(root);
            ck_assert_msg(llm_json_arena_owns(root),
                          "round %d, pool %d: not in the arena", round, i);
        }
        for (i = 0; i < 100; i++) {
            apr_pool_destroy(pools[i]);
        }
        same_tree_as_jansson(body, len, "after giving blocks back");
    }
    free(body);
}
END_TEST

START_TEST(larger_than_the_region_falls_back_to_malloc)
{
    size_t len;
    char *body = many_small(200000, &len);  /* more nodes than the region */

    same_tree_as_jansson(body, len, "200,000 objects");
    free(body);
}
END_TEST

static void fixture_same(const char *path, const char *name, void *baton)
{
    size_t len;
    char *buf = tu_slurp(path, &len);

    if (buf) {
        same_tree_as_jansson(buf, len, name);
        (*(int *)baton)++;
    }
}

START_TEST(recorded_client_bodies)
{
    int seen = 0;

    ck_assert_int_ge(tu_for_each_fixture(".json", fixture_same, &seen), 0);
    ck_assert_int_gt(seen, 0);
}
END_TEST

/* Parsed on one thread, the pool destroyed on another. */
typedef struct {
    const char *body;
    size_t len;
    apr_pool_t *pools[64];
    int n;
    pthread_mutex_t lock;
    int failed;
} handoff_t;

static void *parser(void *arg)
{
    handoff_t *h = arg;
    int i;

    for (i = 0; i < 200; i++) {
        apr_pool_t *p;
        const char *err = NULL;
        json_t *root;

        apr_pool_create(&p, NULL);
        root = llm_json_parse(p, h->body, h->len, &err);
        if (!root || json_array_size(json_object_get(root, "items")) != 300) {
            h->failed = 1;
        }
        for (;;) {
            pthread_mutex_lock(&h->lock);
            if (h->n < 64) {
                h->pools[h->n++] = p;
                pthread_mutex_unlock(&h->lock);
                break;
            }
            pthread_mutex_unlock(&h->lock);
            sched_yield();
        }
    }
    return NULL;
}

static void *destroyer(void *arg)
{
    handoff_t *h = arg;
    int done = 0;

    while (done < 400) {
        apr_pool_t *p = NULL;

        pthread_mutex_lock(&h->lock);
        if (h->n) {
            p = h->pools[--h->n];
        }
        pthread_mutex_unlock(&h->lock);
        if (p) {
            apr_pool_destroy(p);
            done++;
        }
        else {
            sched_yield();
        }
    }
    return NULL;
}

START_TEST(pools_destroyed_on_other_threads)
{
    handoff_t h;
    pthread_t a, b, d;
    size_t len;
    char *body = many_small(300, &len);

    memset(&h, 0, sizeof(h));
    h.body = body;
    h.len = len;
    pthread_mutex_init(&h.lock, NULL);
    ck_assert_int_eq(pthread_create(&a, NULL, parser, &h), 0);
    ck_assert_int_eq(pthread_create(&b, NULL, parser, &h), 0);
    ck_assert_int_eq(pthread_create(&d, NULL, destroyer, &h), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(d, NULL);
    ck_assert_int_eq(h.failed, 0);
    /* and the blocks all came back: one more parse is in the arena */
    same_tree_as_jansson(body, len, "after the threads");
    free(body);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("json_arena");
    TCase *tc = tcase_create("arena");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, installed_once);
    tcase_add_test(tc, parsed_nodes_in_the_arena_later_nodes_not);
    tcase_add_test(tc, long_strings_in_blocks_and_spans);
    tcase_add_test(tc, spans_come_back_and_serve_again);
    tcase_add_test(tc, blocks_come_back_when_the_pool_goes);
    tcase_add_test(tc, blocks_given_back_serve_again);
    tcase_add_test(tc, larger_than_the_region_falls_back_to_malloc);
    tcase_add_test(tc, recorded_client_bodies);
    tcase_add_test(tc, pools_destroyed_on_other_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* As mod_llm_scan does in each child, before any request. */
    if (llm_json_arena_install(REGION) != 0) {
        fprintf(stderr, "test_json_arena: the arena could not be installed\n");
        return 1;
    }
    return tu_run(arena_suite());
}
