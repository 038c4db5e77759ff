"""Adversarial tests, access and headers (issue 10, items 3, 5, 6, 7, 9, 12).

Each test plays a hostile caller against a real gateway whose providers are
the capture mock, and checks two things: what reached the provider (path,
headers, body, as the mock recorded them), and that the planted value is
nowhere it must not be -- upstream, the audit row in PostgreSQL, the error
log, the access log, /llm-metrics and the status page.

- the model name (item 3): only the model name syntax passes, and a name
  holding a key is refused with 400 before routing, audit, metrics or logs
  read it;
- forwarded headers and query (item 5): only the providers' own headers
  go upstream, each in its own syntax; a key in the User-Agent is
  redacted before it is forwarded or logged;
- provider paths (item 6): an Azure deployment is named by one plain
  segment; access is decided on the model the provider is asked for;
- groups (item 7): the groups claim is a JSON array end to end;
- expiry (item 9): a token without "exp" is refused;
- metrics labels (item 12): only names from the configuration.
"""

import datetime
import http.client
import json
import os
import time
import urllib.request
import uuid

import pytest

import scan_helpers as sh
from gwtest.httpd import GatewayServer, REPO_ROOT
from gwtest.pg import PostgresServer
from gwtest.tokens import b64url

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}

# The test providers (gpt-* -> testopenai, claude-* -> testanthropic, both
# the capture mock) plus an Azure provider at the same mock, and access
# rules with one group that is granted everything.
ROUTES = """\
LLMRouteProvider testazure azure balancer://testopenai key=file:${LLM_GW_DATA}/keys/openai.key
LLMRouteModel azure-* testazure
LLMRouteAlias best-model gpt-premium
LLMRouteModel cheap-fast testopenai gpt-premium-x
"""

QUOTA_GROUP = "qg-" + uuid.uuid4().hex[:8]

ACCESS = """\
LLMRouteAllowModels llm-all-models *
LLMRouteAllowModels developers     gpt-* claude-* mock-* azure-allowed*
LLMRouteAllowModels contractors    * !*premium*
LLMRouteAllowModels *              mock-*
LLMRouteQuota group:%s requests/minute 1
""" % QUOTA_GROUP


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"35-adversarial-routes.conf": ROUTES,
                                 "40-model-access.conf": ACCESS})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def marker():
    return "adv-" + uuid.uuid4().hex


def chat(model="gpt-4o-mini", stream=False, content="hello"):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    return body


def messages(model="claude-sonnet-4-5", stream=False, content="hello"):
    body = {"model": model, "max_tokens": 32,
            "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    return body


def send(g, dialect, body, token, headers=None, path=None):
    """POST in the caller's dialect; the token goes where that dialect's
    clients put it."""
    h = dict(headers or {})
    if dialect == "anthropic":
        h.setdefault("anthropic-version", "2023-06-01")
        h["x-api-key"] = token
        return g.client().post(path or MESSAGES, body, headers=h)
    return g.client().post(path or CHAT, body, token=token, headers=h)


def body_for(dialect, model, stream=False, content="hello"):
    if dialect == "anthropic":
        return messages(model, stream, content)
    return chat(model, stream, content)


def assert_error(resp, dialect, status, code=None):
    assert resp.status == status, resp
    body = resp.json()
    if dialect == "anthropic":
        assert body["type"] == "error", body
        err = body["error"]
    else:
        err = body["error"]
    if code:
        assert err.get("code") == code, body
    return err


def fetch(g, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (g.port, path),
                                timeout=10) as resp:
        return resp.read()


def audit_rows_with(g, value):
    return g.audit.query(
        "SELECT id FROM llm_audit a WHERE position(%s in row_to_json(a)::text)"
        " > 0", (value,))


def wait_row(g, ua_prefix, count=1):
    rows = g.audit.wait_for_rows(
        "SELECT * FROM llm_audit WHERE user_agent LIKE %s ORDER BY id",
        (ua_prefix + "%",), count=count)
    assert len(rows) == count, rows
    return rows


def assert_nowhere(g, mock, value, upstream=True):
    """value is in nothing the gateway sent or wrote."""
    if upstream:
        for rq in mock.requests:
            assert value not in rq.path, rq.path
            for k, v in rq.headers:
                assert value not in k and value not in v, (k, v)
            assert value.encode() not in rq.body
    assert value not in g.error_log_text()
    assert value not in g.access_log_text()
    metrics = fetch(g, "/llm-metrics").decode("utf-8")   # strict UTF-8
    assert value not in metrics
    assert value not in fetch(g, "/llm-status").decode("utf-8")
    assert audit_rows_with(g, value) == []


# -- item 3: the model name ------------------------------------------------------

# (kind, model template around the planted value, the planted value)
HOSTILE_MODELS = [
    ("aws-key", "%s-{v}", sh.aws_access_key_id),
    ("github-token", "%s-{v}", sh.github_token),
    ("space", "%s- {v}", sh.aws_access_key_id),
    ("newline", "%s-x\n{v}", sh.aws_access_key_id),
    ("utf8", "%s-\u00e9{v}", sh.aws_access_key_id),
    ("dotdot", "%s-a/../{v}", sh.aws_access_key_id),
    ("percent", "%s-a%%2F{v}", sh.aws_access_key_id),
    ("too-long", "%s-" + "a" * 120 + "{v}", sh.aws_access_key_id),
    ("nul", "%s-4o\u0000{v}", sh.aws_access_key_id),
]
ORDINARY = {"openai": ["gpt-4o-mini-2024-07-18", "gpt-ft:gpt-4o-mini:org::a1b2",
                       "gpt-meta/Llama-3.1-8B"],
            "anthropic": ["claude-3-5-sonnet@20240620",
                          "claude-sonnet-4-5-20250929"]}


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind,template,value", HOSTILE_MODELS,
                         ids=[k for k, _, _ in HOSTILE_MODELS])
