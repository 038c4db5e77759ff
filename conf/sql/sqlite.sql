-- SPDX-License-Identifier: Apache-2.0
-- Copyright 2026 the mod_llm_gateway developers; see NOTICE.
--
-- mod_llm_audit: the audit table for SQLite (3.24 or later), the embedded
-- default.  The same columns as postgresql.sql, so one INSERT serves both.
--
--   sqlite3 /var/lib/llm-gateway/audit.db < sqlite.sql
--
-- httpd's User must be able to write the database file AND its directory
-- (SQLite creates its journal beside the file).  mod_llm_audit runs this
-- file itself at startup when LLMAuditSchema points at it.
--
-- Retention on SQLite is a DELETE (no partitions): sqlite-retention.sql
-- records the checkpoints the verifier needs, then deletes.

-- Connection settings: mod_llm_audit runs this file on every new
-- connection, so the PRAGMAs below apply to each of them (journal_mode is
-- kept in the file; the other two are per connection).
--
-- WAL: readers never block the writer, and a commit appends to the log
-- instead of rewriting pages.
PRAGMA journal_mode = WAL;
-- NORMAL: in WAL mode SQLite syncs the log at checkpoints, not at every
-- commit.  A row survives an httpd crash or kill at once (it is in the
-- log), but an operating-system crash or power cut can lose the rows
-- committed since the last checkpoint.  FULL syncs every commit: about
-- three times the audit's CPU and a quarter of the throughput here (see
-- docs/audit.md, "Performance"); choose it if the host may lose power
-- without the rows having reached a replica or backup.
PRAGMA synchronous = NORMAL;
-- Wait for another process's write instead of failing with SQLITE_BUSY:
-- apr_dbd's sqlite3 driver sets no busy handler and answers BUSY by
-- sleeping 100 ms, which was the p99 of a loaded gateway.
PRAGMA busy_timeout = 5000;

CREATE TABLE IF NOT EXISTS llm_audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ts              TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    chain_id        TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    prev_mac        TEXT NOT NULL,
    mac             TEXT NOT NULL,
    server_name     TEXT,
    user_name       TEXT,
    user_groups     TEXT,
    client_ip       TEXT,
    user_agent      TEXT,
    method          TEXT,
    uri             TEXT,
    endpoint        TEXT,
    dialect         TEXT,
    model_requested TEXT,
    model_used      TEXT,
    provider        TEXT,
    balancer        TEXT,
    balancer_member TEXT,
    decision        TEXT NOT NULL,
    reason          TEXT,
    findings        TEXT,
    finding_count   INTEGER,
    http_status     INTEGER,
    upstream_status INTEGER,
    stream          INTEGER,
    bytes_in        INTEGER,
    bytes_out       INTEGER,
    tokens_in       INTEGER,
    tokens_out      INTEGER,
    tokens_cached   INTEGER,
    cost            REAL,
    latency_us      INTEGER,
    ttfb_us         INTEGER,
    body_mode       TEXT,
    body            TEXT,
    answer_body_mode TEXT,
    answer_body     TEXT,
    cost_saved      REAL,
    UNIQUE (request_id, ts)
);

CREATE INDEX IF NOT EXISTS llm_audit_ts_idx       ON llm_audit (ts);
CREATE INDEX IF NOT EXISTS llm_audit_user_idx     ON llm_audit (user_name, ts);
CREATE INDEX IF NOT EXISTS llm_audit_decision_idx ON llm_audit (decision, ts);
CREATE INDEX IF NOT EXISTS llm_audit_chain_idx    ON llm_audit (chain_id, seq);

CREATE TABLE IF NOT EXISTS llm_audit_checkpoint (
    chain_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    mac         TEXT NOT NULL,
    ts          TEXT NOT NULL,
    partition   TEXT NOT NULL,
    dropped_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00', 'now')),
    PRIMARY KEY (chain_id, seq)
);
