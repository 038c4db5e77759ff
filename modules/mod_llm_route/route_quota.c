/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Quotas.  Admins write, per user, per named user or per group:
 *
 *     LLMRouteQuota user           requests/minute  60
 *     LLMRouteQuota user           tokens/minute    200k
 *     LLMRouteQuota user           tokens/day       5M
 *     LLMRouteQuota group:ci-bots  requests/minute  600
 *     LLMRouteQuota user:build-bot tokens/day       unlimited
 *
 * Before a request goes to its provider, every counter that applies to the
 * caller takes the request (1) and its estimated input tokens (body bytes
 * / 4) in one all-or-nothing step; when one of them would pass its limit,
 * nothing is counted and the caller gets 429 with Retry-After and the rate
 * limit headers of its dialect.  After the answer (log_transaction) the
 * token counters are corrected to the usage the provider reported, or
 * given the estimate back when the provider served nothing.
 *
 * Windows of a minute or an hour start at a counter's first request (a
 * burst at a window's edge can reach twice the limit, as with any fixed
 * window); days and months are calendar windows in UTC.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "llm_size.h"
#include "route_internal.h"
#include "route_access.h"
#include "route_quota.h"
#include "route_counter_store.h"
#include "route_quota_store.h"

APLOG_USE_MODULE(llm_route);

#define LLM_QUOTA_FILTER "LLM_QUOTA_HEADERS"
#define LLM_QUOTA_STATE "llm_route::quota"
#define LLM_QUOTA_MAX_OPS 64

static const char *const unit_names[] = { "requests", "tokens" };
static const char *const period_names[] = { "minute", "hour", "day",
                                            "month" };

/* What one request reserved, for the correction after the answer and the
 * headers on it. */
typedef struct {
    llm_counter_op_t *ops;
    const llm_quota_rule_t **rules;
    int n;
    apr_int64_t estimate;
    int accounted;
    llm_counter_store_t *store;  /* the store that counted the request */
    /* the figures for the headers */
    int has[2];
    apr_int64_t limit[2], remaining[2];
    apr_time_t reset[2];
} quota_state_t;

/* -- configuration --------------------------------------------------------- */

/* Far below where adding a request's tokens to a counter could overflow. */
#define QUOTA_LIMIT_MAX APR_INT64_C(1000000000000000)

static const char *parse_limit(apr_pool_t *p, const char *s, apr_int64_t *out)
{
    if (!strcasecmp(s, "unlimited")) {
        *out = -1;
        return NULL;
    }
    return llm_size_parse(p, s, LLM_SIZE_COUNT, 0, QUOTA_LIMIT_MAX, out);
}

