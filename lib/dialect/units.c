/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Every string a provider could read, in scan units.
 *
 * One walker serves all endpoints.  Inside the structures the dialects
 * define ("protocol" mode) object keys are field names and the fields
 * whose values the dialects fix are checked by kind (fields.c): known
 * enum values are fixed words; other enum values, ids, the model and
 * opaque provider blobs are scanned in one unit of their own (ids and
 * blobs must also fit their syntax, or the request is refused); any key
 * that is not a field name of the dialects is scanned.  Base64 media is
 * left out only when it is base64 of a binary format (media.c).  Inside
 * free-form objects (tool inputs, JSON schemas, metadata, fields this
 * code does not know) every string and every object key is scanned:
 * nothing a provider could read leaves unscanned because a client
 * invented a field.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

/* key (n bytes, as jansson keeps it) is the literal lit: a length compare
 * first, then one or two words; keys are compared against field names
 * for every member of every object of the request. */
#define KEY_IS(key, n, lit) \
    ((n) == sizeof(lit) - 1 && !memcmp((key), (lit), sizeof(lit) - 1))

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *units;   /* of llm_unit_t */
    apr_array_header_t *open;    /* pieces of the unit being built */
    /* Short protocol values (ids, unknown enum values, unknown keys, the
     * model, blobs): one unit for the whole body, a newline between
     * pieces, since a scan call per id would cost more than the scan. */
    apr_array_header_t *batch;
    const char *err;             /* the first field that does not fit */
    /* The text units that begin and end the content of the message being
     * walked (-1: it begins or ends with something else), for
     * llm_unit_t.follows. */
    int want_ends;               /* the next array is a message's content */
    int lead, trail;
} walk_t;

static void walk_free(walk_t *w, json_t *node, const llm_path_t *path);
static void walk_proto(walk_t *w, json_t *node, const llm_path_t *path,
                       const char *key);

/* Numbers, booleans and nulls hold no text: no path is built for them
 * (an embedding request can carry thousands of token ids). */
static int has_text(json_t *v)
{
    return json_is_string(v) || json_is_array(v) || json_is_object(v);
}

/* A unit of about n pieces (the array grows if need be): one for
 * a single string or key, most of an agent's units. */
static void unit_begin(walk_t *w, int n)
{
    w->open = apr_array_make(w->p, n, sizeof(llm_piece_t));
}

/* A string value as a piece of the unit (or batch) being built; NULL for
 * an empty string, which carries nothing to find and nothing to redact. */
static llm_piece_t *push_value(apr_array_header_t *pieces,
                               const llm_path_t *path, json_t *value)
{
    llm_piece_t *pc;

    if (json_string_length(value) == 0) {
        return NULL;
    }
    pc = apr_array_push(pieces);
    memset(pc, 0, sizeof(*pc));
    pc->path = path;
    pc->value = value;
    pc->len = json_string_length(value);
    return pc;
}

/* An object key as a piece. */
static void push_key(walk_t *w, apr_array_header_t *pieces,
                     const llm_path_t *path, json_t *obj, const char *key,
                     size_t key_len)
{
    llm_piece_t *pc = apr_array_push(pieces);

    memset(pc, 0, sizeof(*pc));
    pc->path = llm_dialect_path_keyof(w->p, path);
    pc->object = obj;
    /* jansson's until the unit is finished, then the unit text's copy
     * (unit_finish): an edit of this very key frees jansson's.  Nothing
     * edits the tree while the walk runs. */
    pc->key = key;
    pc->key_len = key_len;
    pc->len = key_len;
}

static void unit_add_value(walk_t *w, const llm_path_t *path, json_t *value)
{
    push_value(w->open, path, value);
}

static void unit_add_key(walk_t *w, const llm_path_t *path, json_t *obj,
                         const char *key, size_t key_len)
{
    if (key_len > 0) {
        push_key(w, w->open, path, obj, key, key_len);
    }
}

/* A unit of pieces; sep, when not 0, is put between them (in no piece:
 * edits never touch it). */
