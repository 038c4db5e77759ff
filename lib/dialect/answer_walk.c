/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Where the caller-visible strings of a stream's events are
 * (llm_answer_walk.h): each event's data read member by member, each
 * object once, since this runs for every event of every stream.  Whole
 * answers: answer_body.c.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_answer_walk.h"
#include "json_fast.h"

/* --- spans of JSON text -------------------------------------------------- */

typedef struct {
    const char *p;
    size_t n;
} span_t;

static int member(span_t obj, const char *name, span_t *v)
{
    return llm_json_top_member(obj.p, obj.n, name, &v->p, &v->n) == 1;
}

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* The members named in names, in one pass over obj (each out[i].n is 0
 * when absent).  Once need of them are found, the walk stops there, and a
 * container found last is not walked over (its span then runs to obj's
 * end: what reads it stops at its own end).  Returns the end of the
 * object (NULL when it stopped early), or NULL when obj is not an object
 * this can follow (*bad set).  The stream's events are read with this:
 * each object once, not once per member wanted. */
static const char *members(span_t obj, const char *const *names, int nn,
                           int need, span_t *out, int *bad)
{
    const char *p = obj.p, *end = obj.p + obj.n, *k, *v;
    size_t kl;
    int i, found = 0;

    *bad = 0;
    for (i = 0; i < nn; i++) {
        out[i].p = NULL;
        out[i].n = 0;
    }
    p = ws(p, end);
    if (p >= end || *p != '{') {
        *bad = 1;
        return NULL;
    }
    p = ws(p + 1, end);
    if (p < end && *p == '}') {
        return p + 1;
    }
    while (p < end) {
        if (*p != '"') {
            break;
        }
        k = p + 1;
        for (p = k; p < end && *p != '"'; p++) {
            if (*p == '\\') {
                p++;
            }
        }
        if (p >= end) {
            break;
        }
        kl = (size_t)(p - k);
        p = ws(p + 1, end);
        if (p >= end || *p != ':') {
            break;
        }
        v = ws(p + 1, end);
        for (i = 0; i < nn; i++) {
            /* compared as written: a name spelt with escapes is not it */
            if (!out[i].p && kl && names[i][0] == *k
                && strlen(names[i]) == kl && !memcmp(k, names[i], kl)) {
                break;
            }
        }
        if (i < nn && ++found == need && v < end
            && (*v == '{' || *v == '[')) {
            out[i].p = v;
            out[i].n = (size_t)(end - v);
            return NULL;
        }
        if (!(p = llm_json_skip_value(v, end))) {
            break;
        }
        if (i < nn) {
            out[i].p = v;
            out[i].n = (size_t)(p - v);
        }
        p = ws(p, end);
        if (p < end && *p == ',') {
            p = ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            return p + 1;
        }
        break;
    }
    *bad = 1;
    return NULL;
}

/* prefix, a number, the rest: the block names, without a format parse
 * for every event */
static const char *name1(apr_pool_t *p, const char *a, long i, const char *b)
{
    char num[24], *o, *out;
    int n = 0;
    size_t la = strlen(a), lb = strlen(b);

    do {
        num[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i && n < 20);
    o = out = apr_palloc(p, la + (size_t)n + lb + 1);
    memcpy(o, a, la);
    o += la;
    while (n) {
        *o++ = num[--n];
    }
    memcpy(o, b, lb + 1);
    return out;
}

static int is_string(span_t v)
{
    return v.n >= 2 && v.p[0] == '"';
}

/* The span's text if it is a JSON string "name" as written. */
static int string_is(span_t v, const char *s)
{
    size_t n = strlen(s);

    return v.n == n + 2 && v.p[0] == '"' && !memcmp(v.p + 1, s, n);
}

static long integer(span_t v)
{
    long n = 0;
    size_t i;

    for (i = 0; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
        n = n * 10 + (v.p[i] - '0');
        if (n > 1000000) {
            return -1;
        }
    }
    return i ? n : -1;
}

/* Next element of the array whose '[' is at a->p; *at walks it. */
static int element(span_t arr, const char **at, span_t *el)
{
    const char *end = arr.p + arr.n, *q = *at ? *at : arr.p + 1, *e;

    while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'
                       || *q == ',')) {
        q++;
    }
    if (q >= end || *q == ']') {
        return 0;
    }
    if (!(e = llm_json_skip_value(q, end)) || e == q) {
        return 0;
    }
    el->p = q;
    el->n = (size_t)(e - q);
    *at = e;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *put_cp(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    }
    else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

