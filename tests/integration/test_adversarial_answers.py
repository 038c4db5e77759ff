"""Adversarial answers (issue 10, the answer path): what comes back from a
provider must be counted, must carry no secret the gateway holds, and must
reach the caller intact or as a clear error in its dialect.

- stream accounting (item 8): an OpenAI-dialect stream is charged and
  audited with its real usage whether or not the caller asked for it (the
  gateway asks the provider and strips the extra chunk), and with an
  estimate from the relayed text when the provider reports none -- both
  dialects, translated and not;
- error scrubbing (item 11): a provider error that echoes the provider key
  or the caller's token reaches the caller without them, headers included;
- large translated answers (item 14): over 32 MB, a 502 in the caller's
  dialect, never a 200 with a fragment;
- the local mock provider (item 15): linear body reading, the real
  Responses event sequence (the openai SDK's responses.stream()), one
  embedding per input.

The planted values are checked everywhere the caller or an operator can
see them: body, headers, audit row, error log, access log.
"""

import json
import time
import uuid

import pytest

from client_helpers import clients_installed, run_sdk  # noqa: F401
from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MESSAGES = "/v1/messages"
ANTHROPIC = {"anthropic-version": "2023-06-01"}
DAILY = 100000000
QUOTAS = "LLMRouteQuota user tokens/day %d\n" % DAILY
MB = 1024 * 1024


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"60-quotas.conf": QUOTAS})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def estimate(n):
    """The gateway's estimate: about 4 bytes per token, rounded up."""
    return (n + 3) // 4


