"""Reversible redaction (issue 15, item 3): the provider sees only the
placeholders of a request's personal data; the caller's answer gets the
values back -- in text and in tool-call arguments (JSON-escaped inside
them), whole and streamed with the placeholder split over three events at
every offset, in both dialects, translated and not.  Placeholders the
request does not own (invented by the model, pasted from another request,
of a one-way redaction) stay as written.  The value appears nowhere else:
not upstream, not in the audit row, the error log or a header.

The mock provider is scripted with canned answers in the provider's
dialect that hold the placeholder the request was given.
"""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

import audit_helpers as ah
import scan_helpers as sh
from client_helpers import SSE_HEADERS, sse_body
from gwtest.httpd import GatewayServer

PH = "[REDACTED_EMAIL_1]"
# An admin rule of personal data whose values need escaping in JSON: a
# double quote and a backslash.
NOTE_PH = "[REDACTED_CUSTOMER_NOTE_1]"
TEST_CONF = ('LLMScanPattern CUSTOMER_NOTE customer-note '
             '"Q\\x22[a-z]{6}\\x5c[a-z]{3}" pii\n')

# (name, caller's path, model, provider family)
CONFIGS = [
    ("messages", sh.MESSAGES, sh.CLAUDE, "anthropic"),
    ("chat", sh.CHAT, sh.GPT, "openai"),
    ("chat-on-anthropic", sh.CHAT, sh.CLAUDE, "anthropic"),
    ("messages-on-openai", sh.MESSAGES, sh.GPT, "openai"),
]
CONFIG_IDS = [c[0] for c in CONFIGS]
PROVIDER_PATH = {"anthropic": r"/messages$", "openai": r"/chat/completions$"}


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"45-restore-test.conf": TEST_CONF},
                      log_level="info llm_scan:debug llm_route:debug")
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-restore", groups=["developers"])


def note_value():
    return 'Q"%s\\%s' % (sh.rnd("abcdefghijklmnopqrstuvwxyz", 6),
                         sh.rnd("abcdefghijklmnopqrstuvwxyz", 3))


def request_body(path, model, stream, text):
    if path == sh.MESSAGES:
        return {"model": model, "max_tokens": 256, "stream": stream,
                "messages": [{"role": "user", "content": text}]}
    return {"model": model, "stream": stream,
            "messages": [{"role": "user", "content": text}]}


# -- the provider's answers, in its own dialect ----------------------------

def anthropic_stream(text_pieces, args_pieces):
    ev = [("message_start", {"type": "message_start", "message": {
        "id": "msg_r", "type": "message", "role": "assistant",
        "model": sh.CLAUDE, "content": [], "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text",
                                                   "text": ""}})]
    for p in text_pieces:
        ev.append(("content_block_delta", {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": p}}))
    ev.append(("content_block_stop", {"type": "content_block_stop",
                                      "index": 0}))
    ev.append(("content_block_start", {
        "type": "content_block_start", "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_r",
                          "name": "write_file", "input": {}}}))
    for p in args_pieces:
        ev.append(("content_block_delta", {
            "type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": p}}))
    ev += [("content_block_stop", {"type": "content_block_stop",
                                   "index": 1}),
           ("message_delta", {"type": "message_delta", "delta": {
               "stop_reason": "tool_use", "stop_sequence": None},
               "usage": {"output_tokens": 20}}),
           ("message_stop", {"type": "message_stop"})]
    return [sse_body([e]) for e in ev]


def openai_stream(text_pieces, args_pieces):
    def chunk(delta, finish=None):
        return sse_body([(None, {
            "id": "chatcmpl-r", "object": "chat.completion.chunk",
            "created": 1, "model": sh.GPT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish}]})])

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": p}) for p in text_pieces]
    out.append(chunk({"tool_calls": [{
        "index": 0, "id": "call_r", "type": "function",
        "function": {"name": "write_file", "arguments": ""}}]}))
    out += [chunk({"tool_calls": [{"index": 0,
                                   "function": {"arguments": p}}]})
            for p in args_pieces]
    out.append(chunk({}, "tool_calls"))
    out.append("data: [DONE]\n\n")
    return out


