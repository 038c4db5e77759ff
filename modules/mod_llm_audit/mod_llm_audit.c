/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mod_llm_audit: one tamper-evident audit record per gateway request,
 * written through mod_dbd in the log phase (the client never waits for
 * the database), spooled to a local file while the database is away,
 * plus shared-memory metrics and a status page.
 *
 * This file is the glue: hooks and the per-process chain.  The record,
 * chain, spool, journal and body crypto are the httpd-free audit core in
 * lib/audit, which the audit tools link too; directives live in
 * audit_config.c, the database in audit_dbd.c, metrics in
 * audit_metrics.c and the status page in audit_status.c.
 */

#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "apr_network_io.h"
#include "apr_file_io.h"
#include "apr_thread_mutex.h"
#include "apr_atomic.h"

#include "audit_answer.h"
#include "mod_llm_audit.h"
#include "audit/audit_crypt.h"
#include "audit_metrics.h"

/* This process's chain.  Each child process writes its own chain, so no
 * lock is shared between processes on the request path; the threads of
 * one process take turns at `chain_mutex` only to number and MAC their
 * record, never across the database call. */
#define TTFB_FILTER "LLM_AUDIT_TTFB"

/* Spool space a record without a body needs, generously: a typical one
 * is about 1.5 KB of JSON. */
#define LLM_AUDIT_RECORD_RESERVE 3072

static llm_audit_chain_t *chain;
static apr_thread_mutex_t *chain_mutex;
static llm_audit_chainhead_t *chain_head;    /* in shared memory */
static apr_time_t last_probe;
static int last_probe_ok;
static llm_audit_batch_t *batch;             /* LLMAuditBatch, or NULL */
static llm_audit_journal_t *journal;         /* this process's, or NULL */
static int chain_ended;                      /* the end record is sealed */

/* The journal never holds more than this (or LLMAuditSpoolMaxSize, if
 * larger): a database that stalls for long cannot fill the disk with it. */
#define LLM_AUDIT_JOURNAL_MIN_CAP ((apr_off_t)16 * LLM_AUDIT_JOURNAL_ROTATE)

/* Create a MAC key on first start, so the quick start and the tests need
 * no extra step: 32 random bytes as hex, readable by root only.  The
 * parent reads it before children drop privileges. */
static const char *create_key(apr_pool_t *p, const char *path)
{
    unsigned char raw[32];
    char hex[65];
    apr_file_t *fd;
    apr_size_t n = 65;
    apr_status_t rv;
    int i;

    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        return "no random source for a new key";
    }
    for (i = 0; i < 32; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    }
    hex[64] = '\n';
    rv = apr_file_open(&fd, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                       | APR_FOPEN_EXCL, APR_FPROT_UREAD | APR_FPROT_UWRITE,
                       p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot create %s", path);
    }
    rv = apr_file_write_full(fd, hex, n, NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(fd);
    }
    apr_file_close(fd);
    return rv == APR_SUCCESS ? NULL : apr_psprintf(p, "cannot write %s",
                                                   path);
}

