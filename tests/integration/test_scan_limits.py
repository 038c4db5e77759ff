"""mod_llm_scan at the edges of the body: size limits (413), malformed JSON
and wrong shapes (400), gzip and deflate bodies inflated and scanned (a
secret inside is blocked, a clean one is forwarded decompressed),
LLMScanInflate Off (415), unknown encodings, corrupt compressed data,
chunked bodies.  In every refusal the provider receives nothing.
"""

import gzip
import json
import socket
import zlib

import pytest

import scan_helpers as sh
from gwtest.httpd import GatewayServer

SMALL = 4096

LIMITS = "\n".join([
    # Written with a suffix, as an admin would: 4K is SMALL bytes.
    sh.location("/small/v1", "    LLMScanMaxBody 4K"),
    sh.location("/noinflate/v1", "    LLMScanInflate Off"),
]) + "\n"


@pytest.fixture(scope="module")
def lgw(minter, mock_provider, postgres):
    g = GatewayServer(minter, mock=mock_provider, pg=postgres,
                      gateway_d={"40-scan-limits.conf": LIMITS})
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-limits", groups=["developers"])


def chat(text):
    return {"model": sh.GPT, "messages": [{"role": "user", "content": text}]}


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<RawResponse %d %r>" % (self.status, self.body[:300])


