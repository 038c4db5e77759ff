"""Model access per group (issue 5): LLMRouteAllowModels decides from the
token's groups which models a caller may use, refuses the others with 403
model_not_allowed in the caller's dialect before anything is routed, and
GET /v1/models lists only what the caller may use.
"""

import json
import uuid

import pytest

from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
MODELS = "/v1/models"

# Named routes (GET /v1/models lists named routes and aliases) to the
# test providers, and the access rules under test.
ROUTES = """\
LLMRouteModel gpt-4o-mini       testopenai
LLMRouteModel gpt-4.1           testopenai
LLMRouteModel claude-sonnet-4-5 testanthropic
LLMRouteModel claude-opus-4-1   testanthropic
LLMRouteAlias team-default      claude-sonnet-4-5
"""

ACCESS = """\
LLMRouteAllowModels developers gpt-4o-mini mock-*
LLMRouteAllowModels ml-team    claude-* !claude-opus-*
LLMRouteAllowModels user:carol gpt-4.1
LLMRouteAllowModels *          mock-echo
"""


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"35-test-routes.conf": ROUTES,
                                 "40-model-access.conf": ACCESS})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def user():
    return "acc-" + uuid.uuid4().hex[:10]


def chat(model):
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def messages(model):
    return {"model": model, "max_tokens": 32,
            "messages": [{"role": "user", "content": "hi"}]}


def model_ids(resp):
    assert resp.status == 200, resp
    return sorted(m["id"] for m in resp.json()["data"])


@pytest.mark.parametrize("groups,model,allowed", [
    (["developers"], "gpt-4o-mini", True),
    (["developers"], "claude-sonnet-4-5", False),
    (["ml-team"], "claude-sonnet-4-5", True),
    (["ml-team"], "claude-opus-4-1", False),      # taken back by !pattern
    (["ml-team"], "team-default", True),          # alias of a granted model
    (["developers"], "team-default", False),
    (["developers", "ml-team"], "claude-sonnet-4-5", True),  # grants add up
    (["developers", "ml-team"], "claude-opus-4-1", False),
    (None, "gpt-4o-mini", False),                  # no groups claim at all
])
def test_model_access_by_group(gw, mock, minter, groups, model, allowed):
    token = minter.mint(sub=user(), groups=groups)
    resp = gw.client().post(CHAT, chat(model), token=token)
    if allowed:
        assert resp.status == 200, resp
        assert len(mock.wait_for_requests(1)) == 1
    else:
        assert resp.status == 403, resp
        err = resp.json()["error"]
        assert err["code"] == "model_not_allowed"
        assert err["type"] == "permission_error"
        assert model in err["message"]
        assert "/v1/models" in err["message"]
        assert mock.requests == [], "nothing may reach the provider"


def test_user_rule_and_star_rule(gw, mock, minter):
    carol = minter.mint(sub="carol", groups=["sales"])
    assert gw.client().post(CHAT, chat("gpt-4.1"), token=carol).status == 200
    assert gw.client().post(CHAT, chat("gpt-4o-mini"),
                            token=carol).status == 403
    # "*": every authenticated caller
    assert gw.client().post(CHAT, chat("mock-echo"),
                            token=carol).status == 200
    assert gw.client().post(CHAT, chat("mock-other"),
                            token=carol).status == 403


def test_refusal_in_anthropic_dialect_is_audited(gw, mock, minter,
                                                 user_agent):
    u = user()
    token = minter.mint(sub=u, groups=["ml-team"])
    resp = gw.client().post(MESSAGES, messages("claude-opus-4-1"),
                            headers={"x-api-key": token,
                                     "anthropic-version": "2023-06-01",
                                     "User-Agent": user_agent})
    assert resp.status == 403, resp
    body = resp.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "permission_error"
    assert body["error"]["code"] == "model_not_allowed"
    assert mock.requests == []
    rows = gw.audit.rows_for_user_agent(user_agent)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["decision"] == "deny"
    assert row["http_status"] == 403
    assert row["reason"] == "model_not_allowed"
    assert row["user_name"] == u
    assert json.loads(row["user_groups"]) == ["ml-team"]
    assert row["model_requested"] == "claude-opus-4-1"


