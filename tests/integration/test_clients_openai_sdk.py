"""The official ``openai`` npm SDK (7.x, pinned in tests/clients) against the
gateway, with the mock provider behind it: chat and responses, streamed and
not, embeddings with the SDK's default base64 encoding, the model list, and
an OpenAI-dialect client on an Anthropic model.  Each test asserts what the
SDK handed its caller and what the provider received (the provider's key,
never the caller's token)."""

import base64
import json
import os
import struct

import pytest

from client_helpers import (SSE_HEADERS,  # noqa: F401
                            assert_provider_credentials,
                            assert_value_kept_in, clients_installed, run_sdk,
                            sse_body)

REPLY = "Bonjour from the mock, through the gateway."


@pytest.fixture
def token(minter):
    return minter.mint(sub="sdk-user", groups=["developers"])


def call(gateway, token, scenario, model, **kw):
    run = run_sdk(gateway, token, scenario, model, **kw)
    assert run.returncode == 0, run
    return run.json()


def only_request(mock, route):
    reqs = mock.wait_for_requests(1)
    assert len(reqs) == 1, mock.summary()
    assert reqs[0].route == route, mock.summary()
    return reqs[0]


def test_chat_non_stream(gateway, mock, token, clients_installed):
    mock.reply_text = REPLY
    out = call(gateway, token, "openai-chat", "gpt-4o-mini",
               prompt="Say bonjour.")
    assert out["text"] == REPLY
    assert out["finish"] == "stop"
    assert out["object"] == "chat.completion"
    assert out["usage"]["prompt_tokens"] > 0
    rec = only_request(mock, "/v1/chat/completions")
    assert_provider_credentials(rec, gateway, token, "openai")
    body = rec.json()
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [{"role": "user", "content": "Say bonjour."}]


def test_chat_stream_with_usage(gateway, mock, token, clients_installed):
    mock.reply_text = REPLY
    out = call(gateway, token, "openai-chat-stream", "gpt-4o-mini")
    assert out["text"] == REPLY
    assert out["finish"] == "stop"
    assert out["usage"] and out["usage"]["completion_tokens"] > 0
    rec = only_request(mock, "/v1/chat/completions")
    assert_provider_credentials(rec, gateway, token, "openai")
    assert rec.json()["stream"] is True
    assert rec.json()["stream_options"] == {"include_usage": True}


def test_responses_non_stream(gateway, mock, token, clients_installed):
    mock.reply_text = REPLY
    out = call(gateway, token, "openai-responses", "gpt-4o-mini")
    assert out["text"] == REPLY
    assert out["status"] == "completed"
    rec = only_request(mock, "/v1/responses")
    assert_provider_credentials(rec, gateway, token, "openai")


def test_responses_stream(gateway, mock, token, clients_installed):
    mock.reply_text = REPLY
    out = call(gateway, token, "openai-responses-stream", "gpt-4o-mini")
    assert out["text"] == REPLY
    assert out["status"] == "completed"
    assert out["types"][0] == "response.created"
    assert out["types"][-1] == "response.completed"
    assert "response.output_item.added" in out["types"]
    assert "response.output_item.done" in out["types"]
    rec = only_request(mock, "/v1/responses")
    assert_provider_credentials(rec, gateway, token, "openai")


