/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Whole-buffer reads and writes on file descriptors, for the spool and
 * the batch journal (which hold their files by descriptor, for flock()).
 */

#ifndef LLM_AUDIT_FILEIO_H
#define LLM_AUDIT_FILEIO_H

#include "apr_pools.h"
#include "apr_errno.h"

/* Write all len bytes, across short writes and EINTR. */
apr_status_t llm_audit_write_all(int fd, const char *buf, apr_size_t len);

/* The file from its current offset, NUL-terminated, into p. */
apr_status_t llm_audit_read_all(int fd, apr_pool_t *p, char **buf,
                                apr_size_t *len);

#endif /* LLM_AUDIT_FILEIO_H */
