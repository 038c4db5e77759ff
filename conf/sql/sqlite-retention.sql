-- SPDX-License-Identifier: Apache-2.0
-- Copyright 2026 the mod_llm_gateway developers; see NOTICE.
--
-- Retention for the SQLite audit table: delete rows older than :cutoff,
-- after recording each chain's last deleted row, so that llm-audit-verify
-- accepts the kept chains (see docs/audit.md, "Retention").
--
--   sqlite3 /var/lib/llm-gateway/db/audit.db \
--     ".parameter set :cutoff '2026-01-01 00:00:00.000000Z'" \
--     ".read /usr/share/mod_llm_gateway/sql/sqlite-retention.sql"
--
-- :cutoff is compared as text with ts ("YYYY-MM-DD HH:MM:SS.uuuuuuZ").

BEGIN IMMEDIATE;

-- SQLite takes mac and ts from the row that holds MAX(seq).
INSERT OR IGNORE INTO llm_audit_checkpoint (chain_id, seq, mac, ts, partition)
    SELECT chain_id, MAX(seq), mac, ts, 'delete before ' || :cutoff
      FROM llm_audit
     WHERE ts < :cutoff
     GROUP BY chain_id;

DELETE FROM llm_audit WHERE ts < :cutoff;

COMMIT;
