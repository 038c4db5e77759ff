/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Whole-buffer reads and writes on descriptors.
 */

#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

#include "audit_fileio.h"

apr_status_t llm_audit_write_all(int fd, const char *buf, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return APR_FROM_OS_ERROR(errno);
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

apr_status_t llm_audit_read_all(int fd, apr_pool_t *p, char **buf,
                                apr_size_t *len)
{
    struct stat st;
    apr_size_t got = 0;

    if (fstat(fd, &st) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    *buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    while (got < (apr_size_t)st.st_size) {
        ssize_t n = read(fd, *buf + got, (apr_size_t)st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return APR_FROM_OS_ERROR(errno);
        }
        if (n == 0) {
            break;
        }
        got += (apr_size_t)n;
    }
    (*buf)[got] = '\0';
    *len = got;
    return APR_SUCCESS;
}
