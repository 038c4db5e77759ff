/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The fast parser against jansson itself: for every input, accepted or
 * refused alike by llm_json_fast_parse() and json_loadb() with the flags
 * llm_json_parse() used (plus the nesting limit), and when accepted the
 * same tree with the same key order.  Inputs: edge cases written here,
 * generated strings that put every special byte at every offset of the
 * 8- to 64-byte blocks (before and after a first escape), long strings
 * with escapes, seeded mutations of valid bodies, and the recorded client
 * bodies (read at test time, never copied into the tree); all of them
 * through each string loop (portable, SSE2, AVX2, AVX-512BW) this CPU
 * can run.
 */

#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "dialect_private.h"
#include "json_fast.h"
#include "llm_usage.h"

#define REF_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* Nesting of the reference tree within the limit, as llm_json_parse()
 * counted it before the fast parser (the root container is level 1). */
static int ref_depth_ok(json_t *j, int depth)
{
    size_t i;
    const char *key;
    json_t *v;

    if (depth > LLM_DIALECT_MAX_DEPTH) {
        return 0;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if ((json_is_array(v) || json_is_object(v))
                && !ref_depth_ok(v, depth + 1)) {
                return 0;
            }
        }
    }
    else if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if ((json_is_array(v) || json_is_object(v))
                && !ref_depth_ok(v, depth + 1)) {
                return 0;
            }
        }
    }
    return 1;
}

/* Compare the two parsers on one input; what names it in failures (never
 * its bytes, which may be a fixture's). */
static void same_as_jansson(const char *buf, size_t len, const char *what)
{
    json_error_t jerr;
    llm_json_fast_error_t ferr;
    json_t *ref, *fast;
    char *rd, *fd;
    int ref_ok, raw_nul;

    /* jansson drops a NUL byte read just after a number or a literal
     * ("[5\0]" is accepted); JSON has no place for a raw NUL outside a
     * string, where it is a control character, so the fast parser refuses
     * every body holding one. */
    raw_nul = len && memchr(buf, '\0', len) != NULL;
    ref = json_loadb(buf, len, REF_FLAGS, &jerr);
    ref_ok = ref && ref_depth_ok(ref, 1) && !raw_nul;
    memset(&ferr, 0, sizeof(ferr));
    fast = llm_json_fast_parse(buf, len, LLM_DIALECT_MAX_DEPTH, &ferr);

    ck_assert_msg(ref_ok == (fast != NULL),
                  "%s: jansson %s (%s), fast parser %s (%s)", what,
                  ref_ok ? "accepts" : "refuses", ref ? "deep" : jerr.text,
                  fast ? "accepts" : "refuses", fast ? "" : ferr.text);
    if (fast) {
        ck_assert_msg(json_equal(ref, fast), "%s: trees differ", what);
        rd = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
        fd = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_msg(rd && fd && !strcmp(rd, fd),
                      "%s: serialised differently (key order?)", what);
        free(rd);
        free(fd);
    }
    else {
        ck_assert_ptr_nonnull(ferr.text);
        ck_assert_int_ge(ferr.line, 1);
        ck_assert_int_ge(ferr.column, 0);
        /* Where jansson itself refused, the error is on its line (its
         * count is off after a dropped NUL). */
        if (!ref && !raw_nul) {
            ck_assert_msg(ferr.line == jerr.line || ferr.too_deep,
                          "%s: line %d, jansson says %d (%s / %s)", what,
                          ferr.line, jerr.line, ferr.text, jerr.text);
        }
    }
    json_decref(ref);
    json_decref(fast);
}

typedef struct {
    const char *s;
    size_t n;
} case_t;

#define C(lit) { lit, sizeof(lit) - 1 }

