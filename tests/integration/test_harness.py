"""The harness itself, against plain httpd (no gateway modules).

These run even before the gateway modules are built, and pin down what
mod_oauth2 3.3 (the gateway's bearer-token verifier) does on its own --
what the gateway can rely on and what it must add.
"""

import subprocess
import time

import psycopg2
import pytest

from gwtest.client import parse_sse

CHAT = {"model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "say hi"}]}


@pytest.fixture(scope="module")
def plain(minter, mock_provider):
    """httpd with mod_proxy_balancer + mod_oauth2 only, forwarding
    /v1 to the mock with the provider key, claims copied into request
    headers so the mock shows what mod_oauth2 exposed."""
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, plain_proxy=True,
                      include_mock_provider=False, extra_conf="""
<Location /v1>
    RequestHeader set X-Claim-Groups "%{OAUTH2_CLAIM_groups}e"
    RequestHeader set X-Claim-Email "%{OAUTH2_CLAIM_email}e"
    RequestHeader set X-Claim-Token "%{OAUTH2_CLAIM_access_token}e" "expr=-n req('X-Want-Token')"
    RequestHeader set X-Remote-User "expr=%{REMOTE_USER}"
</Location>
""")
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_plain_proxy_sends_provider_key_and_returns_bytes(plain, mock,
                                                          minter):
    token = minter.mint(sub="alice")
    resp = plain.client().post("/v1/chat/completions",
                               dict(CHAT, stream=True), token=token)
    assert resp.status == 200, resp
    (got,) = mock.wait_for_requests(1)
    assert got.header("authorization") == "Bearer " + plain.openai_key
    assert token not in repr(got.headers)
    assert resp.body == got.response_body
    assert parse_sse(resp.body)[-1] == (None, "[DONE]")


@pytest.mark.parametrize("case", [
    "no_token", "expired", "bad_signature", "tampered", "alg_none",
    "wrong_issuer", "wrong_audience", "issued_in_future"])
def test_mod_oauth2_refuses(plain, mock, minter, case):
    now = int(time.time())
    tokens = {
        "no_token": None,
        "expired": minter.mint(expired=True),
        "bad_signature": minter.mint(key=minter.other_key),
        "tampered": minter.tamper(minter.mint()),
        "alg_none": minter.mint(alg_none=True),
        # refused only because the conf says Require oauth2_claim iss:/aud:
        "wrong_issuer": minter.mint(iss="https://evil.example"),
        "wrong_audience": minter.mint(aud="someone-else"),
        # "iat" more than 10 s ahead (mod_oauth2's own slack)
        "issued_in_future": minter.mint(extra={"iat": now + 3600}),
    }
    resp = plain.client().post("/v1/chat/completions", CHAT,
                               token=tokens[case])
    assert resp.status == 401
    assert mock.requests == []
    if case not in ("wrong_issuer", "wrong_audience"):
        # refused by mod_oauth2 itself (the others by mod_authz_core)
        wa = resp.header("WWW-Authenticate")
        assert wa and wa.startswith("Bearer"), wa


@pytest.mark.parametrize("claims", [
    {"nbf": "hour"}, {"exp": None}, {"exp": "string"}])
def test_mod_oauth2_passes_what_the_gateway_must_refuse(plain, mock, minter,
                                                        claims):
    """mod_oauth2 3.3 (verify.exp optional, its default) checks an exp that
    is a number and iat, but not nbf: a token not valid before an hour from
    now, one without exp and one whose exp is text pass.  The gateway
    refuses them itself (test_adversarial_access.py, test_identity.py)."""
    now = int(time.time())
    extra = {"nbf": now + 3600} if "nbf" in claims else (
        {"exp": None} if claims["exp"] is None else {"exp": str(now + 60)})
    resp = plain.client().post("/v1/chat/completions", CHAT,
                               token=minter.mint(extra=extra))
    assert resp.status == 200


