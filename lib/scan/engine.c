/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * One scan: run the prefilter (and through it the anchored regexes and the
 * recognisers), the keyword automaton and the admin patterns, then settle
 * overlaps.  Every byte of scratch comes from the caller's pool, PCRE2's
 * match data included, so a scan leaves nothing behind and needs no lock.
 */

#include <stdlib.h>
#include <string.h>

#include "scan_private.h"

static void *pool_malloc(PCRE2_SIZE size, void *data)
{
    return apr_palloc((apr_pool_t *)data, size);
}

static void pool_free(void *ptr, void *data)
{
    /* the pool frees it all at once */
    (void)ptr;
    (void)data;
}

pcre2_match_data *llm_scan_md(llm_scan_ctx_t *cx)
{
    pcre2_general_context *gctx;

    if (cx->md) {
        return cx->md;
    }
    gctx = pcre2_general_context_create(pool_malloc, pool_free, cx->p);
    if (!gctx
        || !(cx->md = pcre2_match_data_create(cx->rs->max_ovec, gctx))) {
        cx->error = 1;
        return NULL;
    }
    return cx->md;
}

llm_scan_cand_t *llm_scan_cand_push(llm_scan_ctx_t *cx)
{
    if (!cx->cands) {
        cx->cands = apr_array_make(cx->p, 16, sizeof(llm_scan_cand_t));
    }
    return apr_array_push(cx->cands);
}

void llm_scan_emit(llm_scan_ctx_t *cx, int rule, size_t off, size_t len)
{
    llm_scan_cand_t *c;

    if (len == 0 || LLM_RULE(cx->rs, rule)->disabled
        || llm_scan_allowed(cx, rule, off, len)) {
        return;
    }
    c = llm_scan_cand_push(cx);
    c->off = off;
    c->len = len;
    c->rule = rule;
    c->prio = LLM_RULE(cx->rs, rule)->prio;
}

static int match(llm_scan_ctx_t *cx, const llm_scan_rule_t *r, size_t at)
{
    pcre2_match_data *md = llm_scan_md(cx);

    if (!md) {
        return PCRE2_ERROR_NOMEMORY;
    }
    return pcre2_match(r->code, cx->t, cx->len, at, 0, md, cx->rs->mctx);
}

/* user:password inside base64 */
static int basic_auth_ok(const unsigned char *v, size_t n)
{
    unsigned char buf[300];
    size_t o, k, colon = 0;

    o = llm_scan_b64_decode(v, n, buf, sizeof(buf));
    if (o < 3) {
        return 0;
    }
    for (k = 0; k < o; k++) {
        if (buf[k] < 0x20 || buf[k] > 0x7e) {
            return 0;
        }
        if (buf[k] == ':' && !colon) {
            colon = k;
        }
    }
    return colon > 0 && colon + 1 < o
           && !llm_scan_password_placeholder(buf + colon + 1, o - colon - 1);
}

/* A built-in rule written in C, started at its anchor like a pattern. */
static size_t run_finder(llm_scan_ctx_t *cx, const llm_scan_rule_t *r,
                         int rule, size_t at)
{
    size_t e;

    if ((r->flags & LLM_RF_BOUND_LEFT) && !llm_scan_word_start(cx->t, at)) {
        return at + 1;
    }
    e = r->find(cx, rule, at);
    return e > at ? e : at + 1;
}

size_t llm_scan_run_pattern(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const llm_scan_rule_t *r = LLM_RULE(cx->rs, rule);
    PCRE2_SIZE *ov;
    size_t off, len;
    int rc;

    if (r->find) {
        return run_finder(cx, r, rule, at);
    }
    if (!r->code || ((r->flags & LLM_RF_BOUND_LEFT)
                     && !llm_scan_word_start(cx->t, at))) {
        return at + 1;
    }
    rc = match(cx, r, at);
    if (rc < 0) {
        if (rc != PCRE2_ERROR_NOMATCH) {
            cx->error = 1;
        }
        return at + 1;
    }
    ov = pcre2_get_ovector_pointer(cx->md);    /* made by match() */
    if (rc >= 2 && ov[2] != PCRE2_UNSET) {
        off = ov[2];
        len = ov[3] - ov[2];
    }
    else {
        off = ov[0];
        len = ov[1] - ov[0];
    }
    if ((r->flags & LLM_RF_ENTROPY)
        && !llm_scan_looks_random(cx->t + off, len, 1)) {
        return at + 1;
    }
    if ((r->flags & LLM_RF_BASIC_AUTH) && !basic_auth_ok(cx->t + off, len)) {
        return at + 1;
    }
    if (r->check && !r->check(cx, off, len)) {
        return at + 1;
    }
    llm_scan_emit(cx, rule, off, len);
    /* go on right after the anchor: a wider rule (Bearer ...) may hold a
     * more specific one (a JWT) that overlap resolution will prefer */
    return at + 1;
}

