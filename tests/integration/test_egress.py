"""The egress proxy sample (issue 5, isolation): conf/egress-proxy.conf in a
real httpd forward proxy refuses CONNECT tunnels and plain requests to LLM
provider hosts with 403 and a message naming the gateway, and lets other
traffic through.  No outside connection is made: refusals are the proxy's
own decision, and "passes" is shown with tunnels and requests to servers
the test runs on the loopback interface.

The gateway harness (gwtest.httpd) builds gateway servers, so this module
starts its own small httpd around the sample file.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gwtest.httpd import REPO_CONF, _child_user, httpd_binary, \
    httpd_modules_dir
from gwtest.ports import LOOPBACK, free_port, wait_for_port

GATEWAY_URL = "https://llm-gateway.test.example/v1"


class _Hello(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b"hello from an ordinary site"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class EgressProxy:
    def __init__(self, connect_ports):
        self.base = tempfile.mkdtemp(prefix="llmgw-egress-")
        os.chmod(self.base, 0o755)
        os.makedirs(os.path.join(self.base, "logs"))
        self.port = free_port()
        self.conf = os.path.join(self.base, "httpd.conf")
        user, group, _, _ = _child_user()
        mods = httpd_modules_dir()
        with open(self.conf, "w") as f:
            f.write("""\
