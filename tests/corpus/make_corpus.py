#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Writes the labelled corpus: tests/corpus/files/* and tests/corpus/expected.tsv
# (file, TYPE, exact value).  A file with no line in expected.tsv must yield
# no finding at all: those are the hard negatives.  Secrets are random
# strings of the right shape (fixed seed, so the files are stable); PII
# values are invented and pass their validators.
#
#   python3 tests/corpus/make_corpus.py      (from the top of the tree)

import base64, json, os, random, string

random.seed(20240501)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "files")
AL = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
labels = []
cur = None


def r(n, al=AL):
    return "".join(random.choice(al) for _ in range(n))


def P(typ, value):
    labels.append((cur, typ, value))
    return value


def luhn_ok(s):
    t = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if i % 2:
            d *= 2
            d -= 9 if d > 9 else 0
        t += d
    return t % 10 == 0


def card(prefix, n):
    while True:
        s = prefix + "".join(random.choice("0123456789") for _ in range(n - len(prefix) - 1))
        for c in "0123456789":
            if luhn_ok(s + c):
                return s + c


def iban(cc, bban):
    x = bban + cc + "00"
    n = int("".join(str(int(c, 36)) for c in x))
    return "%s%02d%s" % (cc, 98 - n % 97, bban)


def group4(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def b64url(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def jwt(payload):
    return b64url({"alg": "RS256", "typ": "JWT", "kid": r(8)}) + "." + b64url(payload) + "." + r(86, AL + "-_")


def aws_id():
    return "AKIA" + r(16, string.ascii_uppercase + "234567")


def aws_secret():
    return r(40, AL + "+/")


def pem_body(lines=8):
    return "\n".join(r(64, AL + "+/") for _ in range(lines))


FILES = {}


def add(name, text):
    FILES[name] = text


# --- code ---------------------------------------------------------------
cur = "settings_prod.py"
add(cur, f'''"""Django settings for shop (production)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "{P("GENERIC_SECRET", r(50, AL + "!@#%^&*(-_=+)")[:0] + r(50))}"
DEBUG = False
ALLOWED_HOSTS = ["shop.acme-corp.com", "10.0.3.17"]

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "shop_app",
        "PASSWORD": "{P("PASSWORD", "Xk9#mP2vLq7!")}",
        "HOST": "db-primary.internal",
        "PORT": "5432",
    }},
    "replica": {{
        "PASSWORD": os.environ["REPLICA_DB_PASSWORD"],
        "HOST": os.getenv("REPLICA_HOST", "localhost"),
    }},
}}

AWS_ACCESS_KEY_ID = "{P("AWS_ACCESS_KEY", aws_id())}"
AWS_SECRET_ACCESS_KEY = "{P("AWS_SECRET_KEY", aws_secret())}"
AWS_STORAGE_BUCKET_NAME = "shop-media-prod"
EMAIL_HOST_USER = "{P("EMAIL", "billing.robot@acme-corp.com")}"
EMAIL_HOST_PASSWORD = get_secret("smtp-password")
CACHE_KEY_PREFIX = "shop:v3"
SESSION_COOKIE_AGE = 1209600
''')

cur = "payments.js"
add(cur, f'''// payments service
const Stripe = require('stripe');
const stripe = Stripe('{P("STRIPE_KEY", "sk_live_" + r(99))}');
const testStripe = Stripe('{P("STRIPE_KEY", "sk_test_" + r(99))}');
const openai = new OpenAI({{ apiKey: process.env.OPENAI_API_KEY }});
const fallback = new OpenAI({{ apiKey: "{P("OPENAI_KEY", "sk-proj-" + r(64, AL + "-_") + "T3BlbkFJ" + r(20))}" }});

// maintainer: Jane Roe <{P("EMAIL", "jane.roe@globex-payments.io")}>
export async function charge(customer, amount) {{
  const token = await getToken(customer.id);
  const apiKey = config.apiKey;
  const password = req.body.password;
  if (amount > 100000) throw new Error('amount too large');
  return stripe.charges.create({{ amount, currency: 'eur', customer: customer.id }});
}}
''')

cur = "client.go"
add(cur, f'''package client

import (
\t"context"
\t"fmt"
\t"os"
)

// Version of the client, see CHANGELOG.md for 1.14.2 -> 1.15.0.
const Version = "1.15.0"

var requestID = "3f1c9a7e-52b4-4c1d-9e8f-0a6b2d4c8e10"
var commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"
var digest = "sha256:3b4f2a1c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"

type Config struct {{
\tPassword string `json:"password"`
\tAPIKey   string `json:"api_key"`
\tToken    string
}}

func New(ctx context.Context) (*Client, error) {{
\tkey := os.Getenv("GITLAB_TOKEN")
\tif key == "" {{
\t\treturn nil, fmt.Errorf("GITLAB_TOKEN is not set (expected glpat-...)")
\t}}
\tpassword := os.Getenv("DB_PASSWORD")
\t_ = password
\treturn &Client{{token: key, retries: 3, timeout: 30}}, nil
}}

// @deprecated use NewWithOptions
func Legacy() {{}}
''')

cur = "decorators_and_scopes.ts"
add(cur, '''import { Injectable } from '@angular/core';
import type { Node } from '@types/node';
import lodash from 'lodash@4.17.21';

@Injectable({ providedIn: 'root' })
export class TokenService {
  private readonly tokenKey = 'auth_token';
  private readonly maxTokens = 4096;
  constructor(private http: HttpClient) {}

  @HostListener('window:keydown', ['$event'])
  onKey(e: KeyboardEvent) { this.keyDown = e.key; }

  getToken(): string | null { return localStorage.getItem(this.tokenKey); }
  setPassword(password: string) { this.password = password; }
}
// see https://github.com/org/repo/issues/1234 and git@github.com:org/repo.git
// contact: team@example.com, docs at https://docs.example.org/#/setup
''')

# --- env and config -------------------------------------------------------
cur = "production.env"
add(cur, f'''# production environment -- DO NOT COMMIT
NODE_ENV=production
PORT=8080
DATABASE_URL=postgres://app:{P("PASSWORD", "q7Vt2Lx9Rb4Z")}@db.prod.internal:5432/app
REDIS_URL=redis://:{P("PASSWORD", "w8Kp3Nm6Yz")}@cache.prod.internal:6379/0
DB_PASSWORD={P("PASSWORD", "Tr0ub4dor&3x")}
SLACK_BOT_TOKEN={P("SLACK_TOKEN", "xoxb-" + r(11, string.digits) + "-" + r(13, string.digits) + "-" + r(24))}
SLACK_WEBHOOK=https://{P("SLACK_TOKEN", "hooks.slack.com/services/T" + r(8, string.ascii_uppercase + string.digits) + "/B" + r(10, string.ascii_uppercase + string.digits) + "/" + r(24))}
SENDGRID_API_KEY={P("GENERIC_SECRET", "SG." + r(22, AL + "-_") + "." + r(43, AL + "-_"))}
GITHUB_TOKEN={P("GITHUB_TOKEN", "ghp_" + r(36))}
ANTHROPIC_API_KEY={P("ANTHROPIC_KEY", "sk-ant-api03-" + r(93, AL + "-_") + "AA")}
GOOGLE_MAPS_KEY={P("GOOGLE_API_KEY", "AIza" + r(35, AL + "-_"))}
JWT_SIGNING_SECRET={P("GENERIC_SECRET", r(48))}
FEATURE_FLAGS=checkout_v2,new_search
LOG_LEVEL=info
''')

cur = "example.env"
add(cur, '''# copy to .env and fill in
DATABASE_URL=postgres://user:password@localhost:5432/app
REDIS_URL=redis://localhost:6379/0
DB_PASSWORD=
SLACK_BOT_TOKEN=xoxb-your-token-here
OPENAI_API_KEY=sk-...
ANTHROPIC_API_KEY=<your-anthropic-key>
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
STRIPE_SECRET_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX
JWT_SIGNING_SECRET=${JWT_SECRET}
API_TOKEN=changeme
SMTP_PASSWORD=********
''')

cur = "app-config.yaml"
add(cur, f'''server:
  port: 8443
  tls: true
database:
  host: db.internal
  user: svc_reporting
  password: {P("PASSWORD", "mQ4!vZ8@pL2s")}
  pool_size: 20
  password_min_length: 12
cache:
  password: ${{REDIS_PASSWORD}}
integrations:
  datadog:
    api_key: {P("GENERIC_SECRET", r(32, HEX))}
  sentry:
    dsn_token: "{P("GENERIC_SECRET", r(40))}"
  vault:
    token_path: /var/run/secrets/vault-token
    token_ttl: 3600
notify:
  email: {P("EMAIL", "oncall.platform@acme-corp.com")}
''')

cur = "docker-compose.yml"
add(cur, f'''version: "3.9"
services:
  db:
    image: postgres:16.2
    environment:
      POSTGRES_USER: postgres
      POSTGRES_PASSWORD: example
  app:
    image: registry.acme-corp.com/shop/app:1.42.0
    environment:
      - DB_PASSWORD={P("PASSWORD", "pG7#xV3!nR")}
      - API_KEY=${{API_KEY}}
    ports:
      - "8080:8080"
      - "9090:9090"
''')

cur = "service-account.json"
sa_key = "-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(r(64, AL + "+/") for _ in range(6)) + "\\n-----END PRIVATE KEY-----"
add(cur, f'''{{
  "type": "service_account",
  "project_id": "acme-analytics-prod",
  "private_key_id": "{P("GENERIC_SECRET", r(40, HEX))}",
  "private_key": "{P("PRIVATE_KEY", sa_key)}\\n",
  "client_email": "{P("EMAIL", "etl-runner@acme-analytics-prod.iam.gserviceaccount.com")}",
  "client_id": "{r(21, string.digits)}",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "token_uri": "https://oauth2.googleapis.com/token"
}}
''')

cur = "appsettings.Production.json"
add(cur, f'''{{
  "ConnectionStrings": {{
    "Storage": "DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={P("GENERIC_SECRET", base64.b64encode(bytes(random.getrandbits(8) for _ in range(64))).decode())};EndpointSuffix=core.windows.net",
    "Sql": "Server=tcp:acme.database.windows.net,1433;Database=shop;User ID=shopadmin;Password={P("PASSWORD", "Wz5%kT9qLm")};Encrypt=True;"
  }},
  "AzureAd": {{
    "TenantId": "{r(8, HEX)}-{r(4, HEX)}-{r(4, HEX)}-{r(4, HEX)}-{r(12, HEX)}",
    "ClientId": "{r(8, HEX)}-{r(4, HEX)}-{r(4, HEX)}-{r(4, HEX)}-{r(12, HEX)}",
    "ClientSecret": "{P("GENERIC_SECRET", r(3) + "8Q~" + r(34, AL + "_.-"))}"
  }},
  "Logging": {{ "LogLevel": {{ "Default": "Information" }} }}
}}
''')

cur = "k8s-secret.yaml"
add(cur, f'''apiVersion: v1
kind: Secret
metadata:
  name: shop-db
type: Opaque
data:
  username: c2hvcF9hcHA=
  password: {P("PASSWORD", base64.b64encode(b"Kq8!rT2vXz").decode())}
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: shop-db
                  key: password
''')

cur = "terraform.tfvars"
add(cur, f'''region            = "eu-west-1"
access_key        = "{P("AWS_ACCESS_KEY", aws_id())}"
secret_key        = "{P("AWS_SECRET_KEY", aws_secret())}"
instance_type     = "t3.medium"
allowed_cidr      = "{P("IP_ADDRESS", "81.169.145.94")}/32"
vpc_cidr          = "10.20.0.0/16"
''')

cur = "npmrc-and-pypirc.txt"
add(cur, f'''# ~/.npmrc
//registry.npmjs.org/:_authToken={P("GENERIC_SECRET", "npm_" + r(36))}
@acme:registry=https://npm.acme-corp.com/
# ~/.pypirc
[pypi]
username = __token__
password = {P("GENERIC_SECRET", "pypi-AgEIcHlwaS5vcmc" + r(120, AL + "-_"))}
''')

cur = "settings.xml"
add(cur, f'''<?xml version="1.0" encoding="UTF-8"?>
<settings>
  <servers>
    <server>
      <id>acme-releases</id>
      <username>deployer</username>
      <password>{P("PASSWORD", "nX4$wQ9mKv")}</password>
    </server>
    <server>
      <id>acme-snapshots</id>
      <password>${{env.NEXUS_PASSWORD}}</password>
    </server>
  </servers>
</settings>
''')

# --- agent-shaped text -------------------------------------------------------
cur = "read_id_rsa.txt"
rsa_lines = [r(64, AL + "+/") for _ in range(10)]
numbered = "\n".join("%6d\t%s" % (i + 2, l) for i, l in enumerate(rsa_lines))
key_text = "     1\t-----BEGIN RSA PRIVATE KEY-----\n" + numbered + "\n    12\t-----END RSA PRIVATE KEY-----"
P("PRIVATE_KEY", key_text[len("     1\t"):])
add(cur, key_text + "\n")

cur = "remove-secrets.diff"
old_tok = "ghp_" + r(36)
old_aws = aws_secret()
add(cur, f'''diff --git a/deploy/config.py b/deploy/config.py
index 3f2a9b1..8c4d2e7 100644
--- a/deploy/config.py
+++ b/deploy/config.py
@@ -10,9 +10,9 @@ import os
 REGION = "eu-central-1"
-GITHUB_TOKEN = "{P("GITHUB_TOKEN", old_tok)}"
-aws_secret_access_key = "{P("AWS_SECRET_KEY", old_aws)}"
+GITHUB_TOKEN = os.environ["GITHUB_TOKEN"]
+aws_secret_access_key = os.environ["AWS_SECRET_ACCESS_KEY"]
 RETRIES = 3
 TIMEOUT = 30.0
''')

cur = "app.log"
tok = jwt({"sub": "u-" + r(6, string.digits), "email": "x@acme-corp.com", "exp": 1717003600})
add(cur, f'''2024-05-01T10:00:00.123Z INFO  [main] starting shop-api version 3.14.2 build 2024.05.01.1 on :8080
2024-05-01T10:00:01.007Z INFO  [http] GET /healthz 200 0.4ms peer=10.0.3.17:51522
2024-05-01T10:00:02.311Z INFO  [http] POST /login 200 12ms user={P("EMAIL", "k.tanaka@acme-corp.com")} peer={P("IP_ADDRESS", "93.184.216.34")}:44321
2024-05-01T10:00:02.315Z DEBUG [auth] Authorization: Bearer {P("JWT", tok)}
2024-05-01T10:00:03.001Z WARN  [pay] card ****4242 declined, retry 1/3 (latency 233 ms)
2024-05-01T10:00:04.900Z INFO  [dns] resolver 8.8.8.8 ok, fallback 1.1.1.1 ok, upstream 192.168.1.1
2024-05-01T10:00:05.117Z INFO  [http] GET /api/v1/orders?page=2&limit=50 200 8ms peer={P("IP_ADDRESS", "2a00:1450:4001:82a::200e")}
2024-05-01T10:00:06.450Z ERROR [db] timeout after 30000ms connecting to 10.0.4.21:5432 (attempt 3/5)
2024-05-01T10:00:07.000Z INFO  [gc] pause 12.5ms heap 512MB->348MB pid=48213 tid=48230
''')

cur = "StackTrace.java.txt"
add(cur, f'''Exception in thread "main" org.postgresql.util.PSQLException: Connection to db.internal:5432 refused.
\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:319)
\tat org.postgresql.Driver.connect(Driver.java:270)
\tat java.sql/java.sql.DriverManager.getConnection(DriverManager.java:681)
\tat com.acme.shop.Db.open(Db.java:42)
Caused by: java.net.ConnectException: jdbc:postgresql://db.internal:5432/shop?user=shop&password={P("PASSWORD", "Hx7!mQ2pZr")}&ssl=true
\t... 12 more
Spring Boot v3.2.5, JVM 21.0.3+9-LTS, pid 48213
''')

cur = "traceback.py.txt"
add(cur, f'''Traceback (most recent call last):
  File "/srv/app/etl/load.py", line 88, in <module>
    main()
  File "/srv/app/etl/load.py", line 61, in main
    conn = psycopg2.connect("postgresql://etl:{P("PASSWORD", "Lq9@wX4vTz")}@10.0.5.12:5432/warehouse")
  File "/usr/lib/python3.11/site-packages/psycopg2/__init__.py", line 122, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
psycopg2.OperationalError: connection to server at "10.0.5.12", port 5432 failed: timeout expired
''')

cur = "chat_support.txt"
cc1 = card("4", 16)
cc2 = card("5", 16)
ib1 = iban("DE", "".join(random.choice("0123456789") for _ in range(18)))
ib2 = iban("FR", "".join(random.choice("0123456789") for _ in range(23)))
add(cur, f'''User: Hi, I need help with a refund. My card is {P("CREDIT_CARD", group4(cc1))} and the
charge was on 2024-04-28 for 129.99 EUR. You can reach me at {P("PHONE", "+49 151 2345 6789")}
or by mail at {P("EMAIL", "m.schneider84@web-mail.de")}.
Assistant: Thanks! For a bank transfer instead, please confirm your IBAN.
User: It's {P("IBAN", group4(ib1))}. My wife's account is {P("IBAN", ib2)}.
User: Also my old card {P("CREDIT_CARD", "-".join(cc2[i:i+4] for i in range(0, 16, 4)))} should be removed.
User: For the US account the SSN on file is {P("US_SSN", "536-22-1947")}, phone {P("PHONE", "(646) 872-4410")}.
Assistant: Noted. Order #4512 will be refunded within 5-7 business days.
''')

cur = "chat_negatives.txt"
add(cur, '''User: How should I store an API key in a Python app? Is an .env file with
API_KEY=... fine, or should I use a secrets manager?
Assistant: Prefer a secrets manager. Never hard-code the password; read it with
os.environ["DB_PASSWORD"] and rotate keys every 90 days. A token such as
ghp_... or sk-... must never be committed. Use placeholders like <password> or
${DB_PASSWORD} in docs, and example addresses such as alice@example.com.
User: The test card 4242 4242 4242 4242 works, and 4111 1111 1111 1111 too. The
docs also mention (555) 010-0199, 555-0123 and the IBAN DE89 3704 0044 0532 0130 00.
Assistant: Those are all documented test values. Your build 2.4.1.7 fixed it.
Reset your password: click the link below. The secret is to retry with backoff.
''')

cur = "numbers_negatives.txt"
add(cur, '''release 1.2.3.4 and v10.2.0.1; requests==2.31.0.1; node>=18.19.1
date 2024-05-01 time 23:59:59.999 tz +02:00 epoch 1714557600 ms 1714557600123
ports: 80, 443, 8080, 8443, 9090 and range 30000-32767
line 12345, col 67, offsets 1024 2048 4096 8192 16384
sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 md5 d41d8cd98f00b204e9800998ecf8427e
uuid 123e4567-e89b-12d3-a456-426614174000 mac 00:1a:2b:3c:4d:5e
floats [0.125, 3.14159, 2.71828, 1.41421] matrix 1 2 3 4 5 6 7 8 9
ipv4 private 10.1.2.3 172.16.0.1 192.168.0.10 127.0.0.1 169.254.169.254 100.64.1.1
docs 192.0.2.1 198.51.100.2 203.0.113.3 2001:db8::1 fe80::1 ::1 224.0.0.1
hex 0x7fffffff 0xdeadbeef 0123456789abcdef
order 1234567890123456, invoice 2024-0001-7781, isbn 978-3-16-148410-0
''')

cur = "test_fixtures.py"
add(cur, '''import pytest

STRIPE_TEST_CARDS = ["4242424242424242", "4000056655665556", "5555555555554444",
                     "378282246310005", "6011111111111117", "3056930009020004"]
AWS_EXAMPLE = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
JWT_IO = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
STRIPE_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
FAKE_PHONE = "+1 555 0100"
SSN_SAMPLE = "078-05-1120"

@pytest.fixture
def user():
    return {"email": "user@example.com", "password": "${TEST_PASSWORD}",
            "api_key": "your-api-key-here", "token": "xxxxxxxxxxxxxxxxxxxxxxxx"}
''')

cur = "public_material.pem"
add(cur, f'''-----BEGIN PUBLIC KEY-----
{pem_body(4)}
-----END PUBLIC KEY-----
-----BEGIN CERTIFICATE-----
{pem_body(6)}
-----END CERTIFICATE-----
ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{r(43)} deploy@ci
-----BEGIN PGP PUBLIC KEY BLOCK-----

{pem_body(3)}
-----END PGP PUBLIC KEY BLOCK-----
''')

cur = "encrypted_keys.pem"
# encrypted keys are private keys: the passphrase is often weak or close by
enc1 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + pem_body(5) + "\n-----END ENCRYPTED PRIVATE KEY-----"
enc2 = ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC," + r(32, HEX.upper())
        + "\n\n" + pem_body(5) + "\n-----END RSA PRIVATE KEY-----")
enc3 = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABD" + r(21)
        + "\n" + pem_body(3) + "\n-----END OPENSSH PRIVATE KEY-----")
