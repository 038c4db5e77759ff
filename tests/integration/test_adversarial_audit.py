"""Adversarial tests of the audit path (issue 10, items 16-18): a failing
machine tries to get a request answered without its row.

- A database another session has locked (LOCK TABLE ... ACCESS EXCLUSIVE)
  while requests are answered and every httpd child is killed with
  SIGKILL twice, mid-traffic: once the lock goes, every answered request
  has exactly one row, none doubled, and llm-audit-verify passes -- also
  with every chain required to end with its end record once httpd is
  stopped.  The same crash storm without a stalled database, with and
  without LLMAuditBatch, and on the SQLite default.
- Rows cut from the end of a chain are reported (TAIL).
- LLMAuditRequired On: no request reaches the provider unless its record's
  place is secured (journaled) first; a gateway that cannot journal
  answers 503 in the caller's dialect and forwards nothing.
- The logs name the real cause of an outage and say nothing about a
  journal that held nothing.

Every wait is on a condition (rows present, children respawned, journal
files gone), never a fixed sleep.
"""

import glob
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import uuid

import pytest

import audit_helpers as ah
# The outage tests' own PostgreSQL, locked, stopped and started by a test.
from test_audit_outage import own_pg, spool_path, wait_until  # noqa: F401

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def chat(content):
    return json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": content}]}).encode()


def child_pids(g):
    """httpd's live children (killed ones linger as zombies until reaped)."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid",
                          str(g.proc.pid)], capture_output=True,
                         text=True).stdout
    pids = []
    for line in out.splitlines():
        pid, stat = line.split()
        if not stat.startswith("Z"):
            pids.append(int(pid))
    return pids


def kill_children(g):
    """SIGKILL every child; return once httpd has children again, none of
    them one that was killed."""
    old = set(child_pids(g))
    assert old
    for pid in old:
        os.kill(pid, signal.SIGKILL)

    def respawned():
        now = set(child_pids(g))
        return bool(now) and not now & old
    assert wait_until(respawned, 60), g.error_log_tail(20)
    return old


def journals(g):
    return glob.glob(spool_path(g) + ".j.*")


class Storm:
    """Requests from several threads until stopped, each on a connection
    of its own, each with a unique User-Agent (and the same text as its
    message, so that the provider's copy names it too)."""

    def __init__(self, g, tok, run, threads=6, path=CHAT):
        self.g, self.tok, self.run, self.path = g, tok, run, path
        self.answered, self.sent = set(), set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(k, threads))
                        for k in range(threads)]
        for t in self.threads:
            t.start()

    def _work(self, k, step):
        c = self.g.client()
        i = k
        while not self.stopping.is_set():
            ua = "%s%d" % (self.run, i)
            i += step
            with self.lock:
                self.sent.add(ua)
            try:
                r = c.post(self.path, chat(ua), token=self.tok,
                           headers={"User-Agent": ua}, timeout=20)
            except Exception:          # killed mid-request: not answered
                continue
            if r.status == 200:
                with self.lock:
                    self.answered.add(ua)

    def wait_answered(self, n, timeout=90):
        assert wait_until(lambda: len(self.answered) >= n, timeout), (
            len(self.answered), self.g.error_log_tail(20))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads)


def rows_by_agent(g, run):
    rows = g.audit.query("SELECT user_agent, decision, reason, user_name, "
                         "user_groups FROM llm_audit "
                         "WHERE user_agent LIKE %s", (run + "%",))
    out = {}
    for r in rows:
        out.setdefault(r["user_agent"], []).append(r)
    return out


def assert_one_row_per_answered(g, storm):
    """Every answered request has exactly one row; a request that was
    never answered (its process died under it) has at most one, and then
    it says so."""
    def all_in():
        got = rows_by_agent(g, storm.run)
        return storm.answered <= set(got)
    assert wait_until(all_in, 90), (
        sorted(storm.answered - set(rows_by_agent(g, storm.run)))[:10],
        g.error_log_tail(40))
    # Replay and recovery done: nothing left to add a late duplicate.
    assert wait_until(lambda: os.path.getsize(spool_path(g)) == 0
                      if os.path.exists(spool_path(g)) else True, 30)
    got = rows_by_agent(g, storm.run)
    doubled = {ua: rs for ua, rs in got.items() if len(rs) != 1}
    assert not doubled, doubled
    assert set(got) <= storm.sent, set(got) - storm.sent
    for ua, (row,) in got.items():
        if ua not in storm.answered:
            assert row["decision"] in ("allow", "error"), row
    return got


