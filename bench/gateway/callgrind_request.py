#!/usr/bin/python3
"""Instructions per request of one bench target (docs/route-benchmark.md,
"Fixed cost per request, fifth pass"): `httpd -X` of the sample gateway
(or of plain httpd + mod_oauth2) under valgrind's callgrind, driven by
wrk, twice: a short and a long run.  The difference of the two totals over
the difference of their requests is the cost of a request with start-up
and shutdown taken out; the same difference per function is what
callgrind_annotate shows for each run.

    sudo /usr/bin/python3 bench/gateway/callgrind_request.py OUT \\
        [--target gateway|plain_auth] [--modules DIR] [--size 4k|prose|50k] \\
        [--mode plain|stream] [--short 6] [--long 18]

writes OUT-a.cg and OUT-b.cg (callgrind's files) and OUT-a.cg.req,
OUT-b.cg.req (requests of each run), and prints the instructions per
request.  callgrind_control cannot reach a process whose threads sleep in
system calls, which is why the counters are not zeroed in place.
Under valgrind the CPU has no SHA extensions: the audit chain's SHA-256
costs several times the instructions it runs on a CPU that has them.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import agent_body  # noqa: E402
import bench  # noqa: E402
import benchlib  # noqa: E402
from gwtest.httpd import GatewayServer  # noqa: E402
from gwtest.ports import wait_for_port  # noqa: E402
from gwtest.tokens import TokenMinter  # noqa: E402


def total_ir(path):
    """The file's summed instructions (its 'totals:' or 'summary:' line)."""
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:totals|summary):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError("no totals in %s" % path)


def one_run(args, out, seconds):
    work = tempfile.mkdtemp(prefix="llmgw-cg-")
    os.chmod(work, 0o755)
    mock = benchlib.CMock(work).start()
    minter = TokenMinter(os.path.join(work, "jwt"))
    base = os.path.join(work, "srv")
    os.makedirs(base)
    ref = benchlib.MockRef(mock.port)
    if args.target == "plain_auth":
        s = GatewayServer(minter, mock=ref, plain_proxy=True, base_dir=base,
                          sample_mpm=True)
    else:
        s = GatewayServer(minter, mock=ref, pg=None, base_dir=base,
                          include_mock_provider=False,
                          modules_dir=args.modules,
                          gateway_d={"60-quotas.conf": benchlib.BENCH_QUOTAS},
                          sample_mpm=True)
    s.build()
    token = minter.mint(sub="bench-user", groups=["developers"],
                        lifetime=6 * 3600)
    body = os.path.join(work, "body.json")
    with open(body, "wb") as f:
        if args.size == "prose":
            f.write(bench.chat_body(args.mode == "stream"))
        else:
            f.write(agent_body.build(agent_body.parse_size(args.size),
                                     "openai", args.mode == "stream"))
    log = open(os.path.join(work, "valgrind.log"), "w")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--vgdb=no",
                          "--callgrind-out-file=" + out, s.binary, "-X",
                          "-f", s.conf_file, "-DFOREGROUND"],
                         stdout=log, stderr=log, cwd=base,
                         start_new_session=True)
    try:
        if not wait_for_port(s.port, 120):
            raise RuntimeError("httpd under valgrind did not listen")
        # The child switches to the server's user: it writes the file at
        # exit, which valgrind created as root at start.
        os.chown(out, s.uid, s.gid)
        url = s.url + "/v1/chat/completions"
        with open(body, "rb") as f:
            data = f.read()
        t0 = time.time()
        while True:      # the first answer (modules initialised) first
            try:
                rq = urllib.request.Request(url, data=data, headers={
                    "Authorization": "Bearer " + token,
                    "Content-Type": "application/json"})
                urllib.request.urlopen(rq, timeout=60).read()
                break
            except OSError:
                if time.time() - t0 > 120:
                    raise
                time.sleep(1)
        res, _ = bench.run_wrk(url, body, token, 4, seconds, threads=1)
        errors = sum(v for k, v in res.items() if k.startswith("err_"))
        if errors:
            raise RuntimeError("%d errors under valgrind" % errors)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(120)
        mock.stop()
    with open(out + ".req", "w") as f:
        f.write("%d\n" % res["requests"])
    return res["requests"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--target", default="gateway",
                    choices=["gateway", "plain_auth"])
    ap.add_argument("--modules", default=os.environ.get(
        "LLM_GW_MODULES_DIR", os.path.join(benchlib.REPO, "build",
                                           "stage-modules")))
    ap.add_argument("--size", default="4k")
    ap.add_argument("--mode", default="plain", choices=["plain", "stream"])
    ap.add_argument("--short", type=int, default=6)
    ap.add_argument("--long", type=int, default=18)
    args = ap.parse_args()
    na = one_run(args, args.out + "-a.cg", args.short)
    nb = one_run(args, args.out + "-b.cg", args.long)
    ia, ib = total_ir(args.out + "-a.cg"), total_ir(args.out + "-b.cg")
    print("%s %s %s %s: %d and %d requests, %.1f K instructions a request"
          % (args.target, args.modules, args.size, args.mode, na, nb,
             (ib - ia) / 1000.0 / (nb - na)))


if __name__ == "__main__":
    main()
