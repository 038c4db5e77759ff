"""Driving the real clients (npm packages) against a test gateway.

The clients live in tests/clients/node_modules, installed from the pinned
package-lock.json by tests/clients/install.sh (idempotent; the first test
that needs them runs it).  Each helper runs one client as its own process,
with a throw-away HOME, and returns what it printed:

- ``run_sdk(gateway, token, scenario, model)``: one call of the ``openai`` or
  ``@anthropic-ai/sdk`` SDK through tests/clients/sdk-driver.mjs, which
  prints what the SDK handed back as JSON;
- ``run_claude(gateway, token, prompt, token_as=...)``: ``claude -p``
  (Claude Code) with ``ANTHROPIC_BASE_URL`` at the gateway;
- ``run_codex(gateway, token, prompt)``: ``codex exec`` with a custom
  provider in ``$CODEX_HOME/config.toml`` pointing at the gateway.

``sse_body(events)`` builds a canned SSE answer for ``mock.respond_next``
(a tool call first, the mock's ordinary answer after).
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS_DIR = os.path.abspath(os.path.join(HERE, "..", "clients"))
NODE_BIN = os.path.join(CLIENTS_DIR, "node_modules", ".bin")
SDK_DRIVER = os.path.join(CLIENTS_DIR, "sdk-driver.mjs")

_install_lock = threading.Lock()
_install_result = None


def install_clients():
    """Run tests/clients/install.sh once per session; fail the test with
    npm's output when the clients cannot be installed (no node, no
    registry): a missing client must not look like a passing test."""
    global _install_result
    with _install_lock:
        if _install_result is None:
            if not shutil.which("node") or not shutil.which("npm"):
                _install_result = (127, "node and npm are not on PATH")
            else:
                p = subprocess.run([os.path.join(CLIENTS_DIR, "install.sh")],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   timeout=900)
                _install_result = (p.returncode, p.stdout)
    rc, out = _install_result
    if rc != 0:
        pytest.fail("tests/clients/install.sh failed (exit %d):\n%s"
                    % (rc, out[-3000:]))


@pytest.fixture(scope="session")
def clients_installed():
    install_clients()
    return NODE_BIN


def _base_env(home):
    """A clean environment: no proxy, no real keys from the developer's
    shell, a HOME nothing else uses."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "NODE_NO_WARNINGS": "1",
    }
    return env


class ClientRun:
    """What a client process did: returncode, stdout, stderr, elapsed."""

    def __init__(self, proc, elapsed, home):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        self.home = home

    def json(self):
        lines = [ln for ln in self.stdout.splitlines() if ln.strip()]
        return json.loads(lines[-1]) if lines else None

    def __repr__(self):
        return ("<ClientRun rc=%s %.1fs\n--- stdout ---\n%s\n--- stderr ---\n"
                "%s>" % (self.returncode, self.elapsed, self.stdout[-3000:],
                         self.stderr[-3000:]))


def _run(argv, env, cwd, timeout):
    import time
    t0 = time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s did not finish in %ss\n--- stdout ---\n%s\n"
                             "--- stderr ---\n%s" % (
                                 os.path.basename(argv[0]), timeout,
                                 (e.stdout or b"")[-2000:],
                                 (e.stderr or b"")[-2000:]))
    return proc, time.monotonic() - t0