static const case_t cases[] = {
    /* structure */
    C(""), C(" "), C("\n\t\r "), C("{}"), C("[]"), C(" {} "), C("\n[\n]\n"),
    C("{\"a\":1}"), C("[1,2,3]"), C("{\"a\":{\"b\":[true,false,null]}}"),
    C("\"str\""), C("1"), C("true"), C("null"), C("{} x"), C("{}{}"),
    C("[1,]"), C("[,1]"), C("[,]"), C("{\"a\":1,}"), C("{,}"),
    C("{\"a\" 1}"), C("{a:1}"), C("{'a':1}"), C("{\"a\":}"), C("{\"a\"}"),
    C("{\"a\":1 \"b\":2}"), C("[1 2]"), C("["), C("{"), C("]"), C("}"),
    C("{\"a\""), C("{\"a\":"), C("{\"a\":1"), C("[1"), C("[1,"),
    C("[tru]"), C("[truex]"), C("[true1]"), C("[nul]"), C("[nulll]"),
    C("[True]"), C("[NULL]"), C("[fals]"), C("[falsey]"), C("[t]"),
    C("{\"a\":1}\0"), C("\0"), C("[\0]"), C("[1]\n\n "), C("[1\v]"),
    C("[1\f]"), C("\f[]"), C("[1]\x1a"), C("[\"a\":1]"), C("{\"a\",1}"),
    C("{\"a\":[}"), C("[{]"), C("{\"a\":{\"b\":1}}}"), C("[[]]]"),
    C("[1]//c"), C("/*c*/[1]"), C("[1,\n2,\n\n3 x]"),
    /* raw NUL bytes, some of which jansson drops */
    C("[5\0]"), C("[true\0]"), C("{\"a\":1\0}"), C("[5\0\0]"),
    C("[\"a\"\0]"), C("[5 \0]"), C("[1.5\0]"), C("[5\0,1]"),
    C("[5\0\n\0"), C("[null\0,false\0]"),
    /* keys */
    C("{\"a\":1,\"a\":2}"), C("{\"a\":1,\"b\":{\"a\":2}}"),
    C("{\"a\":1,\"\\u0061\":2}"), C("{\"ab\":1,\"a\":2}"),
    C("{\"\":1,\"\":2}"), C("{\"\":1}"), C("{\"\\u0000\":1}"),
    C("{\"a\\u0000b\":1}"), C("{\"a\\u0000\":1,\"a\":2}"),
    C("{\"z\":1,\"a\":2,\"m\":3,\"b\":{\"y\":1,\"c\":2}}"),
    C("{\"k\\n\":1,\"k\\u000a\":2}"), C("{\"\xc3\xa9\":1,\"\\u00e9\":2}"),
    C("{\"a\":1,\n\"a\":2}"), C("{\"a\":1,\"A\":2}"),
    C("{\"a\\\"b\":{\"a\\\"b\":1}}"),
    C("{\"a-very-long-key-that-is-longer-than-sixty-four-bytes-on-the-stack"
      "-xxxxxxxxx\\n\":1,\"a-very-long-key-that-is-longer-than-sixty-four-"
      "bytes-on-the-stack-xxxxxxxxx\\u000a\":2}"),
    C("{\"a-very-long-key-that-is-longer-than-sixty-four-bytes-on-the-stack"
      "-xxxxxxxxx\\n\":{\"\\t\":[1,{\"\\t\":2}]}}"),
    /* numbers */
    C("[0]"), C("[-0]"), C("[-0.0]"), C("[0.0]"), C("[1e5]"), C("[1E+5]"),
    C("[1e-5]"), C("[1.5e300]"), C("[1e400]"), C("[-1e400]"),
    C("[1e-400]"), C("[-1e-400]"), C("[9223372036854775807]"),
    C("[9223372036854775808]"), C("[-9223372036854775808]"),
    C("[-9223372036854775809]"), C("[12345678901234567890123]"),
    C("[-12345678901234567890123]"), C("[0.1]"), C("[123.456e-7]"),
    C("[01]"), C("[-01]"), C("[00]"), C("[1.]"), C("[.5]"), C("[+1]"),
    C("[-]"), C("[1e]"), C("[1e+]"), C("[1e-]"), C("[0x10]"), C("[1.0e]"),
    C("[Infinity]"), C("[NaN]"), C("[-Infinity]"), C("[-NaN]"),
    C("[2.2250738585072011e-308]"), C("[4.9e-324]"), C("[2e-324]"),
    C("[1.7976931348623157e308]"), C("[1.7976931348623159e308]"),
    C("[1.7976931348623158e308]"), C("[1e0]"), C("[1E00000000000001]"),
    C("[0e0]"), C("[-0e-0]"), C("[1.5]"), C("[1.5.5]"), C("[1e5e5]"),
    C("[1-2]"), C("[--1]"), C("[- 1]"), C("[1 ]"), C("[ 1]"), C("{\"a\":-}"),
    C("[100000000000000000000000000000000000000000000000000000000000000."
      "0000000000000000000000000000001]"),
    C("[0.00000000000000000000000000000000000000000000000000000000000001"
      "e-300]"),
    C("{\"n\":12,\"m\":-7,\"f\":0.25}"), C("[1]x"), C("[1x]"), C("[1e5x]"),
    /* escapes */
    C("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]"), C("[\"\\u0041\\u00e9\\u20ac\"]"),
    C("[\"\\ud83d\\ude00\"]"), C("[\"\\uD83D\\uDE00\"]"), C("[\"\\ud83d\"]"),
    C("[\"\\ude00\"]"), C("[\"\\ud83d\\u0041\"]"), C("[\"\\ud83dx\"]"),
    C("[\"\\ud83d\\\"]"), C("[\"\\ud83d\\ud83d\"]"), C("[\"\\ude00\\ud83d\"]"),
    C("[\"\\udbff\\udfff\"]"), C("[\"\\ud800\\udc00\"]"),
    C("[\"\\ud83d\\ude0\"]"), C("[\"\\ud83d\\u\"]"), C("[\"\\ud83d\\"),
    C("[\"\\u0000\"]"), C("[\"a\\u0000b\"]"), C("[\"\\u00\"]"),
    C("[\"\\uZZZZ\"]"), C("[\"\\u12G4\"]"), C("[\"\\x\"]"), C("[\"\\'\"]"),
    C("[\"\\U0041\"]"), C("[\"\\u0041"), C("[\"\\"), C("[\"\\\"]"),
    C("[\"\\ \"]"), C("[\"\\0\"]"), C("[\"\\a\"]"), C("[\"\\u007f\"]"),
    C("[\"\\u0080\\u07ff\\u0800\\uffff\\ufffe\"]"), C("[\"\\uFEFF\"]"),
    /* strings and control characters */
    C("[\"abc"), C("[\"abc\""), C("[\"a\nb\"]"), C("[\"a\tb\"]"),
    C("[\"a\rb\"]"), C("[\"\x7f\"]"), C("[\"\x01\"]"), C("[\"\x1f\"]"),
    C("[\"\0\"]"), C("[\"\"]"), C("[\"\",\"\"]"), C("[\"a\" \"b\"]"),
    C("[\"a\"\"b\"]"),
    /* UTF-8 */
    C("[\"\xc3\xa9\"]"), C("[\"\xc3\"]"), C("[\"\xc3\x28\"]"),
    C("[\"\xc0\x80\"]"), C("[\"\xc1\xbf\"]"), C("[\"\xe0\x80\x80\"]"),
    C("[\"\xe0\x9f\xbf\"]"), C("[\"\xe0\xa0\x80\"]"), C("[\"\xed\xa0\x80\"]"),
    C("[\"\xed\xbf\xbf\"]"), C("[\"\xed\x9f\xbf\"]"), C("[\"\xee\x80\x80\"]"),
    C("[\"\xf0\x8f\xbf\xbf\"]"), C("[\"\xf0\x90\x80\x80\"]"),
    C("[\"\xf4\x90\x80\x80\"]"), C("[\"\xf4\x8f\xbf\xbf\"]"),
    C("[\"\xf5\x80\x80\x80\"]"), C("[\"\xf8\x88\x80\x80\x80\"]"),
    C("[\"\xff\"]"), C("[\"\xfe\"]"), C("[\"\x80\"]"), C("[\"\xbf\"]"),
    C("[\"\xe2\x82\"]"), C("[\"\xe2\x82\xac\"]"), C("[\"\xf0\x9f\x98\"]"),
    C("[\"\xf0\x9f\x98\x80\"]"), C("[\"\xe2\x82"), C("[\"\xf0\x9f"),
    C("[\"\xef\xbb\xbf\"]"), C("\xef\xbb\xbf{}"), C("\xef\xbb\xbf[1]"),
    C("\xff\xfe{}"), C("[\xc3\xa9]"), C("[1,\xc3\xa9]"), C("[1\xff]"),
    C("{\"\xc3\xa9\":1}"), C("{\"\xc3\":1}"), C("{\"a\":1}\xc3\xa9"),
    C("{\"a\":1}\xff"), C("[\"\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95"
                          "\x8c\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7"
                          "\x95\x8c\xe4\xbd\xa0\xe5\xa5\xbd\"]"),
    C("{\"a\":\"x\",\n\"b\":\"\xc3\xa9\xc3\"}"),
    C("[\"\\n\xc3\xa9\\t\xe2\x82\xac\\u00e9\"]"),
    /* mixed bodies */
    C("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
      "\"key \\u0041KIA\\u0000x\"}],\"temperature\":0.7,\"stream\":true,"
      "\"max_tokens\":1024,\"stop\":null}"),
};

