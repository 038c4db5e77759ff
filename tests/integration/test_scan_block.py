"""mod_llm_scan, default policy (secrets block): every kind of secret in
every field a provider reads, in the five request dialects, is refused with
a 403 in the caller's dialect that names the type, the rule and the JSON
path (never the value); the provider receives nothing; the audit row says
"block" and lists the finding without its value.  Also: JSON-escaped
values and values split across neighbouring content parts.
"""

import json

import pytest

import scan_helpers as sh
from scan_helpers import PLACEMENTS, SECRETS


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-block", groups=["developers"])


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("placement", PLACEMENTS, ids=lambda p: p.name)
def test_secret_in_field_is_blocked(gateway, mock, token, user_agent,
                                    placement, kind):
    factory, ftype = SECRETS[kind]
    text_value, finding_value = factory()
    text, start, _ = sh.field_text(text_value, placement)
    offset = text.index(finding_value if "arguments" not in placement.name
                        else json.dumps(finding_value)[1:-1])
    body = placement.body(text)

    resp = sh.post(gateway, token, placement.path, body, user_agent)

    f = sh.assert_blocked(resp, placement.family, ftype, mock,
                          values=[finding_value], location=placement.location)
    assert f["offset"] == offset, (f, offset)
    sh.assert_audit(gateway, user_agent, "block", types=[ftype], status=403,
                    values=[finding_value])


def test_block_lists_every_finding_with_its_location(gateway, mock, token,
                                                     user_agent):
    """Two secrets in two messages: both reported, each at its path; the
    first finding's type is the error code."""
    aws = sh.aws_access_key_id()
    gh = sh.github_token()
    body = {"model": sh.GPT, "messages": [
        {"role": "user", "content": "key id " + aws},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "token " + gh}]}]}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws, gh],
                      location="messages[0].content", offset=7,
                      length=len(aws))
    sh.assert_blocked(resp, "openai", "GITHUB_TOKEN", mock, values=[aws, gh],
                      location="messages[2].content[0].text", offset=6,
                      length=len(gh))
    assert resp.json()["error"]["code"] == "aws_access_key"
    row = sh.assert_audit(gateway, user_agent, "block",
                          types=["AWS_ACCESS_KEY", "GITHUB_TOKEN"],
                          values=[aws, gh])
    locs = {f["location"] for f in sh.findings_of(row)}
    assert locs == {"messages[0].content", "messages[2].content[0].text"}


def test_anthropic_block_body_shape(gateway, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    body = sh.PLACEMENT_BY_NAME["messages.user_content"].body(
        "export AWS_ACCESS_KEY_ID=" + aws)
    resp = sh.post(gateway, token, sh.MESSAGES + "?beta=true", body,
                   user_agent)
    assert resp.status == 403, resp
    doc = resp.json()
    assert set(doc) == {"type", "error"}, doc
    assert doc["error"]["type"] == "permission_error"
    assert doc["error"]["code"] == "sensitive_data_detected"
    assert doc["error"]["findings"][0]["type"] == "AWS_ACCESS_KEY"
    assert aws.encode() not in resp.body
    assert mock.requests == []


# -- JSON escapes ---------------------------------------------------------

def _escape_all(s):
    return "".join("\\u%04x" % ord(c) for c in s)


@pytest.mark.parametrize("how", ["first_letter", "every_char", "slash"])
def test_json_escaped_secret_is_found(gateway, mock, token, user_agent, how):
    aws = sh.aws_access_key_id()
    if how == "first_letter":
        escaped = "\\u0041" + aws[1:]                     # \u0041KIA...
    elif how == "every_char":
        escaped = _escape_all(aws)
    else:
        escaped = aws[:10] + "\\u00" + "%02X" % ord(aws[10]) + aws[11:]
    raw = ('{"model": "%s", "messages": [{"role": "user", "content": '
           '"deploy with %s now"}]}' % (sh.GPT, escaped)).encode()
    assert aws.encode() not in raw
    assert json.loads(raw)["messages"][0]["content"] == \
        "deploy with %s now" % aws

    resp = sh.post(gateway, token, sh.CHAT, raw, user_agent)
    # offsets are in the decoded string
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws],
                      location="messages[0].content", offset=12,
                      length=len(aws))
    sh.assert_audit(gateway, user_agent, "block", types=["AWS_ACCESS_KEY"])


def test_json_escaped_private_key_in_anthropic_tool_result(gateway, mock,
                                                           token, user_agent):
    pem = sh.private_key_pem()
    text = "id_rsa:\n" + pem
    placement = sh.PLACEMENT_BY_NAME["messages.tool_result_string"]
    raw = json.dumps(placement.body(text), ensure_ascii=True)
    # escape the dashes and letters of the armour line too
    raw = raw.replace("BEGIN RSA", "\\u0042EGIN \\u0052SA")
    assert "BEGIN RSA" not in raw
    resp = sh.post(gateway, token, sh.MESSAGES, raw.encode(), user_agent)
    sh.assert_blocked(resp, "anthropic", "PRIVATE_KEY", mock, values=[pem],
                      location=placement.location, offset=len("id_rsa:\n"))


