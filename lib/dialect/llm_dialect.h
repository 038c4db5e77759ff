/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The API dialects, httpd-free (APR + jansson): recognise and check the
 * body of each endpoint, collect every string a provider would see for the
 * scanner, apply redactions back into the JSON, build error bodies in the
 * caller's dialect.  Translation and SSE live in llm_translate.h / llm_sse.h.
 */

#ifndef LLM_DIALECT_H
#define LLM_DIALECT_H

#include <stddef.h>
#include <jansson.h>
#include "apr_pools.h"
#include "apr_tables.h"
#include "llm_types.h"

/* Endpoint from method and the path below the gateway prefix
 * ("/chat/completions", "/messages", "/messages/count_tokens", "/models",
 * query string already removed). LLM_EP_NONE when not a gateway endpoint. */
llm_endpoint_e llm_dialect_endpoint(const char *method, const char *subpath);
llm_family_e llm_dialect_family(llm_endpoint_e ep);
const char *llm_dialect_endpoint_name(llm_endpoint_e ep); /* "chat.completions" */

/* Parse a body (rejects duplicate keys: a provider might read the other
 * copy).  The result is registered for json_decref on p's cleanup.  On
 * failure NULL and *err (from p) says what and where. */
json_t *llm_json_parse(apr_pool_t *p, const char *buf, size_t len,
                       const char **err);

/* Trees of llm_json_parse built in an arena of their pool instead of
 * node by node with malloc (json_arena.c).  Once per process, before its
 * threads serve requests (httpd: child_init), and only where no other
 * allocator was given to jansson: 0 when installed (or already), -1 when
 * not (jansson keeps malloc; nothing else changes).  region_size bounds
 * the address space reserved for the blocks (memory is committed as they
 * are first used); past it, trees fall back to malloc. */
int llm_json_arena_install(size_t region_size);
int llm_json_arena_installed(void);
/* Whether p lies in the arenas' region (for tests). */
int llm_json_arena_owns(const void *p);
/* The window in which this thread's jansson allocations come from p's
 * arena: enter returns what leave restores. */
typedef struct llm_json_arena_t llm_json_arena_t;
llm_json_arena_t *llm_json_arena_enter(apr_pool_t *p);
void llm_json_arena_leave(llm_json_arena_t *prev);

/* Check that root has the documented shape of ep (model present and a
 * string, messages an array, ...).  NULL or a message for a 400. */
const char *llm_dialect_check(apr_pool_t *p, json_t *root, llm_endpoint_e ep);
const char *llm_dialect_model(json_t *root);   /* NULL if absent */
int llm_dialect_is_stream(json_t *root);

/* Where a piece lies in the body, as steps from the root; written out
 * ("messages[3].content[0].text") by llm_dialect_path_text. */
typedef struct llm_path_t llm_path_t;

/* A piece of a scan unit: one JSON string value. */
typedef struct llm_piece_t {
    const llm_path_t *path;
    json_t *value;           /* the json string itself */
    size_t unit_offset;      /* where it starts in the unit text */
    size_t len;              /* its decoded length */
    /* Object keys of free-form objects (tool inputs, schemas, unknown
     * fields) are text a provider reads too.  For such a piece
     * value is NULL, object is the object holding the key and key/key_len
     * the key as it was; an edit renames the key in place. */
    json_t *object;
    const char *key;
    size_t key_len;
    /* Added: nothing can be written back here (the model name, opaque
     * provider blobs, text decoded from base64, a long integer of
     * free-form data, whose decimal text is in key with object NULL): a
     * finding the policy would redact blocks the request instead, and an
     * edit fails. */
    int fixed;
} llm_piece_t;

/* A scan unit: the text of neighbouring pieces that belong together (the
 * text parts of one message), concatenated so that a value split across
 * parts is still found.  The text of a unit of one string value is that
 * string's own (not a copy): read it before llm_unit_apply_edits. */