static int unit_finish(walk_t *w, apr_array_header_t *pieces, char sep)
{
    llm_unit_t *u;
    llm_piece_t *pcs;
    char *text;
    size_t total = 0, off = 0;
    int i;

    if (!pieces || pieces->nelts == 0) {
        return -1;
    }
    pcs = (llm_piece_t *)pieces->elts;
    for (i = 0; i < pieces->nelts; i++) {
        total += pcs[i].len + (sep && i ? 1 : 0);
    }
    if (pieces->nelts == 1 && pcs[0].value) {
        /* One string value (a tool result, a file: most of an agent's
         * body): its text is read where jansson keeps it, not copied, so
         * a 1 MB body is not held a third time. */
        text = (char *)json_string_value(pcs[0].value);
    }
    else {
        /* Several pieces (or a key, which an edit frees): a copy. */
        text = apr_palloc(w->p, total + 1);
        for (i = 0; i < pieces->nelts; i++) {
            if (sep && i) {
                text[off++] = sep;
            }
            pcs[i].unit_offset = off;
            memcpy(text + off, pcs[i].value ? json_string_value(pcs[i].value)
                                            : pcs[i].key, pcs[i].len);
            if (pcs[i].object) {
                /* a key: its copy is the text's, which nothing writes */
                pcs[i].key = text + off;
            }
            off += pcs[i].len;
        }
        text[total] = '\0';
    }
    u = apr_array_push(w->units);
    u->text = text;
    u->len = total;
    u->pieces = pieces;
    u->follows = -1;
    return w->units->nelts - 1;
}

/* The index of the unit made, or -1 when it holds nothing. */
static int unit_end(walk_t *w)
{
    int i = unit_finish(w, w->open, 0);

    w->open = NULL;
    return i;
}

/* The piece list of a unit of one piece, made in one allocation with its
 * piece: every key of a tool schema and most strings are such a unit, and
 * apr_array_make's two allocations and zeroing were a fifth of the walk. */
typedef struct {
    apr_array_header_t list;
    llm_piece_t piece;
} one_piece_t;

static apr_array_header_t *one_piece(walk_t *w)
{
    one_piece_t *o = apr_palloc(w->p, sizeof(*o));

    o->list.pool = w->p;
    o->list.elt_size = sizeof(llm_piece_t);
    o->list.nelts = 0;
    o->list.nalloc = 1;
    o->list.elts = (char *)&o->piece;
    return &o->list;
}

static void unit_single(walk_t *w, const llm_path_t *path, json_t *value)
{
    w->open = one_piece(w);
    unit_add_value(w, path, value);
    unit_end(w);
}

static void unit_single_key(walk_t *w, const llm_path_t *path, json_t *obj,
                            const char *key, size_t key_len)
{
    w->open = one_piece(w);
    unit_add_key(w, path, obj, key, key_len);
    unit_end(w);
}

/* Free-form data: every string, every key. */
/* A long integer in free-form data ({"card": 4111...}) is read by the
 * model as a number in the text: 13 digits and more may be a card
 * number.  Shorter ones (counts, token ids, most timestamps) are left. */
static int long_number(json_t *v)
{
    json_int_t n;

    if (!json_is_integer(v)) {
        return 0;
    }
    n = json_integer_value(v);
    return n >= (json_int_t)1000000000000LL
           || n <= -(json_int_t)1000000000000LL;
}

/* Scanned as its decimal text with the short values; a number cannot
 * take a placeholder, so a finding there blocks (fixed). */
static void batch_number(walk_t *w, const llm_path_t *path, json_t *v)
{
    llm_piece_t *pc = apr_array_push(w->batch);

    memset(pc, 0, sizeof(*pc));
    pc->path = path;
    pc->key = apr_psprintf(w->p, "%" APR_INT64_T_FMT,
                           (apr_int64_t)json_integer_value(v));
    pc->key_len = strlen(pc->key);
    pc->len = pc->key_len;
    pc->fixed = 1;
}

static void walk_free(walk_t *w, json_t *node, const llm_path_t *path)
{
    size_t i, key_len;
    const char *key;
    const llm_path_t *kpath;
    json_t *v;
    void *it;

    if (json_is_string(node)) {
        unit_single(w, path, node);
    }
    else if (long_number(node)) {
        batch_number(w, path, node);
    }
    else if (json_is_array(node)) {
        json_array_foreach(node, i, v) {
            if (has_text(v) || long_number(v)) {
                walk_free(w, v, llm_dialect_path_index(w->p, path, i));
            }
        }
    }
    else if (json_is_object(node)) {
        for (i = 0, it = json_object_iter(node); it;
             i++, it = json_object_iter_next(node, it)) {
            key = json_object_iter_key(it);
            key_len = llm_json_iter_key_len(it);
            v = json_object_iter_value(it);
            kpath = llm_dialect_path_key(w->p, path, key, key_len, i);
            unit_single_key(w, kpath, node, key, key_len);
            walk_free(w, v, kpath);
        }
    }
}

