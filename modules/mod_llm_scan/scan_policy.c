/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The policy step.  Findings are recorded for every action; the value
 * itself never leaves this file except as the placeholder's key, which
 * stays in the request pool.
 */

#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "dialect/llm_restore.h"
#include "scan/llm_clean_cache.h"
#include "scan_policy.h"
#include "scan_units.h"

APLOG_USE_MODULE(llm_scan);

/* Same value, same placeholder within a request: the model can still tell
 * that two mentions are the same thing.  Numbers count per type and skip
 * every placeholder the request already holds as text (an earlier answer
 * that was not restored, pasted back): the model then never sees one
 * placeholder standing for two things, and a placeholder of another
 * request can never be taken for a value of this one when the answer is
 * restored. */
typedef struct {
    apr_hash_t *by_value;    /* type NUL value -> placeholder */
    apr_hash_t *per_type;    /* type -> int * counter */
    apr_hash_t *taken;       /* placeholders written in the request */
    apr_array_header_t *units;
    llm_restore_map_t *restore;  /* NULL until one is reversible */
} placeholders_t;

#define PLACEHOLDER_OPEN "[REDACTED_"

/* Every "[REDACTED_...]" the request's own text holds. */
static void note_taken(apr_pool_t *p, placeholders_t *ph)
{
    size_t olen = sizeof(PLACEHOLDER_OPEN) - 1;
    const char *at, *end, *close;
    int i;

    ph->taken = apr_hash_make(p);
    for (i = 0; i < ph->units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(ph->units, i, llm_unit_t);

        at = u->text;
        end = u->text + u->len;
        while ((size_t)(end - at) > olen
               && (at = memmem(at, (size_t)(end - at), PLACEHOLDER_OPEN,
                               olen)) != NULL) {
            close = memchr(at + olen, ']',
                           (size_t)(end - at - olen) < LLM_RESTORE_MAX_PLACEHOLDER
                           ? (size_t)(end - at - olen)
                           : LLM_RESTORE_MAX_PLACEHOLDER);
            if (close) {
                apr_hash_set(ph->taken, at, close - at + 1, "");
            }
            at += olen;
        }
    }
}

static const char *placeholder_for(apr_pool_t *p, placeholders_t *ph,
                                   const char *type, const char *value,
                                   apr_size_t len, int reversible)
{
    apr_size_t tlen = strlen(type);
    char *key = apr_palloc(p, tlen + 1 + len);
    const char *found;
    int *n;

    memcpy(key, type, tlen + 1);
    memcpy(key + tlen + 1, value, len);
    found = apr_hash_get(ph->by_value, key, tlen + 1 + len);
    if (!found) {
        if (!ph->taken) {
            note_taken(p, ph);
        }
        n = apr_hash_get(ph->per_type, type, APR_HASH_KEY_STRING);
        if (!n) {
            n = apr_pcalloc(p, sizeof(*n));
            apr_hash_set(ph->per_type, type, APR_HASH_KEY_STRING, n);
        }
        do {
            found = apr_psprintf(p, PLACEHOLDER_OPEN "%s_%d]", type, ++*n);
        } while (apr_hash_get(ph->taken, found, APR_HASH_KEY_STRING));
        apr_hash_set(ph->by_value, key, tlen + 1 + len, found);
    }
    if (reversible) {
        if (!ph->restore) {
            ph->restore = llm_restore_map_create(p);
        }
        /* A type name is [A-Z0-9_]: the placeholder has the shape the
         * map takes, and one placeholder has one value. */
        llm_restore_map_add(ph->restore, found, value, len);
    }
    return found;
}

/* A redaction, before overlapping ones are merged.  A value split over
 * adjacent messages is one redaction per message it covers: the first
 * (and any message that is all value) gets the placeholder of the whole
 * value, the others lose their part of it. */
typedef struct {
    size_t offset;
    size_t length;
    const char *type;
    const char *value;       /* what the placeholder stands for; NULL: the
                                unit's own text of the range */
    size_t value_len;
    int reversible;
    int blank;               /* removed, no placeholder */
    int joined;              /* a part of a value split over messages */
} redaction_t;

