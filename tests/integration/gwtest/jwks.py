"""An https JWKS endpoint for the suite's signing keys.

This serves the minter's keys (RS256 and ES256) as a JWK set over TLS with
a throw-away self-signed certificate; ``httpd_conf()`` is a server-wide
``OAuth2TokenVerify jwks_uri`` with ``jwks_uri.ssl_verify=false`` to accept
it, added after the sample's development key.  It is what production looks
like (the IdP's JWKS URI)::

    jwks = JwksServer(minter).start()
    gateway_d={"11-jwks.conf": jwks.httpd_conf()}
"""

import base64
import datetime
import json
import os
import shutil
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .ports import LOOPBACK


def _b64(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(n.to_bytes(length, "big")).rstrip(
        b"=").decode()


def jwk_for(signing_key):
    """The public JWK of a gwtest.tokens.SigningKey."""
    pub = signing_key.private_key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": signing_key.kid, "use": "sig",
                "alg": "RS256", "n": _b64(n.n), "e": _b64(n.e)}
    n = pub.public_numbers()
    return {"kty": "EC", "kid": signing_key.kid, "use": "sig",
            "alg": "ES256", "crv": "P-256", "x": _b64(n.x, 32),
            "y": _b64(n.y, 32)}


def _self_signed_tls(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, "jwks-tls.crt")
    key_path = os.path.join(directory, "jwks-tls.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.fetches += 1
        body = json.dumps(self.server.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class JwksServer:
    """Serves ``{"keys": [...]}`` for the given SigningKeys at /jwks over
    https on a free loopback port.  ``keys`` defaults to the minter's RS256
    and ES256 keys (not ``other_key``)."""

    def __init__(self, minter, keys=None):
        keys = keys or [minter.rsa_key, minter.es256_key]
        self._dir = tempfile.mkdtemp(prefix="llmgw-jwks-")
        cert, key = _self_signed_tls(self._dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
        self._server.socket = ctx.wrap_socket(self._server.socket,
                                              server_side=True)
        self._server.daemon_threads = True
        self._server.jwks = {"keys": [jwk_for(k) for k in keys]}
        self._server.fetches = 0
        self.port = self._server.server_address[1]

    @property
    def url(self):
        return "https://%s:%d/jwks" % (LOOPBACK, self.port)

    @property
    def fetches(self):
        """How often httpd fetched the key set."""
        return self._server.fetches

    def httpd_conf(self):
        return ("OAuth2TokenVerify jwks_uri %s "
                "jwks_uri.ssl_verify=false&jwks_uri.expiry=3600\n" % self.url)

    def start(self):
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="jwks").start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)
