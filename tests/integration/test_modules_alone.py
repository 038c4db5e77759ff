"""Each gateway module loaded without its peers (issue 13, item 1).

The modules know each other only through the shared request object: each
one loads alone.  Where a peer is really needed, the module says so at
``apachectl -t`` already and names what to load; where it is not, httpd
starts and serves what the module alone does (docs/architecture.md,
"Modules loaded alone").

Each test writes a minimal httpd.conf of its own (only the modules under
test), in a ServerRoot built by the usual fixture, so that nothing of the
sample configuration needs the absent module's directives.
"""

import json
import os
import secrets

import pytest

from gwtest.httpd import httpd_modules_dir, provider_conf


def minimal_conf(g, modules, body):
    """httpd.conf for g's ServerRoot with httpd's basics, the gateway
    modules named in ``modules`` (scan, route, audit, mock) and ``body``."""
    httpd_mods = httpd_modules_dir()
    lines = ["# test_modules_alone.py"]
    for k, v in g.defines.items():
        # A JWK is JSON: its double quotes go in single quotes.
        q = "'" if '"' in str(v) else '"'
        lines.append('Define %s %s%s%s' % (k, q, v, q))
    lines += [
        'ServerRoot "${LLM_GW_DATA}"',
        "ServerName localhost",
        'PidFile "${LLM_GW_DATA}/run/httpd.pid"',
        'DefaultRuntimeDir "${LLM_GW_DATA}/run"',
        'ErrorLog "${LLM_GW_DATA}/logs/error.log"',
        "LogLevel warn",
        "Listen ${LLM_GW_LISTEN}",
        "User ${LLM_GW_USER}",
        "Group ${LLM_GW_GROUP}",
        "LoadModule mpm_event_module %s/mod_mpm_event.so" % httpd_mods,
        "LoadModule authz_core_module %s/mod_authz_core.so" % httpd_mods,
        "<IfModule mpm_event_module>\n    StartServers 1\n"
        "    ThreadsPerChild 16\n    MaxRequestWorkers 16\n"
        "    MinSpareThreads 16\n    MaxSpareThreads 32\n</IfModule>",
        'DocumentRoot "${LLM_GW_DATA}/htdocs"',
        '<Directory "${LLM_GW_DATA}/htdocs">\n    Require all granted\n'
        "</Directory>",
    ]
    for m in modules:
        lines.append("LoadModule llm_%s_module %s/mod_llm_%s.so"
                     % (m, g.modules_dir, m))
    lines.append(body)
    with open(g.conf_file, "w") as f:
        f.write("\n".join(lines) + "\n")


PROXY = "\n".join(
    "LoadModule %s_module %s/mod_%s.so" % (m, httpd_modules_dir(), m)
    for m in ("proxy", "proxy_http", "slotmem_shm", "proxy_balancer",
              "lbmethod_byrequests"))

AUDIT = """\
LoadModule dbd_module {mods}/mod_dbd.so
<IfModule !watchdog_module>
    LoadModule watchdog_module {mods}/mod_watchdog.so
</IfModule>
DBDriver sqlite3
DBDParams "${{LLM_GW_DATA}}/db/audit.db"
LLMAuditSchema sqlite3 "${{LLM_GW_ROOT}}/sql/sqlite.sql"
LLMAuditKeyFile "${{LLM_GW_DATA}}/keys/audit-mac.key"
LLMAuditSpool "${{LLM_GW_DATA}}/spool/audit.spool"
<Location /llm-status>
    SetHandler llm-status
</Location>
"""


def server(gateway_factory, modules, body):
    g = gateway_factory.make(start=False, pg=None)
    g.build()
    minimal_conf(g, modules, body)
    with open(os.path.join(g.data_dir, "htdocs", "hello.txt"), "w") as f:
        f.write("hello\n")
    return g


def assert_said(text, log_id, *names):
    assert log_id in text, text
    line = next(l for l in text.splitlines() if log_id in l)
    for n in names:
        assert n in line, line


def test_scan_alone_starts_and_says_it_checks_nothing(gateway_factory):
    g = server(gateway_factory, ["scan"],
               "<Location /v1>\n    LLMScanMaxBody 1048576\n</Location>")
    rc, out = g.check_config()
    assert rc == 0, out
    assert "Syntax OK" in out
    assert_said(out, "LLM01100", "mod_llm_route",
                "LoadModule llm_route_module")
    g.start()
    resp = g.client().get("/hello.txt")
    assert resp.status == 200 and resp.body == b"hello\n", resp
    assert_said(g.error_log_text(), "LLM01100", "mod_llm_route")


def test_audit_alone_starts_and_serves_its_status_page(gateway_factory):
    g = server(gateway_factory, ["audit"],
               AUDIT.format(mods=httpd_modules_dir()))
    rc, out = g.check_config()
    assert rc == 0, out
    assert_said(out, "LLM03300", "mod_llm_route",
                "LoadModule llm_route_module")
    g.start()
    resp = g.client().get("/llm-status")
    assert resp.status == 200, resp
    assert_said(g.error_log_text(), "LLM03300", "mod_llm_route")


