"""tools/llm-token against a real OpenID Provider (issue 17): the device
login prints a URL and a code on stderr and the token alone on stdout (a
browser approves the code, as a developer would), the cache is private,
later runs answer from the cache, a nearly expired token is refreshed
silently, and an expired refresh token leads to a new device login -- each
token accepted by a gateway that verifies the OP's keys."""

import os
import re
import stat
import subprocess
import threading
import time

import pytest

from gwtest.httpd import REPO_ROOT, GatewayServer
from gwtest.op import browser
from client_helpers import clients_installed  # noqa: F401  (fixture)

LLM_TOKEN = os.path.join(REPO_ROOT, "tools", "llm-token", "llm-token")
CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def op_gw(op, minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      defines=op.defines(),
                      gateway_d={"11-op-jwks.conf": op.httpd_conf()})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture
def home(tmp_path):
    return tmp_path


def env_for(op, home, **extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_CONFIG_HOME": str(home / "config"),
           "LLM_TOKEN_ISSUER": op.issuer,
           "LLM_TOKEN_RESOURCE": "urn:llm-gateway",
           "LLM_TOKEN_SCOPE": "openid offline_access llm",
           "LLM_TOKEN_CA_FILE": op.tls_cert}
    env.update(extra)
    return env


class Run:
    """llm-token running in the background; stderr read as it comes."""

    def __init__(self, env, *args):
        self.proc = subprocess.Popen(["/usr/bin/python3", LLM_TOKEN] + list(args),
                                     env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.err = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            with self.changed:
                self.err.append(line)
                self.changed.notify_all()

    def wait_for_login_url(self, timeout=20):
        """The verification_uri_complete the tool printed."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while time.monotonic() < deadline:
                m = re.search(r"\(or open (https://\S+)\)", "".join(self.err))
                if m:
                    return m.group(1)
                if self.proc.poll() is not None:
                    break
                self.changed.wait(deadline - time.monotonic())
        raise AssertionError("no login URL on stderr: %r" % "".join(self.err))

    def finish(self, timeout=60):
        out = self.proc.stdout.read()
        self.proc.wait(timeout)
        return self.proc.returncode, out, "".join(self.err)


def device_login(op, env, login="alice"):
    run = Run(env)
    url = run.wait_for_login_url()
    text = "".join(run.err)
    assert "open   %s/device" % op.issuer in text
    code = re.search(r"code   (\S+)", text).group(1)
    shown = browser({"job": "approve-device", "url": url, "login": login,
                     "password": op.password(login)})
    # The code the developer compares is the one the IdP shows.
    assert shown["user_code"] == code
    rc, out, err = run.finish()
    assert rc == 0, err
    token = out.strip()
    assert out == token + "\n" and token.count(".") == 2
    assert token not in err
    return token


def run_once(env, *args):
    p = subprocess.run(["/usr/bin/python3", LLM_TOKEN] + list(args), env=env,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def call(g, token):
    return g.client().post(CHAT, BODY, token=token)


def test_device_login_cache_refresh_and_expired_refresh(op, op_gw, mock, home):
    env = env_for(op, home)
    token = device_login(op, env)
    assert call(op_gw, token).status == 200

    cache = home / "cache" / "llm-token"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    for name in ("tokens.json", "lock"):
        assert stat.S_IMODE(os.stat(cache / name).st_mode) == 0o600, name

    # Valid for long enough: the cached token, nothing asked of anyone.
    rc, out, err = run_once(env)
    assert (rc, out, err) == (0, token + "\n", "")

    # Not valid for long enough (the OP issues 600 s tokens): refreshed
    # silently -- a new token, no login prompt.
    rc, out, err = run_once(dict(env, LLM_TOKEN_MIN_VALID="100000"))
    assert rc == 0 and err == "", err
    refreshed = out.strip()
    assert refreshed != token
    assert call(op_gw, refreshed).status == 200

    # The refresh token has expired at the IdP: a new device login.
    op.expire_refresh_tokens()
    relogin = device_login(op, dict(env, LLM_TOKEN_MIN_VALID="100000"))
    assert relogin not in (token, refreshed)
    assert call(op_gw, relogin).status == 200


def test_status_logout_and_missing_issuer(op, home):
    env = env_for(op, home)
    rc, out, _ = run_once(env, "status")
    assert (rc, out) == (0, "not logged in\n")
    env.pop("LLM_TOKEN_ISSUER")
    rc, out, err = run_once(env)
    assert rc == 1 and out == ""
    assert "LLM_TOKEN_ISSUER is not set" in err


def test_plain_http_issuer_refused(op, home):
    rc, out, err = run_once(env_for(op, home,
                                    LLM_TOKEN_ISSUER="http://idp.example.test"))
    assert rc == 1 and out == ""
    assert "must be an https URL" in err


def test_issuer_from_config_file_and_unreachable_idp(op, home):
    (home / "config").mkdir()
    (home / "config" / "llm-token.conf").write_text(
        "# written by IT\nLLM_TOKEN_ISSUER=https://127.0.0.1:9\n")
    env = env_for(op, home)
    env.pop("LLM_TOKEN_ISSUER")
    rc, out, err = run_once(env)
    assert rc == 1 and out == ""
    assert "cannot reach the IdP at https://127.0.0.1:9/" in err


def test_claude_code_with_llm_token_as_api_key_helper(op, op_gw, mock,
                                                      clients_installed):
    """The developer set-up of docs/identity.md, end to end: llm-token
    configured by ~/.config/llm-token.conf, one device login, then Claude
    Code asks llm-token for its key (apiKeyHelper) and its turn reaches the
    provider through the gateway as that developer."""
    import json
    import shutil
    from client_helpers import (assert_provider_credentials, claude_home,
                                run_claude)
    home = claude_home()
    try:
        conf = os.path.join(home, ".config")
        os.makedirs(conf)
        with open(os.path.join(conf, "llm-token.conf"), "w") as f:
            f.write("LLM_TOKEN_ISSUER=%s\nLLM_TOKEN_RESOURCE=urn:llm-gateway\n"
                    "LLM_TOKEN_SCOPE=openid offline_access llm\n"
                    "LLM_TOKEN_CA_FILE=%s\n" % (op.issuer, op.tls_cert))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        token = device_login(op, env, login="alice")
        os.makedirs(os.path.join(home, ".claude"))
        with open(os.path.join(home, ".claude", "settings.json"), "w") as f:
            json.dump({"apiKeyHelper": "/usr/bin/python3 " + LLM_TOKEN}, f)
        mock.reply_text = "Hello through llm-token."
        run = run_claude(op_gw, "", "say hi", token_as="none", home=home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert run.returncode == 0, run
    assert "Hello through llm-token." in run.stdout, run
    reqs = mock.wait_for_requests(1, timeout=10)
    assert reqs
    for rec in reqs:
        assert_provider_credentials(rec, op_gw, token, "anthropic")
    rows = op_gw.audit.query(
        "SELECT user_name, user_groups FROM llm_audit WHERE user_name = %s",
        ("alice",))
    assert rows, "no audit row names the developer"


def test_codex_with_llm_token_env_key(op, op_gw, mock, home,
                                      clients_installed):
    """Codex CLI's custom provider reads its key from the variable its
    env_key names: the wrapper of docs/identity.md,
    LLM_GATEWAY_TOKEN=$(llm-token) codex, with the token from llm-token's
    cache after one device login."""
    from client_helpers import assert_provider_credentials, run_codex
    env = env_for(op, home)
    token = device_login(op, env, login="root")
    rc, out, err = run_once(env)
    assert (rc, err) == (0, "") and out == token + "\n"
    mock.reply_text = "Codex through llm-token."
    run = run_codex(op_gw, out.strip(), "say hi")
    assert run.returncode == 0, run
    assert "Codex through llm-token." in run.stdout, run
    reqs = mock.wait_for_requests(1, timeout=10)
    assert reqs and all(r.route == "/v1/responses" for r in reqs), mock.summary()
    for rec in reqs:
        assert_provider_credentials(rec, op_gw, token, "openai")