static int load_server(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                       llm_audit_srv_t *main_sc)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    const char *err;
    apr_finfo_t fi;

    sc->spool.path = llm_audit_spool_path(pconf, sc);
    sc->spool.max_size = llm_audit_spool_max(sc);

    /* Virtual hosts that inherit the main server's files share its keys. */
    if (main_sc && sc != main_sc && sc->key_file
        && main_sc->key_file && !strcmp(sc->key_file, main_sc->key_file)) {
        sc->key = main_sc->key;
        sc->key_len = main_sc->key_len;
    }
    else if (sc->key_file) {
        if (apr_stat(&fi, sc->key_file, APR_FINFO_TYPE, ptemp)
            == APR_ENOENT) {
            if ((err = create_key(ptemp, sc->key_file)) != NULL) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, LLMNO(03001)
                             "LLMAuditKeyFile: %s", err);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LLMNO(03002)
                         "created a new audit MAC key in %s: back it up, "
                         "and keep it from the database administrators",
                         sc->key_file);
        }
        err = llm_audit_key_read(pconf, sc->key_file, LLM_AUDIT_KEY_MIN,
                                 &sc->key, &sc->key_len);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, LLMNO(03003)
                         "LLMAuditKeyFile: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (sc->body_key_file) {
        err = llm_audit_key_read(pconf, sc->body_key_file,
                                 LLM_AUDIT_BODY_KEY_LEN, &sc->body_key,
                                 &sc->body_key_len);
        if (!err && sc->body_key_len != LLM_AUDIT_BODY_KEY_LEN) {
            err = apr_psprintf(ptemp, "%s must hold exactly 32 bytes (64 "
                               "hex digits: openssl rand -hex 32)",
                               sc->body_key_file);
        }
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, LLMNO(03004)
                         "LLMAuditBodyKeyFile: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (sc->schema_files) {
        const apr_array_header_t *arr = apr_table_elts(sc->schema_files);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        int i;

        sc->schema_sql = apr_table_make(pconf, 2);
        for (i = 0; i < arr->nelts; i++) {
            apr_file_t *fd;
            apr_size_t len;
            char *buf;

            if (apr_stat(&fi, e[i].val, APR_FINFO_SIZE, ptemp) != APR_SUCCESS
                || apr_file_open(&fd, e[i].val, APR_FOPEN_READ, 0, ptemp)
                   != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, LLMNO(03005)
                             "LLMAuditSchema: cannot read %s", e[i].val);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            len = (apr_size_t)fi.size;
            buf = apr_palloc(pconf, len + 1);
            apr_file_read_full(fd, buf, len, &len);
            apr_file_close(fd);
            buf[len] = '\0';
            apr_table_setn(sc->schema_sql, e[i].key, buf);
        }
    }
    return OK;
}

/* Without mod_llm_route no request is a gateway request (it creates the
 * shared object this module records): only the metrics and status pages
 * serve.  Said at apachectl -t and in the error log of every start; not an
 * error, so that the modules can be loaded one by one. */
static void say_missing_peers(server_rec *s)
{
    if (!ap_find_linked_module("mod_llm_route.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(03300)
                     "mod_llm_audit records the requests mod_llm_route marks "
                     "as gateway requests (LLMGateway On), and mod_llm_route "
                     "is not loaded: no request is recorded, only the "
                     "llm-metrics and llm-status pages serve.  Add "
                     "'LoadModule llm_route_module .../mod_llm_route.so'");
    }
}

/* mod_dbd carries every row: without it nothing could be stored, which is
 * said at apachectl -t already. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    llm_audit_dbd_init();
    if (!llm_audit_dbd_available()) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     LLMNO(03006) "mod_llm_audit needs mod_dbd: LoadModule "
                     "dbd_module before it, with DBDriver and DBDParams");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
        say_missing_peers(s);
    }
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    llm_audit_srv_t *main_sc = llm_audit_srv(s);
    server_rec *vs;
    int rv;

    llm_audit_dbd_init();
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        say_missing_peers(s);
    }
    if (!ap_find_linked_module("mod_unique_id.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(03009)
                     "mod_unique_id is not loaded: audit rows get random "
                     "request ids that the access log does not show");
    }
    for (vs = s; vs; vs = vs->next) {
        if ((rv = load_server(pconf, ptemp, vs, main_sc)) != OK) {
            return rv;
        }
    }
    if (!main_sc->key) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, LLMNO(03007)
                     "LLMAuditKeyFile is not set: audit rows cannot be "
                     "chained (conf/llm-gateway.d/50-audit.conf)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (llm_audit_metrics_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    llm_audit_replay_post_config(pconf, s);
    return OK;
}

/* One warning per process every LOG_EVERY while records are being
 * spooled (an outage on a busy gateway would otherwise write a line per
 * request); each record's id is still logged at debug level. */
