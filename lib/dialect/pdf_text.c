/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The text a provider would take out of a PDF sent as a document: the
 * strings its pages show and the strings of its dictionaries (document
 * information, annotations, form fields, links), from plain and
 * Flate-compressed streams.  The providers give the model a PDF's text, so
 * a secret typed into a PDF reaches the model like one typed into a
 * message; the gateway scans this text instead of waving the file through
 * as binary.
 *
 * Not a PDF renderer: glyph positions are not followed, only the order of
 * the show operators (a value drawn as one run, or as pieces of one text
 * object, comes out whole).  A string shown in a font with a ToUnicode map
 * (pdf_cmap.c) is read through it -- the only way to text for fonts whose
 * codes are glyph ids -- and as its bytes otherwise; text drawn as images
 * is not read (see docs/dialect.md).  Encrypted PDFs and PDFs whose streams inflate past
 * LLM_PDF_INFLATE_MAX cannot be read, and the caller refuses them rather
 * than forward what it could not scan.
 */

#include <string.h>
#include <zlib.h>

#include <stdint.h>
#include <stdlib.h>

#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "dialect_private.h"

/* All inflated streams of one document together; a 30 MB request of
 * compressed text inflates to far less, a deflate bomb to far more. */
#define LLM_PDF_INFLATE_MAX (64u * 1024u * 1024u)

/* One object of the document: its dictionary (or other body) and, for a
 * stream, its data as sent and, once inflated, as read. */
typedef struct {
    const unsigned char *body;
    size_t blen;
    const unsigned char *data;
    size_t dlen;
    const unsigned char *plain;
    size_t plen;
    int inflated;
} pdf_obj_t;

typedef struct {
    apr_pool_t *p;
    char *out;
    size_t len, cap;
    size_t inflated;
    int too_large;
    apr_hash_t *objs;           /* object number -> pdf_obj_t */
    apr_hash_t *cmaps;          /* object number of a map -> its cmap */
    apr_hash_t *content_fonts;  /* content stream's number -> its fonts */
    apr_hash_t *any_fonts;      /* font name -> the first such font's map */
    apr_hash_t *fonts;          /* the fonts of the content being read */
    const llm_pdf_cmap_t *font; /* the map of the font in use, if any */
} pdf_t;

static void put(pdf_t *d, const void *b, size_t n)
{
    char *grown;

    if (n == 0) {
        return;
    }
    if (d->len + n > d->cap) {
        d->cap = (d->len + n) * 2 + 256;
        grown = apr_palloc(d->p, d->cap);
        if (d->len) {
            memcpy(grown, d->out, d->len);
        }
        d->out = grown;
    }
    memcpy(d->out + d->len, b, n);
    d->len += n;
}

/* A byte of a string: Latin-1 above ASCII, as the simple encodings give
 * it, so that the scanner sees UTF-8. */
static void put_byte(pdf_t *d, unsigned char c)
{
    char two[2];

    if (c < 0x80) {
        put(d, &c, 1);
        return;
    }
    two[0] = (char)(0xc0 | (c >> 6));
    two[1] = (char)(0x80 | (c & 0x3f));
    put(d, two, 2);
}

static void put_sep(pdf_t *d)
{
    if (d->len && d->out[d->len - 1] != '\n') {
        put(d, "\n", 1);
    }
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
        || c == 0;
}

