"""Claude Code (``@anthropic-ai/claude-code``, ``claude -p``) through the
gateway: ``ANTHROPIC_BASE_URL`` at the gateway, the caller's JWT in
``ANTHROPIC_AUTH_TOKEN`` (sent as Authorization: Bearer) or in
``ANTHROPIC_API_KEY`` (sent as x-api-key), telemetry off, a throw-away HOME.

Claude Code sends one streamed ``POST /v1/messages?beta=true`` per turn
(50-120 KB: tools, a long anthropic-beta list, thinking, ...) and needs
the whole Anthropic event sequence back.  The provider must receive the
gateway's key and the query and beta headers as sent."""

import json
import os
import shutil

import pytest

from client_helpers import (SSE_HEADERS, assert_provider_credentials,  # noqa: F401
                            assert_value_kept_in, claude_home, clients_installed, run_claude,
                            sse_body)

REPLY = "Hi! The gateway relayed this."


@pytest.fixture
def token(minter):
    return minter.mint(sub="claude-code-user", groups=["developers"])


def messages_requests(mock):
    reqs = [r for r in mock.wait_for_requests(1, timeout=10)]
    assert reqs, "Claude Code sent nothing to the provider"
    return reqs


@pytest.mark.parametrize("token_as", ["auth_token", "api_key"])
def test_one_turn(gateway, mock, token, clients_installed, token_as):
    mock.reply_text = REPLY
    run = run_claude(gateway, token, "say hi", token_as=token_as)
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    reqs = messages_requests(mock)
    for rec in reqs:
        assert rec.route == "/v1/messages", mock.summary()
        # The query and the beta list reach the provider as sent.
        assert rec.query.get("beta") == ["true"], rec.path
        assert "claude-code-20250219" in (rec.header("anthropic-beta") or "")
        assert rec.header("anthropic-version") == "2023-06-01"
        assert_provider_credentials(rec, gateway, token, "anthropic")
        assert rec.json()["stream"] is True
        assert rec.json()["model"].startswith("claude-")


def test_tool_round_trip(gateway, mock, token, clients_installed):
    """The provider asks for a Read tool call first; Claude Code runs it and
    sends the tool result back through the gateway in the next request."""
    home = claude_home()
    try:
        path = os.path.join(home, "work", "notes.txt")
        secretless = "gateway-tool-round-trip-marker 4711"
        with open(path, "w") as f:
            f.write(secretless + "\n")
        mock.respond_next(200, sse_body([
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_tool1", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-6", "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start",
                                     "index": 0, "content_block": {
                                         "type": "tool_use",
                                         "id": "toolu_gw1", "name": "Read",
                                         "input": {}}}),
            ("content_block_delta", {"type": "content_block_delta",
                                     "index": 0, "delta": {
                                         "type": "input_json_delta",
                                         "partial_json": json.dumps(
                                             {"file_path": path})}}),
            ("content_block_stop", {"type": "content_block_stop",
                                    "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 10}}),
            ("message_stop", {"type": "message_stop"}),
        ]), headers=SSE_HEADERS, path=r"/messages$")
        mock.reply_text = REPLY
        run = run_claude(gateway, token, "read notes.txt", home=home,
                         args=["--allowedTools", "Read"])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    reqs = mock.wait_for_requests(2, timeout=10)
    assert len(reqs) >= 2, mock.summary()
    results = [blk for m in reqs[1].json()["messages"]
               if isinstance(m.get("content"), list)
               for blk in m["content"] if blk.get("type") == "tool_result"]
    assert results and results[0]["tool_use_id"] == "toolu_gw1", results
    assert secretless in json.dumps(results[0]["content"])
    for rec in reqs:
        assert_provider_credentials(rec, gateway, token, "anthropic")


def test_openai_model_through_translation(gateway, mock, token,
                                          clients_installed):
    """Claude Code on a model an OpenAI-type provider serves: its Anthropic
    request becomes a chat completion, the chat stream becomes the
    Anthropic event sequence Claude Code needs."""
    mock.reply_text = REPLY
    run = run_claude(gateway, token, "say hi", args=["--model",
                                                     "gpt-4o-mini"])
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    reqs = messages_requests(mock)
    for rec in reqs:
        assert rec.route == "/v1/chat/completions", mock.summary()
        assert_provider_credentials(rec, gateway, token, "openai")
        assert rec.json()["model"] == "gpt-4o-mini"


def test_bad_token_fails_fast(gateway, mock, minter, clients_installed):
    """A token the gateway refuses ends Claude Code's turn with an error
    at once, and nothing reaches the provider."""
    bad = minter.mint(expired=True, sub="claude-code-user")
    run = run_claude(gateway, bad, "say hi", timeout=90)
    assert run.returncode != 0, run
    assert run.elapsed < 60, run
    assert mock.requests == []


