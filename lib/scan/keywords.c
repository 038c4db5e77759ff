/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Admin keyword lists (project names, customer names, hostnames): all
 * lists of a rule set go into one Aho-Corasick automaton, turned into a
 * full DFA over the bytes that occur in the words, so that one pass finds
 * every word of every list whatever their number.  Matching is ASCII
 * case-insensitive and whole-word.
 */

#include <string.h>

#include "apr_strings.h"
#include "scan_private.h"

typedef struct {
    const char *word;
    size_t len;
    int rule;
} kw_word_t;

typedef struct {
    int rule;
    int len;
    int next;
} kw_out_t;

struct llm_scan_kw_t {
    int nstates;
    int ncls;
    uint8_t cls[256];
    int32_t *delta;          /* nstates * ncls */
    int32_t *out;            /* first output of each state, or -1 */
    int32_t *dict;           /* nearest suffix state with output, or -1 */
    kw_out_t *outs;
};

const char *llm_scan_kw_add(llm_scan_rules_t *rs, int rule,
                            const char *const *words, int nwords)
{
    int i;

    if (!rs->kwlists) {
        rs->kwlists = apr_array_make(rs->pool, 64, sizeof(kw_word_t));
    }
    for (i = 0; i < nwords; i++) {
        kw_word_t *w = apr_array_push(rs->kwlists);
        size_t k;
        char *lw = apr_pstrdup(rs->pool, words[i]);
        for (k = 0; lw[k]; k++) {
            lw[k] = (char)LLM_LOWER((unsigned char)lw[k]);
        }
        w->word = lw;
        w->len = k;
        w->rule = rule;
    }
    return NULL;
}

const char *llm_scan_kw_compile(llm_scan_rules_t *rs)
{
    llm_scan_kw_t *kw;
    kw_word_t *w;
    int nw, i, c, maxst = 1, nouts = 0, *queue, qh = 0, qt = 0;
    int32_t *fail;

    if (!rs->kwlists || rs->kwlists->nelts == 0) {
        rs->kw = NULL;
        return NULL;
    }
    w = (kw_word_t *)rs->kwlists->elts;
    nw = rs->kwlists->nelts;
    kw = apr_pcalloc(rs->pool, sizeof(*kw));

    /* byte classes: class 0 is "no word has this byte" */
    kw->ncls = 1;
    for (i = 0; i < nw; i++) {
        size_t k;
        maxst += (int)w[i].len;
        for (k = 0; k < w[i].len; k++) {
            unsigned char b = (unsigned char)w[i].word[k];
            if (!kw->cls[b]) {
                kw->cls[b] = (uint8_t)kw->ncls++;
                if (kw->ncls > 255) {
                    return "keyword lists use too many distinct bytes";
                }
            }
        }
    }
    for (c = 'A'; c <= 'Z'; c++) {
        kw->cls[c] = kw->cls[c + 32];
    }
    kw->delta = apr_pcalloc(rs->pool, sizeof(int32_t) * (size_t)maxst * (size_t)kw->ncls);
    kw->out = apr_palloc(rs->pool, sizeof(int32_t) * (size_t)maxst);
    kw->dict = apr_palloc(rs->pool, sizeof(int32_t) * (size_t)maxst);
    fail = apr_pcalloc(rs->pool, sizeof(int32_t) * (size_t)maxst);
    kw->outs = apr_palloc(rs->pool, sizeof(kw_out_t) * (size_t)nw);
    queue = apr_palloc(rs->pool, sizeof(int) * (size_t)maxst);
    for (i = 0; i < maxst; i++) {
        kw->out[i] = -1;
        kw->dict[i] = -1;
    }
    /* the trie; 0 in delta means "no edge" until the BFS fills it */
    kw->nstates = 1;
    for (i = 0; i < nw; i++) {
        int s = 0;
        size_t k;
        for (k = 0; k < w[i].len; k++) {
            int cl = kw->cls[(unsigned char)w[i].word[k]];
            int32_t *d = &kw->delta[s * kw->ncls + cl];
            if (!*d) {
                *d = kw->nstates++;
            }
            s = *d;
        }
        kw->outs[nouts].rule = w[i].rule;
        kw->outs[nouts].len = (int)w[i].len;
        kw->outs[nouts].next = kw->out[s];
        kw->out[s] = nouts++;
    }
    /* breadth first: failure links, then the full transition table */
    for (c = 0; c < kw->ncls; c++) {
        int nx = kw->delta[c];
        if (nx) {
            fail[nx] = 0;
            queue[qt++] = nx;
        }
    }
    while (qh < qt) {
        int s = queue[qh++];
        int f = fail[s];
        kw->dict[s] = kw->out[f] >= 0 ? f : kw->dict[f];
        for (c = 0; c < kw->ncls; c++) {
            int32_t *d = &kw->delta[s * kw->ncls + c];
            if (*d) {
                fail[*d] = kw->delta[f * kw->ncls + c];
                queue[qt++] = *d;
            }
            else {
                *d = kw->delta[f * kw->ncls + c];
            }
        }
    }
    rs->kw = kw;
    return NULL;
}

static int word_byte(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '_' || c >= 0x80;
}

static void report(llm_scan_ctx_t *cx, int o, size_t i)
{
    const llm_scan_kw_t *kw = cx->rs->kw;

    for (; o >= 0; o = kw->outs[o].next) {
        size_t len = (size_t)kw->outs[o].len, st = i + 1 - len;
        if ((st == 0 || !word_byte(cx->t[st - 1])
             || llm_scan_escape_before(cx->t, st))
            && (i + 1 >= cx->len || !word_byte(cx->t[i + 1]))) {
            llm_scan_emit(cx, kw->outs[o].rule, st, len);
        }
    }
}

void llm_scan_kw_run(llm_scan_ctx_t *cx)
{
    const llm_scan_kw_t *kw = cx->rs->kw;
    const unsigned char *t = cx->t;
    size_t i, n = cx->len;
    int32_t s = 0;

    for (i = 0; i < n; i++) {
        s = kw->delta[s * kw->ncls + kw->cls[t[i]]];
        if (kw->out[s] >= 0 || kw->dict[s] >= 0) {
            int32_t d;
            report(cx, kw->out[s], i);
            for (d = kw->dict[s]; d >= 0; d = kw->dict[d]) {
                report(cx, kw->out[d], i);
            }
        }
    }
}
