"""Quotas (issue 5): requests and tokens per minute, daily and monthly
token budgets, per user and per group, counted in shared memory across all
httpd processes.  Exact under concurrent load, 429 with Retry-After and the
rate limit headers of the caller's dialect, the remaining figures on every
answer, and the real usage counted after each answer.
"""

import datetime
import json
import re
import threading
import time
import uuid

import pytest

from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
ANTHROPIC = {"anthropic-version": "2023-06-01"}

# Small children so that concurrent requests land in several processes:
# the counters must be shared, not per process.
SPREAD = """\
<IfModule mpm_event_module>
    StartServers             4
    ServerLimit              8
    ThreadsPerChild          8
    MaxRequestWorkers        64
    MinSpareThreads          8
    MaxSpareThreads          64
</IfModule>
LogFormat "%P %>s %{User-Agent}i" quotapid
CustomLog "${LLM_GW_DATA}/logs/pid.log" quotapid
"""

QUOTAS = """\
LLMRouteQuota user             requests/minute 1000
LLMRouteQuota user:hammer      requests/minute 25
LLMRouteQuota user:tpm         tokens/minute   1000
LLMRouteQuota user:daily       tokens/day      120
LLMRouteQuota user:monthly     tokens/month    120
LLMRouteQuota group:ci-bots    requests/minute 3
LLMRouteQuota user:vip         requests/minute unlimited
LLMRouteQuota user:anthro      requests/minute 2
LLMRouteQuota user:tokhammer   tokens/minute   {tokhammer}
"""


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"60-quotas.conf": QUOTAS.format(
                          tokhammer=TOKHAMMER_LIMIT)},
                      extra_conf=SPREAD)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def hammer_body():
    return chat("tokens " * 100, stream=True)


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
    """The gateway's estimate of a body's input tokens (bytes / 4)."""
    return (len(body) + 3) // 4


# Room for exactly 10 of hammer_body()'s estimates, not 11.
TOKHAMMER_LIMIT = 10 * estimate(hammer_body()) + estimate(hammer_body()) // 2


