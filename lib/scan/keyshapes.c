/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Keys known by where they stand rather than by a prefix of their own:
 * an AWS secret right after its key id, 32 hex digits passed to a call
 * next to the name of a vendor whose keys look so, a PEM private key in base64 (kubeconfig
 * client-key-data).  And the value checks of vendor formats whose
 * random part is letters only (Hugging Face tokens).
 */

#include <string.h>

#include "scan_private.h"

/* Upper and lower case letters, and as varied as random text is. */
int llm_scan_check_mixed_random(const llm_scan_ctx_t *cx, size_t off,
                                size_t len)
{
    const unsigned char *v = cx->t + off;
    size_t k, up = 0, lo = 0;

    /* skip the vendor prefix (hf_) */
    for (k = 0; k < len && k < 8; k++) {
        if (v[k] == '_') {
            v += k + 1;
            len -= k + 1;
            break;
        }
    }
    for (k = 0; k < len; k++) {
        up += LLM_IS_UPPER(v[k]);
        lo += LLM_IS_LOWER(v[k]);
    }
    return len >= 16 && up >= 3 && lo >= 3 && llm_scan_entropy(v, len) >= 3.8;
}

/* 40 characters of base64 that are not hex (a commit next to a key id is
 * not its secret) and look random */
int llm_scan_check_aws_secret(const llm_scan_ctx_t *cx, size_t off, size_t len)
{
    return len == 40 && llm_scan_looks_random(cx->t + off, len, 0);
}

/* ---- 32 hex digits handed to a call near a vendor's name -------------- */

static size_t line_start(const unsigned char *t, size_t k, int lines,
                         size_t win)
{
    size_t lim = k > win ? k - win : 0;

    while (k > lim) {
        if (t[k - 1] == '\n' && --lines < 0) {
            break;
        }
        k--;
    }
    return k;
}

static size_t line_end(const unsigned char *t, size_t n, size_t k, int lines,
                       size_t win)
{
    size_t lim = k + win < n ? k + win : n;

    while (k < lim) {
        if (t[k] == '\n' && --lines < 0) {
            break;
        }
        k++;
    }
    return k;
}

/* Vendors whose API keys or secrets are 32 hex digits, each with the
 * part of its name the prefilter looks up: the name from its rarest byte
 * pair on (counted in code, logs, prose and the engine benchmark's
 * corpus; Infura and Clarifai have none rare enough: "nf" of config, "fa"
 * of default), which VENDOR_ANCHORS in rules_builtin.c lists. */
#define V(name, anchor) { name, anchor, sizeof(name) - 1, sizeof(anchor) - 1 }
static const struct {
    const char *name, *anchor;
    size_t nl, al;
} hex_vendors[] = {
    V("algolia", "lgolia"), V("twilio", "twilio"), V("mailgun", "lgun"),
    V("rollbar", "lbar"), V("pusher", "pusher"), V("datadog", "dog"),
    V("bugsnag", "snag"), V("mixpanel", "ixpanel"), V("amplitude", "ude"),
    V("braintree", "braintree"), V("spotify", "fy"), V("flickr", "kr"),
    V("lastfm", "fm"), V("last.fm", "fm"), V("openweather", "nweather"),
    V("newsapi", "wsapi"), V("assemblyai", "yai"), V("airbrake", "rbrake"),
    V("logdna", "gdna"), V("trello", "llo"), V("tmdb", "tmdb"),
    V("elevenlabs", "nlabs"), { NULL, NULL, 0, 0 }
};
#undef V

/* Is a vendor's name at t[at], where one of the anchors was found?  Most
 * anchor hits are other words (include, logger, hello): the anchor's first
 * letter turns nearly all of them away. */
static int vendor_named(const unsigned char *t, size_t n, size_t at)
{
    int v;
    size_t k, s;

    for (v = 0; hex_vendors[v].name; v++) {
        if ((unsigned char)hex_vendors[v].anchor[0] != LLM_LOWER(t[at])
            || at < hex_vendors[v].nl - hex_vendors[v].al) {
            continue;
        }
        s = at - (hex_vendors[v].nl - hex_vendors[v].al);
        if (s + hex_vendors[v].nl > n) {
            continue;
        }
        for (k = 0; k < hex_vendors[v].nl
                    && LLM_LOWER(t[s + k]) == (unsigned char)hex_vendors[v].name[k];
             k++) {
        }
        if (k == hex_vendors[v].nl) {
            return 1;
        }
    }
    return 0;
}

/* What hex of that length is when it is not a key: digests, ids, the
 * arguments of tracking and comparing calls */
