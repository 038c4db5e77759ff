"""Adversarial review of issue 10's fixes: new variants of the closed
bypass classes that the other adversarial files do not try.

Each test plays a hostile (or merely unusual) caller against a real
gateway whose providers are the capture mock, and asserts what reached the
provider.  Variants that still get through are strict expected failures:
each names what a caller sends, what reaches the provider and where the
gap is, so that the test turns into a pass when the gap is closed.

- escape boundaries (item 1): escapes other than the JSON, C-hex, Unicode
  and percent forms already covered -- quoted-printable (=3D), C octal
  (\\012), a percent-encoded backslash escape (%5Cn) -- in the body and in
  the User-Agent;
- split keys: the halves of a key in two consecutive user turns, which
  the Anthropic API joins into one turn;
- base64 (item 4): base64 of text wrapped at 76 columns (MIME, what
  `base64` and most mail and PEM tools write), and a PDF whose content
  stream holds the text uncompressed;
- headers (item 5): duplicated protocol headers, in any letter case;
- stream accounting (item 8): include_usage false said explicitly, n > 1
  without provider usage, Responses streams that end incomplete or failed.
"""

import base64
import http.client
import json
import uuid

import pytest

import scan_helpers as sh

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
ANTHROPIC = {"anthropic-version": "2023-06-01"}


def estimate(n):
    """The gateway's estimate: about 4 bytes per token, rounded up."""
    return (n + 3) // 4


def send(gw, dialect, body, token, headers=None):
    h = dict(headers or {})
    if dialect == "anthropic":
        h.setdefault("anthropic-version", "2023-06-01")
        h["x-api-key"] = token
        return gw.client().post(MESSAGES, body, headers=h)
    return gw.client().post(CHAT, body, token=token, headers=h)


def text_body(dialect, content):
    if dialect == "anthropic":
        return {"model": sh.CLAUDE, "max_tokens": 16,
                "messages": [{"role": "user", "content": content}]}
    return {"model": sh.GPT,
            "messages": [{"role": "user", "content": content}]}


def document_body(dialect, media_type, data):
    """A base64 document in each dialect's own part type."""
    if dialect == "anthropic":
        part = {"type": "document",
                "source": {"type": "base64", "media_type": media_type,
                           "data": data}}
        return {"model": sh.CLAUDE, "max_tokens": 16,
                "messages": [{"role": "user", "content": [part]}]}
    part = {"type": "file",
            "file": {"filename": "notes.pdf" if "pdf" in media_type
                     else "notes.txt",
                     "file_data": "data:%s;base64,%s" % (media_type, data)}}
    return {"model": sh.GPT, "messages": [{"role": "user", "content": [part]}]}


def assert_not_upstream(mock, value):
    for rq in mock.requests:
        assert value not in rq.path, rq.path
        for k, v in rq.headers:
            assert value not in v, (k, v)
        assert value.encode() not in rq.body, "value reached the provider"


# -- item 1: escapes the boundary check does not know -------------------------

