"""Keep mod_llm_audit's directive table, docs/audit.md, the sample conf,
the SQL schemas and the Grafana dashboard in step (no server needed)."""

import json
import os
import re

import audit_helpers as ah

MOD = os.path.join(ah.REPO_ROOT, "modules", "mod_llm_audit")


def read(*parts):
    with open(os.path.join(ah.REPO_ROOT, *parts)) as f:
        return f.read()


def directives():
    src = read("modules", "mod_llm_audit", "audit_config.c")
    return re.findall(r'AP_INIT_[A-Z0-9_]+\("(LLMAudit\w*)"', src)


def test_every_directive_is_documented_and_in_the_sample():
    names = directives()
    assert len(names) >= 11, names
    doc = read("docs", "audit.md")
    sample = read("conf", "llm-gateway.d", "50-audit.conf")
    for n in names:
        assert "`%s " % n in doc or "`%s`" % n in doc, n
        assert re.search(r"^\s*#?\s*%s\b" % n, sample, re.M), n


def test_every_log_id_is_documented():
    doc = read("docs", "audit.md")
    ids = set()
    for name in os.listdir(MOD):
        if name.endswith(".c"):
            ids.update(re.findall(r"LLMNO\((03\d{3})\)", read(
                "modules", "mod_llm_audit", name)))
    documented = set()
    for a, b in re.findall(r"LLM(03\d{3})(?:-(03\d{3}))?", doc):
        lo = int(a)
        for n in range(lo, int(b or a) + 1):
            documented.add("%05d" % n)
    for line in doc.splitlines():
        for m in re.findall(r"\b(03\d{3})\b", line):
            documented.add(m)
    assert ids and ids <= documented, sorted(ids - documented)


def sql_columns(text):
    body = text[text.index("CREATE TABLE IF NOT EXISTS llm_audit ("):]
    body = body[:body.index(");")]
    cols = []
    for line in body.splitlines()[1:]:
        w = line.split()
        if w and re.match(r"^[a-z_]+$", w[0]) and w[0] not in (
                "primary", "unique") and w[0].upper() != w[0]:
            cols.append(w[0])
    return cols


def test_schemas_have_the_record_columns_in_order():
    for f in ("postgresql.sql", "sqlite.sql"):
        cols = sql_columns(read("conf", "sql", f))
        assert cols[0] == "id", (f, cols)
        # the MAC order (audit_record.c) with mac after chain fields
        expected = ah.COLUMNS
        assert sorted(cols[1:]) == sorted(expected), (f, cols)
    src = read("lib", "audit", "audit_record.c")
    # FIELD("name", LLM_AUDIT_T_...) entries of the field table
    c_fields = re.findall(r'FIELD\("([a-z_]+)",\s+LLM_AUDIT_T_', src)
    assert c_fields == ah.COLUMNS


def test_metrics_documented_and_on_the_dashboard():
    src = read("modules", "mod_llm_audit", "audit_prometheus.c")
    names = set(re.findall(r"(llm_gateway_[a-z_]+?)(?:_bucket|_sum|_count)?"
                           r"[{ ]", src))
    assert len(names) >= 12, names
    doc = read("docs", "audit.md")
    dash = json.loads(read("conf", "grafana-dashboard.json"))
    exprs = " ".join(t["expr"] for p in dash["panels"]
                     for t in p["targets"])
    for n in names:
        short = n.replace("llm_gateway_audit_", "..._")
        assert n in doc or short in doc, n
    for n in ("llm_gateway_requests_total", "llm_gateway_tokens_total",
              "llm_gateway_cost_usd_total", "llm_gateway_findings_total",
              "llm_gateway_request_duration_seconds_bucket",
              "llm_gateway_ttfb_seconds_bucket",
              "llm_gateway_audit_spool_records", "llm_gateway_audit_db_up"):
        assert n in exprs, n
