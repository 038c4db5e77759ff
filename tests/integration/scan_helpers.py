"""Helpers for the mod_llm_scan integration tests (test_scan_*.py).

- values: secret-shaped and personal values built at run time (no
  key-shaped literal lives in the repository, and none is one of the
  documented example values the engine allows on purpose);
- bodies: the five request dialects with a value placed in one field, and
  the JSON path and offset the gateway must report for it;
- assertions on what users see: the 403 in the caller's dialect, what the
  mock provider received (nothing, the very bytes, or a redacted body),
  and the audit row (decision and findings, never the value).
"""

import base64
import json
import secrets
import string

import pytest

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
COMPLETIONS = "/v1/completions"
MESSAGES = "/v1/messages"

GPT = "gpt-4o-mini"
EMBED_MODEL = "text-embedding-3-small"
INSTRUCT = "gpt-3.5-turbo-instruct"
CLAUDE = "claude-sonnet-4-5"

ALNUM = string.ascii_letters + string.digits
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def rnd(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


# -- values ---------------------------------------------------------------

def aws_access_key_id():
    """AKIA + 16 base32 characters; never AWS's ...EXAMPLE placeholder."""
    return "AKIA" + rnd(BASE32, 16)


def github_token():
    return "ghp_" + rnd(ALNUM, 36)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_token():
    """A JWT whose header decodes to JSON with alg, random claims and
    signature: not the jwt.io sample."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"sub": "u-" + rnd(ALNUM, 10),
                                 "iat": 1700000000 + secrets.randbelow(10 ** 6)})
                     .encode())
    return "%s.%s.%s" % (header, claims, _b64url(secrets.token_bytes(32)))


def private_key_pem():
    """An RSA-private-key-shaped PEM block of random base64 (not a key)."""
    body = "\n".join(base64.b64encode(secrets.token_bytes(48)).decode()
                     for _ in range(10))
    return ("-----BEGIN RSA PRIVATE KEY-----\n%s\n"
            "-----END RSA PRIVATE KEY-----" % body)


def db_password():
    return rnd(string.ascii_letters, 4) + rnd(ALNUM, 12)


def connection_string(password=None):
    """The password is the finding; returns (text, password)."""
    password = password or db_password()
    return ("postgres://app_rw:%s@db-7.internal:5432/orders" % password,
            password)


def luhn_complete(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


def credit_card():
    """A Visa-shaped number that passes Luhn, not a published test card."""
    while True:
        n = luhn_complete("4" + rnd("0123456789", 14))
        if n not in ("4242424242424242", "4111111111111111",
                     "4000056655665556", "4012888888881881"):
            return n


def iban_de():
    """A German IBAN with a correct mod-97 check (22 characters)."""
    bban = rnd("0123456789", 18)
    check = 98 - int(bban + "1314" + "00") % 97   # D=13 E=14
    return "DE%02d%s" % (check, bban)


def email():
    return "%s.%s@%s-corp.io" % (rnd(string.ascii_lowercase, 6),
                                 rnd(string.ascii_lowercase, 7),
                                 rnd(string.ascii_lowercase, 5))


def phone():
    """A US number in E.164 form outside the fictional 555-01xx block."""
    return "+1 415 %s %s" % (rnd("2346789", 1) + rnd("0123456789", 2),
                             rnd("0123456789", 4))


# kind -> (factory returning (value in the text, finding value), type)
SECRETS = {
    "aws": (lambda: _same(aws_access_key_id()), "AWS_ACCESS_KEY"),
    "github": (lambda: _same(github_token()), "GITHUB_TOKEN"),
    "pem": (lambda: _same(private_key_pem()), "PRIVATE_KEY"),
    "conn_password": (lambda: connection_string(), "PASSWORD"),
    "jwt": (lambda: _same(jwt_token()), "JWT"),
}

PII = {
    "email": (lambda: _same(email()), "EMAIL"),
    "phone": (lambda: _same(phone()), "PHONE"),
    "credit_card": (lambda: _same(credit_card()), "CREDIT_CARD"),
    "iban": (lambda: _same(iban_de()), "IBAN"),
}


def _same(v):
    return v, v


# -- bodies: a value placed in one field of one dialect ------------------------
#
# Each placement is a function(text) -> (path, body dict, location), where
# text is put in the field and location is the JSON path of the string
# that holds it.  The field text is "<prefix><value><suffix>" so offsets
# are checked against something that does not start at 0.

class Placement:
    def __init__(self, name, family, path, build, location):
        self.name = name
        self.family = family          # "openai" | "anthropic"
        self.path = path
        self.build = build            # field text -> body dict
        self.location = location

    def body(self, field_text):
        return self.build(field_text)

    def __repr__(self):
        return self.name


def _chat(messages, **extra):
    b = {"model": GPT, "messages": messages}
    b.update(extra)
    return b


def _anthropic(messages, **extra):
    b = {"model": CLAUDE, "max_tokens": 256, "messages": messages}
    b.update(extra)
    return b


TOOL_DEF_OPENAI = {"type": "function", "function": {
    "name": "run_shell", "description": "Run a shell command",
    "parameters": {"type": "object", "properties": {
        "command": {"type": "string", "description": "the command"}},
        "required": ["command"]}}}

TOOL_DEF_ANTHROPIC = {"name": "bash", "description": "Run a shell command",
                      "input_schema": {"type": "object", "properties": {
                          "command": {"type": "string",
                                      "description": "the command"}},
                          "required": ["command"]}}


def _p(name, family, path, location):
    def deco(fn):
        PLACEMENTS.append(Placement(name, family, path, fn, location))
        return fn
    return deco


PLACEMENTS = []


@_p("chat.user_content", "openai", CHAT, "messages[1].content")
def _(t):
    return _chat([{"role": "system", "content": "You are a coding agent."},
                  {"role": "user", "content": t}])


@_p("chat.system_prompt", "openai", CHAT, "messages[0].content")
def _(t):
    return _chat([{"role": "system", "content": t},
                  {"role": "user", "content": "Continue."}])


@_p("chat.content_part", "openai", CHAT, "messages[0].content[2].text")
def _(t):
    return _chat([{"role": "user", "content": [
        {"type": "text", "text": "Look at this config file."},
        {"type": "image_url", "image_url": {"url": "https://img.invalid/a.png"}},
        {"type": "text", "text": t}]}])


@_p("chat.tool_definition", "openai", CHAT, "tools[0].function.description")
def _(t):
    tool = json.loads(json.dumps(TOOL_DEF_OPENAI))
    tool["function"]["description"] = t
    return _chat([{"role": "user", "content": "list files"}], tools=[tool])


@_p("chat.function_call_arguments", "openai", CHAT,
    "messages[1].tool_calls[0].function.arguments")
def _(t):
    return _chat([
        {"role": "user", "content": "set up the db"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {
                "name": "run_shell", "arguments": t}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"}],
        tools=[TOOL_DEF_OPENAI])


@_p("chat.tool_result", "openai", CHAT, "messages[2].content")
def _(t):
    return _chat([
        {"role": "user", "content": "show me the env file"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {
                "name": "run_shell", "arguments": "{\"command\":\"cat .env\"}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": t}],
        tools=[TOOL_DEF_OPENAI])


@_p("responses.instructions", "openai", RESPONSES, "instructions")
def _(t):
    return {"model": GPT, "instructions": t, "input": "go on"}


@_p("responses.input_string", "openai", RESPONSES, "input")
def _(t):
    return {"model": GPT, "input": t}


@_p("responses.input_text", "openai", RESPONSES, "input[0].content[0].text")
def _(t):
    return {"model": GPT, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": t}]}]}


@_p("responses.function_call_arguments", "openai", RESPONSES,
    "input[1].arguments")
def _(t):
    return {"model": GPT, "input": [
        {"role": "user", "content": "fix the deploy script"},
        {"type": "function_call", "call_id": "fc_1", "name": "shell",
         "arguments": t},
        {"type": "function_call_output", "call_id": "fc_1", "output": "done"}]}


@_p("responses.function_call_output", "openai", RESPONSES, "input[2].output")
def _(t):
    return {"model": GPT, "input": [
        {"role": "user", "content": "read the config"},
        {"type": "function_call", "call_id": "fc_2", "name": "shell",
         "arguments": "{\"cmd\":\"cat config.yml\"}"},
        {"type": "function_call_output", "call_id": "fc_2", "output": t}]}


@_p("embeddings.input_string", "openai", EMBEDDINGS, "input")
def _(t):
    return {"model": EMBED_MODEL, "input": t}


@_p("embeddings.input_array", "openai", EMBEDDINGS, "input[1]")
def _(t):
    return {"model": EMBED_MODEL, "input": ["first chunk of the repo", t]}


@_p("completions.prompt", "openai", COMPLETIONS, "prompt")
def _(t):
    return {"model": INSTRUCT, "prompt": t, "max_tokens": 16}


@_p("messages.user_content", "anthropic", MESSAGES, "messages[0].content")
def _(t):
    return _anthropic([{"role": "user", "content": t}])


@_p("messages.system_string", "anthropic", MESSAGES, "system")
def _(t):
    return _anthropic([{"role": "user", "content": "hi"}], system=t)


@_p("messages.system_block", "anthropic", MESSAGES, "system[1].text")
def _(t):
    return _anthropic([{"role": "user", "content": "hi"}], system=[
        {"type": "text", "text": "You are Claude Code."},
        {"type": "text", "text": t, "cache_control": {"type": "ephemeral"}}])


@_p("messages.tool_definition", "anthropic", MESSAGES,
    "tools[0].input_schema.properties.command.description")
def _(t):
    tool = json.loads(json.dumps(TOOL_DEF_ANTHROPIC))
    tool["input_schema"]["properties"]["command"]["description"] = t
    return _anthropic([{"role": "user", "content": "hi"}], tools=[tool])


@_p("messages.tool_use_input", "anthropic", MESSAGES,
    "messages[1].content[1].input.command")
def _(t):
    return _anthropic([
        {"role": "user", "content": "configure the database"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Running it."},
            {"type": "tool_use", "id": "toolu_01", "name": "bash",
             "input": {"command": t}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01",
             "content": "done"}]}], tools=[TOOL_DEF_ANTHROPIC])


@_p("messages.tool_result_string", "anthropic", MESSAGES,
    "messages[2].content[0].content")
def _(t):
    return _anthropic([
        {"role": "user", "content": "show the env"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_02", "name": "bash",
             "input": {"command": "cat .env"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_02",
             "content": t}]}], tools=[TOOL_DEF_ANTHROPIC])


@_p("messages.tool_result_blocks", "anthropic", MESSAGES,
    "messages[2].content[0].content[0].text")
def _(t):
    return _anthropic([
        {"role": "user", "content": "read the file"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_03", "name": "read_file",
             "input": {"path": "config/settings.py"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_03",
             "content": [{"type": "text", "text": t}]}]}])


PLACEMENT_BY_NAME = {p.name: p for p in PLACEMENTS}


def field_text(value, placement):
    """The text put into the field and the offset of value in it.  For
    argument fields the text is a JSON object text, as agents send."""
    if placement.name.endswith("arguments"):
        prefix = '{"command":"deploy --creds '
        # the value inside a JSON string inside a JSON string: the gateway
        # scans the arguments text as sent (escaped newlines stay escaped)
        inner = json.dumps(value)[1:-1]
        return prefix + inner + ' --force"}', len(prefix), len(inner)
    if placement.name.endswith("tool_use_input"):
        prefix = "psql "
        return prefix + value + " -c 'select 1'", len(prefix), len(value)
    prefix = "Please check this:\n  "
    return prefix + value + "\nThanks.", len(prefix), len(value)


# A <Location> that is a second gateway root with its own scan policy.
LOCATION = """\
<Location {path}>
    LLMGateway On
    AuthType oauth2
    <RequireAll>
        Require valid-user
        Require oauth2_claim iss:${{LLM_GW_JWT_ISSUER}}
        Require oauth2_claim aud:${{LLM_GW_JWT_AUDIENCE}}
{require}
    </RequireAll>
{body}
</Location>
"""


def location(path, body, require=""):
    return LOCATION.format(path=path, body=body, require=require)


# -- requests -------------------------------------------------------------

def dumps(body):
    """Bytes as a client sends them (json.dumps' default separators)."""
    return json.dumps(body).encode()


def post(gw, token, path, body, user_agent, headers=None):
    h = {"User-Agent": user_agent}
    if path.startswith(MESSAGES) or path.endswith("/messages"):
        h["anthropic-version"] = "2023-06-01"
    h.update(headers or {})
    data = body if isinstance(body, (bytes, bytearray)) else dumps(body)
    return gw.client().post(path, data, token=token, headers=h)


# -- assertions ----------------------------------------------------------------

def error_of(resp, family):
    """The error object of a gateway refusal in the caller's dialect."""
    assert resp.header("Content-Type", "").startswith("application/json"), \
        resp
    doc = resp.json()
    if family == "anthropic":
        assert doc.get("type") == "error", doc
        return doc["error"]
    assert set(doc) == {"error"}, doc
    return doc["error"]


def assert_blocked(resp, family, ftype, mock, values=(), location=None,
                   offset=None, length=None, kind="sensitive_data_detected"):
    """403 in the caller's dialect naming ftype, the value never echoed,
    nothing upstream.  Returns the matching finding."""
    assert resp.status == 403, resp
    for v in values:
        assert v.encode() not in resp.body, "the value must not be echoed"
        # nor any long piece of it
        if len(v) > 16:
            assert v[4:16].encode() not in resp.body
    err = error_of(resp, family)
    if family == "anthropic":
        assert err["type"] == "permission_error", err
        assert err["code"] == kind, err
    else:
        assert err["type"] == kind, err
        assert "param" in err and err["param"] is None, err
    assert err["message"], err
    findings = err["findings"]
    hits = [f for f in findings if f["type"] == ftype]
    assert hits, "no %s finding in %r" % (ftype, findings)
    if family != "anthropic":
        # code: the first finding type, lower case
        blocking = [f for f in findings if f.get("action", "block") == "block"]
        assert err["code"] == blocking[0]["type"].lower(), err
    f = hits[0]
    assert set(f) >= {"type", "rule", "location", "offset", "length"}, f
    assert isinstance(f["rule"], str) and f["rule"], f
    if location is not None:
        assert f["location"] == location, findings
    if offset is not None:
        assert f["offset"] == offset, findings
    if length is not None:
        assert f["length"] == length, findings
    assert mock.requests == [], "nothing may reach the provider: %s" % \
        mock.summary()
    return f


def forwarded(mock, count=1):
    reqs = mock.wait_for_requests(count)
    assert len(reqs) == count, mock.summary()
    return reqs[-1]


def audit_row(gw, user_agent):
    """The one audit row of the request sent with this User-Agent."""
    if not gw.audit.available:
        pytest.xfail("no audit table in this gateway")
    rows = gw.audit.wait_for_rows(
        "SELECT * FROM llm_audit WHERE user_agent = %s ORDER BY id",
        (user_agent,), count=1, timeout=10.0, settle=0.1)
    assert len(rows) == 1, "expected one audit row, got %r" % rows
    return rows[0]


def findings_of(row):
    f = row["findings"]
    if isinstance(f, str):
        f = json.loads(f)
    return f


def assert_audit(gw, user_agent, decision, types=(), status=None,
                 values=(), actions=None):
    """The audit row says decision and lists each of types, and holds none
    of values anywhere."""
    row = audit_row(gw, user_agent)
    assert row["decision"] == decision, row
    if status is not None:
        assert row["http_status"] == status, row
    found = findings_of(row)
    got = {f["type"] for f in found}
    for t in types:
        assert t in got, found
    if not types:
        assert found == [] and row["finding_count"] == 0, found
    else:
        assert row["finding_count"] >= len(set(types)), row
    if actions:
        for t, a in actions.items():
            assert {f["action"] for f in found if f["type"] == t} == {a}, found
    text = json.dumps(row, default=str)
    for v in values:
        assert v not in text, "the audit row must not hold the value"
        if len(v) > 16:
            assert v[4:16] not in text
    return row


def walk_strings(obj):
    """Every string (values and keys) of a JSON document."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from walk_strings(x)
    elif isinstance(obj, dict):
        for k, x in obj.items():
            yield k
            yield from walk_strings(x)
