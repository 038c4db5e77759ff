/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * httpd's worker threads on the metrics page: every open stream holds one,
 * so busy workers against MaxRequestWorkers is the node's capacity, the
 * figure mod_status shows, here where Prometheus already scrapes.
 */

#include "httpd.h"
#include "http_protocol.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "audit_metrics.h"

void llm_audit_workers_metrics(request_rec *r)
{
    int server_limit = 0, thread_limit = 0, daemons = 0, threads = 0;
    int i, j, busy = 0;

    if (!ap_exists_scoreboard_image()) {
        return;
    }
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &server_limit);
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &thread_limit);
    ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads <= 0) {
        threads = 1;                 /* prefork: one worker per process */
    }
    if (thread_limit <= 0) {
        thread_limit = 1;
    }
    /* As mod_status counts them: processes of an older generation that
     * finish their requests after a graceful restart hold spare
     * scoreboard slots (ServerLimit), not MaxRequestWorkers. */
    for (i = 0; i < server_limit; i++) {
        process_score *ps = ap_get_scoreboard_process(i);

        if (!ps->pid || ps->quiescing) {
            continue;
        }
        for (j = 0; j < thread_limit; j++) {
            int st = ap_get_scoreboard_worker_from_indexes(i, j)->status;

            if (st != SERVER_DEAD && st != SERVER_STARTING
                && st != SERVER_READY && st != SERVER_IDLE_KILL) {
                busy++;
            }
        }
    }
    ap_rprintf(r,
        "# HELP llm_gateway_httpd_busy_workers httpd worker threads serving "
        "a request (each open stream holds one).\n"
        "# TYPE llm_gateway_httpd_busy_workers gauge\n"
        "llm_gateway_httpd_busy_workers %d\n"
        "# HELP llm_gateway_httpd_max_workers MaxRequestWorkers: busy "
        "workers beyond it wait in the queue.\n"
        "# TYPE llm_gateway_httpd_max_workers gauge\n"
        "llm_gateway_httpd_max_workers %d\n", busy, daemons * threads);
}
