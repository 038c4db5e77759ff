"""mod_llm_audit on the embedded default, SQLite through mod_dbd's sqlite3
driver (conf/llm-gateway.d/50-audit.conf as shipped): the same rows, the
same chain and verifier, the same spool -- one code path for both
databases.
"""

import json
import os
import secrets
import sqlite3
import time
import uuid

import pytest

import audit_helpers as ah

CHAT = "/v1/chat/completions"


def chat(content="hello"):
    return json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": content}]}).encode()


@pytest.fixture
def sq(gateway_factory):
    g = gateway_factory.make(pg=None)
    assert g.audit.kind == "sqlite3"
    return g


def one_row(g, ua):
    rows = g.audit.rows_for_user_agent(ua)
    assert len(rows) == 1, rows
    return rows[0]


def test_sqlite_rows_and_chain(sq, mock, minter, user_agent):
    tok = minter.mint(sub="sqlite-user", groups=["developers"])
    c = sq.client()
    assert c.post(CHAT, chat(), token=tok,
                  headers={"User-Agent": user_agent + "/ok"}).status == 200
    assert c.post(CHAT, chat(), token=None,
                  headers={"User-Agent": user_agent + "/anon"}).status == 401
    ok = one_row(sq, user_agent + "/ok")
    assert ok["decision"] == "allow" and ok["http_status"] == 200
    assert ok["user_name"] == "sqlite-user"
    assert ok["provider"] == "testopenai"
    assert json.loads(ok["findings"]) == []
    assert ok["ts"].endswith("Z") and len(ok["mac"]) == 64
    anon = one_row(sq, user_agent + "/anon")
    assert anon["decision"] == "deny" and anon["http_status"] == 401
    rc, out = ah.verify(sq)
    assert rc == 0, out


def test_sqlite_tampering_is_detected(sq, mock, minter, user_agent):
    tok = minter.mint(sub="sqlite-tamper")
    for i in range(4):
        assert sq.client().post(CHAT, chat("n %d" % i), token=tok, headers={
            "User-Agent": user_agent}).status == 200
    rows = sq.audit.rows_for_user_agent(user_agent, count=4)
    assert len(rows) == 4
    victim = rows[1]
    conn = sqlite3.connect(sq.sqlite_path, timeout=10)
    try:
        conn.execute("UPDATE llm_audit SET user_name = 'someone-else' "
                     "WHERE id = ?", (victim["id"],))
        conn.commit()
    finally:
        conn.close()
    rc, out = ah.verify(sq)
    assert rc == 1 and "EDITED" in out and "id=%d " % victim["id"] in out, out


def test_schema_created_on_first_use(gateway_factory, mock, minter,
                                     user_agent):
    """The quick start has no database yet: LLMAuditSchema sqlite3 creates
    the table on the first connection, as httpd's User."""
    g = gateway_factory.make(pg=None, start=False)
    g.build()
    os.unlink(g.sqlite_path)
    g.start()
    tok = minter.mint(sub="fresh-db")
    assert g.client().post(CHAT, chat(), token=tok, headers={
        "User-Agent": user_agent}).status == 200
    # The table appears with the first record, after the response.
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            g.audit.query("SELECT 1 FROM llm_audit")
            break
        except sqlite3.OperationalError:
            time.sleep(0.1)
    row = one_row(g, user_agent)
    assert row["decision"] == "allow"
    st = os.stat(g.sqlite_path)
    assert st.st_uid == g.uid, "owned by the child user, not root"


