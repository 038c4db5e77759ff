#!/usr/bin/python3
"""Throughput, latency and CPU per request of the gateway against plain
httpd mod_proxy, measured in one run with wrk (docs/route-benchmark.md).

    sudo /usr/bin/python3 bench/gateway/bench.py [--duration 10] \
        [--concurrency 16,64] [--modes plain,stream] \
        [--sizes prose,4k,50k,200k,1m] [--dialect openai|anthropic] \
        [--body FILE] \
        [--targets direct,plain,plain_auth,gateway] [--rounds 3] \
        [--think-ms 25] [--mpm 'A 1;B 2'] [--json out.json] \
        [--session] [--scan-cache off|SIZE]

Bodies: `prose` (the default) is the historical ~4 KB chat request of
plain prose; 4k, 50k, 200k, 1m (or any byte count such as 300k) are
coding-agent turns from bench/agent_body.py (system prompt, tool schemas,
source files, tool results, diffs, logs) in --dialect's wire format
(anthropic: POST /v1/messages to a claude-* model).  --body FILE sends that
file as it is (its own "stream" flag; --modes is then ignored).

Same body or sessions.  By default every request of a run sends the same
body.  The gateway keeps the strings it scanned with no finding
(LLMScanCleanCache, on by default), so from the second request on every
string of that body is a cache hit: the figure of a client that resends
one body, not of a first scan.  The cold figure, every string scanned, is
the gateway with the cache off: the target gateway-nocache, or
--scan-cache off for every gateway target.  --session sends growing
agent sessions instead (bench/gateway/session.lua): each wrk thread
carries c/2 sessions and sends their turns round-robin over its
connections (--session-affinity: one thread, one connection and one
session each, as an agent keeping its connection), each session one
turn further each time (turn k+1 = turn k plus one tool call and its
result, 1-6 KB new), sizes around --sizes (50k: 46-56 KB, 1m: 0.95-1.05
MB), each session started again as new text once it has sent its last
turn: what the cache meets with real agents.

With --rounds, each target's table row is its median round, and the
ratios pair every round with the same round's baseline (median, range).
--think-ms makes every connection wait between an answer and its next
request: latency at a load all targets sustain, not at saturation.

Targets, all in front of the same C mock upstream (bench/gateway/mock_sse.c,
one epoll thread):
  direct      wrk -> mock
  plain       wrk -> httpd mod_proxy_balancer -> mock (no auth)
  plain_auth  the same plus mod_oauth2 verifying the JWT
  gateway     the full gateway from the sample conf: mod_oauth2, scan
              (gateway-nocache: with LLMScanCleanCache 0; gateway-noscan,
              gateway-noaudit: with the scan or the audit off)
              (sample policy, all built-in rules), route, quotas, audit
              (embedded SQLite; gateway_pg: PostgreSQL; gateway_redis: quota
              counters in a local redis-server, whose CPU is shown apart;
              gateway_jwks: keys from a JWKS URI; gateway_openidc_file,
              gateway_openidc_jwks: the bearer check as it was before
              mod_oauth2, mod_auth_openidc's oauth20; gateway_base: the
              sample with the modules in LLM_GW_BASE_MODULES_DIR, another
              build to pair with this one in the same run)
  plain_openidc_file, plain_openidc_jwks, plain_oauth2_file,
  plain_oauth2_jwks  plain mod_proxy behind one bearer-check module alone
All httpd use conf/httpd-standalone.conf's MPM settings and access log.

Per run: requests/s, latency p50/p90/p99 (wrk --latency), errors, and the
server's CPU time per request: utime+stime of its processes from
/proc/<pid>/stat (plus the parent's reaped children) over the run divided
by the requests; the mock's CPU is shown too, to see it is not the limit.
Needs root (httpd switches to www-data), wrk, a C compiler, the built
modules (LLM_GW_MODULES_DIR or build/stage-modules).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import agent_body  # noqa: E402
import benchlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

WORDS = ("the function returns a list of parsed records and the caller "
         "checks each field before writing it to the cache layer while the "
         "scheduler retries failed jobs with exponential backoff so that "
         "transient network errors do not surface to users").split()


def chat_body(stream, size=4096, seed=1):
    """A ~4 KB chat request: a system prompt and a user message of plain
    engineering prose (no secrets: nothing for the scanner to block)."""
    rnd = random.Random(seed)
    text = []
    n = 0
    while n < size - 400:
        w = rnd.choice(WORDS)
        text.append(w)
        n += len(w) + 1
    body = {"model": "gpt-4o-mini",
            "messages": [
                {"role": "system",
                 "content": "You are a careful coding assistant. Answer "
                            "briefly and cite file names."},
                {"role": "user", "content": " ".join(text)}]}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


WRK_RUNS = [0]


def run_wrk(url, body_file, token, conc, duration, threads=2, think_ms=0):
    """body_file: a file to send, or a list of session files (session.lua)
    whose sessions the threads share out, c / threads each."""
    env = dict(os.environ, BENCH_TOKEN=token or "",
               BENCH_THINK_MS=str(think_ms))
    script = "post.lua"
    if isinstance(body_file, list):
        script = "session.lua"
        WRK_RUNS[0] += 1
        env.update(BENCH_SESSION_FILES=":".join(body_file),
                   BENCH_SESSIONS_PER_THREAD=str(max(1, conc // threads)),
                   # new run numbers in every wrk run: the sessions of one
                   # run are new text to the gateway in the next
                   BENCH_SESSION_RUN=str(WRK_RUNS[0] * 10 ** 8))
    else:
        env["BENCH_BODY"] = body_file
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed; scripts/deps.sh bench "
                         "installs what the benchmarks need")
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conc, "-d%ds" % duration,
           "--timeout", "10s", "-s", os.path.join(HERE, script), url]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line[len("BENCHJSON "):]), " ".join(cmd)
    raise RuntimeError("wrk gave no figures:\n" + out)


def measure(target, url, pids_fn, parent, mock, body_file, token, conc,
            duration, think_ms=0, redis_pid=None, threads=2):
    pids = pids_fn()
    cpu0 = benchlib.cpu_seconds(pids, parent)
    mcpu0 = benchlib.cpu_seconds(mock.pids)
    rcpu0 = benchlib.cpu_seconds([redis_pid]) if redis_pid else 0
    t0 = time.monotonic()
    res, cmd = run_wrk(url, body_file, token, conc, duration,
                       threads=threads, think_ms=think_ms)
    wall = time.monotonic() - t0
    pids = pids_fn()
    cpu1 = benchlib.cpu_seconds(pids, parent)
    mcpu1 = benchlib.cpu_seconds(mock.pids)
    rcpu1 = benchlib.cpu_seconds([redis_pid]) if redis_pid else 0
    n = max(res["requests"], 1)
    errors = (res["err_connect"] + res["err_read"] + res["err_write"] +
              res["err_status"] + res["err_timeout"])
    return {
        "target": target, "concurrency": conc, "think_ms": think_ms,
        "rps": res["requests"] / (res["duration_us"] / 1e6),
        "p50_ms": res["p50_us"] / 1000.0, "p90_ms": res["p90_us"] / 1000.0,
        "p99_ms": res["p99_us"] / 1000.0, "requests": res["requests"],
        "errors": errors, "wrk": res,
        "cpu_us_per_req": (cpu1 - cpu0) * 1e6 / n,
        "mock_cpu_us_per_req": (mcpu1 - mcpu0) * 1e6 / n,
        # gateway_redis: the redis-server's own CPU, not in the server's
        "redis_cpu_us_per_req": (rcpu1 - rcpu0) * 1e6 / n,
        "server_cpu_util": (cpu1 - cpu0) / wall,
        "command": cmd,
    }


def mpm_conf(spec):
    """--mpm 'A 1;B 2' -> an <IfModule mpm_event_module> block."""
    lines = [l.strip() for l in spec.split(";") if l.strip()]
    if not lines:
        return ""
    return ("<IfModule mpm_event_module>\n%s\n</IfModule>"
            % "\n".join("    " + l for l in lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--concurrency", default="16,64")
    ap.add_argument("--modes", default="plain,stream")
    ap.add_argument("--sizes", default="prose",
                    help="prose (the ~4 KB prose body) and/or agent-turn "
                         "sizes: 4k,50k,200k,1m or byte counts")
    ap.add_argument("--dialect", choices=["openai", "anthropic"],
                    default="openai", help="wire format of agent bodies")
    ap.add_argument("--body", help="send this file as the request body")
    ap.add_argument("--targets", default="direct,plain,plain_auth,gateway")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the whole matrix; the median run is kept")
    ap.add_argument("--mpm", default="",
                    help="MPM directives appended after the sample's, e.g. "
                         "'StartServers 16;MinSpareThreads 256' (';' "
                         "separates lines)")
    ap.add_argument("--think-ms", type=int, default=0,
                    help="each connection waits this long between an answer "
                         "and its next request: latency at a load every "
                         "target sustains, instead of at saturation")
    ap.add_argument("--json", help="write all runs here")
    ap.add_argument("--session", action="store_true",
                    help="send growing agent sessions around each size "
                         "instead of one body (see above)")
    ap.add_argument("--session-files", type=int, default=16,
                    help="sessions written per size and mode (different "
                         "seeds); the threads go through them, new text "
                         "at each restart")
    ap.add_argument("--session-affinity", action="store_true",
                    help="one wrk thread and one connection per session, as "
                         "an agent that keeps its connection: every turn "
                         "of a session reaches the process its last turn "
                         "reached (while the connection lives)")
    ap.add_argument("--scan-cache", metavar="off|SIZE",
                    help="LLMScanCleanCache for the gateway targets "
                         "(not gateway_base, whose build may not know it)")
    args = ap.parse_args()

    concs = [int(c) for c in args.concurrency.split(",")]
    modes = args.modes.split(",")
    sizes = args.sizes.split(",")
    path_of = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
    api_path = path_of[args.dialect]
    targets = args.targets.split(",")
    work = tempfile.mkdtemp(prefix="llmgw-bench-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    servers, token = benchlib.make_servers(
        [t for t in targets if t != "direct"], mock.port, work,
        extra_conf=mpm_conf(args.mpm),
        scan_cache="0" if args.scan_cache == "off" else args.scan_cache)
    bodies = {}
    if args.body:
        with open(args.body, "rb") as f:
            raw = f.read()
        mode = "stream" if json.loads(raw).get("stream") else "plain"
        modes, sizes = [mode], [os.path.basename(args.body)]
        bodies[(sizes[0], mode)] = os.path.abspath(args.body)
    for size in sizes:
        for mode in modes:
            if args.body:
                continue
            if args.session:
                if size == "prose":
                    raise SystemExit("--session takes agent sizes, not prose")
                files = []
                for seed in range(1, args.session_files + 1):
                    path = os.path.join(work, "session-%s-%s-%d.txt"
                                        % (size, mode, seed))
                    agent_body.write_session(
                        path, agent_body.parse_size(size), args.dialect,
                        mode == "stream", seed=seed)
                    files.append(path)
                bodies[(size, mode)] = files
                continue
            path = os.path.join(work, "body-%s-%s.json" % (size, mode))
            with open(path, "wb") as f:
                if size == "prose":
                    f.write(chat_body(mode == "stream"))
                else:
                    f.write(agent_body.build(agent_body.parse_size(size),
                                             args.dialect, mode == "stream"))
            bodies[(size, mode)] = path

    def endpoint(t):
        if t == "direct":
            return (mock.url + api_path, lambda: mock.pids,
                    None, None)
        s = servers[t]
        return (s.url + api_path,
                lambda s=s: benchlib.httpd_pids(s), s.proc.pid,
                None if t == "plain" else token)

    print("# CPU: %s, %d cores; load average before: %s"
          % (benchlib.cpu_model(), os.cpu_count(),
             " ".join(benchlib.load_average())), flush=True)
    if args.session:
        print("# growing sessions (session.lua): c/2 sessions a wrk thread, "
              "one turn each in turn", flush=True)
    elif args.scan_cache != "off" and any(
            t.startswith("gateway") and t != "gateway-nocache"
            and t != "gateway_base" for t in targets):
        print("# the same body on every request: with LLMScanCleanCache on, "
              "every string after the first request is a cache hit (the "
              "cold figure is gateway-nocache or --scan-cache off)",
              flush=True)
    runs = []
    try:
        # Warm up every server (children, connection pools, caches).
        for t in targets:
            url, pids_fn, parent, tok = endpoint(t)
            for key in bodies:
                run_wrk(url, bodies[key], tok, max(concs), args.warmup,
                        threads=max(concs) if args.session_affinity else 2)
        for rnd in range(args.rounds):
            for size in sizes:
                for mode in modes:
                    for conc in concs:
                        for t in targets:
                            url, pids_fn, parent, tok = endpoint(t)
                            redis = getattr(servers.get(t), "bench_redis",
                                            None)
                            r = measure(t, url, pids_fn, parent, mock,
                                        bodies[(size, mode)], tok, conc,
                                        args.duration,
                                        think_ms=args.think_ms,
                                        redis_pid=redis.proc.pid if redis
                                        else None,
                                        threads=conc if args.session_affinity
                                        else 2)
                            r["mode"] = mode
                            r["size"] = size
                            b = bodies[(size, mode)]
                            r["body_bytes"] = (
                                agent_body.parse_size(size)
                                if isinstance(b, list)
                                else os.path.getsize(b))
                            if "sessions" in r["wrk"]:
                                r["sessions"] = r["wrk"]["sessions"]
                            r["round"] = rnd
                            runs.append(r)
                            print("%-5s %-6s c=%-3d %-10s %8.0f req/s  p50 "
                                  "%6.2f ms  p99 %6.2f ms  cpu %6.0f us/req"
                                  "  mock %4.0f us/req  errors %d%s"
                                  % (size, mode, conc, t, r["rps"],
                                     r["p50_ms"], r["p99_ms"],
                                     r["cpu_us_per_req"],
                                     r["mock_cpu_us_per_req"], r["errors"],
                                     "  redis %.0f us/req"
                                     % r["redis_cpu_us_per_req"] if redis
                                     else ""),
                                  flush=True)
    finally:
        benchlib.stop_servers(servers)
        mock.stop()

    summary = summarize(runs, targets, modes, concs, sizes)
    print(summary)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": benchlib.cpu_model(), "runs": runs}, f,
                      indent=1)


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["rps"])
    return runs[len(runs) // 2]


def paired(runs, size, mode, conc, t, base):
    """Per round: CPU ratio, added p50, throughput ratio of t over base,
    and the CPU t adds in microseconds per MB of body."""
    def at(name):
        return {r["round"]: r for r in runs if r["mode"] == mode
                and r["size"] == size
                and r["concurrency"] == conc and r["target"] == name}
    tr, br = at(t), at(base)
    rounds = sorted(set(tr) & set(br))
    if not rounds:
        return None
    return ([tr[k]["cpu_us_per_req"] / br[k]["cpu_us_per_req"]
             for k in rounds],
            [tr[k]["p50_ms"] - br[k]["p50_ms"] for k in rounds],
            [tr[k]["rps"] / br[k]["rps"] for k in rounds],
            [tr[k]["cpu_us_per_req"] - br[k]["cpu_us_per_req"]
             for k in rounds])


def spread(values, fmt):
    """The median, and the range when there are several rounds."""
    v = sorted(values)
    med = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1]
                                            + v[len(v) // 2]) / 2
    if len(v) == 1:
        return fmt % med
    return (fmt + " (" + fmt + " .. " + fmt + ")") % (med, v[0], v[-1])


def summarize(runs, targets, modes, concs, sizes):
    lines = ["", "| body | mode | c | target | req/s | p50 ms | p99 ms | "
             "server CPU us/req | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        for mode in modes:
            for conc in concs:
                for t in targets:
                    sel = [r for r in runs if r["mode"] == mode and
                           r["size"] == size and
                           r["concurrency"] == conc and r["target"] == t]
                    if not sel:
                        continue
                    r = median_run(sel)
                    lines.append("| %s | %s | %d | %s | %.0f | %.2f | %.2f "
                                 "| %s | %d |"
                                 % (size, mode, conc, t, r["rps"],
                                    r["p50_ms"], r["p99_ms"],
                                    "%.0f" % r["cpu_us_per_req"]
                                    if t != "direct" else
                                    "(mock %.0f)" % r["mock_cpu_us_per_req"],
                                    r["errors"]))
    # Ratios pair each round's target with the same round's baseline (the
    # machine's load changes between rounds; a ratio of two medians can
    # pair different rounds), then take the median over the rounds.
    lines += ["", "| body | mode | c | compared | CPU/req ratio | "
              "added CPU us/req | added p50 ms | throughput ratio |",
              "|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        for mode in modes:
            for conc in concs:
                pairs = [(t, "plain") for t in targets
                         if t.startswith(("plain_auth", "gateway"))]
                pairs += [(t, "plain_auth") for t in targets
                          if t.startswith("gateway")]
                # The Redis quota store against shared memory.
                pairs += [(t, "gateway") for t in targets
                          if t == "gateway_redis" and "gateway" in targets]
                # This build against another (gateway_base).
                pairs += [("gateway", t) for t in targets
                          if t == "gateway_base" and "gateway" in targets]
                # The cache of clean strings against every string scanned.
                pairs += [("gateway", t) for t in targets
                          if t == "gateway-nocache" and "gateway" in targets]
                for t, base in pairs:
                    ratios = paired(runs, size, mode, conc, t, base)
                    if ratios:
                        lines.append("| %s | %s | %d | %s / %s | %s | %s | "
                                     "%s | %s |"
                                     % (size, mode, conc, t, base,
                                        spread(ratios[0], "%.2f"),
                                        spread(ratios[3], "%+.0f"),
                                        spread(ratios[1], "%+.2f"),
                                        spread(ratios[2], "%.2f")))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
