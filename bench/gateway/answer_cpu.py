#!/usr/bin/python3
"""Gateway CPU per relayed stream event with the answer scan, against
today's build, in one run (README, "Performance"; docs/scan-answers.md).

    sudo /usr/bin/python3 bench/gateway/answer_cpu.py \
        --baseline /path/to/other/build/stage-modules [--modules DIR] \
        [--events 20000] [--requests 20] [--rounds 5]

Three gateways in front of the C mock upstream (bench/gateway/mock_sse.c),
each from the sample configuration: the baseline build (the relay as it
was), this build with the sample's LLMScanResponse On, and this build with
LLMScanResponse Off.  Each round sends --requests sequential streamed chat
completions of --events content events through each, in an order that
rotates per round; the figure is the httpd processes' utime+stime over
the requests divided by the events relayed (stream_cpu.py's measure); the
table shows the median round and every round.  --interval-ms paces the
mock's events (each then reaches the gateway in a read of its own, with a
flush, as from a real provider); without it they come in a burst.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import GatewayServer, MockRef, TokenMinter  # noqa: E402
import stream_cpu  # noqa: E402


def run(server, token, args, asked):
    """stream_cpu.run, with the mock pacing its events when asked."""
    if not args.interval_ms:
        return stream_cpu.run(server, token, args, asked)
    body = stream_cpu.body

    def paced(events, asked_, openai_usage):
        b = json.loads(body(events, asked_, openai_usage))
        b["mock_interval_ms"] = args.interval_ms
        return json.dumps(b).encode()

    stream_cpu.body = paced
    try:
        return stream_cpu.run(server, token, args, asked)
    finally:
        stream_cpu.body = body


def ttft(server, token, n):
    """Seconds to the first content event of n paced streams (the mock
    sends the first at once, the next 50 ms later): median, p90."""
    import socket
    import time
    out = []
    body = json.dumps({"model": "gpt-4o-mini", "stream": True,
                       "mock_events": 3, "mock_interval_ms": 50,
                       "messages": [{"role": "user", "content": "hi"}]})
    req = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
           % (token, len(body), body)).encode()
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", server.port), 60)
        t0 = time.monotonic()
        sock.sendall(req)
        got = b""
        while b"token" not in got:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("stream ended early: %r" % got[-300:])
            got += chunk
        out.append(time.monotonic() - t0)
        while sock.recv(65536):
            pass
        sock.close()
    out.sort()
    return out[len(out) // 2], out[len(out) * 9 // 10]


def scan_conf_without_answers():
    """The sample's 40-scan.conf less LLMScanResponse, which a build from
    before it does not know."""
    with open(os.path.join(benchlib.REPO, "conf", "llm-gateway.d",
                           "40-scan.conf")) as f:
        return "".join(line for line in f
                       if not line.strip().startswith("LLMScanResponse"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True,
                    help="directory of today's build's mod_llm_*.so")
    ap.add_argument("--modules", default=os.environ.get(
        "LLM_GW_MODULES_DIR", os.path.join(benchlib.REPO, "build",
                                           "stage-modules")))
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--interval-ms", type=int, default=0,
                    help="the mock paces its events (one read and one "
                    "flush per event, as real providers send them)")
    ap.add_argument("--ttft", type=int, default=0,
                    help="also measure time to first token over this "
                    "many paced streams per gateway")
    args = ap.parse_args()
    args.openai_usage = False

    work = tempfile.mkdtemp(prefix="llmgw-answercpu-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    minter = TokenMinter(os.path.join(work, "jwt"))
    token = minter.mint(sub="bench-user", groups=["developers"],
                        lifetime=3600)
    quotas = {"60-quotas.conf": benchlib.BENCH_QUOTAS}
    setups = [
        ("baseline", args.baseline,
         dict(quotas, **{"40-scan.conf": scan_conf_without_answers()})),
        ("answer-scan-on", args.modules, dict(quotas)),
        ("answer-scan-off", args.modules, dict(quotas, **{
            "41-answers-off.conf": "<Location /v1>\n"
                                   "    LLMScanResponse Off\n</Location>\n"})),
    ]
    servers = {}
    try:
        for name, mods, gd in setups:
            base = tempfile.mkdtemp(prefix="gw-%s-" % name, dir=work)
            os.chmod(base, 0o755)
            servers[name] = GatewayServer(
                minter, mock=MockRef(mock.port), pg=None, base_dir=base,
                include_mock_provider=False, modules_dir=mods,
                gateway_d=gd, sample_mpm=True).start()
        for s in servers.values():
            run(s, token, args, 0)                      # warm-up
        res = {n: [] for n in servers}
        names = list(servers)
        for rnd in range(args.rounds):
            order = names[rnd % 3:] + names[:rnd % 3]
            for name in order:
                res[name].append(run(servers[name], token, args, 0))
        b = statistics.median(res["baseline"])
        for name in names:
            m = statistics.median(res[name])
            print("%-16s %.3f us/event  x%.3f of baseline  rounds %s" % (
                name, m, m / b, [round(x, 3) for x in res[name]]))
        for rnd in range(2 if args.ttft else 0):
            for name in names:
                med, p90 = ttft(servers[name], token, args.ttft)
                print("%-16s time to first token median %.2f ms, p90 "
                      "%.2f ms" % (name, med * 1e3, p90 * 1e3))
    finally:
        for s in servers.values():
            s.stop()
        mock.stop()


if __name__ == "__main__":
    main()