typedef struct llm_unit_t {
    const char *text;
    size_t len;
    apr_array_header_t *pieces;   /* of llm_piece_t, in text order */
    /* Added: the index of the unit whose text this one's continues as the
     * provider reads it, or -1.  The text ending one message and the text
     * starting the next message of the same role: the provider joins
     * adjacent turns of one role into one, so a value can be split over
     * them (llm_scan_joined finds it). */
    int follows;
} llm_unit_t;

/* Every string value (and key) in the body a provider could read (known
 * fields and, failing closed, unknown ones), grouped in units.  Only
 * known enum values of the dialects' own fields ("user", "tool_result")
 * and base64 of binary media are left out; ids, the model, other enum
 * values, provider blobs and unknown keys form one unit of their own per
 * body (pieces separated by a newline).  Returns an array of llm_unit_t. */
apr_array_header_t *llm_dialect_units(apr_pool_t *p, json_t *root,
                                      llm_endpoint_e ep);

/* Added: the same, and *err (from p) names the first protocol field whose
 * value does not fit its syntax (an id, an opaque base64 blob): the
 * caller answers 400.  The units are complete either way. */
apr_array_header_t *llm_dialect_units_checked(apr_pool_t *p, json_t *root,
                                              llm_endpoint_e ep,
                                              const char **err);

/* The text of a piece's path, "" for the root itself.  Steps read the
 * tree's keys: write it before llm_unit_apply_edits, as a unit's text. */
const char *llm_dialect_path_text(apr_pool_t *p, const llm_path_t *path);

/* Added: path as llm_dialect_path_text wrote it, with every named key for
 * which hide(baton, key, len) says so written by position instead
 * ("{#N}", N its place in its object, looked up in root).  Used so that
 * a location never repeats a value a rule matched. */
const char *llm_dialect_path_hide(apr_pool_t *p, json_t *root,
                                  const char *path,
                                  int (*hide)(void *baton, const char *key,
                                              size_t len),
                                  void *baton);

/* Map an offset in a unit to the piece it falls in; *piece_off gets the
 * offset inside that piece. */
const llm_piece_t *llm_unit_locate(const llm_unit_t *u, size_t offset,
                                   size_t *piece_off);

/* A replacement of [offset, offset+length) of a unit's text. */
typedef struct llm_edit_t {
    size_t offset;
    size_t length;
    const char *replacement;
} llm_edit_t;

/* Apply edits to the JSON strings behind a unit; a range that spans pieces
 * puts the replacement in the first piece and removes the rest of the
 * range from the others.  Edits may come in any order and may overlap:
 * overlapping ones are merged, and the union is replaced by the
 * replacement of the edit starting first.  0, or -1 with nothing changed
 * for a range outside the text, a cut through a UTF-8 character, or a key
 * renamed onto another key of its object. */
int llm_unit_apply_edits(apr_pool_t *p, const llm_unit_t *u,
                         const llm_edit_t *edits, int nedits);

/* Serialise compactly into p. */
char *llm_json_dump(apr_pool_t *p, json_t *root, size_t *len);

/* Free now a tree that p owns (from llm_json_parse or a translation)
 * instead of when p goes: a translated request's tree, once serialised. */
void llm_json_release(apr_pool_t *p, json_t *j);

/* An error body in the dialect of family (docs/architecture.md,
 * Contracts).  type is the OpenAI "type" ("sensitive_data_detected",
 * "invalid_request_error", "authentication_error", ...); code the machine
 * code; findings_json a JSON array text or NULL.  Anthropic bodies map
 * type onto their error types (403 -> permission_error, 401 ->
 * authentication_error, 400 -> invalid_request_error, 404 ->
 * not_found_error, 429 -> rate_limit_error, 413 -> request_too_large,
 * 5xx -> api_error) and carry code. */
char *llm_dialect_error_body(apr_pool_t *p, llm_family_e family, int status,
                             const char *type, const char *code,
                             const char *message, const char *findings_json);

/* The Anthropic error type for an HTTP status (the mapping above). */
const char *llm_dialect_anthropic_error_type(int status);

#endif /* LLM_DIALECT_H */