# -- values split across neighbouring content parts ----------------------------

@pytest.mark.parametrize("cut", [4, 10, 17])
def test_secret_split_across_openai_content_parts(gateway, mock, token,
                                                  user_agent, cut):
    aws = sh.aws_access_key_id()
    body = {"model": sh.GPT, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "my key is " + aws[:cut]},
        {"type": "text", "text": aws[cut:] + " thanks"}]}]}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    f = sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws])
    # reported where it starts
    assert f["location"] == "messages[0].content[0].text", f
    assert f["offset"] == len("my key is "), f
    sh.assert_audit(gateway, user_agent, "block", types=["AWS_ACCESS_KEY"])


def test_secret_split_across_anthropic_text_blocks(gateway, mock, token,
                                                   user_agent):
    gh = sh.github_token()
    body = sh._anthropic([{"role": "user", "content": [
        {"type": "text", "text": "GITHUB_TOKEN=" + gh[:12]},
        {"type": "text", "text": gh[12:25]},
        {"type": "text", "text": gh[25:] + "\n"}]}])
    resp = sh.post(gateway, token, sh.MESSAGES, body, user_agent)
    f = sh.assert_blocked(resp, "anthropic", "GITHUB_TOKEN", mock,
                          values=[gh])
    assert f["location"] == "messages[0].content[0].text", f


def test_secret_split_across_responses_input_text_parts(gateway, mock, token,
                                                        user_agent):
    jwt = sh.jwt_token()
    cut = jwt.index(".") + 5
    body = {"model": sh.GPT, "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "Authorization token: " + jwt[:cut]},
        {"type": "input_text", "text": jwt[cut:]}]}]}
    resp = sh.post(gateway, token, sh.RESPONSES, body, user_agent)
    sh.assert_blocked(resp, "openai", "JWT", mock, values=[jwt],
                      location="input[0].content[0].text")


# -- unknown fields fail closed ---------------------------------------------

def test_secret_in_unknown_field_is_blocked(gateway, mock, token, user_agent):
    aws = sh.aws_access_key_id()
    body = {"model": sh.GPT, "messages": [{"role": "user", "content": "hi"}],
            "x_vendor_context": {"notes": ["deploy key " + aws]}}
    resp = sh.post(gateway, token, sh.CHAT, body, user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws],
                      location="x_vendor_context.notes[0]")


def test_secret_in_diff_removed_line_and_numbered_file_read(gateway, mock,
                                                            token, user_agent):
    """What agents send: a diff whose removed line held the key, and a file
    read with line-number prefixes."""
    aws = sh.aws_access_key_id()
    pw = sh.db_password()
    diff = ("diff --git a/deploy.sh b/deploy.sh\n--- a/deploy.sh\n"
            "+++ b/deploy.sh\n@@ -1,3 +1,3 @@\n"
            "-export AWS_ACCESS_KEY_ID=%s\n"
            "+export AWS_ACCESS_KEY_ID=$(vault read -field=id aws/creds)\n"
            " ./deploy\n" % aws)
    numbered = ("     1\timport os\n     2\t\n     3\tDATABASE_URL = "
                "\"postgres://svc:%s@10.1.2.3/app\"\n     4\t" % pw)
    body = sh._anthropic([
        {"role": "user", "content": [{"type": "text", "text": diff}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_r", "name": "read_file",
             "input": {"path": "settings.py"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_r",
             "content": numbered}]}])
    resp = sh.post(gateway, token, sh.MESSAGES, body, user_agent)
    sh.assert_blocked(resp, "anthropic", "AWS_ACCESS_KEY", mock,
                      values=[aws, pw], location="messages[0].content[0].text")
    sh.assert_blocked(resp, "anthropic", "PASSWORD", mock, values=[aws, pw],
                      location="messages[2].content[0].content")


# -- more fields a provider reads ------------------------------------------------

