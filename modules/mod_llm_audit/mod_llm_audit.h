/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mod_llm_audit's private interface between its glue files: configuration,
 * per-process state and the functions one file offers the others.
 */

#ifndef MOD_LLM_AUDIT_H
#define MOD_LLM_AUDIT_H

#include "httpd.h"
#include "http_config.h"
#include "apr_thread_mutex.h"
#include "apr_dbd.h"
#include "mod_dbd.h"

#include "llm_gateway.h"
#include "audit/audit_record.h"
#include "audit/audit_chain.h"
#include "audit/audit_spool.h"
#include "audit/audit_journal.h"

/* The one "not set here" value of every scalar member (pointers: NULL):
 * it survives every merge where nothing sets the directive, so that an
 * inner context inherits; the defaults below are applied where the value
 * is read, by the readers after the structs and nowhere else. */
#define LLM_AUDIT_UNSET (-1)

/* Defaults of values left unset everywhere. */
#define LLM_AUDIT_DEFAULT_ENABLED 1          /* LLMAudit On */
#define LLM_AUDIT_DEFAULT_REQUIRED 0         /* LLMAuditRequired Off */
#define LLM_AUDIT_DEFAULT_BODIES LLM_AUDIT_BODIES_OFF
#define LLM_AUDIT_DEFAULT_SPOOL "llm-audit.spool"   /* ServerRoot relative */
#define LLM_AUDIT_DEFAULT_SPOOL_MAX ((apr_off_t)64 * 1024 * 1024)
#define LLM_AUDIT_DEFAULT_BODY_MAX ((apr_off_t)1024 * 1024)
#define LLM_AUDIT_DEFAULT_REPLAY_INTERVAL 5
#define LLM_AUDIT_DEFAULT_BATCH_SIZE 0       /* off */
#define LLM_AUDIT_DEFAULT_BATCH_DELAY 20     /* ms */
#define LLM_AUDIT_VALUE(v, dflt) ((v) == LLM_AUDIT_UNSET ? (dflt) : (v))

typedef enum {
    LLM_AUDIT_BODIES_OFF = 0,
    LLM_AUDIT_BODIES_REDACTED,
    LLM_AUDIT_BODIES_FULL
} llm_audit_bodies_e;

/* One LLMAuditPrice line: USD per million tokens. */
typedef struct llm_audit_price_t {
    const char *pattern;         /* apr_fnmatch pattern on the model used */
    double input;
    double cached_input;
    double output;
} llm_audit_price_t;

typedef struct llm_audit_srv_t {
    const char *key_file;
    const char *body_key_file;
    const char *spool_path;
    apr_off_t spool_max;
    apr_table_t *schema_files;   /* driver -> SQL file */
    int replay_interval;         /* seconds, watchdog replay */
    int batch_size;              /* LLMAuditBatch rows; 0 off */
    int batch_delay;             /* LLMAuditBatch milliseconds */
    apr_array_header_t *prices;  /* of llm_audit_price_t, first match wins */
    int prices_set;

    /* Filled at post_config (main server's copy is the one used). */
    const unsigned char *key;
    apr_size_t key_len;
    const unsigned char *body_key;
    apr_size_t body_key_len;
    apr_table_t *schema_sql;     /* driver -> SQL text */
    llm_audit_spool_t spool;
} llm_audit_srv_t;

typedef struct llm_audit_dir_t {
    int enabled;                 /* LLMAudit */
    int required;                /* LLMAuditRequired */
    int bodies;                  /* llm_audit_bodies_e */
    apr_off_t body_max;          /* LLMAuditBodyMax */
} llm_audit_dir_t;

/* The values in force. */
static APR_INLINE int llm_audit_enabled(const llm_audit_dir_t *dc)
{
    return LLM_AUDIT_VALUE(dc->enabled, LLM_AUDIT_DEFAULT_ENABLED) != 0;
}

static APR_INLINE int llm_audit_required(const llm_audit_dir_t *dc)
{
    return LLM_AUDIT_VALUE(dc->required, LLM_AUDIT_DEFAULT_REQUIRED) == 1;
}

static APR_INLINE llm_audit_bodies_e llm_audit_bodies(const llm_audit_dir_t *dc)
{
    return (llm_audit_bodies_e)LLM_AUDIT_VALUE(dc->bodies,
                                               LLM_AUDIT_DEFAULT_BODIES);
}

static APR_INLINE apr_off_t llm_audit_body_max(const llm_audit_dir_t *dc)
{
    return LLM_AUDIT_VALUE(dc->body_max, LLM_AUDIT_DEFAULT_BODY_MAX);
}

static APR_INLINE const char *llm_audit_spool_path(apr_pool_t *p,
                                                  const llm_audit_srv_t *sc)
{
    return sc->spool_path ? sc->spool_path
                          : ap_server_root_relative(p, LLM_AUDIT_DEFAULT_SPOOL);
}

static APR_INLINE apr_off_t llm_audit_spool_max(const llm_audit_srv_t *sc)
{
    return LLM_AUDIT_VALUE(sc->spool_max, LLM_AUDIT_DEFAULT_SPOOL_MAX);
}

static APR_INLINE int llm_audit_replay_interval(const llm_audit_srv_t *sc)
{
    return LLM_AUDIT_VALUE(sc->replay_interval,
                           LLM_AUDIT_DEFAULT_REPLAY_INTERVAL);
}