def raw_request(gw, path, token, body, headers=None, chunk_size=None,
                content_length=True, user_agent="gwtest"):
    """Send a POST over a plain socket: chunked when chunk_size is given,
    tolerating a server that answers (413) and closes before the whole
    body is sent; returns the parsed answer."""
    h = {"Host": "127.0.0.1:%d" % gw.port, "Content-Type": "application/json",
         "Authorization": "Bearer " + token, "User-Agent": user_agent,
         "Connection": "close"}
    if path.startswith("/v1/messages") or "/messages" in path:
        h["anthropic-version"] = "2023-06-01"
    if chunk_size:
        h["Transfer-Encoding"] = "chunked"
    elif content_length:
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = "POST %s HTTP/1.1\r\n" % path + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    if chunk_size:
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + chunk_size]),
                                             body[i:i + chunk_size])
                           for i in range(0, len(body), chunk_size))
        payload += b"0\r\n\r\n"
    else:
        payload = body
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    try:
        s.sendall(head.encode())
        try:
            view = memoryview(payload)
            for i in range(0, len(view), 65536):
                s.sendall(view[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                break
            if not d:
                break
            data += d
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        rest = out
    return RawResponse(status, hdrs, rest)


def assert_refused(resp, mock, status, family="openai", code=None):
    assert resp.status == status, resp
    err = sh.error_of(resp, family)
    if family == "openai":
        assert err["type"] == "invalid_request_error", err
        if code:
            assert err["code"] == code, err
    else:
        assert err["type"] in ("invalid_request_error", "request_too_large"), err
    assert err["message"]
    assert mock.requests == [], "nothing may reach the provider: %s" % \
        mock.summary()


def padded_chat(size, prefix="x"):
    """A chat body of exactly size bytes."""
    base = sh.dumps(chat(""))
    return sh.dumps(chat(prefix + "a" * (size - len(base) - len(prefix))))


# -- size limits -----------------------------------------------------------

def test_body_at_the_limit_is_accepted(lgw, mock, token, user_agent):
    raw = padded_chat(SMALL)
    assert len(raw) == SMALL
    resp = sh.post(lgw, token, "/small/v1/chat/completions", raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw


def test_body_over_the_limit_is_413(lgw, mock, token, user_agent):
    raw = padded_chat(SMALL + 1)
    resp = sh.post(lgw, token, "/small/v1/chat/completions", raw, user_agent)
    assert_refused(resp, mock, 413, code="request_too_large")
    sh.assert_audit(lgw, user_agent, "invalid", status=413)


def test_chunked_body_over_the_limit_is_413(lgw, mock, token, user_agent):
    raw = padded_chat(SMALL * 3)
    resp = raw_request(lgw, "/small/v1/chat/completions", token, raw,
                       chunk_size=1000, user_agent=user_agent)
    assert_refused(resp, mock, 413, code="request_too_large")


def test_anthropic_413_in_anthropic_dialect(lgw, mock, token, user_agent):
    body = sh._anthropic([{"role": "user", "content": "z" * (SMALL * 2)}])
    resp = sh.post(lgw, token, "/small/v1/messages", body, user_agent)
    assert resp.status == 413, resp
    doc = resp.json()
    assert doc["type"] == "error" and doc["error"]["type"] == \
        "request_too_large", doc
    assert mock.requests == []


def test_gzip_within_limit_but_inflating_over_it_is_413(lgw, mock, token,
                                                        user_agent):
    raw = padded_chat(SMALL * 50)
    gz = gzip.compress(raw)
    assert len(gz) < SMALL
    resp = sh.post(lgw, token, "/small/v1/chat/completions", gz, user_agent,
                   headers={"Content-Encoding": "gzip"})
    assert_refused(resp, mock, 413, code="request_too_large")


def test_default_limit_takes_several_mb_and_refuses_over_16mb(
        lgw, mock, token, user_agent):
    """Coding agents send several MB: 6 MB passes the default limit; a
    body over 16 MB is refused."""
    raw = padded_chat(6 * 1024 * 1024)
    resp = sh.post(lgw, token, sh.CHAT, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw

    mock.reset()
    raw = padded_chat(16 * 1024 * 1024 + 1)
    resp = raw_request(lgw, sh.CHAT, token, raw, user_agent=user_agent + "-2")
    assert_refused(resp, mock, 413, code="request_too_large")


# -- malformed bodies -------------------------------------------------------

@pytest.mark.parametrize("raw,code", [
    (b'{"model": "gpt-4o-mini", "messages": [', "invalid_json"),
    (b'{"model": "gpt-4o-mini", "messages": []} trailing', "invalid_json"),
    (b"", "invalid_json"),
    (b'\xff\xfe{"model": "gpt-4o-mini"}', "invalid_json"),
    (b'{"model": "gpt-4o-mini", "model": "gpt-4o", "messages": '
     b'[{"role": "user", "content": "hi"}]}', "invalid_json"),
    (b'{"model": "gpt-4o-mini", "messages": "hi"}', "invalid_request"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', "invalid_request"),
    (b'[1, 2, 3]', "invalid_request"),
])
def test_malformed_chat_body_is_400(lgw, mock, token, user_agent, raw, code):
    resp = sh.post(lgw, token, sh.CHAT, raw, user_agent)
    assert_refused(resp, mock, 400, code=code)
    sh.assert_audit(lgw, user_agent, "invalid", status=400)


def test_malformed_json_hiding_a_secret_is_400_without_echo(lgw, mock, token,
                                                            user_agent):
    aws = sh.aws_access_key_id()
    raw = ('{"model": "gpt-4o-mini", "messages": [{"role": "user", '
           '"content": "%s" oops}]}' % aws).encode()
    resp = sh.post(lgw, token, sh.CHAT, raw, user_agent)
    assert_refused(resp, mock, 400, code="invalid_json")
    assert aws.encode() not in resp.body


def test_anthropic_wrong_shape_is_400_in_anthropic_dialect(lgw, mock, token,
                                                           user_agent):
    body = {"model": sh.CLAUDE, "messages": [{"role": "user",
                                              "content": "hi"}]}  # no max_tokens
    resp = sh.post(lgw, token, sh.MESSAGES, body, user_agent)
    assert resp.status == 400, resp
    doc = resp.json()
    assert doc["type"] == "error"
    assert doc["error"]["type"] == "invalid_request_error", doc
    assert mock.requests == []


# -- compressed bodies -------------------------------------------------------

def _deflate(data):
    return zlib.compress(data)


def _raw_deflate(data):
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


ENCODERS = {
    "gzip": ("gzip", gzip.compress),
    "x-gzip": ("x-gzip", gzip.compress),
    "deflate": ("deflate", _deflate),
    "raw-deflate": ("deflate", _raw_deflate),
}


@pytest.mark.parametrize("enc", sorted(ENCODERS))
def test_secret_inside_compressed_body_is_blocked(lgw, mock, token,
                                                  user_agent, enc):
    name, fn = ENCODERS[enc]
    gh = sh.github_token()
    raw = sh.dumps(chat("export GH_TOKEN=" + gh))
    resp = sh.post(lgw, token, sh.CHAT, fn(raw), user_agent,
                   headers={"Content-Encoding": name})
    sh.assert_blocked(resp, "openai", "GITHUB_TOKEN", mock, values=[gh],
                      location="messages[0].content",
                      offset=len("export GH_TOKEN="))
    sh.assert_audit(lgw, user_agent, "block", types=["GITHUB_TOKEN"])


@pytest.mark.parametrize("enc", sorted(ENCODERS))
def test_clean_compressed_body_is_forwarded_decompressed(lgw, mock, token,
                                                         user_agent, enc):
    name, fn = ENCODERS[enc]
    raw = sh.dumps(sh.PLACEMENT_BY_NAME["messages.tool_use_input"].body(
        "git log --oneline | head -20"))
    resp = sh.post(lgw, token, sh.MESSAGES, fn(raw), user_agent,
                   headers={"Content-Encoding": name})
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.body == raw
    assert got.header("content-encoding") is None
    assert got.header("content-length") == str(len(raw))


def test_compressed_pii_is_redacted_and_forwarded_plain(lgw, mock, token,
                                                        user_agent):
    e = sh.email()
    raw = sh.dumps(chat("owner: " + e))
    resp = sh.post(lgw, token, sh.CHAT, gzip.compress(raw), user_agent,
                   headers={"Content-Encoding": "gzip"})
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.json() == chat("owner: [REDACTED_EMAIL_1]")
    assert got.header("content-encoding") is None
    assert got.header("content-length") == str(len(got.body))


def test_chunked_gzip_body_with_secret_is_blocked(lgw, mock, token,
                                                  user_agent):
    aws = sh.aws_access_key_id()
    gz = gzip.compress(sh.dumps(chat("filler " * 2000 + aws)))
    resp = raw_request(lgw, sh.CHAT, token, gz, chunk_size=512,
                       headers={"Content-Encoding": "gzip"},
                       user_agent=user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws])


def test_inflate_off_refuses_compressed_body_with_415(lgw, mock, token,
                                                      user_agent):
    raw = sh.dumps(chat("hello"))
    resp = sh.post(lgw, token, "/noinflate/v1/chat/completions",
                   gzip.compress(raw), user_agent,
                   headers={"Content-Encoding": "gzip"})
    assert_refused(resp, mock, 415, code="unsupported_content_encoding")
    sh.assert_audit(lgw, user_agent, "invalid", status=415)
    # plain bodies are still fine there
    resp = sh.post(lgw, token, "/noinflate/v1/chat/completions", raw,
                   user_agent + "-plain")
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw


@pytest.mark.parametrize("enc", ["br", "zstd", "gzip, br", "compress"])
def test_unknown_content_encoding_is_415(lgw, mock, token, user_agent, enc):
    raw = sh.dumps(chat("hello"))
    resp = sh.post(lgw, token, sh.CHAT, raw, user_agent,
                   headers={"Content-Encoding": enc})
    assert_refused(resp, mock, 415, code="unsupported_content_encoding")


@pytest.mark.parametrize("what", ["truncated", "garbage", "not_compressed"])
def test_corrupt_compressed_body_is_400(lgw, mock, token, user_agent, what):
    raw = sh.dumps(chat("hello " * 100))
    gz = gzip.compress(raw)
    data = {"truncated": gz[:len(gz) // 2],
            "garbage": b"\x1f\x8b\x08\x00" + bytes(range(200)),
            "not_compressed": raw}[what]
    resp = sh.post(lgw, token, sh.CHAT, data, user_agent,
                   headers={"Content-Encoding": "gzip"})
    assert_refused(resp, mock, 400)


# -- chunked bodies -----------------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_chunked_clean_body_forwarded_with_content_length(lgw, mock, token,
                                                          user_agent, chunk):
    raw = sh.dumps(sh.PLACEMENT_BY_NAME["responses.function_call_output"]
                   .body("total 8\ndrwxr-xr-x 2 root root 4096 ."))
    resp = raw_request(lgw, sh.RESPONSES, token, raw, chunk_size=chunk,
                       user_agent=user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.body == raw
    assert not got.chunked
    assert got.header("content-length") == str(len(raw))


def test_chunked_body_with_secret_split_over_chunks_is_blocked(
        lgw, mock, token, user_agent):
    pem = sh.private_key_pem()
    raw = sh.dumps(sh.PLACEMENT_BY_NAME["messages.tool_result_string"]
                   .body(pem))
    resp = raw_request(lgw, sh.MESSAGES, token, raw, chunk_size=13,
                       user_agent=user_agent)
    sh.assert_blocked(resp, "anthropic", "PRIVATE_KEY", mock, values=[pem])
    sh.assert_audit(lgw, user_agent, "block", types=["PRIVATE_KEY"])


def test_chunked_pii_redacted(lgw, mock, token, user_agent):
    card = sh.credit_card()
    raw = sh.dumps({"model": sh.EMBED_MODEL, "input": "card " + card})
    resp = raw_request(lgw, sh.EMBEDDINGS, token, raw, chunk_size=16,
                       user_agent=user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.json() == {"model": sh.EMBED_MODEL,
                          "input": "card [REDACTED_CREDIT_CARD_1]"}
    assert got.header("content-length") == str(len(got.body))


@pytest.mark.parametrize("enc", ["GZIP", "Gzip", "identity"])
def test_content_encoding_names_are_case_insensitive(lgw, mock, token,
                                                     user_agent, enc):
    aws = sh.aws_access_key_id()
    raw = sh.dumps(chat("key " + aws))
    data = raw if enc == "identity" else gzip.compress(raw)
    resp = sh.post(lgw, token, sh.CHAT, data, user_agent,
                   headers={"Content-Encoding": enc})
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws])


# -- bodies that never arrive whole ------------------------------------------

def _send_partial(gw, token, head_extra, payload, user_agent):
    """Send a request head and part of its body, then close our side: the
    gateway sees the body end early."""
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
            "User-Agent: %s\r\n%s\r\n" % (gw.port, token, user_agent,
                                          head_extra))
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    try:
        s.sendall(head.encode() + payload)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not d:
                break
            data += d
    finally:
        s.close()
    return data


def test_truncated_body_is_not_forwarded(lgw, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    raw = sh.dumps(chat("x" * 5000 + " key " + aws))
    data = _send_partial(lgw, token, "Content-Length: %d\r\n" % len(raw),
                         raw[:2000], user_agent)
    assert not data.startswith(b"HTTP/1.1 200"), data[:200]
    assert mock.requests == [], mock.summary()


def test_malformed_chunking_is_400_and_not_forwarded(lgw, mock, token,
                                                     user_agent):
    raw = sh.dumps(chat("hello"))
    bad = b"zz\r\n" + raw + b"\r\n0\r\n\r\n"
    data = _send_partial(lgw, token, "Transfer-Encoding: chunked\r\n", bad,
                         user_agent)
    assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert mock.requests == [], mock.summary()


def test_chunked_body_cut_before_last_chunk_is_not_forwarded(lgw, mock, token,
                                                             user_agent):
    raw = sh.dumps(chat("hello " * 100))
    part = b"%x\r\n%s\r\n" % (len(raw[:200]), raw[:200])
    data = _send_partial(lgw, token, "Transfer-Encoding: chunked\r\n", part,
                         user_agent)
    assert not data.startswith(b"HTTP/1.1 200"), data[:200]
    assert mock.requests == [], mock.summary()


# -- keep-alive: a refusal never desynchronises the connection ----------------

def _pipelined(gw, payload):
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=15)
    try:
        s.sendall(payload)
        data = b""
        while True:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not d:
                break
            data += d
    finally:
        s.close()
    return data


def _req(gw, token, path, body, user_agent, extra=""):
    return (("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
             "User-Agent: %s\r\nContent-Length: %d\r\n%s\r\n")
            % (path, gw.port, token, user_agent, len(body), extra)).encode() \
        + body


def _statuses(data):
    import re
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) [A-Z]", data)]


def test_block_then_clean_request_on_one_connection(lgw, mock, token,
                                                    user_agent):
    aws = sh.aws_access_key_id()
    clean = sh.dumps(chat("hello"))
    data = _pipelined(lgw, _req(lgw, token, sh.CHAT, sh.dumps(chat(
        "key " + aws)), user_agent) + _req(lgw, token, sh.CHAT, clean,
                                           user_agent, "Connection: close\r\n"))
    assert _statuses(data) == [403, 200], data[:600]
    assert [r.body for r in mock.requests] == [clean]


@pytest.mark.parametrize("first", ["415", "413"])
def test_refusal_with_unread_body_closes_the_connection(lgw, mock, token,
                                                        user_agent, first):
    """The refused body is never read; its bytes must not be taken for the
    next request (here they are a whole smuggled request)."""
    smuggled = _req(lgw, token, sh.CHAT, sh.dumps(chat("smuggled")),
                    user_agent)
    if first == "415":
        body = smuggled
        head = _req(lgw, token, "/noinflate/v1/chat/completions", body,
                    user_agent, "Content-Encoding: gzip\r\n")
    else:
        body = smuggled + b" " * (SMALL + 10 - len(smuggled))
        head = _req(lgw, token, "/small/v1/chat/completions", body,
                    user_agent)
    data = _pipelined(lgw, head)
    assert _statuses(data)[:1] == [int(first)], data[:600]
    assert _statuses(data) == [int(first)], data[:600]
    assert mock.requests == [], mock.summary()
