/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The spool, httpd-free: an append-only file of audit records (one JSON
 * line each, see audit_record.h) kept while the database cannot take
 * them, and replayed into it when it returns.
 *
 * Every append is fsynced before the request's log phase ends; the file
 * never grows past its configured size.  Processes and threads share it
 * through flock(), which (unlike fcntl locks) excludes threads of one
 * process as well.  Replay is idempotent on the database side (ON
 * CONFLICT DO NOTHING), so the spool is emptied only after every record
 * in it has been accepted, and a crash mid-replay merely replays again.
 */

#ifndef LLM_AUDIT_SPOOL_H
#define LLM_AUDIT_SPOOL_H

#include "apr_pools.h"
#include "apr_file_io.h"

typedef struct llm_audit_spool_t {
    const char *path;
    apr_off_t max_size;
} llm_audit_spool_t;

/* Append one record line (without newline).  APR_ENOSPC when the spool
 * would pass max_size; other codes for I/O errors. */
apr_status_t llm_audit_spool_append(const llm_audit_spool_t *sp,
                                    apr_pool_t *p, const char *line,
                                    apr_size_t len);

/* The same; with nonblock set, APR_EAGAIN at once when another process
 * or thread holds the spool (a replay the database holds up, say). */
apr_status_t llm_audit_spool_append_nb(const llm_audit_spool_t *sp,
                                       apr_pool_t *p, const char *line,
                                       apr_size_t len, int nonblock);

/* Consecutive failed records after which replay gives up for now. */
#define LLM_AUDIT_SPOOL_MAX_FAILURES 10

/* Called by replay for each complete line.  Return APR_SUCCESS when the
 * record is stored (or was already), APR_EINVAL for a line that is not a
 * record (moved to path.rejected at once), anything else when storing
 * failed. */
typedef apr_status_t llm_audit_spool_fn_t(void *ctx, apr_pool_t *p,
                                          const char *line, apr_size_t len);

/* Whether the destination still answers (non-zero: yes). */
typedef int llm_audit_spool_ok_fn_t(void *ctx, apr_pool_t *p);

/* Replay the spool through fn.  With nonblock set, returns APR_EAGAIN at
 * once when another process or thread is replaying or appending.  Records
 * that failed while others were stored and healthy() still says yes are
 * moved to path.rejected; any other failure keeps the whole spool and
 * returns an error.  On success the spool is empty; *done / *rejected
 * count the records. */
apr_status_t llm_audit_spool_replay(const llm_audit_spool_t *sp,
                                    apr_pool_t *p, int nonblock,
                                    llm_audit_spool_fn_t *fn,
                                    llm_audit_spool_ok_fn_t *healthy,
                                    void *ctx, int *done, int *rejected);

/* Size in bytes (0 when absent) and, when records is not NULL, the number
 * of complete records. */
apr_status_t llm_audit_spool_depth(const llm_audit_spool_t *sp,
                                   apr_pool_t *p, apr_off_t *size,
                                   apr_int64_t *records);

/* Whether a record of len bytes would fit now. */
int llm_audit_spool_has_room(const llm_audit_spool_t *sp, apr_pool_t *p,
                             apr_size_t len);

#endif /* LLM_AUDIT_SPOOL_H */
