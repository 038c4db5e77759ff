/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Quotas per user and per group: requests and tokens per minute or hour,
 * token budgets per day or month (UTC), counted across every httpd
 * process of the node in the counter store (route_counter_store.h).
 */

#ifndef ROUTE_QUOTA_H
#define ROUTE_QUOTA_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "llm_gateway.h"
#include "route_config.h"

typedef enum {
    LLM_QUOTA_EACH_USER = 0,     /* "user": every caller its own counter */
    LLM_QUOTA_ONE_USER,          /* "user:NAME": that caller, overriding */
    LLM_QUOTA_GROUP              /* "group:NAME": the members together */
} llm_quota_who_e;

typedef enum {
    LLM_QUOTA_REQUESTS = 0,
    LLM_QUOTA_TOKENS
} llm_quota_unit_e;

typedef enum {
    LLM_QUOTA_MINUTE = 0,        /* windows start at the first request */
    LLM_QUOTA_HOUR,
    LLM_QUOTA_DAY,               /* calendar windows, UTC */
    LLM_QUOTA_MONTH
} llm_quota_period_e;

/* One LLMRouteQuota line. */
typedef struct llm_quota_rule_t {
    llm_quota_who_e who;
    const char *name;            /* user or group name; NULL for "user" */
    llm_quota_unit_e unit;
    llm_quota_period_e period;
    apr_int64_t limit;           /* -1: unlimited (lifts an inherited one) */
} llm_quota_rule_t;


/* LLMRouteQuota who unit/period limit */
const char *llm_route_cmd_quota(cmd_parms *cmd, void *dcv, const char *who,
                                const char *what, const char *limit);
/* LLMRouteQuotaSlots n (global) */
const char *llm_route_cmd_quota_slots(cmd_parms *cmd, void *dcv,
                                      const char *n);
/* LLMRouteQuotaRestore On|Off (global) */
const char *llm_route_cmd_quota_restore(cmd_parms *cmd, void *dcv, int on);

/* Bits of the day and month counters some LLMRouteQuota line uses (for
 * the rebuild from the audit table): 1 << (unit * 2 + period - DAY). */
#define LLM_QUOTA_BUDGET_BIT(unit, period) \
    (1 << ((unit) * 2 + (period) - LLM_QUOTA_DAY))

/* The counter's name, and in *expires the end of the window a counter
 * created at now would have.  kind: "u" (a user) or "g" (a group). */
const char *llm_route_quota_key(apr_pool_t *p, const char *kind,
                                const char *name, llm_quota_unit_e unit,
                                llm_quota_period_e period, apr_time_t now,
                                apr_time_t *expires);

/* A context's line for (who, unit, period) replaces the inherited one. */
apr_array_header_t *llm_route_merge_quotas(apr_pool_t *p,
                                           const apr_array_header_t *base,
                                           const apr_array_header_t *add);

/* One counter that applies to a caller, as the self-service page shows
 * it. */
typedef struct {
    const char *who;             /* "user alice", "group ci-bots" */
    const char *unit;            /* "requests", "tokens" */
    const char *period;          /* "minute", "hour", "day", "month" */
    apr_int64_t limit;
    apr_int64_t used;
    apr_time_t reset;            /* when the window ends */
} llm_quota_figure_t;

/* Every quota counter that applies to the caller, read without counting
 * anything; an empty array without quotas, NULL when the counter store
 * did not answer. */
apr_array_header_t *llm_route_quota_peek(request_rec *r,
                                         const llm_route_dir_conf_t *dc,
                                         const llm_request_t *req);

/* The last check before a request goes to its provider: OK when within
 * every quota (the request is counted), else the 429 has been sent and
 * its status is returned for route_fixups to return.  Its input tokens
 * are estimated from body_bytes.  requests_only: a request answered from
 * the answer cache, which spends no tokens: only the request counters
 * take it, and a spent token budget does not refuse it. */
int llm_route_quota_check(request_rec *r, const llm_route_dir_conf_t *dc,
                          llm_request_t *req, apr_size_t body_bytes,
                          int requests_only);

/* post_config (the counter store: this node's shared memory, or Redis),
 * child_init (the Redis store's connection per process), the
 * llm_route_quota_metrics optional function, log_transaction (counting
 * real usage) and the output filter that puts the remaining figures on
 * answers. */
void llm_route_quota_register_hooks(apr_pool_t *p);

/* route_quota_restore.c: rebuild day and month counters from the audit
 * table once after a fresh start, in a mod_watchdog callback of one
 * child (mod_dbd's connections live in the children). */
struct llm_counter_store_t;
void llm_route_quota_restore_setup(apr_pool_t *pconf, server_rec *s,
                                   struct llm_counter_store_t *store);

#endif /* ROUTE_QUOTA_H */