#define LOG_EVERY apr_time_from_sec(10)
static apr_time_t spool_log_last;
static apr_uint32_t spool_log_count;
static apr_time_t journal_log_last;

/* Journal one line; its file in *seg, or -1 when it could not be
 * written (logged at most every LOG_EVERY per process). */
static apr_status_t journal_line(server_rec *s, char tag, const char *line,
                                 apr_int64_t seq, const char *request_id,
                                 int *seg)
{
    apr_status_t rv = APR_ENOENT;
    apr_time_t now;

    *seg = -1;
    if (journal && line) {
        rv = llm_audit_journal_append(journal, tag, line, strlen(line), seq,
                                      seg);
        if (rv == APR_SUCCESS) {
            return rv;
        }
    }
    llm_audit_metrics_event("unjournaled");
    now = apr_time_now();
    if (now - journal_log_last >= LOG_EVERY) {
        journal_log_last = now;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, LLMNO(03100)
                     "audit record of %s not journaled (%s): it is lost if "
                     "this process dies before the database or the spool "
                     "has it", request_id, !journal
                     ? "this process has no journal"
                     : rv == APR_ENOSPC ? "the journal is full: the "
                       "database has taken nothing for a long time"
                     : "cannot write the journal beside the spool");
    }
    return rv;
}

static void journal_done(int seg)
{
    if (journal && seg >= 0) {
        llm_audit_journal_done(journal, seg);
    }
}

/* A request's intent in the journal, released when its sealed record is
 * journaled or, at the latest, when the request ends. */
typedef struct {
    int seg;
} intent_t;

static apr_status_t intent_release(void *data)
{
    intent_t *in = data;

    journal_done(in->seg);
    in->seg = -1;
    return APR_SUCCESS;
}

static apr_status_t close_journal(void *data)
{
    llm_audit_journal_close(data);
    journal = NULL;
    return APR_SUCCESS;
}

/* The chain's end record, when this process stops (a graceful restart or
 * stop, MaxConnectionsPerChild, an idle child retired): the chain then
 * shows that no row is missing at its end (llm-audit-verify).  A process
 * that dies has its chain closed by whoever recovers its journal. */
