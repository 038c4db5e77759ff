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
 * What the llm-audit commands share: opening the audit database through
 * apr_dbd (one code path for PostgreSQL and SQLite, like the module) and
 * reading key files.
 */

#ifndef LLM_AUDIT_TOOL_H
#define LLM_AUDIT_TOOL_H

#include "apr_pools.h"
#include "apr_tables.h"
#include "apr_dbd.h"

typedef struct llm_audit_db_t {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    const char *driver_name;
} llm_audit_db_t;

/* Open driver ("pgsql" or "sqlite3") with its apr_dbd parameter string
 * (DBDParams); prints the reason and returns NULL on failure. */
llm_audit_db_t *llm_audit_tool_open(apr_pool_t *p, const char *prog,
                                    const char *driver, const char *params);

/* Run a SELECT and return its rows as arrays of strings (NULL for SQL
 * NULL); NULL when the query fails (error printed unless quiet). */
apr_array_header_t *llm_audit_tool_select(apr_pool_t *p, const char *prog,
                                          llm_audit_db_t *db, const char *sql,
                                          int quiet, int *ncols);

#endif /* LLM_AUDIT_TOOL_H */
