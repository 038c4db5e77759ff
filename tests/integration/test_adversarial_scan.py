"""Adversarial scan suite (issue 10): try to get a real-looking secret past
mod_llm_scan, the way an attacker or an unlucky agent would, and check it
appears nowhere it must not: upstream (the mock provider's capture of
body, path and headers), the answer the client gets, the audit row and
the error log.

It grows with every bypass class.  Classes so far:

- every field of the request schemas of both dialects (OpenAI Chat
  Completions, Responses, Anthropic Messages, and OpenAI callers on an
  Anthropic model, translated): each string of a full, realistic body in
  turn holds the secret, streaming and not;
- every object of those bodies gets the secret as a key (with a suffix,
  so that it looks like a field name);
- escape text and URL encodings right before the secret (left boundary);
  the secret written as JSON unicode escapes;
- encodings of media fields: plain text and base64 of text where base64
  media is expected, data:text URLs;
- ids, blobs and the model under a redact policy: what cannot be
  redacted is blocked;
- text parts: a secret at the edge of a part (glued to the next part's
  word) and a secret split over two parts;
- card numbers written as JSON numbers in free-form data.

Each body is first sent unplanted: it must reach the provider unchanged,
so that the real ids (toolu_..., call_..., msg_..., resp_..., rs_...,
fc_...), enums and media of the templates are known to pass.

Secrets are generated at random per test (AWS access key ids, GitHub
tokens), never fixed strings.
"""

import base64
import copy
import json
import os
import urllib.parse

import pytest

import scan_helpers as sh


@pytest.fixture(scope="module")
def gateway(minter, mock_provider, postgres):
    """The sample configuration at LogLevel info, so that every finding
    is logged (LLM01003, with its location) and the error-log checks
    below read what an operator would."""
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      log_level="info")
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture
def token(minter):
    return minter.mint(sub="adversary", groups=["developers"])


def rnd(alphabet, n):
    return sh.rnd(alphabet, n)


def secret_for(i):
    """An AWS key id or a GitHub token, alternating, always fresh."""
    return sh.aws_access_key_id() if i % 2 == 0 else sh.github_token()


def b64(data):
    return base64.b64encode(data).decode()


def png_b64():
    return b64(b"\x89PNG\r\n\x1a\n" + os.urandom(64))


def wav_b64():
    return b64(b"RIFF" + os.urandom(4) + b"WAVEfmt " + os.urandom(48))


def pdf_b64():
    return b64(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + os.urandom(96))


def ident(prefix, n=24):
    return prefix + rnd(sh.ALNUM, n)


# -- full bodies: every field of each schema ------------------------------

def chat_body():
    call = ident("call_")
    return {
        "model": sh.GPT,
        "messages": [
            {"role": "system", "content": "You are a coding agent.",
             "name": "policy"},
            {"role": "developer", "content": [
                {"type": "text", "text": "Prefer small diffs."}]},
            {"role": "user", "name": "dev", "content": [
                {"type": "text", "text": "Why does the build fail?"},
                {"type": "image_url", "image_url": {
                    "url": "data:image/png;base64," + png_b64(),
                    "detail": "high"}},
                {"type": "image_url", "image_url": {
                    "url": "https://img.invalid/screen.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {
                    "data": wav_b64(), "format": "wav"}},
                {"type": "file", "file": {
                    "file_data": "data:application/pdf;base64," + pdf_b64(),
                    "filename": "report.pdf"}}]},
            {"role": "assistant", "content": "Let me look.",
             "refusal": None, "tool_calls": [
                 {"id": call, "type": "function", "function": {
                     "name": "run_shell",
                     "arguments": "{\"command\":\"make test\"}"}}]},
            {"role": "tool", "tool_call_id": call,
             "content": "FAIL: test_parse (3 errors)"},
        ],
        "tools": [{"type": "function", "function": {
            "name": "run_shell", "description": "Run a shell command",
            "strict": True,
            "parameters": {"type": "object", "properties": {
                "command": {"type": "string",
                            "description": "the command"}},
                "required": ["command"], "additionalProperties": False}}}],
        "tool_choice": "auto",
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "description": "the answer", "strict": True,
            "schema": {"type": "object", "properties": {
                "text": {"type": "string"}}}}},
        "stop": ["<END>"],
        "user": "dev-1234",
        "metadata": {"session": "s-" + rnd(sh.ALNUM, 8)},
        "service_tier": "auto",
        "reasoning_effort": "medium",
        "prediction": {"type": "content", "content": "old file text"},
        "modalities": ["text"],
        "prompt_cache_key": "repo-main",
        "verbosity": "low",
        "max_completion_tokens": 512,
        "temperature": 0.2,
        "parallel_tool_calls": True,
    }


