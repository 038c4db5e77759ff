"""A real httpd running the project's sample configuration.

The fixture builds a temporary ServerRoot::

    <base>/httpd.conf            Defines, then Include conf/httpd-standalone.conf,
                                 then the test's extra top-level lines
    <base>/conf/                 LLM_GW_ROOT: a copy of the repo's conf/
      httpd-standalone.conf        (unchanged)
      llm-gateway.conf             (unchanged)
      llm-gateway.d/*.conf         the sample's policy files, minus the ones
                                   that point at the real internet (providers,
                                   model routes, the built-in mock), plus the
                                   test's own (providers -> mock provider,
                                   audit database -> the test PostgreSQL)
    <base>/data/                 LLM_GW_DATA: logs/, run/, htdocs/, keys/,
                                 owned by the httpd child user where it writes

and starts ``apache2 -f <base>/httpd.conf -DFOREGROUND`` in its own process
group, so that stopping it (also when a test fails) kills every child.  The
binary comes from ``apxs -q SBINDIR``/``PROGNAME``; httpd's own modules from
``apxs -q LIBEXECDIR``; the gateway's modules from ``LLM_GW_MODULES_DIR``
(default ``<repo>/build/stage-modules``).
"""

import atexit
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from .audit import PgAudit, SqliteAudit, init_sqlite
from .jwks import jwk_for
from .client import GatewayClient
from .ports import LOOPBACK, free_port, wait_for_http

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                         "..", "..", ".."))
REPO_CONF = os.path.join(REPO_ROOT, "conf")
SQLITE_SCHEMA = os.path.join(REPO_CONF, "sql", "sqlite.sql")
GATEWAY_MODULES = ("mod_llm_scan.so", "mod_llm_route.so", "mod_llm_audit.so")
# Loaded by the sample's 25-mock-provider.conf when include_mock_provider.
MOCK_MODULE = "mod_llm_mock.so"

# Sample policy files a test gateway must not load: they route to the real
# providers (which need keys and internet) or to the built-in demo mock.
# Tests add their own routes to the mock provider instead.
SAMPLE_FILES_REPLACED = ("20-providers.conf", "25-mock-provider.conf",
                         "30-models.conf")


