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
 * The batch journal: two flock()ed files per process, and recovery of the
 * files of processes that are gone.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "audit_journal.h"
#include "audit_fileio.h"

struct llm_audit_journal_t {
    const char *path[2];
    int fd[2];
    int active;
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

apr_status_t llm_audit_journal_open(llm_audit_journal_t **jp, apr_pool_t *p,
                                    const char *spool_path)
{
    llm_audit_journal_t *j = apr_pcalloc(p, sizeof(*j));
    const char *dir, *base, *id;
    apr_status_t rv;
    int i;

    journal_place(p, spool_path, &dir, &base);
    id = apr_psprintf(p, "%ld.%" APR_TIME_T_FMT, (long)getpid(),
                      apr_time_now());
    j->fd[0] = j->fd[1] = -1;
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
    *jp = j;
    return APR_SUCCESS;
}

apr_status_t llm_audit_journal_append(llm_audit_journal_t *j,
                                      const char *line, apr_size_t len)
{
    struct iovec iov[2];
    struct stat st;
    apr_size_t want = len + 1;
    ssize_t n;
    int fd = j->fd[j->active];

    iov[0].iov_base = (void *)line;
    iov[0].iov_len = len;
    iov[1].iov_base = "\n";
    iov[1].iov_len = 1;
    do {
        n = writev(fd, iov, 2);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)want) {
        return APR_SUCCESS;
    }
    if (n >= 0 && (apr_size_t)n < want) {
        /* A short write (disk full): finish it, or take the torn line
         * back so the next record starts on a line of its own. */
        apr_size_t done = (apr_size_t)n;
        apr_status_t rv = APR_SUCCESS;

        while (done < want && rv == APR_SUCCESS) {
            const char *from = done < len ? line + done : "\n";
            apr_size_t left = done < len ? len - done : 1;
            ssize_t w = write(fd, from, left);

            if (w > 0) {
                done += (apr_size_t)w;
            }
            else if (w < 0 && errno != EINTR) {
                rv = APR_FROM_OS_ERROR(errno);
            }
            else if (w == 0) {
                rv = APR_ENOSPC;
            }
        }
        if (rv == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        if (fstat(fd, &st) == 0 && st.st_size >= (off_t)done
            && ftruncate(fd, st.st_size - (off_t)done) != 0) {
            /* recovery drops a line without its newline */
        }
        return rv;
    }
    return APR_FROM_OS_ERROR(errno);
}

int llm_audit_journal_swap(llm_audit_journal_t *j)
{
    int retired = j->active;

    j->active = !retired;
    return retired;
}

apr_status_t llm_audit_journal_clear(llm_audit_journal_t *j, int which)
{
    return ftruncate(j->fd[which], 0) == 0 ? APR_SUCCESS
                                            : APR_FROM_OS_ERROR(errno);
}

void llm_audit_journal_close(llm_audit_journal_t *j)
{
    int i;

    for (i = 0; i < 2; i++) {
        /* Unlinked while still locked: nobody recovers it meanwhile. */
        unlink(j->path[i]);
        close(j->fd[i]);
        j->fd[i] = -1;
    }
}

/* One orphan: its complete lines into the spool, then away with it. */
static apr_status_t recover_one(const llm_audit_spool_t *sp, apr_pool_t *p,
                                const char *path, int *records, int *files)
{
    struct stat st;
    apr_status_t rv;
    apr_size_t len = 0, i;
    char *buf = NULL;
    int fd, n = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return APR_SUCCESS;           /* recovered by someone else */
    }
    /* The owner holds the lock while it lives; a second recoverer waits
     * for nothing either. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0
        || fstat(fd, &st) != 0 || st.st_nlink == 0) {
        close(fd);
        return APR_SUCCESS;
    }
    rv = llm_audit_read_all(fd, p, &buf, &len);
    if (rv == APR_SUCCESS) {
        /* A line cut by the crash has no newline: not a record. */
        while (len > 0 && buf[len - 1] != '\n') {
            len--;
        }
        for (i = 0; i < len; i++) {
            n += buf[i] == '\n';
        }
        if (len > 0) {
            rv = llm_audit_spool_append(sp, p, buf, len - 1);
        }
    }
    if (rv == APR_SUCCESS) {
        unlink(path);
        *records += n;
        *files += 1;
    }
    close(fd);
    return rv;
}

apr_status_t llm_audit_journal_recover(const llm_audit_spool_t *sp,
                                       apr_pool_t *p, int *records,
                                       int *files)
{
    const char *dir, *base, *prefix;
    apr_status_t rv = APR_SUCCESS;
    struct dirent *de;
    apr_size_t plen;
    DIR *d;

    *records = *files = 0;
    journal_place(p, sp->path, &dir, &base);
    prefix = apr_pstrcat(p, base, ".j.", NULL);
    plen = strlen(prefix);
    d = opendir(dir);
    if (!d) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    while ((de = readdir(d)) != NULL) {
        apr_status_t one;

        if (strncmp(de->d_name, prefix, plen) != 0) {
            continue;
        }
        one = recover_one(sp, p, apr_pstrcat(p, dir, "/", de->d_name, NULL),
                          records, files);
        if (one != APR_SUCCESS) {
            rv = one;
        }
    }
    closedir(d);
    return rv;
}
