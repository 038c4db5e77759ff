/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A block's text scanned as it grows (llm_answer.h).  The decoded text is
 * kept from a little before the last final point on; older text is
 * dropped, so a stream of any length holds at most the context, the held
 * tail and what one call added.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_answer.h"

/* Decoder states for json blocks. */
enum { J_OUT = 0, J_STR, J_ESC, J_HEX };

/* Decoded bytes [d, d + n) came from source bytes [s, s + sn): byte for
 * byte when run (plain string text, numbers), else all of them from the
 * whole source span (an escape; a separator has sn 0). */
typedef struct {
    size_t d, s, n, sn;
    int run;
} seg_t;

struct llm_answer_stream_t {
    apr_pool_t *p;
    apr_pool_t *scratch;
    const llm_scan_rules_t *rs;
    int json;

    char *txt;               /* decoded text from tbase on */
    size_t tlen, tcap;
    /* json: where each stretch of decoded text came from (segments in
     * decoded order, the first may start before tbase) */
    seg_t *seg;
    int nseg, segcap;
    size_t tbase;            /* decoded offset of txt[0] */

    size_t src_end;          /* bytes added */
    size_t src_done;         /* json: bytes decoded whole (no open escape) */
    size_t committed;        /* decoded offset: final, its values reported */
    size_t released;         /* source offset the caller relayed */

    /* json decoder */
    int st;
    size_t esc_start;        /* source offset of the open escape */
    unsigned long hex;
    int nhex;
    unsigned long hi;        /* a high surrogate waiting for its pair */
    size_t hi_start;
};

llm_answer_stream_t *llm_answer_stream_create(apr_pool_t *p,
                                              const llm_scan_rules_t *rs,
                                              int json)
{
    llm_answer_stream_t *s = apr_pcalloc(p, sizeof(*s));

    s->p = p;
    s->rs = rs;
    s->json = json;
    apr_pool_create(&s->scratch, p);
    return s;
}

size_t llm_answer_stream_end(const llm_answer_stream_t *s)
{
    return s->src_end;
}

static void grow(llm_answer_stream_t *s, size_t need)
{
    size_t cap = s->tcap ? s->tcap : 256;
    char *t;

    if (s->tlen + need <= s->tcap) {
        return;
    }
    while (cap < s->tlen + need) {
        cap *= 2;
    }
    t = apr_palloc(s->p, cap);
    if (s->tlen) {
        memcpy(t, s->txt, s->tlen);
    }
    /* The old buffer stays in the pool until it goes: the block's text
     * is trimmed on every scan, so it only doubles a few times. */
    s->txt = t;
    s->tcap = cap;
}

/* Where decoded bytes [d, d + n) came from. */
static void map(llm_answer_stream_t *s, size_t n, size_t from, size_t to,
                int run)
{
    size_t d = s->tbase + s->tlen - n;
    seg_t *g = s->nseg ? &s->seg[s->nseg - 1] : NULL;

    if (g && g->d + g->n == d
        && ((run && g->run && g->s + g->sn == from)
            || (!run && !g->run && g->s == from && g->s + g->sn == to))) {
        /* more of the same run, or more bytes of one escape */
        g->n += n;
        g->sn = run ? g->sn + n : g->sn;
        return;
    }
    if (s->nseg == s->segcap) {
        int cap = s->segcap ? s->segcap * 2 : 16;
        seg_t *ns = apr_palloc(s->p, sizeof(seg_t) * (size_t)cap);

        if (s->nseg) {
            memcpy(ns, s->seg, sizeof(seg_t) * (size_t)s->nseg);
        }
        s->seg = ns;
        s->segcap = cap;
    }
    g = &s->seg[s->nseg++];
    g->d = d;
    g->s = from;
    g->n = n;
    g->sn = to - from;
    g->run = run;
}