static const char *const not_key_words[] = {
    "md5", "sha", "hash", "digest", "checksum", "etag", "integrity",
    "fingerprint", "uuid", "guid", "track", "identify", "alias", "event",
    "assert", "equal", "expect", "verify", "compare", "commit", "revision",
    "nonce", "salt", "trace", "span", "distinct", "cache", NULL
};

/* The callee of the call whose argument list holds t[i] (the identifier
 * before its '(', which may be some lines up), as [*cs, *ce); 0 if there
 * is none after from. */
static int callee_of(const unsigned char *t, size_t ls, size_t i, size_t *cs,
                     size_t *ce)
{
    int depth = 0;
    size_t k = i;

    while (k > ls) {
        unsigned char c = t[--k];
        if (c == ')' || c == ']') {
            depth++;
        }
        else if ((c == '(' || c == '[') && depth-- == 0) {
            break;
        }
    }
    if (k <= ls && t[k] != '(') {
        return 0;
    }
    if (t[k] != '(') {
        return 0;
    }
    *ce = k;
    while (k > ls && (LLM_IS_ALNUM(t[k - 1]) || t[k - 1] == '_'
                      || t[k - 1] == '.' || t[k - 1] == ':' || t[k - 1] == '$')) {
        k--;
    }
    *cs = k;
    return 1;
}

size_t llm_scan_find_vendor_hex(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, from, to, i, k, b, ls, cs, ce;

    if (!vendor_named(t, n, at)) {
        return at + 1;
    }
    from = line_start(t, at, 3, 400);
    to = line_end(t, n, at, 3, 400);
    for (i = from; i + 33 < to; i++) {
        unsigned char q = t[i];
        if ((q != '"' && q != '\'') || t[i + 33] != q) {
            continue;
        }
        for (k = i + 1; k < i + 33 && LLM_IS_HEX(t[k]); k++) {
        }
        if (k != i + 33) {
            continue;
        }
        /* an argument by position: ( or , before it */
        for (b = i; b > from && (t[b - 1] == ' ' || t[b - 1] == '\t'
                                 || t[b - 1] == '\n'); b--) {
        }
        ls = line_start(t, i, 0, 400);
        if (b > from && (t[b - 1] == '(' || t[b - 1] == ',')
            && llm_scan_looks_random(t + i + 1, 32, 1)
            /* not a digest, an id or a value compared or tracked: no such
             * word in the call's name nor before the value on its line */
            && callee_of(t, from, i, &cs, &ce)
            && !llm_scan_context_has(t, n, cs < ls ? cs : ls, i,
                                     not_key_words)) {
            llm_scan_emit(cx, rule, i + 1, 32);
        }
        i += 33;
    }
    return at + 1;
}

/* ---- base64 of a PEM private key -------------------------------------- */

static int b64_char(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '+' || c == '/';
}

size_t llm_scan_find_b64_pem(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, k, line, o, lab;
    unsigned char head[80];

    if (at > 0 && b64_char(t[at - 1])) {
        return at + 1;
    }
    o = llm_scan_b64_decode(t + at, n - at < 104 ? n - at : 104, head,
                            sizeof(head));
    if (o < 20 || memcmp(head, "-----BEGIN ", 11)) {
        return at + 1;
    }
    for (lab = 11; lab + 5 <= o && memcmp(head + lab, "-----", 5); lab++) {
    }
    if (lab + 5 > o || lab < 22 || memcmp(head + lab - 11, "PRIVATE KEY", 11)) {
        /* not "... PRIVATE KEY-----": a certificate, a public key */
        if (!(lab + 5 <= o && lab >= 28
              && !memcmp(head + lab - 17, "PRIVATE KEY BLOCK", 17))) {
            return at + 1;
        }
    }
    /* one line, or lines of 60-80 characters as base64 tools wrap them */
    for (k = at, line = 0; k < n && k - at < 65536;) {
        if (b64_char(t[k])) {
            k++;
            line++;
            continue;
        }
        if (t[k] == '=') {
            while (k < n && t[k] == '=') {
                k++;
            }
            break;
        }
        if (line >= 60 && line <= 80) {
            size_t nl = t[k] == '\r' && k + 1 < n && t[k + 1] == '\n' ? k + 2
                        : t[k] == '\n' ? k + 1
                        : (t[k] == '\\' && k + 1 < n && t[k + 1] == 'n') ? k + 2
                        : 0;
            if (nl && nl < n && b64_char(t[nl])) {
                k = nl;
                line = 0;
                continue;
            }
        }
        break;
    }
    llm_scan_emit(cx, rule, at, k - at);
    return k > at + 1 ? k : at + 1;
}