const char *llm_route_cmd_quota(cmd_parms *cmd, void *dcv, const char *who,
                                const char *what, const char *limit)
{
    llm_route_dir_conf_t *dc = dcv;
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);
    llm_quota_rule_t rule;
    const char *slash = strchr(what, '/');
    const char *err;
    int i, unit = -1, period = -1;

    memset(&rule, 0, sizeof(rule));
    if (!strcmp(who, "user")) {
        rule.who = LLM_QUOTA_EACH_USER;
    }
    else if (!strncmp(who, "user:", 5) && who[5]) {
        rule.who = LLM_QUOTA_ONE_USER;
        rule.name = who + 5;
    }
    else if (!strncmp(who, "group:", 6) && who[6]) {
        rule.who = LLM_QUOTA_GROUP;
        rule.name = who + 6;
    }
    else {
        return apr_psprintf(cmd->pool, "LLMRouteQuota: '%s' is not user, "
                            "user:NAME or group:NAME", who);
    }
    for (i = 0; i < 2; i++) {
        if (slash && (apr_size_t)(slash - what) == strlen(unit_names[i])
            && !strncmp(what, unit_names[i], slash - what)) {
            unit = i;
        }
    }
    for (i = 0; slash && i < 4; i++) {
        if (!strcmp(slash + 1, period_names[i])) {
            period = i;
        }
    }
    if (unit < 0 || period < 0) {
        return apr_psprintf(cmd->pool, "LLMRouteQuota %s: '%s' is not one of "
                            "requests/minute, requests/hour, requests/day, "
                            "requests/month, tokens/minute, tokens/hour, "
                            "tokens/day, tokens/month", who, what);
    }
    rule.unit = unit;
    rule.period = period;
    if ((err = parse_limit(cmd->pool, limit, &rule.limit)) != NULL) {
        return apr_psprintf(cmd->pool, "LLMRouteQuota %s %s: %s, or "
                            "'unlimited'", who, what, err);
    }
    for (i = 0; i < dc->quotas->nelts; i++) {
        const llm_quota_rule_t *o =
            &APR_ARRAY_IDX(dc->quotas, i, llm_quota_rule_t);

        if (o->who == rule.who && o->unit == rule.unit
            && o->period == rule.period
            && (!o->name || !strcmp(o->name, rule.name))) {
            return apr_psprintf(cmd->pool, "LLMRouteQuota %s %s is set twice "
                                "in the same context", who, what);
        }
    }
    *(llm_quota_rule_t *)apr_array_push(dc->quotas) = rule;
    sc->quota_used = 1;
    if (rule.period >= LLM_QUOTA_DAY) {
        /* What a rebuild from the audit table has to fill. */
        int bit = LLM_QUOTA_BUDGET_BIT(rule.unit, rule.period);

        if (rule.who == LLM_QUOTA_GROUP) {
            int *mask = apr_hash_get(sc->quota_budget_groups, rule.name,
                                     APR_HASH_KEY_STRING);

            if (!mask) {
                mask = apr_pcalloc(cmd->pool, sizeof(*mask));
                apr_hash_set(sc->quota_budget_groups, rule.name,
                             APR_HASH_KEY_STRING, mask);
            }
            *mask |= bit;
        }
        else {
            sc->quota_budget_user |= bit;
        }
    }
    return NULL;
}

const char *llm_route_cmd_quota_restore(cmd_parms *cmd, void *dcv, int on)
{
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    sc->quota_restore = on;
    return NULL;
}

const char *llm_route_cmd_quota_slots(cmd_parms *cmd, void *dcv,
                                      const char *n)
{
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    apr_int64_t v;

    if (err) {
        return err;
    }
    v = apr_strtoi64(n, &end, 10);
    if (*end || v < 1024 || v > 16 * 1024 * 1024) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaSlots: '%s' is not a "
                            "number of counters from 1024 to 16777216", n);
    }
    sc->quota_slots = (int)v;
    return NULL;
}

/* Lines for the same counter (llm_route_merge_lines). */
static int same_rule(const void *av, const void *bv)
{
    const llm_quota_rule_t *a = av, *b = bv;

    return a->who == b->who && a->unit == b->unit && a->period == b->period
           && (a->name == b->name
               || (a->name && b->name && !strcmp(a->name, b->name)));
}

apr_array_header_t *llm_route_merge_quotas(apr_pool_t *p,
                                           const apr_array_header_t *base,
                                           const apr_array_header_t *add)
{
    return llm_route_merge_lines(p, base, add, same_rule);
}

/* -- windows and counters -------------------------------------------------- */

/* The end of the window a counter created now would have, and the suffix
 * naming a calendar window (so that a new day is a new counter). */
static apr_time_t window_end(apr_pool_t *p, llm_quota_period_e period,
                             apr_time_t now, const char **suffix)
{
    apr_time_exp_t tm;
    apr_time_t t;

    *suffix = "";
    switch (period) {
    case LLM_QUOTA_MINUTE:
        return now + apr_time_from_sec(60);
    case LLM_QUOTA_HOUR:
        return now + apr_time_from_sec(3600);
    default:
        break;
    }
    apr_time_exp_gmt(&tm, now);
    tm.tm_usec = tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    if (period == LLM_QUOTA_DAY) {
        *suffix = apr_psprintf(p, "%04d%02d%02d", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday);
        apr_time_exp_gmt_get(&t, &tm);
        return t + apr_time_from_sec(86400);
    }
    *suffix = apr_psprintf(p, "%04d%02d", tm.tm_year + 1900, tm.tm_mon + 1);
    tm.tm_mday = 1;
    if (++tm.tm_mon == 12) {
        tm.tm_mon = 0;
        tm.tm_year++;
    }
    apr_time_exp_gmt_get(&t, &tm);
    return t;
}

