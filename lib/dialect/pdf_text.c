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
 * object, comes out whole).  Strings are taken as their bytes: fonts whose
 * codes are 2-byte glyph ids (CID fonts, decoded by a ToUnicode map) give
 * no readable text here, and text drawn as images is not read (see
 * docs/dialect.md).  Encrypted PDFs and PDFs whose streams inflate past
 * LLM_PDF_INFLATE_MAX cannot be read, and the caller refuses them rather
 * than forward what it could not scan.
 */

#include <string.h>
#include <zlib.h>

#include <stdint.h>
#include <stdlib.h>

#include "apr_strings.h"
#include "apr_tables.h"

#include "dialect_private.h"

/* All inflated streams of one document together; a 30 MB request of
 * compressed text inflates to far less, a deflate bomb to far more. */
#define LLM_PDF_INFLATE_MAX (64u * 1024u * 1024u)

typedef struct {
    apr_pool_t *p;
    char *out;
    size_t len, cap;
    size_t inflated;
    int too_large;
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

enum { PDF_CONTENT, PDF_DICTS, PDF_FILE };

static void stream(pdf_t *d, const unsigned char *dict, size_t dn,
                   const unsigned char *data, size_t len);

static const unsigned char *find(const unsigned char *b, size_t from,
                                 size_t n, const char *word);
static long dict_length(const unsigned char *dict, size_t n);

/* Past a stream's data, from just past its "stream" keyword at kw; the
 * data goes to stream() with the dictionary since the object's start. */
static size_t file_stream(pdf_t *d, const unsigned char *b, size_t n,
                          size_t obj_at, size_t kw, size_t after)
{
    const unsigned char *data = b + after, *end;
    long slen;

    if (data < b + n && *data == '\r') {
        data++;
    }
    if (data < b + n && *data == '\n') {
        data++;
    }
    slen = dict_length(b + obj_at, kw - obj_at);
    if (slen >= 0 && (size_t)slen <= n - (size_t)(data - b)
        && (end = find(b, (size_t)(data - b) + (size_t)slen, n,
                       "endstream")) != NULL
        && (size_t)(end - data) - (size_t)slen <= 2) {
        end = data + slen;
    }
    else if ((end = find(b, (size_t)(data - b), n, "endstream")) == NULL) {
        end = b + n;
    }
    stream(d, b + obj_at, kw - obj_at, data, (size_t)(end - data));
    end = find(b, (size_t)(end - b), n, "endstream");
    return end ? (size_t)(end - b) + 9 : n;
}

/*
 * One tokenizer for three kinds of bytes.  Page content (PDF_CONTENT):
 * the operands of the text-showing operators (Tj, TJ, ' and "), in order;
 * the strings of one text object run on without a break unless it moves
 * to a new line, so that a value drawn in pieces is read whole, and a wide
 * gap inside a TJ array reads as a space.  Dictionaries (PDF_DICTS, the
 * objects of an object stream): every literal string.  The whole file
 * (PDF_FILE): dictionaries, and each stream where its keyword stands as a
 * token -- never inside a string, where "stream" is only a word.
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
            if (tmpcap < n - i) {
                tmpcap = n - i;
                tmp = apr_palloc(wp, tmpcap);
            }
            i = c == '(' ? literal(b, i + 1, n, tmp, &slen)
                         : hexstr(b, i + 1, n, tmp, &slen);
            if (mode != PDF_CONTENT) {
                if (c == '(' && slen) {
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
            continue;
        }
        if (c == '[' || c == ']') {
            in_array = c == '[';
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
            if (mode == PDF_FILE && j - i == 3 && !memcmp(b + i, "obj", 3)) {
                obj_at = j;
            }
            else if (mode == PDF_FILE && j - i == 6
                     && !memcmp(b + i, "stream", 6)) {
                j = file_stream(d, b, n, obj_at, i, j);
                obj_at = j;
            }
            i = j;
            continue;
        }
        if (c == '/') {
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
                for (slen = 0; slen < r->len; slen++) {
                    put_byte(d, (unsigned char)runs_buf[r->at + slen]);
                }
                if (r->gap) {
                    put(d, " ", 1);
                }
            }
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
        i = j;
    }
    put_sep(d);
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
    if (inflateInit(&z) != Z_OK) {
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

/* The value of the dictionary's /Length when it is a plain number. */
static long dict_length(const unsigned char *dict, size_t n)
{
    size_t k, e;
    long v;

    for (k = 0; k + 7 < n; k++) {
        if (!memcmp(dict + k, "/Length", 7) && !(dict[k + 7] >= '0'
                                                 && dict[k + 7] <= '9')
            && !(dict[k + 7] >= 'A' && dict[k + 7] <= 'z')) {
            k += 7;
            while (k < n && is_space(dict[k])) {
                k++;
            }
            for (e = k, v = 0; e < n && dict[e] >= '0' && dict[e] <= '9'
                 && v < 0x7fffffffL / 10; e++) {
                v = v * 10 + (dict[e] - '0');
            }
            while (e < n && is_space(dict[e])) {
                e++;
            }
            /* "12 0 R" is a reference, not the length */
            return e > k && !(e < n && dict[e] >= '0' && dict[e] <= '9')
                ? v : -1;
        }
    }
    return -1;
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

/* One stream: which kind, how encoded, and its text. */
static void stream(pdf_t *d, const unsigned char *dict, size_t dn,
                   const unsigned char *data, size_t len)
{
    apr_pool_t *sp;
    unsigned char *plain;
    size_t plen;
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
    if (flate) {
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
    *text = "";
    *len = 0;
    if (encrypted(b, n)) {
        return LLM_PDF_ENCRYPTED;
    }
    walk(&d, b, n, PDF_FILE);
    if (d.too_large) {
        return LLM_PDF_TOO_LARGE;
    }
    *text = d.out ? d.out : "";
    *len = d.len;
    return LLM_PDF_OK;
}
