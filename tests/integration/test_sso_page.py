"""The self-service page (issue 17, SetHandler llm-self-service): a
developer opens it in a browser (Debian's chromium), logs in at the real
OP's form, and lands on a page that says who the gateway takes them for,
their groups and models, and ready-to-paste setup with a token for a quick
try -- a token the openai SDK then uses against the gateway (200).  The
session cookie is HttpOnly and SameSite; logging out makes the page ask
for a login again.  The token is in no log."""

import json
import os
import re
import subprocess

import pytest

from gwtest.httpd import GatewayServer
from gwtest.op import OpenIdProvider, browser
from gwtest.ports import free_port
from client_helpers import clients_installed, run_sdk  # noqa: F401

ACCESS = """\
LLMRouteAllowModels developers gpt-4o-mini claude-haiku-4-5
LLMRouteAllowModels ml-team    gpt-4o
LLMRouteModel gpt-4o-mini      testopenai
LLMRouteModel gpt-4o           testopenai
LLMRouteModel claude-haiku-4-5 testanthropic
"""

QUOTAS = """\
LLMRouteQuota user             requests/minute 50
LLMRouteQuota group:developers tokens/day      1M
"""

PAGE_CONF = """\
<IfModule !auth_openidc_module>
    LoadModule auth_openidc_module ${{LLM_GW_HTTPD_MODULES}}/mod_auth_openidc.so
</IfModule>
OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCSSLValidateServer Off
OIDCClientID llm-gateway-web
OIDCClientSecret {secret}
# Relative: on whichever listener the browser came in (http or https).
OIDCRedirectURI /llm-me/redirect_uri
OIDCCryptoPassphrase "exec:/bin/cat ${{LLM_GW_DATA}}/keys/oidc-passphrase"
OIDCScope "openid profile email groups llm"
OIDCAuthRequestParams resource=urn%3Allm-gateway
OIDCCookieSameSite On
# The same name as API calls get (remote_user_claim=sub in 10-auth.conf).
OIDCRemoteUserClaim sub
<Location /llm-me>
    AuthType openid-connect
    Require valid-user
    SetHandler llm-self-service
</Location>
# A misconfiguration: the page without a login in front of it.
<Location /llm-me-open>
    Require all granted
    SetHandler llm-self-service
</Location>
# The admin view: the status page, for the llm-admins group only.
<Location /llm-me/admin>
    AuthType openid-connect
    Require claim groups:llm-admins
    # Logged in but not an admin: 403 (httpd answers an authorization
    # failure of a known user with 401 otherwise).
    AuthzSendForbiddenOnFailure On
    SetHandler llm-status
</Location>
"""


def page_spend(html):
    """(USD, requests) from the page's spend section."""
    usd = re.search(r'id="spend-usd">\$([0-9.]+)<', html)
    n = re.search(r'id="spend-requests">([0-9]+)<', html)
    assert usd and n, html[html.find('id="spend"'):][:400]
    return float(usd.group(1)), int(n.group(1))


