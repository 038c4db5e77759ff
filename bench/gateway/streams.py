#!/usr/bin/python3
"""Many long, paced streams at once: how many a node serves with the sample
MPM settings, time to first token, resident memory per open stream
(docs/route-benchmark.md).

    sudo /usr/bin/python3 bench/gateway/streams.py [--streams 250,500,1000] \
        [--interval-ms 50] [--seconds 30] [--targets direct,gateway] \
        [--conf conf/httpd-streams-5000.conf] [--ramp 10]

The upstream is bench/gateway/mock_sse.c: each stream gets its first event
at once, then one event every --interval-ms for --seconds.  The client
(asyncio, one process) opens the streams over --ramp seconds, each a
streamed chat completion through the full gateway (auth, scan, route,
quotas, audit), and records per stream: status, time to the first "data:"
event (TTFT), whether it ended with [DONE], events received.  While all
streams are open it samples the httpd processes' resident memory (RSS and
PSS summed over the processes, minus the idle figures before the run).

"direct" runs the same client against the mock alone: the TTFT the gateway
adds is the gateway's p99 minus the direct p99 at the same stream count.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from bench import chat_body  # noqa: E402


class Stream(asyncio.Protocol):
    def __init__(self, t_send, done):
        self.t_send = t_send
        self.done = done
        self.status = None
        self.ttft = None
        self.events = 0
        self.complete = False
        self.head = b""
        self.tail = b""
        self.error = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.status is None:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, _, data = self.head.partition(b"\r\n\r\n")
            self.status = int(head.split(b" ", 2)[1])
        if self.ttft is None and b"data:" in data:
            self.ttft = time.monotonic() - self.t_send
        self.events += data.count(b"data:")
        self.tail = (self.tail + data)[-64:]
        if b"[DONE]" in self.tail and self.tail.endswith(b"0\r\n\r\n"):
            self.complete = True
            self.transport.close()

    def connection_lost(self, exc):
        if exc is not None:
            self.error = repr(exc)
        if not self.done.done():
            self.done.set_result(None)


async def one_stream(host, port, request, timeout):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    t0 = time.monotonic()
    try:
        transport, proto = await asyncio.wait_for(loop.create_connection(
            lambda: Stream(t0, done), host, port), 10)
    except Exception as e:  # noqa: BLE001
        return {"status": None, "error": "connect: %r" % e}
    proto.t_send = time.monotonic()
    transport.write(request)
    try:
        await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        proto.error = "timeout"
        transport.close()
    return {"status": proto.status, "ttft": proto.ttft,
            "events": proto.events, "complete": proto.complete,
            "error": proto.error}


def paced_body(interval_ms, events):
    """The benchmark's streamed chat body, asking the mock (through the
    gateway, which forwards the body as sent) for paced events."""
    body = json.loads(chat_body(True))
    body["metadata"] = {"mock_interval_ms": str(interval_ms),
                        "mock_events": str(events)}
    return json.dumps(body).encode()


def build_request(host, port, body, token, interval_ms, events):
    head = ["POST /v1/chat/completions HTTP/1.1",
            "Host: %s:%d" % (host, port),
            "Content-Type: application/json",
            "Content-Length: %d" % len(body),
            "Connection: close",
            "x-mock-interval-ms: %d" % interval_ms,
            "x-mock-events: %d" % events]
    if token:
        head.append("Authorization: Bearer " + token)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def run_streams(host, port, request, n, ramp, timeout, on_all_open):
    tasks = []
    gap = ramp / n if n else 0
    t_start = time.monotonic()
    for i in range(n):
        tasks.append(asyncio.create_task(
            one_stream(host, port, request, timeout)))
        delay = t_start + (i + 1) * gap - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    # Everything is open (or failed) about now: sample memory.
    await asyncio.sleep(2.0)
    sample = on_all_open()
    results = await asyncio.gather(*tasks)
    return results, sample


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def mpm_conf(spec):
    """--mpm 'A 1;B 2' -> an <IfModule mpm_event_module> block."""
    lines = [l.strip() for l in spec.split(";") if l.strip()]
    if not lines:
        return ""
    return ("<IfModule mpm_event_module>\n%s\n</IfModule>"
            % "\n".join("    " + l for l in lines))


def variant_conf(path):
    if not path:
        return ""
    with open(path) as f:
        return f.read() + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", default="250,500,1000")
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--ramp", type=float, default=10.0,
                    help="seconds over which the streams are opened")
    ap.add_argument("--targets", default="direct,gateway")
    ap.add_argument("--mpm", default="",
                    help="MPM directives appended after the sample's, e.g. "
                         "'StartServers 16;MinSpareThreads 256' (';' "
                         "separates lines)")
    ap.add_argument("--conf", help="a configuration file appended after "
                    "the sample's, as httpd-standalone.conf includes a "
                    "variant (conf/httpd-streams-5000.conf)")
    ap.add_argument("--json")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    counts = [int(x) for x in args.streams.split(",")]
    targets = args.targets.split(",")
    events = args.seconds * 1000 // args.interval_ms
    work = tempfile.mkdtemp(prefix="llmgw-streams-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    servers, token = benchlib.make_servers(
        [t for t in targets if t != "direct"], mock.port, work,
        extra_conf=variant_conf(args.conf) + mpm_conf(args.mpm))
    body = paced_body(args.interval_ms, events)
    out = []
    print("# CPU: %s, %d cores; load average %s; %d events per stream, one "
          "every %d ms" % (benchlib.cpu_model(), os.cpu_count(),
                           " ".join(benchlib.load_average()), events,
                           args.interval_ms), flush=True)
    try:
        for n in counts:
            for t in targets:
                if t == "direct":
                    host, port, tok, pids_fn = ("127.0.0.1", mock.port, None,
                                                lambda: [])
                else:
                    s = servers[t]
                    host, port, tok = "127.0.0.1", s.port, token
                    pids_fn = (lambda s=s: benchlib.httpd_pids(s))
                idle_rss, idle_pss = benchlib.rss_bytes(pids_fn())
                request = build_request(host, port, body, tok,
                                        args.interval_ms, events)
                mem = {}

                def sample():
                    pids = pids_fn()
                    mem["rss"], mem["pss"] = benchlib.rss_bytes(pids)
                    mem["processes"] = len(pids)
                    return mem

                parent = None if t == "direct" else servers[t].proc.pid
                srv_pids = mock.pids if t == "direct" else pids_fn()
                cpu0 = benchlib.cpu_seconds(srv_pids, parent)
                me0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.monotonic()
                results, _ = asyncio.run(run_streams(
                    host, port, request, n, args.ramp,
                    args.seconds + 60, sample))
                wall = time.monotonic() - t0
                srv_pids = mock.pids if t == "direct" else pids_fn()
                cpu = benchlib.cpu_seconds(srv_pids, parent) - cpu0
                me1 = resource.getrusage(resource.RUSAGE_SELF)
                client_cpu = (me1.ru_utime + me1.ru_stime -
                              me0.ru_utime - me0.ru_stime)
                ok = [r for r in results if r.get("status") == 200 and
                      r.get("complete")]
                ttfts = [r["ttft"] for r in results if r.get("ttft")]
                errs = [r for r in results if r not in ok]
                row = {
                    "target": t, "streams": n, "ok": len(ok),
                    "errors": len(errs),
                    "error_kinds": sorted({"%s/%s" % (r.get("status"),
                                                       r.get("error"))
                                           for r in errs})[:5],
                    "ttft_p50_ms": (pct(ttfts, 50) or 0) * 1000,
                    "ttft_p99_ms": (pct(ttfts, 99) or 0) * 1000,
                    "ttft_max_ms": (max(ttfts) if ttfts else 0) * 1000,
                    "events_min": min((r.get("events", 0) for r in results),
                                      default=0),
                    "wall_s": wall,
                    "rss_total_mb": mem.get("rss", 0) / 2**20,
                    "rss_per_stream_mb": mem.get("rss", 0) / 2**20 / n,
                    "rss_added_per_stream_mb":
                        (mem.get("rss", 0) - idle_rss) / 2**20 / n,
                    "pss_per_stream_mb": mem.get("pss", 0) / 2**20 / n,
                    "idle_rss_mb": idle_rss / 2**20,
                    "processes": mem.get("processes", 0),
                    "server_cpu_s": cpu,
                    "server_cpu_us_per_event": cpu * 1e6 / max(1, sum(
                        r.get("events", 0) for r in results)),
                    "client_cpu_s": client_cpu,
                }
                out.append(row)
                print("%-8s %5d streams: ok %5d errors %4d  TTFT p50 %6.1f "
                      "p99 %6.1f max %6.1f ms  RSS %7.1f MB (%.3f MB/stream, "
                      "%.3f added; PSS %.3f) in %d processes; server CPU "
                      "%.1f s (%.1f us/event), client CPU %.1f s %s"
                      % (t, n, row["ok"], row["errors"], row["ttft_p50_ms"],
                         row["ttft_p99_ms"], row["ttft_max_ms"],
                         row["rss_total_mb"], row["rss_per_stream_mb"],
                         row["rss_added_per_stream_mb"],
                         row["pss_per_stream_mb"], row["processes"],
                         cpu, row["server_cpu_us_per_event"], client_cpu,
                         row["error_kinds"] or ""), flush=True)
                time.sleep(3)
    finally:
        benchlib.stop_servers(servers)
        mock.stop()
    direct = {r["streams"]: r for r in out if r["target"] == "direct"}
    for r in out:
        d = direct.get(r["streams"])
        if r["target"] != "direct" and d:
            print("%s %d streams: TTFT p99 %+.1f ms over the mock's"
                  % (r["target"], r["streams"],
                     r["ttft_p99_ms"] - d["ttft_p99_ms"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
