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
 * is not read (see docs/dialect.md).  Encrypted PDFs and PDFs whose
 * streams inflate past LLM_PDF_INFLATE_MAX cannot be read, and the caller
 * refuses them rather than forward what it could not scan.  The objects,
 * streams and fonts come from pdf_objects.c.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "pdf_private.h"

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

/* Bytes of a simple encoding: ASCII stretches copied at once. */
static void put_bytes(pdf_t *d, const unsigned char *s, size_t n)
{
    size_t k = 0, a;

    while (k < n) {
        for (a = k; k < n && s[k] < 0x80; k++) {
        }
        put(d, s + a, k - a);
        if (k < n) {
            put_byte(d, s[k++]);
        }
    }
}

static void put_sep(pdf_t *d)
{
    if (d->len && d->out[d->len - 1] != '\n') {
        put(d, "\n", 1);
    }
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
    put_bytes(d, s, n);
}

enum { PDF_CONTENT, PDF_DICTS, PDF_FILE, PDF_INDEX };

static void stream(pdf_t *d, long num, const unsigned char *dict, size_t dn,
                   const unsigned char *data, size_t len);
void llm_pdf_index_stream(pdf_t *d, long num, const unsigned char *dict,
                         size_t dn, const unsigned char *data, size_t len);
const unsigned char *llm_pdf_find(const unsigned char *b, size_t from,
                                 size_t n, const char *word);
long llm_pdf_dict_int(const unsigned char *dict, size_t n, const char *key);
const llm_pdf_cmap_t *llm_pdf_font_map(pdf_t *d, const char *name,
                                      size_t len);

static void put_cb(void *baton, const char *s, size_t n)
{
    put(baton, s, n);
}

/* Bytes a text-showing operator draws: through the font's map, or as
 * bytes of a simple encoding. */
static void put_shown(pdf_t *d, const unsigned char *s, size_t n)
{
    if (d->font) {
        llm_pdf_cmap_decode(d->font, s, n, put_cb, d);
        return;
    }
    put_bytes(d, s, n);
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
    slen = llm_pdf_dict_int(b + obj_at, kw - obj_at, "/Length");
    if (slen >= 0 && (size_t)slen <= n - (size_t)(data - b)
        && (end = llm_pdf_find(b, (size_t)(data - b) + (size_t)slen, n,
                       "endstream")) != NULL
        && (size_t)(end - data) - (size_t)slen <= 2) {
        end = data + slen;
    }
    else if ((end = llm_pdf_find(b, (size_t)(data - b), n, "endstream")) == NULL) {
        end = b + n;
    }
    if (mode == PDF_INDEX) {
        llm_pdf_index_stream(d, num, b + obj_at, kw - obj_at, data,
                     (size_t)(end - data));
    }
    else {
        stream(d, num, b + obj_at, kw - obj_at, data, (size_t)(end - data));
    }
    end = llm_pdf_find(b, (size_t)(end - b), n, "endstream");
    return end ? (size_t)(end - b) + 9 : n;
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

        if (llm_pdf_space(c)) {
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
        while (j < n && !llm_pdf_space(b[j]) && !llm_pdf_delim(b[j])) {
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
                    llm_pdf_index_obj(d, obj_num, b + obj_at, i - obj_at);
                }
                in_obj = 0;
            }
            else if (j - i == 6 && !memcmp(b + i, "stream", 6)) {
                if (mode == PDF_INDEX && in_obj) {
                    llm_pdf_index_obj(d, obj_num, b + obj_at, i - obj_at);
                }
                j = file_stream(d, b, n, in_obj ? obj_num : -1, obj_at, i, j,
                                mode);
                in_obj = 0;
                obj_at = j;
            }
            v = llm_pdf_parse_int(b + i, j - i);
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
            d->font = name ? llm_pdf_font_map(d, (const char *)name, name_len)
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
















/* One stream: which kind, how encoded, and its text. */
static void stream(pdf_t *d, long num, const unsigned char *dict, size_t dn,
                   const unsigned char *data, size_t len)
{
    apr_pool_t *sp;
    unsigned char *plain;
    size_t plen;
    pdf_obj_t *o = llm_pdf_obj(d, num);
    int flate = llm_pdf_dict_has(dict, dn, "/FlateDecode");

    if (d->too_large) {
        return;
    }
    if (llm_pdf_dict_has(dict, dn, "/Image") || llm_pdf_dict_has(dict, dn, "/XRef")
        || llm_pdf_dict_has(dict, dn, "/Length1") || llm_pdf_dict_has(dict, dn, "/Type1C")
        || llm_pdf_dict_has(dict, dn, "/CIDFontType0C")
        || llm_pdf_dict_has(dict, dn, "/OpenType")) {
        return;                         /* pictures, fonts, the xref */
    }
    if (llm_pdf_dict_has(dict, dn, "/Filter") && !flate) {
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
        if (llm_pdf_inflate(d, sp, data, len, &plain, &plen) != 0) {
            apr_pool_destroy(sp);
            return;
        }
    }
    else {
        plain = (unsigned char *)(uintptr_t)data;
        plen = len;
    }
    if (llm_pdf_dict_has(dict, dn, "/ObjStm")) {
        walk(d, plain, plen, PDF_DICTS);     /* compressed dictionaries */
    }
    else if (llm_pdf_dict_has(dict, dn, "/Metadata")) {
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
    if (llm_pdf_encrypted(b, n)) {
        return LLM_PDF_ENCRYPTED;
    }
    /* first the objects and the fonts' maps, then the text in order */
    walk(&d, b, n, PDF_INDEX);
    llm_pdf_map_fonts(&d);
    walk(&d, b, n, PDF_FILE);
    if (d.too_large) {
        return LLM_PDF_TOO_LARGE;
    }
    *text = d.out ? d.out : "";
    *len = d.len;
    return LLM_PDF_OK;
}
