/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * LLMAuditBatch: one writer thread per child process stores the records
 * of many requests with a few multi-row INSERTs.
 *
 * A commit is what an audit row costs most: SQLite writes every page the
 * row touched (the table, five indexes) to its log at each commit, and
 * PostgreSQL's round trip and WAL flush come per statement.  Sealed
 * records wait in a bounded queue in the process (at most the batch size
 * or the delay); the thread takes the whole queue and inserts it 256,
 * 128, ... 2 rows per statement, each statement all or nothing.  What
 * the per-request path guarantees is kept: a statement the database
 * refuses is retried row by row and what still fails goes to the spool;
 * while the database is down records take the per-request path; a full
 * queue makes a request wait for the writer (up to a second, then the
 * per-request path); the queue is written out when the child stops.
 * With SQLite the children's writers take turns (take_turn below).
 * Every queued record is in the child's journal (audit_journal.h) before
 * it is queued, and leaves it only once stored or spooled, so a child that
 * dies with records queued -- a crash, SIGKILL, or httpd's ungraceful stop
 * -- leaves them for the next child to spool and replay.  What is given
 * up, and documented: the journal is not fsynced, so a power loss can take
 * records not yet stored.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_cond.h"

#include "mod_llm_audit.h"
#include "audit/audit_journal.h"

APLOG_USE_MODULE(llm_audit);

/* How long a request waits for room in a full queue. */
#define LLM_AUDIT_BATCH_FULL_WAIT apr_time_from_sec(1)

struct llm_audit_batch_t {
    server_rec *s;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cond;
    apr_thread_cond_t *space;    /* the writer took the queue */
    int waiting;                 /* requests waiting for space */
    apr_thread_t *thread;
    llm_audit_journal_t *journal;
    llm_audit_record_t **q;      /* ring of cap records, malloc'd each */
    int *qseg;                   /* each one's journal file */
    int cap, head, n;
    int size;                    /* rows per batch, at most */
    apr_interval_time_t delay;   /* longest wait for a fuller batch */
    int stop;
    int turn_fd;                 /* the writers' turn lock, or -1 */
    void *spare;                 /* record blocks to reuse (RECORD_BLOCK) */
    int nspare;
};

/* Queued copies of records are made in blocks of this size (a record
 * with its strings is ~1-3 KB) and reused: allocated by a request's
 * thread and freed by the writer, each copy through malloc was a
 * large-chunk allocation in one thread's arena freed from another
 * (arena locks, consolidation), a visible share of the audit's CPU.
 * A larger record gets a block of its own size, freed after use. */
#define RECORD_BLOCK 4096

typedef struct {
    apr_size_t size;             /* of the block, this header included */
    void *next;                  /* in b->spare */
} block_t;

/* One block for the record and its strings: it outlives the request
 * pool, and the writer gives the block back after the insert. */
static llm_audit_record_t *copy_record(llm_audit_batch_t *b,
                                       const llm_audit_record_t *rec)
{
    apr_size_t len[LLM_AUDIT_NFIELDS];
    apr_size_t total = sizeof(block_t) + sizeof(*rec);
    llm_audit_record_t *c;
    block_t *blk = NULL;
    char *at;
    int f;

    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        len[f] = rec->v[f] ? strlen(rec->v[f]) + 1 : 0;
        total += len[f];
    }
    if (total <= RECORD_BLOCK) {
        apr_thread_mutex_lock(b->lock);
        if (b->spare) {
            blk = b->spare;
            b->spare = blk->next;
            b->nspare--;
        }
        apr_thread_mutex_unlock(b->lock);
        total = RECORD_BLOCK;
    }
    if (!blk) {
        if (!(blk = malloc(total))) {
            return NULL;
        }
        blk->size = total;
    }
    c = (llm_audit_record_t *)(blk + 1);
    at = (char *)(c + 1);
    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        if (rec->v[f]) {
            memcpy(at, rec->v[f], len[f]);
            c->v[f] = at;
            at += len[f];
        }
        else {
            c->v[f] = NULL;
        }
    }
    return c;
}

static block_t *block_of(llm_audit_record_t *c)
{
    return (block_t *)c - 1;
}

/* The writer's records back: blocks of the usual size kept for the next
 * ones (a batch of them: what one batch takes at most), the rest
 * freed. */
