/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A font's ToUnicode map: how the codes a PDF's strings hold (for CID
 * fonts, 2-byte glyph ids that say nothing by themselves) become text.
 * Writers that embed subset fonts (browsers' "print to PDF", office
 * exports of non-Latin text) draw every character this way; a reader --
 * and a provider giving the model a PDF's text -- goes through this map,
 * so the scan does too.  Only what text needs is read: the code space
 * (how many bytes a code takes) and the bfchar / bfrange mappings.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_tables.h"

#include "dialect_private.h"

/* mappings kept of one map: a real font has a few thousand at most */
#define CMAP_MAX_ENTRIES 65536

typedef struct {
    apr_uint32_t lo, hi;
    int len;                            /* code bytes */
} space_t;

typedef struct {
    apr_uint32_t lo, hi;
    const unsigned char *dst;           /* UTF-16BE of lo */
    size_t dlen;
    apr_array_header_t *each;           /* or one dst per code (array form) */
} entry_t;

struct llm_pdf_cmap {
    apr_array_header_t *spaces;         /* space_t */
    apr_array_header_t *entries;        /* entry_t, by lo */
};

typedef struct {
    const unsigned char *s;             /* decoded bytes of a hex string */
    size_t n;
} hex_t;

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
        || c == 0;
}

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The next token: a hex string (*h filled, returns 'h'), '[' or ']', a
 * keyword (returns 'k', *kw and *kwlen), or 0 at the end. */
static int token(apr_pool_t *p, const unsigned char *b, size_t n, size_t *i,
                 hex_t *h, const unsigned char **kw, size_t *kwlen)
{
    size_t k = *i, j;
    unsigned char *o;
    int hi = -1, v;

    while (k < n) {
        if (is_ws(b[k])) {
            k++;
        }
        else if (b[k] == '%') {
            while (k < n && b[k] != '\n' && b[k] != '\r') {
                k++;
            }
        }
        else {
            break;
        }
    }
    if (k >= n) {
        *i = k;
        return 0;
    }
    if (b[k] == '<' && !(k + 1 < n && b[k + 1] == '<')) {
        for (j = k + 1; j < n && b[j] != '>'; j++) {
        }
        o = apr_palloc(p, (j - k) / 2 + 2);
        h->n = 0;
        for (k++; k < j; k++) {
            if ((v = hexv(b[k])) < 0) {
                continue;
            }
            if (hi < 0) {
                hi = v;
            }
            else {
                o[h->n++] = (unsigned char)(hi << 4 | v);
                hi = -1;
            }
        }
        if (hi >= 0) {
            o[h->n++] = (unsigned char)(hi << 4);
        }
        h->s = o;
        *i = j < n ? j + 1 : j;
        return 'h';
    }
    if (b[k] == '[' || b[k] == ']') {
        *i = k + 1;
        return b[k];
    }
    for (j = k + 1; j < n && !is_ws(b[j]) && b[j] != '<' && b[j] != '['
         && b[j] != ']' && b[j] != '/' && b[j] != '(' && b[j] != '%'; j++) {
    }
    *kw = b + k;
    *kwlen = j - k;
    *i = j;
    return 'k';
}

static apr_uint32_t code_of(const unsigned char *s, size_t n)
{
    apr_uint32_t v = 0;
    size_t k;

    for (k = 0; k < n && k < 4; k++) {
        v = v << 8 | s[k];
    }
    return v;
}

static int kw_is(const unsigned char *kw, size_t n, const char *word)
{
    return strlen(word) == n && !memcmp(kw, word, n);
}

static int entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

