"""mod_llm_audit while the database is away (issue 4, "Nothing lost"):
PostgreSQL stopped in the middle of a run of requests and started again
must leave exactly one row per request, chains intact; with the spool
full, LLMAuditRequired On answers 503 before anything goes upstream.

These tests stop and start their own PostgreSQL, never the session's.
"""

import json
import os
import threading
import time
import uuid

import pytest

from gwtest.pg import PostgresServer

import audit_helpers as ah

CHAT = "/v1/chat/completions"
PG_SCHEMA = os.path.join(ah.REPO_ROOT, "conf", "sql", "postgresql.sql")


@pytest.fixture
def own_pg():
    pg = PostgresServer()
    try:
        pg.init()
        pg.load_schema_file(PG_SCHEMA)
        pg.execute("CREATE ROLE llm_auditor LOGIN")
        pg.load_schema_file(os.path.join(ah.REPO_ROOT, "conf", "sql",
                                         "postgresql-grants.sql"))
        yield pg
    finally:
        pg.destroy()


def chat(content):
    return json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": content}]}).encode()


def spool_path(g):
    return os.path.join(g.data_dir, "spool", "audit.spool")


def wait_until(pred, timeout=30, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_database_outage_loses_and_doubles_nothing(minter, mock,
                                                   gateway_factory, own_pg):
    g = gateway_factory.make(pg=own_pg, gateway_d={
        "60-audit-replay.conf": "LLMAuditReplayInterval 1\n"})
    tok = minter.mint(sub="outage-user")
    run = "gwtest/outage/%s/" % uuid.uuid4().hex[:8]
    n = 60
    statuses = {}

    def send_all():
        c = g.client()
        for i in range(n):
            r = c.post(CHAT, chat("request %d" % i), token=tok,
                       headers={"User-Agent": run + str(i)})
            statuses[i] = r.status
            time.sleep(0.05)

    sender = threading.Thread(target=send_all)
    sender.start()
    time.sleep(0.8)
    own_pg.stop(mode="fast")          # mid-run: connections die
    time.sleep(1.5)
    spooled_while_down = os.path.exists(spool_path(g)) and \
        os.path.getsize(spool_path(g)) > 0
    own_pg.start()
    sender.join(60)
    assert not sender.is_alive()
    assert all(s == 200 for s in statuses.values()), statuses
    assert spooled_while_down, "records should wait in the spool"

    # Replayed by the watchdog or the next successful insert.
    def all_rows():
        rows = own_pg.query("SELECT user_agent, count(*) AS n FROM llm_audit "
                            "WHERE user_agent LIKE %s GROUP BY user_agent",
                            (run + "%",))
        return len(rows) == n
    assert wait_until(all_rows, 30), g.error_log_tail(40)
    time.sleep(1.5)     # a late duplicate would show now
    rows = own_pg.query("SELECT user_agent, count(*) AS n FROM llm_audit "
                        "WHERE user_agent LIKE %s GROUP BY user_agent",
                        (run + "%",))
    assert sorted(r["user_agent"] for r in rows) == sorted(
        run + str(i) for i in range(n))
    assert all(r["n"] == 1 for r in rows), [r for r in rows if r["n"] != 1]
    assert wait_until(lambda: os.path.getsize(spool_path(g)) == 0, 10)
    log = g.error_log_text()
    assert "LLM03030" in log, "spooling is logged"
    assert "LLM03024" in log, "the replay is logged"
    assert "LLM03031" not in log, "nothing may be lost"
    rc, out = ah.verify(g)
    assert rc == 0, out
    m = ah.metrics(g)
    assert ah.metric_sum(m, "llm_gateway_audit_spooled_total") >= 1
    assert ah.metric_sum(m, "llm_gateway_audit_db_errors_total") >= 1
    assert ah.metric_sum(m, "llm_gateway_audit_spool_records") == 0


def test_required_refuses_with_503_when_nothing_can_record(
        minter, mock, gateway_factory, own_pg):
    g = gateway_factory.make(pg=own_pg, gateway_d={
        "60-audit-required.conf":
            "LLMAuditSpoolMaxSize 4K\n"
            "LLMAuditReplayInterval 1\n"
            "<Location /v1>\n    LLMAuditRequired On\n</Location>\n"})
    tok = minter.mint(sub="required-user")
    c = g.client()
    assert c.post(CHAT, chat("db up"), token=tok).status == 200
    own_pg.stop(mode="fast")
    try:
        served, refused = 0, 0
        for i in range(12):
            r = c.post(CHAT, chat("while down %d" % i), token=tok,
                       headers={"User-Agent": "gwtest/required/%d" % i})
            if r.status == 200:
                served += 1
                assert refused == 0, "served after a refusal: spool grew?"
            else:
                assert r.status == 503, r
                err = r.json()["error"]
                assert err["code"] == "audit_unavailable", err
                refused += 1
        assert served >= 1, "the spool takes records first"
        assert refused >= 1, "a full spool with the database down refuses"
        # Nothing reached the provider for a refused request.
        assert len(mock.requests) == 1 + served, mock.summary()
        assert "LLM03040" in g.error_log_text()
    finally:
        own_pg.start()
    # Back: served again (the probe finds the database within a second),
    # and the spool drains into the table.
    assert wait_until(lambda: c.post(CHAT, chat("db back"), token=tok)
                      .status == 200, 15)
    assert wait_until(lambda: os.path.getsize(spool_path(g)) == 0, 20), \
        g.error_log_tail(30)
    rows = own_pg.wait_for_rows(
        "SELECT * FROM llm_audit WHERE user_agent LIKE 'gwtest/required/%%'",
        count=served)
    # Every served request has its row; a refusal is recorded too when
    # its (small) record still fitted the spool.
    assert len([r for r in rows if r["decision"] == "allow"]) == served
    for r in rows:
        assert r["decision"] == "allow" or (
            r["decision"] == "error" and r["reason"] == "audit_unavailable"
            and r["http_status"] == 503), r
    assert len(set(r["request_id"] for r in rows)) == len(rows)
    # (the "db back" polling may have been refused once or twice more)
    assert ah.metric_sum(ah.metrics(g),
                         "llm_gateway_audit_refused_total") >= refused
    # Records lost while the spool was full (logged LLM03031) show as
    # missing sequence numbers, never as edits.
    rc, out = ah.verify(g)
    problems = [l for l in out.splitlines()[:-1] if l.strip()]
    assert all(l.split()[0] in ("GAP", "HEAD") for l in problems), out
    assert (rc == 0) == (ah.metric_sum(ah.metrics(g),
                                       "llm_gateway_audit_lost_total") == 0)
