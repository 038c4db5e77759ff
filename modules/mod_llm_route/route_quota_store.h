/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Which counter store the quotas use (LLMRouteQuotaStore), and what
 * happens when a shared one does not answer (LLMRouteQuotaStoreFailure):
 * the node's shared-memory counters stand in (open) or the request is
 * refused with 503 (closed).  The shared store's health is kept in a
 * small shared segment, so that its loss and its return are logged once
 * per node and counted in the metrics.
 */

#ifndef ROUTE_QUOTA_STORE_H
#define ROUTE_QUOTA_STORE_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "route_config.h"
#include "route_counter_store.h"

/* One Redis server of LLMRouteQuotaStore, in the order given. */
typedef struct llm_redis_server_t {
    const char *url;             /* as written, for logs (no secret in it) */
    const char *host;
    int port;
    int db;
    const char *user;            /* ACL user; NULL: the default user */
    const char *password_file;   /* NULL: no AUTH */
    const char *password;        /* read from password_file at parse time */
    apr_size_t password_len;
} llm_redis_server_t;

/* LLMRouteQuotaStore and LLMRouteQuotaStoreFailure (main server only). */
typedef struct llm_quota_store_conf_t {
    apr_array_header_t *servers; /* of llm_redis_server_t; empty: shm */
    apr_interval_time_t timeout; /* the longest a request waits for Redis */
    int failure_closed;          /* 1: refuse with 503; 0: count locally */
} llm_quota_store_conf_t;

#define LLM_QUOTA_STORE_TIMEOUT apr_time_from_msec(50)

/* What llm_quota_store_reserve returns besides APR_SUCCESS and
 * APR_EGENERAL (refused): the shared store did not answer and
 * LLMRouteQuotaStoreFailure closed says to refuse the request. */
#define LLM_QUOTA_STORE_CLOSED (APR_OS_START_USERERR + 1601)
/* A store's answer: the server refused the call or broke the protocol. */
#define LLM_QUOTA_STORE_EPROTO (APR_OS_START_USERERR + 1602)

const char *llm_route_cmd_quota_store(cmd_parms *cmd, void *dcv,
                                      const char *args);
const char *llm_route_cmd_quota_store_failure(cmd_parms *cmd, void *dcv,
                                              const char *mode);

/* post_config: when some LLMRouteQuota line is used, the node's
 * shared-memory store (always: it is the store, or the stand-in for a
 * shared one) and the shared store when one is configured; else none.
 * *local gets the shared-memory store. */
apr_status_t llm_quota_store_setup(apr_pool_t *pconf, server_rec *s,
                                   int used, llm_counter_store_t **local);

/* 1 when post_config set up a store for this generation. */
int llm_quota_store_ready(void);

/* Reserve through the configured store.  *used gets the store that
 * counted the request (the correction after the answer goes to it):
 * APR_SUCCESS or APR_EGENERAL (refused) as the store's reserve;
 * LLM_QUOTA_STORE_CLOSED when the request must be refused with 503; any
 * other status: nothing counted, the request goes on (logged). */
apr_status_t llm_quota_store_reserve(request_rec *r, llm_counter_op_t *ops,
                                     int n, apr_time_t now,
                                     llm_counter_store_t **used);

/* The correction after the answer, in the store that reserved. */
void llm_quota_store_add(request_rec *r, llm_counter_store_t *used,
                         llm_counter_op_t *ops, int n, apr_time_t now);

/* The Redis store's own failures found after the call that caused them
 * (a correction that was sent and never confirmed): counted in
 * llm_gateway_quota_store_failures_total. */
void llm_quota_store_count_failures(int n);

/* child_init (the Redis connection of each child) and the optional
 * function the metrics page calls. */
void llm_quota_store_register_hooks(apr_pool_t *p);
/* The shared store's health lines of the metrics page (none with shm). */
void llm_quota_store_metrics(request_rec *r);

/* route_counter_redis.c: the Redis store.  Created in post_config; the
 * connection is the child's, made at its first use. */
apr_status_t llm_counter_redis_create(llm_counter_store_t **st,
                                      apr_pool_t *pconf, server_rec *s,
                                      const llm_quota_store_conf_t *conf);
void llm_counter_redis_child_init(llm_counter_store_t *st,
                                  apr_pool_t *pchild, server_rec *s);

#endif /* ROUTE_QUOTA_STORE_H */
