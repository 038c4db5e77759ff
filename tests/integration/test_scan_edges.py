"""mod_llm_scan on the less travelled paths agents still take: redaction of
values split across content parts, of object keys, of escaped values;
streams; count_tokens; OpenAI callers on Anthropic models (scan before
translation); Expect: 100-continue; strings with NUL; bodies with
hundreds of findings; invalid UTF-8 and deep nesting.
"""

import json

import pytest

import scan_helpers as sh
from gwtest.client import parse_sse


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-edges", groups=["developers"])


def chat(text, **extra):
    b = {"model": sh.GPT, "messages": [{"role": "user", "content": text}]}
    b.update(extra)
    return b


# -- redaction in unusual places ---------------------------------------------

def test_email_split_across_parts_is_redacted_in_the_first(gateway, mock,
                                                           token, user_agent):
    e = sh.email()
    cut = e.index("@") + 3
    body = {"model": sh.GPT, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "write to " + e[:cut]},
        {"type": "text", "text": e[cut:] + " today"}]}]}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert e[:cut].encode() not in got.body
    parts = got.json()["messages"][0]["content"]
    assert parts[0]["text"] == "write to [REDACTED_EMAIL_1]"
    assert parts[1]["text"] == " today"
    assert got.header("content-length") == str(len(got.body))


def test_email_as_object_key_in_tool_input_is_redacted(gateway, mock, token,
                                                       user_agent):
    e = sh.email()
    body = sh._anthropic([
        {"role": "user", "content": "update the roles"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_k", "name": "set_roles",
             "input": {"roles": {e: "admin", "ci-bot": "read"}}}]},
        {"role": "user", "content": [{"type": "tool_result",
                                      "tool_use_id": "toolu_k",
                                      "content": "ok"}]}])
    resp = sh.post(gateway, token, sh.MESSAGES, body, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    roles = got.json()["messages"][1]["content"][0]["input"]["roles"]
    assert list(roles.items()) == [("[REDACTED_EMAIL_1]", "admin"),
                                   ("ci-bot", "read")]
    row = sh.assert_audit(gateway, user_agent, "redact", types=["EMAIL"],
                          values=[e])
    assert all(e not in f["location"] for f in sh.findings_of(row))


def test_secret_as_object_key_is_blocked_without_echo_in_location(
        gateway, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    body = chat("hi", metadata={aws: "prod"})
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    f = sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock,
                          values=[aws])
    assert f["location"].startswith("metadata."), f
    assert aws not in f["location"] and aws[4:12] not in f["location"]


def test_escaped_email_is_redacted_and_rest_kept(gateway, mock, token,
                                                 user_agent):
    e = sh.email()
    esc = "".join("\\u%04x" % ord(c) for c in e)
    raw = ('{"model":"%s","messages":[{"role":"user","content":'
           '"a\\tb \\"%s\\" c\\u00e9"}]}' % (sh.GPT, esc)).encode()
    resp = sh.post(gateway, token, sh.CHAT, raw, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.json()["messages"][0]["content"] == \
        'a\tb "[REDACTED_EMAIL_1]" c\u00e9'


def test_value_after_nul_character_is_found(gateway, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    raw = ('{"model":"%s","messages":[{"role":"user","content":'
           '"head\\u0000tail %s"}]}' % (sh.GPT, aws)).encode()
    resp = sh.post(gateway, token, sh.CHAT, raw, user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws],
                      location="messages[0].content", offset=10)


def test_many_findings_numbered_in_order(gateway, mock, token, user_agent):
    emails = [sh.email() for _ in range(300)]
    text = "\n".join("%d. %s" % (i, e) for i, e in enumerate(emails))
    text += "\nagain: " + emails[0]
    resp = sh.post(gateway, token, sh.CHAT, chat(text), user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock).json()["messages"][0]["content"]
    expected = "\n".join("%d. [REDACTED_EMAIL_%d]" % (i, i + 1)
                         for i in range(300))
    assert got == expected + "\nagain: [REDACTED_EMAIL_1]"


# -- other endpoints and modes ----------------------------------------------

def test_stream_request_is_redacted_and_streams(gateway, mock, token,
                                                user_agent):
    e = sh.email()
    body = chat("cc " + e, stream=True)
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    assert resp.status == 200, resp
    assert resp.header("Content-Type").startswith("text/event-stream")
    assert parse_sse(resp.body)[-1] == (None, "[DONE]")
    got = sh.forwarded(mock)
    # The gateway asks the provider for the stream's usage (and strips the
    # usage chunk from what the caller gets, as it did not ask).
    expected = chat("cc [REDACTED_EMAIL_1]", stream=True)
    expected["stream_options"] = {"include_usage": True}
    assert got.json() == expected


def test_stream_request_with_secret_is_blocked_as_json(gateway, mock, token,
                                                       user_agent):
    gh = sh.github_token()
    body = sh._anthropic([{"role": "user", "content": "token " + gh}],
                         stream=True)
    resp = sh.post(gateway, token, sh.MESSAGES, body, user_agent)
    sh.assert_blocked(resp, "anthropic", "GITHUB_TOKEN", mock, values=[gh])


def test_count_tokens_is_scanned(gateway, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    body = {"model": sh.CLAUDE, "messages": [{"role": "user",
                                              "content": "key " + aws}]}
    resp = sh.post(gateway, token, "/v1/messages/count_tokens", body,
                   user_agent)
    sh.assert_blocked(resp, "anthropic", "AWS_ACCESS_KEY", mock, values=[aws],
                      location="messages[0].content")


def test_openai_caller_on_anthropic_model_redacted_before_translation(
        gateway, mock, token, user_agent):
    e = sh.email()
    body = {"model": sh.CLAUDE, "max_tokens": 64, "messages": [
        {"role": "system", "content": "Support bot"},
        {"role": "user", "content": "mail " + e}]}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.route == "/v1/messages"
    assert e.encode() not in got.body
    assert "[REDACTED_EMAIL_1]" in json.dumps(got.json()["messages"])
    assert "choices" in resp.json()


def test_openai_caller_on_anthropic_model_blocked_in_openai_dialect(
        gateway, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    body = {"model": sh.CLAUDE, "messages": [{"role": "user",
                                              "content": "key " + aws}]}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws])


@pytest.mark.parametrize("field,value_fn", [
    ("user", lambda v: v),
    ("stop", lambda v: ["END", v]),
])
def test_top_level_strings_are_scanned(gateway, mock, token, user_agent,
                                       field, value_fn):
    e = sh.email()
    body = chat("hello")
    body[field] = value_fn(e)
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock).json()
    assert json.dumps(got).count("[REDACTED_EMAIL_1]") == 1
    assert e not in json.dumps(got)


def test_expect_100_continue_clean_body(gateway, mock, token, user_agent):
    raw = sh.dumps(chat("hello there"))
    resp = sh.post(gateway, token, sh.CHAT, raw, user_agent,
                   headers={"Expect": "100-continue"})
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.body == raw
    assert got.header("expect") is None


# -- bodies the parser must refuse -----------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a\xffb"}]}',
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\ud800"}]}',
    (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],'
     b'"metadata":' + b'{"a":' * 200 + b'1' + b'}' * 200 + b'}'),
], ids=["invalid_utf8", "lone_surrogate", "deep_nesting"])
def test_unparseable_body_is_400(gateway, mock, token, user_agent, raw):
    resp = sh.post(gateway, token, sh.CHAT, raw, user_agent)
    assert resp.status == 400, resp
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert mock.requests == []


