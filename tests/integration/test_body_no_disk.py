"""No request body touches the disk (issue 11, item 1).

mod_proxy_http writes a request body it cannot stream to a modproxy.tmp.*
file in APR's temporary directory.  httpd runs here with TMPDIR (and TMP,
TEMP: APR reads all three) pointed at an empty directory, writable by the
child user so that a spool *could* be written there, and watched with
inotify: any file created in it, even one unlinked at once, is an event.
For 20 KB, 200 KB and 2 MB bodies, non-stream and stream, both dialects,
translated and not, redacted and not, no file may appear, and the provider
must receive the body whole with a Content-Length that frames it exactly
(no chunking).
"""

import ctypes
import ctypes.util
import json
import os
import select
import shutil
import struct
import tempfile

import pytest

import scan_helpers as sh

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
GPT = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-5"

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

SIZES = {"20k": 20 * 1024, "200k": 200 * 1024, "2m": 2 * 1024 * 1024}


class DirWatch:
    """inotify on one directory: the names of every file created in it or
    moved into it since the last drain(), even if already gone."""

    def __init__(self, path):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = libc.inotify_add_watch(self.fd, path.encode(),
                                    IN_CREATE | IN_MOVED_TO)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def drain(self, wait=0.0):
        names = []
        while True:
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return names
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return names
            pos = 0
            while pos + 16 <= len(data):
                _, _, _, n = struct.unpack_from("iIII", data, pos)
                names.append(data[pos + 16:pos + 16 + n].rstrip(b"\0")
                             .decode(errors="replace"))
                pos += 16 + n
            wait = 0.0

    def close(self):
        os.close(self.fd)


@pytest.fixture(scope="module")
def tmpdir_watched():
    path = tempfile.mkdtemp(prefix="llmgw-httpd-tmp-")
    watch = DirWatch(path)
    yield path, watch
    watch.close()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def gw(minter, mock_provider, tmpdir_watched):
    from gwtest.httpd import GatewayServer

    path, watch = tmpdir_watched
    g = GatewayServer(minter, mock=mock_provider,
                      env={"TMPDIR": path, "TMP": path, "TEMP": path})
    # The children may write there: a spool would appear, not fail.
    os.chown(path, g.uid, g.gid)
    os.chmod(path, 0o700)
    try:
        g.start()
        # What starting wrote (if anything) is not a request body.
        watch.drain(0.2)
        yield g
    finally:
        g.destroy()


@pytest.fixture
def token(minter):
    # A user per test: the sample's token quota would stop one user after
    # a few dozen 2 MB bodies.
    return minter.mint(sub="body-no-disk-" + os.urandom(4).hex(),
                       groups=["developers"])