/* The rule that sets this caller's own limit for (unit, period): its
 * user:NAME line, else the "user" line. */
static const llm_quota_rule_t *user_rule(const apr_array_header_t *rules,
                                         const char *user,
                                         llm_quota_unit_e unit,
                                         llm_quota_period_e period)
{
    const llm_quota_rule_t *each = NULL;
    int i;

    for (i = 0; i < rules->nelts; i++) {
        const llm_quota_rule_t *q = &APR_ARRAY_IDX(rules, i, llm_quota_rule_t);

        if (q->unit != unit || q->period != period) {
            continue;
        }
        if (q->who == LLM_QUOTA_ONE_USER && !strcmp(q->name, user)) {
            return q;
        }
        if (q->who == LLM_QUOTA_EACH_USER) {
            each = q;
        }
    }
    return each;
}

const char *llm_route_quota_key(apr_pool_t *p, const char *kind,
                                const char *name, llm_quota_unit_e unit,
                                llm_quota_period_e period, apr_time_t now,
                                apr_time_t *expires)
{
    const char *suffix;

    *expires = window_end(p, period, now, &suffix);
    /* \x1f cannot come from a claim a person types. */
    return apr_pstrcat(p, kind, "\x1f", name, "\x1f", unit_names[unit], "/",
                       period_names[period], *suffix ? "\x1f" : "", suffix,
                       NULL);
}

static void add_op(request_rec *r, quota_state_t *st,
                   const llm_quota_rule_t *q, const char *kind,
                   const char *name, apr_int64_t amount, apr_time_t now)
{
    llm_counter_op_t *op;

    if (st->n == LLM_QUOTA_MAX_OPS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02120)
                      "more than %d quota counters apply to this caller; "
                      "the rest are not checked", LLM_QUOTA_MAX_OPS);
        return;
    }
    op = &st->ops[st->n];
    memset(op, 0, sizeof(*op));
    op->key = llm_route_quota_key(r->pool, kind, name, q->unit, q->period,
                                  now, &op->expires);
    op->amount = amount;
    op->limit = q->limit;
    st->rules[st->n] = q;
    st->n++;
}

static quota_state_t *build_ops(request_rec *r, const llm_route_dir_conf_t *dc,
                                const llm_request_t *req, apr_int64_t est,
                                int units, apr_time_t now)
{
    quota_state_t *st = apr_pcalloc(r->pool, sizeof(*st));
    int unit, period, i;

    st->ops = apr_pcalloc(r->pool, LLM_QUOTA_MAX_OPS * sizeof(*st->ops));
    st->rules = apr_pcalloc(r->pool, LLM_QUOTA_MAX_OPS * sizeof(*st->rules));
    st->estimate = est;
    for (unit = 0; unit < units; unit++) {
        apr_int64_t amount = unit == LLM_QUOTA_REQUESTS ? 1 : est;

        for (period = 0; period < 4; period++) {
            const llm_quota_rule_t *q = req->user
                ? user_rule(dc->quotas, req->user, unit, period) : NULL;

            if (q && q->limit >= 0) {
                add_op(r, st, q, "u", req->user, amount, now);
            }
        }
        for (i = 0; i < dc->quotas->nelts; i++) {
            const llm_quota_rule_t *g =
                &APR_ARRAY_IDX(dc->quotas, i, llm_quota_rule_t);

            if (g->who == LLM_QUOTA_GROUP && (int)g->unit == unit
                && g->limit >= 0 && llm_route_in_group(req->groups, g->name)) {
                add_op(r, st, g, "g", g->name, amount, now);
            }
        }
    }
    return st;
}

/* -- headers ---------------------------------------------------------------- */

