"""The self-service page (issue 17, SetHandler llm-self-service): a
developer opens it in a browser (Debian's chromium), logs in at the real
OP's form, and lands on a page that says who the gateway takes them for,
their groups and models, and ready-to-paste setup with a token for a quick
try -- a token the openai SDK then uses against the gateway (200).  The
session cookie is HttpOnly and SameSite; logging out makes the page ask
for a login again.  The token is in no log."""

import json
import os

import pytest

from gwtest.httpd import GatewayServer
from gwtest.op import OpenIdProvider, browser
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
OIDCRedirectURI {gw}/llm-me/redirect_uri
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


@pytest.fixture(scope="module")
def page_env(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres)
    op = OpenIdProvider(web_redirect_uris=[g.url + "/llm-me/redirect_uri",
                                           g.url + "/llm-me"]).start()
    try:
        g.extra_defines.update(op.defines())
        g.gateway_d.update({
            "11-op-jwks.conf": op.httpd_conf(),
            "15-self-service.conf": PAGE_CONF.format(
                issuer=op.issuer, secret=op.web_secret, gw=g.url),
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
    session = [c for c in res["cookies"]
               if c["name"].startswith("mod_auth_openidc_session")]
    assert session, res["cookies"]
    for c in session:
        assert c["httpOnly"] and c["sameSite"] in ("Lax", "Strict"), c
    # The page's token works for an API call through the openai SDK.
    token = res["quick_token"]
    assert token and token.count(".") == 2
    mock.reply_text = "hello from the page's token"
    run = run_sdk(g, token, "openai-chat", "gpt-4o-mini")
    assert run.returncode == 0, run
    assert "hello from the page's token" in run.stdout
    # The page now shows the request the SDK made.
    again = browser({"job": "self-service", "url": g.url + "/llm-me",
                     "login": "alice", "password": op.password("alice")},
                    timeout=90)
    quota = {(row[0], row[1]): row[2:5] for row in again["quota"]}
    assert quota[("user alice", "requests/minute")] == ["1", "50", "49"]
    used = int(quota[("group developers", "tokens/day")][0])
    assert used > 0
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
    assert "Recent blocks and redactions" in html
    assert ci_token not in html and admin["quick_token"] not in html
    other = browser({"job": "self-service", "url": g.url + "/llm-me",
                     "login": "bob", "password": op.password("bob"),
                     "admin_url": g.url + "/llm-me/admin"}, timeout=90)
    assert other["admin_status"] == 403
    assert "Top users" not in other["admin_html"]