static void put(llm_answer_stream_t *s, char c, size_t from, size_t to)
{
    grow(s, 1);
    s->txt[s->tlen++] = c;
    map(s, 1, from, to, to == from + 1 && s->st != J_ESC
                        && s->st != J_HEX);
}

static void put_run(llm_answer_stream_t *s, const char *b, size_t n,
                    size_t from)
{
    grow(s, n);
    memcpy(s->txt + s->tlen, b, n);
    s->tlen += n;
    map(s, n, from, from + n, 1);
}

/* Strings are separated from what is around them, so that no value runs
 * from one string into the next. */
static void sep(llm_answer_stream_t *s, size_t at)
{
    if (s->nseg && s->seg[s->nseg - 1].sn == 0
        && s->seg[s->nseg - 1].d + s->seg[s->nseg - 1].n
           == s->tbase + s->tlen) {
        return;
    }
    grow(s, 1);
    s->txt[s->tlen++] = '\n';
    map(s, 1, at, at, 0);
}

static void put_cp(llm_answer_stream_t *s, unsigned long cp, size_t from,
                   size_t to)
{
    if (cp < 0x80) {
        put(s, (char)cp, from, to);
    }
    else if (cp < 0x800) {
        put(s, (char)(0xC0 | (cp >> 6)), from, to);
        put(s, (char)(0x80 | (cp & 0x3F)), from, to);
    }
    else if (cp < 0x10000) {
        put(s, (char)(0xE0 | (cp >> 12)), from, to);
        put(s, (char)(0x80 | ((cp >> 6) & 0x3F)), from, to);
        put(s, (char)(0x80 | (cp & 0x3F)), from, to);
    }
    else {
        put(s, (char)(0xF0 | (cp >> 18)), from, to);
        put(s, (char)(0x80 | ((cp >> 12) & 0x3F)), from, to);
        put(s, (char)(0x80 | ((cp >> 6) & 0x3F)), from, to);
        put(s, (char)(0x80 | (cp & 0x3F)), from, to);
    }
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void json_byte(llm_answer_stream_t *s, unsigned char c, size_t at)
{
    int h;

    switch (s->st) {
    case J_OUT:
        if (c == '"') {
            sep(s, at);
            s->st = J_STR;
        }
        else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.'
                 || c == 'e' || c == 'E') {
            /* numbers: a card number written as one is still one */
            put(s, (char)c, at, at + 1);
        }
        else {
            sep(s, at);
        }
        s->src_done = at + 1;
        return;
    case J_STR:
        if (c == '\\') {
            s->st = J_ESC;
            s->esc_start = at;
            return;
        }
        if (c == '"') {
            sep(s, at);
            s->st = J_OUT;
        }
        else {
            put(s, (char)c, at, at + 1);
        }
        s->src_done = at + 1;
        return;
    case J_ESC:
        if (c == 'u') {
            s->st = J_HEX;
            s->hex = 0;
            s->nhex = 0;
            return;
        }
        put(s, c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r'
               : c == 'b' ? '\b' : c == 'f' ? '\f' : (char)c,
            s->esc_start, at + 1);
        s->st = J_STR;
        s->src_done = at + 1;
        return;
    case J_HEX:
        h = hexval(c);
        if (h < 0) {
            /* not JSON: the client will not parse it either; go on */
            s->st = J_STR;
            s->src_done = at + 1;
            return;
        }
        s->hex = s->hex * 16 + (unsigned long)h;
        if (++s->nhex < 4) {
            return;
        }
        s->st = J_STR;
        if (s->hex >= 0xD800 && s->hex < 0xDC00) {
            s->hi = s->hex;
            s->hi_start = s->esc_start;
            return;
        }
        if (s->hex >= 0xDC00 && s->hex < 0xE000 && s->hi) {
            put_cp(s, 0x10000 + ((s->hi - 0xD800) << 10) + (s->hex - 0xDC00),
                   s->hi_start, at + 1);
        }
        else {
            put_cp(s, s->hex >= 0xD800 && s->hex < 0xE000 ? 0xFFFD : s->hex,
                   s->esc_start, at + 1);
        }
        s->hi = 0;
        s->src_done = at + 1;
        return;
    }
}