/* One short protocol value (or key) for the body's batch unit. */
static void batch_value(walk_t *w, const llm_path_t *path, json_t *value,
                        int fixed)
{
    llm_piece_t *pc = push_value(w->batch, path, value);

    if (pc) {
        pc->fixed = fixed;
    }
}

static void batch_key(walk_t *w, const llm_path_t *path, json_t *obj,
                      const char *key, size_t key_len)
{
    push_key(w, w->batch, path, obj, key, key_len);
}

static void refuse(walk_t *w, const llm_path_t *path, const char *why)
{
    if (!w->err) {
        w->err = apr_psprintf(w->p, "%s %s",
                              llm_dialect_path_text(w->p, path), why);
    }
}

/* Objects (and arrays) whose members are the caller's own data. */
static int is_free_key(const char *key, size_t n, json_t *v)
{
    return KEY_IS(key, n, "input_schema") || KEY_IS(key, n, "parameters")
        || KEY_IS(key, n, "schema") || KEY_IS(key, n, "metadata")
        || KEY_IS(key, n, "client_metadata")
        /* tool_use input (Anthropic) and object-valued arguments; the
         * Responses "input" is an array or a string and stays protocol. */
        || (json_is_object(v)
            && (KEY_IS(key, n, "input") || KEY_IS(key, n, "arguments")));
}

/* Text decoded from base64: scanned, never edited (an edit would have to
 * be encoded back); offsets count decoded bytes. */
static void unit_decoded(walk_t *w, const llm_path_t *path, json_t *value,
                         const char *text, size_t len)
{
    llm_unit_t *u;
    llm_piece_t *pc;

    if (len == 0) {
        return;
    }
    u = apr_array_push(w->units);
    u->text = text;
    u->len = len;
    u->follows = -1;
    u->pieces = apr_array_make(w->p, 1, sizeof(llm_piece_t));
    pc = apr_array_push(u->pieces);
    memset(pc, 0, sizeof(*pc));
    pc->path = path;
    pc->value = value;
    pc->len = len;
    pc->fixed = 1;
}

/* Media fields: the data of a base64 source, input_audio data, file_data,
 * and URLs (data: URLs only).  *declared: the media type named beside. */
static int is_media(json_t *obj, const char *parent_key, const char *key,
                    size_t n, const char **declared, int *url_field)
{
    const char *type;

    *declared = NULL;
    *url_field = 0;
    if (KEY_IS(key, n, "data")) {
        type = llm_dialect_str(obj, "type");
        if (type && !strcmp(type, "base64")) {
            *declared = llm_dialect_str(obj, "media_type");
            return 1;
        }
        return parent_key && !strcmp(parent_key, "input_audio");
    }
    if (KEY_IS(key, n, "file_data")) {
        return 1;
    }
    if (KEY_IS(key, n, "url") || KEY_IS(key, n, "image_url")) {
        *url_field = 1;
        return 1;
    }
    return 0;
}

static void media_string(walk_t *w, const llm_path_t *path, json_t *v,
                         const char *declared, int url_field)
{
    const char *dec;
    size_t dlen;

    switch (llm_dialect_media(w->p, json_string_value(v),
                              json_string_length(v), declared, url_field,
                              &dec, &dlen)) {
    case LLM_MEDIA_BINARY:
        return;
    case LLM_MEDIA_DOCUMENT:
        unit_decoded(w, path, v, dec, dlen);
        return;
    case LLM_MEDIA_UNREADABLE:
        refuse(w, path, dec);
        return;
    case LLM_MEDIA_ENCODED_TEXT:
        unit_decoded(w, path, v, dec, dlen);
        /* and as sent: text that happens to be valid base64 */
        /* fall through */
    default:
        unit_single(w, path, v);
    }
}

