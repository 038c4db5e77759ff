-- Licensed to the Apache Software Foundation (ASF) under the Apache License,
-- Version 2.0; see the LICENSE file.
--
-- Least-privilege roles for the audit table (after postgresql.sql):
--
--   psql -v ON_ERROR_STOP=1 -v gateway_role=llm_gateway \
--        -v auditor_role=llm_auditor -d llm_audit -f postgresql-grants.sql
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

GRANT USAGE ON SCHEMA public TO :"auditor_role";
GRANT SELECT ON llm_audit, llm_audit_checkpoint TO :"auditor_role";
