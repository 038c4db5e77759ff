/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
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