def test_sqlite_unwritable_then_back_replays_once(sq, mock, minter,
                                                  user_agent):
    tok = minter.mint(sub="sqlite-outage")
    c = sq.client()
    assert c.post(CHAT, chat("before"), token=tok, headers={
        "User-Agent": user_agent + "/0"}).status == 200
    one_row(sq, user_agent + "/0")
    # The table refuses inserts (as a full disk or a locked file would).
    conn = sqlite3.connect(sq.sqlite_path, timeout=10)
    conn.execute("CREATE TRIGGER gwtest_block BEFORE INSERT ON llm_audit "
                 "BEGIN SELECT RAISE(ABORT, 'gwtest: writes refused'); END")
    conn.commit()
    conn.close()
    for i in range(1, 6):
        assert c.post(CHAT, chat("during %d" % i), token=tok, headers={
            "User-Agent": user_agent + "/%d" % i}).status == 200
    spool = os.path.join(sq.data_dir, "spool", "audit.spool")
    deadline = time.time() + 5
    while time.time() < deadline and not (
            os.path.exists(spool) and os.path.getsize(spool) > 0):
        time.sleep(0.1)
    assert os.path.getsize(spool) > 0
    conn = sqlite3.connect(sq.sqlite_path, timeout=10)
    conn.execute("DROP TRIGGER gwtest_block")
    conn.commit()
    conn.close()
    # The watchdog replays within LLMAuditReplayInterval (5 s).
    deadline = time.time() + 20
    while time.time() < deadline and os.path.getsize(spool) > 0:
        time.sleep(0.2)
    assert os.path.getsize(spool) == 0, sq.error_log_tail(20)
    for i in range(0, 6):
        assert len(sq.audit.rows_for_user_agent(user_agent + "/%d" % i)) == 1
    rc, out = ah.verify(sq)
    assert rc == 0, out


def test_sqlite_retention_keeps_chains_verifiable(sq):
    """conf/sql/sqlite-retention.sql as shipped: old rows go, the kept part
    of each chain still verifies; without the checkpoint it would not."""
    import datetime
    key = ah.read_key(sq)
    old = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    chain = "sqlite-retention:1:%d" % int(now.timestamp())
    rows = []
    for i, ts in enumerate([old] * 4 + [now] * 2):
        rows.append({"ts": ah.fmt_time(ts + datetime.timedelta(seconds=i)),
                     "request_id": "sr-%s-%d" % (uuid.uuid4().hex[:6], i),
                     "decision": "allow", "findings": "[]",
                     "finding_count": 0, "http_status": 200,
                     "cost": "0.000000500"})
    ah.make_chain(key, chain, rows)
    conn = sqlite3.connect(sq.sqlite_path, timeout=10)
    try:
        for r in rows:
            cols = list(r)
            conn.execute("INSERT INTO llm_audit (%s) VALUES (%s)" % (
                ", ".join(cols), ", ".join("?" * len(cols))),
                [r[c] for c in cols])
        conn.commit()
    finally:
        conn.close()
    rc, out = ah.verify(sq)
    assert rc == 0, out

    with open(os.path.join(ah.REPO_ROOT, "conf", "sql",
                           "sqlite-retention.sql")) as f:
        script = f.read()
    conn = sqlite3.connect(sq.sqlite_path, timeout=10, isolation_level=None)
    try:
        for stmt in [s for s in script.split(";\n")
                     if s.strip() and not all(
                         l.startswith("--") or not l.strip()
                         for l in s.strip().splitlines())]:
            conn.execute(stmt, {"cutoff": "2025-01-01 00:00:00.000000Z"}
                         if ":cutoff" in stmt else {})
    finally:
        conn.close()
    left = sq.audit.query("SELECT seq FROM llm_audit WHERE chain_id = %s "
                          "ORDER BY seq", (chain,))
    assert [r["seq"] for r in left] == [5, 6]
    rc, out = ah.verify(sq)
    assert rc == 0, out
    conn = sqlite3.connect(sq.sqlite_path, timeout=10)
    conn.execute("DELETE FROM llm_audit_checkpoint WHERE chain_id = ?",
                 (chain,))
    conn.commit()
    conn.close()
    rc, out = ah.verify(sq)
    assert rc == 1 and "HEAD" in out and chain in out, out