def test_embeddings_default_base64(gateway, mock, token, clients_installed):
    out = call(gateway, token, "openai-embeddings", "text-embedding-3-small",
               prompt="embed me")
    rec = only_request(mock, "/v1/embeddings")
    assert_provider_credentials(rec, gateway, token, "openai")
    # The SDK asks for base64 and decodes it: the floats it returns are the
    # ones the provider encoded.
    assert rec.json()["encoding_format"] == "base64"
    sent = json.loads(rec.response_body)["data"][0]["embedding"]
    raw = base64.b64decode(sent)
    floats = list(struct.unpack("<%df" % (len(raw) // 4), raw))
    assert out["dims"] == len(floats)
    assert out["embedding"] == pytest.approx(floats)


def test_models_list(gateway, mock, token, clients_installed):
    out = call(gateway, token, "openai-models", "unused")
    assert isinstance(out["ids"], list)
    # Answered by the gateway from its routing table, not by a provider.
    assert mock.requests == []


@pytest.mark.parametrize("scenario", ["openai-chat", "openai-chat-stream"])
def test_chat_on_anthropic_model(gateway, mock, token, clients_installed,
                                 scenario):
    """An OpenAI-dialect client, a model an Anthropic provider serves: the
    gateway translates the request, the answer and the stream."""
    mock.reply_text = REPLY
    out = call(gateway, token, scenario, "claude-sonnet-4-6")
    assert out["text"] == REPLY
    assert out["finish"] == "stop"
    assert out["usage"]["prompt_tokens"] > 0
    assert out["usage"]["completion_tokens"] > 0
    rec = only_request(mock, "/v1/messages")
    assert_provider_credentials(rec, gateway, token, "anthropic")
    body = rec.json()
    assert body["model"] == "claude-sonnet-4-6"
    assert body["max_tokens"] > 0
    assert body["messages"][0]["role"] == "user"


def test_error_reaches_sdk_as_api_error(gateway, mock, token,
                                        clients_installed):
    """A provider's 429 reaches the SDK as its RateLimitError."""
    mock.rate_limit_next(retry_after=3)
    run = run_sdk(gateway, token, "openai-chat", "gpt-4o-mini")
    assert run.returncode == 1, run
    out = run.json()
    assert out["status"] == 429, out
    assert out["name"] == "RateLimitError", out


@pytest.mark.parametrize("scenario", ["openai-chat-tool",
                                      "openai-chat-tool-stream",
                                      "openai-responses-tool",
                                      "openai-responses-tool-stream"])
@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4-5"])
def test_tool_call_gets_redacted_value_back(gateway, mock, token,
                                            clients_installed, scenario,
                                            model, tmp_path):
    """Reversible redaction (LLMScanRedact pii reversible, the sample's):
    the provider sees the placeholder of the email in the prompt and
    answers with a write_file call holding it; the SDK's parsed arguments
    hold the email, and so does the file the driver, acting as the agent,
    writes -- Chat and Responses, streamed and not, on the same dialect
    and across translation.  A placeholder this request was never given
    (invented by the model) stays as the model wrote it."""
    email = "dana.wexler@umbra-logistics.io"
    placeholder = "[REDACTED_EMAIL_1]"
    invented = "[REDACTED_EMAIL_9]"
    os.chmod(str(tmp_path), 0o777)
    mock.tool_call = {"name": "write_file", "arguments": {
        "path": "contacts.txt",
        "content": "Contact: %s\nOld: %s\n" % (placeholder, invented)}}
    out = call(gateway, token, scenario, model,
               prompt="Save the contact %s to contacts.txt." % email,
               workdir=str(tmp_path))
    want = "Contact: %s\nOld: %s\n" % (email, invented)
    assert out["name"] == "write_file"
    assert out["args"] == {"path": "contacts.txt", "content": want}
    with open(os.path.join(str(tmp_path), "contacts.txt")) as f:
        assert f.read() == want
    rec = mock.wait_for_requests(1)[0]
    assert email.encode() not in rec.body
    assert placeholder.encode() in rec.body
    assert_value_kept_in(gateway, email)


def _split_tool_stream(family, endpoint, cuts):
    """The provider's stream of one write_file call whose arguments come
    in the pieces `cuts`, each event sent in a read of its own."""
    events = []
    if family == "anthropic":
        events.append(("message_start", {"type": "message_start", "message": {
            "id": "msg_s", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}))
        events.append(("content_block_start", {
            "type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_s",
                              "name": "write_file", "input": {}}}))
        events += [("content_block_delta", {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": c}})
            for c in cuts]
        events += [("content_block_stop", {"type": "content_block_stop",
                                           "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {
                       "stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"output_tokens": 12}}),
                   ("message_stop", {"type": "message_stop"})]
        return [sse_body([e]) for e in events]
    if endpoint == "chat":
        def chunk(delta, finish=None):
            return (None, {"id": "chatcmpl-s",
                           "object": "chat.completion.chunk",
                           "created": 1, "model": "gpt-4o-mini",
                           "choices": [{"index": 0, "delta": delta,
                                        "finish_reason": finish}]})
        events.append(chunk({"role": "assistant", "content": None,
                             "tool_calls": [{"index": 0, "id": "call_s",
                                             "type": "function",
                                             "function": {"name": "write_file",
                                                          "arguments": ""}}]}))
        events += [chunk({"tool_calls": [{"index": 0, "function": {
            "arguments": c}}]}) for c in cuts]
        events.append(chunk({}, "tool_calls"))
        return [sse_body([e]) for e in events] + ["data: [DONE]\n\n"]
    args = "".join(cuts)
    item = {"id": "fc_s", "type": "function_call", "status": "completed",
            "arguments": args, "call_id": "call_s", "name": "write_file"}

    def response(status, output):
        return {"id": "resp_s", "object": "response", "created_at": 1,
                "status": status, "error": None, "incomplete_details": None,
                "model": "gpt-4o-mini", "output": output,
                "parallel_tool_calls": True, "tool_choice": "auto",
                "tools": [], "usage": None if status != "completed" else {
                    "input_tokens": 10, "output_tokens": 12,
                    "total_tokens": 22,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0}}}
    seq = iter(range(100))

    def ev(kind, **payload):
        return (kind, dict(type=kind, sequence_number=next(seq), **payload))
    events.append(ev("response.created",
                     response=response("in_progress", [])))
    events.append(ev("response.output_item.added", output_index=0,
                     item=dict(item, status="in_progress", arguments="")))
    events += [ev("response.function_call_arguments.delta", item_id="fc_s",
                  output_index=0, delta=c) for c in cuts]
    events.append(ev("response.function_call_arguments.done",
                     item_id="fc_s", output_index=0, arguments=args))
    events.append(ev("response.output_item.done", output_index=0,
                     item=item))
    events.append(ev("response.completed",
                     response=response("completed", [item])))
    return [sse_body([e]) for e in events]


@pytest.mark.parametrize("scenario", ["openai-chat-tool-stream",
                                      "openai-responses-tool-stream"])
@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4-5"])
def test_tool_call_placeholder_split_over_three_events(gateway, mock, token,
                                                       clients_installed,
                                                       scenario, model,
                                                       tmp_path):
    """The same with the placeholder split over three argument events, as
    a model writes it token by token: the SDK's stream helpers assemble
    the arguments, and the file the driver writes holds the email."""
    email = "dana.wexler@umbra-logistics.io"
    placeholder = "[REDACTED_EMAIL_1]"
    family = "anthropic" if model.startswith("claude") else "openai"
    endpoint = "chat" if "chat" in scenario else "responses"
    call_args = json.dumps({"path": "contacts.txt",
                            "content": "Contact: %s\n" % placeholder})
    at = call_args.index(placeholder)
    cuts = [call_args[:at + 4], call_args[at + 4:at + 11],
            call_args[at + 11:]]
    route = (r"/messages$" if family == "anthropic"
             else r"/chat/completions$" if endpoint == "chat"
             else r"/responses$")
    mock.respond_next(200, headers=SSE_HEADERS, path=route, pause=0.01,
                      pieces=_split_tool_stream(family, endpoint, cuts))
    os.chmod(str(tmp_path), 0o777)
    out = call(gateway, token, scenario, model,
               prompt="Save the contact %s to contacts.txt." % email,
               workdir=str(tmp_path))
    want = "Contact: %s\n" % email
    assert out["args"] == {"path": "contacts.txt", "content": want}, out
    with open(os.path.join(str(tmp_path), "contacts.txt")) as f:
        assert f.read() == want
    rec = mock.wait_for_requests(1)[0]
    assert email.encode() not in rec.body
    assert placeholder.encode() in rec.body
    assert_value_kept_in(gateway, email)