START_TEST(edge_cases)
{
    char what[32];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(what, sizeof(what), "case %zu", i);
        same_as_jansson(cases[i].s, cases[i].n, what);
    }
}
END_TEST

/* n opening brackets (alternating array and object when mixed), then a
 * value and the closing ones unless cut. */
static char *nested(int n, int mixed, int closed, size_t *len)
{
    char *b = apr_palloc(tp, (apr_size_t)n * 6 + 8);
    size_t k = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (mixed && i % 2) {
            memcpy(b + k, "{\"a\":", 5);
            k += 5;
        }
        else {
            b[k++] = '[';
        }
    }
    b[k++] = '1';
    for (i = n - 1; closed && i >= 0; i--) {
        b[k++] = mixed && i % 2 ? '}' : ']';
    }
    *len = k;
    return b;
}

START_TEST(nesting_at_and_beyond_the_limit)
{
    static const int depths[] = {
        1, 2, 64, LLM_DIALECT_MAX_DEPTH - 1, LLM_DIALECT_MAX_DEPTH,
        LLM_DIALECT_MAX_DEPTH + 1, LLM_DIALECT_MAX_DEPTH + 2, 1000, 2047,
        2048, 2049, 5000, 100000
    };
    llm_json_fast_error_t e;
    char what[48];
    size_t i, len;
    int mixed, closed;
    char *b;

    for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        for (mixed = 0; mixed < 2; mixed++) {
            for (closed = 0; closed < 2; closed++) {
                b = nested(depths[i], mixed, closed, &len);
                snprintf(what, sizeof(what), "depth %d%s%s", depths[i],
                         mixed ? " mixed" : "", closed ? "" : " unclosed");
                same_as_jansson(b, len, what);
            }
        }
    }
    b = nested(LLM_DIALECT_MAX_DEPTH + 1, 1, 1, &len);
    ck_assert_ptr_null(llm_json_fast_parse(b, len, LLM_DIALECT_MAX_DEPTH,
                                           &e));
    ck_assert_int_eq(e.too_deep, 1);
    b = nested(LLM_DIALECT_MAX_DEPTH, 1, 1, &len);
    json_decref(llm_json_fast_parse(b, len, LLM_DIALECT_MAX_DEPTH, &e));
}
END_TEST