ServerRoot "{base}"
PidFile "{base}/httpd.pid"
DefaultRuntimeDir "{base}"
ErrorLog "{base}/logs/error.log"
LogLevel warn proxy:debug proxy_connect:debug
ServerName localhost
User {user}
Group {group}
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
CustomLog "{base}/logs/access.log" "%>s %r provider=%{{llm_provider_host}}e"
Define LLM_GW_HTTPD_MODULES {mods}
Define LLM_EGRESS_LISTEN {loop}:{port}
Define LLM_EGRESS_GATEWAY {gw}
Define LLM_EGRESS_CLIENTS "127.0.0.1 ::1"
Define LLM_EGRESS_CONNECT_PORTS "443 {cports}"
Include "{sample}"
""".format(base=self.base, user=user, group=group, mods=mods,
           loop=LOOPBACK, port=self.port, gw=GATEWAY_URL,
           cports=" ".join(str(p) for p in connect_ports),
           sample=os.path.join(REPO_CONF, "egress-proxy.conf")))
        self.proc = None

    def check(self):
        return subprocess.run([httpd_binary(), "-t", "-f", self.conf],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def start(self):
        self.proc = subprocess.Popen(
            [httpd_binary(), "-f", self.conf, "-DFOREGROUND"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.base, "logs", "stderr.log"), "w"),
            start_new_session=True)
        assert wait_for_port(self.port, 15,
                             alive=lambda: self.proc.poll() is None), \
            self.log("error.log") + self.log("stderr.log")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        if os.environ.get("LLM_GW_KEEP_TMP") != "1":
            shutil.rmtree(self.base, ignore_errors=True)

    def log(self, name):
        try:
            with open(os.path.join(self.base, "logs", name)) as f:
                return f.read()
        except OSError:
            return ""

    def raw(self, request, timeout=10):
        """Send one raw request; (status, head+body text, socket)."""
        s = socket.create_connection((LOOPBACK, self.port), timeout=timeout)
        s.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split()[1]) if head else 0
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(rest) < length:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        return status, (head + b"\r\n\r\n" + rest).decode("latin-1"), s


@pytest.fixture(scope="module")
def echo_server():
    """A TCP echo server: the far end of a tunnel to an allowed host."""
    srv = socket.socket()
    srv.bind((LOOPBACK, 0))
    srv.listen(8)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            data = c.recv(100)
            c.sendall(b"echo:" + data)
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture(scope="module")
def web_server():
    httpd = ThreadingHTTPServer((LOOPBACK, 0), _Hello)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture(scope="module")
def proxy(echo_server, web_server):
    p = EgressProxy([echo_server])
    try:
        p.start()
        yield p
    finally:
        p.stop()


def assert_refused_with_gateway_message(status, text, host):
    assert status == 403, text
    assert GATEWAY_URL in text, text
    assert host.lower().rstrip(".") in text.lower(), text
    assert "gateway" in text


@pytest.mark.parametrize("host", [
    "api.openai.com", "api.anthropic.com", "api.deepseek.com",
    "openrouter.ai", "generativelanguage.googleapis.com", "api.mistral.ai",
    "api.groq.com", "api.together.xyz", "api.cohere.com", "api.x.ai",
    "API.OpenAI.COM",                                # case does not matter
    "api.openai.com.",                               # absolute name
    "my-team.openai.azure.com",                      # Azure OpenAI resources
    "us-central1-aiplatform.googleapis.com",         # Vertex AI regions
    "bedrock-runtime.eu-west-1.amazonaws.com",       # Bedrock regions
])
def test_connect_to_provider_is_refused(proxy, host):
    status, text, s = proxy.raw("CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n"
                                "\r\n" % (host, host))
    s.close()
    assert_refused_with_gateway_message(status, text, host)


def test_connect_api_openai_is_refused_by_policy_not_by_network(proxy):
    status, text, s = proxy.raw("CONNECT api.openai.com:443 HTTP/1.1\r\n"
                                "Host: api.openai.com:443\r\n\r\n")
    s.close()
    assert_refused_with_gateway_message(status, text, "api.openai.com")
    log = proxy.log("error.log")
    # Refused by the access rule, and no connection was attempted.
    assert "AH01630" in log or "AH01797" in log, log   # client denied by config
    assert "connecting api.openai.com" not in log
    assert "resolve hostname 'api.openai.com'" not in log
    assert "403 CONNECT api.openai.com:443 HTTP/1.1 provider=1" in \
        proxy.log("access.log")


def test_plain_request_to_provider_is_refused(proxy):
    status, text, s = proxy.raw(
        "POST http://api.anthropic.com/v1/messages HTTP/1.1\r\n"
        "Host: api.anthropic.com\r\nContent-Length: 2\r\n\r\n{}")
    s.close()
    assert_refused_with_gateway_message(status, text, "api.anthropic.com")


def test_connect_example_org_is_not_refused_by_policy(proxy):
    """No internet here: the proxy decides to connect (and then fails to
    resolve or reach the host); what matters is that it tried."""
    status, text, s = proxy.raw("CONNECT example.org:443 HTTP/1.1\r\n"
                                "Host: example.org:443\r\n\r\n", timeout=30)
    s.close()
    assert status != 403, text
    assert GATEWAY_URL not in text
    log = proxy.log("error.log")
    assert "example.org" in log and "proxy_connect" in log, log
    assert "403 CONNECT example.org" not in proxy.log("access.log")


def test_tunnel_to_other_host_passes(proxy, echo_server):
    status, text, s = proxy.raw("CONNECT localhost:%d HTTP/1.1\r\n"
                                "Host: localhost:%d\r\n\r\n"
                                % (echo_server, echo_server))
    try:
        assert status == 200, text
        s.sendall(b"ping")
        assert s.recv(100) == b"echo:ping"
    finally:
        s.close()


def test_plain_request_to_other_host_passes(proxy, web_server):
    status, text, s = proxy.raw("GET http://localhost:%d/ HTTP/1.1\r\n"
                                "Host: localhost:%d\r\n\r\n"
                                % (web_server, web_server))
    s.close()
    assert status == 200, text
    assert "hello from an ordinary site" in text


def test_other_refusals_do_not_blame_llm_policy(proxy):
    """A CONNECT to a port the proxy does not tunnel is refused as before,
    without the gateway message."""
    status, text, s = proxy.raw("CONNECT localhost:22 HTTP/1.1\r\n"
                                "Host: localhost:22\r\n\r\n")
    s.close()
    assert status == 403, text
    assert GATEWAY_URL not in text


def test_sample_passes_config_check():
    p = EgressProxy([])
    try:
        out = p.check()
        assert out.returncode == 0, out.stdout
        assert "Syntax OK" in out.stdout
    finally:
        p.stop()
