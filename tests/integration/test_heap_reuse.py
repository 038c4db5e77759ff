"""The memory a large request's body used serves the next one (issue 11).

The body of a request is read whole into one buffer.  It was in the
request's pool, whose blocks APR maps one by one (as Debian builds it): a
fresh mapping on every new connection, so every 1 MB request faulted its
pages in again, zeroed: some 260 page faults beyond a small request.  The
buffer is now malloc'ed and freed with the pool (scan_body.c), and glibc
serves the next request's buffer from the memory the last one freed.

One child with one worker thread, so that every request uses the same
malloc arena: once the heap has grown to its size, a 1 MB request on a
new connection faults a small fraction of the pages of its body beyond
what a small request faults.  The clean cache is off: it keeps the
strings of every new body (a cache filling up, not memory a request
frees).
"""

import json
import os

CHAT = "/v1/chat/completions"
ONE_WORKER = """
<IfModule mpm_event_module>
    ServerLimit 1
    StartServers 1
    ThreadsPerChild 1
    MaxRequestWorkers 1
    MinSpareThreads 1
    MaxSpareThreads 1
</IfModule>
"""
STRING = 16 * 1024
STRINGS = 64            # a 1 MB body of 16 KB strings


def body(seed):
    line = ("    for (i = 0; i < n; i++) { acc += w[i] * v[i]; }"
            "  // step %d\n")
    msgs = [{"role": "system", "content": "You review code."}]
    for i in range(STRINGS):
        text = "".join(line % (seed * 1000 + i + k) for k in range(300))
        msgs.append({"role": "user" if i % 2 == 0 else "assistant",
                     "content": text[:STRING]})
    msgs.append({"role": "user", "content": "Review the above."})
    return json.dumps({"model": "gpt-4o-mini", "max_tokens": 16,
                       "messages": msgs}).encode()


def child_faults(g):
    """Minor page faults of httpd's child so far (all its threads)."""
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(g.proc.pid)],
                         capture_output=True, text=True).stdout
    pids = out.split()
    assert len(pids) == 1, pids
    with open("/proc/%s/stat" % pids[0]) as f:
        st = f.read()
    return int(st[st.rindex(")") + 2:].split()[7])


SMALL = json.dumps({"model": "gpt-4o-mini", "max_tokens": 16,
                    "messages": [{"role": "user", "content": "hi"}]}).encode()


def faults_of(g, token, raw):
    """Page faults the child takes for one request (its own connection:
    the connection's own memory is in both the small and the large
    request's count)."""
    before = child_faults(g)
    r = g.client(timeout=60).post(CHAT, raw, token=token)
    assert r.status == 200, (r, g.error_log_tail())
    return child_faults(g) - before


def test_large_requests_reuse_the_memory_of_the_last(gateway_factory,
                                                    minter):
    # The clean cache off: with it, the strings of each new body are kept
    # (a cache filling up), not memory a request frees.
    g = gateway_factory.make(pg=None, extra_conf=ONE_WORKER,
                             gateway_d={"98-no-clean-cache.conf":
                                        "LLMScanCleanCache 0\n"})
    token = minter.mint(sub="heap-" + os.urandom(4).hex(),
                        groups=["developers"])
    for i in range(8):                      # the heap grows to its size
        faults_of(g, token, body(i))
    extra = []
    for i in range(3):
        small = faults_of(g, token, SMALL)
        extra.append(faults_of(g, token, body(10 + i)) - small)
    pages = len(body(10)) / 4096            # ~260: the body's buffer
    assert sum(extra) / len(extra) < pages / 8, extra
