/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Streamed answers (scan_answer.h).  Bytes are cut into whole events;
 * each event's strings are added to the blocks they continue
 * (llm_answer_walk_event), the blocks are scanned once per brigade, and
 * events go on, in the order they came and each whole, as soon as every
 * string in them is final (llm_answer_stream_scan's safe point).  An event
 * holding the start of what could still become a value waits for the next
 * pieces or for its block's end; the events after it wait with it, so
 * nothing is reordered.  A redaction rewrites only the string token of
 * the events the value was in; every other byte goes as it came.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "dialect/llm_dialect.h"
#include "dialect/llm_sse.h"
#include "scan_answer.h"

APLOG_USE_MODULE(llm_scan);

/* Bytes read without a flush before the events so far are judged and
 * sent anyway: what the core output filter holds back itself. */
#define ANSWER_BURST_MAX 65536

typedef struct {
    const char *name;
    llm_answer_kind_e kind;
    llm_answer_stream_t *st;
    apr_array_header_t *edits;   /* of scan_answer_edit_t */
    size_t safe;
    int dirty, ended;
} block_t;

typedef struct {
    block_t *b;                  /* NULL: a whole string ("done" events) */
    size_t start, end;           /* in the block */
    size_t tok_off, tok_len;     /* in the event's data */
    const char *text;
    size_t len;
    apr_array_header_t *edits;   /* whole strings: their own */
} piece_t;

typedef struct held_t {
    struct held_t *next;
    const char *raw;
    size_t len;
    const char *data;            /* the data: lines joined */
    size_t data_len;
    size_t data_off;             /* in raw, when one data: line holds it */
    int one_line;
    const char *event;           /* the event: field */
    piece_t *pieces;
    int npieces;
    const char *new_data;        /* rewritten whole (a repeated item) */
    size_t new_data_len;
    int joined_in_raw;           /* data points into raw */
} held_t;

struct scan_answer_sse_t {
    apr_pool_t *hp;              /* held events; cleared when none is */
    held_t *head, *tail;
    char *pend;                  /* bytes not yet a whole event */
    size_t plen, pcap;
    size_t used;                 /* of pend, cut into events this call */
    size_t seen;                 /* of the event not yet whole, searched */
    block_t *last;               /* the block found last */
    apr_hash_t *blocks;
    apr_array_header_t *list;    /* of block_t * */
    apr_array_header_t *matches;
    char *ob;                    /* bytes going on in this call */
    size_t olen, ocap;
    int done;                    /* blocked: nothing more goes on */
};

static void grow(apr_pool_t *p, char **buf, size_t *cap, size_t len,
                 size_t need)
{
    size_t c = *cap ? *cap : 4096;
    char *nb;

    if (len + need <= *cap) {
        return;
    }
    while (c < len + need) {
        c *= 2;
    }
    nb = apr_palloc(p, c);
    if (len) {
        memcpy(nb, *buf, len);
    }
    *buf = nb;
    *cap = c;
}

/* Bytes going on, in a buffer the bucket that carries them will own. */
static void emit(scan_answer_t *ctx, const char *s, size_t n)
{
    scan_answer_sse_t *z = ctx->sse;

    if (z->olen + n > z->ocap) {
        size_t cap = z->ocap ? z->ocap * 2 : 8192;
        char *nb;

        while (cap < z->olen + n) {
            cap *= 2;
        }
        nb = apr_bucket_alloc(cap, ctx->out->bucket_alloc);
        if (z->olen) {
            memcpy(nb, z->ob, z->olen);
        }
        if (z->ob) {
            apr_bucket_free(z->ob);
        }
        z->ob = nb;
        z->ocap = cap;
    }
    memcpy(z->ob + z->olen, s, n);
    z->olen += n;
}

static block_t *block_for(scan_answer_t *ctx, const char *name,
                          llm_answer_kind_e kind)
{
    scan_answer_sse_t *z = ctx->sse;
    block_t *b = z->last && !strcmp(z->last->name, name)
                 ? z->last
                 : apr_hash_get(z->blocks, name, APR_HASH_KEY_STRING);

    if (b) {
        z->last = b;
        b->ended = 0;
        return b;
    }
    b = apr_pcalloc(ctx->r->pool, sizeof(*b));
    b->name = apr_pstrdup(ctx->r->pool, name);
    b->kind = kind;
    b->st = llm_answer_stream_create(ctx->r->pool, ctx->rules,
                                     kind == LLM_ANSWER_ARGS);
    b->edits = apr_array_make(ctx->r->pool, 2, sizeof(scan_answer_edit_t));
    apr_hash_set(z->blocks, b->name, APR_HASH_KEY_STRING, b);
    APR_ARRAY_PUSH(z->list, block_t *) = b;
    z->last = b;
    return b;
}

/* A string repeated whole (a "done" event): judged on its own. */
static void whole_piece(scan_answer_t *ctx, piece_t *pc,
                        const llm_answer_piece_t *ap)
{
    scan_answer_sse_t *z = ctx->sse;
    llm_answer_stream_t *st = llm_answer_stream_create(z->hp, ctx->rules,
                                                       ap->kind
                                                       == LLM_ANSWER_ARGS);
    size_t safe;

    pc->edits = apr_array_make(z->hp, 1, sizeof(scan_answer_edit_t));
    apr_array_clear(z->matches);
    llm_answer_stream_add(st, ap->text, ap->len);
    if (llm_answer_stream_scan(st, 1, z->matches, &safe) < 0) {
        ctx->blocked = 1;
        return;
    }
    if (z->matches->nelts
        && llm_scan_answer_judge(ctx, ap->kind, ap->block, z->matches,
                                 pc->edits)) {
        ctx->blocked = 1;
    }
}

/* An event that repeats strings inside items: parsed and judged whole. */
static void whole_event(scan_answer_t *ctx, held_t *h)
{
    scan_answer_sse_t *z = ctx->sse;
    int before = ctx->redacted, rv;
    json_t *obj = llm_json_parse(z->hp, h->data, h->data_len, NULL);

    if (!obj) {
        return;
    }
    rv = llm_scan_answer_object(ctx, obj);
    if (rv != 0) {
        ctx->blocked = 1;
        return;
    }
    if (ctx->redacted != before) {
        h->new_data = llm_json_dump(z->hp, obj, &h->new_data_len);
    }
}

static void end_blocks(scan_answer_t *ctx, const char *prefix)
{
    scan_answer_sse_t *z = ctx->sse;
    size_t n = strlen(prefix);
    int i;

    for (i = 0; i < z->list->nelts; i++) {
        block_t *b = APR_ARRAY_IDX(z->list, i, block_t *);

        if (!strncmp(b->name, prefix, n)) {
            b->ended = 1;
            b->dirty = 1;
        }
    }
}

/* One whole event (raw[0, len), its blank line included). */
static void take_event(scan_answer_t *ctx, const char *raw, size_t len)
{
    scan_answer_sse_t *z = ctx->sse;
    held_t *h = apr_pcalloc(z->hp, sizeof(*h));
    const char *p = raw, *end = raw + len, *nl, *v;
    char *joined = NULL;
    size_t jl = 0, vl;
    int ndata = 0, i, rv;
    llm_answer_event_t ev;

    /* in the pending bytes until it is kept past this call (keep_held) */
    h->raw = raw;
    h->len = len;
    for (; p < end; p = nl + 1) {
        if (!(nl = memchr(p, '\n', (size_t)(end - p)))) {
            nl = end;
        }
        vl = (size_t)(nl - p);
        if (vl && p[vl - 1] == '\r') {
            vl--;
        }
        if (vl >= 5 && !memcmp(p, "data:", 5)) {
            v = p + 5;
            vl -= 5;
            if (vl && *v == ' ') {
                v++;
                vl--;
            }
            if (!ndata++) {
                h->data_off = (size_t)(v - raw);
                h->data_len = vl;
                joined = (char *)h->raw + h->data_off;
                h->joined_in_raw = 1;
                jl = vl;
            }
            else {
                char *nj = apr_palloc(z->hp, jl + 1 + vl + 1);

                memcpy(nj, joined, jl);
                nj[jl] = '\n';
                memcpy(nj + jl + 1, v, vl);
                joined = nj;
                jl += 1 + vl;
            }
        }
        else if (vl >= 6 && !memcmp(p, "event:", 6)) {
            v = p + 6;
            vl -= 6;
            if (vl && *v == ' ') {
                v++;
                vl--;
            }
            h->event = apr_pstrmemdup(z->hp, v, vl);
        }
        if (nl == end) {
            break;
        }
    }
    h->one_line = ndata == 1;
    h->data = joined ? joined : "";
    h->data_len = jl;
    if (ndata) {
        rv = llm_answer_walk_event(z->hp, ctx->req->endpoint, h->event,
                                   h->data, h->data_len, &ev);
        if (rv > 0) {
            whole_event(ctx, h);
        }
        h->pieces = apr_pcalloc(z->hp, sizeof(piece_t)
                                       * (ev.pieces->nelts + 1));
        for (i = 0; i < ev.pieces->nelts; i++) {
            const llm_answer_piece_t *ap = &APR_ARRAY_IDX(ev.pieces, i,
                                                          llm_answer_piece_t);
            piece_t *pc = &h->pieces[h->npieces++];

            pc->tok_off = ap->tok_off;
            pc->tok_len = ap->tok_len;
            pc->text = ap->text;
            pc->len = ap->len;
            if (ap->whole) {
                whole_piece(ctx, pc, ap);
                continue;
            }
            pc->b = block_for(ctx, ap->block, ap->kind);
            pc->start = llm_answer_stream_end(pc->b->st);
            llm_answer_stream_add(pc->b->st, ap->text, ap->len);
            pc->end = llm_answer_stream_end(pc->b->st);
            pc->b->dirty = 1;
        }
        for (i = 0; i < ev.ends->nelts; i++) {
            end_blocks(ctx, APR_ARRAY_IDX(ev.ends, i, const char *));
        }
    }
    if (z->tail) {
        z->tail->next = h;
    }
    else {
        z->head = h;
    }
    z->tail = h;
}

/* Whole events out of the pending bytes. */
static void cut_events(scan_answer_t *ctx)
{
    scan_answer_sse_t *z = ctx->sse;
    const char *p = z->pend + z->seen, *end = z->pend + z->plen, *nl;
    const char *ev = z->pend;

    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p = nl + 1;
        /* a blank line: "\n" or "\r\n" right after a line's end */
        if (p < end && *p == '\n') {
            p++;
        }
        else if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
            p += 2;
        }
        else {
            continue;
        }
        take_event(ctx, ev, (size_t)(p - ev));
        ev = p;
    }
    z->used = (size_t)(ev - z->pend);
    /* An event larger than a read is searched once, not from its start
     * again with every read (the last two bytes may begin its end). */
    z->seen = (size_t)(end - ev) > 2 ? (size_t)(end - ev) - 2 : 0;
}

