"""The exact answer cache (issue 16, item 4): LLMCache On in the sample's
70-cache.conf (Define LLM_GW_CACHE), answers kept in httpd's own socache
providers (shmcb on one node; a real redis-server shared by two nodes in
test_cache_fleet.py).

Each test asserts what the caller got, what reached the mock provider
(a hit reaches nothing), and the audit row (decision cache_hit, tokens 0,
cost 0 and the cost saved)."""

import json
import os
import random
import string
import time
import uuid

import pytest

import audit_helpers as ah
from gwtest.client import parse_sse
from client_helpers import clients_installed, run_sdk  # noqa: F401
from scan_helpers import github_token

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
ANTHROPIC = {"anthropic-version": "2023-06-01"}

PRICES = """\
LLMAuditPrice gpt-*    2 1 8
LLMAuditPrice claude-* 3 0.3 15
"""

# Secrets are redacted here (the default blocks them), so that a body
# holding one still goes upstream -- and into the cache key -- redacted;
# GitHub tokens still block, for the answers the answer scan refuses.
SCAN = """\
<Location /v1>
    LLMScanAction secret redact
    LLMScanAction GITHUB_TOKEN block
</Location>
"""

QUOTAS = """\
LLMRouteQuota user            requests/minute 1000
LLMRouteQuota user:fewreqs    requests/minute 3
LLMRouteQuota user:budget     tokens/day      60
"""


def cache_conf(scope="user", ttl="10m", store=None):
    conf = ("<Location /v1>\n    LLMCacheScope %s\n    LLMCacheTTL %s\n"
            "</Location>\n" % (scope, ttl))
    if store:
        conf = "LLMCacheStore %s\n" % store + conf
    return conf


def gateway_args(scope="user", extra=None, **kw):
    """GatewayServer's arguments for a gateway with the cache on."""
    files = {"55-prices.conf": PRICES, "45-scan-redact.conf": SCAN,
             "60-quotas.conf": QUOTAS, "71-cache-test.conf": cache_conf(scope)}
    files.update(extra or {})
    kw.update(gateway_d=files, defines={"LLM_GW_CACHE": "1"})
    return kw


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      **gateway_args())
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def unique():
    return uuid.uuid4().hex


