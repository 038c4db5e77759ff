"""Translation between the OpenAI and Anthropic dialects, end to end: an
OpenAI-dialect caller on a model an Anthropic provider serves and the other
way round -- requests (system prompts, tools, tool calls and results),
answers (text, tool calls, stop reasons, usage) and streams, event by
event.  The tests look at the bytes the provider received and what the
caller got back."""

import json
import time

import pytest

from client_helpers import assert_provider_credentials
from gwtest.client import parse_sse, sse_json

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
CLAUDE = "claude-sonnet-4-6"
GPT = "gpt-4o-mini"
REPLY = "Translated answer, word by word."

WEATHER_SCHEMA = {"type": "object",
                  "properties": {"city": {"type": "string"}},
                  "required": ["city"]}


@pytest.fixture
def token(minter):
    return minter.mint(sub="translate-user", groups=["developers"])


def only_request(mock, route):
    reqs = mock.wait_for_requests(1)
    assert len(reqs) == 1, mock.summary()
    assert reqs[0].route == route, mock.summary()
    return reqs[0]


# -- OpenAI caller, Anthropic provider ---------------------------------------

def test_openai_request_becomes_anthropic(gateway, mock, token):
    body = {
        "model": CLAUDE,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "get_weather",
                             "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city",
            "parameters": WEATHER_SCHEMA}}],
        "tool_choice": "auto",
        "max_tokens": 100,
        "stop": ["END"],
    }
    mock.reply_text = REPLY
    resp = gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    rec = only_request(mock, MESSAGES)
    assert_provider_credentials(rec, gateway, token, "anthropic")
    got = rec.json()
    assert got["model"] == CLAUDE
    assert got["max_tokens"] == 100
    system = got["system"]
    system_text = system if isinstance(system, str) else "".join(
        b["text"] for b in system)
    assert system_text == "Be brief."
    assert got["stop_sequences"] == ["END"]
    assert got["tools"] == [{"name": "get_weather",
                             "description": "Weather for a city",
                             "input_schema": WEATHER_SCHEMA}]
    assert got["tool_choice"] == {"type": "auto"}
    msgs = got["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    tool_use = [b for b in msgs[1]["content"] if b["type"] == "tool_use"]
    assert tool_use == [{"type": "tool_use", "id": "call_1",
                         "name": "get_weather", "input": {"city": "Paris"}}]
    result = [b for b in msgs[2]["content"] if b["type"] == "tool_result"]
    assert len(result) == 1 and result[0]["tool_use_id"] == "call_1"
    assert "sunny" in json.dumps(result[0]["content"])

    out = resp.json()
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"]["role"] == "assistant"
    assert out["choices"][0]["message"]["content"] == REPLY
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["prompt_tokens"] > 0
    assert out["usage"]["completion_tokens"] > 0
    assert out["usage"]["total_tokens"] == (out["usage"]["prompt_tokens"] +
                                            out["usage"]["completion_tokens"])


def test_anthropic_tool_use_becomes_openai_tool_calls(gateway, mock, token):
    mock.tool_call = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    body = {"model": CLAUDE, "messages": [{"role": "user", "content": "?"}],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "parameters": WEATHER_SCHEMA}}]}
    resp = gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    choice = resp.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert len(calls) == 1 and calls[0]["type"] == "function"
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo"}
    assert calls[0]["id"]


def test_anthropic_stream_becomes_chat_chunks(gateway, mock, token):
    mock.reply_text = REPLY
    body = {"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}],
            "stream": True, "stream_options": {"include_usage": True}}
    resp = gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    assert resp.header("Content-Type").startswith("text/event-stream")
    events = parse_sse(resp.body)
    assert events[-1] == (None, "[DONE]"), events[-3:]
    chunks = sse_json(resp.body)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    with_choices = [c for c in chunks if c["choices"]]
    assert with_choices[0]["choices"][0]["delta"].get("role") == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in with_choices)
    assert text == REPLY
    finishes = [c["choices"][0]["finish_reason"] for c in with_choices
                if c["choices"][0].get("finish_reason")]
    assert finishes == ["stop"]
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert usage and usage[-1]["completion_tokens"] > 0
    # One content chunk per provider delta: event by event, not re-batched.
    n_deltas = sum(1 for n, _ in parse_sse(
        only_request(mock, MESSAGES).response_body)
        if n == "content_block_delta")
    n_content = sum(1 for c in with_choices
                    if c["choices"][0]["delta"].get("content"))
    assert n_content == n_deltas