static unsigned long hex4(const char *q)
{
    unsigned long v = 0;
    int i, h;

    for (i = 0; i < 4; i++) {
        if ((h = hexval(q[i])) < 0) {
            return 0xFFFD;
        }
        v = v * 16 + (unsigned long)h;
    }
    return v;
}

/* The decoded value of a JSON string token; the token's own bytes when
 * it holds no escape. */
static int decode(apr_pool_t *p, span_t tok, const char **text, size_t *len)
{
    const char *q = tok.p + 1, *end = tok.p + tok.n - 1;
    char *o, *out;
    unsigned long cp, lo;

    if (!memchr(q, '\\', (size_t)(end - q))) {
        *text = q;
        *len = (size_t)(end - q);
        return 0;
    }
    o = out = apr_palloc(p, (size_t)(end - q) + 1);
    while (q < end) {
        if (*q != '\\') {
            *o++ = *q++;
            continue;
        }
        if (++q >= end) {
            return -1;
        }
        switch (*q) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u':
            if (end - q < 5) {
                return -1;
            }
            cp = hex4(q + 1);
            q += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - q >= 7 && q[1] == '\\'
                && q[2] == 'u' && (lo = hex4(q + 3)) >= 0xDC00
                && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            }
            else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            o = put_cp(o, cp);
            break;
        default: *o++ = *q; break;
        }
        q++;
    }
    *o = '\0';
    *text = out;
    *len = (size_t)(o - out);
    return 0;
}

static void piece(apr_pool_t *p, llm_answer_event_t *out, span_t data,
                  span_t tok, llm_answer_kind_e kind, const char *block,
                  int whole)
{
    llm_answer_piece_t *pc;
    const char *t;
    size_t n;

    if (!is_string(tok) || decode(p, tok, &t, &n) != 0) {
        return;
    }
    pc = apr_array_push(out->pieces);
    pc->kind = kind;
    pc->block = block;
    pc->tok_off = (size_t)(tok.p - data.p);
    pc->tok_len = tok.n;
    pc->text = t;
    pc->len = n;
    pc->whole = whole;
}

static void ends(llm_answer_event_t *out, const char *block)
{
    APR_ARRAY_PUSH(out->ends, const char *) = block;
}

/* --- Anthropic Messages ------------------------------------------------- */

static int messages_event(apr_pool_t *p, span_t d, span_t type,
                          span_t idx, span_t sub, llm_answer_event_t *out)
{
    static const char *const dn[] = { "type", "text", "partial_json",
                                      "thinking" };
    span_t m[4];
    long i = integer(idx);

    if (string_is(type, "content_block_delta")
        || string_is(type, "content_block_start")) {
        int start = string_is(type, "content_block_start");

        int bad;

        if (i < 0 || !sub.n) {
            return 0;
        }
        members(sub, dn, 4, 5, m, &bad);
        if (bad) {
            return 0;
        }
        if ((string_is(m[0], start ? "text" : "text_delta")) && m[1].n) {
            piece(p, out, d, m[1], LLM_ANSWER_TEXT,
                  name1(p, "content[", i, "].text"), 0);
        }
        else if (!start && string_is(m[0], "input_json_delta") && m[2].n) {
            piece(p, out, d, m[2], LLM_ANSWER_ARGS,
                  name1(p, "content[", i, "].input"), 0);
        }
        else if (string_is(m[0], start ? "thinking" : "thinking_delta")
                 && m[3].n) {
            piece(p, out, d, m[3], LLM_ANSWER_SIGNED,
                  name1(p, "content[", i, "].thinking"), 0);
        }
        return 0;
    }
    if (string_is(type, "content_block_stop")) {
        if (i >= 0) {
            ends(out, name1(p, "content[", i, "]."));
        }
        return 0;
    }
    if (string_is(type, "message_stop")) {
        out->last = 1;
        ends(out, "");
    }
    else if (string_is(type, "error")) {
        out->error = 1;
    }
    return 0;
}

/* --- OpenAI chat and completions chunks --------------------------------- */