def test_api_key_helper(gateway, mock, token, clients_installed):
    """The recommended set-up (docs/clients.md): the token comes from an
    ``apiKeyHelper`` command in settings.json, not from the environment."""
    home = claude_home()
    try:
        helper = os.path.join(home, "gateway-token")
        with open(helper, "w") as f:
            f.write("#!/bin/sh\necho '%s'\n" % token)
        os.chmod(helper, 0o700)
        os.makedirs(os.path.join(home, ".claude"))
        with open(os.path.join(home, ".claude", "settings.json"), "w") as f:
            json.dump({"apiKeyHelper": helper}, f)
        mock.reply_text = REPLY
        run = run_claude(gateway, "", "say hi", token_as="none", home=home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    for rec in messages_requests(mock):
        assert_provider_credentials(rec, gateway, token, "anthropic")


def test_blocked_prompt_is_explained(gateway, mock, token, clients_installed):
    """A prompt carrying a secret is refused before any provider sees it;
    Claude Code shows the gateway's explanation."""
    import secrets as _secrets
    key = "AKIA" + "".join(_secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                           for _ in range(16))
    run = run_claude(gateway, token, "store this key: %s" % key, timeout=90)
    assert run.returncode != 0, run
    out = run.stdout + run.stderr
    assert "403" in out or "sensitive" in out.lower(), run
    assert key not in out.replace("store this key: " + key, ""), run
    assert mock.requests == []


def test_contacts_no_other_host(gateway, mock, token, clients_installed):
    """With telemetry and non-essential traffic off, Claude Code reaches
    the gateway and nothing else (every other connection would go through
    the recording proxy)."""
    from client_helpers import RecordingProxy
    proxy = RecordingProxy()
    try:
        mock.reply_text = REPLY
        run = run_claude(gateway, token, "say hi", extra_env=proxy.env())
    finally:
        proxy.close()
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    assert proxy.attempts == [], proxy.attempts



def _write_call_anthropic(path, cuts):
    def delta(piece):
        return ("content_block_delta", {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": piece}})
    return sse_body([
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_w", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-6", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "tool_use",
                                                   "id": "toolu_w",
                                                   "name": "Write",
                                                   "input": {}}}),
    ] + [delta(c) for c in cuts] + [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 10}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def _write_call_openai(path, cuts):
    def chunk(delta, finish=None):
        return (None, {"id": "chatcmpl-w", "object": "chat.completion.chunk",
                       "created": 1, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "delta": delta,
                                    "finish_reason": finish}]})
    return sse_body(
        [chunk({"role": "assistant", "content": None,
                "tool_calls": [{"index": 0, "id": "call_w",
                                "type": "function",
                                "function": {"name": "Write",
                                             "arguments": ""}}]})]
        + [chunk({"tool_calls": [{"index": 0,
                                  "function": {"arguments": c}}]})
           for c in cuts]
        + [chunk({}, "tool_calls")]) + "data: [DONE]\n\n"


@pytest.mark.parametrize("model", [None, "gpt-4o-mini"],
                         ids=["claude", "translated"])
def test_written_file_gets_redacted_value_back(gateway, mock, token,
                                               clients_installed, model):
    """Reversible redaction (the sample's LLMScanRedact pii reversible):
    the email in the prompt reaches the provider as a placeholder; the
    provider answers with a Write tool call whose content holds that
    placeholder, split over three events; the file Claude Code writes
    holds the email -- also on a model of an OpenAI-type provider, the
    chat stream translated into Anthropic events.  The provider never
    sees the email, not even in the tool result Claude Code sends back."""
    import re

    email = "dana.wexler@umbra-logistics.io"
    prompt = "Write the contact %s into contacts.txt." % email
    args = ["--model", model] if model else []
    route = r"/chat/completions$" if model else r"/messages$"
    # Which placeholder this prompt gets depends on the emails Claude
    # Code's own system prompt holds before it: ask once.
    mock.reply_text = "ok"
    run = run_claude(gateway, token, prompt, args=args)
    assert run.returncode == 0, run
    found = set()
    for rec in messages_requests(mock):
        assert email.encode() not in rec.body
        found |= set(re.findall(r"Write the contact (\[REDACTED_EMAIL_\d+\])",
                                rec.body.decode()))
    assert len(found) == 1, found
    placeholder = found.pop()
    mock.reset()

    home = claude_home()
    try:
        path = os.path.join(home, "work", "contacts.txt")
        call = json.dumps({"file_path": path,
                           "content": "Contact: %s\n" % placeholder})
        at = call.index(placeholder)
        cuts = [call[:at + 3], call[at + 3:at + 9], call[at + 9:]]
        mock.respond_next(200, (_write_call_openai if model
                                else _write_call_anthropic)(path, cuts),
                          headers=SSE_HEADERS, path=route)
        mock.reply_text = REPLY
        run = run_claude(gateway, token, prompt, home=home,
                         args=args + ["--allowedTools", "Write"])
        assert run.returncode == 0, run
        assert os.path.exists(path), run
        with open(path) as f:
            written = f.read()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert written == "Contact: %s\n" % email, written
    reqs = mock.wait_for_requests(2, timeout=10)
    assert len(reqs) >= 2, mock.summary()
    for rec in reqs:
        assert email.encode() not in rec.body, "the email reached the provider"
    assert_value_kept_in(gateway, email)