/* The tightest figures per unit: what the caller can still send. */
static void figures(quota_state_t *st)
{
    int i;

    for (i = 0; i < st->n; i++) {
        const llm_counter_op_t *op = &st->ops[i];
        int u = st->rules[i]->unit;
        apr_int64_t rem = op->limit - op->value;

        if (op->unavailable) {
            continue;
        }
        if (rem < 0) {
            rem = 0;
        }
        if (!st->has[u] || rem < st->remaining[u]
            || (rem == st->remaining[u] && op->reset < st->reset[u])) {
            st->has[u] = 1;
            st->limit[u] = op->limit;
            st->remaining[u] = rem;
            st->reset[u] = op->reset;
        }
    }
}

/* OpenAI's reset figures are durations: "1s", "6m0s", "2h3m4s". */
static const char *duration(apr_pool_t *p, apr_interval_time_t d)
{
    apr_int64_t s = (d + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;

    if (s < 1) {
        s = 1;
    }
    if (s < 60) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "s", s);
    }
    if (s < 3600) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "m%" APR_INT64_T_FMT "s",
                            s / 60, s % 60);
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT "h%" APR_INT64_T_FMT "m%"
                        APR_INT64_T_FMT "s", s / 3600, (s / 60) % 60, s % 60);
}

/* Anthropic's are RFC 3339 times. */
static const char *rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The figures' header names, per dialect and unit (unit_names' order):
 * constants rather than joined anew for every answer. */
static const char *const anthropic_names[2][3] = {
    { "anthropic-ratelimit-requests-limit",
      "anthropic-ratelimit-requests-remaining",
      "anthropic-ratelimit-requests-reset" },
    { "anthropic-ratelimit-tokens-limit",
      "anthropic-ratelimit-tokens-remaining",
      "anthropic-ratelimit-tokens-reset" }
};
static const char *const openai_names[2][3] = {
    { "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
      "x-ratelimit-reset-requests" },
    { "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
      "x-ratelimit-reset-tokens" }
};

static void set_headers(request_rec *r, apr_table_t *h, const quota_state_t *st,
                        llm_family_e family, apr_time_t now)
{
    int u;

    for (u = 0; u < 2; u++) {
        const char *const *name = family == LLM_FAMILY_ANTHROPIC
                                  ? anthropic_names[u] : openai_names[u];

        if (!st->has[u]) {
            continue;
        }
        apr_table_setn(h, name[0], apr_off_t_toa(r->pool, st->limit[u]));
        apr_table_setn(h, name[1], apr_off_t_toa(r->pool, st->remaining[u]));
        apr_table_setn(h, name[2], family == LLM_FAMILY_ANTHROPIC
                                   ? rfc3339(r->pool, st->reset[u])
                                   : duration(r->pool, st->reset[u] - now));
    }
}

static int drop_provider_figure(void *h, const char *key, const char *val)
{
    if (!strncasecmp(key, "x-ratelimit-", 12)
        || !strncasecmp(key, "anthropic-ratelimit-", 20)) {
        apr_table_unset(h, key);
    }
    return 1;
}

/* The provider's own rate limit headers describe the gateway's provider
 * key, shared by everyone: the caller is told its own figures instead --
 * except when the provider refused with 429, where its figures are the
 * explanation. */
