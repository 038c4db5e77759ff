"""Budgets after a full restart (issue 5): with LLMRouteQuotaRestore On, an
empty counter table (a fresh start, not a graceful restart) gets the day
and month counters of users and groups back from the audit table -- what
reached a provider today and this month -- so a budget spent before a
restart stays spent.  The gateway's role needs SELECT on the columns read;
without it the gateway says so and serves with counters from zero.
"""

import datetime
import os
import time
import uuid

import pytest

from gwtest.httpd import GatewayServer, REPO_ROOT
from gwtest.pg import PostgresServer

PG_SCHEMA = os.path.join(REPO_ROOT, "conf", "sql", "postgresql.sql")
CHAT = "/v1/chat/completions"

QUOTAS = """\
LLMRouteQuotaRestore On
LLMRouteQuota user          tokens/day   1000
LLMRouteQuota user          tokens/month 5000
LLMRouteQuota group:team-x  tokens/day   2000
"""


@pytest.fixture(scope="module")
def budget_pg():
    """Its own PostgreSQL: the test writes made-up audit rows."""
    pg = PostgresServer()
    try:
        pg.init()
        pg.load_schema_file(PG_SCHEMA)
        pg.execute("GRANT USAGE ON SCHEMA public TO {u};"
                   "GRANT INSERT ON llm_audit TO {u};"
                   "GRANT USAGE ON SEQUENCE llm_audit_id_seq TO {u};"
                   "GRANT SELECT (ts, user_name, user_groups, decision,"
                   " tokens_in, tokens_out) ON llm_audit TO {u};"
                   .format(u=pg.gateway_user))
        yield pg
    finally:
        pg.destroy()


_seq = [0]


def audit_row(pg, ts, user, groups, decision, tokens_in, tokens_out):
    _seq[0] += 1
    pg.execute("INSERT INTO llm_audit (ts, request_id, chain_id, seq,"
               " prev_mac, mac, user_name, user_groups, decision,"
               " tokens_in, tokens_out) VALUES"
               " (%s, %s, 'seeded', %s, '', '', %s, %s, %s, %s, %s)",
               (ts, uuid.uuid4().hex, _seq[0], user, groups, decision,
                tokens_in, tokens_out))


def chat():
    return {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}]}


def wait_for_log(g, text, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in g.error_log_text():
            return True
        time.sleep(0.2)
    return False


def test_budgets_rebuilt_from_audit_table(minter, mock_provider, budget_pg):
    now = datetime.datetime.now(datetime.timezone.utc)
    today = now.replace(hour=0, minute=0, second=1, microsecond=0)
    month = now.replace(day=1, hour=0, minute=0, second=1, microsecond=0)
    last_month = month - datetime.timedelta(days=2)
    run = uuid.uuid4().hex[:6]
    day_user, month_user, other = ("day-" + run, "month-" + run,
                                   "other-" + run)
    g1, g2 = "g1-" + run, "g2-" + run

    audit_row(budget_pg, today, day_user, "developers", "allow", 900, 95)
    if now.day > 1:
        audit_row(budget_pg, month, month_user, "developers", "allow",
                  4000, 990)
    # Not counted: another month, refusals, blocked requests.
    audit_row(budget_pg, last_month, other, "developers", "allow", 10 ** 6, 0)
    audit_row(budget_pg, today, other, "developers", "quota", 10 ** 6, 0)
    audit_row(budget_pg, today, other, "developers", "block", 10 ** 6, 0)
    # A group's day budget, spent by one member.
    audit_row(budget_pg, today, g1, "developers,team-x", "redact", 1500, 490)

    g = GatewayServer(minter, mock=mock_provider, pg=budget_pg,
                      gateway_d={"60-quotas.conf": QUOTAS})
    try:
        g.start()
        assert wait_for_log(g, "LLM02130"), g.error_log_tail()
        c = g.client()

        resp = c.post(CHAT, chat(), token=minter.mint(sub=day_user))
        assert resp.status == 429, resp
        assert resp.json()["error"]["code"] == "budget_exceeded"
        assert "per day" in resp.json()["error"]["message"]

        if now.day > 1:
            resp = c.post(CHAT, chat(), token=minter.mint(sub=month_user))
            assert resp.status == 429, resp
            assert "per month" in resp.json()["error"]["message"]

        resp = c.post(CHAT, chat(), token=minter.mint(sub=other))
        assert resp.status == 200, resp
        remaining = int(resp.header("x-ratelimit-remaining-tokens"))
        assert remaining > 900, "other rows were counted: %r" % remaining

        resp = c.post(CHAT, chat(), token=minter.mint(
            sub=g2, groups=["developers", "team-x"]))
        assert resp.status == 429, resp
        assert "group team-x" in resp.json()["error"]["message"]
        # The member's own user counter was rebuilt too: g1 is at 1990 of
        # the user day budget of 1000 as well.
        resp = c.post(CHAT, chat(), token=minter.mint(sub=g1,
                                                      groups=["developers"]))
        assert resp.status == 429, resp

        # A graceful restart keeps the table: no second rebuild.
        g.graceful()
        time.sleep(5)
        assert g.error_log_text().count("LLM02130") == 1
        assert c.post(CHAT, chat(), token=minter.mint(
            sub=day_user)).status == 429
    finally:
        g.destroy()


def test_without_select_grant_the_gateway_says_so_and_serves(
        minter, mock_provider, budget_pg):
    budget_pg.execute("REVOKE SELECT (ts, user_name, user_groups, decision,"
                      " tokens_in, tokens_out) ON llm_audit FROM %s"
                      % budget_pg.gateway_user)
    g = GatewayServer(minter, mock=mock_provider, pg=budget_pg,
                      gateway_d={"60-quotas.conf": QUOTAS})
    try:
        g.start()
        assert wait_for_log(g, "LLM02132"), g.error_log_tail()
        assert "SELECT" in g.error_log_text()
        resp = g.client().post(CHAT, chat(),
                               token=minter.mint(sub="nogrant-user"))
        assert resp.status == 200, resp
    finally:
        g.destroy()


def test_rebuilt_from_embedded_sqlite(minter, mock_provider):
    """The sample's default audit database works the same way."""
    import sqlite3
    user = "sqlite-" + uuid.uuid4().hex[:6]
    now = datetime.datetime.now(datetime.timezone.utc)
    g = GatewayServer(minter, mock=mock_provider, pg=None,
                      gateway_d={"60-quotas.conf": QUOTAS})
    try:
        g.build()
        db = sqlite3.connect(g.sqlite_path)
        db.execute("INSERT INTO llm_audit (ts, request_id, chain_id, seq,"
                   " prev_mac, mac, user_name, user_groups, decision,"
                   " tokens_in, tokens_out) VALUES (?, ?, 'seeded', 1, '', '',"
                   " ?, 'developers', 'allow', 990, 5)",
                   (now.strftime("%Y-%m-%d %H:%M:%S.%fZ"), uuid.uuid4().hex,
                    user))
        db.commit()
        db.close()
        time.sleep(1.1)      # the row is older than the counter table
        g.start()
        assert wait_for_log(g, "LLM02130"), g.error_log_tail()
        resp = g.client().post(CHAT, chat(), token=minter.mint(sub=user))
        assert resp.status == 429, resp
        assert "per day" in resp.json()["error"]["message"]
    finally:
        g.destroy()
