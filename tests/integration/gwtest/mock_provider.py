"""A mock LLM provider speaking the OpenAI and Anthropic wire formats.

It stands in for the internet only: the gateway proxies to it exactly as it
would to api.openai.com or api.anthropic.com, and the tests then look at what
it *received* (the provider key and never the caller's token, the exact body
bytes) and compare what the client got with what it *sent*.

Runs in a thread of the test process (stdlib ThreadingHTTPServer, HTTP/1.1
keep-alive, chunked SSE like the real providers).  Endpoints are recognised
by path suffix, so any upstream prefix works (``/v1``, ``/api/v1``,
``/openai/deployments/x``, ``/v1beta/openai``):

=================================  ==========================================
``.../chat/completions``           OpenAI chat, non-stream and SSE stream
                                   (``stream_options.include_usage`` adds the
                                   usage chunk), tool calls on request
``.../responses``                  OpenAI Responses, non-stream and stream
                                   (response.created ... response.completed)
``.../completions``                legacy completions, non-stream and stream
``.../embeddings``                 float or base64 (``encoding_format``)
``.../messages``                   Anthropic Messages, non-stream and stream
                                   (message_start ... message_stop)
``.../messages/count_tokens``      Anthropic token count
``GET .../models``                 a model list
=================================  ==========================================

Per-test control through the Python API (see ``MockProvider``): ``reset()``,
``requests`` / ``last_request()``, ``fail_next(503)``, ``hang_next(5)``,
``rate_limit_next(retry_after=7)``, ``stream_interval = 0.05``,
``reply_text``, ``tool_call``, ``cached_tokens``, ``respond_next(...)`` for a
fully canned answer.  The mock answers requests with or without an
``Authorization`` header: deciding about auth is the gateway's job; the mock
only records.
"""

import base64
import json
import re
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .ports import LOOPBACK

DEFAULT_REPLY = "Hello from the mock provider."


def _id(prefix):
    return prefix + uuid.uuid4().hex[:24]


def estimate_tokens(value):
    """Roughly 4 characters per token, like the providers' rule of thumb,
    so usage figures grow with the prompt the way real ones do."""
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text) // 4)


def _dumps(obj):
    # The providers send compact JSON; so do we.
    return json.dumps(obj, separators=(",", ":"))


class RecordedRequest:
    """What the mock received, and what it answered.

    ``path`` keeps the query string (``/v1/messages?beta=true``), ``route``
    is the path alone.  ``headers`` is the list of (name, value) pairs in
    arrival order; ``header(name)`` looks one up case-insensitively.
    ``body`` is the exact bytes received (chunked transfer decoded;
    ``chunked`` says whether it came that way).  ``response_status``,
    ``response_headers`` and ``response_body`` (for streams the whole SSE
    text) are what the mock sent back.
    """

    def __init__(self, method, path, headers, body, chunked):
        self.method = method
        self.path = path
        split = urlsplit(path)
        self.route = split.path
        self.query = parse_qs(split.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.chunked = chunked
        self.received_at = time.time()
        self.response_status = None
        self.response_headers = []
        self.response_body = b""
        self.completed = threading.Event()

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_names(self):
        return [k.lower() for k, _ in self.headers]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%s %s %d bytes -> %s>" % (self.method, self.path,
                                          len(self.body), self.response_status)


class _Rule:
    """One scripted behaviour: applies to requests whose route matches
    ``path`` (a regex searched in the route; None = any), ``times`` times
    (None = until reset)."""

    def __init__(self, kind, path=None, times=1, **args):
        self.kind = kind
        self.path = re.compile(path) if path else None
        self.times = times
        self.args = args

    def matches(self, route):
        if self.times is not None and self.times <= 0:
            return False
        return self.path is None or bool(self.path.search(route))