def chat(content="hi", model="gpt-4o-mini", **extra):
    body = {"model": model,
            "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


def messages(content="hi", model="claude-sonnet-4-5", **extra):
    body = {"model": model, "max_tokens": 64,
            "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


def one_row(gw, user_agent):
    rows = gw.audit.rows_for_user_agent(user_agent)
    assert len(rows) == 1, rows
    return rows[0]


def data_events(resp):
    """The JSON data of each event (and "[DONE]" as text)."""
    out = []
    for _, data in resp.sse():
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def sse_text(events):
    return "".join("%sdata: %s\n\n" % ("event: %s\n" % name if name else "",
                                       data if isinstance(data, str)
                                       else json.dumps(data))
                   for name, data in events)


def remaining_tokens(gw, token):
    """What the token budget had left before a tiny request, read from
    that request's headers (they count its own estimate)."""
    body = chat("ok")
    resp = gw.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    return int(resp.header("x-ratelimit-remaining-tokens")) + estimate(
        len(body))


# --- stream accounting (item 8) -------------------------------------------


def test_openai_stream_without_include_usage_is_charged(gw, mock, minter,
                                                        user_agent):
    """1,000 generated tokens, the caller did not ask for usage: the
    provider is asked, the caller does not see the usage chunk, and quota
    and audit row count the 1,000."""
    token = minter.mint(sub="streamer-" + uuid.uuid4().hex[:8])
    mock.reply_text = "abcdefghij"
    mock.stream_deltas = 1000
    resp = gw.client().post(CHAT, chat("count to a thousand", stream=True),
                            token=token, headers={"User-Agent": user_agent})
    assert resp.status == 200, resp

    rec = [r for r in mock.requests if r.route.endswith("/chat/completions")
           and r.json().get("stream")][-1]
    assert rec.json()["stream_options"] == {"include_usage": True}
    provider_usage = [e for e in data_events_raw(rec.response_body)
                      if isinstance(e, dict) and e.get("usage")]
    assert len(provider_usage) == 1
    usage = provider_usage[0]["usage"]
    assert usage["completion_tokens"] == 1000

    events = data_events(resp)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["choices"] for c in chunks), "usage chunk relayed"
    assert not any(c.get("usage") for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in chunks)
    assert text == ("abcdefghij" * 100)

    row = one_row(gw, user_agent)
    assert row["tokens_out"] == 1000
    assert row["tokens_in"] == usage["prompt_tokens"]
    # A fresh user: the budget has lost exactly this stream's usage.
    assert DAILY - remaining_tokens(gw, token) == (
        usage["prompt_tokens"] + 1000)

    # A caller that asks gets the usage chunk, once.
    mock.stream_deltas = 10
    resp = gw.client().post(
        CHAT, chat("hello", stream=True,
                   stream_options={"include_usage": True}), token=token)
    assert resp.status == 200, resp
    usage = [e for e in data_events(resp)
             if isinstance(e, dict) and e.get("usage")]
    assert len(usage) == 1 and usage[0]["choices"] == []
    assert usage[0]["usage"]["completion_tokens"] == 10


def data_events_raw(body):
    from gwtest.client import parse_sse
    return [d if d == "[DONE]" else json.loads(d)
            for _, d in parse_sse(body)]


def test_stream_without_provider_usage_is_estimated(gw, mock, minter,
                                                    user_agent):
    """A provider that ignores stream_options (the test provider's
    completions stream reports no usage): input from the bytes sent,
    output from the text relayed."""
    mock.reply_text = "x" * 4001
    resp = gw.client().post(
        COMPLETIONS, json.dumps({"model": "gpt-3.5-turbo-instruct",
                                 "prompt": "write", "stream": True}),
        token=minter.mint(), headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    text = "".join(e["choices"][0]["text"] for e in data_events(resp)
                   if isinstance(e, dict))
    assert text == "x" * 4001
    rec = mock.last_request()
    assert rec.json()["stream_options"] == {"include_usage": True}
    row = one_row(gw, user_agent)
    assert row["tokens_out"] == estimate(4001)
    assert row["tokens_in"] == estimate(len(rec.body))


def test_translated_stream_without_usage_is_estimated(gw, mock, minter,
                                                      user_agent):
    """An Anthropic caller on an OpenAI provider that sends no usage."""
    text = "word " * 300
    chunk = {"id": "chatcmpl-x", "object": "chat.completion.chunk",
             "created": 1, "model": "gpt-4o-mini"}
    events = [(None, dict(chunk, choices=[{
        "index": 0, "delta": {"role": "assistant", "content": ""},
        "finish_reason": None}]))]
    events += [(None, dict(chunk, choices=[{
        "index": 0, "delta": {"content": "word "}, "finish_reason": None}]))
        for _ in range(300)]
    events += [(None, dict(chunk, choices=[{
        "index": 0, "delta": {}, "finish_reason": "stop"}])),
        (None, "[DONE]")]
    mock.respond_next(200, sse_text(events),
                      headers={"Content-Type": "text/event-stream"})
    resp = gw.client().post(
        MESSAGES, messages("talk", model="gpt-4o-mini", stream=True),
        headers=dict(ANTHROPIC, **{"x-api-key": minter.mint(),
                                   "User-Agent": user_agent}))
    assert resp.status == 200, resp
    names = [n for n, _ in resp.sse()]
    assert names[-1] == "message_stop"
    got = "".join(json.loads(d)["delta"]["text"] for n, d in resp.sse()
                  if n == "content_block_delta")
    assert got == text
    rec = mock.last_request()
    assert rec.json()["stream_options"] == {"include_usage": True}
    row = one_row(gw, user_agent)
    assert row["tokens_out"] == estimate(len(text))
    assert row["tokens_in"] == estimate(len(rec.body))


def test_anthropic_stream_cut_before_its_usage_is_estimated(gw, mock, minter,
                                                            user_agent):
    """message_start says output_tokens 1; the stream ends before the
    message_delta with the real figure: the relayed text counts."""
    text = "token " * 200
    events = [("message_start", {"type": "message_start", "message": {
        "id": "msg_x", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "content": [], "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 40, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text",
                                                   "text": ""}})]
    events += [("content_block_delta", {
        "type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": "token "}})
        for _ in range(200)]
    mock.respond_next(200, sse_text(events),
                      headers={"Content-Type": "text/event-stream"})
    resp = gw.client().post(
        MESSAGES, messages("talk", stream=True),
        headers=dict(ANTHROPIC, **{"x-api-key": minter.mint(),
                                   "User-Agent": user_agent}))
    assert resp.status == 200, resp
    row = one_row(gw, user_agent)
    assert row["tokens_in"] == 40
    assert row["tokens_out"] == estimate(len(text))


def test_stream_the_caller_leaves_is_charged(gw, mock, minter, user_agent):
    """The caller hangs up before the usage chunk: what was relayed until
    then is charged, not nothing."""
    # words, not one 400-character run: the answer scan (LLMScanResponse,
    # on in the sample) holds a run that long back as a possible value
    mock.reply_text = "x " * 200
    mock.stream_deltas = 400
    mock.stream_interval = 0.01
    stream = gw.client().stream(
        CHAT, chat("long", stream=True,
                   stream_options={"include_usage": True}),
        token=minter.mint(), headers={"User-Agent": user_agent})
    seen = 0
    for _, ev in stream:
        if isinstance(ev, str) and '"content":"x"' in ev:
            seen += 1
            if seen == 40:
                break
    stream.close()
    rec = mock.last_request()
    row = one_row(gw, user_agent)
    assert row["tokens_in"] == estimate(len(rec.body))
    assert row["tokens_out"] >= estimate(40)


# --- provider errors carry no secret (item 11) -----------------------------


def assert_nowhere(gw, resp, secrets, user_agent):
    blob = resp.body.decode("utf-8", "replace")
    for s in secrets:
        assert s not in blob, "secret in the body: %s" % blob[:300]
        for k, v in resp.headers:
            assert s not in v, "secret in header %s" % k
    time.sleep(0.2)
    logs = gw.error_log_text() + gw.access_log_text()
    row = json.dumps(one_row(gw, user_agent), default=str)
    for s in secrets:
        assert s not in logs
        assert s not in row


def echo_headers(key, token):
    return {"Content-Type": "application/json",
            "x-echo-authorization": "Bearer " + key,
            "x-echo-caller": "token=" + token}


def test_openai_error_echoing_key_is_scrubbed(gw, mock, minter, user_agent):
    token = minter.mint()
    key = gw.openai_key
    mock.respond_next(401, {"error": {
        "message": "Incorrect API key provided: %s. You can find your API "
                   "key at https://platform.openai.com/account/api-keys. "
                   "(caller: %s)" % (key, token),
        "type": "invalid_request_error", "param": None,
        "code": "invalid_api_key"}}, headers=echo_headers(key, token))
    resp = gw.client().post(CHAT, chat(), token=token,
                            headers={"User-Agent": user_agent})
    assert resp.status == 401, resp
    err = resp.json()["error"]
    assert err["code"] == "invalid_api_key"
    assert "Incorrect API key provided: [REDACTED_PROVIDER_KEY]." in \
        err["message"]
    assert "[REDACTED_GATEWAY_TOKEN]" in err["message"]
    assert resp.header("x-echo-authorization") == \
        "Bearer [REDACTED_PROVIDER_KEY]"
    assert int(resp.header("Content-Length")) == len(resp.body)
    assert_nowhere(gw, resp, [key, token], user_agent)


def test_anthropic_error_echoing_key_is_scrubbed(gw, mock, minter,
                                                 user_agent):
    token = minter.mint()
    key = gw.anthropic_key
    mock.respond_next(401, {"type": "error", "error": {
        "type": "authentication_error",
        "message": "invalid x-api-key %s for %s" % (key, token)}},
        headers=echo_headers(key, token))
    resp = gw.client().post(MESSAGES, messages(), headers=dict(
        ANTHROPIC, **{"x-api-key": token, "User-Agent": user_agent}))
    assert resp.status == 401, resp
    body = resp.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"
    assert "[REDACTED_PROVIDER_KEY]" in body["error"]["message"]
    assert_nowhere(gw, resp, [key, token], user_agent)


def test_translated_error_echoing_key_is_scrubbed(gw, mock, minter,
                                                  user_agent):
    """An OpenAI caller on an Anthropic model, streamed: the Anthropic
    error is translated and scrubbed."""
    token = minter.mint()
    key = gw.anthropic_key
    mock.respond_next(403, {"type": "error", "error": {
        "type": "permission_error",
        "message": "key %s may not use this model" % key}},
        headers=echo_headers(key, token))
    resp = gw.client().post(CHAT, chat(model="claude-sonnet-4-5",
                                       stream=True),
                            token=token, headers={"User-Agent": user_agent})
    assert resp.status == 403, resp
    assert "[REDACTED_PROVIDER_KEY]" in resp.json()["error"]["message"]
    assert_nowhere(gw, resp, [key, token], user_agent)


def test_translated_answer_echoing_key_is_scrubbed(gw, mock, minter,
                                                   user_agent):
    """A translated answer is held whole: a key in it does not go back."""
    token = minter.mint()
    key = gw.anthropic_key
    mock.respond_next(200, {
        "id": "msg_k", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "your key is %s" % key}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 5}},
        headers=echo_headers(key, token))
    resp = gw.client().post(CHAT, chat(model="claude-sonnet-4-5"),
                            token=token, headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    assert resp.json()["choices"][0]["message"]["content"] == \
        "your key is [REDACTED_PROVIDER_KEY]"
    assert_nowhere(gw, resp, [key, token], user_agent)


# --- successful answers relayed as they come carry no secret either ----------

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
# (caller dialect, provider dialect): translated when they differ.
DIALECTS = [("openai", "openai"), ("anthropic", "anthropic"),
            ("openai", "anthropic"), ("anthropic", "openai")]
# Where the piece boundary falls inside the key and inside the token.
SPLITS = ["first", "middle", "last"]


def split_at(which, n):
    return {"first": 1, "middle": n // 2, "last": n - 1}[which]


def provider_key(gw, provider):
    return gw.openai_key if provider == "openai" else gw.anthropic_key


def provider_answer(provider, text):
    if provider == "openai":
        return {"id": "chatcmpl-k", "object": "chat.completion",
                "created": 1, "model": OPENAI_MODEL,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant",
                                         "content": text}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5,
                          "total_tokens": 8}}
    return {"id": "msg_k", "type": "message", "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 5}}


def provider_stream(provider, texts):
    """A stream of the provider's dialect, one text delta per text."""
    if provider == "openai":
        chunk = {"id": "chatcmpl-k", "object": "chat.completion.chunk",
                 "created": 1, "model": OPENAI_MODEL}
        events = [(None, dict(chunk, choices=[{
            "index": 0, "delta": {"role": "assistant", "content": ""},
            "finish_reason": None}]))]
        events += [(None, dict(chunk, choices=[{
            "index": 0, "delta": {"content": t}, "finish_reason": None}]))
            for t in texts]
        events += [(None, dict(chunk, choices=[{
            "index": 0, "delta": {}, "finish_reason": "stop"}])),
            (None, dict(chunk, choices=[], usage={
                "prompt_tokens": 3, "completion_tokens": 5,
                "total_tokens": 8})),
            (None, "[DONE]")]
        return sse_text(events)
    events = [("message_start", {"type": "message_start", "message": {
        "id": "msg_k", "type": "message", "role": "assistant",
        "model": ANTHROPIC_MODEL, "content": [], "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text",
                                                   "text": ""}})]
    events += [("content_block_delta", {
        "type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": t}}) for t in texts]
    events += [("content_block_stop", {"type": "content_block_stop",
                                       "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {
                   "stop_reason": "end_turn", "stop_sequence": None},
                   "usage": {"output_tokens": 5}}),
               ("message_stop", {"type": "message_stop"})]
    return sse_text(events)


