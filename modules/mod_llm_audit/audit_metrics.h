/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The shared-memory layout of mod_llm_audit's counters, read by the
 * Prometheus handler (audit_metrics.c) and the status page
 * (audit_status.c).  One anonymous segment, created by the parent on its
 * process pool so that it outlives graceful restarts, inherited by every
 * child; writers hold its lock word (llm_shm_lock.h) briefly.
 */

#ifndef LLM_AUDIT_METRICS_H
#define LLM_AUDIT_METRICS_H

#include "httpd.h"
#include "apr_time.h"

#include "llm_shm_lock.h"

#define LLM_AUDIT_SHM_MAGIC 0x4c4c4d41u     /* "LLMA" */
#define LLM_AUDIT_SHM_VERSION 6
#define LLM_AUDIT_SERIES_MAX 512
#define LLM_AUDIT_TYPES_MAX 64
#define LLM_AUDIT_USERS_MAX 256
#define LLM_AUDIT_RECENT_MAX 32
#define LLM_AUDIT_REASONS_MAX 64
#define LLM_AUDIT_NBUCKETS 17
#define LLM_AUDIT_CHAINS_MAX 64

/* Histogram upper bounds in seconds (the last bucket is +Inf). */
extern const double llm_audit_buckets[LLM_AUDIT_NBUCKETS];

typedef struct {
    int used;
    char provider[48];
    char model[96];
    char decision[16];
    int status;
    apr_uint64_t requests;
    apr_uint64_t tokens_in, tokens_out, tokens_cached;
    apr_uint64_t cost_nusd;                 /* nano-USD */
    apr_uint64_t bytes_in, bytes_out;
    apr_uint64_t latency[LLM_AUDIT_NBUCKETS + 1];
    apr_uint64_t latency_sum_us;
    apr_uint64_t ttfb[LLM_AUDIT_NBUCKETS + 1];
    apr_uint64_t ttfb_sum_us, ttfb_count;
} llm_audit_series_t;

typedef struct {
    char type[48];
    apr_uint64_t count;                     /* in requests */
    apr_uint64_t answer_count;              /* in answers */
} llm_audit_typecount_t;

/* Refusals (block, deny, quota, invalid) by decision and reason: the
 * gateway's own codes (model_not_allowed, budget_exceeded, ...), never a
 * caller's value. */
typedef struct {
    char decision[16];
    char reason[48];
    apr_uint64_t count;
} llm_audit_reasoncount_t;

typedef struct {
    char user[64];
    apr_int64_t day;                        /* days since the epoch, UTC */
    apr_uint64_t tokens, requests;
    apr_uint64_t cost_nusd;
} llm_audit_usercount_t;

typedef struct {
    apr_time_t t;
    char request_id[40];
    char user[64];
    char model[64];
    char decision[16];
    char reason[48];
    char types[160];                        /* finding types, no values */
} llm_audit_recent_t;

/* Where each writer's chain stands: the status page shows it, so that an
 * auditor can see rows missing from the END of a chain (which the chain
 * itself cannot show) by comparing with llm-audit-verify -v. */
typedef struct {
    char chain_id[112];
    apr_int64_t seq;
    apr_time_t updated;
} llm_audit_chainhead_t;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_size_t size;
    apr_time_t created;
    llm_shm_lock_t lock;
    /* State the request path reads without the lock. */
    volatile int db_ok, spool_ok, spool_pending;
    apr_time_t db_last_ok, db_last_error;
    apr_uint64_t written, db_errors, spooled, replayed, lost, refused;
    apr_uint64_t batch_waits;    /* requests that waited for the writer */
    apr_uint64_t recovered;      /* records moved from dead journals */
    apr_uint64_t interrupted;    /* requests recorded as interrupted */
    apr_uint64_t unjournaled;    /* records the journal could not take */
    apr_uint64_t findings_total;
    llm_audit_series_t series[LLM_AUDIT_SERIES_MAX];
    llm_audit_typecount_t types[LLM_AUDIT_TYPES_MAX];
    llm_audit_usercount_t users[LLM_AUDIT_USERS_MAX];
    llm_audit_recent_t recent[LLM_AUDIT_RECENT_MAX];
    unsigned int recent_next;
    llm_audit_reasoncount_t reasons[LLM_AUDIT_REASONS_MAX];
    llm_audit_chainhead_t chains[LLM_AUDIT_CHAINS_MAX];
} llm_audit_shm_t;

/* This process's slot in the writers table (NULL without shared memory);
 * only this process writes it afterwards, without the lock. */
llm_audit_chainhead_t *llm_audit_metrics_claim_chain(const char *chain_id);

/* The segment (NULL before post_config) and its lock/unlock. */
llm_audit_shm_t *llm_audit_shm(void);
/* In each child before its first request (the lock's owner pid). */
void llm_audit_metrics_child_init(void);
void llm_audit_shm_lock(void);
void llm_audit_shm_unlock(void);

/* A copy of the segment in p, taken under the lock, so that a handler
 * formats it without holding the lock.  NULL without shared memory. */
llm_audit_shm_t *llm_audit_shm_snapshot(apr_pool_t *p);

/* Busy httpd workers and MaxRequestWorkers, for the metrics page. */
void llm_audit_workers_metrics(request_rec *r);

#endif /* LLM_AUDIT_METRICS_H */
