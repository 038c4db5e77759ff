/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A PDF's objects for its text reader (pdf_text.c): found by number in the
 * file and in object streams, their dictionaries read as text, streams
 * inflated once within the document's budget, and the fonts each content
 * stream draws with, so that its strings are read through the right
 * ToUnicode map (pdf_cmap.c).
 */

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "pdf_private.h"

void llm_pdf_index_obj(pdf_t *d, long num, const unsigned char *body,
                      size_t blen)
{
    pdf_obj_t *o;
    long *key;

    if (num < 0) {
        return;
    }
    o = apr_pcalloc(d->p, sizeof(*o));
    key = apr_palloc(d->p, sizeof(*key));
    *key = num;
    o->body = body;
    o->blen = blen;
    apr_hash_set(d->objs, key, sizeof(*key), o);  /* a later one wins */
}

long llm_pdf_parse_int(const unsigned char *b, size_t n)
{
    long v = 0;
    size_t k;

    for (k = 0; k < n; k++) {
        if (b[k] < '0' || b[k] > '9' || v > 0x7fffffffL / 10) {
            return -1;
        }
        v = v * 10 + (b[k] - '0');
    }
    return n ? v : -1;
}

/* Inflate a Flate stream within what is left of the document's budget;
 * what a broken stream gives before its fault is kept, as readers do. */
int llm_pdf_inflate(pdf_t *d, apr_pool_t *sp, const unsigned char *in,
                          size_t n, unsigned char **out, size_t *olen)
{
    z_stream z;
    size_t cap = n * 4 + 4096, left = LLM_PDF_INFLATE_MAX - d->inflated;
    unsigned char *buf, *grown;
    int rc;

    memset(&z, 0, sizeof(z));
    if (d->too_large || inflateInit(&z) != Z_OK) {
        return -1;
    }
    if (cap > left) {
        cap = left;
    }
    buf = apr_palloc(sp, cap + 1);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    for (;;) {
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR)) {
            break;
        }
        if (z.avail_out == 0) {
            if (cap >= left) {
                d->too_large = 1;
                break;
            }
            cap = cap * 2 > left ? left : cap * 2;
            grown = apr_palloc(sp, cap + 1);
            memcpy(grown, buf, z.total_out);
            buf = grown;
            z.next_out = buf + z.total_out;
            z.avail_out = (uInt)(cap - z.total_out);
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            break;                      /* input ended early */
        }
    }
    *out = buf;
    *olen = z.total_out;
    d->inflated += z.total_out;
    inflateEnd(&z);
    return 0;
}

int llm_pdf_dict_has(const unsigned char *dict, size_t n, const char *word)
{
    size_t w = strlen(word), k;

    for (k = 0; k + w <= n; k++) {
        if (dict[k] == (unsigned char)word[0] && !memcmp(dict + k, word, w)
            && (k + w == n || llm_pdf_space(dict[k + w]) || llm_pdf_delim(dict[k + w]))) {
            return 1;
        }
    }
    return 0;
}

/* Where the value of a key starts (past white space), or NULL. */
static const unsigned char *dict_value(const unsigned char *dict, size_t n,
                                       const char *key, size_t *left)
{
    size_t w = strlen(key), k;

    for (k = 0; k + w <= n; k++) {
        if (dict[k] == '/' && !memcmp(dict + k, key, w)
            && (k + w == n || llm_pdf_space(dict[k + w]) || llm_pdf_delim(dict[k + w]))) {
            k += w;
            while (k < n && llm_pdf_space(dict[k])) {
                k++;
            }
            *left = n - k;
            return dict + k;
        }
    }
    return NULL;
}

