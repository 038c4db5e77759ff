"""mod_llm_scan, default policy, issue 12: secrets that stand in commands,
calls and files rather than in "name = value" (a password given to
mysql -p'...', a .netrc read with line numbers, a password passed by
position to an SMTP login, an encrypted or base64 private key, a Stripe
test-mode key, an AWS secret passed next to its key id, a docker auth in
base64, a Secret as kubectl prints it in JSON, base64 of a connection
string in a variable) are blocked in the caller's dialect (Chat Completions, Messages,
Responses) with nothing reaching the provider; a Brazilian mobile number
on a vCard line is redacted, and so is an address hidden by an invisible
word joiner or by percent-encoding, every byte of it; and the look-alikes
that used to be false alarms (barcodes in product data, Twilio account
SIDs, environment lookups, *** masks) reach the provider as the client
sent them.  Also a password given with no word for password ("user alice
/ ..."), a vendor's 32-hex key passed over several lines, and their
look-alikes.  llm-scan reports, for every one of these texts, exactly
what the gateway found.  Values are made at run time.
"""

import base64
import json
import os
import secrets
import string
import subprocess

import pytest

import scan_helpers as sh

DIALECTS = {"chat": "chat.tool_result", "messages": "messages.tool_result_string",
            "responses": "responses.function_call_output"}


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-commands", groups=["developers"])


def password():
    """Letters, digits and a symbol; never a placeholder word."""
    return (sh.rnd(string.ascii_uppercase, 2) + sh.rnd(string.digits, 2)
            + "!" + sh.rnd(string.ascii_lowercase, 3) + sh.rnd(sh.ALNUM, 4))


def aws_secret():
    """40 characters of base64 with a digit and both cases (a value
    without a digit does not look machine-made to the engine)."""
    return (sh.rnd(sh.ALNUM + "+/", 37) + sh.rnd(string.digits, 1)
            + sh.rnd(string.ascii_uppercase, 1) + sh.rnd(string.ascii_lowercase, 1))


def pem_lines(n):
    return "\n".join(base64.b64encode(secrets.token_bytes(48)).decode()
                     for _ in range(n))


# kind -> () -> (tool output text, [(type, value reported)])
def _mysql():
    pw = password()
    return ("$ mysql -u root -p'%s' -h db.internal shop < dump.sql\n"
            "ERROR 1045 (28000): Access denied" % pw, [("PASSWORD", pw)])


def _netrc_numbered():
    pw = password()
    return ("     1\tmachine git.internal.acme-corp.com\n"
            "     2\t  login ci-bot\n     3\t  password %s\n" % pw,
            [("PASSWORD", pw)])


def _smtp_login():
    pw = password()
    return ('server = smtplib.SMTP("smtp.acme-corp.com", 587)\n'
            'server.login("alerts", "%s")\n' % pw, [("PASSWORD", pw)])


def _stripe_test_key():
    key = "sk_test_51" + sh.rnd(sh.ALNUM, 40)
    return "STRIPE_SECRET_KEY=%s\n" % key, [("STRIPE_KEY", key)]


def _encrypted_key():
    block = ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n%s\n"
             "-----END ENCRYPTED PRIVATE KEY-----" % pem_lines(6))
    return "cat deploy/key.pem\n" + block + "\n", [("PRIVATE_KEY", block)]


def _kubeconfig_key():
    pem = ("-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----\n"
           % pem_lines(3))
    b64 = base64.b64encode(pem.encode()).decode()
    return ("users:\n- name: admin\n  user:\n    client-key-data: %s\n" % b64,
            [("PRIVATE_KEY", b64)])


def _aws_positional():
    kid, sec = sh.aws_access_key_id(), aws_secret()
    return ('return new BasicAWSCredentials("%s", "%s");\n' % (kid, sec),
            [("AWS_ACCESS_KEY", kid), ("AWS_SECRET_KEY", sec)])


def _docker_auth():
    auth = base64.b64encode(("deploy:" + password()).encode()).decode()
    return ('{"auths": {"registry.acme-corp.com": {"auth": "%s"}}}\n' % auth,
            [("PASSWORD", auth)])


def _account_prose():
    pw = password()
    return ("staging is back. user alice / %s for the admin UI\n" % pw,
            [("PASSWORD", pw)])


def _vendor_hex_key():
    key = sh.rnd("0123456789abcdef", 31) + sh.rnd("abcdef", 1)
    return ("# Mixpanel project token (server events only)\n"
            "mp = Mixpanel(\n    \"%s\",\n)\n" % key,
            [("GENERIC_SECRET", key)])


