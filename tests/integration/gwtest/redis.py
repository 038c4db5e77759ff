"""A real redis-server for the fleet tests, and a small RESP client.

``RedisServer(base_dir)`` runs ``redis-server`` on a free loopback port
with its data in ``base_dir``: an append-only file written before every
reply (``appendfsync always``), so that a server killed with SIGKILL and
started again has every count it acknowledged.  ``kill()`` (SIGKILL),
``start()`` (same port, same data), ``pause()`` / ``resume()``
(SIGSTOP / SIGCONT: a server that accepts connections and never answers),
``command(*args)``.  An ACL user with a password is made with
``user=``/``password=``; ``replica_of=`` starts it as a replica.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time

from .ports import LOOPBACK, free_port, port_accepts


class RedisError(Exception):
    pass


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError("unexpected reply %r" % line)


class RedisServer:
    def __init__(self, base_dir, user=None, password=None, replica_of=None,
                 acl="~* &* +@all"):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(self.binary):
            raise RuntimeError("redis-server not installed (scripts/deps.sh "
                               "test installs it)")
        self.dir = base_dir
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.user = user
        self.password = password
        self.replica_of = replica_of
        self.acl = acl
        self.db = 0
        self.argv_extra = []     # later options win (benchmarks: no AOF)
        self.proc = None
        atexit.register(self.destroy)

    def argv(self):
        a = [self.binary, "--port", str(self.port), "--bind", LOOPBACK,
             "--dir", self.dir, "--appendonly", "yes",
             "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--protected-mode", "no",
             "--logfile", os.path.join(self.dir, "redis.log")]
        if self.user:
            # The default user stays open to the tests' own client; the
            # gateway logs in as user (ACL, Redis 6+).
            a += ["--user", self.user, "on", ">" + self.password] + \
                self.acl.split()
        if self.replica_of:
            a += ["--replicaof", LOOPBACK, str(self.replica_of.port)]
        return a + self.argv_extra

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: %s" % self.log_tail())
            if port_accepts(self.port):
                try:
                    if self.command("PING") == "PONG":
                        return self
                except (RedisError, OSError):
                    pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer: %s" % self.log_tail())

    def kill(self):
        """SIGKILL: no shutdown, no last save."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def destroy(self):
        self.kill()

    def command(self, *args, timeout=5.0):
        """One command, in database self.db (what the gateway uses)."""
        with socket.create_connection((LOOPBACK, self.port),
                                      timeout=timeout) as s:
            reader = _Reader(s)
            if self.db:
                s.sendall(_encode(("SELECT", self.db)))
                reader.reply()
            s.sendall(_encode(args))
            return reader.reply()

    def get_int(self, key):
        v = self.command("GET", key)
        return 0 if v is None else int(v)

    def keys(self, pattern="*"):
        return self.command("KEYS", pattern)

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, "redis.log"),
                      errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""
