/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The audit table through mod_dbd: pooled connections, one prepared INSERT.
 *
 * The statement is prepared on each pooled connection the first time the
 * audit uses it and kept in that connection's own prepared-statement table
 * under LABEL, rather than registered with ap_dbd_prepare() at config
 * time: mod_dbd refuses a whole connection when one of its registered
 * statements cannot be prepared, so a missing table (a first SQLite start,
 * a database restored after httpd) would cost every module its database.
 * Preparing late lets LLMAuditSchema create the table first, and keeps a
 * failure ours: the record goes to the spool.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_dbd.h"
#include "apr_lib.h"
#include "apr_optional.h"

#include "mod_llm_audit.h"

APLOG_USE_MODULE(llm_audit);

#define LABEL "llm_audit_insert"
#define SCHEMA_DONE "llm_audit_schema"
#define GENERATION "llm_audit_generation"
/* Batch statements: one label per power of two up to
 * LLM_AUDIT_BATCH_ROWS_MAX, as string literals for apr_hash. */
static const char *const batch_labels[] = {
    LABEL, "llm_audit_insert_r2", "llm_audit_insert_r4",
    "llm_audit_insert_r8", "llm_audit_insert_r16", "llm_audit_insert_r32",
    "llm_audit_insert_r64", "llm_audit_insert_r128", "llm_audit_insert_r256"
};
static const char *batch_label(int rows)
{
    int i = 0;

    while ((1 << i) < rows && i < 8) {
        i++;
    }
    return batch_labels[i];
}
#define BATCH_LABEL(rows) batch_label(rows)

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

void llm_audit_dbd_init(void)
{
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
}

int llm_audit_dbd_available(void)
{
    return dbd_acquire && dbd_open && dbd_close;
}

ap_dbd_t *llm_audit_dbd_acquire(request_rec *r)
{
    return dbd_acquire ? dbd_acquire(r) : NULL;
}

/* Whether the database answers on this connection.  A pooled connection
 * can look fine until used; SELECT 1 needs no privilege on any table. */
static int alive(ap_dbd_t *dbd, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;

    if (!dbd || apr_dbd_select(dbd->driver, p, dbd->handle, &res,
                               "SELECT 1", 1) != 0) {
        return 0;
    }
    while (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0) {
        /* drain */
    }
    return 1;
}

int llm_audit_dbd_ping(request_rec *r)
{
    return alive(llm_audit_dbd_acquire(r), r->pool);
}

ap_dbd_t *llm_audit_dbd_open(apr_pool_t *p, server_rec *s)
{
    return dbd_open ? dbd_open(p, s) : NULL;
}

void llm_audit_dbd_close(server_rec *s, ap_dbd_t *dbd)
{
    if (dbd_close && dbd) {
        dbd_close(s, dbd);
    }
}

/* The connection went away under a statement: the database is down or
 * unreachable.  Once per process every 10 s: during an outage every
 * record would otherwise say it, and the spool's LLM03030 counts them. */
static void log_no_connection(server_rec *s, const char *msg)
{
    static apr_time_t last;
    apr_time_t now = apr_time_now();

    if (now - last < apr_time_from_sec(10)) {
        return;
    }
    last = now;
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(03101)
                 "lost the connection to the audit database: %s",
                 msg && *msg ? msg : "no reason given by the driver");
}

/* Run the schema file's statements, split at semicolons that end a line
 * outside a $$-quoted body.  Statements that fail are logged and skipped:
 * CREATE ... IF NOT EXISTS makes them no-ops on an existing schema, and
 * a role without CREATE still gets to try its INSERT. */
static void run_schema(server_rec *s, ap_dbd_t *dbd, apr_pool_t *p,
                       const char *sql)
{
    const char *start = sql, *c;
    int in_dollar = 0;

    for (c = sql; *c; c++) {
        if (c[0] == '-' && c[1] == '-') {
            while (*c && *c != '\n') {
                c++;
            }
            if (!*c) {
                break;
            }
            continue;
        }
        if (c[0] == '$' && c[1] == '$') {
            in_dollar = !in_dollar;
            c++;
            continue;
        }
        if (*c == ';' && !in_dollar) {
            char *stmt = apr_pstrmemdup(p, start, (apr_size_t)(c - start));
            char *q = stmt;
            int nrows, rv;

            start = c + 1;
            /* Skip leading blanks and comment lines. */
            while (*q) {
                while (apr_isspace(*q)) q++;
                if (q[0] == '-' && q[1] == '-') {
                    while (*q && *q != '\n') q++;
                    continue;
                }
                break;
            }
            if (!*q) {
                continue;
            }
            rv = apr_dbd_query(dbd->driver, dbd->handle, &nrows, q);
            if (rv != 0 && strncasecmp(q, "PRAGMA", 6)) {
                const char *msg = apr_dbd_error(dbd->driver, dbd->handle, rv);

                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(03020)
                             "LLMAuditSchema statement failed: %.60s...: %s",
                             q, msg ? msg : "?");
            }
        }
    }
}