def graceful_stop(g):
    os.kill(g.proc.pid, signal.SIGWINCH)         # apachectl graceful-stop
    g.proc.wait(60)


def no_loss_logged(g):
    log = g.error_log_text()
    for lost in ("LLM03031", "LLM03073", "LLM03032"):
        assert lost not in log, [l for l in log.splitlines() if lost in l]


def crash_storm(g, minter, name, lock=None):
    """Traffic; all children killed twice while requests are in flight;
    more traffic; then (lock given) the database lock released."""
    tok = minter.mint(sub=name)
    run = "gwtest/%s/%s/" % (name, uuid.uuid4().hex[:8])
    storm = Storm(g, tok, run)
    try:
        storm.wait_answered(30)
        kill_children(g)
        storm.wait_answered(len(storm.answered) + 30)
        kill_children(g)
        storm.wait_answered(len(storm.answered) + 30)
    finally:
        storm.stop()
        if lock is not None:
            lock.rollback()
            lock.close()
    return storm


def lock_audit_table(pg):
    """Another session holds the table: every INSERT (and PREPARE) of the
    gateway waits, as behind a long migration or a stuck transaction."""
    conn = pg.connect()
    cur = conn.cursor()
    cur.execute("LOCK TABLE llm_audit IN ACCESS EXCLUSIVE MODE")
    return conn


def replay_conf(batch=None):
    d = {"60-audit-replay.conf": "LLMAuditReplayInterval 1\n"}
    if batch is not None:
        d["61-audit-batch.conf"] = "LLMAuditBatch %s\n" % batch
    return d


@pytest.mark.parametrize("batch", ["256 100", "off"])
def test_stalled_database_and_killed_children_lose_no_answered_request(
        minter, mock, gateway_factory, own_pg, batch):
    g = gateway_factory.make(pg=own_pg, gateway_d=replay_conf(batch))
    # Connections and prepared statements exist before the lock.
    assert g.client().post(CHAT, chat("warm"), token=minter.mint(
        sub="warm")).status == 200
    lock = lock_audit_table(own_pg)
    storm = crash_storm(g, minter, "stall-kill", lock=lock)
    got = assert_one_row_per_answered(g, storm)
    assert len(got) >= len(storm.answered) >= 90
    no_loss_logged(g)
    assert "LLM03077" in g.error_log_text(), "the dead journals were moved"
    rc, out = ah.verify(g)
    assert rc == 0, out
    m = ah.metrics(g)
    assert ah.metric_sum(m, "llm_gateway_audit_lost_total") == 0
    assert ah.metric_sum(m, "llm_gateway_audit_recovered_total") >= 1
    assert ah.metric_sum(m, "llm_gateway_audit_unjournaled_total") == 0
    # Stopped, every chain -- the killed children's included -- ends with
    # its end record: no chain lost its tail.
    graceful_stop(g)
    rc, out = ah.verify(g, "-c")
    assert rc == 0, out


@pytest.mark.parametrize("batch", ["256 100", "off"])
def test_crash_storm_without_stall_loses_no_answered_request(
        minter, mock, gateway_factory, own_pg, batch):
    g = gateway_factory.make(pg=own_pg, gateway_d=replay_conf(batch))
    storm = crash_storm(g, minter, "storm-pg")
    assert_one_row_per_answered(g, storm)
    no_loss_logged(g)
    rc, out = ah.verify(g)
    assert rc == 0, out
    graceful_stop(g)
    rc, out = ah.verify(g, "-c")
    assert rc == 0, out


def test_crash_storm_on_the_sqlite_default(minter, mock, gateway_factory):
    g = gateway_factory.make(pg=None, gateway_d=replay_conf())
    assert g.audit.kind == "sqlite3"
    storm = crash_storm(g, minter, "storm-sqlite")
    assert_one_row_per_answered(g, storm)
    no_loss_logged(g)
    rc, out = ah.verify(g)
    assert rc == 0, out
    graceful_stop(g)
    rc, out = ah.verify(g, "-c")
    assert rc == 0, out


