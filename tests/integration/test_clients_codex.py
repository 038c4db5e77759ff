"""Codex CLI (``@openai/codex``, ``codex exec``) through the gateway.

Codex ignores OPENAI_BASE_URL: it is pointed at the gateway with a custom
provider in ``$CODEX_HOME/config.toml`` (``base_url`` = gateway /v1,
``wire_api = "responses"``, ``env_key`` naming the variable that holds the
caller's JWT).  It sends one streamed ``POST /v1/responses`` per turn and
needs response.output_item.added, the deltas, response.output_item.done and
response.completed back.  With the built-in provider it first tries a
WebSocket upgrade on ``GET /v1/responses``: the gateway answers 426 so that
it falls back to HTTP at once."""

import json
import re

import pytest

from client_helpers import (SSE_HEADERS, assert_provider_credentials,  # noqa: F401
                            assert_value_kept_in, clients_installed, run_codex, sse_body)

REPLY = "Codex reply relayed by the gateway."
MODEL = "gpt-5.1-codex"


@pytest.fixture
def token(minter):
    return minter.mint(sub="codex-user", groups=["developers"])


def test_one_turn(gateway, mock, token, clients_installed):
    mock.reply_text = REPLY
    run = run_codex(gateway, token, "say hi")
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    reqs = mock.wait_for_requests(1)
    assert reqs, "Codex sent nothing to the provider"
    for rec in reqs:
        assert rec.method == "POST" and rec.route == "/v1/responses", \
            mock.summary()
        assert_provider_credentials(rec, gateway, token, "openai")
        body = rec.json()
        assert body["model"] == MODEL
        assert body["stream"] is True


def _function_call_stream(call_id, name, arguments):
    item = {"id": "fc_gw1", "type": "function_call", "status": "completed",
            "arguments": arguments, "call_id": call_id, "name": name}
    resp = {"id": "resp_gw1", "object": "response", "created_at": 1,
            "status": "in_progress", "error": None, "model": MODEL,
            "output": [], "usage": None}
    done = dict(resp, status="completed", output=[item],
                usage={"input_tokens": 50, "output_tokens": 10,
                       "total_tokens": 60,
                       "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens_details": {"reasoning_tokens": 0}})
    ev = [("response.created", {"response": resp}),
          ("response.in_progress", {"response": resp}),
          ("response.output_item.added", {
              "output_index": 0,
              "item": dict(item, status="in_progress", arguments="")}),
          ("response.function_call_arguments.delta", {
              "item_id": "fc_gw1", "output_index": 0, "delta": arguments}),
          ("response.function_call_arguments.done", {
              "item_id": "fc_gw1", "output_index": 0, "name": name,
              "arguments": arguments}),
          ("response.output_item.done", {"output_index": 0, "item": item}),
          ("response.completed", {"response": done})]
    return sse_body([(k, dict(type=k, sequence_number=i, **p))
                     for i, (k, p) in enumerate(ev)])


def test_function_call_round_trip(gateway, mock, token, clients_installed):
    """The provider asks Codex to run a command; Codex runs it and sends the
    output back through the gateway in its next request."""
    marker = "gw-codex-marker-5150"
    mock.respond_next(200, _function_call_stream(
        "call_gw1", "exec_command", json.dumps({"cmd": "echo " + marker})),
        headers=SSE_HEADERS, path=r"/responses$")
    mock.reply_text = REPLY
    run = run_codex(gateway, token, "run echo")
    assert run.returncode == 0, run
    reqs = mock.wait_for_requests(2)
    assert len(reqs) >= 2, mock.summary()
    outputs = [i for i in reqs[1].json()["input"]
               if i.get("type") == "function_call_output"]
    assert outputs and outputs[0]["call_id"] == "call_gw1", outputs
    assert marker in json.dumps(outputs[0]["output"])
    assert REPLY in run.stdout, run
    for rec in reqs:
        assert_provider_credentials(rec, gateway, token, "openai")


BUILTIN_PROVIDER_CONFIG = """\
model = "{model}"
openai_base_url = "{base}/v1"
"""


