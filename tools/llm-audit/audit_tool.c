/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Database access shared by llm-audit-verify and llm-audit-decrypt.
 */

#include <stdio.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_dbd.h"

#include "audit_tool.h"

llm_audit_db_t *llm_audit_tool_open(apr_pool_t *p, const char *prog,
                                    const char *driver, const char *params)
{
    llm_audit_db_t *db = apr_pcalloc(p, sizeof(*db));
    const char *err = NULL;
    apr_status_t rv;

    apr_dbd_init(p);
    rv = apr_dbd_get_driver(p, driver, &db->driver);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "%s: no apr_dbd driver '%s' (install "
                "libaprutil1-dbd-%s)\n", prog, driver,
                !strcmp(driver, "pgsql") ? "pgsql" : driver);
        return NULL;
    }
    rv = apr_dbd_open_ex(db->driver, p, params, &db->handle, &err);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "%s: cannot open the %s database: %s\n", prog,
                driver, err ? err : "unknown error");
        return NULL;
    }
    db->driver_name = driver;
    return db;
}

apr_array_header_t *llm_audit_tool_select(apr_pool_t *p, const char *prog,
                                          llm_audit_db_t *db, const char *sql,
                                          int quiet, int *ncols)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *rows;
    int rv, n, i;

    /* random access: the pgsql driver knows the column count only then */
    rv = apr_dbd_select(db->driver, p, db->handle, &res, sql, 1);
    if (rv != 0) {
        if (!quiet) {
            fprintf(stderr, "%s: query failed: %s\n", prog,
                    apr_dbd_error(db->driver, db->handle, rv));
        }
        return NULL;
    }
    n = apr_dbd_num_cols(db->driver, res);
    *ncols = n;
    rows = apr_array_make(p, 1024, sizeof(const char **));
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        const char **vals = apr_palloc(p, n * sizeof(*vals));

        for (i = 0; i < n; i++) {
            char *v = NULL;

            /* apr_dbd_get_entry() gives PostgreSQL's NULL as "": the MAC
             * tells NULL from empty, so ask for the datum (ENOENT: NULL). */
            if (apr_dbd_datum_get(db->driver, row, i, APR_DBD_TYPE_STRING,
                                  &v) != APR_SUCCESS || !v) {
                vals[i] = NULL;
            }
            else {
                vals[i] = apr_pstrdup(p, v);
            }
        }
        *(const char ***)apr_array_push(rows) = vals;
    }
    return rows;
}