static const case_t specials[] = {
    C("\""), C("\\n"), C("\\\""), C("\\u00e9"), C("\\ud83d\\ude00"),
    C("\\ud83d"), C("\\q"), C("\xc3\xa9"), C("\xe2\x82\xac"),
    C("\xf0\x9f\x98\x80"), C("\xc3"), C("\xe2\x82"), C("\xff"),
    C("\xed\xa0\x80"), C("\n"), C("\t"), C("\x01"), C("\x1f"), C("\0"),
    C("\x7f"), C(" "), C("\\u0000"), C("\\"), C("\\\\"), C("\\/"),
    C("\\t\\r\\b\\f"), C("\\\\\\\""), C("\\u12"), C("\\ud83d\\n"),
};

/* Where jansson finds the body cut short, so does the fast parser (and
 * not after reading on, past the body). */
static void cut_where_jansson_cuts(const char *buf, size_t len,
                                   const char *what)
{
    json_error_t jerr;
    llm_json_fast_error_t ferr;
    json_t *ref = json_loadb(buf, len, REF_FLAGS, &jerr);
    json_t *fast = llm_json_fast_parse(buf, len, LLM_DIALECT_MAX_DEPTH,
                                       &ferr);

    if (!ref && !strncmp(jerr.text, "premature end of input", 22)) {
        ck_assert_msg(!fast && !strcmp(ferr.text, "premature end of input"),
                      "%s: jansson: %s; fast parser: %s", what, jerr.text,
                      fast ? "accepted" : ferr.text);
    }
    json_decref(ref);
    json_decref(fast);
}