static apr_status_t end_chain(void *data)
{
    server_rec *s = data;
    llm_audit_srv_t *sc = llm_audit_srv(s);
    llm_audit_record_t *rec;
    const char *line;
    apr_int64_t seq;
    apr_pool_t *p;
    ap_dbd_t *dbd;
    int seg;

    /* A chain that has no row has no end to lose: no record for it. */
    if (!chain || chain_ended || chain->seq == 0
        || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    rec = llm_audit_end_record(p, chain->chain_id, s->server_hostname,
                               "process_exit");
    apr_thread_mutex_lock(chain_mutex);
    llm_audit_chain_seal(chain, p, rec);
    seq = chain->seq;
    chain_ended = 1;
    if (chain_head) {
        chain_head->seq = seq;
        chain_head->updated = apr_time_now();
    }
    line = llm_audit_record_to_json(p, rec);
    journal_line(s, LLM_AUDIT_J_RECORD, line, seq,
                 rec->v[LLM_AUDIT_F_REQUEST_ID], &seg);
    apr_thread_mutex_unlock(chain_mutex);
    if (batch && llm_audit_state_db_ok() && !llm_audit_state_spool_pending()
        && llm_audit_batch_put(batch, rec, seg) == APR_SUCCESS) {
        apr_pool_destroy(p);
        return APR_SUCCESS;     /* the writer stores it as it stops */
    }
    dbd = llm_audit_dbd_open(p, s);
    if (!dbd || llm_audit_dbd_insert(s, dbd, p, rec) != APR_SUCCESS) {
        if (llm_audit_spool_append(&sc->spool, p, line, strlen(line))
            == APR_SUCCESS) {
            llm_audit_state_set_pending(1);
        }
        else {
            seg = -1;            /* kept in the journal for recovery */
        }
    }
    llm_audit_dbd_close(s, dbd);
    journal_done(seg);
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

/* The last thing a stopping process does for the audit: move the journals
 * of children that died into the spool and replay the spool, waiting for
 * its lock.  Without it a graceful stop that came right after a crash left
 * the dead child's rows and chain end in a journal or the spool until the
 * next start, and the stopped gateway's table showed an open chain.  Every
 * process appends what it has before it takes the lock to replay, so the
 * last one out replays what all the others left. */
static apr_status_t drain_at_exit(void *data)
{
    server_rec *s = data;
    llm_audit_srv_t *sc = llm_audit_srv(s);
    apr_off_t size = 0;
    apr_pool_t *p;
    ap_dbd_t *dbd;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    llm_audit_recover(s, p);
    if (llm_audit_spool_depth(&sc->spool, p, &size, NULL) == APR_SUCCESS
        && size > 0 && (dbd = llm_audit_dbd_open(p, s)) != NULL) {
        if (llm_audit_dbd_replay(s, dbd, p, 0) >= 0) {
            size = 0;
            llm_audit_spool_depth(&sc->spool, p, &size, NULL);
            llm_audit_state_set_pending(size > 0);
        }
        llm_audit_dbd_close(s, dbd);
    }
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    char host[APRMAXHOSTLEN + 1];
    const char *id;
    apr_off_t size = 0;

    llm_audit_metrics_child_init();
    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    /* host, pid and start time: unique across restarts and hosts that
     * share one database. */
    id = apr_psprintf(p, "%s:%" APR_PID_T_FMT ":%" APR_TIME_T_FMT, host,
                      getpid(), apr_time_now());
    chain = llm_audit_chain_create(p, id, sc->key, sc->key_len);
    if (apr_thread_mutex_create(&chain_mutex, APR_THREAD_MUTEX_DEFAULT, p)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, LLMNO(03008)
                     "cannot create the audit chain mutex: no audit records "
                     "from this process");
        chain = NULL;
    }
    if (chain) {
        chain_head = llm_audit_metrics_claim_chain(chain->chain_id);
    }
    /* Before this child's own journal exists, so that it is no orphan. */
    llm_audit_recover(s, p);
    if (chain) {
        apr_status_t rv = llm_audit_journal_open(
            &journal, p, sc->spool.path,
            sc->spool.max_size > LLM_AUDIT_JOURNAL_MIN_CAP
            ? sc->spool.max_size : LLM_AUDIT_JOURNAL_MIN_CAP);

        if (rv != APR_SUCCESS) {
            journal = NULL;
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, LLMNO(03076)
                         "cannot create the audit journal beside the spool "
                         "%s: this process's records are lost if it dies "
                         "before they are stored; LLMAuditRequired On "
                         "refuses its requests", sc->spool.path);
        }
        else {
            apr_pool_cleanup_register(p, journal, close_journal,
                                      apr_pool_cleanup_null);
        }
    }
    /* Registered before the batch writer's stop and the end record: runs
     * after both, so it replays what they spooled. */
    apr_pool_pre_cleanup_register(p, s, drain_at_exit);
    if (chain && llm_audit_batch_size(sc) > 1) {
        batch = llm_audit_batch_start(p, s, journal, llm_audit_batch_size(sc),
                                      llm_audit_batch_delay(sc));
    }
    if (chain) {
        /* Registered after the batch writer's stop: runs before it, so
         * the end record is the last the writer stores. */
        apr_pool_pre_cleanup_register(p, s, end_chain);
    }
    /* Records left from before a restart wait for the next insert. */
    if (llm_audit_spool_depth(&sc->spool, p, &size, NULL) == APR_SUCCESS
        && size > 0) {
        llm_audit_state_set_pending(1);
    }
}


