/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * llm_json_dump against jansson's json_dumps with the flags it replaced
 * (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY): the same bytes,
 * or a failure for both, for edge cases written here (every byte value in
 * strings and keys, NUL, UTF-8 of every length, invalid UTF-8, numbers,
 * scalars at the root), seeded random trees, and the recorded client
 * bodies (read at test time).
 */

#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "dialect_private.h"

#define REF_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

static void same_as_jansson(json_t *j, const char *what)
{
    char *ref = json_dumps(j, REF_FLAGS);
    size_t len = 12345;
    char *got = llm_json_dump(tp, j, &len);

    if (!ref) {
        ck_assert_msg(got == NULL, "%s: jansson failed, llm_json_dump did "
                      "not", what);
        ck_assert_uint_eq(len, 0);
        return;
    }
    ck_assert_msg(got != NULL, "%s: llm_json_dump failed", what);
    ck_assert_msg(len == strlen(ref) && !memcmp(got, ref, len)
                  && got[len] == '\0',
                  "%s: differs\n jansson: %.300s\n    ours: %.300s", what,
                  ref, got);
    free(ref);
}

START_TEST(every_byte_in_strings_and_keys)
{
    char s[4];
    int c;

    for (c = 1; c < 0x80; c++) {
        json_t *o = json_object();

        s[0] = 'a';
        s[1] = (char)c;
        s[2] = 'z';
        s[3] = '\0';
        json_object_set_new(o, s, json_string(s));
        json_object_set_new(o, "plain", json_stringn(s + 1, 1));
        same_as_jansson(o, "byte in string and key");
        json_decref(o);
    }
}
END_TEST

/* The word-at-a-time scan: every special byte at every offset of a
 * string longer than a few words. */
START_TEST(specials_at_every_offset)
{
    static const char specials[] = "\"\\\n\t\x01\x1f\x7f/ ~\xc3";
    char s[48];
    size_t i, off;

    for (i = 0; i < sizeof(specials) - 1; i++) {
        for (off = 0; off < 40; off++) {
            json_t *a = json_array();

            memset(s, 'x', 40);
            s[off] = specials[i];
            /* \xc3 starts a two-byte character: complete it, or cut it
             * at the end of the string */
            if ((unsigned char)specials[i] == 0xc3) {
                s[off + 1] = (char)0xa9;
            }
            json_array_append_new(a, json_stringn_nocheck(s, 40));
            same_as_jansson(a, "special byte at an offset");
            json_decref(a);
        }
    }
}
END_TEST

START_TEST(nul_utf8_and_invalid_utf8)
{
    static const char *const ok[] = {
        "caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x98\x80!", "\xc2\x80",
        "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xe2\x80\xa8 line sep",
    };
    static const char *const bad[] = {
        "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xff", "cut \xe2\x82", "\x80",
    };
    json_t *a;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        a = json_pack("[s]", ok[i]);
        ck_assert_ptr_nonnull(a);
        same_as_jansson(a, "valid UTF-8");
        json_decref(a);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = json_array();
        json_array_append_new(a, json_stringn_nocheck(bad[i],
                                                      strlen(bad[i])));
        same_as_jansson(a, "invalid UTF-8");
        json_decref(a);
    }
    a = json_array();
    json_array_append_new(a, json_stringn("a\0b", 3));
    same_as_jansson(a, "NUL in a string");
    json_decref(a);
}
END_TEST

START_TEST(numbers_literals_and_scalar_roots)
{
    static const char *const texts[] = {
        "[0,-1,9223372036854775807,-9223372036854775808,1.5,-0.0,3.0,"
        "1e300,2.5e-300,0.1,123456789.125,1E2]",
        "{\"a\":true,\"b\":false,\"c\":null,\"d\":{},\"e\":[],"
        "\"f\":[{}],\"g\":[[[]]]}",
        "{}", "[]", "\"x\"", "17", "0.5", "true", "null",
    };
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *j = json_loads(texts[i], JSON_DECODE_ANY, NULL);

        ck_assert_ptr_nonnull(j);
        same_as_jansson(j, texts[i]);
        json_decref(j);
    }
    ck_assert_ptr_null(llm_json_dump(tp, NULL, NULL));
}
END_TEST

static unsigned long rng = 88172645463325252UL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_t *random_string(void)
{
    static const char *const bits[] = {
        "text ", "\"", "\\", "\n", "\t", "\x01", "\x1f", "/", "\xc3\xa9",
        "\xf0\x9f\x98\x80", "\x7f", "{}", "\r\n",
    };
    char buf[256];
    size_t n = 0;
    int k = (int)rnd(12);

    while (k-- > 0) {
        const char *b = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
        size_t l = strlen(b);

        memcpy(buf + n, b, l);
        n += l;
    }
    return json_stringn(buf, n);
}

static json_t *random_tree(int depth)
{
    unsigned kind = depth > 5 ? 2 + rnd(5) : rnd(7);
    json_t *j;
    int i, n;

    switch (kind) {
    case 0:
        j = json_object();
        n = (int)rnd(6);
        for (i = 0; i < n; i++) {
            json_t *k = random_string();

            json_object_setn_new(j, json_string_value(k),
                                 json_string_length(k),
                                 random_tree(depth + 1));
            json_decref(k);
        }
        return j;
    case 1:
        j = json_array();
        n = (int)rnd(6);
        for (i = 0; i < n; i++) {
            json_array_append_new(j, random_tree(depth + 1));
        }
        return j;
    case 2:
    case 3:
        return random_string();
    case 4:
        return json_integer((json_int_t)rnd(1000000) - 500000);
    case 5:
        return json_real((double)rnd(100000) / 64.0 - 700.0);
    default:
        return rnd(2) ? json_true() : json_null();
    }
}

START_TEST(random_trees)
{
    int i;

    for (i = 0; i < 3000; i++) {
        json_t *j = random_tree(0);

        same_as_jansson(j, "random tree");
        json_decref(j);
    }
}
END_TEST

static void fixture_same(const char *path, const char *name, void *baton)
{
    size_t len;
    char *buf = tu_slurp(path, &len);
    char what[320];
    json_t *j;

    if (!buf) {
        return;
    }
    j = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
    if (!j) {
        return;
    }
    snprintf(what, sizeof(what), "fixture %s", name);
    same_as_jansson(j, what);
    json_decref(j);
    (*(int *)baton)++;
}

START_TEST(recorded_client_bodies)
{
    int seen = 0;

    if (tu_for_each_fixture(".json", fixture_same, &seen) < 0) {
        return;
    }
    fprintf(stderr, "test_json_write: %d recorded bodies compared\n", seen);
}
END_TEST

static Suite *json_write_suite(void)
{
    Suite *s = suite_create("json_write");
    TCase *tc = tcase_create("same_as_jansson");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_byte_in_strings_and_keys);
    tcase_add_test(tc, specials_at_every_offset);
    tcase_add_test(tc, nul_utf8_and_invalid_utf8);
    tcase_add_test(tc, numbers_literals_and_scalar_roots);
    tcase_add_test(tc, random_trees);
    tcase_add_test(tc, recorded_client_bodies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(json_write_suite());
}
