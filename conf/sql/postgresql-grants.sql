-- SPDX-License-Identifier: Apache-2.0
-- Copyright 2026 the mod_llm_gateway developers; see NOTICE.
--
-- Least-privilege roles for the audit table (after postgresql.sql):
--
--   psql -v ON_ERROR_STOP=1 -v gateway_role=llm_gateway \
--        -v auditor_role=llm_auditor [-v quota_restore=1] [-v self_service=1] \
--        -d llm_audit -f postgresql-grants.sql
--
-- The roles must exist (CREATE ROLE llm_gateway LOGIN PASSWORD '...').
-- The gateway may only add rows: INSERT ... ON CONFLICT DO NOTHING (with no
-- conflict target, as mod_llm_audit sends it) needs nothing more.  It can
-- neither read, change nor delete what it wrote.  The auditor (reports,
-- llm-audit-verify) may only read.  Neither can drop partitions: retention
-- runs as the table owner.

\if :{?auditor_role}
\else
\set auditor_role llm_auditor
\endif
\if :{?gateway_role}
\else
\set gateway_role llm_gateway
\endif

GRANT USAGE ON SCHEMA public TO :"gateway_role";
GRANT INSERT ON llm_audit TO :"gateway_role";
GRANT USAGE ON SEQUENCE llm_audit_id_seq TO :"gateway_role";

-- LLMRouteQuotaRestore On rebuilds day/month quota counters from the audit
-- table after a full stop: it needs to read these columns (and only these).
-- Opt in with -v quota_restore=1.
\if :{?quota_restore}
GRANT SELECT (ts, user_name, user_groups, decision, tokens_in, tokens_out)
    ON llm_audit TO :"gateway_role";
\endif
-- The self-service page (SetHandler llm-self-service) shows a developer's
-- spend this month: the sum of their rows' cost since the 1st (UTC).
-- Opt in with -v self_service=1.
\if :{?self_service}
GRANT SELECT (ts, user_name, decision, cost) ON llm_audit TO :"gateway_role";
\endif

GRANT USAGE ON SCHEMA public TO :"auditor_role";
GRANT SELECT ON llm_audit, llm_audit_checkpoint TO :"auditor_role";