static void log_spooled(request_rec *r, llm_audit_srv_t *sc,
                        const llm_audit_record_t *rec)
{
    apr_time_t now = apr_time_now();
    apr_uint32_t n = apr_atomic_inc32(&spool_log_count) + 1;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(03033)
                  "record %s spooled", rec->v[LLM_AUDIT_F_REQUEST_ID]);
    if (now - spool_log_last < LOG_EVERY) {
        return;
    }
    spool_log_last = now;
    apr_atomic_set32(&spool_log_count, 0);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(03030)
                  "audit database unavailable: %u record(s) spooled to %s "
                  "(the last %s); they are replayed when it returns", n,
                  sc->spool.path, rec->v[LLM_AUDIT_F_REQUEST_ID]);
}

/* Store the record: the database, else the spool, else say it is lost. */
static void store(request_rec *r, llm_audit_srv_t *sc,
                  const llm_audit_record_t *rec, const char *line)
{
    ap_dbd_t *dbd = NULL;
    apr_status_t rv;
    int tried = 0;

    /* While the database is down, try it at most once a second across
     * all processes and spool the rest at once: an unreachable host can
     * hold a connect for its whole timeout, and every worker waiting on
     * it is a worker not serving.  The watchdog replay and
     * LLMAuditRequired's probe notice the return as well. */
    if (llm_audit_state_db_ok() || llm_audit_state_db_retry_due()) {
        tried = 1;
        dbd = llm_audit_dbd_acquire(r);
    }
    if (dbd && llm_audit_dbd_insert(r->server, dbd, r->pool, rec)
               == APR_SUCCESS) {
        llm_audit_state_db(1);
        if (llm_audit_state_spool_pending()) {
            /* The database is back: empty the spool now, on this worker,
             * after the client already has its answer.  Non-blocking:
             * one replayer at a time, the others go on serving. */
            int n = llm_audit_dbd_replay(r->server, dbd, r->pool, 1);

            if (n >= 0) {
                apr_off_t size = 0;

                llm_audit_spool_depth(&sc->spool, r->pool, &size, NULL);
                llm_audit_state_set_pending(size > 0);
                if (n > 0) {
                    llm_audit_metrics_event("replayed");
                }
            }
        }
        return;
    }
    if (tried) {
        llm_audit_state_db(0);
        llm_audit_metrics_event("db_error");
    }
    rv = line ? llm_audit_spool_append(&sc->spool, r->pool, line,
                                       strlen(line))
              : APR_EGENERAL;
    if (rv == APR_SUCCESS) {
        llm_audit_state_spool(1);
        llm_audit_state_set_pending(1);
        llm_audit_metrics_event("spooled");
        log_spooled(r, sc, rec);
        return;
    }
    llm_audit_state_spool(0);
    llm_audit_metrics_event("lost");
    ap_log_rerror(APLOG_MARK, APLOG_CRIT, rv, r, LLMNO(03031)
                  "audit record %s LOST: database unavailable and spool %s "
                  "%s (LLMAuditSpoolMaxSize %" APR_OFF_T_FMT "); set "
                  "LLMAuditRequired On to refuse unrecordable requests",
                  rec->v[LLM_AUDIT_F_REQUEST_ID], sc->spool.path,
                  rv == APR_ENOSPC ? "is full" : "is not writable",
                  sc->spool.max_size);
}

