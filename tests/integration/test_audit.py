"""mod_llm_audit against a real PostgreSQL (issue 4): one complete row per
request whatever its outcome, chains that llm-audit-verify checks and that
show every kind of tampering, retention that drops whole partitions without
breaking the kept chains, the least-privilege grant, body capture, metrics
and the status page, and configuration errors caught by apachectl -t.

The rows and the chain are checked on both databases: the ``gw`` fixture
runs every such test against PostgreSQL and against the SQLite default
(one code path).  Partition retention, grants and the extra gateways are
PostgreSQL's.  The outage tests (database stopped mid-run) are in
test_audit_outage.py, more SQLite cases in test_audit_sqlite.py.  This
module runs its own PostgreSQL: it tampers with the audit table and must
not disturb the session's shared one.
"""

import datetime
import json
import os
import secrets
import signal
import sqlite3
import uuid

import pytest

from gwtest.httpd import GatewayServer
from gwtest.pg import PostgresServer

import audit_helpers as ah

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
PG_SCHEMA = os.path.join(ah.REPO_ROOT, "conf", "sql", "postgresql.sql")


PG_GRANTS = os.path.join(ah.REPO_ROOT, "conf", "sql", "postgresql-grants.sql")


def least_privilege(pg):
    """conf/sql/postgresql-grants.sql as shipped: INSERT for the gateway,
    SELECT for the auditor role."""
    pg.execute("CREATE ROLE llm_auditor LOGIN")
    pg.load_schema_file(PG_GRANTS)


@pytest.fixture(scope="module")
def audit_pg():
    pg = PostgresServer()
    try:
        pg.init()
        pg.load_schema_file(PG_SCHEMA)
        least_privilege(pg)
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="module", params=["pgsql", "sqlite3"])
def gw(request, minter, mock_provider, audit_pg):
    pg = audit_pg if request.param == "pgsql" else None
    g = GatewayServer(minter, mock=mock_provider, pg=pg)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


PG_ONLY = pytest.mark.parametrize("gw", ["pgsql"], indirect=True)


def db_exec(g, sql, params=None):
    """Write to the gateway's audit table as its owner (the tamperer)."""
    if g.pg is not None:
        g.pg.execute(sql, params)
        return
    conn = sqlite3.connect(g.sqlite_path, timeout=10)
    try:
        conn.execute(sql.replace("%s", "?"), params or ())
        conn.commit()
    finally:
        conn.close()


def findings_of(row):
    f = row["findings"]
    return json.loads(f) if isinstance(f, str) else f


