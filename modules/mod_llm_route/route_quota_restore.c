/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Budgets after a fresh start.  The counters live in shared memory, kept
 * across graceful restarts but not across a stop: with LLMRouteQuotaRestore
 * On, the day and month counters of an empty table are rebuilt from the
 * audit table -- what each user and each group used today and this month,
 * up to the moment the table was created (from then on the counters count
 * live, so nothing is counted twice).
 *
 * mod_dbd's connections exist in the children, so the work is a
 * mod_watchdog callback in one child (singleton); the store hands the job
 * to exactly one caller and takes it back when the database did not
 * answer, so a later tick tries again.  Requests are served meanwhile,
 * against the counts so far.
 *
 * The gateway's database role needs SELECT on the columns read here (the
 * audit grant is INSERT only by default; docs/identity.md, "Quotas").
 */

#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include "mod_watchdog.h"
#include "apr_optional.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_quota.h"
#include "route_counter_store.h"

APLOG_USE_MODULE(llm_route);

#define RESTORE_WATCHDOG "_llm_route_quota_restore_"
#define RESTORE_INTERVAL apr_time_from_sec(2)
#define RESTORE_MAX_OPS 64

typedef struct {
    server_rec *s;
    llm_counter_store_t *store;
    int failures;                /* this child's, to log the first only */
} restore_ctx_t;

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

/* The audit's time format: text comparison stays chronological in
 * SQLite, and PostgreSQL reads it as a timestamptz. */
static const char *sql_time(apr_pool_t *p, apr_time_exp_t *tm)
{
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d.%06dZ",
                        tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
                        tm->tm_hour, tm->tm_min, tm->tm_sec, tm->tm_usec);
}

typedef struct {
    apr_pool_t *p;
    llm_counter_store_t *store;
    apr_time_t now;
    llm_counter_op_t ops[RESTORE_MAX_OPS];
    int n;
    int total;
} batch_t;

static void flush(batch_t *b)
{
    if (b->n) {
        b->store->vt->add(b->store, b->ops, b->n, b->now);
        b->total += b->n;
        b->n = 0;
    }
}

/* The four day/month figures of one row, to the counters of kind/name
 * that some LLMRouteQuota line uses (mask). */
static void add_counters(batch_t *b, const char *kind, const char *name,
                         int mask, const apr_int64_t fig[2][2])
{
    int unit, period;

    for (unit = 0; unit < 2; unit++) {
        for (period = LLM_QUOTA_DAY; period <= LLM_QUOTA_MONTH; period++) {
            llm_counter_op_t *op;
            apr_int64_t v = fig[unit][period - LLM_QUOTA_DAY];

            if (!(mask & LLM_QUOTA_BUDGET_BIT(unit, period)) || v <= 0) {
                continue;
            }
            if (b->n == RESTORE_MAX_OPS) {
                flush(b);
            }
            op = &b->ops[b->n++];
            memset(op, 0, sizeof(*op));
            op->key = llm_route_quota_key(b->p, kind, name, unit, period,
                                          b->now, &op->expires);
            op->amount = v;
        }
    }
}

/* A row's user_groups: a JSON array of names; rows written before the
 * groups were kept as JSON hold them joined with ','. */
static apr_array_header_t *row_groups(apr_pool_t *p, const char *text)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    json_t *arr, *g;
    size_t i;

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

