"""LLMScanCleanCache: a child keeps the strings it scanned with no finding
and does not scan them again; everything a user sees stays as without it.

Each gateway here runs one child, so that a string sent twice meets the
cache (the cache is per child): the trace line LLM01504 shows it was
used.  A string sent again with one part changed into a key is blocked,
one changed into an e-mail address is redacted, exactly as on a gateway
with the cache off; a string kept as clean under the default server's
rules is still caught under a virtual host's stricter rules; bad sizes
fail at httpd -t.
"""

import json
import random
import re

import pytest

import scan_helpers as sh

ONE_CHILD = ("<IfModule mpm_event_module>\n"
             "    ServerLimit 1\n    StartServers 1\n"
             "    ThreadsPerChild 16\n    MaxRequestWorkers 16\n"
             "    MinSpareThreads 1\n    MaxSpareThreads 16\n"
             "</IfModule>\n")

WORDS = ("the scheduler retries failed jobs with exponential backoff so "
         "that transient network errors do not surface while the parser "
         "checks each field before writing records to the cache layer "
         "and the worker drains its queue").split()

KNOWN = re.compile(r"LLM01504: (\d+) of (\d+) strings were known clean")


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-clean-cache", groups=["developers"])


def prose(n):
    """About n bytes of clean prose, different on every call."""
    r = random.Random()
    out = []
    size = 0
    while size < n:
        w = r.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


def make(gateway_factory, cache=None, extra="", start=True):
    conf = ONE_CHILD + extra
    if cache is not None:
        conf += "LLMScanCleanCache %s\n" % cache
    return gateway_factory.make(start=start, extra_conf=conf,
                                log_level="info llm_scan:trace1")


def known_clean(g):
    """(known clean, strings) of each request, in order."""
    return [(int(a), int(b)) for a, b in KNOWN.findall(g.error_log_text())]


def tool_result(text):
    return sh.dumps(sh.PLACEMENT_BY_NAME["chat.tool_result"].body(text))


def run_sequence(g, mock, token, ua, clean, with_key, with_mail):
    """The same long string twice, then with a key, then twice with an
    e-mail address, then clean again: what the caller got, what reached
    the provider and the audit row of each request."""
    seen = []
    for i, text in enumerate([clean, clean, with_key, with_mail, with_mail,
                              clean]):
        mock.reset()
        agent = "%s-%d" % (ua, i)
        resp = sh.post(g, token, sh.CHAT, tool_result(text), agent)
        upstream = [r.body for r in mock.requests]
        row = sh.audit_row(g, agent)
        findings = [json.dumps(f, sort_keys=True)
                    for f in sh.findings_of(row)]
        seen.append((resp.status, resp.body if resp.status != 200 else b"",
                     upstream, row["decision"], findings))
    return seen


def test_planted_key_after_cached_string_is_blocked_as_without_cache(
        gateway_factory, mock, token, user_agent):
    clean = prose(6000)
    key = sh.aws_access_key_id()
    mail = sh.email()
    # the same length: only the last bytes differ from the cached string
    with_key = clean[:-(len(key) + 1)] + " " + key
    with_mail = clean[:-(len(mail) + 1)] + " " + mail

    g = make(gateway_factory)
    cached = run_sequence(g, mock, token, user_agent, clean, with_key,
                          with_mail)
    counts = known_clean(g)
    g.stop()
    off = make(gateway_factory, cache="Off")
    uncached = run_sequence(off, mock, token, user_agent + "-off", clean,
                            with_key, with_mail)

    # the cache was used: the 6,000 bytes were scanned on the first
    # request only, and on the last one again known clean
    assert len(counts) == 6, counts
    assert counts[0][0] == 0 and counts[1][0] == 1, counts
    # a string with a finding is never kept: scanned again each time
    assert counts[2][0] == 0 and counts[3][0] == 0, counts
    assert counts[4][0] == 0, counts
    assert counts[5][0] == 1, counts
    assert KNOWN.search(off.error_log_text()) is None

    assert cached == uncached
    status, _, upstream, decision, findings = cached[1]
    assert status == 200 and upstream == [tool_result(clean)], cached[1]
    assert decision == "allow" and findings == []
    status, answer, upstream, decision, findings = cached[2]
    assert status == 403 and upstream == [] and decision == "block"
    [f] = json.loads(answer)["error"]["findings"]
    assert (f["type"], f["location"], f["offset"], f["length"]) == \
        ("AWS_ACCESS_KEY", "messages[2].content", len(clean) - len(key),
         len(key)), f
    assert [json.loads(x)["type"] for x in findings] == ["AWS_ACCESS_KEY"]
    status, _, upstream, decision, findings = cached[3]
    assert status == 200 and decision == "redact", cached[3]
    assert [json.loads(x)["type"] for x in findings] == ["EMAIL"]
    sent = json.loads(upstream[0])["messages"][2]["content"]
    assert sent == with_mail[:-len(mail)] + "[REDACTED_EMAIL_1]"
    assert cached[4][:3] == cached[3][:3] and cached[4][4] == findings
    for row in cached:
        for body in row[1:3]:
            for b in body if isinstance(body, list) else [body]:
                assert key.encode() not in b and mail.encode() not in b


