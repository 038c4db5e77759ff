/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The human status page (SetHandler llm-status), in the spirit of
 * mod_status: the shared counters at a glance, refusals by reason, recent
 * refusals and redactions with their finding types (never values) and
 * today's top users by tokens.  ?auto gives the
 * same figures as key: value lines for scripts.
 */

#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "mod_llm_audit.h"
#include "audit_metrics.h"

static int by_tokens(const void *a, const void *b)
{
    const llm_audit_usercount_t *x = a, *y = b;

    return x->tokens < y->tokens ? 1 : x->tokens > y->tokens ? -1 : 0;
}

/* The page says it is UTF-8: so is every name on it. */
static const char *esc(request_rec *r, const char *s)
{
    return ap_escape_html(r->pool, s ? llm_audit_utf8(r->pool, s) : "");
}

int llm_audit_status_handler(request_rec *r)
{
    llm_audit_srv_t *sc = llm_audit_srv(r->server);
    llm_audit_shm_t *snap;
    apr_uint64_t requests = 0, tokens = 0, cost = 0;
    apr_hash_t *by_decision = apr_hash_make(r->pool);
    apr_hash_index_t *hi;
    llm_audit_usercount_t *users;
    apr_off_t spool_bytes = 0;
    apr_int64_t spool_records = 0;
    apr_int64_t today = apr_time_sec(apr_time_now()) / 86400;
    int i, n, autom = r->args && !strcmp(r->args, "auto");
    char tbuf[APR_RFC822_DATE_LEN];

    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!(snap = llm_audit_shm_snapshot(r->pool))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    llm_audit_spool_depth(&sc->spool, r->pool, &spool_bytes, &spool_records);
    for (i = 0; i < LLM_AUDIT_SERIES_MAX; i++) {
        const llm_audit_series_t *se = &snap->series[i];
        apr_uint64_t *c;

        if (!se->used) {
            continue;
        }
        requests += se->requests;
        tokens += se->tokens_in + se->tokens_out;
        cost += se->cost_nusd;
        c = apr_hash_get(by_decision, se->decision, APR_HASH_KEY_STRING);
        if (!c) {
            c = apr_pcalloc(r->pool, sizeof(*c));
            apr_hash_set(by_decision, se->decision, APR_HASH_KEY_STRING, c);
        }
        *c += se->requests;
    }
    users = apr_pmemdup(r->pool, snap->users, sizeof(snap->users));
    qsort(users, LLM_AUDIT_USERS_MAX, sizeof(*users), by_tokens);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");

    if (autom) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rprintf(r, "Requests: %" APR_UINT64_T_FMT "\n", requests);
        for (hi = apr_hash_first(r->pool, by_decision); hi;
             hi = apr_hash_next(hi)) {
            ap_rprintf(r, "Decision-%s: %" APR_UINT64_T_FMT "\n",
                       (const char *)apr_hash_this_key(hi),
                       *(apr_uint64_t *)apr_hash_this_val(hi));
        }
        ap_rprintf(r, "Tokens: %" APR_UINT64_T_FMT "\nCostUSD: %.6f\n"
                   "AuditRecords: %" APR_UINT64_T_FMT "\n"
                   "DBUp: %d\nDBErrors: %" APR_UINT64_T_FMT "\n"
                   "Spooled: %" APR_UINT64_T_FMT "\n"
                   "SpoolRecords: %" APR_INT64_T_FMT "\n"
                   "SpoolBytes: %" APR_OFF_T_FMT "\n"
                   "Lost: %" APR_UINT64_T_FMT "\n",
                   tokens, (double)cost / 1e9, snap->written, snap->db_ok,
                   snap->db_errors, snap->spooled, spool_records,
                   spool_bytes, snap->lost);
        for (i = 0; i < LLM_AUDIT_REASONS_MAX && snap->reasons[i].count;
             i++) {
            ap_rprintf(r, "Refused-%s-%s: %" APR_UINT64_T_FMT "\n",
                       snap->reasons[i].decision, snap->reasons[i].reason,
                       snap->reasons[i].count);
        }
        for (i = 0; i < LLM_AUDIT_CHAINS_MAX; i++) {
            if (snap->chains[i].chain_id[0]) {
                /* One key per writer slot: ?auto readers keep one value
                 * per key, and chain ids contain ':'. */
                ap_rprintf(r, "Chain-%d: %s %" APR_INT64_T_FMT "\n", i,
                           snap->chains[i].chain_id, snap->chains[i].seq);
            }
        }
        return OK;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><title>LLM gateway status"
             "</title><style>body{font-family:sans-serif}td,th{padding:2px "
             "8px;text-align:left}table{border-collapse:collapse}"
             "tr:nth-child(even){background:#eee}</style></head><body>\n"
             "<h1>LLM gateway status</h1>\n", r);
    apr_rfc822_date(tbuf, snap->created);
    ap_rprintf(r, "<p>Counting since %s. Requests: <b>%" APR_UINT64_T_FMT
               "</b>; tokens: <b>%" APR_UINT64_T_FMT "</b>; cost: <b>$%.4f"
               "</b>.</p>\n", tbuf, requests, tokens, (double)cost / 1e9);
    ap_rprintf(r, "<h2>Audit trail</h2><table>"
               "<tr><td>database</td><td>%s</td></tr>"
               "<tr><td>records written</td><td>%" APR_UINT64_T_FMT
               "</td></tr><tr><td>database errors</td><td>%"
               APR_UINT64_T_FMT "</td></tr><tr><td>spooled (total)</td><td>%"
               APR_UINT64_T_FMT "</td></tr><tr><td>waiting in spool</td><td>%"
               APR_INT64_T_FMT " records, %" APR_OFF_T_FMT " bytes of %"
               APR_OFF_T_FMT "</td></tr><tr><td>lost</td><td>%"
               APR_UINT64_T_FMT "</td></tr><tr><td>refused (LLMAuditRequired)"
               "</td><td>%" APR_UINT64_T_FMT "</td></tr></table>\n",
               snap->db_ok ? "up" : "<b>DOWN</b>", snap->written,
               snap->db_errors, snap->spooled, spool_records, spool_bytes,
               sc->spool.max_size, snap->lost, snap->refused);
    ap_rputs("<h2>Requests</h2><table><tr><th>provider</th><th>model</th>"
             "<th>decision</th><th>status</th><th>requests</th>"
             "<th>tokens in/cached/out</th><th>cost USD</th>"
             "<th>avg latency ms</th><th>avg TTFB ms</th></tr>\n", r);
    for (i = 0; i < LLM_AUDIT_SERIES_MAX; i++) {
        const llm_audit_series_t *se = &snap->series[i];

        if (se->used) {
            ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td>"
                       "<td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                       " / %" APR_UINT64_T_FMT " / %" APR_UINT64_T_FMT
                       "</td><td>%.4f</td><td>%.1f</td><td>%s</td></tr>\n",
                       esc(r, se->provider), esc(r, se->model),
                       esc(r, se->decision), se->status, se->requests,
                       se->tokens_in, se->tokens_cached, se->tokens_out,
                       (double)se->cost_nusd / 1e9,
                       se->requests ? (double)se->latency_sum_us / 1e3
                                      / (double)se->requests : 0.0,
                       se->ttfb_count
                       ? apr_psprintf(r->pool, "%.1f",
                                      (double)se->ttfb_sum_us / 1e3
                                      / (double)se->ttfb_count)
                       : "-");
        }
    }
    ap_rputs("</table>\n<h2>Findings by type</h2><table>"
             "<tr><th>type</th><th>count</th></tr>\n", r);
    for (i = 0; i < LLM_AUDIT_TYPES_MAX && snap->types[i].type[0]; i++) {
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   esc(r, snap->types[i].type), snap->types[i].count);
    }
    ap_rputs("</table>\n<h2 id=\"refusals\">Refusals by reason</h2><table>"
             "<tr><th>decision</th><th>reason</th><th>count</th></tr>\n", r);
    for (i = 0; i < LLM_AUDIT_REASONS_MAX && snap->reasons[i].count; i++) {
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%" APR_UINT64_T_FMT
                   "</td></tr>\n", esc(r, snap->reasons[i].decision),
                   esc(r, snap->reasons[i].reason), snap->reasons[i].count);
    }
    ap_rputs("</table>\n<h2>Recent refusals and redactions</h2><table>"
             "<tr><th>time</th><th>decision</th><th>reason</th>"
             "<th>finding types</th><th>user</th><th>model</th>"
             "<th>request id</th></tr>\n", r);
    for (n = 0; n < LLM_AUDIT_RECENT_MAX; n++) {
        /* Newest first. */
        const llm_audit_recent_t *rc = &snap->recent[
            (snap->recent_next + LLM_AUDIT_RECENT_MAX - 1 - n)
            % LLM_AUDIT_RECENT_MAX];

        if (!rc->t) {
            continue;
        }
        apr_rfc822_date(tbuf, rc->t);
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%s</td><td>%s</td><td>%s</td></tr>\n", tbuf,
                   esc(r, rc->decision), esc(r, rc->reason),
                   esc(r, rc->types), esc(r, rc->user), esc(r, rc->model),
                   esc(r, rc->request_id));
    }
    ap_rputs("</table>\n<h2>Top users by tokens today (UTC)</h2><table>"
             "<tr><th>user</th><th>tokens</th><th>requests</th>"
             "<th>cost USD</th></tr>\n", r);
    for (i = 0, n = 0; i < LLM_AUDIT_USERS_MAX && n < 20; i++) {
        if (users[i].day != today || !users[i].user[0]) {
            continue;
        }
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td><td>%"
                   APR_UINT64_T_FMT "</td><td>%.4f</td></tr>\n",
                   esc(r, users[i].user), users[i].tokens, users[i].requests,
                   (double)users[i].cost_nusd / 1e9);
        n++;
    }
    ap_rputs("</table>\n<h2>Writers</h2><p>Each httpd process writes its "
             "own chain.  The last seq here must be the last seq "
             "<code>llm-audit-verify -v</code> finds for the chain (once the "
             "spool is empty): fewer rows there means rows were cut from "
             "the end.</p><table><tr><th>chain</th><th>last seq</th>"
             "<th>last record</th></tr>\n", r);
    for (i = 0; i < LLM_AUDIT_CHAINS_MAX; i++) {
        const llm_audit_chainhead_t *ch = &snap->chains[i];

        if (!ch->chain_id[0]) {
            continue;
        }
        apr_rfc822_date(tbuf, ch->updated);
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_INT64_T_FMT "</td>"
                   "<td>%s</td></tr>\n", esc(r, ch->chain_id), ch->seq,
                   ch->seq ? tbuf : "-");
    }
    ap_rputs("</table>\n</body></html>\n", r);
    return OK;
}