/* A string member of a protocol object (or of the root). */
static void proto_string(walk_t *w, json_t *obj, const char *parent_key,
                         const char *key, size_t key_len,
                         const llm_path_t *path, json_t *v)
{
    const char *s = json_string_value(v), *declared;
    size_t n = json_string_length(v);
    const llm_path_t *kpath;
    const char *type;
    int url_field;

    switch (llm_dialect_field_kind(key, key_len)) {
    case LLM_FIELD_ENUM:
        if (!llm_dialect_enum_known(key, key_len, s, n)) {
            batch_value(w, llm_dialect_path_name(w->p, path, key, key_len),
                        v, 0);
        }
        return;
    case LLM_FIELD_ID:
        kpath = llm_dialect_path_name(w->p, path, key, key_len);
        if (!llm_dialect_id_ok(s, n)) {
            refuse(w, kpath, "is not a valid id (letters, digits and "
                   "_-.:+/= only, at most 65536 bytes)");
        }
        batch_value(w, kpath, v, 0);
        return;
    case LLM_FIELD_BLOB:
        kpath = llm_dialect_path_name(w->p, path, key, key_len);
        if (!llm_dialect_blob_ok(s, n)) {
            refuse(w, kpath, "must be the provider's base64 data");
        }
        batch_value(w, kpath, v, 1);
        return;
    case LLM_FIELD_MODEL:
        batch_value(w, llm_dialect_path_name(w->p, path, key, key_len), v, 1);
        return;
    default:
        break;
    }
    kpath = llm_dialect_path_name(w->p, path, key, key_len);
    if (KEY_IS(key, key_len, "data")
        && (type = llm_dialect_str(obj, "type"))
        && !strcmp(type, "redacted_thinking")) {
        /* encrypted thinking: opaque to all but the provider */
        if (!llm_dialect_blob_ok(s, n)) {
            refuse(w, kpath, "must be the provider's base64 data");
        }
        batch_value(w, kpath, v, 1);
        return;
    }
    if (is_media(obj, parent_key, key, key_len, &declared, &url_field)) {
        media_string(w, kpath, v, declared, url_field);
        return;
    }
    unit_single(w, kpath, v);
}

/* What joins with its like when adjacent: a message (by its role), a
 * Messages tool_result block, a Responses function_call_output item; NULL
 * for anything else.  Its text is in *text_key. */
static const char *turn_of(json_t *v, const char **text_key)
{
    const char *s;

    if (!json_is_object(v)) {
        return NULL;
    }
    *text_key = "content";
    if ((s = llm_dialect_str(v, "role")) != NULL) {
        return s;
    }
    if ((s = llm_dialect_str(v, "type")) != NULL) {
        if (!strcmp(s, "tool_result")) {
            return s;
        }
        if (!strcmp(s, "function_call_output")) {
            *text_key = "output";
            return s;
        }
    }
    return NULL;
}

/* The text of a turn (a message's content, a tool result's): walked as
 * any member, and the text units it begins and ends with noted in
 * w->lead and w->trail. */
static void message_content(walk_t *w, json_t *obj, const char *parent_key,
                            const char *key, size_t key_len,
                            const llm_path_t *path, json_t *v)
{
    int before = w->units->nelts;

    w->lead = w->trail = -1;
    if (json_is_string(v)) {
        proto_string(w, obj, parent_key, key, key_len, path, v);
        if (w->units->nelts > before) {
            w->lead = w->trail = before;
        }
    }
    else if (json_is_array(v)) {
        w->want_ends = 1;
        walk_proto(w, v, llm_dialect_path_name(w->p, path, key, key_len),
                   key);
        w->want_ends = 0;
    }
    else if (json_is_object(v)) {
        walk_proto(w, v, llm_dialect_path_name(w->p, path, key, key_len),
                   key);
    }
}

static void walk_proto_object(walk_t *w, json_t *obj, const llm_path_t *path,
                              const char *parent_key, int skip_text)
{
    size_t i, key_len;
    const char *key, *tkey;
    const llm_path_t *kpath;
    json_t *v;
    void *it;

    for (i = 0, it = json_object_iter(obj); it;
         i++, it = json_object_iter_next(obj, it)) {
        key = json_object_iter_key(it);
        key_len = llm_json_iter_key_len(it);
        v = json_object_iter_value(it);
        if (!llm_dialect_name_known(key, key_len)) {
            /* No field of the dialects ("role\u0000x" is not "role"):
             * the provider may read the key and all of its value. */
            kpath = llm_dialect_path_key(w->p, path, key, key_len, i);
            batch_key(w, kpath, obj, key, key_len);
            walk_free(w, v, kpath);
            continue;
        }
        if (skip_text && KEY_IS(key, key_len, "text")) {
            continue;
        }
        if ((KEY_IS(key, key_len, "content") || KEY_IS(key, key_len, "output"))
            && turn_of(obj, &tkey) && !strcmp(tkey, key)) {
            message_content(w, obj, parent_key, key, key_len, path, v);
        }
        else if (json_is_string(v)) {
            proto_string(w, obj, parent_key, key, key_len, path, v);
        }
        else if (json_is_object(v) || json_is_array(v)) {
            kpath = llm_dialect_path_name(w->p, path, key, key_len);
            if (is_free_key(key, key_len, v)) {
                walk_free(w, v, kpath);
            }
            else {
                walk_proto(w, v, kpath, key);
            }
        }
    }
}