/* {"k":"<lead><pos plain bytes><special><len - pos plain bytes>"}, and
 * the same cut before its closing quote (an unterminated string must not
 * be read past the body). */
static void special_at(const char *lead, size_t len, size_t pos, size_t i)
{
    char buf[400], what[80];
    size_t k = 0, n, ln = strlen(lead);

    memcpy(buf + k, "{\"k\":\"", 6);
    k += 6;
    memcpy(buf + k, lead, ln);
    k += ln;
    for (n = 0; n < pos; n++) {
        buf[k++] = (char)('a' + n % 26);
    }
    memcpy(buf + k, specials[i].s, specials[i].n);
    k += specials[i].n;
    for (n = pos; n < len; n++) {
        buf[k++] = (char)('A' + n % 26);
    }
    snprintf(what, sizeof(what), "after \"%s\": special %zu at %zu of %zu",
             lead, i, pos, len);
    /* the closing quote just past the cut: a loop that reads beyond the
     * body would find it */
    memcpy(buf + k, "\"}", 2);
    same_as_jansson(buf, k, what);
    cut_where_jansson_cuts(buf, k, what);
    same_as_jansson(buf, k + 2, what);
}

/* Every special byte or sequence at every offset of a string of 0 to 72
 * plain bytes (and a few longer), so that each lands at each place of an
 * 8- to 64-byte block, of a second block, and of the tail after the last
 * one. */
START_TEST(specials_at_every_offset)
{
    size_t len, pos, i;

    for (len = 0; len <= 136; len += len < 72 ? 1 : 8) {
        for (pos = 0; pos <= len; pos++) {
            for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
                special_at("", len, pos, i);
            }
        }
    }
}
END_TEST

/* The same once the string has had an escape: from there on its bytes are
 * decoded (copied, and on the AVX-512 path read in blocks that start at
 * the first escape), so the special lands at every offset of those blocks,
 * for first escapes at a few offsets of the body. */
START_TEST(specials_at_every_offset_after_an_escape)
{
    static const char *const leads[] = {
        "\\n", "a\\\"", "abcde\\\\", "\\u00e9", "\xc3\xa9\\t",
    };
    static const size_t lens[] = {
        0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 61, 62, 63, 64, 65, 66,
        127, 128, 129,
    };
    size_t l, j, pos, i;

    for (l = 0; l < sizeof(leads) / sizeof(leads[0]); l++) {
        for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            for (pos = 0; pos <= lens[j]; pos++) {
                for (i = 0; i < sizeof(specials) / sizeof(specials[0]);
                     i++) {
                    special_at(leads[l], lens[j], pos, i);
                }
            }
        }
    }
}
END_TEST

/* Long strings decoded whole: an escape or a non-ASCII character every
 * few dozen bytes (as in source code), past the decoding buffer's first
 * sizes and across many blocks; and one bad byte near the end. */
