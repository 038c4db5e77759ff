"""A real OpenID Provider for the single sign-on tests.

``tests/idp/op.mjs`` runs oidc-provider (npm, installed by
``tests/idp/install.sh`` into tests/idp/node_modules) on 127.0.0.1 over
https with a throw-away certificate.  This class writes its configuration,
starts it, waits for its "ready <port>" line, and offers what tests need:
the endpoints, the test-only key controls (rotate, retire, JWKS outage,
expire refresh tokens), tokens by client credentials, and the httpd
configuration that makes the gateway verify tokens from the OP's JWKS.

    op = OpenIdProvider(tmpdir, accounts={"alice": {...}}).start()
    gateway_d={"11-op.conf": op.httpd_conf()}
"""

import datetime
import ipaddress
import json
import os
import secrets
import select
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from .httpd import REPO_ROOT

def _loopback_tls(directory):
    """A self-signed certificate valid for 127.0.0.1 (an IP SAN, so curl,
    Python and chromium accept it as their CA) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, "op-tls.crt")
    key_path = os.path.join(directory, "op-tls.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


IDP_DIR = os.path.join(REPO_ROOT, "tests", "idp")
AUDIENCE = "llm-gateway"
CLI_CLIENT = "llm-gateway-cli"
CI_CLIENT = "ci-llm-review"
WEB_CLIENT = "llm-gateway-web"

DEFAULT_ACCOUNTS = {
    "alice": {"groups": ["developers"]},
    "bob": {"groups": ["ml team", "ci-bots"]},
    "root": {"groups": ["developers", "llm-admins"]},
}


def install_idp():
    """Install oidc-provider and playwright-core (idempotent); raises with
    npm's output when that fails, so a test errors rather than skips."""
    proc = subprocess.run(["sh", os.path.join(IDP_DIR, "install.sh")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("tests/idp/install.sh failed:\n%s%s"
                           % (proc.stdout, proc.stderr))


class OpenIdProvider:
    """oidc-provider in a node child process (see module doc).

    ``accounts``: {login: {"groups": [...], "password": ...}} (password
    defaults to a random one, ``op.password(login)``).  ``ttl``:
    {"accessToken": s, "refreshToken": s}.  ``web_redirect_uris``: redirect
    URIs of the confidential browser client ``llm-gateway-web``.
    """

    def __init__(self, accounts=None, ttl=None, web_redirect_uris=None):
        self.dir = tempfile.mkdtemp(prefix="llmgw-op-")
        os.chmod(self.dir, 0o755)
        self.tls_cert, self.tls_key = _loopback_tls(self.dir)
        os.chmod(self.tls_cert, 0o644)
        self.accounts = {}
        for login, a in (accounts or DEFAULT_ACCOUNTS).items():
            a = dict(a)
            a.setdefault("password", secrets.token_urlsafe(12))
            self.accounts[login] = a
        self.ci_secret = secrets.token_urlsafe(24)
        self.web_secret = secrets.token_urlsafe(24)
        self.ttl = ttl or {}
        self.web_redirect_uris = web_redirect_uris or ["https://127.0.0.1/unused"]
        self.proc = None
        self.port = None
        self._stderr = []

    # -- life cycle -------------------------------------------------------
    def _config(self):
        return {
            "tlsCert": self.tls_cert, "tlsKey": self.tls_key,
            "audience": AUDIENCE, "cookieKey": secrets.token_hex(16),
            "accounts": self.accounts, "ttl": self.ttl,
            "clients": [
                {"client_id": CLI_CLIENT, "token_endpoint_auth_method": "none",
                 "grant_types": [
                     "urn:ietf:params:oauth:grant-type:device_code",
                     "refresh_token"],
                 "response_types": [], "redirect_uris": []},
                {"client_id": CI_CLIENT, "client_secret": self.ci_secret,
                 "grant_types": ["client_credentials"],
                 "response_types": [], "redirect_uris": [],
                 "groups": ["ci-bots"]},
                {"client_id": WEB_CLIENT, "client_secret": self.web_secret,
                 "grant_types": ["authorization_code", "refresh_token"],
                 "response_types": ["code"],
                 "redirect_uris": self.web_redirect_uris,
                 "post_logout_redirect_uris": self.web_redirect_uris},
            ],
        }

    def start(self, timeout=30.0):
        install_idp()
        path = os.path.join(self.dir, "op.json")
        with open(path, "w") as f:
            json.dump(self._config(), f)
        os.chmod(path, 0o600)
        self.proc = subprocess.Popen(
            ["node", os.path.join(IDP_DIR, "op.mjs"), path],
            cwd=IDP_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        line = ""
        # Wait for the "ready" line, the OP's exit, or the deadline.
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [],
                                              left)[0]:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("ready "):
                self.port = int(line.split()[1])
                return self
        self.stop()
        raise RuntimeError("OP did not start (%r): %s"
                           % (line, "".join(self._stderr)[-2000:]))

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr_text(self):
        return "".join(self._stderr)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- addresses --------------------------------------------------------
    @property
    def issuer(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def jwks_uri(self):
        return self.issuer + "/jwks"

    def password(self, login):
        return self.accounts[login]["password"]

    def httpd_conf(self):
        """Verify gateway tokens with the OP's published keys (the way
        production does); the OP's certificate is self-signed."""
        return ("OAuth2TokenVerify jwks_uri %s "
                "jwks_uri.ssl_verify=false&jwks_uri.expiry=3600\n" % self.jwks_uri)

    def defines(self):
        return {"LLM_GW_JWT_ISSUER": self.issuer,
                "LLM_GW_JWT_AUDIENCE": AUDIENCE}

    # -- HTTP -------------------------------------------------------------
    def ssl_context(self):
        return ssl.create_default_context(cafile=self.tls_cert)

    def request(self, method, path, form=None, auth=None):
        """(status, parsed JSON or text) of a request to the OP."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.issuer + path, data=data, method=method)
        if auth:
            import base64
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % auth).encode()).decode())
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(),
                                        timeout=15) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode("utf-8", "replace")

    def admin(self, action, **form):
        status, body = self.request("POST", "/__admin/" + action, form)
        assert status == 200, (action, status, body)
        return body

    def signing_kids(self):
        status, body = self.request("GET", "/__admin/keys")
        assert status == 200, body
        return body["kids"]

    def rotate(self):
        """A new signing key; the old ones stay published.  Returns the
        new key's kid."""
        return self.admin("rotate")["kids"][0]

    def retire(self, kid):
        return self.admin("retire", kid=kid)

    def jwks_down(self, down=True):
        return self.admin("jwks", down="1" if down else "0")

    def expire_refresh_tokens(self):
        return self.admin("expire-refresh-tokens")

    def client_credentials_token(self):
        status, body = self.request(
            "POST", "/token", {"grant_type": "client_credentials",
                               "scope": "llm"},
            auth=(CI_CLIENT, self.ci_secret))
        assert status == 200, body
        return body["access_token"]


def browser(job, timeout=60):
    """Run one job of tests/idp/browser.mjs (Debian's chromium through
    playwright-core); returns its JSON result, raising when it failed."""
    proc = subprocess.run(["node", os.path.join(IDP_DIR, "browser.mjs"),
                           json.dumps(job)], cwd=IDP_DIR,
                          capture_output=True, text=True, timeout=timeout)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"ok": False, "error": "no result"}
    if proc.returncode != 0 or not result.get("ok"):
        raise AssertionError("browser job %s failed: %s\n%s"
                             % (job.get("job"), result, proc.stderr[-2000:]))
    return result