void llm_scan_run_admin(llm_scan_ctx_t *cx)
{
    const llm_scan_rules_t *rs = cx->rs;
    int i;

    for (i = rs->admin_from; i < rs->rules->nelts && !cx->error; i++) {
        const llm_scan_rule_t *r = LLM_RULE(rs, i);
        size_t at = 0, next;
        if (r->builtin || r->disabled || !r->code) {
            continue;
        }
        while (at <= cx->len) {
            PCRE2_SIZE *ov;
            int rc = match(cx, r, at);
            if (rc < 0) {
                if (rc != PCRE2_ERROR_NOMATCH) {
                    cx->error = 1;
                }
                break;
            }
            ov = pcre2_get_ovector_pointer(cx->md);
            /* the allow check in emit reuses the match data: take what is
             * needed from the ovector first */
            next = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
            if (rc >= 2 && ov[2] != PCRE2_UNSET) {
                llm_scan_emit(cx, i, ov[2], ov[3] - ov[2]);
            }
            else {
                llm_scan_emit(cx, i, ov[0], ov[1] - ov[0]);
            }
            at = next;
        }
    }
}

static int by_rank(const void *a, const void *b)
{
    const llm_scan_cand_t *x = a, *y = b;

    if (x->prio != y->prio) {
        return y->prio - x->prio;
    }
    if (x->len != y->len) {
        return x->len < y->len ? 1 : -1;
    }
    if (x->off != y->off) {
        return x->off < y->off ? -1 : 1;
    }
    return x->rule - y->rule;
}

static int by_offset(const void *a, const void *b)
{
    const llm_scan_cand_t *x = a, *y = b;

    if (x->off != y->off) {
        return x->off < y->off ? -1 : 1;
    }
    return by_rank(a, b);
}

static int by_offset_ptr(const void *a, const void *b)
{
    return by_offset(*(const llm_scan_cand_t *const *)a,
                     *(const llm_scan_cand_t *const *)b);
}

static void push_match(llm_scan_ctx_t *cx, apr_array_header_t *out,
                       const llm_scan_cand_t *c)
{
    const llm_scan_rule_t *r = LLM_RULE(cx->rs, c->rule);
    llm_scan_match_t *m = apr_array_push(out);

    m->type = r->type;
    m->rule = r->id;
    m->category = r->cat;
    m->offset = c->off;
    m->length = c->len;
}

/* Overlapping candidates form clusters; in each, the best candidates that
 * do not overlap a better one are kept.  Clusters are nearly always one
 * candidate, so the whole is O(n log n) however many findings there are. */
static int resolve(llm_scan_ctx_t *cx, apr_array_header_t *out)
{
    llm_scan_cand_t *c;
    int n, i = 0, kept_total = 0;
    llm_scan_cand_t **kept = NULL;

    if (!cx->cands || cx->cands->nelts == 0) {
        return 0;
    }
    c = (llm_scan_cand_t *)cx->cands->elts;
    n = cx->cands->nelts;
    qsort(c, (size_t)n, sizeof(*c), by_offset);
    while (i < n) {
        int j = i + 1, nk = 0, x;
        size_t end = c[i].off + c[i].len;

        while (j < n && c[j].off < end) {
            if (c[j].off + c[j].len > end) {
                end = c[j].off + c[j].len;
            }
            j++;
        }
        if (j - i == 1) {
            push_match(cx, out, &c[i]);
            kept_total++;
            i = j;
            continue;
        }
        if (!kept) {
            kept = apr_palloc(cx->p, sizeof(*kept) * (size_t)n);
        }
        qsort(c + i, (size_t)(j - i), sizeof(*c), by_rank);
        for (x = i; x < j; x++) {
            int k, ok = 1;
            for (k = 0; k < nk && ok; k++) {
                ok = c[x].off + c[x].len <= kept[k]->off
                     || kept[k]->off + kept[k]->len <= c[x].off;
            }
            if (ok) {
                kept[nk++] = &c[x];
            }
        }
        qsort(kept, (size_t)nk, sizeof(*kept), by_offset_ptr);
        for (x = 0; x < nk; x++) {
            push_match(cx, out, kept[x]);
        }
        kept_total += nk;
        i = j;
    }
    return kept_total;
}

int llm_scan_text(const llm_scan_rules_t *rs, const char *text, size_t len,
                  apr_pool_t *p, apr_array_header_t *out)
{
    llm_scan_ctx_t cx;

    if (!rs || !rs->compiled || !out || (!text && len)) {
        return -1;
    }
    /* The candidates and PCRE2's match data are made when first needed
     * (llm_scan_cand_push, llm_scan_md): most units of an agent's request
     * run no regex and find nothing, and making them for each of its
     * hundreds of strings was a tenth of the scan of a 50 KB request. */
    memset(&cx, 0, sizeof(cx));
    cx.rs = rs;
    cx.t = (const unsigned char *)(text ? text : "");
    cx.len = len;
    cx.p = p;
    llm_scan_prefilter_run(&cx);
    if (!cx.error && rs->kw) {
        llm_scan_kw_run(&cx);
    }
    if (!cx.error) {
        llm_scan_run_admin(&cx);
    }
    if (!cx.error) {
        llm_scan_views(&cx);     /* views.c: decoded views, when triggered */
    }
    if (cx.error) {
        return -1;
    }
    return resolve(&cx, out);
}

const char *llm_scan_mask(apr_pool_t *p, const char *value, size_t len)
{
    /* short values show nothing: four characters of an 8-character
     * password are half of it */
    size_t show = len >= 16 ? 4 : 0, stars = len - show, k;
    char *m;

    if (stars > 12) {
        stars = 12;
    }
    m = apr_palloc(p, show + stars + 1);
    for (k = 0; k < show; k++) {
        unsigned char c = (unsigned char)value[k];
        m[k] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
    }
    memset(m + show, '*', stars);
    m[show + stars] = '\0';
    return m;
}