def anthropic_message(text, args):
    return {"id": "msg_r", "type": "message", "role": "assistant",
            "model": sh.CLAUDE,
            "content": [{"type": "text", "text": text},
                        {"type": "tool_use", "id": "toolu_r",
                         "name": "write_file", "input": args}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 20}}


def openai_completion(text, args):
    return {"id": "chatcmpl-r", "object": "chat.completion", "created": 1,
            "model": sh.GPT,
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": text,
                                     "tool_calls": [{
                                         "id": "call_r", "type": "function",
                                         "function": {
                                             "name": "write_file",
                                             "arguments": json.dumps(args)}}]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20,
                      "total_tokens": 30}}


# -- what the caller gets ---------------------------------------------------

def sse_events(body):
    events = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n")
                if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    return events


def caller_stream_view(path, body):
    """(text, tool arguments text, number of events) as a client
    assembles them from the stream."""
    text, args, n = "", "", 0
    for data in sse_events(body):
        n += 1
        if data == "[DONE]":
            continue
        ev = json.loads(data)
        if path == sh.MESSAGES:
            d = ev.get("delta") or {}
            if ev.get("type") == "content_block_delta":
                text += d.get("text", "")
                args += d.get("partial_json", "")
        else:
            for c in ev.get("choices") or []:
                d = c.get("delta") or {}
                text += d.get("content") or ""
                for tc in d.get("tool_calls") or []:
                    args += (tc.get("function") or {}).get("arguments") or ""
    return text, args, n


def caller_body_view(path, body):
    doc = json.loads(body)
    if path == sh.MESSAGES:
        text = "".join(b.get("text", "") for b in doc["content"]
                       if b["type"] == "text")
        tool = [b["input"] for b in doc["content"] if b["type"] == "tool_use"]
        return text, tool[0]
    msg = doc["choices"][0]["message"]
    return (msg.get("content") or "",
            json.loads(msg["tool_calls"][0]["function"]["arguments"]))


def assert_nowhere_else(gw, mock, resp, user_agent, values):
    """The provider only ever saw placeholders; the audit row, the error
    log and the answer's headers hold none of the values."""
    for rec in mock.requests:
        for v in values:
            assert v.encode() not in rec.body, "value reached the provider"
            assert json.dumps(v)[1:-1].encode() not in rec.body
            assert v not in json.dumps(rec.headers)
    headers = json.dumps(resp.headers)
    logs = gw.error_log_text() + gw.access_log_text()
    for v in values:
        assert v not in headers
        assert v not in logs, "value in the error or access log"
        assert json.dumps(v)[1:-1] not in logs
    row = sh.assert_audit(gw, user_agent, "redact", types=["EMAIL"],
                          values=list(values), actions={"EMAIL": "redact"})
    # the bytes the caller got, restored values included
    assert row["bytes_out"] == len(resp.body), row


