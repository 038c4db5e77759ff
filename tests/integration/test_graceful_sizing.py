"""Graceful restarts under long streams (issue 14), with the sample's own
MPM sizing (conf/httpd-standalone.conf, ``sample_mpm=True``).

A process of the old generation keeps its scoreboard slot until its last
stream ends.  When ServerLimit leaves no spare slots, the new generation
cannot start its processes and new requests wait for old streams to end
(seconds to minutes; httpd logs AH03490 "scoreboard is full").  Agents
open streams all the time, so each generation leaves processes behind.
Here a long stream opens in every generation -- before the first graceful
and between four gracefuls in a row -- while a prober sends a new request
every 100 ms: every one of them must be answered promptly.  With the old
sizing (ServerLimit 4 = MaxRequestWorkers / ThreadsPerChild) a request
waited 19 s here, until the first stream ended.
"""

import json
import os
import re
import signal
import threading
import time

from gwtest.client import parse_sse

CHAT = "/v1/chat/completions"
STREAM_DELTAS = 150
STREAM_INTERVAL = 0.1           # about 15 s per stream
GRACEFULS = 4
GRACEFUL_GAP = 1.4              # seconds between gracefuls
# A new request on an idle node takes milliseconds; a stall lasts until an
# old stream ends (about 10 s here).  Starting a generation (4 x 256
# threads) on a busy 2-core test machine delayed a request up to 1 s;
# 4 s is far below a stall.
LATENCY_BOUND = 4.0


def chat(**extra):
    body = {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra)
    return json.dumps(body).encode()


def test_gracefuls_under_long_streams_do_not_stall_new_requests(
        gateway_factory, mock, minter):
    g = gateway_factory.make(sample_mpm=True)
    c = g.client(timeout=90)
    token = minter.mint(sub="graceful-sizing")
    assert c.get("/v1/models", token=token).status == 200

    mock.stream_interval = STREAM_INTERVAL
    mock.stream_deltas = STREAM_DELTAS
    results, started = {}, []

    def run_stream(i):
        deltas, status = [], None
        for t, item in c.stream(CHAT, chat(stream=True), token=token):
            if t == 0.0:
                status = item.status
                started.append(i)
                continue
            deltas.append(item)
        results[i] = (status, "".join(deltas))

    streams = []

    def open_stream():
        i = len(streams)
        th = threading.Thread(target=run_stream, args=(i,))
        streams.append(th)
        th.start()
        deadline = time.monotonic() + 10
        while len(started) <= i and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(started) > i, "long stream %d did not start" % i

    open_stream()

    # New requests throughout: GET /v1/models is answered by the gateway
    # itself, so its latency is the node's, not the provider's.
    latencies, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            t0 = time.monotonic()
            r = c.get("/v1/models", token=token, timeout=90)
            latencies.append((t0, time.monotonic() - t0, r.status))
            time.sleep(0.1)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        for _ in range(GRACEFULS):
            time.sleep(GRACEFUL_GAP)
            # This generation's process now holds a stream for ~15 s.
            open_stream()
            os.kill(g.proc.pid, signal.SIGUSR1)
        time.sleep(3.0)
    finally:
        stop.set()
        prober.join(120)
    for th in streams:
        th.join(60)

    worst = max(latencies, key=lambda x: x[1])
    assert worst[1] < LATENCY_BOUND, (
        "a new request waited %.1f s during the gracefuls (%d requests, "
        "latencies > 0.5 s: %s)" % (worst[1], len(latencies),
                                    [round(x[1], 2) for x in latencies
                                     if x[1] > 0.5]))
    assert all(s == 200 for _, _, s in latencies), latencies
    # The old generations finished every stream whole.
    assert len(results) == GRACEFULS + 1
    for i in results:
        status, text = results[i]
        assert status == 200
        data = parse_sse(text)
        assert data[-1] == (None, "[DONE]")
        got = [json.loads(d)["choices"][0]["delta"].get("content")
               for _, d in data if d != "[DONE]" and json.loads(d)["choices"]]
        assert len([x for x in got if x]) == STREAM_DELTAS
    log = g.error_log_text()
    assert log.count("resuming normal operations") >= 1 + GRACEFULS
    assert not re.search(r"AH03490|scoreboard is full", log), \
        g.error_log_tail()
