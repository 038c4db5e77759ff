"""Failover, timeouts and provider errors, the httpd way: providers are
mod_proxy balancers, so a failing member is skipped by mod_proxy_balancer
(failonstatus, refused connections), a hanging one is cut off by the
member's timeout, and whatever status reaches the caller comes in the
caller's own API dialect (mod_proxy's own 502/503/504 through ErrorDocument
and the llm-error handler)."""

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from client_helpers import anthropic_error, gateway_with_providers, openai_error
from gwtest.client import parse_sse
from gwtest.mock_provider import MockProvider
from gwtest.ports import LOOPBACK

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def chat(model="gpt-4o-mini", stream=False):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    return body


def msg(model="claude-sonnet-4-6", stream=False):
    body = {"model": model, "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    return body


@pytest.fixture
def token(minter):
    return minter.mint(sub="failover-user", groups=["developers"])


@pytest.fixture
def second_mock():
    """Another mock provider: a balancer member that fails while the
    suite's mock (the other member) answers."""
    m = MockProvider().start()
    yield m
    m.stop()


TWO_MEMBERS = """\
<Proxy balancer://testopenai>
    BalancerMember http://{first} timeout=10 retry=60
    BalancerMember http://{mock} timeout=10 retry=60
    ProxySet lbmethod=byrequests failonstatus=502,503
</Proxy>
<Proxy balancer://testanthropic>
    BalancerMember http://{first} timeout=10 retry=60
    BalancerMember http://{mock} timeout=10 retry=60
    ProxySet lbmethod=byrequests failonstatus=502,503
</Proxy>
LLMRouteProvider testopenai    openai    balancer://testopenai    key=file:{okey} prefix=/v1
LLMRouteProvider testanthropic anthropic balancer://testanthropic key=file:{akey} prefix=/v1
LLMRouteModel gpt-*            testopenai
LLMRouteModel claude-*         testanthropic
"""


def two_member_gateway(factory, first):
    return gateway_with_providers(
        factory, TWO_MEMBERS.replace("{first}", first))


# -- failover -----------------------------------------------------------------

@pytest.mark.parametrize("path,body", [(CHAT, chat()), (MESSAGES, msg())],
                         ids=["openai", "anthropic"])
def test_member_answering_503_is_skipped(gateway_factory, mock, second_mock,
                                         token, path, body):
    """failonstatus=503: the member that answers 503 is put out of service
    and the requests after are served by the other one.  mod_proxy_balancer
    applies failonstatus after the answer has gone out, so the one request
    that met the failing member gets its 503 (as the provider's error in the
    caller's dialect); httpd does not resend a request a member answered."""
    second_mock.fail_next(503, times=None)
    g = two_member_gateway(gateway_factory,
                           "%s:%d" % (LOOPBACK, second_mock.port))
    c = g.client()
    statuses = []
    for i in range(5):
        resp = c.post(path, body, token=token)
        statuses.append(resp.status)
        if resp.status == 503:
            (anthropic_error if path == MESSAGES else openai_error)(resp)
    assert statuses.count(503) <= 1, statuses
    assert statuses[1:] == [200] * 4, statuses
    assert len(second_mock.requests) <= 1, second_mock.summary()
    assert len(mock.wait_for_requests(4)) >= 4, mock.summary()


@pytest.mark.parametrize("path,body", [
    (CHAT, chat()), (MESSAGES, msg()), (CHAT, chat(stream=True)),
    (MESSAGES, msg(stream=True))],
    ids=["openai", "anthropic", "openai-stream", "anthropic-stream"])
def test_member_refusing_connections_is_skipped(gateway_factory, mock, token,
                                                path, body):
    """No connection to the first member: nothing was sent, so mod_proxy
    sends the (kept) body to the second; every request succeeds."""
    g = two_member_gateway(gateway_factory, "{dead}")
    c = g.client()
    for i in range(4):
        resp = c.post(path, body, token=token)
        assert resp.status == 200, (i, resp)
        if body.get("stream"):
            assert resp.body.rstrip().endswith(
                b"[DONE]" if path == CHAT else b'{"type":"message_stop"}'), \
                resp.body[-200:]
    assert len(mock.wait_for_requests(4)) == 4, mock.summary()
    # Each request reached the provider exactly once, with its body.
    for rec in mock.requests:
        assert rec.json()["messages"] == body["messages"]


@pytest.mark.parametrize("path,body,check", [
    (CHAT, chat(), openai_error), (MESSAGES, msg(), anthropic_error)],
    ids=["openai", "anthropic"])
def test_all_members_failing_gives_5xx_in_callers_dialect(
        gateway_factory, mock, second_mock, token, path, body, check):
    """Failover exhausted: 502 or 503, as an error object of the caller's
    API, never httpd's HTML page."""
    second_mock.fail_next(503, times=None)
    mock.fail_next(503, times=None)
    g = two_member_gateway(gateway_factory,
                           "%s:%d" % (LOOPBACK, second_mock.port))
    c = g.client()
    for i in range(3):
        resp = c.post(path, body, token=token)
        assert resp.status in (502, 503), (i, resp)
        assert resp.header("Content-Type", "").startswith(
            "application/json"), resp
        check(resp)


@pytest.mark.parametrize("path,body,check", [
    (CHAT, chat(), openai_error), (MESSAGES, msg(), anthropic_error)],
    ids=["openai", "anthropic"])
def test_no_member_reachable_gives_503_in_callers_dialect(
        gateway_factory, mock, token, path, body, check):
    """Every member refuses connections: mod_proxy's own 503 (its HTML
    page) is replaced by the caller's dialect."""
    conf = """\
<Proxy balancer://testopenai>
    BalancerMember http://{dead} timeout=5
</Proxy>
<Proxy balancer://testanthropic>
    BalancerMember http://{dead} timeout=5
</Proxy>
LLMRouteProvider testopenai    openai    balancer://testopenai    key=file:{okey} prefix=/v1
LLMRouteProvider testanthropic anthropic balancer://testanthropic key=file:{akey} prefix=/v1
LLMRouteModel gpt-*            testopenai
LLMRouteModel claude-*         testanthropic
"""
    g = gateway_with_providers(gateway_factory, conf)
    resp = g.client().post(path, body, token=token)
    assert resp.status in (502, 503), resp
    assert b"<html" not in resp.body.lower(), resp
    check(resp)


class BrokenStreamServer:
    """A provider that starts an SSE stream, sends two events and drops
    the connection: the stream has started, so it must not be retried
    elsewhere."""

    def __init__(self, events):
        self.events = events
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                out = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream"
                       b"\r\nTransfer-Encoding: chunked\r\n\r\n")
                for ev in self.events:
                    e = ev.encode()
                    out += b"%x\r\n%s\r\n" % (len(e), e)
                conn.sendall(out)
                time.sleep(0.3)
                # No terminating chunk: the stream breaks off.

    def stop(self):
        self._stop = True
        self.sock.close()


