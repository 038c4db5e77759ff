"""The production listener sample (issue 14): conf/llm-gateway-tls.conf,
switched on with -DLLM_GW_TLS, serves the gateway over TLS 1.3 only, with
HTTP/2 and HSTS, from the certificate paths given as Defines (here a
self-signed certificate made for the test).
"""

import json
import os
import socket
import ssl
import subprocess

import pytest

from gwtest.ports import free_port

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    crt, key = str(d / "gateway.crt"), str(d / "gateway.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    os.chmod(str(d), 0o755)
    return crt, key


@pytest.fixture
def tls_gw(gateway_factory, cert):
    port = free_port()
    g = gateway_factory.make(pg=None, defines={
        "LLM_GW_TLS": "1", "LLM_GW_TLS_ADDR": "127.0.0.1",
        "LLM_GW_TLS_PORT": str(port), "LLM_GW_TLS_CERT": cert[0],
        "LLM_GW_TLS_KEY": cert[1]})
    g.tls_port = port
    return g


def connect(g, cafile, **ctx_opts):
    ctx = ssl.create_default_context(cafile=cafile)
    for k, v in ctx_opts.items():
        setattr(ctx, k, v)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    sock = socket.create_connection(("127.0.0.1", g.tls_port), timeout=10)
    return ctx.wrap_socket(sock, server_hostname="localhost")


def test_tls13_only_with_h2(tls_gw, cert):
    with connect(tls_gw, cert[0]) as s:
        assert s.version() == "TLSv1.3"
        assert s.selected_alpn_protocol() == "h2"
    with pytest.raises(ssl.SSLError):
        connect(tls_gw, cert[0],
                maximum_version=ssl.TLSVersion.TLSv1_2).close()


def https(tls_gw, cert, path, token=None, body=None, http2=True):
    """curl, for HTTP/2: (http version, status, headers, body)."""
    url = "https://localhost:%d%s" % (tls_gw.tls_port, path)
    cmd = ["curl", "-sS", "--cacert", cert[0], "--resolve",
           "localhost:%d:127.0.0.1" % tls_gw.tls_port, "-D", "-",
           "-w", "\n%{http_version}", "--http2" if http2 else "--http1.1",
           "--max-time", "30"]
    if token:
        cmd += ["-H", "Authorization: Bearer " + token]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary",
                json.dumps(body)]
    out = subprocess.run(cmd + [url], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    assert out.returncode == 0, out.stderr
    # Bytes: text mode would turn the header block's CRLFs into LFs.
    text, version = out.stdout.decode().rsplit("\n", 1)
    head, _, payload = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in
               (l.split(":", 1) for l in lines[1:] if ":" in l)}
    return version, status, headers, payload


def test_gateway_over_h2_with_hsts(tls_gw, cert, mock, minter):
    token = minter.mint(sub="tls-user")
    version, status, headers, body = https(
        tls_gw, cert, CHAT, token,
        {"model": "gpt-4o-mini", "stream": True,
         "messages": [{"role": "user", "content": "hi over h2"}]})
    assert version == "2" and status == 200, (version, status, body)
    assert body.rstrip().endswith("data: [DONE]"), body[-300:]
    assert mock.last_request().json()["messages"][0]["content"] == \
        "hi over h2"
    hsts = headers["strict-transport-security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000
    # HSTS on refusals too, and HTTP/1.1 clients are served.
    version, status, headers, _ = https(tls_gw, cert, CHAT, None,
                                        {"model": "gpt-4o-mini"},
                                        http2=False)
    assert (version, status) == ("1.1", 401)
    assert "strict-transport-security" in headers
    # The admin pages stay for this host only, whichever listener.
    version, status, _, _ = https(tls_gw, cert, "/llm-metrics")
    assert status == 200
