-- SPDX-License-Identifier: Apache-2.0
-- Copyright 2026 the mod_llm_gateway developers; see NOTICE.
--
-- mod_llm_audit: the audit table for PostgreSQL (11 or later).
--
--   psql -v ON_ERROR_STOP=1 -d llm_audit -f postgresql.sql
--
-- One row per gateway request.  The table is partitioned by month so that
-- retention drops whole partitions (llm_audit_drop_before) instead of
-- deleting rows; a busy gateway writes hundreds of GB a month.
--
-- Tamper evidence: every row carries chain_id/seq/prev_mac/mac.  mac is
-- HMAC-SHA256 under a key the database administrator does not hold, over
-- prev_mac and the row's canonical bytes (docs/audit.md).  Keep column
-- types as they are: the verifier recomputes the MAC from the text the
-- database hands back, so a column whose text form changes (jsonb instead
-- of json, float instead of numeric) breaks verification.
--
-- Idempotence: (request_id, ts) is unique; the gateway inserts with
-- ON CONFLICT DO NOTHING, so replaying its spool never doubles a row.

CREATE TABLE IF NOT EXISTS llm_audit (
    id              BIGSERIAL,
    ts              TIMESTAMPTZ NOT NULL,
    request_id      TEXT NOT NULL,
    chain_id        TEXT NOT NULL,
    seq             BIGINT NOT NULL,
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
    findings        JSON,
    finding_count   INTEGER,
    http_status     INTEGER,
    upstream_status INTEGER,
    stream          SMALLINT,
    bytes_in        BIGINT,
    bytes_out       BIGINT,
    tokens_in       BIGINT,
    tokens_out      BIGINT,
    tokens_cached   BIGINT,
    cost            NUMERIC(20,9),
    latency_us      BIGINT,
    ttfb_us         BIGINT,
    body_mode       TEXT,
    body            TEXT,
    answer_body_mode TEXT,
    answer_body     TEXT,
    cost_saved      NUMERIC(20,9),
    PRIMARY KEY (id, ts),
    UNIQUE (request_id, ts)
) PARTITION BY RANGE (ts);

-- Added after 0.1.0 (conf/sql/UPGRADING.md), in the record's order: a
-- table made before gets them here; on a partitioned table the parent's
-- columns reach every partition.
ALTER TABLE llm_audit ADD COLUMN IF NOT EXISTS answer_body_mode TEXT;
ALTER TABLE llm_audit ADD COLUMN IF NOT EXISTS answer_body TEXT;
ALTER TABLE llm_audit ADD COLUMN IF NOT EXISTS cost_saved NUMERIC(20,9);

-- The questions compliance asks: by time, by user, by decision; the
-- verifier reads chains in order.  Indexes on the parent apply to every
-- partition, present and future.
CREATE INDEX IF NOT EXISTS llm_audit_ts_idx       ON llm_audit (ts);
CREATE INDEX IF NOT EXISTS llm_audit_user_idx     ON llm_audit (user_name, ts);
CREATE INDEX IF NOT EXISTS llm_audit_decision_idx ON llm_audit (decision, ts);
CREATE INDEX IF NOT EXISTS llm_audit_chain_idx    ON llm_audit (chain_id, seq);

-- Rows outside every monthly partition land here rather than being
-- refused; llm_audit_ensure_partitions() should keep it empty.
CREATE TABLE IF NOT EXISTS llm_audit_default
    PARTITION OF llm_audit DEFAULT;

-- What retention removed: for each chain, the last row dropped.  The
-- verifier accepts a chain whose first kept row continues exactly from
-- such a checkpoint (seq + 1, prev_mac = mac), and nothing else.
CREATE TABLE IF NOT EXISTS llm_audit_checkpoint (
    chain_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    mac         TEXT NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    partition   TEXT NOT NULL,
    dropped_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, seq)
);

-- Create the monthly partitions from the current month to months_ahead
-- months ahead.  Run it from cron (or pg_cron) at least monthly, as the
-- table owner: the gateway's own role cannot create tables.
CREATE OR REPLACE FUNCTION llm_audit_ensure_partitions(months_ahead INTEGER DEFAULT 3)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    m      DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::DATE;
    i      INTEGER;
    lo     DATE;
    hi     DATE;
    name   TEXT;
    made   INTEGER := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        lo := (m + make_interval(months => i))::DATE;
        hi := (lo + INTERVAL '1 month')::DATE;
        name := 'llm_audit_' || to_char(lo, 'YYYYMM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF llm_audit FOR VALUES FROM (%L) TO (%L)',
                name, lo::TEXT || ' 00:00:00+00', hi::TEXT || ' 00:00:00+00');
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END;
$$;

-- Retention: drop every monthly partition that ends on or before cutoff
-- (whole months only, so no row of a kept month is touched), recording
-- each chain's last dropped row first.  Returns the partitions dropped.
--   SELECT llm_audit_drop_before(now() - INTERVAL '13 months');
CREATE OR REPLACE FUNCTION llm_audit_drop_before(cutoff TIMESTAMPTZ)
RETURNS SETOF TEXT
LANGUAGE plpgsql AS $$
DECLARE
    part   RECORD;
    upper_bound TIMESTAMPTZ;
BEGIN
    FOR part IN
        SELECT c.relname AS name,
               pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'llm_audit'::regclass
           AND c.relname ~ '^llm_audit_[0-9]{6}$'
         ORDER BY c.relname
    LOOP
        upper_bound := substring(part.bound FROM 'TO \(''([^'']+)''\)')::TIMESTAMPTZ;
        CONTINUE WHEN upper_bound IS NULL OR upper_bound > cutoff;
        EXECUTE format(
            'INSERT INTO llm_audit_checkpoint (chain_id, seq, mac, ts, partition)
             SELECT DISTINCT ON (chain_id) chain_id, seq, mac, ts, %L
               FROM %I ORDER BY chain_id, seq DESC
             ON CONFLICT DO NOTHING', part.name, part.name);
        EXECUTE format('DROP TABLE %I', part.name);
        RETURN NEXT part.name;
    END LOOP;
END;
$$;

SELECT llm_audit_ensure_partitions(3);

-- Roles: see postgresql-grants.sql (the gateway gets INSERT only, the
-- auditors SELECT only) and docs/audit.md, "Databases, schema and grants".