def test_one_byte_changed_makes_a_key(gateway_factory, mock, token,
                                      user_agent):
    """The cached string holds a key id but for one byte (a lower-case
    letter); with that byte upper case it is a key, and blocked."""
    key = sh.aws_access_key_id()
    near = key[:10] + key[10].lower() + key[11:] if key[10].isalpha() \
        else key[:10] + "a" + key[11:]
    real = near[:10] + near[10].upper() + near[11:]
    head = prose(3000)
    clean, dirty = head + " " + near, head + " " + real
    g = make(gateway_factory)
    resp = sh.post(g, token, sh.CHAT, tool_result(clean), user_agent)
    assert resp.status == 200, resp
    resp = sh.post(g, token, sh.CHAT, tool_result(clean), user_agent + "-2")
    assert resp.status == 200, resp
    assert known_clean(g)[-1][0] == 1
    mock.reset()
    resp = sh.post(g, token, sh.CHAT, tool_result(dirty), user_agent + "-3")
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[real],
                      location="messages[2].content", offset=len(head) + 1,
                      length=len(real))
    sh.assert_audit(g, user_agent + "-3", "block", types=["AWS_ACCESS_KEY"],
                    values=[real])


def test_clean_under_one_server_is_caught_under_stricter_one(
        gateway_factory, mock, token, user_agent):
    g = make(gateway_factory, start=False)
    g.extra_conf += (
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName 127.0.0.1\n"
        "</VirtualHost>\n"
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName strict.gateway.test\n"
        '    LLMScanPattern PROJECT strict-projects "\\bBLUEHERON-[0-9]{{2}}\\b"\n'
        "</VirtualHost>\n").format(port=g.port)
    g.start()
    text = prose(2500) + " the BLUEHERON-42 rollout " + prose(2500)
    raw = tool_result(text)
    for i in range(2):
        mock.reset()
        resp = sh.post(g, token, sh.CHAT, raw, "%s-%d" % (user_agent, i))
        assert resp.status == 200, resp
        assert sh.forwarded(mock).body == raw
    assert known_clean(g)[-1][0] == 1
    mock.reset()
    resp = sh.post(g, token, sh.CHAT, raw, user_agent + "-strict",
                   headers={"Host": "strict.gateway.test"})
    f = sh.assert_blocked(resp, "openai", "PROJECT", mock,
                          kind="policy_violation",
                          location="messages[2].content")
    assert f["offset"] == text.index("BLUEHERON-42")
    sh.assert_audit(g, user_agent + "-strict", "block", types=["PROJECT"])
    # and the default server still lets it through from its cache
    mock.reset()
    resp = sh.post(g, token, sh.CHAT, raw, user_agent + "-again")
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    assert known_clean(g)[-1][0] == 1


@pytest.mark.parametrize("value", ["0", "Off", "off"])
def test_cache_off_scans_every_time(gateway_factory, mock, token,
                                    user_agent, value):
    g = make(gateway_factory, cache=value)
    raw = tool_result(prose(4000))
    for i in range(3):
        mock.reset()
        resp = sh.post(g, token, sh.CHAT, raw, "%s-%d" % (user_agent, i))
        assert resp.status == 200, resp
        assert sh.forwarded(mock).body == raw
    assert KNOWN.search(g.error_log_text()) is None


def test_size_given_is_used(gateway_factory, mock, token, user_agent):
    g = make(gateway_factory, cache="2M")
    raw = tool_result(prose(4000))
    for i in range(2):
        resp = sh.post(g, token, sh.CHAT, raw, "%s-%d" % (user_agent, i))
        assert resp.status == 200, resp
    assert known_clean(g)[-1][0] == 1


@pytest.mark.parametrize("conf,needle", [
    ("LLMScanCleanCache 16Q\n", "LLMScanCleanCache: '16Q'"),
    ("LLMScanCleanCache -1\n", "LLMScanCleanCache"),
    ("LLMScanCleanCache 512K\n", "LLMScanCleanCache"),
    ("LLMScanCleanCache 8G\n", "LLMScanCleanCache"),
    ("LLMScanCleanCache\n", "LLMScanCleanCache"),
    ("<VirtualHost 127.0.0.1:1>\nLLMScanCleanCache 8M\n</VirtualHost>\n",
     "LLMScanCleanCache cannot occur within <VirtualHost> section"),
    ("<Location /v1>\nLLMScanCleanCache 8M\n</Location>\n",
     "LLMScanCleanCache not allowed in <Location> context"),
])
def test_bad_values_fail_config_check(gateway_factory, conf, needle):
    g = gateway_factory.make(start=False, extra_conf=conf)
    rc, out = g.check_config()
    assert rc != 0, out
    assert needle in out, out


def test_anthropic_stream_planted_key_after_cached_string(
        gateway_factory, mock, token, user_agent):
    """The same in the other dialect, streaming: the tool result known
    clean, then with a key at its end: 403 in Anthropic's error shape,
    nothing upstream."""
    placement = sh.PLACEMENT_BY_NAME["messages.tool_result_string"]
    clean = prose(5000)
    key = sh.aws_access_key_id()
    dirty = clean[:-(len(key) + 1)] + " " + key

    def body(text):
        b = placement.body(text)
        b["stream"] = True
        return sh.dumps(b)

    g = make(gateway_factory)
    for i in range(2):
        mock.reset()
        resp = sh.post(g, token, sh.MESSAGES, body(clean),
                       "%s-%d" % (user_agent, i))
        assert resp.status == 200, resp
        assert sh.forwarded(mock).body == body(clean)
    assert known_clean(g)[-1][0] == 1
    mock.reset()
    resp = sh.post(g, token, sh.MESSAGES, body(dirty), user_agent + "-key")
    sh.assert_blocked(resp, "anthropic", "AWS_ACCESS_KEY", mock,
                      values=[key], location=placement.location,
                      offset=len(clean) - len(key), length=len(key))
    sh.assert_audit(g, user_agent + "-key", "block",
                    types=["AWS_ACCESS_KEY"], values=[key])