/* One choice of a chunk; the end of its object, or NULL. */
static const char *chat_choice(apr_pool_t *p, span_t d, span_t ch,
                               llm_answer_event_t *out, long ci)
{
    static const char *const cn[] = { "index", "delta", "text",
                                      "finish_reason" };
    static const char *const dn[] = { "content", "refusal", "tool_calls" };
    static const char *const tn[] = { "index", "function" };
    span_t c[4], dv[3], t[2], v, call;
    const char *at = NULL, *pre, *cend;
    long i = ci, j;
    int bad;

    cend = members(ch, cn, 4, 5, c, &bad);
    if (bad) {
        return NULL;
    }
    if (c[0].n && integer(c[0]) >= 0) {
        i = integer(c[0]);
    }
    if (c[2].n) {
        piece(p, out, d, c[2], LLM_ANSWER_TEXT,
              name1(p, "choices[", i, "].text"), 0);
    }
    if (c[1].n && (members(c[1], dn, 3, 4, dv, &bad), !bad)) {
        if (dv[0].n && dv[0].p[0] == '"') {
            piece(p, out, d, dv[0], LLM_ANSWER_TEXT,
                  name1(p, "choices[", i, "].delta.content"), 0);
        }
        if (dv[1].n && dv[1].p[0] == '"') {
            piece(p, out, d, dv[1], LLM_ANSWER_TEXT,
                  name1(p, "choices[", i, "].delta.refusal"), 0);
        }
        if (dv[2].n && dv[2].p[0] == '[') {
            pre = name1(p, "choices[", i, "].delta.tool_calls[");
            for (j = 0; element(dv[2], &at, &call); j++) {
                long k = j;

                members(call, tn, 2, 3, t, &bad);
                if (bad) {
                    continue;
                }
                if (t[0].n && integer(t[0]) >= 0) {
                    k = integer(t[0]);
                }
                if (t[1].n && member(t[1], "arguments", &v)) {
                    piece(p, out, d, v, LLM_ANSWER_ARGS,
                          name1(p, pre, k, "].function.arguments"), 0);
                }
            }
        }
    }
    if (c[3].n && is_string(c[3])) {
        ends(out, name1(p, "choices[", i, "]."));
    }
    return cend;
}

static int chat_event(apr_pool_t *p, span_t d, llm_answer_event_t *out)
{
    static const char *const top[] = { "choices", "error" };
    span_t m[2], ch;
    const char *q, *end = d.p + d.n;
    long i;
    int bad;

    if (d.n == 6 && !memcmp(d.p, "[DONE]", 6)) {
        out->last = 1;
        ends(out, "");
        return 0;
    }
    members(d, top, 2, 1, m, &bad);
    if (bad) {
        return -1;
    }
    if (m[0].n && m[0].p[0] == '[') {
        /* each choice read once: its own walk says where it ends */
        q = ws(m[0].p + 1, end);
        for (i = 0; q < end && *q == '{'; i++) {
            ch.p = q;
            ch.n = (size_t)(end - q);
            if (!(q = chat_choice(p, d, ch, out, i))) {
                break;
            }
            q = ws(q, end);
            if (q >= end || *q != ',') {
                break;
            }
            q = ws(q + 1, end);
        }
    }
    else if (m[1].n) {
        out->error = 1;
    }
    return 0;
}

/* --- OpenAI Responses ---------------------------------------------------- */

