/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Budgets after a fresh start.  The counters live in shared memory, kept
 * across graceful restarts but not across a stop: with LLMRouteQuotaRestore
 * On, the day and month counters of an empty table are rebuilt from the
 * audit table -- what each user and each group used today and this month,
 * up to the moment the table was created (from then on the counters count
 * live, so nothing is counted twice).  mod_llm_audit reads its own table
 * (the llm_audit_usage optional function, audit_usage.c); this file only
 * turns its figures into counters.
 *
 * mod_dbd's connections exist in the children, so the work is a
 * mod_watchdog callback in one child (singleton); the store hands the job
 * to exactly one caller and takes it back when the database did not
 * answer, so a later tick tries again.  Requests are served meanwhile,
 * against the counts so far.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
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

static APR_OPTIONAL_FN_TYPE(llm_audit_usage) *audit_usage;

typedef struct {
    apr_pool_t *p;
    llm_counter_store_t *store;
    apr_time_t now;
    llm_counter_op_t ops[RESTORE_MAX_OPS];
    int n;
    int total;
    int rows;
    int user_mask;
    apr_hash_t *groups;          /* name -> int * mask */
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

/* One user and groups' figures, as mod_llm_audit read them. */
static void take_usage(void *baton, const llm_audit_usage_t *u)
{
    batch_t *b = baton;
    const apr_int64_t fig[2][2] = {
        { u->requests_day, u->requests_month },
        { u->tokens_day, u->tokens_month }
    };
    int i;

    b->rows++;
    if (u->user && *u->user && b->user_mask) {
        add_counters(b, "u", u->user, b->user_mask, fig);
    }
    for (i = 0; i < u->groups->nelts; i++) {
        const char *g = APR_ARRAY_IDX(u->groups, i, const char *);
        int *m = apr_hash_get(b->groups, g, APR_HASH_KEY_STRING);

        if (m) {
            add_counters(b, "g", g, *m, fig);
        }
    }
}

static int restore(restore_ctx_t *ctx, apr_pool_t *p, apr_time_t since)
{
    server_rec *s = ctx->s, *vs;
    apr_time_exp_t tm;
    apr_time_t day, month;
    const char *why = NULL;
    apr_status_t rv;
    batch_t b;

    memset(&b, 0, sizeof(b));
    b.p = p;
    b.store = ctx->store;
    b.groups = apr_hash_make(p);
    /* Which day and month counters the configuration uses, everywhere. */
    for (vs = s; vs; vs = vs->next) {
        llm_route_server_conf_t *sc = llm_route_srv(vs);
        apr_hash_index_t *hi;

        b.user_mask |= sc->quota_budget_user;
        for (hi = apr_hash_first(p, sc->quota_budget_groups); hi;
             hi = apr_hash_next(hi)) {
            const void *k;
            void *v;
            int *m;

            apr_hash_this(hi, &k, NULL, &v);
            m = apr_hash_get(b.groups, k, APR_HASH_KEY_STRING);
            if (!m) {
                m = apr_pcalloc(p, sizeof(*m));
                apr_hash_set(b.groups, k, APR_HASH_KEY_STRING, m);
            }
            *m |= *(int *)v;
        }
    }
    if (!b.user_mask && !apr_hash_count(b.groups)) {
        return 1;
    }
    b.now = apr_time_now();
    apr_time_exp_gmt(&tm, b.now);
    tm.tm_usec = tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    apr_time_exp_gmt_get(&day, &tm);
    tm.tm_mday = 1;
    apr_time_exp_gmt_get(&month, &tm);
    rv = audit_usage(s, p, day, month, since, take_usage, &b, &why);
    if (rv == APR_EAGAIN) {
        if (!ctx->failures++) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(02131)
                         "quota budgets: the audit database is not "
                         "reachable through mod_dbd; day and month "
                         "counters start from zero until it is (retrying)");
        }
        return 0;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(02132)
                     "quota budgets: %s", why ? why : "the audit table "
                     "could not be read");
        /* A missing grant does not fix itself: do not retry. */
        return 1;
    }
    flush(&b);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LLMNO(02130)
                 "quota budgets rebuilt from the audit table: %d counters "
                 "from %d user/group rows since %s", b.total, b.rows,
                 ap_ht_time(p, month, "%Y-%m-%d %H:%M:%SZ", 1));
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

    audit_usage = APR_RETRIEVE_OPTIONAL_FN(llm_audit_usage);
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!audit_usage) {
        return;                 /* said at startup: LLM02801 */
    }
    if (!get_instance || !register_cb) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(02133)
                     "LLMRouteQuotaRestore On needs mod_watchdog: day and "
                     "month quota counters start from zero");
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