def test_mod_oauth2_claims_as_environment(plain, mock, minter):
    token = minter.mint(sub="carol", email="carol@corp.example",
                        groups=["developers", "ml team"])
    resp = plain.client().post("/v1/chat/completions", CHAT, token=token,
                               headers={"X-Want-Token": "1"})
    assert resp.status == 200
    got = mock.last_request()
    # arrays are passed on as JSON text; strings as they are
    assert got.header("x-claim-groups") == '["developers", "ml team"]'
    assert got.header("x-claim-email") == "carol@corp.example"
    # the token it verified, as OAUTH2_CLAIM_access_token (mod_llm_route
    # reads the claims from it)
    assert got.header("x-claim-token") == token
    # remote_user_claim=sub -> r->user
    assert got.header("x-remote-user") == "carol"
    # headers=off: no OAUTH2_CLAIM_* request headers
    assert not [h for h in got.header_names() if h.startswith("oauth2")]


def test_x_api_key_is_not_accepted_by_mod_oauth2(plain, mock, minter):
    """Anthropic clients send their key as x-api-key; mod_oauth2 reads
    Authorization only (unless told otherwise with OAuth2AcceptTokenIn), so
    the gateway promotes it (issue 5)."""
    resp = plain.client().post("/v1/messages", CHAT, token=None,
                               headers={"x-api-key": minter.mint()})
    assert resp.status == 401
    assert mock.requests == []


def test_es256_tokens_verify_through_https_jwks(minter, mock_provider, jwks,
                                                mock):
    """ES256 tokens verify through an https JWKS URI, listed after the RSA
    development key (OAuth2TokenVerify is tried in order)."""
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, plain_proxy=True,
                      include_mock_provider=False,
                      extra_conf=jwks.httpd_conf())
    try:
        g.start()
        c = g.client()
        assert c.post("/v1/chat/completions", CHAT,
                      token=minter.mint(key=minter.es256_key)).status == 200
        assert c.post("/v1/chat/completions", CHAT,
                      token=minter.mint()).status == 200
        assert c.post("/v1/chat/completions", CHAT, token=minter.mint(
            key=minter.es256_key, expired=True)).status == 401
        assert jwks.fetches >= 1
    finally:
        g.destroy()


def test_graceful_restart_keeps_serving(plain, mock, minter):
    plain.graceful()
    resp = plain.client().post("/v1/chat/completions", CHAT,
                               token=minter.mint())
    assert resp.status == 200


def test_httpd_stop_leaves_no_process(minter, mock_provider):
    from gwtest.httpd import GatewayServer
    g = GatewayServer(minter, mock=mock_provider, plain_proxy=True,
                      include_mock_provider=False)
    try:
        g.start()
        out = subprocess.run(["pgrep", "-f", g.conf_file],
                             stdout=subprocess.PIPE, text=True).stdout
        assert len(out.split()) >= 2          # parent + children
        g.stop()
        out = subprocess.run(["pgrep", "-f", g.conf_file],
                             stdout=subprocess.PIPE, text=True).stdout
        assert out.split() == []
    finally:
        g.destroy()


def test_postgres_stop_and_start(postgres):
    postgres.execute("CREATE TABLE IF NOT EXISTS harness_probe (n int)")
    postgres.execute("INSERT INTO harness_probe VALUES (1)")
    postgres.stop()
    try:
        with pytest.raises(psycopg2.OperationalError):
            postgres.connect(as_gateway=True)
    finally:
        postgres.start()
    assert postgres.query("SELECT n FROM harness_probe") == [{"n": 1}]
    postgres.execute("DROP TABLE harness_probe")


def test_postgres_gateway_role_can_insert_audit_rows(postgres):
    if not postgres.schema_loaded:
        pytest.xfail("conf/sql/postgresql.sql not written yet")
    conn = postgres.connect(as_gateway=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT has_table_privilege(current_user, "
                        "'llm_audit', 'INSERT')")
            assert cur.fetchone()[0] is True
    finally:
        conn.close()