def apxs_query(var):
    """``apxs -q VAR``; None when apxs is missing."""
    apxs = shutil.which("apxs") or shutil.which("apxs2")
    if not apxs:
        return None
    out = subprocess.run([apxs, "-q", var], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return out.stdout.strip() or None


def httpd_binary():
    override = os.environ.get("LLM_GW_HTTPD")
    if override:
        return override
    sbindir = apxs_query("SBINDIR") or "/usr/sbin"
    progname = apxs_query("PROGNAME") or "apache2"
    path = os.path.join(sbindir, progname)
    if not os.path.exists(path):
        raise RuntimeError("httpd binary %s not found (apxs -q SBINDIR/"
                           "PROGNAME); set LLM_GW_HTTPD" % path)
    return path


def httpd_modules_dir():
    return apxs_query("LIBEXECDIR") or "/usr/lib/apache2/modules"


def gateway_modules_dir():
    """Where the built mod_llm_*.so are: LLM_GW_MODULES_DIR, else
    <repo>/build/stage-modules."""
    return os.environ.get("LLM_GW_MODULES_DIR") or os.path.join(
        REPO_ROOT, "build", "stage-modules")


def missing_gateway_modules(directory=None, mock_provider=False):
    directory = directory or gateway_modules_dir()
    wanted = GATEWAY_MODULES + ((MOCK_MODULE,) if mock_provider else ())
    return [m for m in wanted
            if not os.path.exists(os.path.join(directory, m))]


def _child_user():
    """httpd's User/Group: www-data when we are root (as in production),
    else ourselves (httpd cannot switch users without root)."""
    if os.geteuid() == 0:
        for name in ("www-data", "apache", "daemon"):
            try:
                pw = pwd.getpwnam(name)
                return name, grp.getgrgid(pw.pw_gid).gr_name, pw.pw_uid, pw.pw_gid
            except KeyError:
                continue
    pw = pwd.getpwuid(os.geteuid())
    return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name, pw.pw_uid, pw.pw_gid


def provider_conf(mock_port, openai_key_file, anthropic_key_file,
                  host=LOOPBACK):
    """llm-gateway.d snippet: an OpenAI-type and an Anthropic-type provider,
    both balancers pointing at the mock provider, and model routes."""
    return """\
# Test providers: both balancers point at the suite's mock provider.
<Proxy balancer://testopenai>
    BalancerMember http://{host}:{port} timeout=30
</Proxy>
<Proxy balancer://testanthropic>
    BalancerMember http://{host}:{port} timeout=30
</Proxy>
LLMRouteProvider testopenai    openai    balancer://testopenai    key=file:{okey} prefix=/v1
LLMRouteProvider testanthropic anthropic balancer://testanthropic key=file:{akey} prefix=/v1
LLMRouteModel gpt-*            testopenai
LLMRouteModel o[0-9]*          testopenai
LLMRouteModel text-embedding-* testopenai
LLMRouteModel claude-*         testanthropic
""".format(host=host, port=mock_port, okey=openai_key_file,
           akey=anthropic_key_file)


PLAIN_PROXY_CONF = """\
# Baseline: plain httpd mod_proxy_balancer + mod_oauth2 (the gateway's
# bearer-token verifier), no gateway modules.  Used to check the fixtures
# themselves and as the comparison point for benchmarks ("what does plain
# mod_proxy cost").
LoadModule proxy_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy.so
LoadModule proxy_http_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy_http.so
LoadModule slotmem_shm_module ${{LLM_GW_HTTPD_MODULES}}/mod_slotmem_shm.so
LoadModule proxy_balancer_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy_balancer.so
LoadModule lbmethod_byrequests_module ${{LLM_GW_HTTPD_MODULES}}/mod_lbmethod_byrequests.so
LoadModule headers_module ${{LLM_GW_HTTPD_MODULES}}/mod_headers.so
LoadModule authn_core_module ${{LLM_GW_HTTPD_MODULES}}/mod_authn_core.so
LoadModule authz_user_module ${{LLM_GW_HTTPD_MODULES}}/mod_authz_user.so
LoadModule oauth2_module ${{LLM_GW_HTTPD_MODULES}}/mod_oauth2.so

OAuth2TokenVerify jwk ${{LLM_GW_JWT_JWK}}
OAuth2TargetPass "envvars=on&headers=off&remote_user_claim=sub"

<Proxy balancer://plain>
    BalancerMember http://{host}:{port} timeout=30
</Proxy>
<Location /v1>
    AuthType oauth2
    <RequireAll>
        Require valid-user
        Require oauth2_claim iss:${{LLM_GW_JWT_ISSUER}}
        Require oauth2_claim aud:${{LLM_GW_JWT_AUDIENCE}}
    </RequireAll>
    RequestHeader set Authorization "Bearer {key}"
    ProxyPass balancer://plain/v1
</Location>
"""


def pgsql_dbd_conf(pg):
    """llm-gateway.d snippet: mod_dbd to the test PostgreSQL."""
    return """\
# Audit database: the suite's PostgreSQL.
DBDriver pgsql
DBDParams "{params}"
""".format(params=pg.dbd_params)


class GatewayServer:
    """One httpd with the gateway modules, built from the sample conf.

    Arguments:

    ``minter``       gwtest.tokens.TokenMinter whose RSA key httpd trusts
                     (as the JWK in LLM_GW_JWT_JWK)
    ``mock``         MockProvider the test providers point at (None: no
                     provider routes are added)
    ``pg``           PostgresServer for the audit database (None: the
                     sample's embedded default stays)
    ``gateway_d``    {filename: text} added to llm-gateway.d/ (replacing a
                     sample file of the same name; text None removes it)
    ``extra_conf``   text appended to the top-level httpd.conf, after the
                     sample (server-wide overrides such as LogLevel)
    ``defines``      extra/overriding Defines {name: value}
    ``log_level``    e.g. "info llm_route:trace2"; default from
                     LLM_GW_TEST_LOGLEVEL or the sample's own
    ``include_mock_provider``  keep the sample's built-in demo mock
                     (25-mock-provider.conf, models mock-*)
    ``plain_proxy``  replace llm-gateway.conf by plain mod_proxy +
                     mod_oauth2 to the mock (no gateway modules):
                     the fixtures' self-test and the benchmark baseline
    """

    def __init__(self, minter, mock=None, pg=None, base_dir=None,
                 modules_dir=None, gateway_d=None, extra_conf="",
                 defines=None, log_level=None, include_mock_provider=True,
                 plain_proxy=False, sample_mpm=False, env=None):
        self.minter = minter
        # Extra environment for httpd (e.g. TMPDIR, which APR's
        # apr_temp_dir_get reads first).
        self.env = dict(env or {})
        self.mock = mock
        self.pg = pg
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="llmgw-httpd-")
        self.modules_dir = modules_dir or gateway_modules_dir()
        self.gateway_d = dict(gateway_d or {})
        self.extra_conf = extra_conf
        self.extra_defines = dict(defines or {})
        self.log_level = log_level or os.environ.get("LLM_GW_TEST_LOGLEVEL")
        self.include_mock_provider = include_mock_provider
        self.plain_proxy = plain_proxy
        # Benchmarks measure the sample's MPM settings; the suite runs
        # many gateways at once and starts each small.
        self.sample_mpm = sample_mpm
        self.port = free_port()
        self.binary = httpd_binary()
        self.conf_root = os.path.join(self.base_dir, "conf")
        self.data_dir = os.path.join(self.base_dir, "data")
        self.keys_dir = os.path.join(self.data_dir, "keys")
        self.conf_file = os.path.join(self.base_dir, "httpd.conf")
        self.error_log = os.path.join(self.data_dir, "logs", "error.log")
        self.access_log = os.path.join(self.data_dir, "logs", "access.log")
        self.stderr_file = os.path.join(self.data_dir, "logs", "stderr.log")
        (self.user, self.group, self.uid, self.gid) = _child_user()
        self.openai_key = "sk-test-openai-" + os.urandom(12).hex()
        self.anthropic_key = "sk-ant-test-" + os.urandom(12).hex()
        self.openai_key_file = os.path.join(self.keys_dir, "openai.key")
        self.anthropic_key_file = os.path.join(self.keys_dir, "anthropic.key")
        self.sqlite_path = os.path.join(self.data_dir, "db", "audit.db")
        # gateway.audit.query(...) / rows_for_user_agent(...): the audit
        # table in PostgreSQL when pg is given, else the embedded SQLite.
        self.audit = PgAudit(pg) if pg is not None else SqliteAudit(
            self.sqlite_path)
        self.proc = None
        self._built = False

    # -- building the ServerRoot ---------------------------------------------

    @property
    def defines(self):
        d = {
            "LLM_GW_ROOT": self.conf_root,
            "LLM_GW_DATA": self.data_dir,
            "LLM_GW_LISTEN": "%s:%d" % (LOOPBACK, self.port),
            "LLM_GW_SELF": "%s:%d" % (LOOPBACK, self.port),
            "LLM_GW_USER": self.user,
            "LLM_GW_GROUP": self.group,
            "LLM_GW_MODULES": self.modules_dir,
            "LLM_GW_HTTPD_MODULES": httpd_modules_dir(),
            # The development key as mod_oauth2 takes it (10-auth.conf).
            "LLM_GW_JWT_JWK": json.dumps(jwk_for(self.minter.rsa_key),
                                         separators=(",", ":")),
            "LLM_GW_JWT_ISSUER": self.minter.issuer,
            "LLM_GW_JWT_AUDIENCE": self.minter.audience,
        }
        if self.include_mock_provider:
            d["LLM_GW_MOCK_PROVIDER"] = "1"
        d.update(self.extra_defines)
        return d

    def build(self):
        """Write the ServerRoot; idempotent (rewrites the conf files)."""
        os.chmod(self.base_dir, 0o755)
        if os.path.isdir(self.conf_root):
            shutil.rmtree(self.conf_root)
        shutil.copytree(REPO_CONF, self.conf_root,
                        ignore=shutil.ignore_patterns("Makefile*", "*.in"))
        confd = os.path.join(self.conf_root, "llm-gateway.d")
        os.makedirs(confd, exist_ok=True)
        for name in SAMPLE_FILES_REPLACED:
            if name == "25-mock-provider.conf" and self.include_mock_provider:
                continue
            path = os.path.join(confd, name)
            if os.path.exists(path):
                os.unlink(path)
        files = {}
        if self.mock is not None:
            files["20-test-providers.conf"] = provider_conf(
                self.mock.port, self.openai_key_file, self.anthropic_key_file)
        if self.pg is not None:
            files["90-test-audit-db.conf"] = pgsql_dbd_conf(self.pg)
        files.update(self.gateway_d)
        for name, text in files.items():
            path = os.path.join(confd, name)
            if text is None:
                if os.path.exists(path):
                    os.unlink(path)
                continue
            with open(path, "w") as f:
                f.write(text)

        if self.plain_proxy:
            with open(os.path.join(self.conf_root, "llm-gateway.conf"),
                      "w") as f:
                f.write(PLAIN_PROXY_CONF.format(
                    host=LOOPBACK,
                    port=self.mock.port if self.mock else 9,
                    key=self.openai_key))

        # The same layout as scripts/run-gateway's data directory.
        for sub in ("logs", "run", "htdocs", "keys", "db", "spool"):
            os.makedirs(os.path.join(self.data_dir, sub), exist_ok=True)
        self._write_key(os.path.join(self.keys_dir, "oidc-passphrase"),
                        os.urandom(16).hex())
        self._write_key(os.path.join(self.keys_dir, "mock-provider.key"),
                        "sk-mock-" + os.urandom(8).hex())
        self._write_key(self.openai_key_file, self.openai_key)
        self._write_key(self.anthropic_key_file, self.anthropic_key)
        # The child user writes the audit spool / SQLite db under data/.
        os.chmod(self.data_dir, 0o755)
        for root, dirs, names in os.walk(self.data_dir):
            if root.startswith(self.keys_dir):
                continue
            for n in dirs + names:
                p = os.path.join(root, n)
                if not p.startswith(self.keys_dir):
                    os.chown(p, self.uid, self.gid)
            os.chown(root, self.uid, self.gid)
        if self.pg is None and os.path.exists(SQLITE_SCHEMA):
            init_sqlite(self.sqlite_path, SQLITE_SCHEMA, self.uid, self.gid)

        lines = ["# Generated by tests/integration/gwtest/httpd.py"]
        for k, v in self.defines.items():
            # A JWK is JSON: its double quotes go in single quotes.
            q = "'" if '"' in str(v) else '"'
            lines.append('Define %s %s%s%s' % (k, q, v, q))
        lines.append('Include "%s"' % os.path.join(self.conf_root,
                                                   "httpd-standalone.conf"))
        # The suite runs many gateways on two cores: each starts a small
        # pool (the sample starts every thread up front, for streams),
        # with spare scoreboard slots for gracefuls as the sample has
        # (ServerLimit 4x the 4 processes MaxRequestWorkers needs).
        if not self.sample_mpm:
            lines.append("<IfModule mpm_event_module>\n"
                         "    ServerLimit 16\n    StartServers 2\n"
                         "    ThreadsPerChild 64\n    MaxRequestWorkers 256\n"
                         "    MinSpareThreads 64\n"
                         "    MaxSpareThreads 256\n</IfModule>")
        if self.log_level:
            lines.append("LogLevel %s" % self.log_level)
        if self.extra_conf:
            lines.append(self.extra_conf)
        with open(self.conf_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        self._built = True
        return self

    def _write_key(self, path, value):
        """Secrets: root-owned, readable by the child's group only."""
        with open(path, "w") as f:
            f.write(value + "\n")
        os.chmod(path, 0o640)
        os.chown(path, 0, self.gid) if os.geteuid() == 0 else None

    # -- running ---------------------------------------------------------------

    @property
    def url(self):
        return "http://%s:%d" % (LOOPBACK, self.port)

    def client(self, timeout=30.0):
        return GatewayClient(LOOPBACK, self.port, timeout)

    def check_config(self):
        """``apache2 -t`` on this ServerRoot: (returncode, output)."""
        if not self._built:
            self.build()
        proc = subprocess.run([self.binary, "-t", "-f", self.conf_file],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=60)
        return proc.returncode, proc.stdout

    def start(self, timeout=20.0):
        missing = missing_gateway_modules(self.modules_dir,
                                          self.include_mock_provider)
        if missing and not self.plain_proxy:
            raise RuntimeError(
                "gateway modules %s not found in %s: build them first "
                "(make && stage into build/stage-modules) or set "
                "LLM_GW_MODULES_DIR" % (", ".join(missing), self.modules_dir))
        if not self._built:
            self.build()
        stderr = open(self.stderr_file, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "-f", self.conf_file, "-DFOREGROUND"],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
            start_new_session=True, cwd=self.base_dir,
            env=dict(os.environ, **self.env) if self.env else None)
        stderr.close()
        # A script (or a crashed session) that forgets stop() must not leave
        # httpd running on a shared machine: it dies with this process.
        atexit.register(self.stop)
        ok = wait_for_http(self.port, timeout,
                           alive=lambda: self.proc.poll() is None)
        if not ok:
            rc = self.proc.poll()
            self.stop()
            raise RuntimeError(
                "httpd did not start (exit status %s)\n--- stderr ---\n%s\n"
                "--- error_log ---\n%s" % (rc, self._read(self.stderr_file),
                                           self.error_log_tail()))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """Stop httpd and every child (the whole process group)."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Children that outlived the parent (or a hung parent): kill them.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def _generation_count(self):
        return self._read(self.error_log).count("resuming normal operations")

    def _signal_and_wait(self, sig, timeout):
        before = self._generation_count()
        os.kill(self.proc.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._generation_count() > before:
                return
            if not self.running():
                break
            time.sleep(0.05)
        raise RuntimeError("httpd did not come back after signal %d\n%s"
                           % (sig, self.error_log_tail()))

    def graceful(self, rebuild=False, timeout=20.0):
        """Graceful restart (SIGUSR1): in-flight requests finish; config and
        provider keys are re-read.  ``rebuild`` rewrites the conf first (after
        changing ``gateway_d`` etc.)."""
        if rebuild:
            self.build()
        self._signal_and_wait(signal.SIGUSR1, timeout)

    def restart(self, rebuild=False, timeout=20.0):
        """Hard restart (SIGHUP): children are killed, the parent stays."""
        if rebuild:
            self.build()
        self._signal_and_wait(signal.SIGHUP, timeout)

    def destroy(self):
        self.stop()
        if os.environ.get("LLM_GW_KEEP_TMP") != "1":
            shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- logs ------------------------------------------------------------------

    @staticmethod
    def _read(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def error_log_tail(self, lines=60):
        return "".join(self._read(self.error_log).splitlines(True)[-lines:])

    def error_log_text(self):
        return self._read(self.error_log)

    def access_log_text(self):
        return self._read(self.access_log)