def test_hostile_model_name_is_refused_and_written_nowhere(
        gw, mock, minter, dialect, stream, kind, template, value):
    planted = value()
    model = (template % ("claude" if dialect == "anthropic" else "gpt")
             ).format(v=planted)
    ua = marker()
    token = minter.mint(groups=["llm-all-models"])
    resp = send(gw, dialect, body_for(dialect, model, stream), token,
                headers={"User-Agent": ua})
    err = assert_error(resp, dialect, 400, "invalid_model")
    assert err["message"]
    assert planted not in resp.body.decode("utf-8", "replace")
    assert mock.requests == [], "nothing may reach the provider"
    row = wait_row(gw, ua)[0]
    assert row["decision"] == "invalid" and row["reason"] == "invalid_model"
    assert row["model_requested"] is None and row["provider"] is None
    assert_nowhere(gw, mock, planted)
    # The names providers use still pass, exactly as sent.
    for name in ORDINARY[dialect]:
        resp = send(gw, dialect, body_for(dialect, name, stream), token)
        assert resp.status == 200, (name, resp)
        assert mock.last_request().json()["model"] == name


# -- item 5: headers and query ----------------------------------------------------

# Everything a provider may receive: the allowlist, the body's framing,
# the provider's own credential and what mod_proxy adds for the hop.
UPSTREAM_HEADERS = {
    "user-agent", "accept", "anthropic-version", "anthropic-beta",
    "openai-beta", "content-type", "content-length", "transfer-encoding",
    "authorization", "x-api-key", "api-key", "host", "connection",
}


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_key_in_forwarded_headers_and_query_never_reaches_provider(
        gw, mock, minter, dialect, stream):
    key_ua, key_acc, key_ct, key_q, key_other = (
        sh.aws_access_key_id() for _ in range(5))
    ua = marker()
    headers = {
        "User-Agent": "%s (%s)" % (ua, key_ua),
        "Accept": "application/json, %s/x" % key_acc,
        "Content-Type": "application/json; charset=utf-8; x=%s" % key_ct,
        "X-Debug-Token": key_other,
        "X-Forwarded-For": "10.0.0.1, " + key_other,
        "Forwarded": "for=" + key_other,
    }
    model = "claude-sonnet-4-5" if dialect == "anthropic" else "gpt-4o-mini"
    path = (MESSAGES if dialect == "anthropic" else CHAT) + \
        "?beta=true&trace=" + key_q
    resp = send(gw, dialect, body_for(dialect, model, stream),
                minter.mint(groups=["llm-all-models"]), headers=headers,
                path=path)
    assert resp.status == 200, resp
    up = mock.wait_for_requests(1)[0]
    # Upstream: the redacted agent, no Accept (not one the APIs define),
    # JSON as the type, no query (it held more than beta=true).
    assert up.header("User-Agent") == \
        "%s ([REDACTED_AWS_ACCESS_KEY_1])" % ua
    assert up.header("Accept") is None
    assert up.header("Content-Type") == "application/json"
    assert up.header("X-Debug-Token") is None
    assert {k.lower() for k, _ in up.headers} <= UPSTREAM_HEADERS
    assert up.query == {}
    row = wait_row(gw, ua)[0]
    assert row["user_agent"] == "%s ([REDACTED_AWS_ACCESS_KEY_1])" % ua
    findings = row["findings"]
    if isinstance(findings, str):
        findings = json.loads(findings)
    assert any(f["location"] == "header.User-Agent" for f in findings)
    for key in (key_ua, key_acc, key_ct, key_q, key_other):
        assert_nowhere(gw, mock, key)
    assert "[withheld]" in gw.access_log_text()

    # The same headers in the form their APIs define go as they are.
    mock.reset()
    good = {"anthropic-beta": "prompt-caching-2024-07-31, "
                              "claude-code-20250219",
            "OpenAI-Beta": "assistants=v2",
            "Accept": "application/json",
            "User-Agent": "claude-cli/2.0.14 (external, cli)"}
    path = (MESSAGES if dialect == "anthropic" else CHAT) + "?beta=true"
    resp = send(gw, dialect, body_for(dialect, model, stream),
                minter.mint(groups=["llm-all-models"]), headers=good,
                path=path)
    assert resp.status == 200, resp
    up = mock.wait_for_requests(1)[0]
    for name, value in good.items():
        assert up.header(name) == value, name
    assert {k.lower() for k, _ in up.headers} <= UPSTREAM_HEADERS
    assert up.query == {"beta": ["true"]}


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_second_user_agent_line_is_scanned_too(gw, mock, minter, dialect):
    key = sh.aws_access_key_id()
    ua = marker()
    model = "claude-sonnet-4-5" if dialect == "anthropic" else "gpt-4o-mini"
    data = json.dumps(body_for(dialect, model)).encode()
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.putrequest("POST", MESSAGES if dialect == "anthropic" else CHAT,
                        skip_accept_encoding=True)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
        token = minter.mint(groups=["llm-all-models"])
        if dialect == "anthropic":
            conn.putheader("x-api-key", token)
            conn.putheader("anthropic-version", "2023-06-01")
        else:
            conn.putheader("Authorization", "Bearer " + token)
        conn.putheader("User-Agent", ua)
        conn.putheader("User-Agent", "helper/1.0 (%s)" % key)
        conn.endheaders(data)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
    finally:
        conn.close()
    up = mock.wait_for_requests(1)[0]
    agents = [v for k, v in up.headers if k.lower() == "user-agent"]
    assert agents == ["%s, helper/1.0 ([REDACTED_AWS_ACCESS_KEY_1])" % ua]
    wait_row(gw, ua)
    assert_nowhere(gw, mock, key)


