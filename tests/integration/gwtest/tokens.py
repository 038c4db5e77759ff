"""Test signing keys and JWT minting for the gateway's bearer check (mod_oauth2).

The gateway never sees a real IdP in tests: the suite generates its own RSA
(RS256) and EC (ES256) keys per session (with self-signed certificates),
hands the RSA key to httpd as a JWK (``LLM_GW_JWT_JWK``, gwtest/httpd.py) and
the ES256 one through a JWKS URI (gwtest/jwks.py), and mints tokens signed by those keys.  The "bad" variants (expired, wrong
issuer, other key, alg none, ...) are built here so every test refuses the
same way.

Only python3-cryptography is used (no PyJWT on Debian's python3 by default).
"""

import base64
import datetime
import json
import os
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DEFAULT_ISSUER = "https://idp.llm-gateway.test"
DEFAULT_AUDIENCE = "llm-gateway"


def b64url(data):
    """Base64url without padding, as JOSE wants it."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_segment(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


class SigningKey:
    """One private key, its self-signed certificate on disk, and its kid.

    ``alg`` is RS256 or ES256.  ``cert_path``: its certificate (PEM), for
    tools that want one; httpd gets the public key as a JWK (gwtest.jwks).
    """

    def __init__(self, directory, kid, alg="RS256"):
        self.kid = kid
        self.alg = alg
        if alg == "RS256":
            self.private_key = rsa.generate_private_key(public_exponent=65537,
                                                        key_size=2048)
        elif alg == "ES256":
            self.private_key = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError("unsupported alg %r" % alg)
        self.cert_path = os.path.join(directory, "%s.crt" % kid)
        self.key_path = os.path.join(directory, "%s.key" % kid)
        self._write(directory)

    def _write(self, directory):
        os.makedirs(directory, exist_ok=True)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "llm-gateway test %s" % self.kid)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name)
                .public_key(self.private_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .sign(self.private_key, hashes.SHA256()))
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(self.key_path, "wb") as f:
            f.write(self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        # httpd reads the certificate as root at startup, but keep it
        # world-readable so a child running as www-data could too.
        os.chmod(self.cert_path, 0o644)
        os.chmod(self.key_path, 0o600)

    def sign(self, signing_input):
        if self.alg == "RS256":
            return self.private_key.sign(signing_input, padding.PKCS1v15(),
                                         hashes.SHA256())
        der = self.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        # JOSE wants the raw 64-byte r||s, not DER.
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class TokenMinter:
    """Mints JWTs for the gateway's tests.

    ``mint()`` gives a valid token for the configured issuer/audience; its
    keyword arguments produce every refusal case the suite needs::

        minter.mint(sub="alice", groups=["developers"])
        minter.mint(expired=True)            # exp in the past
        minter.mint(not_yet_valid=True)      # nbf (and iat) in the future
        minter.mint(iss="https://evil")      # wrong issuer
        minter.mint(aud="someone-else")      # wrong audience
        minter.mint(key=minter.other_key)    # signed by a key httpd does not trust
        minter.mint(alg_none=True)           # unsigned token, alg "none"
        minter.mint(key=minter.es256_key)    # ES256 (trusted key)
    """

    def __init__(self, directory, issuer=DEFAULT_ISSUER,
                 audience=DEFAULT_AUDIENCE, rsa_kid="dev"):
        self.directory = directory
        self.issuer = issuer
        self.audience = audience
        # kid "dev", as the development key of the quick start
        # (scripts/dev-keys.sh); httpd gets it as LLM_GW_JWT_JWK.
        self.rsa_key = SigningKey(directory, rsa_kid, "RS256")
        # ES256: served as a JWK from an https JWKS URI (gwtest.jwks).
        self.es256_key = SigningKey(directory, "test-es256", "ES256")
        # Same kid as the trusted key on purpose: the refusal must come from
        # the signature check, not from an unknown kid.
        self.other_key = SigningKey(os.path.join(directory, "untrusted"),
                                    rsa_kid, "RS256")

    def claims(self, sub="alice", email=None, preferred_username=None,
               groups=("developers",), iss=None, aud=None, lifetime=3600,
               expired=False, not_yet_valid=False, extra=None):
        now = int(time.time())
        claims = {
            "iss": self.issuer if iss is None else iss,
            "aud": self.audience if aud is None else aud,
            "sub": sub,
            "email": email if email is not None else "%s@example.com" % sub,
            "preferred_username": (preferred_username
                                   if preferred_username is not None else sub),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
        }
        if groups is not None:
            claims["groups"] = list(groups)
        if expired:
            claims["iat"] = now - 7200
            claims["nbf"] = now - 7200
            claims["exp"] = now - 3600
        if not_yet_valid:
            claims["iat"] = now + 3600
            claims["nbf"] = now + 3600
            claims["exp"] = now + 7200
        if extra:
            claims.update(extra)
        return claims

    def mint(self, key=None, alg_none=False, kid=None, header_extra=None,
             **claim_args):
        """A compact JWS string (header.payload.signature)."""
        key = key or self.rsa_key
        claims = self.claims(**claim_args)
        if alg_none:
            header = {"alg": "none", "typ": "JWT"}
            return "%s.%s." % (_json_segment(header), _json_segment(claims))
        header = {"alg": key.alg, "typ": "JWT",
                  "kid": key.kid if kid is None else kid}
        if header_extra:
            header.update(header_extra)
        signing_input = ("%s.%s" % (_json_segment(header),
                                    _json_segment(claims))).encode()
        return "%s.%s" % (signing_input.decode(), b64url(key.sign(signing_input)))

    def tamper(self, token):
        """The same token with one claim changed and the signature kept."""
        header, payload, sig = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = claims.get("sub", "") + "-admin"
        return "%s.%s.%s" % (header, _json_segment(claims), sig)