def _read_stream(g, path, body, token):
    conn = http.client.HTTPConnection(LOOPBACK, g.port, timeout=30)
    conn.request("POST", path, json.dumps(body),
                 {"Authorization": "Bearer " + token,
                  "Content-Type": "application/json"})
    resp = conn.getresponse()
    got = b""
    complete = True
    try:
        while True:
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(1)
            if not chunk:
                break
            got += chunk
    except (http.client.IncompleteRead, ConnectionError) as e:
        complete = False
        got += getattr(e, "partial", b"") or b""
    finally:
        conn.close()
    return resp.status, got, complete


def test_started_stream_is_not_retried(gateway_factory, mock, token):
    """The first member breaks off a stream it has started: the caller sees
    what was sent and then an incomplete stream; the request is not sent
    again to the other member (that would repeat the answer)."""
    events = ['data: {"id":"c1","object":"chat.completion.chunk","created":1,'
              '"model":"gpt-4o-mini","choices":[{"index":0,"delta":'
              '{"role":"assistant","content":"Hel"},"finish_reason":null}]}'
              '\n\n',
              'data: {"id":"c1","object":"chat.completion.chunk","created":1,'
              '"model":"gpt-4o-mini","choices":[{"index":0,"delta":'
              '{"content":"lo"},"finish_reason":null}]}\n\n']
    broken = BrokenStreamServer(events)
    try:
        g = two_member_gateway(gateway_factory, "%s:%d" % (LOOPBACK,
                                                           broken.port))
        status, got, complete = _read_stream(g, CHAT, chat(stream=True),
                                             token)
        assert status == 200
        text = got.decode()
        assert '"Hel"' in text and '"lo"' in text, text
        assert "[DONE]" not in text, text
        assert not complete or "[DONE]" not in text
        time.sleep(0.5)
        assert broken.connections == 1
        assert mock.requests == [], (
            "a started stream was sent again to the other member: "
            + mock.summary())
    finally:
        broken.stop()


# -- timeouts ----------------------------------------------------------------

