"""Free loopback ports.

Every server in the suite listens on 127.0.0.1 only, on a port the kernel
picked, so parallel runs and colleagues' servers on the same machine never
collide.  There is a small window between closing the probe socket and the
server binding; the servers retry nothing, so a rare clash shows up as a
start-up failure with a clear message rather than a flaky assertion.
"""

import http.client
import socket
import time

LOOPBACK = "127.0.0.1"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_accepts(port, host=LOOPBACK, timeout=0.2):
    """True if a TCP connect to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(port, timeout=15.0, host=LOOPBACK, alive=None):
    """Wait until host:port accepts connections.

    ``alive`` is an optional callable; when it returns False (the server
    process died) waiting stops early.  Returns True when the port accepts.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_accepts(port, host):
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.05)
    return False


def wait_for_http(port, timeout=15.0, host=LOOPBACK, alive=None):
    """Wait until an HTTP request to host:port gets any answer.

    httpd's parent binds the port before its children exist; a connect
    succeeds then, but nothing answers until a child runs.  Waiting for an
    answer means the server really serves when this returns True."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        conn = http.client.HTTPConnection(host, port, timeout=1.0)
        try:
            conn.request("GET", "/__gwtest-ready")
            conn.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            conn.close()
    return False