static int log_transaction(request_rec *r)
{
    llm_request_t *req = llm_request_get(r, 0);
    intent_t *in = ap_get_module_config(r->request_config,
                                        &llm_audit_module);
    llm_audit_srv_t *sc;
    llm_audit_dir_t *dc;
    llm_audit_record_t *rec;
    const char *line;
    apr_int64_t seq;
    int seg;

    if (!req) {
        return DECLINED;       /* not a gateway request */
    }
    dc = llm_audit_dir(r);
    if (!llm_audit_enabled(dc)) {
        return DECLINED;
    }
    if (!chain) {
        ap_log_rerror(APLOG_MARK, APLOG_CRIT, 0, r, LLMNO(03032)
                      "no audit chain in this process: record lost");
        return DECLINED;
    }
    sc = llm_audit_srv(r->server);
    rec = llm_audit_build(r, req, sc, dc);
    /* Journaled before anything can lose it (the database may hold this
     * thread for as long as it likes), and under the chain's mutex: the
     * journal then never holds seq N+1 without N, so the process that
     * recovers it after a death continues the chain without a gap. */
    apr_thread_mutex_lock(chain_mutex);
    llm_audit_chain_seal(chain, r->pool, rec);
    if (chain_head) {
        chain_head->seq = chain->seq;
        chain_head->updated = apr_time_now();
    }
    seq = chain->seq;
    line = llm_audit_record_to_json(r->pool, rec);
    journal_line(r->server, LLM_AUDIT_J_RECORD, line, seq,
                 rec->v[LLM_AUDIT_F_REQUEST_ID], &seg);
    apr_thread_mutex_unlock(chain_mutex);
    /* The intent is no longer needed.  Released here; its cleanup stays
     * registered and finds nothing left to release (running it through
     * apr_pool_cleanup_run walked the request pool's long list). */
    if (seg >= 0 && in) {
        intent_release(in);
    }
    /* With LLMAuditBatch, the writer thread stores it while the database
     * takes records; during an outage, or when the writer is behind,
     * the request stores its own (and spools it). */
    if (!batch || !llm_audit_state_db_ok()
        || llm_audit_state_spool_pending()
        || llm_audit_batch_put(batch, rec, seg) != APR_SUCCESS) {
        store(r, sc, rec, line);
        journal_done(seg);
    }
    llm_audit_metrics_record(r, req, rec);
    return OK;
}

/* Whether a record of this request could be kept whatever happens to
 * the database before it is logged: the spool has room for it, or (at
 * most once a second) the database answers.  Not "the last insert
 * worked": the first inserts of an outage fail only after their requests
 * went upstream, and with the spool full their records were lost. */
static int can_record(request_rec *r, llm_audit_srv_t *sc,
                      const llm_audit_dir_t *dc)
{
    apr_size_t need = LLM_AUDIT_RECORD_RESERVE;
    apr_time_t now;

    /* Room for this request's record: its columns, plus its captured
     * body and answer, encrypted and base64-encoded, when bodies are kept
     * here. */
    if (llm_audit_bodies(dc) != LLM_AUDIT_BODIES_OFF) {
        need += 2 * ((apr_size_t)llm_audit_body_max(dc) / 3 * 4 + 64);
    }
    if (llm_audit_spool_has_room(&sc->spool, r->pool, need)) {
        return 1;
    }
    now = apr_time_now();
    if (now - last_probe < apr_time_from_sec(1)) {
        return last_probe_ok;
    }
    last_probe = now;
    last_probe_ok = llm_audit_dbd_ping(r);
    llm_audit_state_db(last_probe_ok);
    return last_probe_ok;
}

/* Journal the request's intent, so that a process that dies while the
 * request is upstream, or between its answer and its log phase, leaves
 * a record of it (audit_journal.h).  0 when it could not be written. */
static int secure_intent(request_rec *r, llm_request_t *req)
{
    intent_t *in = apr_palloc(r->pool, sizeof(*in));
    llm_audit_record_t *rec;
    const char *line;

    if (!chain || chain_ended) {
        return 0;
    }
    rec = llm_audit_build_intent(r, req, chain->chain_id);
    line = llm_audit_record_to_json(r->pool, rec);
    if (journal_line(r->server, LLM_AUDIT_J_INTENT, line, 0,
                     rec->v[LLM_AUDIT_F_REQUEST_ID], &in->seg)
        != APR_SUCCESS) {
        return 0;
    }
    apr_pool_cleanup_register(r->pool, in, intent_release,
                              apr_pool_cleanup_null);
    ap_set_module_config(r->request_config, &llm_audit_module, in);
    return 1;
}