def responses_body():
    call = ident("call_")
    return {
        "model": sh.GPT,
        "instructions": "You are Codex, a coding agent.",
        "input": [
            {"type": "message", "role": "developer", "content": [
                {"type": "input_text", "text": "sandbox: workspace-write"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Fix the failing test."},
                {"type": "input_image", "detail": "auto",
                 "image_url": "data:image/png;base64," + png_b64()},
                {"type": "input_file", "filename": "spec.pdf",
                 "file_data": "data:application/pdf;base64," + pdf_b64()}]},
            {"type": "reasoning", "id": ident("rs_", 40), "summary": [
                {"type": "summary_text", "text": "Looking at the test."}],
             "encrypted_content": "gAAAAAB" + b64(os.urandom(120))},
            {"type": "message", "id": ident("msg_", 40), "role": "assistant",
             "status": "completed", "content": [
                 {"type": "output_text", "text": "Running the tests.",
                  "annotations": []}]},
            {"type": "function_call", "id": ident("fc_", 40),
             "call_id": call, "name": "shell",
             "arguments": "{\"command\":[\"pytest\",\"-x\"]}",
             "status": "completed"},
            {"type": "function_call_output", "call_id": call,
             "output": "1 failed, 12 passed"},
        ],
        "tools": [
            {"type": "function", "name": "shell",
             "description": "Runs a shell command", "strict": False,
             "parameters": {"type": "object", "properties": {
                 "command": {"type": "array",
                             "items": {"type": "string"}}}}},
            {"type": "web_search"}],
        "tool_choice": "auto",
        "text": {"verbosity": "low", "format": {"type": "text"}},
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
        "parallel_tool_calls": True,
        "prompt_cache_key": ident("", 16),
        "truncation": "auto",
        "service_tier": "auto",
        "metadata": {"turn": "t-1"},
        "max_output_tokens": 1024,
    }


def responses_followup_body():
    """The stored-conversation form: previous_response_id."""
    return {"model": sh.GPT, "previous_response_id": ident("resp_", 48),
            "input": "go on", "user": "dev-1"}


def anthropic_body():
    tu = ident("toolu_01")
    return {
        "model": sh.CLAUDE,
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are Claude Code."},
            {"type": "text", "text": "Repository: acme/api",
             "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Look at the screenshot.",
                 "cache_control": {"type": "ephemeral"}},
                {"type": "image", "source": {
                    "type": "base64", "media_type": "image/png",
                    "data": png_b64()}},
                {"type": "image", "source": {
                    "type": "url", "url": "https://img.invalid/a.png"}},
                {"type": "document", "title": "notes", "context": "ctx",
                 "citations": {"enabled": True},
                 "source": {"type": "text", "media_type": "text/plain",
                            "data": "plain notes"}},
                {"type": "document", "source": {
                    "type": "base64", "media_type": "application/pdf",
                    "data": pdf_b64()}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run it.",
                 "signature": b64(os.urandom(90))},
                {"type": "redacted_thinking", "data": b64(os.urandom(60))},
                {"type": "text", "text": "Running the tests."},
                {"type": "tool_use", "id": tu, "name": "Bash",
                 "input": {"command": "npm test",
                           "description": "Run tests"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tu,
                 "is_error": False, "content": [
                     {"type": "text", "text": "2 failing"}],
                 "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Fix it."}]},
        ],
        "tools": [
            {"name": "Bash", "description": "Run a command",
             "input_schema": {"type": "object", "properties": {
                 "command": {"type": "string"}}, "required": ["command"]},
             "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search",
             "max_uses": 3, "allowed_domains": ["docs.python.org"]}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": False},
        "thinking": {"type": "enabled", "budget_tokens": 512},
        "metadata": {"user_id": "user-" + rnd(sh.ALNUM, 12)},
        "stop_sequences": ["</done>"],
        "service_tier": "auto",
        "temperature": 1,
    }