def test_websocket_attempt_gets_426_and_falls_back(gateway, mock, token,
                                                   clients_installed):
    """Codex's built-in OpenAI provider first asks for a WebSocket on
    GET /v1/responses; the gateway's 426 makes it fall back to the HTTP
    stream at once (a 404 would cost it seconds of retries)."""
    mock.reply_text = REPLY
    run = run_codex(gateway, token, "say hi", config=BUILTIN_PROVIDER_CONFIG,
                    extra_env={"CODEX_API_KEY": token,
                               "OPENAI_API_KEY": token})
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    assert run.elapsed < 30, run
    log = gateway.access_log_text()
    ws = re.findall(r'"GET /v1/responses HTTP/1.1" (\d+)', log)
    assert ws and set(ws) == {"426"}, log
    reqs = mock.wait_for_requests(1)
    assert any(r.method == "POST" and r.route == "/v1/responses"
               for r in reqs), mock.summary()
    for rec in reqs:
        assert_provider_credentials(rec, gateway, token, "openai")


def test_anthropic_model(gateway, mock, token, clients_installed):
    """Codex on a Claude model: its Responses request is translated for the
    Anthropic provider and the Anthropic stream back into Responses
    events."""
    mock.reply_text = REPLY
    run = run_codex(gateway, token, "say hi", model="claude-sonnet-4-6")
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    reqs = mock.wait_for_requests(1)
    assert reqs and all(r.route == "/v1/messages" for r in reqs), \
        mock.summary()
    for rec in reqs:
        assert_provider_credentials(rec, gateway, token, "anthropic")


def test_contacts_no_other_host(gateway, mock, token, clients_installed):
    """Codex with the custom provider reaches the gateway only."""
    from client_helpers import RecordingProxy
    proxy = RecordingProxy()
    try:
        mock.reply_text = REPLY
        run = run_codex(gateway, token, "say hi", extra_env=proxy.env())
    finally:
        proxy.close()
    assert run.returncode == 0, run
    assert REPLY in run.stdout, run
    assert proxy.attempts == [], proxy.attempts


def test_command_gets_redacted_value_back(gateway, mock, token,
                                          clients_installed):
    """Reversible redaction (the sample's LLMScanRedact pii reversible)
    with the Responses API: the email in the prompt reaches the provider
    as a placeholder; the provider asks Codex to run a command holding
    that placeholder in its arguments; Codex runs it with the email (the
    command prints the email's SHA-256, which comes back in the next
    request: proof of what ran, without the email itself going to the
    provider)."""
    import hashlib

    email = "dana.wexler@umbra-logistics.io"
    prompt = "Hash the address %s for me." % email
    # Which placeholder the prompt gets depends on the emails Codex's own
    # instructions hold before it: ask once.
    mock.reply_text = "ok"
    run = run_codex(gateway, token, prompt)
    assert run.returncode == 0, run
    found = set()
    for rec in mock.wait_for_requests(1):
        assert email.encode() not in rec.body
        found |= set(re.findall(r"Hash the address (\[REDACTED_EMAIL_\d+\])",
                                rec.body.decode()))
    assert len(found) == 1, found
    placeholder = found.pop()
    mock.reset()

    mock.respond_next(200, _function_call_stream(
        "call_gw2", "exec_command",
        json.dumps({"cmd": "printf %%s '%s' | sha256sum" % placeholder})),
        headers=SSE_HEADERS, path=r"/responses$")
    mock.reply_text = REPLY
    run = run_codex(gateway, token, prompt)
    assert run.returncode == 0, run
    reqs = mock.wait_for_requests(2)
    assert len(reqs) >= 2, mock.summary()
    outputs = [i for i in reqs[1].json()["input"]
               if i.get("type") == "function_call_output"]
    assert outputs and outputs[0]["call_id"] == "call_gw2", outputs
    digest = hashlib.sha256(email.encode()).hexdigest()
    assert digest in json.dumps(outputs[0]["output"]), outputs
    for rec in reqs:
        assert email.encode() not in rec.body
    assert_value_kept_in(gateway, email)