add(cur, P("PRIVATE_KEY", enc1) + "\n" + P("PRIVATE_KEY", enc2) + "\n" + P("PRIVATE_KEY", enc3) + "\n")

cur = "keys_plain.pem"
ossh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" + pem_body(4) + "\n-----END OPENSSH PRIVATE KEY-----"
ec = "-----BEGIN EC PRIVATE KEY-----\n" + pem_body(3) + "\n-----END EC PRIVATE KEY-----"
pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + pem_body(6) + "\n-----END PGP PRIVATE KEY BLOCK-----"
add(cur, P("PRIVATE_KEY", ossh) + "\n" + P("PRIVATE_KEY", ec) + "\n" + P("PRIVATE_KEY", pgp) + "\n")

cur = "curl_commands.sh"
add(cur, f'''#!/bin/sh
curl -s -H "Authorization: Bearer {P("GENERIC_SECRET", r(44, AL + "-._"))}" https://api.acme-corp.com/v2/items
curl -s -H "Authorization: Basic {P("PASSWORD", base64.b64encode(b"ci-bot:Pz8!qW3e").decode())}" https://nexus.acme-corp.com/
curl -X POST -H 'Content-type: application/json' --data '{{"text":"deployed"}}' https://{P("SLACK_TOKEN", "hooks.slack.com/services/T" + r(8, string.ascii_uppercase + string.digits) + "/B" + r(8, string.ascii_uppercase + string.digits) + "/" + r(24))}
curl -H "PRIVATE-TOKEN: {P("GITLAB_TOKEN", "glpat-" + r(20, AL + "-_"))}" https://gitlab.acme-corp.com/api/v4/projects
curl -H "Authorization: Bearer $TOKEN" https://api.example.com/
export HF_TOKEN={P("GENERIC_SECRET", "hf_" + r(34))}
''')