TIMEOUT_CONF = """\
<Proxy balancer://testopenai>
    BalancerMember http://{mock} timeout=2
</Proxy>
<Proxy balancer://testanthropic>
    BalancerMember http://{mock} timeout=2
</Proxy>
LLMRouteProvider testopenai    openai    balancer://testopenai    key=file:{okey} prefix=/v1
LLMRouteProvider testanthropic anthropic balancer://testanthropic key=file:{akey} prefix=/v1
LLMRouteModel gpt-*            testopenai
LLMRouteModel claude-*         testanthropic
"""


@pytest.mark.parametrize("path,body,check", [
    (CHAT, chat(), openai_error), (MESSAGES, msg(), anthropic_error),
    (CHAT, chat("claude-sonnet-4-6"), openai_error)],
    ids=["openai", "anthropic", "openai-to-anthropic"])
def test_hanging_provider_gives_504_in_callers_dialect(
        gateway_factory, mock, token, path, body, check):
    """BalancerMember timeout=2: a provider that does not answer yields 504
    after about two seconds, in the caller's dialect."""
    mock.hang_next(30)
    g = gateway_with_providers(gateway_factory, TIMEOUT_CONF)
    t0 = time.monotonic()
    resp = g.client(timeout=20).post(path, body, token=token)
    elapsed = time.monotonic() - t0
    assert resp.status == 504, resp
    assert 1.5 <= elapsed < 8, elapsed
    assert b"<html" not in resp.body.lower(), resp
    check(resp)


def test_hanging_provider_frees_the_worker(gateway_factory, mock, token):
    """Requests cut off by the timeout give their threads back: after a
    burst of hanging requests, the gateway serves at once, and all of them
    ended near the timeout rather than when the provider woke up."""
    mock.hang_next(60, times=6)
    g = gateway_with_providers(gateway_factory, TIMEOUT_CONF)
    c = g.client(timeout=30)
    t0 = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: c.post(CHAT, chat(), token=token),
                                range(6)))
    elapsed = time.monotonic() - t0
    # 504 is the status wanted (test_hanging_provider_gives_504_...); here
    # only that each request ended at the timeout matters.
    assert all(r.status in (502, 504) for r in results), results
    assert elapsed < 10, elapsed
    resp = c.post(CHAT, chat(), token=token)
    assert resp.status == 200, resp
    assert resp.elapsed < 2, resp.elapsed


# -- provider errors ----------------------------------------------------------

@pytest.mark.parametrize("path,body,check", [
    (CHAT, chat(), openai_error), (MESSAGES, msg(), anthropic_error),
    (CHAT, chat("claude-sonnet-4-6"), openai_error),
    (MESSAGES, msg("gpt-4o-mini"), anthropic_error)],
    ids=["openai", "anthropic", "openai-to-anthropic", "anthropic-to-openai"])
def test_provider_429_stays_429_with_retry_after(gateway, mock, token, path,
                                                 body, check):
    mock.rate_limit_next(retry_after=7)
    resp = gateway.client().post(path, body, token=token)
    assert resp.status == 429, resp
    assert resp.header("Retry-After") == "7", resp.headers
    err = check(resp)
    if check is anthropic_error:
        assert err["type"] == "rate_limit_error", err
    else:
        assert err["type"] in ("rate_limit_exceeded", "rate_limit_error",
                               "requests"), err


@pytest.mark.parametrize("path,body,check", [
    (CHAT, chat("claude-sonnet-4-6"), openai_error),
    (MESSAGES, msg("gpt-4o-mini"), anthropic_error)],
    ids=["openai-to-anthropic", "anthropic-to-openai"])
@pytest.mark.parametrize("status", [400, 500, 529])
def test_provider_error_translated_to_callers_dialect(gateway, mock, token,
                                                      path, body, check,
                                                      status):
    """A provider error in the other dialect reaches the caller as an
    error of its own API (status kept)."""
    mock.fail_next(status)
    resp = gateway.client().post(path, body, token=token)
    assert resp.status == status, resp
    check(resp)


def test_proxy_timeout_directive_applies(gateway_factory, mock, token):
    """ProxyTimeout (server-wide) bounds providers whose members set no
    timeout of their own."""
    conf = TIMEOUT_CONF.replace(" timeout=2", "")
    mock.hang_next(30)
    g = gateway_with_providers(gateway_factory, conf,
                               extra_conf="ProxyTimeout 2")
    t0 = time.monotonic()
    resp = g.client(timeout=20).post(MESSAGES, msg(), token=token)
    assert resp.status in (502, 504), resp
    assert time.monotonic() - t0 < 8
    anthropic_error(resp)