static redaction_t *push_redaction(apr_pool_t *p, apr_array_header_t **edits,
                                   int unit)
{
    redaction_t *rd;

    if (!edits[unit]) {
        edits[unit] = apr_array_make(p, 4, sizeof(redaction_t));
    }
    rd = apr_array_push(edits[unit]);
    memset(rd, 0, sizeof(*rd));
    return rd;
}

/* The finding of a match in the request: where it is (never what), the
 * action configured for it; the piece it lies in. */
static const llm_piece_t *finding_of(request_rec *r, llm_request_t *req,
                                     const llm_scan_rules_t *rules,
                                     const llm_scan_dir_conf_t *dc,
                                     const llm_unit_t *u,
                                     const llm_scan_match_t *m,
                                     llm_finding_t *f)
{
    const llm_piece_t *piece;
    size_t poff = 0;

    memset(f, 0, sizeof(*f));           /* direction: the request */
    piece = llm_unit_locate(u, m->offset, &poff);
    f->type = m->type;
    f->rule = m->rule;
    f->location = llm_scan_safe_location(
        r, req, rules, piece ? llm_dialect_path_text(r->pool, piece->path)
                             : "");
    f->offset = poff;
    f->length = m->length;
    f->category = m->category;
    f->action = llm_scan_action_for(dc, m->rule, m->type, m->category);
    return piece;
}

/* A value split over adjacent messages: one finding, located where it
 * starts; a redaction writes the placeholder where it starts and removes
 * the rest of it from each following message (a message that is all
 * value gets the placeholder too). */
static llm_action_e joined_finding(request_rec *r, llm_request_t *req,
                                   const llm_scan_rules_t *rules,
                                   const llm_scan_dir_conf_t *dc,
                                   const apr_array_header_t *units,
                                   const llm_scan_joined_t *jf,
                                   placeholders_t *ph,
                                   apr_array_header_t **edits)
{
    const llm_scan_part_t *pts = (const llm_scan_part_t *)jf->parts->elts;
    const llm_scan_match_t *m = &jf->match;
    const llm_unit_t *first = &APR_ARRAY_IDX(units, pts[0].unit, llm_unit_t);
    llm_finding_t f;
    size_t poff = 0;
    int k, reversible;

    finding_of(r, req, rules, dc, first, m, &f);
    for (k = 0; k < jf->parts->nelts && f.action == LLM_ACTION_REDACT; k++) {
        const llm_piece_t *pc = llm_unit_locate(
            &APR_ARRAY_IDX(units, pts[k].unit, llm_unit_t), pts[k].offset,
            &poff);
        if (pc && pc->fixed) {
            f.action = LLM_ACTION_BLOCK;
        }
    }
    llm_request_add_finding(r, req, &f);
    if (f.action != LLM_ACTION_REDACT) {
        return f.action;
    }
    reversible = llm_scan_reversible_for(dc, m->rule, m->type, m->category);
    for (k = 0; k < jf->parts->nelts; k++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, pts[k].unit, llm_unit_t);
        redaction_t *rd = push_redaction(r->pool, edits, pts[k].unit);

        rd->offset = pts[k].offset;
        rd->length = pts[k].length;
        rd->type = m->type;
        rd->value = jf->value;
        rd->value_len = m->length;
        rd->reversible = reversible;
        rd->joined = 1;
        /* a message left empty would be refused by the provider (an
         * empty text block): one that is all value keeps the placeholder */
        rd->blank = !(k == 0 || pts[k].length == u->len);
    }
    return f.action;
}

static int redaction_cmp(const void *a, const void *b)
{
    const redaction_t *x = a, *y = b;

    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    if (x->length != y->length) {
        return x->length > y->length ? -1 : 1;
    }
    return 0;
}

/* One edit per range of overlapping redactions (two rules often match
 * the same value), so that a placeholder stands for exactly the text it
 * replaced: that is what a reversible one gives back.  The range is of
 * the first redaction's type, and reversible only if all of its
 * redactions are.  A part of a value split over messages keeps its own
 * edit when nothing overlaps it; overlapped, the range gets a one-way
 * placeholder of its own text (the value's other parts are elsewhere). */
