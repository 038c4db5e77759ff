/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * What each caller used, as the audit table says: the optional functions
 * of llm_gateway.h that mod_llm_route asks, llm_audit_usage for its quota
 * rebuild after a fresh start and llm_audit_spend for the self-service
 * page.  The table, its columns and how a row keeps its groups are this
 * module's to know; the caller gets figures.
 *
 * The gateway's database role needs SELECT on the columns read here (the
 * audit grant is INSERT only by default; docs/identity.md, "Quotas" and
 * "The self-service page").
 */

#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_dbd.h"
#include "apr_strings.h"

#include "mod_llm_audit.h"

APLOG_USE_MODULE(llm_audit);

/* A row's user_groups: a JSON array of names; rows written before the
 * groups were kept as JSON hold them joined with ','. */
static apr_array_header_t *row_groups(apr_pool_t *p, const char *text)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    json_t *arr, *g;
    size_t i;

    if (!text || !*text) {
        return out;
    }
    if (*text == '[') {
        arr = json_loads(text, 0, NULL);
        json_array_foreach(arr, i, g) {
            if (json_is_string(g)) {
                APR_ARRAY_PUSH(out, const char *) =
                    apr_pstrdup(p, json_string_value(g));
            }
        }
        json_decref(arr);
        return out;
    }
    while (text && *text) {
        const char *e = strchr(text, ',');

        APR_ARRAY_PUSH(out, const char *) =
            e ? apr_pstrmemdup(p, text, e - text) : apr_pstrdup(p, text);
        text = e ? e + 1 : NULL;
    }
    return out;
}

static apr_int64_t figure(const apr_dbd_driver_t *driver, apr_dbd_row_t *row,
                          int col)
{
    const char *v = apr_dbd_get_entry(driver, row, col);

    return v ? apr_atoi64(v) : 0;
}

static apr_status_t llm_audit_usage(server_rec *s, apr_pool_t *p,
                                    apr_time_t day, apr_time_t month,
                                    apr_time_t until,
                                    llm_audit_usage_fn *fn, void *baton,
                                    const char **why)
{
    /* The row's own time format: text comparison stays chronological in
     * SQLite, and PostgreSQL reads it as a timestamptz. */
    const char *t_day = llm_audit_time_format(p, day);
    const char *t_month = llm_audit_time_format(p, month);
    const char *t_until = llm_audit_time_format(p, until);
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *sql;
    ap_dbd_t *dbd;
    int rv;

    if (!(dbd = llm_audit_dbd_open(p, s))) {
        return APR_EAGAIN;
    }
    /* Requests as the live counters count them: those that reached a
     * provider, and answers from the answer cache (their tokens are 0:
     * a hit counts toward request limits only). */
    sql = apr_psprintf(p,
        "SELECT user_name, user_groups,"
        " SUM(CASE WHEN ts >= '%s' THEN 1 ELSE 0 END), COUNT(*),"
        " SUM(CASE WHEN ts >= '%s' THEN COALESCE(tokens_in, 0)"
        " + COALESCE(tokens_out, 0) ELSE 0 END),"
        " SUM(COALESCE(tokens_in, 0) + COALESCE(tokens_out, 0))"
        " FROM llm_audit WHERE ts >= '%s' AND ts < '%s'"
        " AND decision IN ('allow', 'redact', 'cache_hit')"
        " GROUP BY user_name, user_groups",
        t_day, t_day, t_month, t_until);
    /* random access: the driver runs the query at once, so a refusal
     * (no SELECT grant) is reported here rather than read as no rows. */
    rv = apr_dbd_select(dbd->driver, p, dbd->handle, &res, sql, 1);
    if (rv != 0) {
        *why = apr_psprintf(p, "reading the audit table failed (%s); the "
                            "gateway's database role needs SELECT on "
                            "llm_audit (ts, user_name, user_groups, "
                            "decision, tokens_in, tokens_out)",
                            apr_dbd_error(dbd->driver, dbd->handle, rv));
        llm_audit_dbd_close(s, dbd);
        return APR_EGENERAL;
    }
    while (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0) {
        llm_audit_usage_t u;

        u.user = apr_dbd_get_entry(dbd->driver, row, 0);
        u.groups = row_groups(p, apr_dbd_get_entry(dbd->driver, row, 1));
        u.requests_day = figure(dbd->driver, row, 2);
        u.requests_month = figure(dbd->driver, row, 3);
        u.tokens_day = figure(dbd->driver, row, 4);
        u.tokens_month = figure(dbd->driver, row, 5);
        fn(baton, &u);
    }
    llm_audit_dbd_close(s, dbd);
    return APR_SUCCESS;
}

/* One query per call over the (user_name, ts) index: a range of one
 * user's rows. */
static apr_status_t llm_audit_spend(request_rec *r, const char *user,
                                    apr_time_t since, llm_audit_spend_t *out,
                                    const char **why)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *sql, *v;
    ap_dbd_t *dbd;
    int rv;

    if (!(dbd = llm_audit_dbd_acquire(r))) {
        *why = "the audit database cannot be reached";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(03301)
                      "a user's spend not read: no audit "
                      "database connection through mod_dbd");
        return APR_EAGAIN;
    }
    sql = apr_psprintf(r->pool,
        "SELECT COALESCE(SUM(cost), 0),"
        " SUM(CASE WHEN decision IN ('allow', 'redact', 'cache_hit')"
        " THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN decision = 'cache_hit' THEN 1 ELSE 0 END)"
        " FROM llm_audit WHERE user_name = '%s' AND ts >= '%s'",
        apr_dbd_escape(dbd->driver, r->pool, user, dbd->handle),
        llm_audit_time_format(r->pool, since));
    rv = apr_dbd_select(dbd->driver, r->pool, dbd->handle, &res, sql, 1);
    if (rv != 0) {
        *why = "the audit table cannot be read";
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(03302)
                      "a user's spend not read: the audit "
                      "table refused the query (%s); with PostgreSQL the "
                      "gateway's database role needs SELECT on llm_audit "
                      "(ts, user_name, decision, cost)",
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return APR_EGENERAL;
    }
    out->cost = "0";
    out->requests = 0;
    out->cache_hits = 0;
    if (apr_dbd_get_row(dbd->driver, r->pool, res, &row, -1) == 0) {
        if ((v = apr_dbd_get_entry(dbd->driver, row, 0)) && *v) {
            out->cost = apr_pstrdup(r->pool, v);
        }
        out->requests = figure(dbd->driver, row, 1);
        out->cache_hits = figure(dbd->driver, row, 2);
    }
    return APR_SUCCESS;
}

void llm_audit_usage_register(void)
{
    APR_REGISTER_OPTIONAL_FN(llm_audit_usage);
    APR_REGISTER_OPTIONAL_FN(llm_audit_spend);
}
