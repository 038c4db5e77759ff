"""The bearer path on mod_oauth2 (issue 17; docs/identity.md, "mod_auth_openidc
or mod_oauth2"): the sample's 10-auth.conf with the real OP's JWKS.  Tokens
from the OP are verified and the gateway modules read the caller and
groups from the token mod_oauth2 verified -- not from whatever the request
carries -- bad tokens are refused in the caller's dialect, a rotated key
works, nothing of the token or of mod_oauth2's claims reaches the
provider, and what mod_oauth2 caches does not outlive a token's "exp"."""

import json
import os
import subprocess
import time

import pytest

from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello"}]}

ACCESS = """\
LLMRouteAllowModels developers *
LLMRouteAllowModels ci-bots    gpt-4o-mini
"""


@pytest.fixture(scope="module")
def oauth2_gw(op, minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      defines=op.defines(),
                      gateway_d={"11-op-jwks.conf": op.httpd_conf(),
                                 "40-model-access.conf": ACCESS})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def groups_of(row):
    groups = row["user_groups"]
    return json.loads(groups) if isinstance(groups, str) else groups


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
    assert (row["user_name"], groups_of(row)) == ("ci-llm-review",
                                                  ["ci-bots"])
    r = oauth2_gw.client().post(CHAT, dict(BODY, model="gpt-4o"), token=token)
    assert r.status == 403 and b"model_not_allowed" in r.body
    # Nothing of mod_oauth2's target pass in the logs either.
    assert token not in oauth2_gw.error_log_text()
    assert token not in oauth2_gw.access_log_text()


def test_bad_tokens_refused_in_dialect(op, oauth2_gw, mock, minter):
    token = op.client_credentials_token()
    head, payload, sig = token.split(".")
    forged = "%s.%s.%s" % (head, payload, sig[:-6] + "AAAAAA")
    for bad in (forged, minter.mint(), None):
        r = oauth2_gw.client().post(CHAT, BODY, token=bad)
        assert r.status == 401, r.body
        assert r.json()["error"]["code"] == "invalid_api_key", r.body
    r = oauth2_gw.client().post("/v1/messages",
                                {"model": "claude-haiku-4-5", "max_tokens": 8,
                                 "messages": [{"role": "user",
                                               "content": "hi"}]},
                                token=forged,
                                headers={"anthropic-version": "2023-06-01"})
    assert r.status == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert mock.requests == []


def test_rotated_key_through_mod_oauth2(op, oauth2_gw, mock):
    assert oauth2_gw.client().post(
        CHAT, BODY, token=op.client_credentials_token()).status == 200
    op.rotate()
    r = oauth2_gw.client().post(CHAT, BODY,
                                token=op.client_credentials_token())
    assert r.status == 200, r.body


def test_expired_token_refused_though_mod_oauth2_cached_it(gateway, mock,
                                                           minter):
    """mod_oauth2 keeps a verified token's result for 5 minutes whatever
    its "exp"; the gateway checks "exp" on every request."""
    exp = int(time.time()) + 12
    token = minter.mint(sub="short-lived", extra={"exp": exp})
    assert gateway.client().post(CHAT, BODY, token=token).status == 200
    while time.time() < exp + 1.5:
        time.sleep(0.5)
    mock.reset()
    r = gateway.client().post(CHAT, BODY, token=token)
    assert r.status == 401, r.body
    assert "expired" in r.json()["error"]["message"]
    assert mock.requests == []


# The token in a cookie for mod_oauth2; an Authorization header the
# caller wrote is then nothing mod_oauth2 looked at.
COOKIE_AUTH = """\
<Location /v1>
    OAuth2AcceptTokenIn cookie name=gwtoken
    LLMRouteApiKeyHeader Off
</Location>
"""

ADMIN_ONLY = "LLMRouteAllowModels llm-admins *\n"


def forged_with_groups(token, groups):
    """The same token with its payload's groups replaced: its signature no
    longer matches (nothing verified it)."""
    import base64
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = groups
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return "%s.%s.%s" % (head, raw.decode(), sig)


def test_groups_come_from_the_token_mod_oauth2_verified(gateway_factory, mock,
                                                        minter, user_agent):
    g = gateway_factory.make(gateway_d={"12-cookie.conf": COOKIE_AUTH,
                                        "40-model-access.conf": ADMIN_ONLY})
    token = minter.mint(sub="mallory", groups=["developers"])
    forged = forged_with_groups(token, ["llm-admins"])
    r = g.client().post(CHAT, BODY, headers={
        "Cookie": "gwtoken=" + token,
        "Authorization": "Bearer " + forged,
        "User-Agent": user_agent})
    # Verified: developers, who may use no model here.
    assert r.status == 403, r.body
    assert b"model_not_allowed" in r.body
    assert mock.requests == []
    (row,) = g.audit.rows_for_user_agent(user_agent)
    assert (row["user_name"], groups_of(row)) == ("mallory", ["developers"])


