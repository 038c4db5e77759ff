"""Models that cannot be served (issue 14): a provider without a credential
(key=env: of an unset variable) keeps its models out of GET /v1/models, and
a request for one of them is refused with a non-retryable error naming the
model and its unconfigured provider, in the caller's dialect.  GET
/v1/models answers Anthropic clients in Anthropic's shape.
"""

import pytest

from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
MODELS = "/v1/models"
ANTHROPIC = {"anthropic-version": "2023-06-01"}

# "keyless" has a balancer (the mock) but no credential: its variable is
# never set for httpd.
ROUTES = """\
LLMRouteProvider keyless openai balancer://testopenai key=env:LLM_GW_TEST_NEVER_SET prefix=/v1
LLMRouteModel gpt-4o-mini     testopenai
LLMRouteModel claude-haiku-4  testanthropic
LLMRouteModel deep-named      keyless
LLMRouteModel deep-*          keyless
LLMRouteAlias team-default    gpt-4o-mini
LLMRouteAlias keyless-default deep-named
"""


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"35-test-routes.conf": ROUTES})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def ids(resp):
    assert resp.status == 200, resp
    return sorted(m["id"] for m in resp.json()["data"])


def test_models_list_leaves_out_models_without_provider(gw, minter, mock):
    token = minter.mint(sub="models-list")
    listed = ids(gw.client().get(MODELS, token=token))
    assert {"gpt-4o-mini", "claude-haiku-4", "team-default",
            "mock-echo"} <= set(listed)
    assert "deep-named" not in listed
    assert "keyless-default" not in listed
    assert mock.requests == []


@pytest.mark.parametrize("model", ["deep-named", "deep-any", "keyless-default"])
def test_openai_caller_gets_non_retryable_error_naming_model(
        gw, minter, mock, user_agent, model):
    token = minter.mint(sub="models-openai")
    r = gw.client().post(CHAT, {"model": model, "messages": [
        {"role": "user", "content": "hi"}]}, token=token,
        headers={"User-Agent": user_agent})
    # SDKs retry every 5xx (and 408/409/429): a missing credential is no
    # outage to wait out.
    assert r.status == 404, r
    assert r.header("Retry-After") is None
    assert r.header("x-should-retry") in (None, "false")
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["code"] == "provider_not_configured"
    assert "'%s'" % model in err["message"]
    assert "'keyless' is not configured" in err["message"]
    assert mock.requests == []
    row = gw.audit.rows_for_user_agent(user_agent)[0]
    assert row["http_status"] == 404
    assert row["reason"] == "provider_not_configured"
    assert row["model_requested"] == model


def test_anthropic_caller_gets_error_in_its_dialect(gw, minter, mock):
    token = minter.mint(sub="models-anthropic")
    r = gw.client().post(MESSAGES, {"model": "deep-named", "max_tokens": 16,
                                    "messages": [{"role": "user",
                                                  "content": "hi"}]},
                         headers=dict(ANTHROPIC, **{"x-api-key": token}))
    assert r.status == 404, r
    body = r.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "'deep-named'" in body["error"]["message"]
    assert "not configured" in body["error"]["message"]
    assert mock.requests == []


def test_served_model_still_reaches_provider(gw, minter, mock):
    token = minter.mint(sub="models-served")
    r = gw.client().post(CHAT, {"model": "team-default", "messages": [
        {"role": "user", "content": "hi"}]}, token=token)
    assert r.status == 200, r
    assert mock.last_request().json()["model"] == "gpt-4o-mini"


def assert_anthropic_shape(resp, expected_ids):
    assert resp.status == 200, resp
    body = resp.json()
    assert "object" not in body
    assert body["has_more"] is False
    got = [m["id"] for m in body["data"]]
    assert sorted(got) == expected_ids
    assert body["first_id"] == got[0] and body["last_id"] == got[-1]
    for m in body["data"]:
        assert m["type"] == "model"
        assert m["display_name"] == m["id"]
        assert m["created_at"].endswith("Z")


def test_models_list_in_anthropic_shape_for_anthropic_clients(gw, minter):
    c = gw.client()
    token = minter.mint(sub="models-shape")
    openai = c.get(MODELS, token=token)
    assert openai.json()["object"] == "list"
    assert all(m["object"] == "model" and "owned_by" in m
               for m in openai.json()["data"])
    expected = ids(openai)
    # Anthropic's SDKs and Claude Code send anthropic-version ...
    assert_anthropic_shape(c.get(MODELS, token=token, headers=ANTHROPIC),
                           expected)
    assert_anthropic_shape(c.get(MODELS, headers=dict(
        ANTHROPIC, **{"x-api-key": token})), expected)
    # ... and an x-api-key alone says the same.
    assert_anthropic_shape(c.get(MODELS, headers={"x-api-key": token}),
                           expected)


def test_models_refusals_in_anthropic_dialect(gw, minter):
    c = gw.client()
    r = c.get(MODELS, headers=ANTHROPIC)          # no token
    assert r.status == 401, r
    assert r.json()["type"] == "error"
    assert r.json()["error"]["type"] == "authentication_error"
    r = c.post(MODELS, b"{}", headers={"x-api-key": minter.mint(sub="m")})
    assert r.status == 404, r
    assert r.json()["type"] == "error"
    assert r.json()["error"]["type"] == "not_found_error"
    r = c.post(MODELS, b"{}", token=minter.mint(sub="m"))
    assert r.status == 404, r
    assert "type" not in r.json()
    assert r.json()["error"]["code"] == "unknown_endpoint"