void llm_answer_stream_add(llm_answer_stream_t *s, const char *piece,
                           size_t len)
{
    size_t i;

    if (!len) {
        return;
    }
    if (!s->json) {
        grow(s, len);
        memcpy(s->txt + s->tlen, piece, len);
        s->tlen += len;
        s->src_end += len;
        s->src_done = s->src_end;
        return;
    }
    for (i = 0; i < len;) {
        if (s->st == J_STR) {
            /* plain string text in one copy */
            size_t j = i;

            while (j < len && piece[j] != '"' && piece[j] != '\\') {
                j++;
            }
            if (j > i) {
                put_run(s, piece + i, j - i, s->src_end + i);
                s->src_done = s->src_end + j;
                i = j;
                continue;
            }
        }
        json_byte(s, (unsigned char)piece[i], s->src_end + i);
        i++;
    }
    s->src_end += len;
}

/* Bytes a value can hold: not blanks, quotes, brackets or separators. */
static int value_byte(unsigned char c)
{
    if (c >= 0x80) {
        return 1;
    }
    if (c <= 0x20) {
        return 0;
    }
    switch (c) {
    case '"': case '\'': case '`': case '<': case '>': case '(': case ')':
    case '[': case ']': case '{': case '}': case ',': case ';':
        return 0;
    }
    return 1;
}

static int letters(const char *t, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z'))) {
            return 0;
        }
    }
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static int digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

size_t llm_answer_tail_start(const char *text, size_t len, size_t from)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t p = len;

    if (len - from > LLM_ANSWER_HOLD_MAX) {
        from = len - LLM_ANSWER_HOLD_MAX;
    }
    for (;;) {
        while (p > from && value_byte(t[p - 1])) {
            p--;
        }
        /* Digits in groups (a card or phone number, "4111 1111 ...",
         * "(415) 867-5309"): a blank or dash between two groups, and the
         * brackets around an area code, do not end the run. */
        if (p >= from + 2 && (t[p - 1] == ' ' || t[p - 1] == '-')
            && (digit(t[p - 2]) || t[p - 2] == ')')
            && (p == len || digit(t[p]) || t[p] == '(')) {
            p--;
            continue;
        }
        if (p > from && t[p - 1] == '(' && (p == len || digit(t[p]))) {
            p--;
            continue;
        }
        if (p >= from + 2 && t[p - 1] == ')' && digit(t[p - 2])) {
            p--;
            continue;
        }
        return p;
    }
}

/* The segment holding decoded offset d. */
static const seg_t *seg_at(const llm_answer_stream_t *s, size_t d)
{
    int lo = 0, hi = s->nseg - 1, mid;

    while (lo < hi) {
        mid = (lo + hi + 1) / 2;
        if (s->seg[mid].d <= d) {
            lo = mid;
        }
        else {
            hi = mid - 1;
        }
    }
    return &s->seg[lo];
}

/* Source offset of decoded offset d (d <= the decoded end). */
static size_t src_at(const llm_answer_stream_t *s, size_t d)
{
    const seg_t *g;

    if (!s->json) {
        return d;
    }
    if (d >= s->tbase + s->tlen || !s->nseg) {
        return s->src_done;
    }
    g = seg_at(s, d);
    return g->run ? g->s + (d - g->d) : g->s;
}

static size_t src_end_of(const llm_answer_stream_t *s, size_t d_last)
{
    const seg_t *g;

    if (!s->json) {
        return d_last + 1;
    }
    g = seg_at(s, d_last);
    return g->run ? g->s + (d_last - g->d) + 1 : g->s + g->sn;
}

