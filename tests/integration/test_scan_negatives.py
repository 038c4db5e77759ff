"""mod_llm_scan: the hard negatives coding agents send all day pass
unchanged -- the provider receives the client's exact bytes, and the audit
row says "allow" with no findings.  Each would be a false alarm that makes
developers route around the gateway.
"""

import datetime
import hashlib
import json
import uuid

import pytest

import scan_helpers as sh


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-negatives", groups=["developers"])


def public_certificate_and_key():
    """A freshly made self-signed certificate and its public key, PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "build.internal")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return cert_pem, pub_pem


def _git_sha():
    return hashlib.sha1(uuid.uuid4().bytes).hexdigest()


NEGATIVES = {
    "uuid": lambda: "request id %s failed, retry %s" % (uuid.uuid4(),
                                                         uuid.uuid4()),
    "git_sha": lambda: "commit %s\nMerge: %s %s\n" % (
        _git_sha(), _git_sha()[:7], _git_sha()[:7]),
    "sha256": lambda: "sha256:%s  dist/app.tar.gz\nintegrity sha512-%s" % (
        hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        "q0mpUKJ4d6zS1d3tu8hQ5ezyxm0eGkHK6f6IdIHPXj7ZCNFnHA4Uk2qXnVZiTqw0"
        "3Nzw6YVsFlNnp1rxjSxtVQ=="),
    "versions": lambda: ("requests==2.31.0\nnumpy>=1.26.4,<2\n"
                         "node v20.11.1, Windows 10.0.19041.3803, "
                         "kernel 6.1.0-18-amd64, chrome 121.0.6167.160"),
    "aws_example_keys": lambda: (
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    "stripe_test_card": lambda: (
        "Use 4242 4242 4242 4242 with any CVC; 4242424242424242 in fixtures"),
    "example_email": lambda: (
        "git config user.email user@example.com; contact admin@example.org"),
    "fictional_phone": lambda: "Call 555-0123 or (212) 555-0199 for a demo",
    "decorators": lambda: (
        "@app.route('/health')\n@pytest.fixture(scope='module')\n"
        "@Override\npublic String toString() {}\n@dataclass(frozen=True)"),
    "npm_scopes": lambda: (
        'import { Component } from "@angular/core";\n'
        "npm i -D @types/node @babel/preset-env @scope/pkg@1.2.3"),
    "masked_values": lambda: (
        "card ending ****1234, account ****-****-****-9876, "
        "token sk-...abcd, password: ********"),
    "localhost_and_private_ips": lambda: (
        "listening on 127.0.0.1:8080 and 10.0.3.17, gateway 192.168.1.1, "
        "resolver 8.8.8.8"),
    "public_certificate": lambda: public_certificate_and_key()[0],
    "public_key": lambda: public_certificate_and_key()[1],
    "ssh_public_key": lambda: (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s deploy@ci" %
        hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:43]),
    "hashes_assigned_to_key_names": lambda: (
        'etag = "%s"\ncache_key: %s\nsecret_hash = "%s"\n' % (
            hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            hashlib.md5(uuid.uuid4().bytes).hexdigest())),
    "base64_data_url_and_numbers": lambda: (
        'img = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAf'
        'FcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="\n'
        "ISBN 978-3-16-148410-0, ts 1700000000123, order 40000000000000000001"),
    "code_with_env_lookups": lambda: (
        'password = os.environ["DB_PASSWORD"]\n'
        "api_key = config.get('api_key')\n"
        "token: ${{ secrets.GITHUB_TOKEN }}\n"
        "const secret = process.env.SESSION_SECRET;\n"),
}


@pytest.mark.parametrize("dialect", ["chat", "messages"])
@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_hard_negative_passes_unchanged(gateway, mock, token, user_agent,
                                        name, dialect):
    text = NEGATIVES[name]()
    placement = sh.PLACEMENT_BY_NAME["chat.tool_result" if dialect == "chat"
                                     else "messages.tool_result_string"]
    raw = sh.dumps(placement.body(text))

    resp = sh.post(gateway, token, placement.path, raw, user_agent)

    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.body == raw, "the provider must get the client's bytes"
    sh.assert_audit(gateway, user_agent, "allow", status=200)


def test_realistic_agent_turn_without_secrets_passes_unchanged(
        gateway, mock, token, user_agent):
    """A whole Claude Code-like turn: numbered file read, diff, log with a
    stack trace, package manifest.  No finding."""
    cert, _ = public_certificate_and_key()
    numbered = "".join("%6d\t%s\n" % (i + 1, line) for i, line in enumerate([
        "import { Injectable } from '@angular/core';",
        "@Injectable({ providedIn: 'root' })",
        "export class Api {",
        "  // see https://docs.example.com/v2.3.1/auth",
        "  readonly id = '%s';" % uuid.uuid4(),
        "  constructor(private http: HttpClient) {}",
        "}"]))
    diff = ("diff --git a/pkg.json b/pkg.json\nindex %s..%s 100644\n"
            "--- a/pkg.json\n+++ b/pkg.json\n@@ -3 +3 @@\n"
            '-    "@types/node": "^20.11.0",\n+    "@types/node": "^20.11.5",\n'
            % (_git_sha()[:7], _git_sha()[:7]))
    log = ("2024-03-01T12:00:00Z ERROR request_id=%s took 1532ms\n"
           "Traceback (most recent call last):\n"
           '  File "/srv/app/views.py", line 88, in handler\n'
           "KeyError: 'user_id'\n" % uuid.uuid4())
    body = sh._anthropic([
        {"role": "user", "content": [{"type": "text", "text": "Fix the bug"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "Read",
             "input": {"file_path": "/srv/app/api.ts"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1",
             "content": numbered},
            {"type": "text", "text": diff + "\n" + log + "\n" + cert}]}],
        system="You are Claude Code. Today is 2024-03-01.",
        tools=[sh.TOOL_DEF_ANTHROPIC])
    raw = json.dumps(body, separators=(",", ":")).encode()
    resp = sh.post(gateway, token, sh.MESSAGES, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(gateway, user_agent, "allow")