# -- the value never reaches a log ----------------------------------------------

def test_values_never_in_error_or_access_log_at_trace(gateway_factory, mock,
                                                      minter, user_agent):
    g = gateway_factory.make(log_level="trace8 llm_scan:trace8 "
                                       "llm_route:trace8 llm_audit:trace8")
    tok = minter.mint(sub="scan-logs")
    aws, gh, e, card = (sh.aws_access_key_id(), sh.github_token(),
                        sh.email(), sh.credit_card())
    # blocked, redacted, logged-only (400 with a secret in broken JSON)
    sh.post(g, tok, sh.CHAT, chat("key %s mail %s" % (aws, e)), user_agent)
    resp = sh.post(g, tok, sh.MESSAGES, sh._anthropic(
        [{"role": "user", "content": "card " + card}]), user_agent)
    assert resp.status == 200, resp
    sh.post(g, tok, sh.CHAT, ('{"model":"gpt-4o-mini","messages":[{"role":'
                              '"user","content":"%s" x' % gh).encode(),
            user_agent)
    # rows are written in log_transaction, the last log lines with them
    g.audit.wait_for_rows("SELECT * FROM llm_audit WHERE user_agent = %s",
                          (user_agent,), count=3, timeout=10)
    logs = g.error_log_text() + g.access_log_text()
    assert "LLM01003" in logs or "finding" in logs, "no scan log line at all"
    for v in (aws, gh, e, card):
        assert v not in logs, "a value reached the logs"
        assert v[4:14] not in logs


# -- nothing unscanned goes upstream ------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("PUT", "/v1/chat/completions"),
    ("PATCH", "/v1/messages"),
    ("POST", "/v1/files"),
    ("POST", "/v1/batches"),
    ("POST", "/v1/chat/completions/extra"),
])
def test_unscanned_requests_do_not_reach_the_provider(gateway, mock, token,
                                                      user_agent, method,
                                                      path):
    aws = sh.aws_access_key_id()
    body = sh.dumps(chat("key " + aws))
    resp = gateway.client().request(method, path, body, token=token,
                                    headers={"User-Agent": user_agent})
    assert resp.status >= 400, resp
    assert mock.requests == [], mock.summary()


def test_secret_in_query_string_does_not_reach_the_provider(gateway, mock,
                                                            token,
                                                            user_agent):
    """The provider reads the query string too (Anthropic clients send
    ?beta=true)."""
    aws = sh.aws_access_key_id()
    resp = sh.post(gateway, token, sh.MESSAGES + "?beta=true&note=" + aws,
                   sh._anthropic([{"role": "user", "content": "hi"}]),
                   user_agent)
    for r in mock.requests:
        assert aws not in r.path, "secret forwarded in the query: %s" % r.path
    if resp.status == 200:
        assert mock.requests, resp


def test_secret_in_a_client_header_does_not_reach_the_provider(
        gateway, mock, token, user_agent):
    """Headers the client adds (x-stainless-*, anthropic-beta, a
    tool's own) are forwarded to the provider: a secret in one must be
    found (or the header not forwarded), like any other string the
    provider reads."""
    aws = sh.aws_access_key_id()
    resp = sh.post(gateway, token, sh.CHAT, chat("hi"), user_agent,
                   headers={"X-Debug-Context": "deploy key " + aws})
    for r in mock.requests:
        leaked = [k for k, v in r.headers if aws in v]
        assert not leaked, "secret forwarded in header(s) %s" % leaked
    if resp.status == 200:
        assert mock.requests, resp