class MockProvider:
    """The mock's state and control API; ``start()`` runs the server.

    Attributes tests may set (all reset by ``reset()``):

    ``reply_text``      the assistant's answer text
    ``tool_call``       None, or {"name": ..., "arguments": {...}}: answer
                        with a tool/function call instead of text
    ``stream_interval`` seconds between SSE events (pacing; 0 = at once)
    ``stream_deltas``   how many text deltas a stream carries (the text is
                        split into that many pieces; more pieces than
                        characters repeats the text)
    ``cached_tokens``   prompt tokens reported as cache hits
    """

    def __init__(self, host=LOOPBACK, port=0):
        self.host = host
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.mock = self
        self.port = self._server.server_address[1]
        self._thread = None
        self.reset()

    # -- lifecycle -------------------------------------------------------

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="mock-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._wake.set()
        self._server.shutdown()
        self._server.server_close()

    # -- control ---------------------------------------------------------

    def reset(self):
        """Forget recorded requests and scripted behaviours; wake any
        request still hanging from a previous test."""
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()
            self._requests = []
            self._rules = []
            self.reply_text = DEFAULT_REPLY
            self.tool_call = None
            self.stream_interval = 0.0
            self.stream_deltas = None
            self.cached_tokens = 0

    def respond_next(self, status, body=b"", headers=None, path=None,
                     times=1, pieces=None, pause=0.05):
        """Answer the next ``times`` matching requests with this canned
        response (body: bytes, str or a JSON-able object).  ``pieces``:
        a list of bytes/str sent instead of body as separate HTTP/1.1
        chunks, ``pause`` seconds apart (so each reaches the gateway in a
        read of its own), for values split across the gateway's reads."""
        if pieces is not None:
            body = [p.encode() if isinstance(p, str) else p for p in pieces]
        elif not isinstance(body, (bytes, str)):
            body = _dumps(body)
        if isinstance(body, str):
            body = body.encode()
        headers = list((headers or {}).items())
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        self._add(_Rule("canned", path, times, status=status, body=body,
                        headers=headers, pause=pause))

    def fail_next(self, status=503, path=None, times=1):
        """Answer with a provider-style error (OpenAI or Anthropic shape,
        chosen by endpoint)."""
        self._add(_Rule("error", path, times, status=status, headers=[]))

    def rate_limit_next(self, retry_after=7, path=None, times=1):
        """429 with ``retry-after`` and rate-limit headers, as providers
        send when a key is over its limit."""
        self._add(_Rule("error", path, times, status=429, headers=[
            ("retry-after", str(retry_after)),
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "%ds" % retry_after),
        ]))

    def hang_next(self, seconds, path=None, times=1):
        """Wait ``seconds`` before answering normally (upstream timeouts).
        ``reset()`` or ``stop()`` ends the wait early."""
        self._add(_Rule("hang", path, times, seconds=seconds))

    def close_next(self, path=None, times=1):
        """Close the connection without answering."""
        self._add(_Rule("close", path, times))

    def _add(self, rule):
        with self._lock:
            self._rules.append(rule)

    def _take_rule(self, route):
        with self._lock:
            for rule in self._rules:
                if rule.matches(route):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    # -- inspection ------------------------------------------------------

    @property
    def requests(self):
        """Every request received since the last reset, in arrival order."""
        with self._lock:
            return list(self._requests)

    def last_request(self):
        reqs = self.requests
        return reqs[-1] if reqs else None

    def wait_for_requests(self, count=1, timeout=5.0):
        """Wait until ``count`` requests have been received *and* answered
        (the response is recorded once the mock finished sending it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reqs = self.requests
            if len(reqs) >= count and all(r.completed.is_set()
                                          for r in reqs[:count]):
                return reqs
            time.sleep(0.02)
        return self.requests

    def summary(self):
        """One line per received request, for failure reports."""
        return "\n".join(repr(r) for r in self.requests) or "(no requests)"

    def _record(self, req):
        with self._lock:
            self._requests.append(req)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-llm-provider/1"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    # -- plumbing ----------------------------------------------------------

    @property
    def mock(self):
        return self.server.mock

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            data = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until the empty line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data), True
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length else b""), False

    def _handle(self):
        body, chunked = self._read_body()
        rec = RecordedRequest(self.command, self.path,
                              list(self.headers.items()), body, chunked)
        self.mock._record(rec)
        try:
            self._dispatch(rec)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            rec.completed.set()

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle
    do_DELETE = _handle

    def _send(self, rec, status, headers, body):
        rec.response_status = status
        rec.response_headers = list(headers)
        rec.response_body = body
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _send_pieces(self, rec, status, headers, pieces, pause):
        rec.response_status = status
        rec.response_headers = list(headers)
        rec.response_body = b"".join(pieces)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for i, data in enumerate(pieces):
            if i:
                self.mock._wake.wait(pause)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_json(self, rec, obj, status=200, extra_headers=()):
        headers = [("Content-Type", "application/json")]
        headers += self._request_id_headers(rec)
        headers += list(extra_headers)
        self._send(rec, status, headers, _dumps(obj).encode())

    def _request_id_headers(self, rec):
        if _is_anthropic(rec.route):
            return [("request-id", _id("req_"))]
        return [("x-request-id", _id("req_"))]

    def _stream(self, rec, events):
        """Send SSE events as HTTP/1.1 chunks, one event per chunk, paced by
        ``stream_interval``; the full text is recorded."""
        rec.response_status = 200
        rec.response_headers = [("Content-Type",
                                 "text/event-stream; charset=utf-8"),
                                ("Cache-Control", "no-cache")]
        rec.response_headers += self._request_id_headers(rec)
        self.send_response(200)
        for k, v in rec.response_headers:
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        sent = bytearray()
        interval = self.mock.stream_interval
        wake = self.mock._wake
        for i, ev in enumerate(events):
            if interval and i:
                wake.wait(interval)
            data = ev.encode()
            sent += data
            rec.response_body = bytes(sent)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- routing -----------------------------------------------------------

    def _dispatch(self, rec):
        rule = self.mock._take_rule(rec.route)
        if rule is not None:
            if rule.kind == "hang":
                self.mock._wake.wait(rule.args["seconds"])
            elif rule.kind == "close":
                rec.response_status = 0
                self.close_connection = True
                return
            elif rule.kind == "canned" and isinstance(rule.args["body"],
                                                      list):
                self._send_pieces(rec, rule.args["status"],
                                  rule.args["headers"], rule.args["body"],
                                  rule.args["pause"])
                return
            elif rule.kind == "canned":
                self._send(rec, rule.args["status"], rule.args["headers"],
                           rule.args["body"])
                return
            elif rule.kind == "error":
                status = rule.args["status"]
                self._send_json(rec, _error_body(rec.route, status), status,
                                rule.args["headers"])
                return

        route = rec.route.rstrip("/")
        if rec.method == "GET" and route.endswith("/models"):
            return self._send_json(rec, _models_list())
        if rec.method != "POST":
            return self._send_json(rec, _error_body(route, 404), 404)
        try:
            req = rec.json()
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError:
            return self._send_json(rec, _error_body(route, 400), 400)

        if route.endswith("/chat/completions"):
            return self._chat(rec, req)
        if route.endswith("/messages/count_tokens"):
            return self._send_json(rec, {"input_tokens": _prompt_tokens(req)})
        if route.endswith("/messages"):
            return self._messages(rec, req)
        if route.endswith("/responses"):
            return self._responses(rec, req)
        if route.endswith("/completions"):
            return self._completions(rec, req)
        if route.endswith("/embeddings"):
            return self._embeddings(rec, req)
        return self._send_json(rec, _error_body(route, 404), 404)

    def _deltas(self):
        text = self.mock.reply_text
        n = self.mock.stream_deltas
        if not n:
            # word by word, spaces kept, like a real token stream
            return re.findall(r"\S+\s*|\s+", text) or [text]
        if n <= len(text):
            step = -(-len(text) // n)
            return [text[i:i + step] for i in range(0, len(text), step)]
        return [text[i % len(text)] for i in range(n)]

    def _usage_numbers(self, req):
        prompt = _prompt_tokens(req)
        completion = max(1, len(self._deltas()))
        cached = min(self.mock.cached_tokens, prompt)
        return prompt, completion, cached

    # -- OpenAI chat -------------------------------------------------------

    def _chat(self, rec, req):
        model = req.get("model", "unknown")
        prompt, completion, cached = self._usage_numbers(req)
        usage = {
            "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached,
                                      "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0,
                                          "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        }
        cid = _id("chatcmpl-")
        created = int(time.time())
        tool = self.mock.tool_call
        if not req.get("stream"):
            message = {"role": "assistant", "content": self.mock.reply_text,
                       "refusal": None, "annotations": []}
            finish = "stop"
            if tool:
                message["content"] = None
                message["tool_calls"] = [{
                    "id": _id("call_"), "type": "function",
                    "function": {"name": tool["name"],
                                 "arguments": _dumps(tool["arguments"])}}]
                finish = "tool_calls"
            return self._send_json(rec, {
                "id": cid, "object": "chat.completion", "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message,
                             "logprobs": None, "finish_reason": finish}],
                "usage": usage, "service_tier": "default",
                "system_fingerprint": "fp_mock"})

        include_usage = bool((req.get("stream_options") or {})
                             .get("include_usage"))

        def chunk(delta, finish=None, choices=True, usage_value=None):
            c = {"id": cid, "object": "chat.completion.chunk",
                 "created": created, "model": model,
                 "service_tier": "default", "system_fingerprint": "fp_mock",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": finish}] if choices else []}
            if include_usage:
                c["usage"] = usage_value
            return "data: %s\n\n" % _dumps(c)

        events = [chunk({"role": "assistant", "content": "",
                         "refusal": None})]
        if tool:
            args = _dumps(tool["arguments"])
            events.append(chunk({"tool_calls": [{
                "index": 0, "id": _id("call_"), "type": "function",
                "function": {"name": tool["name"], "arguments": ""}}]}))
            events.append(chunk({"tool_calls": [{
                "index": 0, "function": {"arguments": args}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            events += [chunk({"content": d}) for d in self._deltas()]
            events.append(chunk({}, "stop"))
        if include_usage:
            events.append(chunk(None, choices=False, usage_value=usage))
        events.append("data: [DONE]\n\n")
        self._stream(rec, events)

    # -- OpenAI responses --------------------------------------------------

    def _responses(self, rec, req):
        model = req.get("model", "unknown")
        prompt, completion, cached = self._usage_numbers(req)
        usage = {"input_tokens": prompt,
                 "input_tokens_details": {"cached_tokens": cached},
                 "output_tokens": completion,
                 "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": prompt + completion}
        rid = _id("resp_")
        tool = self.mock.tool_call
        text = self.mock.reply_text
        if tool:
            item = {"id": _id("fc_"), "type": "function_call",
                    "status": "completed",
                    "arguments": _dumps(tool["arguments"]),
                    "call_id": _id("call_"), "name": tool["name"]}
        else:
            item = {"id": _id("msg_"), "type": "message",
                    "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text,
                                 "annotations": [], "logprobs": []}]}

        def response(status, output, usage_value):
            return {"id": rid, "object": "response",
                    "created_at": int(time.time()), "status": status,
                    "error": None, "incomplete_details": None,
                    "instructions": req.get("instructions"),
                    "model": model, "output": output,
                    "parallel_tool_calls": True, "store": False,
                    "temperature": 1, "text": {"format": {"type": "text"}},
                    "tool_choice": "auto", "tools": req.get("tools", []),
                    "top_p": 1, "truncation": "disabled",
                    "usage": usage_value, "metadata": {}}

        if not req.get("stream"):
            return self._send_json(rec, response("completed", [item], usage))

        seq = [0]

        def event(kind, payload):
            payload = dict(type=kind, sequence_number=seq[0], **payload)
            seq[0] += 1
            return "event: %s\ndata: %s\n\n" % (kind, _dumps(payload))

        events = [event("response.created",
                        {"response": response("in_progress", [], None)}),
                  event("response.in_progress",
                        {"response": response("in_progress", [], None)})]
        if tool:
            added = dict(item, status="in_progress", arguments="")
            events.append(event("response.output_item.added",
                                {"output_index": 0, "item": added}))
            events.append(event("response.function_call_arguments.delta",
                                {"item_id": item["id"], "output_index": 0,
                                 "delta": item["arguments"]}))
            events.append(event("response.function_call_arguments.done",
                                {"item_id": item["id"], "output_index": 0,
                                 "name": item["name"],
                                 "arguments": item["arguments"]}))
        else:
            added = dict(item, status="in_progress", content=[])
            part = {"type": "output_text", "text": "", "annotations": [],
                    "logprobs": []}
            ids = {"item_id": item["id"], "output_index": 0,
                   "content_index": 0}
            events.append(event("response.output_item.added",
                                {"output_index": 0, "item": added}))
            events.append(event("response.content_part.added",
                                dict(ids, part=part)))
            for d in self._deltas():
                events.append(event("response.output_text.delta",
                                    dict(ids, delta=d, logprobs=[])))
            events.append(event("response.output_text.done",
                                dict(ids, text=text, logprobs=[])))
            events.append(event("response.content_part.done",
                                dict(ids, part=item["content"][0])))
        events.append(event("response.output_item.done",
                            {"output_index": 0, "item": item}))
        events.append(event("response.completed",
                            {"response": response("completed", [item],
                                                  usage)}))
        self._stream(rec, events)

    # -- OpenAI legacy completions and embeddings --------------------------

    def _completions(self, rec, req):
        model = req.get("model", "unknown")
        prompt, completion, _ = self._usage_numbers(req)
        cid = _id("cmpl-")
        created = int(time.time())
        usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion}
        if not req.get("stream"):
            return self._send_json(rec, {
                "id": cid, "object": "text_completion", "created": created,
                "model": model,
                "choices": [{"text": self.mock.reply_text, "index": 0,
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": usage})
        events = []
        deltas = self._deltas()
        for i, d in enumerate(deltas):
            events.append("data: %s\n\n" % _dumps({
                "id": cid, "object": "text_completion", "created": created,
                "model": model,
                "choices": [{"text": d, "index": 0, "logprobs": None,
                             "finish_reason": "stop" if i == len(deltas) - 1
                             else None}]}))
        events.append("data: [DONE]\n\n")
        self._stream(rec, events)

    def _embeddings(self, rec, req):
        inputs = req.get("input", "")
        if not isinstance(inputs, list) or (inputs and
                                            isinstance(inputs[0], int)):
            inputs = [inputs]
        as_base64 = req.get("encoding_format") == "base64"
        data = []
        for i, item in enumerate(inputs):
            # 8 deterministic dimensions derived from the input, exactly
            # representable as float32 so float and base64 agree.
            seed = sum(json.dumps(item).encode()) + i
            vec = [((seed * (k + 7)) % 256 - 128) / 128.0 for k in range(8)]
            emb = (base64.b64encode(struct.pack("<8f", *vec)).decode()
                   if as_base64 else vec)
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(estimate_tokens(x) for x in inputs)
        self._send_json(rec, {"object": "list", "data": data,
                              "model": req.get("model", "unknown"),
                              "usage": {"prompt_tokens": tokens,
                                        "total_tokens": tokens}})

    # -- Anthropic messages ------------------------------------------------

    def _messages(self, rec, req):
        model = req.get("model", "unknown")
        prompt, completion, cached = self._usage_numbers(req)
        usage = {"input_tokens": prompt - cached,
                 "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": cached,
                 "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                    "ephemeral_1h_input_tokens": 0},
                 "output_tokens": completion, "service_tier": "standard"}
        mid = _id("msg_")
        tool = self.mock.tool_call
        text = self.mock.reply_text
        if tool:
            block = {"type": "tool_use", "id": _id("toolu_"),
                     "name": tool["name"], "input": tool["arguments"]}
            stop_reason = "tool_use"
        else:
            block = {"type": "text", "text": text}
            stop_reason = "end_turn"
        if not req.get("stream"):
            return self._send_json(rec, {
                "id": mid, "type": "message", "role": "assistant",
                "model": model, "content": [block],
                "stop_reason": stop_reason, "stop_sequence": None,
                "usage": usage})

        def event(kind, payload):
            return "event: %s\ndata: %s\n\n" % (kind, _dumps(
                dict(type=kind, **payload)))

        start_usage = dict(usage, output_tokens=1)
        events = [event("message_start", {"message": {
            "id": mid, "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": start_usage}})]
        if tool:
            events.append(event("content_block_start", {
                "index": 0, "content_block": dict(block, input={})}))
            events.append(event("ping", {}))
            events.append(event("content_block_delta", {
                "index": 0, "delta": {"type": "input_json_delta",
                                      "partial_json": _dumps(tool["arguments"])}}))
        else:
            events.append(event("content_block_start", {
                "index": 0, "content_block": {"type": "text", "text": ""}}))
            events.append(event("ping", {}))
            for d in self._deltas():
                events.append(event("content_block_delta", {
                    "index": 0, "delta": {"type": "text_delta", "text": d}}))
        events.append(event("content_block_stop", {"index": 0}))
        events.append(event("message_delta", {
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"input_tokens": usage["input_tokens"],
                      "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": cached,
                      "output_tokens": completion}}))
        events.append(event("message_stop", {}))
        self._stream(rec, events)


def _is_anthropic(route):
    return "/messages" in route


def _prompt_tokens(req):
    parts = [req.get(k) for k in ("system", "instructions", "messages",
                                  "input", "prompt", "tools")
             if req.get(k) is not None]
    return estimate_tokens(parts) if parts else 1


def _error_body(route, status):
    """A provider error in the endpoint's own dialect."""
    kinds = {400: ("invalid_request_error", "invalid_request_error"),
             401: ("invalid_request_error", "authentication_error"),
             404: ("invalid_request_error", "not_found_error"),
             429: ("rate_limit_exceeded", "rate_limit_error"),
             500: ("server_error", "api_error"),
             502: ("server_error", "api_error"),
             503: ("server_error", "overloaded_error"),
             529: ("server_error", "overloaded_error")}
    openai_type, anthropic_type = kinds.get(status, ("server_error",
                                                     "api_error"))
    message = "mock provider: HTTP %d" % status
    if _is_anthropic(route):
        return {"type": "error", "error": {"type": anthropic_type,
                                           "message": message}}
    return {"error": {"message": message, "type": openai_type,
                      "param": None, "code": None}}


def _models_list():
    ids = ["gpt-4o-mini", "gpt-5.1-codex", "text-embedding-3-small",
           "claude-sonnet-4-5", "claude-haiku-4-5"]
    return {"object": "list",
            "data": [{"id": m, "object": "model", "created": 1700000000,
                      "owned_by": "mock"} for m in ids]}