/* A key's value when it is a plain number ("12 0 R" is a reference). */
long llm_pdf_dict_int(const unsigned char *dict, size_t n, const char *key)
{
    const unsigned char *v = dict_value(dict, n, key, &n);
    size_t e, f;

    if (!v) {
        return -1;
    }
    for (e = 0; e < n && v[e] >= '0' && v[e] <= '9'; e++) {
    }
    for (f = e; f < n && llm_pdf_space(v[f]); f++) {
    }
    if (f < n && v[f] >= '0' && v[f] <= '9') {
        return -1;
    }
    return llm_pdf_parse_int(v, e);
}

/* "12 0 R" at v: 12; else -1.  *used: the bytes it took. */
static long ref_at(const unsigned char *v, size_t n, size_t *used)
{
    size_t a = 0, b, c;
    long num;

    while (a < n && v[a] >= '0' && v[a] <= '9') {
        a++;
    }
    num = llm_pdf_parse_int(v, a);
    for (b = a; b < n && llm_pdf_space(v[b]); b++) {
    }
    for (c = b; c < n && v[c] >= '0' && v[c] <= '9'; c++) {
    }
    if (num < 0 || c == b || c == a) {
        return -1;
    }
    while (c < n && llm_pdf_space(v[c])) {
        c++;
    }
    if (c >= n || v[c] != 'R') {
        return -1;
    }
    *used = c + 1;
    return num;
}

const unsigned char *llm_pdf_find(const unsigned char *b, size_t from,
                                 size_t n, const char *word)
{
    const unsigned char *at;
    size_t w = strlen(word);

    while (from + w <= n
           && (at = memchr(b + from, word[0], n - from - w + 1)) != NULL) {
        if (!memcmp(at, word, w)) {
            return at;
        }
        from = (size_t)(at - b) + 1;
    }
    return NULL;
}

pdf_obj_t *llm_pdf_obj(pdf_t *d, long num)
{
    return num < 0 ? NULL : apr_hash_get(d->objs, &num, sizeof(num));
}

/* A stream object's data as read: inflated once, within the budget. */
static const unsigned char *obj_plain(pdf_t *d, pdf_obj_t *o, size_t *len)
{
    unsigned char *plain;

    if (!o->inflated) {
        o->inflated = 1;
        if (!llm_pdf_dict_has(o->body, o->blen, "/Filter")) {
            o->plain = o->data;
            o->plen = o->dlen;
        }
        else if (llm_pdf_dict_has(o->body, o->blen, "/FlateDecode")
                 && llm_pdf_inflate(d, d->p, o->data, o->dlen, &plain,
                                   &o->plen) == 0) {
            o->plain = plain;
        }
    }
    *len = o->plen;
    return o->plain;
}

/* The objects an object stream holds, indexed like the file's own. */
void llm_pdf_index_stream(pdf_t *d, long num, const unsigned char *dict,
                         size_t dn, const unsigned char *data, size_t len)
{
    pdf_obj_t *o = llm_pdf_obj(d, num);
    const unsigned char *plain;
    size_t plen, k = 0, a, first_at, at, end;
    long first, count, inner, off, next;
    int i;

    if (!o) {
        return;
    }
    o->data = data;
    o->dlen = len;
    if (!llm_pdf_dict_has(dict, dn, "/ObjStm")
        || (first = llm_pdf_dict_int(dict, dn, "/First")) < 0
        || (count = llm_pdf_dict_int(dict, dn, "/N")) <= 0
        || (plain = obj_plain(d, o, &plen)) == NULL
        || (size_t)first > plen) {
        return;
    }
    first_at = (size_t)first;
    /* "num offset num offset ...", then the objects from /First on */
    for (i = 0; i < count && i < 100000; i++) {
        for (; k < first_at && llm_pdf_space(plain[k]); k++) {
        }
        for (a = k; k < first_at && plain[k] >= '0' && plain[k] <= '9'; k++) {
        }
        inner = llm_pdf_parse_int(plain + a, k - a);
        for (; k < first_at && llm_pdf_space(plain[k]); k++) {
        }
        for (a = k; k < first_at && plain[k] >= '0' && plain[k] <= '9'; k++) {
        }
        off = llm_pdf_parse_int(plain + a, k - a);
        if (inner < 0 || off < 0 || first_at + (size_t)off > plen) {
            return;
        }
        at = first_at + (size_t)off;
        /* it ends where the next begins, or with the stream */
        for (a = k; a < first_at && llm_pdf_space(plain[a]); a++) {
        }
        while (a < first_at && plain[a] >= '0' && plain[a] <= '9') {
            a++;
        }
        for (; a < first_at && llm_pdf_space(plain[a]); a++) {
        }
        for (end = a; end < first_at && plain[end] >= '0'
             && plain[end] <= '9'; end++) {
        }
        next = i + 1 < count ? llm_pdf_parse_int(plain + a, end - a) : -1;
        end = next >= 0 && first_at + (size_t)next >= at
            && first_at + (size_t)next <= plen ? first_at + (size_t)next
                                                : plen;
        if (!llm_pdf_obj(d, inner)) {           /* the file's own copy wins */
            llm_pdf_index_obj(d, inner, plain + at, end - at);
        }
    }
}