static APR_INLINE int llm_audit_batch_size(const llm_audit_srv_t *sc)
{
    return LLM_AUDIT_VALUE(sc->batch_size, LLM_AUDIT_DEFAULT_BATCH_SIZE);
}

static APR_INLINE int llm_audit_batch_delay(const llm_audit_srv_t *sc)
{
    return LLM_AUDIT_VALUE(sc->batch_delay, LLM_AUDIT_DEFAULT_BATCH_DELAY);
}

extern module AP_MODULE_DECLARE_DATA llm_audit_module;

/* audit_config.c: the directives, and the getters of their values. */
extern const command_rec llm_audit_cmds[];
llm_audit_srv_t *llm_audit_srv(server_rec *s);
llm_audit_dir_t *llm_audit_dir(request_rec *r);
void *llm_audit_create_srv(apr_pool_t *p, server_rec *s);
void *llm_audit_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *llm_audit_create_dir(apr_pool_t *p, char *dir);
void *llm_audit_merge_dir(apr_pool_t *p, void *basev, void *addv);
/* Cost in USD of usage on model, -1 when no price line matches. */
double llm_audit_cost(const llm_audit_srv_t *sc, const char *model,
                      apr_int64_t in, apr_int64_t cached, apr_int64_t out);

/* audit_build.c: the record of a finished request. */
llm_audit_record_t *llm_audit_build(request_rec *r, llm_request_t *req,
                                    const llm_audit_srv_t *sc,
                                    const llm_audit_dir_t *dc);
/* What is known of a request before it goes upstream, as the record of a
 * request interrupted by its process's death (decision "error", reason
 * "interrupted"), with the id and time its sealed record will have. */
llm_audit_record_t *llm_audit_build_intent(request_rec *r,
                                           llm_request_t *req,
                                           const char *chain_id);
const char *llm_audit_derive_decision(const llm_request_t *req, int status);

/* audit_dbd.c */
typedef ap_dbd_t *llm_audit_acquire_fn(request_rec *r);
void llm_audit_dbd_init(void);
int llm_audit_dbd_available(void);
/* Store rec through dbd; APR_SUCCESS also when it was there already. */
apr_status_t llm_audit_dbd_insert(server_rec *s, ap_dbd_t *dbd,
                                  apr_pool_t *p,
                                  const llm_audit_record_t *rec);
/* Store rows records (a power of two up to LLM_AUDIT_BATCH_ROWS_MAX)
 * through dbd in one statement: all or none. */
#define LLM_AUDIT_BATCH_ROWS_MAX 256
apr_status_t llm_audit_dbd_insert_rows(server_rec *s, ap_dbd_t *dbd,
                                       apr_pool_t *p,
                                       llm_audit_record_t *const *recs,
                                       int rows);
ap_dbd_t *llm_audit_dbd_acquire(request_rec *r);
/* Whether the database answers a trivial query now. */
int llm_audit_dbd_ping(request_rec *r);
ap_dbd_t *llm_audit_dbd_open(apr_pool_t *p, server_rec *s);
void llm_audit_dbd_close(server_rec *s, ap_dbd_t *dbd);
/* Replay the spool into dbd; returns records stored or -1. */
int llm_audit_dbd_replay(server_rec *s, ap_dbd_t *dbd, apr_pool_t *p,
                         int nonblock);

/* audit_batch.c: LLMAuditBatch's writer thread, one per child. */
typedef struct llm_audit_batch_t llm_audit_batch_t;
/* NULL when the thread cannot start (records then go the per-request
 * way); stopped, with its queue written out, when p is destroyed. */
llm_audit_batch_t *llm_audit_batch_start(apr_pool_t *p, server_rec *s,
                                         llm_audit_journal_t *journal,
                                         int size, int delay_ms);
/* Queue a sealed record (copied) that is in journal file seg; the writer
 * marks it done there once stored or spooled.  APR_EAGAIN when the queue
 * is full or stopping: the caller stores it itself. */
apr_status_t llm_audit_batch_put(llm_audit_batch_t *b,
                                 const llm_audit_record_t *rec, int seg);

/* audit_recover.c: spool the journals of child processes that died, and
 * close their chains (audit_journal.h). */
void llm_audit_recover(server_rec *s, apr_pool_t *p);

/* audit_usage.c: the llm_audit_usage and llm_audit_spend optional
 * functions (llm_gateway.h), registered at register_hooks. */
void llm_audit_usage_register(void);

/* audit_replay.c: periodic spool replay from a mod_watchdog thread. */
void llm_audit_replay_post_config(apr_pool_t *pconf, server_rec *s);

/* audit_metrics.c (shared counters) and audit_prometheus.c (exposition) */
apr_status_t llm_audit_metrics_post_config(apr_pool_t *pconf, server_rec *s);
void llm_audit_metrics_record(request_rec *r, const llm_request_t *req,
                              const llm_audit_record_t *rec);
/* Shared state the request path reads: */
void llm_audit_state_db(int ok);           /* an insert succeeded/failed */
int llm_audit_state_db_ok(void);
/* While down: whether this caller may try the database now (once a
 * second across processes). */
int llm_audit_state_db_retry_due(void);
void llm_audit_state_spool(int ok);        /* a spool append worked/failed */
int llm_audit_state_spool_ok(void);
void llm_audit_state_set_pending(int pending);
int llm_audit_state_spool_pending(void);
void llm_audit_metrics_event(const char *what);  /* counters by name */
int llm_audit_metrics_handler(request_rec *r);
int llm_audit_status_handler(request_rec *r);

#endif /* MOD_LLM_AUDIT_H */
