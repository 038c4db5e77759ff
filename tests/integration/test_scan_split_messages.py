"""mod_llm_scan, default policy, issue 12: a value split over adjacent
messages of one role (which a provider reads as one turn; Anthropic joins
them) is found where the messages meet.  A secret cut anywhere inside, in
two or three messages, as strings or text blocks, in the Chat, Messages and
Responses dialects, is blocked with nothing upstream, and so is a private
key pasted in two messages or read in two chunks by parallel tool calls
(Chat's role "tool" twice in a row, Messages' tool_result blocks,
Responses' function_call_output items); an address cut in two is
redacted in both messages (the placeholder where it starts, the rest
removed) and appears nowhere upstream; ordinary adjacent messages reach
the provider as sent.  Values are made at run time.
"""

import pytest

import scan_helpers as sh


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-split", groups=["developers"])


def _content(form, dialect, text):
    if form == "string":
        return text
    kind = "input_text" if dialect == "responses" else "text"
    return [{"type": kind, "text": text}]


def _body(dialect, form, texts, role="user"):
    msgs = [{"role": role, "content": _content(form, dialect, t)}
            for t in texts]
    if dialect == "messages":
        return sh.MESSAGES, "anthropic", sh._anthropic(msgs)
    if dialect == "responses":
        return sh.RESPONSES, "openai", {"model": sh.GPT, "input": msgs}
    return sh.CHAT, "openai", sh._chat(msgs)


def _where(dialect, form, i):
    root = "input" if dialect == "responses" else "messages"
    return "%s[%d].content%s" % (root, i, "" if form == "string" else "[0].text")


def _upstream_holds(mock, *pieces):
    return any(all(p.encode() in rq.body for p in pieces)
               for rq in mock.requests)


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
@pytest.mark.parametrize("form", ["string", "blocks"])
@pytest.mark.parametrize("cut", [1, 4, 10, 19])
def test_key_split_over_two_messages_is_blocked(gateway, mock, token,
                                                user_agent, dialect, form,
                                                cut):
    key = sh.aws_access_key_id()
    head, tail = key[:cut], key[cut:]
    path, family, body = _body(dialect, form,
                               ["deploy with key " + head, tail + " thanks"])

    resp = sh.post(gateway, token, path, body, user_agent)

    sh.assert_blocked(resp, family, "AWS_ACCESS_KEY", mock, values=[key],
                      location=_where(dialect, form, 0),
                      offset=len("deploy with key "), length=len(key))
    assert not _upstream_holds(mock, head, tail)
    sh.assert_audit(gateway, user_agent, "block", status=403,
                    types=["AWS_ACCESS_KEY"], values=[key])


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
def test_token_split_over_three_messages_is_blocked(gateway, mock, token,
                                                    user_agent, dialect):
    tok = sh.github_token()
    parts = ["token: " + tok[:9], tok[9:15], tok[15:] + "\nrun the job"]
    path, family, body = _body(dialect, "blocks", parts)

    resp = sh.post(gateway, token, path, body, user_agent)

    sh.assert_blocked(resp, family, "GITHUB_TOKEN", mock, values=[tok],
                      location=_where(dialect, "blocks", 0))
    assert mock.requests == []


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
def test_private_key_pasted_in_two_messages_is_blocked(gateway, mock, token,
                                                       user_agent, dialect):
    """A key block pasted in two messages, cut at a line far from its
    BEGIN line."""
    pem = sh.private_key_pem()
    lines = pem.split("\n")
    first, second = "\n".join(lines[:8]) + "\n", "\n".join(lines[8:])
    path, family, body = _body(dialect, "string",
                               ["here is the deploy key:\n" + first,
                                second + "\nthanks"])

    resp = sh.post(gateway, token, path, body, user_agent)

    sh.assert_blocked(resp, family, "PRIVATE_KEY", mock,
                      location=_where(dialect, "string", 0))
    assert mock.requests == []


def test_private_key_read_in_two_tool_results_is_blocked(gateway, mock, token,
                                                         user_agent):
    """Parallel reads of one file (role "tool" twice in a row), the key
    block cut at a line."""
    pem = sh.private_key_pem()
    lines = pem.split("\n")
    first, second = "\n".join(lines[:5]) + "\n", "\n".join(lines[5:]) + "\n"
    calls = [{"id": "call_%d" % i, "type": "function",
              "function": {"name": "read_file",
                           "arguments": '{"path": "deploy/key.pem", "part": %d}' % i}}
             for i in (1, 2)]
    body = sh._chat([
        {"role": "user", "content": "read deploy/key.pem"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_1", "content": first},
        {"role": "tool", "tool_call_id": "call_2", "content": second}])

    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)

    sh.assert_blocked(resp, "openai", "PRIVATE_KEY", mock,
                      location="messages[2].content")
    assert mock.requests == []