def _kubectl_secret_json():
    """kubectl get secret -o json: data comes before kind, in JSON."""
    url = base64.b64encode(("postgres://orders:%s@db:5432/orders"
                            % sh.rnd(sh.ALNUM, 14)).encode()).decode()
    text = json.dumps({"apiVersion": "v1",
                       "data": {"DATABASE_URL": url,
                                "username": "b3JkZXJz"},
                       "kind": "Secret",
                       "metadata": {"name": "orders-db"},
                       "type": "Opaque"}, indent=4) + "\n"
    return text, [("PASSWORD", url)]


def _base64_env_value():
    """base64 of a connection string in a variable, no other cue."""
    url = base64.b64encode(("postgresql://ci:%s@pg:5432/app"
                            % sh.rnd(sh.ALNUM, 15)).encode()).decode()
    return ("export DATABASE_URL_B64=%s\n" % url, [("PASSWORD", url)])


BLOCKED = {
    "account_prose_no_cue": _account_prose,
    "vendor_hex_key_multiline": _vendor_hex_key,
    "docker_auth_base64": _docker_auth,
    "kubectl_secret_json": _kubectl_secret_json,
    "base64_env_value": _base64_env_value,
    "mysql_flag": _mysql,
    "netrc_numbered": _netrc_numbered,
    "smtp_login_positional": _smtp_login,
    "stripe_test_key": _stripe_test_key,
    "encrypted_private_key": _encrypted_key,
    "kubeconfig_client_key": _kubeconfig_key,
    "aws_secret_positional": _aws_positional,
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("kind", sorted(BLOCKED))
def test_secret_in_tool_output_is_blocked(gateway, mock, token, user_agent,
                                          kind, dialect):
    text, expected = BLOCKED[kind]()
    placement = sh.PLACEMENT_BY_NAME[DIALECTS[dialect]]
    values = [v for _, v in expected]

    resp = sh.post(gateway, token, placement.path, placement.body(text),
                   user_agent)

    for ftype, value in expected:
        sh.assert_blocked(resp, placement.family, ftype, mock, values=values,
                          location=placement.location,
                          offset=text.index(value), length=len(value))
    sh.assert_audit(gateway, user_agent, "block", status=403,
                    types=[t for t, _ in expected], values=values)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_brazilian_mobile_on_vcard_is_redacted(gateway, mock, token,
                                               user_agent, dialect):
    number = "(11) 9%s-%s" % (sh.rnd(string.digits, 4), sh.rnd(string.digits, 4))
    text = "BEGIN:VCARD\nFN:Mariana Costa\nTEL;TYPE=CELL:%s\nEND:VCARD\n" % number
    placement = sh.PLACEMENT_BY_NAME[DIALECTS[dialect]]
    expected = placement.body(text.replace(number, "[REDACTED_PHONE_1]"))

    resp = sh.post(gateway, token, placement.path, placement.body(text),
                   user_agent)

    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert number.encode() not in got.body
    assert got.json() == expected
    sh.assert_audit(gateway, user_agent, "redact", status=200, types=["PHONE"],
                    values=[number])


def _hidden_address(how):
    local = sh.rnd(string.ascii_lowercase, 5) + "." + sh.rnd(string.ascii_lowercase, 6)
    domain = sh.rnd(string.ascii_lowercase, 6) + "-corp.io"
    if how == "word_joiner":
        # U+2060 after the first letters: the engine used to report only
        # the part after it, and the start reached the provider
        head = local[:3] + "\u2060"
        return head + local[3:] + "@" + domain, head
    return local + "%40" + domain, local + "%40"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("how", ["word_joiner", "percent_encoded"])
def test_hidden_address_is_redacted_whole(gateway, mock, token, user_agent,
                                          how, dialect):
    addr, head = _hidden_address(how)
    text = "GET /invite?to=%s&lang=en 200\n" % addr
    placement = sh.PLACEMENT_BY_NAME[DIALECTS[dialect]]
    expected = placement.body(text.replace(addr, "[REDACTED_EMAIL_1]"))

    resp = sh.post(gateway, token, placement.path, placement.body(text),
                   user_agent)

    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.json() == expected
    for text_seen in sh.walk_strings(got.json()):
        assert head not in text_seen, "a piece of the address leaked"
    sh.assert_audit(gateway, user_agent, "redact", status=200, types=["EMAIL"],
                    values=[addr])


def _luhn_ok(s):
    total = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if i % 2:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return total % 10 == 0


def _ean13_like_card():
    """An EAN-13 of a German article number that is also Luhn-valid and
    Visa-shaped: what the engine used to call a card."""
    while True:
        body = "40" + sh.rnd(string.digits, 10)
        s = sum(int(c) * (3 if i % 2 == 0 else 1)
                for i, c in enumerate(reversed(body)))
        v = body + str((10 - s % 10) % 10)
        if _luhn_ok(v):
            return v


NOT_FINDINGS = {
    "product_barcodes": lambda: "sku,name,ean,price\n" + "".join(
        "WID-%d,Widget %d,%s,9.99\n" % (k, k, _ean13_like_card())
        for k in range(3)),
    "twilio_account_sid": lambda: (
        'TWILIO_ACCOUNT_SID = "AC%s"  # twilio\n'
        'client = Client(TWILIO_ACCOUNT_SID, os.environ["TWILIO_AUTH_TOKEN"])\n'
        % sh.rnd("0123456789abcdef", 32)),
    "env_references": lambda: (
        "DB_PASSWORD = env('DB_PASSWORD', default='')\n"
        'SMTP_PASSWORD = os.getenv("SMTP_PASSWORD")\n'
        "password: ${POSTGRES_PASSWORD}\n"),
    "masked_remote": lambda: (
        "origin  https://x-access-token:***@github.com/acme/shop.git (fetch)\n"
        'password: "****"\n'),
    "vendor_digests": lambda: (
        '# datadog-agent download\nverify_md5("datadog-agent.deb", "%s")\n'
        '# mixpanel\nmp.track("%s", "Signed Up")\n'
        % (sh.rnd("0123456789abcdef", 32), sh.rnd("0123456789abcdef", 32))),
    "base64_harmless_url": lambda: (
        "export DOCS_URL_B64=%s\n" % base64.b64encode(
            b"https://docs.acme-corp.com/ci/variables").decode()),
    "account_prose": lambda: (
        "The user guide / FAQ-2024 covers login problems.\n"
        "user alice / Group-Admins-2024, login: bob / see the vault\n"
        "user root / uid 0, account svc-deploy, created 2024-05-01\n"),
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("name", sorted(NOT_FINDINGS))
def test_former_false_alarm_passes_unchanged(gateway, mock, token, user_agent,
                                             name, dialect):
    placement = sh.PLACEMENT_BY_NAME[DIALECTS[dialect]]
    raw = sh.dumps(placement.body(NOT_FINDINGS[name]()))

    resp = sh.post(gateway, token, placement.path, raw, user_agent)

    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw, "the provider must get the client's bytes"
    sh.assert_audit(gateway, user_agent, "allow", status=200)


def _llm_scan_bin():
    build = os.environ.get("LLM_GW_BUILD_DIR") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build")
    path = os.path.join(build, "tools", "llm-scan", "llm-scan")
    assert os.access(path, os.X_OK), "llm-scan not built at %s" % path
    return path


def _llm_scan(text):
    """(type, byte offset, rule) of each finding llm-scan prints."""
    data = text.encode()
    out = subprocess.run([_llm_scan_bin(), "-"], input=data,
                         capture_output=True, timeout=60)
    assert out.returncode in (0, 1), out.stderr
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    found = []
    for line in out.stdout.decode().splitlines():
        where, rest = line.split(": ", 1)
        _, ln, col = where.rsplit(":", 2)
        ftype, rule = rest.split(" ")[:2]
        found.append((ftype, starts[int(ln) - 1] + int(col) - 1, rule))
    return sorted(found)


@pytest.mark.parametrize("kind", sorted(BLOCKED) + sorted(NOT_FINDINGS))
def test_llm_scan_agrees_with_the_gateway(gateway, mock, token, user_agent,
                                          kind):
    """The command and the gateway run the same engine with the same
    views: the same findings, at the same offsets, for each text."""
    text = (BLOCKED[kind]()[0] if kind in BLOCKED else NOT_FINDINGS[kind]())
    placement = sh.PLACEMENT_BY_NAME[DIALECTS["chat"]]

    resp = sh.post(gateway, token, placement.path, placement.body(text),
                   user_agent)

    if resp.status == 200:
        gw = []
    else:
        assert resp.status == 403, resp
        gw = sorted((f["type"], f["offset"], f["rule"])
                    for f in sh.error_of(resp, "openai")["findings"])
    assert _llm_scan(text) == gw
    assert (gw != []) == (kind in BLOCKED)
