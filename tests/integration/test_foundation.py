"""Issue 2, end to end: a request goes through httpd, is authenticated by
mod_auth_openidc, scanned by mod_llm_scan, routed by mod_llm_route through a
mod_proxy balancer to the (mock) provider, and audited by mod_llm_audit in
PostgreSQL.  Each test asserts what a user sees: the status and body, the
bytes the provider received, and the audit row.
"""

import json
import secrets
import uuid

import pytest

from gwtest.client import parse_sse

CHAT_PATH = "/v1/chat/completions"
MODEL = "gpt-4o-mini"
PROVIDER = "testopenai"   # gwtest.httpd.provider_conf: gpt-* -> testopenai


def chat_body(content, **extra):
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    # Bytes as a client would send them; the provider must get these exact
    # bytes back from the gateway (same dialect, nothing redacted).
    return json.dumps(body).encode()


def fake_aws_access_key_id():
    """A fresh AWS access key id (AKIA + 16 base32 characters), built at
    run time so no key-shaped literal lives in the repository and it is
    never one of AWS's documented EXAMPLE placeholders."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def assert_one_audit_row(gateway, user_agent, **expected):
    """Exactly one audit row for the request sent with this (unique)
    User-Agent, in the gateway's PostgreSQL, with the expected values."""
    assert gateway.audit.kind == "pgsql"
    if not gateway.audit.available:
        pytest.xfail("conf/sql/postgresql.sql not written yet: no audit table")
    rows = gateway.audit.rows_for_user_agent(user_agent)
    assert len(rows) == 1, "expected exactly one audit row, got %r" % rows
    row = rows[0]
    got = {k: row.get(k) for k in expected}
    assert got == expected, row
    return row


def new_user():
    return "user-" + uuid.uuid4().hex[:10]


# -- authentication -----------------------------------------------------------

@pytest.mark.parametrize("case", ["no_token", "bad_signature", "expired"])
def test_request_without_valid_token_is_refused(gateway, mock, minter,
                                                user_agent, case):
    token = {
        "no_token": None,
        "bad_signature": minter.mint(key=minter.other_key, sub=new_user()),
        "expired": minter.mint(expired=True, sub=new_user()),
    }[case]
    resp = gateway.client().post(CHAT_PATH, chat_body("hello"), token=token,
                                 headers={"User-Agent": user_agent})

    assert resp.status == 401, resp
    assert mock.requests == [], "nothing may reach the provider"
    row = assert_one_audit_row(gateway, user_agent, decision="deny",
                               http_status=401)
    assert not row["user_name"], "no authenticated user: %r" % row


# -- a clean request reaches the provider with the provider's key ------------

def assert_forwarded_with_provider_key(gateway, mock, token, sent_body):
    reqs = mock.wait_for_requests(1)
    assert len(reqs) == 1, mock.summary()
    got = reqs[0]
    assert got.method == "POST"
    assert got.path == CHAT_PATH
    assert got.header("authorization") == "Bearer " + gateway.openai_key
    # The caller's token goes nowhere upstream, under no header name.
    for name, value in got.headers:
        assert token not in value, "caller token leaked in %s" % name
    # Same dialect, nothing to redact: the provider gets the client's bytes.
    assert got.body == sent_body
    return got


def test_clean_chat_completion_reaches_provider(gateway, mock, minter,
                                                user_agent):
    user = new_user()
    token = minter.mint(sub=user)
    body = chat_body("Write a haiku about build systems.")
    resp = gateway.client().post(CHAT_PATH, body, token=token,
                                 headers={"User-Agent": user_agent})

    assert resp.status == 200, resp
    got = assert_forwarded_with_provider_key(gateway, mock, token, body)
    # The answer comes back unchanged.
    assert resp.body == got.response_body
    assert resp.json()["choices"][0]["message"]["content"] == mock.reply_text
    assert resp.header("Content-Type").startswith("application/json")
    assert_one_audit_row(gateway, user_agent, user_name=user,
                         model_requested=MODEL, provider=PROVIDER,
                         decision="allow", http_status=200)


def test_clean_chat_completion_stream_reaches_provider(gateway, mock, minter,
                                                       user_agent):
    user = new_user()
    token = minter.mint(sub=user)
    body = chat_body("Explain SSE in one line.", stream=True,
                     stream_options={"include_usage": True})
    resp = gateway.client().post(CHAT_PATH, body, token=token,
                                 headers={"User-Agent": user_agent})

    assert resp.status == 200, resp
    assert resp.header("Content-Type").startswith("text/event-stream")
    got = assert_forwarded_with_provider_key(gateway, mock, token, body)
    # Every event, in order, byte for byte.
    assert parse_sse(resp.body) == parse_sse(got.response_body)
    assert resp.body == got.response_body
    assert parse_sse(resp.body)[-1] == (None, "[DONE]")
    assert_one_audit_row(gateway, user_agent, user_name=user,
                         model_requested=MODEL, provider=PROVIDER,
                         decision="allow", http_status=200)


# -- an obvious secret is blocked before anything goes upstream ---------------