def filler(size):
    """Source-like ASCII text of exactly size bytes that no rule matches."""
    line = ("    for (i = 0; i < n; i++) { total += weight[i] * value[i]; }"
            "  // accumulate the weighted sum\n")
    text = (line * (size // len(line) + 1))[:size]
    return text


def build_body(dialect, model, size, stream, secret):
    """(raw bytes, the long text the provider must receive whole)."""
    prompt = "Please review this file. Contact: %s\n" % secret if secret \
        else "Please review this file.\n"
    frame = {"model": model, "max_tokens": 64}
    if stream:
        frame["stream"] = True
    if dialect == "openai":
        frame["messages"] = [{"role": "system", "content": "You review code."},
                             {"role": "user", "content": prompt + "X"}]
    else:
        frame["system"] = "You review code."
        frame["messages"] = [{"role": "user", "content": prompt + "X"}]
    overhead = len(json.dumps(frame).encode())
    text = prompt + filler(max(size - overhead, 1024))
    frame["messages"][-1]["content"] = text
    raw = json.dumps(frame).encode()
    return raw, text


def forwarded_text(got, provider_dialect):
    """The long user text as the provider received it."""
    msgs = got.json()["messages"]
    content = msgs[-1]["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content)
    return content


@pytest.mark.parametrize("redacted", [False, True], ids=["plain", "redacted"])
@pytest.mark.parametrize("translated", [False, True],
                         ids=["same", "translated"])
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("size", sorted(SIZES), ids=sorted(SIZES))
def test_body_never_touches_disk(gw, mock, token, tmpdir_watched, size,
                                 stream, dialect, translated, redacted):
    path, watch = tmpdir_watched
    watch.drain()
    if dialect == "openai":
        endpoint, model = CHAT, (CLAUDE if translated else GPT)
    else:
        endpoint, model = MESSAGES, (GPT if translated else CLAUDE)
    secret = sh.email() if redacted else None
    raw, text = build_body(dialect, model, SIZES[size], stream, secret)
    provider = ("anthropic" if (dialect == "openai") == translated
                else "openai")

    resp = gw.client(timeout=60).post(endpoint, raw, token=token)

    assert resp.status == 200, (resp, gw.error_log_tail())
    reqs = mock.wait_for_requests(1)
    assert len(reqs) == 1, mock.summary()
    got = reqs[0]
    # Framed by an exact Content-Length, not chunked.
    assert not got.chunked, got.headers
    assert got.header("transfer-encoding") is None, got.headers
    assert got.header("content-length") == str(len(got.body)), got.headers
    # The whole body, as the gateway meant it.
    want = text.replace(secret, "[REDACTED_EMAIL_1]") if secret else text
    assert forwarded_text(got, provider) == want
    if secret:
        assert secret.encode() not in got.body
    if not translated and not redacted and not stream:
        assert got.body == raw
    # Nothing was written to the temporary directory, not even briefly.
    created = watch.drain(0.05)
    assert created == [], "files created in httpd's TMPDIR: %r" % created
    assert os.listdir(path) == []


def post_chunked(gw, path, raw, token, gzipped=False):
    """POST raw with Transfer-Encoding: chunked (64 KB chunks), gzip'd
    first when asked; (status, body)."""
    import gzip
    import http.client

    data = gzip.compress(raw) if gzipped else raw
    headers = {"Content-Type": "application/json",
               "Authorization": "Bearer " + token}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
    try:
        conn.request("POST", path, body=iter(
            [data[i:i + 65536] for i in range(0, len(data), 65536)]),
            headers=headers, encode_chunked=True)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_chunked_upload_is_forwarded_whole_from_memory(
        gw, mock, token, tmpdir_watched, gzipped):
    """A body of unknown length (chunked, and compressed) is read into
    memory whole and reaches the provider as the exact bytes with a
    Content-Length; nothing goes to disk."""
    path, watch = tmpdir_watched
    watch.drain()
    raw, text = build_body("openai", GPT, SIZES["2m"], False, None)

    status, answer = post_chunked(gw, CHAT, raw, token, gzipped)

    assert status == 200, (answer[:300], gw.error_log_tail())
    got = mock.wait_for_requests(1)[0]
    assert not got.chunked and got.header("content-encoding") is None
    assert got.header("content-length") == str(len(raw))
    assert got.body == raw
    assert watch.drain(0.05) == []
    assert os.listdir(path) == []


def write_syscalls(gw):
    """Write system calls (write, writev, pwrite...) made so far by the
    httpd children, from /proc/<pid>/io (all their threads)."""
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(gw.proc.pid)],
                         capture_output=True, text=True).stdout
    total = 0
    for pid in out.split():
        try:
            with open("/proc/%s/io" % pid) as f:
                for line in f:
                    if line.startswith("syscw:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def test_body_reaches_the_provider_in_a_few_large_writes(gw, mock, token):
    """mod_proxy_http writes to the provider what each read of the request
    body gives it.  The kept body is handed over whole (route_handover.c),
    so a 2 MB body goes out in a few large writes, not in 8 KB pieces (256
    writes, each waking the provider's end): the children's write system
    calls for the whole request (body, answer, logs, audit) stay well
    under one per 16 KB of body."""
    raw, _ = build_body("openai", GPT, SIZES["2m"], False, None)
    before = write_syscalls(gw)

    resp = gw.client(timeout=60).post(CHAT, raw, token=token)

    assert resp.status == 200, (resp, gw.error_log_tail())
    writes = write_syscalls(gw) - before
    assert mock.wait_for_requests(1)[0].body == raw
    assert 0 < writes < len(raw) // (16 * 1024), writes
