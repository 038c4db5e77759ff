"""mod_llm_scan, default policy (PII redact): personal data in every field
of the five dialects reaches the provider only as a typed placeholder; the
rest of the body means the same (compared parsed), Content-Length matches
the forwarded bytes, the same value gets the same placeholder and
different values get numbered ones; the client gets the provider's answer
and the audit row says "redact" without the values.
"""

import json

import pytest

import scan_helpers as sh
from scan_helpers import PII, PLACEMENTS


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-redact", groups=["developers"])


def assert_forwarded_redacted(mock, expected_body, values):
    got = sh.forwarded(mock)
    # the provider's framing matches what it was sent
    assert got.header("content-length") == str(len(got.body)), got.headers
    assert got.header("transfer-encoding") is None
    for v in values:
        assert v.encode() not in got.body, "redacted value reached provider"
    assert got.json() == expected_body
    return got


@pytest.mark.parametrize("kind", sorted(PII))
@pytest.mark.parametrize("placement", PLACEMENTS, ids=lambda p: p.name)
def test_pii_in_field_is_redacted(gateway, mock, token, user_agent,
                                  placement, kind):
    factory, ftype = PII[kind]
    value, _ = factory()
    text, _, _ = sh.field_text(value, placement)
    body = placement.body(text)
    placeholder = "[REDACTED_%s_1]" % ftype
    expected = placement.body(text.replace(value, placeholder))

    resp = sh.post(gateway, token, placement.path, body, user_agent)

    assert resp.status == 200, resp
    assert_forwarded_redacted(mock, expected, [value])
    sh.assert_audit(gateway, user_agent, "redact", types=[ftype], status=200,
                    values=[value], actions={ftype: "redact"})


def test_same_value_same_placeholder_different_values_numbered(
        gateway, mock, token, user_agent):
    a, b = sh.email(), sh.email()
    card = sh.credit_card()
    body = {"model": sh.GPT, "messages": [
        {"role": "system", "content": "Support agent. Escalations: " + a},
        {"role": "user", "content": [
            {"type": "text", "text": "Mail %s and cc %s, then %s again." %
             (a, b, a)},
            {"type": "text", "text": "Card on file: " + card}]},
        {"role": "user", "content": "Did you reach %s?" % b}]}
    raw = sh.dumps(body)

    resp = sh.post(gateway, token, sh.CHAT, raw, user_agent)

    assert resp.status == 200, resp
    p1, p2 = "[REDACTED_EMAIL_1]", "[REDACTED_EMAIL_2]"
    expected = json.loads(raw)
    expected["messages"][0]["content"] = "Support agent. Escalations: " + p1
    expected["messages"][1]["content"][0]["text"] = \
        "Mail %s and cc %s, then %s again." % (p1, p2, p1)
    expected["messages"][1]["content"][1]["text"] = \
        "Card on file: [REDACTED_CREDIT_CARD_1]"
    expected["messages"][2]["content"] = "Did you reach %s?" % p2
    got = assert_forwarded_redacted(mock, expected, [a, b, card])
    assert int(got.header("content-length")) != len(raw)
    # the answer reaches the client unchanged
    assert resp.body == got.response_body
    row = sh.assert_audit(gateway, user_agent, "redact",
                          types=["EMAIL", "CREDIT_CARD"], values=[a, b, card])
    assert row["finding_count"] == 6, sh.findings_of(row)


def test_redaction_in_anthropic_tool_use_and_result_keeps_structure(
        gateway, mock, token, user_agent):
    e = sh.email()
    iban = sh.iban_de()
    body = sh._anthropic([
        {"role": "user", "content": "send the invoice"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Sending."},
            {"type": "tool_use", "id": "toolu_x", "name": "send_mail",
             "input": {"to": e, "cc": [e], "amount": 12.5,
                       "meta": {"iban": iban, "retry": True}}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_x",
             "content": [{"type": "text", "text": "sent to " + e}],
             "is_error": False}]}],
        system=[{"type": "text", "text": "Billing assistant",
                 "cache_control": {"type": "ephemeral"}}],
        temperature=0.2, stream=False)

    resp = sh.post(gateway, token, sh.MESSAGES, body, user_agent)

    assert resp.status == 200, resp
    pe, pi = "[REDACTED_EMAIL_1]", "[REDACTED_IBAN_1]"
    expected = json.loads(json.dumps(body))
    inp = expected["messages"][1]["content"][1]["input"]
    inp["to"] = pe
    inp["cc"] = [pe]
    inp["meta"]["iban"] = pi
    expected["messages"][2]["content"][0]["content"][0]["text"] = "sent to " + pe
    assert_forwarded_redacted(mock, expected, [e, iban])


def test_redaction_with_non_ascii_and_escapes_around(gateway, mock, token,
                                                     user_agent):
    """Multi-byte text and escapes next to the value survive
    re-serialisation with the same meaning."""
    e = sh.email()
    text = "Grüße von José 👋 — écris à %s\t\"merci\"\n\u2028fin" % e
    body = {"model": sh.GPT, "messages": [{"role": "user", "content": text}]}
    resp = sh.post(gateway, token, sh.CHAT,
                   json.dumps(body, ensure_ascii=True).encode(), user_agent)
    assert resp.status == 200, resp
    expected = {"model": sh.GPT, "messages": [
        {"role": "user", "content": text.replace(e, "[REDACTED_EMAIL_1]")}]}
    assert_forwarded_redacted(mock, expected, [e])


def test_mixed_secret_and_pii_blocks(gateway, mock, token, user_agent):
    """A block wins over redact: nothing is forwarded, and the PII finding
    is listed too."""
    e = sh.email()
    aws = sh.aws_access_key_id()
    body = {"model": sh.GPT, "messages": [
        {"role": "user", "content": "owner %s key %s" % (e, aws)}]}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[e, aws])
    assert resp.json()["error"]["code"] == "aws_access_key"
    sh.assert_audit(gateway, user_agent, "block",
                    types=["AWS_ACCESS_KEY", "EMAIL"], values=[e, aws])


def test_clean_body_forwarded_byte_identical(gateway, mock, token,
                                             user_agent):
    body = sh.PLACEMENT_BY_NAME["messages.tool_use_input"].body("ls -la /srv")
    raw = json.dumps(body, indent=1).encode()     # client's own formatting
    resp = sh.post(gateway, token, sh.MESSAGES, raw, user_agent)
    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(gateway, user_agent, "allow")
