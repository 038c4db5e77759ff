"""Who gets in (issue 5's identity part, on the foundation's sample conf):
every bad token is refused with 401 in the caller's API dialect, nothing
reaches a provider, and the refusal is audited; both ways agents send a
token work; the audit names the user and groups from the token.
"""

import json
import uuid

import pytest

OPENAI = ("/v1/chat/completions",
          {"model": "gpt-4o-mini",
           "messages": [{"role": "user", "content": "hi"}]})
ANTHROPIC = ("/v1/messages",
             {"model": "claude-sonnet-4-5", "max_tokens": 16,
              "messages": [{"role": "user", "content": "hi"}]})

BAD_TOKENS = ["no_token", "garbage", "expired", "not_yet_valid",
              "bad_signature", "tampered", "alg_none", "wrong_issuer",
              "wrong_audience", "no_sub"]


def bad_token(minter, case):
    return {
        "no_token": lambda: None,
        "garbage": lambda: "not-a-jwt",
        "expired": lambda: minter.mint(expired=True),
        "not_yet_valid": lambda: minter.mint(not_yet_valid=True),
        "bad_signature": lambda: minter.mint(key=minter.other_key),
        "tampered": lambda: minter.tamper(minter.mint()),
        "alg_none": lambda: minter.mint(alg_none=True),
        "wrong_issuer": lambda: minter.mint(iss="https://evil.example"),
        "wrong_audience": lambda: minter.mint(aud="another-service"),
        "no_sub": lambda: minter.mint(extra={"sub": None}),
    }[case]()


@pytest.mark.parametrize("case", BAD_TOKENS)
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_bad_token_is_refused_in_callers_dialect(gateway, mock, minter,
                                                 user_agent, dialect, case):
    path, body = OPENAI if dialect == "openai" else ANTHROPIC
    token = bad_token(minter, case)
    resp = gateway.client().post(path, body, token=token,
                                 headers={"User-Agent": user_agent})

    assert resp.status == 401, resp
    assert mock.requests == [], "nothing may reach the provider"
    assert resp.header("Content-Type").startswith("application/json")
    doc = resp.json()
    if dialect == "openai":
        assert set(doc) == {"error"}, doc
        assert doc["error"]["message"]
        assert doc["error"]["type"]
    else:
        assert doc["type"] == "error", doc
        assert doc["error"]["type"] == "authentication_error"
        assert doc["error"]["message"]
    if token:
        assert token.encode() not in resp.body

    if gateway.audit.available:
        rows = gateway.audit.rows_for_user_agent(user_agent)
        assert [(r["decision"], r["http_status"]) for r in rows] == [
            ("deny", 401)]


def test_token_as_x_api_key_is_accepted(gateway, mock, minter):
    """Anthropic clients (and Claude Code's ANTHROPIC_API_KEY) send the
    gateway token as x-api-key; it works like a bearer token and is not
    passed on."""
    path, body = ANTHROPIC
    token = minter.mint()
    resp = gateway.client().post(path, body, token=None,
                                 headers={"x-api-key": token,
                                          "anthropic-version": "2023-06-01"})
    assert resp.status == 200, resp
    got = mock.last_request()
    assert got.header("x-api-key") == gateway.anthropic_key
    assert got.header("authorization") is None
    assert all(token not in v for _, v in got.headers)


def test_es256_token_through_jwks(gateway_factory, mock, minter, jwks):
    """ES256 tokens verify when the IdP's keys come from a JWKS URI (the
    production set-up); mod_auth_openidc 2.4.12 cannot load EC cert files."""
    g = gateway_factory.make(gateway_d={"11-test-jwks.conf":
                                        jwks.httpd_conf()})
    path, body = OPENAI
    resp = g.client().post(path, body, token=minter.mint(key=minter.es256_key))
    assert resp.status == 200, resp
    assert mock.last_request().header("authorization") == \
        "Bearer " + g.openai_key


def test_audit_names_user_and_groups_from_token(gateway, mock, minter,
                                                user_agent):
    if not gateway.audit.available:
        pytest.xfail("no audit table yet")
    user = "dev-" + uuid.uuid4().hex[:8]
    path, body = OPENAI
    resp = gateway.client().post(
        path, body, token=minter.mint(sub=user,
                                      groups=["developers", "ml-team"]),
        headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    (row,) = gateway.audit.rows_for_user_agent(user_agent)
    assert row["user_name"] == user
    assert json.loads(row["user_groups"]) == ["developers", "ml-team"]