static apr_status_t quota_headers_filter(ap_filter_t *f,
                                         apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    quota_state_t *st = f->ctx;
    llm_request_t *req = llm_request_get(r, 0);
    apr_table_t *copy;

    if (r->status == HTTP_TOO_MANY_REQUESTS) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    copy = apr_table_copy(r->pool, r->headers_out);
    apr_table_do(drop_provider_figure, r->headers_out, copy, NULL);
    set_headers(r, r->headers_out, st,
                req ? req->caller_family : LLM_FAMILY_OPENAI, apr_time_now());
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* -- the check and the accounting ------------------------------------------ */

static const char *who_text(apr_pool_t *p, const llm_quota_rule_t *q,
                            const char *user)
{
    return q->who == LLM_QUOTA_GROUP
               ? apr_pstrcat(p, "group ", q->name, NULL)
               : apr_pstrcat(p, "user ", user, NULL);
}

apr_array_header_t *llm_route_quota_peek(request_rec *r,
                                         const llm_route_dir_conf_t *dc,
                                         const llm_request_t *req)
{
    apr_array_header_t *out = apr_array_make(r->pool, 4,
                                             sizeof(llm_quota_figure_t));
    apr_time_t now = apr_time_now();
    llm_counter_store_t *used = NULL;
    quota_state_t *st;
    apr_status_t rv;
    int i;

    if (!dc->quotas->nelts || !llm_quota_store_ready()) {
        return out;
    }
    st = build_ops(r, dc, req, 0, 2, now);
    /* A reservation of nothing reads every counter under the store's
     * lock and changes none. */
    for (i = 0; i < st->n; i++) {
        st->ops[i].amount = 0;
    }
    if (!st->n) {
        return out;
    }
    rv = llm_quota_store_reserve(r, st->ops, st->n, now, &used);
    if (rv != APR_SUCCESS && rv != APR_EGENERAL) {
        return NULL;
    }
    for (i = 0; i < st->n; i++) {
        llm_quota_figure_t *f;

        if (st->ops[i].unavailable) {
            continue;
        }
        f = apr_array_push(out);
        f->who = who_text(r->pool, st->rules[i], req->user);
        f->unit = unit_names[st->rules[i]->unit];
        f->period = period_names[st->rules[i]->period];
        f->limit = st->ops[i].limit;
        f->used = st->ops[i].value;
        f->reset = st->ops[i].reset;
    }
    return out;
}

int llm_route_quota_check(request_rec *r, const llm_route_dir_conf_t *dc,
                          llm_request_t *req, apr_size_t body_bytes,
                          int requests_only)
{
    quota_state_t *st;
    apr_time_t now = apr_time_now();
    apr_int64_t est = 0;
    apr_interval_time_t wait = -1;
    apr_int64_t secs;
    const llm_quota_rule_t *hit = NULL;
    const llm_counter_op_t *hit_op = NULL;
    apr_status_t rv;
    int i;

    if (!dc->quotas->nelts || !llm_quota_store_ready()) {
        return OK;
    }
    /* Tokens are estimated from what the provider will read; counting
     * tokens costs the caller nothing. */
    if (req->endpoint != LLM_EP_ANTHROPIC_COUNT_TOKENS && !requests_only) {
        est = (apr_int64_t)(body_bytes + 3) / 4;
    }
    /* Units are in order: requests first, so 1 unit is requests only. */
    st = build_ops(r, dc, req, est, requests_only ? 1 : 2, now);
    if (!st->n) {
        return OK;
    }
    rv = llm_quota_store_reserve(r, st->ops, st->n, now, &st->store);
    if (rv == LLM_QUOTA_STORE_CLOSED) {
        /* Logged once per outage by the store; nothing went upstream. */
        req->decision = LLM_DECISION_ERROR;
        req->reason = "quota_store_unavailable";
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return llm_request_send_error(r, HTTP_SERVICE_UNAVAILABLE,
            "api_error", "quota_store_unavailable",
            "The gateway cannot check quotas right now and is configured "
            "not to serve requests it cannot count; retry shortly.", NULL);
    }
    for (i = 0; i < st->n; i++) {
        if (st->ops[i].unavailable) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02121)
                          "quota counter store (%s) is full: a %s/%s quota "
                          "is not enforced for this request; raise "
                          "LLMRouteQuotaSlots", st->store->vt->name,
                          unit_names[st->rules[i]->unit],
                          period_names[st->rules[i]->period]);
        }
    }
    figures(st);
    if (rv == APR_SUCCESS) {
        apr_pool_userdata_setn(st, LLM_QUOTA_STATE, NULL, r->pool);
        ap_add_output_filter(LLM_QUOTA_FILTER, st, r, r->connection);
        return OK;
    }
    if (rv != APR_EGENERAL) {
        /* The lock failed (logged): quotas are cost control, not access
         * control, so the request goes on uncounted. */
        return OK;
    }
    /* The caller may retry when every refusing window has ended. */
    for (i = 0; i < st->n; i++) {
        if (st->ops[i].over && st->ops[i].reset - now > wait) {
            wait = st->ops[i].reset - now;
            hit = st->rules[i];
            hit_op = &st->ops[i];
        }
    }
    if (!hit) {
        return OK;
    }
    if (wait < 0) {
        wait = 0;
    }
    set_headers(r, r->headers_out, st, req->caller_family, now);
    /* Whole seconds, rounded up, and never 0: a client told 0 retries
     * at once, into the same refusal. */
    secs = (wait + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    apr_table_setn(r->headers_out, "Retry-After",
                   apr_off_t_toa(r->pool, secs > 0 ? secs : 1));
    req->decision = LLM_DECISION_QUOTA;
    req->reason = hit->period >= LLM_QUOTA_DAY ? "budget_exceeded"
                                               : "rate_limit_exceeded";
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMNO(02122)
                  "quota: %s over %s/%s (limit %" APR_INT64_T_FMT ")",
                  who_text(r->pool, hit, req->user), unit_names[hit->unit],
                  period_names[hit->period], hit->limit);
    return llm_request_send_error(r, HTTP_TOO_MANY_REQUESTS,
        unit_names[hit->unit], req->reason,
        apr_psprintf(r->pool, "Quota reached for %s: %s per %s, limit %"
                     APR_INT64_T_FMT ", used %" APR_INT64_T_FMT "%s. Try "
                     "again in %s.", who_text(r->pool, hit, req->user),
                     unit_names[hit->unit], period_names[hit->period],
                     hit->limit, hit_op->value,
                     hit->unit == LLM_QUOTA_TOKENS
                         ? apr_psprintf(r->pool, ", this request needs about "
                                        "%" APR_INT64_T_FMT, est) : "",
                     duration(r->pool, wait)),
        NULL);
}

