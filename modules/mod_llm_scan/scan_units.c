/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Three refinements of the policy step (scan_policy.c): where text parts
 * meet, what the joined scan cannot see; where adjacent messages of one
 * role meet, what neither holds alone; and locations of findings that
 * never repeat a value a rule matched.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "scan_units.h"

APLOG_USE_MODULE(llm_scan);

/* Does a step of a location hold anything a rule finds?  (A secret used
 * as a key, with a suffix that makes it look like a field name.) */
typedef struct {
    const llm_scan_rules_t *rules;
    apr_pool_t *p;
    int failed;
} hide_t;

static int step_hides(void *baton, const char *key, size_t len)
{
    hide_t *h = baton;
    apr_array_header_t *m = apr_array_make(h->p, 2, sizeof(llm_scan_match_t));
    int n = llm_scan_text(h->rules, key, len, h->p, m);

    if (n < 0) {
        h->failed = 1;
    }
    return n != 0;
}

/* The location of a finding as it may be shown: a location goes into the
 * 403 body, the audit row and the error log, so a key a rule matches is
 * written by position.  Looked at only for findings. */
const char *llm_scan_safe_location(request_rec *r, llm_request_t *req,
                                   const llm_scan_rules_t *rules,
                                   const char *path)
{
    apr_array_header_t *m = apr_array_make(r->pool, 2,
                                           sizeof(llm_scan_match_t));
    hide_t h;
    const char *safe;

    if (!path || !*path
        || llm_scan_text(rules, path, strlen(path), r->pool, m) == 0) {
        return path ? path : "";
    }
    h.rules = rules;
    h.p = r->pool;
    h.failed = 0;
    safe = llm_dialect_path_hide(r->pool, req->json, path, step_hides, &h);
    if (h.failed || llm_scan_text(rules, safe, strlen(safe), r->pool, m) != 0) {
        /* what is left still matches: say nothing of where */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(01010)
                      "a finding's location matches a rule even written by "
                      "position; it is reported as \"(hidden)\"");
        return "(hidden)";
    }
    return safe;
}

/* Text parts are scanned joined, so that a value split over two parts is
 * found.  Joined, a value that ends one part is glued to the word that
 * starts the next (and the other way round), and a rule that wants a
 * boundary there misses it: "AKIA...|Repository".  Where two parts meet
 * word to word, a window around the junction is scanned again with a
 * newline between them, and what ends or starts right at the junction is
 * added.  Parts nearly always meet at a blank, a newline or a '>', so
 * this costs next to nothing. */
#define JUNCTION_WINDOW 512

static int token_byte(unsigned char c)
{
    return apr_isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~'
           || c == '+' || c == '/' || c == '=';
}

static int overlaps_any(const apr_array_header_t *m, size_t off, size_t len)
{
    int i;

    for (i = 0; i < m->nelts; i++) {
        const llm_scan_match_t *x = &APR_ARRAY_IDX(m, i, llm_scan_match_t);
        if (off < x->offset + x->length && x->offset < off + len) {
            return 1;
        }
    }
    return 0;
}

int llm_scan_junctions(request_rec *r, const llm_scan_rules_t *rules,
                       const llm_unit_t *u, apr_array_header_t *matches)
{
    const llm_piece_t *pcs = (const llm_piece_t *)u->pieces->elts;
    apr_array_header_t *wm = NULL;
    const unsigned char *t = (const unsigned char *)u->text;
    size_t j, a, b, cut;
    char *win;
    int i, k, n;

    for (i = 1; i < u->pieces->nelts; i++) {
        j = pcs[i].unit_offset;
        if (j == 0 || j >= u->len
            || pcs[i - 1].unit_offset + pcs[i - 1].len != j
            || !token_byte(t[j - 1]) || !token_byte(t[j])) {
            continue;
        }
        a = j > JUNCTION_WINDOW ? j - JUNCTION_WINDOW : 0;
        b = u->len - j > JUNCTION_WINDOW ? j + JUNCTION_WINDOW : u->len;
        cut = j - a;
        win = apr_palloc(r->pool, b - a + 2);
        memcpy(win, t + a, cut);
        win[cut] = '\n';
        memcpy(win + cut + 1, t + j, b - j);
        win[b - a + 1] = '\0';
        if (!wm) {
            wm = apr_array_make(r->pool, 4, sizeof(llm_scan_match_t));
        }
        apr_array_clear(wm);
        if ((n = llm_scan_text(rules, win, b - a + 1, r->pool, wm)) < 0) {
            return -1;
        }
        for (k = 0; k < n; k++) {
            llm_scan_match_t m = APR_ARRAY_IDX(wm, k, llm_scan_match_t);
            if (m.offset + m.length == cut) {
                m.offset += a;
            }
            else if (m.offset == cut + 1) {
                m.offset = j;
            }
            else {
                continue;
            }
            if (!overlaps_any(matches, m.offset, m.length)) {
                APR_ARRAY_PUSH(matches, llm_scan_match_t) = m;
            }
        }
    }
    return 0;
}