/* A content part whose text belongs with its neighbours': "text",
 * "input_text", "output_text", "summary_text", ... */
static int is_text_part(json_t *v)
{
    const char *type;
    size_t n;

    if (!json_is_object(v) || !json_is_string(json_object_get(v, "text"))) {
        return 0;
    }
    if (!json_object_get(v, "type")) {
        return 1;
    }
    type = llm_dialect_str(v, "type");
    n = type ? strlen(type) : 0;
    return n >= 4 && !strcmp(type + n - 4, "text");
}

static void walk_proto_array(walk_t *w, json_t *arr, const llm_path_t *path,
                             const char *key)
{
    size_t i, n = json_array_size(arr);
    json_t *v;
    int ends = w->want_ends, lead = -1, trail = -1, run, runs = 0;
    int prev_trail = -1;
    const char *prev_role = NULL, *role = NULL, *tkey;
    /* the lists of turns: Chat and Messages "messages", Responses "input",
     * a message's content (tool_result blocks) */
    int messages = key && (!strcmp(key, "messages") || !strcmp(key, "input")
                           || !strcmp(key, "content"));

    /* Consecutive text parts form one unit, so that a value a client split
     * over two parts is still seen whole. */
    w->want_ends = 0;
    json_array_foreach(arr, i, v) {
        if (is_text_part(v)) {
            if (!w->open) {
                unit_begin(w, 4);
            }
            unit_add_value(w, llm_dialect_path_name(w->p,
                               llm_dialect_path_index(w->p, path, i),
                               "text", 4),
                           json_object_get(v, "text"));
        }
        else if (w->open) {
            run = unit_end(w);
            if (runs++ == 0) {
                lead = run;
            }
        }
    }
    if (w->open) {
        run = unit_end(w);
        if (runs++ == 0) {
            lead = run;
        }
        trail = run;
    }
    /* the text of a turn: the units it begins and ends with (told the
     * caller once the members below, which use w->lead and w->trail for
     * their own turns, are walked) */
    if (ends) {
        lead = n > 0 && is_text_part(json_array_get(arr, 0)) ? lead : -1;
    }
    json_array_foreach(arr, i, v) {
        if (messages && (role = turn_of(v, &tkey)) != NULL) {
            w->lead = w->trail = -1;
        }
        else {
            role = NULL;
        }
        if (is_text_part(v)) {
            walk_proto_object(w, v, llm_dialect_path_index(w->p, path, i),
                              NULL, 1);
        }
        else if (has_text(v)) {
            walk_proto(w, v, llm_dialect_path_index(w->p, path, i), NULL);
        }
        if (!role) {
            prev_trail = -1;
            continue;
        }
        /* adjacent messages of one role are one turn to the provider;
         * adjacent tool results (parallel calls) are read in a row too */
        if (prev_trail >= 0 && w->lead >= 0 && !strcmp(prev_role, role)) {
            APR_ARRAY_IDX(w->units, w->lead, llm_unit_t).follows = prev_trail;
        }
        prev_trail = w->trail;
        prev_role = role;
        w->lead = w->trail = -1;
    }
    if (ends) {
        w->lead = lead;
        w->trail = trail;
    }
}

static void walk_proto(walk_t *w, json_t *node, const llm_path_t *path,
                       const char *key)
{
    if (json_is_string(node)) {
        unit_single(w, path, node);
    }
    else if (json_is_array(node)) {
        walk_proto_array(w, node, path, key);
    }
    else if (json_is_object(node)) {
        walk_proto_object(w, node, path, key, 0);
    }
}

/* Top-level fields the dialects define; anything else is free-form.  By
 * length, sorted within each:
 * - scalars ("max_tokens", "temperature", "stream", "n", "seed", ...):
 *   their keys need no scanning;
 * - "metadata", "client_metadata": free-form, their members are walked as
 *   the caller's data. */