@pytest.mark.parametrize("header,value", [
    ("anthropic-version", "{key}"),
    ("anthropic-version", "2023-06-01 {key}"),
    ("anthropic-beta", "prompt-caching-2024-07-31,{key}"),
    ("anthropic-beta", "prompt-caching-2024-07-31, x-{lkey}"),
    ("OpenAI-Beta", "assistants={key}"),
    ("OpenAI-Beta", "assistants=v2,{key}=v1"),
])
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_protocol_header_outside_its_syntax_is_refused(
        gw, mock, minter, dialect, header, value):
    key = sh.aws_access_key_id()
    value = value.format(key=key, lkey=sh.rnd("abcdef0123456789", 40))
    ua = marker()
    resp = send(gw, dialect, body_for(dialect, "claude-sonnet-4-5"
                                      if dialect == "anthropic"
                                      else "gpt-4o-mini"),
                minter.mint(groups=["llm-all-models"]),
                headers={header: value, "User-Agent": ua})
    err = assert_error(resp, dialect, 400, "invalid_header")
    assert header in err["message"]
    assert key not in resp.body.decode()
    assert mock.requests == []
    wait_row(gw, ua)
    assert_nowhere(gw, mock, key)


# -- item 6: provider paths and the model access is decided on -------------------

@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", [
    "azure-allowed/../azure-premium",
    "azure-allowed/..%2Fazure-premium",
    "azure-allowed/x",
    "azure-allowed/./azure-premium",
])
def test_azure_deployment_cannot_be_escaped(gw, mock, minter, stream, model):
    resp = gw.client().post(CHAT, chat(model, stream),
                            token=minter.mint(groups=["developers"]))
    assert resp.status in (400, 403), resp
    assert mock.requests == [], [r.path for r in mock.requests]
    # A plain deployment name is the path, exactly.
    resp = gw.client().post(CHAT, chat("azure-allowed-1", stream),
                            token=minter.mint(groups=["developers"]))
    assert resp.status == 200, resp
    up = mock.wait_for_requests(1)[0]
    assert up.route == "/openai/deployments/azure-allowed-1/chat/completions"
    assert up.query.get("api-version")


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("name", ["best-model", "cheap-fast"])
def test_alias_cannot_reach_an_excluded_model(gw, mock, minter, dialect,
                                              name):
    # "contractors: * !*premium*": the alias best-model stands for
    # gpt-premium, the route cheap-fast renames to gpt-premium-x: that is
    # what the provider would be asked for.
    token = minter.mint(groups=["contractors"])
    resp = send(gw, dialect, body_for(dialect, name), token)
    assert_error(resp, dialect, 403, "model_not_allowed")
    assert mock.requests == []
    resp = send(gw, dialect, body_for(dialect, "gpt-4o-mini"), token)
    assert resp.status == 200, resp