def pieces_splitting(text, secrets, where):
    """text cut inside every secret (at the split point ``where``), so
    that each one reaches the gateway in two reads."""
    cuts = sorted(text.index(s) + split_at(where, len(s)) for s in secrets)
    out, prev = [], 0
    for c in cuts:
        out.append(text[prev:c])
        prev = c
    out.append(text[prev:])
    return out


def log_count(gw, *ids):
    text = gw.error_log_text()
    return sum(text.count(i) for i in ids)


def ask(gw, caller, provider, token, user_agent, stream):
    model = OPENAI_MODEL if provider == "openai" else ANTHROPIC_MODEL
    if caller == "openai":
        return gw.client().post(CHAT, chat("echo", model=model,
                                           stream=stream),
                                token=token,
                                headers={"User-Agent": user_agent})
    return gw.client().post(MESSAGES, messages("echo", model=model,
                                               stream=stream),
                            headers=dict(ANTHROPIC, **{
                                "x-api-key": token,
                                "User-Agent": user_agent}))


def streamed_text(caller, resp):
    if caller == "openai":
        return "".join(
            d["choices"][0]["delta"].get("content") or ""
            for d in data_events(resp)
            if d != "[DONE]" and d.get("choices"))
    return "".join(json.loads(d)["delta"]["text"] for n, d in resp.sse()
                   if n == "content_block_delta")


