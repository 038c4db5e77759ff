/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The policy step.  Findings are recorded for every action; the value
 * itself never leaves this file except as the placeholder's key, which
 * stays in the request pool.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "scan_policy.h"
#include "scan_units.h"

APLOG_USE_MODULE(llm_scan);

/* Same value, same placeholder within a request: the model can still tell
 * that two mentions are the same thing. */
typedef struct {
    apr_hash_t *by_value;    /* type NUL value -> placeholder */
    apr_hash_t *per_type;    /* type -> int * counter */
} placeholders_t;

static const char *placeholder_for(apr_pool_t *p, placeholders_t *ph,
                                   const char *type, const char *value,
                                   apr_size_t len)
{
    apr_size_t tlen = strlen(type);
    char *key = apr_palloc(p, tlen + 1 + len);
    const char *found;
    int *n;

    memcpy(key, type, tlen + 1);
    memcpy(key + tlen + 1, value, len);
    found = apr_hash_get(ph->by_value, key, tlen + 1 + len);
    if (found) {
        return found;
    }
    n = apr_hash_get(ph->per_type, type, APR_HASH_KEY_STRING);
    if (!n) {
        n = apr_pcalloc(p, sizeof(*n));
        apr_hash_set(ph->per_type, type, APR_HASH_KEY_STRING, n);
    }
    found = apr_psprintf(p, "[REDACTED_%s_%d]", type, ++*n);
    apr_hash_set(ph->by_value, key, tlen + 1 + len, found);
    return found;
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
    const llm_piece_t *piece;
    const char *placeholder;
    llm_finding_t f;
    size_t poff = 0;
    int k;

    piece = llm_unit_locate(first, m->offset, &poff);
    f.type = m->type;
    f.rule = m->rule;
    f.location = llm_scan_safe_location(r, req, rules,
                                        piece ? piece->path : "");
    f.offset = poff;
    f.length = m->length;
    f.category = m->category;
    f.action = llm_scan_action_for(dc, m->rule, m->type, m->category);
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
    placeholder = placeholder_for(r->pool, ph, m->type, jf->value, m->length);
    for (k = 0; k < jf->parts->nelts; k++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, pts[k].unit, llm_unit_t);
        llm_edit_t *e;
        if (!edits[pts[k].unit]) {
            edits[pts[k].unit] = apr_array_make(r->pool, 4, sizeof(llm_edit_t));
        }
        e = apr_array_push(edits[pts[k].unit]);
        e->offset = pts[k].offset;
        e->length = pts[k].length;
        /* a message left empty would be refused by the provider (an
         * empty text block): one that is all value keeps the placeholder */
        e->replacement = k == 0 || pts[k].length == u->len ? placeholder : "";
    }
    return f.action;
}

llm_decision_e llm_scan_apply_policy(request_rec *r, llm_request_t *req,
                                     const llm_scan_rules_t *rules,
                                     const llm_scan_dir_conf_t *dc,
                                     const char **invalid)
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
    int blocked = 0, redacted = 0;
    int i, j;

    *invalid = NULL;
    if (bad) {
        *invalid = bad;
        return LLM_DECISION_INVALID;
    }
    ph.by_value = apr_hash_make(r->pool);
    ph.per_type = apr_hash_make(r->pool);
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
        if (llm_scan_text(rules, u->text, u->len, scratch, matches) < 0
            || (u->pieces->nelts > 1
                && llm_scan_junctions(r, rules, u, matches) < 0)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01001)
                          "scan engine failed on a string of %" APR_SIZE_T_FMT
                          " bytes; refusing the request", u->len);
            return LLM_DECISION_ERROR;
        }
        for (j = 0; j < matches->nelts; j++) {
            const llm_scan_match_t *m =
                &APR_ARRAY_IDX(matches, j, llm_scan_match_t);
            const llm_piece_t *piece;
            llm_finding_t f = { 0 };
            size_t poff = 0;

            if (joined->nelts
                && llm_scan_joined_covers(joined, i, m->offset, m->length)) {
                continue;       /* a piece of a value found whole below */
            }
            piece = llm_unit_locate(u, m->offset, &poff);
            f.type = m->type;
            f.rule = m->rule;
            f.location = llm_scan_safe_location(r, req, rules,
                                                piece ? piece->path : "");
            f.offset = poff;
            f.length = m->length;
            f.category = m->category;
            f.action = llm_scan_action_for(dc, m->rule, m->type, m->category);
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
                llm_edit_t *e;

                if (!edits[i]) {
                    edits[i] = apr_array_make(r->pool, 4, sizeof(llm_edit_t));
                }
                e = apr_array_push(edits[i]);
                e->offset = m->offset;
                e->length = m->length;
                e->replacement = placeholder_for(r->pool, &ph, m->type,
                                                 u->text + m->offset,
                                                 m->length);
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
    if (blocked) {
        return LLM_DECISION_BLOCK;
    }
    if (!redacted) {
        return LLM_DECISION_ALLOW;
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
