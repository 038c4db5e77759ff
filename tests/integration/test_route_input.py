"""What the gateway takes in and passes on: unknown models and bodies of the
wrong shape are refused in the caller's dialect without contacting a
provider; same-dialect requests reach the provider byte for byte, with the
query string and the anthropic-version / anthropic-beta headers; Azure
OpenAI and Gemini are called the way they expect."""

import json

import pytest

from client_helpers import (anthropic_error, assert_provider_credentials,
                            gateway_with_providers, openai_error)

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def token(minter):
    return minter.mint(sub="input-user", groups=["developers"])


# -- unknown model -------------------------------------------------------------

@pytest.mark.parametrize("path,body,check", [
    (CHAT, {"model": "no-such-model-9", "messages": USER}, openai_error),
    ("/v1/responses", {"model": "no-such-model-9", "input": "hi"},
     openai_error),
    ("/v1/embeddings", {"model": "no-such-model-9", "input": "hi"},
     openai_error),
    (MESSAGES, {"model": "no-such-model-9", "max_tokens": 5,
                "messages": USER}, anthropic_error),
    (MESSAGES + "/count_tokens", {"model": "no-such-model-9",
                                  "messages": USER}, anthropic_error)],
    ids=["chat", "responses", "embeddings", "messages", "count_tokens"])
def test_unknown_model_is_404_in_callers_dialect(gateway, mock, token, path,
                                                 body, check):
    resp = gateway.client().post(path, body, token=token)
    assert resp.status == 404, resp
    err = check(resp)
    if check is anthropic_error:
        assert err["type"] == "not_found_error", err
    assert "no-such-model-9" in err["message"]
    # Nothing secret: no provider key, no upstream address.
    text = resp.body.decode()
    for secret in (gateway.openai_key, gateway.anthropic_key, "balancer://",
                   str(mock.port)):
        assert secret not in text, text
    assert mock.requests == []


# -- bodies of the wrong shape -------------------------------------------------

BAD_CHAT = {
    "not_json": b"this is not json",
    "truncated_json": b'{"model":"gpt-4o-mini","messages":[',
    "array": [1, 2],
    "no_messages": {"model": "gpt-4o-mini"},
    "messages_not_array": {"model": "gpt-4o-mini", "messages": "hi"},
    "empty_messages": {"model": "gpt-4o-mini", "messages": []},
    "message_not_object": {"model": "gpt-4o-mini", "messages": [5]},
    "no_role": {"model": "gpt-4o-mini", "messages": [{"content": "hi"}]},
    "content_number": {"model": "gpt-4o-mini",
                       "messages": [{"role": "user", "content": 5}]},
    "model_number": {"model": 5, "messages": USER},
    "no_model": {"messages": USER},
    "tools_not_array": {"model": "gpt-4o-mini", "messages": USER,
                        "tools": {"x": 1}},
    "duplicate_keys": b'{"model":"gpt-4o-mini","model":"claude-x",'
                      b'"messages":[{"role":"user","content":"hi"}]}',
    "stream_not_boolean": {"model": "gpt-4o-mini", "messages": USER,
                           "stream": "yes"},
}

BAD_MESSAGES = {
    "not_json": b"{nope",
    "no_max_tokens": {"model": "claude-sonnet-4-6", "messages": USER},
    "max_tokens_zero": {"model": "claude-sonnet-4-6", "max_tokens": 0,
                        "messages": USER},
    "max_tokens_string": {"model": "claude-sonnet-4-6", "max_tokens": "5",
                          "messages": USER},
    "system_number": {"model": "claude-sonnet-4-6", "max_tokens": 5,
                      "system": 7, "messages": USER},
    "content_part_string": {"model": "claude-sonnet-4-6", "max_tokens": 5,
                            "messages": [{"role": "user",
                                          "content": ["hi"]}]},
    "stream_not_boolean": {"model": "claude-sonnet-4-6", "max_tokens": 5,
                           "messages": USER, "stream": 1},
}

BAD_OTHER = [
    ("/v1/responses", {"model": "gpt-4o-mini"}),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": 5}),
    ("/v1/embeddings", {"model": "text-embedding-3-small"}),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": {}}),
    ("/v1/completions", {"model": "gpt-4o-mini"}),
]


