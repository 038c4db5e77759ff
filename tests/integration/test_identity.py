"""Identity beyond the refusal matrix of test_auth.py (issue 5): the claims
that name the user and the groups are configurable (LLMRouteUserClaim,
LLMRouteGroupsClaim) and what they name is what the audit row shows and
what access rules and quotas use; the nbf check allows a minute of clock
skew and no more; x-api-key promotion can be switched off; ES256 tokens
from a key the JWKS does not hold are refused.
"""

import json
import os
import time
import uuid

import pytest

from gwtest.tokens import SigningKey

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def chat(model="gpt-4o-mini"):
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def messages(model="claude-sonnet-4-5"):
    return {"model": model, "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}]}


def one_row(g, user_agent):
    rows = g.audit.rows_for_user_agent(user_agent)
    assert len(rows) == 1, rows
    return rows[0]


CLAIMS_CONF = """\
<Location /v1>
    LLMRouteUserClaim   email
    LLMRouteGroupsClaim roles
</Location>
LLMRouteAllowModels llm-users gpt-*
LLMRouteQuota group:llm-users requests/minute 1000
"""


@pytest.fixture(scope="module")
def claims_gw(minter, mock_provider, postgres):
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"40-model-access.conf": CLAIMS_CONF})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_user_and_groups_from_configured_claims(claims_gw, mock, minter,
                                                user_agent):
    sub = "id-" + uuid.uuid4().hex[:8]
    token = minter.mint(sub=sub, email="%s@corp.example" % sub,
                        groups=["developers"],
                        extra={"roles": ["llm-users", "reviewers"]})
    resp = claims_gw.client().post(CHAT, chat(), token=token,
                                   headers={"User-Agent": user_agent})
    # Access rules and quotas read the groups from "roles".
    assert resp.status == 200, resp
    assert resp.header("x-ratelimit-limit-requests") == "1000"
    row = one_row(claims_gw, user_agent)
    assert row["user_name"] == "%s@corp.example" % sub
    assert json.loads(row["user_groups"]) == ["llm-users", "reviewers"]


def test_groups_claim_decides_access(claims_gw, mock, minter, user_agent):
    # "groups" says developers, but the gateway reads "roles": no grant.
    token = minter.mint(sub="id-" + uuid.uuid4().hex[:8],
                        groups=["llm-users"], extra={"roles": ["sales"]})
    resp = claims_gw.client().post(CHAT, chat(), token=token,
                                   headers={"User-Agent": user_agent})
    assert resp.status == 403, resp
    assert resp.json()["error"]["code"] == "model_not_allowed"
    assert json.loads(one_row(claims_gw, user_agent)["user_groups"]) == ["sales"]
    assert mock.requests == []