def _more_fields():
    """(name, path, family, body-builder(text), location)"""
    return [
        ("chat.legacy_functions", sh.CHAT, "openai", lambda t: {
            "model": sh.GPT, "messages": [{"role": "user", "content": "x"}],
            "functions": [{"name": "f", "description": t,
                           "parameters": {"type": "object"}}]},
         "functions[0].description"),
        ("chat.legacy_function_call", sh.CHAT, "openai", lambda t: {
            "model": sh.GPT, "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": None,
                 "function_call": {"name": "f", "arguments": t}},
                {"role": "function", "name": "f", "content": "ok"}]},
         "messages[1].function_call.arguments"),
        ("chat.developer_role", sh.CHAT, "openai", lambda t: {
            "model": sh.GPT, "messages": [
                {"role": "developer", "content": [{"type": "text",
                                                   "text": t}]},
                {"role": "user", "content": "x"}]},
         "messages[0].content[0].text"),
        ("chat.tool_parameter_description", sh.CHAT, "openai", lambda t: {
            "model": sh.GPT, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {
                "name": "f", "parameters": {"type": "object", "properties": {
                    "q": {"type": "string", "description": t}}}}}]},
         "tools[0].function.parameters.properties.q.description"),
        ("chat.response_format_schema", sh.CHAT, "openai", lambda t: {
            "model": sh.GPT, "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "out", "schema": {"type": "object",
                                          "description": t}}}},
         "response_format.json_schema.schema.description"),
        ("chat.assistant_prefill", sh.CHAT, "openai", lambda t: {
            "model": sh.GPT, "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": t}]},
         "messages[1].content"),
        ("completions.prompt_array", sh.COMPLETIONS, "openai", lambda t: {
            "model": sh.INSTRUCT, "prompt": ["first", t]},
         "prompt[1]"),
        ("completions.suffix", sh.COMPLETIONS, "openai", lambda t: {
            "model": sh.INSTRUCT, "prompt": "def f():", "suffix": t},
         "suffix"),
        ("responses.developer_message", sh.RESPONSES, "openai", lambda t: {
            "model": sh.GPT, "input": [
                {"type": "message", "role": "developer", "content": t},
                {"role": "user", "content": "go"}]},
         "input[0].content"),
        ("responses.tool_definition", sh.RESPONSES, "openai", lambda t: {
            "model": sh.GPT, "input": "go", "tools": [
                {"type": "function", "name": "f", "description": t,
                 "parameters": {"type": "object"}}]},
         "tools[0].description"),
        ("responses.assistant_output_text", sh.RESPONSES, "openai",
         lambda t: {"model": sh.GPT, "input": [
             {"role": "user", "content": "x"},
             {"type": "message", "role": "assistant", "content": [
                 {"type": "output_text", "text": t}]}]},
         "input[1].content[0].text"),
        ("responses.reasoning_summary", sh.RESPONSES, "openai", lambda t: {
            "model": sh.GPT, "input": [
                {"role": "user", "content": "x"},
                {"type": "reasoning", "id": "rs_1", "summary": [
                    {"type": "summary_text", "text": t}]}]},
         "input[1].summary[0].text"),
        ("messages.thinking", sh.MESSAGES, "anthropic", lambda t: sh._anthropic([
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": t, "signature": "c2ln"},
                {"type": "text", "text": "ok"}]},
            {"role": "user", "content": "go on"}]),
         "messages[1].content[0].thinking"),
        ("messages.text_document", sh.MESSAGES, "anthropic", lambda t: sh._anthropic([
            {"role": "user", "content": [
                {"type": "document", "source": {
                    "type": "text", "media_type": "text/plain", "data": t}},
                {"type": "text", "text": "summarise"}]}]),
         "messages[0].content[0].source.data"),
        ("messages.tool_result_mixed", sh.MESSAGES, "anthropic", lambda t: sh._anthropic([
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_m", "name": "shot",
                 "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_m", "content": [
                    {"type": "image", "source": {
                        "type": "base64", "media_type": "image/png",
                        "data": "iVBORw0KGgo="}},
                    {"type": "text", "text": t}]}]}]),
         "messages[2].content[0].content[1].text"),
        ("messages.tool_use_nested_input", sh.MESSAGES, "anthropic", lambda t: sh._anthropic([
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_n", "name": "write",
                 "input": {"files": [{"path": "a.env", "content": t}]}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_n",
                 "content": "ok"}]}]),
         "messages[1].content[0].input.files[0].content"),
        ("messages.metadata_user_id", sh.MESSAGES, "anthropic", lambda t: sh._anthropic(
            [{"role": "user", "content": "x"}], metadata={"user_id": t}),
         "metadata.user_id"),
        ("messages.count_tokens_system", "/v1/messages/count_tokens",
         "anthropic", lambda t: {"model": sh.CLAUDE, "system": t,
                                 "messages": [{"role": "user",
                                               "content": "x"}]},
         "system"),
    ]


@pytest.mark.parametrize("case", _more_fields(), ids=lambda c: c[0])
def test_secret_in_more_fields_is_blocked(gateway, mock, token, user_agent,
                                          case):
    name, path, family, build, loc = case
    aws = sh.aws_access_key_id()
    text = "creds: " + aws + " end"
    resp = sh.post(gateway, token, path, build(text), user_agent)
    sh.assert_blocked(resp, family, "AWS_ACCESS_KEY", mock, values=[aws],
                      location=loc, offset=len("creds: "))


def test_offsets_are_bytes_of_the_decoded_utf8(gateway, mock, token,
                                               user_agent):
    """docs/dialect.md: offsets are byte offsets in the decoded UTF-8."""
    aws = sh.aws_access_key_id()
    prefix = "Grüße, voilà — 鍵: "
    resp = sh.post(gateway, token, sh.CHAT, sh.PLACEMENT_BY_NAME[
        "chat.user_content"].body(prefix + aws), user_agent)
    sh.assert_blocked(resp, "openai", "AWS_ACCESS_KEY", mock, values=[aws],
                      location="messages[1].content",
                      offset=len(prefix.encode("utf-8")), length=len(aws))