def chat_to_claude_body():
    """An OpenAI caller on an Anthropic model (translated after the scan):
    the parts the translation takes."""
    b = chat_body()
    b["model"] = sh.CLAUDE
    b["messages"][2]["content"] = b["messages"][2]["content"][:3]
    return b


def responses_to_claude_body():
    """Codex on an Anthropic model: no file input (not translated)."""
    b = responses_body()
    b["model"] = sh.CLAUDE
    b["input"][1]["content"] = b["input"][1]["content"][:2]
    return b


TEMPLATES = {
    "chat": ("openai", sh.CHAT, chat_body),
    "chat_to_claude": ("openai", sh.CHAT, chat_to_claude_body),
    "responses_to_claude": ("openai", sh.RESPONSES,
                            responses_to_claude_body),
    "responses": ("openai", sh.RESPONSES, responses_body),
    "responses_followup": ("openai", sh.RESPONSES, responses_followup_body),
    "messages": ("anthropic", sh.MESSAGES, anthropic_body),
}


def with_stream(body, stream):
    b = copy.deepcopy(body)
    if stream:
        b["stream"] = True
    return b


def string_slots(node, path=()):
    """Paths of every string value (list indices and dict keys)."""
    if isinstance(node, str):
        yield path
    elif isinstance(node, list):
        for i, x in enumerate(node):
            yield from string_slots(x, path + (i,))
    elif isinstance(node, dict):
        for k, x in node.items():
            yield from string_slots(x, path + (k,))


def object_slots(node, path=()):
    """Paths of every object."""
    if isinstance(node, dict):
        yield path
        for k, x in node.items():
            yield from object_slots(x, path + (k,))
    elif isinstance(node, list):
        for i, x in enumerate(node):
            yield from object_slots(x, path + (i,))


def at(body, path):
    for step in path:
        body = body[step]
    return body


def slot_name(path):
    return ".".join(str(s) for s in path) or "<root>"


def all_slots(kind):
    out = []
    for name, (_, _, make) in sorted(TEMPLATES.items()):
        paths = string_slots(make()) if kind == "value" else \
            object_slots(make())
        for p in paths:
            out.append(pytest.param(name, p,
                                    id="%s:%s" % (name, slot_name(p))))
    return out


# -- what must hold for every planted request ---------------------------------

def assert_nowhere(gateway, mock, resp, user_agent, value):
    """The value is in no request the provider received, not in the
    answer, not in the audit row, not in the error log."""
    needles = [value.encode(), value[4:16].encode()]
    for req in mock.requests:
        blob = req.body + req.path.encode() + json.dumps(
            req.headers, default=str).encode()
        for n in needles:
            assert n not in blob, "the value reached the provider: %r" % req
    for n in needles:
        assert n not in resp.body, "the value is in the answer"
        for _, hv in resp.headers:
            assert n.decode() not in str(hv), "the value is in a header"
    log = gateway.error_log_text()
    assert value not in log and value[4:16] not in log, \
        "the value is in the error log"
    row = sh.audit_row(gateway, user_agent)
    text = json.dumps(row, default=str)
    assert value not in text and value[4:16] not in text, \
        "the value is in the audit row"
    return row


def assert_refused(gateway, mock, resp, family, user_agent, value):
    assert resp.status in (400, 403), resp
    assert mock.requests == [], mock.summary()
    sh.error_of(resp, family)
    return assert_nowhere(gateway, mock, resp, user_agent, value)


