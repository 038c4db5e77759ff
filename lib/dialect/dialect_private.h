/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Helpers shared by the files of lib/dialect; not part of its API.
 */

#ifndef LLM_DIALECT_PRIVATE_H
#define LLM_DIALECT_PRIVATE_H

#include <jansson.h>
#include "apr_pools.h"
#include "llm_dialect.h"
#include "llm_translate.h"

/* Nesting deeper than this is refused by llm_json_parse(): every walker in
 * this library recurses, and httpd threads may run on small stacks. */
#define LLM_DIALECT_MAX_DEPTH 128

/* Hand a reference to p: json_decref runs when p is cleared. */
json_t *llm_dialect_pool_own(apr_pool_t *p, json_t *j);

/* The step to a member of the node at up (NULL: the root).  Keys that
 * do not look like field names are written by position ("{#3}") so that
 * a path never repeats text that could itself be sensitive. */
const llm_path_t *llm_dialect_path_key(apr_pool_t *p, const llm_path_t *up,
                                       const char *key, size_t key_len,
                                       size_t index);
/* The same for a key the walker knows as a field name of the dialects
 * (fields.c, units.c: all of them lower-case letters and '_', which
 * llm_dialect_path_key writes out): the key's text need not be looked
 * at. */
const llm_path_t *llm_dialect_path_name(apr_pool_t *p, const llm_path_t *up,
                                        const char *name, size_t len);
const llm_path_t *llm_dialect_path_index(apr_pool_t *p, const llm_path_t *up,
                                         size_t index);
/* The path of the key of the member at up: "#key" after it. */
const llm_path_t *llm_dialect_path_keyof(apr_pool_t *p, const llm_path_t *up);

/* fields.c: what the dialects' own fields may hold (see units.c). */
typedef enum {
    LLM_FIELD_TEXT = 0,     /* text: scanned */
    LLM_FIELD_ENUM,         /* a known value is a fixed word; others scanned */
    LLM_FIELD_ID,           /* id syntax (else 400), and scanned */
    LLM_FIELD_BLOB,         /* base64 (else 400), and scanned */
    LLM_FIELD_MODEL         /* scanned; mod_llm_route checks its syntax */
} llm_field_kind_e;

/* ids with a provider signature appended (thought signatures) run to
 * kilobytes */
#define LLM_DIALECT_ID_MAX 65536

/* Keys with their lengths, as jansson keeps them: a key with a NUL byte
 * inside names no field. */
llm_field_kind_e llm_dialect_field_kind(const char *key, size_t key_len);
int llm_dialect_enum_known(const char *key, size_t key_len, const char *v,
                           size_t n);
int llm_dialect_id_ok(const char *v, size_t n);
int llm_dialect_blob_ok(const char *v, size_t n);
int llm_dialect_name_known(const char *key, size_t key_len);

/* media.c: is a media field base64 of a binary format? */
typedef enum {
    LLM_MEDIA_BINARY,       /* base64 of a known binary format: not text */
    LLM_MEDIA_TEXT,         /* not base64 at all: scanned as it is */
    LLM_MEDIA_ENCODED_TEXT, /* base64 of anything else: scanned as it is
                             * and decoded (*decoded, from p) */
    LLM_MEDIA_DOCUMENT,     /* base64 of a PDF: its text (*decoded) is
                             * scanned, the base64 is not */
    LLM_MEDIA_UNREADABLE    /* a PDF the gateway cannot read (*decoded:
                             * why): refused, never forwarded unscanned */
} llm_media_e;

/* s: the field's value; declared: the media type the request names, or
 * NULL; url_field: the field holds a URL (only data: URLs are media). */
llm_media_e llm_dialect_media(apr_pool_t *p, const char *s, size_t n,
                              const char *declared, int url_field,
                              const char **decoded, size_t *decoded_len);

/* pdf_text.c: the text a provider would take from a PDF (*text from p) */
typedef enum {
    LLM_PDF_OK,
    LLM_PDF_ENCRYPTED,
    LLM_PDF_TOO_LARGE
} llm_pdf_e;

llm_pdf_e llm_pdf_text(apr_pool_t *p, const unsigned char *pdf, size_t n,
                       const char **text, size_t *len);

/* pdf_cmap.c: a font's ToUnicode map; NULL when it maps nothing */
typedef struct llm_pdf_cmap llm_pdf_cmap_t;

llm_pdf_cmap_t *llm_pdf_cmap_parse(apr_pool_t *p, const unsigned char *b,
                                   size_t n);
