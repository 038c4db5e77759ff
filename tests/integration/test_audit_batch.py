"""LLMAuditBatch: a writer thread per child stores many requests' records
in one transaction.  The guarantees of the per-request path must hold:
one row per request, the chain intact, records queued when a child stops
written out, nothing lost or doubled across a database outage.
"""

import json
import os
import signal
import subprocess
import threading
import time
import uuid

import audit_helpers as ah
# The outage tests' own PostgreSQL, stopped and started by the test.
from test_audit_outage import own_pg, spool_path, wait_until  # noqa: F401

CHAT = "/v1/chat/completions"


def chat(content):
    return json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": content}]}).encode()


def batch_conf(spec):
    return {"61-audit-batch.conf": "LLMAuditBatch %s\n" % spec}


def send(g, tok, run, n, threads=4):
    statuses = {}

    def worker(k):
        c = g.client()
        for i in range(k, n, threads):
            r = c.post(CHAT, chat("request %d" % i), token=tok,
                       headers={"User-Agent": run + str(i)})
            statuses[i] = r.status
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return statuses


def counts(g, run):
    rows = g.audit.query("SELECT user_agent FROM llm_audit WHERE "
                         "user_agent LIKE %s", (run + "%",))
    c = {}
    for r in rows:
        c[r["user_agent"]] = c.get(r["user_agent"], 0) + 1
    return c


def test_batched_rows_one_per_request_chain_intact(gateway_factory, mock,
                                                   minter):
    g = gateway_factory.make(pg=None, gateway_d=batch_conf("8 20"))
    assert g.audit.kind == "sqlite3"
    tok = minter.mint(sub="batch-user")
    run = "gwtest/batch/%s/" % uuid.uuid4().hex[:8]
    n = 60
    statuses = send(g, tok, run, n)
    assert len(statuses) == n and all(s == 200 for s in statuses.values())
    assert wait_until(lambda: len(counts(g, run)) == n, 10), \
        g.error_log_tail(30)
    c = counts(g, run)
    assert sorted(c) == sorted(run + str(i) for i in range(n))
    assert all(v == 1 for v in c.values()), c
    rc, out = ah.verify(g)
    assert rc == 0, out
    assert "LLM03031" not in g.error_log_text()
    assert "LLM03073" not in g.error_log_text()


def test_queued_copies_of_every_size_are_stored_as_sent(gateway_factory,
                                                         mock, minter):
    """The queued copy of a record lives in a block the writer hands back
    for later records (a record over the block's size gets its own):
    rows of both sizes, interleaved over many batches, are stored as
    sent and their MACs verify."""
    g = gateway_factory.make(pg=None, gateway_d=batch_conf("4 5"))
    run = "gwtest/batch-sizes/%s/" % uuid.uuid4().hex[:8]
    # Every third caller's groups alone take the record past 4 KB.
    many = ["developers"] + ["team-%03d-%s" % (k, "g" * 30)
                             for k in range(90)]
    toks = [minter.mint(sub="batch-user", groups=many),
            minter.mint(sub="batch-user", groups=["developers"])]
    n = 48
    sent = {}

    def worker(k):
        c = g.client()
        for i in range(k, n, 4):
            sent[run + str(i)] = c.post(
                CHAT, chat("request %d" % i), token=toks[min(i % 3, 1)],
                headers={"User-Agent": run + str(i)}).status
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert len(sent) == n and all(s == 200 for s in sent.values()), sent
    assert wait_until(lambda: len(counts(g, run)) == n, 10), \
        g.error_log_tail(30)
    c = counts(g, run)
    assert sorted(c) == sorted(sent) and all(v == 1 for v in c.values()), c
    rows = g.audit.query("SELECT * FROM llm_audit WHERE user_agent LIKE %s",
                         (run + "%",))
    for r in rows:
        i = int(r["user_agent"][len(run):])
        assert json.loads(r["user_groups"]) == (
            many if i % 3 == 0 else ["developers"]), r["user_agent"]
    # The record's strings: past the block for those callers only.
    size = [sum(len(str(v)) for v in r.values() if v is not None)
            for r in rows]
    assert sum(x > 4096 for x in size) == n // 3, size
    rc, out = ah.verify(g)
    assert rc == 0, out