cur = "twilio_notify.py"
add(cur, f'''from twilio.rest import Client

account_sid = "{"AC" + r(32, HEX)}"
twilio_auth_token = "{P("GENERIC_SECRET", r(32, HEX))}"
api_key_sid = "{P("GENERIC_SECRET", "SK" + r(32, HEX))}"
client = Client(account_sid, twilio_auth_token)
client.messages.create(to="{P("PHONE", "+14155238886")}", from_="+15005550006", body="deploy done")
''')

cur = "nginx-geo.conf"
add(cur, f'''# allow office and VPN
allow {P("IP_ADDRESS", "185.199.108.153")};
allow {P("IP_ADDRESS", "2606:50c0:8000::153")};
allow 10.8.0.0/16;
allow 2001:db8:1234::/48;
deny  all;
resolver 9.9.9.9 208.67.222.222 [2620:fe::fe] valid=300s;
listen [::]:443 ssl http2;
''')

cur = "mixed_json_tool_result.json"
add(cur, json.dumps({
    "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
    "content": "cat ~/.aws/credentials\n[default]\naws_access_key_id = " + P("AWS_ACCESS_KEY", aws_id())
    + "\naws_secret_access_key = " + P("AWS_SECRET_KEY", aws_secret()) + "\nregion = us-east-1\n",
    "is_error": False}, indent=2) + "\n")

