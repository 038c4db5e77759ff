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
 * The batch journal, httpd-free: what LLMAuditBatch holds in memory is
 * also written (not fsynced) to two files per child process, so that a
 * child that dies with records queued -- a crash, SIGKILL, or httpd's own
 * ungraceful stop, which can fault while it closes connections -- loses
 * none of them.  The files are named <spool>.j.<pid>.<time>.<0|1>.
 *
 * Records are appended to the active file.  When the writer thread takes
 * the whole queue it swaps files, so the retired file holds exactly the
 * records it is storing, and clears it once they are stored (or
 * spooled).  The owner holds flock() on both files while it lives; a
 * file someone else can lock belongs to a dead process, and recovery
 * moves its records into the spool, whose replay is idempotent on the
 * request id (a record stored just before its process died is not
 * doubled).
 *
 * Not fsynced: a journal survives the process, not the machine.
 */

#ifndef LLM_AUDIT_JOURNAL_H
#define LLM_AUDIT_JOURNAL_H

#include "apr_pools.h"

#include "audit_spool.h"

typedef struct llm_audit_journal_t llm_audit_journal_t;

/* Create and lock this process's two files next to spool_path. */
apr_status_t llm_audit_journal_open(llm_audit_journal_t **jp, apr_pool_t *p,
                                    const char *spool_path);

/* Append one record line (without newline) to the active file. */
apr_status_t llm_audit_journal_append(llm_audit_journal_t *j,
                                      const char *line, apr_size_t len);

/* Make the other (empty) file active; returns the retired one's index. */
int llm_audit_journal_swap(llm_audit_journal_t *j);

/* Empty file `which`: its records are stored. */
apr_status_t llm_audit_journal_clear(llm_audit_journal_t *j, int which);

/* Remove both files (the queue is written out) and close them. */
void llm_audit_journal_close(llm_audit_journal_t *j);

/* Move the records of every journal next to spool_path whose owner is
 * gone into the spool, and remove those journals.  A journal the spool
 * has no room for stays for the next try.  *records and *files count what
 * was moved; APR_ENOSPC or an I/O error when something stayed. */
apr_status_t llm_audit_journal_recover(const llm_audit_spool_t *sp,
                                       apr_pool_t *p, int *records,
                                       int *files);

#endif /* LLM_AUDIT_JOURNAL_H */