static int is_delim(unsigned char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '['
        || c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A literal string from just past its '(' into *o (bytes, escapes
 * undone); returns the index past its ')'. */
static size_t literal(const unsigned char *b, size_t i, size_t n,
                      unsigned char *o, size_t *olen)
{
    int depth = 1, v, k;
    size_t m = 0;

    while (i < n) {
        unsigned char c = b[i++];

        if (c == '\\' && i < n) {
            c = b[i++];
            switch (c) {
            case 'n': o[m++] = '\n'; break;
            case 'r': o[m++] = '\r'; break;
            case 't': o[m++] = '\t'; break;
            case 'b': o[m++] = '\b'; break;
            case 'f': o[m++] = '\f'; break;
            case '\r':
                if (i < n && b[i] == '\n') {
                    i++;
                }
                break;                  /* a continued line */
            case '\n':
                break;
            default:
                if (c >= '0' && c <= '7') {
                    v = c - '0';
                    for (k = 0; k < 2 && i < n && b[i] >= '0' && b[i] <= '7';
                         k++) {
                        v = v * 8 + (b[i++] - '0');
                    }
                    o[m++] = (unsigned char)v;
                }
                else {
                    o[m++] = c;         /* \( \) \\ and any other */
                }
            }
            continue;
        }
        if (c == '(') {
            depth++;
        }
        else if (c == ')' && --depth == 0) {
            break;
        }
        o[m++] = c;
    }
    *olen = m;
    return i;
}

/* A hex string from just past its '<'; returns the index past its '>'. */
static size_t hexstr(const unsigned char *b, size_t i, size_t n,
                     unsigned char *o, size_t *olen)
{
    int hi = -1, v;
    size_t m = 0;

    for (; i < n && b[i] != '>'; i++) {
        if ((v = hexval(b[i])) < 0) {
            continue;                   /* white space */
        }
        if (hi < 0) {
            hi = v;
        }
        else {
            o[m++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        o[m++] = (unsigned char)(hi << 4);
    }
    *olen = m;
    return i < n ? i + 1 : i;
}

/* A string of a dictionary: UTF-16BE when it says so, else bytes. */
static void put_text_string(pdf_t *d, const unsigned char *s, size_t n)
{
    size_t k;
    unsigned int u;
    char utf[3];

    if (n >= 2 && s[0] == 0xfe && s[1] == 0xff) {
        for (k = 2; k + 1 < n; k += 2) {
            u = (unsigned int)s[k] << 8 | s[k + 1];
            if (u < 0x80) {
                utf[0] = (char)u;
                put(d, utf, 1);
            }
            else if (u < 0x800) {
                utf[0] = (char)(0xc0 | (u >> 6));
                utf[1] = (char)(0x80 | (u & 0x3f));
                put(d, utf, 2);
            }
            else {
                utf[0] = (char)(0xe0 | (u >> 12));
                utf[1] = (char)(0x80 | ((u >> 6) & 0x3f));
                utf[2] = (char)(0x80 | (u & 0x3f));
                put(d, utf, 3);
            }
        }
        return;
    }
    for (k = 0; k < n; k++) {
        put_byte(d, s[k]);
    }
}

enum { PDF_CONTENT, PDF_DICTS, PDF_FILE, PDF_INDEX };

static void stream(pdf_t *d, long num, const unsigned char *dict, size_t dn,
                   const unsigned char *data, size_t len);
static void index_stream(pdf_t *d, long num, const unsigned char *dict,
                         size_t dn, const unsigned char *data, size_t len);
static const unsigned char *find(const unsigned char *b, size_t from,
                                 size_t n, const char *word);
static long dict_int(const unsigned char *dict, size_t n, const char *key);
static const llm_pdf_cmap_t *font_map(pdf_t *d, const char *name,
                                      size_t len);

static void put_cb(void *baton, const char *s, size_t n)
{
    put(baton, s, n);
}

/* Bytes a text-showing operator draws: through the font's map, or as
 * bytes of a simple encoding. */
static void put_shown(pdf_t *d, const unsigned char *s, size_t n)
{
    size_t k;

    if (d->font) {
        llm_pdf_cmap_decode(d->font, s, n, put_cb, d);
        return;
    }
    for (k = 0; k < n; k++) {
        put_byte(d, s[k]);
    }
}

/* Past a stream's data, from just past its "stream" keyword at kw; the
 * dictionary runs from the object's start to kw. */
static size_t file_stream(pdf_t *d, const unsigned char *b, size_t n,
                          long num, size_t obj_at, size_t kw, size_t after,
                          int mode)
{
    const unsigned char *data = b + after, *end;
    long slen;

    if (data < b + n && *data == '\r') {
        data++;
    }
    if (data < b + n && *data == '\n') {
        data++;
    }
    slen = dict_int(b + obj_at, kw - obj_at, "/Length");
    if (slen >= 0 && (size_t)slen <= n - (size_t)(data - b)
        && (end = find(b, (size_t)(data - b) + (size_t)slen, n,
                       "endstream")) != NULL
        && (size_t)(end - data) - (size_t)slen <= 2) {
        end = data + slen;
    }
    else if ((end = find(b, (size_t)(data - b), n, "endstream")) == NULL) {
        end = b + n;
    }
    if (mode == PDF_INDEX) {
        index_stream(d, num, b + obj_at, kw - obj_at, data,
                     (size_t)(end - data));
    }
    else {
        stream(d, num, b + obj_at, kw - obj_at, data, (size_t)(end - data));
    }
    end = find(b, (size_t)(end - b), n, "endstream");
    return end ? (size_t)(end - b) + 9 : n;
}

static void index_obj(pdf_t *d, long num, const unsigned char *body,
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

static long parse_int(const unsigned char *b, size_t n)
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

/*
 * One tokenizer for four kinds of bytes.  Page content (PDF_CONTENT):
 * the operands of the text-showing operators (Tj, TJ, ' and "), in order,
 * in the font Tf chose; the strings of one text object run on without a
 * break unless it moves to a new line, so that a value drawn in pieces is
 * read whole, and a wide gap inside a TJ array reads as a space.
 * Dictionaries (PDF_DICTS, the objects of an object stream): every literal
 * string.  The whole file (PDF_FILE): dictionaries, and each stream where
 * its keyword stands as a token -- never inside a string, where "stream"
 * is only a word.  PDF_INDEX: the file's objects by number, nothing read.
 */
static void walk(pdf_t *d, const unsigned char *b, size_t n, int mode)
{
    apr_pool_t *wp;
    apr_array_header_t *pending;
    unsigned char *tmp = NULL;
    size_t tmpcap = 0, i = 0, j, slen, obj_at = 0;
    int in_array = 0, k;
    typedef struct { size_t at, len; int gap; } run_t;
    run_t *r;
    char *runs_buf = NULL, num[32];
    size_t runs_len = 0, runs_cap = 0;
    const unsigned char *name = NULL;
    size_t name_len = 0;
    long int1 = -1, int2 = -1, obj_num = -1, v;
    int in_obj = 0;

    /* scratch of this walk only: a string is at most as long as the
     * bytes it is written in */
    apr_pool_create(&wp, d->p);
    pending = apr_array_make(wp, 8, sizeof(run_t));
    while (i < n) {
        unsigned char c = b[i];

        if (is_space(c)) {
            i++;
            continue;
        }
        if (c == '%') {
            while (i < n && b[i] != '\n' && b[i] != '\r') {
                i++;
            }
            continue;
        }
        if (c == '(' || (c == '<' && (i + 1 >= n || b[i + 1] != '<'))) {
            int1 = int2 = -1;
            if (tmpcap < n - i) {
                tmpcap = n - i;
                tmp = apr_palloc(wp, tmpcap);
            }
            i = c == '(' ? literal(b, i + 1, n, tmp, &slen)
                         : hexstr(b, i + 1, n, tmp, &slen);
            if (mode != PDF_CONTENT) {
                if (c == '(' && slen && mode != PDF_INDEX) {
                    put_text_string(d, tmp, slen);
                    put_sep(d);
                }
                continue;
            }
            if (slen == 0) {
                continue;
            }
            if (runs_len + slen > runs_cap) {
                char *grown;

                runs_cap = (runs_len + slen) * 2 + 64;
                grown = apr_palloc(wp, runs_cap);
                if (runs_len) {
                    memcpy(grown, runs_buf, runs_len);
                }
                runs_buf = grown;
            }
            memcpy(runs_buf + runs_len, tmp, slen);
            r = apr_array_push(pending);
            r->at = runs_len;
            r->len = slen;
            r->gap = 0;
            runs_len += slen;
            continue;
        }
        if ((c == '<' || c == '>') && i + 1 < n && b[i + 1] == c) {
            i += 2;                     /* a dictionary's bounds */
            int1 = int2 = -1;
            continue;
        }
        if (c == '[' || c == ']') {
            in_array = c == '[';
            int1 = int2 = -1;
            i++;
            continue;
        }
        if (c == '<' || c == '>' || c == '{' || c == '}' || c == ')') {
            i++;
            continue;
        }
        /* a name, a number or a keyword: one token */
        j = i + 1;
        while (j < n && !is_space(b[j]) && !is_delim(b[j])) {
            j++;
        }
        if (mode != PDF_CONTENT) {
            if (mode == PDF_DICTS) {
                i = j;
                continue;
            }
            if (j - i == 3 && !memcmp(b + i, "obj", 3)) {
                obj_num = int2;         /* "12 0 obj" */
                obj_at = j;
                in_obj = 1;
            }
            else if (j - i == 6 && !memcmp(b + i, "endobj", 6)) {
                if (in_obj && mode == PDF_INDEX) {
                    index_obj(d, obj_num, b + obj_at, i - obj_at);
                }
                in_obj = 0;
            }
            else if (j - i == 6 && !memcmp(b + i, "stream", 6)) {
                if (mode == PDF_INDEX && in_obj) {
                    index_obj(d, obj_num, b + obj_at, i - obj_at);
                }
                j = file_stream(d, b, n, in_obj ? obj_num : -1, obj_at, i, j,
                                mode);
                in_obj = 0;
                obj_at = j;
            }
            v = parse_int(b + i, j - i);
            int2 = int1;
            int1 = v;
            i = j;
            continue;
        }
        if (c == '/') {
            name = b + i + 1;
            name_len = j - i - 1;
            i = j;
            continue;
        }
        if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
            /* a kerning gap wider than a quarter of the font's size is
             * a space to any reader */
            if (in_array && pending->nelts && j - i < sizeof(num)) {
                memcpy(num, b + i, j - i);
                num[j - i] = '\0';
                if (strtod(num, NULL) <= -250.0) {
                    ((run_t *)pending->elts)[pending->nelts - 1].gap = 1;
                }
            }
            i = j;
            continue;
        }
        if ((j - i == 2 && (!memcmp(b + i, "Tj", 2)
                            || !memcmp(b + i, "TJ", 2)))
            || (j - i == 1 && (c == '\'' || c == '"'))) {
            if (c == '\'' || c == '"') {
                put_sep(d);             /* next line, then show */
            }
            for (k = 0; k < pending->nelts; k++) {
                r = &((run_t *)pending->elts)[k];
                put_shown(d, (const unsigned char *)runs_buf + r->at,
                          r->len);
                if (r->gap) {
                    put(d, " ", 1);
                }
            }
        }
        else if (j - i == 2 && !memcmp(b + i, "Tf", 2)) {
            d->font = name ? font_map(d, (const char *)name, name_len)
                           : NULL;
        }
        else if (j - i == 2 && (!memcmp(b + i, "Td", 2)
                                || !memcmp(b + i, "TD", 2)
                                || !memcmp(b + i, "T*", 2)
                                || !memcmp(b + i, "Tm", 2)
                                || !memcmp(b + i, "ET", 2)
                                || !memcmp(b + i, "BT", 2))) {
            put_sep(d);
        }
        /* any operator takes the operands before it */
        apr_array_clear(pending);
        runs_len = 0;
        in_array = 0;
        name = NULL;
        i = j;
    }
    if (mode != PDF_INDEX) {
        put_sep(d);
    }
    apr_pool_destroy(wp);
}

/* Inflate a Flate stream within what is left of the document's budget;
 * what a broken stream gives before its fault is kept, as readers do. */
static int inflate_stream(pdf_t *d, apr_pool_t *sp, const unsigned char *in,
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

static int dict_has(const unsigned char *dict, size_t n, const char *word)
{
    size_t w = strlen(word), k;

    for (k = 0; k + w <= n; k++) {
        if (dict[k] == (unsigned char)word[0] && !memcmp(dict + k, word, w)
            && (k + w == n || is_space(dict[k + w]) || is_delim(dict[k + w]))) {
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
            && (k + w == n || is_space(dict[k + w]) || is_delim(dict[k + w]))) {
            k += w;
            while (k < n && is_space(dict[k])) {
                k++;
            }
            *left = n - k;
            return dict + k;
        }
    }
    return NULL;
}

/* A key's value when it is a plain number ("12 0 R" is a reference). */
static long dict_int(const unsigned char *dict, size_t n, const char *key)
{
    const unsigned char *v = dict_value(dict, n, key, &n);
    size_t e, f;

    if (!v) {
        return -1;
    }
    for (e = 0; e < n && v[e] >= '0' && v[e] <= '9'; e++) {
    }
    for (f = e; f < n && is_space(v[f]); f++) {
    }
    if (f < n && v[f] >= '0' && v[f] <= '9') {
        return -1;
    }
    return parse_int(v, e);
}

/* "12 0 R" at v: 12; else -1.  *used: the bytes it took. */
static long ref_at(const unsigned char *v, size_t n, size_t *used)
{
    size_t a = 0, b, c;
    long num;

    while (a < n && v[a] >= '0' && v[a] <= '9') {
        a++;
    }
    num = parse_int(v, a);
    for (b = a; b < n && is_space(v[b]); b++) {
    }
    for (c = b; c < n && v[c] >= '0' && v[c] <= '9'; c++) {
    }
    if (num < 0 || c == b || c == a) {
        return -1;
    }
    while (c < n && is_space(v[c])) {
        c++;
    }
    if (c >= n || v[c] != 'R') {
        return -1;
    }
    *used = c + 1;
    return num;
}

static const unsigned char *find(const unsigned char *b, size_t from,
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

static pdf_obj_t *obj(pdf_t *d, long num)
{
    return num < 0 ? NULL : apr_hash_get(d->objs, &num, sizeof(num));
}

/* A stream object's data as read: inflated once, within the budget. */
static const unsigned char *obj_plain(pdf_t *d, pdf_obj_t *o, size_t *len)
{
    unsigned char *plain;

    if (!o->inflated) {
        o->inflated = 1;
        if (!dict_has(o->body, o->blen, "/Filter")) {
            o->plain = o->data;
            o->plen = o->dlen;
        }
        else if (dict_has(o->body, o->blen, "/FlateDecode")
                 && inflate_stream(d, d->p, o->data, o->dlen, &plain,
                                   &o->plen) == 0) {
            o->plain = plain;
        }
    }
    *len = o->plen;
    return o->plain;
}

/* The objects an object stream holds, indexed like the file's own. */
static void index_stream(pdf_t *d, long num, const unsigned char *dict,
                         size_t dn, const unsigned char *data, size_t len)
{
    pdf_obj_t *o = obj(d, num);
    const unsigned char *plain;
    size_t plen, k = 0, a, first_at, at, end;
    long first, count, inner, off, next;
    int i;

    if (!o) {
        return;
    }
    o->data = data;
    o->dlen = len;
    if (!dict_has(dict, dn, "/ObjStm")
        || (first = dict_int(dict, dn, "/First")) < 0
        || (count = dict_int(dict, dn, "/N")) <= 0
        || (plain = obj_plain(d, o, &plen)) == NULL
        || (size_t)first > plen) {
        return;
    }
    first_at = (size_t)first;
    /* "num offset num offset ...", then the objects from /First on */
    for (i = 0; i < count && i < 100000; i++) {
        for (; k < first_at && is_space(plain[k]); k++) {
        }
        for (a = k; k < first_at && plain[k] >= '0' && plain[k] <= '9'; k++) {
        }
        inner = parse_int(plain + a, k - a);
        for (; k < first_at && is_space(plain[k]); k++) {
        }
        for (a = k; k < first_at && plain[k] >= '0' && plain[k] <= '9'; k++) {
        }
        off = parse_int(plain + a, k - a);
        if (inner < 0 || off < 0 || first_at + (size_t)off > plen) {
            return;
        }
        at = first_at + (size_t)off;
        /* it ends where the next begins, or with the stream */
        for (a = k; a < first_at && is_space(plain[a]); a++) {
        }
        while (a < first_at && plain[a] >= '0' && plain[a] <= '9') {
            a++;
        }
        for (; a < first_at && is_space(plain[a]); a++) {
        }
        for (end = a; end < first_at && plain[end] >= '0'
             && plain[end] <= '9'; end++) {
        }
        next = i + 1 < count ? parse_int(plain + a, end - a) : -1;
        end = next >= 0 && first_at + (size_t)next >= at
            && first_at + (size_t)next <= plen ? first_at + (size_t)next
                                                : plen;
        if (!obj(d, inner)) {           /* the file's own copy wins */
            index_obj(d, inner, plain + at, end - at);
        }
    }
}

/* The map of the font object num refers to (its /ToUnicode), if any. */
static const llm_pdf_cmap_t *font_cmap(pdf_t *d, long font)
{
    pdf_obj_t *fo = obj(d, font), *mo;
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
    if (!(mo = obj(d, map)) || !mo->data
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
        if (!(o = obj(d, ref))) {
            return fonts;
        }
        v = o->body;
        n = o->blen;
        for (k = 0; k < n && is_space(v[k]); k++) {
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
        for (e = k + 1; e < n && !is_space(v[e]) && !is_delim(v[e]); e++) {
        }
        name = apr_pstrmemdup(d->p, (const char *)v + k + 1, e - k - 1);
        while (e < n && is_space(v[e])) {
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
            if (!(o = obj(d, ref))) {
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
        && (ref = ref_at(v, left, &used)) >= 0 && (o = obj(d, ref))) {
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
static void map_fonts(pdf_t *d)
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
        if (o->data && dict_has(o->body, o->blen, "/Resources")) {
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
static const llm_pdf_cmap_t *font_map(pdf_t *d, const char *name, size_t len)
{
    const llm_pdf_cmap_t *cm = NULL;

    if (d->fonts) {
        cm = apr_hash_get(d->fonts, name, (apr_ssize_t)len);
    }
    return cm ? cm : apr_hash_get(d->any_fonts, name, (apr_ssize_t)len);
}

/* One stream: which kind, how encoded, and its text. */
static void stream(pdf_t *d, long num, const unsigned char *dict, size_t dn,
                   const unsigned char *data, size_t len)
{
    apr_pool_t *sp;
    unsigned char *plain;
    size_t plen;
    pdf_obj_t *o = obj(d, num);
    int flate = dict_has(dict, dn, "/FlateDecode");

    if (d->too_large) {
        return;
    }
    if (dict_has(dict, dn, "/Image") || dict_has(dict, dn, "/XRef")
        || dict_has(dict, dn, "/Length1") || dict_has(dict, dn, "/Type1C")
        || dict_has(dict, dn, "/CIDFontType0C")
        || dict_has(dict, dn, "/OpenType")) {
        return;                         /* pictures, fonts, the xref */
    }
    if (dict_has(dict, dn, "/Filter") && !flate) {
        return;    /* DCT, JPX, CCITT, JBIG2: pictures; others: see above */
    }
    apr_pool_create(&sp, d->p);
    if (o && o->inflated && o->data == data) {
        plain = (unsigned char *)(uintptr_t)o->plain;   /* read before */
        plen = o->plen;
        if (!plain) {
            apr_pool_destroy(sp);
            return;
        }
    }
    else if (flate) {
        if (inflate_stream(d, sp, data, len, &plain, &plen) != 0) {
            apr_pool_destroy(sp);
            return;
        }
    }
    else {
        plain = (unsigned char *)(uintptr_t)data;
        plen = len;
    }
    if (dict_has(dict, dn, "/ObjStm")) {
        walk(d, plain, plen, PDF_DICTS);     /* compressed dictionaries */
    }
    else if (dict_has(dict, dn, "/Metadata")) {
        put(d, plain, plen);            /* XMP: XML text */
        put_sep(d);
    }
    else {
        d->fonts = num >= 0 ? apr_hash_get(d->content_fonts, &num,
                                           sizeof(num)) : NULL;
        walk(d, plain, plen, PDF_CONTENT);
    }
    apr_pool_destroy(sp);
}

/* The trailer names an encryption dictionary: "/Encrypt 12 0 R" or
 * "/Encrypt <<". */
static int encrypted(const unsigned char *b, size_t n)
{
    const unsigned char *at;
    size_t k;

    for (k = 0; (at = find(b, k, n, "/Encrypt")) != NULL;
         k = (size_t)(at - b) + 8) {
        size_t e = (size_t)(at - b) + 8;

        while (e < n && is_space(b[e])) {
            e++;
        }
        if (e < n && ((b[e] >= '0' && b[e] <= '9') || b[e] == '<')) {
            return 1;
        }
    }
    return 0;
}

llm_pdf_e llm_pdf_text(apr_pool_t *p, const unsigned char *b, size_t n,
                       const char **text, size_t *len)
{
    pdf_t d;

    memset(&d, 0, sizeof(d));
    d.p = p;
    d.objs = apr_hash_make(p);
    d.cmaps = apr_hash_make(p);
    d.content_fonts = apr_hash_make(p);
    d.any_fonts = apr_hash_make(p);
    *text = "";
    *len = 0;
    if (encrypted(b, n)) {
        return LLM_PDF_ENCRYPTED;
    }
    /* first the objects and the fonts' maps, then the text in order */
    walk(&d, b, n, PDF_INDEX);
    map_fonts(&d);
    walk(&d, b, n, PDF_FILE);
    if (d.too_large) {
        return LLM_PDF_TOO_LARGE;
    }
    *text = d.out ? d.out : "";
    *len = d.len;
    return LLM_PDF_OK;
}
