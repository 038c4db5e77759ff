/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Token usage, read from either family's responses and stream events.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llm_usage.h"
#include "json_fast.h"
#include "dialect_private.h"

void llm_usage_init(llm_usage_t *u)
{
    memset(u, 0, sizeof(*u));
}

/* A usage object as a tree, or as the text of a body passed on untouched
 * (read in place: allocating a tree for a few counters cost more than
 * the rest of the stream's bookkeeping). */
typedef struct {
    json_t *j;
    const char *text;
    size_t len;
} usage_src_t;

/* The members a usage object is read for.  A text source's are found in
 * one walk of its text, not one walk each (usage_from_src). */
enum {
    U_PROMPT, U_PROMPT_DETAILS, U_COMPLETION, U_CACHE_READ,
    U_CACHE_CREATION, U_INPUT, U_INPUT_DETAILS, U_OUTPUT, U_COUNT
};

static const char *const usage_names[U_COUNT] = {
    "prompt_tokens", "prompt_tokens_details", "completion_tokens",
    "cache_read_input_tokens", "cache_creation_input_tokens",
    "input_tokens", "input_tokens_details", "output_tokens"
};

typedef struct {
    usage_src_t src;
    int walked;                 /* text: the members below are set */
    const char *v[U_COUNT];
    size_t n[U_COUNT];
    int found[U_COUNT];
} usage_obj_t;