def test_graceful_stop_right_after_a_crash_closes_every_chain(
        minter, mock, gateway_factory):
    """Children killed, then httpd stopped before anything replays what
    their journals held (no traffic, a replay tick an hour away): the
    stopping processes store it, so the stopped gateway's table has every
    row and every chain closed -- not just at the next start."""
    g = gateway_factory.make(pg=None, gateway_d={
        "60-audit-replay.conf": "LLMAuditReplayInterval 3600\n"})
    tok = minter.mint(sub="stop-after-crash")
    run = "gwtest/stop-after-crash/%s/" % uuid.uuid4().hex[:8]
    c = g.client()
    for i in range(8):
        assert c.post(CHAT, chat(run + str(i)), token=tok, headers={
            "User-Agent": run + str(i)}).status == 200
    assert wait_until(lambda: len(rows_by_agent(g, run)) == 8, 30)
    kill_children(g)
    # The new children moved the dead chains' ends into the spool; nothing
    # replays it before the stop.
    assert wait_until(lambda: os.path.exists(spool_path(g))
                      and os.path.getsize(spool_path(g)) > 0, 30), \
        g.error_log_tail(20)
    graceful_stop(g)
    assert os.path.getsize(spool_path(g)) == 0
    assert not journals(g), journals(g)
    rc, out = ah.verify(g, "-c")
    assert rc == 0, out
    assert len(rows_by_agent(g, run)) == 8


def test_rows_cut_from_a_chain_end_are_reported(minter, mock,
                                                gateway_factory):
    """A chain's last rows cannot vouch for themselves: its end record
    does.  Deleting rows before it is a TAIL; deleting it as well leaves
    an open chain, which -c (the gateway stopped) reports as a TAIL."""
    g = gateway_factory.make(pg=None, gateway_d=replay_conf())
    tok = minter.mint(sub="tail")
    run = "gwtest/tail/%s/" % uuid.uuid4().hex[:8]
    c = g.client()
    for i in range(6):
        assert c.post(CHAT, chat("tail %d" % i), token=tok, headers={
            "User-Agent": run + str(i)}).status == 200
    assert wait_until(lambda: len(rows_by_agent(g, run)) == 6, 30)
    graceful_stop(g)
    rc, out = ah.verify(g, "-c")
    assert rc == 0, out

    db = sqlite3.connect(g.sqlite_path)
    # The chain that recorded the most of our requests.
    chain, = db.execute(
        "SELECT chain_id FROM llm_audit WHERE user_agent LIKE ? GROUP BY "
        "chain_id ORDER BY count(*) DESC LIMIT 1", (run + "%",)).fetchone()
    end_seq, = db.execute("SELECT seq FROM llm_audit WHERE chain_id = ? AND "
                          "decision = 'chain_end'", (chain,)).fetchone()
    assert end_seq > 1
    db.execute("DELETE FROM llm_audit WHERE chain_id = ? AND seq = ?",
               (chain, end_seq - 1))
    db.commit()
    rc, out = ah.verify(g)
    assert rc == 1 and "TAIL" in out and chain in out, out

    db.execute("DELETE FROM llm_audit WHERE chain_id = ? AND seq = ?",
               (chain, end_seq))
    db.commit()
    db.close()
    # Without -c an open chain may be a live writer's: not a problem, but
    # counted; with -c it is a cut tail.
    rc, out = ah.verify(g)
    assert rc == 0 and "1 open" in out, out
    rc, out = ah.verify(g, "-c")
    assert rc == 1 and "TAIL" in out and chain in out, out


def required_conf():
    return dict(replay_conf(), **{"62-audit-required.conf":
                                  "<Location /v1>\n    LLMAuditRequired On\n"
                                  "</Location>\n"})


def test_required_forwards_nothing_without_a_secured_record(
        minter, mock, gateway_factory, own_pg):
    """LLMAuditRequired On with the database stalled and the children
    killed under load: every request the provider received has its row."""
    g = gateway_factory.make(pg=own_pg, gateway_d=required_conf())
    assert g.client().post(CHAT, chat("warm"), token=minter.mint(
        sub="warm")).status == 200
    lock = lock_audit_table(own_pg)
    tok = minter.mint(sub="required-stall")
    run = "gwtest/required-stall/%s/" % uuid.uuid4().hex[:8]
    storm = Storm(g, tok, run)
    try:
        storm.wait_answered(20)
        kill_children(g)
        storm.wait_answered(len(storm.answered) + 20)
    finally:
        storm.stop()
        lock.rollback()
        lock.close()
    got = assert_one_row_per_answered(g, storm)
    upstream = set()
    for req in mock.requests:
        try:
            content = req.json()["messages"][0]["content"]
        except Exception:
            continue
        if isinstance(content, str) and content.startswith(run):
            upstream.add(content)
    assert upstream >= storm.answered
    missing = upstream - set(got)
    assert not missing, sorted(missing)[:10]
    rc, out = ah.verify(g)
    assert rc == 0, out