static void release_records(llm_audit_batch_t *b, llm_audit_record_t **recs,
                            int k)
{
    int i;

    apr_thread_mutex_lock(b->lock);
    for (i = 0; i < k; i++) {
        block_t *blk = block_of(recs[i]);

        if (blk->size == RECORD_BLOCK && b->nspare < b->size) {
            blk->next = b->spare;
            b->spare = blk;
            b->nspare++;
            recs[i] = NULL;
        }
    }
    apr_thread_mutex_unlock(b->lock);
    for (i = 0; i < k; i++) {
        if (recs[i]) {
            free(block_of(recs[i]));
        }
    }
}

apr_status_t llm_audit_batch_put(llm_audit_batch_t *b,
                                 const llm_audit_record_t *rec, int seg)
{
    llm_audit_record_t *c;

    if (!b) {
        return APR_ENOTIMPL;
    }
    c = copy_record(b, rec);
    if (!c) {
        return APR_ENOMEM;
    }
    apr_thread_mutex_lock(b->lock);
    if (b->n == b->cap && !b->stop) {
        /* The writer is behind (on a busy machine it gets one thread's
         * share of the CPU): wait for it rather than store this record
         * here, which takes the same database lock and slowed the writer
         * further -- queues filled and requests stalled for a second at
         * concurrency 64.  After the response, so only this connection's
         * next request waits; past the bound, the per-request path. */
        apr_time_t until = apr_time_now() + LLM_AUDIT_BATCH_FULL_WAIT;
        apr_interval_time_t left;

        llm_audit_metrics_event("batch_wait");
        b->waiting++;
        while (b->n == b->cap && !b->stop
               && (left = until - apr_time_now()) > 0) {
            apr_thread_cond_timedwait(b->space, b->lock, left);
        }
        b->waiting--;
    }
    if (b->stop || b->n == b->cap) {
        apr_thread_mutex_unlock(b->lock);
        free(block_of(c));
        return APR_EAGAIN;
    }
    b->q[(b->head + b->n) % b->cap] = c;
    b->qseg[(b->head + b->n) % b->cap] = seg;
    b->n++;
    if (b->n == 1 || b->n >= b->size) {
        /* The thread sleeps until a first record, then until a full
         * batch or the delay. */
        apr_thread_cond_signal(b->cond);
    }
    apr_thread_mutex_unlock(b->lock);
    return APR_SUCCESS;
}

/* Records a batch statement could not keep: row by row (a record the
 * database refuses must not take its batch with it), then the spool. */
static void store_each(llm_audit_batch_t *b, ap_dbd_t *dbd, apr_pool_t *p,
                       llm_audit_record_t **recs, int k)
{
    llm_audit_srv_t *sc = llm_audit_srv(b->s);
    const char *lines = "";
    apr_size_t len;
    apr_status_t rv;
    int i, spooled = 0;

    for (i = 0; i < k; i++) {
        if (dbd && llm_audit_dbd_insert(b->s, dbd, p, recs[i])
                   == APR_SUCCESS) {
            continue;
        }
        if (dbd) {
            llm_audit_state_db(0);
            llm_audit_metrics_event("db_error");
            dbd = NULL;          /* the rest go to the spool at once */
        }
        lines = apr_pstrcat(p, lines, *lines ? "\n" : "",
                            llm_audit_record_to_json(p, recs[i]), NULL);
        spooled++;
    }
    if (!spooled) {
        return;
    }
    /* One append and one fsync for all of them. */
    len = strlen(lines);
    rv = llm_audit_spool_append(&sc->spool, p, lines, len);
    if (rv == APR_SUCCESS) {
        llm_audit_state_spool(1);
        llm_audit_state_set_pending(1);
        for (i = 0; i < spooled; i++) {
            llm_audit_metrics_event("spooled");
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, b->s, LLMNO(03072)
                     "audit database unavailable: %d batched record(s) "
                     "spooled to %s; they are replayed when it returns",
                     spooled, sc->spool.path);
        return;
    }
    llm_audit_state_spool(0);
    for (i = 0; i < spooled; i++) {
        llm_audit_metrics_event("lost");
    }
    ap_log_error(APLOG_MARK, APLOG_CRIT, rv, b->s, LLMNO(03073)
                 "%d batched audit record(s) LOST: database unavailable and "
                 "spool %s %s", spooled, sc->spool.path,
                 rv == APR_ENOSPC ? "is full" : "is not writable");
}