def run_sdk(gateway, token, scenario, model, prompt=None, timeout=60,
            workdir=None):
    """One SDK call (see sdk-driver.mjs for the scenarios); ``.json()`` is
    what the SDK returned, or {"error": ..., "status": ...}.  ``workdir``:
    where the driver, as an agent, writes the files tool calls ask for."""
    home = tempfile.mkdtemp(prefix="llmgw-sdk-")
    try:
        env = _base_env(home)
        env.update(GATEWAY_URL=gateway.url, GATEWAY_TOKEN=token, MODEL=model)
        if workdir is not None:
            env["WORKDIR"] = workdir
        if prompt is not None:
            env["PROMPT"] = prompt
        proc, elapsed = _run(["node", SDK_DRIVER, scenario], env, CLIENTS_DIR,
                             timeout)
        return ClientRun(proc, elapsed, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def claude_env(gateway_url, token, token_as, home):
    """Claude Code pointed at the gateway, telemetry and updates off, few
    retries (it retries a 401 for minutes otherwise)."""
    env = _base_env(home)
    env.update({
        "ANTHROPIC_BASE_URL": gateway_url,
        "CLAUDE_CODE_MAX_RETRIES": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "API_TIMEOUT_MS": "60000",
    })
    if token_as == "api_key":
        env["ANTHROPIC_API_KEY"] = token
    elif token_as == "auth_token":
        env["ANTHROPIC_AUTH_TOKEN"] = token
    # token_as "none": the token comes from settings (apiKeyHelper)
    return env


def claude_home():
    """A throw-away HOME for Claude Code with a ``work`` directory, its
    working directory (the caller removes it)."""
    home = tempfile.mkdtemp(prefix="llmgw-claude-")
    os.makedirs(os.path.join(home, "work"))
    return home


def run_claude(gateway, token, prompt, token_as="auth_token", args=(),
               timeout=120, home=None, extra_env=None):
    """``claude -p PROMPT`` through the gateway, in ``home``/work (a fresh
    throw-away HOME unless given); returns a ClientRun."""
    own = home is None
    home = home or claude_home()
    try:
        env = claude_env(gateway.url, token, token_as, home)
        env.update(extra_env or {})
        proc, elapsed = _run([os.path.join(NODE_BIN, "claude"), "-p", prompt]
                             + list(args), env, os.path.join(home, "work"),
                             timeout)
        return ClientRun(proc, elapsed, home)
    finally:
        if own:
            shutil.rmtree(home, ignore_errors=True)


# The custom provider, and Codex's own traffic off: without the last three
# settings it also calls github.com, api.github.com (curated plugin sync),
# chatgpt.com and ab.chatgpt.com (analytics).
CODEX_CONFIG = """\
model = "{model}"
model_provider = "llm-gateway"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false

[model_providers.llm-gateway]
name = "LLM gateway"
base_url = "{base}/v1"
wire_api = "responses"
env_key = "LLM_GATEWAY_TOKEN"
"""


def run_codex(gateway, token, prompt, model="gpt-5.1-codex", config=None,
              extra_env=None, args=(), timeout=120):
    """``codex exec PROMPT`` with a custom provider at the gateway (Codex
    ignores OPENAI_BASE_URL); the token is read from LLM_GATEWAY_TOKEN."""
    home = tempfile.mkdtemp(prefix="llmgw-codex-")
    try:
        codex_home = os.path.join(home, "codex")
        work = os.path.join(home, "work")
        os.makedirs(codex_home)
        os.makedirs(work)
        with open(os.path.join(codex_home, "config.toml"), "w") as f:
            f.write((config or CODEX_CONFIG).format(model=model,
                                                    base=gateway.url))
        env = _base_env(home)
        env.update(CODEX_HOME=codex_home, LLM_GATEWAY_TOKEN=token)
        env.update(extra_env or {})
        proc, elapsed = _run([os.path.join(NODE_BIN, "codex"), "exec",
                              "--skip-git-repo-check"] + list(args)
                             + [prompt], env, work, timeout)
        return ClientRun(proc, elapsed, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def sse_body(events):
    """Canned SSE text from [(event name or None, payload dict)]."""
    out = []
    for name, payload in events:
        data = json.dumps(payload, separators=(",", ":"))
        out.append(("event: %s\n" % name if name else "") +
                   "data: %s\n\n" % data)
    return "".join(out)


SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8",
               "Cache-Control": "no-cache"}


def assert_provider_credentials(rec, gateway, token, family):
    """The provider got the gateway's key for it, in its own header, and
    nothing of the caller's token in any header."""
    for name, value in rec.headers:
        assert token not in value, (
            "caller's token reached the provider in %s" % name)
    if family == "anthropic":
        assert rec.header("x-api-key") == gateway.anthropic_key, rec.headers
        assert rec.header("authorization") is None, rec.headers
    else:
        assert rec.header("authorization") == "Bearer " + gateway.openai_key, \
            rec.headers
        assert rec.header("x-api-key") is None, rec.headers


# -- gateways with their own provider configuration (test_route_*.py) --------

def assert_value_kept_in(gateway, value):
    """A value reversible redaction gave back to a client stayed out of the
    gateway's records: no audit row, error or access log holds it."""
    rows = gateway.audit.wait_for_rows(
        "SELECT id FROM llm_audit a WHERE position(%s in "
        "row_to_json(a)::text) > 0", (value,), count=1, timeout=1.0)
    assert rows == [], "value in an audit row"
    assert gateway.audit.query("SELECT id FROM llm_audit LIMIT 1") != []
    logs = gateway.error_log_text() + gateway.access_log_text()
    assert value not in logs, "value in the error or access log"


def gateway_with_providers(factory, providers_conf, extra_conf="", **kwargs):
    """A gateway whose llm-gateway.d/20-test-providers.conf is
    ``providers_conf``, formatted with {okey} / {akey} (the provider key
    files), {mock} (host:port of the suite's mock provider) and {dead}
    (host:port where nothing listens)."""
    from gwtest.ports import LOOPBACK, free_port
    g = factory.make(start=False, extra_conf=extra_conf, **kwargs)
    g.gateway_d["20-test-providers.conf"] = providers_conf.format(
        okey=g.openai_key_file, akey=g.anthropic_key_file,
        mock="%s:%d" % (LOOPBACK, g.mock.port),
        dead="%s:%d" % (LOOPBACK, free_port()))
    g.start()
    return g


def openai_error(resp):
    """The OpenAI error object of a response, asserting the shape."""
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"], body
    assert "type" in err, body
    return err


def anthropic_error(resp):
    """The Anthropic error object of a response, asserting the shape."""
    body = resp.json()
    assert body.get("type") == "error", body
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"], body
    assert isinstance(err.get("type"), str), body
    return err


class RecordingProxy:
    """An HTTP(S) proxy that records every connection a client makes
    through it and refuses them all: with HTTPS_PROXY / HTTP_PROXY pointing
    here and NO_PROXY covering the gateway, ``attempts`` lists every other
    host the client tried to reach."""

    def __init__(self):
        import socket
        self.attempts = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self):
        return {"HTTPS_PROXY": self.url, "HTTP_PROXY": self.url,
                "https_proxy": self.url, "http_proxy": self.url,
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"}

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"?"
                self.attempts.append(first.decode("latin-1"))
                try:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()
