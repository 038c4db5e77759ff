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


def test_redis_down_requests_go_to_the_provider(nodes, mock, minter,
                                               user_agent, redis):
    """The cache is an optimisation: without Redis every request is
    answered by its provider, and answers are cached again once Redis is
    back."""
    a, b = nodes
    token = minter.mint(sub="fleet-down-" + tc.unique()[:8])
    body = tc.chat("While Redis is away. " + tc.unique())
    redis.kill()
    try:
        for g in (a, b):
            r = tc.post(g, token, tc.CHAT, body, user_agent)
            assert r.status == 200 and r.header("X-LLM-Cache") == "miss"
        assert len(mock.requests) == 2, mock.summary()
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