/* Events still held after this call leave the pending bytes, which are
 * reused: their bytes (and the strings that point into them) are copied
 * to the held events' pool.  Most events go on in the call that read
 * them and are never copied. */
static void keep_held(scan_answer_t *ctx)
{
    scan_answer_sse_t *z = ctx->sse;
    held_t *h;
    int i;

    for (h = z->head; h; h = h->next) {
        const char *old = h->raw, *oend = h->raw + h->len;
        char *nr;

        if (!(old >= z->pend && old < z->pend + z->pcap)) {
            continue;
        }
        nr = apr_pmemdup(z->hp, old, h->len);
        h->raw = nr;
        if (h->data >= old && h->data < oend) {
            h->data = nr + (h->data - old);
        }
        for (i = 0; i < h->npieces; i++) {
            if (h->pieces[i].text >= old && h->pieces[i].text < oend) {
                h->pieces[i].text = nr + (h->pieces[i].text - old);
            }
        }
    }
    if (z->used) {
        z->plen -= z->used;
        memmove(z->pend, z->pend + z->used, z->plen);
        z->used = 0;
    }
}

static void scan_blocks(scan_answer_t *ctx)
{
    scan_answer_sse_t *z = ctx->sse;
    int i;

    for (i = 0; i < z->list->nelts; i++) {
        block_t *b = APR_ARRAY_IDX(z->list, i, block_t *);

        if (!b->dirty) {
            continue;
        }
        b->dirty = 0;
        apr_array_clear(z->matches);
        if (llm_answer_stream_scan(b->st, b->ended, z->matches, &b->safe)
            < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, ctx->r, LLMNO(01210)
                          "scan engine failed on the streamed answer at %s; "
                          "the stream is ended", b->name);
            ctx->blocked = 1;
            continue;
        }
        if (z->matches->nelts
            && llm_scan_answer_judge(ctx, b->kind, b->name, z->matches,
                                     b->edits)) {
            ctx->blocked = 1;
        }
    }
}

