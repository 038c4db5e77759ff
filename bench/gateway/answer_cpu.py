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
table shows the median round and every round.
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import GatewayServer, MockRef, TokenMinter  # noqa: E402
from stream_cpu import run  # noqa: E402


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
    finally:
        for s in servers.values():
            s.stop()
        mock.stop()


if __name__ == "__main__":
    main()
