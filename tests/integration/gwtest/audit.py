"""Reading the audit table, whichever database the gateway writes to.

The same assertions must hold against PostgreSQL (production) and SQLite
(the embedded default), so tests talk to one small interface:
``gateway.audit.query(sql, params)`` and ``wait_for_rows(...)`` with
``%s`` placeholders in both cases (translated to ``?`` for SQLite).
"""

import os
import sqlite3
import time


class _AuditStore:
    def query(self, sql, params=None):
        raise NotImplementedError

    def wait_for_rows(self, sql, params=None, count=1, timeout=10.0,
                      settle=0.3):
        """Poll until at least ``count`` rows, then settle a moment and
        read again (so a duplicate written just after shows up).  The
        gateway writes in log_transaction, after the client has its
        answer."""
        deadline = time.monotonic() + timeout
        rows = []
        while time.monotonic() < deadline:
            rows = self.query(sql, params)
            if len(rows) >= count:
                break
            time.sleep(0.05)
        if settle:
            time.sleep(settle)
            rows = self.query(sql, params)
        return rows

    def rows_for_user_agent(self, user_agent, count=1, timeout=10.0):
        """The rows of the requests sent with this (unique) User-Agent."""
        return self.wait_for_rows(
            "SELECT * FROM llm_audit WHERE user_agent = %s ORDER BY id",
            (user_agent,), count=count, timeout=timeout)


class PgAudit(_AuditStore):
    kind = "pgsql"

    def __init__(self, pg):
        self.pg = pg

    @property
    def available(self):
        return getattr(self.pg, "schema_loaded", False)

    def query(self, sql, params=None):
        return self.pg.query(sql, params)


class SqliteAudit(_AuditStore):
    kind = "sqlite3"

    def __init__(self, path):
        self.path = path

    @property
    def available(self):
        return os.path.exists(self.path)

    def query(self, sql, params=None):
        # Read-only: never take a write lock the gateway would wait on, and
        # never create the -wal/-shm files ourselves: created by root they
        # would lock the httpd children (www-data) out of the database.
        # No -wal file means no writer has it open and everything is in the
        # main file, which "immutable" reads without creating anything.
        mode = "ro" if os.path.exists(self.path + "-wal") else "ro&immutable=1"
        conn = sqlite3.connect("file:%s?mode=%s" % (self.path, mode),
                               uri=True, timeout=5)
        try:
            conn.row_factory = sqlite3.Row
            cur = conn.execute(sql.replace("%s", "?"), params or ())
            return [dict(r) for r in cur.fetchall()]
        finally:
            conn.close()


def init_sqlite(path, schema_file, uid=None, gid=None):
    """Create the SQLite audit database from conf/sql/sqlite.sql (what
    scripts/init-sqlite.sh does), owned by the httpd child user, who must
    also own the directory (SQLite writes its journal/WAL beside it)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        with open(schema_file) as f:
            script = f.read()
        conn = sqlite3.connect(path)
        try:
            conn.executescript(script)
            conn.commit()
        finally:
            conn.close()
    if uid is not None and os.geteuid() == 0:
        for p in (path, os.path.dirname(path)):
            os.chown(p, uid, gid)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.chown(path + suffix, uid, gid)