def test_anthropic_tool_stream_becomes_tool_call_chunks(gateway, mock,
                                                        token):
    mock.tool_call = {"name": "get_weather", "arguments": {"city": "Rome"}}
    body = {"model": CLAUDE, "messages": [{"role": "user", "content": "?"}],
            "stream": True,
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "parameters": WEATHER_SCHEMA}}]}
    resp = gateway.client().post(CHAT, body, token=token)
    assert resp.status == 200, resp
    chunks = [c for c in sse_json(resp.body) if c["choices"]]
    calls = [tc for c in chunks
             for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert calls and calls[0]["function"]["name"] == "get_weather"
    assert calls[0]["id"]
    args = "".join(tc["function"].get("arguments") or "" for tc in calls)
    assert json.loads(args) == {"city": "Rome"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


# -- Anthropic caller, OpenAI provider ---------------------------------------

def test_anthropic_request_becomes_openai(gateway, mock, token):
    body = {
        "model": GPT, "max_tokens": 77, "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                 "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1",
                 "content": "sunny"}]},
        ],
        "tools": [{"name": "get_weather", "description": "Weather",
                   "input_schema": WEATHER_SCHEMA}],
        "stop_sequences": ["END"],
    }
    mock.reply_text = REPLY
    resp = gateway.client().post(MESSAGES, body, token=token)
    assert resp.status == 200, resp
    rec = only_request(mock, CHAT)
    assert_provider_credentials(rec, gateway, token, "openai")
    got = rec.json()
    assert got["model"] == GPT
    assert got.get("max_tokens", got.get("max_completion_tokens")) == 77
    msgs = got["messages"]
    assert msgs[0] == {"role": "system", "content": "Be brief."} or (
        msgs[0]["role"] == "system" and "Be brief." in json.dumps(msgs[0]))
    roles = [m["role"] for m in msgs]
    assert roles == ["system", "user", "assistant", "tool"], roles
    call = msgs[2]["tool_calls"][0]
    assert call["id"] == "toolu_1" and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert msgs[3]["tool_call_id"] == "toolu_1"
    assert "sunny" in json.dumps(msgs[3]["content"])
    assert got["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather",
        "parameters": WEATHER_SCHEMA}}]
    assert got["stop"] == ["END"]

    out = resp.json()
    assert out["type"] == "message" and out["role"] == "assistant"
    assert out["content"] == [{"type": "text", "text": REPLY}]
    assert out["stop_reason"] == "end_turn"
    assert out["usage"]["input_tokens"] > 0
    assert out["usage"]["output_tokens"] > 0


def test_openai_tool_calls_become_tool_use(gateway, mock, token):
    mock.tool_call = {"name": "get_weather", "arguments": {"city": "Lima"}}
    body = {"model": GPT, "max_tokens": 50,
            "messages": [{"role": "user", "content": "?"}],
            "tools": [{"name": "get_weather",
                       "input_schema": WEATHER_SCHEMA}]}
    resp = gateway.client().post(MESSAGES, body, token=token)
    assert resp.status == 200, resp
    out = resp.json()
    assert out["stop_reason"] == "tool_use"
    uses = [b for b in out["content"] if b["type"] == "tool_use"]
    assert len(uses) == 1
    assert uses[0]["name"] == "get_weather"
    assert uses[0]["input"] == {"city": "Lima"}
    assert uses[0]["id"]


def _anthropic_event_names(body):
    return [n for n, _ in parse_sse(body)]


def test_chat_stream_becomes_anthropic_events(gateway, mock, token):
    mock.reply_text = REPLY
    body = {"model": GPT, "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    resp = gateway.client().post(MESSAGES, body, token=token)
    assert resp.status == 200, resp
    names = [n for n in _anthropic_event_names(resp.body) if n != "ping"]
    assert names[0] == "message_start"
    assert names[1] == "content_block_start"
    assert names[-3:] == ["content_block_stop", "message_delta",
                          "message_stop"]
    payloads = sse_json(resp.body)
    text = "".join(p["delta"]["text"] for p in payloads
                   if p["type"] == "content_block_delta")
    assert text == REPLY
    delta = [p for p in payloads if p["type"] == "message_delta"][0]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] > 0
    # The provider was asked for usage in the stream.
    got = only_request(mock, CHAT).json()
    assert got["stream"] is True
    assert got.get("stream_options", {}).get("include_usage") is True


def test_chat_tool_stream_becomes_tool_use_events(gateway, mock, token):
    mock.tool_call = {"name": "get_weather", "arguments": {"city": "Kyiv"}}
    body = {"model": GPT, "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": "?"}],
            "tools": [{"name": "get_weather",
                       "input_schema": WEATHER_SCHEMA}]}
    resp = gateway.client().post(MESSAGES, body, token=token)
    assert resp.status == 200, resp
    payloads = sse_json(resp.body)
    starts = [p for p in payloads if p["type"] == "content_block_start"]
    assert any(s["content_block"]["type"] == "tool_use" and
               s["content_block"]["name"] == "get_weather" for s in starts)
    args = "".join(p["delta"]["partial_json"] for p in payloads
                   if p["type"] == "content_block_delta"
                   and p["delta"]["type"] == "input_json_delta")
    assert json.loads(args) == {"city": "Kyiv"}
    delta = [p for p in payloads if p["type"] == "message_delta"][0]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert payloads[-1]["type"] == "message_stop"


# -- streams are not buffered --------------------------------------------------

@pytest.mark.parametrize("path,model,body_extra", [
    (CHAT, GPT, {}), (MESSAGES, CLAUDE, {"max_tokens": 50}),
    (CHAT, CLAUDE, {}), (MESSAGES, GPT, {"max_tokens": 50})],
    ids=["openai", "anthropic", "openai-to-anthropic", "anthropic-to-openai"])
def test_stream_events_arrive_as_sent(gateway, mock, token, path, model,
                                      body_extra):
    """The mock paces its events 150 ms apart: the caller must see the
    first one long before the last (no buffering in the gateway, no
    re-batching in translation)."""
    mock.reply_text = "one two three four five six"
    mock.stream_interval = 0.15
    body = dict(model=model, stream=True,
                messages=[{"role": "user", "content": "hi"}], **body_extra)
    times = []
    for i, (t, item) in enumerate(gateway.client().stream(path, body,
                                                          token=token)):
        if i == 0:
            assert item.status == 200, item
            continue
        if "delta" in item or "content" in item:
            times.append(t)
    assert len(times) >= 6, times
    # Spread over the stream: the first delta came at least ~0.6 s before
    # the last, and arrived in the first half.
    assert times[-1] - times[0] > 0.6, times
    assert times[0] < times[-1] / 2, times