/* SQLite has one write lock per database, and its busy handler waits by
 * sleeping 1, 2, 5, ... 100 ms: with a writer in every child process the
 * sleepers lost the lock to each other for up to a second, the queues
 * filled, and requests stored their own records behind the same lock (a
 * p99 of ~1 s at concurrency 64).  A blocking flock() beside the spool
 * hands the turn over as soon as it is released, so the database lock is
 * free whenever a writer gets to it.  Only for SQLite: PostgreSQL takes
 * concurrent inserts. */
static int take_turn(llm_audit_batch_t *b, ap_dbd_t *dbd)
{
    if (b->turn_fd < 0 || strcmp(apr_dbd_name(dbd->driver), "sqlite3")) {
        return 0;
    }
    while (flock(b->turn_fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            return 0;            /* then SQLite's own locking decides */
        }
    }
    return 1;
}

static void end_turn(llm_audit_batch_t *b, int taken)
{
    if (taken) {
        flock(b->turn_fd, LOCK_UN);
    }
}

static void write_batch(llm_audit_batch_t *b, apr_pool_t *p,
                        llm_audit_record_t **recs, int k)
{
    ap_dbd_t *dbd = llm_audit_dbd_open(p, b->s);
    int at = 0, ok = 1, turn = dbd ? take_turn(b, dbd) : 0;

    /* Multi-row INSERTs of 256, 128, ... 2 rows, each one statement in
     * its own implicit transaction.  Not BEGIN ... COMMIT around single
     * inserts: apr_dbd's sqlite3 driver serialises a process's calls on
     * one mutex, and a request thread waiting (busy_timeout) for the
     * write lock that our open transaction holds would hold that mutex
     * while we need it to commit. */
    while (at < k) {
        int rows = LLM_AUDIT_BATCH_ROWS_MAX;

        while (rows > k - at) {
            rows >>= 1;
        }
        if (!dbd || !ok
            || (rows > 1 ? llm_audit_dbd_insert_rows(b->s, dbd, p,
                                                     recs + at, rows)
                         : llm_audit_dbd_insert(b->s, dbd, p, recs[at]))
               != APR_SUCCESS) {
            /* The per-record path decides: row by row (a record the
             * database refuses must not take its batch with it), then
             * the spool; rows already in are skipped (ON CONFLICT). */
            store_each(b, dbd, p, recs + at, rows);
            ok = llm_audit_state_db_ok();
        }
        at += rows;
    }
    end_turn(b, turn);
    if (dbd && ok) {
        llm_audit_state_db(1);
    }
    if (dbd && llm_audit_state_db_ok() && llm_audit_state_spool_pending()) {
        llm_audit_srv_t *sc = llm_audit_srv(b->s);
        int n = llm_audit_dbd_replay(b->s, dbd, p, 1);

        if (n >= 0) {
            apr_off_t size = 0;

            llm_audit_spool_depth(&sc->spool, p, &size, NULL);
            llm_audit_state_set_pending(size > 0);
            if (n > 0) {
                llm_audit_metrics_event("replayed");
            }
        }
    }
    llm_audit_dbd_close(b->s, dbd);
}