def test_aws_access_key_is_blocked(gateway, mock, minter, user_agent):
    user = new_user()
    key_id = fake_aws_access_key_id()
    content = "Deploy with access key %s please" % key_id
    resp = gateway.client().post(CHAT_PATH, chat_body(content),
                                 token=minter.mint(sub=user),
                                 headers={"User-Agent": user_agent})

    assert resp.status == 403, resp
    assert resp.header("Content-Type").startswith("application/json")
    assert key_id.encode() not in resp.body, "the secret must not be echoed"
    error = resp.json()["error"]
    assert error["type"] == "sensitive_data_detected"
    assert error["code"] == "aws_access_key"
    assert error["message"]
    assert "param" in error and error["param"] is None
    assert len(error["findings"]) == 1, error
    finding = error["findings"][0]
    assert finding["type"] == "AWS_ACCESS_KEY"
    assert isinstance(finding["rule"], str) and finding["rule"]
    assert finding["location"] == "messages[0].content"
    assert finding["offset"] == content.index(key_id)
    assert finding["length"] == len(key_id)

    assert mock.requests == [], "nothing may reach the provider"
    row = assert_one_audit_row(gateway, user_agent, user_name=user,
                               model_requested=MODEL, provider=PROVIDER,
                               decision="block", http_status=403)
    assert key_id not in repr(row), "the audit row must not hold the value"


# -- apachectl -t --------------------------------------------------------------

def test_sample_config_passes_config_check(gateway_factory):
    """The control for the next test: the same ServerRoot without the bad
    line is accepted, so a refusal there is the bad value's doing."""
    g = gateway_factory.make(start=False)
    rc, out = g.check_config()
    assert rc == 0, out
    assert "Syntax OK" in out


@pytest.mark.parametrize("line,directive,value", [
    ("LLMScanMaxBody banana", "LLMScanMaxBody", "banana"),
    ("LLMRouteProvider broken nosuchtype balancer://broken key=env:HOME",
     "LLMRouteProvider", "nosuchtype"),
])
def test_config_check_rejects_bad_directive_value(gateway_factory, line,
                                                  directive, value):
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad-value.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "99-bad-value.conf" in out, out      # where
    assert directive in out, out                 # which directive
    assert value in out, out                     # which value is wrong
    assert "Syntax OK" not in out


@pytest.mark.parametrize("line", [
    "LLMScanMaxBody 16M",
    "LLMScanMaxBody 512K",
    "LLMAuditBodyMax 16M",
    "LLMAuditSpoolMaxSize 64MB",
    "<Location /v1>\nLLMRouteQuota user tokens/day 5M\n</Location>",
])
def test_config_check_accepts_every_size_with_a_suffix(gateway_factory, line):
    """Every size directive reads sizes the same way (one parser):
    LLMScanMaxBody 16M used to be refused while LLMAuditBodyMax 16M was
    accepted."""
    g = gateway_factory.make(start=False,
                             gateway_d={"99-size.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc == 0, out
    assert "Syntax OK" in out, out


@pytest.mark.parametrize("line,message", [
    ("LLMScanMaxBody 16Q", "LLMScanMaxBody: '16Q' is not a size (bytes, or "
                           "a number with K, M or G, e.g. 16M)"),
    ("LLMScanMaxBody 1.5M", "LLMScanMaxBody: '1.5M' is not a size"),
    ("LLMScanMaxBody 1000", "LLMScanMaxBody: '1000' is below the minimum "
                            "of 1024 bytes"),
    ("LLMScanMaxBody 99999999999G", "LLMScanMaxBody: '99999999999G' is too "
                                    "large"),
    ("LLMAuditBodyMax -1", "LLMAuditBodyMax: '-1' is not a size"),
    ("<Location /v1>\nLLMRouteQuota user tokens/day 5MB\n</Location>",
     "LLMRouteQuota user tokens/day: '5MB' is not a number (e.g. 60, 200k, "
     "5M), or 'unlimited'"),
])
def test_config_check_refuses_a_bad_size_by_name(gateway_factory, line,
                                                 message):
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad-size.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "99-bad-size.conf" in out, out
    assert message in out, out
    assert "Syntax OK" not in out


@pytest.mark.parametrize("line,message", [
    ("LLMRouteProvider broken nosuchtype balancer://broken key=env:HOME",
     "LLMRouteProvider broken: type 'nosuchtype' is not one of openai, "
     "anthropic, azure, gemini (any OpenAI-compatible API is 'openai')"),
    ("LLMRouteProvider broken",
     "LLMRouteProvider: usage: LLMRouteProvider name "
     "openai|anthropic|azure|gemini balancer://name"),
])
def test_config_check_lists_the_provider_types(gateway_factory, line,
                                               message):
    """The types come from the one table in route_config.c."""
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad-provider.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert message in out, out


# -- the embedded default ------------------------------------------------------

def test_embedded_sqlite_default_records_the_request(gateway_factory, mock,
                                                     minter, user_agent):
    """Without PostgreSQL the sample's own default (SQLite through mod_dbd's
    sqlite3 driver, 50-audit.conf) records the same row."""
    g = gateway_factory.make(pg=None)
    assert g.audit.kind == "sqlite3"
    user = new_user()
    resp = g.client().post(CHAT_PATH, chat_body("hello"),
                           token=minter.mint(sub=user),
                           headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    rows = g.audit.rows_for_user_agent(user_agent)
    assert [(r["user_name"], r["model_requested"], r["provider"],
             r["decision"], r["http_status"]) for r in rows] == [
        (user, MODEL, PROVIDER, "allow", 200)]
