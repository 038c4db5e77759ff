/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Keys known by where they stand rather than by a prefix of their own:
 * an AWS secret right after its key id, 32 hex digits passed to a call
 * next to a vendor's name, a PEM private key in base64 (kubeconfig
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

size_t llm_scan_find_vendor_hex(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, from, to, i, k, b;

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
        if (b > from && (t[b - 1] == '(' || t[b - 1] == ',')
            && llm_scan_looks_random(t + i + 1, 32, 1)) {
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