def chat(content, **extra):
    body = {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


def anthropic(content, model="claude-sonnet-4-5", **extra):
    body = {"model": model, "max_tokens": 64,
            "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


def post(gw, token, path, body, ua, headers=None):
    h = {"User-Agent": ua}
    if path == MESSAGES:
        h.update(ANTHROPIC)
    h.update(headers or {})
    return gw.client().post(path, body, token=token, headers=h)


def by_decision(gw, ua, count):
    """The rows of the requests sent with this User-Agent, by decision
    (each child writes its own rows in its own time: ids are not the
    order of the requests)."""
    got = {}
    for r in gw.audit.rows_for_user_agent(ua, count=count):
        assert r["decision"] not in got, r
        got[r["decision"]] = r
    return got


def aws_key():
    return "AKIA" + "".join(random.choice(string.ascii_uppercase + "234567")
                            for _ in range(16))


# -- hits and misses ----------------------------------------------------------

def test_second_identical_request_is_a_hit(gw, mock, minter, user_agent):
    token = minter.mint(sub="alice-" + unique()[:8])
    body = chat("What is 2+2? " + unique())
    first = post(gw, token, CHAT, body, user_agent)
    assert first.status == 200, first
    assert first.header("X-LLM-Cache") == "miss"
    mock.wait_for_requests(1)
    second = post(gw, token, CHAT, body, user_agent)
    assert second.status == 200, second
    assert second.header("X-LLM-Cache") == "hit"
    assert second.body == first.body
    assert second.header("Content-Type").startswith("application/json")
    assert len(mock.requests) == 1, mock.summary()
    got = by_decision(gw, user_agent, 2)
    miss, hit = got["allow"], got["cache_hit"]
    assert miss["decision"] == "allow"
    assert hit["decision"] == "cache_hit"
    assert hit["http_status"] == 200
    assert hit["upstream_status"] is None
    assert (hit["tokens_in"], hit["tokens_out"]) == (0, 0)
    assert float(hit["cost"]) == 0
    assert miss["cost_saved"] is None
    # What it saved is what the miss cost.
    assert float(hit["cost_saved"]) == pytest.approx(float(miss["cost"]))
    assert float(hit["cost_saved"]) > 0
    assert hit["model_used"] == "gpt-4o-mini"
    assert hit["provider"] == miss["provider"]
    # Counted as such on the metrics page, and no tokens for it.
    m = ah.metrics(gw)
    assert ah.metric_sum(m, "llm_gateway_requests_total",
                         decision="cache_hit") >= 1


def cache_counts(gw):
    m = ah.metrics(gw)
    return {(name, result): ah.metric_sum(m, "llm_gateway_cache_%s_total"
                                          % name, result=result)
            for name, results in (("lookups", ("hit", "miss", "error")),
                                  ("stores", ("stored", "error")))
            for result in results}


def test_metrics_count_what_the_store_answered(gw, mock, minter, user_agent):
    """The metrics page counts lookups by what the store answered and the
    answers it kept; no-cache is no lookup, no-store neither."""
    token = minter.mint(sub="counts-" + unique()[:8])
    body = chat("Count me. " + unique())
    before = cache_counts(gw)
    assert post(gw, token, CHAT, body, user_agent).header(
        "X-LLM-Cache") == "miss"
    assert post(gw, token, CHAT, body, user_agent).header(
        "X-LLM-Cache") == "hit"
    assert post(gw, token, CHAT, body, user_agent,
                {"Cache-Control": "no-cache"}).header("X-LLM-Cache") \
        == "bypass"
    assert post(gw, token, CHAT, chat("Keep none. " + unique()), user_agent,
                {"Cache-Control": "no-store"}).header("X-LLM-Cache") \
        == "bypass"
    # A child's store is done when its answer's last bucket has passed,
    # after the caller may have read it.
    deadline = time.time() + 10
    while True:
        after = cache_counts(gw)
        if after[("stores", "stored")] >= before[("stores", "stored")] + 2 \
                or time.time() > deadline:
            break
        time.sleep(0.1)
    diff = {k: after[k] - before[k] for k in after}
    assert diff == {("lookups", "hit"): 1, ("lookups", "miss"): 1,
                    ("lookups", "error"): 0, ("stores", "stored"): 2,
                    ("stores", "error"): 0}, diff


def test_anthropic_caller_hit(gw, mock, minter, user_agent):
    token = minter.mint(sub="anthro-" + unique()[:8])
    body = anthropic("Name a colour. " + unique())
    first = post(gw, token, MESSAGES, body, user_agent)
    second = post(gw, token, MESSAGES, body, user_agent)
    assert (first.status, second.status) == (200, 200)
    assert second.header("X-LLM-Cache") == "hit"
    assert second.json() == first.json()
    assert second.json()["type"] == "message"
    assert len(mock.requests) == 1, mock.summary()


def test_different_body_model_or_endpoint_misses(gw, mock, minter,
                                                 user_agent):
    token = minter.mint(sub="varied-" + unique()[:8])
    text = "Say something. " + unique()
    assert post(gw, token, CHAT, chat(text), user_agent).status == 200
    variants = [chat(text + " "), chat(text, temperature=0.5),
                chat(text, model="gpt-4o"), chat(text, stream=True)]
    for v in variants:
        r = post(gw, token, CHAT, v, user_agent)
        assert r.status == 200, r
        assert r.header("X-LLM-Cache") == "miss", v
    assert len(mock.requests) == 1 + len(variants), mock.summary()


def test_no_cache_skips_the_lookup_and_refreshes(gw, mock, minter,
                                                 user_agent):
    token = minter.mint(sub="nocache-" + unique()[:8])
    body = chat("Fresh please. " + unique())
    mock.reply_text = "first answer"
    assert post(gw, token, CHAT, body, user_agent).status == 200
    mock.reply_text = "second answer"
    r = post(gw, token, CHAT, body, user_agent,
             headers={"Cache-Control": "no-cache"})
    assert r.status == 200
    assert r.header("X-LLM-Cache") == "bypass"
    assert r.json()["choices"][0]["message"]["content"] == "second answer"
    assert len(mock.requests) == 2, mock.summary()
    # The fresh answer replaced the old one.
    r = post(gw, token, CHAT, body, user_agent)
    assert r.header("X-LLM-Cache") == "hit"
    assert r.json()["choices"][0]["message"]["content"] == "second answer"
    assert len(mock.requests) == 2, mock.summary()
    # no-store: neither looked up nor stored.
    body2 = chat("Never keep. " + unique())
    for _ in range(2):
        r = post(gw, token, CHAT, body2, user_agent,
                 headers={"Cache-Control": "no-store"})
        assert r.status == 200 and r.header("X-LLM-Cache") == "bypass"
    assert len(mock.requests) == 4, mock.summary()


# -- streams --------------------------------------------------------------------

def test_stream_hit_is_well_formed_sse(gw, mock, minter, user_agent):
    token = minter.mint(sub="streamer-" + unique()[:8])
    body = chat("Stream me. " + unique(), stream=True)
    mock.reply_text = "one two three four"
    first = post(gw, token, CHAT, body, user_agent)
    second = post(gw, token, CHAT, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit"
    assert second.header("Content-Type").startswith("text/event-stream")
    assert second.body == first.body
    events = parse_sse(second.body)
    assert events[-1] == (None, "[DONE]")
    text = "".join((json.loads(d)["choices"] or [{}])[0]
                   .get("delta", {}).get("content") or ""
                   for _, d in events[:-1])
    assert text == "one two three four"
    # The caller did not ask for the usage chunk: the replay has none.
    assert all("usage" not in json.loads(d) or json.loads(d)["usage"] is None
               for _, d in events[:-1])
    assert len(mock.requests) == 1, mock.summary()
    hit = by_decision(gw, user_agent, 2)["cache_hit"]
    assert hit["stream"] == 1


def test_anthropic_stream_hit_in_callers_dialect(gw, mock, minter,
                                                 user_agent):
    """An Anthropic caller on an OpenAI model: the stream is translated
    once, and the replay is the translated stream."""
    token = minter.mint(sub="astream-" + unique()[:8])
    body = anthropic("Stream in my dialect. " + unique(), model="gpt-4o-mini",
                     stream=True)
    first = post(gw, token, MESSAGES, body, user_agent)
    second = post(gw, token, MESSAGES, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit", second
    names = [n for n, _ in parse_sse(second.body)]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert second.body == first.body
    assert len(mock.requests) == 1, mock.summary()


def test_responses_stream_hit(gw, mock, minter, user_agent):
    token = minter.mint(sub="resp-" + unique()[:8])
    body = json.dumps({"model": "gpt-4o-mini", "stream": True,
                       "input": "Responses stream. " + unique()}).encode()
    first = post(gw, token, RESPONSES, body, user_agent)
    second = post(gw, token, RESPONSES, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit", second
    names = [n for n, _ in parse_sse(second.body)]
    assert names[0] == "response.created"
    assert names[-1] == "response.completed"
    assert second.body == first.body
    assert len(mock.requests) == 1, mock.summary()


def test_openai_sdk_accepts_a_cached_stream(gw, mock, minter,
                                            clients_installed):  # noqa: F811
    token = minter.mint(sub="sdk-cache-" + unique()[:8])
    mock.reply_text = "Cached words from the mock."
    prompt = "Repeat after me " + unique()
    outs = []
    for _ in range(2):
        run = run_sdk(gw, token, "openai-chat-stream", "gpt-4o-mini",
                      prompt=prompt)
        assert run.returncode == 0, run
        outs.append(run.json())
    assert len(mock.requests) == 1, mock.summary()
    assert outs[1]["text"] == "Cached words from the mock."
    assert outs[1]["finish"] == "stop"
    assert outs[1] == outs[0]
    outs = []
    for _ in range(2):
        run = run_sdk(gw, token, "openai-chat", "gpt-4o-mini", prompt=prompt)
        assert run.returncode == 0, run
        outs.append(run.json())
    assert len(mock.requests) == 2, mock.summary()
    assert outs[1] == outs[0]
    assert outs[1]["text"] == "Cached words from the mock."


def test_protocol_headers_are_part_of_the_key(gw, mock, minter, user_agent):
    token = minter.mint(sub="beta-" + unique()[:8])
    body = anthropic("Beta or not. " + unique())
    assert post(gw, token, MESSAGES, body, user_agent).status == 200
    r = post(gw, token, MESSAGES, body, user_agent,
             headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    assert r.status == 200 and r.header("X-LLM-Cache") == "miss"
    r = post(gw, token, MESSAGES, body, user_agent,
             headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    assert r.header("X-LLM-Cache") == "hit"
    assert len(mock.requests) == 2, mock.summary()


def test_ttl_ends_an_entry(gateway_factory, mock, minter, user_agent):
    g = gateway_factory.make(**gateway_args(
        extra={"71-cache-test.conf": cache_conf(ttl="1")}))
    token = minter.mint(sub="ttl-" + unique()[:8])
    body = chat("Short-lived. " + unique())
    t0 = time.monotonic()
    assert post(g, token, CHAT, body, user_agent).header("X-LLM-Cache") \
        == "miss"
    # Served from the cache until its second is over, then asked again.
    deadline = t0 + 15
    while time.monotonic() < deadline:
        r = post(g, token, CHAT, body, user_agent)
        if r.header("X-LLM-Cache") == "miss":
            break
        time.sleep(0.1)
    assert r.header("X-LLM-Cache") == "miss"
    assert time.monotonic() - t0 >= 1.0
    assert len(mock.requests) == 2, mock.summary()


# -- what is never cached -------------------------------------------------------

def test_answers_over_the_size_limit_are_not_kept(gateway_factory, mock,
                                                  minter, user_agent):
    g = gateway_factory.make(**gateway_args(
        extra={"72-cache-max.conf": "<Location /v1>\n    LLMCacheMaxAnswer "
                                    "2K\n</Location>\n"}))
    token = minter.mint(sub="big-" + unique()[:8])
    mock.reply_text = "long " * 1000
    body = chat("A long answer. " + unique())
    for _ in range(2):
        r = post(g, token, CHAT, body, user_agent)
        assert r.status == 200 and r.header("X-LLM-Cache") == "miss"
    mock.reply_text = "short"
    body = chat("A short answer. " + unique())
    post(g, token, CHAT, body, user_agent)
    assert post(g, token, CHAT, body, user_agent).header("X-LLM-Cache") \
        == "hit"
    assert len(mock.requests) == 3, mock.summary()


def test_group_scope_without_groups_is_not_cached(gateway_factory, mock,
                                                  minter, user_agent):
    g = gateway_factory.make(**gateway_args(
        scope="group",
        extra={"41-open.conf": "<Location /v1>\n    LLMRouteAllowModels * "
                               "*\n</Location>\n"}))
    token = minter.mint(sub="nogroups-" + unique()[:8], groups=None)
    body = chat("No groups. " + unique())
    for _ in range(2):
        r = post(g, token, CHAT, body, user_agent)
        assert r.status == 200, r
        assert r.header("X-LLM-Cache") is None
    assert len(mock.requests) == 2, mock.summary()


def test_error_answers_are_not_cached(gw, mock, minter, user_agent):
    token = minter.mint(sub="errors-" + unique()[:8])
    body = chat("Fail first. " + unique())
    mock.fail_next(500)
    r = post(gw, token, CHAT, body, user_agent)
    assert r.status == 500
    mock.respond_next(200, {"error": {"message": "overloaded",
                                      "type": "server_error"}})
    r = post(gw, token, CHAT, body, user_agent)
    assert r.status == 200 and "error" in r.json()
    r = post(gw, token, CHAT, body, user_agent)
    assert r.status == 200 and r.header("X-LLM-Cache") == "miss"
    assert "choices" in r.json()
    assert len(mock.requests) == 3, mock.summary()


def test_truncated_streams_are_not_cached(gw, mock, minter, user_agent):
    """A provider stream that ends without its last event: the caller's
    stream is closed properly by the translation, but nothing is kept."""
    token = minter.mint(sub="trunc-" + unique()[:8])
    # OpenAI provider, OpenAI caller: no [DONE].
    body = chat("Cut me off. " + unique(), stream=True)
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1,
             "model": "gpt-4o-mini",
             "choices": [{"index": 0, "delta": {"content": "half"},
                          "finish_reason": None}]}
    mock.respond_next(200, pieces=["data: %s\n\n" % json.dumps(chunk)],
                      headers={"Content-Type": "text/event-stream"})
    assert post(gw, token, CHAT, body, user_agent).status == 200
    # Anthropic provider, OpenAI caller: no message_stop (the translation
    # adds [DONE] for the caller all the same).
    abody = chat("Cut me too. " + unique(), model="claude-sonnet-4-5",
                 stream=True)
    start = {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "content": [],
        "usage": {"input_tokens": 5, "output_tokens": 0}}}
    mock.respond_next(200, pieces=[
        "event: message_start\ndata: %s\n\n" % json.dumps(start)],
        headers={"Content-Type": "text/event-stream"})
    cut = post(gw, token, CHAT, abody, user_agent)
    assert parse_sse(cut.body)[-1] == (None, "[DONE]")
    # A stream with an error event.
    ebody = anthropic("Error mid-way. " + unique(), stream=True)
    mock.respond_next(200, pieces=[
        "event: message_start\ndata: %s\n\n" % json.dumps(start),
        'event: error\ndata: {"type":"error","error":{"type":'
        '"overloaded_error","message":"Overloaded"}}\n\n'],
        headers={"Content-Type": "text/event-stream"})
    post(gw, token, MESSAGES, ebody, user_agent)
    for b, path in ((body, CHAT), (abody, CHAT), (ebody, MESSAGES)):
        r = post(gw, token, path, b, user_agent)
        assert r.status == 200
        assert r.header("X-LLM-Cache") == "miss", b
    assert len(mock.requests) == 6, mock.summary()


# -- scopes ---------------------------------------------------------------------

def test_scope_user_never_shares_between_users(gw, mock, minter, user_agent):
    body = chat("Shared question? " + unique())
    alice = minter.mint(sub="alice-" + unique()[:8])
    bob = minter.mint(sub="bob-" + unique()[:8])
    mock.reply_text = "for alice"
    assert post(gw, alice, CHAT, body, user_agent).status == 200
    mock.reply_text = "for bob"
    r = post(gw, bob, CHAT, body, user_agent)
    assert r.header("X-LLM-Cache") == "miss"
    assert r.json()["choices"][0]["message"]["content"] == "for bob"
    r = post(gw, alice, CHAT, body, user_agent)
    assert r.header("X-LLM-Cache") == "hit"
    assert r.json()["choices"][0]["message"]["content"] == "for alice"
    assert len(mock.requests) == 2, mock.summary()


def test_scope_group_shares_the_same_groups_only(gateway_factory, minter,
                                                 mock, postgres, user_agent):
    g = gateway_factory.make(**gateway_args(scope="group"))
    body = chat("Group question? " + unique())
    a = minter.mint(sub="ga-" + unique()[:8], groups=["developers", "ml"])
    b = minter.mint(sub="gb-" + unique()[:8], groups=["ml", "developers"])
    c = minter.mint(sub="gc-" + unique()[:8], groups=["developers"])
    assert post(g, a, CHAT, body, user_agent).header("X-LLM-Cache") == "miss"
    assert post(g, b, CHAT, body, user_agent).header("X-LLM-Cache") == "hit"
    assert post(g, c, CHAT, body, user_agent).header("X-LLM-Cache") == "miss"
    assert len(mock.requests) == 2, mock.summary()


def test_scope_all_shares_between_users(gateway_factory, minter, mock,
                                        postgres, user_agent):
    g = gateway_factory.make(**gateway_args(scope="all"))
    body = chat("Everyone's question? " + unique())
    for i, expect in enumerate(("miss", "hit", "hit")):
        token = minter.mint(sub="all-%d-%s" % (i, unique()[:6]))
        r = post(g, token, CHAT, body, user_agent)
        assert r.header("X-LLM-Cache") == expect
    assert len(mock.requests) == 1, mock.summary()


# -- redaction --------------------------------------------------------------------

def test_key_is_the_redacted_body(gw, mock, minter, user_agent):
    """Two different secrets in the same place redact to the same body:
    the second request is answered from the cache, and neither secret
    reached the provider or the cached answer."""
    token = minter.mint(sub="redact-" + unique()[:8])
    tail = unique()
    k1, k2 = aws_key(), aws_key()
    r1 = post(gw, token, CHAT, chat("my key is %s %s" % (k1, tail)),
              user_agent)
    r2 = post(gw, token, CHAT, chat("my key is %s %s" % (k2, tail)),
              user_agent)
    assert (r1.status, r2.status) == (200, 200)
    assert r1.header("X-LLM-Cache") == "miss"
    assert r2.header("X-LLM-Cache") == "hit"
    assert len(mock.requests) == 1, mock.summary()
    upstream = mock.requests[0].body
    assert k1.encode() not in upstream and b"[REDACTED_" in upstream
    assert k1.encode() not in r2.body and k2.encode() not in r2.body
    got = by_decision(gw, user_agent, 2)
    assert sorted(got) == ["cache_hit", "redact"]
    hit = got["cache_hit"]
    findings = hit["findings"]
    if isinstance(findings, str):
        findings = json.loads(findings)
    assert findings[0]["type"] == "AWS_ACCESS_KEY"
    assert k1 not in json.dumps(hit, default=str)
    assert k2 not in json.dumps(hit, default=str)


# -- reversible redaction (LLMScanRedact pii reversible in the sample) ------------

def test_a_hit_gives_each_caller_their_own_values_back(gateway_factory, minter,
                                                       mock, user_agent):
    """Two users' messages differ only in an e-mail address, which both
    reach the provider as the same placeholder: the second is a hit.  The
    cache keeps the answer with the placeholder (the restore filter comes
    after the store), so each caller gets their own address back -- never
    the other's, which no store holds."""
    from scan_helpers import email
    g = gateway_factory.make(**gateway_args(scope="all"))
    tail = unique()
    answer = {"id": "chatcmpl-c", "object": "chat.completion", "created": 1,
              "model": "gpt-4o-mini",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant",
                                       "content": "Reply to "
                                       "[REDACTED_EMAIL_1] today."}}],
              "usage": {"prompt_tokens": 9, "completion_tokens": 6,
                        "total_tokens": 15}}
    mock.respond_next(200, answer)
    a, b = email(), email()
    got = []
    for who, addr in (("a", a), ("b", b)):
        token = minter.mint(sub="restore-%s-%s" % (who, tail[:6]))
        r = post(g, token, CHAT, chat("Write to %s about %s" % (addr, tail)),
                 user_agent)
        assert r.status == 200, r
        got.append(r)
    assert [r.header("X-LLM-Cache") for r in got] == ["miss", "hit"]
    assert len(mock.requests) == 1, mock.summary()
    assert a.encode() not in mock.requests[0].body
    text = [json.loads(r.body)["choices"][0]["message"]["content"]
            for r in got]
    assert text == ["Reply to %s today." % a, "Reply to %s today." % b]
    assert a.encode() not in got[1].body


@pytest.mark.parametrize("path", [CHAT, MESSAGES], ids=["chat", "messages"])
def test_a_stream_hit_gives_each_caller_their_own_values_back(
        gateway_factory, minter, mock, user_agent, path):
    """The same with streams, the placeholder written over eighteen events
    (one character each), same dialect and translated to an Anthropic
    caller: the replayed stream is restored for the caller of the hit."""
    from scan_helpers import email
    g = gateway_factory.make(**gateway_args(scope="all"))
    tail = unique()
    reply = "Reply to [REDACTED_EMAIL_1] today."
    mock.reply_text = reply
    mock.stream_deltas = len(reply)
    a, b = email(), email()
    got = []
    for who, addr in (("a", a), ("b", b)):
        token = minter.mint(sub="srestore-%s-%s" % (who, tail[:6]))
        text = "Write to %s about %s" % (addr, tail)
        body = (chat(text, stream=True) if path == CHAT
                else anthropic(text, model="gpt-4o-mini", stream=True))
        r = post(g, token, path, body, user_agent)
        assert r.status == 200, r
        got.append(r)
    assert [r.header("X-LLM-Cache") for r in got] == ["miss", "hit"]
    assert len(mock.requests) == 1, mock.summary()

    def streamed(resp):
        out = ""
        for _, d in parse_sse(resp.body):
            if d == "[DONE]":
                continue
            ev = json.loads(d)
            if path == CHAT:
                out += "".join(c.get("delta", {}).get("content") or ""
                               for c in ev.get("choices") or [])
            elif ev.get("type") == "content_block_delta":
                out += ev["delta"].get("text", "")
        return out
    assert [streamed(r) for r in got] == ["Reply to %s today." % a,
                                          "Reply to %s today." % b]
    assert a.encode() not in got[1].body


# -- the answer scan (LLMScanResponse On in the sample) ---------------------------

EMAIL = "carol.quinn@northwind-mail.com"


def findings_of(row):
    f = row["findings"]
    return json.loads(f) if isinstance(f, str) else (f or [])


@pytest.mark.parametrize("stream", [False, True])
def test_the_cached_answer_is_the_scanned_one(gw, mock, minter, user_agent,
                                              stream):
    """What is stored is what the caller received, after the answer scan:
    the hit serves the redacted answer, byte for byte."""
    token = minter.mint(sub="scanned-" + unique()[:8])
    mock.reply_text = "Write to %s today." % EMAIL
    body = chat("Whom do I write? " + unique(), stream=stream)
    first = post(gw, token, CHAT, body, user_agent)
    second = post(gw, token, CHAT, body, user_agent)
    assert (first.status, second.status) == (200, 200)
    assert second.header("X-LLM-Cache") == "hit"
    assert second.body == first.body
    assert b"[REDACTED_EMAIL_A1]" in second.body
    assert EMAIL.encode() not in first.body + second.body
    assert len(mock.requests) == 1, mock.summary()
    got = by_decision(gw, user_agent, 2)
    assert sorted(got) == ["cache_hit", "redact"]
    assert [(f["type"], f["direction"]) for f in
            findings_of(got["redact"])] == [("EMAIL", "answer")]
    assert EMAIL not in json.dumps(got["cache_hit"], default=str)


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_the_scan_blocked_is_not_cached(gw, mock, minter,
                                                  user_agent, stream):
    """A blocked answer is no answer: a whole one is a 403, a stream keeps
    its 200 and the provider's stream ends properly, but the caller's ends
    with the scan's error event.  Neither is stored: the same request goes
    to the provider again."""
    token = minter.mint(sub="blocked-" + unique()[:8])
    planted = github_token()
    mock.reply_text = "Use the token %s to push." % planted
    body = chat("Give me a token. " + unique(), stream=stream)
    for _ in range(2):
        r = post(gw, token, CHAT, body, user_agent)
        assert r.header("X-LLM-Cache") == "miss"
        if stream:
            assert r.status == 200
            last = json.loads(parse_sse(r.body)[-1][1])
            assert last["error"]["code"] == "answer_github_token", r.body
        else:
            assert r.status == 403, r
            assert r.json()["error"]["code"] == "answer_github_token"
        assert planted.encode() not in r.body
    assert len(mock.requests) == 2, mock.summary()
    rows = gw.audit.rows_for_user_agent(user_agent, count=2)
    assert [row["decision"] for row in rows] == ["block", "block"]


TRACE_SCAN = "LogLevel warn llm_scan:trace1\n"
LOG_EMAIL = """\
<Location /v1>
    LLMScanAction EMAIL log
</Location>
"""


@pytest.mark.parametrize("stream", [False, True])
def test_a_clean_cached_answer_is_not_read_again(gateway_factory, mock,
                                                 minter, user_agent, stream):
    """An answer the scan read with no finding, kept in this node's shared
    memory, is served without being read again under the same rules; the
    caller gets the same bytes."""
    g = gateway_factory.make(**gateway_args(
        extra={"72-trace.conf": TRACE_SCAN}))
    token = minter.mint(sub="clean-" + unique()[:8])
    mock.reply_text = "Nothing to hide here."
    body = chat("Say something plain. " + unique(), stream=stream)
    first = post(g, token, CHAT, body, user_agent)
    assert first.header("X-LLM-Cache") == "miss"
    assert "LLM03400" not in g.error_log_text()
    second = post(g, token, CHAT, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit"
    assert second.body == first.body
    assert len(mock.requests) == 1, mock.summary()
    got = by_decision(g, user_agent, 2)
    assert findings_of(got["cache_hit"]) == []
    assert g.error_log_text().count("LLM03400") == 1, g.error_log_tail()


@pytest.mark.parametrize("stream", [False, True])
def test_a_cached_answer_with_a_finding_is_read_again(gateway_factory, mock,
                                                      minter, user_agent,
                                                      stream):
    """An answer in which the scan found something (here only logged, so
    it is stored as the provider wrote it) carries no mark: every hit is
    read again and its row has the finding, as the first one's has."""
    g = gateway_factory.make(**gateway_args(
        extra={"72-trace.conf": TRACE_SCAN, "73-log-email.conf": LOG_EMAIL}))
    token = minter.mint(sub="logged-" + unique()[:8])
    mock.reply_text = "Write to %s today." % EMAIL
    body = chat("Whom do I write? " + unique(), stream=stream)
    first = post(g, token, CHAT, body, user_agent)
    second = post(g, token, CHAT, body, user_agent)
    assert second.header("X-LLM-Cache") == "hit"
    assert second.body == first.body
    assert EMAIL.encode() in second.body
    got = by_decision(g, user_agent, 2)
    for row in (got["allow"], got["cache_hit"]):
        assert [(f["type"], f["direction"], f["action"])
                for f in findings_of(row)] == [("EMAIL", "answer", "log")]
    assert "LLM03400" not in g.error_log_text()


# -- quotas -----------------------------------------------------------------------

def test_hits_count_toward_request_limits(gw, mock, minter, user_agent):
    token = minter.mint(sub="fewreqs")
    body = chat("Count me. " + unique())
    statuses = [post(gw, token, CHAT, body, user_agent) for _ in range(4)]
    assert [r.status for r in statuses] == [200, 200, 200, 429]
    assert [r.header("X-LLM-Cache") for r in statuses[:3]] == \
        ["miss", "hit", "hit"]
    assert statuses[2].header("x-ratelimit-remaining-requests") == "0"
    assert len(mock.requests) == 1, mock.summary()


def test_hits_do_not_spend_token_budgets(gw, mock, minter, user_agent):
    """A budget the first answer spent refuses new requests, not the
    answers already cached."""
    token = minter.mint(sub="budget")
    # About 40 tokens estimated: within the budget of 60 once; the
    # provider's usage of the first (prompt and answer) leaves less than
    # another request of the same size needs.
    body = chat("Spend it. " + "a" * 100)
    r = post(gw, token, CHAT, body, user_agent)
    assert r.status == 200 and r.header("X-LLM-Cache") == "miss"
    r = post(gw, token, CHAT, chat("Spend it. " + "b" * 100), user_agent)
    assert r.status == 429, r
    assert r.json()["error"]["code"] == "budget_exceeded"
    for _ in range(3):
        r = post(gw, token, CHAT, body, user_agent)
        assert r.status == 200 and r.header("X-LLM-Cache") == "hit"
    assert len(mock.requests) == 1, mock.summary()


def test_budget_rebuild_counts_hits_as_requests(gateway_factory, mock,
                                                minter, user_agent):
    """After a full stop, LLMRouteQuotaRestore rebuilds day counters from
    the audit table: a hit counts there as the request it was."""
    user = "rebuild-" + unique()[:8]
    quotas = QUOTAS + ("LLMRouteQuotaRestore On\n"
                       "LLMRouteQuota user:%s requests/day 3\n" % user)
    args = gateway_args(extra={"60-quotas.conf": quotas})
    token = minter.mint(sub=user)
    body = chat("Count me after a restart. " + unique())
    g = gateway_factory.make(**args)
    got = [post(g, token, CHAT, body, user_agent).header("X-LLM-Cache")
           for _ in range(3)]
    assert got == ["miss", "hit", "hit"]
    assert len(g.audit.rows_for_user_agent(user_agent, count=3)) == 3
    g.stop()
    g2 = gateway_factory.make(**args)
    deadline = time.monotonic() + 30
    while "LLM02130" not in g2.error_log_text():
        assert time.monotonic() < deadline, g2.error_log_tail()
        time.sleep(0.2)
    r = post(g2, token, CHAT, body, user_agent)
    assert r.status == 429, r
    assert "per day" in r.json()["error"]["message"]
    assert len(mock.requests) == 1, mock.summary()


SPEND_PAGE = """\
<Location /llm-me-bearer>
    AuthType oauth2
    Require valid-user
    SetHandler llm-self-service
</Location>
"""


def page_figure(html, span):
    import re
    m = re.search(r'id="%s">\$?([0-9.]+)<' % span, html)
    return m and float(m.group(1))


def test_self_service_spend_counts_hits_as_requests(gateway_factory, mock,
                                                    minter, user_agent):
    """The page's request count is the quotas' (a hit is a request), the
    hits are said apart, and they add nothing to the spend."""
    g = gateway_factory.make(pg=None, **gateway_args(
        extra={"15-self-service.conf": SPEND_PAGE}))
    token = minter.mint(sub="spend-hits-" + unique()[:8])
    html = {"Accept": "text/html"}
    body = chat("Spend me once. " + unique())
    got = [post(g, token, CHAT, body, user_agent).header("X-LLM-Cache")
           for _ in range(3)]
    assert got == ["miss", "hit", "hit"]
    rows = by_decision_all(g, user_agent, 3)
    cost = sum(float(r["cost"] or 0) for r in rows)
    assert cost > 0
    page = g.client().request("GET", "/llm-me-bearer", token=token,
                              headers=html).body.decode()
    assert page_figure(page, "spend-requests") == 3, page
    assert page_figure(page, "spend-cache-hits") == 2, page
    assert page_figure(page, "spend-usd") == pytest.approx(cost, abs=1e-6)


def by_decision_all(gw, ua, count):
    rows = gw.audit.rows_for_user_agent(ua, count=count)
    assert sorted(r["decision"] for r in rows) == \
        ["allow", "cache_hit", "cache_hit"], rows
    return rows


# -- the audit chain ---------------------------------------------------------------

@pytest.fixture
def own_pg():
    """A database of the test's own: llm-audit-verify checks every chain
    in it, and the session's holds other gateways' chains, under their
    own keys."""
    from gwtest.pg import PostgresServer
    p = PostgresServer()
    try:
        p.init()
        p.load_schema_file(os.path.join(ah.REPO_ROOT, "conf", "sql",
                                        "postgresql.sql"))
        p.grant_gateway()
        yield p
    finally:
        p.destroy()


def test_rows_of_hits_verify_in_their_chains(gateway_factory, own_pg, mock,
                                             minter, user_agent):
    """cost_saved is part of the row's MAC: llm-audit-verify recomputes it
    from the text PostgreSQL returns for the NUMERIC column, and a row
    whose cost_saved was changed no longer verifies."""
    g = gateway_factory.make(pg=own_pg, **gateway_args())
    token = minter.mint(sub="chain-" + unique()[:8])
    body = chat("Verify me. " + unique())
    for _ in range(3):
        assert post(g, token, CHAT, body, user_agent).status == 200
    got = g.audit.rows_for_user_agent(user_agent, count=3)
    hits = [r for r in got if r["decision"] == "cache_hit"]
    assert len(hits) == 2 and all(float(r["cost_saved"]) > 0 for r in hits)
    rc, out = ah.verify(g, "--page-size", "500")
    assert rc == 0 and "all chains intact" in out, out
    own_pg.execute("UPDATE llm_audit SET cost_saved = cost_saved * 2 "
                   "WHERE id = %s", (hits[0]["id"],))
    rc, out = ah.verify(g, "--page-size", "500")
    assert rc != 0, out
    assert "EDITED" in out and hits[0]["request_id"] in out, out
    own_pg.execute("UPDATE llm_audit SET cost_saved = %s WHERE id = %s",
                   (hits[0]["cost_saved"], hits[0]["id"]))
    rc, out = ah.verify(g, "--page-size", "500")
    assert rc == 0, out


# -- configuration ----------------------------------------------------------------

@pytest.mark.parametrize("line,needle", [
    ("LLMCacheScope everyone", "LLMCacheScope: 'everyone' is not user"),
    ("LLMCacheTTL 0", "LLMCacheTTL: '0' is not a duration"),
    ("LLMCacheTTL 5x", "LLMCacheTTL: '5x' is not a duration"),
    ("LLMCacheMaxAnswer 12", "LLMCacheMaxAnswer:"),
])
def test_bad_directives_refused_at_config_test(gateway_factory, minter, line,
                                               needle):
    g = gateway_factory.make(gateway_d={"71-bad.conf": "<Location /v1>\n%s\n"
                                        "</Location>\n" % line},
                             defines={"LLM_GW_CACHE": "1"}, start=False)
    rc, out = g.check_config()
    assert rc != 0 and needle in out, out


def test_unknown_store_refused_at_config_test(gateway_factory, minter):
    g = gateway_factory.make(gateway_d={"71-bad.conf":
                                        "LLMCacheStore nosuch:1.2.3.4\n"},
                             defines={"LLM_GW_CACHE": "1"}, start=False)
    rc, out = g.check_config()
    assert rc != 0, out
    assert "no socache provider named 'nosuch' is loaded" in out, out
