/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Recovery of the journals of child processes that died (audit_journal.h),
 * run by every new child before it opens its own journal and by the replay
 * watchdog: the log line and the shared state around the httpd-free part.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_llm_audit.h"

APLOG_USE_MODULE(llm_audit);

static void count(const char *what, int n)
{
    while (n-- > 0) {
        llm_audit_metrics_event(what);
    }
}

void llm_audit_recover(server_rec *s, apr_pool_t *p)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    llm_audit_recovery_t got;
    apr_status_t rv;

    rv = llm_audit_journal_recover(&sc->spool, p, sc->key, sc->key_len,
                                   s->server_hostname, &got);
    if (got.records || got.interrupted || got.chains) {
        /* Only what happened: a journal that held nothing says nothing. */
        const char *what = "";

        if (got.records) {
            what = apr_psprintf(p, "%d record(s) not yet stored", got.records);
        }
        if (got.interrupted) {
            what = apr_psprintf(p, "%s%s%d request(s) it died serving, "
                                "recorded as interrupted", what,
                                *what ? ", " : "", got.interrupted);
        }
        if (got.chains) {
            what = apr_psprintf(p, "%s%sthe end of %d chain(s)", what,
                                *what ? ", " : "", got.chains);
        }
        llm_audit_state_set_pending(1);
        count("recovered", got.records);
        count("interrupted", got.interrupted);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(03077)
                     "audit journal of a child process that died moved to "
                     "the spool %s: %s; replayed into the database from "
                     "there", sc->spool.path, what);
    }
    if (rv == APR_EAGAIN) {
        /* The spool is busy (a replay): the watchdog's next tick. */
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMNO(03102)
                     "the audit spool is busy: the journal of a child "
                     "process that died is moved later");
    }
    else if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, rv == APR_ENOSPC ? APLOG_CRIT : APLOG_ERR,
                     rv, s, LLMNO(03078)
                     "the audit journal of a child process that died could "
                     "not be moved to the spool %s%s; it is kept and tried "
                     "again", sc->spool.path,
                     rv == APR_ENOSPC ? " (it is full)" : "");
    }
}