# -- the templates themselves pass ---------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_reaches_provider_unchanged(gateway, mock, token,
                                             user_agent, name, stream):
    """No false positive from the protocol checks on a full realistic
    body: real ids, enums, blobs and media go through as sent."""
    family, path, make = TEMPLATES[name]
    body = with_stream(make(), stream)
    resp = sh.post(gateway, token, path, body, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    sent = got.json()
    if name.endswith("_to_claude"):
        # translated: the provider got a Messages body with the text
        assert "messages" in sent and sent["model"] == sh.CLAUDE, sent
    else:
        if family == "openai" and stream and path == sh.CHAT:
            sent.pop("stream_options", None)   # the gateway may ask for usage
        assert sent == body
    sh.assert_audit(gateway, user_agent, "allow", status=200)


# -- every string of every schema -----------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name,slot", all_slots("value"))
def test_secret_in_any_field(gateway, mock, token, user_agent, name, slot,
                             stream):
    family, path, make = TEMPLATES[name]
    body = with_stream(make(), stream)
    value = secret_for(len(slot) + (1 if stream else 0))
    parent = at(body, slot[:-1])
    parent[slot[-1]] = value
    resp = sh.post(gateway, token, path, body, user_agent)
    assert_refused(gateway, mock, resp, family, user_agent, value)


# -- every object gets the secret as a key ------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name,slot", all_slots("object"))
def test_secret_as_key_of_any_object(gateway, mock, token, user_agent, name,
                                     slot, stream):
    """A secret used as a key, with a suffix so that it passes for a field
    name, is found, and the location that says where is written by
    position: it never repeats the key."""
    family, path, make = TEMPLATES[name]
    body = with_stream(make(), stream)
    value = secret_for(len(slot) + (1 if stream else 0))
    at(body, slot)[value + "_a"] = "x"
    resp = sh.post(gateway, token, path, body, user_agent)
    row = assert_refused(gateway, mock, resp, family, user_agent, value)
    if resp.status == 403:
        locs = [f["location"] for f in sh.error_of(resp, family)["findings"]]
        assert locs and all(value not in loc for loc in locs), locs
        assert all(value not in f["location"] for f in sh.findings_of(row))
        # the finding was logged (so the error-log check above read it)
        assert any(loc in line for line in
                   gateway.error_log_text().splitlines()
                   if "LLM01003" in line for loc in locs), locs


# -- escapes and encodings before the secret -------------------------------------------

ESCAPES = {
    "lf": "\\n", "tab": "\\t", "cr": "\\r", "uescape": "\\u003e",
    "xescape": "\\x3d", "pct2F": "%2F", "pct3D": "%3D", "pct3A": "%3A",
    "pct252F": "%252F",
}

TEXT_SLOTS = {
    "chat": ("messages", 4, "content"),
    "responses": ("input", 5, "output"),
    "messages": ("messages", 2, "content", 0, "content", 0, "text"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", sorted(TEXT_SLOTS))
@pytest.mark.parametrize("esc", sorted(ESCAPES))
def test_secret_after_escape_text(gateway, mock, token, user_agent, name,
                                  esc, stream):
    """Tool results that hold JSON or logs (escapes written out) and
    URL-encoded clone URLs and query strings."""
    family, path, make = TEMPLATES[name]
    body = with_stream(make(), stream)
    value = secret_for(len(esc) + len(name) + (1 if stream else 0))
    slot = TEXT_SLOTS[name]
    if esc.startswith("pct"):
        text = ("git clone https://x-access-token" + ESCAPES[esc] + value +
                "%40github.com%2Facme%2Fapi.git")
    else:
        text = '{"log":"starting' + ESCAPES[esc] + value + ' done"}'
    at(body, slot[:-1])[slot[-1]] = text
    resp = sh.post(gateway, token, path, body, user_agent)
    assert_refused(gateway, mock, resp, family, user_agent, value)


def _enc_chat_url(body, value):
    body["messages"][2]["content"][1]["image_url"]["url"] = \
        "data:text/plain;base64," + b64(("key=" + value).encode())


def _enc_chat_url_plain(body, value):
    body["messages"][2]["content"][1]["image_url"]["url"] = \
        "data:text/plain," + urllib.parse.quote("id " + value)


def _enc_chat_file_text(body, value):
    body["messages"][2]["content"][4]["file"]["file_data"] = \
        "the file says " + value


def _enc_chat_file_b64(body, value):
    body["messages"][2]["content"][4]["file"]["file_data"] = \
        b64(("[default]\naws_access_key_id = " + value + "\n").encode())


def _enc_chat_audio_text(body, value):
    body["messages"][2]["content"][3]["input_audio"]["data"] = value


def _enc_chat_audio_b64(body, value):
    body["messages"][2]["content"][3]["input_audio"]["data"] = \
        b64(("transcript: " + value).encode())


def _enc_resp_file(body, value):
    body["input"][1]["content"][2]["file_data"] = \
        "data:text/plain;base64," + b64(("token " + value).encode())


def _enc_resp_image(body, value):
    body["input"][1]["content"][1]["image_url"] = \
        "data:text/markdown;base64," + b64(("# keys\n" + value).encode())


def _enc_anth_png_text(body, value):
    body["messages"][0]["content"][1]["source"]["data"] = value


def _enc_anth_pdf_b64_text(body, value):
    body["messages"][0]["content"][4]["source"]["data"] = \
        b64(("export GITHUB_TOKEN=" + value).encode())


def _enc_anth_textplain_b64(body, value):
    src = body["messages"][0]["content"][4]["source"]
    src["media_type"] = "text/plain"
    src["data"] = b64(("creds " + value).encode())


def _enc_anth_png_declared_text(body, value):
    """A real PNG header, then the secret in the base64 characters, but
    declared as text: not exempt."""
    src = body["messages"][0]["content"][1]["source"]
    src["media_type"] = "text/plain"
    src["data"] = "iVBORw0KGgo/" + value


ENCODINGS = {
    "chat_data_text_b64_url": ("chat", _enc_chat_url),
    "chat_data_text_url": ("chat", _enc_chat_url_plain),
    "chat_file_data_text": ("chat", _enc_chat_file_text),
    "chat_file_data_b64_text": ("chat", _enc_chat_file_b64),
    "chat_input_audio_text": ("chat", _enc_chat_audio_text),
    "chat_input_audio_b64_text": ("chat", _enc_chat_audio_b64),
    "responses_file_data_text_b64": ("responses", _enc_resp_file),
    "responses_image_data_markdown": ("responses", _enc_resp_image),
    "messages_png_source_text": ("messages", _enc_anth_png_text),
    "messages_pdf_source_b64_text": ("messages", _enc_anth_pdf_b64_text),
    "messages_textplain_b64": ("messages", _enc_anth_textplain_b64),
    "messages_png_header_declared_text": ("messages",
                                          _enc_anth_png_declared_text),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("enc", sorted(ENCODINGS))
def test_secret_in_media_field_encoding(gateway, mock, token, user_agent,
                                        enc, stream):
    """Only base64 of a binary format is exempt from the scan; text in a
    media field (as it is, or base64 of text) is scanned."""
    name, plant = ENCODINGS[enc]
    family, path, make = TEMPLATES[name]
    body = with_stream(make(), stream)
    value = secret_for(len(enc) + (1 if stream else 0))
    plant(body, value)
    resp = sh.post(gateway, token, path, body, user_agent)
    assert_refused(gateway, mock, resp, family, user_agent, value)


# -- protocol syntax and what cannot be redacted -----------------------------------------

def test_id_that_is_not_an_id_is_refused_in_callers_dialect(
        gateway, mock, token, user_agent):
    body = anthropic_body()
    body["messages"][2]["content"][0]["tool_use_id"] = "see the notes below"
    resp = sh.post(gateway, token, sh.MESSAGES, body, user_agent)
    assert resp.status == 400, resp
    err = sh.error_of(resp, "anthropic")
    assert err["type"] == "invalid_request_error", err
    assert "messages[2].content[0].tool_use_id" in err["message"], err
    assert mock.requests == []

    body = chat_body()
    body["messages"][3]["tool_calls"][0]["id"] = "call one"
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent + "-2")
    assert resp.status == 400, resp
    err = sh.error_of(resp, "openai")
    assert err["type"] == "invalid_request_error", err
    assert "messages[3].tool_calls[0].id" in err["message"], err


def test_blob_that_is_not_base64_is_refused(gateway, mock, token,
                                            user_agent):
    body = responses_body()
    body["input"][2]["encrypted_content"] = "not an encrypted blob"
    resp = sh.post(gateway, token, sh.RESPONSES, body, user_agent)
    assert resp.status == 400, resp
    assert "input[2].encrypted_content" in \
        sh.error_of(resp, "openai")["message"]
    assert mock.requests == []


REDACT = sh.location("/redact/v1", "    LLMScanAction secret redact") + "\n"


@pytest.fixture(scope="module")
def redact_gateway(minter, mock_provider, postgres):
    """A location where secrets are redacted instead of blocked."""
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"40-adversarial-redact.conf": REDACT})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_redact_policy_redacts_ids_and_blocks_unredactable(
        redact_gateway, mock, token, user_agent):
    """Under a redact policy a secret in an id is replaced upstream (the
    same placeholder in the call and its result, so they still pair);
    a secret in the model or a thinking signature cannot be replaced and
    blocks the request."""
    value = sh.aws_access_key_id()
    body = chat_body()
    cid = "call_" + value
    body["messages"][3]["tool_calls"][0]["id"] = cid
    body["messages"][4]["tool_call_id"] = cid
    resp = sh.post(redact_gateway, token, "/redact" + sh.CHAT, body,
                   user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock).json()
    a = got["messages"][3]["tool_calls"][0]["id"]
    assert a == got["messages"][4]["tool_call_id"]
    assert a == "call_[REDACTED_AWS_ACCESS_KEY_1]", a
    assert_nowhere(redact_gateway, mock, resp, user_agent, value)

    mock.reset()
    value = sh.github_token()
    body = anthropic_body()
    body["messages"][1]["content"][0]["signature"] = value
    resp = sh.post(redact_gateway, token, "/redact" + sh.MESSAGES, body,
                   user_agent + "-sig")
    assert resp.status == 403, resp
    assert mock.requests == []
    assert value.encode() not in resp.body


# -- neighbouring text parts ---------------------------------------------------------

GLUE = {
    "chat": lambda parts: {"model": sh.GPT, "messages": [
        {"role": "user", "content": [{"type": "text", "text": p}
                                     for p in parts]}]},
    "responses": lambda parts: {"model": sh.GPT, "input": [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": p} for p in parts]}]},
    "messages": lambda parts: {"model": sh.CLAUDE, "max_tokens": 64,
                               "messages": [{"role": "user", "content": [
                                   {"type": "text", "text": p}
                                   for p in parts]}]},
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("where", ["ends_part", "starts_part"])
@pytest.mark.parametrize("name", sorted(GLUE))
def test_secret_at_the_edge_of_a_text_part(gateway, mock, token, user_agent,
                                           name, where, stream):
    """Text parts are scanned joined (a value split over two parts is
    found); a value that ends one part or starts the next must not be
    lost to the word glued to it."""
    family, path, _ = TEMPLATES[name]
    value = secret_for(len(where) + len(name) + (1 if stream else 0))
    parts = (["my key id is " + value, "Repository acme/api"]
             if where == "ends_part" else ["see repo", value + " is it"])
    body = with_stream(GLUE[name](parts), stream)
    resp = sh.post(gateway, token, path, body, user_agent)
    assert_refused(gateway, mock, resp, family, user_agent, value)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", sorted(GLUE))
def test_secret_split_over_two_text_parts(gateway, mock, token, user_agent,
                                          name, stream):
    family, path, _ = TEMPLATES[name]
    value = secret_for(len(name) + (1 if stream else 0))
    body = with_stream(GLUE[name](["the key is " + value[:9],
                                   value[9:] + " ok"]), stream)
    resp = sh.post(gateway, token, path, body, user_agent)
    assert_refused(gateway, mock, resp, family, user_agent, value)


@pytest.mark.parametrize("name", sorted(TEXT_SLOTS))
def test_secret_written_as_json_unicode_escapes(gateway, mock, token,
                                                user_agent, name):
    """Every character of the value written as \\uXXXX in the body: the
    parser decodes it, the scan sees the value."""
    family, path, make = TEMPLATES[name]
    body = make()
    value = secret_for(len(name))
    marker = "MARKER" + rnd(sh.ALNUM, 8)
    slot = TEXT_SLOTS[name]
    at(body, slot[:-1])[slot[-1]] = "creds: " + marker
    raw = sh.dumps(body).replace(
        marker.encode(), "".join("\\u%04x" % ord(c) for c in value).encode())
    assert value.encode() not in raw
    resp = sh.post(gateway, token, path, raw, user_agent)
    assert_refused(gateway, mock, resp, family, user_agent, value)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", ["messages", "responses", "chat"])
def test_card_number_as_a_json_number(gateway, mock, token, user_agent,
                                      name, stream):
    """A card number written as a JSON number in free-form data (a tool's
    input, metadata, an unknown field) is read by the model like text: it
    is scanned, and since a number cannot take a placeholder, the request
    is refused even though personal data is redacted by default."""
    family, path, make = TEMPLATES[name]
    body = with_stream(make(), stream)
    card = sh.credit_card()
    if name == "messages":
        body["messages"][1]["content"][3]["input"]["card"] = int(card)
    elif name == "responses":
        body["metadata"]["card"] = int(card)
    else:
        body["x_billing"] = {"card": int(card)}
    resp = sh.post(gateway, token, path, body, user_agent)
    assert resp.status == 403, resp
    assert_refused(gateway, mock, resp, family, user_agent, card)
