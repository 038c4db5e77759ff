/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * Decoded views: what a model reads back from text that hides a value
 * from a byte scan.  Invisible format characters (U+200B, U+200C,
 * U+200D, U+2060, U+FEFF, soft hyphen) split a key or an address without
 * changing what it says; percent-encoding (%40, %2540 twice over, or every
 * character of a value) spells it in other bytes.
 *
 * When a cheap trigger fires (a format character present; a %XX escape
 * of a letter, digit or URL delimiter), the text is rewritten into a
 * view, each view byte remembering the raw bytes it came from, and the
 * view is scanned with the same rules.  Findings are mapped back onto the
 * raw text, so redaction replaces the right bytes: all of them, the
 * invisible ones and the escapes included.  Overlap resolution then keeps
 * one finding where the raw scan found (part of) the same value.
 */

#include <string.h>

#include "scan_private.h"

typedef struct {
    unsigned char *t;
    size_t len;
    size_t *from;        /* raw offset of the first byte view byte i came from */
    size_t *to;          /* raw offset just past its last byte */
} view_t;

/* Length of the format character at t[i], or 0. */
static size_t format_char(const unsigned char *t, size_t n, size_t i)
{
    if (t[i] == 0xe2 && i + 2 < n) {
        if (t[i + 1] == 0x80 && t[i + 2] >= 0x8b && t[i + 2] <= 0x8d) {
            return 3;            /* U+200B ZWSP, U+200C ZWNJ, U+200D ZWJ */
        }
        if (t[i + 1] == 0x81 && t[i + 2] == 0xa0) {
            return 3;            /* U+2060 WORD JOINER */
        }
    }
    else if (t[i] == 0xef && i + 2 < n && t[i + 1] == 0xbb && t[i + 2] == 0xbf) {
        return 3;                /* U+FEFF */
    }
    else if (t[i] == 0xc2 && i + 1 < n && t[i + 1] == 0xad) {
        return 2;                /* U+00AD SOFT HYPHEN */
    }
    return 0;
}

static int has_format_chars(const unsigned char *t, size_t n)
{
    static const unsigned char leads[] = { 0xe2, 0xef, 0xc2 };
    const unsigned char *p;
    int k;

    for (k = 0; k < 3; k++) {
        for (p = memchr(t, leads[k], n); p;
             p = memchr(p + 1, leads[k], n - (size_t)(p + 1 - t))) {
            if (format_char(t, n, (size_t)(p - t))) {
                return 1;
            }
            if ((size_t)(p + 1 - t) >= n) {
                break;
            }
        }
    }
    return 0;
}

static int hexval(unsigned char c)
{
    return LLM_IS_DIGIT(c) ? c - '0' : LLM_IS_HEX(c) ? (c | 32) - 'a' + 10 : -1;
}

/* %XX at t[i]: the byte, or -1 */
static int escape_at(const unsigned char *t, size_t n, size_t i)
{
    int h, l;

    if (t[i] != '%' || i + 2 >= n || (h = hexval(t[i + 1])) < 0
        || (l = hexval(t[i + 2])) < 0) {
        return -1;
    }
    return h * 16 + l;
}

/* An escape that can hide part of a value: a letter, digit or one of the
 * delimiters of addresses and credentials.  %20 and %22 (spaces and
 * quotes in URLs) do not make a view. */
static int telling_escape(int b)
{
    return LLM_IS_ALNUM(b) || b == '@' || b == ':' || b == '/' || b == '%'
           || b == '=' || b == '&' || b == '+' || b == '.' || b == '_'
           || b == '-' || b == '?' || b == '#';
}

static int has_escapes(const unsigned char *t, size_t n)
{
    const unsigned char *p;
    int b;

    for (p = memchr(t, '%', n); p; p = memchr(p + 1, '%', n - (size_t)(p + 1 - t))) {
        b = escape_at(t, n, (size_t)(p - t));
        if (b >= 0 && telling_escape(b)) {
            return 1;
        }
        if ((size_t)(p + 1 - t) >= n) {
            break;
        }
    }
    return 0;
}

/* One pass over src (raw text when from is NULL): format characters
 * dropped, %XX decoded when decode is set. */
static void rewrite(apr_pool_t *p, const unsigned char *t, size_t n,
                    const size_t *from, const size_t *to, int decode,
                    int drop_format, view_t *out)
{
    size_t i = 0, o = 0, k;
    int b;

    out->t = apr_palloc(p, n + 1);
    out->from = apr_palloc(p, sizeof(size_t) * (n + 1));
    out->to = apr_palloc(p, sizeof(size_t) * (n + 1));
    while (i < n) {
        if (drop_format && (k = format_char(t, n, i))) {
            i += k;
            continue;
        }
        if (decode && (b = escape_at(t, n, i)) >= 0) {
            out->t[o] = (unsigned char)b;
            out->from[o] = from ? from[i] : i;
            out->to[o] = to ? to[i + 2] : i + 3;
            o++;
            i += 3;
            continue;
        }
        out->t[o] = t[i];
        out->from[o] = from ? from[i] : i;
        out->to[o] = to ? to[i] : i + 1;
        o++;
        i++;
    }
    out->t[o] = '\0';
    out->len = o;
}

/* Scan the view with the same rules and add what it finds, mapped onto
 * the raw text, to the raw scan's candidates. */
static void scan_view(llm_scan_ctx_t *cx, const view_t *v)
{
    llm_scan_ctx_t sub;
    int i;

    memset(&sub, 0, sizeof(sub));
    sub.rs = cx->rs;
    sub.t = v->t;
    sub.len = v->len;
    sub.p = cx->p;
    sub.md = cx->md;
    sub.cands = apr_array_make(cx->p, 8, sizeof(llm_scan_cand_t));
    llm_scan_prefilter_run(&sub);
    if (!sub.error && cx->rs->kw) {
        llm_scan_kw_run(&sub);
    }
    if (sub.error) {
        cx->error = 1;
        return;
    }
    for (i = 0; i < sub.cands->nelts; i++) {
        const llm_scan_cand_t *c = &APR_ARRAY_IDX(sub.cands, i, llm_scan_cand_t);
        llm_scan_cand_t *m = apr_array_push(cx->cands);
        m->off = v->from[c->off];
        m->len = v->to[c->off + c->len - 1] - m->off;
        m->rule = c->rule;
        m->prio = c->prio;
    }
}

void llm_scan_views(llm_scan_ctx_t *cx)
{
    int fmt, pct;
    view_t v, v2;

    if (cx->len < 4) {
        return;
    }
    fmt = has_format_chars(cx->t, cx->len);
    pct = has_escapes(cx->t, cx->len);
    if (!fmt && !pct) {
        return;
    }
    rewrite(cx->p, cx->t, cx->len, NULL, NULL, pct, fmt, &v);
    /* %2540 is %40 once decoded: decode what the first pass uncovered */
    if (pct && has_escapes(v.t, v.len)) {
        rewrite(cx->p, v.t, v.len, v.from, v.to, 1, 0, &v2);
        v = v2;
    }
    scan_view(cx, &v);
}