@pytest.mark.parametrize("where", SPLITS)
@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_answer_echoing_key_is_scrubbed(gw, mock, minter, user_agent,
                                        caller, provider, where):
    """A successful non-stream answer, sent in pieces cut inside the key
    and inside the token: neither reaches the caller."""
    token = minter.mint()
    key = provider_key(gw, provider)
    body = json.dumps(provider_answer(
        provider, "your key is %s and you are %s." % (key, token)))
    mock.respond_next(200, pieces=pieces_splitting(body, [key, token],
                                                   where))
    logged = log_count(gw, "LLM02350", "LLM02306")
    resp = ask(gw, caller, provider, token, user_agent, stream=False)
    assert resp.status == 200, resp
    got = resp.json()
    text = (got["choices"][0]["message"]["content"] if caller == "openai"
            else got["content"][0]["text"])
    assert text == ("your key is [REDACTED_PROVIDER_KEY] and you are "
                    "[REDACTED_GATEWAY_TOKEN].")
    assert_nowhere(gw, resp, [key, token], user_agent)
    assert log_count(gw, "LLM02350", "LLM02306") == logged + 1


@pytest.mark.parametrize("where", SPLITS)
@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_stream_echoing_key_is_scrubbed(gw, mock, minter, user_agent,
                                        caller, provider, where):
    """A stream whose key and token each arrive cut in two reads (the
    second half with the next events): the caller gets every event, the
    secrets replaced, the text otherwise whole."""
    token = minter.mint()
    key = provider_key(gw, provider)
    texts = ["Hello. ", "Your key is %s, " % key, "you are %s." % token,
             " Bye."]
    mock.respond_next(200, pieces=pieces_splitting(
        provider_stream(provider, texts), [key, token], where),
        headers={"Content-Type": "text/event-stream"})
    logged = log_count(gw, "LLM02350")
    resp = ask(gw, caller, provider, token, user_agent, stream=True)
    assert resp.status == 200, resp
    assert streamed_text(caller, resp) == (
        "Hello. Your key is [REDACTED_PROVIDER_KEY], you are "
        "[REDACTED_GATEWAY_TOKEN]. Bye.")
    names = [n for n, _ in resp.sse()]
    if caller == "anthropic":
        assert names[-1] == "message_stop"
    else:
        assert data_events(resp)[-1] == "[DONE]"
    assert_nowhere(gw, resp, [key, token], user_agent)
    assert log_count(gw, "LLM02350") == logged + 1
    row = one_row(gw, user_agent)
    assert row["tokens_out"] > 0


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_stream_scrub_holds_no_complete_event(gw, mock, minter, user_agent,
                                              dialect):
    """The provider stops for 2 s in the middle of the key: the events
    before it reach the caller at once, not when the key is complete."""
    token = minter.mint()
    key = provider_key(gw, dialect)
    text = provider_stream(dialect, ["Hello. ", "Your key is %s." % key])
    cut = text.index(key) + len(key) // 2
    mock.respond_next(200, pieces=[text[:cut], text[cut:]], pause=2.0,
                      headers={"Content-Type": "text/event-stream"})
    model = OPENAI_MODEL if dialect == "openai" else ANTHROPIC_MODEL
    if dialect == "openai":
        stream = gw.client().stream(CHAT, chat("echo", model=model,
                                               stream=True),
                                    token=token,
                                    headers={"User-Agent": user_agent})
    else:
        stream = gw.client().stream(MESSAGES, messages("echo", model=model,
                                                       stream=True),
                                    headers=dict(ANTHROPIC, **{
                                        "x-api-key": token,
                                        "User-Agent": user_agent}))
    hello = keyed = None
    for t, ev in stream:
        if isinstance(ev, str) and "Hello. " in ev:
            hello = t
        if isinstance(ev, str) and "Your key is" in ev:
            keyed = t
            assert key not in ev and "[REDACTED_PROVIDER_KEY]" in ev, ev
    assert hello is not None and keyed is not None
    assert hello < 1.5, hello
    assert keyed >= 2.0, keyed