static void *APR_THREAD_FUNC writer(apr_thread_t *thd, void *data)
{
    llm_audit_batch_t *b = data;
    llm_audit_record_t **recs = malloc(sizeof(*recs) * (apr_size_t)b->cap);
    int *segs = malloc(sizeof(*segs) * (apr_size_t)b->cap);
    apr_pool_t *p;
    int k, i, done = 0;

    if (!recs || !segs || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, b->s, LLMNO(03074)
                     "audit batch writer: out of memory");
        apr_thread_mutex_lock(b->lock);
        b->stop = 1;             /* records take the per-request path */
        apr_thread_mutex_unlock(b->lock);
        free(recs);
        free(segs);
        apr_thread_exit(thd, APR_ENOMEM);
        return NULL;
    }
    while (!done) {
        apr_thread_mutex_lock(b->lock);
        while (!b->stop && b->n == 0) {
            apr_thread_cond_wait(b->cond, b->lock);
        }
        if (!b->stop && b->n < b->size) {
            apr_thread_cond_timedwait(b->cond, b->lock, b->delay);
        }
        k = b->n;
        for (i = 0; i < k; i++) {
            recs[i] = b->q[b->head];
            segs[i] = b->qseg[b->head];
            b->head = (b->head + 1) % b->cap;
        }
        b->n = 0;
        if (b->waiting) {
            apr_thread_cond_broadcast(b->space);
        }
        done = b->stop;
        apr_thread_mutex_unlock(b->lock);
        if (k > 0) {
            /* Stored or spooled (or logged lost): out of the journal. */
            int left[2] = { 0, 0 };

            write_batch(b, p, recs, k);
            for (i = 0; i < k; i++) {
                if (segs[i] == 0 || segs[i] == 1) {
                    left[segs[i]]++;
                }
            }
            release_records(b, recs, k);
            if (b->journal && (left[0] || left[1])) {
                llm_audit_journal_done_n(b->journal, left);
            }
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    free(recs);
    free(segs);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

/* Before the child pool's sub-pools go (mod_dbd's connections live in
 * one): write out what is queued, then let the thread end. */
static apr_status_t stop_writer(void *data)
{
    llm_audit_batch_t *b = data;
    apr_status_t rv;

    apr_thread_mutex_lock(b->lock);
    b->stop = 1;
    apr_thread_cond_signal(b->cond);
    apr_thread_cond_broadcast(b->space);
    apr_thread_mutex_unlock(b->lock);
    apr_thread_join(&rv, b->thread);
    /* Under the lock: a late request may still be making its copy (it
     * then mallocs one, and frees it when it finds the writer stopped). */
    apr_thread_mutex_lock(b->lock);
    while (b->spare) {
        block_t *blk = b->spare;

        b->spare = blk->next;
        free(blk);
    }
    b->nspare = 0;
    apr_thread_mutex_unlock(b->lock);
    return APR_SUCCESS;
}

static apr_status_t close_turn_fd(void *data)
{
    llm_audit_batch_t *b = data;

    close(b->turn_fd);
    b->turn_fd = -1;
    return APR_SUCCESS;
}

llm_audit_batch_t *llm_audit_batch_start(apr_pool_t *p, server_rec *s,
                                         llm_audit_journal_t *journal,
                                         int size, int delay_ms)
{
    llm_audit_batch_t *b = apr_pcalloc(p, sizeof(*b));
    llm_audit_srv_t *sc = llm_audit_srv(s);
    apr_threadattr_t *attr;

    b->journal = journal;
    b->s = s;
    b->size = size;
    b->turn_fd = open(apr_pstrcat(p, sc->spool.path, ".writers", NULL),
                      O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (b->turn_fd < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                     LLMNO(03079) "cannot open %s.writers: the audit batch "
                     "writers of this server's processes wait for SQLite's "
                     "lock by its busy timeout", sc->spool.path);
    }
    else {
        apr_pool_cleanup_register(p, b, close_turn_fd,
                                  apr_pool_cleanup_null);
    }
    b->delay = apr_time_from_msec(delay_ms);
    /* Room for several batches while one is written; beyond that the
     * database is behind: requests wait for room (at most
     * LLM_AUDIT_BATCH_FULL_WAIT), then store their own records. */
    b->cap = size * 8 < 256 ? 256 : size * 8;
    b->q = apr_pcalloc(p, sizeof(*b->q) * (apr_size_t)b->cap);
    b->qseg = apr_pcalloc(p, sizeof(*b->qseg) * (apr_size_t)b->cap);
    if (apr_thread_mutex_create(&b->lock, APR_THREAD_MUTEX_DEFAULT, p)
        != APR_SUCCESS
        || apr_thread_cond_create(&b->cond, p) != APR_SUCCESS
        || apr_thread_cond_create(&b->space, p) != APR_SUCCESS
        || apr_threadattr_create(&attr, p) != APR_SUCCESS
        || apr_thread_create(&b->thread, attr, writer, b, p)
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(03070)
                     "cannot start the audit batch writer: records are "
                     "stored by each request");
        return NULL;
    }
    apr_pool_pre_cleanup_register(p, b, stop_writer);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMNO(03071)
                 "audit batch writer started: %d rows or %d ms per "
                 "transaction", size, delay_ms);
    return b;
}
