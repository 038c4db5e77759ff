#!/usr/bin/python3
"""End-to-end latency a 100 KB request pays through httpd (a benchmark, not
a test): the same body, the same mock provider, three servers built by the
integration harness (tests/integration/gwtest):

  plain      httpd + mod_auth_openidc + mod_proxy_balancer, no gateway modules
  scan off   the gateway with LLMScan Off at /v1 (body still read, parsed,
             routed and audited)
  gateway    the gateway as shipped (scan on, default rules)

Requests alternate between the servers so that load from elsewhere on the
machine hits all three alike; each is a fresh connection, as agents' SDKs
often do.  Prints the median and p90 per server and the differences.

    LLM_GW_MODULES_DIR=build/stage-modules /usr/bin/python3 \
        bench/pipeline/e2e_latency.py [runs] [body-KB]
"""

import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from gwtest.httpd import GatewayServer  # noqa: E402
from gwtest.mock_provider import MockProvider  # noqa: E402
from gwtest.tokens import TokenMinter  # noqa: E402


def agent_body(kb):
    """An OpenAI chat body of about kb KB: a numbered file read as a tool
    result, no secrets (so every server forwards it)."""
    lines, i = [], 1
    while sum(len(x) for x in lines) < kb * 1024 - 600:
        lines.append("%6d\t    result = self.handler.get(\"request_%d\", %d)\n"
                     % (i, i, i * 7))
        i += 1
    return json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "Why does this fail?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {
                "name": "read_file", "arguments": "{\"path\":\"app.py\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1",
         "content": "".join(lines)}]}).encode()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    kb = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    tmp = tempfile.mkdtemp(prefix="llmgw-e2e-")
    minter = TokenMinter(os.path.join(tmp, "jwt"))
    mock = MockProvider().start()
    servers = {
        "plain": GatewayServer(minter, mock=mock, plain_proxy=True),
        "scan off": GatewayServer(minter, mock=mock, gateway_d={
            "41-scan-off.conf": "<Location /v1>\n    LLMScan Off\n"
                                "</Location>\n"}),
        "gateway": GatewayServer(minter, mock=mock),
    }
    body = agent_body(kb)
    # a user per round: the sample's per-user token quota would stop one
    # user after a few hundred 100 KB requests a minute
    tokens = [minter.mint(sub="bench-%d" % i) for i in range(runs + 1)]
    token = tokens[-1]
    times = {name: [] for name in servers}
    try:
        for g in servers.values():
            g.start()
        clients = {n: g.client() for n, g in servers.items()}
        for n, c in clients.items():            # warm up
            for _ in range(20):
                resp = c.post("/v1/chat/completions", body, token=token)
                assert resp.status == 200, (n, resp)
        for i in range(runs):
            for n, c in clients.items():
                t0 = time.perf_counter()
                resp = c.post("/v1/chat/completions", body, token=tokens[i])
                times[n].append(time.perf_counter() - t0)
                assert resp.status == 200, (n, resp)
            mock.reset()
    finally:
        for g in servers.values():
            g.destroy()
        mock.stop()

    med = {n: statistics.median(t) * 1e3 for n, t in times.items()}
    p90 = {n: sorted(t)[int(len(t) * 0.9)] * 1e3 for n, t in times.items()}
    print("%d requests each, %.1f KB body, fresh connection per request"
          % (runs, len(body) / 1024.0))
    print("%-10s %12s %12s" % ("server", "median ms", "p90 ms"))
    for n in servers:
        print("%-10s %12.3f %12.3f" % (n, med[n], p90[n]))
    print("gateway - plain:    %+.3f ms (median)" % (med["gateway"]
                                                     - med["plain"]))
    print("gateway - scan off: %+.3f ms (median; the scan itself)"
          % (med["gateway"] - med["scan off"]))


if __name__ == "__main__":
    main()
