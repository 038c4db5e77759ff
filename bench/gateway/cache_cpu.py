#!/usr/bin/python3
"""Gateway CPU per request answered from the answer cache, against the
same request proxied to the provider, in one gateway and one run
(README "Performance", docs/fleet.md "The answer cache").

    sudo /usr/bin/python3 bench/gateway/cache_cpu.py [--modules DIR] \
        [--requests 2000] [--threads 8] [--rounds 3] [--body-kb 4] \
        [--stream] [--redis]

The gateway runs the sample configuration (SQLite audit, the sample's
quotas, JWT verification) with 70-cache.conf switched on, in front of
the C mock upstream (bench/gateway/mock_sse.c).  Each round sends
--requests requests from --threads keep-alive connections three ways:

  proxied  Cache-Control: no-store -- no lookup, no store: what every
           request costs without the cache
  miss     a new body each time: looked up, proxied, stored
  hit      one body already answered: served from the cache

The figure is the httpd processes' utime+stime over the requests divided
by their number; the table shows the median round and every round, the
median of the rounds' p50 latencies, and the hit/proxied ratio.  --redis keeps the answers in a redis-server
(mod_socache_redis) instead of shmcb.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import GatewayServer, MockRef, TokenMinter  # noqa: E402


def body(kb, stream, tag):
    text = ("Summarise this file. " + tag + " ") + "x" * (kb * 1024)
    b = {"model": "gpt-4o-mini",
         "messages": [{"role": "user", "content": text[:kb * 1024]}]}
    if stream:
        b["stream"] = True
    return json.dumps(b).encode()


def send(port, token, bodies, headers, expect, times=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": "Bearer " + token,
         "Content-Type": "application/json"}
    h.update(headers)
    for b in bodies:
        t0 = time.monotonic()
        conn.request("POST", "/v1/chat/completions", b, h)
        resp = conn.getresponse()
        resp.read()
        if times is not None:
            times.append(time.monotonic() - t0)
        got = resp.getheader("X-LLM-Cache")
        if resp.status != 200 or (expect and got != expect):
            raise RuntimeError("expected 200 %s, got %d %s" % (
                expect, resp.status, got))
    conn.close()


def run(server, token, args, kind):
    n = args.requests // args.threads
    if kind == "hit":
        one = body(args.body_kb, args.stream, "cached")
        # The miss rounds may have pushed it out of a small cache.
        send(server.port, token, [one], {}, None)
        per_thread = [[one] * n for _ in range(args.threads)]
        headers, expect = {}, "hit"
    else:
        per_thread = [[body(args.body_kb, args.stream, uuid.uuid4().hex)
                       for _ in range(n)] for _ in range(args.threads)]
        headers = {"Cache-Control": "no-store"} if kind == "proxied" else {}
        expect = "bypass" if kind == "proxied" else "miss"
    errors, times = [], []

    def worker(bodies):
        try:
            send(server.port, token, bodies, headers, expect, times)
        except Exception as e:          # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(b,))
               for b in per_thread]
    pids = benchlib.httpd_pids(server)
    cpu0 = benchlib.cpu_seconds(pids, server.proc.pid)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu1 = benchlib.cpu_seconds(benchlib.httpd_pids(server), server.proc.pid)
    if errors:
        raise errors[0]
    total = n * args.threads
    return ((cpu1 - cpu0) * 1e6 / total, total / elapsed,
            statistics.median(times) * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", default=os.environ.get(
        "LLM_GW_MODULES_DIR", os.path.join(benchlib.REPO, "build",
                                           "stage-modules")))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--body-kb", type=int, default=4)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--redis", action="store_true")
    ap.add_argument("--kinds", default="proxied,miss,hit",
                    help="which of proxied, miss, hit to run (e.g. hit "
                         "alone, under a profiler)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="llmgw-cachecpu-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    minter = TokenMinter(os.path.join(work, "jwt"))
    token = minter.mint(sub="bench-user", groups=["developers"],
                        lifetime=3600)
    redis = None
    files = {"60-quotas.conf": benchlib.BENCH_QUOTAS}
    if args.redis:
        port = benchlib.free_port()
        redis = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server",
             "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    server = None
    try:
        if redis:
            if not benchlib.wait_for_port(port, 5):
                raise RuntimeError("redis-server did not start")
            files["70-cache-store.conf"] = (
                "LoadModule socache_redis_module "
                "${LLM_GW_HTTPD_MODULES}/mod_socache_redis.so\n"
                "LLMCacheStore redis:127.0.0.1:%d\n" % port)
        base = tempfile.mkdtemp(prefix="gw-", dir=work)
        os.chmod(base, 0o755)
        server = GatewayServer(
            minter, mock=MockRef(mock.port), pg=None, base_dir=base,
            include_mock_provider=False, modules_dir=args.modules,
            gateway_d=files, defines={"LLM_GW_CACHE": "1"},
            sample_mpm=True).start()
        # Warm-up: connections, the first answer of the hit body.
        send(server.port, token, [body(args.body_kb, args.stream,
                                       "cached")], {}, None)
        kinds_asked = args.kinds.split(",")
        for kind in kinds_asked:
            run(server, token, args, kind)
        res = {k: [] for k in kinds_asked}
        rates = {k: [] for k in res}
        p50s = {k: [] for k in res}
        for rnd in range(args.rounds):
            kinds = list(res) if rnd % 2 == 0 else list(res)[::-1]
            for kind in kinds:
                cpu, rate, p50 = run(server, token, args, kind)
                res[kind].append(cpu)
                rates[kind].append(rate)
                p50s[kind].append(p50)
        print("answer cache, %s, %d KB %s bodies, %d threads, %d requests "
              "per round, %d rounds (load average %s)" % (
                  "redis" if redis else "shmcb", args.body_kb,
                  "stream" if args.stream else "non-stream", args.threads,
                  args.requests, args.rounds, benchlib.load_average()))
        for kind in res:
            print("  %-8s %7.1f us CPU/request %s, %6.0f req/s, "
                  "p50 %.2f ms" % (
                      kind, statistics.median(res[kind]),
                      [round(x, 1) for x in res[kind]],
                      statistics.median(rates[kind]),
                      statistics.median(p50s[kind])))
        if "hit" in res and "proxied" in res:
            print("  hit / proxied: %.3f" % (
                statistics.median(res["hit"])
                / statistics.median(res["proxied"])))
    finally:
        if server:
            server.stop()
        mock.stop()
        if redis:
            redis.terminate()
            redis.wait(5)


if __name__ == "__main__":
    main()