static int ready(const held_t *h)
{
    int i;

    for (i = 0; i < h->npieces; i++) {
        const piece_t *pc = &h->pieces[i];

        if (pc->b && pc->end > pc->b->safe) {
            return 0;
        }
    }
    return 1;
}

/* The event as it goes on: its strings redacted where a value was. */
static void send_event(scan_answer_t *ctx, held_t *h)
{
    scan_answer_sse_t *z = ctx->sse;
    const char *data = h->new_data ? h->new_data : h->data;
    size_t dlen = h->new_data ? h->new_data_len : h->data_len;
    int i, changed = h->new_data != NULL;

    /* last piece first: the earlier tokens' offsets stay valid */
    for (i = h->npieces - 1; i >= 0 && !h->new_data; i--) {
        const piece_t *pc = &h->pieces[i];
        const apr_array_header_t *edits = pc->b ? pc->b->edits : pc->edits;
        const char *t, *q;
        size_t tl, ql;
        char *nd;

        if (!edits || !edits->nelts) {
            continue;
        }
        t = llm_scan_answer_apply(z->hp, pc->text, pc->len,
                                  pc->b ? pc->start : 0, edits, &tl);
        if (t == pc->text) {
            continue;
        }
        q = llm_answer_json_quote(z->hp, t, tl, &ql);
        nd = apr_palloc(z->hp, dlen - pc->tok_len + ql);
        memcpy(nd, data, pc->tok_off);
        memcpy(nd + pc->tok_off, q, ql);
        memcpy(nd + pc->tok_off + ql, data + pc->tok_off + pc->tok_len,
               dlen - pc->tok_off - pc->tok_len);
        data = nd;
        dlen = dlen - pc->tok_len + ql;
        changed = 1;
    }
    if (!changed) {
        emit(ctx, h->raw, h->len);
        return;
    }
    if (h->one_line) {
        /* every other byte of the event as it came */
        emit(ctx, h->raw, h->data_off);
        emit(ctx, data, dlen);
        emit(ctx, h->raw + h->data_off + h->data_len,
             h->len - h->data_off - h->data_len);
        return;
    }
    if (h->event) {
        emit(ctx, "event: ", 7);
        emit(ctx, h->event, strlen(h->event));
        emit(ctx, "\n", 1);
    }
    emit(ctx, "data: ", 6);
    emit(ctx, data, dlen);
    emit(ctx, "\n\n", 2);
}

