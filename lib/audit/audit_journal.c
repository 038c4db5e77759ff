/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The record journal: two flock()ed files per process, and recovery of
 * the files of processes that are gone.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "apr_strings.h"
#include "apr_time.h"
#include "apr_hash.h"
#include "apr_thread_mutex.h"

#include "audit_journal.h"
#include "audit_fileio.h"
#include "audit_chain.h"

struct llm_audit_journal_t {
    apr_thread_mutex_t *lock;
    const char *path[2];
    int fd[2];
    apr_off_t size[2];
    int pending[2];          /* entries not yet stored elsewhere */
    int active;
    apr_off_t max_size;
    char *head;              /* 'H' + the highest-seq record, malloc'd */
    apr_size_t head_len, head_cap;
    apr_int64_t head_seq;
};

/* The directory and file name of a spool: journals sit beside it. */
static void journal_place(apr_pool_t *p, const char *spool_path,
                          const char **dir, const char **base)
{
    const char *slash = strrchr(spool_path, '/');

    if (slash) {
        *dir = slash == spool_path ? "/"
               : apr_pstrndup(p, spool_path, (apr_size_t)(slash - spool_path));
        *base = slash + 1;
    }
    else {
        *dir = ".";
        *base = spool_path;
    }
}

/* Created under a name recovery does not look at, locked, then renamed:
 * no other process can take a live journal for an orphan. */
static apr_status_t create_locked(const char *final, const char *tmp,
                                  int *fdp)
{
    apr_status_t rv;
    int fd;

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || rename(tmp, final) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
        unlink(tmp);
        return rv;
    }
    *fdp = fd;
    return APR_SUCCESS;
}

static apr_status_t free_head(void *data)
{
    llm_audit_journal_t *j = data;

    free(j->head);
    j->head = NULL;
    return APR_SUCCESS;
}