# -- item 7: groups are a JSON array ----------------------------------------------

@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_group_with_comma_is_one_group(gw, mock, minter, dialect, stream):
    ua = marker()
    token = minter.mint(groups=["nobody,llm-all-models"])
    resp = send(gw, dialect, body_for(dialect, "o3", stream), token,
                headers={"User-Agent": ua})
    assert_error(resp, dialect, 403, "model_not_allowed")
    assert mock.requests == []
    row = wait_row(gw, ua)[0]
    assert json.loads(row["user_groups"]) == ["nobody,llm-all-models"]
    # A real member of both groups is granted.
    resp = send(gw, dialect, body_for(dialect, "o3", stream),
                minter.mint(groups=["nobody", "llm-all-models"]))
    assert resp.status == 200, resp


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_refusal_by_claim_check_records_json_groups(gw, mock, minter,
                                                    dialect):
    # A wrong audience fails "Require oauth2_claim aud:..." after authentication:
    # the audit row still names the caller, with the groups as an array.
    ua = marker()
    user = "aud-" + uuid.uuid4().hex[:8]
    token = minter.mint(sub=user, aud="someone-else",
                        groups=["nobody,llm-all-models", "x"])
    resp = send(gw, dialect, body_for(dialect, "o3"), token,
                headers={"User-Agent": ua})
    assert_error(resp, dialect, 401)
    assert mock.requests == []
    row = wait_row(gw, ua)[0]
    assert row["user_name"] == user
    assert json.loads(row["user_groups"]) == ["nobody,llm-all-models", "x"]


def test_group_quota_counts_members_only(gw, mock, minter):
    intruder = minter.mint(sub="u-" + uuid.uuid4().hex[:8],
                           groups=["x," + QUOTA_GROUP])
    for _ in range(2):
        assert gw.client().post(CHAT, chat("mock-echo"),
                                token=intruder).status == 200
    member = minter.mint(sub="u-" + uuid.uuid4().hex[:8],
                         groups=[QUOTA_GROUP])
    assert gw.client().post(CHAT, chat("mock-echo"),
                            token=member).status == 200
    assert gw.client().post(CHAT, chat("mock-echo"),
                            token=member).status == 429


