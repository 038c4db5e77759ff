#!/usr/bin/python3
"""Memory per in-flight request with large bodies (a benchmark: it prints
figures, it asserts nothing).

    sudo /usr/bin/python3 bench/gateway/memory.py [--size 1m] \
        [--concurrency 200] [--hold-ms 3000] [--targets plain_auth,gateway] \
        [--model gpt-4o-mini] [--rounds 2]

Each target (the same servers as bench.py, sample configuration and MPM
settings, C mock upstream) gets --concurrency requests at once, each an
agent-shaped body of --size (bench/agent_body.py, OpenAI chat, streamed)
whose answer the mock paces over --hold-ms, so that every request is in
flight at the same time: its body read, parsed and scanned, its pool
alive.  Resident memory (RSS and PSS, all httpd processes) is sampled
every 50 ms; the figure is (peak - before) / requests, and that over the
body size.  Every request must end in a complete 200 stream.  A model
served by the other dialect's provider (--model claude-sonnet-4-5) adds
the translated copy.
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import agent_body  # noqa: E402
import benchlib  # noqa: E402


def make_body(size, model, hold_ms):
    raw = agent_body.build(size, "openai", True, model=model)
    body = json.loads(raw)
    events = 20
    body["metadata"] = {"mock_interval_ms": str(max(1, hold_ms // events)),
                        "mock_events": str(events)}
    return json.dumps(body, separators=(",", ":")).encode()


def one_request(port, head, body, results, i, timeout):
    """POST, read the whole chunked stream; results[i] = (ok, why)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(head + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.endswith(b"0\r\n\r\n"):
                break
        s.close()
        ok = data.startswith(b"HTTP/1.1 200") and b"[DONE]" in data
        results[i] = (ok, data[:80])
    except OSError as e:
        results[i] = (False, repr(e))


def run_wave(server, token, body, n, hold_ms):
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "%sConnection: close\r\n\r\n"
            % (len(body), "Authorization: Bearer %s\r\n" % token
               if token else "")).encode()
    pids = benchlib.httpd_pids(server)
    idle_rss, idle_pss = benchlib.rss_bytes(pids)
    results = [None] * n
    threads = [threading.Thread(target=one_request,
                                args=(server.port, head, body, results, i,
                                      60 + hold_ms / 1000.0))
               for i in range(n)]
    peak = {"rss": idle_rss, "pss": idle_pss}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            rss, pss = benchlib.rss_bytes(benchlib.httpd_pids(server))
            peak["rss"] = max(peak["rss"], rss)
            peak["pss"] = max(peak["pss"], pss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    stop.set()
    sampler.join()
    errors = [r for r in results if not r or not r[0]]
    return {"idle_rss": idle_rss, "idle_pss": idle_pss,
            "peak_rss": peak["rss"], "peak_pss": peak["pss"],
            "errors": len(errors), "first_error": errors[0] if errors
            else None, "seconds": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1m")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--hold-ms", type=int, default=3000)
    ap.add_argument("--targets", default="plain_auth,gateway")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--rounds", type=int, default=2,
                    help="waves per target; the first warms the processes")
    args = ap.parse_args()

    size = agent_body.parse_size(args.size)
    work = tempfile.mkdtemp(prefix="llmgw-mem-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    targets = args.targets.split(",")
    servers, token = benchlib.make_servers(targets, mock.port, work)
    body = make_body(size, args.model, args.hold_ms)
    print("# %s body (%d bytes), %d requests at once, answers paced over "
          "%d ms; CPU: %s; load average: %s"
          % (args.size, len(body), args.concurrency, args.hold_ms,
             benchlib.cpu_model(), " ".join(benchlib.load_average())),
          flush=True)
    print("| target | wave | errors | RSS before MB | RSS peak MB | added "
          "per request MB | x body | PSS added per request MB |")
    print("|---|---|---|---|---|---|---|---|")
    try:
        for t in targets:
            for wave in range(args.rounds):
                r = run_wave(servers[t], None if t == "plain" else token,
                             body, args.concurrency, args.hold_ms)
                added = (r["peak_rss"] - r["idle_rss"]) / args.concurrency
                padded = (r["peak_pss"] - r["idle_pss"]) / args.concurrency
                print("| %s | %d | %d | %.0f | %.0f | %.2f | %.2f | %.2f |"
                      % (t, wave + 1, r["errors"], r["idle_rss"] / 2**20,
                         r["peak_rss"] / 2**20, added / 2**20,
                         added / len(body), padded / 2**20), flush=True)
                if r["errors"]:
                    print("#   first error: %r" % (r["first_error"],))
    finally:
        benchlib.stop_servers(servers)
        mock.stop()


if __name__ == "__main__":
    main()