cur = "jwt_and_tokens.md"
t2 = jwt({"sub": "svc-deployer", "scope": "repo:write", "iat": 1716000000})
add(cur, f'''## Debugging auth

The gateway rejected this token: `{P("JWT", t2)}`

A fine-grained PAT looked like `{P("GITHUB_TOKEN", "github_pat_" + r(22) + "_" + r(59))}` and an app
installation token `{P("GITHUB_TOKEN", "ghs_" + r(36))}`.
Slack user token: {P("SLACK_TOKEN", "xoxp-" + r(11, string.digits) + "-" + r(11, string.digits) + "-" + r(12, string.digits) + "-" + r(32, HEX))}.
Stripe restricted key {P("STRIPE_KEY", "rk_live_" + r(24))} and webhook secret {P("STRIPE_KEY", "whsec_" + r(32))}.
Legacy OpenAI key {P("OPENAI_KEY", "sk-" + r(20) + "T3BlbkFJ" + r(20))}.
''')

cur = "contacts.csv"
ib3 = iban("GB", "NWBK" + "".join(random.choice("0123456789") for _ in range(14)))
ib4 = iban("NL", "ABNA" + "".join(random.choice("0123456789") for _ in range(10)))
cc3 = card("37", 15)
add(cur, f'''name,email,phone,iban,card
Ana Lima,{P("EMAIL", "ana.lima@correio-exemplo.com.br")},{P("PHONE", "+55 11 98765 4321")},,
Tom Baker,{P("EMAIL", "tom.baker@bakerandsons.co.uk")},{P("PHONE", "+44 20 7123 4567")},{P("IBAN", ib3)},
Eva de Vries,{P("EMAIL", "eva@devries-design.nl")},{P("PHONE", "+31 6 12345678")},{P("IBAN", ib4)},
Marc Dubois,,{P("PHONE", "01 42 68 53 07")},,{P("CREDIT_CARD", cc3)}
Test User,test@example.com,555-0100,,4111111111111111
''')


# --- more hard negatives and agent shapes ---------------------------------
cur = "go.sum"
add(cur, "\n".join("%s v%d.%d.%d h1:%s=" % (m, random.randint(0, 2), random.randint(0, 30), random.randint(0, 20),
                                            base64.b64encode(bytes(random.getrandbits(8) for _ in range(32))).decode().rstrip("="))
                    for m in ["github.com/pkg/errors", "golang.org/x/net", "github.com/stretchr/testify",
                              "google.golang.org/grpc", "github.com/google/uuid"]) + "\n")

cur = "package-lock-excerpt.json"
add(cur, json.dumps({"name": "shop-web", "lockfileVersion": 3, "packages": {
    "node_modules/%s" % n: {"version": "%d.%d.%d" % (random.randint(0, 9), random.randint(0, 30), random.randint(0, 9)),
                            "resolved": "https://registry.npmjs.org/%s/-/%s-1.0.0.tgz" % (n, n.split("/")[-1]),
                            "integrity": "sha512-" + base64.b64encode(bytes(random.getrandbits(8) for _ in range(64))).decode()}
    for n in ["@types/node", "@angular/core", "lodash", "react-dom", "@babel/core"]}}, indent=2) + "\n")

cur = "ci-workflow.yml"
add(cur, """name: deploy
on: [push]
jobs:
  deploy:
    runs-on: ubuntu-22.04
    env:
      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
      DB_PASSWORD: ${{ secrets.DB_PASSWORD }}
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4.0.2
        with:
          node-version: 20.11.1
      - run: echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > ~/.npmrc
      - run: npm ci && npm test -- --coverage --maxWorkers=2
""")

cur = "ansible-vault.yml"
add(cur, "db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n" +
    "\n".join("          " + r(80, HEX) for _ in range(5)) + "\napi_token: \"{{ vault_api_token }}\"\n")

cur = "logo.svg"
add(cur, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 80" width="240" height="80">\n'
    '<path d="M12.5 40.25 L 45.75 12.125 C 60.5 4.75, 80.25 4.75, 95 12.125 L 128.25 40.25 Z" fill="#3a7bd5"/>\n'
    '<circle cx="200" cy="40" r="28.5" stroke="#00d2ff" stroke-width="4.25"/>\n'
    '<text x="10" y="75" font-family="Helvetica" font-size="12">v2.14.3 build 20240501.1742</text>\n</svg>\n'
    '<img src="data:image/png;base64,' + base64.b64encode(bytes(random.getrandbits(8) for _ in range(300))).decode() + '">\n')