def slow_batch_fast_replay():
    """Records stay queued (1 s, 1000 rows); orphaned journals are picked
    up by the replay watchdog within a second."""
    return dict(batch_conf("1000 1000"),
                **{"60-audit-replay.conf": "LLMAuditReplayInterval 1\n"})


def send_sequential(g, tok, run, n, what):
    c = g.client()
    for i in range(n):
        assert c.post(CHAT, chat("%s %d" % (what, i)), token=tok, headers={
            "User-Agent": run + str(i)}).status == 200


def child_pids(g):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(g.proc.pid)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def assert_each_once(g, run, n):
    got = counts(g, run)
    assert sorted(got) == sorted(run + str(i) for i in range(n)), (
        got, g.error_log_tail(30))
    assert all(v == 1 for v in got.values()), got
    rc, out = ah.verify(g)
    assert rc == 0, out


def test_queued_records_are_written_at_graceful_stop(gateway_factory, mock,
                                                     minter):
    """A long delay keeps the records queued; a graceful stop must store
    every one of them before httpd exits (the writer drains before
    mod_dbd closes its connections)."""
    g = gateway_factory.make(pg=None, gateway_d=batch_conf("1000 1000"))
    tok = minter.mint(sub="batch-stop")
    run = "gwtest/batch-stop/%s/" % uuid.uuid4().hex[:8]
    n = 6
    send_sequential(g, tok, run, n, "stop")
    os.kill(g.proc.pid, signal.SIGWINCH)          # apachectl graceful-stop
    g.proc.wait(20)
    assert_each_once(g, run, n)
    assert "LLM03077" not in g.error_log_text(), "no journal was left over"


def test_records_queued_by_a_killed_child_are_recovered(gateway_factory,
                                                        mock, minter):
    """SIGKILL (or a crash) takes the queue in memory with the child; its
    journal stays behind, and the child that replaces it (or the replay
    watchdog) moves the records to the spool and into the database."""
    g = gateway_factory.make(pg=None, gateway_d=slow_batch_fast_replay())
    tok = minter.mint(sub="batch-kill")
    run = "gwtest/batch-kill/%s/" % uuid.uuid4().hex[:8]
    n = 6
    send_sequential(g, tok, run, n, "kill")
    pids = child_pids(g)
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: len(counts(g, run)) == n, 30), (
        counts(g, run), g.error_log_tail(30))
    assert_each_once(g, run, n)
    assert "LLM03077" in g.error_log_text()


def test_records_queued_at_an_ungraceful_stop_are_kept(gateway_factory,
                                                       mock, minter):
    """SIGTERM to every process at once (what the harness's stop does):
    the children may write their queue out, or httpd's ungraceful stop
    may fault first (seen with 2.4.71); either way, once the gateway is
    back, every record is in the database exactly once."""
    g = gateway_factory.make(pg=None, gateway_d=slow_batch_fast_replay())
    tok = minter.mint(sub="batch-term")
    run = "gwtest/batch-term/%s/" % uuid.uuid4().hex[:8]
    n = 6
    send_sequential(g, tok, run, n, "term")
    g.stop()
    g.start()
    assert wait_until(lambda: len(counts(g, run)) == n, 30), (
        counts(g, run), g.error_log_tail(30))
    time.sleep(1.5)                  # a second replay must not double them
    assert_each_once(g, run, n)


def test_batched_outage_loses_and_doubles_nothing(minter, mock,
                                                  gateway_factory,
                                                  own_pg):  # noqa: F811
    g = gateway_factory.make(pg=own_pg, gateway_d=dict(
        batch_conf("16 20"),
        **{"60-audit-replay.conf": "LLMAuditReplayInterval 1\n"}))
    tok = minter.mint(sub="batch-outage")
    run = "gwtest/batch-outage/%s/" % uuid.uuid4().hex[:8]
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
    own_pg.stop(mode="fast")
    time.sleep(1.5)
    own_pg.start()
    sender.join(60)
    assert not sender.is_alive()
    assert all(s == 200 for s in statuses.values()), statuses

    def rows():
        return own_pg.query("SELECT user_agent, count(*) AS n FROM llm_audit "
                            "WHERE user_agent LIKE %s GROUP BY user_agent",
                            (run + "%",))
    assert wait_until(lambda: len(rows()) == n, 30), g.error_log_tail(40)
    time.sleep(1.5)
    got = rows()
    assert sorted(r["user_agent"] for r in got) == sorted(
        run + str(i) for i in range(n))
    assert all(r["n"] == 1 for r in got), [r for r in got if r["n"] != 1]
    assert wait_until(lambda: os.path.getsize(spool_path(g)) == 0, 10)
    log = g.error_log_text()
    assert "LLM03031" not in log and "LLM03073" not in log, \
        "nothing may be lost"
    rc, out = ah.verify(g)
    assert rc == 0, out


