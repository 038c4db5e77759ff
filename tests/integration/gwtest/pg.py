"""A real, throw-away PostgreSQL server for the audit tests.

``initdb`` + ``pg_ctl`` from /usr/lib/postgresql/*/bin in a temporary
directory, listening on 127.0.0.1:<free port> and on a unix socket inside
that directory.  PostgreSQL refuses to run as root, and CI runs the suite as
root, so when we are root every server command runs as the ``postgres``
system user (``runuser -u postgres``) in a directory it owns.

Two roles matter:

* the superuser ``postgres`` (trust over the unix socket): the tests use it
  to load the schema, query the audit table and tamper with rows;
* the gateway's role (``gateway`` with a password, scram over TCP): what
  httpd's mod_dbd connects as, through ``dbd_params``.
"""

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import psycopg2
import psycopg2.extras

from .ports import LOOPBACK, free_port

PG_SYSTEM_USER = "postgres"


def find_pg_bindir():
    """The newest /usr/lib/postgresql/<version>/bin holding initdb."""
    override = os.environ.get("LLM_GW_PG_BINDIR")
    if override:
        return override
    candidates = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
                  if os.path.exists(os.path.join(d, "initdb"))]
    if not candidates:
        raise RuntimeError("no PostgreSQL server found under "
                           "/usr/lib/postgresql/*/bin (apt install postgresql)")

    def version(d):
        v = d.split("/")[-2]
        return [int(x) if x.isdigit() else 0 for x in v.split(".")]
    return sorted(candidates, key=version)[-1]


