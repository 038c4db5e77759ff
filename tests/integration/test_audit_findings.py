"""The audit row's findings: one entry per (type, rule, location) with a
count, in the order first seen, never a value or an offset -- built by the
same code as the caller's error body (modules/common/llm_findings.c),
each in its own form."""

import json
import uuid

import pytest

from gwtest.httpd import GatewayServer

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def gw(minter, mock_provider):
    g = GatewayServer(minter, mock=mock_provider, pg=None)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def email(tag):
    return "jane.%s.%s@gmail.com" % (tag, uuid.uuid4().hex[:6])


def findings_of(row):
    f = row["findings"]
    return json.loads(f) if isinstance(f, str) else f


def test_row_groups_findings_by_location_with_counts(gw, mock, minter,
                                                     user_agent):
    a, b, c = email("a"), email("b"), email("c")
    body = {"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "write to %s, %s and %s" % (a, a, b)},
        {"role": "assistant", "content": "noted"},
        {"role": "user", "content": "and copy %s" % c}]}
    resp = gw.client().post(CHAT, body, token=minter.mint(sub="finder"),
                            headers={"User-Agent": user_agent})
    assert resp.status == 200, resp
    sent = mock.last_request().body
    assert not any(v.encode() in sent for v in (a, b, c))
    (row,) = gw.audit.rows_for_user_agent(user_agent)
    assert row["decision"] == "redact"
    assert row["finding_count"] == 4
    assert findings_of(row) == [
        {"type": "EMAIL", "rule": "email", "location": "messages[0].content",
         "count": 3, "action": "redact", "direction": "request"},
        {"type": "EMAIL", "rule": "email", "location": "messages[2].content",
         "count": 1, "action": "redact", "direction": "request"}]
    text = json.dumps(row, default=str)
    assert not any(v in text for v in (a, b, c))
    assert '"offset"' not in row["findings"]


def test_error_body_lists_each_finding_the_row_groups(gw, mock, minter,
                                                      user_agent):
    key = "AKIAQ3EGYBZ5KXW7LM2P"
    body = {"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "%s then %s" % (key, key)}]}
    resp = gw.client().post(CHAT, body, token=minter.mint(sub="finder"),
                            headers={"User-Agent": user_agent})
    assert resp.status == 403, resp
    assert mock.requests == []
    each = resp.json()["error"]["findings"]
    assert [(f["type"], f["location"], f["offset"]) for f in each] == [
        ("AWS_ACCESS_KEY", "messages[0].content", 0),
        ("AWS_ACCESS_KEY", "messages[0].content", len(key) + 6)]
    (row,) = gw.audit.rows_for_user_agent(user_agent)
    assert row["finding_count"] == 2
    grouped = findings_of(row)
    assert [(f["type"], f["location"], f["count"], f["action"])
            for f in grouped] == [
        ("AWS_ACCESS_KEY", "messages[0].content", 2, "block")]
    assert key not in json.dumps(row, default=str)