static apr_array_header_t *edits_for(apr_pool_t *p, placeholders_t *ph,
                                     const llm_unit_t *u,
                                     apr_array_header_t *reds)
{
    redaction_t *rd = (redaction_t *)reds->elts;
    apr_array_header_t *edits = apr_array_make(p, reds->nelts,
                                               sizeof(llm_edit_t));
    llm_edit_t *e;
    size_t end;
    int i, j, reversible, joined;

    qsort(rd, (size_t)reds->nelts, sizeof(*rd), redaction_cmp);
    for (i = 0; i < reds->nelts; i = j) {
        end = rd[i].offset + rd[i].length;
        reversible = rd[i].reversible;
        joined = rd[i].joined;
        for (j = i + 1; j < reds->nelts && rd[j].offset < end; j++) {
            if (rd[j].offset + rd[j].length > end) {
                end = rd[j].offset + rd[j].length;
            }
            reversible = reversible && rd[j].reversible;
            joined = joined || rd[j].joined;
        }
        e = apr_array_push(edits);
        e->offset = rd[i].offset;
        e->length = end - rd[i].offset;
        if (j == i + 1 && rd[i].joined) {
            e->replacement = rd[i].blank ? ""
                             : placeholder_for(p, ph, rd[i].type,
                                               rd[i].value, rd[i].value_len,
                                               rd[i].reversible);
            continue;
        }
        if (joined) {
            reversible = 0;
        }
        e->replacement = placeholder_for(p, ph, rd[i].type,
                                         u->text + e->offset, e->length,
                                         reversible);
    }
    return edits;
}