/* Adjacent messages of one role are one turn to the provider (Anthropic
 * joins them; every model reads them in a row), so a key can be sent in
 * two halves that match nothing alone.  Each chain of units that follow
 * one another is read where they meet (llm_scan_joined: a window around
 * each boundary, not a copy of the messages), and what crosses a
 * boundary is mapped back onto every unit it covers, so that a
 * redaction replaces the right bytes in each.  Most traffic alternates
 * roles and makes no chain; results of parallel tool calls (role "tool")
 * do, and are read only around where they meet. */
apr_array_header_t *llm_scan_across_messages(request_rec *r,
                                             const llm_scan_rules_t *rules,
                                             const apr_array_header_t *units)
{
    const llm_unit_t *us = (const llm_unit_t *)units->elts;
    apr_array_header_t *found = apr_array_make(r->pool, 0,
                                               sizeof(llm_scan_joined_t));
    apr_array_header_t *m = NULL;
    int *next = NULL, *chain = NULL;
    int n = units->nelts, i, c, k, len, j;

    for (i = 0; i < n; i++) {
        if (us[i].follows >= 0 && us[i].follows < i) {
            if (!next) {
                next = apr_palloc(r->pool, sizeof(*next) * (size_t)n);
                for (k = 0; k < n; k++) {
                    next[k] = -1;
                }
            }
            next[us[i].follows] = i;
        }
    }
    if (!next) {
        return found;
    }
    chain = apr_palloc(r->pool, sizeof(*chain) * (size_t)n);
    for (i = 0; i < n; i++) {
        const char **texts;
        size_t *lens, *start;

        /* the head of a chain: followed, following none */
        if (next[i] < 0 || (us[i].follows >= 0 && us[i].follows < i)) {
            continue;
        }
        for (len = 0, c = i; c >= 0 && len < n; c = next[c]) {
            chain[len++] = c;
        }
        texts = apr_palloc(r->pool, sizeof(*texts) * (size_t)len);
        lens = apr_palloc(r->pool, sizeof(*lens) * (size_t)len);
        start = apr_palloc(r->pool, sizeof(*start) * (size_t)len);
        for (k = 0; k < len; k++) {
            texts[k] = us[chain[k]].text;
            lens[k] = us[chain[k]].len;
            start[k] = k ? start[k - 1] + lens[k - 1] : 0;
        }
        if (!m) {
            m = apr_array_make(r->pool, 2, sizeof(llm_scan_match_t));
        }
        apr_array_clear(m);
        if (llm_scan_joined(rules, texts, lens, len, 0, r->pool, m) < 0) {
            return NULL;
        }
        for (j = 0; j < m->nelts; j++) {
            const llm_scan_match_t *x = &APR_ARRAY_IDX(m, j, llm_scan_match_t);
            llm_scan_joined_t *f = apr_array_push(found);
            size_t end = x->offset + x->length;
            char *v = apr_palloc(r->pool, x->length + 1), *o = v;

            f->match = *x;
            f->parts = apr_array_make(r->pool, 2, sizeof(llm_scan_part_t));
            for (k = 0; k < len; k++) {
                size_t a = start[k], b = start[k] + lens[k];
                llm_scan_part_t *pt;
                if (b <= x->offset || a >= end) {
                    continue;
                }
                a = a < x->offset ? x->offset : a;
                b = b > end ? end : b;
                pt = apr_array_push(f->parts);
                pt->unit = chain[k];
                pt->offset = a - start[k];
                pt->length = b - a;
                memcpy(o, texts[k] + pt->offset, pt->length);
                o += pt->length;
                if (f->parts->nelts == 1) {
                    f->match.offset = pt->offset;
                }
            }
            *o = '\0';
            f->value = v;
        }
    }
    return found;
}

int llm_scan_joined_covers(const apr_array_header_t *joined, int unit,
                           size_t offset, size_t length)
{
    int i, k;

    for (i = 0; i < joined->nelts; i++) {
        const llm_scan_joined_t *f = &APR_ARRAY_IDX(joined, i,
                                                    llm_scan_joined_t);
        for (k = 0; k < f->parts->nelts; k++) {
            const llm_scan_part_t *pt = &APR_ARRAY_IDX(f->parts, k,
                                                       llm_scan_part_t);
            if (pt->unit == unit && pt->offset <= offset
                && offset + length <= pt->offset + pt->length) {
                return 1;
            }
        }
    }
    return 0;
}