def test_batch_directive_is_checked(gateway_factory, mock):
    for bad in ("1", "yes", "8 0", "off 20", "5000"):
        g = gateway_factory.make(start=False, pg=None,
                                 gateway_d=batch_conf(bad))
        rc, out = g.check_config()
        assert rc != 0 and "LLMAuditBatch" in out, (bad, out)


def test_graceful_restart_writes_the_queue_and_batches_on(gateway_factory,
                                                          mock, minter):
    g = gateway_factory.make(pg=None, gateway_d=batch_conf("1000 1000"))
    tok = minter.mint(sub="batch-graceful")
    run = "gwtest/batch-graceful/%s/" % uuid.uuid4().hex[:8]
    c = g.client()
    for i in range(4):
        assert c.post(CHAT, chat("before %d" % i), token=tok, headers={
            "User-Agent": run + str(i)}).status == 200
    g.graceful()
    for i in range(4, 8):
        assert g.client().post(CHAT, chat("after %d" % i), token=tok,
                               headers={"User-Agent": run + str(i)}
                               ).status == 200
    assert wait_until(lambda: len(counts(g, run)) == 8, 15), (
        counts(g, run), g.error_log_tail(30))
    assert all(v == 1 for v in counts(g, run).values())
    rc, out = ah.verify(g)
    assert rc == 0, out


def test_full_queue_waits_for_the_writer_and_loses_nothing(gateway_factory,
                                                           mock, minter):
    """The database holds its write lock (another program's transaction)
    while requests keep coming: the writer stops, its queue (256 records)
    fills, and requests wait for room, then store their own records; when
    the lock goes, every request has exactly one row and the chain holds."""
    import sqlite3
    g = gateway_factory.make(pg=None, gateway_d=batch_conf("2 1"))
    tok = minter.mint(sub="batch-full")
    run = "gwtest/batch-full/%s/" % uuid.uuid4().hex[:8]
    # Warm up: the writer's connection and prepared statements exist.
    send_sequential(g, tok, run + "warm-", 3, "warm")
    assert wait_until(lambda: len(counts(g, run + "warm-")) == 3, 10)
    before = ah.metric_sum(ah.metrics(g), "llm_gateway_audit_batch_waits_total")

    holder = sqlite3.connect(g.sqlite_path, timeout=10, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    n = 900                    # over 2 x 256 queued in the suite's 2 children
    result = {}
    sender = threading.Thread(target=lambda: result.update(
        statuses=send(g, tok, run, n, threads=8)))
    sender.start()
    try:
        # Until a request has waited, well inside SQLite's busy timeout
        # (5 s), so that the blocked writer goes on afterwards.
        wait_until(lambda: ah.metric_sum(
            ah.metrics(g), "llm_gateway_audit_batch_waits_total") > before,
            4)
    finally:
        holder.execute("COMMIT")
        holder.close()
    sender.join(120)
    statuses = result.get("statuses", {})
    assert len(statuses) == n and all(s == 200 for s in statuses.values())
    assert wait_until(lambda: len(counts(g, run)) == n + 3, 30), (
        len(counts(g, run)), g.error_log_tail(30))
    c = counts(g, run)
    assert all(v == 1 for v in c.values()), [k for k, v in c.items()
                                             if v != 1]
    waits = ah.metric_sum(ah.metrics(g), "llm_gateway_audit_batch_waits_total")
    assert waits > before, "the queue never filled: the test proves nothing"
    log = g.error_log_text()
    assert "LLM03073" not in log, "nothing may be lost"
    rc, out = ah.verify(g)
    assert rc == 0, out
