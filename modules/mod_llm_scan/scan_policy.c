/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
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
static const char *safe_location(request_rec *r, llm_request_t *req,
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

static int scan_junctions(request_rec *r, const llm_scan_rules_t *rules,
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
    placeholders_t ph;
    int blocked = 0, redacted = 0;
    int i, j;

    *invalid = NULL;
    if (bad) {
        *invalid = bad;
        return LLM_DECISION_INVALID;
    }
    ph.by_value = apr_hash_make(r->pool);
    ph.per_type = apr_hash_make(r->pool);

    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, i, llm_unit_t);

        apr_array_clear(matches);
        if (llm_scan_text(rules, u->text, u->len, r->pool, matches) < 0
            || (u->pieces->nelts > 1
                && scan_junctions(r, rules, u, matches) < 0)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01001)
                          "scan engine failed on a string of %" APR_SIZE_T_FMT
                          " bytes; refusing the request", u->len);
            return LLM_DECISION_ERROR;
        }
        for (j = 0; j < matches->nelts; j++) {
            const llm_scan_match_t *m =
                &APR_ARRAY_IDX(matches, j, llm_scan_match_t);
            const llm_piece_t *piece;
            llm_finding_t f;
            size_t poff = 0;

            piece = llm_unit_locate(u, m->offset, &poff);
            f.type = m->type;
            f.rule = m->rule;
            f.location = safe_location(r, req, rules,
                                       piece ? piece->path : "");
            f.offset = poff;
            f.length = m->length;
            f.category = m->category;
            f.action = llm_scan_action_for(dc, m->rule, m->type, m->category);
            /* the model name, a provider blob, text decoded from base64:
             * a redaction cannot be written back there */
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