cur = "metrics.csv"
rows = ["ts,host,cpu,mem_mb,p99_ms,requests,errors"]
for k in range(40):
    rows.append("2024-05-01T10:%02d:00Z,web-%02d,%.2f,%d,%.1f,%d,%d" % (k, k % 7, random.random() * 100,
                random.randint(200, 8000), random.random() * 900, random.randint(1000, 999999), random.randint(0, 50)))
add(cur, "\n".join(rows) + "\n")

cur = "minified.js"
add(cur, "!function(e,t){\"object\"==typeof exports?module.exports=t():e.lib=t()}(this,function(){var e={key:\"k\",token:null,"
    "pass:!0,secret:void 0};function t(e,t){return e.key===t.key&&e.token===t.token}var n=[1,2,3,4,5,6,7,8,9,10,1234567,"
    "89012345,6789012],r=Math.floor(1e3*Math.random()),o=\"0123456789abcdef\";return{v:\"4.17.21\",eq:t,n:n,r:r,h:o,"
    "k:function(e){return e.apiKey||e.api_key||e.password}}});\n")

cur = "git-log.txt"
add(cur, f"""commit {r(40, HEX)}
Author: Priya Natarajan <{P("EMAIL", "priya.natarajan@acme-corp.com")}>
Date:   Wed May 1 10:12:44 2024 +0200

    Rotate the staging key (see OPS-1234), bump deps to 2.31.0

commit {r(40, HEX)}
Author: dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>
Date:   Tue Apr 30 08:00:01 2024 +0000

    Bump requests from 2.31.0 to 2.32.0
""")

cur = "wp-config.php"
add(cur, f"""<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wp_admin' );
define( 'DB_PASSWORD', '{P("PASSWORD", "r9!Zq4@Lm2#x")}' );
define( 'DB_HOST', 'localhost' );
define( 'AUTH_KEY',         '{P("GENERIC_SECRET", r(64, AL + "!@#%^*()-_[]{{}}<>~+=,.;:/?|"))}' );
define( 'SECURE_AUTH_KEY',  'put your unique phrase here' );
$table_prefix = 'wp_';
""")

cur = "Dockerfile"
add(cur, f"""FROM python:3.12.3-slim
ENV PIP_NO_CACHE_DIR=1 \\
    APP_ENV=production \\
    SENTRY_TOKEN={P("GENERIC_SECRET", r(40))}
ARG BUILD_NUMBER=1742
RUN pip install --no-cache-dir -r requirements.txt && useradd -u 10001 app
EXPOSE 8080
""")

cur = "tool_result_escaped.json"
inner = "DATABASE_URL=postgres://svc:" + P("PASSWORD", "Vb6@pQ9zLx") + "@db:5432/app\\nSTRIPE_KEY=" + P("STRIPE_KEY", "sk_live_" + r(24)) + "\\n"
add(cur, '{"type":"tool_result","tool_use_id":"toolu_01XyZ","content":"' + inner + '"}\n')


cur = "diff_in_json.json"
diff = ("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,4 +1,6 @@\n"
        "+@app.route(\"/health\")\n+def health():\n-@pytest.fixture(scope='module')\n"
        "+@dataclass(frozen=True)\n # reviewed-by: " + P("EMAIL", "wei.chen@acme-corp.com") + "\n")
add(cur, json.dumps({"type": "tool_result", "tool_use_id": "toolu_02", "content": diff}) + "\n")

# --- issue 12: passwords in commands and code, vendor shapes, typing ------
# (appended after the older files so that their random values stay put)
PWSYM = "!#@^_+=~"


def pw(n=12):
    """A password as people generate them: letters, digits, a symbol or
    two, starting and ending with a letter or digit."""
    while True:
        mid = [random.choice(AL + PWSYM) for _ in range(n - 2)]
        v = random.choice(string.ascii_letters) + "".join(mid) + random.choice(AL)
        if (any(c.isdigit() for c in v) and any(c.isupper() for c in v)
                and any(c.islower() for c in v) and any(c in PWSYM for c in v)
                and "=" not in v[:2]):
            return v


def gs1_ok(s):
    body, chk = s[:-1], int(s[-1])
    tot = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - tot % 10) % 10 == chk


def barcode_like_card(prefix, n):
    """A GS1-valid barcode that is also Luhn-valid: the false alarm."""
    while True:
        v = prefix + "".join(random.choice(string.digits) for _ in range(n - len(prefix)))
        if gs1_ok(v) and luhn_ok(v):
            return v


def hf_token(n=34):
    return "hf_" + r(n, string.ascii_letters)


cur = "shell_history.txt"
add(cur, f"""  501  mysql -u root -p'{P("PASSWORD", pw())}' -h db.internal shop < dump.sql
  502  mysqldump -u backup -p{P("PASSWORD", pw(11).replace("!", "x"))} --single-transaction shop > shop.sql
  503  docker login -u deploy -p '{P("PASSWORD", pw())}' registry.acme-corp.com
  504  curl -fsS -u admin:'{P("PASSWORD", pw())}' https://jenkins.acme-corp.com/api/json
  505  curl -s --user "ci-bot:{P("PASSWORD", pw())}" https://nexus.acme-corp.com/service/rest/v1/status
  506  sshpass -p '{P("PASSWORD", pw())}' ssh -l ops bastion.acme-corp.com
  507  psql --host db.internal --username etl --password "{P("PASSWORD", pw())}"
  508  mysql -u root -p -h db.internal
  509  echo "$REGISTRY_TOKEN" | docker login -u deploy --password-stdin registry.acme-corp.com
  510  curl -u "$API_USER:$API_PASS" https://api.acme-corp.com/v1/health
  511  docker run -p 8080:80 -p 8443:443 nginx:1.25
  512  mysql -h db.internal -P 3306 -u app -p"$DB_PASS" shop
  513  curl -u admin https://jenkins.acme-corp.com/login
  514  mkdir -p '/srv/www/shop' && cp -p config.yml /srv/www/shop/
""")

cur = "netrc_view.txt"
add(cur, f"""I'll check the credentials file.

     1\tmachine api.acme-corp.com
     2\t  login deploy
     3\t  password {P("PASSWORD", pw())}
     4\tmachine git.acme-corp.com login ci-bot password {P("PASSWORD", pw())}
     5\tdefault login anonymous password {P("PASSWORD", pw(10))}

And the one on the build host:
    12\u2192machine registry.acme-corp.com
    13\u2192  login pusher
    14\u2192  password {P("PASSWORD", pw())}

The machine learning login page asks for the password again.
""")

cur = "db_connect.py"
add(cur, f"""import smtplib, ldap, pymysql, paramiko, cx_Oracle, os

def notify(msg):
    with smtplib.SMTP("smtp.acme-corp.com", 587) as server:
        server.starttls()
        server.login("{P("EMAIL", "alerts@acme-corp.com")}", "{P("PASSWORD", pw())}")
        server.send_message(msg)

def directory():
    conn = ldap.initialize("ldaps://ldap.acme-corp.com")
    conn.simple_bind_s("cn=reader,dc=acme,dc=com", "{P("PASSWORD", pw())}")
    return conn

def warehouse():
    return pymysql.connect("db.internal", "etl", "{P("PASSWORD", pw())}", "warehouse")

def ledger():
    return cx_Oracle.connect("ledger_ro", "{P("PASSWORD", pw())}", "orahost:1521/LEDGER")

def bastion():
    ssh = paramiko.SSHClient()
    ssh.connect("bastion.acme-corp.com", 22, "ops", '{P("PASSWORD", pw())}')
    return ssh

# the right way: nothing literal
def notify_env(msg):
    server = smtplib.SMTP(os.environ["SMTP_HOST"])
    server.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
    conn = pymysql.connect(host, user, password, "warehouse")
    sock.connect(("db.internal", 3306))

class Client:
    def login(self, user, password):
        return self.session.login(user, password)
""")

