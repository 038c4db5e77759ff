"""Graceful restart (issue 5): `apachectl graceful` applies a changed policy
file, keeps the quota counters, and lets a request in flight -- a slow
stream -- finish; what that old-generation process counts after the
restart lands in the same counters the new generation reads.
"""

import json
import threading
import time

from gwtest.client import parse_sse

CHAT = "/v1/chat/completions"

QUOTAS = """\
LLMRouteQuota user requests/minute 5
LLMRouteQuota user tokens/minute   100000
"""
ACCESS_OPEN = "LLMRouteAllowModels developers *\n"
ACCESS_CLOSED = "LLMRouteAllowModels developers gpt-4o-mini\n"


def chat(model="gpt-4o-mini", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra)
    return json.dumps(body).encode()


def test_graceful_applies_policy_keeps_counters_and_finishes_stream(
        gateway_factory, mock, minter):
    g = gateway_factory.make(gateway_d={"40-model-access.conf": ACCESS_OPEN,
                                        "60-quotas.conf": QUOTAS})
    c = g.client(timeout=60)
    token = minter.mint(sub="graceful-user")

    # Three requests counted before the restart.
    for i in range(3):
        r = c.post(CHAT, chat(), token=token)
        assert r.status == 200, r
    assert r.header("x-ratelimit-remaining-requests") == "2"
    assert c.post(CHAT, chat("claude-sonnet-4-5"), token=token).status == 200
    # (4 requests used now)

    # A slow stream: about 6 s of events, with usage at the end.
    mock.stream_interval = 0.05
    mock.stream_deltas = 120
    stream_token = minter.mint(sub="graceful-streamer")
    events, first_event, done = [], threading.Event(), threading.Event()
    status = {}

    def run_stream():
        try:
            for t, item in c.stream(CHAT, chat(stream=True,
                                               stream_options={
                                                   "include_usage": True}),
                                    token=stream_token):
                if t == 0.0:
                    status["status"] = item.status
                    status["remaining"] = item.header(
                        "x-ratelimit-remaining-tokens")
                    continue
                events.append(item)
                first_event.set()
        finally:
            done.set()

    th = threading.Thread(target=run_stream)
    th.start()
    assert first_event.wait(10), "the stream did not start"

    # Change policy: the developers group loses claude-*, and the request
    # quota grows; then a graceful restart while the stream runs.
    g.gateway_d["40-model-access.conf"] = ACCESS_CLOSED
    g.gateway_d["60-quotas.conf"] = QUOTAS.replace("minute 5", "minute 7")
    g.graceful(rebuild=True)
    assert not done.is_set(), "the stream should still be running"

    # New policy in force ...
    refused = c.post(CHAT, chat("claude-sonnet-4-5"), token=token)
    assert refused.status == 403, refused
    assert refused.json()["error"]["code"] == "model_not_allowed"
    # ... with the counts from before the restart (4 used, limit now 7;
    # the refused request above was not counted).
    r = c.post(CHAT, chat(), token=token)
    assert r.status == 200, r
    assert r.header("x-ratelimit-limit-requests") == "7"
    assert r.header("x-ratelimit-remaining-requests") == "2"

    # The stream in flight finishes whole.
    th.join(30)
    assert done.is_set()
    assert status["status"] == 200
    data = parse_sse("".join(events))
    assert data[-1] == (None, "[DONE]")
    usage = [json.loads(d)["usage"] for _, d in data
             if d != "[DONE]" and json.loads(d).get("usage")]
    assert usage, "the stream carried its usage event"
    deltas = [json.loads(d)["choices"][0]["delta"].get("content")
              for _, d in data if d != "[DONE]" and json.loads(d)["choices"]]
    assert len([x for x in deltas if x]) == 120

    # The old-generation process counted the stream's real usage in the
    # counters the new generation reads.
    total = usage[0]["prompt_tokens"] + usage[0]["completion_tokens"]
    time.sleep(0.5)
    nxt = c.post(CHAT, chat(), token=stream_token)
    assert nxt.status == 200, nxt
    est = (len(chat()) + 3) // 4
    assert int(nxt.header("x-ratelimit-remaining-tokens")) == \
        100000 - total - est
    assert "resuming normal operations" in g.error_log_text()