def splits(placeholder):
    """Every offset of a cut into three pieces: the first cut at each
    position, the second half-way through the rest."""
    n = len(placeholder)
    for i in range(1, n - 1):
        j = i + max(1, (n - i) // 2)
        yield placeholder[:i], placeholder[i:j], placeholder[j:]


# -- tests -----------------------------------------------------------------

@pytest.mark.parametrize("name,path,model,family", CONFIGS, ids=CONFIG_IDS)
def test_stream_placeholder_split_over_three_events(gw, mock, token,
                                                    user_agent, name, path,
                                                    model, family):
    """At every offset: the text and the tool call's arguments the client
    assembles hold the value, the provider saw the placeholder, and the
    client gets as many events as it would without restoring."""
    value = sh.email()
    maker = anthropic_stream if family == "anthropic" else openai_stream
    for k, (a, b, c) in enumerate(splits(PH)):
        mock.reset()
        text = ["Mail ", "goes to " + a, b, c + " today."]
        args = ['{"path": "to.txt", "content": "' + a, b, c + '"}']
        mock.respond_next(200, headers=SSE_HEADERS,
                          pieces=maker(text, args), pause=0.002,
                          path=PROVIDER_PATH[family])
        ua = user_agent if k == 0 else "%s/%d" % (user_agent, k)
        resp = sh.post(gw, token, path,
                       request_body(path, model, True,
                                    "Please write to %s." % value), ua)
        assert resp.status == 200, resp
        seen = sh.forwarded(mock)
        assert PH.encode() in seen.body, seen.body
        got_text, got_args, _ = caller_stream_view(path, resp.body)
        assert got_text == "Mail goes to %s today." % value, (a, b, c)
        assert json.loads(got_args) == {"path": "to.txt", "content": value}
        if k == 0:
            assert_nowhere_else(gw, mock, resp, user_agent, [value])
    # Nothing restored, nothing else changed: the same events as without
    # the gateway's restoring (same count, same order).
    mock.reset()
    mock.respond_next(200, headers=SSE_HEADERS,
                      pieces=maker(["no ", "placeholder [x]"], ['{"a": 1}']),
                      pause=0.002, path=PROVIDER_PATH[family])
    resp = sh.post(gw, token, path,
                   request_body(path, model, True, "Write to " + value),
                   user_agent + "/plain")
    assert resp.status == 200, resp
    base = sh.forwarded(mock)
    if family == ("anthropic" if path == sh.MESSAGES else "openai"):
        assert resp.body == base.response_body


@pytest.mark.parametrize("name,path,model,family", CONFIGS, ids=CONFIG_IDS)
def test_non_stream_text_and_arguments(gw, mock, token, user_agent, name,
                                       path, model, family):
    """A whole answer: text and tool arguments restored, including a value
    with a quote and a backslash inside the arguments' JSON string; the
    Content-Length fits the restored body."""
    value, note = sh.email(), note_value()
    args = {"path": "contacts.txt",
            "content": "%s wrote: %s" % (PH, NOTE_PH)}
    body = (anthropic_message if family == "anthropic"
            else openai_completion)("Sent to %s." % PH, args)
    mock.respond_next(200, body, path=PROVIDER_PATH[family])
    resp = sh.post(gw, token, path,
                   request_body(path, model, False,
                                "Note from %s: %s" % (value, note)),
                   user_agent)
    assert resp.status == 200, resp
    seen = sh.forwarded(mock)
    assert PH.encode() in seen.body and NOTE_PH.encode() in seen.body
    assert int(resp.header("Content-Length")) == len(resp.body)
    text, got_args = caller_body_view(path, resp.body)
    assert text == "Sent to %s." % value
    assert got_args == {"path": "contacts.txt",
                        "content": "%s wrote: %s" % (value, note)}
    assert_nowhere_else(gw, mock, resp, user_agent, [value, note])
    # the error log says how many, at debug level, and nothing more
    assert "LLM01300: 3 placeholder(s) of reversible redaction restored" \
        in gw.error_log_text()


@pytest.mark.parametrize("name,path,model,family", CONFIGS, ids=CONFIG_IDS)
def test_stream_arguments_value_escaped(gw, mock, token, user_agent, name,
                                        path, model, family):
    """A value holding a double quote and a backslash, its placeholder
    split over three argument events (and the text): the arguments the
    client assembles still parse, to the value; the text holds it as it
    is."""
    note = note_value()
    maker = anthropic_stream if family == "anthropic" else openai_stream
    a, b, c = NOTE_PH[:5], NOTE_PH[5:15], NOTE_PH[15:]
    mock.respond_next(200, headers=SSE_HEADERS, pause=0.002,
                      pieces=maker(["Note: " + a, b, c],
                                   ['{"path": "n.txt", "content": "' + a, b,
                                    c + '"}']),
                      path=PROVIDER_PATH[family])
    resp = sh.post(gw, token, path,
                   request_body(path, model, True, "Keep this: " + note),
                   user_agent)
    assert resp.status == 200, resp
    assert NOTE_PH.encode() in sh.forwarded(mock).body
    text, args, _ = caller_stream_view(path, resp.body)
    assert text == "Note: " + note
    assert json.loads(args) == {"path": "n.txt", "content": note}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_foreign_and_invented_placeholders_pass(gw, mock, token, user_agent,
                                                stream):
    """The request holds [REDACTED_EMAIL_1] as text (an earlier answer
    that was not restored); its own email becomes [REDACTED_EMAIL_2].  In
    the answer only _2 is this request's: _1 and an invented _7 stay."""
    value = sh.email()
    answer = "old %s new [REDACTED_EMAIL_2] invented [REDACTED_EMAIL_7]" % PH
    if stream:
        mock.respond_next(200, headers=SSE_HEADERS,
                          pieces=anthropic_stream([answer], ["{}"]),
                          path=r"/messages$")
    else:
        mock.respond_next(200, anthropic_message(answer, {}),
                          path=r"/messages$")
    resp = sh.post(gw, token, sh.MESSAGES, {
        "model": sh.CLAUDE, "max_tokens": 64, "stream": stream,
        "messages": [
            {"role": "user", "content": "Who is %s?" % PH},
            {"role": "assistant", "content": "Someone."},
            {"role": "user", "content": "Now mail %s." % value}]},
        user_agent)
    assert resp.status == 200, resp
    seen = sh.forwarded(mock).json()
    assert seen["messages"][2]["content"] == "Now mail [REDACTED_EMAIL_2]."
    assert seen["messages"][0]["content"] == "Who is %s?" % PH
    text = (caller_stream_view(sh.MESSAGES, resp.body)[0] if stream
            else caller_body_view(sh.MESSAGES, resp.body)[0])
    assert text == ("old %s new %s invented [REDACTED_EMAIL_7]"
                    % (PH, value))


@pytest.mark.parametrize("path", [sh.CHAT, sh.MESSAGES, sh.RESPONSES])
@pytest.mark.parametrize("model", [sh.GPT, sh.CLAUDE])
def test_mock_answers_whole(gw, mock, token, user_agent, path, model):
    """The mock's own non-stream answers on every caller endpoint, both
    provider families (the Responses API's output items included)."""
    value = sh.email()
    mock.reply_text = "Hi %s, bye." % PH
    req = ({"model": model, "input": "mail " + value}
           if path == sh.RESPONSES
           else request_body(path, model, False, "mail " + value))
    resp = sh.post(gw, token, path, req, user_agent)
    assert resp.status == 200, resp
    assert PH.encode() in sh.forwarded(mock).body
    doc = json.loads(resp.body)
    if path == sh.RESPONSES:
        text = "".join(c["text"] for item in doc["output"]
                       for c in item.get("content") or []
                       if c.get("type") == "output_text")
    elif path == sh.MESSAGES:
        text = "".join(b.get("text", "") for b in doc["content"])
    else:
        text = doc["choices"][0]["message"]["content"]
    assert text == "Hi %s, bye." % value
    assert int(resp.header("Content-Length")) == len(resp.body)


@pytest.mark.parametrize("path", [sh.CHAT, sh.MESSAGES, sh.RESPONSES])
@pytest.mark.parametrize("model", [sh.GPT, sh.CLAUDE])
def test_one_character_per_event(gw, mock, token, user_agent, path, model):
    """The mock's own streams, one character of the answer per event (the
    placeholder over 18 events), every caller endpoint on both provider
    families -- the Responses API's deltas, its output_text.done and its
    response.completed included."""
    value = sh.email()
    reply = "Hi %s, bye." % PH
    mock.reply_text = reply
    mock.stream_deltas = len(reply)
    req = ({"model": model, "stream": True, "input": "mail " + value}
           if path == sh.RESPONSES
           else request_body(path, model, True, "mail " + value))
    resp = sh.post(gw, token, path, req, user_agent)
    assert resp.status == 200, resp
    assert PH.encode() in sh.forwarded(mock).body
    want = "Hi %s, bye." % value
    if path != sh.RESPONSES:
        assert caller_stream_view(path, resp.body)[0] == want
        return
    deltas, done, completed = "", [], []
    for data in sse_events(resp.body):
        ev = json.loads(data)
        if ev["type"] == "response.output_text.delta":
            deltas += ev["delta"]
        elif ev["type"] == "response.output_text.done":
            done.append(ev["text"])
        elif ev["type"] == "response.completed":
            completed += [c["text"] for item in ev["response"]["output"]
                          for c in item.get("content") or []
                          if c.get("type") == "output_text"]
    assert deltas == want
    assert done == [want] and completed == [want]


def test_next_turn_gets_the_same_placeholders(gw, mock, token, user_agent):
    """An agent's next turn sends the restored answer back in its history:
    the provider sees the very same first turn again (same placeholder for
    the same value, which keeps its prompt cache working), and the new
    turn's answer is restored too."""
    value = sh.email()
    first = {"role": "user", "content": "Draft a mail to %s." % value}
    mock.respond_next(200, openai_completion("Dear %s," % PH, {}),
                      path=r"/chat/completions$")
    resp = sh.post(gw, token, sh.CHAT, {"model": sh.GPT,
                                        "messages": [first]}, user_agent)
    assert resp.status == 200, resp
    answer = caller_body_view(sh.CHAT, resp.body)[0]
    assert answer == "Dear %s," % value
    turn1 = sh.forwarded(mock).json()["messages"]

    mock.reset()
    mock.respond_next(200, openai_completion("Sent to %s." % PH, {}),
                      path=r"/chat/completions$")
    resp = sh.post(gw, token, sh.CHAT, {"model": sh.GPT, "messages": [
        first, {"role": "assistant", "content": answer},
        {"role": "user", "content": "Send it."}]}, user_agent + "/2")
    assert resp.status == 200, resp
    turn2 = sh.forwarded(mock).json()["messages"]
    assert turn2[0] == turn1[0]
    assert turn2[1]["content"] == "Dear %s," % PH
    assert caller_body_view(sh.CHAT, resp.body)[0] == "Sent to %s." % value


def test_request_without_redaction_is_not_touched(gw, mock, token,
                                                  user_agent):
    """No redaction in the request: a placeholder-shaped text in the
    answer is the model's own and reaches the caller byte for byte."""
    body = openai_completion("see %s" % PH, {"x": PH})
    mock.respond_next(200, body, path=r"/chat/completions$")
    resp = sh.post(gw, token, sh.CHAT,
                   request_body(sh.CHAT, sh.GPT, False, "hello"), user_agent)
    assert resp.status == 200, resp
    assert resp.body == sh.forwarded(mock).response_body


def test_thinking_is_not_altered(gw, mock, token, user_agent):
    """A signed thinking block keeps the placeholder the provider wrote;
    the text after it gets the value."""
    value = sh.email()
    mock.respond_next(200, {
        "id": "msg_t", "type": "message", "role": "assistant",
        "model": sh.CLAUDE, "stop_reason": "end_turn", "stop_sequence": None,
        "content": [{"type": "thinking", "thinking": "mail " + PH,
                     "signature": "sig" + PH},
                    {"type": "text", "text": "Done: " + PH}],
        "usage": {"input_tokens": 3, "output_tokens": 3}},
        path=r"/messages$")
    resp = sh.post(gw, token, sh.MESSAGES,
                   request_body(sh.MESSAGES, sh.CLAUDE, False,
                                "mail " + value), user_agent)
    assert resp.status == 200, resp
    doc = json.loads(resp.body)
    assert doc["content"][0] == {"type": "thinking", "thinking": "mail " + PH,
                                 "signature": "sig" + PH}
    assert doc["content"][1]["text"] == "Done: " + value


def test_one_way_keeps_placeholders(gateway_factory, mock, token, user_agent):
    """LLMScanRedact EMAIL one-way in the location: the answer keeps the
    placeholder (and `apachectl -t` names a bad mode)."""
    g = gateway_factory.make(gateway_d={"46-oneway.conf": (
        "<Location /v1>\n    LLMScanRedact EMAIL one-way\n</Location>\n")})
    value = sh.email()
    mock.respond_next(200, anthropic_message("to " + PH, {"to": PH}),
                      path=r"/messages$")
    resp = sh.post(g, token, sh.MESSAGES,
                   request_body(sh.MESSAGES, sh.CLAUDE, False,
                                "mail " + value), user_agent)
    assert resp.status == 200, resp
    assert resp.body == sh.forwarded(mock).response_body
    assert value.encode() not in resp.body

    bad = gateway_factory.make(start=False, gateway_d={"46-oneway.conf": (
        "<Location /v1>\n    LLMScanRedact EMAIL sometimes\n</Location>\n")})
    rc, out = bad.check_config()
    assert rc != 0
    assert "LLMScanRedact EMAIL: 'sometimes' is neither reversible nor " \
           "one-way" in out, out
    unknown = gateway_factory.make(start=False, gateway_d={"46-oneway.conf": (
        "<Location /v1>\n    LLMScanRedact NO_SUCH_TYPE reversible\n"
        "</Location>\n")})
    rc, out = unknown.check_config()
    assert rc != 0
    assert "LLMScanRedact NO_SUCH_TYPE: no rule or type of that name" in out, \
        out


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("path,model", [(sh.CHAT, sh.GPT),
                                        (sh.MESSAGES, sh.CLAUDE),
                                        (sh.CHAT, sh.CLAUDE)],
                         ids=["chat", "messages", "chat-on-anthropic"])
def test_address_split_over_messages_comes_back_whole(gw, mock, token,
                                                      user_agent, path,
                                                      model, parts, stream):
    """An address cut over adjacent user messages (which the provider
    reads as one turn) is one placeholder where it starts, the rest
    removed; the answer's placeholder gets the whole address back."""
    value = sh.email()
    at = value.index("@")
    if parts == 2:
        texts = ["write to " + value[:at + 3], value[at + 3:] + " today"]
    else:
        texts = ["write to " + value[:at], value[at:at + 4],
                 value[at + 4:] + " today"]
    body = request_body(path, model, stream, "")
    body["messages"] = [{"role": "user",
                         "content": [{"type": "text", "text": t}]}
                        for t in texts]
    mock.reply_text = "Sent to %s." % PH
    resp = sh.post(gw, token, path, body, user_agent)
    assert resp.status == 200, resp
    seen = sh.forwarded(mock)
    assert seen.json()["messages"][0]["content"][0]["text"] == \
        "write to " + PH
    for t in texts:
        assert t.replace("write to ", "").replace(" today", "").encode() \
            not in seen.body
    got = (caller_stream_view(path, resp.body)[0] if stream
           else caller_body_view_text(path, resp.body))
    assert got == "Sent to %s." % value
    assert_nowhere_else(gw, mock, resp, user_agent, [value])


# -- with the answer scan (LLMScanResponse On, the sample's) ----------------

def answer_findings(row):
    return [(f["type"], f["direction"], f["action"])
            for f in sh.findings_of(row)]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("name,path,model,family", CONFIGS, ids=CONFIG_IDS)
def test_restored_values_are_no_answer_findings(gw, mock, token, user_agent,
                                                name, path, model, family,
                                                stream):
    """The answer holds the request's placeholder and an email the model
    wrote itself, in text and in tool arguments.  The answer scan sees the
    placeholder, not the value restored after it: the caller gets the
    request's email back and the model's own email redacted by the answer
    scan ([REDACTED_EMAIL_A1], which is no placeholder of the request and
    stays); the audit row has one answer finding (the model's email), and
    the answer-direction counter goes up by one, not two."""
    value, own = sh.email(), sh.email()
    text = "Mail %s, cc %s." % (PH, own)
    args = {"path": "to.txt", "content": "%s;%s" % (PH, own)}
    if stream:
        a, b, c = PH[:4], PH[4:11], PH[11:]
        maker = anthropic_stream if family == "anthropic" else openai_stream
        mock.respond_next(200, headers=SSE_HEADERS, pause=0.002,
                          pieces=maker(["Mail " + a, b, c + ", cc %s." % own],
                                       ['{"path": "to.txt", "content": "' + a,
                                        b, c + ';%s"}' % own]),
                          path=PROVIDER_PATH[family])
    else:
        body = (anthropic_message if family == "anthropic"
                else openai_completion)(text, args)
        mock.respond_next(200, body, path=PROVIDER_PATH[family])

    def answer_count():
        return ah.metric_sum(ah.metrics(gw), "llm_gateway_findings_total",
                             type="EMAIL", direction="answer")

    before = answer_count()
    resp = sh.post(gw, token, path,
                   request_body(path, model, stream,
                                "Please write to %s." % value), user_agent)
    assert resp.status == 200, resp
    if stream:
        got_text, got_args, _ = caller_stream_view(path, resp.body)
        got_args = json.loads(got_args)
    else:
        got_text, got_args = caller_body_view(path, resp.body)
    assert got_text == "Mail %s, cc [REDACTED_EMAIL_A1]." % value
    assert got_args == {"path": "to.txt",
                        "content": "%s;[REDACTED_EMAIL_A1]" % value}
    assert own.encode() not in resp.body
    row = sh.audit_row(gw, user_agent)
    got = answer_findings(row)
    assert sorted(set(got)) == [("EMAIL", "answer", "redact"),
                                ("EMAIL", "request", "redact")], got
    assert row["decision"] == "redact", row
    text_of_row = json.dumps(row, default=str)
    assert value not in text_of_row and own not in text_of_row
    deadline = time.time() + 10
    while answer_count() == before and time.time() < deadline:
        time.sleep(0.1)
    # one per occurrence of the model's own email, none for the value
    assert answer_count() - before == len([f for f in got
                                           if f[1] == "answer"])
    assert len([f for f in got if f[1] == "answer"]) == 2, got


@pytest.mark.parametrize("name,path,model,family", CONFIGS, ids=CONFIG_IDS)
def test_answer_scan_block_with_a_pending_placeholder(gw, mock, token,
                                                      user_agent, name, path,
                                                      model, family):
    """The stream holds the request's placeholder, then a secret the
    answer scan blocks -- right after the placeholder's first piece, so
    that restoring is still waiting for the rest when the scan ends the
    stream.  The caller gets the error event in its dialect as the last
    one, the held beginning as the provider wrote it, no key; the row
    says block."""
    value, key = sh.email(), sh.aws_access_key_id()
    maker = anthropic_stream if family == "anthropic" else openai_stream
    mock.respond_next(200, headers=SSE_HEADERS, pause=0.002,
                      pieces=maker(["Mail %s. Then " % PH, "[REDAC",
                                    "use " + key[:9], key[9:], " ok."],
                                   ['{}']),
                      path=PROVIDER_PATH[family])
    resp = sh.post(gw, token, path,
                   request_body(path, model, True, "mail " + value),
                   user_agent)
    assert resp.status == 200, resp
    events = resp.sse()
    name_, data = events[-1]
    err = json.loads(data)
    assert err["error"]["code"] == "answer_aws_access_key", events[-3:]
    if path == sh.MESSAGES:
        assert name_ == "error"
    text = caller_stream_view(path, resp.body)[0]
    assert text.startswith("Mail %s. Then [REDAC" % value), text
    assert key[:9].encode() not in resp.body
    assert key[9:].encode() not in resp.body
    row = sh.audit_row(gw, user_agent)
    assert row["decision"] == "block", row
    assert row["reason"] == "answer_aws_access_key", row
    assert value not in json.dumps(row, default=str)


# -- the mapping nowhere: audit bodies, trace logs, metrics, status ---------

BODY_KEY = "5eed" * 16


@pytest.fixture(scope="module")
def gw_bodies(minter, mock_provider, postgres):
    """The audit captures request and answer (LLMAuditBodies redacted: the
    request as it went upstream), and every module logs at trace8."""
    g = GatewayServer(minter, mock=mock_provider, pg=postgres, gateway_d={
        "60-audit-bodies.conf":
            'LLMAuditBodyKeyFile "${LLM_GW_DATA}/keys/audit-body.key"\n'
            "<Location /v1>\n    LLMAuditBodies redacted\n</Location>\n"},
        log_level="trace8")
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


def fetch(g, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (g.port, path),
                                timeout=10) as resp:
        return resp.read().decode("utf-8", "replace")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("name,path,model,family", CONFIGS, ids=CONFIG_IDS)
def test_mapping_nowhere_with_bodies_and_trace(gw_bodies, mock, token,
                                               user_agent, name, path, model,
                                               family, stream):
    """With the audit capturing both bodies and every module at trace8,
    the caller gets the value back, and the value -- the right-hand side
    of the mapping -- is in neither captured body (both hold the
    placeholder), nor anywhere in the audit row, the error or access
    log, a header of the answer or of what went upstream, the metrics or
    the status page."""
    g = gw_bodies
    value = sh.email()
    mock.reply_text = "Hi %s, bye." % PH
    resp = sh.post(g, token, path,
                   request_body(path, model, stream, "mail " + value),
                   user_agent)
    assert resp.status == 200, resp
    want = "Hi %s, bye." % value
    got = (caller_stream_view(path, resp.body)[0] if stream
           else caller_body_view_text(path, resp.body))
    assert got == want
    row = sh.audit_row(g, user_agent)
    assert row["body_mode"] == "redacted", row
    request = decrypt_blob(g, row["request_id"], row["body"])
    answer = decrypt_blob(g, row["request_id"], row["answer_body"])
    assert PH in request and value not in request, request
    assert PH in answer and value not in answer, answer
    text_of_row = json.dumps(row, default=str)
    assert value not in text_of_row
    logs = g.error_log_text() + g.access_log_text()
    assert "LLM01300" in logs or "LLM01303" in logs   # trace8 is on
    for v in (value, json.dumps(value)[1:-1]):
        assert v not in logs, "value in a log"
        assert v not in json.dumps(resp.headers)
        assert v not in fetch(g, "/llm-metrics")
        assert v not in fetch(g, "/llm-status")
    for rec in mock.requests:
        assert value.encode() not in rec.body
        assert value not in json.dumps(rec.headers)


def caller_body_view_text(path, body):
    doc = json.loads(body)
    if path == sh.MESSAGES:
        return "".join(b.get("text", "") for b in doc["content"]
                       if b["type"] == "text")
    return doc["choices"][0]["message"].get("content") or ""


# -- each request its own mapping -------------------------------------------

def test_concurrent_requests_get_their_own_values(gw, mock, token,
                                                  user_agent):
    """Sixteen streams at once, each request with emails of its own
    (one, two or three), and one scripted answer for all: [REDACTED_EMAIL_1]
    to [REDACTED_EMAIL_3].  Each caller gets its own values for the
    placeholders it was given and nobody else's; the placeholders another
    request was given, and this one was not, stay as written."""
    import concurrent.futures

    reply = "a %s b [REDACTED_EMAIL_2] c [REDACTED_EMAIL_3] d" % PH
    mock.reply_text = reply
    mock.stream_deltas = 20

    def one(k):
        n = 1 + k % 3
        values = [sh.email() for _ in range(n)]
        resp = sh.post(gw, token, sh.CHAT, request_body(
            sh.CHAT, sh.GPT, True,
            "mail " + " and ".join(values)), "%s/%d" % (user_agent, k))
        return values, resp

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    everyone = {v for values, _ in results for v in values}
    for values, resp in results:
        assert resp.status == 200, resp
        want = reply
        for i, v in enumerate(values, 1):
            want = want.replace("[REDACTED_EMAIL_%d]" % i, v)
        assert caller_stream_view(sh.CHAT, resp.body)[0] == want
        for other in everyone - set(values):
            assert other.encode() not in resp.body