def _parallel_results(dialect, first, second):
    """Two results of parallel reads of one file, in a row."""
    if dialect == "messages":
        uses = [{"type": "tool_use", "id": "toolu_%d" % i, "name": "read_file",
                 "input": {"path": "deploy/key.pem", "part": i}} for i in (1, 2)]
        return sh.MESSAGES, "anthropic", sh._anthropic([
            {"role": "user", "content": "read deploy/key.pem"},
            {"role": "assistant", "content": uses},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1",
                 "content": first},
                {"type": "tool_result", "tool_use_id": "toolu_2",
                 "content": [{"type": "text", "text": second}]}]}]), \
            "messages[2].content[0].content"
    return sh.RESPONSES, "openai", {"model": sh.GPT, "input": [
        {"role": "user", "content": "read deploy/key.pem"},
        {"type": "function_call", "call_id": "call_1", "name": "read_file",
         "arguments": '{"part": 1}'},
        {"type": "function_call", "call_id": "call_2", "name": "read_file",
         "arguments": '{"part": 2}'},
        {"type": "function_call_output", "call_id": "call_1", "output": first},
        {"type": "function_call_output", "call_id": "call_2",
         "output": second}]}, "input[3].output"


@pytest.mark.parametrize("dialect", ["messages", "responses"])
def test_private_key_in_two_parallel_results_is_blocked(gateway, mock, token,
                                                        user_agent, dialect):
    """Messages' tool_result blocks and Responses' function_call_output
    items in a row are read where they meet, as Chat's tool messages."""
    pem = sh.private_key_pem()
    lines = pem.split("\n")
    first, second = "\n".join(lines[:6]) + "\n", "\n".join(lines[6:]) + "\n"
    path, family, body, where = _parallel_results(dialect, first, second)

    resp = sh.post(gateway, token, path, body, user_agent)

    sh.assert_blocked(resp, family, "PRIVATE_KEY", mock, location=where)
    assert mock.requests == []


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
@pytest.mark.parametrize("form", ["string", "blocks"])
def test_address_split_over_two_messages_is_redacted_in_both(
        gateway, mock, token, user_agent, dialect, form):
    addr = sh.email()
    cut = addr.index("@") + 3
    head, tail = addr[:cut], addr[cut:]
    path, _, body = _body(dialect, form, ["write to " + head, tail + " today"])
    _, _, expected = _body(dialect, form,
                           ["write to [REDACTED_EMAIL_1]", " today"])

    resp = sh.post(gateway, token, path, body, user_agent)

    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.json() == expected
    for seen in sh.walk_strings(got.json()):
        assert head not in seen and tail not in seen, seen
    row = sh.assert_audit(gateway, user_agent, "redact", status=200,
                          types=["EMAIL"], values=[addr])
    # a value found where messages meet is the request's, like any other
    assert {f["direction"] for f in sh.findings_of(row)} == {"request"}


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
def test_address_over_three_messages_leaves_none_empty(gateway, mock, token,
                                                      user_agent, dialect):
    """The middle message is all address: it keeps the placeholder, since a
    provider refuses an empty text block."""
    addr = sh.email()
    at = addr.index("@")
    parts = ["write to " + addr[:at], addr[at:at + 4], addr[at + 4:] + " today"]
    path, _, body = _body(dialect, "blocks", parts)
    _, _, expected = _body(dialect, "blocks",
                           ["write to [REDACTED_EMAIL_1]", "[REDACTED_EMAIL_1]",
                            " today"])

    resp = sh.post(gateway, token, path, body, user_agent)

    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.json() == expected
    assert addr[:at].encode() not in got.body
    assert addr[at + 4:].encode() not in got.body


ORDINARY = {
    "sentences": ["Thanks, that worked.", "Next: why does the build fail?"],
    "commit_hash": ["commit 9fceb02d0ae598e9", "5dc970b74767f19372d61af8 fixed it"],
    "uuid": ["request id 3f2b9c1e-7a4d", "-4e8f-9b1a-2c6d8e0f4a7b failed"],
    "numbers": ["the run took 4111", "1111 ms in total, 1111 1111 lines"],
    "password_word": ["please reset the password", " for user alice tomorrow"],
}


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_adjacent_messages_pass_unchanged(gateway, mock, token,
                                                   user_agent, dialect, name):
    path, _, body = _body(dialect, "string", ORDINARY[name])
    raw = sh.dumps(body)

    resp = sh.post(gateway, token, path, raw, user_agent)

    assert resp.status == 200, resp
    assert sh.forwarded(mock).body == raw
    sh.assert_audit(gateway, user_agent, "allow", status=200)
