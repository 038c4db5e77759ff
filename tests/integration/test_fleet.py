"""A fleet of gateway nodes (issue 16): three httpd nodes with the built
modules and the sample configuration on loopback, quotas counted in one
real redis-server (LLMRouteQuotaStore), the audit in one PostgreSQL.

Limits hold for the fleet as a whole, exactly; the headers are the ones a
single node with shared-memory counters gives; a Redis that dies, hangs
or fails over behaves as documented (LLMRouteQuotaStoreFailure), and
nothing is counted twice once it is back.
"""

import json
import os
import re
import tempfile
import threading
import time

import pytest

import audit_helpers as ah
from gwtest.httpd import GatewayServer
from gwtest.pg import PostgresServer
from gwtest.redis import RedisServer

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
ANTHROPIC = {"anthropic-version": "2023-06-01"}
US = "\x1f"
PG_SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                         "sql", "postgresql.sql")


def chat(content="hi", **extra):
    body = {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


def anthropic(content="hi"):
    return json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 32,
                       "messages": [{"role": "user",
                                     "content": content}]}).encode()


def estimate(body):
    return (len(body) + 3) // 4


def hammer_body():
    return chat("tokens " * 100, stream=True)


TOKHAMMER_LIMIT = 10 * estimate(hammer_body()) + estimate(hammer_body()) // 2
BUDGET = 400
NARROW_ACL = ("~* resetchannels -@all +evalsha +script|load +get +incrby "
              "+pttl +pexpire +select +role")

QUOTAS = """\
LLMRouteQuota user             requests/minute 1000
LLMRouteQuota user:fifty       requests/minute 50
LLMRouteQuota user:tokhammer   tokens/minute   {tokhammer}
LLMRouteQuota user:budget      tokens/day      {budget}
LLMRouteQuota user:anthro      requests/minute 3
LLMRouteQuota user:flushbudget tokens/day      1M
LLMRouteQuota user:same        requests/minute 4
LLMRouteQuota user:same        tokens/minute   100k
""".format(tokhammer=TOKHAMMER_LIMIT, budget=BUDGET)


def store_conf(redis_servers, timeout="500ms", failure="open"):
    urls = " ".join(redis_servers)
    return ("LLMRouteQuotaStore %s timeout=%s\n"
            "LLMRouteQuotaStoreFailure %s\n" % (urls, timeout, failure))


def key(user, what, day=None):
    k = "u" + US + user + US + what
    if day:
        k += US + time.strftime("%Y%m%d", time.gmtime())
    return k


@pytest.fixture(scope="module")
def fleet_tmp():
    d = tempfile.mkdtemp(prefix="llmgw-fleet-")
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="module")
def pg():
    p = PostgresServer()
    try:
        p.init()
        p.load_schema_file(PG_SCHEMA)
        p.grant_gateway()
        yield p
    finally:
        p.destroy()


@pytest.fixture(scope="module")
def redis(fleet_tmp):
    password = os.urandom(12).hex()
    # The narrow rights docs/fleet.md gives the gateway's user.
    r = RedisServer(os.path.join(fleet_tmp, "redis"), user="gateway",
                    password=password, acl=NARROW_ACL)
    # Root's alone: httpd reads it while it reads its configuration.
    r.password_file = os.path.join(fleet_tmp, "redis.pass")
    with open(r.password_file, "w") as f:
        f.write(password + "\n")
    os.chmod(r.password_file, 0o600)
    r.db = 2
    r.start()
    yield r
    r.destroy()


def redis_url(r, db=2):
    return "redis://gateway:%s@127.0.0.1:%d/%d" % (r.password_file, r.port,
                                                   db)


def make_node(minter, mock, pg, store, first=None, extra=None):
    files = {"60-quotas.conf": QUOTAS, "65-quota-store.conf": store}
    if first is not None:
        # One audit table, one chain key for the fleet.
        files["55-audit-key.conf"] = 'LLMAuditKeyFile "%s"\n' % \
            ah.key_file(first)
    files.update(extra or {})
    return GatewayServer(minter, mock=mock, pg=pg, gateway_d=files)