llm_pdf_cmap_t *llm_pdf_cmap_parse(apr_pool_t *p, const unsigned char *b,
                                   size_t n)
{
    llm_pdf_cmap_t *cm = apr_pcalloc(p, sizeof(*cm));
    const unsigned char *kw = NULL;
    size_t i = 0, kwlen = 0;
    hex_t h[3];
    int t, state = 0, have = 0;
    entry_t *e;
    space_t *sp;

    cm->spaces = apr_array_make(p, 2, sizeof(space_t));
    cm->entries = apr_array_make(p, 64, sizeof(entry_t));
    while ((t = token(p, b, n, &i, &h[have < 3 ? have : 2], &kw, &kwlen))) {
        if (t == 'k') {
            if (kw_is(kw, kwlen, "begincodespacerange")) {
                state = 1;
            }
            else if (kw_is(kw, kwlen, "beginbfchar")) {
                state = 2;
            }
            else if (kw_is(kw, kwlen, "beginbfrange")) {
                state = 3;
            }
            else if (kwlen > 3 && !memcmp(kw, "end", 3)) {
                state = 0;
            }
            have = 0;
            continue;
        }
        if (state == 0 || cm->entries->nelts >= CMAP_MAX_ENTRIES) {
            have = 0;
            continue;
        }
        if (t == '[' && state == 3 && have == 2) {
            /* lo hi [dst dst ...]: one destination per code */
            e = apr_array_push(cm->entries);
            e->lo = code_of(h[0].s, h[0].n);
            e->hi = code_of(h[1].s, h[1].n);
            e->dst = NULL;
            e->dlen = 0;
            e->each = apr_array_make(p, 8, sizeof(hex_t));
            while ((t = token(p, b, n, &i, &h[2], &kw, &kwlen)) == 'h') {
                *(hex_t *)apr_array_push(e->each) = h[2];
            }
            have = 0;
            continue;
        }
        if (t != 'h') {
            have = 0;
            continue;
        }
        have++;
        if (state == 1 && have == 2) {
            sp = apr_array_push(cm->spaces);
            sp->lo = code_of(h[0].s, h[0].n);
            sp->hi = code_of(h[1].s, h[1].n);
            sp->len = h[0].n >= 1 && h[0].n <= 4 ? (int)h[0].n : 1;
            have = 0;
        }
        else if (state == 2 && have == 2) {
            e = apr_array_push(cm->entries);
            e->lo = e->hi = code_of(h[0].s, h[0].n);
            e->dst = h[1].s;
            e->dlen = h[1].n;
            e->each = NULL;
            have = 0;
        }
        else if (state == 3 && have == 3) {
            e = apr_array_push(cm->entries);
            e->lo = code_of(h[0].s, h[0].n);
            e->hi = code_of(h[1].s, h[1].n);
            e->dst = h[2].s;
            e->dlen = h[2].n;
            e->each = NULL;
            have = 0;
        }
    }
    if (cm->entries->nelts == 0) {
        return NULL;
    }
    qsort(cm->entries->elts, (size_t)cm->entries->nelts, sizeof(entry_t),
          entry_cmp);
    if (cm->spaces->nelts == 0) {
        sp = apr_array_push(cm->spaces);        /* the usual: 2 bytes */
        sp->lo = 0;
        sp->hi = 0xffff;
        sp->len = 2;
    }
    return cm;
}

static void put_utf16(const unsigned char *s, size_t n, apr_uint32_t add,
                      void (*put)(void *, const char *, size_t), void *baton)
{
    size_t k;
    apr_uint32_t u, lo;
    char o[4];
    size_t m;

    for (k = 0; k + 1 < n; k += 2) {
        u = (apr_uint32_t)s[k] << 8 | s[k + 1];
        if (k + 2 >= n) {
            u += add;                   /* a range counts up its last unit */
        }
        if (u >= 0xd800 && u < 0xdc00 && k + 3 < n) {
            lo = (apr_uint32_t)s[k + 2] << 8 | s[k + 3];
            if (k + 4 >= n) {
                lo += add;
            }
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            k += 2;
        }
        if (u < 0x80) {
            o[0] = (char)u;
            m = 1;
        }
        else if (u < 0x800) {
            o[0] = (char)(0xc0 | (u >> 6));
            o[1] = (char)(0x80 | (u & 0x3f));
            m = 2;
        }
        else if (u < 0x10000) {
            o[0] = (char)(0xe0 | (u >> 12));
            o[1] = (char)(0x80 | ((u >> 6) & 0x3f));
            o[2] = (char)(0x80 | (u & 0x3f));
            m = 3;
        }
        else {
            o[0] = (char)(0xf0 | ((u >> 18) & 0x07));
            o[1] = (char)(0x80 | ((u >> 12) & 0x3f));
            o[2] = (char)(0x80 | ((u >> 6) & 0x3f));
            o[3] = (char)(0x80 | (u & 0x3f));
            m = 4;
        }
        put(baton, o, m);
    }
}

static const entry_t *lookup(const llm_pdf_cmap_t *cm, apr_uint32_t code)
{
    const entry_t *e = (const entry_t *)cm->entries->elts;
    int lo = 0, hi = cm->entries->nelts - 1, mid;

    /* the last entry starting at or below code */
    while (lo < hi) {
        mid = (lo + hi + 1) / 2;
        if (e[mid].lo <= code) {
            lo = mid;
        }
        else {
            hi = mid - 1;
        }
    }
    return e[lo].lo <= code && code <= e[lo].hi ? &e[lo] : NULL;
}

void llm_pdf_cmap_decode(const llm_pdf_cmap_t *cm, const unsigned char *s,
                         size_t n, void (*put)(void *, const char *, size_t),
                         void *baton)
{
    const space_t *sp = (const space_t *)cm->spaces->elts;
    const entry_t *e;
    const hex_t *one;
    size_t k = 0;
    apr_uint32_t code;
    int j, len;

    while (k < n) {
        len = 1;
        for (j = 0; j < cm->spaces->nelts; j++) {
            if ((size_t)sp[j].len <= n - k) {
                code = code_of(s + k, (size_t)sp[j].len);
                if (code >= sp[j].lo && code <= sp[j].hi) {
                    len = sp[j].len;
                    break;
                }
            }
        }
        code = code_of(s + k, (size_t)len);
        k += (size_t)len;
        if ((e = lookup(cm, code)) == NULL) {
            continue;                   /* no text for this glyph */
        }
        if (e->each) {
            if (code - e->lo < (apr_uint32_t)e->each->nelts) {
                one = &APR_ARRAY_IDX(e->each, code - e->lo, hex_t);
                put_utf16(one->s, one->n, 0, put, baton);
            }
        }
        else {
            put_utf16(e->dst, e->dlen, code - e->lo, put, baton);
        }
    }
}