def test_budgets_rebuilt_from_json_groups(minter, mock_provider):
    """LLMRouteQuotaRestore reads user_groups as the JSON array it is: a
    row of the group "nobody,team-y" is not team-y's, a row of team-z is."""
    pg = PostgresServer()
    g = None
    try:
        pg.init()
        pg.load_schema_file(os.path.join(REPO_ROOT, "conf", "sql",
                                         "postgresql.sql"))
        pg.execute("GRANT USAGE ON SCHEMA public TO {u};"
                   "GRANT INSERT ON llm_audit TO {u};"
                   "GRANT USAGE ON SEQUENCE llm_audit_id_seq TO {u};"
                   "GRANT SELECT (ts, user_name, user_groups, decision,"
                   " tokens_in, tokens_out) ON llm_audit TO {u};"
                   .format(u=pg.gateway_user))
        today = datetime.datetime.now(datetime.timezone.utc).replace(
            hour=0, minute=0, second=1, microsecond=0)
        for seq, (user, groups) in enumerate([
                ("spender-y", '["nobody,team-y"]'),
                ("spender-z", '["developers","team-z"]')], 1):
            pg.execute("INSERT INTO llm_audit (ts, request_id, chain_id, seq,"
                       " prev_mac, mac, user_name, user_groups, decision,"
                       " tokens_in, tokens_out) VALUES"
                       " (%s, %s, 'seeded', %s, '', '', %s, %s, 'allow',"
                       " 1500, 490)",
                       (today, uuid.uuid4().hex, seq, user, groups))
        g = GatewayServer(minter, mock=mock_provider, pg=pg, gateway_d={
            "60-quotas.conf": "LLMRouteQuotaRestore On\n"
                              "LLMRouteQuota group:team-y tokens/day 2000\n"
                              "LLMRouteQuota group:team-z tokens/day 2000\n"})
        g.start()
        deadline = time.monotonic() + 20
        while "LLM02130" not in g.error_log_text():
            assert time.monotonic() < deadline, g.error_log_tail()
            time.sleep(0.2)
        c = g.client()
        resp = c.post(CHAT, chat(), token=minter.mint(
            sub="member-y", groups=["developers", "team-y"]))
        assert resp.status == 200, resp
        resp = c.post(CHAT, chat(), token=minter.mint(
            sub="member-z", groups=["developers", "team-z"]))
        assert resp.status == 429, resp
        assert "group team-z" in resp.json()["error"]["message"]
    finally:
        if g:
            g.destroy()
        pg.destroy()


def test_groups_claim_setting_is_what_the_audit_row_holds(
        gateway_factory, minter, mock):
    g = gateway_factory.make(gateway_d={
        "40-model-access.conf": "LLMRouteGroupsClaim roles\n"
                                "LLMRouteAllowModels reviewers gpt-*\n"})
    ua = marker()
    # groups says llm-all-models, roles is missing: no groups at all.
    token = minter.mint(groups=["llm-all-models"])
    resp = g.client().post(CHAT, chat(), token=token,
                           headers={"User-Agent": ua})
    assert_error(resp, "openai", 403, "model_not_allowed")
    row = wait_row(g, ua)[0]
    assert row["user_groups"] is None
    ua2 = marker()
    token = minter.mint(groups=["llm-all-models"],
                        extra={"roles": ["reviewers", "a,b"]})
    resp = g.client().post(CHAT, chat(), token=token,
                           headers={"User-Agent": ua2})
    assert resp.status == 200, resp
    row = wait_row(g, ua2)[0]
    assert json.loads(row["user_groups"]) == ["reviewers", "a,b"]


# -- item 9: tokens without exp -------------------------------------------------------