def test_models_list_shows_only_allowed(gw, minter):
    c = gw.client()
    dev = minter.mint(sub=user(), groups=["developers"])
    ml = minter.mint(sub=user(), groups=["ml-team"])
    both = minter.mint(sub=user(), groups=["developers", "ml-team"])
    dev_ids = model_ids(c.get(MODELS, token=dev))
    ml_ids = model_ids(c.get(MODELS, token=ml))
    both_ids = model_ids(c.get(MODELS, token=both))

    assert dev_ids == ["gpt-4o-mini", "mock-claude-echo", "mock-echo"]
    assert ml_ids == ["claude-sonnet-4-5", "mock-echo", "team-default"]
    assert both_ids == sorted(set(dev_ids) | set(ml_ids))
    # The same filter for a caller sending its token as x-api-key.
    resp = c.get(MODELS, headers={"x-api-key": ml,
                                  "anthropic-version": "2023-06-01"})
    assert resp.status == 200, resp
    assert sorted(m["id"] for m in resp.json()["data"]) == ml_ids


def test_no_rules_means_everything_allowed(gateway_factory, minter, mock):
    g = gateway_factory.make(gateway_d={"35-test-routes.conf": ROUTES,
                                        "40-model-access.conf": None})
    token = minter.mint(sub=user(), groups=None)
    c = g.client()
    assert c.post(CHAT, chat("claude-opus-4-1"), token=token).status == 200
    ids = model_ids(c.get(MODELS, token=token))
    assert {"gpt-4o-mini", "gpt-4.1", "claude-sonnet-4-5", "claude-opus-4-1",
            "team-default", "mock-echo"} <= set(ids)


def test_location_lines_replace_inherited_lines_of_the_group(
        gateway_factory, minter, mock):
    g = gateway_factory.make(gateway_d={
        "35-test-routes.conf": ROUTES,
        "40-model-access.conf": ACCESS + (
            "<Location /v1>\n"
            "    LLMRouteAllowModels developers claude-sonnet-*\n"
            "</Location>\n")})
    c = g.client()
    dev = minter.mint(sub=user(), groups=["developers"])
    ml = minter.mint(sub=user(), groups=["ml-team"])
    # developers: the location's line replaced the server-level one
    assert c.post(CHAT, chat("claude-sonnet-4-5"), token=dev).status == 200
    assert c.post(CHAT, chat("gpt-4o-mini"), token=dev).status == 403
    # ml-team: inherited unchanged
    assert c.post(CHAT, chat("claude-sonnet-4-5"), token=ml).status == 200
    assert c.post(CHAT, chat("claude-opus-4-1"), token=ml).status == 403


def test_sample_file_keeps_dev_token_models(gateway_factory, minter, mock):
    """The shipped 40-model-access.conf: the quick start's development token
    (developers + llm-all-models) may use every model."""
    g = gateway_factory.make(gateway_d={"35-test-routes.conf": ROUTES})
    token = minter.mint(sub=user(), groups=["developers", "llm-all-models"])
    c = g.client()
    for model in ("gpt-4o-mini", "claude-opus-4-1", "team-default",
                  "mock-echo", "mock-claude-echo"):
        assert c.post(CHAT, chat(model), token=token).status == 200, model
    ids = model_ids(c.get(MODELS, token=token))
    assert {"gpt-4o-mini", "claude-opus-4-1", "team-default",
            "mock-echo"} <= set(ids)


@pytest.mark.parametrize("line,value", [
    ("LLMRouteAllowModels developers", "usage"),
    ("LLMRouteAllowModels developers gpt-[4", "gpt-[4"),
    ("LLMRouteAllowModels user: gpt-*", "user"),
])
def test_config_check_rejects_bad_lines(gateway_factory, line, value):
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "99-bad.conf" in out and "LLMRouteAllowModels" in out, out
    assert value in out, out