/* After the answer: the token counters learn the real usage. */
static int quota_log_transaction(request_rec *r)
{
    quota_state_t *st = NULL;
    llm_request_t *req = llm_request_get(r, 0);
    apr_int64_t used, delta;
    int i, k = 0;

    apr_pool_userdata_get((void **)&st, LLM_QUOTA_STATE, r->pool);
    if (!st || st->accounted || !req || !st->store) {
        return DECLINED;
    }
    st->accounted = 1;
    used = req->tokens_in + req->tokens_out;
    if (used > 0) {
        delta = used - st->estimate;
    }
    else if (req->upstream_status == 0 || req->upstream_status >= 400) {
        /* The provider served nothing billable. */
        delta = -st->estimate;
    }
    else {
        /* An answer without usage (a stream without a usage event): the
         * estimate stands. */
        delta = 0;
    }
    if (!delta) {
        return DECLINED;
    }
    for (i = 0; i < st->n; i++) {
        if (st->rules[i]->unit == LLM_QUOTA_TOKENS) {
            st->ops[k] = st->ops[i];
            st->ops[k].amount = delta;
            k++;
        }
    }
    if (k) {
        llm_quota_store_add(r, st->store, st->ops, k, apr_time_now());
    }
    return DECLINED;
}

/* -- lifecycle -------------------------------------------------------------- */

static int quota_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    llm_route_server_conf_t *sc = llm_route_srv(s);
    llm_counter_store_t *local;
    server_rec *vs;
    int used = 0;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        for (vs = s; vs; vs = vs->next) {
            llm_route_server_conf_t *vsc = llm_route_srv(vs);

            used |= vsc->quota_used;
        }
    }
    if (llm_quota_store_setup(pconf, s, used, &local) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (used && llm_route_quota_restore(sc)) {
        /* Into this node's counters: budgets in Redis outlive a node. */
        llm_route_quota_restore_setup(pconf, s, local);
    }
    return OK;
}

void llm_route_quota_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(quota_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    llm_quota_store_register_hooks(p);
    /* The answer is complete here, so its usage is known. */
    ap_hook_log_transaction(quota_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
    ap_register_output_filter(LLM_QUOTA_FILTER, quota_headers_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
}
