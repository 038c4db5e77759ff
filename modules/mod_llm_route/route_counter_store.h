/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The counter store behind quotas: named counters that live for a window,
 * changed a batch at a time.  The quota policy (route_quota.c) speaks only
 * this interface; route_counter_shm.c implements it in shared memory for
 * the httpd processes of one node; route_counter_redis.c in Redis for a
 * fleet of nodes (docs/fleet.md).  route_quota_store.c picks one
 * (LLMRouteQuotaStore) and applies LLMRouteQuotaStoreFailure when Redis
 * does not answer.
 */

#ifndef ROUTE_COUNTER_STORE_H
#define ROUTE_COUNTER_STORE_H

#include "httpd.h"
#include "apr.h"
#include "apr_errno.h"
#include "apr_time.h"

/* Keys longer than this are stored by a digest of the key. */
#define LLM_COUNTER_KEY_MAX 111

/* One counter of a batch. */
typedef struct llm_counter_op_t {
    const char *key;         /* in: the counter's name */
    apr_int64_t amount;      /* in: added (negative: given back) */
    apr_int64_t limit;       /* in: reserve: value + amount may not pass
                              * it; < 0: no limit */
    apr_time_t expires;      /* in: when a counter created now ends (the
                              * end of its window) */
    apr_int64_t value;       /* out: the value after the call */
    apr_time_t reset;        /* out: when the counter's window ends */
    int over;                /* out: reserve: this counter refused */
    int unavailable;         /* out: the store had no room for it */
} llm_counter_op_t;

typedef struct llm_counter_store_t llm_counter_store_t;

typedef struct llm_counter_store_vt_t {
    const char *name;
    /* All or nothing: when every counter can take its amount within its
     * limit, add them all and return APR_SUCCESS; otherwise add nothing,
     * mark the counters that refused (->over) and return APR_EGENERAL.
     * The values out are read under the same lock as the check.  Any
     * other status: the store did not answer (a shared store: it may
     * have counted the request if it failed after sending). */
    apr_status_t (*reserve)(llm_counter_store_t *st, llm_counter_op_t *ops,
                            int n, apr_time_t now);
    /* Add every amount without a limit (corrections after the answer);
     * no counter goes below zero.  shm: amount 0 reads the counter.  The
     * Redis store sends the batch without waiting for its answer and
     * leaves the values out unset. */
    apr_status_t (*add)(llm_counter_store_t *st, llm_counter_op_t *ops,
                        int n, apr_time_t now);
    /* Rebuilding budgets after a fresh start: returns 1 to exactly one
     * caller while a rebuild is wanted, with *since the moment the store
     * was created (usage from then on is counted live); that caller ends
     * with restore_done, ok 0 to let a later claim try again. */
    int (*restore_claim)(llm_counter_store_t *st, apr_time_t *since);
    void (*restore_done)(llm_counter_store_t *st, int ok);
} llm_counter_store_vt_t;

struct llm_counter_store_t {
    const llm_counter_store_vt_t *vt;
    void *ctx;
};

/* The node's shared-memory store (route_counter_shm.c).  Created once per
 * httpd parent with nslots counters, kept across graceful restarts; a
 * store created empty wants a rebuild when restore is non-zero. */
apr_status_t llm_counter_shm_attach(llm_counter_store_t **st,
                                    apr_pool_t *pconf, server_rec *s,
                                    int nslots, int restore);

/* In each child, before its first request: the child's pid for the
 * store's lock (llm_shm_lock.h). */
void llm_counter_shm_child_init(llm_counter_store_t *st);

#endif /* ROUTE_COUNTER_STORE_H */