llm_decision_e llm_scan_apply_policy(request_rec *r, llm_request_t *req,
                                     const llm_scan_rules_t *rules,
                                     const llm_scan_dir_conf_t *dc,
                                     const char **invalid,
                                     llm_restore_map_t **restore)
{
    const char *bad = NULL;
    apr_array_header_t *units = llm_dialect_units_checked(r->pool, req->json,
                                                          req->endpoint,
                                                          &bad);
    apr_array_header_t *matches = apr_array_make(r->pool, 8,
                                                 sizeof(llm_scan_match_t));
    apr_array_header_t **edits = apr_pcalloc(r->pool,
                                             sizeof(*edits) * (units->nelts + 1));
    apr_array_header_t *joined;
    placeholders_t ph;
    apr_pool_t *scratch = NULL;
    /* strings this child already scanned clean are not scanned again
     * (scan_clean.c); the junctions of a unit's pieces still are */
    llm_clean_cache_t *clean = llm_scan_srv(r->server)->clean;
    int known_clean = 0, hit;
    int blocked = 0, redacted = 0;
    int i, j;

    *invalid = NULL;
    *restore = NULL;
    if (bad) {
        *invalid = bad;
        return LLM_DECISION_INVALID;
    }
    ph.by_value = apr_hash_make(r->pool);
    ph.per_type = apr_hash_make(r->pool);
    ph.taken = NULL;
    ph.units = units;
    ph.restore = NULL;
    /* values split over adjacent messages of one role: found first, so
     * that the pieces the messages' own scans see of them are not
     * reported a second time */
    joined = llm_scan_across_messages(r, rules, units);
    if (!joined) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01400)
                      "scan engine failed on the text where adjacent "
                      "messages of one role meet; refusing the request");
        return LLM_DECISION_ERROR;
    }
    /* What the engine allocates for one unit (candidates, decoded views
     * with two offset maps of 8 bytes a character) is dropped before the
     * next: matches hold only offsets and the rule set's names. */
    apr_pool_create(&scratch, r->pool);

    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, i, llm_unit_t);

        apr_array_clear(matches);
        apr_pool_clear(scratch);
        if (llm_scan_text_cached(clean, rules, u->text, u->len, scratch,
                                 matches, &hit) < 0
            || (u->pieces->nelts > 1
                && llm_scan_junctions(r, rules, u, matches) < 0)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01001)
                          "scan engine failed on a string of %" APR_SIZE_T_FMT
                          " bytes; refusing the request", u->len);
            return LLM_DECISION_ERROR;
        }
        known_clean += hit;
        for (j = 0; j < matches->nelts; j++) {
            const llm_scan_match_t *m =
                &APR_ARRAY_IDX(matches, j, llm_scan_match_t);
            const llm_piece_t *piece;
            llm_finding_t f;

            if (joined->nelts
                && llm_scan_joined_covers(joined, i, m->offset, m->length)) {
                continue;       /* a piece of a value found whole below */
            }
            piece = finding_of(r, req, rules, dc, u, m, &f);
            /* the model name, a provider blob, text decoded from base64
             * or read out of a PDF: a redaction cannot be written back
             * there */
            if (f.action == LLM_ACTION_REDACT && piece && piece->fixed) {
                f.action = LLM_ACTION_BLOCK;
            }
            llm_request_add_finding(r, req, &f);

            if (f.action == LLM_ACTION_BLOCK) {
                blocked = 1;
            }
            else if (f.action == LLM_ACTION_REDACT) {
                redaction_t *rd = push_redaction(r->pool, edits, i);

                rd->offset = m->offset;
                rd->length = m->length;
                rd->type = m->type;
                rd->reversible = llm_scan_reversible_for(dc, m->rule,
                                                         m->type,
                                                         m->category);
                redacted = 1;
            }
        }
    }
    for (i = 0; i < joined->nelts; i++) {
        const llm_scan_joined_t *jf = &APR_ARRAY_IDX(joined, i,
                                                     llm_scan_joined_t);
        switch (joined_finding(r, req, rules, dc, units, jf, &ph, edits)) {
        case LLM_ACTION_BLOCK:
            blocked = 1;
            break;
        case LLM_ACTION_REDACT:
            redacted = 1;
            break;
        default:
            break;
        }
    }
    apr_pool_destroy(scratch);
    if (clean) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, LLMNO(01504)
                      "%d of %d strings were known clean in this child "
                      "and not scanned again", known_clean, units->nelts);
    }
    if (blocked) {
        return LLM_DECISION_BLOCK;
    }
    if (!redacted) {
        return LLM_DECISION_ALLOW;
    }
    /* Placeholders are made only now: a blocked request needs none. */
    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, i, llm_unit_t);

        if (edits[i]) {
            edits[i] = edits_for(r->pool, &ph, u, edits[i]);
        }
    }
    for (i = 0; i < units->nelts; i++) {
        if (edits[i]
            && llm_unit_apply_edits(r->pool,
                                    &APR_ARRAY_IDX(units, i, llm_unit_t),
                                    (const llm_edit_t *)edits[i]->elts,
                                    edits[i]->nelts) != 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01002)
                          "redaction could not be applied; refusing the "
                          "request");
            return LLM_DECISION_ERROR;
        }
    }
    *restore = ph.restore;
    return LLM_DECISION_REDACT;
}

static void lower(char *s)
{
    for (; *s; s++) {
        *s = apr_tolower(*s);
    }
}

int llm_scan_send_block(request_rec *r, llm_request_t *req)
{
    const llm_finding_t *first = NULL;
    int sensitive = 0, i;
    apr_array_header_t *where = apr_array_make(r->pool, 4, sizeof(char *));
    char *code;

    for (i = 0; i < req->findings->nelts; i++) {
        const llm_finding_t *f = &APR_ARRAY_IDX(req->findings, i,
                                                llm_finding_t);

        if (f->action != LLM_ACTION_BLOCK) {
            continue;
        }
        if (!first) {
            first = f;
        }
        if (f->category != LLM_CAT_CONTENT) {
            sensitive = 1;
        }
        if (where->nelts < 5) {
            APR_ARRAY_PUSH(where, const char *) =
                apr_psprintf(r->pool, "%s at %s", f->type, f->location);
        }
    }
    if (!first) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    code = apr_pstrdup(r->pool, first->type);
    lower(code);
    req->reason = code;
    return llm_request_send_error(r, HTTP_FORBIDDEN,
        sensitive ? "sensitive_data_detected" : "policy_violation", code,
        apr_psprintf(r->pool, "The request was blocked by the gateway's "
                     "data policy: %s. Remove %s and send it again.",
                     apr_array_pstrcat(r->pool, where, ';'),
                     sensitive ? "the sensitive values" : "the listed content"),
        llm_request_findings_json(r->pool, req));
}