def seconds(duration):
    """OpenAI-style reset durations: "59s", "1m3s", "2h0m1s"."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+)s", duration)
    assert m, duration
    h, mi, s = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + s


def test_requests_per_minute_exact_under_concurrency(gw, mock, minter,
                                                     user_agent):
    """60 requests at once from 60 connections for one user with a limit
    of 25: exactly 25 reach the provider, exactly 35 get 429."""
    token = minter.mint(sub="hammer")
    n = 60
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        c = gw.client(timeout=60)
        barrier.wait()
        results[i] = c.post(CHAT, chat("hello %d" % i), token=token,
                            headers={"User-Agent": user_agent})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    statuses = [r.status for r in results]
    assert statuses.count(200) == 25, statuses
    assert statuses.count(429) == n - 25, statuses
    assert len(mock.wait_for_requests(25)) == 25
    time.sleep(0.5)
    assert len(mock.requests) == 25, "exactly the allowed ones went upstream"

    # The answers came from more than one httpd process: the count is
    # shared through shared memory, not kept per process.
    with open(gw.data_dir + "/logs/pid.log") as f:
        pids = {line.split()[0] for line in f if user_agent in line}
    assert len(pids) > 1, "all requests served by one process: %r" % pids

    refused = [r for r in results if r.status == 429][0]
    err = refused.json()["error"]
    assert err["code"] == "rate_limit_exceeded"
    assert err["type"] == "requests"
    assert "hammer" in err["message"]
    assert 1 <= int(refused.header("Retry-After")) <= 60
    assert refused.header("x-ratelimit-limit-requests") == "25"
    assert refused.header("x-ratelimit-remaining-requests") == "0"
    assert 1 <= seconds(refused.header("x-ratelimit-reset-requests")) <= 60
    remaining = sorted(int(r.header("x-ratelimit-remaining-requests"))
                       for r in results if r.status == 200)
    assert remaining == list(range(25)), remaining

    rows = gw.audit.wait_for_rows(
        "SELECT decision, http_status, reason FROM llm_audit "
        "WHERE user_agent = %s", (user_agent,), count=n, timeout=20)
    decisions = sorted((r["decision"], r["http_status"], r["reason"])
                       for r in rows)
    assert decisions.count(("quota", 429, "rate_limit_exceeded")) == 35
    assert sum(1 for d in decisions if d[:2] == ("allow", 200)) == 25

    # Another user is not affected.
    other = gw.client().post(CHAT, chat(), token=minter.mint(sub="bystander"))
    assert other.status == 200, other


def test_tokens_per_minute_exact_under_concurrency(gw, mock, minter):
    """30 streams at once whose estimates fit 10 times into the limit:
    exactly 10 are let through.  (Each stream lasts a second, so no answer's
    usage corrects the count while the others are counted.)"""
    token = minter.mint(sub="tokhammer")
    mock.stream_deltas = 10
    mock.stream_interval = 0.1
    n = 30
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        c = gw.client(timeout=60)
        barrier.wait()
        results[i] = c.post(CHAT, hammer_body(), token=token)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    statuses = [r.status for r in results]
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 20, statuses
    refused = [r for r in results if r.status == 429][0]
    assert refused.json()["error"]["type"] == "tokens"
    assert refused.header("x-ratelimit-limit-tokens") == str(TOKHAMMER_LIMIT)
    remaining = sorted(int(r.header("x-ratelimit-remaining-tokens"))
                       for r in results if r.status == 200)
    e = estimate(hammer_body())
    assert remaining == [TOKHAMMER_LIMIT - k * e for k in range(10, 0, -1)]


def test_tokens_per_minute_counts_real_usage(gw, mock, minter):
    token = minter.mint(sub="tpm")
    c = gw.client()
    first_body = chat("x" * 800)
    first = c.post(CHAT, first_body, token=token)
    assert first.status == 200, first
    # Before the answer, only the estimate was counted.
    assert first.header("x-ratelimit-limit-tokens") == "1000"
    assert (int(first.header("x-ratelimit-remaining-tokens"))
            == 1000 - estimate(first_body))
    usage = first.json()["usage"]
    real = usage["prompt_tokens"] + usage["completion_tokens"]
    assert real != estimate(first_body)
    time.sleep(0.5)                  # log_transaction runs after the answer

    second_body = chat("y")
    second = c.post(CHAT, second_body, token=token)
    assert second.status == 200, second
    assert (int(second.header("x-ratelimit-remaining-tokens"))
            == 1000 - real - estimate(second_body)), "corrected to usage"
    time.sleep(0.5)
    usage2 = second.json()["usage"]
    used = real + usage2["prompt_tokens"] + usage2["completion_tokens"]

    # A request whose estimate does not fit is refused, nothing counted.
    big = chat("z" * (4 * (1000 - used) + 40))
    refused = c.post(CHAT, big, token=token)
    assert refused.status == 429, refused
    assert refused.json()["error"]["type"] == "tokens"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.header("x-ratelimit-remaining-tokens") == str(1000 - used)
    assert 1 <= int(refused.header("Retry-After")) <= 60
    assert len(mock.requests) == 2
    # Something small still fits.
    assert c.post(CHAT, chat("ok"), token=token).status == 200


def test_daily_budget(gw, mock, minter):
    token = minter.mint(sub="daily")
    c = gw.client()
    allowed = 0
    resp = None
    for _ in range(20):
        resp = c.post(CHAT, chat("count me"), token=token)
        if resp.status != 200:
            break
        allowed += 1
        time.sleep(0.3)
    assert resp.status == 429, resp
    assert allowed >= 1
    err = resp.json()["error"]
    assert err["code"] == "budget_exceeded"
    assert err["type"] == "tokens"
    assert "per day" in err["message"]
    now = datetime.datetime.now(datetime.timezone.utc)
    midnight = (now + datetime.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    to_midnight = (midnight - now).total_seconds()
    assert abs(int(resp.header("Retry-After")) - to_midnight) <= 5
    assert resp.header("x-ratelimit-limit-tokens") == "120"
    assert abs(seconds(resp.header("x-ratelimit-reset-tokens"))
               - to_midnight) <= 5


def test_monthly_budget(gw, mock, minter):
    token = minter.mint(sub="monthly")
    c = gw.client()
    resp = None
    for _ in range(20):
        resp = c.post(CHAT, chat("count me"), token=token)
        if resp.status != 200:
            break
        time.sleep(0.3)
    assert resp.status == 429, resp
    assert resp.json()["error"]["code"] == "budget_exceeded"
    assert "per month" in resp.json()["error"]["message"]
    now = datetime.datetime.now(datetime.timezone.utc)
    nxt = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
           + datetime.timedelta(days=32)).replace(day=1)
    assert abs(int(resp.header("Retry-After"))
               - (nxt - now).total_seconds()) <= 5


def test_group_quota_is_shared_by_its_members(gw, mock, minter):
    alice = minter.mint(sub="ci-alice-" + uuid.uuid4().hex[:6],
                        groups=["developers", "ci-bots"])
    bob = minter.mint(sub="ci-bob-" + uuid.uuid4().hex[:6],
                      groups=["ci-bots", "developers"])
    carol = minter.mint(sub="carol-" + uuid.uuid4().hex[:6],
                        groups=["developers"])
    c = gw.client()
    assert c.post(CHAT, chat(), token=alice).status == 200
    assert c.post(CHAT, chat(), token=bob).status == 200
    third = c.post(CHAT, chat(), token=alice)
    assert third.status == 200
    assert third.header("x-ratelimit-remaining-requests") == "0"
    refused = c.post(CHAT, chat(), token=bob)
    assert refused.status == 429, refused
    assert "group ci-bots" in refused.json()["error"]["message"]
    assert refused.header("x-ratelimit-limit-requests") == "3"
    # Not in the group: only the generous per-user default applies.
    ok = c.post(CHAT, chat(), token=carol)
    assert ok.status == 200
    assert ok.header("x-ratelimit-limit-requests") == "1000"


def test_user_override_lifts_the_default(gw, mock, minter):
    resp = gw.client().post(CHAT, chat(), token=minter.mint(sub="vip"))
    assert resp.status == 200
    assert resp.header("x-ratelimit-limit-requests") is None


def test_anthropic_dialect_headers(gw, mock, minter):
    token = minter.mint(sub="anthro")
    c = gw.client()
    # The provider's own figures (about the gateway's shared key) are
    # replaced by the caller's.
    mock.respond_next(200, json.dumps({
        "id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1}}),
        headers={"anthropic-ratelimit-requests-limit": "4000",
                 "anthropic-ratelimit-requests-remaining": "3999"})
    ok = c.post(MESSAGES, anthropic(), headers=dict(ANTHROPIC,
                                                    **{"x-api-key": token}))
    assert ok.status == 200, ok
    assert ok.header("anthropic-ratelimit-requests-limit") == "2"
    assert ok.header("anthropic-ratelimit-requests-remaining") == "1"
    reset = datetime.datetime.strptime(
        ok.header("anthropic-ratelimit-requests-reset"), "%Y-%m-%dT%H:%M:%SZ"
    ).replace(tzinfo=datetime.timezone.utc)
    left = (reset - datetime.datetime.now(datetime.timezone.utc)
            ).total_seconds()
    assert 0 <= left <= 61
    assert ok.header("x-ratelimit-limit-requests") is None
    assert len([k for k, _ in ok.headers
                if k.lower() == "anthropic-ratelimit-requests-limit"]) == 1

    assert c.post(MESSAGES, anthropic(), headers=dict(
        ANTHROPIC, **{"x-api-key": token})).status == 200
    refused = c.post(MESSAGES, anthropic(), headers=dict(
        ANTHROPIC, **{"x-api-key": token}))
    assert refused.status == 429, refused
    body = refused.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert refused.header("anthropic-ratelimit-requests-remaining") == "0"
    assert 1 <= int(refused.header("retry-after")) <= 60
    assert refused.header("x-ratelimit-remaining-requests") is None


@pytest.mark.parametrize("line,value", [
    ("LLMRouteQuota user requests/fortnight 10", "requests/fortnight"),
    ("LLMRouteQuota user tokens/minute lots", "lots"),
    ("LLMRouteQuota everyone tokens/minute 10", "everyone"),
    ("LLMRouteQuota user tokens/minute 10\n"
     "LLMRouteQuota user tokens/minute 20", "twice"),
    ("<VirtualHost *:9>\nLLMRouteQuotaSlots 5000\n</VirtualHost>",
     "LLMRouteQuotaSlots"),
    ("LLMRouteQuotaSlots 10", "10"),
    ("<VirtualHost *:9>\nLLMRouteQuotaRestore On\n</VirtualHost>",
     "LLMRouteQuotaRestore"),
    ("LLMRouteQuotaRestore maybe", "LLMRouteQuotaRestore"),
])
def test_config_check_rejects_bad_lines(gateway_factory, line, value):
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "99-bad.conf" in out, out
    assert value in out, out


# A <Location>'s line for the same counter replaces the inherited one;
# inherited lines for other counters still apply.
MERGED = """\
LLMRouteQuota user          requests/minute 1
LLMRouteQuota user:keeper   requests/minute 1
<Location /v1>
    LLMRouteQuota user      requests/minute 3
</Location>
"""


def test_location_line_replaces_the_inherited_line_of_its_counter(
        gateway_factory, mock, minter):
    g = gateway_factory.make(pg=None, gateway_d={"60-quotas.conf": MERGED})
    token = minter.mint(sub="merge-" + uuid.uuid4().hex[:8])
    got = [g.client().post(CHAT, chat(), token=token).status
           for _ in range(4)]
    assert got == [200, 200, 200, 429], got
    keeper = minter.mint(sub="keeper")
    got = [g.client().post(CHAT, chat(), token=keeper).status
           for _ in range(2)]
    assert got == [200, 429], got
