"""Request read timeouts (issue 10, item 13): the sample configuration
loads mod_reqtimeout with its header and body rates, and a client that
trickles its request is cut off instead of holding a worker thread.

The sample's values cut a trickler after 10-20 s; the behaviour tests use
the same module with shorter values appended after the sample (the
directive only parses if the sample loaded mod_reqtimeout), so they take a
few seconds.
"""

import re
import socket
import time

import pytest

SAMPLE_VALUES = ("handshake=10 header=10-20,MinRate=500 "
                 "body=20,MinRate=5000")

INFO_CONF = """\
LoadModule info_module ${LLM_GW_HTTPD_MODULES}/mod_info.so
<Location /server-info>
    SetHandler server-info
    Require ip 127.0.0.1
</Location>
"""

# Headers: 2 s, up to 3 s while 500 bytes/s keep coming.  Body: 2 s, up
# to 3 s.
SHORT_CONF = "RequestReadTimeout header=2-3,MinRate=500 body=2-3,MinRate=500"


@pytest.fixture
def token(minter):
    return minter.mint(sub="reqtimeout-user", groups=["developers"])


def trickle(port, head, first, every=0.5, limit=8.0):
    """Send head at once, then first one byte at a time, one every `every`
    seconds.  Returns (seconds until the server ended the exchange, what it
    sent); the seconds are None when it was still reading at `limit`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    t0 = time.monotonic()
    got = b""
    try:
        s.sendall(head)
        s.settimeout(every)
        for i in range(int(limit / every)):
            try:
                s.sendall(first[i % len(first):i % len(first) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0, got
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return time.monotonic() - t0, got
            got += data
            if not data or b"\r\n\r\n" in got:
                # An answer (or a close) while the request was unfinished:
                # read the rest of what the server sends, then stop.
                s.settimeout(2)
                try:
                    while data:
                        data = s.recv(65536)
                        got += data
                except (socket.timeout, ConnectionResetError):
                    pass
                return time.monotonic() - t0, got
        return None, got
    finally:
        s.close()


def test_sample_loads_reqtimeout_with_its_rates(gateway_factory):
    g = gateway_factory.make(pg=None, extra_conf=INFO_CONF)

    resp = g.client().get("/server-info?mod_reqtimeout.c")

    assert resp.status == 200, resp
    page = resp.body.decode(errors="replace")
    text = re.sub(r"<[^>]+>", "", page).replace("&gt;", ">")
    assert "mod_reqtimeout.c" in text
    # The directive as the running server read it, from the sample file.
    assert "RequestReadTimeout " + SAMPLE_VALUES in text, text[-3000:]
    assert "llm-gateway.conf" in text


def test_trickling_header_client_is_cut_off(gateway_factory):
    g = gateway_factory.make(pg=None, extra_conf=SHORT_CONF)

    elapsed, answer = trickle(
        g.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")

    assert elapsed is not None, "the server was still reading after 8 s"
    assert 1.5 <= elapsed <= 5.0, elapsed
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    # A prompt client is served by the same server.
    assert g.client().get("/v1/models").status in (200, 401)


def test_trickling_body_is_cut_off_with_408(gateway_factory, token):
    g = gateway_factory.make(pg=None, extra_conf=SHORT_CONF)
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n" % token).encode()

    elapsed, answer = trickle(g.port, head, b'{"model":"gpt-4o-mini"  ')

    assert elapsed is not None, "the server was still reading after 8 s"
    assert 1.5 <= elapsed <= 5.0, elapsed
    assert answer.startswith(b"HTTP/1.1 408"), answer
    # In the caller's dialect, like every refusal.
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert b'"request_timeout"' in body, answer
    assert b"did not arrive in time" in body, answer