/* A real number as a token count, if one fits. */
static int real_count(double d, long long *out)
{
    if (!(d > -9.2e18 && d < 9.2e18)) {
        return 0;
    }
    *out = (long long)d;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A JSON number spanning exactly v[0..n), as a count. */
static int text_number(const char *v, size_t n, long long *out)
{
    char small[64], *tmp;
    size_t i = 0;
    int real = 0, ok = 0;

    if (i < n && v[i] == '-') {
        i++;
    }
    if (i < n && v[i] == '0') {
        i++;
    }
    else if (i < n && is_digit(v[i])) {
        while (i < n && is_digit(v[i])) {
            i++;
        }
    }
    else {
        return 0;
    }
    if (i < n && v[i] == '.') {
        real = 1;
        if (++i >= n || !is_digit(v[i])) {
            return 0;
        }
        while (i < n && is_digit(v[i])) {
            i++;
        }
    }
    if (i < n && (v[i] == 'e' || v[i] == 'E')) {
        real = 1;
        if (++i < n && (v[i] == '+' || v[i] == '-')) {
            i++;
        }
        if (i >= n || !is_digit(v[i])) {
            return 0;
        }
        while (i < n && is_digit(v[i])) {
            i++;
        }
    }
    if (i != n) {
        return 0;
    }
    tmp = n < sizeof(small) ? small : malloc(n + 1);
    if (!tmp) {
        return 0;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    errno = 0;
    if (real) {
        ok = real_count(strtod(tmp, NULL), out);
    }
    else {
        long long x = strtoll(tmp, NULL, 10);

        if (errno != ERANGE) {
            *out = x;
            ok = 1;
        }
    }
    if (tmp != small) {
        free(tmp);
    }
    return ok;
}

/* A text source is taken as it is: llm_json_top_member finds no member
 * in anything but an object. */
static int src_is_object(const usage_src_t *s)
{
    return s->text ? 1 : json_is_object(s->j);
}

/* The member `key` of s; an empty source when there is none. */
static usage_src_t src_member(const usage_src_t *s, const char *key)
{
    usage_src_t m = { NULL, NULL, 0 };

    if (!s->text) {
        m.j = json_is_object(s->j) ? json_object_get(s->j, key) : NULL;
    }
    else if (llm_json_top_member(s->text, s->len, key, &m.text, &m.len)
             != 1) {
        m.text = NULL;
    }
    return m;
}

static int src_int(const usage_src_t *v, long long *out)
{
    if (v->text) {
        return text_number(v->text, v->len, out);
    }
    if (json_is_integer(v->j)) {
        *out = json_integer_value(v->j);
        return 1;
    }
    if (json_is_real(v->j)) {
        return real_count(json_real_value(v->j), out);
    }
    return 0;
}

/* The usage object's member `which`; an empty source when there is none. */
static usage_src_t obj_member(const usage_obj_t *o, int which)
{
    usage_src_t m = { NULL, NULL, 0 };

    if (!o->walked) {
        return src_member(&o->src, usage_names[which]);
    }
    if (o->found[which] == 1) {
        m.text = o->v[which];
        m.len = o->n[which];
    }
    return m;
}

static int get_int(const usage_obj_t *o, int which, long long *out)
{
    usage_src_t v = obj_member(o, which);

    return src_int(&v, out);
}

static int get_nested_int(const usage_obj_t *o, int which,
                          const char *inner, long long *out)
{
    usage_src_t m = obj_member(o, which), v;

    if (!(m.text || m.j) || !src_is_object(&m)) {
        return 0;
    }
    v = src_member(&m, inner);
    return src_int(&v, out);
}

static int usage_from_src(llm_usage_t *u, const usage_src_t *src)
{
    long long v, in;
    int anthropic = 0, found = 0;
    usage_obj_t obj, *usage = &obj;

    if (!src_is_object(src)) {
        return 0;
    }
    obj.src = *src;
    obj.walked = src->text != NULL;
    if (obj.walked) {
        llm_json_top_members(src->text, src->len, usage_names, U_COUNT,
                             obj.v, obj.n, obj.found);
    }
    /* OpenAI Chat Completions, Completions, Embeddings */
    if (get_int(usage, U_PROMPT, &v)) {
        u->input_tokens = v;
        found = 1;
        if (get_nested_int(usage, U_PROMPT_DETAILS, "cached_tokens",
                           &v)) {
            u->cached_input_tokens = v;
        }
    }
    if (get_int(usage, U_COMPLETION, &v)) {
        u->output_tokens = v;
        u->output_final = 1;
        found = 1;
    }
    /* Anthropic keeps cache reads and writes out of input_tokens. */
    if (get_int(usage, U_CACHE_READ, &v)) {
        u->cached_input_tokens = v;
        anthropic = 1;
    }
    if (get_int(usage, U_CACHE_CREATION, &v)) {
        u->cache_creation_input_tokens = v;
        anthropic = 1;
    }
    if (get_int(usage, U_INPUT, &v)) {
        found = 1;
        if (get_nested_int(usage, U_INPUT_DETAILS, "cached_tokens",
                           &in)) {
            /* Responses API: input_tokens already counts the cached. */
            u->cached_input_tokens = in;
            u->input_tokens = v;
        }
        else {
            u->anthropic_uncached = v;
            anthropic = 1;
        }
    }
    if (anthropic) {
        found = 1;
        u->input_tokens = u->anthropic_uncached + u->cached_input_tokens
                          + u->cache_creation_input_tokens;
    }
    if (get_int(usage, U_OUTPUT, &v)) {
        u->output_tokens = v;
        u->output_final = 1;
        found = 1;
    }
    if (found) {
        u->seen = 1;
    }
    return found;
}

int llm_usage_from_object(llm_usage_t *u, json_t *usage)
{
    usage_src_t s = { usage, NULL, 0 };

    return usage_from_src(u, &s);
}

int llm_usage_from_body(llm_usage_t *u, json_t *body)
{
    if (!json_is_object(body)) {
        return 0;
    }
    return llm_usage_from_object(u, json_object_get(body, "usage"));
}

static int message_start_usage(llm_usage_t *u, const char *text,
                               size_t len, json_t *message);

int llm_usage_from_event(llm_usage_t *u, const char *event, json_t *data)
{
    const char *type;
    json_t *t;

    if (!json_is_object(data)) {
        return 0;
    }
    t = json_object_get(data, "type");
    type = json_is_string(t) ? json_string_value(t) : event;
    if (type) {
        if (!strcmp(type, "message_start")) {
            return message_start_usage(u, NULL, 0,
                                       json_object_get(data, "message"));
        }
        if (!strcmp(type, "message_delta")) {
            return llm_usage_from_object(u, json_object_get(data, "usage"));
        }
        if (!strcmp(type, "response.completed")
            || !strcmp(type, "response.incomplete")
            || !strcmp(type, "response.failed")
            || !strcmp(type, "response.done")) {
            return llm_usage_from_body(u, json_object_get(data, "response"));
        }
        if (!strncmp(type, "response.", 9) || !strncmp(type, "content_", 8)) {
            return 0;
        }
    }
    /* chat.completion.chunk: usage null except in the last chunk */
    return llm_usage_from_body(u, data);
}

int llm_usage_from_body_text(llm_usage_t *u, const char *buf, size_t len)
{
    usage_src_t s = { NULL, NULL, 0 };

    if (llm_json_top_member(buf, len, "usage", &s.text, &s.len) != 1) {
        return 0;
    }
    return usage_from_src(u, &s);
}

/* The usage inside the top-level member `name` (an object's text). */
static int usage_in_member(llm_usage_t *u, const char *buf, size_t len,
                           const char *name)
{
    const char *v;
    size_t vlen;

    if (llm_json_top_member(buf, len, name, &v, &vlen) != 1) {
        return 0;
    }
    return llm_usage_from_body_text(u, v, vlen);
}

/* message_start's output_tokens is a placeholder (1), not the answer's:
 * only message_delta's figure is final. */
static int message_start_usage(llm_usage_t *u, const char *text,
                               size_t len, json_t *message)
{
    int final = u->output_final;
    int rv = text ? usage_in_member(u, text, len, "message")
                  : llm_usage_from_body(u, message);

    u->output_final = final;
    return rv;
}

static int type_is(const char *type, size_t tlen, const char *name)
{
    return tlen == strlen(name) && !memcmp(type, name, tlen);
}

int llm_usage_from_event_text(llm_usage_t *u, const char *event,
                              const char *data, size_t len)
{
    /* Most events carry no usage: no parse unless the word is there. */
    if (len < 7 || !memmem(data, len, "usage", 5)) {
        return 0;
    }
    return llm_usage_read_event_text(u, event, data, len);
}

int llm_usage_read_event_text(llm_usage_t *u, const char *event,
                              const char *data, size_t len)
{
    const char *type = event, *v;
    size_t tlen = event ? strlen(event) : 0, vlen;
    json_t *j;
    int rv;

    /* Only the usage object is parsed, found by llm_usage_from_event's
     * rules (the stream is relayed as it came; this only counts tokens). */
    rv = llm_json_top_member(data, len, "type", &v, &vlen);
    if (rv < 0) {
        return 0;
    }
    if (rv == 1 && vlen >= 2 && *v == '"') {
        if (memchr(v + 1, '\\', vlen - 2)) {
            /* A type spelt with escapes: the full parse decodes it. */
            j = llm_json_fast_parse(data, len, LLM_DIALECT_MAX_DEPTH, NULL);
            if (!j) {
                return 0;
            }
            rv = llm_usage_from_event(u, event, j);
            json_decref(j);
            return rv;
        }
        type = v + 1;
        tlen = vlen - 2;
    }
    if (type) {
        if (type_is(type, tlen, "message_start")) {
            return message_start_usage(u, data, len, NULL);
        }
        if (type_is(type, tlen, "message_delta")) {
            return llm_usage_from_body_text(u, data, len);
        }
        if (type_is(type, tlen, "response.completed")
            || type_is(type, tlen, "response.incomplete")
            || type_is(type, tlen, "response.failed")
            || type_is(type, tlen, "response.done")) {
            return usage_in_member(u, data, len, "response");
        }
        if ((tlen >= 9 && !memcmp(type, "response.", 9))
            || (tlen >= 8 && !memcmp(type, "content_", 8))) {
            return 0;
        }
    }
    /* chat.completion.chunk: usage null except in the last chunk */
    return llm_usage_from_body_text(u, data, len);
}