@pytest.fixture(scope="module")
def nodes(minter, mock_provider, pg, redis):
    store = store_conf([redis_url(redis)])
    made = []
    try:
        first = make_node(minter, mock_provider, pg, store)
        first.start()
        made.append(first)
        for _ in range(2):
            n = make_node(minter, mock_provider, pg, store, first=first)
            n.start()
            made.append(n)
        yield made
    finally:
        for n in made:
            n.destroy()


def fleet_key(nodes):
    return 'LLMAuditKeyFile "%s"\n' % ah.key_file(nodes[0])


def metric(node, name):
    return ah.metric_sum(ah.metrics(node), name)


def fleet_metric(nodes, name):
    return sum(metric(n, name) for n in nodes)


def spread(nodes, n, send):
    """n requests at once, request i to node i % 3; the results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        c = nodes[i % len(nodes)].client(timeout=60)
        barrier.wait()
        results[i] = send(c, i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def seconds(duration):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+)s", duration)
    assert m, duration
    h, mi, s = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + s


def test_requests_exact_across_three_nodes(nodes, redis, mock, minter,
                                           user_agent):
    """200 requests at once over three nodes for a user allowed 50 a
    minute: exactly 50 reach the provider, from more than one node."""
    token = minter.mint(sub="fifty")
    results = spread(nodes, 200, lambda c, i: c.post(
        CHAT, chat("hello %d" % i), token=token,
        headers={"User-Agent": user_agent}))
    statuses = [r.status for r in results]
    assert statuses.count(200) == 50, statuses
    assert statuses.count(429) == 150, statuses
    assert len(mock.wait_for_requests(50)) == 50
    time.sleep(0.3)
    assert len(mock.requests) == 50
    served_by = {i % 3 for i, r in enumerate(results) if r.status == 200}
    assert len(served_by) > 1, "one node served all: %r" % served_by
    remaining = sorted(int(r.header("x-ratelimit-remaining-requests"))
                       for r in results if r.status == 200)
    assert remaining == list(range(50)), remaining
    refused = [r for r in results if r.status == 429]
    for r in refused:
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
        assert r.header("x-ratelimit-limit-requests") == "50"
        assert r.header("x-ratelimit-remaining-requests") == "0"
        assert 1 <= int(r.header("Retry-After")) <= 60
    # The count is in Redis, with the window as its TTL; nothing fell
    # back to a node's own counters.
    assert redis.get_int(key("fifty", "requests/minute")) == 50
    ttl = redis.command("PTTL", key("fifty", "requests/minute"))
    assert 0 < ttl <= 60000
    assert fleet_metric(nodes, "llm_gateway_quota_store_fallbacks_total") == 0
    assert all(metric(n, "llm_gateway_quota_store_up") == 1 for n in nodes)


def test_token_limit_exact_across_nodes(nodes, redis, mock, minter):
    """30 streams at once over three nodes whose estimates fit 10 times
    into the token limit: exactly 10 pass.  Each stream lasts two seconds,
    so the count in Redis is read while it holds the 10 reservations, before
    the answers' usage corrects it."""
    token = minter.mint(sub="tokhammer")
    mock.stream_deltas = 20
    mock.stream_interval = 0.1
    out = []
    sender = threading.Thread(target=lambda: out.append(
        spread(nodes, 30, lambda c, i: c.post(CHAT, hammer_body(),
                                              token=token))))
    sender.start()
    deadline = time.monotonic() + 30
    while len(mock.requests) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)   # received, not yet answered
    held = redis.get_int(key("tokhammer", "tokens/minute"))
    sender.join(120)
    results = out[0]
    statuses = [r.status for r in results]
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 20, statuses
    e = estimate(hammer_body())
    remaining = sorted(int(r.header("x-ratelimit-remaining-tokens"))
                       for r in results if r.status == 200)
    assert remaining == [TOKHAMMER_LIMIT - k * e for k in range(10, 0, -1)]
    refused = [r for r in results if r.status == 429][0]
    assert refused.json()["error"]["type"] == "tokens"
    assert held == 10 * e


