"""A small HTTP client for talking to the gateway the way agents do.

http.client rather than urllib: we want the raw status, headers and body
bytes of every answer (urllib raises on 4xx), control over every request
header, and the ability to read a stream event by event with timestamps.
"""

import http.client
import json
import time


class Response:
    """status, headers (case-insensitive ``header()``), body bytes."""

    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def sse(self):
        return parse_sse(self.body)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def _encode(body):
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


class GatewayClient:
    """Requests to one base URL (``http://127.0.0.1:PORT``).

    ``token`` sets ``Authorization: Bearer <token>`` unless ``headers``
    already carries an Authorization (or you pass ``token=None``).
    """

    def __init__(self, host, port, timeout=30.0):
        self.host = host
        self.port = port
        self.timeout = timeout

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def _headers(self, token, headers, body):
        h = {}
        if body is not None:
            h["Content-Type"] = "application/json"
        if token is not None:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        return h

    def request(self, method, path, body=None, token=None, headers=None,
                timeout=None):
        """One request on a fresh connection; the whole answer is read."""
        data = _encode(body)
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout or self.timeout)
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=data,
                         headers=self._headers(token, headers, data))
            resp = conn.getresponse()
            payload = resp.read()
            return Response(resp.status, resp.reason, resp.getheaders(),
                            payload, time.monotonic() - t0)
        finally:
            conn.close()

    def post(self, path, body=None, token=None, headers=None, timeout=None):
        return self.request("POST", path, body, token, headers, timeout)

    def get(self, path, token=None, headers=None, timeout=None):
        return self.request("GET", path, None, token, headers, timeout)

    def stream(self, path, body, token=None, headers=None, timeout=None):
        """POST and yield (seconds since send, raw event text) per SSE event
        as it arrives; for time-to-first-token measurements.  The status and
        headers are in the first item yielded as ``(0.0, Response)`` with
        an empty body."""
        data = _encode(body)
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout or self.timeout)
        t0 = time.monotonic()
        try:
            conn.request("POST", path, body=data,
                         headers=self._headers(token, headers, data))
            resp = conn.getresponse()
            yield 0.0, Response(resp.status, resp.reason, resp.getheaders(),
                                b"", time.monotonic() - t0)
            buf = b""
            while True:
                line = resp.readline()
                if not line:
                    break
                buf += line
                if line in (b"\n", b"\r\n"):
                    yield time.monotonic() - t0, buf.decode()
                    buf = b""
            if buf.strip():
                yield time.monotonic() - t0, buf.decode()
        finally:
            conn.close()


def parse_sse(data):
    """Parse an SSE body into a list of (event name or None, data string).

    Follows the SSE rules the clients use: events are separated by a blank
    line, ``data:`` lines of one event are joined with newlines, comment
    lines (``:``) are ignored.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    events = []
    for block in data.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, lines = None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "event":
                name = value
            elif field == "data":
                lines.append(value)
        if name is not None or lines:
            events.append((name, "\n".join(lines)))
    return events


def sse_json(data):
    """The JSON payloads of an SSE body, skipping ``[DONE]``."""
    return [json.loads(d) for _, d in parse_sse(data) if d and d != "[DONE]"]