/* The map of the font object num refers to (its /ToUnicode), if any. */
static const llm_pdf_cmap_t *font_cmap(pdf_t *d, long font)
{
    pdf_obj_t *fo = llm_pdf_obj(d, font), *mo;
    const unsigned char *v, *plain;
    size_t left, used, plen;
    long map;
    llm_pdf_cmap_t *cm;
    long *key;

    if (!fo || !(v = dict_value(fo->body, fo->blen, "/ToUnicode", &left))
        || (map = ref_at(v, left, &used)) < 0) {
        return NULL;
    }
    if ((cm = apr_hash_get(d->cmaps, &map, sizeof(map))) != NULL) {
        return cm;
    }
    if (!(mo = llm_pdf_obj(d, map)) || !mo->data
        || !(plain = obj_plain(d, mo, &plen))) {
        return NULL;
    }
    if ((cm = llm_pdf_cmap_parse(d->p, plain, plen)) != NULL) {
        key = apr_palloc(d->p, sizeof(*key));
        *key = map;
        apr_hash_set(d->cmaps, key, sizeof(*key), cm);
    }
    return cm;
}

/* A /Font dictionary (at v, or the object it refers to): name -> map. */
static apr_hash_t *font_dict(pdf_t *d, const unsigned char *v, size_t n)
{
    apr_hash_t *fonts = apr_hash_make(d->p);
    pdf_obj_t *o;
    const llm_pdf_cmap_t *cm;
    size_t k, used, e;
    long ref;
    char *name;

    if ((ref = ref_at(v, n, &used)) >= 0) {
        if (!(o = llm_pdf_obj(d, ref))) {
            return fonts;
        }
        v = o->body;
        n = o->blen;
        for (k = 0; k < n && llm_pdf_space(v[k]); k++) {
        }
        v += k;
        n -= k;
    }
    if (n < 2 || v[0] != '<' || v[1] != '<') {
        return fonts;
    }
    for (k = 2; k < n && v[k] != '>';) {
        if (v[k] != '/') {
            k++;
            continue;
        }
        for (e = k + 1; e < n && !llm_pdf_space(v[e]) && !llm_pdf_delim(v[e]); e++) {
        }
        name = apr_pstrmemdup(d->p, (const char *)v + k + 1, e - k - 1);
        while (e < n && llm_pdf_space(v[e])) {
            e++;
        }
        if ((ref = ref_at(v + e, n - e, &used)) >= 0) {
            e += used;
            if ((cm = font_cmap(d, ref)) != NULL) {
                apr_hash_set(fonts, name, APR_HASH_KEY_STRING, cm);
                if (!apr_hash_get(d->any_fonts, name, APR_HASH_KEY_STRING)) {
                    apr_hash_set(d->any_fonts, name, APR_HASH_KEY_STRING, cm);
                }
            }
        }
        k = e;
    }
    return fonts;
}