/* Before the body is read or anything goes upstream: the request's place
 * in the audit is secured (its intent journaled); with LLMAuditRequired
 * On, a request whose place cannot be secured, or whose record could be
 * neither stored nor spooled, is refused. */
static int fixups(request_rec *r)
{
    llm_request_t *req;
    llm_audit_dir_t *dc;
    int secured;

    if (!ap_is_initial_req(r) || !(req = llm_request_get(r, 0))) {
        return DECLINED;
    }
    dc = llm_audit_dir(r);
    if (!llm_audit_enabled(dc)) {
        return DECLINED;
    }
    secured = secure_intent(r, req);
    if (!llm_audit_required(dc)) {
        return DECLINED;
    }
    if (secured && can_record(r, llm_audit_srv(r->server), dc)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(03040)
                  "LLMAuditRequired: %s: refusing the request with 503",
                  !secured ? "its audit record cannot be secured (no "
                             "journal: see LLM03076/LLM03100)"
                           : "audit database down and spool full or "
                             "unwritable");
    llm_audit_metrics_event("refused");
    req->decision = LLM_DECISION_ERROR;
    req->reason = "audit_unavailable";
    apr_table_setn(r->err_headers_out, "Retry-After", "30");
    return llm_request_send_error(r, HTTP_SERVICE_UNAVAILABLE, "api_error",
                                  "audit_unavailable",
                                  "The gateway cannot record requests right "
                                  "now and is configured not to serve "
                                  "unrecorded ones; retry later.", NULL);
}

/* Time to first byte: note when the first response data passes on its
 * way to the client, then step aside.  mod_llm_route may have noted it
 * already (its stream translation sees it first); that value stands. */
static apr_status_t ttfb_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (!APR_BUCKET_IS_METADATA(b) && b->length != 0) {
            llm_request_t *req = llm_request_get(f->r, 0);

            if (req && !req->first_byte) {
                req->first_byte = apr_time_now();
            }
            ap_remove_output_filter(f);
            break;
        }
    }
    return ap_pass_brigade(f->next, bb);
}

static void insert_filter(request_rec *r)
{
    if (llm_request_get(r, 0)) {
        ap_add_output_filter(TTFB_FILTER, NULL, r, r->connection);
    }
}

/* The answer's copy: only on the answers the handler makes (the
 * provider's), not on error pages httpd makes itself. */
static void insert_answer_filter(request_rec *r)
{
    if (llm_request_get(r, 0) && !r->main) {
        llm_audit_answer_insert(r, llm_audit_dir(r));
    }
}

static int handler(request_rec *r)
{
    if (!r->handler) {
        return DECLINED;
    }
    if (!strcmp(r->handler, "llm-metrics")) {
        return llm_audit_metrics_handler(r);
    }
    if (!strcmp(r->handler, "llm-status")) {
        return llm_audit_status_handler(r);
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_dbd[] = { "mod_dbd.c", NULL };

    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_llm_scan reads the body and mod_llm_route picks the
     * provider: nothing may go upstream unrecorded.  Just after
     * mod_llm_route's identity fixup (REALLY_FIRST), so that the intent
     * names the caller whatever order the modules were loaded in. */
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_REALLY_FIRST + 1);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_answer_filter, NULL, NULL, APR_HOOK_MIDDLE);
    llm_audit_answer_register();
    ap_hook_insert_error_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(TTFB_FILTER, ttfb_filter, NULL,
                              AP_FTYPE_PROTOCOL);
    /* MIDDLE: mod_llm_route's logger (FIRST) has written into the shared
     * object what a refused request's row names (its provider). */
    ap_hook_log_transaction(log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    llm_audit_usage_register();
}

AP_DECLARE_MODULE(llm_audit) = {
    STANDARD20_MODULE_STUFF,
    llm_audit_create_dir,
    llm_audit_merge_dir,
    llm_audit_create_srv,
    llm_audit_merge_srv,
    llm_audit_cmds,
    register_hooks
};