# --- answers too large to translate (item 14) -------------------------------


def test_huge_anthropic_answer_for_openai_caller_is_a_502(gw, mock, minter,
                                                          user_agent):
    huge = json.dumps({
        "id": "msg_big", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "y" * (33 * MB)}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 9000000}})
    mock.respond_next(200, huge)
    resp = gw.client().post(CHAT, chat(model="claude-sonnet-4-5"),
                            token=minter.mint(),
                            headers={"User-Agent": user_agent}, timeout=120)
    assert resp.status == 502, resp
    assert resp.header("Content-Type").startswith("application/json")
    err = resp.json()["error"]
    assert err["code"] == "upstream_response_too_large"
    assert "32 MB" in err["message"]
    row = one_row(gw, user_agent)
    assert row["http_status"] == 502
    # The provider billed the answer: it is charged (by its size).
    assert row["tokens_out"] >= estimate(33 * MB)


def test_huge_openai_answer_for_anthropic_caller_is_a_502(gw, mock, minter,
                                                          user_agent):
    huge = json.dumps({
        "id": "chatcmpl-big", "object": "chat.completion", "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "z" * (33 * MB)}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9000000}})
    mock.respond_next(200, huge)
    resp = gw.client().post(MESSAGES, messages(model="gpt-4o-mini"),
                            headers=dict(ANTHROPIC, **{
                                "x-api-key": minter.mint(),
                                "User-Agent": user_agent}), timeout=120)
    assert resp.status == 502, resp
    body = resp.json()
    assert body["type"] == "error"
    assert body["error"]["code"] == "upstream_response_too_large"

    # Under the limit, a large answer is translated whole.
    text = "w" * (4 * MB)
    mock.reply_text = text
    resp = gw.client().post(MESSAGES, messages(model="gpt-4o-mini"),
                            headers=dict(ANTHROPIC, **{
                                "x-api-key": minter.mint()}), timeout=120)
    assert resp.status == 200, resp
    assert resp.json()["content"][0]["text"] == text


# --- the local mock provider (item 15) --------------------------------------

MOCK_NOTE = "[local mock provider, not a real model] You said: "


def test_mock_reads_a_large_body_in_linear_time(gw):
    body = chat("q" * (16 * MB), model="mock-echo")
    t0 = time.monotonic()
    resp = gw.client().post("/__mock-provider/v1/chat/completions", body,
                            timeout=30)
    elapsed = time.monotonic() - t0
    assert resp.status == 200, resp
    assert resp.json()["choices"][0]["message"]["content"] == \
        MOCK_NOTE + "q" * 200
    assert elapsed < 10, elapsed


def test_mock_responses_stream_final_response(gw, minter, clients_installed):
    run = run_sdk(gw, minter.mint(), "openai-responses-stream-final",
                  "mock-echo", prompt="Faithful, please.")
    assert run.returncode == 0, run
    out = run.json()
    assert out["text"] == MOCK_NOTE + "Faithful, please."
    assert out["status"] == "completed"
    assert out["usage"]["output_tokens"] > 0
    types = out["types"]
    assert types[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done",
                          "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert len(types[4:-4]) > 1


def test_mock_embeddings_batch(gw, minter, clients_installed):
    run = run_sdk(gw, minter.mint(), "openai-embeddings-batch",
                  "mock-embed", prompt="one")
    assert run.returncode == 0, run
    out = run.json()
    assert out["count"] == 3
    assert out["indexes"] == [0, 1, 2]
    assert out["dims"] == [8, 8, 8]


def test_mock_chat_stream_usage_only_when_asked(gw, minter,
                                                clients_installed):
    plain = run_sdk(gw, minter.mint(), "openai-chat-stream-plain",
                    "mock-echo", prompt="Count me.")
    assert plain.returncode == 0, plain
    out = plain.json()
    assert out["text"] == MOCK_NOTE + "Count me."
    assert out["usage_chunks"] == 0
    assert out["finish"] == "stop"
    asked = run_sdk(gw, minter.mint(), "openai-chat-stream", "mock-echo",
                    prompt="Count me.")
    assert asked.returncode == 0, asked
    assert asked.json()["usage"]["completion_tokens"] > 0