def as_datetime(ts):
    if isinstance(ts, str):
        return datetime.datetime.strptime(
            ts, "%Y-%m-%d %H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return ts


def same_key(gw):
    """A policy file giving another gateway gw's MAC key: gateways that
    share an audit table share the key (or verify with -k for each)."""
    return {"55-audit-key.conf": 'LLMAuditKeyFile "%s"\n' % ah.key_file(gw)}


def chat(content="hello", model="gpt-4o-mini", **extra):
    body = {"model": model, "messages": [{"role": "user",
                                          "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


def fake_aws_key():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def one_row(g, ua):
    rows = g.audit.rows_for_user_agent(ua)
    assert len(rows) == 1, "expected one audit row for %s, got %r" % (ua,
                                                                     rows)
    return rows[0]


def assert_chain_fields(row):
    assert row["chain_id"] and row["seq"] >= 1
    assert len(row["mac"]) == 64 and len(row["prev_mac"]) == 64
    assert row["request_id"]


def assert_verified(g):
    rc, out = ah.verify(g)
    assert rc == 0, out
    assert "all chains intact" in out, out
    return out


# -- one complete row per outcome ------------------------------------------

def test_allowed_request_row_is_complete(gw, mock, minter, user_agent):
    user = "alice-" + uuid.uuid4().hex[:6]
    tok = minter.mint(sub=user, groups=["developers", "ml"])
    resp = gw.client().post(CHAT, chat("hello there"), token=tok,
                            headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    row = one_row(gw, user_agent)
    assert_chain_fields(row)
    assert row["decision"] == "allow"
    assert row["http_status"] == 200
    assert row["user_name"] == user
    assert json.loads(row["user_groups"]) == ["developers", "ml"]
    assert row["client_ip"] == "127.0.0.1"
    assert row["endpoint"] == "chat.completions"
    assert row["dialect"] == "openai"
    assert row["model_requested"] == "gpt-4o-mini"
    assert row["model_used"] == "gpt-4o-mini"
    assert row["provider"] == "testopenai"
    assert row["balancer"] == "balancer://testopenai"
    assert row["balancer_member"], row
    assert row["stream"] == 0
    assert row["bytes_in"] == len(chat("hello there"))
    assert row["bytes_out"] > 0
    assert row["latency_us"] > 0
    assert findings_of(row) == [] and row["finding_count"] == 0
    # The request id is mod_unique_id's, as in the access log.
    assert row["request_id"] in gw.access_log_text()
    ts = as_datetime(row["ts"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - ts).total_seconds()) < 60


def test_unauthenticated_request_is_recorded_as_deny(gw, mock, user_agent):
    resp = gw.client().post(CHAT, chat(), token=None,
                            headers={"User-Agent": user_agent})
    assert resp.status == 401, resp
    row = one_row(gw, user_agent)
    assert_chain_fields(row)
    assert row["decision"] == "deny"
    assert row["http_status"] == 401
    assert not row["user_name"]
    assert row["provider"] is None or mock.requests == []
    assert mock.requests == []


def test_bad_signature_is_recorded_as_deny(gw, mock, minter, user_agent):
    tok = minter.mint(key=minter.other_key, sub="mallory")
    resp = gw.client().post(CHAT, chat(), token=tok,
                            headers={"User-Agent": user_agent})
    assert resp.status == 401
    row = one_row(gw, user_agent)
    assert row["decision"] == "deny" and row["http_status"] == 401
    assert not row["user_name"], "an unverified token names nobody"


def test_blocked_request_row_has_findings_but_no_value(gw, mock, minter,
                                                       user_agent):
    secret = fake_aws_key()
    tok = minter.mint(sub="bob", groups=["developers"])
    resp = gw.client().post(CHAT, chat("my key is %s ok" % secret), token=tok,
                            headers={"User-Agent": user_agent})
    assert resp.status == 403, resp
    assert mock.requests == []
    row = one_row(gw, user_agent)
    assert row["decision"] == "block"
    assert row["http_status"] == 403
    # mod_llm_scan refused it before routing: who asked and the provider
    # it was meant for are still on the row (mod_llm_route writes them
    # into the shared object, at the latest in its log phase hook).
    assert row["user_name"] == "bob"
    assert json.loads(row["user_groups"]) == ["developers"]
    assert row["model_requested"] == "gpt-4o-mini"
    assert row["provider"] == "testopenai"
    assert row["model_used"] == "gpt-4o-mini"
    assert row["balancer"] == "balancer://testopenai"
    assert row["finding_count"] >= 1
    types = {f["type"] for f in findings_of(row)}
    assert "AWS_ACCESS_KEY" in types, row["findings"]
    f = findings_of(row)[0]
    assert set(f) >= {"type", "rule", "location", "count"}, f
    assert f["location"].startswith("messages[0]"), f
    # Never the value: not in the row, not in the error log.
    assert secret not in json.dumps(row, default=str)
    assert secret not in gw.error_log_text()


def test_request_refused_before_routing_names_user_and_provider(
        gw, mock, minter, user_agent):
    """A header refused by mod_llm_route before it picks the provider
    (invalid_header): the row still names the caller and the provider the
    model maps to (an alias included), from the log phase."""
    tok = minter.mint(sub="erin", groups=["developers"])
    resp = gw.client().post(CHAT, chat("hello", model="claude-sonnet-4-5"),
                            token=tok,
                            headers={"User-Agent": user_agent,
                                     "anthropic-version": "2023-06-01 x"})
    assert resp.status == 400, resp
    assert resp.json()["error"]["code"] == "invalid_header", resp
    assert mock.requests == []
    row = one_row(gw, user_agent)
    assert row["decision"] == "invalid"
    assert row["reason"] == "invalid_header"
    assert row["user_name"] == "erin"
    assert row["provider"] == "testanthropic"
    assert row["balancer"] == "balancer://testanthropic"
    assert row["model_used"] == "claude-sonnet-4-5"


def test_redacted_request_is_recorded_as_redact(gw, mock, minter,
                                                user_agent):
    email = "jane.doe.%s@gmail.com" % uuid.uuid4().hex[:6]
    tok = minter.mint(sub="redact-user")
    resp = gw.client().post(CHAT, chat("write to %s please" % email),
                            token=tok, headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    assert email.encode() not in mock.last_request().body
    row = one_row(gw, user_agent)
    assert row["decision"] == "redact"
    assert any(f["type"] == "EMAIL" and f["action"] == "redact"
               for f in findings_of(row)), row["findings"]
    assert email not in json.dumps(row, default=str)


@PG_ONLY
def test_over_quota_is_recorded_as_quota(gw, minter, mock, gateway_factory,
                                         audit_pg, user_agent):
    g = gateway_factory.make(pg=audit_pg, gateway_d=dict(same_key(gw), **{
        "61-tight-quota.conf": "<Location /v1>\n    LLMRouteQuota user requests/minute 1\n</Location>\n"}))
    tok = minter.mint(sub="quota-" + uuid.uuid4().hex[:6])
    c = g.client()
    assert c.post(CHAT, chat(), token=tok, headers={
        "User-Agent": user_agent + "/1"}).status == 200
    r = c.post(CHAT, chat(), token=tok, headers={
        "User-Agent": user_agent + "/2"})
    assert r.status == 429, r
    row = one_row(g, user_agent + "/2")
    assert row["decision"] == "quota" and row["http_status"] == 429
    assert row["user_name"].startswith("quota-")


def test_latin1_header_still_gets_its_row(gw, mock, minter, user_agent):
    """A User-Agent in Latin-1 (not UTF-8) must not keep the row out of
    PostgreSQL: stray bytes become '?'."""
    ua = user_agent + "/caf\xe9"            # sent as the byte 0xE9
    resp = gw.client().post(CHAT, chat(), token=minter.mint(sub="latin1"),
                            headers={"User-Agent": ua})
    assert resp.status == 200
    row = one_row(gw, user_agent + "/caf?")
    assert row["decision"] == "allow"
    assert_verified(gw)


def test_malformed_request_is_recorded_as_invalid(gw, mock, minter,
                                                  user_agent):
    tok = minter.mint(sub="carol")
    resp = gw.client().post(CHAT, b'{"model": "gpt-4o-mini", "messages": [',
                            token=tok, headers={"User-Agent": user_agent})
    assert resp.status == 400, resp
    row = one_row(gw, user_agent)
    assert row["decision"] == "invalid"
    assert row["http_status"] == 400
    assert row["user_name"] == "carol"
    assert mock.requests == []


def test_upstream_error_is_recorded_as_error(gw, mock, minter, user_agent):
    mock.fail_next(500)
    tok = minter.mint(sub="dave")
    resp = gw.client().post(CHAT, chat(), token=tok,
                            headers={"User-Agent": user_agent})
    assert resp.status >= 500, resp
    row = one_row(gw, user_agent)
    assert row["decision"] == "error"
    assert row["http_status"] == resp.status
    assert row["upstream_status"] == 500
    assert row["provider"] == "testopenai"


def test_stream_row_has_ttfb_and_tokens(gw, mock, minter, user_agent):
    tok = minter.mint(sub="erin")
    events = list(gw.client().stream(
        CHAT, chat("count to ten", stream=True,
                   stream_options={"include_usage": True}),
        token=tok, headers={"User-Agent": user_agent}))
    assert events[0][1].status == 200
    row = one_row(gw, user_agent)
    assert row["decision"] == "allow"
    assert row["stream"] == 1
    assert row["ttfb_us"] is not None and 0 < row["ttfb_us"] <= row["latency_us"]
    assert row["tokens_in"] > 0 and row["tokens_out"] > 0


def test_cost_prices_cached_input_separately(gw, mock, minter, user_agent):
    """50-audit.conf: gpt-4o-mini* 0.15 input, 0.075 cached, 0.60 output
    USD per million tokens; tokens_in counts the cached ones too."""
    mock.cached_tokens = 8
    tok = minter.mint(sub="frank")
    resp = gw.client().post(CHAT, chat("x" * 400), token=tok,
                            headers={"User-Agent": user_agent})
    assert resp.status == 200
    row = one_row(gw, user_agent)
    tin, tcached, tout = (row["tokens_in"], row["tokens_cached"],
                          row["tokens_out"])
    assert tin > 0 and tout > 0, row
    assert tcached == 8, row
    expect = ((tin - tcached) * 0.15 + tcached * 0.075 + tout * 0.60) / 1e6
    assert abs(float(row["cost"]) - expect) < 1e-9, (row["cost"], expect)


# -- the chain ---------------------------------------------------------------

def seed(g, minter, n=6):
    tok = minter.mint(sub="chain-" + uuid.uuid4().hex[:6])
    ua = "gwtest/chain/" + uuid.uuid4().hex
    for i in range(n):
        r = g.client().post(CHAT, chat("row %d" % i), token=tok,
                            headers={"User-Agent": ua})
        assert r.status == 200, r
    rows = g.audit.rows_for_user_agent(ua, count=n)
    assert len(rows) == n
    return rows


def longest_chain_rows(g):
    chain = g.audit.query("SELECT chain_id FROM llm_audit GROUP BY chain_id "
                          "ORDER BY count(*) DESC LIMIT 1")[0]["chain_id"]
    return raw_rows(g, "chain_id = %s ORDER BY seq", (chain,))


def test_verify_accepts_untouched_chains(gw, mock, minter):
    seed(gw, minter)
    out = assert_verified(gw)
    rc, verbose = ah.verify(gw, "-v", "--page-size", "10000")
    assert rc == 0 and "chain " in verbose
    assert verbose.splitlines()[-1] == out.splitlines()[-1]


@PG_ONLY
def test_verify_takes_several_keys(gw, mock, minter, gateway_factory,
                                   audit_pg, tmp_path):
    """Another gateway with its own key writes to the same table: its rows
    fail under gw's key alone and verify when both keys are given."""
    other = gateway_factory.make(pg=audit_pg)
    ua = "gwtest/otherkey/" + uuid.uuid4().hex
    assert other.client().post(CHAT, chat(), token=minter.mint(sub="o"),
                               headers={"User-Agent": ua}).status == 200
    rows = other.audit.rows_for_user_agent(ua)
    assert len(rows) == 1
    rc, out = ah.verify(gw)
    assert rc == 1 and "EDITED" in out, out
    rc, out = ah.verify(gw, "-k", ah.key_file(other))
    assert rc == 0, out
    # Stopped first: its chain's end record is written, then goes too.
    os.kill(other.proc.pid, signal.SIGWINCH)
    other.proc.wait(30)
    audit_pg.execute("DELETE FROM llm_audit WHERE chain_id = %s",
                     (rows[0]["chain_id"],))
    assert_verified(gw)


def test_python_mac_matches_module(gw, mock, minter):
    """A second reading of the format: the MAC recomputed here from the
    row's columns, as the database returns them, equals the module's."""
    seed(gw, minter, 2)
    key = ah.read_key(gw)
    rows = raw_rows(gw, "1 = 1 ORDER BY id DESC LIMIT 2")
    assert len(rows) == 2
    for row in rows:
        assert ah.row_mac(key, row) == row["mac"], row


def test_verify_detects_an_edited_row(gw, mock, minter):
    seed(gw, minter)
    rows = longest_chain_rows(gw)
    victim = rows[len(rows) // 2]
    db_exec(gw, "UPDATE llm_audit SET decision = 'allow', "
                     "model_used = 'gpt-4o' WHERE id = %s", (victim["id"],))
    try:
        rc, out = ah.verify(gw)
        assert rc == 1, out
        assert "EDITED" in out and "id=%d " % victim["id"] in out, out
    finally:
        db_exec(gw, "UPDATE llm_audit SET decision = %s, model_used = "
                         "%s WHERE id = %s", (victim["decision"],
                                              victim["model_used"],
                                              victim["id"]))
    assert_verified(gw)


def test_verify_detects_an_edited_number(gw, mock, minter):
    seed(gw, minter)
    victim = longest_chain_rows(gw)[2]
    db_exec(gw, "UPDATE llm_audit SET tokens_out = tokens_out + 1000 "
                     "WHERE id = %s", (victim["id"],))
    try:
        rc, out = ah.verify(gw)
        assert rc == 1 and "EDITED" in out and "id=%d " % victim["id"] in out
    finally:
        db_exec(gw, "UPDATE llm_audit SET tokens_out = %s WHERE id = %s",
                         (victim["tokens_out"], victim["id"]))
    assert_verified(gw)


def test_verify_detects_an_edited_time(gw, mock, minter):
    seed(gw, minter)
    victim = longest_chain_rows(gw)[1]
    earlier = as_datetime(victim["ts"]) - datetime.timedelta(seconds=1)
    db_exec(gw, "UPDATE llm_audit SET ts = %s WHERE id = %s",
            (ah.fmt_time(earlier), victim["id"]))
    try:
        rc, out = ah.verify(gw)
        assert rc == 1 and "EDITED" in out and "id=%d " % victim["id"] in out
    finally:
        db_exec(gw, "UPDATE llm_audit SET ts = %s WHERE id = %s",
                (victim["ts"], victim["id"]))
    assert_verified(gw)


def reinsert(g, row):
    cols = list(row)
    db_exec(g, "INSERT INTO llm_audit (%s) VALUES (%s)" % (
        ", ".join(cols), ", ".join(["%s"] * len(cols))),
        [row[c] for c in cols])


def raw_rows(g, where, params=None):
    """Rows as stored (findings as its exact text), for reinsertion."""
    if g.pg is None:
        return g.audit.query("SELECT * FROM llm_audit WHERE " + where,
                             params)
    rows = g.pg.query("SELECT *, findings::text AS findings_text FROM "
                      "llm_audit WHERE " + where, params)
    for r in rows:
        r["findings"] = r.pop("findings_text")
    return rows


def test_verify_detects_a_deleted_row(gw, mock, minter):
    seed(gw, minter)
    victim = longest_chain_rows(gw)[2]
    db_exec(gw, "DELETE FROM llm_audit WHERE id = %s", (victim["id"],))
    try:
        rc, out = ah.verify(gw)
        assert rc == 1, out
        assert "GAP" in out and "seq %d..%d missing" % (victim["seq"],
                                                        victim["seq"]) in out
    finally:
        reinsert(gw, victim)
    assert_verified(gw)


def test_verify_detects_deleted_chain_head(gw, mock, minter):
    seed(gw, minter)
    head = longest_chain_rows(gw)[0]
    assert head["seq"] == 1
    db_exec(gw, "DELETE FROM llm_audit WHERE id = %s", (head["id"],))
    try:
        rc, out = ah.verify(gw)
        assert rc == 1 and "HEAD" in out, out
    finally:
        reinsert(gw, head)
    assert_verified(gw)


def test_verify_detects_reordered_rows(gw, mock, minter):
    """Swap the places (seq) of two rows: both fail their MAC and the
    rows after them no longer follow."""
    seed(gw, minter)
    rows = longest_chain_rows(gw)
    a, b = rows[1], rows[2]
    swap = ("UPDATE llm_audit SET seq = CASE id WHEN %s THEN %s ELSE %s END "
            "WHERE id IN (%s, %s)")
    db_exec(gw, swap, (a["id"], b["seq"], a["seq"], a["id"], b["id"]))
    try:
        rc, out = ah.verify(gw)
        assert rc == 1, out
        assert "id=%d " % a["id"] in out and "id=%d " % b["id"] in out, out
        assert "REORDERED" in out, out
    finally:
        db_exec(gw, swap, (a["id"], a["seq"], b["seq"], a["id"], b["id"]))
    assert_verified(gw)


def test_verify_detects_a_forged_row(gw, mock, minter):
    """A DBA without the key cannot add a row that verifies."""
    seed(gw, minter)
    rows = raw_rows(gw, "1 = 1 ORDER BY id DESC LIMIT 1")
    forged = dict(rows[0])
    del forged["id"]
    forged["request_id"] = "forged-" + uuid.uuid4().hex
    forged["seq"] = forged["seq"] + 1000
    reinsert(gw, forged)
    try:
        rc, out = ah.verify(gw)
        assert rc == 1 and ("GAP" in out or "EDITED" in out), out
    finally:
        db_exec(gw, "DELETE FROM llm_audit WHERE request_id = %s",
                (forged["request_id"],))
    assert_verified(gw)


# -- retention -----------------------------------------------------------------

@PG_ONLY
def test_retention_drops_old_partition_and_chain_still_verifies(gw, audit_pg):
    """Rows of one writer spanning an old month and this one; dropping the
    old month leaves a chain that starts at seq > 1, accepted because the
    retention step checkpointed it -- and a head deleted without a
    checkpoint is still caught."""
    key = ah.read_key(gw)
    now = datetime.datetime.now(datetime.timezone.utc)
    old = datetime.datetime(2024, 1, 15, 12, 0, 0, 123456,
                            tzinfo=datetime.timezone.utc)
    audit_pg.execute("CREATE TABLE IF NOT EXISTS llm_audit_202401 PARTITION "
                     "OF llm_audit FOR VALUES FROM ('2024-01-01 00:00:00+00')"
                     " TO ('2024-02-01 00:00:00+00')")
    chain = "retention-host:1:%d" % int(now.timestamp())
    rows = []
    for i, ts in enumerate([old] * 3 + [now] * 3):
        rows.append({
            "ts": ah.fmt_time(ts + datetime.timedelta(microseconds=i)),
            "request_id": "ret-%s-%d" % (uuid.uuid4().hex[:8], i),
            "decision": "allow", "http_status": 200, "user_name": "ret",
            "findings": "[]", "finding_count": 0, "cost": "0.000001230",
        })
    ah.make_chain(key, chain, rows)
    for r in rows:
        cols = list(r)
        audit_pg.execute("INSERT INTO llm_audit (%s) VALUES (%s)" % (
            ", ".join(cols), ", ".join(["%s"] * len(cols))),
            [r[c] for c in cols])
    assert_verified(gw)

    conn = audit_pg.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT llm_audit_drop_before("
                        "'2024-02-01 00:00:00+00')")
            dropped = [r[0] for r in cur.fetchall()]
        conn.commit()
    finally:
        conn.close()
    assert dropped == ["llm_audit_202401"]
    left = audit_pg.query("SELECT seq FROM llm_audit WHERE chain_id = %s "
                          "ORDER BY seq", (chain,))
    assert [r["seq"] for r in left] == [4, 5, 6]
    assert audit_pg.query("SELECT seq, mac FROM llm_audit_checkpoint WHERE "
                          "chain_id = %s", (chain,)) == [
        {"seq": 3, "mac": rows[2]["mac"]}]
    out = assert_verified(gw)

    # The same gap without the checkpoint is a deletion.
    audit_pg.execute("DELETE FROM llm_audit_checkpoint WHERE chain_id = %s",
                     (chain,))
    rc, out = ah.verify(gw)
    assert rc == 1 and "HEAD" in out and chain in out, out
    audit_pg.execute("DELETE FROM llm_audit WHERE chain_id = %s", (chain,))
    assert_verified(gw)


@PG_ONLY
def test_verify_as_the_read_only_auditor(gw, audit_pg):
    import subprocess
    pg = audit_pg
    proc = subprocess.run(
        [ah.find_tool("llm-audit-verify"), "-d", "pgsql", "-p",
         "host=%s port=%d dbname=%s user=llm_auditor" % (
             pg.socket_dir, pg.port, pg.dbname), "-k", ah.key_file(gw)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = proc.stdout.decode()
    assert proc.returncode == 0 and "all chains intact" in out, out
    import psycopg2
    conn = psycopg2.connect(host=pg.socket_dir, port=pg.port,
                            dbname=pg.dbname, user="llm_auditor")
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error):
            cur.execute("DELETE FROM llm_audit")
    finally:
        conn.close()


def test_gateway_role_cannot_read_change_or_delete(audit_pg):
    import psycopg2
    for sql in ("SELECT * FROM llm_audit",
                "UPDATE llm_audit SET decision = 'allow'",
                "DELETE FROM llm_audit",
                "TRUNCATE llm_audit"):
        conn = audit_pg.connect(as_gateway=True)
        try:
            with conn.cursor() as cur, pytest.raises(psycopg2.Error):
                cur.execute(sql)
        finally:
            conn.close()


# -- body capture ----------------------------------------------------------------

BODY_KEY = "c0ffee" * 10 + "c0ff"


@PG_ONLY
def test_body_capture_is_encrypted_and_decryptable(gw, minter, mock,
                                                   gateway_factory, audit_pg,
                                                   user_agent):
    g = gateway_factory.make(pg=audit_pg, start=False, gateway_d=dict(
        same_key(gw), **{"60-audit-bodies.conf":
            'LLMAuditBodyKeyFile "${LLM_GW_DATA}/keys/audit-body.key"\n'
            "<Location /v1>\n    LLMAuditBodies full\n</Location>\n"}))
    g.build()
    key_path = os.path.join(g.keys_dir, "audit-body.key")
    with open(key_path, "w") as f:
        f.write(BODY_KEY + "\n")
    os.chmod(key_path, 0o600)
    g.start()
    body = chat("a body worth keeping " + uuid.uuid4().hex)
    resp = g.client().post(CHAT, body, token=minter.mint(sub="gina"),
                           headers={"User-Agent": user_agent})
    assert resp.status == 200
    row = one_row(g, user_agent)
    assert row["body_mode"] == "full"
    assert row["body"].startswith("v1:")
    assert b"worth keeping" not in row["body"].encode()
    rc, out, err = ah.decrypt(g, key_path, row["request_id"])
    assert rc == 0, err
    assert out.rstrip(b"\n") == body
    # "full" keeps the body as the client sent it, even when the provider
    # got a redacted one (encrypted at rest, like every captured body).
    email = "kim.%s@gmail.com" % uuid.uuid4().hex[:6]
    body2 = chat("mail " + email)
    resp = g.client().post(CHAT, body2, token=minter.mint(sub="gina"),
                           headers={"User-Agent": user_agent + "/pii"})
    assert resp.status == 200
    assert email.encode() not in mock.last_request().body
    row2 = one_row(g, user_agent + "/pii")
    assert row2["decision"] == "redact"
    assert row2["body_mode"] == "full"
    assert email not in row2["body"]
    rc, out2, err = ah.decrypt(g, key_path, row2["request_id"])
    assert rc == 0, err
    assert out2.rstrip(b"\n") == body2
    # Associated data: the body does not decrypt under another request id.
    import subprocess
    proc = subprocess.run([ah.find_tool("llm-audit-decrypt"), "-k", key_path,
                           "-r", "someone-else"], input=row["body"].encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 1 and b"authentication failed" in proc.stderr


# -- metrics and status -------------------------------------------------------------

def test_metrics_count_what_was_sent(gw, mock, minter):
    before = ah.metrics(gw)
    tok = minter.mint(sub="metrics-user")
    for _ in range(3):
        assert gw.client().post(CHAT, chat("hi"), token=tok).status == 200
    assert gw.client().post(CHAT, chat("k " + fake_aws_key()),
                            token=tok).status == 403
    assert gw.client().post(CHAT, chat(), token=None).status == 401
    import time
    deadline = time.time() + 10
    while True:
        after = ah.metrics(gw)

        def delta(name, **labels):
            return (ah.metric_sum(after, name, **labels)
                    - ah.metric_sum(before, name, **labels))
        if delta("llm_gateway_requests_total") >= 5 or time.time() > deadline:
            break
        time.sleep(0.1)
    # The model label is the route the request took (gpt-*), never the
    # caller's own string.
    assert delta("llm_gateway_requests_total", provider="testopenai",
                 model="gpt-*", decision="allow", status="200") == 3
    assert delta("llm_gateway_requests_total", decision="block",
                 status="403") == 1
    assert delta("llm_gateway_requests_total", decision="deny",
                 status="401") == 1
    assert delta("llm_gateway_findings_total", type="AWS_ACCESS_KEY") >= 1
    assert delta("llm_gateway_tokens_total", provider="testopenai",
                 model="gpt-*", kind="output") > 0
    assert delta("llm_gateway_request_duration_seconds_count",
                 provider="testopenai", model="gpt-*") >= 3
    assert delta("llm_gateway_bytes_total", provider="testopenai",
                 model="gpt-*", direction="out") > 0
    assert delta("llm_gateway_audit_records_total") == 5
    assert ah.metric_sum(after, "llm_gateway_audit_db_up") == 1
    assert ah.metric_sum(after, "llm_gateway_audit_spool_records") == 0


def test_metrics_survive_graceful_restart(gw, mock, minter):
    tok = minter.mint(sub="graceful-user")
    assert gw.client().post(CHAT, chat("hi"), token=tok).status == 200
    import time
    time.sleep(0.5)
    before = ah.metric_sum(ah.metrics(gw), "llm_gateway_requests_total")
    assert before >= 1
    gw.graceful()
    after = ah.metric_sum(ah.metrics(gw), "llm_gateway_requests_total")
    assert after >= before


def test_status_page_shows_blocks_without_values(gw, mock, minter):
    import urllib.request
    secret = fake_aws_key()
    tok = minter.mint(sub="status-user")
    assert gw.client().post(CHAT, chat("k " + secret), token=tok).status == 403
    assert gw.client().post(CHAT, chat("hello"), token=tok).status == 200
    import time
    time.sleep(0.5)
    with urllib.request.urlopen("http://127.0.0.1:%d/llm-status" % gw.port,
                                timeout=10) as resp:
        html = resp.read().decode()
    assert "AWS_ACCESS_KEY" in html
    assert "status-user" in html      # top users today
    assert secret not in html
    with urllib.request.urlopen("http://127.0.0.1:%d/llm-status?auto"
                                % gw.port, timeout=10) as resp:
        text = resp.read().decode()
    assert "Requests: " in text and "DBUp: 1" in text


# -- configuration errors --------------------------------------------------------------

@pytest.mark.parametrize("conf,message", [
    ("<Location /v1>\nLLMAuditBodies everything\n</Location>",
     "LLMAuditBodies: 'everything' is not one of off, redacted, full"),
    ("LLMAuditSpoolMaxSize 12Q", "LLMAuditSpoolMaxSize: '12Q' is not a size"),
    ("LLMAuditSpoolMaxSize 100", "below the minimum"),
    ("LLMAuditPrice gpt-* 1 2", "LLMAuditPrice takes a model pattern and "
                                "three prices"),
    ("LLMAuditPrice gpt-* 1 two 3", "cached input price 'two'"),
    ("LLMAuditSchema oracle /etc/hosts", "driver 'oracle' is not"),
    ("LLMAuditSchema sqlite3 /nonexistent.sql", "is not a readable file"),
    ("LLMAuditReplayInterval 0", "LLMAuditReplayInterval: '0'"),
    ("LLMAuditBodyKeyFile /nonexistent/body.key",
     "LLMAuditBodyKeyFile: cannot read /nonexistent/body.key"),
    ("<Location /x>\nLLMAuditKeyFile /tmp/k\n</Location>",
     "LLMAuditKeyFile not allowed in <Location>"),
    ("<VirtualHost 127.0.0.1:1>\nLLMAuditSpool /tmp/s\n</VirtualHost>",
     "LLMAuditSpool cannot occur within <VirtualHost> section"),
])
def test_bad_directive_values_fail_config_test(minter, gateway_factory,
                                               audit_pg, conf, message):
    g = gateway_factory.make(pg=audit_pg, start=False,
                             gateway_d={"99-bad.conf": conf + "\n"})
    g.build()
    rc, out = g.check_config()
    assert rc != 0, out
    assert message in out, out


# -- concurrency -------------------------------------------------------------------------

def test_concurrent_requests_one_row_each_chains_intact(gw, mock, minter):
    """Threads of several httpd processes write at once: every request has
    exactly one row (SQLite's busy moments go through the spool) and every
    chain verifies."""
    import threading
    import time
    tok = minter.mint(sub="concurrent")
    run = "gwtest/concurrent/%s/" % uuid.uuid4().hex[:8]
    errors = []

    def worker(k):
        c = gw.client()
        for i in range(25):
            r = c.post(CHAT, chat("t%d r%d" % (k, i)), token=tok,
                       headers={"User-Agent": "%s%d-%d" % (run, k, i)})
            if r.status != 200:
                errors.append(r)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    deadline = time.time() + 30
    while True:
        rows = gw.audit.query("SELECT user_agent FROM llm_audit WHERE "
                              "user_agent LIKE %s", (run + "%",))
        if len(rows) >= 200 or time.time() > deadline:
            break
        time.sleep(0.3)
    time.sleep(0.5)
    rows = gw.audit.query("SELECT user_agent FROM llm_audit WHERE "
                          "user_agent LIKE %s", (run + "%",))
    uas = [r["user_agent"] for r in rows]
    assert len(uas) == 200 and len(set(uas)) == 200, len(uas)
    assert_verified(gw)


def test_schema_directive_creates_the_postgresql_table(minter, mock,
                                                       gateway_factory,
                                                       user_agent):
    """LLMAuditSchema pgsql runs conf/sql/postgresql.sql (functions and
    all) on a database that has no table yet, for a role allowed to."""
    pg = PostgresServer()
    try:
        pg.init()
        pg.execute("GRANT ALL ON SCHEMA public TO %s" % pg.gateway_user)
        g = gateway_factory.make(pg=pg, gateway_d={
            "56-schema.conf":
                'LLMAuditSchema pgsql "${LLM_GW_SQL}/postgresql.sql"\n'})
        assert g.client().post(CHAT, chat(), token=minter.mint(sub="s"),
                               headers={"User-Agent": user_agent}
                               ).status == 200
        import time
        deadline = time.time() + 15
        while not pg.table_exists("llm_audit") and time.time() < deadline:
            time.sleep(0.2)
        rows = pg.wait_for_rows("SELECT * FROM llm_audit WHERE user_agent "
                                "= %s", (user_agent,), timeout=15)
        assert len(rows) == 1 and rows[0]["decision"] == "allow"
        assert pg.query("SELECT count(*) AS n FROM pg_inherits WHERE "
                        "inhparent = 'llm_audit'::regclass")[0]["n"] >= 4
    finally:
        pg.destroy()


@PG_ONLY
def test_refused_spool_record_does_not_block_the_others(gw, mock):
    """A spooled record the database answers but refuses is set aside in
    <spool>.rejected; the records behind it are replayed."""
    import time
    key = ah.read_key(gw)
    now = datetime.datetime.now(datetime.timezone.utc)
    chain = "poison:1:%d" % int(now.timestamp() * 1e6)
    good = ah.make_chain(key, chain, [{
        "ts": ah.fmt_time(now), "request_id": "good-" + uuid.uuid4().hex,
        "decision": "allow", "findings": "[]", "finding_count": 0,
        "http_status": 200}])[0]
    bad = dict(good, request_id="bad-" + uuid.uuid4().hex, ts="not a time",
               seq=99)
    spool = os.path.join(gw.data_dir, "spool", "audit.spool")
    with open(spool, "a") as f:
        for rec in (bad, good):
            f.write(json.dumps({k: str(v) for k, v in rec.items()}) + "\n")
    os.chown(spool, gw.uid, gw.gid)     # as if the children had written it
    deadline = time.time() + 20
    while time.time() < deadline and os.path.getsize(spool) > 0:
        time.sleep(0.2)
    assert os.path.getsize(spool) == 0, gw.error_log_tail(10)
    rows = gw.audit.query("SELECT request_id FROM llm_audit WHERE "
                          "chain_id = %s", (chain,))
    assert [r["request_id"] for r in rows] == [good["request_id"]]
    with open(spool + ".rejected") as f:
        assert bad["request_id"] in f.read()
    assert "LLM03025" in gw.error_log_text()
    assert_verified(gw)
    db_exec(gw, "DELETE FROM llm_audit WHERE chain_id = %s", (chain,))


def writers(g):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/llm-status?auto"
                                % g.port, timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    keys = [line.split(":", 1)[0] for line in text.splitlines()]
    assert len(keys) == len(set(keys)), "?auto repeats a key: %s" % text
    for line in text.splitlines():
        if line.startswith("Chain-"):
            chain, seq = line.split(": ", 1)[1].rsplit(" ", 1)
            out[chain] = int(seq)
    return out


def test_status_writers_show_rows_cut_from_a_chain_end(gw, mock, minter):
    """The chain cannot show its own last rows deleted; the writers table
    (status page) keeps each live chain's last seq to compare with."""
    import time
    seed(gw, minter, 4)
    time.sleep(0.5)
    heads = writers(gw)
    db = {r["chain_id"]: r["seq"] for r in gw.audit.query(
        "SELECT chain_id, MAX(seq) AS seq FROM llm_audit GROUP BY chain_id")}
    live = {c: s for c, s in heads.items() if c in db}
    assert live, (heads, db)
    assert all(db[c] == s for c, s in live.items()), (live, db)
    chain, seq = max(live.items(), key=lambda kv: kv[1])
    last = raw_rows(gw, "chain_id = %s AND seq = %s", (chain, seq))[0]
    db_exec(gw, "DELETE FROM llm_audit WHERE id = %s", (last["id"],))
    try:
        rc, out = ah.verify(gw)
        assert rc == 0, "a cut tail is invisible to the chain alone"
        now = gw.audit.query("SELECT MAX(seq) AS seq FROM llm_audit WHERE "
                             "chain_id = %s", (chain,))[0]["seq"]
        assert now < writers(gw)[chain], "but not to the writers table"
    finally:
        reinsert(gw, last)
    assert_verified(gw)