def token_with(minter, drop=(), **override):
    claims = minter.claims(sub="noexp-" + uuid.uuid4().hex[:8],
                           groups=["llm-all-models"])
    for c in drop:
        claims.pop(c, None)
    claims.update(override)
    header = {"alg": "RS256", "typ": "JWT", "kid": minter.rsa_key.kid}
    signing_input = "%s.%s" % (
        b64url(json.dumps(header, separators=(",", ":"))),
        b64url(json.dumps(claims, separators=(",", ":"))))
    return "%s.%s" % (signing_input,
                      b64url(minter.rsa_key.sign(signing_input.encode())))


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("variant", ["missing", "string", "null"])
def test_token_without_exp_is_refused(gw, mock, minter, dialect, stream,
                                      variant):
    if variant == "missing":
        token = token_with(minter, drop=("exp",))
    elif variant == "string":
        token = token_with(minter, exp=str(int(time.time()) + 3600))
    else:
        token = token_with(minter, exp=None)
    ua = marker()
    resp = send(gw, dialect, body_for(dialect, "claude-sonnet-4-5"
                                      if dialect == "anthropic"
                                      else "gpt-4o-mini", stream), token,
                headers={"User-Agent": ua})
    err = assert_error(resp, dialect, 401, "invalid_api_key")
    assert "exp" in err["message"]
    assert mock.requests == []
    row = wait_row(gw, ua)[0]
    assert row["decision"] == "deny"
    # The same token with an exp is accepted (the refusal is the exp's).
    assert send(gw, dialect, body_for(dialect, "claude-sonnet-4-5"
                                      if dialect == "anthropic"
                                      else "gpt-4o-mini"),
                token_with(minter)).status == 200


def test_token_max_lifetime(gateway_factory, minter, mock):
    g = gateway_factory.make(gateway_d={
        "15-lifetime.conf": "LLMRouteTokenMaxLifetime 2h\n"})
    ua = marker()
    resp = g.client().post(CHAT, chat(), headers={"User-Agent": ua},
                           token=minter.mint(groups=["llm-all-models"],
                                             lifetime=3 * 3600))
    err = assert_error(resp, "openai", 401, "invalid_api_key")
    assert "LLMRouteTokenMaxLifetime" in err["message"]
    assert mock.requests == []
    assert wait_row(g, ua)[0]["decision"] == "deny"
    resp = g.client().post(CHAT, chat(),
                           token=minter.mint(groups=["llm-all-models"],
                                             lifetime=3600))
    assert resp.status == 200, resp
    bad = gateway_factory.make(start=False, gateway_d={
        "15-lifetime.conf": "LLMRouteTokenMaxLifetime 5x\n"})
    rc, out = bad.check_config()
    assert rc != 0 and "LLMRouteTokenMaxLifetime" in out, out


# -- item 12: metrics labels --------------------------------------------------------

def series_labels(g):
    text = fetch(g, "/llm-metrics").decode("utf-8")   # strict UTF-8
    out = []
    for line in text.splitlines():
        if line.startswith("llm_gateway_requests_total{"):
            out.append(line)
    return text, out


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_caller_strings_never_become_labels(gw, mock, minter, dialect,
                                            stream):
    token = minter.mint(groups=["llm-all-models"])
    tag = uuid.uuid4().hex[:12]
    wildcard = "mock-j.doe%s@acme-corp.io" % tag       # matches mock-*
    unrouted = "zz-unrouted-%s" % tag                  # no route: 404
    refused = "mock-" + "\u00e9" * 60 + tag            # not a model name
    resp = send(gw, dialect, body_for(dialect, wildcard, stream), token)
    assert resp.status in (200, 400), resp
    wildcard_served = resp.status == 200
    resp = send(gw, dialect, body_for(dialect, unrouted, stream), token)
    assert_error(resp, dialect, 404, "model_not_found")
    resp = send(gw, dialect, body_for(dialect, refused, stream), token)
    assert_error(resp, dialect, 400, "invalid_model")
    time.sleep(0.5)
    text, lines = series_labels(gw)
    assert tag not in text
    assert tag not in fetch(gw, "/llm-status").decode("utf-8")
    if wildcard_served:
        assert any('model="mock-*"' in ln for ln in lines), lines


def test_made_up_names_cannot_fill_the_series_table(gw, mock, minter):
    token = minter.mint(groups=["llm-all-models"])
    client = gw.client()
    for i in range(520):
        resp = client.post(CHAT, chat("mock-made-up-%04d" % i), token=token)
        assert resp.status == 200, resp
    # A series that did not exist before the flood still gets its own.
    resp = client.post(CHAT, chat("o3-flood-check"), token=token)
    assert resp.status == 200, resp
    time.sleep(0.5)
    text, lines = series_labels(gw)
    assert "made-up" not in text
    assert any('provider="testopenai"' in ln and 'model="o[0-9]*"' in ln
               and 'status="200"' in ln for ln in lines), lines
    assert len(lines) < 100, len(lines)