def test_required_refuses_when_the_record_cannot_be_secured(
        minter, mock, gateway_factory):
    """No journal (the spool directory is not writable by httpd's User):
    the request's place in the audit cannot be secured, so with
    LLMAuditRequired On it is refused with 503 in the caller's dialect and
    nothing reaches the provider -- while the database itself is fine."""
    g = gateway_factory.make(start=False, pg=None, gateway_d=required_conf())
    g.build()
    spool_dir = os.path.dirname(spool_path(g))
    os.chmod(spool_dir, 0o500)
    g.start()
    tok = minter.mint(sub="required-nojournal")
    c = g.client()
    r = c.post(CHAT, chat("openai dialect"), token=tok)
    assert r.status == 503, r
    assert r.json()["error"]["code"] == "audit_unavailable", r.json()
    r = c.post(MESSAGES, json.dumps({
        "model": "claude-sonnet-4-5", "max_tokens": 16,
        "messages": [{"role": "user", "content": "anthropic dialect"}]}
        ).encode(), token=tok, headers={"anthropic-version": "2023-06-01"})
    assert r.status == 503, r
    body = r.json()
    assert body["type"] == "error" and "audit_unavailable" in json.dumps(
        body), body
    assert mock.requests == [], mock.summary()
    log = g.error_log_text()
    assert "LLM03076" in log and "LLM03040" in log


def test_outage_logs_name_the_cause_and_idle_deaths_say_nothing(
        minter, mock, gateway_factory, own_pg):
    g = gateway_factory.make(pg=own_pg, gateway_d=replay_conf("off"))
    # Children that die having recorded nothing leave nothing to say.
    dead = kill_children(g)

    def recovered():
        return not [j for j in journals(g) for pid in dead
                    if ".j.%d." % pid in j]
    assert wait_until(recovered, 30), journals(g)
    tok = minter.mint(sub="outage-logs")
    c = g.client()
    assert c.post(CHAT, chat("before"), token=tok).status == 200
    assert "LLM03077" not in g.error_log_text(), [
        l for l in g.error_log_text().splitlines() if "LLM03077" in l]
    own_pg.stop(mode="fast")
    try:
        for i in range(4):
            assert c.post(CHAT, chat("down %d" % i), token=tok).status == 200
        assert wait_until(lambda: os.path.exists(spool_path(g)) and
                          os.path.getsize(spool_path(g)) > 0, 10)
    finally:
        own_pg.start()
    log = g.error_log_text()
    assert "LLM03021" not in log, "an outage is not a missing table"
    assert "LLM03022" not in log, "nor a record the database refused"
    assert "LLM03101" in log, g.error_log_tail(30)
    assert wait_until(lambda: os.path.getsize(spool_path(g)) == 0, 30)


def test_required_refuses_at_the_start_of_an_outage_with_the_spool_full(
        minter, mock, gateway_factory, own_pg):
    """The database has just gone and no insert has failed yet, so the
    gateway still believes it up; the spool has no room for a record.  A
    request must not go upstream on that belief: its record could be
    neither stored nor spooled."""
    # No watchdog replay to notice the outage first.
    g = gateway_factory.make(pg=own_pg, gateway_d=dict(required_conf(), **{
        "60-audit-replay.conf": "LLMAuditReplayInterval 3600\n",
        "63-audit-spool.conf": "LLMAuditSpoolMaxSize 4K\n"}))
    tok = minter.mint(sub="required-start")
    c = g.client()
    ua = "gwtest/required-start/%s" % uuid.uuid4().hex[:8]
    assert c.post(CHAT, chat("db up"), token=tok,
                  headers={"User-Agent": ua}).status == 200
    assert len(mock.requests) == 1
    # Stored: the last insert worked, nothing has failed yet.
    own_pg.wait_for_rows("SELECT 1 FROM llm_audit WHERE user_agent = %s",
                         (ua,), count=1)
    own_pg.stop(mode="fast")
    try:
        # Another outage's leftovers fill the spool (not a record: replay
        # sets it aside later).
        with open(spool_path(g), "w") as f:
            f.write("x" * 2000 + "\n")
        os.chown(spool_path(g), g.uid, g.gid)
        for i in range(3):
            r = c.post(CHAT, chat("outage start %d" % i), token=tok)
            assert r.status == 503, (i, r)
            assert r.json()["error"]["code"] == "audit_unavailable"
        assert len(mock.requests) == 1, mock.summary()
    finally:
        own_pg.start()


