"""mod_llm_scan policies as an admin writes them: actions per category,
type and rule in <Location>s (a stricter location for one group, a looser
one that only records), block/redact/log for secrets and PII, admin PCRE2
patterns and keyword lists (policy_violation), allow patterns,
LLMScanDisable, LLMScan Off, and apachectl -t refusing bad values.
"""

import json

import pytest

import scan_helpers as sh
from gwtest.httpd import GatewayServer

location = sh.location

ALLOWED_AWS_PREFIX = "AKIATESTFIXTURE"       # + 5 base32 characters

POLICY = "\n".join([
    "# Admin rules for the whole server",
    'LLMScanPattern PROJECT_CODENAME project-codename '
    '"\\bPRJ-(?:ORION|VEGA)-[0-9]{3}\\b" content',
    'LLMScanPattern INTERNAL_TOKEN internal-token "\\bitk_[0-9a-f]{32}\\b" '
    'secret',
    'LLMScanKeywords CUSTOMER customer-names Initech Hooli "Globex Industries"',
    "# an extra pattern for a built-in type: it is that type (PII)",
    'LLMScanPattern PHONE internal-extension "\\bext\\.[0-9]{4}\\b"',
    'LLMScanPattern EMAIL legacy-mailbox "\\bmbx:[a-z]{3,12}/[0-9]{3}\\b" pii',
    'LLMScanAllow "%s[A-Z2-7]{5}"' % ALLOWED_AWS_PREFIX,
    'LLMScanAllow "qa-bot-[0-9]+@[a-z0-9-]+\\.io"',
    "# contractors may use every model (40-model-access.conf names others)",
    "LLMRouteAllowModels contractors *",
    "",
    "# Embeddings of the ticket archive: e-mail addresses only recorded",
    "<Location /v1/embeddings>",
    "    LLMScanAction EMAIL log",
    "</Location>",
    "",
    location("/loose/v1", "    LLMScanAction secret log\n"
                          "    LLMScanAction pii log\n"
                          "    LLMScanAction content log"),
    location("/redact/v1", "    LLMScanAction secret redact\n"
                           "    LLMScanAction pii block"),
    location("/contractors/v1", "    LLMScanAction pii block\n"
                                "    LLMScanAction CUSTOMER block",
             require="        Require oauth2_claim groups:contractors"),
    location("/rules/v1", "    LLMScanAction github-pat-classic log\n"
                          "    LLMScanAction CREDIT_CARD block\n"
                          "    LLMScanAction customer-names redact\n"
                          "    LLMScanAction pii log\n"
                          "    LLMScanAction EMAIL redact"),
    location("/off/v1", "    LLMScan Off"),
]) + "\n"


@pytest.fixture(scope="module")
def pgw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"40-scan-policy.conf": POLICY})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-policy", groups=["developers"])


@pytest.fixture
def contractor(minter):
    return minter.mint(sub="ext-dev", groups=["contractors"])


def chat(text):
    return {"model": sh.GPT, "messages": [{"role": "user", "content": text}]}


def prefixed(prefix, path):
    return prefix + path[len("/v1"):] if prefix else path


# -- log: forwarded unchanged, finding recorded ------------------------------

@pytest.mark.parametrize("kind", ["aws", "github", "pem", "conn_password",
                                  "jwt", "email", "phone", "credit_card",
                                  "iban"])
@pytest.mark.parametrize("dialect", ["chat", "messages"])
def test_log_action_forwards_unchanged_and_records(pgw, mock, token,
                                                   user_agent, kind, dialect):
    factory, ftype = dict(sh.SECRETS, **sh.PII)[kind]
    value, finding = factory()
    placement = sh.PLACEMENT_BY_NAME["chat.user_content" if dialect == "chat"
                                     else "messages.tool_result_string"]
    raw = sh.dumps(placement.body("Here it is:\n" + value + "\n"))

    resp = sh.post(pgw, token, prefixed("/loose/v1", placement.path), raw,
                   user_agent)

    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.route == placement.path
    assert got.body == raw
    sh.assert_audit(pgw, user_agent, "allow", types=[ftype], status=200,
                    values=[finding], actions={ftype: "log"})


# -- redact for secrets, block for PII ----------------------------------------