/* Drop decoded text no scan will look at again. */
static void trim(llm_answer_stream_t *s)
{
    size_t keep_from = s->committed > LLM_ANSWER_CONTEXT
                       ? s->committed - LLM_ANSWER_CONTEXT : 0;
    size_t drop;

    if (keep_from <= s->tbase) {
        return;
    }
    drop = keep_from - s->tbase;
    if (drop > s->tlen) {
        drop = s->tlen;
    }
    /* Moved only once the dead part is as large as the live one. */
    if (drop < 1024 || drop < s->tlen - drop) {
        return;
    }
    memmove(s->txt, s->txt + drop, s->tlen - drop);
    s->tlen -= drop;
    s->tbase += drop;
    if (s->json && s->nseg > 1) {
        /* segments wholly before the text kept go too */
        const seg_t *g = seg_at(s, s->tbase);
        int first = (int)(g - s->seg);

        if (first) {
            memmove(s->seg, s->seg + first,
                    sizeof(seg_t) * (size_t)(s->nseg - first));
            s->nseg -= first;
        }
    }
}

int llm_answer_stream_scan(llm_answer_stream_t *s, int final,
                           apr_array_header_t *out, size_t *safe)
{
    size_t tend = s->tbase + s->tlen;
    size_t from = s->committed > LLM_ANSWER_CONTEXT
                  ? s->committed - LLM_ANSWER_CONTEXT : 0;
    size_t tail, safe_d;
    apr_array_header_t *ms;
    int i, n = 0;

    if (from < s->tbase) {
        from = s->tbase;
    }
    if (from > s->tbase) {
        /* from the start of a word */
        size_t w = from;

        while (w < s->committed && !is_blank(s->txt[w - s->tbase])) {
            w++;
        }
        if (w < s->committed) {
            from = w + 1;
        }
    }
    tail = final ? tend
           : s->tbase + llm_answer_tail_start(s->txt, s->tlen,
                                              s->committed - s->tbase);
    if (tail == 0 && tend && tend <= 32 && letters(s->txt, tend)) {
        /* The block's first word, still alone: it goes at once, for the
         * time to first token.  Should it grow into a value (the local
         * part of an address), that value is reported late. */
        tail = tend;
    }
    safe_d = tail;
    if (tend > s->committed) {
        ms = apr_array_make(s->scratch, 4, sizeof(llm_scan_match_t));
        if (llm_scan_text(s->rs, s->txt + (from - s->tbase), tend - from,
                          s->scratch, ms) < 0) {
            apr_pool_clear(s->scratch);
            return -1;
        }
        /* A value reaching into the held tail may still grow: it is
         * held whole, and reported once the text after it is known. */
        for (i = 0; !final && i < ms->nelts; i++) {
            const llm_scan_match_t *m = &APR_ARRAY_IDX(ms, i,
                                                       llm_scan_match_t);
            size_t ms_ = from + m->offset, me = ms_ + m->length;

            if (me > tail && ms_ < safe_d) {
                safe_d = ms_ > s->committed ? ms_ : s->committed;
            }
        }
        for (i = 0; i < ms->nelts; i++) {
            const llm_scan_match_t *m = &APR_ARRAY_IDX(ms, i,
                                                       llm_scan_match_t);
            size_t ms_ = from + m->offset, me = ms_ + m->length;
            llm_answer_match_t *a;

            if (me <= s->committed || me > safe_d) {
                continue;
            }
            a = apr_array_push(out);
            a->m = *m;
            a->m.offset = ms_;
            a->start = src_at(s, ms_);
            a->end = src_end_of(s, me - 1);
            a->late = a->start < s->released;
            a->value = apr_pstrmemdup(s->p, s->txt + (ms_ - s->tbase),
                                      m->length);
            n++;
        }
        apr_pool_clear(s->scratch);
    }
    if (safe_d > s->committed) {
        s->committed = safe_d;
    }
    *safe = src_at(s, s->committed);
    trim(s);
    return n;
}

void llm_answer_stream_release(llm_answer_stream_t *s, size_t upto)
{
    if (upto > s->released) {
        s->released = upto;
    }
}