def _post_raw(gateway, path, body, token):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return gateway.client().post(path, data, token=token)


@pytest.mark.parametrize("case", sorted(BAD_CHAT))
def test_bad_chat_body_is_400(gateway, mock, token, case):
    resp = _post_raw(gateway, CHAT, BAD_CHAT[case], token)
    assert resp.status == 400, resp
    err = openai_error(resp)
    assert err["type"] == "invalid_request_error", err
    assert mock.requests == [], "a malformed body was forwarded"


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_bad_messages_body_is_400(gateway, mock, token, case):
    resp = _post_raw(gateway, MESSAGES, BAD_MESSAGES[case], token)
    assert resp.status == 400, resp
    err = anthropic_error(resp)
    assert err["type"] == "invalid_request_error", err
    assert mock.requests == [], "a malformed body was forwarded"


@pytest.mark.parametrize("path,body", BAD_OTHER,
                         ids=["responses_no_input", "responses_input_number",
                              "embeddings_no_input", "embeddings_input_object",
                              "completions_no_prompt"])
def test_bad_openai_body_is_400(gateway, mock, token, path, body):
    resp = _post_raw(gateway, path, body, token)
    assert resp.status == 400, resp
    openai_error(resp)
    assert mock.requests == []


def test_wrong_content_type_json_body_still_checked(gateway, mock, token):
    """A JSON body sent as text/plain is still read and checked; garbage is
    still refused."""
    resp = gateway.client().post(CHAT, b"garbage", token=token,
                                 headers={"Content-Type": "text/plain"})
    assert resp.status in (400, 415), resp
    openai_error(resp)
    assert mock.requests == []


# -- same dialect: byte for byte -----------------------------------------------

# Odd but valid JSON: spacing, key order, escapes, a number format, unicode,
# fields the gateway does not know.  A re-serialised body would differ.
PASS_THROUGH = {
    CHAT: (b'{ "messages" : [ {"content":"caf\\u00e9 \xe2\x98\x95 1.50E+2",'
           b' "role":"user"} ],\n  "temperature": 0.70, "model":"gpt-4o-mini",'
           b' "x_unknown": {"b":1,"a":[true,null]} }'),
    MESSAGES: (b'{"max_tokens":  64,"model":"claude-sonnet-4-6","messages":'
               b'[{"role":"user","content":[{"type":"text","text":"h\\u0069"'
               b'}]}],  "metadata":{"user_id":"u-1"},"top_k":5}'),
    "/v1/responses": (b'{"model":"gpt-4o-mini","input":[{"role":"user",'
                      b'"content":"hi"}] ,"store":false}'),
    "/v1/embeddings": (b'{"input":["a","b"],"model":"text-embedding-3-small",'
                       b'"encoding_format":"float"}'),
    "/v1/completions": b'{"model":"gpt-4o-mini","prompt":"x",  "n":1}',
    MESSAGES + "/count_tokens": (b'{"model":"claude-sonnet-4-6","messages":'
                                 b'[{"role":"user","content":"hi"}]}  '),
}


@pytest.mark.parametrize("path", sorted(PASS_THROUGH))
def test_same_dialect_body_passes_byte_identical(gateway, mock, token, path):
    sent = PASS_THROUGH[path]
    resp = gateway.client().post(path, sent, token=token)
    assert resp.status == 200, resp
    rec = mock.wait_for_requests(1)[0]
    assert rec.route == path
    assert rec.body == sent
    family = "anthropic" if path.startswith(MESSAGES) else "openai"
    assert_provider_credentials(rec, gateway, token, family)


def test_same_dialect_stream_passes_byte_identical(gateway, mock, token):
    """A same-dialect stream reaches the caller exactly as the provider
    sent it."""
    body = {"model": "claude-sonnet-4-6", "max_tokens": 64, "stream": True,
            "messages": USER}
    resp = gateway.client().post(MESSAGES, body, token=token)
    assert resp.status == 200, resp
    assert resp.header("Content-Type").startswith("text/event-stream")
    rec = mock.wait_for_requests(1)[0]
    assert resp.body == rec.response_body


# -- query strings and headers -------------------------------------------------

