"""Answer scanning (issue 15 items 1, 2 and 4): what the model writes back
is scanned with the same rules and actions as requests (LLMScanResponse,
On in the sample configuration), in the caller's dialect, translated or
not, whole answers and streams.

The mock provider is scripted (respond_next with canned bytes) to answer
with planted values: in text, refusals and tool-call arguments, split
across SSE events at every offset.  Each test checks what the caller got
(redacted in place, or a block as an error in its dialect), that the
events reached it unchanged otherwise (same number, same order), and
that the planted value is nowhere: answer, audit row, error log, access
log, metrics.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

import audit_helpers as ah
from client_helpers import clients_installed, run_sdk  # noqa: F401

from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
ANTHROPIC = {"anthropic-version": "2023-06-01"}
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
DIALECTS = [("openai", "openai"), ("anthropic", "anthropic"),
            ("openai", "anthropic"), ("anthropic", "openai")]
SSE = {"Content-Type": "text/event-stream"}

EMAIL = "carol.quinn@northwind-mail.com"
AWS = "AKIA" + "Q7XJ2LMN4PQR5S3T"     # an AWS access key id shape
PLANTED = [EMAIL, AWS]


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"60-quotas.conf": None})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture(scope="module")
def gw_off(minter, mock_provider):
    g = GatewayServer(minter, mock=mock_provider, gateway_d={
        "60-quotas.conf": None,
        "41-answers-off.conf": "<Location /v1>\n"
                               "    LLMScanResponse Off\n</Location>\n"})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


# --- what the provider sends ---------------------------------------------

def sse_text(events):
    return "".join("%sdata: %s\n\n" % ("event: %s\n" % name if name else "",
                                       data if isinstance(data, str)
                                       else json.dumps(data))
                   for name, data in events)


def openai_chunks(deltas, finish="stop"):
    """chat.completion.chunk events: each delta a dict (content,
    refusal, tool_calls)."""
    base = {"id": "chatcmpl-a", "object": "chat.completion.chunk",
            "created": 1, "model": OPENAI_MODEL}
    ev = [(None, dict(base, choices=[{
        "index": 0, "delta": {"role": "assistant", "content": ""},
        "finish_reason": None}]))]
    ev += [(None, dict(base, choices=[{"index": 0, "delta": d,
                                       "finish_reason": None}]))
           for d in deltas]
    ev += [(None, dict(base, choices=[{"index": 0, "delta": {},
                                       "finish_reason": finish}])),
           (None, dict(base, choices=[], usage={
               "prompt_tokens": 3, "completion_tokens": 5,
               "total_tokens": 8})),
           (None, "[DONE]")]
    return ev


def anthropic_events(blocks):
    """Messages events; blocks: list of (content_block, [delta, ...])."""
    ev = [("message_start", {"type": "message_start", "message": {
        "id": "msg_a", "type": "message", "role": "assistant",
        "model": ANTHROPIC_MODEL, "content": [], "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1}}})]
    for i, (start, deltas) in enumerate(blocks):
        ev.append(("content_block_start", {"type": "content_block_start",
                                           "index": i,
                                           "content_block": start}))
        if i == 0:
            ev.append(("ping", {"type": "ping"}))
        ev += [("content_block_delta", {"type": "content_block_delta",
                                        "index": i, "delta": d})
               for d in deltas]
        ev.append(("content_block_stop", {"type": "content_block_stop",
                                          "index": i}))
    ev += [("message_delta", {"type": "message_delta", "delta": {
        "stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"})]
    return ev


def text_stream(provider, texts):
    if provider == "openai":
        return sse_text(openai_chunks([{"content": t} for t in texts]))
    return sse_text(anthropic_events([({"type": "text", "text": ""},
                                       [{"type": "text_delta", "text": t}
                                        for t in texts])]))


def args_stream(provider, pieces, name="write_file"):
    """A tool call whose arguments (JSON text) arrive in pieces."""
    if provider == "openai":
        first = {"tool_calls": [{"index": 0, "id": "call_a",
                                 "type": "function",
                                 "function": {"name": name,
                                              "arguments": ""}}]}
        return sse_text(openai_chunks(
            [first] + [{"tool_calls": [{"index": 0, "function": {
                "arguments": p}}]} for p in pieces], finish="tool_calls"))
    return sse_text(anthropic_events([(
        {"type": "tool_use", "id": "toolu_a", "name": name, "input": {}},
        [{"type": "input_json_delta", "partial_json": p} for p in pieces])]))


def whole_answer(provider, text=None, tool_args=None, refusal=None):
    if provider == "openai":
        msg = {"role": "assistant", "content": text, "refusal": refusal}
        if tool_args is not None:
            msg["tool_calls"] = [{"id": "call_a", "type": "function",
                                  "function": {"name": "write_file",
                                               "arguments": tool_args}}]
        return {"id": "chatcmpl-a", "object": "chat.completion",
                "created": 1, "model": OPENAI_MODEL,
                "choices": [{"index": 0, "message": msg,
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5,
                          "total_tokens": 8}}
    content = []
    if text is not None:
        content.append({"type": "text", "text": text})
    if tool_args is not None:
        content.append({"type": "tool_use", "id": "toolu_a",
                        "name": "write_file",
                        "input": json.loads(tool_args)})
    return {"id": "msg_a", "type": "message", "role": "assistant",
            "model": ANTHROPIC_MODEL, "content": content,
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 5}}


# --- what the caller gets ------------------------------------------------

def ask(gw, caller, provider, token, user_agent, stream, path=None):
    model = OPENAI_MODEL if provider == "openai" else ANTHROPIC_MODEL
    if caller == "openai":
        body = {"model": model, "stream": stream,
                "messages": [{"role": "user", "content": "write it"}]}
        return gw.client().post(path or CHAT, json.dumps(body).encode(),
                                token=token,
                                headers={"User-Agent": user_agent})
    body = {"model": model, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "write it"}]}
    return gw.client().post(MESSAGES, json.dumps(body).encode(),
                            headers=dict(ANTHROPIC, **{
                                "x-api-key": token,
                                "User-Agent": user_agent}))


def data_events(resp):
    return [d if d == "[DONE]" else json.loads(d) for _, d in resp.sse()]


def streamed_text(caller, resp):
    if caller == "openai":
        return "".join(d["choices"][0]["delta"].get("content") or ""
                       for d in data_events(resp)
                       if d != "[DONE]" and d.get("choices"))
    return "".join(json.loads(d)["delta"].get("text", "")
                   for n, d in resp.sse() if n == "content_block_delta")


def streamed_args(caller, resp):
    if caller == "openai":
        return "".join(tc["function"].get("arguments") or ""
                       for d in data_events(resp)
                       if d != "[DONE]" and d.get("choices")
                       for tc in d["choices"][0]["delta"].get("tool_calls")
                       or [])
    return "".join(json.loads(d)["delta"].get("partial_json", "")
                   for n, d in resp.sse() if n == "content_block_delta")


def whole_text(caller, resp):
    got = resp.json()
    if caller == "openai":
        return got["choices"][0]["message"]["content"]
    return "".join(b.get("text", "") for b in got["content"])


def one_row(gw, user_agent):
    rows = gw.audit.wait_for_rows(
        "SELECT * FROM llm_audit WHERE user_agent = %s", (user_agent,), 1,
        10)
    assert len(rows) == 1, rows
    return rows[0]


def findings(row):
    f = row["findings"]
    return json.loads(f) if isinstance(f, str) else f


def assert_nowhere(gw, resp, values, user_agent=None):
    """The planted values reach neither the caller nor any record."""
    body = resp.body.decode("utf-8", "replace")
    logs = gw.error_log_text() + gw.access_log_text()
    for v in values:
        assert v not in body, body[:2000]
        assert v not in logs
    if user_agent:
        row = one_row(gw, user_agent)
        for v in values:
            assert v not in json.dumps(row, default=str)


def split_every(value, prefix="mail ", suffix=" now."):
    """(texts, cut) for every cut of value into two events."""
    for k in range(1, len(value)):
        yield [prefix + value[:k], value[k:] + suffix], k


# --- whole answers ---------------------------------------------------------

@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_whole_answer_pii_is_redacted(gw, mock, minter, user_agent, caller,
                                      provider):
    mock.respond_next(200, whole_answer(
        provider, "Write to %s today; %s again." % (EMAIL, EMAIL)))
    resp = ask(gw, caller, provider, minter.mint(), user_agent, False)
    assert resp.status == 200, resp
    assert whole_text(caller, resp) == ("Write to [REDACTED_EMAIL_A1] "
                                        "today; [REDACTED_EMAIL_A1] again.")
    assert_nowhere(gw, resp, [EMAIL], user_agent)
    row = one_row(gw, user_agent)
    f = findings(row)
    assert [x["direction"] for x in f] == ["answer"], f
    assert f[0]["type"] == "EMAIL" and f[0]["count"] == 2
    assert f[0]["action"] == "redact"
    assert f[0]["location"] == ("choices[0].message.content"
                                if caller == "openai" else "content[0].text")
    assert row["decision"] == "redact"


@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_whole_answer_secret_blocks(gw, mock, minter, user_agent, caller,
                                    provider):
    mock.respond_next(200, whole_answer(provider, "your key: %s" % AWS))
    resp = ask(gw, caller, provider, minter.mint(), user_agent, False)
    assert resp.status == 403, resp
    err = resp.json()
    if caller == "openai":
        assert err["error"]["code"] == "answer_aws_access_key"
        assert err["error"]["type"] == "sensitive_data_detected"
    else:
        assert err["type"] == "error"
        assert err["error"]["type"] == "permission_error"
        assert err["error"]["code"] == "answer_aws_access_key"
    assert_nowhere(gw, resp, [AWS], user_agent)
    row = one_row(gw, user_agent)
    assert row["decision"] == "block"
    assert row["reason"] == "answer_aws_access_key"
    assert findings(row)[0]["direction"] == "answer"


@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_whole_answer_tool_arguments_redacted_as_parsed(gw, mock, minter,
                                                       user_agent, caller,
                                                       provider):
    """The arguments are JSON the client parses: a value written with
    escapes (\\u0040 for @) is found, and the arguments stay valid JSON."""
    args = '{"path": "notes.txt", "content": "ask carol.quinn\\u0040' \
           'northwind-mail.com\\nbye"}'
    assert json.loads(args)["content"] == "ask %s\nbye" % EMAIL
    mock.respond_next(200, whole_answer(provider, tool_args=args))
    resp = ask(gw, caller, provider, minter.mint(), user_agent, False)
    assert resp.status == 200, resp
    got = resp.json()
    if caller == "openai":
        parsed = json.loads(got["choices"][0]["message"]["tool_calls"][0]
                            ["function"]["arguments"])
    else:
        parsed = [b for b in got["content"] if b["type"] == "tool_use"][0][
            "input"]
    assert parsed == {"path": "notes.txt",
                      "content": "ask [REDACTED_EMAIL_A1]\nbye"}
    assert_nowhere(gw, resp, [EMAIL], user_agent)


def test_whole_answer_refusal_is_scanned(gw, mock, minter, user_agent):
    mock.respond_next(200, whole_answer("openai", refusal="I cannot; ask "
                                        "%s" % EMAIL))
    resp = ask(gw, "openai", "openai", minter.mint(), user_agent, False)
    assert resp.status == 200, resp
    assert resp.json()["choices"][0]["message"]["refusal"] == (
        "I cannot; ask [REDACTED_EMAIL_A1]")
    assert_nowhere(gw, resp, [EMAIL], user_agent)


def test_whole_answer_without_finding_passes_byte_for_byte(gw, mock, minter,
                                                          user_agent):
    raw = (b'{"id":"chatcmpl-a","object":"chat.completion","created":1,'
           b'"model":"gpt-4o-mini","choices":[{"index":0,"message":{'
           b'"role":"assistant","content":"nothing \\u0041 here"},'
           b'"finish_reason":"stop"}],"usage":{"prompt_tokens":3,'
           b'"completion_tokens":5,"total_tokens":8}}')
    mock.respond_next(200, raw)
    resp = ask(gw, "openai", "openai", minter.mint(), user_agent, False)
    assert resp.status == 200 and resp.body == raw


# --- streams ---------------------------------------------------------------

@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_stream_value_split_at_every_offset_is_redacted(gw, mock, minter,
                                                        user_agent, caller,
                                                        provider):
    """An e-mail address cut between two text events at every offset:
    the caller gets it as a placeholder, every event in its place."""
    token = minter.mint()
    for texts, k in split_every(EMAIL):
        mock.respond_next(200, pieces=[text_stream(provider, texts)],
                          headers=SSE)
        resp = ask(gw, caller, provider, token, user_agent, True)
        assert resp.status == 200, resp
        assert streamed_text(caller, resp) == (
            "mail [REDACTED_EMAIL_A1] now."), (k, resp.body)
        assert EMAIL not in resp.body.decode()
        assert (EMAIL[:k] not in resp.body.decode()
                or EMAIL[:k] in "mail now. [REDACTED_EMAIL_A1]"
                or len(EMAIL[:k]) < 4)
        if caller == provider:
            # nothing merged or dropped: as many events as were sent (less
            # the usage chunk the caller did not ask for)
            sent = [x for x in text_stream(provider, texts).split("\n\n")
                    if x.strip() and '"choices": []' not in x]
            assert len(resp.sse()) == len(sent), (k, resp.body)
    assert_nowhere(gw, resp, [EMAIL])


@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_stream_value_split_over_three_events_and_reads(gw, mock, minter,
                                                        user_agent, caller,
                                                        provider):
    """The value in three events, each in a read of its own."""
    texts = ["Reach ", "carol.qu", "inn@north", "wind-mail.com", " or me."]
    body = text_stream(provider, texts)
    cuts = [body.index(t) + len(t) for t in texts[1:4]]
    pieces = [body[:cuts[0]], body[cuts[0]:cuts[1]], body[cuts[1]:cuts[2]],
              body[cuts[2]:]]
    mock.respond_next(200, pieces=pieces, pause=0.05, headers=SSE)
    resp = ask(gw, caller, provider, minter.mint(), user_agent, True)
    assert resp.status == 200, resp
    assert streamed_text(caller, resp) == "Reach [REDACTED_EMAIL_A1] or me."
    assert_nowhere(gw, resp, [EMAIL], user_agent)
    f = findings(one_row(gw, user_agent))
    assert f[0]["direction"] == "answer" and f[0]["type"] == "EMAIL"
    assert f[0]["location"] == ("choices[0].delta.content"
                                if caller == "openai" else "content[0].text")


@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_stream_tool_arguments_split_at_every_offset(gw, mock, minter,
                                                     user_agent, caller,
                                                     provider):
    token = minter.mint()
    args = json.dumps({"path": "a.txt", "content": "to: %s" % EMAIL})
    start = args.index(EMAIL)
    for k in range(1, len(EMAIL)):
        cut = start + k
        mock.respond_next(200, pieces=[args_stream(provider,
                                                   [args[:cut], args[cut:]])],
                          headers=SSE)
        resp = ask(gw, caller, provider, token, user_agent, True)
        assert resp.status == 200, resp
        got = json.loads(streamed_args(caller, resp))
        assert got == {"path": "a.txt",
                       "content": "to: [REDACTED_EMAIL_A1]"}, (k, resp.body)
        assert EMAIL not in resp.body.decode()


@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_stream_secret_ends_stream_with_error_event(gw, mock, minter,
                                                    user_agent, caller,
                                                    provider):
    texts = ["Sure. ", "Use key ", AWS[:9], AWS[9:], " for it.", " More."]
    body = text_stream(provider, texts)
    cut = body.index("Use key ")
    # The pause makes the text before the key a burst of its own: events
    # read together with the key (one read under a loaded machine) are
    # judged together, and the block drops them.
    mock.respond_next(200, pieces=[body[:cut], body[cut:]], pause=0.5,
                      headers=SSE)
    resp = ask(gw, caller, provider, minter.mint(), user_agent, True)
    assert resp.status == 200, resp
    events = resp.sse()
    name, data = events[-1]
    err = json.loads(data)
    if caller == "anthropic":
        assert name == "error" and err["type"] == "error"
        assert err["error"]["type"] == "permission_error"
        assert err["error"]["code"] == "answer_aws_access_key"
        assert "message_stop" not in [n for n, _ in events]
    else:
        assert err["error"]["code"] == "answer_aws_access_key"
        assert "[DONE]" not in [d for _, d in events]
    # what came before the key reached the caller
    assert streamed_text(caller, resp).startswith("Sure. ")
    assert_nowhere(gw, resp, [AWS, AWS[:9], AWS[9:]], user_agent)
    row = one_row(gw, user_agent)
    assert row["decision"] == "block"
    assert row["reason"] == "answer_aws_access_key"
    assert findings(row)[0]["direction"] == "answer"


def test_stream_signed_thinking_with_finding_blocks(gw, mock, minter,
                                                    user_agent):
    """Signed thinking is never altered: a finding there that would be
    redacted blocks the answer."""
    events = anthropic_events([
        ({"type": "thinking", "thinking": "", "signature": ""},
         [{"type": "thinking_delta", "thinking": "the user is "},
          {"type": "thinking_delta", "thinking": EMAIL},
          {"type": "signature_delta", "signature": "c2lnbmVk"}]),
        ({"type": "text", "text": ""},
         [{"type": "text_delta", "text": "Done."}])])
    mock.respond_next(200, pieces=[sse_text(events)], headers=SSE)
    resp = ask(gw, "anthropic", "anthropic", minter.mint(), user_agent, True)
    name, data = resp.sse()[-1]
    assert name == "error", resp.body
    assert json.loads(data)["error"]["code"] == "answer_email"
    assert_nowhere(gw, resp, [EMAIL], user_agent)
    f = findings(one_row(gw, user_agent))
    assert f[0]["location"] == "content[0].thinking"
    assert f[0]["action"] == "block"


def test_whole_answer_signed_thinking_with_finding_blocks(gw, mock, minter,
                                                          user_agent):
    body = whole_answer("anthropic", "Done.")
    body["content"].insert(0, {"type": "thinking",
                               "thinking": "mail " + EMAIL,
                               "signature": "c2lnbmVk"})
    mock.respond_next(200, body)
    resp = ask(gw, "anthropic", "anthropic", minter.mint(), user_agent,
               False)
    assert resp.status == 403, resp
    assert resp.json()["error"]["code"] == "answer_email"
    assert_nowhere(gw, resp, [EMAIL], user_agent)


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_stream_events_before_a_value_are_not_held(gw, mock, minter,
                                                   user_agent, dialect):
    """The provider stops for 2 s inside an address: the events before it
    reach the caller at once; the address waits for its end."""
    texts = ["Hello. ", "Mail carol.qu", "inn@northwind-mail.com", " now."]
    body = text_stream(dialect, texts)
    cut = body.index("inn@northwind-mail.com")
    mock.respond_next(200, pieces=[body[:cut], body[cut:]], pause=2.0,
                      headers=SSE)
    model = OPENAI_MODEL if dialect == "openai" else ANTHROPIC_MODEL
    payload = {"model": model, "stream": True,
               "messages": [{"role": "user", "content": "hi"}]}
    if dialect == "openai":
        stream = gw.client().stream(CHAT, json.dumps(payload).encode(),
                                    token=minter.mint(),
                                    headers={"User-Agent": user_agent})
    else:
        payload["max_tokens"] = 64
        stream = gw.client().stream(MESSAGES, json.dumps(payload).encode(),
                                    headers=dict(ANTHROPIC, **{
                                        "x-api-key": minter.mint(),
                                        "User-Agent": user_agent}))
    hello = mailed = None
    for t, ev in stream:
        if isinstance(ev, str) and "Hello. " in ev:
            hello = t
        if isinstance(ev, str) and "[REDACTED_EMAIL_A1]" in ev:
            mailed = t
        assert not (isinstance(ev, str) and "carol" in ev), ev
    assert hello is not None and mailed is not None
    assert hello < 1.5, hello
    assert mailed >= 2.0, mailed


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_stream_first_word_is_not_held(gw, mock, minter, user_agent,
                                       dialect):
    """Time to first token: the provider's first delta ends inside a word
    and the next comes 2 s later; the first one reaches the caller at
    once all the same."""
    body = text_stream(dialect, ["Sure", " thing."])
    cut = body.index(" thing.")
    cut = body.rindex("\n\n", 0, cut) + 2
    mock.respond_next(200, pieces=[body[:cut], body[cut:]], pause=2.0,
                      headers=SSE)
    model = OPENAI_MODEL if dialect == "openai" else ANTHROPIC_MODEL
    payload = {"model": model, "stream": True, "max_tokens": 64,
               "messages": [{"role": "user", "content": "hi"}]}
    if dialect == "openai":
        del payload["max_tokens"]
        stream = gw.client().stream(CHAT, json.dumps(payload).encode(),
                                    token=minter.mint(),
                                    headers={"User-Agent": user_agent})
    else:
        stream = gw.client().stream(MESSAGES, json.dumps(payload).encode(),
                                    headers=dict(ANTHROPIC, **{
                                        "x-api-key": minter.mint(),
                                        "User-Agent": user_agent}))
    first = rest = None
    for t, ev in stream:
        if isinstance(ev, str) and '"Sure"' in ev:
            first = t
        if isinstance(ev, str) and "thing." in ev:
            rest = t
    assert first is not None and rest is not None
    assert first < 1.5, first
    assert rest >= 2.0, rest


def test_scan_off_relays_answers_unchanged(gw_off, mock, minter,
                                           user_agent):
    mock.respond_next(200, pieces=[text_stream("openai", ["mail ", EMAIL])],
                      headers=SSE)
    resp = ask(gw_off, "openai", "openai", minter.mint(), user_agent, True)
    assert resp.status == 200
    assert streamed_text("openai", resp) == "mail " + EMAIL


def test_metrics_count_findings_by_direction(gw, mock, minter, user_agent):
    def count(m, direction):
        return ah.metric_sum(m, "llm_gateway_findings_total", type="EMAIL",
                             direction=direction)

    before = ah.metrics(gw)
    mock.respond_next(200, whole_answer("openai", "mail %s" % EMAIL))
    resp = ask(gw, "openai", "openai", minter.mint(), user_agent, False)
    assert resp.status == 200
    one_row(gw, user_agent)
    deadline = time.time() + 10
    while True:
        after = ah.metrics(gw)
        if count(after, "answer") > count(before, "answer") \
                or time.time() > deadline:
            break
        time.sleep(0.1)
    assert count(after, "answer") == count(before, "answer") + 1
    assert count(after, "request") == count(before, "request")


# --- the Responses API (Codex) ---------------------------------------------

def ask_responses(gw, model, token, user_agent, stream):
    body = {"model": model, "stream": stream, "input": "write it"}
    return gw.client().post(RESPONSES, json.dumps(body).encode(),
                            token=token, headers={"User-Agent": user_agent})


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_responses_text_redacted_everywhere(gw, mock, minter, user_agent,
                                            stream, model):
    """Deltas, the ".done" events and response.completed (which repeat
    the text whole) all carry the same placeholder."""
    mock.reply_text = "Write to %s today, %s." % (EMAIL, EMAIL)
    resp = ask_responses(gw, model, minter.mint(), user_agent, stream)
    assert resp.status == 200, resp
    want = "Write to [REDACTED_EMAIL_A1] today, [REDACTED_EMAIL_A1]."
    if stream:
        events = [json.loads(d) for _, d in resp.sse()]
        deltas = "".join(e["delta"] for e in events
                         if e["type"] == "response.output_text.delta")
        assert deltas == want
        done = [e for e in events if e["type"] == "response.completed"][0]
        final = done["response"]["output"][-1]["content"][0]["text"]
    else:
        final = resp.json()["output"][-1]["content"][0]["text"]
    assert final == want
    assert_nowhere(gw, resp, [EMAIL], user_agent)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_responses_tool_arguments_redacted(gw, mock, minter, user_agent,
                                           stream, model):
    mock.tool_call = {"name": "write_file",
                      "arguments": {"path": "a.txt", "content": EMAIL}}
    resp = ask_responses(gw, model, minter.mint(), user_agent, stream)
    assert resp.status == 200, resp
    want = {"path": "a.txt", "content": "[REDACTED_EMAIL_A1]"}
    if stream:
        events = [json.loads(d) for _, d in resp.sse()]
        deltas = "".join(e["delta"] for e in events if e["type"] ==
                         "response.function_call_arguments.delta")
        assert json.loads(deltas) == want
        done = [e for e in events if e["type"] == "response.completed"][0]
        item = done["response"]["output"][-1]
    else:
        item = resp.json()["output"][-1]
    assert json.loads(item["arguments"]) == want
    assert_nowhere(gw, resp, [EMAIL], user_agent)


@pytest.mark.parametrize("stream", [False, True])
def test_responses_secret_blocks(gw, mock, minter, user_agent, stream):
    mock.reply_text = "the key is %s ok" % AWS
    resp = ask_responses(gw, OPENAI_MODEL, minter.mint(), user_agent,
                         stream)
    if stream:
        assert resp.status == 200
        name, data = resp.sse()[-1]
        assert name == "error", resp.body
        assert json.loads(data)["code"] == "answer_aws_access_key"
    else:
        assert resp.status == 403
        assert resp.json()["error"]["code"] == "answer_aws_access_key"
    assert_nowhere(gw, resp, [AWS], user_agent)
    assert one_row(gw, user_agent)["reason"] == "answer_aws_access_key"


def test_stream_refusal_is_scanned(gw, mock, minter, user_agent):
    """OpenAI streams refusals as deltas of their own."""
    caller = provider = "openai"
    mock.respond_next(200, pieces=[sse_text(openai_chunks(
        [{"refusal": "No; ask carol.qu"}, {"refusal": "inn@northwind-mail"},
         {"refusal": ".com instead."}]))], headers=SSE)
    resp = ask(gw, caller, provider, minter.mint(), user_agent, True)
    got = "".join(d["choices"][0]["delta"].get("refusal") or ""
                  for d in data_events(resp)
                  if d != "[DONE]" and d.get("choices"))
    assert got == "No; ask [REDACTED_EMAIL_A1] instead."
    assert_nowhere(gw, resp, [EMAIL], user_agent)


# --- the answer in the audit row (LLMAuditBodies) ---------------------------

BODY_KEY = "c0ffee" * 10 + "c0ff"


@pytest.fixture(scope="module")
def gw_bodies(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres, gateway_d={
        "60-quotas.conf": None,
        "60-audit-bodies.conf":
            'LLMAuditBodyKeyFile "${LLM_GW_DATA}/keys/audit-body.key"\n'
            "<Location /v1>\n    LLMAuditBodies redacted\n"
            "    LLMAuditBodyMax 4096\n</Location>\n"})
    try:
        g.build()
        g.body_key = os.path.join(g.keys_dir, "audit-body.key")
        with open(g.body_key, "w") as f:
            f.write(BODY_KEY + "\n")
        os.chmod(g.body_key, 0o640)
        shutil.chown(g.body_key, group="www-data")
        g.start()
        yield g
    finally:
        g.destroy()


def decrypt_blob(g, request_id, blob):
    proc = subprocess.run([ah.find_tool("llm-audit-decrypt"), "-k",
                           g.body_key, "-r", request_id],
                          input=blob.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


@pytest.mark.parametrize("stream", [False, True])
def test_audit_bodies_capture_the_answer_redacted(gw_bodies, mock, minter,
                                                  user_agent, stream):
    g = gw_bodies
    mock.reply_text = "Write to %s today." % EMAIL
    resp = ask(g, "openai", "openai", minter.mint(), user_agent, stream)
    assert resp.status == 200, resp
    row = one_row(g, user_agent)
    assert row["answer_body_mode"] == "redacted"
    assert row["answer_body"].startswith("v1:")
    assert EMAIL not in row["answer_body"]
    answer = decrypt_blob(g, row["request_id"], row["answer_body"])
    assert "[REDACTED_EMAIL_A1]" in answer and EMAIL not in answer
    assert answer.rstrip("\n") == resp.body.decode().rstrip("\n")
    # the tool reads it from the table with -a
    proc = subprocess.run([ah.find_tool("llm-audit-decrypt")]
                          + ah.db_args(g) + ["-k", g.body_key, "-a",
                                             row["request_id"]],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == answer
    assert b"answer_body_mode redacted" in proc.stderr
    # the request body is captured as before, beside it
    assert row["body_mode"] == "redacted" and row["body"].startswith("v1:")


def test_audit_bodies_answer_over_the_limit_is_cut(gw_bodies, mock, minter,
                                                   user_agent):
    mock.reply_text = "word " * 2000
    resp = ask(gw_bodies, "openai", "openai", minter.mint(), user_agent,
               False)
    assert resp.status == 200
    row = one_row(gw_bodies, user_agent)
    assert row["answer_body_mode"] == "redacted-truncated"
    answer = decrypt_blob(gw_bodies, row["request_id"], row["answer_body"])
    assert len(answer.rstrip("\n")) == 4096
    assert resp.body.decode().startswith(answer.rstrip("\n"))


# --- configuration and actions ---------------------------------------------

@pytest.fixture(scope="module")
def gw_log(minter, mock_provider):
    g = GatewayServer(minter, mock=mock_provider, gateway_d={
        "60-quotas.conf": None,
        "41-answers-log.conf": "<Location /v1>\n"
                               "    LLMScanAction EMAIL log\n</Location>\n"})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.mark.parametrize("stream", [False, True])
def test_log_action_relays_and_records(gw_log, mock, minter, user_agent,
                                       stream):
    mock.reply_text = "Write to %s today." % EMAIL
    resp = ask(gw_log, "openai", "openai", minter.mint(), user_agent, stream)
    assert resp.status == 200
    text = (streamed_text("openai", resp) if stream
            else whole_text("openai", resp))
    assert text == "Write to %s today." % EMAIL
    row = one_row(gw_log, user_agent)
    f = findings(row)
    assert [(x["type"], x["direction"], x["action"]) for x in f] == [
        ("EMAIL", "answer", "log")]
    assert row["decision"] == "allow"
    assert EMAIL not in json.dumps(row, default=str)
    assert EMAIL not in gw_log.error_log_text()


@pytest.mark.parametrize("stream", [False, True])
def test_request_placeholders_in_answers_are_no_findings(gw, mock, minter,
                                                         user_agent, stream):
    """The provider writes back the request's own placeholders: they pass
    as they are (a later filter may restore them) and are no findings."""
    mock.reply_text = "I wrote [REDACTED_EMAIL_1] to [REDACTED_PHONE_2]."
    resp = ask(gw, "anthropic", "anthropic", minter.mint(), user_agent,
               stream)
    assert resp.status == 200
    text = (streamed_text("anthropic", resp) if stream
            else whole_text("anthropic", resp))
    assert text == "I wrote [REDACTED_EMAIL_1] to [REDACTED_PHONE_2]."
    assert findings(one_row(gw, user_agent)) == []


def test_bad_llmscanresponse_value_fails_config_check(gateway_factory):
    g = gateway_factory.make(start=False, gateway_d={
        "41-answers-bad.conf": "<Location /v1>\n"
                               "    LLMScanResponse Maybe\n</Location>\n"})
    rc, out = g.check_config()
    assert rc != 0
    assert "LLMScanResponse" in out


@pytest.mark.parametrize("caller,provider", DIALECTS)
def test_stream_secret_split_at_every_offset_never_leaks(gw, mock, minter,
                                                         user_agent, caller,
                                                         provider):
    """A key cut between two events at every offset: the stream ends
    with the error event, and no piece of the key reached the caller."""
    token = minter.mint()
    for k in range(1, len(AWS)):
        mock.respond_next(200, pieces=[text_stream(
            provider, ["Use key " + AWS[:k], AWS[k:] + " now."])],
            headers=SSE)
        resp = ask(gw, caller, provider, token, user_agent, True)
        assert resp.status == 200
        body = resp.body.decode()
        assert "answer_aws_access_key" in body, (k, body)
        for part in (AWS[:k], AWS[k:]):
            # (a part of a few characters is in ordinary text too)
            assert len(part) < 4 or part not in body, (k, body)


def private_key():
    import base64
    import random
    rnd = random.Random(7)
    b = base64.b64encode(bytes(rnd.randrange(256) for _ in range(600)))
    lines = [b[i:i + 64].decode() for i in range(0, len(b), 64)]
    return ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines)
            + "\n-----END RSA PRIVATE KEY-----")


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_stream_value_found_after_its_start_went_ends_stream(gw, mock,
                                                             minter,
                                                             user_agent,
                                                             dialect):
    """A private key whose BEGIN line went on before its body came (the
    provider paused between them): it cannot be redacted any more, so the
    stream is ended; its body never reaches the caller."""
    key = private_key()
    head, rest = key.split("\n", 1)
    body = text_stream(dialect, ["Here:\n", head + "\n", rest, "\nDone."])
    cut = body.index(rest.split("\n")[0][:20])
    cut = body.rindex("\n\n", 0, cut) + 2
    mock.respond_next(200, pieces=[body[:cut], body[cut:]], pause=0.5,
                      headers=SSE)
    logged = gw.error_log_text().count("LLM01202")
    resp = ask(gw, dialect, dialect, minter.mint(), user_agent, True)
    text = resp.body.decode()
    assert "answer_private_key" in text, text[-500:]
    for line in rest.split("\n")[:-1]:
        assert line not in text
    assert gw.error_log_text().count("LLM01202") == logged + 1
    row = one_row(gw, user_agent)
    assert row["reason"] == "answer_private_key"


@pytest.mark.parametrize("stream", [False, True])
def test_legacy_completions_text_redacted(gw, mock, minter, user_agent,
                                          stream):
    mock.reply_text = "Write to %s today." % EMAIL
    body = {"model": OPENAI_MODEL, "prompt": "write it", "stream": stream}
    resp = gw.client().post("/v1/completions", json.dumps(body).encode(),
                            token=minter.mint(),
                            headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    if stream:
        text = "".join(d["choices"][0]["text"] for d in data_events(resp)
                       if d != "[DONE]" and d.get("choices"))
    else:
        text = resp.json()["choices"][0]["text"]
    assert text == "Write to [REDACTED_EMAIL_A1] today."
    assert_nowhere(gw, resp, [EMAIL], user_agent)


# --- what the real SDKs make of it ------------------------------------------

@pytest.mark.parametrize("scenario,model", [
    ("openai-chat-stream", OPENAI_MODEL),
    ("openai-chat-stream", ANTHROPIC_MODEL),
    ("anthropic-messages-stream", ANTHROPIC_MODEL),
    ("anthropic-messages-stream", OPENAI_MODEL)])
def test_sdk_gets_blocked_stream_as_error(gw, mock, minter, clients_installed,
                                          scenario, model):
    """The error event that ends a blocked stream is one the SDKs raise:
    the caller's code sees an API error naming the finding's code."""
    provider = "openai" if model == OPENAI_MODEL else "anthropic"
    mock.respond_next(200, pieces=[text_stream(
        provider, ["Sure. ", "key ", AWS[:7], AWS[7:], " ok."])],
        headers=SSE)
    run = run_sdk(gw, minter.mint(), scenario, model)
    assert run.returncode == 1, run
    out = run.json()
    assert "answer_aws_access_key" in json.dumps(out), out
    assert AWS not in json.dumps(out)


@pytest.mark.parametrize("scenario,model", [
    ("openai-chat-stream", OPENAI_MODEL),
    ("anthropic-messages-stream", ANTHROPIC_MODEL)])
def test_sdk_gets_redacted_stream(gw, mock, minter, clients_installed,
                                  scenario, model):
    provider = "openai" if model == OPENAI_MODEL else "anthropic"
    mock.respond_next(200, pieces=[text_stream(
        provider, ["Mail carol.qu", "inn@northwind", "-mail.com now."])],
        headers=SSE)
    run = run_sdk(gw, minter.mint(), scenario, model)
    assert run.returncode == 0, run
    out = json.dumps(run.json())
    assert "Mail [REDACTED_EMAIL_A1] now." in out, out
    assert EMAIL not in out


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_stream_event_larger_than_a_read(gw, mock, minter, user_agent,
                                         dialect):
    """One text event of 1 MB, arriving in 64 KB reads, with an address at
    its end: it reaches the caller whole, the address redacted."""
    text = "word " * 200000 + EMAIL + " end."
    body = text_stream(dialect, ["Start. ", text])
    pieces = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    mock.respond_next(200, pieces=pieces, pause=0.001, headers=SSE)
    resp = ask(gw, dialect, dialect, minter.mint(), user_agent, True)
    assert resp.status == 200
    got = streamed_text(dialect, resp)
    assert got == "Start. " + "word " * 200000 + "[REDACTED_EMAIL_A1] end."
    assert EMAIL not in resp.body.decode()
