/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Restoring placeholders in a stream of answer events (llm_restore.h).
 *
 * The text of an answer comes in pieces, one per event, each the next
 * part of one string: a text block, a tool call's arguments.  Such a
 * string is named by its channel: the path of its member in the event,
 * with the event's and the array elements' "index" (and the Responses
 * API's output_index, content_index) in place of positions, so that
 * "choices#0/delta/tool_calls#1/function/arguments" names the same
 * string in every chunk of the second tool call.
 *
 * A channel whose last piece ends in what could begin a placeholder is
 * pending: its event, and every event after it, is held.  The next piece
 * of the channel decides: if it completes a placeholder, the value goes
 * at the start of that piece and the beginning is cut from the pieces
 * before (all still held); otherwise nothing changes.  Any event that is
 * not a piece of the channel (a block's end, a finish chunk, [DONE])
 * ends the wait the same way: a placeholder is written in consecutive
 * pieces of its string.
 */

#include <stdio.h>
#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "llm_sse.h"
#include "json_fast.h"
#include "restore_private.h"

/* A path deeper than this is not followed as a channel (its strings are
 * still restored, whole). */
#define PATH_MAX_LEN 512

/* Events held behind one pending beginning before it is let go: a
 * provider sending empty pieces without end must not grow memory. */
#define MAX_HELD 1024

typedef struct held_t {
    struct held_t *next;
    apr_pool_t *pool;            /* its own: gone once it went on */
    const char *raw;             /* the event's bytes as they came */
    size_t raw_len;
    json_t *json;                /* NULL: not JSON, goes on as it came */
    const char *event;
    const char *id;
    int lf;                      /* raw begins with the last one's "\n" */
    int holds;                   /* pending beginnings in its strings */
    int modified;
} held_t;

/* A string of a held event whose end, from `from`, is part of a pending
 * beginning. */
typedef struct {
    held_t *ev;
    json_t *node;
    size_t from;
} part_t;

typedef struct {
    const char *key;
    size_t key_len;
    char text[LLM_RESTORE_MAX_PLACEHOLDER];
    size_t len;
    part_t parts[LLM_RESTORE_MAX_PLACEHOLDER];
    int nparts;
    int seen;                    /* continued by the event being read */
} chan_t;

struct llm_restore_stream_t {
    apr_pool_t *p;
    const llm_restore_map_t *m;
    llm_sse_parser_t *ps;
    apr_pool_t *scratch;         /* for one event; cleared after it */
    held_t *head, *last;
    int nheld;
    apr_array_header_t *chans;   /* of chan_t: the pending ones */
    llm_dbuf_t out;
    llm_dbuf_t raw;              /* the event being read, from earlier pieces */
    const char *piece;
    size_t mark;
    int verbatim;                /* piece[0..mark) goes on as it is */
    char path[PATH_MAX_LEN];
    int args_event;              /* a Responses arguments event */
    int cr;                      /* the last event's bytes ended in "\r" */
    int rewritten;               /* the last event out was rewritten */
    int count;
    int failed;
};

llm_restore_stream_t *llm_restore_stream_create(apr_pool_t *p,
                                                const llm_restore_map_t *m,
                                                size_t max_event)
{
    llm_restore_stream_t *s = apr_pcalloc(p, sizeof(*s));

    s->p = p;
    s->m = m;
    s->ps = llm_sse_parser_create(p, max_event);
    apr_pool_create(&s->scratch, p);
    s->chans = apr_array_make(p, 2, sizeof(chan_t));
    llm_dbuf_init(&s->out, p, ((size_t)-1) / 4);
    llm_dbuf_init(&s->raw, p, ((size_t)-1) / 4);
    return s;
}

int llm_restore_stream_count(const llm_restore_stream_t *s)
{
    return s->count;
}

int llm_restore_stream_failed(const llm_restore_stream_t *s)
{
    return s->failed;
}

/* --- output -------------------------------------------------------------- */

/* Bytes of the piece's events that went on as they came stay where they
 * are while nothing else is sent (the piece itself is then the output);
 * anything else copies them first. */
static void flush_verbatim(llm_restore_stream_t *s)
{
    if (s->verbatim) {
        s->verbatim = 0;
        if (s->mark) {
            llm_dbuf_append(&s->out, s->piece, s->mark);
        }
    }
}

static void put(llm_restore_stream_t *s, const char *d, size_t n)
{
    flush_verbatim(s);
    if (n) {
        llm_dbuf_append(&s->out, d, n);
    }
}

/* An event's bytes as they came.  lf: they begin with the "\n" of the
 * "\r\n" that ended the event before, cut off by a piece's end; it
 * goes with that event, and so is left out when that one was rewritten
 * (which ends in its own "\n\n"): the caller gets the same bytes
 * however the stream was cut. */
static void put_raw(llm_restore_stream_t *s, const char *raw, size_t n,
                    int lf)
{
    if (lf && s->rewritten) {
        raw++;
        n--;
    }
    put(s, raw, n);
    s->rewritten = 0;
}

static void emit(llm_restore_stream_t *s, const held_t *h)
{
    size_t n;
    char *dump;

    if (!h->json || !h->modified) {
        put_raw(s, h->raw, h->raw_len, h->lf);
        return;
    }
    if (h->lf && !s->rewritten) {
        put(s, "\n", 1);
    }
    if (h->event) {
        put(s, "event: ", 7);
        put(s, h->event, strlen(h->event));
        put(s, "\n", 1);
    }
    if (h->id) {
        put(s, "id: ", 4);
        put(s, h->id, strlen(h->id));
        put(s, "\n", 1);
    }
    dump = llm_json_dump(s->scratch, h->json, &n);
    put(s, "data: ", 6);
    put(s, dump, n);
    put(s, "\n\n", 2);
    s->rewritten = 1;
}

/* Events go on in order while the first is held by nothing. */
static void drain(llm_restore_stream_t *s)
{
    held_t *h;

    while (s->head && s->head->holds == 0) {
        h = s->head;
        emit(s, h);
        s->head = h->next;
        s->nheld--;
        apr_pool_destroy(h->pool);
    }
    if (!s->head) {
        s->last = NULL;
    }
}

/* --- channels ------------------------------------------------------------ */

static chan_t *find_chan(llm_restore_stream_t *s, const char *key,
                         size_t key_len)
{
    chan_t *c = (chan_t *)s->chans->elts;
    int i;

    for (i = 0; i < s->chans->nelts; i++) {
        if (c[i].key_len == key_len && !memcmp(c[i].key, key, key_len)) {
            return &c[i];
        }
    }
    return NULL;
}

static void drop_chan(llm_restore_stream_t *s, chan_t *c)
{
    chan_t *all = (chan_t *)s->chans->elts;
    int i = (int)(c - all);

    memmove(&all[i], &all[i + 1],
            sizeof(chan_t) * (size_t)(s->chans->nelts - i - 1));
    s->chans->nelts--;
}

/* Not a placeholder after all: the parts stay as they are. */
static void release(llm_restore_stream_t *s, chan_t *c)
{
    int i;

    for (i = 0; i < c->nparts; i++) {
        c->parts[i].ev->holds--;
    }
    drop_chan(s, c);
}

/* A placeholder after all: its beginning leaves the earlier parts. */
static void cut(llm_restore_stream_t *s, chan_t *c)
{
    part_t *pt;
    int i;

    for (i = 0; i < c->nparts; i++) {
        pt = &c->parts[i];
        json_string_setn(pt->node, json_string_value(pt->node), pt->from);
        pt->ev->modified = 1;
        pt->ev->holds--;
    }
    drop_chan(s, c);
}

static void open_chan(llm_restore_stream_t *s, held_t *h, json_t *node,
                      const char *key, size_t key_len, size_t tail)
{
    chan_t *c = apr_array_push(s->chans);

    /* In the pool of its first part's event, which goes on only once
     * the channel is let go. */
    c->key = apr_pstrmemdup(h->pool, key, key_len);
    c->key_len = key_len;
    c->len = json_string_length(node) - tail;
    memcpy(c->text, json_string_value(node) + tail, c->len);
    c->parts[0].ev = h;
    c->parts[0].node = node;
    c->parts[0].from = tail;
    c->nparts = 1;
    c->seen = 1;
    h->holds++;
}

/* node's string, none of it pending: restored; its end may open the
 * channel. */
static void piece_alone(llm_restore_stream_t *s, held_t *h, json_t *node,
                        const char *key, size_t key_len, int json_text,
                        const char *prefix, size_t prefix_len)
{
    const char *out;
    size_t out_len, tail;
    int n;
    char *joined;

    n = llm_restore_string(s->m, s->scratch, json_string_value(node),
                           json_string_length(node), json_text, &out,
                           &out_len, &tail);
    if (prefix_len) {
        joined = apr_palloc(s->scratch, prefix_len + out_len + 1);
        memcpy(joined, prefix, prefix_len);
        memcpy(joined + prefix_len, out, out_len);
        out = joined;
        out_len += prefix_len;
        tail += prefix_len;
    }
    if (n || prefix_len) {
        json_string_setn(node, out, out_len);
        h->modified = 1;
        s->count += n;
    }
    if (tail < out_len) {
        open_chan(s, h, node, key, key_len, tail);
    }
}

/* The next piece of a channel's string. */
static void piece(llm_restore_stream_t *s, held_t *h, json_t *node,
                  const char *key, size_t key_len, int json_text)
{
    chan_t *c = find_chan(s, key, key_len);
    const llm_restore_map_t *m = s->m;
    const char *v = json_string_value(node), *close;
    size_t n = json_string_length(node), j;
    const llm_restore_entry_t *e;
    char cand[LLM_RESTORE_MAX_PLACEHOLDER * 2];
    json_t *rest;

    if (!c) {
        piece_alone(s, h, node, key, key_len, json_text, NULL, 0);
        return;
    }
    c->seen = 1;
    close = memchr(v, ']', n);
    if (close) {
        j = (size_t)(close - v) + 1;
        if (c->len + j <= m->longest) {
            memcpy(cand, c->text, c->len);
            memcpy(cand + c->len, v, j);
            if ((e = llm_restore_lookup(m, cand, c->len + j)) != NULL) {
                cut(s, c);
                s->count++;
                /* The value, then the rest of this piece restored. */
                rest = json_stringn(v + j, n - j);
                if (!rest) {
                    return;
                }
                json_string_setn(node, json_string_value(rest),
                                 json_string_length(rest));
                json_decref(rest);
                piece_alone(s, h, node, key, key_len, json_text,
                            json_text ? e->escaped : e->value,
                            json_text ? e->elen : e->len);
                return;
            }
        }
    }
    else if (c->len + n < m->longest) {
        memcpy(cand, c->text, c->len);
        memcpy(cand + c->len, v, n);
        if (llm_restore_is_prefix(m, cand, c->len + n)) {
            /* Still only a beginning: one more part. */
            memcpy(c->text + c->len, v, n);
            c->len += n;
            if (n) {
                c->parts[c->nparts].ev = h;
                c->parts[c->nparts].node = node;
                c->parts[c->nparts].from = 0;
                c->nparts++;
                h->holds++;
            }
            return;
        }
    }
    release(s, c);
    piece_alone(s, h, node, key, key_len, json_text, NULL, 0);
}

/* --- one event ----------------------------------------------------------- */

static int piece_key(const char *key)
{
    return !strcmp(key, "text") || !strcmp(key, "partial_json")
           || !strcmp(key, "content") || !strcmp(key, "arguments")
           || !strcmp(key, "refusal") || !strcmp(key, "delta");
}

static size_t path_add(llm_restore_stream_t *s, size_t at, const char *seg,
                       size_t n)
{
    if (at == (size_t)-1 || at + n >= PATH_MAX_LEN) {
        return (size_t)-1;       /* too deep to be a channel */
    }
    memcpy(s->path + at, seg, n);
    return at + n;
}

static size_t path_indices(llm_restore_stream_t *s, size_t at, json_t *obj)
{
    static const char *const names[] = { "index", "output_index",
                                         "content_index" };
    char seg[48];
    json_t *v;
    int i, n;

    for (i = 0; i < 3; i++) {
        v = json_object_get(obj, names[i]);
        if (json_is_integer(v)) {
            n = snprintf(seg, sizeof(seg), "#%c%" JSON_INTEGER_FORMAT,
                         names[i][0], json_integer_value(v));
            at = path_add(s, at, seg, (size_t)n);
        }
    }
    return at;
}

static void walk(llm_restore_stream_t *s, held_t *h, json_t *v,
                 const char *key, int json_text, size_t at, int depth)
{
    const char *k;
    json_t *child;
    size_t i, sub;
    char seg[32];
    int n;

    if (depth > 64) {
        return;
    }
    if (json_is_string(v)) {
        if (key && at != (size_t)-1 && piece_key(key)) {
            piece(s, h, v, s->path, at, json_text);
        }
        else if ((n = llm_restore_set_string(s->scratch, s->m, v, json_text,
                                             NULL)) > 0) {
            h->modified = 1;
            s->count += n;
        }
        return;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, child) {
            /* An element with an "index" is named by it (a chunk's only
             * tool call may be the second one), others by position. */
            if (json_is_integer(json_object_get(child, "index"))) {
                sub = at;
            }
            else {
                n = snprintf(seg, sizeof(seg), "@%zu", i);
                sub = path_add(s, at, seg, (size_t)n);
            }
            walk(s, h, child, key, 0, sub, depth + 1);
        }
        return;
    }
    if (!json_is_object(v) || llm_restore_skipped_object(v)) {
        return;
    }
    at = path_indices(s, at, v);
    json_object_foreach(v, k, child) {
        if (llm_restore_skipped_key(k)) {
            continue;
        }
        sub = path_add(s, at, "/", 1);
        sub = path_add(s, sub, k, strlen(k));
        walk(s, h, child, k,
             llm_restore_json_text_key(k)
             || (s->args_event && !strcmp(k, "delta")),
             sub, depth + 1);
    }
}

static void read_event(llm_restore_stream_t *s, const llm_sse_event_t *ev,
                       const char *raw, size_t raw_len)
{
    held_t *h;
    json_t *j;
    const char *type;
    chan_t *c;
    int i, ping, lf = s->cr && raw_len && raw[0] == '\n';
    apr_pool_t *hp;

    s->cr = raw_len && raw[raw_len - 1] == '\r';
    if (!s->head && !s->chans->nelts
        && !llm_restore_candidate(s->m, ev->data, ev->data_len)) {
        if (s->verbatim && !(lf && s->rewritten)) {
            s->rewritten = 0;
            return;
        }
        put_raw(s, raw, raw_len, lf);
        return;
    }
    /* This one is read: the piece can no longer go on as it is. */
    flush_verbatim(s);
    apr_pool_create(&hp, s->p);
    h = apr_pcalloc(hp, sizeof(*h));
    h->pool = hp;
    h->lf = lf;
    h->raw = apr_pmemdup(hp, raw, raw_len);
    h->raw_len = raw_len;
    h->event = ev->event ? apr_pstrdup(hp, ev->event) : NULL;
    h->id = ev->id ? apr_pstrdup(hp, ev->id) : NULL;
    j = llm_json_fast_parse(ev->data, ev->data_len, LLM_DIALECT_MAX_DEPTH,
                            NULL);
    if (json_is_object(j)) {
        h->json = llm_dialect_pool_own(hp, j);
    }
    else {
        json_decref(j);
    }
    type = h->json ? llm_dialect_str(h->json, "type") : NULL;
    ping = (ev->event && !strcmp(ev->event, "ping"))
           || (type && !strcmp(type, "ping"));
    s->args_event = type && strstr(type, "arguments") != NULL;
    c = (chan_t *)s->chans->elts;
    for (i = 0; i < s->chans->nelts; i++) {
        c[i].seen = 0;
    }
    if (h->json) {
        walk(s, h, h->json, NULL, 0, 0, 0);
    }
    if (!ping || s->nheld >= MAX_HELD) {
        /* A pending string not continued here has ended. */
        for (i = s->chans->nelts - 1; i >= 0; i--) {
            c = &((chan_t *)s->chans->elts)[i];
            if (!c->seen || s->nheld >= MAX_HELD) {
                release(s, c);
            }
        }
    }
    if (s->last) {
        s->last->next = h;
    }
    else {
        s->head = h;
    }
    s->last = h;
    s->nheld++;
    drain(s);
    apr_pool_clear(s->scratch);
}

static int on_event(void *baton, const llm_sse_event_t *ev)
{
    llm_restore_stream_t *s = baton;
    size_t end;

    if (!s->piece) {
        /* the last event, unterminated, at the end of the stream */
        read_event(s, ev, s->raw.data ? s->raw.data : "", s->raw.len);
        s->raw.len = 0;
        return 0;
    }
    end = llm_sse_parser_line_end(s->ps);
    if (!s->raw.len) {
        read_event(s, ev, s->piece + s->mark, end - s->mark);
    }
    else {
        llm_dbuf_append(&s->raw, s->piece + s->mark, end - s->mark);
        read_event(s, ev, s->raw.data, s->raw.len);
        s->raw.len = 0;
    }
    s->mark = end;
    return 0;
}

/* Everything held goes on as it stands; restoring stops. */
static void give_up(llm_restore_stream_t *s)
{
    while (s->chans->nelts) {
        release(s, (chan_t *)s->chans->elts);
    }
    drain(s);
    put_raw(s, s->raw.data, s->raw.len, s->cr && s->raw.len
                                        && s->raw.data[0] == '\n');
    s->raw.len = 0;
}

void llm_restore_stream_feed(llm_restore_stream_t *s, const char *buf,
                             size_t len, const char **out, size_t *out_len)
{
    s->out.len = 0;
    if (s->failed) {
        *out = buf;
        *out_len = len;
        return;
    }
    s->piece = buf;
    s->mark = 0;
    /* Only a piece that begins an event can go on as it is. */
    s->verbatim = s->raw.len == 0;
    if (llm_sse_parser_feed(s->ps, buf, len, on_event, s) != 0) {
        s->failed = 1;
        give_up(s);
        put(s, buf + s->mark, len - s->mark);
    }
    else if (s->verbatim && s->mark == len) {
        /* Whole events, none held or changed: the piece as it came. */
        s->verbatim = 0;
        s->piece = NULL;
        *out = buf;
        *out_len = len;
        return;
    }
    else if (s->mark < len) {
        flush_verbatim(s);
        llm_dbuf_append(&s->raw, buf + s->mark, len - s->mark);
    }
    s->piece = NULL;
    *out = s->out.data ? s->out.data : "";
    *out_len = s->out.len;
}

void llm_restore_stream_finish(llm_restore_stream_t *s, const char **out,
                               size_t *out_len)
{
    s->out.len = 0;
    if (!s->failed) {
        s->piece = NULL;
        llm_sse_parser_finish(s->ps, on_event, s);
        give_up(s);
    }
    *out = s->out.data ? s->out.data : "";
    *out_len = s->out.len;
}