def test_query_string_reaches_provider(gateway, mock, token):
    """Anthropic's SDK 0.x and Claude Code call /v1/messages?beta=true."""
    body = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": USER}
    resp = gateway.client().post(MESSAGES + "?beta=true", body, token=token)
    assert resp.status == 200, resp
    rec = mock.wait_for_requests(1)[0]
    assert rec.path == "/v1/messages?beta=true", rec.path


def test_count_tokens_query_string(gateway, mock, token):
    body = {"model": "claude-sonnet-4-6", "messages": USER}
    resp = gateway.client().post(MESSAGES + "/count_tokens?beta=true", body,
                                 token=token)
    assert resp.status == 200, resp
    assert mock.wait_for_requests(1)[0].path == \
        "/v1/messages/count_tokens?beta=true"


def test_anthropic_headers_passed_on(gateway, mock, token):
    beta = "interleaved-thinking-2025-05-14,context-management-2025-06-27"
    body = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": USER}
    resp = gateway.client().post(MESSAGES, body, token=token, headers={
        "anthropic-version": "2023-06-01", "anthropic-beta": beta})
    assert resp.status == 200, resp
    rec = mock.wait_for_requests(1)[0]
    assert rec.header("anthropic-version") == "2023-06-01"
    assert rec.header("anthropic-beta") == beta


def test_anthropic_version_added_when_missing(gateway, mock, token):
    body = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": USER}
    resp = gateway.client().post(MESSAGES, body, token=token)
    assert resp.status == 200, resp
    assert mock.wait_for_requests(1)[0].header("anthropic-version")


def test_caller_api_key_headers_never_forwarded(gateway, mock, token):
    """Whatever credentials a caller adds are its own: the provider gets
    the gateway's key only."""
    body = {"model": "gpt-4o-mini", "messages": USER}
    resp = gateway.client().post(CHAT, body, token=token, headers={
        "api-key": "caller-azure-key", "Cookie": "session=caller"})
    assert resp.status == 200, resp
    rec = mock.wait_for_requests(1)[0]
    assert rec.header("api-key") is None
    assert rec.header("cookie") is None
    assert_provider_credentials(rec, gateway, token, "openai")


# -- Azure OpenAI and Gemini ---------------------------------------------------

AZURE_CONF = """\
<Proxy balancer://testazure>
    BalancerMember http://{mock} timeout=30
</Proxy>
<Proxy balancer://testgemini>
    BalancerMember http://{mock} timeout=30
</Proxy>
LLMRouteProvider testazure  azure  balancer://testazure  key=file:{okey} api-version=2024-10-21
LLMRouteProvider testgemini gemini balancer://testgemini key=file:{okey}
LLMRouteModel azure-gpt-4o  testazure  prod-gpt4o
LLMRouteModel gemini-*      testgemini
"""


@pytest.fixture
def azure_gateway(gateway_factory):
    return gateway_with_providers(gateway_factory, AZURE_CONF)


def test_azure_deployment_path_api_version_and_api_key(azure_gateway, mock,
                                                       token):
    body = {"model": "azure-gpt-4o", "messages": USER}
    resp = azure_gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    assert resp.json()["choices"][0]["message"]["content"]
    rec = mock.wait_for_requests(1)[0]
    assert rec.route == "/openai/deployments/prod-gpt4o/chat/completions", \
        rec.path
    assert rec.query == {"api-version": ["2024-10-21"]}, rec.path
    assert rec.header("api-key") == azure_gateway.openai_key
    assert rec.header("authorization") is None
    for _, v in rec.headers:
        assert token not in v


def test_azure_stream(azure_gateway, mock, token):
    body = {"model": "azure-gpt-4o", "messages": USER, "stream": True}
    resp = azure_gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    assert b"[DONE]" in resp.body
    rec = mock.wait_for_requests(1)[0]
    assert rec.route.endswith("/deployments/prod-gpt4o/chat/completions")


def test_gemini_openai_compatible_endpoint(azure_gateway, mock, token):
    body = {"model": "gemini-2.5-flash", "messages": USER}
    resp = azure_gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    rec = mock.wait_for_requests(1)[0]
    assert rec.route == "/v1beta/openai/chat/completions", rec.path
    assert rec.header("authorization") == "Bearer " + azure_gateway.openai_key
    assert rec.body == json.dumps(body).encode()