# (id, text written right before the key, what agent traffic holds it)
ESCAPES = [
    ("quoted-printable", "aws_access_key_id=3D"),   # .eml, MIME parts
    ("c-octal", "printf 'id\\012"),                  # shell printf, C strings
    ("percent-encoded-json-escape", "log=first+line%5Cn"),  # a log in a URL
    ("c-nul", "buf\\0"),                            # C string dumps
    ("c-vertical-tab", "form\\v"),
    ("unicode-8", "s\\U0000000a"),                  # Python/C++ literals
    ("percent-u", "q=%u000A"),                        # old JavaScript escape()
    ("html-decimal-no-semicolon", "line&#10"),        # HTML without ';'
    ("html-hex", "line&#x0a;x&#x0a"),
]


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("name,before", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_key_after_other_escapes_is_found(gateway, mock, minter, dialect,
                                          name, before):
    key = sh.aws_access_key_id()
    resp = send(gateway, dialect,
                text_body(dialect, "see %s%s' ok" % (before, key)),
                minter.mint())
    assert resp.status == 403, resp
    assert key not in resp.body.decode("utf-8", "replace")
    assert_not_upstream(mock, key)


@pytest.mark.parametrize("before", ["id=3D", "x%5Cn"])
def test_key_in_user_agent_after_escape_is_redacted(gateway, mock, minter,
                                                    before):
    key = sh.aws_access_key_id()
    resp = send(gateway, "openai", text_body("openai", "hello"),
                minter.mint(),
                headers={"User-Agent": "tool/1.0 %s%s" % (before, key)})
    assert resp.status == 200, resp
    assert mock.requests, "the request should have been forwarded redacted"
    assert_not_upstream(mock, key)
    assert key not in gateway.access_log_text()
    assert key not in gateway.error_log_text()


@pytest.mark.parametrize("form", ["string", "blocks"])
def test_key_split_over_consecutive_user_turns_is_found(gateway, mock, minter,
                                                        form):
    key = sh.aws_access_key_id()
    head, tail = key[:10], key[10:]

    def content(text):
        return text if form == "string" else [{"type": "text", "text": text}]

    body = {"model": sh.CLAUDE, "max_tokens": 16,
            "messages": [{"role": "user", "content": content("key " + head)},
                         {"role": "user", "content": content(tail + " ok")}]}
    resp = send(gateway, "anthropic", body, minter.mint())
    assert resp.status == 403, resp
    assert not any(head.encode() in rq.body and tail.encode() in rq.body
                   for rq in mock.requests), "both halves reached the provider"


# -- item 4: base64 that decodes to text -----------------------------------------

@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_line_wrapped_base64_text_is_scanned(gateway, mock, minter, dialect):
    key = sh.aws_access_key_id()
    text = ("Deploy notes for the staging account, copied from the wiki "
            "page.\naws_access_key_id = %s\nregion = eu-west-1\n" % key)
    data = base64.encodebytes(text.encode()).decode()
    assert "\n" in data.rstrip("\n")
    resp = send(gateway, dialect, document_body(dialect, "text/plain", data),
                minter.mint())
    assert resp.status == 403, resp
    assert mock.requests == [], "the encoded key was forwarded"


# Providers hand the model a PDF's text: a PDF is read, not waved through
# as binary (more in test_scan_pdf.py).
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_pdf_with_plain_text_stream_is_scanned(gateway, mock, minter,
                                               dialect):
    key = sh.aws_access_key_id()
    pdf = (b"%PDF-1.4\n1 0 obj << /Length 60 >>\nstream\n"
           b"BT /F1 12 Tf 72 712 Td (aws_access_key_id " + key.encode()
           + b") Tj ET\nendstream\nendobj\ntrailer << >>\n%%EOF\n")
    data = base64.b64encode(pdf).decode()
    resp = send(gateway, dialect,
                document_body(dialect, "application/pdf", data),
                minter.mint())
    assert resp.status == 403, resp
    assert mock.requests == [], "the PDF was forwarded unscanned"


# -- item 5: duplicated protocol headers -------------------------------------------

def raw_post(gw, dialect, token, headers):
    body = json.dumps(text_body(dialect, "hello")).encode()
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.putrequest("POST", MESSAGES if dialect == "anthropic" else CHAT,
                        skip_accept_encoding=True)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        if dialect == "anthropic":
            conn.putheader("x-api-key", token)
        else:
            conn.putheader("Authorization", "Bearer " + token)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("first,second", [
    (("anthropic-version", "2023-06-01"),
     ("Anthropic-Version", "2023-06-01 {key}")),
    (("anthropic-beta", "prompt-caching-2024-07-31"),
     ("ANTHROPIC-BETA", "{key}")),
    (("OpenAI-Beta", "assistants=v2"), ("openai-beta", "x={key}")),
], ids=["anthropic-version", "anthropic-beta", "openai-beta"])
def test_second_protocol_header_in_other_case_is_checked(
        gateway, mock, minter, dialect, first, second):
    """A valid first header does not carry an invalid second one that
    differs only in letter case."""
    key = sh.aws_access_key_id()
    headers = [("anthropic-version", "2023-06-01")] \
        if first[0] != "anthropic-version" else []
    headers += [first, (second[0], second[1].format(key=key))]
    status, body = raw_post(gateway, dialect, minter.mint(), headers)
    assert status == 400, body
    err = json.loads(body)["error"]
    assert err["code"] == "invalid_header", body
    assert key.encode() not in body
    assert mock.requests == []
    assert key not in gateway.error_log_text()
    assert key not in gateway.access_log_text()


# -- item 8: stream accounting -----------------------------------------------------

def sse_text(events):
    return "".join("%sdata: %s\n\n" % ("event: %s\n" % name if name else "",
                                       data if isinstance(data, str)
                                       else json.dumps(data))
                   for name, data in events)


def one_row(gw, user_agent):
    rows = gw.audit.rows_for_user_agent(user_agent)
    assert len(rows) == 1, rows
    return rows[0]


def test_include_usage_false_said_explicitly_is_counted(gateway, mock, minter,
                                                        user_agent):
    """A caller that says include_usage: false gets no usage chunk, and the
    provider is still asked for it and the gateway counts it."""
    mock.reply_text = "abcdefghij"
    mock.stream_deltas = 100
    resp = gateway.client().post(
        CHAT, {"model": sh.GPT, "stream": True,
               "stream_options": {"include_usage": False},
               "messages": [{"role": "user", "content": "count"}]},
        token=minter.mint(), headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    assert mock.last_request().json()["stream_options"] == {
        "include_usage": True}
    chunks = [json.loads(d) for _, d in resp.sse() if d != "[DONE]"]
    assert all(c["choices"] for c in chunks), "usage chunk relayed"
    assert not any(c.get("usage") for c in chunks)
    assert one_row(gateway, user_agent)["tokens_out"] == 100


def n_choice_stream(n, deltas, text):
    chunk = {"id": "chatcmpl-x", "object": "chat.completion.chunk",
             "created": 1, "model": sh.GPT}
    events = [(None, dict(chunk, choices=[{
        "index": i, "delta": {"role": "assistant", "content": ""},
        "finish_reason": None}])) for i in range(n)]
    for _ in range(deltas):
        events += [(None, dict(chunk, choices=[{
            "index": i, "delta": {"content": text}, "finish_reason": None}]))
            for i in range(n)]
    events += [(None, dict(chunk, choices=[{
        "index": i, "delta": {}, "finish_reason": "stop"}]))
        for i in range(n)]
    events.append((None, "[DONE]"))
    return sse_text(events)


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_n_choices_stream_without_usage_counts_every_choice(
        gateway, mock, minter, user_agent, dialect):
    """n=3 from a provider that reports no usage: the estimate covers the
    text of all three choices, not the first one's."""
    mock.respond_next(200, n_choice_stream(3, 100, "abcdefghij"),
                      headers={"Content-Type": "text/event-stream"})
    body = {"model": sh.GPT, "stream": True, "n": 3,
            "messages": [{"role": "user", "content": "three"}]}
    if dialect == "anthropic":
        del body["n"]
        body["max_tokens"] = 16
        resp = gateway.client().post(
            MESSAGES, body, headers=dict(ANTHROPIC, **{
                "x-api-key": minter.mint(), "User-Agent": user_agent}))
    else:
        resp = gateway.client().post(CHAT, body, token=minter.mint(),
                                     headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    assert one_row(gateway, user_agent)["tokens_out"] == estimate(3 * 1000)


@pytest.mark.parametrize("ending", ["response.incomplete", "response.failed"])
def test_responses_stream_ending_without_completed_counts_usage(
        gateway, mock, minter, user_agent, ending):
    """A Responses stream cut by max_output_tokens (incomplete) or failing
    late still carries the usage of what was generated; it is counted."""
    events = [("response.created", {
        "type": "response.created",
        "response": {"id": "resp_1", "object": "response",
                     "status": "in_progress", "output": [], "usage": None}})]
    events += [("response.output_text.delta", {
        "type": "response.output_text.delta", "item_id": "msg_1",
        "output_index": 0, "content_index": 0, "delta": "abcdefghij"})
        for _ in range(100)]
    events.append((ending, {
        "type": ending,
        "response": {"id": "resp_1", "object": "response",
                     "status": ending.split(".")[1], "output": [],
                     "usage": {"input_tokens": 5, "output_tokens": 1000,
                               "total_tokens": 1005}}}))
    mock.respond_next(200, sse_text(events),
                      headers={"Content-Type": "text/event-stream"})
    resp = gateway.client().post(
        RESPONSES, {"model": sh.GPT, "stream": True, "input": "go"},
        token=minter.mint(), headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    row = one_row(gateway, user_agent)
    assert row["tokens_out"] == 1000
    assert row["tokens_in"] == 5


@pytest.mark.parametrize("variant", ["plain", "stream", "escaped-name"])
def test_background_response_is_refused(gateway, mock, minter, user_agent,
                                        variant):
    """A Responses request with "background": true is answered at once
    ("queued", no usage) and generated afterwards, fetched by GETs the
    gateway does not route: its output would be counted nowhere (quota,
    audit, cost).  It is refused in the caller's dialect, also with the
    member's name spelt with a JSON escape; the same request without it
    goes through."""
    body = {"model": sh.GPT, "input": "write a very long story",
            "background": True, "store": True, "max_output_tokens": 100000}
    if variant == "stream":
        body["stream"] = True
    data = json.dumps(body)
    if variant == "escaped-name":
        data = data.replace('"background"', '"backgr\\u006fund"')
        assert "background" not in data
    resp = gateway.client().post(RESPONSES, data.encode(), token=minter.mint(),
                                 headers={"User-Agent": user_agent})
    assert resp.status == 400, resp
    assert resp.json()["error"]["code"] == "background_not_supported"
    assert mock.requests == []
    row = one_row(gateway, user_agent)
    assert row["decision"] == "invalid"

    body["background"] = False
    resp = gateway.client().post(RESPONSES, body, token=minter.mint())
    assert resp.status == 200, resp
    assert mock.last_request().json()["background"] is False
