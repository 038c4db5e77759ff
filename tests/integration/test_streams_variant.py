"""The sample's variant for 5,000 concurrent streams (conf/httpd-streams-
5000.conf, README "Sizing a node"): httpd-standalone.conf includes it
under -DLLM_GW_STREAMS_5000, and httpd accepts its MPM settings as they
are (the event MPM would log that it lowered MaxRequestWorkers or
ThreadsPerChild if they did not fit ServerLimit and ThreadLimit).  The
configuration is only checked (apache2 -t): starting 5,120 threads is a
benchmark's job (bench/gateway/streams.py --conf), not the suite's.
"""

import os
import re

DEFINE = {"LLM_GW_STREAMS_5000": "1"}
VARIANT = "httpd-streams-5000.conf"


def test_variant_is_accepted_unchanged(gateway_factory):
    g = gateway_factory.make(start=False, sample_mpm=True, defines=DEFINE)
    rc, out = g.check_config()
    assert rc == 0, out
    assert "Syntax OK" in out
    # No "AH00..." adjustment of the MPM settings (a MaxRequestWorkers
    # beyond ServerLimit x ThreadsPerChild, a ThreadsPerChild beyond
    # ThreadLimit), nor any other warning.
    assert not re.search(r"AH\d{5}", out), out
    with open(os.path.join(g.conf_root, VARIANT)) as f:
        text = f.read()
    settings = dict(re.findall(r"^\s*(\w+)\s+(\d+)\s*$", text, re.M))
    assert int(settings["MaxRequestWorkers"]) >= 5000
    assert (int(settings["StartServers"]) * int(settings["ThreadsPerChild"])
            == int(settings["MaxRequestWorkers"]))
    assert int(settings["ServerLimit"]) >= 2 * int(settings["StartServers"])


def test_variant_is_read_only_under_its_define(gateway_factory):
    with_define = gateway_factory.make(start=False, sample_mpm=True,
                                       defines=DEFINE)
    without = gateway_factory.make(start=False, sample_mpm=True)
    for g in (with_define, without):
        g.build()
        with open(os.path.join(g.conf_root, VARIANT), "a") as f:
            f.write("NoSuchDirectiveHere on\n")
    rc, out = with_define.check_config()
    assert rc != 0 and "NoSuchDirectiveHere" in out, out
    rc, out = without.check_config()
    assert rc == 0, out
