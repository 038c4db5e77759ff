"""The answer cache shared by two gateway nodes (issue 16, item 4): both
keep their answers in one real redis-server through httpd's own
mod_socache_redis (LLMCacheStore redis:host:port).  An answer one node
got from the provider is served by the other; scopes hold across nodes;
what Redis holds is the answer as the caller got it, never a secret the
gateway redacted from the request."""

import json
import os
import tempfile
import time

import pytest

from gwtest.httpd import GatewayServer
from gwtest.redis import RedisServer
import test_cache as tc

LOAD_REDIS = ("<IfModule !socache_redis_module>\n"
              "    LoadModule socache_redis_module "
              "${LLM_GW_HTTPD_MODULES}/mod_socache_redis.so\n"
              "</IfModule>\n")


@pytest.fixture(scope="module")
def redis():
    d = tempfile.mkdtemp(prefix="llmgw-cache-redis-")
    os.chmod(d, 0o755)
    r = RedisServer(os.path.join(d, "redis"))
    r.start()
    yield r
    r.destroy()


@pytest.fixture(scope="module")
def nodes(minter, mock_provider, postgres, redis):
    # A lookup waits at most a second for a Redis that hangs.
    store = LOAD_REDIS + ("LLMCacheStore redis:127.0.0.1:%d\nRedisTimeout 1\n"
                          % redis.port)
    made = []
    try:
        for _ in range(2):
            g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                              **tc.gateway_args(
                                  extra={"70-cache-store.conf": store}))
            made.append(g)
            g.start()
        yield made
    finally:
        for g in made:
            g.destroy()


@pytest.fixture(scope="module")
def unscanned(minter, mock_provider, postgres, redis):
    """A third node on the same Redis whose locations do not scan answers
    (LLMScanResponse Off): what it stores was never scanned."""
    store = LOAD_REDIS + ("LLMCacheStore redis:127.0.0.1:%d\nRedisTimeout 1\n"
                          % redis.port)
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      **tc.gateway_args(extra={
                          "70-cache-store.conf": store,
                          "41-answers-off.conf": "<Location /v1>\n"
                          "    LLMScanResponse Off\n</Location>\n"}))
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def all_values(redis):
    out = b""
    for k in redis.command("KEYS", "*"):
        out += k + b"\n" + (redis.command("GET", k) or b"") + b"\n"
    return out


def test_an_answer_from_one_node_is_served_by_the_other(nodes, mock, minter,
                                                       user_agent, redis):
    a, b = nodes
    token = minter.mint(sub="fleet-" + tc.unique()[:8])
    body = tc.chat("Fleet question. " + tc.unique())
    first = tc.post(a, token, tc.CHAT, body, user_agent)
    assert first.status == 200 and first.header("X-LLM-Cache") == "miss"
    second = tc.post(b, token, tc.CHAT, body, user_agent)
    assert second.status == 200, second
    assert second.header("X-LLM-Cache") == "hit"
    assert second.body == first.body
    assert len(mock.requests) == 1, mock.summary()
    assert redis.command("DBSIZE") >= 1
    # Each node writes its own rows, in its own time: not in id order.
    got = {r["decision"]: r
           for r in a.audit.rows_for_user_agent(user_agent, count=2)}
    assert sorted(got) == ["allow", "cache_hit"]
    assert float(got["cache_hit"]["cost_saved"]) == \
        pytest.approx(float(got["allow"]["cost"]))