static void release(scan_answer_t *ctx)
{
    scan_answer_sse_t *z = ctx->sse;
    int i;

    while (z->head && ready(z->head)) {
        held_t *h = z->head;

        send_event(ctx, h);
        for (i = 0; i < h->npieces; i++) {
            if (h->pieces[i].b) {
                llm_answer_stream_release(h->pieces[i].b->st,
                                          h->pieces[i].end);
            }
        }
        z->head = h->next;
    }
    if (!z->head) {
        z->tail = NULL;
        apr_pool_clear(z->hp);
    }
}

apr_status_t llm_scan_answer_sse(scan_answer_t *ctx, apr_bucket_brigade *bb)
{
    request_rec *r = ctx->r;
    scan_answer_sse_t *z = ctx->sse;
    apr_bucket *e, *next, *eos = NULL;
    apr_bucket_brigade *errors = NULL;
    apr_bucket_alloc_t *ba = ctx->out->bucket_alloc;
    int flush = 0;
    apr_status_t rv;

    if (!z) {
        z = ctx->sse = apr_pcalloc(r->pool, sizeof(*z));
        apr_pool_create(&z->hp, r->pool);
        z->blocks = apr_hash_make(r->pool);
        z->list = apr_array_make(r->pool, 4, sizeof(block_t *));
        z->matches = apr_array_make(r->pool, 4, sizeof(llm_answer_match_t));
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = next) {
        const char *data;
        apr_size_t n;

        next = APR_BUCKET_NEXT(e);
        if (APR_BUCKET_IS_EOS(e)) {
            APR_BUCKET_REMOVE(e);
            eos = e;
            break;
        }
        if (APR_BUCKET_IS_FLUSH(e)) {
            flush = 1;
            continue;
        }
        if (AP_BUCKET_IS_ERROR(e)) {
            /* the provider's connection broke: after what goes now */
            APR_BUCKET_REMOVE(e);
            if (!errors) {
                errors = apr_brigade_create(r->pool, ba);
            }
            APR_BRIGADE_INSERT_TAIL(errors, e);
            flush = 1;
            continue;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        if ((rv = apr_bucket_read(e, &data, &n, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        if (z->done || !n) {
            continue;
        }
        if (z->plen + n > LLM_SSE_DEFAULT_MAX_EVENT) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01211)
                          "stream event of provider %s over %d bytes: too "
                          "large to check; the stream is ended",
                          ctx->req->provider ? ctx->req->provider : "-",
                          LLM_SSE_DEFAULT_MAX_EVENT);
            ctx->blocked = 1;
            break;
        }
        grow(r->pool, &z->pend, &z->pcap, z->plen, n);
        memcpy(z->pend + z->plen, data, n);
        z->plen += n;
    }
    /* Nothing goes to the client before a flush (mod_proxy sends one
     * whenever the provider pauses) or the core's buffer would fill:
     * the events of a burst are read and scanned together. */
    if (!flush && !eos && !ctx->blocked && !z->done
        && z->plen < ANSWER_BURST_MAX) {
        return APR_SUCCESS;
    }
    if (!z->done && !ctx->blocked) {
        cut_events(ctx);
        if (eos && z->plen > z->used) {
            /* the last event without its blank line */
            take_event(ctx, z->pend + z->used, z->plen - z->used);
            z->used = z->plen;
            z->seen = 0;
        }
        if (eos) {
            end_blocks(ctx, "");
        }
        scan_blocks(ctx);
    }
    if (ctx->blocked && !z->done) {
        const char *ev;
        size_t n;

        /* what is held holds the value or comes after it: dropped */
        z->head = z->tail = NULL;
        apr_pool_clear(z->hp);
        ev = llm_scan_answer_error_event(ctx, &n);
        emit(ctx, ev, n);
        z->done = 1;
        flush = 1;
    }
    else if (!z->done) {
        release(ctx);
        keep_held(ctx);
        if (eos && ctx->redacted && ctx->req->decision == LLM_DECISION_ALLOW) {
            ctx->req->decision = LLM_DECISION_REDACT;
        }
        if (eos && !ctx->found && !errors) {
            ctx->req->answer_clean_mark = llm_scan_answer_mark(ctx);
        }
    }
    if (z->olen) {
        APR_BRIGADE_INSERT_TAIL(ctx->out,
                                apr_bucket_heap_create(z->ob, z->olen,
                                                       apr_bucket_free, ba));
        z->ob = NULL;
        z->ocap = z->olen = 0;
    }
    if (errors) {
        APR_BRIGADE_CONCAT(ctx->out, errors);
    }
    if (flush) {
        APR_BRIGADE_INSERT_TAIL(ctx->out, apr_bucket_flush_create(ba));
    }
    if (eos) {
        APR_BRIGADE_INSERT_TAIL(ctx->out, eos);
    }
    return APR_SUCCESS;
}