def test_missing_user_claim_falls_back_to_subject(claims_gw, mock, minter,
                                                  user_agent):
    sub = "id-" + uuid.uuid4().hex[:8]
    claims = minter.mint(sub=sub, extra={"email": None,
                                         "roles": ["llm-users"]})
    resp = claims_gw.client().post(CHAT, chat(), token=claims,
                                   headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    assert one_row(claims_gw, user_agent)["user_name"] == sub


def test_preferred_username_claim(gateway_factory, mock, minter, user_agent):
    g = gateway_factory.make(gateway_d={
        "12-claims.conf": "LLMRouteUserClaim preferred_username\n"})
    token = minter.mint(sub="f81d4fae-7dec-11d0", preferred_username="jdoe")
    resp = g.client().post(CHAT, chat(), token=token,
                           headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    assert one_row(g, user_agent)["user_name"] == "jdoe"


@pytest.mark.parametrize("offset,status", [(-5, 200), (30, 200), (600, 401)])
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_nbf_with_a_minute_of_skew(gateway, mock, minter, user_agent, offset,
                                   status, dialect):
    now = int(time.time())
    token = minter.mint(sub="nbf-" + uuid.uuid4().hex[:6],
                        extra={"nbf": now + offset, "iat": now})
    if dialect == "openai":
        resp = gateway.client().post(CHAT, chat(), token=token,
                                     headers={"User-Agent": user_agent})
    else:
        resp = gateway.client().post(MESSAGES, messages(), headers={
            "x-api-key": token, "anthropic-version": "2023-06-01",
            "User-Agent": user_agent})
    assert resp.status == status, resp
    if status == 401:
        assert mock.requests == []
        doc = resp.json()
        if dialect == "openai":
            assert doc["error"]["code"] == "invalid_api_key"
            assert "nbf" in doc["error"]["message"]
        else:
            assert doc["type"] == "error"
            assert doc["error"]["type"] == "authentication_error"
        row = one_row(gateway, user_agent)
        assert (row["decision"], row["http_status"]) == ("deny", 401)


def test_bearer_and_x_api_key_both_work(gateway, mock, minter):
    token = minter.mint(sub="both-" + uuid.uuid4().hex[:6])
    c = gateway.client()
    assert c.post(CHAT, chat(), token=token).status == 200
    assert c.post(CHAT, chat(), headers={"x-api-key": token}).status == 200
    assert c.post(MESSAGES, messages(), token=token, headers={
        "anthropic-version": "2023-06-01"}).status == 200
    assert c.post(MESSAGES, messages(), headers={
        "x-api-key": token, "anthropic-version": "2023-06-01"}).status == 200
    for rec in mock.requests:
        assert all(token not in v for _, v in rec.headers)


def test_x_api_key_promotion_can_be_switched_off(gateway_factory, mock,
                                                 minter):
    g = gateway_factory.make(gateway_d={
        "12-no-x-api-key.conf":
            "<Location /v1>\n    LLMRouteApiKeyHeader Off\n</Location>\n"})
    token = minter.mint()
    resp = g.client().post(MESSAGES, messages(), headers={
        "x-api-key": token, "anthropic-version": "2023-06-01"})
    assert resp.status == 401, resp
    assert resp.json()["error"]["type"] == "authentication_error"
    # Authorization still works.
    assert g.client().post(MESSAGES, messages(), token=token, headers={
        "anthropic-version": "2023-06-01"}).status == 200
    assert len(mock.requests) == 1


@pytest.fixture
def es256_gw(gateway_factory, jwks):
    return gateway_factory.make(gateway_d={"11-test-jwks.conf":
                                           jwks.httpd_conf()})


def test_es256_accepted_and_audited(es256_gw, mock, minter, user_agent):
    token = minter.mint(key=minter.es256_key, sub="es-user",
                        groups=["developers", "ml"])
    resp = es256_gw.client().post(MESSAGES, messages(), headers={
        "x-api-key": token, "anthropic-version": "2023-06-01",
        "User-Agent": user_agent})
    assert resp.status == 200, resp
    row = one_row(es256_gw, user_agent)
    assert row["user_name"] == "es-user"
    assert json.loads(row["user_groups"]) == ["developers", "ml"]


@pytest.mark.parametrize("case", ["other_key", "expired", "wrong_issuer",
                                  "wrong_audience", "not_yet_valid",
                                  "alg_none"])
def test_es256_refusals(es256_gw, mock, minter, tmp_path, case):
    es = minter.es256_key
    if case == "other_key":
        other = SigningKey(str(tmp_path), es.kid, "ES256")
        token = minter.mint(key=other)
    elif case == "alg_none":
        token = minter.mint(alg_none=True)
    else:
        kwargs = {"expired": {"expired": True},
                  "wrong_issuer": {"iss": "https://evil.example"},
                  "wrong_audience": {"aud": "other-service"},
                  "not_yet_valid": {"not_yet_valid": True}}[case]
        token = minter.mint(key=es, **kwargs)
    resp = es256_gw.client().post(CHAT, chat(), token=token)
    assert resp.status == 401, resp
    assert resp.json()["error"]["type"] == "authentication_error"
    assert mock.requests == []


@pytest.mark.parametrize("line,value", [
    ("LLMRouteUserClaim 'e mail'", "e mail"),
    ("LLMRouteGroupsClaim groups$", "groups$"),
])
def test_config_check_rejects_bad_claim_names(gateway_factory, line, value):
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "99-bad.conf" in out and value in out, out


def test_audience_array_holding_the_gateway(gateway, mock, minter):
    """IdPs such as Keycloak put several audiences in "aud": the sample's
    Require oauth2_claim aud:... matches one element of the array."""
    ok = minter.mint(aud=["account", minter.audience])
    assert gateway.client().post(CHAT, chat(), token=ok).status == 200
    bad = minter.mint(aud=["account", "another-service"])
    resp = gateway.client().post(CHAT, chat(), token=bad)
    assert resp.status == 401, resp
