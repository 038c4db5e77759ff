/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * mod_llm_audit: one tamper-evident audit record per gateway request,
 * written through mod_dbd in the log phase (the client never waits for
 * the database), spooled to a local file while the database is away,
 * plus shared-memory metrics and a status page.
 *
 * This file is the glue: hooks and the per-process chain.  The record,
 * chain, spool and body crypto are httpd-free (audit_record.c,
 * audit_chain.c, audit_spool.c, audit_crypt.c); directives live in
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

#include "mod_llm_audit.h"
#include "audit_crypt.h"
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
static llm_audit_batch_t *batch;             /* LLMAuditBatch, or NULL */

llm_audit_srv_t *llm_audit_srv(server_rec *s)
{
    return ap_get_module_config(s->module_config, &llm_audit_module);
}

static llm_audit_dir_t *dir_of(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &llm_audit_module);
}

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

    sc->spool.path = sc->spool_path ? sc->spool_path
                     : ap_server_root_relative(pconf,
                                               LLM_AUDIT_DEFAULT_SPOOL);
    sc->spool.max_size = sc->spool_max != LLM_AUDIT_UNSET
                         ? sc->spool_max : LLM_AUDIT_DEFAULT_SPOOL_MAX;

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

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    llm_audit_srv_t *main_sc = llm_audit_srv(s);
    server_rec *vs;
    int rv;

    llm_audit_dbd_init();
    if (!llm_audit_dbd_available()) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, LLMNO(03006)
                     "mod_llm_audit needs mod_dbd: LoadModule dbd_module "
                     "before it, with DBDriver and DBDParams");
        return HTTP_INTERNAL_SERVER_ERROR;
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

static void child_init(apr_pool_t *p, server_rec *s)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    char host[APRMAXHOSTLEN + 1];
    const char *id;
    apr_off_t size = 0;

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
    llm_audit_batch_recover(s, p);
    if (chain && sc->batch_size > 1) {
        batch = llm_audit_batch_start(p, s, sc->batch_size,
                                      sc->batch_delay != LLM_AUDIT_UNSET
                                      ? sc->batch_delay
                                      : LLM_AUDIT_DEFAULT_BATCH_DELAY);
    }
    /* Records left from before a restart wait for the next insert. */
    if (llm_audit_spool_depth(&sc->spool, p, &size, NULL) == APR_SUCCESS
        && size > 0) {
        llm_audit_state_set_pending(1);
    }
}

/* One warning per process every LOG_EVERY while records are being
 * spooled (an outage on a busy gateway would otherwise write a line per
 * request); each record's id is still logged at debug level. */
#define LOG_EVERY apr_time_from_sec(10)
static apr_time_t spool_log_last;
static apr_uint32_t spool_log_count;

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
                  const llm_audit_record_t *rec)
{
    ap_dbd_t *dbd = NULL;
    const char *line;
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
    line = llm_audit_record_to_json(r->pool, rec);
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
    llm_audit_srv_t *sc;
    llm_audit_dir_t *dc;
    llm_audit_record_t *rec;

    if (!req) {
        return DECLINED;       /* not a gateway request */
    }
    dc = dir_of(r);
    if (dc->enabled == 0) {
        return DECLINED;
    }
    if (!chain) {
        ap_log_rerror(APLOG_MARK, APLOG_CRIT, 0, r, LLMNO(03032)
                      "no audit chain in this process: record lost");
        return DECLINED;
    }
    sc = llm_audit_srv(r->server);
    rec = llm_audit_build(r, req, sc, dc);
    apr_thread_mutex_lock(chain_mutex);
    llm_audit_chain_seal(chain, r->pool, rec);
    if (chain_head) {
        chain_head->seq = chain->seq;
        chain_head->updated = apr_time_now();
    }
    apr_thread_mutex_unlock(chain_mutex);
    /* With LLMAuditBatch, the writer thread stores it while the database
     * takes records; during an outage, or when the writer is behind,
     * the request stores its own (and spools it). */
    if (!batch || !llm_audit_state_db_ok()
        || llm_audit_state_spool_pending()
        || llm_audit_batch_put(batch, r->pool, rec) != APR_SUCCESS) {
        store(r, sc, rec);
    }
    llm_audit_metrics_record(r, req, rec);
    return OK;
}

/* Whether a record of this request could be kept: the database took the
 * last one, or the spool has room, or (at most once a second) the
 * database answers again. */
static int can_record(request_rec *r, llm_audit_srv_t *sc,
                      const llm_audit_dir_t *dc)
{
    apr_size_t need = LLM_AUDIT_RECORD_RESERVE;
    apr_time_t now;

    if (llm_audit_state_db_ok()) {
        return 1;
    }
    /* Room for this request's record: its columns, plus its captured
     * body, encrypted and base64-encoded, when bodies are kept here. */
    if (dc->bodies > LLM_AUDIT_BODIES_OFF) {
        need += (apr_size_t)(dc->body_max == LLM_AUDIT_UNSET
                             ? LLM_AUDIT_DEFAULT_BODY_MAX : dc->body_max)
                / 3 * 4 + 64;
    }
    if (llm_audit_spool_has_room(&sc->spool, r->pool, need)) {
        return 1;
    }
    now = apr_time_now();
    if (now - last_probe < apr_time_from_sec(1)) {
        return 0;
    }
    last_probe = now;
    if (llm_audit_dbd_ping(r)) {
        llm_audit_state_db(1);
        return 1;
    }
    return 0;
}

/* LLMAuditRequired On: refuse, before the body is read or anything goes
 * upstream, a request whose record could be neither stored nor spooled. */
static int fixups(request_rec *r)
{
    llm_request_t *req;
    llm_audit_dir_t *dc;

    if (!ap_is_initial_req(r) || !(req = llm_request_get(r, 0))) {
        return DECLINED;
    }
    dc = dir_of(r);
    if (dc->required != 1 || dc->enabled == 0) {
        return DECLINED;
    }
    if (can_record(r, llm_audit_srv(r->server), dc)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(03040)
                  "LLMAuditRequired: audit database down and spool full or "
                  "unwritable: refusing the request with 503");
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

    ap_hook_post_config(post_config, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_llm_scan reads the body and mod_llm_route picks the
     * provider: nothing may go upstream unrecorded. */
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(TTFB_FILTER, ttfb_filter, NULL,
                              AP_FTYPE_PROTOCOL);
    ap_hook_log_transaction(log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
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
