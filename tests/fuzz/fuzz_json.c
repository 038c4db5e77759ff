/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * libFuzzer target for lib/dialect/json_fast.c, differential: every input
 * goes through llm_json_fast_parse() and through jansson's json_loadb()
 * with the flags llm_json_parse() used before it (plus the same nesting
 * limit).  Any difference is a crash: one accepts what the other refuses,
 * the trees differ, the key order differs, or an error is put on another
 * line than jansson's.  Built and run by json.sh.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_fast.h"
#include "llm_usage.h"

/* the limit of lib/dialect/dialect_private.h (which needs APR) */
#define FUZZ_MAX_DEPTH 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The string loop fuzzed: the CPU's best, or the one LLM_JSON_FAST_PATH
 * names (json.sh forces the portable one); a name the CPU cannot run is
 * an error rather than a silent fallback. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const names[] = {
        "auto", "scalar", "sse2", "avx2", "avx512",
    };
    const char *want = getenv("LLM_JSON_FAST_PATH");
    int path = llm_json_fast_path(LLM_JSON_PATH_AUTO);

    (void)argc;
    (void)argv;
    if (want && strcmp(want, names[path])) {
        fprintf(stderr, "fuzz_json: LLM_JSON_FAST_PATH=%s, but the %s "
                "string loop is in use\n", want, names[path]);
        abort();
    }
    fprintf(stderr, "fuzz_json: the %s string loop\n", names[path]);
    return 0;
}

static int depth_ok(json_t *j, int depth)
{
    size_t i;
    const char *key;
    json_t *v;

    if (depth > FUZZ_MAX_DEPTH) {
        return 0;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if ((json_is_array(v) || json_is_object(v))
                && !depth_ok(v, depth + 1)) {
                return 0;
            }
        }
    }
    else if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if ((json_is_array(v) || json_is_object(v))
                && !depth_ok(v, depth + 1)) {
                return 0;
            }
        }
    }
    return 1;
}

static void differ(const char *why, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_json: %s (jansson: %s; fast parser: %s)\n", why,
            a ? a : "-", b ? b : "-");
    abort();
}

/* llm_json_top_member on a valid object: it follows it to the end, and a
 * member it reports is the tree's.  (A name written with escapes is not
 * reported: the tree may have "usage" where the scan finds none.) */
static void check_top_member(const char *buf, size_t size, json_t *tree)
{
    const char *v;
    size_t n;
    int rv = llm_json_top_member(buf, size, "usage", &v, &n);
    json_t *span;

    if (rv < 0) {
        differ("top_member cannot follow a valid object", NULL, NULL);
    }
    if (rv == 1) {
        span = json_loadb(v, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!span || !json_equal(span, json_object_get(tree, "usage"))) {
            differ("top_member's span is not the member", NULL, NULL);
        }
        json_decref(span);
    }
}

/* Stream usage read from the text equals the usage read from the tree
 * (names spelt with escapes aside: the text scan compares as written). */
static void check_event_usage(const char *buf, size_t size, json_t *tree)
{
    static const char *events[] = { NULL, "message_start", "message_delta",
                                    "response.completed", "content_block" };
    llm_usage_t a, b;
    size_t i;
    int ra, rb;

    if (memchr(buf, '\\', size)) {
        return;
    }
    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        llm_usage_init(&a);
        llm_usage_init(&b);
        ra = llm_usage_from_event_text(&a, events[i], buf, size);
        rb = llm_usage_from_event(&b, events[i], tree);
        if (ra != rb || memcmp(&a, &b, sizeof(a))) {
            differ("event usage from text differs from the tree's",
                   events[i], NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    llm_json_fast_error_t ferr;
    json_t *ref, *fast;
    char *rd, *fd;
    int ref_ok, raw_nul;

    /* A copy of exactly size bytes, so that ASan sees any read past the
     * body. */
    char *buf = malloc(size ? size : 1);

    if (!buf) {
        return 0;
    }
    memcpy(buf, data, size);
    ref = json_loadb(buf, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                     &jerr);
    /* jansson drops a NUL byte read just after a number or a literal
     * ("[5\0]" is accepted); the fast parser refuses any raw NUL, which
     * JSON has no place for outside a string. */
    raw_nul = size && memchr(buf, '\0', size) != NULL;
    ref_ok = ref && depth_ok(ref, 1) && !raw_nul;
    fast = llm_json_fast_parse(buf, size, FUZZ_MAX_DEPTH, &ferr);
    if (ref_ok != (fast != NULL)) {
        differ(ref_ok ? "jansson accepts, fast parser refuses"
                      : "jansson refuses, fast parser accepts",
               ref ? "deep" : jerr.text, fast ? NULL : ferr.text);
    }
    if (fast) {
        if (!json_equal(ref, fast)) {
            differ("trees differ", NULL, NULL);
        }
        rd = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
        fd = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!rd || !fd || strcmp(rd, fd)) {
            differ("serialised differently", rd, fd);
        }
        free(rd);
        free(fd);
        if (json_is_object(fast)) {
            check_top_member(buf, size, fast);
            check_event_usage(buf, size, fast);
        }
    }
    else if (!ref && !raw_nul && !ferr.too_deep
             && ferr.line != jerr.line) {
        differ("error on another line", jerr.text, ferr.text);
    }
    if (!fast && (!ferr.text || ferr.line < 1 || ferr.column < 0)) {
        differ("error without text or position", NULL, NULL);
    }
    json_decref(ref);
    json_decref(fast);
    free(buf);
    return 0;
}
