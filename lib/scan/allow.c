/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Allowlists: documented example values and placeholders that have the
 * shape of a secret but open nothing, and the admin's allow patterns.
 */

#include <string.h>

#include "scan_private.h"

static int starts_ci(const unsigned char *v, size_t n, const char *w)
{
    size_t k;

    for (k = 0; w[k]; k++) {
        if (k >= n || LLM_LOWER(v[k]) != (unsigned char)w[k]) {
            return 0;
        }
    }
    return 1;
}

/* Words that only appear in values somebody is meant to replace. */
static const char *const placeholder_words[] = {
    "your-", "your_", "yourkey", "yoursecret", "yourtoken", "yourpassword",
    "-here", "_here", "replace", "changeme", "change_me", "change-me",
    "placeholder", "redacted", "example", "<", ">", "${", "{{", "%s",
    "***", "....", "notreal", "not-real", "not_real",
    "\xe2\x80\xa2\xe2\x80\xa2",    /* U+2022 bullets: a mask */
    NULL
};

/* Short words that random key material holds by chance: a GitHub token
 * contained "todo" or "xxxx" about once in 9,000, an AWS key id "FAKE"
 * once in 20,000, and the key was let through.  They mark a placeholder
 * only standing alone (nothing alphanumeric on either side), or written
 * twice, each in one case: "sk-FAKE-key", "AKIAFAKEFAKEFAKEFAKE". */
static const char *const weak_words[] = {
    "dummy", "sample", "insert", "xxxx", "todo", "fixme", "fake", NULL
};

/* Can a placeholder word start with c (lower case)?  Kept in step with
 * both lists by the unit tests of placeholders. */
static int placeholder_first(unsigned char c)
{
    switch (c) {
    case 'y': case '-': case '_': case 'r': case 'c': case 'p': case 'd':
    case 'e': case 'i': case 's': case 'x': case '*': case '.': case '<':
    case '>': case '$': case '%': case '{': case 't': case 'f': case 'n':
    case 0xe2:
        return 1;
    default:
        return 0;
    }
}

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}

/* v[0..k) all lower case or all upper case. */
static int one_case(const unsigned char *v, size_t k)
{
    size_t i, lower = 0, upper = 0;

    for (i = 0; i < k; i++) {
        lower += v[i] >= 'a' && v[i] <= 'z';
        upper += v[i] >= 'A' && v[i] <= 'Z';
    }
    return !lower || !upper;
}

int llm_scan_is_placeholder(const unsigned char *v, size_t n)
{
    size_t i, k, run = 1;
    int w, weak = 0;

    if (n == 0) {
        return 1;
    }
    if (n >= 7 && !memcmp(v + n - 7, "EXAMPLE", 7)) {
        return 1;
    }
    /* one pass: only where a word could start are the words compared */
    for (i = 0; i < n; i++) {
        unsigned char c = LLM_LOWER(v[i]);
        if (!placeholder_first(c)) {
            continue;
        }
        for (w = 0; placeholder_words[w]; w++) {
            if ((unsigned char)placeholder_words[w][0] == c
                && starts_ci(v + i, n - i, placeholder_words[w])) {
                return 1;
            }
        }
        for (w = 0; weak_words[w]; w++) {
            if ((unsigned char)weak_words[w][0] != c
                || !starts_ci(v + i, n - i, weak_words[w])) {
                continue;
            }
            k = strlen(weak_words[w]);
            if (!one_case(v + i, k)) {
                continue;
            }
            if ((i == 0 || !is_alnum(v[i - 1]))
                && (i + k == n || !is_alnum(v[i + k]))) {
                return 1;
            }
            if (++weak == 2) {
                return 1;
            }
            i += k - 1;
            break;
        }
    }
    /* one character repeated: aaaaaaaa, 00000000, ********; long encoded
     * values (keys, certificates) have runs of A or 0 of their own */
    for (i = 1; i < n && n <= 64; i++) {
        if (v[i] == v[i - 1]) {
            if (++run >= 8) {
                return 1;
            }
        }
        else {
            run = 1;
        }
    }
    return 0;
}

/* Stripe's publishable keys are public by design.  Test-mode secret
 * keys are not harmless (they read and write the account's test data)
 * and are findings, all but the one in Stripe's documentation. */
static int stripe_harmless(const unsigned char *v, size_t n)
{
    return n > 8 && (!memcmp(v, "pk_test_", 8) || !memcmp(v, "pk_live_", 8));
}

/* Tokens printed in RFCs and API docs (OAuth 1 and 2 examples, Stripe's
 * documented test key). */
static const char *const doc_tokens[] = {
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "2YotnFZFEjr1zCsicMWpAA", "tGzv3JOkF0XG5Qx2TlKWIA", "SplxlOBeZQQYbYS6WxSbIA",
    "czZCaGRSa3F0MzpnWDFmQmF0M2JW", "0685bd9184jfhq22", "ad180jjd733klru7",
    "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", "dpf43f3p2l4k3l03",
    "nnch734d00sl2jdk", "hh5s93j4hdidpola", "hdk48Djdsa", "xyz4992k83j47x0b",
    NULL
};

static int doc_token(const unsigned char *v, size_t n)
{
    int i;

    for (i = 0; doc_tokens[i]; i++) {
        if (strlen(doc_tokens[i]) == n && !memcmp(doc_tokens[i], v, n)) {
            return 1;
        }
    }
    return 0;
}

int llm_scan_allowed(llm_scan_ctx_t *cx, int rule, size_t off,
                     size_t len)
{
    const llm_scan_rules_t *rs = cx->rs;
    const llm_scan_rule_t *r = LLM_RULE(rs, rule);
    int i;

    if (r->builtin && r->cat == LLM_CAT_SECRET
        && (stripe_harmless(cx->t + off, len) || doc_token(cx->t + off, len))) {
        return 1;
    }
    if (r->builtin && r->cat == LLM_CAT_SECRET
        && !(r->flags & LLM_RF_NO_PLACEHOLDER)
        && llm_scan_is_placeholder(cx->t + off, len)) {
        return 1;
    }
    for (i = 0; i < rs->allow->nelts; i++) {
        pcre2_code *code = APR_ARRAY_IDX(rs->allow, i, pcre2_code *);
        pcre2_match_data *md = llm_scan_md(cx);
        int rc;
        if (!md) {
            return 1;           /* cx->error is set: the scan fails */
        }
        rc = pcre2_match(code, cx->t + off, len, 0, 0, md, rs->mctx);
        if (rc >= 0) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[0] == 0 && ov[1] == len) {
                return 1;
            }
        }
    }
    return 0;
}