cur = "Connect.java"
aws_pair = (aws_id(), aws_secret())
add(cur, f"""package com.acme.shop;

import com.amazonaws.auth.BasicAWSCredentials;
import java.net.PasswordAuthentication;
import java.sql.DriverManager;

public class Connect {{
    static java.sql.Connection db() throws Exception {{
        return DriverManager.getConnection("jdbc:postgresql://db.internal/shop", "shop_app", "{P("PASSWORD", pw())}");
    }}
    static BasicAWSCredentials aws() {{
        return new BasicAWSCredentials("{P("AWS_ACCESS_KEY", aws_pair[0])}", "{P("AWS_SECRET_KEY", aws_pair[1])}");
    }}
    static PasswordAuthentication proxy() {{
        return new PasswordAuthentication("proxyuser", "{P("PASSWORD", pw())}".toCharArray());
    }}
    static java.sql.Connection fromEnv() throws Exception {{
        return DriverManager.getConnection(System.getenv("DB_URL"), System.getenv("DB_USER"), System.getenv("DB_PASSWORD"));
    }}
}}
""")

cur = "Mailer.cs"
add(cur, f"""using System.Net;
using System.Net.Mail;

var smtp = new SmtpClient("smtp.acme-corp.com", 587)
{{
    EnableSsl = true,
    Credentials = new NetworkCredential("{P("EMAIL", "mailer@acme-corp.com")}", "{P("PASSWORD", pw())}")
}};
var fromConfig = new NetworkCredential(config["Smtp:User"], config["Smtp:Password"]);
""")

cur = "aws_static.go"
gid, gsec = aws_id(), aws_secret()
add(cur, f"""package storage

import "github.com/aws/aws-sdk-go/aws/credentials"

var creds = credentials.NewStaticCredentials("{P("AWS_ACCESS_KEY", gid)}", "{P("AWS_SECRET_KEY", gsec)}", "")
var fromEnv = credentials.NewEnvCredentials()
""")

cur = "onboarding_chat.txt"
cid, csec = aws_id(), aws_secret()
add(cur, f"""User: The staging box is ready: user deploy, password {P("PASSWORD", pw())}.
Assistant: Thanks. Before I log in, what about the database?
User: For the admin console the login is admin and the password is `{P("PASSWORD", pw())}`
User: And the IAM user for the uploader: {P("AWS_ACCESS_KEY", cid)} / {P("AWS_SECRET_KEY", csec)}
Assistant: Got it. Remember that a password reset link expires after 24 hours, and the
password must have at least 12 characters. Never paste your password here again.
User: My password manager says the password is strong. The user guide covers it.
""")

cur = "stripe_test.env"
add(cur, f"""# Stripe test mode: still real credentials for the account's test data
STRIPE_SECRET_KEY={P("STRIPE_KEY", "sk_test_" + r(24))}
STRIPE_CONNECT_KEY={P("STRIPE_KEY", "sk_test_51" + r(22) + r(74))}
STRIPE_RESTRICTED={P("STRIPE_KEY", "rk_test_51" + r(22) + r(74))}
STRIPE_PUBLISHABLE_KEY=pk_test_51{r(22)}{r(74)}
# the key printed in Stripe's docs
STRIPE_DOCS_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc
STRIPE_PLACEHOLDER=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX
""")