def test_audit_without_mod_dbd_is_refused_at_config_check(gateway_factory):
    g = server(gateway_factory, ["audit"],
               'LLMAuditKeyFile "${LLM_GW_DATA}/keys/audit-mac.key"')
    rc, out = g.check_config()
    assert rc != 0, out
    assert_said(out, "LLM03006", "mod_dbd", "LoadModule dbd_module")


def test_route_without_scan_is_refused_at_config_check_and_start(
        gateway_factory):
    g = server(gateway_factory, ["route"],
               PROXY + "\n<Location /v1>\n    LLMGateway On\n</Location>")
    rc, out = g.check_config()
    assert rc != 0, out
    assert "Syntax OK" not in out
    assert_said(out, "LLM02005", "mod_llm_scan",
                "LoadModule llm_scan_module")
    with pytest.raises(RuntimeError) as e:
        g.start(timeout=20)
    assert "LLM02005" in str(e.value), e.value
    assert not g.running()


def test_route_without_mod_proxy_is_refused_at_config_check(
        gateway_factory):
    g = server(gateway_factory, ["scan", "route"],
               "<Location /v1>\n    LLMGateway On\n</Location>")
    rc, out = g.check_config()
    assert rc != 0, out
    assert_said(out, "LLM02004", "mod_proxy_balancer")


BEARER_PAGE = """\
LoadModule authn_core_module {mods}/mod_authn_core.so
LoadModule authz_user_module {mods}/mod_authz_user.so
LoadModule oauth2_module {mods}/mod_oauth2.so
OAuth2TokenVerify jwk ${{LLM_GW_JWT_JWK}}
OAuth2TargetPass "envvars=on&headers=off&remote_user_claim=sub"
<Location /llm-me>
    AuthType oauth2
    Require valid-user
    SetHandler llm-self-service
</Location>
"""


def test_scan_and_route_serve_without_audit(gateway_factory, mock, minter):
    """Without mod_llm_audit the gateway routes and scans as usual; the
    quota rebuild and the self-service page's spend, which mod_llm_audit
    reads from its table, say they cannot."""
    g = gateway_factory.make(start=False, pg=None)
    g.build()
    minimal_conf(g, ["scan", "route"], "\n".join([
        PROXY,
        provider_conf(mock.port, g.openai_key_file, g.anthropic_key_file),
        "LLMRouteQuota user requests/day 100",
        "LLMRouteQuotaRestore On",
        "<Location /v1>\n    LLMGateway On\n</Location>",
        BEARER_PAGE.format(mods=httpd_modules_dir()),
    ]))
    rc, out = g.check_config()
    assert rc == 0, out
    assert_said(out, "LLM02801", "LLMRouteQuotaRestore",
                "LoadModule llm_audit_module")
    g.start()
    body = {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hello"}]}
    resp = g.client().post("/v1/chat/completions", body)
    assert resp.status == 200, resp
    assert len(mock.requests) == 1
    got = mock.requests[0]
    assert got.json() == body
    assert got.header("Content-Length") == str(len(got.body))
    assert got.header("Authorization") == "Bearer " + g.openai_key
    # The scan still refuses what it must, in the caller's dialect.
    key_id = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                              for _ in range(16))
    resp = g.client().post("/v1/chat/completions", dict(
        body, messages=[{"role": "user", "content": "key %s here" % key_id}]))
    assert resp.status == 403, resp
    assert json.loads(resp.body)["error"]["type"] == \
        "sensitive_data_detected"
    assert len(mock.requests) == 1
    assert_said(g.error_log_text(), "LLM02801", "LLMRouteQuotaRestore")
    # The page serves, and says why it shows no spend.
    token = minter.mint(sub="alone-dev", groups=["developers"])
    resp = g.client().request("GET", "/llm-me", token=token,
                              headers={"Accept": "text/html"})
    assert resp.status == 200, resp
    page = resp.body.decode()
    assert 'id="user">alone-dev<' in page, page
    assert 'id="spend-usd"' not in page, page
    assert "mod_llm_audit, which keeps the audit trail, is not loaded" \
        in page, page


def test_mock_provider_alone_answers(gateway_factory):
    """mod_llm_mock needs none of the gateway's modules: loaded alone it
    answers a chat completion."""
    g = server(gateway_factory, ["mock"],
               "<Location /__mock-provider>\n"
               "    SetHandler llm-mock-provider\n</Location>")
    rc, out = g.check_config()
    assert rc == 0, out
    assert "LLM0" not in out, out
    g.start()
    resp = g.client().post("/__mock-provider/v1/chat/completions", {
        "model": "mock-echo",
        "messages": [{"role": "user", "content": "hello"}]})
    assert resp.status == 200, resp
    assert resp.json()["object"] == "chat.completion", resp
