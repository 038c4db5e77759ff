#!/usr/bin/python3
"""Gateway CPU per relayed stream event, two builds of the modules in one
run (docs/route-benchmark.md, "Stream accounting").

    sudo /usr/bin/python3 bench/gateway/stream_cpu.py \
        --baseline /path/to/other/build/stage-modules [--modules DIR] \
        [--events 20000] [--requests 50] [--rounds 5] [--openai-usage]

Both gateways run the sample configuration in front of the C mock upstream
(bench/gateway/mock_sse.c); each round sends --requests sequential
streamed chat completions of --events content events through each
gateway, first as a caller that does not ask for usage, then as one that
does (stream_options.include_usage), alternating which build goes first.
The figure is the httpd processes' utime+stime over the requests divided
by the events relayed; the table shows the median round and every round.
--openai-usage makes the mock send usage as OpenAI does (a usage chunk
and "usage": null on every chunk only when asked).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import GatewayServer, MockRef, TokenMinter  # noqa: E402


def body(events, asked, openai_usage):
    b = {"model": "gpt-4o-mini", "stream": True, "mock_events": events,
         "messages": [{"role": "user", "content": "stream please"}]}
    if openai_usage:
        b["mock_openai_usage"] = 1
    if asked:
        b["stream_options"] = {"include_usage": True}
    return json.dumps(b).encode()


def run(server, token, args, asked):
    cpu0 = benchlib.cpu_seconds(benchlib.httpd_pids(server), server.proc.pid)
    for _ in range(args.requests):
        conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                          timeout=120)
        conn.request("POST", "/v1/chat/completions",
                     body(args.events, asked, args.openai_usage),
                     {"Authorization": "Bearer " + token,
                      "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != 200 or not data.endswith(b"data: [DONE]\n\n"):
            raise RuntimeError("bad stream: %d %r" % (resp.status,
                                                      data[-300:]))
    cpu1 = benchlib.cpu_seconds(benchlib.httpd_pids(server), server.proc.pid)
    # content events, the role chunk, the finish chunk, [DONE]
    return (cpu1 - cpu0) * 1e6 / (args.requests * (args.events + 3))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True,
                    help="directory of the other build's mod_llm_*.so")
    ap.add_argument("--modules", default=os.environ.get(
        "LLM_GW_MODULES_DIR", os.path.join(benchlib.REPO, "build",
                                           "stage-modules")))
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--openai-usage", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="llmgw-streamcpu-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    minter = TokenMinter(os.path.join(work, "jwt"))
    token = minter.mint(sub="bench-user", groups=["developers"],
                        lifetime=3600)
    servers = {}
    try:
        for name, mods in (("baseline", args.baseline),
                           ("modules", args.modules)):
            base = tempfile.mkdtemp(prefix="gw-%s-" % name, dir=work)
            os.chmod(base, 0o755)
            servers[name] = GatewayServer(
                minter, mock=MockRef(mock.port), pg=None, base_dir=base,
                include_mock_provider=False, modules_dir=mods,
                gateway_d={"60-quotas.conf": benchlib.BENCH_QUOTAS},
                sample_mpm=True).start()
        for s in servers.values():
            run(s, token, args, 0)                      # warm-up
        res = {(n, a): [] for n in servers for a in (0, 1)}
        for rnd in range(args.rounds):
            order = list(servers) if rnd % 2 == 0 else list(servers)[::-1]
            for asked in (0, 1):
                for name in order:
                    res[(name, asked)].append(run(servers[name], token,
                                                  args, asked))
        for asked in (0, 1):
            b = statistics.median(res[("baseline", asked)])
            m = statistics.median(res[("modules", asked)])
            print("caller %s usage: baseline %.3f us/event %s, modules "
                  "%.3f us/event %s, modules/baseline %.3f" % (
                      "asks for" if asked else "does not ask for", b,
                      [round(x, 3) for x in res[("baseline", asked)]], m,
                      [round(x, 3) for x in res[("modules", asked)]], m / b))
    finally:
        for s in servers.values():
            s.stop()
        mock.stop()


if __name__ == "__main__":
    main()