/* The INSERT of rows records (1, or a batch's power of two) on dbd,
 * kept under its own label on that connection. */
static apr_dbd_prepared_t *statement_rows(server_rec *s, ap_dbd_t *dbd,
                                          apr_pool_t *p, int rows)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    apr_dbd_prepared_t *stmt;
    const char *schema, *label = rows == 1 ? LABEL : BATCH_LABEL(rows);
    int rv, *gen;

    stmt = dbd->prepared ? apr_hash_get(dbd->prepared, label,
                                        APR_HASH_KEY_STRING) : NULL;
    if (stmt) {
        return stmt;
    }
    if (!dbd->prepared) {
        dbd->prepared = apr_hash_make(dbd->pool);
    }
    schema = sc->schema_sql ? apr_table_get(sc->schema_sql,
                                            apr_dbd_name(dbd->driver))
                            : NULL;
    if (schema && !apr_hash_get(dbd->prepared, SCHEMA_DONE,
                                APR_HASH_KEY_STRING)) {
        run_schema(s, dbd, p, schema);
        apr_hash_set(dbd->prepared, SCHEMA_DONE, APR_HASH_KEY_STRING, "");
    }
    /* Prepared from the connection's pool: it lives as long as the
     * connection, like the statements mod_dbd prepares itself.  Each
     * re-preparation on one connection takes a new name: PostgreSQL
     * keeps the old one until the connection ends. */
    gen = apr_hash_get(dbd->prepared, GENERATION, APR_HASH_KEY_STRING);
    if (!gen) {
        gen = apr_pcalloc(dbd->pool, sizeof(*gen));
        apr_hash_set(dbd->prepared, GENERATION, APR_HASH_KEY_STRING, gen);
    }
    stmt = NULL;
    rv = apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle,
                         llm_audit_insert_sql_rows(dbd->pool,
                                                   apr_dbd_name(dbd->driver),
                                                   rows),
                         apr_psprintf(dbd->pool, "%s_%d", LABEL, ++*gen),
                         &stmt);
    if (rv != 0 || !stmt) {
        const char *msg = apr_dbd_error(dbd->driver, dbd->handle, rv);

        /* A statement fails to prepare for want of a table or of a
         * connection; say which (an outage is not a schema problem). */
        if (apr_dbd_check_conn(dbd->driver, p, dbd->handle) != APR_SUCCESS) {
            log_no_connection(s, msg);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(03021)
                         "cannot prepare the audit INSERT (is the llm_audit "
                         "table there? see conf/sql/): %s", msg ? msg : "?");
        }
        return NULL;
    }
    apr_hash_set(dbd->prepared, label, APR_HASH_KEY_STRING, stmt);
    return stmt;
}

static apr_dbd_prepared_t *statement(server_rec *s, ap_dbd_t *dbd,
                                     apr_pool_t *p)
{
    return statement_rows(s, dbd, p, 1);
}

apr_status_t llm_audit_dbd_insert(server_rec *s, ap_dbd_t *dbd,
                                  apr_pool_t *p,
                                  const llm_audit_record_t *rec)
{
    apr_dbd_prepared_t *stmt;
    const char *values[LLM_AUDIT_NFIELDS];
    int f, nrows = 0, rv;

    if (!dbd) {
        return APR_EGENERAL;
    }
    stmt = statement(s, dbd, p);
    if (!stmt) {
        return APR_EGENERAL;
    }
    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        values[f] = rec->v[f];
    }
    rv = apr_dbd_pquery(dbd->driver, p, dbd->handle, &nrows, stmt,
                        LLM_AUDIT_NFIELDS, values);
    if (rv != 0) {
        /* Once more with a statement prepared afresh: SQLite's statement
         * dies with any schema change (SQLITE_SCHEMA), PostgreSQL's plan
         * may be stale.  Only then is the failure the record's or the
         * database's; a broken connection is mod_dbd's to throw away at
         * the next acquire. */
        apr_hash_set(dbd->prepared, LABEL, APR_HASH_KEY_STRING, NULL);
        stmt = statement(s, dbd, p);
        if (stmt) {
            rv = apr_dbd_pquery(dbd->driver, p, dbd->handle, &nrows, stmt,
                                LLM_AUDIT_NFIELDS, values);
        }
    }
    if (rv != 0) {
        const char *msg = apr_dbd_error(dbd->driver, dbd->handle, rv);

        if (apr_dbd_check_conn(dbd->driver, p, dbd->handle) != APR_SUCCESS) {
            log_no_connection(s, msg);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(03022)
                         "audit INSERT of %s failed: %s",
                         rec->v[LLM_AUDIT_F_REQUEST_ID], msg ? msg : "?");
        }
        apr_hash_set(dbd->prepared, LABEL, APR_HASH_KEY_STRING, NULL);
        return APR_EGENERAL;
    }
    /* nrows 0: the row was there already (a replayed record). */
    return APR_SUCCESS;
}

