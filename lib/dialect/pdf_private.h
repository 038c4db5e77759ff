/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * What the PDF reader's two halves share: pdf_text.c reads the text in
 * drawing order, pdf_objects.c finds objects by number, inflates streams
 * within the document's budget and says which font map a content stream's
 * font names stand for.
 */

#ifndef LLM_PDF_PRIVATE_H
#define LLM_PDF_PRIVATE_H

#include "apr_hash.h"
#include "apr_pools.h"

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

static APR_INLINE int llm_pdf_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
        || c == 0;
}

static APR_INLINE int llm_pdf_delim(unsigned char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '['
        || c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

/* Digits only, at most 2^31 - 1; else -1. */
long llm_pdf_parse_int(const unsigned char *b, size_t n);

/* The first word at or after from, or NULL. */
const unsigned char *llm_pdf_find(const unsigned char *b, size_t from,
                                  size_t n, const char *word);

/* Dictionaries read as text: a key (or name) is there; a key's value
 * when it is a plain number (not a reference), else -1. */
int llm_pdf_dict_has(const unsigned char *dict, size_t n, const char *word);
long llm_pdf_dict_int(const unsigned char *dict, size_t n, const char *key);

/* Inflate a Flate stream into sp, within what is left of the document's
 * budget (d->too_large when it runs out); -1 when zlib cannot start. */
int llm_pdf_inflate(pdf_t *d, apr_pool_t *sp, const unsigned char *in,
                    size_t n, unsigned char **out, size_t *olen);

/* The objects by number: the file's own, then those of object streams
 * (llm_pdf_index_stream, given each stream's data). */
pdf_obj_t *llm_pdf_obj(pdf_t *d, long num);
void llm_pdf_index_obj(pdf_t *d, long num, const unsigned char *body,
                       size_t blen);
void llm_pdf_index_stream(pdf_t *d, long num, const unsigned char *dict,
                          size_t dn, const unsigned char *data, size_t len);

/* After indexing: each content stream's fonts (d->content_fonts); then
 * the map of a font named by Tf in the content being read. */
void llm_pdf_map_fonts(pdf_t *d);
const llm_pdf_cmap_t *llm_pdf_font_map(pdf_t *d, const char *name,
                                       size_t len);

/* The trailer names an encryption dictionary. */
int llm_pdf_encrypted(const unsigned char *b, size_t n);

#endif /* LLM_PDF_PRIVATE_H */