START_TEST(long_strings_with_escapes)
{
    static const char *const pieces[] = {
        "\\n", "\\\"", "\\\\", "\\t", "\\u00e9", "\xe2\x82\xac",
        "\\ud83d\\ude00", "\\/",
    };
    size_t sizes[] = { 100, 5000, 70000, 300000 };
    size_t cap = 300000 + 64, k, s, i, step;
    char *buf = malloc(cap);
    char what[64];

    ck_assert_ptr_nonnull(buf);
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (step = 3; step <= 67; step += 32) {
            k = 0;
            memcpy(buf, "[\"", 2);
            k = 2;
            for (i = 0; k + 16 < sizes[s]; i++) {
                const char *p = pieces[i % (sizeof(pieces) / sizeof(pieces[0]))];
                size_t n;

                for (n = 0; n < step + i % 7 && k + 16 < sizes[s]; n++) {
                    buf[k++] = (char)('a' + (i + n) % 26);
                }
                memcpy(buf + k, p, strlen(p));
                k += strlen(p);
            }
            memcpy(buf + k, "\"]", 2);
            snprintf(what, sizeof(what), "%zu bytes, escapes every %zu",
                     sizes[s], step);
            same_as_jansson(buf, k + 2, what);
            /* a control character, then a broken escape, near the end */
            buf[k - 3] = '\x02';
            same_as_jansson(buf, k + 2, what);
            buf[k - 3] = '\\';
            buf[k - 2] = 'x';
            same_as_jansson(buf, k + 2, what);
        }
    }
    free(buf);
}
END_TEST

/* A small PRNG of our own, seeded per test: the same mutants every run. */
static unsigned long next_rand(unsigned long *state)
{
    *state = *state * 6364136223846793005UL + 1442695040888963407UL;
    return *state >> 33;
}

static const char *const mutation_seeds[] = {
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
    "\"hello \\u00e9 \\ud83d\\ude00 w\xc3\xb6rld\"}],\"n\":-12,"
    "\"t\":0.5e-3,\"s\":true,\"x\":null,\"a\":[1,2,{\"b\":[]}]}",
    "[\"\\\"q\\\"\",{\"\":{}},-0,1e10,\"\xe2\x82\xac\\t\",false]",
    "{\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\","
    "\"properties\":{\"p\":{\"type\":\"string\"}}}}],\"system\":\"s\"}",
};

START_TEST(mutations)
{
    static const char bytes[] = "{}[]\":,\\u0e-+.1 \n\xc3\xa9\xff\x01tfn";
    unsigned long st = 0x1234567UL;
    char buf[512], what[48];
    size_t s, n, k, m, at;
    int round;

    for (s = 0; s < sizeof(mutation_seeds) / sizeof(mutation_seeds[0]);
         s++) {
        for (round = 0; round < 4000; round++) {
            n = strlen(mutation_seeds[s]);
            memcpy(buf, mutation_seeds[s], n);
            m = 1 + next_rand(&st) % 3;
            for (k = 0; k < m && n > 1; k++) {
                at = next_rand(&st) % n;
                switch (next_rand(&st) % 3) {
                case 0:     /* replace a byte */
                    buf[at] = bytes[next_rand(&st) % (sizeof(bytes) - 1)];
                    break;
                case 1:     /* delete one */
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                    break;
                default:    /* cut the body */
                    n = at;
                    break;
                }
            }
            snprintf(what, sizeof(what), "mutant %zu/%d", s, round);
            same_as_jansson(buf, n, what);
        }
    }
}
END_TEST

static void fixture_same(const char *path, const char *name, void *baton)
{
    size_t len, cut;
    char *buf = tu_slurp(path, &len);
    char what[320];

    (void)baton;
    if (!buf) {
        return;
    }
    snprintf(what, sizeof(what), "fixture %s", name);
    same_as_jansson(buf, len, what);
    /* and cut short at a few places */
    for (cut = 1; cut < 8; cut++) {
        snprintf(what, sizeof(what), "fixture %s cut at %zu/8", name, cut);
        same_as_jansson(buf, len * cut / 8, what);
    }
    (*(int *)baton)++;
}