apr_status_t llm_audit_dbd_insert_rows(server_rec *s, ap_dbd_t *dbd,
                                       apr_pool_t *p,
                                       llm_audit_record_t *const *recs,
                                       int rows)
{
    apr_dbd_prepared_t *stmt;
    const char **values;
    int i, f, nrows = 0, rv;

    if (!dbd || rows < 1 || rows > LLM_AUDIT_BATCH_ROWS_MAX
        || (rows & (rows - 1))) {
        return APR_EINVAL;
    }
    stmt = statement_rows(s, dbd, p, rows);
    if (!stmt) {
        return APR_EGENERAL;
    }
    values = apr_palloc(p, sizeof(*values) * LLM_AUDIT_NFIELDS
                           * (apr_size_t)rows);
    for (i = 0; i < rows; i++) {
        for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
            values[i * LLM_AUDIT_NFIELDS + f] = recs[i]->v[f];
        }
    }
    rv = apr_dbd_pquery(dbd->driver, p, dbd->handle, &nrows, stmt,
                        LLM_AUDIT_NFIELDS * rows, values);
    if (rv != 0) {
        /* The caller stores these row by row, which logs what fails;
         * the statement is prepared afresh next time. */
        apr_hash_set(dbd->prepared, batch_label(rows), APR_HASH_KEY_STRING,
                     NULL);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

typedef struct {
    server_rec *s;
    ap_dbd_t *dbd;
    apr_pool_t *pool;
    const char *last_failed;     /* request id of the last refused record */
} replay_ctx_t;

static apr_status_t replay_one(void *ctxv, apr_pool_t *p, const char *line,
                               apr_size_t len)
{
    replay_ctx_t *ctx = ctxv;
    llm_audit_record_t rec;

    if (llm_audit_record_from_json(p, line, len, &rec) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->s, LLMNO(03023)
                     "spool holds a line that is not an audit record; "
                     "moved to the .rejected file");
        return APR_EINVAL;
    }
    if (llm_audit_dbd_insert(ctx->s, ctx->dbd, p, &rec) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    ctx->last_failed = apr_pstrdup(ctx->pool, rec.v[LLM_AUDIT_F_REQUEST_ID]);
    return APR_EGENERAL;
}

static int replay_healthy(void *ctxv, apr_pool_t *p)
{
    replay_ctx_t *ctx = ctxv;

    return alive(ctx->dbd, p);
}

int llm_audit_dbd_replay(server_rec *s, ap_dbd_t *dbd, apr_pool_t *p,
                         int nonblock)
{
    llm_audit_srv_t *sc = llm_audit_srv(s);
    replay_ctx_t ctx;
    apr_status_t rv;
    int done = 0, rejected = 0;

    ctx.s = s;
    ctx.dbd = dbd;
    ctx.pool = p;
    ctx.last_failed = NULL;
    rv = llm_audit_spool_replay(&sc->spool, p, nonblock, replay_one,
                                replay_healthy, &ctx, &done, &rejected);
    if (rv == APR_EAGAIN) {
        return 0;
    }
    if (rv != APR_SUCCESS && !done && !rejected) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, LLMNO(03026)
                     "cannot replay the audit spool %s", sc->spool.path);
        return -1;
    }
    if (rv == APR_SUCCESS && rejected && ctx.last_failed) {
        /* The database answers and took the others: these it refuses. */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, LLMNO(03025)
                     "the database refuses spooled record(s), the last %s: "
                     "moved to %s.rejected", ctx.last_failed,
                     sc->spool.path);
    }
    if (done || rejected) {
        ap_log_error(APLOG_MARK, rv == APR_SUCCESS ? APLOG_NOTICE
                                                   : APLOG_WARNING,
                     rv, s, LLMNO(03024)
                     "audit spool replay: %d record(s) stored, %d rejected%s",
                     done, rejected, rv == APR_SUCCESS
                     ? "; spool emptied" : "; will retry");
    }
    if (rv != APR_SUCCESS) {
        return -1;
    }
    return done;
}