def test_stream_shared_between_nodes(nodes, mock, minter, user_agent):
    a, b = nodes
    token = minter.mint(sub="fleet-stream-" + tc.unique()[:8])
    body = tc.anthropic("Stream across nodes. " + tc.unique(), stream=True)
    first = tc.post(a, token, tc.MESSAGES, body, user_agent)
    second = tc.post(b, token, tc.MESSAGES, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit"
    names = [n for n, _ in tc.parse_sse(second.body)]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert second.body == first.body
    assert len(mock.requests) == 1, mock.summary()


def test_scope_user_holds_across_nodes(nodes, mock, minter, user_agent):
    a, b = nodes
    body = tc.chat("Mine alone. " + tc.unique())
    alice = minter.mint(sub="fa-" + tc.unique()[:8])
    bob = minter.mint(sub="fb-" + tc.unique()[:8])
    assert tc.post(a, alice, tc.CHAT, body, user_agent).status == 200
    r = tc.post(b, bob, tc.CHAT, body, user_agent)
    assert r.header("X-LLM-Cache") == "miss"
    assert tc.post(b, alice, tc.CHAT, body, user_agent) \
        .header("X-LLM-Cache") == "hit"
    assert len(mock.requests) == 2, mock.summary()


def test_redacted_secret_never_reaches_the_shared_cache(nodes, mock, minter,
                                                        user_agent, redis):
    a, b = nodes
    token = minter.mint(sub="fleet-secret-" + tc.unique()[:8])
    key = tc.aws_key()
    tail = tc.unique()
    # The mock echoes nothing of the prompt; make it answer with the
    # placeholder the gateway sent, the way a model quotes its input.
    mock.reply_text = "You sent [REDACTED_AWS_ACCESS_KEY_1]."
    r = tc.post(a, token, tc.CHAT, tc.chat("key %s %s" % (key, tail)),
                user_agent)
    assert r.status == 200
    r = tc.post(b, token, tc.CHAT, tc.chat("key %s %s" % (tc.aws_key(), tail)),
                user_agent)
    assert r.header("X-LLM-Cache") == "hit"
    stored = all_values(redis)
    assert b"[REDACTED_AWS_ACCESS_KEY_1]" in stored
    assert key.encode() not in stored
    assert key.encode() not in mock.requests[0].body


@pytest.mark.parametrize("stream", [False, True])
def test_the_shared_cache_holds_the_answer_as_scanned(nodes, mock, minter,
                                                     user_agent, redis,
                                                     stream):
    """What a node stores is the answer after the answer scan: the value
    the scan redacted is not in Redis, its placeholder is."""
    a, b = nodes
    token = minter.mint(sub="fleet-scan-" + tc.unique()[:8])
    mock.reply_text = "Write to %s today." % tc.EMAIL
    body = tc.chat("Whom to write, fleet? " + tc.unique(), stream=stream)
    first = tc.post(a, token, tc.CHAT, body, user_agent)
    assert first.status == 200 and first.header("X-LLM-Cache") == "miss"
    second = tc.post(b, token, tc.CHAT, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit"
    assert second.body == first.body
    stored = all_values(redis)
    assert b"[REDACTED_EMAIL_A1]" in stored
    assert tc.EMAIL.encode() not in stored
    assert len(mock.requests) == 1, mock.summary()


@pytest.mark.parametrize("stream", [False, True])
def test_a_hit_is_scanned_by_the_node_that_serves_it(nodes, unscanned, mock,
                                                     minter, user_agent,
                                                     stream):
    """A hit goes through the answer scan of the location that serves it,
    as a provider's answer would: an answer stored where answers are not
    scanned (or before a rule was added) reaches a caller of a scanning
    location redacted, and its row says what the scan found."""
    a, _ = nodes
    token = minter.mint(sub="fleet-rescan-" + tc.unique()[:8])
    mock.reply_text = "Write to %s today." % tc.EMAIL
    body = tc.chat("Unscanned first. " + tc.unique(), stream=stream)
    raw = tc.post(unscanned, token, tc.CHAT, body, user_agent)
    assert raw.status == 200 and raw.header("X-LLM-Cache") == "miss"
    assert tc.EMAIL.encode() in raw.body
    hit = tc.post(a, token, tc.CHAT, body, user_agent)
    assert hit.status == 200 and hit.header("X-LLM-Cache") == "hit"
    assert tc.EMAIL.encode() not in hit.body
    assert b"[REDACTED_EMAIL_A1]" in hit.body
    assert len(mock.requests) == 1, mock.summary()
    rows = {r["decision"]: r
            for r in a.audit.rows_for_user_agent(user_agent, count=2)}
    assert sorted(rows) == ["allow", "cache_hit"]
    assert [(f["type"], f["direction"]) for f in
            tc.findings_of(rows["cache_hit"])] == [("EMAIL", "answer")]


def test_redis_down_requests_go_to_the_provider(nodes, mock, minter,
                                               user_agent, redis):
    """The cache is an optimisation: without Redis every request is
    answered by its provider, and answers are cached again once Redis is
    back."""
    a, b = nodes
    token = minter.mint(sub="fleet-down-" + tc.unique()[:8])
    body = tc.chat("While Redis is away. " + tc.unique())
    before = [tc.cache_counts(g) for g in (a, b)]
    redis.kill()
    try:
        for g in (a, b):
            r = tc.post(g, token, tc.CHAT, body, user_agent)
            assert r.status == 200 and r.header("X-LLM-Cache") == "miss"
        assert len(mock.requests) == 2, mock.summary()
        # What an operator alerts on: each node counts the lookup and
        # the store its Redis did not answer.
        for g, was in zip((a, b), before):
            # The store is tried when the answer's last bucket passes,
            # which the caller may have read already.
            deadline = time.monotonic() + 10
            now = tc.cache_counts(g)
            while now[("stores", "error")] == was[("stores", "error")] \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
                now = tc.cache_counts(g)
            assert now[("lookups", "error")] == was[("lookups", "error")] + 1
            assert now[("stores", "error")] == was[("stores", "error")] + 1
            assert now[("lookups", "hit")] == was[("lookups", "hit")]
        # mod_socache_redis logs each failure itself (scache_rd, at
        # error and crit); the gateway adds its own line at info.
        assert "scache_rd" in a.error_log_text() + b.error_log_text()
    finally:
        redis.start()
    # APR's Redis client gives a server that failed five seconds before
    # it tries it again, per child process: within a few of those, the
    # nodes share answers again.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert tc.post(a, token, tc.CHAT, body, user_agent).status == 200
        r = tc.post(b, token, tc.CHAT, body, user_agent)
        assert r.status == 200
        if r.header("X-LLM-Cache") == "hit":
            break
        time.sleep(0.25)
    assert r.header("X-LLM-Cache") == "hit", b.error_log_tail()


def test_a_clean_hit_from_redis_is_read_again(gateway_factory, redis, mock,
                                              minter, user_agent):
    """The answer scan's mark of a clean answer is kept in Redis too, but
    a hit from a store other hosts can write is read again all the same:
    anything that reaches Redis could have written the mark."""
    store = LOAD_REDIS + ("LLMCacheStore redis:127.0.0.1:%d\nRedisTimeout 1\n"
                          % redis.port)
    g = gateway_factory.make(**tc.gateway_args(extra={
        "70-cache-store.conf": store, "72-trace.conf": tc.TRACE_SCAN}))
    token = minter.mint(sub="redis-clean-" + tc.unique()[:8])
    mock.reply_text = "Nothing to hide here."
    tag = tc.unique()
    body = tc.chat("Say something plain. " + tag)
    first = tc.post(g, token, tc.CHAT, body, user_agent)
    second = tc.post(g, token, tc.CHAT, body, user_agent)
    assert (first.header("X-LLM-Cache"), second.header("X-LLM-Cache")) == \
        ("miss", "hit")
    assert second.body == first.body
    heads = [v.split(b"\n", 1)[0] for v in all_values(redis).split(b"\n")
             if v.startswith(b"LLMC1 ")]
    # The entry has its mark (a fifth word): the store decides, not its
    # absence.
    assert any(len(h.split()) == 6 for h in heads), heads
    assert "LLM03400" not in g.error_log_text()