START_TEST(recorded_client_bodies)
{
    int seen = 0;

    if (tu_for_each_fixture(".json", fixture_same, &seen) < 0) {
        return;
    }
    fprintf(stderr, "test_json_fast: %d recorded bodies compared\n", seen);
}
END_TEST

/* Usage read from the member alone equals usage read from the tree. */
static void same_usage(const char *body)
{
    llm_usage_t a, b;
    json_t *j = json_loads(body, 0, NULL);

    llm_usage_init(&a);
    llm_usage_init(&b);
    if (j) {
        llm_usage_from_body(&a, j);
        json_decref(j);
    }
    llm_usage_from_body_text(&b, body, strlen(body));
    ck_assert_msg(a.seen == b.seen && a.input_tokens == b.input_tokens
                  && a.output_tokens == b.output_tokens
                  && a.cached_input_tokens == b.cached_input_tokens,
                  "usage differs for %s", body);
}

START_TEST(top_member_finds_only_the_top_level_usage)
{
    const char *v;
    size_t n;
    const char *body =
        "{\"id\":\"x\",\"content\":[{\"type\":\"tool_use\",\"input\":"
        "{\"usage\":{\"input_tokens\":999}}},{\"type\":\"text\",\"text\":"
        "\"say \\\"usage\\\":{} and [ { ]\"}], \"usage\" : {\"input_tokens\":"
        "12,\"output_tokens\":3} }";

    ck_assert_int_eq(llm_json_top_member(body, strlen(body), "usage", &v, &n),
                     1);
    ck_assert_int_eq(strncmp(v, "{\"input_tokens\":12,\"output_tokens\":3}",
                             n), 0);
    ck_assert_int_eq(llm_json_top_member(body, strlen(body), "model", &v, &n),
                     0);
    ck_assert_int_eq(llm_json_top_member("{}", 2, "usage", &v, &n), 0);
    ck_assert_int_eq(llm_json_top_member("[1]", 3, "usage", &v, &n), -1);
    ck_assert_int_eq(llm_json_top_member("{\"a\":1", 6, "usage", &v, &n), -1);
    ck_assert_int_eq(llm_json_top_member("{\"a\" 1}", 7, "usage", &v, &n),
                     -1);
    ck_assert_int_eq(llm_json_top_member("{\"a\":\"x", 7, "usage", &v, &n),
                     -1);

    same_usage(body);
    same_usage("{\"object\":\"chat.completion\",\"choices\":[{\"message\":{"
               "\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":10,"
               "\"completion_tokens\":2,\"prompt_tokens_details\":{"
               "\"cached_tokens\":8}}}");
    same_usage("{\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":7,"
               "\"output_tokens\":1},\"type\":\"message\"}");
    same_usage("{\"object\":\"response\",\"usage\":{\"input_tokens\":4,"
               "\"input_tokens_details\":{\"cached_tokens\":2},"
               "\"output_tokens\":9}}");
    same_usage("{\"object\":\"list\",\"data\":[],\"usage\":null}");
    same_usage("{\"choices\":[]}");
}
END_TEST

/* Several names in one walk find what one walk per name finds: the same
 * result and span for each, on valid, cut and mutated objects. */
static void members_as_one_by_one(const char *buf, size_t len)
{
    static const char *const names[] = {
        "usage", "prompt_tokens", "a", "", "exp", "nbf", "groups", "a",
        "input_tokens_details", "x"
    };
    enum { N = sizeof(names) / sizeof(names[0]) };
    const char *v[N], *one;
    size_t vl[N], onel;
    int found[N], alone;
    size_t i;

    llm_json_top_members(buf, len, names, N, v, vl, found);
    for (i = 0; i < N; i++) {
        alone = llm_json_top_member(buf, len, names[i], &one, &onel);
        ck_assert_msg(found[i] == alone, "%s in %.*s: %d, alone %d",
                      names[i], (int)len, buf, found[i], alone);
        if (alone == 1) {
            ck_assert_msg(v[i] == one && vl[i] == onel, "%s in %.*s",
                          names[i], (int)len, buf);
        }
    }
}