def db_spend(g, user):
    """What the audit table holds for user this month (UTC)."""
    (row,) = g.audit.query(
        "SELECT COALESCE(SUM(cost), 0) AS usd,"
        " COUNT(*) FILTER (WHERE decision IN"
        " ('allow', 'redact', 'cache_hit')) AS n"
        " FROM llm_audit WHERE user_name = %s"
        " AND ts >= date_trunc('month', now() AT TIME ZONE 'UTC')"
        " AT TIME ZONE 'UTC'", (user,))
    return float(row["usd"]), int(row["n"])


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for localhost, for the TLS listener."""
    d = tmp_path_factory.mktemp("page-tls")
    crt, key = str(d / "gateway.crt"), str(d / "gateway.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(str(d), 0o755)
    return crt, key


@pytest.fixture(scope="module")
def page_env(minter, mock_provider, postgres, tls_cert):
    # The page over plain http (the suite's loopback listener) and over
    # https (the sample's TLS listener, conf/llm-gateway-tls.conf), one
    # relative redirect URI for both.
    tls_port = free_port()
    g = GatewayServer(minter, mock=mock_provider, pg=postgres, defines={
        "LLM_GW_TLS": "1", "LLM_GW_TLS_ADDR": "127.0.0.1",
        "LLM_GW_TLS_PORT": str(tls_port), "LLM_GW_TLS_CERT": tls_cert[0],
        "LLM_GW_TLS_KEY": tls_cert[1]})
    g.https_url = "https://localhost:%d" % tls_port
    op = OpenIdProvider(web_redirect_uris=[
        base + path for base in (g.url, g.https_url)
        for path in ("/llm-me/redirect_uri", "/llm-me")]).start()
    try:
        g.extra_defines.update(op.defines())
        g.gateway_d.update({
            "11-op-jwks.conf": op.httpd_conf(),
            "15-self-service.conf": PAGE_CONF.format(
                issuer=op.issuer, secret=op.web_secret),
            "40-model-access.conf": ACCESS,
            "60-quotas.conf": QUOTAS})
        g.start()
        yield g, op
    finally:
        g.destroy()
        op.destroy()


def test_login_page_setup_token_works_and_logout(page_env, mock,
                                                 clients_installed):
    g, op = page_env
    res = browser({"job": "self-service", "url": g.url + "/llm-me",
                   "login": "alice", "password": op.password("alice"),
                   "logout": True}, timeout=90)
    assert res["error"] is None, res["error"]
    assert res["final_url"] == g.url + "/llm-me"
    assert res["user"] == "alice"
    assert res["groups"] == ["developers"]
    assert res["models"] == ["gpt-4o-mini", "claude-haiku-4-5"]
    assert res["setup"]["setup-openai"] == (
        "export OPENAI_BASE_URL=%s/v1\nexport OPENAI_API_KEY=$(llm-token)"
        % g.url)
    assert '"apiKeyHelper": "llm-token"' in res["setup"]["setup-claude"]
    assert '"ANTHROPIC_BASE_URL": "%s"' % g.url in res["setup"]["setup-claude"]
    assert 'env_key = "LLM_GATEWAY_TOKEN"' in res["setup"]["setup-codex"]
    assert res["copy_buttons_shown"] >= 5
    # Quotas: the figures as the counters hold them (nothing used yet
    # by alice in this module's gateway; the page itself counts nothing).
    quota = {(row[0], row[1]): row[2:5] for row in res["quota"]}
    assert quota[("user alice", "requests/minute")] == ["0", "50", "50"]
    assert quota[("group developers", "tokens/day")] == ["0", "1000000",
                                                         "1000000"]
    # Spend this month: the audit table's own sum for alice (other
    # modules' gateways of this session wrote rows for an "alice" too).
    spend_before = page_spend(res["html"])
    assert spend_before == pytest.approx(db_spend(g, "alice"), abs=1e-6)
    session = [c for c in res["cookies"]
               if c["name"].startswith("mod_auth_openidc_session")]
    assert session, res["cookies"]
    for c in session:
        assert c["httpOnly"] and c["sameSite"] in ("Lax", "Strict"), c
    # The page's token works for an API call through the openai SDK.
    token = res["quick_token"]
    assert token and token.count(".") == 2
    mock.reply_text = "hello from the page's token"
    rows_before = len(g.audit.query(
        "SELECT id FROM llm_audit WHERE user_name = 'alice'"))
    run = run_sdk(g, token, "openai-chat", "gpt-4o-mini")
    assert run.returncode == 0, run
    assert "hello from the page's token" in run.stdout
    # Its audit row is in the table before the page is read again (the
    # row is written after the answer).
    g.audit.wait_for_rows("SELECT id FROM llm_audit WHERE user_name = 'alice'",
                          count=rows_before + 1, settle=0)
    # The page now shows the request the SDK made.
    again = browser({"job": "self-service", "url": g.url + "/llm-me",
                     "login": "alice", "password": op.password("alice")},
                    timeout=90)
    quota = {(row[0], row[1]): row[2:5] for row in again["quota"]}
    assert quota[("user alice", "requests/minute")] == ["1", "50", "49"]
    used = int(quota[("group developers", "tokens/day")][0])
    assert used > 0
    # ... and what it cost: exactly its audit row's cost more.
    (row,) = g.audit.query(
        "SELECT cost FROM llm_audit WHERE user_name = 'alice'"
        " AND model_requested = 'gpt-4o-mini' ORDER BY id DESC LIMIT 1")
    cost = float(row["cost"])
    assert cost > 0
    spend_after = page_spend(again["html"])
    assert spend_after[1] == spend_before[1] + 1
    assert spend_after[0] == pytest.approx(spend_before[0] + cost, abs=1e-6)
    assert spend_after == pytest.approx(db_spend(g, "alice"), abs=1e-6)
    # Logged out: the page asks for a login again.
    assert res["after_logout_login_form"] is True
    # No token in any log.
    for text in (g.error_log_text(), g.access_log_text()):
        assert token not in text


def test_page_only_answers_get_and_needs_login(page_env):
    g, op = page_env
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = g.client().request("GET", "/llm-me", headers=html)
    # Not logged in: mod_auth_openidc sends the browser to the OP ...
    assert r.status == 302
    assert r.header("location").startswith(op.issuer + "/auth?")
    # ... and a script (no HTML accepted) gets 401, nothing of the page.
    r = g.client().request("GET", "/llm-me")
    assert r.status == 401 and b"quick-token" not in r.body
    # Without a login in front, the page shows nothing and says why.
    r = g.client().request("GET", "/llm-me-open", headers=html)
    assert r.status == 403 and b"quick-token" not in r.body
    assert "LLM02600" in g.error_log_text()


def test_admin_view_for_admins_only(page_env, mock):
    g, op = page_env
    ci_token = op.client_credentials_token()
    r = g.client().post("/v1/chat/completions",
                        {"model": "gpt-4o-mini",
                         "messages": [{"role": "user", "content": "hi"}]},
                        token=ci_token)
    assert r.status == 403          # ci-bots may use no model here: a refusal
    admin = browser({"job": "self-service", "url": g.url + "/llm-me",
                     "login": "root", "password": op.password("root"),
                     "admin_url": g.url + "/llm-me/admin"}, timeout=90)
    assert admin["admin_status"] == 200
    html = admin["admin_html"]
    assert "Top users by tokens today" in html
    assert "Recent refusals and redactions" in html
    # Refusals by reason: the ci-bots call above, counted under its reason
    # (the gateway's code, no value of the request).
    table = html[html.index('id="refusals"'):]
    table = table[:table.index("</table>")]
    counts = dict(((d, why), int(n)) for d, why, n in re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([0-9]+)</td></tr>", table))
    assert counts.get(("deny", "model_not_allowed"), 0) >= 1, table
    assert re.search(r"<td>deny</td><td>model_not_allowed</td>", html)
    # The same figures for scripts (?auto), one key per decision and reason.
    r = g.client().request("GET", "/llm-status?auto")
    assert r.status == 200
    auto = dict(line.split(": ", 1) for line in r.body.decode().splitlines()
                if line.startswith("Refused-"))
    assert int(auto["Refused-deny-model_not_allowed"]) >= \
        counts[("deny", "model_not_allowed")]
    assert ci_token not in html and admin["quick_token"] not in html
    other = browser({"job": "self-service", "url": g.url + "/llm-me",
                     "login": "bob", "password": op.password("bob"),
                     "admin_url": g.url + "/llm-me/admin"}, timeout=90)
    assert other["admin_status"] == 403
    assert "Top users" not in other["admin_html"]


def test_session_cookie_secure_httponly_samesite_over_https(page_env):
    """Over the TLS listener the session cookie is Secure too (mod_auth_openidc
    sets it from the request's scheme): with HttpOnly and SameSite, the
    flags issue 17 asks for."""
    g, op = page_env
    res = browser({"job": "self-service", "url": g.https_url + "/llm-me",
                   "login": "alice", "password": op.password("alice")},
                  timeout=90)
    assert res["error"] is None, res["error"]
    assert res["final_url"] == g.https_url + "/llm-me"
    assert res["user"] == "alice"
    session = [c for c in res["cookies"]
               if c["name"].startswith("mod_auth_openidc_session")]
    assert session, res["cookies"]
    for c in session:
        assert c["secure"] and c["httpOnly"], c
        assert c["sameSite"] in ("Lax", "Strict"), c
    # Over plain http the same cookie cannot be Secure (the browser would
    # not send it back): the flag follows the scheme, not a setting.
    plain = browser({"job": "self-service", "url": g.url + "/llm-me",
                     "login": "alice", "password": op.password("alice")},
                    timeout=90)
    plain_session = [c for c in plain["cookies"]
                     if c["name"].startswith("mod_auth_openidc_session")]
    assert plain_session and not any(c["secure"] for c in plain_session)


BEARER_PAGE = """\
# The page behind the API's own bearer check, for a script: the spend
# section reads the embedded SQLite audit database here.
<Location /llm-me-bearer>
    AuthType oauth2
    Require valid-user
    SetHandler llm-self-service
</Location>
"""


def test_spend_this_month_from_sqlite(gateway_factory, mock, minter):
    g = gateway_factory.make(pg=None,
                             gateway_d={"15-self-service.conf": BEARER_PAGE})
    token = minter.mint(sub="spender-sqlite", groups=["developers"])
    html = {"Accept": "text/html"}
    r = g.client().request("GET", "/llm-me-bearer", token=token, headers=html)
    assert r.status == 200, r.body
    assert page_spend(r.body.decode()) == (0.0, 0)
    for _ in range(2):
        assert g.client().post("/v1/chat/completions",
                               {"model": "gpt-4o-mini",
                                "messages": [{"role": "user",
                                              "content": "hi"}]},
                               token=token).status == 200
    # A refused request costs nothing and is not counted.
    assert g.client().post("/v1/chat/completions",
                           {"model": "no-such-model",
                            "messages": [{"role": "user", "content": "hi"}]},
                           token=token).status >= 400
    rows = g.audit.wait_for_rows(
        "SELECT cost, decision FROM llm_audit WHERE user_name = %s",
        ("spender-sqlite",), count=3)
    cost = sum(float(row["cost"] or 0) for row in rows)
    assert cost > 0
    r = g.client().request("GET", "/llm-me-bearer", token=token, headers=html)
    usd, n = page_spend(r.body.decode())
    assert n == 2
    assert usd == pytest.approx(cost, abs=1e-6)


def test_spend_needs_its_select_grant_on_postgresql(minter, mock_provider):
    """The spend is read by mod_llm_audit on its own table: with the audit
    grant alone (INSERT) the page says it cannot read it and the error log
    names the columns to grant (LLM03302); with the documented column grant
    (postgresql-grants.sql -v self_service=1) the page shows it."""
    from gwtest.httpd import REPO_ROOT
    from gwtest.pg import PostgresServer

    pg = PostgresServer()
    g = None
    try:
        pg.init()
        pg.load_schema_file(os.path.join(REPO_ROOT, "conf", "sql",
                                         "postgresql.sql"))
        pg.execute("GRANT USAGE ON SCHEMA public TO {u};"
                   "GRANT INSERT ON llm_audit TO {u};"
                   "GRANT USAGE ON SEQUENCE llm_audit_id_seq TO {u};"
                   .format(u=pg.gateway_user))
        g = GatewayServer(minter, mock=mock_provider, pg=pg,
                          gateway_d={"15-self-service.conf": BEARER_PAGE})
        g.start()
        token = minter.mint(sub="spender-pg", groups=["developers"])
        html = {"Accept": "text/html"}
        r = g.client().request("GET", "/llm-me-bearer", token=token,
                               headers=html)
        assert r.status == 200, r.body
        page = r.body.decode()
        assert 'id="spend-usd"' not in page, page
        assert "Your spend cannot be read right now (the audit table " \
            "cannot be read)" in page, page
        log = g.error_log_text()
        assert "LLM03302" in log, g.error_log_tail()
        line = next(l for l in log.splitlines() if "LLM03302" in l)
        assert "SELECT on llm_audit (ts, user_name, decision, cost)" in line

        pg.execute("GRANT SELECT (ts, user_name, decision, cost) ON "
                   "llm_audit TO %s" % pg.gateway_user)
        assert g.client().post("/v1/chat/completions",
                               {"model": "gpt-4o-mini",
                                "messages": [{"role": "user",
                                              "content": "hi"}]},
                               token=token).status == 200
        g.audit.wait_for_rows(
            "SELECT id FROM llm_audit WHERE user_name = %s",
            ("spender-pg",), count=1)
        r = g.client().request("GET", "/llm-me-bearer", token=token,
                               headers=html)
        usd, n = page_spend(r.body.decode())
        assert n == 1
        assert usd == pytest.approx(db_spend(g, "spender-pg")[0], abs=1e-6)
    finally:
        if g is not None:
            g.destroy()
        pg.destroy()