@pytest.mark.parametrize("kind", ["aws", "github", "conn_password", "jwt"])
def test_secret_redact_action(pgw, mock, token, user_agent, kind):
    factory, ftype = sh.SECRETS[kind]
    value, finding = factory()
    placement = sh.PLACEMENT_BY_NAME["responses.function_call_output"]
    text = "config:\n" + value + "\nend"
    resp = sh.post(pgw, token, prefixed("/redact/v1", placement.path),
                   placement.body(text), user_agent)
    assert resp.status == 200, resp
    expected = placement.body(text.replace(finding,
                                           "[REDACTED_%s_1]" % ftype))
    got = sh.forwarded(mock)
    assert finding.encode() not in got.body
    assert got.json() == expected
    assert got.header("content-length") == str(len(got.body))
    sh.assert_audit(pgw, user_agent, "redact", types=[ftype],
                    values=[finding], actions={ftype: "redact"})


def test_private_key_redact_action_in_anthropic_tool_use(pgw, mock, token,
                                                         user_agent):
    pem = sh.private_key_pem()
    placement = sh.PLACEMENT_BY_NAME["messages.tool_use_input"]
    text = "cat > id_rsa <<EOF\n" + pem + "\nEOF"
    resp = sh.post(pgw, token, prefixed("/redact/v1", placement.path),
                   placement.body(text), user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert b"PRIVATE KEY" not in got.body and pem[40:80].encode() not in got.body
    assert got.json() == placement.body(
        text.replace(pem, "[REDACTED_PRIVATE_KEY_1]"))


@pytest.mark.parametrize("kind", sorted(sh.PII))
def test_pii_block_action(pgw, mock, token, user_agent, kind):
    factory, ftype = sh.PII[kind]
    value, _ = factory()
    placement = sh.PLACEMENT_BY_NAME["messages.system_string"]
    resp = sh.post(pgw, token, prefixed("/redact/v1", placement.path),
                   placement.body("Customer: " + value), user_agent)
    sh.assert_blocked(resp, "anthropic", ftype, mock, values=[value],
                      location="system", offset=len("Customer: "))
    sh.assert_audit(pgw, user_agent, "block", types=[ftype], values=[value])


# -- a stricter location for one group ----------------------------------------

def test_contractor_location_blocks_what_default_redacts(pgw, mock, token,
                                                         contractor,
                                                         user_agent):
    e = sh.email()
    body = chat("Please reply to " + e)
    resp = sh.post(pgw, contractor, "/contractors/v1/chat/completions", body,
                   user_agent)
    sh.assert_blocked(resp, "openai", "EMAIL", mock, values=[e],
                      location="messages[0].content")
    assert resp.json()["error"]["code"] == "email"
    sh.assert_audit(pgw, user_agent, "block", types=["EMAIL"])

    # the same body at the default location is redacted, not refused
    resp = sh.post(pgw, token, sh.CHAT, body, user_agent + "-default")
    assert resp.status == 200, resp
    assert sh.forwarded(mock).json() == chat(
        "Please reply to [REDACTED_EMAIL_1]")


def test_contractor_location_refuses_other_groups(pgw, mock, token,
                                                  user_agent):
    resp = sh.post(pgw, token, "/contractors/v1/chat/completions",
                   chat("hello"), user_agent)
    assert resp.status == 401, resp
    assert mock.requests == []


def test_contractor_location_keyword_blocks_in_anthropic(pgw, mock,
                                                         contractor,
                                                         user_agent):
    body = sh._anthropic([{"role": "user",
                           "content": "Draft the renewal for Initech."}])
    resp = sh.post(pgw, contractor, "/contractors/v1/messages", body,
                   user_agent)
    f = sh.assert_blocked(resp, "anthropic", "CUSTOMER", mock,
                          kind="policy_violation",
                          location="messages[0].content")
    assert f["rule"] == "customer-names"
    assert f["offset"] == len("Draft the renewal for ")
    assert f["length"] == len("Initech")


# -- per-type and per-rule overrides ---------------------------------------

def test_nested_location_type_override_logs_email_in_embeddings(
        pgw, mock, token, user_agent):
    e = sh.email()
    body = {"model": sh.EMBED_MODEL, "input": ["ticket from " + e, "thanks"]}
    raw = sh.dumps(body)
    resp = sh.post(pgw, token, sh.EMBEDDINGS, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(pgw, user_agent, "allow", types=["EMAIL"], values=[e],
                    actions={"EMAIL": "log"})
    # outside the nested location, the default (redact) still applies
    resp = sh.post(pgw, token, sh.COMPLETIONS,
                   {"model": sh.INSTRUCT, "prompt": "ticket from " + e},
                   user_agent + "-completions")
    assert resp.status == 200, resp
    assert sh.forwarded(mock, 2).json()["prompt"] == \
        "ticket from [REDACTED_EMAIL_1]"


def test_rule_override_beats_category(pgw, mock, token, user_agent):
    """github-pat-classic log beats the secret default (block); a second
    secret type in the same body still blocks."""
    gh = sh.github_token()
    raw = sh.dumps(chat("GH token " + gh))
    resp = sh.post(pgw, token, "/rules/v1/chat/completions", raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(pgw, user_agent, "allow", types=["GITHUB_TOKEN"],
                    actions={"GITHUB_TOKEN": "log"})

    aws = sh.aws_access_key_id()
    mock.reset()
    resp = sh.post(pgw, token, "/rules/v1/chat/completions",
                   chat("GH token %s and %s" % (gh, aws)), user_agent + "-2")
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock,
                      values=[gh, aws])
    assert resp.json()["error"]["code"] == "aws_access_key"


def test_type_override_beats_category(pgw, mock, token, user_agent):
    """pii log at /rules, but CREDIT_CARD block and EMAIL redact there;
    PHONE follows the category (log)."""
    card, e, ph = sh.credit_card(), sh.email(), sh.phone()
    raw = sh.dumps(chat("phone %s, mail %s" % (ph, e)))
    resp = sh.post(pgw, token, "/rules/v1/chat/completions", raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).json() == chat(
        "phone %s, mail [REDACTED_EMAIL_1]" % ph)
    sh.assert_audit(pgw, user_agent, "redact", types=["EMAIL", "PHONE"],
                    actions={"EMAIL": "redact", "PHONE": "log"})

    mock.reset()
    resp = sh.post(pgw, token, "/rules/v1/chat/completions",
                   chat("phone %s, card %s" % (ph, card)), user_agent + "-2")
    sh.assert_blocked(resp, "openai", "CREDIT_CARD", mock, values=[card])
    assert resp.json()["error"]["code"] == "credit_card"


def test_keyword_rule_redact_override(pgw, mock, token, user_agent):
    raw = sh.dumps(chat("Compare hooli's and Globex Industries' contracts"))
    resp = sh.post(pgw, token, "/rules/v1/chat/completions", raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).json() == chat(
        "Compare [REDACTED_CUSTOMER_1]'s and [REDACTED_CUSTOMER_2]' contracts")


# -- admin rules at the default location --------------------------------------

def test_admin_pattern_content_rule_is_policy_violation(pgw, mock, token,
                                                        user_agent):
    text = "Status of PRJ-ORION-042 rollout?"
    resp = sh.post(pgw, token, sh.CHAT, chat(text), user_agent)
    f = sh.assert_blocked(resp, "openai", "PROJECT_CODENAME", mock,
                          kind="policy_violation",
                          location="messages[0].content",
                          offset=text.index("PRJ"), length=len("PRJ-ORION-042"))
    assert f["rule"] == "project-codename"
    assert resp.json()["error"]["code"] == "project_codename"
    sh.assert_audit(pgw, user_agent, "block", types=["PROJECT_CODENAME"])


def test_admin_pattern_secret_rule_is_sensitive_data(pgw, mock, token,
                                                     user_agent):
    itk = "itk_" + sh.rnd("0123456789abcdef", 32)
    body = sh._anthropic([{"role": "user", "content": "token " + itk}])
    resp = sh.post(pgw, token, sh.MESSAGES, body, user_agent)
    f = sh.assert_blocked(resp, "anthropic", "INTERNAL_TOKEN", mock,
                          values=[itk], location="messages[0].content")
    assert f["rule"] == "internal-token"


def _encoded_codename(how):
    code = "PRJ-VEGA-" + sh.rnd("0123456789", 3)
    if how == "percent":
        return "".join("%%%02X" % ord(c) for c in code)
    if how == "word_joiner":
        return code[:6] + "\u2060" + code[6:]
    return code.replace("-", "%2D")


@pytest.mark.parametrize("how", ["percent", "word_joiner", "dash_escaped"])
def test_admin_pattern_is_found_in_decoded_views(pgw, mock, token, user_agent,
                                                 how):
    """The admin's patterns run on the decoded views as the built-in rules
    do: a codename written percent-encoded or with an invisible word
    joiner inside is blocked, and the finding covers its raw bytes."""
    hidden = _encoded_codename(how)
    text = "GET /status?project=%s&lang=en 200" % hidden
    resp = sh.post(pgw, token, sh.CHAT, chat(text), user_agent)
    f = sh.assert_blocked(resp, "openai", "PROJECT_CODENAME", mock,
                          kind="policy_violation",
                          location="messages[0].content",
                          offset=text.index(hidden), length=len(hidden.encode()))
    assert f["rule"] == "project-codename"
    sh.assert_audit(pgw, user_agent, "block", types=["PROJECT_CODENAME"])


@pytest.mark.parametrize("text,hit", [
    ("Ticket for INITECH, priority high", "INITECH"),
    ("globex industries renewal", "globex industries"),
    ("Hooli.", "Hooli"),
])
def test_keyword_list_whole_word_case_insensitive(pgw, mock, token,
                                                  user_agent, text, hit):
    resp = sh.post(pgw, token, sh.CHAT, chat(text), user_agent)
    sh.assert_blocked(resp, "openai", "CUSTOMER", mock,
                      kind="policy_violation", location="messages[0].content",
                      offset=text.index(hit), length=len(hit))
    assert resp.json()["error"]["code"] == "customer"


@pytest.mark.parametrize("text", [
    "Initechnology is not a customer", "PRJ-ORION-04 and XPRJ-VEGA-123x",
    "globex industrial park",
])
def test_keyword_and_pattern_near_misses_pass(pgw, mock, token, user_agent,
                                              text):
    raw = sh.dumps(chat(text))
    resp = sh.post(pgw, token, sh.CHAT, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw


@pytest.mark.parametrize("text,ftype,rule,placeholder", [
    # category given on the directive
    ("forward to mbx:jsmith/042 please", "EMAIL", "legacy-mailbox",
     "[REDACTED_EMAIL_1]"),
    # category left out: a built-in type keeps its own (PII -> redact), as
    # the rule-file format (docs/scan-engine.md) has it
    ("call me on ext.4711 please", "PHONE", "internal-extension",
     "[REDACTED_PHONE_1]"),
])
def test_admin_pattern_of_builtin_type_follows_that_type(pgw, mock, token,
                                                         user_agent, text,
                                                         ftype, rule,
                                                         placeholder):
    value = text.split()[-2]
    resp = sh.post(pgw, token, sh.CHAT, chat(text), user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).json() == chat(text.replace(value, placeholder))
    row = sh.assert_audit(pgw, user_agent, "redact", types=[ftype],
                          actions={ftype: "redact"})
    assert {f["rule"] for f in sh.findings_of(row)} == {rule}


def test_builtin_rules_off_keeps_admin_rules(gateway_factory, mock, minter,
                                             user_agent):
    g = gateway_factory.make(gateway_d={"40-scan-admin-only.conf":
                                        "LLMScanBuiltinRules Off\n"
                                        'LLMScanKeywords CUSTOMER c-names '
                                        'Initech\n'})
    tok = minter.mint(sub="scan-admin-only")
    aws = sh.aws_access_key_id()
    raw = sh.dumps(chat("key " + aws))
    resp = sh.post(g, tok, sh.CHAT, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    mock.reset()
    resp = sh.post(g, tok, sh.CHAT, chat("Initech renewal"), user_agent + "-2")
    sh.assert_blocked(resp, "openai", "CUSTOMER", mock,
                      kind="policy_violation")


def test_allow_pattern_lets_matching_values_through(pgw, mock, token,
                                                    user_agent):
    fixture_key = ALLOWED_AWS_PREFIX + sh.rnd(sh.BASE32, 5)
    bot = "qa-bot-%d@acme-corp.io" % (1000 + len(user_agent))
    raw = sh.dumps(chat("CI uses %s and mails %s" % (fixture_key, bot)))
    resp = sh.post(pgw, token, sh.CHAT, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(pgw, user_agent, "allow")


def test_allow_pattern_does_not_cover_other_values(pgw, mock, token,
                                                   user_agent):
    other = aws = sh.aws_access_key_id()
    resp = sh.post(pgw, token, sh.CHAT,
                   chat("key %s" % aws), user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[other])


def test_scan_off_location_forwards_everything(pgw, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    raw = sh.dumps(chat("key " + aws))
    resp = sh.post(pgw, token, "/off/v1/chat/completions", raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(pgw, user_agent, "allow")


# -- LLMScanDisable -----------------------------------------------------------

def test_disable_by_rule_id_and_type(gateway_factory, mock, minter,
                                     user_agent):
    g = gateway_factory.make(gateway_d={"40-scan-disable.conf":
                                        "LLMScanDisable phone\n"
                                        "LLMScanDisable JWT\n"})
    tok = minter.mint(sub="scan-disable")
    jwt, ph = sh.jwt_token(), sh.phone()
    raw = sh.dumps(chat("call %s, session %s" % (ph, jwt)))
    resp = sh.post(g, tok, sh.CHAT, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(g, user_agent, "allow")
    # the other rules are still on
    aws = sh.aws_access_key_id()
    resp = sh.post(g, tok, sh.CHAT, chat("key " + aws), user_agent + "-2")
    assert resp.status == 403, resp


# -- apachectl -t --------------------------------------------------------------

@pytest.mark.parametrize("line,needles", [
    ('LLMScanPattern BAD_RULE bad-rule "(unclosed[a-z]+"',
     ["LLMScanPattern", "missing closing parenthesis"]),
    ('LLMScanPattern BAD_RULE bad-rule "a{2,1}"',
     ["LLMScanPattern", "out of order"]),
    ('LLMScanAllow "foo(?<"', ["LLMScanAllow"]),
    ("LLMScanAction EMAIL quarantine", ["LLMScanAction", "quarantine"]),
    ("LLMScanAction secret", ["LLMScanAction"]),
    ("LLMScanDisable no-such-rule-xyz", ["LLMScanDisable",
                                         "no-such-rule-xyz"]),
    ("LLMScanDisable NOT_A_TYPE", ["LLMScanDisable", "NOT_A_TYPE"]),
    ('LLMScanPattern lower_case id "x"', ["LLMScanPattern", "lower_case"]),
    ("LLMScanKeywords CUSTOMER ids x", ["LLMScanKeywords", "too short"]),
    ("LLMScanInflate Maybe", ["LLMScanInflate"]),
])
def test_config_check_rejects_bad_scan_directive(gateway_factory, line,
                                                 needles):
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad-scan.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert "Syntax OK" not in out
    assert "99-bad-scan.conf" in out, out
    for n in needles:
        assert n in out, out


def test_config_check_accepts_the_policy(gateway_factory):
    g = gateway_factory.make(start=False,
                             gateway_d={"40-scan-policy.conf": POLICY})
    rc, out = g.check_config()
    assert rc == 0, out


# -- virtual hosts: rules per server, merged with the main server's -----------

def test_virtual_host_adds_its_own_rules(gateway_factory, mock, minter,
                                         user_agent):
    g = gateway_factory.make(start=False, gateway_d={
        "40-scan-main.conf": "LLMScanKeywords CUSTOMER main-customers "
                             "Initech\n"})
    g.extra_conf = (
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName 127.0.0.1\n"
        "</VirtualHost>\n"
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName strict.gateway.test\n"
        "    LLMScanKeywords PROJECT strict-projects Bluebird\n"
        "    LLMScanDisable EMAIL\n"
        "</VirtualHost>\n").format(port=g.port)
    g.start()
    tok = minter.mint(sub="scan-vhost")
    strict = {"Host": "strict.gateway.test"}

    # the vhost's own keyword list
    resp = sh.post(g, tok, sh.CHAT, chat("Bluebird launch plan"), user_agent,
                   headers=strict)
    sh.assert_blocked(resp, "openai", "PROJECT", mock,
                      kind="policy_violation")
    # the main server's list applies there too
    resp = sh.post(g, tok, sh.CHAT, chat("Initech renewal"),
                   user_agent + "-2", headers=strict)
    sh.assert_blocked(resp, "openai", "CUSTOMER", mock,
                      kind="policy_violation")
    # EMAIL is off in the vhost only
    e = sh.email()
    raw = sh.dumps(chat("mail " + e))
    resp = sh.post(g, tok, sh.CHAT, raw, user_agent + "-3", headers=strict)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw

    # the default host knows neither the vhost's list nor its disable
    mock.reset()
    raw = sh.dumps(chat("Bluebird launch plan"))
    resp = sh.post(g, tok, sh.CHAT, raw, user_agent + "-4")
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    mock.reset()
    resp = sh.post(g, tok, sh.CHAT, chat("mail " + e), user_agent + "-5")
    assert resp.status == 200, resp
    assert sh.forwarded(mock).json() == chat("mail [REDACTED_EMAIL_1]")


@pytest.mark.parametrize("line,needle", [
    ("LLMScanAction EMIAL block", "EMIAL"),            # typo of EMAIL
    ("LLMScanAction aws-acces-key-id log", "aws-acces-key-id"),
])
def test_config_check_rejects_action_for_unknown_type_or_rule(
        gateway_factory, line, needle):
    """A typo would silently leave the default action in place (here:
    e-mail addresses only redacted where the admin asked for a block)."""
    g = gateway_factory.make(start=False,
                             gateway_d={"99-bad-scan.conf": line + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert needle in out and "LLMScanAction" in out, out


def test_secret_redact_inside_function_arguments_keeps_them_json(
        pgw, mock, token, user_agent):
    pem = sh.private_key_pem()
    args = json.dumps({"path": "deploy/id_rsa", "content": pem})
    body = {"model": sh.GPT, "messages": [
        {"role": "user", "content": "write the key file"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_w", "type": "function", "function": {
                "name": "write_file", "arguments": args}}]},
        {"role": "tool", "tool_call_id": "call_w", "content": "written"}]}
    resp = sh.post(pgw, token, "/redact/v1/chat/completions", body,
                   user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock).json()
    new_args = got["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(new_args) == {"path": "deploy/id_rsa",
                                    "content": "[REDACTED_PRIVATE_KEY_1]"}


@pytest.mark.parametrize("lines,needle", [
    (['LLMScanPattern PROJECT proj "PRJ-[0-9]{3}"',
      'LLMScanPattern PROJECT proj "PRX-[0-9]{3}"'], "proj"),
    (['LLMScanKeywords CUSTOMER email Initech'], "email"),   # built-in id
])
def test_config_check_rejects_duplicate_rule_ids(gateway_factory, lines,
                                                  needle):
    """A rule id that is already taken: apachectl -t must say so, not
    pass the file and leave httpd unable to start."""
    g = gateway_factory.make(start=False, gateway_d={
        "99-bad-scan.conf": "\n".join(lines) + "\n"})
    rc, out = g.check_config()
    assert rc != 0, out
    assert needle in out and "already" in out, out


# -- the inner context wins ------------------------------------------------------

def test_inner_location_action_overrides_the_outer_one(gateway_factory, mock,
                                                       minter, user_agent):
    """httpd merging: a nested <Location> (or a <Location> under a
    server-wide setting) overrides the same key set outside it."""
    g = gateway_factory.make(gateway_d={"40-scan-nested.conf": (
        "LLMScanAction pii block\n"
        "<Location /v1>\n"
        "    LLMScanAction EMAIL block\n"
        "</Location>\n"
        "<Location /v1/embeddings>\n"
        "    LLMScanAction EMAIL log\n"
        "    LLMScanAction pii redact\n"
        "</Location>\n")})
    tok = minter.mint(sub="scan-nested")
    e, ph = sh.email(), sh.phone()
    body = {"model": sh.EMBED_MODEL, "input": "mail %s phone %s" % (e, ph)}
    resp = sh.post(g, tok, sh.EMBEDDINGS, body, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).json() == {
        "model": sh.EMBED_MODEL,
        "input": "mail %s phone [REDACTED_PHONE_1]" % e}
    # outside the inner location the outer settings hold
    mock.reset()
    resp = sh.post(g, tok, sh.COMPLETIONS, {"model": sh.INSTRUCT,
                                            "prompt": "phone " + ph},
                   user_agent + "-2")
    sh.assert_blocked(resp, "openai", "PHONE", mock, values=[ph])


def test_stricter_inner_location_is_not_ignored(gateway_factory, mock,
                                                minter, user_agent):
    """The fail-open side of the same merge: a server-wide 'pii log' must
    not override a stricter '<Location>' for contractors."""
    g = gateway_factory.make(gateway_d={"40-scan-strict.conf": (
        "LLMScanAction pii log\n"
        "LLMRouteAllowModels contractors *\n" +
        sh.location("/contractors/v1", "    LLMScanAction pii block",
                    require="        Require oauth2_claim groups:contractors"))})
    tok = minter.mint(sub="ext-1", groups=["contractors"])
    e = sh.email()
    resp = sh.post(g, tok, "/contractors/v1/chat/completions",
                   {"model": sh.GPT, "messages": [
                       {"role": "user", "content": "mail " + e}]},
                   user_agent)
    sh.assert_blocked(resp, "openai", "EMAIL", mock, values=[e])