static int responses_event(apr_pool_t *p, span_t d, span_t type,
                           llm_answer_event_t *out)
{
    span_t oi, ci, v;
    long o = 0, c = 0;
    const char *t;

    if (type.n < 2) {
        return 0;
    }
    if (member(d, "output_index", &oi) && integer(oi) >= 0) {
        o = integer(oi);
    }
    if (member(d, "content_index", &ci) && integer(ci) >= 0) {
        c = integer(ci);
    }
    else if (member(d, "summary_index", &ci) && integer(ci) >= 0) {
        c = integer(ci);
    }
    t = apr_pstrndup(p, type.p + 1, type.n - 2);
    if (!strcmp(t, "response.output_text.delta")
        || !strcmp(t, "response.refusal.delta")
        || !strcmp(t, "response.reasoning_summary_text.delta")
        || !strcmp(t, "response.reasoning_text.delta")) {
        if (member(d, "delta", &v)) {
            piece(p, out, d, v, LLM_ANSWER_TEXT,
                  apr_psprintf(p, "output[%ld].content[%ld].text", o, c), 0);
        }
        return 0;
    }
    if (!strcmp(t, "response.function_call_arguments.delta")
        || !strcmp(t, "response.custom_tool_call_input.delta")) {
        if (member(d, "delta", &v)) {
            piece(p, out, d, v, LLM_ANSWER_ARGS,
                  apr_psprintf(p, "output[%ld].arguments", o), 0);
        }
        return 0;
    }
    if (!strcmp(t, "response.completed") || !strcmp(t, "response.failed")
        || !strcmp(t, "response.incomplete")) {
        out->last = 1;
        ends(out, "");
        return 0;
    }
    if (!strcmp(t, "error")) {
        out->error = 1;
        return 0;
    }
    /* The ".done" events and the items they close repeat the whole
     * strings: the caller reads them whole (its pieces are not deltas). */
    if (!strcmp(t, "response.output_text.done")
        || !strcmp(t, "response.reasoning_summary_text.done")
        || !strcmp(t, "response.reasoning_text.done")) {
        if (member(d, "text", &v)) {
            piece(p, out, d, v, LLM_ANSWER_TEXT,
                  apr_psprintf(p, "output[%ld].content[%ld].text", o, c), 1);
        }
        ends(out, apr_psprintf(p, "output[%ld].content[%ld].", o, c));
        return 0;
    }
    if (!strcmp(t, "response.refusal.done")) {
        if (member(d, "refusal", &v)) {
            piece(p, out, d, v, LLM_ANSWER_TEXT,
                  apr_psprintf(p, "output[%ld].content[%ld].text", o, c), 1);
        }
        ends(out, apr_psprintf(p, "output[%ld].content[%ld].", o, c));
        return 0;
    }
    if (!strcmp(t, "response.function_call_arguments.done")) {
        if (member(d, "arguments", &v)) {
            piece(p, out, d, v, LLM_ANSWER_ARGS,
                  apr_psprintf(p, "output[%ld].arguments", o), 1);
        }
        ends(out, apr_psprintf(p, "output[%ld].", o));
        return 0;
    }
    if (!strcmp(t, "response.output_item.done")) {
        ends(out, apr_psprintf(p, "output[%ld].", o));
    }
    return 0;
}

/* Events the walk above reads whole with jansson: they repeat strings
 * inside items (content_part.done, output_item.done, completed). */
static const char *const whole_events[] = {
    "response.content_part.done", "response.output_item.done",
    "response.completed", "response.incomplete", "response.failed",
    "response.output_item.added", "response.content_part.added", NULL
};

int llm_answer_walk_event(apr_pool_t *p, llm_endpoint_e ep,
                          const char *event, const char *data, size_t len,
                          llm_answer_event_t *out)
{
    span_t d, type;

    (void)event;
    d.p = data;
    d.n = len;
    out->pieces = apr_array_make(p, 2, sizeof(llm_answer_piece_t));
    out->ends = apr_array_make(p, 1, sizeof(const char *));
    out->last = 0;
    out->error = 0;
    switch (ep) {
    case LLM_EP_OPENAI_CHAT:
    case LLM_EP_OPENAI_COMPLETIONS:
        return chat_event(p, d, out);
    case LLM_EP_ANTHROPIC_MESSAGES: {
        static const char *const mn[] = { "type", "index", "delta",
                                          "content_block" };
        span_t m[4];
        int bad;

        members(d, mn, 4, 3, m, &bad);
        if (bad) {
            return -1;
        }
        return messages_event(p, d, m[0], m[1], m[2].n ? m[2] : m[3], out);
    }
    case LLM_EP_OPENAI_RESPONSES:
        if (!member(d, "type", &type)) {
            return llm_json_top_member(d.p, d.n, "x", &type.p, &type.n) < 0
                   ? -1 : 0;
        }
        {
            int i, rv = responses_event(p, d, type, out);

            for (i = 0; whole_events[i]; i++) {
                if (string_is(type, whole_events[i])) {
                    return rv ? rv : 1;
                }
            }
            return rv;
        }
    default:
        return 0;
    }
}
