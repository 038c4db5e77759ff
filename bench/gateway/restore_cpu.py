#!/usr/bin/python3
"""What reversible redaction's answer filter costs end to end: gateway CPU
per relayed stream event and per non-stream answer, restoring on and off
in one run (README, "Performance").

    sudo /usr/bin/python3 bench/gateway/restore_cpu.py [--modules DIR] \
        [--events 5000] [--requests 20] [--rounds 5] [--every 20]

Two gateways with the same modules and the sample configuration (answer
scan on) in front of the C mock upstream (bench/gateway/mock_sse.c): one
as the sample is (LLMScanRedact pii reversible), one with `LLMScanRedact
pii one-way`.  Every request's prompt holds an email, so both redact it
the same way; only the first restores, i.e. runs the LLM_RESTORE filter
over the answer.  Two kinds of answers, both sent to both gateways: plain
ones holding no placeholder (what every answer of such a request pays:
events go on as their own bytes), and ones holding the request's
[REDACTED_EMAIL_1] split over three events out of every --every (held,
parsed, restored and written again by the reversible gateway; passed on
unchanged by the one-way one) -- a whole answer holds it once.  Rounds
alternate which gateway goes first; the table shows the median round and
every round.
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import GatewayServer, MockRef, TokenMinter  # noqa: E402

ONE_WAY = "<Location /v1>\n    LLMScanRedact pii one-way\n</Location>\n"


def body(events, stream, every):
    b = {"model": "gpt-4o-mini", "stream": stream,
         "messages": [{"role": "user", "content":
                       "Write a note to dana.wexler@umbra-logistics.io"}]}
    if stream:
        b["mock_events"] = events
    if every:
        # forwarded as an unknown member; the mock reads it from the body
        b["metadata"] = {"mock_placeholder_every": str(every)}
    return json.dumps(b).encode()


def run(server, token, args, stream, every=0):
    cpu0 = benchlib.cpu_seconds(benchlib.httpd_pids(server), server.proc.pid)
    n = args.requests if stream else args.requests * 100
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                          timeout=120)
        conn.request("POST", "/v1/chat/completions",
                     body(args.events, stream, every),
                     {"Authorization": "Bearer " + token,
                      "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != 200 or (stream
                                  and not data.endswith(b"data: [DONE]\n\n")):
            raise RuntimeError("bad answer: %d %r" % (resp.status,
                                                      data[-300:]))
        # the reversible gateway restores, the one-way one does not
        restored = b"dana.wexler@umbra-logistics.io" in data
        if every and restored != (server.name == "reversible"):
            raise RuntimeError("%s: restored=%s" % (server.name, restored))
    cpu1 = benchlib.cpu_seconds(benchlib.httpd_pids(server), server.proc.pid)
    if stream:
        return (cpu1 - cpu0) * 1e6 / (n * (args.events + 3))
    return (cpu1 - cpu0) * 1e6 / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", default=os.environ.get(
        "LLM_GW_MODULES_DIR", os.path.join(benchlib.REPO, "build",
                                           "stage-modules")))
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--every", type=int, default=20,
                    help="a placeholder over 3 events out of every N")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="llmgw-restorecpu-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    minter = TokenMinter(os.path.join(work, "jwt"))
    token = minter.mint(sub="bench-user", groups=["developers"],
                        lifetime=3600)
    servers = {}
    try:
        for name, extra in (("one-way", {"46-oneway.conf": ONE_WAY}),
                            ("reversible", {})):
            base = tempfile.mkdtemp(prefix="gw-%s-" % name, dir=work)
            os.chmod(base, 0o755)
            gd = {"60-quotas.conf": benchlib.BENCH_QUOTAS}
            gd.update(extra)
            servers[name] = GatewayServer(
                minter, mock=MockRef(mock.port), pg=None, base_dir=base,
                include_mock_provider=False, modules_dir=args.modules,
                gateway_d=gd, sample_mpm=True).start()
        for name, s in servers.items():
            s.name = name
            run(s, token, args, True)                   # warm-up
        kinds = (("no placeholder", 0), ("placeholders", args.every))
        res = {(n, st, k): [] for n in servers for st in (True, False)
               for k, _ in kinds}
        for rnd in range(args.rounds):
            order = list(servers) if rnd % 2 == 0 else list(servers)[::-1]
            for stream in (True, False):
                for kind, every in kinds:
                    for name in order:
                        res[(name, stream, kind)].append(
                            run(servers[name], token, args, stream, every))
        for stream in (True, False):
            for kind, _ in kinds:
                b = statistics.median(res[("one-way", stream, kind)])
                m = statistics.median(res[("reversible", stream, kind)])
                print("%s, %s: one-way %.3f us %s, reversible %.3f us %s, "
                      "reversible/one-way %.3f (%+.3f us)" % (
                          "stream, per event" if stream
                          else "non-stream, per answer", kind, b,
                          [round(x, 3) for x in res[("one-way", stream,
                                                     kind)]], m,
                          [round(x, 3) for x in res[("reversible", stream,
                                                     kind)]],
                          m / b, m - b))
    finally:
        for s in servers.values():
            s.stop()
        mock.stop()


if __name__ == "__main__":
    main()