def test_a_child_killed_mid_stream_leaves_the_request_recorded(
        minter, mock, gateway_factory):
    """The provider has the request and is streaming its answer when the
    child dies: nothing reaches the log phase, yet the request that went
    upstream has its row, recording that it was interrupted."""
    g = gateway_factory.make(pg=None, gateway_d=replay_conf())
    mock.stream_interval = 0.05
    mock.stream_deltas = 600                   # 30 s of answer
    tok = minter.mint(sub="mid-stream", groups=["dev,ops", "developers"])
    ua = "gwtest/mid-stream/%s" % uuid.uuid4().hex[:8]
    body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": [
        {"role": "user", "content": ua}]}).encode()

    def stream():
        try:
            g.client().post(CHAT, body, token=tok,
                            headers={"User-Agent": ua}, timeout=60)
        except Exception:
            pass                               # cut off by the kill
    t = threading.Thread(target=stream)
    t.start()
    try:
        assert wait_until(lambda: any(
            ua.encode() in r.body for r in mock.requests), 20)
        kill_children(g)
    finally:
        t.join(60)
    assert wait_until(lambda: ua in rows_by_agent(g, "gwtest/mid-stream/"),
                      30), g.error_log_tail(20)
    (row,) = rows_by_agent(g, ua)[ua]
    assert row["decision"] == "error" and row["reason"] == "interrupted", row
    # Who called is recorded as for any row: the groups as the JSON array
    # the token holds (a group with a comma stays one group).
    assert row["user_name"] == "mid-stream", row
    assert json.loads(row["user_groups"]) == ["dev,ops", "developers"], row
    assert "LLM03077" in g.error_log_text()
    assert ah.metric_sum(ah.metrics(g),
                         "llm_gateway_audit_interrupted_total") >= 1
    rc, out = ah.verify(g)
    assert rc == 0, out


def test_rows_cut_from_a_live_chain_are_reported_against_the_writers(
        minter, mock, gateway_factory, tmp_path):
    """A running writer's chain has no end record yet: the status page's
    writers table (each process's last sealed seq, in shared memory) is
    its high-water mark, and llm-audit-verify -w checks the table against
    it."""
    import urllib.request
    g = gateway_factory.make(pg=None)
    tok = minter.mint(sub="live-tail")
    run = "gwtest/live-tail/%s/" % uuid.uuid4().hex[:8]
    c = g.client()
    for i in range(6):
        assert c.post(CHAT, chat("live %d" % i), token=tok, headers={
            "User-Agent": run + str(i)}).status == 200
    assert wait_until(lambda: len(rows_by_agent(g, run)) == 6, 30)
    heads = tmp_path / "writers.txt"
    with urllib.request.urlopen("http://127.0.0.1:%d/llm-status?auto"
                                % g.port, timeout=10) as resp:
        heads.write_bytes(resp.read())
    assert re.search(rb"^Chain-\d+: \S+ \d+$", heads.read_bytes(), re.M)
    rc, out = ah.verify(g, "-w", str(heads))
    assert rc == 0, out

    db = sqlite3.connect(g.sqlite_path, timeout=10)
    chain, last = db.execute(
        "SELECT chain_id, max(seq) FROM llm_audit WHERE user_agent LIKE ? "
        "GROUP BY chain_id ORDER BY count(*) DESC LIMIT 1",
        (run + "%",)).fetchone()
    db.execute("DELETE FROM llm_audit WHERE chain_id = ? AND seq = ?",
               (chain, last))
    db.commit()
    db.close()
    rc, out = ah.verify(g)
    assert rc == 0, "an open chain's cut tail is invisible to it alone"
    rc, out = ah.verify(g, "-w", str(heads))
    assert rc == 1 and "TAIL" in out and chain in out, out