def test_token_budget_counts_real_usage_across_nodes(nodes, redis, mock,
                                                     minter):
    """A daily budget spent on three nodes: the counter in Redis is the
    sum of the usage the provider reported, and the node that sees the
    budget spent refuses, whichever it is."""
    token = minter.mint(sub="budget")
    used = 0
    i = 0
    while True:
        node = nodes[i % 3]
        body = chat("spend %d " % i + "x" * 200)
        r = node.client().post(CHAT, body, token=token)
        if r.status == 429:
            break
        assert r.status == 200, r
        u = r.json()["usage"]
        used += u["prompt_tokens"] + u["completion_tokens"]
        i += 1
        assert i < 50, "the budget never ran out"
        # The correction lands after the answer (log_transaction).
        deadline = time.monotonic() + 5
        while (redis.get_int(key("budget", "tokens/day", day=True)) != used
               and time.monotonic() < deadline):
            time.sleep(0.02)
        assert redis.get_int(key("budget", "tokens/day", day=True)) == used
    assert i >= 2
    err = r.json()["error"]
    assert err["code"] == "budget_exceeded"
    assert r.header("x-ratelimit-limit-tokens") == str(BUDGET)
    # Every node refuses now, with the same figures.
    for n in nodes:
        again = n.client().post(CHAT, chat("x" * 200), token=token)
        assert again.status == 429
        assert again.header("x-ratelimit-remaining-tokens") == str(
            max(0, BUDGET - used))
    ttl = redis.command("PTTL", key("budget", "tokens/day", day=True))
    assert 0 < ttl <= 86400 * 1000


def test_headers_same_as_shared_memory(nodes, redis, mock, minter,
                                       mock_provider, pg):
    """The same requests on a node counting in shared memory and on the
    fleet give the same status, figures and Retry-After, in both
    dialects."""
    shm_node = GatewayServer(minter, mock=mock_provider, pg=pg,
                             gateway_d={"60-quotas.conf": QUOTAS,
                                        "55-audit-key.conf": fleet_key(
                                            nodes)})
    shm_node.start()
    try:
        def run(node_list, user, dialect):
            token = minter.mint(sub=user)
            out = []
            for i in range(6):
                c = node_list[i % len(node_list)].client()
                if dialect == "anthropic":
                    r = c.post(MESSAGES, anthropic("same %d" % i),
                               token=token, headers=ANTHROPIC)
                else:
                    r = c.post(CHAT, chat("same %d" % i), token=token)
                # Request figures, and token limits: the remaining
                # tokens move when the previous answer's usage lands
                # (after it was sent), a race on any store.
                figures = {}
                for k, v in r.headers:
                    k = k.lower()
                    rest = k.replace("ratelimit", "")
                    if "ratelimit" in k and "reset" not in k and (
                            "requests" in k or "limit" in rest):
                        figures[k] = v
                out.append((r.status, figures,
                            r.header("Retry-After") is not None))
            return out

        for user, dialect in (("same", "openai"), ("anthro", "anthropic")):
            shm = run([shm_node], user, dialect)
            fleet = run(nodes, user, dialect)
            assert shm == fleet
            assert [s for s, _, _ in fleet].count(429) > 0
        assert any("anthropic-ratelimit-requests-remaining" in f
                   for _, f, _ in fleet)
    finally:
        shm_node.destroy()


def test_scripts_reloaded_after_flush(nodes, redis, mock, minter):
    """A Redis that forgot the scripts (SCRIPT FLUSH, a restart) runs
    nothing for EVALSHA: the node loads them and every request is counted
    exactly once."""
    token = minter.mint(sub="flushed")
    k = key("flushed", "requests/minute")
    failures = fleet_metric(nodes, "llm_gateway_quota_store_failures_total")
    for i in range(6):
        if i % 2 == 0:
            redis.command("SCRIPT", "FLUSH")
        r = nodes[i % 3].client().post(CHAT, chat(), token=token)
        assert r.status == 200, r
        assert redis.get_int(k) == i + 1
    assert fleet_metric(nodes, "llm_gateway_quota_store_failures_total") \
        == failures


ONE_CHILD = """\
<IfModule mpm_event_module>
    ServerLimit 1
    StartServers 1
    ThreadsPerChild 8
    MinSpareThreads 1
    MaxSpareThreads 8
    MaxRequestWorkers 8
</IfModule>
"""


