/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The record journal, httpd-free: every audit record of a child process
 * is written (not fsynced) to that process's journal before anything can
 * lose it, and stays there until the database or the fsynced spool has
 * it.  A request's *intent* -- who asked what, when -- is journaled before
 * anything goes upstream, and its sealed record at the log phase; a
 * process killed in between (SIGKILL, a crash, the OOM killer) leaves
 * both for the next process to recover.  The page cache outlives the
 * process, so a killed process's journal is complete; an operating-system
 * crash or power cut may lose what was written since the kernel last
 * flushed it.
 *
 * Two files per process, <spool>.j.<pid>.<time>.<0|1>, held with flock()
 * while it lives: a file someone else can lock belongs to a dead process.
 * Lines are tagged: 'I' + intent JSON, 'R' + sealed record JSON (as the
 * spool keeps it), 'H' + the chain's head record (the record with the
 * highest seq journaled so far; its only use is to say where the chain
 * stands once the records themselves are gone).  Appends go to the active
 * file, which counts the entries still pending; when it is large and the
 * other file has nothing pending, they swap; a file that is no longer
 * active, or is large, and has nothing pending is emptied and given a
 * head line.
 *
 * Recovery of a dead process moves its sealed records to the spool,
 * records each intent without a sealed record as an interrupted request
 * (decision "error", reason "interrupted", sealed in the dead chain after
 * its head) and closes the chain with an end record (audit_record.h), all
 * in one fsynced spool append.  Replay is idempotent on (request_id, ts),
 * so a record stored just before its process died is not doubled.
 */

#ifndef LLM_AUDIT_JOURNAL_H
#define LLM_AUDIT_JOURNAL_H

#include "apr_pools.h"

#include "audit_spool.h"

#define LLM_AUDIT_J_INTENT 'I'
#define LLM_AUDIT_J_RECORD 'R'
#define LLM_AUDIT_J_HEAD   'H'

/* Size of the active file past which the files swap (or it is emptied in
 * place once nothing in it is pending). */
#define LLM_AUDIT_JOURNAL_ROTATE ((apr_off_t)64 * 1024)

typedef struct llm_audit_journal_t llm_audit_journal_t;

/* Create and lock this process's two files next to spool_path; both
 * together never hold more than max_size bytes (0: no limit).  The
 * journal is thread-safe. */
apr_status_t llm_audit_journal_open(llm_audit_journal_t **jp, apr_pool_t *p,
                                    const char *spool_path,
                                    apr_off_t max_size);

/* Append one tagged line (line without newline).  For a sealed record
 * ('R') seq is its chain seq (the head moves on), else 0.  *seg names the
 * file, for llm_audit_journal_done().  APR_ENOSPC past max_size. */
apr_status_t llm_audit_journal_append(llm_audit_journal_t *j, char tag,
                                      const char *line, apr_size_t len,
                                      apr_int64_t seq, int *seg);

/* The entry appended to file seg needs the journal no more: its record
 * is stored, spooled, or (an intent) journaled sealed. */
void llm_audit_journal_done(llm_audit_journal_t *j, int seg);

/* The same for n[0] entries of file 0 and n[1] of file 1 at once: the
 * batch writer's whole batch under one taking of the journal's lock,
 * which the requests' appends wait for (one taking per record made them
 * wait, and wake, far more often). */
void llm_audit_journal_done_n(llm_audit_journal_t *j, const int n[2]);

/* Close the files, and remove them unless an entry is still pending
 * (then they are left for recovery, as if the process had died). */
void llm_audit_journal_close(llm_audit_journal_t *j);

/* What a recovery did. */
typedef struct {
    int records;        /* sealed records moved to the spool */
    int interrupted;    /* intents without a record, recorded as such */
    int chains;         /* chains of dead processes closed */
    int files;          /* journal files removed */
} llm_audit_recovery_t;

/* Recover the journals next to sp->path whose owner is gone (see above),
 * sealing what it adds with key; server_name goes into the end records.
 * A journal the spool has no room for stays for the next try
 * (APR_ENOSPC), as does one whose spool is busy (APR_EAGAIN: recovery
 * never waits for the spool); other errors are I/O errors. */
apr_status_t llm_audit_journal_recover(const llm_audit_spool_t *sp,
                                       apr_pool_t *p,
                                       const unsigned char *key,
                                       apr_size_t key_len,
                                       const char *server_name,
                                       llm_audit_recovery_t *out);

#endif /* LLM_AUDIT_JOURNAL_H */