/* The fonts of a page or form: its /Resources (inherited from the page
 * tree when the page has none), their /Font. */
static apr_hash_t *resource_fonts(pdf_t *d, const unsigned char *body,
                                  size_t n, int depth)
{
    const unsigned char *v;
    size_t left, used;
    long ref;
    pdf_obj_t *o;

    if ((v = dict_value(body, n, "/Resources", &left)) != NULL) {
        if ((ref = ref_at(v, left, &used)) >= 0) {
            if (!(o = llm_pdf_obj(d, ref))) {
                return NULL;
            }
            v = o->body;
            left = o->blen;
        }
        if ((v = dict_value(v, left, "/Font", &left)) == NULL) {
            return NULL;
        }
        return font_dict(d, v, left);
    }
    if (depth < 16 && (v = dict_value(body, n, "/Parent", &left)) != NULL
        && (ref = ref_at(v, left, &used)) >= 0 && (o = llm_pdf_obj(d, ref))) {
        return resource_fonts(d, o->body, o->blen, depth + 1);
    }
    return NULL;
}

static void content_fonts(pdf_t *d, long content, apr_hash_t *fonts)
{
    long *key = apr_palloc(d->p, sizeof(*key));

    *key = content;
    apr_hash_set(d->content_fonts, key, sizeof(*key), fonts);
}

/* Which fonts each content stream draws with: a page's for the streams
 * of its /Contents, a form's own for its stream. */
void llm_pdf_map_fonts(pdf_t *d)
{
    apr_hash_index_t *hi;
    pdf_obj_t *o;
    const long *num;
    const unsigned char *v;
    size_t left, used, k;
    apr_hash_t *fonts;
    long ref;

    for (hi = apr_hash_first(d->p, d->objs); hi; hi = apr_hash_next(hi)) {
        apr_hash_this(hi, (const void **)&num, NULL, (void **)&o);
        if (o->data && llm_pdf_dict_has(o->body, o->blen, "/Resources")) {
            if ((fonts = resource_fonts(d, o->body, o->blen, 0)) != NULL) {
                content_fonts(d, *num, fonts);
            }
            continue;
        }
        if (!(v = dict_value(o->body, o->blen, "/Contents", &left))
            || (v[0] != '[' && !(v[0] >= '0' && v[0] <= '9'))) {
            continue;                   /* no page (an annotation's text) */
        }
        fonts = resource_fonts(d, o->body, o->blen, 0);
        if (!fonts) {
            continue;
        }
        for (k = v[0] == '[' ? 1 : 0; k < left && v[k] != ']';) {
            if ((ref = ref_at(v + k, left - k, &used)) >= 0) {
                content_fonts(d, ref, fonts);
                k += used;
            }
            else if (v[0] != '[') {
                break;
            }
            else {
                k++;
            }
        }
    }
}

/* A font named by Tf: the content's own, else the first of that name. */
const llm_pdf_cmap_t *llm_pdf_font_map(pdf_t *d, const char *name, size_t len)
{
    const llm_pdf_cmap_t *cm = NULL;

    if (d->fonts) {
        cm = apr_hash_get(d->fonts, name, (apr_ssize_t)len);
    }
    return cm ? cm : apr_hash_get(d->any_fonts, name, (apr_ssize_t)len);
}

/* The trailer names an encryption dictionary: "/Encrypt 12 0 R" or
 * "/Encrypt <<". */
int llm_pdf_encrypted(const unsigned char *b, size_t n)
{
    const unsigned char *at;
    size_t k;

    for (k = 0; (at = llm_pdf_find(b, k, n, "/Encrypt")) != NULL;
         k = (size_t)(at - b) + 8) {
        size_t e = (size_t)(at - b) + 8;

        while (e < n && llm_pdf_space(b[e])) {
            e++;
        }
        if (e < n && ((b[e] >= '0' && b[e] <= '9') || b[e] == '<')) {
            return 1;
        }
    }
    return 0;
}