apr_status_t llm_audit_journal_open(llm_audit_journal_t **jp, apr_pool_t *p,
                                    const char *spool_path,
                                    apr_off_t max_size)
{
    llm_audit_journal_t *j = apr_pcalloc(p, sizeof(*j));
    const char *dir, *base, *id;
    apr_status_t rv;
    int i;

    rv = apr_thread_mutex_create(&j->lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    journal_place(p, spool_path, &dir, &base);
    id = apr_psprintf(p, "%ld.%" APR_TIME_T_FMT, (long)getpid(),
                      apr_time_now());
    j->fd[0] = j->fd[1] = -1;
    j->max_size = max_size;
    for (i = 0; i < 2; i++) {
        const char *tmp = apr_psprintf(p, "%s/%s.t.%s.%d", dir, base, id, i);

        j->path[i] = apr_psprintf(p, "%s/%s.j.%s.%d", dir, base, id, i);
        rv = create_locked(j->path[i], tmp, &j->fd[i]);
        if (rv != APR_SUCCESS) {
            if (i == 1) {
                close(j->fd[0]);
                unlink(j->path[0]);
            }
            return rv;
        }
    }
    apr_pool_cleanup_register(p, j, free_head, apr_pool_cleanup_null);
    *jp = j;
    return APR_SUCCESS;
}

/* One line in one writev(); a short write (a full disk) is finished, or
 * the torn line ended with a newline, so that the next line starts on its
 * own (recovery skips a line that is not a whole entry). */
static apr_status_t write_line(int fd, struct iovec *iov, int n,
                               apr_size_t want)
{
    apr_status_t rv = APR_SUCCESS;
    apr_size_t skip;
    ssize_t w;
    int k;

    do {
        w = writev(fd, iov, n);
    } while (w < 0 && errno == EINTR);
    if (w == (ssize_t)want) {
        return APR_SUCCESS;
    }
    if (w <= 0) {
        return w < 0 ? APR_FROM_OS_ERROR(errno) : APR_ENOSPC;
    }
    skip = (apr_size_t)w;
    for (k = 0; k < n && rv == APR_SUCCESS; k++) {
        if (skip >= iov[k].iov_len) {
            skip -= iov[k].iov_len;
            continue;
        }
        rv = llm_audit_write_all(fd, (const char *)iov[k].iov_base + skip,
                                 iov[k].iov_len - skip);
        skip = 0;
    }
    if (rv != APR_SUCCESS && write(fd, "\n", 1) != 1) {
        /* nothing more to do: the next append fails the same way */
    }
    return rv;
}

/* File k holds nothing pending: empty it, and leave the chain's head in
 * it so that the chain's end stays known. */
static void clear_file(llm_audit_journal_t *j, int k)
{
    if (ftruncate(j->fd[k], 0) != 0) {
        return;                  /* its records are replayed again: once */
    }
    j->size[k] = 0;
    if (j->head_len > 0) {
        struct iovec iov[1];

        iov[0].iov_base = j->head;
        iov[0].iov_len = j->head_len;
        if (write_line(j->fd[k], iov, 1, j->head_len) == APR_SUCCESS) {
            j->size[k] = (apr_off_t)j->head_len;
        }
    }
}

static void keep_head(llm_audit_journal_t *j, const char *line,
                      apr_size_t len, apr_int64_t seq)
{
    apr_size_t need = len + 2;

    if (seq <= j->head_seq) {
        return;                  /* threads journal out of seal order */
    }
    if (need > j->head_cap) {
        char *h = realloc(j->head, need * 2);

        if (!h) {
            return;
        }
        j->head = h;
        j->head_cap = need * 2;
    }
    j->head[0] = LLM_AUDIT_J_HEAD;
    memcpy(j->head + 1, line, len);
    j->head[len + 1] = '\n';
    j->head_len = need;
    j->head_seq = seq;
}

apr_status_t llm_audit_journal_append(llm_audit_journal_t *j, char tag,
                                      const char *line, apr_size_t len,
                                      apr_int64_t seq, int *seg)
{
    struct iovec iov[3];
    apr_status_t rv;
    int k;

    iov[0].iov_base = &tag;
    iov[0].iov_len = 1;
    iov[1].iov_base = (void *)line;
    iov[1].iov_len = len;
    iov[2].iov_base = "\n";
    iov[2].iov_len = 1;
    apr_thread_mutex_lock(j->lock);
    k = j->active;
    if (j->size[k] >= LLM_AUDIT_JOURNAL_ROTATE && j->pending[!k] == 0) {
        /* The other file was emptied when its last entry was done. */
        j->active = !k;
        if (j->pending[k] == 0) {
            clear_file(j, k);
        }
        k = j->active;
    }
    if (j->max_size > 0
        && j->size[0] + j->size[1] + (apr_off_t)len + 2 > j->max_size) {
        apr_thread_mutex_unlock(j->lock);
        return APR_ENOSPC;
    }
    rv = write_line(j->fd[k], iov, 3, len + 2);
    if (rv == APR_SUCCESS) {
        j->size[k] += (apr_off_t)len + 2;
        j->pending[k]++;
        *seg = k;
        if (tag == LLM_AUDIT_J_RECORD) {
            keep_head(j, line, len, seq);
        }
    }
    apr_thread_mutex_unlock(j->lock);
    return rv;
}

/* n entries of file seg done; the journal's lock is held. */
static void done_locked(llm_audit_journal_t *j, int seg, int n)
{
    if (n <= 0 || j->pending[seg] <= 0) {
        return;
    }
    j->pending[seg] = n >= j->pending[seg] ? 0 : j->pending[seg] - n;
    /* Emptied when nothing in it is pending: at once when it is retired,
     * in place when the active one has grown (one truncate per
     * LLM_AUDIT_JOURNAL_ROTATE bytes, not one per request). */
    if (j->pending[seg] == 0
        && (seg != j->active || j->size[seg] >= LLM_AUDIT_JOURNAL_ROTATE)) {
        clear_file(j, seg);
    }
}

void llm_audit_journal_done(llm_audit_journal_t *j, int seg)
{
    apr_thread_mutex_lock(j->lock);
    done_locked(j, seg, 1);
    apr_thread_mutex_unlock(j->lock);
}

void llm_audit_journal_done_n(llm_audit_journal_t *j, const int n[2])
{
    apr_thread_mutex_lock(j->lock);
    done_locked(j, 0, n[0]);
    done_locked(j, 1, n[1]);
    apr_thread_mutex_unlock(j->lock);
}

void llm_audit_journal_close(llm_audit_journal_t *j)
{
    int i, keep = j->pending[0] + j->pending[1] > 0;

    for (i = 0; i < 2; i++) {
        /* Unlinked while still locked: nobody recovers it meanwhile.  With
         * entries pending it stays, for the next process to recover. */
        if (j->fd[i] >= 0) {
            if (!keep) {
                unlink(j->path[i]);
            }
            close(j->fd[i]);
            j->fd[i] = -1;
        }
    }
}

/* -- recovery ----------------------------------------------------------- */

/* What one dead process's files hold. */
typedef struct {
    apr_pool_t *p;
    apr_hash_t *sealed;          /* request_id -> "" */
    apr_array_header_t *intents; /* of llm_audit_record_t * */
    char *out;                   /* spool lines, '\n'-separated */
    apr_size_t out_len, out_cap;
    int records;
    const char *chain_id;        /* of the head */
    apr_int64_t head_seq;
    const char *head_mac;
    int ended;                   /* the head is an end record */
} dead_t;

static void out_add(dead_t *d, const char *line, apr_size_t len)
{
    if (d->out_len + len + 1 > d->out_cap) {
        apr_size_t cap = (d->out_len + len + 1) * 2;
        char *n = apr_palloc(d->p, cap);

        if (d->out_len) {
            memcpy(n, d->out, d->out_len);
        }
        d->out = n;
        d->out_cap = cap;
    }
    if (d->out_len) {
        d->out[d->out_len++] = '\n';
    }
    memcpy(d->out + d->out_len, line, len);
    d->out_len += len;
}

static void note_head(dead_t *d, const llm_audit_record_t *rec)
{
    apr_int64_t seq = apr_atoi64(rec->v[LLM_AUDIT_F_SEQ]);

    if (!d->chain_id || seq > d->head_seq) {
        d->chain_id = rec->v[LLM_AUDIT_F_CHAIN_ID];
        d->head_seq = seq;
        d->head_mac = rec->v[LLM_AUDIT_F_MAC];
        d->ended = llm_audit_is_end_record(rec);
    }
}

static void read_lines(dead_t *d, char *buf, apr_size_t len)
{
    char *line = buf, *end;

    /* A line cut by the death has no newline: not an entry. */
    while ((end = memchr(line, '\n', (apr_size_t)(buf + len - line)))
           != NULL) {
        apr_size_t n = (apr_size_t)(end - line);
        llm_audit_record_t rec, *in;
        char tag = n > 0 ? line[0] : 0;
        const char *json = line + 1;

        if (tag == '{') {
            tag = LLM_AUDIT_J_RECORD;      /* a line of the older journal */
            json = line;
        }
        else {
            n = n > 0 ? n - 1 : 0;
        }
        if (tag == LLM_AUDIT_J_RECORD
            && llm_audit_record_from_json(d->p, json, n, &rec)
               == APR_SUCCESS) {
            out_add(d, json, n);
            d->records++;
            apr_hash_set(d->sealed, rec.v[LLM_AUDIT_F_REQUEST_ID],
                         APR_HASH_KEY_STRING, "");
            note_head(d, &rec);
        }
        else if (tag == LLM_AUDIT_J_HEAD
                 && llm_audit_record_from_json(d->p, json, n, &rec)
                    == APR_SUCCESS) {
            note_head(d, &rec);
        }
        else if (tag == LLM_AUDIT_J_INTENT
                 && llm_audit_intent_from_json(d->p, json, n, &rec)
                    == APR_SUCCESS) {
            in = apr_pmemdup(d->p, &rec, sizeof(rec));
            APR_ARRAY_PUSH(d->intents, llm_audit_record_t *) = in;
        }
        line = end + 1;
    }
}

/* Seal rec into the dead chain after its head and add it to the lines. */
static void seal_after(dead_t *d, llm_audit_chain_t *c,
                       llm_audit_record_t *rec)
{
    const char *line;

    llm_audit_chain_seal(c, d->p, rec);
    line = llm_audit_record_to_json(d->p, rec);
    out_add(d, line, strlen(line));
}

/* One dead process: its files (paths), all locked by us. */
static apr_status_t recover_owner(const llm_audit_spool_t *sp, apr_pool_t *p,
                                  const unsigned char *key,
                                  apr_size_t key_len,
                                  const char *server_name,
                                  const char **paths, int *fds, int n,
                                  llm_audit_recovery_t *out)
{
    dead_t d;
    apr_status_t rv = APR_SUCCESS;
    int i, interrupted = 0, closed = 0;

    memset(&d, 0, sizeof(d));
    d.p = p;
    d.sealed = apr_hash_make(p);
    d.intents = apr_array_make(p, 4, sizeof(llm_audit_record_t *));
    for (i = 0; i < n && rv == APR_SUCCESS; i++) {
        char *buf;
        apr_size_t len;

        rv = llm_audit_read_all(fds[i], p, &buf, &len);
        if (rv == APR_SUCCESS) {
            read_lines(&d, buf, len);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* The chain of intents without a sealed record goes on from the head
     * (from seq 1 when the process sealed nothing), then ends. */
    for (i = 0; i < d.intents->nelts; i++) {
        llm_audit_record_t *in = APR_ARRAY_IDX(d.intents, i,
                                               llm_audit_record_t *);

        if (apr_hash_get(d.sealed, in->v[LLM_AUDIT_F_REQUEST_ID],
                         APR_HASH_KEY_STRING)) {
            continue;
        }
        if (!d.chain_id) {
            d.chain_id = in->v[LLM_AUDIT_F_CHAIN_ID];
        }
        interrupted++;
    }
    if (d.chain_id && !d.ended && key) {
        llm_audit_chain_t *c = llm_audit_chain_create(p, d.chain_id, key,
                                                      key_len);

        c->seq = d.head_seq;
        if (d.head_mac && strlen(d.head_mac) == LLM_AUDIT_MAC_HEX_LEN) {
            memcpy(c->prev_mac, d.head_mac, LLM_AUDIT_MAC_HEX_LEN + 1);
        }
        for (i = 0; i < d.intents->nelts; i++) {
            llm_audit_record_t *in = APR_ARRAY_IDX(d.intents, i,
                                                   llm_audit_record_t *);

            if (!apr_hash_get(d.sealed, in->v[LLM_AUDIT_F_REQUEST_ID],
                              APR_HASH_KEY_STRING)
                && !strcmp(in->v[LLM_AUDIT_F_CHAIN_ID], d.chain_id)) {
                seal_after(&d, c, in);
            }
        }
        seal_after(&d, c, llm_audit_end_record(p, d.chain_id, server_name,
                                               "process_died"));
        closed = 1;
    }
    if (d.out_len > 0) {
        /* Never waits for the spool: a replay that a stalled database
         * holds up keeps it locked, and a new process must not hang in
         * its start for that; the next try takes these records. */
        rv = llm_audit_spool_append_nb(sp, p, d.out, d.out_len, 1);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; i++) {
        unlink(paths[i]);
    }
    out->records += d.records;
    out->interrupted += interrupted;
    out->chains += closed;
    out->files += n;
    return APR_SUCCESS;
}

/* Open and lock the files of one owner; 0 when its owner still holds one
 * (or they are gone). */
static int lock_owner(apr_pool_t *p, const char *dir, const char *prefix,
                      const char **paths, int *fds, int *n)
{
    int k;

    *n = 0;
    for (k = 0; k < 2; k++) {
        const char *path = apr_psprintf(p, "%s/%s.%d", dir, prefix, k);
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
            continue;             /* recovered by someone else, or one */
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0
            || fstat(fd, &st) != 0 || st.st_nlink == 0) {
            close(fd);
            while (*n > 0) {
                close(fds[--*n]);
            }
            return 0;
        }
        paths[*n] = path;
        fds[(*n)++] = fd;
    }
    return *n > 0;
}

apr_status_t llm_audit_journal_recover(const llm_audit_spool_t *sp,
                                       apr_pool_t *p,
                                       const unsigned char *key,
                                       apr_size_t key_len,
                                       const char *server_name,
                                       llm_audit_recovery_t *out)
{
    const char *dir, *base, *prefix;
    apr_status_t rv = APR_SUCCESS;
    apr_hash_t *owners = apr_hash_make(p);
    apr_hash_index_t *hi;
    struct dirent *de;
    apr_size_t plen;
    DIR *d;

    memset(out, 0, sizeof(*out));
    journal_place(p, sp->path, &dir, &base);
    prefix = apr_pstrcat(p, base, ".j.", NULL);
    plen = strlen(prefix);
    d = opendir(dir);
    if (!d) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    /* <base>.j.<pid>.<time>.<k>: one owner per <pid>.<time>. */
    while ((de = readdir(d)) != NULL) {
        const char *dot;

        if (strncmp(de->d_name, prefix, plen) != 0
            || !(dot = strrchr(de->d_name, '.')) || dot - de->d_name
               <= (long)plen) {
            continue;
        }
        apr_hash_set(owners, apr_pstrndup(p, de->d_name,
                                          (apr_size_t)(dot - de->d_name)),
                     APR_HASH_KEY_STRING, "");
    }
    closedir(d);
    for (hi = apr_hash_first(p, owners); hi; hi = apr_hash_next(hi)) {
        const char *owner = apr_hash_this_key(hi), *paths[2];
        apr_status_t one;
        int fds[2], n, i;
        apr_pool_t *op;

        if (!lock_owner(p, dir, owner, paths, fds, &n)) {
            continue;
        }
        apr_pool_create(&op, p);
        one = recover_owner(sp, op, key, key_len, server_name, paths, fds, n,
                            out);
        for (i = 0; i < n; i++) {
            close(fds[i]);
        }
        apr_pool_destroy(op);
        if (one != APR_SUCCESS) {
            rv = one;
        }
    }
    return rv;
}