class PostgresServer:
    """One PostgreSQL cluster in a temp dir; start/stop/query helpers.

    Typical use (the ``postgres`` fixture does this)::

        pg = PostgresServer()
        pg.init()                       # initdb, start, role + database
        pg.load_schema_file("conf/sql/postgresql.sql")
        pg.grant_gateway()              # table rights for the gateway role
        pg.dbd_params                   # -> "host=127.0.0.1 port=... ..."
        pg.query("SELECT * FROM llm_audit WHERE ...", (arg,))
        pg.stop(); pg.start()           # outage simulation
        pg.destroy()
    """

    def __init__(self, base_dir=None, dbname="llm_gateway",
                 gateway_user="gateway", gateway_password="gateway-test-pw"):
        self.bindir = find_pg_bindir()
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="llmgw-pg-")
        self.data_dir = os.path.join(self.base_dir, "data")
        self.socket_dir = os.path.join(self.base_dir, "run")
        self.log_file = os.path.join(self.base_dir, "postgresql.log")
        self.port = free_port()
        self.dbname = dbname
        self.gateway_user = gateway_user
        self.gateway_password = gateway_password
        self.superuser = "postgres"
        self._as_root = os.geteuid() == 0
        self.running = False

    # -- running commands as the right user ------------------------------

    def _cmd(self, argv):
        if self._as_root:
            return ["runuser", "-u", PG_SYSTEM_USER, "--"] + argv
        return argv

    def _run(self, argv, check=True, timeout=60):
        proc = subprocess.run(self._cmd(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout,
                              cwd=self.base_dir)
        if check and proc.returncode != 0:
            raise RuntimeError("%s failed (rc=%d):\n%s\n%s" % (
                " ".join(argv), proc.returncode,
                proc.stdout.decode(errors="replace"), self.log_tail()))
        return proc

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    # -- lifecycle ----------------------------------------------------------

    def init(self):
        """initdb, start, create the gateway role and database."""
        os.makedirs(self.socket_dir, exist_ok=True)
        os.chmod(self.base_dir, 0o755)
        if self._as_root:
            pw = pwd.getpwnam(PG_SYSTEM_USER)
            for d in (self.base_dir, self.socket_dir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        self._run([self._bin("initdb"), "-D", self.data_dir, "-U",
                   self.superuser, "--auth-local=trust",
                   "--auth-host=scram-sha-256", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-sync"], timeout=120)
        self.start()
        self.execute("CREATE ROLE %s LOGIN PASSWORD %%s" % self.gateway_user,
                     (self.gateway_password,), dbname="postgres")
        self.execute("CREATE DATABASE %s" % self.dbname, dbname="postgres",
                     autocommit=True)
        return self

    def start(self, timeout=30):
        """Start the server (also after stop()) and wait until it accepts."""
        # Speed over durability: a test cluster never survives a power cut.
        opts = ("-p %d -k %s -c listen_addresses=%s -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200 -c shared_buffers=32MB"
                % (self.port, self.socket_dir, LOOPBACK))
        self._run([self._bin("pg_ctl"), "-D", self.data_dir, "-l",
                   self.log_file, "-o", opts, "-w", "-t", str(timeout),
                   "start"], timeout=timeout + 10)
        self.running = True
        # Dies with the Python process that started it (see GatewayServer).
        atexit.register(self.stop, "immediate")

    def stop(self, mode="fast"):
        """Stop the server.  mode: smart, fast (default) or immediate."""
        if not os.path.exists(os.path.join(self.data_dir, "postmaster.pid")):
            self.running = False
            return
        self._run([self._bin("pg_ctl"), "-D", self.data_dir, "-m", mode,
                   "-w", "stop"], check=False, timeout=60)
        self.running = False

    def restart(self):
        self.stop()
        self.start()

    def destroy(self):
        """Stop (immediately) and remove the directory; safe to call twice."""
        try:
            self.stop(mode="immediate")
        finally:
            self._kill_leftover_postmaster()
            if os.environ.get("LLM_GW_KEEP_TMP") != "1":
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def _kill_leftover_postmaster(self):
        pidfile = os.path.join(self.data_dir, "postmaster.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.readline().strip())
            os.kill(pid, 9)
        except (OSError, ValueError):
            pass

    # -- connection strings --------------------------------------------------

    @property
    def dbd_params(self):
        """The DBDParams string httpd's mod_dbd (pgsql driver) uses."""
        return ("host=%s port=%d dbname=%s user=%s password=%s"
                % (LOOPBACK, self.port, self.dbname, self.gateway_user,
                   self.gateway_password))

    def connect(self, dbname=None, as_gateway=False):
        """A psycopg2 connection: superuser over the socket, or the gateway
        role over TCP with its password (to test what httpd may do)."""
        if as_gateway:
            return psycopg2.connect(host=LOOPBACK, port=self.port,
                                    dbname=dbname or self.dbname,
                                    user=self.gateway_user,
                                    password=self.gateway_password)
        return psycopg2.connect(host=self.socket_dir, port=self.port,
                                dbname=dbname or self.dbname,
                                user=self.superuser)

    def execute(self, sql, params=None, dbname=None, autocommit=False):
        conn = self.connect(dbname)
        try:
            conn.autocommit = autocommit
            with conn.cursor() as cur:
                cur.execute(sql, params)
            if not autocommit:
                conn.commit()
        finally:
            conn.close()

    def query(self, sql, params=None, dbname=None):
        """Rows as a list of dicts (column name -> value)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute(sql, params)
                return [dict(r) for r in cur.fetchall()]
        finally:
            conn.close()

    def wait_for_rows(self, sql, params=None, count=1, timeout=10.0,
                      settle=0.3):
        """Poll until the query returns at least ``count`` rows, then wait
        ``settle`` seconds more and return the final rows, so a caller that
        expects exactly ``count`` also sees a duplicate written a moment
        later.  The audit row is written in log_transaction, after the
        client already has its answer, hence the polling."""
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

    # -- schema ---------------------------------------------------------------

    def table_exists(self, name):
        return bool(self.query("SELECT 1 FROM pg_catalog.pg_class c "
                               "WHERE c.relname = %s AND c.relkind IN ('r','p')",
                               (name,)))

    def columns(self, table):
        return [r["column_name"] for r in self.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position", (table,))]

    def load_schema_file(self, path):
        """Run a SQL file with psql as the superuser, stopping at the first
        error (the schema must load cleanly on a fresh database)."""
        with open(path, "rb") as f:
            sql = f.read()
        proc = subprocess.run(
            self._cmd([self._bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                       "-h", self.socket_dir, "-p", str(self.port),
                       "-U", self.superuser, "-d", self.dbname,
                       "-v", "gateway_role=%s" % self.gateway_user]),
            input=sql, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=60)
        if proc.returncode != 0:
            raise RuntimeError("loading %s failed:\n%s" % (
                path, proc.stdout.decode(errors="replace")))

    def grant_gateway(self, privileges="ALL"):
        """Give the gateway role rights on every table/sequence/function in
        schema public.  Default ALL, so the foundation tests do not depend on
        the least-privilege grant; audit tests that check the documented
        grant call load_schema_file() on the README's GRANT lines instead."""
        self.execute(
            "GRANT USAGE ON SCHEMA public TO {u};"
            "GRANT {p} ON ALL TABLES IN SCHEMA public TO {u};"
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {u};"
            "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {u};"
            .format(u=self.gateway_user, p=privileges))

    def log_tail(self, lines=40):
        try:
            with open(self.log_file, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""
