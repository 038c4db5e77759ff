/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * One audit record, httpd-free: the columns of the llm_audit table, the
 * canonical bytes the chain MAC covers, and the one-line JSON form the
 * spool keeps.  The module, the spool replay and llm-audit-verify all use
 * this one column list, so they cannot drift apart.
 */

#ifndef LLM_AUDIT_RECORD_H
#define LLM_AUDIT_RECORD_H

#include "apr_pools.h"
#include "apr_time.h"

/* Columns in table and MAC order.  A new column goes at the end (before
 * LLM_AUDIT_F_MAC) and must be nullable: the canonical bytes name each
 * non-NULL field and leave NULL ones out, so rows written before the
 * column existed keep verifying (docs/audit.md, "Upgrading"). */
typedef enum {
    LLM_AUDIT_F_TS = 0,
    LLM_AUDIT_F_REQUEST_ID,
    LLM_AUDIT_F_CHAIN_ID,
    LLM_AUDIT_F_SEQ,
    LLM_AUDIT_F_PREV_MAC,
    LLM_AUDIT_F_SERVER_NAME,
    LLM_AUDIT_F_USER_NAME,
    LLM_AUDIT_F_USER_GROUPS,
    LLM_AUDIT_F_CLIENT_IP,
    LLM_AUDIT_F_USER_AGENT,
    LLM_AUDIT_F_METHOD,
    LLM_AUDIT_F_URI,
    LLM_AUDIT_F_ENDPOINT,
    LLM_AUDIT_F_DIALECT,
    LLM_AUDIT_F_MODEL_REQUESTED,
    LLM_AUDIT_F_MODEL_USED,
    LLM_AUDIT_F_PROVIDER,
    LLM_AUDIT_F_BALANCER,
    LLM_AUDIT_F_BALANCER_MEMBER,
    LLM_AUDIT_F_DECISION,
    LLM_AUDIT_F_REASON,
    LLM_AUDIT_F_FINDINGS,
    LLM_AUDIT_F_FINDING_COUNT,
    LLM_AUDIT_F_HTTP_STATUS,
    LLM_AUDIT_F_UPSTREAM_STATUS,
    LLM_AUDIT_F_STREAM,
    LLM_AUDIT_F_BYTES_IN,
    LLM_AUDIT_F_BYTES_OUT,
    LLM_AUDIT_F_TOKENS_IN,
    LLM_AUDIT_F_TOKENS_OUT,
    LLM_AUDIT_F_TOKENS_CACHED,
    LLM_AUDIT_F_COST,
    LLM_AUDIT_F_LATENCY_US,
    LLM_AUDIT_F_TTFB_US,
    LLM_AUDIT_F_BODY_MODE,
    LLM_AUDIT_F_BODY,
    LLM_AUDIT_F_ANSWER_BODY_MODE,
    LLM_AUDIT_F_ANSWER_BODY,
    LLM_AUDIT_F_COST_SAVED,      /* a cache hit: what the answer would cost */
    LLM_AUDIT_F_MAC,             /* not part of the canonical bytes */
    LLM_AUDIT_NFIELDS
} llm_audit_field_e;

/* How a column's text is normalised before it enters the MAC: databases
 * hand numbers back in their own text form. */
typedef enum {
    LLM_AUDIT_T_TEXT = 0,
    LLM_AUDIT_T_INT,
    LLM_AUDIT_T_DECIMAL,          /* fixed 9 decimals */
    LLM_AUDIT_T_TIME              /* "YYYY-MM-DD HH:MM:SS.uuuuuuZ" */
} llm_audit_type_e;

#define LLM_AUDIT_CANON_VERSION "llm-audit-v1"
#define LLM_AUDIT_MAC_HEX_LEN 64
/* prev_mac of the first row of every chain. */
#define LLM_AUDIT_MAC_ZERO \
    "0000000000000000000000000000000000000000000000000000000000000000"

/* A record: one text value per column, NULL for SQL NULL. */
typedef struct llm_audit_record_t {
    const char *v[LLM_AUDIT_NFIELDS];
} llm_audit_record_t;

/* Column name and type of field f. */
const char *llm_audit_field_name(int f);
llm_audit_type_e llm_audit_field_type(int f);

/* Field index of a column name, -1 when unknown. */
int llm_audit_field_index(const char *name);

/* value itself when it is valid UTF-8, else a copy with each invalid
 * byte replaced by '?'.  Every text column goes through it before the
 * record is sealed. */
const char *llm_audit_utf8(apr_pool_t *p, const char *value);

/* Format apr_time_t t the way the ts column is compared. */
const char *llm_audit_time_format(apr_pool_t *p, apr_time_t t);

/* Normalise one value of column f as read back from a database (or
 * written), so that the writer and the verifier see the same bytes. */
const char *llm_audit_normalise(apr_pool_t *p, int f, const char *value);

/* The bytes the MAC covers (everything except mac itself), allocated
 * from p; *len receives the length. */
const char *llm_audit_canonical(apr_pool_t *p, const llm_audit_record_t *rec,
                                apr_size_t *len);

/* One line of JSON (no newline) holding every field, for the spool. */
char *llm_audit_record_to_json(apr_pool_t *p, const llm_audit_record_t *rec);

/* Parse a line written by llm_audit_record_to_json; APR_EINVAL when the
 * line is not a complete record (a torn write after a crash). */
apr_status_t llm_audit_record_from_json(apr_pool_t *p, const char *line,
                                        apr_size_t len,
                                        llm_audit_record_t *rec);

/* The same for a request's intent (audit_journal.h): a record not yet
 * sealed, so without seq, prev_mac and mac. */
apr_status_t llm_audit_intent_from_json(apr_pool_t *p, const char *line,
                                        apr_size_t len,
                                        llm_audit_record_t *rec);

/* A chain's last record: its writer stopped (reason "process_exit") or
 * died and another process closed the chain for it ("process_died").  A
 * chain that ends with one shows it lost no row at its end; the chain
 * fields are the caller's to seal. */
#define LLM_AUDIT_DECISION_END "chain_end"
llm_audit_record_t *llm_audit_end_record(apr_pool_t *p, const char *chain_id,
                                         const char *server_name,
                                         const char *reason);
int llm_audit_is_end_record(const llm_audit_record_t *rec);

/* The INSERT statement for apr_dbd_prepare, per apr_dbd driver name
 * ("pgsql" adds casts): every column but the database's own id,
 * idempotent on (request_id, ts). */
const char *llm_audit_insert_sql(apr_pool_t *p, const char *driver);
/* The same INSERT for rows records at once. */
const char *llm_audit_insert_sql_rows(apr_pool_t *p, const char *driver,
                                      int rows);

/* The verifier's SELECT of id and every column, per driver name ("pgsql",
 * "sqlite3"); the caller adds WHERE, ORDER BY and LIMIT. */
const char *llm_audit_select_sql(apr_pool_t *p, const char *driver);

#endif /* LLM_AUDIT_RECORD_H */
