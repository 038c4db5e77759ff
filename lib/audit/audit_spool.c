/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The spool file: fsynced appends, bounded size, locked replay.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "apr_strings.h"
#include "apr_portable.h"

#include "audit_spool.h"
#include "audit_fileio.h"

static apr_status_t open_locked(const llm_audit_spool_t *sp, int flags,
                                int nonblock, int *fdp)
{
    int fd;

    do {
        fd = open(sp->path, flags | O_CLOEXEC, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) != 0) {
        if (errno == EINTR) {
            continue;
        }
        if (errno == EWOULDBLOCK) {
            close(fd);
            return APR_EAGAIN;
        }
        else {
            apr_status_t rv = APR_FROM_OS_ERROR(errno);

            close(fd);
            return rv;
        }
    }
    *fdp = fd;
    return APR_SUCCESS;
}

apr_status_t llm_audit_spool_append(const llm_audit_spool_t *sp,
                                    apr_pool_t *p, const char *line,
                                    apr_size_t len)
{
    return llm_audit_spool_append_nb(sp, p, line, len, 0);
}

apr_status_t llm_audit_spool_append_nb(const llm_audit_spool_t *sp,
                                       apr_pool_t *p, const char *line,
                                       apr_size_t len, int nonblock)
{
    struct stat st;
    apr_status_t rv;
    int fd;
    char *buf;

    rv = open_locked(sp, O_WRONLY | O_CREAT | O_APPEND, nonblock, &fd);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
        return rv;
    }
    if (sp->max_size > 0 && (apr_off_t)st.st_size + (apr_off_t)len + 1
                            > sp->max_size) {
        close(fd);
        return APR_ENOSPC;
    }
    /* One write(2) of the line and its newline: with O_APPEND nobody's
     * record can land inside ours even without the lock. */
    buf = apr_palloc(p, len + 1);
    memcpy(buf, line, len);
    buf[len] = '\n';
    rv = llm_audit_write_all(fd, buf, len + 1);
    if (rv == APR_SUCCESS && fdatasync(fd) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (rv != APR_SUCCESS) {
        /* Leave no half record behind for replay to trip over. */
        if (ftruncate(fd, st.st_size) != 0) {
            /* nothing more to do: replay skips torn lines */
        }
    }
    close(fd);
    return rv;
}


static void reject_line(const llm_audit_spool_t *sp, apr_pool_t *p,
                        const char *line, apr_size_t len)
{
    const char *path = apr_pstrcat(p, sp->path, ".rejected", NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

    if (fd >= 0) {
        char *buf = apr_palloc(p, len + 1);

        memcpy(buf, line, len);
        buf[len] = '\n';
        if (llm_audit_write_all(fd, buf, len + 1) == APR_SUCCESS) {
            fdatasync(fd);
        }
        close(fd);
    }
}

typedef struct {
    const char *line;
    apr_size_t len;
} failed_t;

apr_status_t llm_audit_spool_replay(const llm_audit_spool_t *sp,
                                    apr_pool_t *p, int nonblock,
                                    llm_audit_spool_fn_t *fn,
                                    llm_audit_spool_ok_fn_t *healthy,
                                    void *ctx, int *done, int *rejected)
{
    apr_status_t rv;
    apr_pool_t *iter;
    apr_array_header_t *failed;
    char *buf = NULL, *line, *end;
    apr_size_t len = 0;
    int fd, consecutive = 0, stopped = 0, i;

    *done = *rejected = 0;
    rv = open_locked(sp, O_RDWR, nonblock, &fd);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = llm_audit_read_all(fd, p, &buf, &len);
    if (rv != APR_SUCCESS || len == 0) {
        close(fd);
        return rv;
    }
    failed = apr_array_make(p, 4, sizeof(failed_t));
    apr_pool_create(&iter, p);
    for (line = buf; line < buf + len; line = end + 1) {
        end = memchr(line, '\n', (apr_size_t)(buf + len - line));
        if (!end) {
            /* A torn last line: the writer died between write and
             * fsync's return; nothing was acknowledged for it. */
            reject_line(sp, iter, line, (apr_size_t)(buf + len - line));
            (*rejected)++;
            break;
        }
        if (end == line) {
            continue;
        }
        rv = fn(ctx, iter, line, (apr_size_t)(end - line));
        apr_pool_clear(iter);
        if (rv == APR_SUCCESS) {
            (*done)++;
            consecutive = 0;
        }
        else if (rv == APR_EINVAL) {
            reject_line(sp, iter, line, (apr_size_t)(end - line));
            (*rejected)++;
        }
        else {
            failed_t *f = apr_array_push(failed);

            f->line = line;
            f->len = (apr_size_t)(end - line);
            /* Many failures in a row: the database, not the records. */
            if (++consecutive >= LLM_AUDIT_SPOOL_MAX_FAILURES) {
                stopped = 1;
                break;
            }
        }
    }
    /* A record that failed while others went in, with the database still
     * answering, is refused for itself: set it aside so that it cannot
     * hold up the spool forever.  Anything else (the database went away,
     * refuses every write: a full disk, a read-only replica) keeps the
     * whole spool for the next attempt; the rows already stored are
     * skipped then. */
    rv = APR_SUCCESS;
    if (failed->nelts > 0) {
        if (stopped || *done == 0 || (healthy && !healthy(ctx, iter))) {
            rv = APR_EGENERAL;
        }
        else {
            for (i = 0; i < failed->nelts; i++) {
                const failed_t *f = &APR_ARRAY_IDX(failed, i, failed_t);

                reject_line(sp, iter, f->line, f->len);
                (*rejected)++;
            }
        }
    }
    apr_pool_destroy(iter);
    if (rv == APR_SUCCESS) {
        if (ftruncate(fd, 0) != 0 || fsync(fd) != 0) {
            rv = APR_FROM_OS_ERROR(errno);
        }
    }
    close(fd);
    return rv;
}

apr_status_t llm_audit_spool_depth(const llm_audit_spool_t *sp,
                                   apr_pool_t *p, apr_off_t *size,
                                   apr_int64_t *records)
{
    struct stat st;

    *size = 0;
    if (records) {
        *records = 0;
    }
    if (stat(sp->path, &st) != 0) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    *size = st.st_size;
    if (records && st.st_size > 0) {
        char chunk[65536];
        ssize_t n;
        int fd = open(sp->path, O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
            return APR_FROM_OS_ERROR(errno);
        }
        while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
            const char *c = chunk, *e = chunk + n;

            while ((c = memchr(c, '\n', (apr_size_t)(e - c))) != NULL) {
                (*records)++;
                c++;
            }
        }
        close(fd);
    }
    return APR_SUCCESS;
}

int llm_audit_spool_has_room(const llm_audit_spool_t *sp, apr_pool_t *p,
                             apr_size_t len)
{
    struct stat st;
    const char *dir;

    if (stat(sp->path, &st) == 0) {
        return access(sp->path, W_OK) == 0
               && (sp->max_size <= 0
                   || st.st_size + (apr_off_t)len + 1 <= sp->max_size);
    }
    /* Not there yet: can it be created? */
    dir = apr_pstrdup(p, sp->path);
    if (strrchr(dir, '/')) {
        *strrchr(dir, '/') = '\0';
    }
    else {
        dir = ".";
    }
    return access(*dir ? dir : "/", W_OK) == 0;
}
