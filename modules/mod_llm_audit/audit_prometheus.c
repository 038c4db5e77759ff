/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The Prometheus text exposition of the shared counters (SetHandler
 * llm-metrics): a copy taken under the mutex, formatted without it.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_hash.h"

#include "mod_llm_audit.h"
#include "audit_metrics.h"

/* A label value as the text format wants it: valid UTF-8 (one invalid
 * byte makes a scraper drop the whole page; counters kept across a
 * graceful restart may predate the label rules of audit_metrics.c), with
 * backslash, double quote and newline escaped. */
static const char *esc(apr_pool_t *p, const char *v)
{
    const char *c;
    char *out, *o;

    if (!v) {
        return "";
    }
    v = llm_audit_utf8(p, v);
    if (!strpbrk(v, "\\\"\n")) {
        return v;
    }
    o = out = apr_palloc(p, strlen(v) * 2 + 1);
    for (c = v; *c; c++) {
        if (*c == '\\' || *c == '"') {
            *o++ = '\\';
            *o++ = *c;
        }
        else if (*c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

typedef struct {
    const char *provider, *model;
    apr_uint64_t tin, tout, tcached, cost, bin, bout;
    apr_uint64_t lat[LLM_AUDIT_NBUCKETS + 1], lat_sum, lat_n;
    apr_uint64_t ttfb[LLM_AUDIT_NBUCKETS + 1], ttfb_sum, ttfb_n;
} pm_agg_t;

static void histogram(request_rec *r, const char *name, const char *labels,
                      const apr_uint64_t *b, apr_uint64_t sum_us,
                      apr_uint64_t n)
{
    apr_uint64_t cum = 0;
    int i;

    for (i = 0; i < LLM_AUDIT_NBUCKETS; i++) {
        cum += b[i];
        ap_rprintf(r, "%s_bucket{%s,le=\"%g\"} %" APR_UINT64_T_FMT "\n",
                   name, labels, llm_audit_buckets[i], cum);
    }
    cum += b[LLM_AUDIT_NBUCKETS];
    ap_rprintf(r, "%s_bucket{%s,le=\"+Inf\"} %" APR_UINT64_T_FMT "\n",
               name, labels, cum);
    ap_rprintf(r, "%s_sum{%s} %.6f\n", name, labels, (double)sum_us / 1e6);
    ap_rprintf(r, "%s_count{%s} %" APR_UINT64_T_FMT "\n", name, labels, n);
}

int llm_audit_metrics_handler(request_rec *r)
{
    llm_audit_shm_t *snap;
    llm_audit_srv_t *sc = llm_audit_srv(r->server);
    apr_hash_t *agg = apr_hash_make(r->pool);
    apr_hash_index_t *hi;
    apr_off_t spool_bytes = 0;
    apr_int64_t spool_records = 0;
    int i, b;

    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!(snap = llm_audit_shm_snapshot(r->pool))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    llm_audit_spool_depth(&sc->spool, r->pool, &spool_bytes, &spool_records);

    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    ap_rputs("# HELP llm_gateway_requests_total Gateway requests by "
             "provider, model, decision and HTTP status.\n"
             "# TYPE llm_gateway_requests_total counter\n", r);
    for (i = 0; i < LLM_AUDIT_SERIES_MAX; i++) {
        const llm_audit_series_t *se = &snap->series[i];
        const char *key;
        pm_agg_t *a;

        if (!se->used) {
            continue;
        }
        ap_rprintf(r, "llm_gateway_requests_total{provider=\"%s\","
                   "model=\"%s\",decision=\"%s\",status=\"%d\"} %"
                   APR_UINT64_T_FMT "\n", esc(r->pool, se->provider),
                   esc(r->pool, se->model), esc(r->pool, se->decision),
                   se->status, se->requests);
        key = apr_pstrcat(r->pool, se->provider, "\n", se->model, NULL);
        a = apr_hash_get(agg, key, APR_HASH_KEY_STRING);
        if (!a) {
            a = apr_pcalloc(r->pool, sizeof(*a));
            a->provider = se->provider;
            a->model = se->model;
            apr_hash_set(agg, key, APR_HASH_KEY_STRING, a);
        }
        a->tin += se->tokens_in;
        a->tout += se->tokens_out;
        a->tcached += se->tokens_cached;
        a->cost += se->cost_nusd;
        a->bin += se->bytes_in;
        a->bout += se->bytes_out;
        for (b = 0; b <= LLM_AUDIT_NBUCKETS; b++) {
            a->lat[b] += se->latency[b];
            a->ttfb[b] += se->ttfb[b];
        }
        a->lat_sum += se->latency_sum_us;
        a->lat_n += se->requests;
        a->ttfb_sum += se->ttfb_sum_us;
        a->ttfb_n += se->ttfb_count;
    }
    ap_rputs("# HELP llm_gateway_tokens_total Tokens by provider, model and "
             "kind (input counts cached input too).\n"
             "# TYPE llm_gateway_tokens_total counter\n", r);
    for (hi = apr_hash_first(r->pool, agg); hi; hi = apr_hash_next(hi)) {
        pm_agg_t *a = apr_hash_this_val(hi);
        const char *l = apr_psprintf(r->pool, "provider=\"%s\",model=\"%s\"",
                                     esc(r->pool, a->provider),
                                     esc(r->pool, a->model));

        ap_rprintf(r, "llm_gateway_tokens_total{%s,kind=\"input\"} %"
                   APR_UINT64_T_FMT "\n", l, a->tin);
        ap_rprintf(r, "llm_gateway_tokens_total{%s,kind=\"cached_input\"} %"
                   APR_UINT64_T_FMT "\n", l, a->tcached);
        ap_rprintf(r, "llm_gateway_tokens_total{%s,kind=\"output\"} %"
                   APR_UINT64_T_FMT "\n", l, a->tout);
    }
    ap_rputs("# HELP llm_gateway_cost_usd_total Cost from LLMAuditPrice, by "
             "provider and model.\n"
             "# TYPE llm_gateway_cost_usd_total counter\n", r);
    for (hi = apr_hash_first(r->pool, agg); hi; hi = apr_hash_next(hi)) {
        pm_agg_t *a = apr_hash_this_val(hi);

        ap_rprintf(r, "llm_gateway_cost_usd_total{provider=\"%s\","
                   "model=\"%s\"} %.9f\n", esc(r->pool, a->provider),
                   esc(r->pool, a->model), (double)a->cost / 1e9);
    }
    ap_rputs("# HELP llm_gateway_bytes_total Request and response body "
             "bytes by provider and model.\n"
             "# TYPE llm_gateway_bytes_total counter\n", r);
    for (hi = apr_hash_first(r->pool, agg); hi; hi = apr_hash_next(hi)) {
        pm_agg_t *a = apr_hash_this_val(hi);
        const char *l = apr_psprintf(r->pool, "provider=\"%s\",model=\"%s\"",
                                     esc(r->pool, a->provider),
                                     esc(r->pool, a->model));

        ap_rprintf(r, "llm_gateway_bytes_total{%s,direction=\"in\"} %"
                   APR_UINT64_T_FMT "\n", l, a->bin);
        ap_rprintf(r, "llm_gateway_bytes_total{%s,direction=\"out\"} %"
                   APR_UINT64_T_FMT "\n", l, a->bout);
    }
    ap_rputs("# HELP llm_gateway_request_duration_seconds Total latency, "
             "request read to log.\n"
             "# TYPE llm_gateway_request_duration_seconds histogram\n", r);
    for (hi = apr_hash_first(r->pool, agg); hi; hi = apr_hash_next(hi)) {
        pm_agg_t *a = apr_hash_this_val(hi);

        histogram(r, "llm_gateway_request_duration_seconds",
                  apr_psprintf(r->pool, "provider=\"%s\",model=\"%s\"",
                               esc(r->pool, a->provider),
                               esc(r->pool, a->model)),
                  a->lat, a->lat_sum, a->lat_n);
    }
    ap_rputs("# HELP llm_gateway_ttfb_seconds Time to the first response "
             "byte sent to the client.\n"
             "# TYPE llm_gateway_ttfb_seconds histogram\n", r);
    for (hi = apr_hash_first(r->pool, agg); hi; hi = apr_hash_next(hi)) {
        pm_agg_t *a = apr_hash_this_val(hi);

        if (a->ttfb_n) {
            histogram(r, "llm_gateway_ttfb_seconds",
                      apr_psprintf(r->pool, "provider=\"%s\",model=\"%s\"",
                                   esc(r->pool, a->provider),
                                   esc(r->pool, a->model)),
                      a->ttfb, a->ttfb_sum, a->ttfb_n);
        }
    }
    ap_rputs("# HELP llm_gateway_findings_total Findings by type and "
             "direction (in the request or in the answer; never values).\n"
             "# TYPE llm_gateway_findings_total counter\n", r);
    for (i = 0; i < LLM_AUDIT_TYPES_MAX && snap->types[i].type[0]; i++) {
        ap_rprintf(r, "llm_gateway_findings_total{type=\"%s\","
                   "direction=\"request\"} %" APR_UINT64_T_FMT "\n"
                   "llm_gateway_findings_total{type=\"%s\","
                   "direction=\"answer\"} %" APR_UINT64_T_FMT "\n",
                   esc(r->pool, snap->types[i].type), snap->types[i].count,
                   esc(r->pool, snap->types[i].type),
                   snap->types[i].answer_count);
    }
    ap_rprintf(r,
        "# HELP llm_gateway_audit_records_total Audit records produced.\n"
        "# TYPE llm_gateway_audit_records_total counter\n"
        "llm_gateway_audit_records_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_db_errors_total Inserts the database did "
        "not take.\n"
        "# TYPE llm_gateway_audit_db_errors_total counter\n"
        "llm_gateway_audit_db_errors_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_spooled_total Records written to the "
        "spool.\n"
        "# TYPE llm_gateway_audit_spooled_total counter\n"
        "llm_gateway_audit_spooled_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_replays_total Spool replays that stored "
        "records.\n"
        "# TYPE llm_gateway_audit_replays_total counter\n"
        "llm_gateway_audit_replays_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_lost_total Records neither stored nor "
        "spooled.\n"
        "# TYPE llm_gateway_audit_lost_total counter\n"
        "llm_gateway_audit_lost_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_refused_total Requests refused by "
        "LLMAuditRequired.\n"
        "# TYPE llm_gateway_audit_refused_total counter\n"
        "llm_gateway_audit_refused_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_batch_waits_total Requests that waited "
        "for room in a full LLMAuditBatch queue (the writer is behind).\n"
        "# TYPE llm_gateway_audit_batch_waits_total counter\n"
        "llm_gateway_audit_batch_waits_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_recovered_total Records a child process "
        "that died had not stored, moved from its journal to the spool.\n"
        "# TYPE llm_gateway_audit_recovered_total counter\n"
        "llm_gateway_audit_recovered_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_interrupted_total Requests recorded as "
        "interrupted: their child process died before logging them.\n"
        "# TYPE llm_gateway_audit_interrupted_total counter\n"
        "llm_gateway_audit_interrupted_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_unjournaled_total Records or intents the "
        "journal could not take (lost if their process dies).\n"
        "# TYPE llm_gateway_audit_unjournaled_total counter\n"
        "llm_gateway_audit_unjournaled_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_audit_spool_bytes Spool file size.\n"
        "# TYPE llm_gateway_audit_spool_bytes gauge\n"
        "llm_gateway_audit_spool_bytes %" APR_OFF_T_FMT "\n"
        "# HELP llm_gateway_audit_spool_records Records waiting in the "
        "spool.\n"
        "# TYPE llm_gateway_audit_spool_records gauge\n"
        "llm_gateway_audit_spool_records %" APR_INT64_T_FMT "\n"
        "# HELP llm_gateway_audit_db_up 1 when the last insert succeeded.\n"
        "# TYPE llm_gateway_audit_db_up gauge\n"
        "llm_gateway_audit_db_up %d\n",
        snap->written, snap->db_errors, snap->spooled, snap->replayed,
        snap->lost, snap->refused, snap->batch_waits, snap->recovered,
        snap->interrupted, snap->unjournaled, spool_bytes,
        spool_records,
        snap->db_ok ? 1 : 0);
    llm_audit_workers_metrics(r);
    {
        /* mod_llm_route's own figures (the Redis quota store). */
        APR_OPTIONAL_FN_TYPE(llm_route_quota_metrics) *route_metrics =
            APR_RETRIEVE_OPTIONAL_FN(llm_route_quota_metrics);

        if (route_metrics) {
            route_metrics(r);
        }
    }
    return OK;
}