START_TEST(top_members_find_what_top_member_finds)
{
    static const char *const seeds[] = {
        "{\"a\":1,\"usage\":{\"prompt_tokens\":3},\"prompt_tokens\":[1,"
        "{\"x\":2}],\"a\":2,\"\":\"e\",\"exp\":17e8 ,\"nbf\" : -1,"
        "\"groups\":[\"g\\\"1\",\"g2\"],\"input_tokens_details\":null}",
        "{\"sub\":\"u\",\"exp\":1,\"exp\":2,\"groups\":\"one\"}",
        " { } ",
        "{\"a\":{\"exp\":1},\"x\":\"exp\"}",
        "[{\"a\":1}]",
    };
    static const char bytes[] = "{}[]\":,\\ae-1 \n\xff";
    unsigned long st = 0x7654321UL;
    char buf[256];
    size_t s, n, at;
    int round;

    for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        n = strlen(seeds[s]);
        members_as_one_by_one(seeds[s], n);
        for (at = 0; at < n; at++) {
            members_as_one_by_one(seeds[s], at);
        }
        for (round = 0; round < 3000; round++) {
            n = strlen(seeds[s]);
            memcpy(buf, seeds[s], n);
            at = next_rand(&st) % n;
            if (next_rand(&st) % 2) {
                buf[at] = bytes[next_rand(&st) % (sizeof(bytes) - 1)];
            }
            else {
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            }
            members_as_one_by_one(buf, n);
        }
    }
}
END_TEST

START_TEST(errors_never_quote_the_body)
{
    static const char *const bodies[] = {
        "{\"a\": AKIAQWERTYUIOPASDFGH}",
        "{\"a\": \"unterminated secret\n\"}",
        "{\"secret\":1,\"secret\":2}",
        "[\"secret\\x\"]",
        "[\"secret\xff\"]",
        "[123secret]",
    };
    llm_json_fast_error_t e;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        ck_assert_ptr_null(llm_json_fast_parse(bodies[i], strlen(bodies[i]),
                                               LLM_DIALECT_MAX_DEPTH, &e));
        ck_assert_msg(!strstr(e.text, "secret") && !strstr(e.text, "AKIA"),
                      "%s", e.text);
    }
    ck_assert_ptr_null(llm_json_fast_parse("{\"a\":1,\n \"a\":2}", 16,
                                           LLM_DIALECT_MAX_DEPTH, &e));
    ck_assert_int_eq(e.line, 2);
    ck_assert_ptr_null(llm_json_fast_parse(NULL, 0, LLM_DIALECT_MAX_DEPTH,
                                           &e));
}
END_TEST

static Suite *json_fast_suite(void)
{
    Suite *s = suite_create("json_fast");
    TCase *tc = tcase_create("differential");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, edge_cases);
    tcase_add_test(tc, nesting_at_and_beyond_the_limit);
    tcase_add_test(tc, specials_at_every_offset);
    tcase_add_test(tc, specials_at_every_offset_after_an_escape);
    tcase_add_test(tc, long_strings_with_escapes);
    tcase_add_test(tc, mutations);
    tcase_add_test(tc, recorded_client_bodies);
    tcase_add_test(tc, errors_never_quote_the_body);
    tcase_add_test(tc, top_member_finds_only_the_top_level_usage);
    tcase_add_test(tc, top_members_find_what_top_member_finds);
    suite_add_tcase(s, tc);
    return s;
}

/* The whole suite once per string loop this CPU can run. */
int main(void)
{
    static const char *const names[] = {
        NULL, "portable", "SSE2", "AVX2", "AVX-512BW",
    };
    int path, failed = 0;

    for (path = LLM_JSON_PATH_SCALAR; path <= LLM_JSON_PATH_AVX512; path++) {
        if (llm_json_fast_path(path) != path) {
            fprintf(stderr, "test_json_fast: no %s string loop here, "
                    "skipped\n", names[path]);
            continue;
        }
        fprintf(stderr, "test_json_fast: the %s string loop\n",
                names[path]);
        failed |= tu_run(json_fast_suite()) != EXIT_SUCCESS;
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