cur = "kubeconfig.yaml"
kkey = "-----BEGIN RSA PRIVATE KEY-----\n" + pem_body(6) + "\n-----END RSA PRIVATE KEY-----\n"
kcert = "-----BEGIN CERTIFICATE-----\n" + pem_body(6) + "\n-----END CERTIFICATE-----\n"
kca = "-----BEGIN CERTIFICATE-----\n" + pem_body(5) + "\n-----END CERTIFICATE-----\n"
add(cur, f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {base64.b64encode(kca.encode()).decode()}
    server: https://k8s.acme-corp.com:6443
  name: prod
users:
- name: admin
  user:
    client-certificate-data: {base64.b64encode(kcert.encode()).decode()}
    client-key-data: {P("PRIVATE_KEY", base64.b64encode(kkey.encode()).decode())}
""")

cur = "hf_tokens.sh"
add(cur, f"""export HF_TOKEN={P("GENERIC_SECRET", hf_token(34))}
huggingface-cli login --token {P("GENERIC_SECRET", hf_token(37))}
# hf_xxx is where the token goes; hf_transfer speeds up downloads
pip install "huggingface_hub[hf_transfer]"
""")

cur = "search_index.js"
add(cur, f"""// Algolia admin client for the nightly indexing job
const algoliasearch = require('algoliasearch');
const client = algoliasearch('{r(10, string.ascii_uppercase + string.digits)}', '{P("GENERIC_SECRET", r(32, HEX))}');
const index = client.initIndex('products');

// checksums of the bundles, no vendor here
const integrity = {{ main: '{r(32, HEX)}', vendor: '{r(32, HEX)}' }};
""")

cur = "twilio_sid.py"
add(cur, f"""# Twilio account SIDs are public identifiers; the auth token is the secret
TWILIO_ACCOUNT_SID = "AC{r(32, HEX)}"
messaging_service = "MG{r(32, HEX)}"
client = Client(TWILIO_ACCOUNT_SID, os.environ["TWILIO_AUTH_TOKEN"])
""")

cur = "contacts_br.vcf"
add(cur, f"""BEGIN:VCARD
VERSION:3.0
FN:Mariana Costa
TEL;TYPE=CELL:{P("PHONE", "(11) 9" + r(4, string.digits) + "-" + r(4, string.digits))}
TEL;TYPE=WORK:{P("PHONE", "+55 (21) 3" + r(3, string.digits) + "-" + r(4, string.digits))}
EMAIL:{P("EMAIL", "mariana.costa@costa-arquitetura.com.br")}
END:VCARD
Recado: ligar para o Joao no celular {P("PHONE", "(31) 9" + r(4, string.digits) + "-" + r(4, string.digits))} depois das 18h.
Pedido (12) itens, versao (1.2) 2024-05-01, sala (3) 101-202.
""")

cur = "products.csv"
rows = ["sku,name,ean,gtin14,price_eur"]
for k in range(6):
    rows.append("%s-%03d,%s,%s,%s,%.2f" % (random.choice(["WID", "GAD", "TOL"]), k,
                random.choice(["Widget", "Gadget", "Tool kit", "Cable"]),
                barcode_like_card("40", 13), barcode_like_card("36", 14), random.random() * 90 + 1))
add(cur, "\n".join(rows) + "\n")

cur = "products.json"
add(cur, json.dumps({"items": [
    {"sku": "WID-%03d" % k, "title": "Widget %d" % k, "ean": barcode_like_card("40", 13),
     "upc": "0" + r(11, string.digits), "stock": random.randint(0, 500)} for k in range(4)]}, indent=2) + "\n")

cur = "env_refs.py"
add(cur, """import os
import environ

env = environ.Env()
DB_PASSWORD = env('DB_PASSWORD', default='')
SECRET_KEY = env("DJANGO_SECRET_KEY", default=None)
SMTP_PASSWORD = os.getenv("SMTP_PASSWORD")
REDIS_PASSWORD = os.getenv("REDIS_PASSWORD", "")
COMPOSE_HINT = "password: ${POSTGRES_PASSWORD}"
""")

cur = "masked_values.txt"
add(cur, """$ git remote -v
origin  https://x-access-token:***@github.com/acme/shop.git (fetch)
origin  https://x-access-token:***@github.com/acme/shop.git (push)
$ cat config/database.yml
production:
  username: shop_app
  password: "****"
  api_key: ****************
Authorization: Basic ****
""")

cur = "hidden_in_plain_sight.txt"
# invisible format characters and percent-encoding: what a model reads
# back is the value; the finding covers every raw byte of it
WJ, ZW, SHY = "\u2060", "\u200b", "\u00ad"
mail1 = "d.okafor@" + "lagos-freight.com.ng"
tok1 = "ghp_" + r(36)
aws1 = aws_id()
mail2 = "s.ivanova@" + "volga-logistics.ru"
enc_key = "sk_live_" + r(24)
add(cur, f"""Tool output (copied from a PDF, invisible characters kept):
contact: {P("EMAIL", mail1[:3] + WJ + mail1[3:])}
token: {P("GITHUB_TOKEN", tok1[:12] + ZW + tok1[12:])}
key id {P("AWS_ACCESS_KEY", aws1[:8] + SHY + aws1[8:])}
GET /api/v2/invite?to={P("EMAIL", mail2.replace("@", "%40"))}&lang=ru 200
GET /redirect?next=%2Fprofile%3Fref%3D{P("EMAIL", "m.tanaka%2540" + "osaka-denki.co.jp")} 302
POST /hook body=key%3D{P("STRIPE_KEY", "".join("%%%02x" % ord(c) for c in enc_key))}
GET /search?q=hello%20world%2C%20again&page=2 200
GET /static/app.js?v=1.2.3%2Bbuild.7 200
""")

cur = "base64_configs.txt"
# base64 that decodes to text: the decoded value's type, over the whole run
def b64s(x):
    return base64.b64encode(x.encode()).decode()


dock_auth = b64s("deploy:" + pw())
npm_auth = b64s("ci-publisher:" + pw())
env_b64 = b64s("DB_HOST=db.internal\nDB_PASSWORD=" + pw() + "\n")
json_b64 = b64s(json.dumps({"service": "billing", "smtp_password": pw(), "port": 587}))
k8s_dsn = b64s("postgres://billing:" + pw() + "@db.internal:5432/billing")
k8s_key = b64s(r(40))
add(cur, f"""$ cat ~/.docker/config.json
{{"auths": {{"registry.acme-corp.com": {{"auth": "{P("PASSWORD", dock_auth)}"}}}}}}
$ cat ~/.npmrc
//npm.acme-corp.com/:_auth={P("PASSWORD", npm_auth)}
always-auth=true
$ echo {P("PASSWORD", env_b64)} | base64 -d > .env
$ kubectl get cm billing -o jsonpath='{{.data.settings}}'
{P("PASSWORD", json_b64)}
$ kubectl get secret billing -o yaml
apiVersion: v1
data:
  DATABASE_URL: {P("PASSWORD", k8s_dsn)}
  STRIPE_WEBHOOK_SIGNING_KEY: {P("GENERIC_SECRET", k8s_key)}
  username: {b64s("billing")}
  replicas: {b64s("3")}
kind: Secret
metadata:
  name: billing
type: Opaque
$ echo {b64s("hello from the build bot, all green")} | base64 -d
$ kubectl get cm ui -o jsonpath='{{.data.theme}}'
{b64s(json.dumps({"theme": "dark", "density": "compact", "beta": False}))}
""")

cur = "ops_handover.txt"
add(cur, f"""Handover notes, week 19

- The password for the staging db is {P("PASSWORD", pw())} (rotate on Friday).
- I reset your password to {P("PASSWORD", pw())}, please change it after login.
- Das Passwort ist {P("PASSWORD", pw())} und gilt bis Montag.
- New Grafana credentials: admin / {P("PASSWORD", pw())}
- The password to use is in the vault; the password for root is rotated nightly.
- Pass the password to the helper script: it hashes it before storing it.
""")

cur = "ops_commands.sh"
add(cur, f"""#!/bin/sh
# one-off maintenance, do not commit
redis-cli -h cache.internal -a '{P("PASSWORD", pw())}' FLUSHDB
ldapsearch -x -H ldaps://ldap.internal -D "cn=reader,dc=acme,dc=com" -w {P("PASSWORD", pw().replace("!", "x"))} -b dc=acme,dc=com
sqlcmd -S sql01.internal -U sa -P "{P("PASSWORD", pw())}" -Q "DBCC CHECKDB"
smbclient //fs01.internal/backup -U svc_backup%{P("PASSWORD", pw().replace("!", "x"))} -c 'ls'
keytool -importcert -keystore truststore.jks -storepass {P("PASSWORD", pw())} -file ca.pem
openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:{P("PASSWORD", pw())} -out bundle.p12
ls -a /var/backups && git commit -a -m "rotate" && grep -w ERROR /var/log/app.log
redis-cli -a "$REDIS_PASSWORD" PING
""")

cur = "agent_session.log"
go_pw, sudo_pw, sudo_pw2, redis_pw, key_pw = (pw().replace("!", "x") for _ in range(5))
add(cur, f"""[tool] bash: echo '{P("PASSWORD", sudo_pw)}' | sudo -S systemctl restart shop
[tool] bash: sudo -S <<< "{P("PASSWORD", sudo_pw2)}" journalctl -u shop -n 50
[tool] read_file internal/db/db.go
    14\tdb, err := sql.Open("mysql", "shop:{P("PASSWORD", go_pw)}@tcp(db.internal:3306)/shop?parseTime=true")
    15\tcache := redis.NewClient(&redis.Options{{Addr: "cache:6379"}})
[tool] read_file src/main/java/Cache.java
    22\t        jedis.auth("{P("PASSWORD", redis_pw)}");
[tool] bash: ssh-keygen -t ed25519 -N '{P("PASSWORD", key_pw)}' -f deploy_key
[tool] bash: ssh-keygen -t ed25519 -N '' -f ci_key && echo "$SUDO_PW" | sudo -S true
""")

cur = "provision.sh"
reg_pw, user_pw = pw().replace("!", "x"), pw().replace("!", "x")
add(cur, f"""#!/bin/sh
set -eu
echo '{P("PASSWORD", reg_pw)}' | docker login -u deployer --password-stdin registry.acme-corp.com
echo 'deploy:{P("PASSWORD", user_pw)}' | chpasswd
echo "$GHCR_TOKEN" | docker login ghcr.io -u acme-bot --password-stdin
grep -c deploy /etc/passwd
""")

# --- issue 12, second part: more vendors' 32-hex keys, their look-alikes --

cur = "analytics_clients.py"
add(cur, f"""# Server-side analytics for the export job
from mixpanel import Mixpanel
from amplitude import Amplitude, BaseEvent

# Mixpanel project token (server events only)
mp = Mixpanel("{P("GENERIC_SECRET", r(32, HEX))}")
mp.track("{r(32, HEX)}", "Export Finished", {{"rows": 1200}})

amplitude_client = Amplitude(
    "{P("GENERIC_SECRET", r(32, HEX))}",
)
amplitude_client.track(BaseEvent(event_type="export", user_id="{r(32, HEX)}"))

# Datadog: API key by position, the app key is read from the vault
dd = DatadogClient("{P("GENERIC_SECRET", r(32, HEX))}", vault.read("dd/app_key"))
""")

cur = "media_apis.js"
add(cur, f"""// Spotify client for the playlist importer (client credentials flow)
const spotify = new SpotifyWebApi({{ clientId: process.env.SPOTIFY_ID }});
spotify.setClientSecret('{P("GENERIC_SECRET", r(32, HEX))}');

// weather widget: OpenWeather key
const weather = createWeatherClient('metric', '{P("GENERIC_SECRET", r(32, HEX))}');

// the cache key of a track is its md5, the session id a random hex
const etag = md5(trackBytes);
spotify.getTrack('{r(22, AL)}', {{ session: '{r(32, HEX)}' }});
""")

cur = "vendor_checksums.txt"
add(cur, f"""$ md5sum datadog-agent_7.50.3-1_amd64.deb mixpanel-4.10.1.tar.gz braintree-4.29.0.gem
{r(32, HEX)}  datadog-agent_7.50.3-1_amd64.deb
{r(32, HEX)}  mixpanel-4.10.1.tar.gz
{r(32, HEX)}  braintree-4.29.0.gem
$ python verify.py
verify_md5("datadog-agent_7.50.3-1_amd64.deb", "{r(32, HEX)}")
assert checksum("braintree-4.29.0.gem") == "{r(32, HEX)}"
# spotify import: ids of the tracks seen (uuid4().hex)
seen.add(uuid.UUID("{r(32, HEX)}"))
# twilio webhook replay: the request's signature digest
compare_digest(expected, "{r(32, HEX)}")
$ git log --oneline -3 -- vendor/algolia
{r(7, HEX)} bump algoliasearch to 4.22 ({r(40, HEX)})
{r(7, HEX)} pin trello client, see commit {r(40, HEX)}
""")

cur = "handover_chat.txt"
add(cur, f"""[09:12] maria: staging is back. user alice / {P("PASSWORD", pw())} for the admin UI
[09:13] maria: the reporting box: login: reporter, {P("PASSWORD", pw())}
[09:15] tom: thanks! and the ftp?
[09:16] maria: sign in as uploader with {P("PASSWORD", pw())} (read-only)
[09:17] maria: Benutzer: anna / {P("PASSWORD", pw())} fuer das Wiki
[09:20] tom: user guide / FAQ-2024 is still outdated btw
[09:21] maria: user tom, please review PR-1234 before Friday
""")

cur = "accounts_prose_negatives.md"
add(cur, f"""# Accounts and access

The user guide / FAQ covers login problems; the login / sign-up page was
redesigned in release-v2.3-rc1. Each user root / uid 0 entry belongs to the
wheel group. Username / password fields are validated on the client.

| user: jdoe | role: admin | last login: 2024-05-01T10:22:03Z |

- account svc-deploy, created 2024-05-01 by ops-bot
- user alice / Group-Admins-2024 and account bob / release-v1.2.3-beta
- login: alice / see the 1Password entry "Staging DB"
- user alice / $DB_PASSWORD, account bob / ${{BOB_PW}}
- the build user ci with sha256:{r(16, HEX)} as the image digest
- account 48213 with ID-77821-B was merged into account 48214
- cd /home/user alice/projects/api-v2.1 && make
""")

# --- kubectl's own output of Secrets: JSON, data before kind; a list ---

def b64(text):
    return base64.b64encode(text.encode()).decode()


cur = "kubectl_get_secrets.json"
add(cur, json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1",
     "data": {"DATABASE_URL": P("PASSWORD", b64("postgres://orders:%s@db.shop.svc:5432/orders" % r(14))),
              "username": b64("orders")},
     "kind": "Secret",
     "metadata": {"name": "orders-db", "namespace": "shop"},
     "type": "Opaque"},
    {"apiVersion": "v1",
     "data": {"ca.crt": b64("see the cluster CA bundle"),
              "namespace": b64("shop")},
     "kind": "Secret",
     "metadata": {"name": "default-token-x7k2p", "namespace": "shop"},
     "type": "kubernetes.io/service-account-token"},
    {"apiVersion": "v1",
     "data": {"GITHUB_TOKEN": P("GITHUB_TOKEN", b64("ghp_" + r(36))),
              "REDIS_URL": P("PASSWORD", b64("redis://:%s@cache.shop.svc:6379/0" % r(16)))},
     "kind": "Secret",
     "metadata": {"name": "ci-bot", "namespace": "shop"},
     "type": "Opaque"},
    {"apiVersion": "v1",
     "data": {"settings.json": '{"theme": "dark", "retries": 3}', "region": "eu-west-1"},
     "kind": "ConfigMap",
     "metadata": {"name": "shop-ui", "namespace": "shop"}}]}, indent=4) + "\n")

# --- base64 of a connection string, a token or a .env line, no anchor ---

cur = "b64_values.sh"
add(cur, f"""# CI variables are stored base64-encoded; decode them at job start
export DATABASE_URL_B64={P("PASSWORD", b64("postgresql://ci:%s@pg.ci.svc:5432/app" % r(15)))}
export DOCS_URL_B64={b64("https://docs.acme-corp.com/ci/variables")}
export PATH_B64={b64("export PATH=$PATH:/opt/ci/bin")}
node -e "console.log(atob('{P("GITHUB_TOKEN", b64("ghp_" + r(36)))}'))" > /tmp/t
python3 -c 'import base64; print(base64.b64decode("{P("PASSWORD", b64("DB_PASSWORD=%s" % r(14)))}").decode())'
# the logo stays as it is
LOGO_PNG=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
""")

# --- MongoDB's and RabbitMQ's -p ---

cur = "restore_notes.sh"
add(cur, f"""# restore the catalogue from last night's dump
mongodump --host mongo-0.db.svc -u backup -p '{P("PASSWORD", pw())}' --out /srv/dump
mongorestore --host mongo-staging -u restore -p {P("PASSWORD", r(14))} /srv/dump
mongosh "mongodb://mongo-staging:27017" -u admin -p --authenticationDatabase admin
rabbitmqadmin -H mq.svc -u ops -p '{P("PASSWORD", pw())}' list queues
mkdir -p /srv/dump && ssh -p 2222 ops@bastion
""")

for name, text in FILES.items():
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)
with open(os.path.join(HERE, "expected.tsv"), "w") as f:
    f.write("# file\tTYPE\tvalue (exact; \\n and \\t escaped)\n")
    for fn, typ, v in labels:
        f.write("%s\t%s\t%s\n" % (fn, typ, v.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")))
print("%d files, %d labelled findings" % (len(FILES), len(labels)))