static int restore(restore_ctx_t *ctx, apr_pool_t *p, apr_time_t since)
{
    server_rec *s = ctx->s, *vs;
    int user_mask = 0;
    apr_hash_t *groups = apr_hash_make(p);
    apr_time_exp_t tm;
    const char *t_since, *t_day, *t_month, *sql;
    ap_dbd_t *dbd;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    batch_t b;
    int rows = 0, rv;

    /* Which day and month counters the configuration uses, everywhere. */
    for (vs = s; vs; vs = vs->next) {
        llm_route_server_conf_t *sc =
            ap_get_module_config(vs->module_config, &llm_route_module);
        apr_hash_index_t *hi;

        user_mask |= sc->quota_budget_user;
        for (hi = apr_hash_first(p, sc->quota_budget_groups); hi;
             hi = apr_hash_next(hi)) {
            const void *k;
            void *v;
            int *m;

            apr_hash_this(hi, &k, NULL, &v);
            m = apr_hash_get(groups, k, APR_HASH_KEY_STRING);
            if (!m) {
                m = apr_pcalloc(p, sizeof(*m));
                apr_hash_set(groups, k, APR_HASH_KEY_STRING, m);
            }
            *m |= *(int *)v;
        }
    }
    if (!user_mask && !apr_hash_count(groups)) {
        return 1;
    }
    if (!dbd_open || !dbd_close || !(dbd = dbd_open(p, s))) {
        if (!ctx->failures++) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(02131)
                         "quota budgets: the audit database is not "
                         "reachable through mod_dbd; day and month "
                         "counters start from zero until it is (retrying)");
        }
        return 0;
    }

    memset(&b, 0, sizeof(b));
    b.p = p;
    b.store = ctx->store;
    b.now = apr_time_now();
    apr_time_exp_gmt(&tm, since);
    t_since = sql_time(p, &tm);
    apr_time_exp_gmt(&tm, b.now);
    tm.tm_usec = tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    t_day = sql_time(p, &tm);
    tm.tm_mday = 1;
    t_month = sql_time(p, &tm);
    /* Requests that reached a provider, as the live counters count them. */
    sql = apr_psprintf(p,
        "SELECT user_name, user_groups,"
        " SUM(CASE WHEN ts >= '%s' THEN 1 ELSE 0 END), COUNT(*),"
        " SUM(CASE WHEN ts >= '%s' THEN COALESCE(tokens_in, 0)"
        " + COALESCE(tokens_out, 0) ELSE 0 END),"
        " SUM(COALESCE(tokens_in, 0) + COALESCE(tokens_out, 0))"
        " FROM llm_audit WHERE ts >= '%s' AND ts < '%s'"
        " AND decision IN ('allow', 'redact')"
        " GROUP BY user_name, user_groups",
        t_day, t_day, t_month, t_since);
    /* random access: the driver runs the query at once, so a refusal
     * (no SELECT grant) is reported here rather than read as no rows. */
    rv = apr_dbd_select(dbd->driver, p, dbd->handle, &res, sql, 1);
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(02132)
                     "quota budgets: reading the audit table failed (%s); "
                     "the gateway's database role needs SELECT on llm_audit "
                     "(ts, user_name, user_groups, decision, tokens_in, "
                     "tokens_out)",
                     apr_dbd_error(dbd->driver, dbd->handle, rv));
        dbd_close(s, dbd);
        /* A missing grant does not fix itself: do not retry. */
        return 1;
    }
    while (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0) {
        const char *user = apr_dbd_get_entry(dbd->driver, row, 0);
        const char *grp = apr_dbd_get_entry(dbd->driver, row, 1);
        apr_int64_t fig[2][2];
        int i;

        rows++;
        for (i = 0; i < 4; i++) {
            const char *v = apr_dbd_get_entry(dbd->driver, row, 2 + i);

            fig[i / 2][i % 2] = v ? apr_atoi64(v) : 0;
        }
        if (user && *user && user_mask) {
            add_counters(&b, "u", user, user_mask, fig);
        }
        if (grp && *grp) {
            apr_array_header_t *names = row_groups(p, grp);

            for (i = 0; i < names->nelts; i++) {
                const char *g = APR_ARRAY_IDX(names, i, const char *);
                int *m = apr_hash_get(groups, g, APR_HASH_KEY_STRING);

                if (m) {
                    add_counters(&b, "g", g, *m, fig);
                }
            }
        }
    }
    flush(&b);
    dbd_close(s, dbd);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LLMNO(02130)
                 "quota budgets rebuilt from the audit table: %d counters "
                 "from %d user/group rows since %s", b.total, rows, t_month);
    return 1;
}

static apr_status_t restore_tick(int state, void *data, apr_pool_t *pool)
{
    restore_ctx_t *ctx = data;
    apr_time_t since;
    apr_pool_t *p;
    int ok;

    if (state != AP_WATCHDOG_STATE_RUNNING
        || !ctx->store->vt->restore_claim(ctx->store, &since)) {
        return APR_SUCCESS;
    }
    if (apr_pool_create(&p, pool) != APR_SUCCESS) {
        ctx->store->vt->restore_done(ctx->store, 0);
        return APR_SUCCESS;
    }
    ok = restore(ctx, p, since);
    ctx->store->vt->restore_done(ctx->store, ok);
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

void llm_route_quota_restore_setup(apr_pool_t *pconf, server_rec *s,
                                   llm_counter_store_t *store)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    restore_ctx_t *ctx;
    ap_watchdog_t *wd;
    apr_status_t rv;

    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!dbd_open || !dbd_close || !get_instance || !register_cb) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(02133)
                     "LLMRouteQuotaRestore On needs mod_dbd and mod_watchdog:"
                     " day and month quota counters start from zero");
        return;
    }
    ctx = apr_pcalloc(pconf, sizeof(*ctx));
    ctx->s = s;
    ctx->store = store;
    /* In the children (parent 0), one of them (singleton 1). */
    rv = get_instance(&wd, RESTORE_WATCHDOG, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = register_cb(wd, RESTORE_INTERVAL, ctx, restore_tick);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, LLMNO(02134)
                     "cannot register the quota budget rebuild with "
                     "mod_watchdog: day and month counters start from zero");
    }
}