static int is_known_root(const char *k, size_t n)
{
    switch (n) {
    case 1:
        return KEY_IS(k, n, "n");
    case 4:
        return KEY_IS(k, n, "seed") || KEY_IS(k, n, "stop") ||
               KEY_IS(k, n, "text") || KEY_IS(k, n, "user");
    case 5:
        return KEY_IS(k, n, "input") || KEY_IS(k, n, "model") ||
               KEY_IS(k, n, "store") || KEY_IS(k, n, "tools") ||
               KEY_IS(k, n, "top_k") || KEY_IS(k, n, "top_p");
    case 6:
        return KEY_IS(k, n, "prompt") || KEY_IS(k, n, "stream") ||
               KEY_IS(k, n, "suffix") || KEY_IS(k, n, "system");
    case 7:
        return KEY_IS(k, n, "include");
    case 8:
        return KEY_IS(k, n, "logprobs") || KEY_IS(k, n, "messages") ||
               KEY_IS(k, n, "metadata") || KEY_IS(k, n, "thinking");
    case 9:
        return KEY_IS(k, n, "functions") || KEY_IS(k, n, "reasoning");
    case 10:
        return KEY_IS(k, n, "dimensions") || KEY_IS(k, n, "max_tokens") ||
               KEY_IS(k, n, "truncation");
    case 11:
        return KEY_IS(k, n, "temperature") || KEY_IS(k, n, "tool_choice");
    case 12:
        return KEY_IS(k, n, "instructions") || KEY_IS(k, n, "service_tier") ||
               KEY_IS(k, n, "top_logprobs");
    case 13:
        return KEY_IS(k, n, "function_call");
    case 14:
        return KEY_IS(k, n, "stop_sequences") ||
               KEY_IS(k, n, "stream_options");
    case 15:
        return KEY_IS(k, n, "client_metadata") ||
               KEY_IS(k, n, "encoding_format") ||
               KEY_IS(k, n, "response_format");
    case 16:
        return KEY_IS(k, n, "presence_penalty") ||
               KEY_IS(k, n, "reasoning_effort");
    case 17:
        return KEY_IS(k, n, "frequency_penalty") ||
               KEY_IS(k, n, "max_output_tokens");
    case 19:
        return KEY_IS(k, n, "parallel_tool_calls");
    case 20:
        return KEY_IS(k, n, "previous_response_id");
    case 21:
        return KEY_IS(k, n, "max_completion_tokens");
    default:
        return 0;
    }
}

apr_array_header_t *llm_dialect_units_checked(apr_pool_t *p, json_t *root,
                                              llm_endpoint_e ep,
                                              const char **err)
{
    walk_t w;
    size_t i, key_len;
    const char *key;
    const llm_path_t *kpath;
    json_t *v;
    void *it;

    w.p = p;
    w.units = apr_array_make(p, 32, sizeof(llm_unit_t));
    w.open = NULL;
    w.batch = apr_array_make(p, 16, sizeof(llm_piece_t));
    w.err = NULL;
    w.want_ends = 0;
    w.lead = w.trail = -1;
    (void)ep;   /* one walker fits all: the shapes do not collide */

    if (!json_is_object(root)) {
        walk_free(&w, root, NULL);
    }
    else {
        for (i = 0, it = json_object_iter(root); it;
             i++, it = json_object_iter_next(root, it)) {
            key = json_object_iter_key(it);
            key_len = llm_json_iter_key_len(it);
            v = json_object_iter_value(it);
            if (is_known_root(key, key_len)) {
                if (json_is_string(v)) {
                    proto_string(&w, root, NULL, key, key_len, NULL, v);
                }
                else if (has_text(v)) {
                    kpath = llm_dialect_path_name(p, NULL, key, key_len);
                    if (is_free_key(key, key_len, v)) {
                        walk_free(&w, v, kpath);
                    }
                    else {
                        walk_proto(&w, v, kpath, key);
                    }
                }
            }
            else {
                /* An unknown top-level field: the provider may read its
                 * name and all of its value. */
                kpath = llm_dialect_path_key(p, NULL, key, key_len, i);
                batch_key(&w, kpath, root, key, key_len);
                walk_free(&w, v, kpath);
            }
        }
    }
    unit_finish(&w, w.batch, '\n');
    if (err) {
        *err = w.err;
    }
    return w.units;
}

apr_array_header_t *llm_dialect_units(apr_pool_t *p, json_t *root,
                                      llm_endpoint_e ep)
{
    return llm_dialect_units_checked(p, root, ep, NULL);
}
