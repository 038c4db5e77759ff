"""The gateway behind mod_oauth2 instead of mod_auth_openidc's deprecated
OAuth 2.0 mode (issue 17's evaluation, docs/identity.md "mod_auth_openidc
or mod_oauth2"): with 10-auth.conf replaced by the mod_oauth2 equivalent,
tokens from the real OP are verified from its JWKS, the gateway modules
read the caller and groups from the verified bearer token, bad tokens are
refused in the caller's dialect, a rotated key works, and nothing of the
token or of mod_oauth2's claim headers reaches the provider."""

import json
import os

import pytest

from gwtest.httpd import GatewayServer, httpd_modules_dir

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello"}]}

OAUTH2_AUTH = """\
<IfModule !oauth2_module>
    LoadModule oauth2_module ${{LLM_GW_HTTPD_MODULES}}/mod_oauth2.so
</IfModule>
LLMRouteApiKeyHeader On
<Location /v1>
    AuthType oauth2
    OAuth2TokenVerify jwks_uri {jwks} jwks_uri.ssl_verify=false&verify.exp=required
    <RequireAll>
        Require valid-user
        Require oauth2_claim iss:${{LLM_GW_JWT_ISSUER}}
        Require oauth2_claim aud:${{LLM_GW_JWT_AUDIENCE}}
    </RequireAll>
</Location>
"""

ACCESS = """\
LLMRouteAllowModels developers *
LLMRouteAllowModels ci-bots    gpt-4o-mini
"""


@pytest.fixture(scope="module")
def oauth2_gw(op, minter, mock_provider, postgres):
    if not os.path.exists(os.path.join(httpd_modules_dir(), "mod_oauth2.so")):
        pytest.fail("mod_oauth2 is not installed (scripts/deps.sh test)")
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      defines=op.defines(),
                      gateway_d={"10-auth.conf":
                                 OAUTH2_AUTH.format(jwks=op.jwks_uri),
                                 "40-model-access.conf": ACCESS})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_op_token_through_mod_oauth2(op, oauth2_gw, mock, user_agent):
    token = op.client_credentials_token()
    r = oauth2_gw.client().post(CHAT, BODY, token=token,
                                headers={"User-Agent": user_agent})
    assert r.status == 200, r.body
    rec = mock.last_request()
    for name, value in rec.headers:
        assert token not in value, name
        assert not name.lower().startswith("oauth2"), name
    assert rec.header("authorization") == "Bearer " + oauth2_gw.openai_key
    row = oauth2_gw.audit.rows_for_user_agent(user_agent)[0]
    groups = row["user_groups"]
    if isinstance(groups, str):
        groups = json.loads(groups)
    assert (row["user_name"], groups) == ("ci-llm-review", ["ci-bots"])
    r = oauth2_gw.client().post(CHAT, dict(BODY, model="gpt-4o"), token=token)
    assert r.status == 403 and b"model_not_allowed" in r.body


def test_bad_tokens_refused_in_dialect(op, oauth2_gw, mock, minter):
    token = op.client_credentials_token()
    head, payload, sig = token.split(".")
    forged = "%s.%s.%s" % (head, payload, sig[:-6] + "AAAAAA")
    for bad in (forged, minter.mint(), None):
        r = oauth2_gw.client().post(CHAT, BODY, token=bad)
        assert r.status == 401, r.body
        assert r.json()["error"]["code"] == "invalid_api_key", r.body
    assert mock.requests == []


def test_rotated_key_through_mod_oauth2(op, oauth2_gw, mock):
    assert oauth2_gw.client().post(
        CHAT, BODY, token=op.client_credentials_token()).status == 200
    op.rotate()
    r = oauth2_gw.client().post(CHAT, BODY,
                                token=op.client_credentials_token())
    assert r.status == 200, r.body
