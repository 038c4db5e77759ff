"""The official ``@anthropic-ai/sdk`` npm SDK, both lines the field uses --
1.x (key as ``Authorization: Bearer``, its own newer ``anthropic-version``)
and 0.x (``x-api-key``, ``2023-06-01``, ``?beta=true`` on beta calls) --
against the gateway with the mock provider behind it: messages streamed and
not, count_tokens, beta messages, and an Anthropic-dialect client on an
OpenAI model.  The provider must get the gateway's key, never the caller's
token, and the caller's anthropic-version / anthropic-beta headers."""

import pytest

from client_helpers import (assert_provider_credentials, clients_installed,  # noqa: F401
                            run_sdk)

REPLY = "Hello from the mock, relayed by the gateway."
MODEL = "claude-sonnet-4-6"
SDKS = {"1.x": "anthropic", "0.x": "anthropic0"}


@pytest.fixture
def token(minter):
    return minter.mint(sub="anthropic-sdk-user", groups=["developers"])


@pytest.fixture(params=sorted(SDKS))
def sdk(request):
    return SDKS[request.param]


def call(gateway, token, scenario, model=MODEL):
    run = run_sdk(gateway, token, scenario, model)
    assert run.returncode == 0, run
    return run.json()


def only_request(mock):
    reqs = mock.wait_for_requests(1)
    assert len(reqs) == 1, mock.summary()
    return reqs[0]


def assert_sdk_headers(rec, sdk):
    if sdk == "anthropic0":
        assert rec.header("anthropic-version") == "2023-06-01"
    else:
        # 1.x sends its own version; the gateway passes it on.
        assert rec.header("anthropic-version"), rec.headers


def test_messages(gateway, mock, token, sdk, clients_installed):
    mock.reply_text = REPLY
    out = call(gateway, token, sdk + "-messages")
    assert out["text"] == REPLY
    assert out["stop"] == "end_turn"
    assert out["usage"]["input_tokens"] > 0
    rec = only_request(mock)
    assert rec.route == "/v1/messages"
    assert_provider_credentials(rec, gateway, token, "anthropic")
    assert_sdk_headers(rec, sdk)
    assert rec.json()["model"] == MODEL


def test_messages_stream(gateway, mock, token, sdk, clients_installed):
    mock.reply_text = REPLY
    out = call(gateway, token, sdk + "-messages-stream")
    assert out["text"] == REPLY
    assert out["stop"] == "end_turn"
    assert out["usage"]["output_tokens"] > 0
    for t in ("message_start", "content_block_start", "content_block_delta",
              "content_block_stop", "message_delta", "message_stop"):
        assert t in out["types"], out["types"]
    rec = only_request(mock)
    assert_provider_credentials(rec, gateway, token, "anthropic")
    assert rec.json()["stream"] is True


def test_count_tokens(gateway, mock, token, sdk, clients_installed):
    out = call(gateway, token, sdk + "-count-tokens")
    assert out["input_tokens"] > 0
    rec = only_request(mock)
    assert rec.route == "/v1/messages/count_tokens"
    assert_provider_credentials(rec, gateway, token, "anthropic")


def test_beta_messages(gateway, mock, token, sdk, clients_installed):
    """Beta calls: anthropic-beta passed on; 0.x also adds ?beta=true,
    which must reach the provider as the query it is."""
    mock.reply_text = REPLY
    out = call(gateway, token, sdk + "-beta-messages")
    assert out["text"] == REPLY
    rec = only_request(mock)
    assert rec.route == "/v1/messages", rec.path
    assert rec.header("anthropic-beta") == "token-efficient-tools-2025-02-19"
    if sdk == "anthropic0":
        assert rec.path == "/v1/messages?beta=true"
    assert_provider_credentials(rec, gateway, token, "anthropic")


def test_auth_token_option(gateway, mock, token, clients_installed):
    """1.x with ``authToken`` (Authorization: Bearer) rather than apiKey."""
    mock.reply_text = REPLY
    out = call(gateway, token, "anthropic-authtoken-messages")
    assert out["text"] == REPLY
    assert_provider_credentials(only_request(mock), gateway, token,
                                "anthropic")


def test_models_list(gateway, mock, token, sdk, clients_installed):
    out = call(gateway, token, sdk + "-models", "unused")
    assert isinstance(out["ids"], list)
    assert mock.requests == []


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_messages_on_openai_model(gateway, mock, token, clients_installed,
                                  stream):
    """An Anthropic-dialect client, a model an OpenAI-type provider serves:
    request, answer and stream translated."""
    mock.reply_text = REPLY
    scenario = "anthropic-messages-stream" if stream else "anthropic-messages"
    out = call(gateway, token, scenario, "gpt-4o-mini")
    assert out["text"] == REPLY
    assert out["stop"] == "end_turn"
    assert out["usage"]["output_tokens"] > 0
    rec = only_request(mock)
    assert rec.route == "/v1/chat/completions"
    assert_provider_credentials(rec, gateway, token, "openai")
    body = rec.json()
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"][-1]["role"] == "user"
