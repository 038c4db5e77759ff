/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Spool replay when no traffic comes to trigger it: a mod_watchdog
 * callback, run by one child (a singleton) every LLMAuditReplayInterval
 * seconds.  Without mod_watchdog the spool is still replayed by the
 * first request whose record the database takes.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "mod_watchdog.h"
#include "apr_optional.h"

#include "mod_llm_audit.h"

APLOG_USE_MODULE(llm_audit);

#define WATCHDOG_NAME "_llm_audit_replay_"

static void replay_once(server_rec *s, apr_pool_t *pool)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    apr_off_t size = 0;
    ap_dbd_t *dbd;
    int n;

    llm_audit_recover(s, pool);
    if (llm_audit_spool_depth(&sc->spool, pool, &size, NULL) != APR_SUCCESS
        || size == 0) {
        return;
    }
    llm_audit_state_set_pending(1);
    dbd = llm_audit_dbd_open(pool, s);
    if (!dbd) {
        llm_audit_state_db(0);
        return;
    }
    n = llm_audit_dbd_replay(s, dbd, pool, 1);
    llm_audit_dbd_close(s, dbd);
    if (n >= 0) {
        llm_audit_state_db(1);
        size = 0;
        llm_audit_spool_depth(&sc->spool, pool, &size, NULL);
        llm_audit_state_set_pending(size > 0);
        if (n > 0) {
            llm_audit_metrics_event("replayed");
        }
    }
}

static apr_status_t replay_tick(int state, void *data, apr_pool_t *pool)
{
    apr_pool_t *tick;

    if (state != AP_WATCHDOG_STATE_RUNNING) {
        return APR_SUCCESS;
    }
    /* The watchdog's pool lives as long as the child: each tick works in
     * its own sub-pool (the spool is read whole into it). */
    if (apr_pool_create(&tick, pool) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    replay_once(data, tick);
    apr_pool_destroy(tick);
    return APR_SUCCESS;
}

void llm_audit_replay_post_config(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    llm_audit_srv_t *sc = llm_audit_srv(s);
    ap_watchdog_t *wd;
    apr_status_t rv;
    int secs;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return;
    }
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_cb) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, LLMNO(03060)
                     "mod_watchdog is not loaded: the audit spool is "
                     "replayed by the next request the database records");
        return;
    }
    /* In the children (parent 0), one of them at a time (singleton 1):
     * it needs mod_dbd's per-child connection pool. */
    rv = get_instance(&wd, WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        secs = llm_audit_replay_interval(sc);
        rv = register_cb(wd, apr_time_from_sec(secs), s, replay_tick);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, LLMNO(03061)
                     "cannot register the audit spool replay with "
                     "mod_watchdog; replay happens on the next request");
    }
}