def test_correction_after_flush_lands_without_another_request(
        nodes, minter, mock_provider, pg, redis, mock):
    """After SCRIPT FLUSH, the request that finds the scripts gone loads
    both, so its own token correction (sent without waiting) is run at
    once -- not when the child's connection is next used.  One child, so
    that there is one connection."""
    node = make_node(minter, mock_provider, pg, store_conf([redis_url(redis)]),
                     first=nodes[0])
    node.extra_conf = ONE_CHILD
    node.start()
    try:
        token = minter.mint(sub="flushbudget")
        k = key("flushbudget", "tokens/day", day=True)
        c = node.client()
        used = 0
        for i in range(3):
            redis.command("SCRIPT", "FLUSH")
            r = c.post(CHAT, chat("flushed budget %d " % i + "z" * 150),
                       token=token)
            assert r.status == 200, r
            u = r.json()["usage"]
            used += u["prompt_tokens"] + u["completion_tokens"]
            deadline = time.monotonic() + 3
            while (redis.get_int(k) != used
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            assert redis.get_int(k) == used, (redis.get_int(k), used)
        assert metric(node, "llm_gateway_quota_store_failures_total") == 0
    finally:
        node.destroy()


def test_redis_killed_and_restarted_mid_load(nodes, redis, mock, minter):
    """Load on all three nodes while Redis is killed (SIGKILL) and started
    again (LLMRouteQuotaStoreFailure open): no request fails, none goes
    uncounted -- in Redis or, while it is away, on its node -- once it is
    back every request is counted exactly once, and the loss and the
    return are each logged once per node."""
    token = minter.mint(sub="survivor")
    k = key("survivor", "requests/minute")
    before = {n: metric(n, "llm_gateway_quota_store_fallbacks_total")
              for n in nodes}
    stop = threading.Event()
    statuses = []
    lock = threading.Lock()

    def load(node):
        c = node.client(timeout=30)
        while not stop.is_set():
            r = c.post(CHAT, chat(), token=token)
            with lock:
                statuses.append(r.status)

    threads = [threading.Thread(target=load, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    time.sleep(0.7)
    redis.kill()
    time.sleep(1.0)
    redis.start()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(60)

    assert statuses and set(statuses) == {200}, set(statuses)
    fallbacks = sum(metric(n, "llm_gateway_quota_store_fallbacks_total")
                    - before[n] for n in nodes)
    assert fallbacks > 0, "Redis was away but nothing fell back"
    # Every request was counted: in Redis (which kept what it ran, in its
    # append-only file) or on its node while Redis was away.  A request
    # in flight at the kill may be in both: Redis ran its script and died
    # before answering (docs/fleet.md); one per node's load at most.
    counted = redis.get_int(k) + fallbacks
    assert len(statuses) <= counted <= len(statuses) + len(nodes), (
        redis.get_int(k), fallbacks, len(statuses))
    assert redis.get_int(k) > 0
    for n in nodes:
        assert "LLM02511" in n.error_log_text()
    # Back: each request counted once, in Redis, on every node.
    at = redis.get_int(k)
    for i, n in enumerate(nodes * 2):
        r = n.client().post(CHAT, chat(), token=token)
        assert r.status == 200
        assert redis.get_int(k) == at + i + 1
    for n in nodes:
        assert metric(n, "llm_gateway_quota_store_up") == 1
    assert sum(metric(n, "llm_gateway_quota_store_fallbacks_total")
               - before[n] for n in nodes) == fallbacks
    # Logged once per transition, not once per request.
    downs = sum(n.error_log_text().count("Redis does not answer")
                for n in nodes)
    ups = sum(n.error_log_text().count("Redis answers again") for n in nodes)
    assert 3 <= downs <= 3 * 3, downs
    assert ups == downs
    assert fleet_metric(nodes, "llm_gateway_quota_store_outages_total") \
        == downs


def test_hung_redis_costs_at_most_the_timeout(nodes, minter, mock_provider,
                                              pg, redis, mock):
    """A Redis that accepts and never answers (SIGSTOP): a request waits
    at most timeout=100ms for it, then is counted on its node."""
    node = make_node(minter, mock_provider, pg,
                     store_conf([redis_url(redis)], timeout="100ms"),
                     first=nodes[0])
    node.start()
    try:
        token = minter.mint(sub="patient")
        c = node.client()
        assert c.post(CHAT, chat(), token=token).status == 200
        t0 = time.monotonic()
        assert c.post(CHAT, chat(), token=token).status == 200
        quick = time.monotonic() - t0
        redis.pause()
        try:
            slow = []
            for _ in range(3):
                t0 = time.monotonic()
                r = c.post(CHAT, chat(), token=token)
                slow.append(time.monotonic() - t0)
                assert r.status == 200, r
        finally:
            redis.resume()
        # The first waits for the timeout; later ones may wait less (the
        # child does not reconnect at once).  None waits much longer.
        # Generous for a shared machine: without the timeout each would
        # wait for the client's own (30 s).
        assert max(slow) < quick + 0.1 + 1.0, (quick, slow)
        assert metric(node, "llm_gateway_quota_store_fallbacks_total") == 3
        assert "no answer within 100 ms" in node.error_log_text()
    finally:
        node.destroy()


def test_failure_closed_refuses_in_the_callers_dialect(nodes, minter,
                                                       mock_provider, pg,
                                                       fleet_tmp, mock):
    """LLMRouteQuotaStoreFailure closed: with Redis down, 503 in the
    caller's dialect and nothing upstream; served again once it is back."""
    r = RedisServer(os.path.join(fleet_tmp, "redis-closed"))
    r.start()
    node = make_node(minter, mock_provider, pg,
                     store_conf(["redis://127.0.0.1:%d/0" % r.port],
                                failure="closed"), first=nodes[0])
    node.start()
    try:
        token = minter.mint(sub="closed")
        c = node.client()
        assert c.post(CHAT, chat(), token=token).status == 200
        mock.reset()
        r.kill()
        o = c.post(CHAT, chat(), token=token)
        assert o.status == 503, o
        assert o.json()["error"]["code"] == "quota_store_unavailable"
        assert o.header("Retry-After") == "1"
        a = c.post(MESSAGES, anthropic(), token=token, headers=ANTHROPIC)
        assert a.status == 503, a
        body = a.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == "api_error"
        time.sleep(0.2)
        assert mock.requests == []
        assert metric(node, "llm_gateway_quota_store_refused_total") == 2
        assert metric(node, "llm_gateway_quota_store_up") == 0
        r.start()
        time.sleep(0.3)  # past the reconnect pause
        assert c.post(CHAT, chat(), token=token).status == 200
        assert metric(node, "llm_gateway_quota_store_up") == 1
        # A Redis that hangs: refused once the timeout (500ms) has passed.
        mock.reset()
        r.pause()
        try:
            t0 = time.monotonic()
            hung = c.post(CHAT, chat(), token=token)
            waited = time.monotonic() - t0
        finally:
            r.resume()
        assert hung.status == 503, hung
        assert hung.json()["error"]["code"] == "quota_store_unavailable"
        assert 0.4 < waited < 0.5 + 1.0, waited
        assert mock.requests == []
        rows = node.audit.query(
            "SELECT decision, reason, http_status FROM llm_audit WHERE "
            "reason = 'quota_store_unavailable'")
        assert len(rows) >= 2
        assert all(x["decision"] == "error" and x["http_status"] == 503
                   for x in rows)
    finally:
        node.destroy()
        r.destroy()


def test_primary_lost_replica_promoted(nodes, minter, mock_provider, pg,
                                       fleet_tmp, mock):
    """An ordered list of servers: the replica listed first is passed over
    (not the primary); when the primary dies and the replica is promoted,
    the node counts there, carrying on from the replicated count."""
    primary = RedisServer(os.path.join(fleet_tmp, "redis-a")).start()
    replica = RedisServer(os.path.join(fleet_tmp, "redis-b"),
                          replica_of=primary).start()
    node = make_node(minter, mock_provider, pg, store_conf(
        ["redis://127.0.0.1:%d/0" % replica.port,
         "redis://127.0.0.1:%d/0" % primary.port]), first=nodes[0])
    node.start()
    try:
        token = minter.mint(sub="failover")
        k = key("failover", "requests/minute")
        c = node.client()
        for _ in range(5):
            assert c.post(CHAT, chat(), token=token).status == 200
        assert primary.get_int(k) == 5
        deadline = time.monotonic() + 5
        while replica.get_int(k) != 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replica.get_int(k) == 5
        primary.kill()
        replica.command("REPLICAOF", "NO", "ONE")
        statuses = [c.post(CHAT, chat(), token=token).status
                    for _ in range(5)]
        assert statuses == [200] * 5
        assert replica.get_int(k) + metric(
            node, "llm_gateway_quota_store_fallbacks_total") == 10
        # A child whose connection went with the primary counts one
        # request on the node; the others are counted on the new primary.
        assert replica.get_int(k) > 5
        assert "LLM02506" in node.error_log_text()
        r = c.post(CHAT, chat(), token=token)
        assert r.header("x-ratelimit-remaining-requests") == str(
            1000 - replica.get_int(k))
    finally:
        node.destroy()
        primary.destroy()
        replica.destroy()


def test_graceful_restart_of_one_node_keeps_everything(nodes, redis, mock,
                                                       minter):
    token = minter.mint(sub="graceful")
    k = key("graceful", "requests/minute")
    for i in range(6):
        assert nodes[i % 3].client().post(CHAT, chat(), token=token).status \
            == 200
    outages = metric(nodes[1], "llm_gateway_quota_store_outages_total")
    nodes[1].graceful()
    r = nodes[1].client().post(CHAT, chat(), token=token)
    assert r.status == 200
    assert r.header("x-ratelimit-remaining-requests") == str(1000 - 7)
    assert redis.get_int(k) == 7
    assert metric(nodes[1], "llm_gateway_quota_store_outages_total") == \
        outages


def test_password_never_leaves_its_file(nodes, redis):
    password = redis.password.encode()
    for n in nodes:
        for path in (n.error_log, n.access_log, n.conf_file):
            with open(path, "rb") as f:
                assert password not in f.read(), path
        for root, _, files in os.walk(n.conf_root):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    assert password not in f.read(), name
        page = open_metrics_text(n)
        assert redis.password not in page


def open_metrics_text(node):
    import urllib.request
    with urllib.request.urlopen(node.url + "/llm-metrics", timeout=10) as r:
        return r.read().decode()


@pytest.mark.parametrize("line,message", [
    ("LLMRouteQuotaStore redis://gw:hunter2@127.0.0.1:6379/0",
     "user:/path/of/password-file@"),
    ("LLMRouteQuotaStore redis://gw:/nonexistent/pass@127.0.0.1:6379/0",
     "cannot open the password file /nonexistent/pass"),
    ("LLMRouteQuotaStore redis://127.0.0.1:6379/0 tls", "TLS to Redis"),
    ("LLMRouteQuotaStore rediss://127.0.0.1:6379/0", "TLS to Redis"),
    ("LLMRouteQuotaStore redis://127.0.0.1:99999/0", "port"),
    ("LLMRouteQuotaStore redis://127.0.0.1:6379/0 timeout=20s",
     "from 1ms to 10s"),
    ("LLMRouteQuotaStore shm redis://127.0.0.1/0", "takes nothing else"),
    ("LLMRouteQuotaStoreFailure maybe", "not open or closed"),
    ("<VirtualHost 127.0.0.1:1>\nLLMRouteQuotaStore shm\n</VirtualHost>",
     "cannot occur within"),
])
def test_bad_configuration_is_refused(minter, line, message):
    g = GatewayServer(minter, gateway_d={"65-quota-store.conf": line + "\n"})
    try:
        g.build()
        rc, out = g.check_config()
        assert rc != 0, out
        assert message in out, out
        assert "hunter2" not in out
    finally:
        g.destroy()


def test_every_nodes_audit_chain_verifies(nodes, pg):
    """Last: the three nodes wrote one audit table; each node's chains
    verify with the fleet's key."""
    rows = pg.query("SELECT DISTINCT server_name, chain_id FROM llm_audit")
    assert len({r["chain_id"] for r in rows}) >= 3, rows
    rc, out = ah.verify(nodes[0], "--page-size", "500")
    assert rc == 0, out
    assert "all chains intact" in out, out