/* The text of the codes s holds, handed to put in UTF-8 pieces. */
void llm_pdf_cmap_decode(const llm_pdf_cmap_t *cm, const unsigned char *s,
                         size_t n, void (*put)(void *, const char *, size_t),
                         void *baton);

/* jansson 2.14 added keys with lengths (and so keys holding NUL); older
 * releases (RHEL 8 ships 2.11) have C-string keys only, and there every
 * key is what strlen() says. */
#include <string.h>
#if JANSSON_VERSION_HEX >= 0x020e00
#define llm_json_iter_key_len(it) json_object_iter_key_len(it)
#define llm_json_object_getn(o, k, n) json_object_getn((o), (k), (n))
#define llm_json_object_setn(o, k, n, v) json_object_setn((o), (k), (n), (v))
#define llm_json_object_deln(o, k, n) json_object_deln((o), (k), (n))
#else
#define llm_json_iter_key_len(it) strlen(json_object_iter_key(it))
/* the key passed is NUL-terminated at n in every caller */
#define llm_json_object_getn(o, k, n) json_object_get((o), (k))
#define llm_json_object_setn(o, k, n, v) json_object_set((o), (k), (v))
#define llm_json_object_deln(o, k, n) json_object_del((o), (k))
#endif

/* String member of an object or NULL. */
const char *llm_dialect_str(json_t *obj, const char *key);

/* Shared by the translation files (translate_request.c). */
/* Text of a content value (a string, or the text parts of an array joined
 * by sep); NULL when it holds anything but text.  Read-only: a string
 * value comes back as the tree holds it. */
char *llm_translate_content_text(apr_pool_t *p, json_t *content,
                                 const char *sep);
/* {"type":"text","text":text} */
json_t *llm_translate_text_block(const char *text);
/* Append an Anthropic message (blocks stolen), merged into the previous
 * one when the role repeats. */
void llm_translate_push_message(json_t *msgs, const char *role,
                                json_t *blocks);
/* An Anthropic image source for a URL (data: URLs become base64). */
json_t *llm_translate_image_source(apr_pool_t *p, const char *url);
/* OpenAI content (a string, or chat / Responses parts: text, input_text,
 * output_text, image_url, input_image) -> Anthropic blocks; NULL and *err
 * naming where.content[i] for a part Anthropic has no equivalent of. */
json_t *llm_translate_parts_to_blocks(apr_pool_t *p, json_t *content,
                                      const char *where, const char **err);
/* Tool-call arguments text -> an input object (never NULL). */
json_t *llm_translate_tool_input(const char *args);
/* The schema (a new reference), or an empty object schema. */
json_t *llm_translate_schema_or_empty(json_t *schema);

/* Anthropic tool_choice from an OpenAI one (chat or Responses form:
 * "auto", "none", "required", {"function":{"name"}} or {"name"}) and
 * parallel_tool_calls; NULL when neither says anything. */
json_t *llm_translate_tool_choice_to_anthropic(json_t *tc, json_t *parallel);
/* max_tokens (the value given, else the default), temperature (capped at
 * Anthropic's 1), top_p and stream from an OpenAI request into out. */
void llm_translate_sampling_to_anthropic(json_t *out, json_t *req,
                                         json_t *max_tokens,
                                         const llm_translate_opts_t *opts);
/* An OpenAI assistant message (text joined, tool_use -> tool_calls) from
 * Anthropic content blocks; thinking blocks are dropped. */
json_t *llm_translate_assistant_to_chat(apr_pool_t *p, json_t *content);

/* A Responses API response object (output and usage stolen; NULL output:
 * an empty array, NULL usage: null).  status "incomplete" adds the
 * max_output_tokens reason. */
json_t *llm_translate_response_object(const char *id, const char *model,
                                      const char *status, json_t *output,
                                      json_t *usage, long long created);

/* A byte buffer from a pool, reused across events: it grows (doubling)
 * to the largest content seen, never past max. */
typedef struct llm_dbuf_t {
    apr_pool_t *p;
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} llm_dbuf_t;

void llm_dbuf_init(llm_dbuf_t *b, apr_pool_t *p, size_t max);
/* 0, or -1 when the content would exceed max (nothing appended).  The
 * content stays NUL-terminated. */
int llm_dbuf_append(llm_dbuf_t *b, const char *s, size_t n);
int llm_dbuf_puts(llm_dbuf_t *b, const char *s);

#endif /* LLM_DIALECT_PRIVATE_H */