def test_claims_not_passed_refused_and_logged(gateway_factory, mock, minter):
    g = gateway_factory.make(gateway_d={
        "12-no-envvars.conf": 'OAuth2TargetPass "envvars=off"\n'})
    r = g.client().post(CHAT, BODY, token=minter.mint())
    assert r.status == 401, r.body
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert mock.requests == []
    log = g.error_log_text()
    assert "LLM02650" in log and "OAuth2TargetPass" in log


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_quick_start_development_key(gateway_factory, mock, minter, tmp_path):
    """scripts/dev-keys.sh's JWK verifies scripts/mint-dev-token.sh's token
    (the quick start's pair, as scripts/run-gateway passes it)."""
    keys = str(tmp_path / "keys")
    subprocess.run(["sh", os.path.join(REPO, "scripts", "dev-keys.sh"), keys],
                   check=True)
    with open(os.path.join(keys, "dev-jwt.jwk")) as f:
        jwk = f.read().strip()
    assert json.loads(jwk)["kid"] == "dev"
    env = dict(os.environ, LLM_GW_JWT_ISSUER=minter.issuer,
               LLM_GW_JWT_AUDIENCE=minter.audience)
    token = subprocess.run(
        ["sh", os.path.join(REPO, "scripts", "mint-dev-token.sh"), keys,
         "quick-user"], check=True, stdout=subprocess.PIPE, text=True,
        env=env).stdout.strip()
    # As scripts/run-gateway starts httpd: the Define from dev-jwt.conf,
    # included ahead of the configuration.
    with open(os.path.join(keys, "dev-jwt.conf")) as f:
        assert f.read() == "Define LLM_GW_JWT_JWK '%s'\n" % jwk
    g = gateway_factory.make(start=False)
    g.build()
    with open(g.conf_file) as f:
        lines = [l for l in f.read().splitlines()
                 if not l.startswith("Define LLM_GW_JWT_JWK ")]
    lines.insert(1, 'Include "%s"' % os.path.join(keys, "dev-jwt.conf"))
    with open(g.conf_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    g.start()
    r = g.client().post(CHAT, BODY, token=token)
    assert r.status == 200, r.body
    # The suite's own key is not this one.
    assert g.client().post(CHAT, BODY, token=minter.mint()).status == 401


def test_old_certificate_define_refused_at_config_check(gateway_factory,
                                                        minter):
    g = gateway_factory.make(start=False, defines={
        "LLM_GW_JWT_CERT": minter.rsa_key.cert_path})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "LLM_GW_JWT_CERT is no longer read" in out
    assert "LLM_GW_JWT_JWK" in out


def test_sample_loads_mod_oauth2_not_mod_auth_openidc(gateway):
    """The API path needs mod_oauth2 only; mod_auth_openidc's deprecated
    resource-server mode, and its warning at every start, are gone."""
    out = subprocess.run([gateway.binary, "-t", "-D", "DUMP_MODULES", "-f",
                          gateway.conf_file], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=60)
    assert out.returncode == 0, out.stdout
    assert "oauth2_module" in out.stdout
    assert "auth_openidc_module" not in out.stdout
    assert "deprecated" not in gateway.error_log_text().lower()


def test_unknown_auth_module_refused_with_named_cause(gateway_factory, mock):
    """A gateway root behind a module whose verified token the gateway
    cannot find (here Basic): refused in the caller's dialect, and the
    error log names the AuthType (LLM02651)."""
    import base64
    import hashlib
    g = gateway_factory.make(start=False)
    users = os.path.join(g.data_dir, "users")
    g.gateway_d["12-basic.conf"] = """\
<IfModule !auth_basic_module>
    LoadModule auth_basic_module ${LLM_GW_HTTPD_MODULES}/mod_auth_basic.so
</IfModule>
<IfModule !authn_file_module>
    LoadModule authn_file_module ${LLM_GW_HTTPD_MODULES}/mod_authn_file.so
</IfModule>
<Location /basic/v1>
    LLMGateway On
    AuthType Basic
    AuthName gateway
    AuthBasicProvider file
    AuthUserFile "%s"
    Require valid-user
</Location>
""" % users
    g.build()
    with open(users, "w") as f:
        f.write("carol:{SHA}%s\n" % base64.b64encode(
            hashlib.sha1(b"secret").digest()).decode())
    os.chmod(users, 0o644)
    g.start()
    basic = "Basic " + base64.b64encode(b"carol:secret").decode()
    r = g.client().post("/basic/v1/chat/completions", BODY,
                        headers={"Authorization": basic})
    assert r.status == 401, r.body
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert mock.requests == []
    log = g.error_log_text()
    assert "LLM02651" in log and "AuthType Basic" in log
