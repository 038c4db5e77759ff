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
