/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A developer's spend this month, from the audit table: every request has
 * exactly one row there with the cost mod_llm_audit priced it at, so the
 * sum is the exact figure (up to rows still on their way: a batch delay,
 * or the spool while the database is down), it is the same on every node
 * of a fleet, and a restart loses nothing.  The quota counters hold
 * tokens, not money, and mod_llm_audit's shared memory keeps cost per
 * user for today only.  One query per page view, over the (user_name, ts)
 * index: a range of this month's rows of one user.
 *
 * The gateway's database role needs SELECT on the columns read here (the
 * audit grant is INSERT only; conf/sql/postgresql-grants.sql, -v
 * self_service=1).
 */

#include <stdlib.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_dbd.h"
#include "apr_optional.h"
#include "apr_strings.h"
#include "mod_dbd.h"

#include "route_internal.h"
#include "route_spend.h"

APLOG_USE_MODULE(llm_route);

apr_status_t llm_route_month_spend(request_rec *r, const char *user,
                                   llm_spend_t *out, const char **why)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *acquire =
        APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    ap_dbd_t *dbd;
    apr_time_exp_t tm;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *sql, *v;
    int rv;

    if (!acquire || !(dbd = acquire(r))) {
        *why = "the audit database cannot be reached";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02652)
                      "self-service page: no audit database connection "
                      "through mod_dbd for the spend this month");
        return APR_EGENERAL;
    }
    apr_time_exp_gmt(&tm, r->request_time);
    tm.tm_usec = tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    tm.tm_mday = 1;
    apr_time_exp_gmt_get(&out->since, &tm);
    /* The audit's time format (as route_quota_restore.c compares it). */
    sql = apr_psprintf(r->pool,
        "SELECT COALESCE(SUM(cost), 0),"
        " SUM(CASE WHEN decision IN ('allow', 'redact') THEN 1 ELSE 0 END)"
        " FROM llm_audit WHERE user_name = '%s'"
        " AND ts >= '%04d-%02d-01 00:00:00.000000Z'",
        apr_dbd_escape(dbd->driver, r->pool, user, dbd->handle),
        tm.tm_year + 1900, tm.tm_mon + 1);
    rv = apr_dbd_select(dbd->driver, r->pool, dbd->handle, &res, sql, 1);
    if (rv != 0) {
        *why = "the audit table cannot be read";
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02653)
                      "self-service page: reading the spend this month "
                      "from the audit table failed (%s); with "
                      "PostgreSQL the gateway's database role needs "
                      "SELECT on llm_audit (ts, user_name, decision, cost)",
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return APR_EGENERAL;
    }
    out->cost = "0";
    out->requests = 0;
    if (apr_dbd_get_row(dbd->driver, r->pool, res, &row, -1) == 0) {
        if ((v = apr_dbd_get_entry(dbd->driver, row, 0)) && *v) {
            out->cost = apr_pstrdup(r->pool, v);
        }
        if ((v = apr_dbd_get_entry(dbd->driver, row, 1)) && *v) {
            out->requests = apr_atoi64(v);
        }
    }
    return APR_SUCCESS;
}
