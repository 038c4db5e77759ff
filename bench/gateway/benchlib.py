"""Shared pieces of the gateway benchmarks (bench.py, streams.py): the C
mock upstream, the three httpd set-ups, CPU and memory of a server's
processes from /proc.

The httpd set-ups reuse the integration harness (tests/integration/gwtest):
the same ServerRoot layout, the project's sample configuration
(conf/httpd-standalone.conf with its MPM settings, conf/llm-gateway.conf and
llm-gateway.d/), the same JWT keys.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from gwtest.httpd import GatewayServer  # noqa: E402
from gwtest.ports import LOOPBACK, free_port, wait_for_port  # noqa: E402
from gwtest.tokens import TokenMinter  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the upstream ------------------------------------------------------------

class CMock:
    """bench/gateway/mock_sse.c, compiled into a temp dir and started."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.binary = os.path.join(workdir, "mock_sse")
        self.port = free_port()
        self.proc = None

    def start(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        subprocess.run([cc, "-O2", "-Wall", "-o", self.binary,
                        os.path.join(HERE, "mock_sse.c")], check=True)
        self.proc = subprocess.Popen([self.binary, str(self.port)],
                                     stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, 5):
            raise RuntimeError("mock_sse did not start")
        return self

    @property
    def pids(self):
        return [self.proc.pid]

    @property
    def url(self):
        return "http://%s:%d" % (LOOPBACK, self.port)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(5)


class MockRef:
    """What GatewayServer needs of a mock: its port."""

    def __init__(self, port):
        self.port = port


# -- the servers ---------------------------------------------------------------

PLAIN_NOAUTH_CONF = """\
# Benchmark baseline: plain mod_proxy_balancer, no authentication, no
# gateway modules.
LoadModule proxy_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy.so
LoadModule proxy_http_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy_http.so
LoadModule slotmem_shm_module ${{LLM_GW_HTTPD_MODULES}}/mod_slotmem_shm.so
LoadModule proxy_balancer_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy_balancer.so
LoadModule lbmethod_byrequests_module ${{LLM_GW_HTTPD_MODULES}}/mod_lbmethod_byrequests.so
LoadModule headers_module ${{LLM_GW_HTTPD_MODULES}}/mod_headers.so

<Proxy balancer://plain>
    BalancerMember http://{host}:{port} timeout=30
</Proxy>
<Location /v1>
    Require all granted
    RequestHeader set Authorization "Bearer {key}"
    ProxyPass balancer://plain/v1
</Location>
"""


class PlainNoAuth(GatewayServer):
    """Plain httpd mod_proxy_balancer with the sample's MPM settings and
    logging, no authentication, no gateway modules."""

    def build(self):
        super().build()
        with open(os.path.join(self.conf_root, "llm-gateway.conf"), "w") as f:
            f.write(PLAIN_NOAUTH_CONF.format(host=LOOPBACK, port=self.mock.port,
                                             key=self.openai_key))
        return self


# The bearer-token check alone, by each module that can do it, in front of
# the same plain proxy: mod_auth_openidc's OAuth 2.0 mode (deprecated) and
# mod_oauth2 (its successor), each with the key from a file or from the
# IdP's JWKS (docs/identity.md, "mod_auth_openidc or mod_oauth2").
AUTH_PROXY_CONF = """\
LoadModule proxy_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy.so
LoadModule proxy_http_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy_http.so
LoadModule slotmem_shm_module ${{LLM_GW_HTTPD_MODULES}}/mod_slotmem_shm.so
LoadModule proxy_balancer_module ${{LLM_GW_HTTPD_MODULES}}/mod_proxy_balancer.so
LoadModule lbmethod_byrequests_module ${{LLM_GW_HTTPD_MODULES}}/mod_lbmethod_byrequests.so
LoadModule headers_module ${{LLM_GW_HTTPD_MODULES}}/mod_headers.so
LoadModule authn_core_module ${{LLM_GW_HTTPD_MODULES}}/mod_authn_core.so
LoadModule authz_user_module ${{LLM_GW_HTTPD_MODULES}}/mod_authz_user.so
{load}
<Proxy balancer://plain>
    BalancerMember http://{host}:{port} timeout=30
</Proxy>
<Location /v1>
    AuthType {authtype}
{verify}
    <RequireAll>
        Require valid-user
        Require {claim} iss:${{LLM_GW_JWT_ISSUER}}
        Require {claim} aud:${{LLM_GW_JWT_AUDIENCE}}
    </RequireAll>
    RequestHeader set Authorization "Bearer {key}"
    ProxyPass balancer://plain/v1
</Location>
"""


def auth_proxy_conf(kind, minter, jwks_url, mock_port, key):
    """llm-gateway.conf for plain_openidc_file, plain_openidc_jwks,
    plain_oauth2_file, plain_oauth2_jwks."""
    import json as _json
    sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
    from gwtest.jwks import jwk_for
    if kind.startswith("plain_openidc"):
        load = ("LoadModule auth_openidc_module "
                "${LLM_GW_HTTPD_MODULES}/mod_auth_openidc.so\n"
                "OIDCOAuthRemoteUserClaim sub\nOIDCPassClaimsAs environment\n")
        # Server-wide directives in mod_auth_openidc.
        if kind.endswith("file"):
            load += "OIDCOAuthVerifyCertFiles %s#%s\n" % (
                minter.rsa_key.kid, minter.rsa_key.cert_path)
        else:
            load += ("OIDCOAuthVerifyJwksUri %s\n"
                     "OIDCOAuthSSLValidateServer Off\n" % jwks_url)
        verify = ""
        authtype, claim = "oauth20", "claim"
    else:
        load = ("LoadModule oauth2_module "
                "${LLM_GW_HTTPD_MODULES}/mod_oauth2.so\n")
        if kind.endswith("file"):
            jwk = _json.dumps(jwk_for(minter.rsa_key), separators=(",", ":"))
            verify = ("    OAuth2TokenVerify jwk '%s' verify.exp=required"
                      % jwk)
        else:
            verify = ("    OAuth2TokenVerify jwks_uri %s "
                      "jwks_uri.ssl_verify=false&verify.exp=required"
                      % jwks_url)
        authtype, claim = "oauth2", "oauth2_claim"
    return AUTH_PROXY_CONF.format(load=load, host=LOOPBACK, port=mock_port,
                                  authtype=authtype, verify=verify,
                                  claim=claim, key=key)


class PlainAuth(GatewayServer):
    """Plain httpd mod_proxy_balancer behind one bearer-token module (see
    auth_proxy_conf), the sample's MPM settings and logging."""

    def __init__(self, *args, kind, jwks_url, **kwargs):
        self.kind = kind
        self.jwks_url = jwks_url
        super().__init__(*args, **kwargs)

    def build(self):
        super().build()
        with open(os.path.join(self.conf_root, "llm-gateway.conf"), "w") as f:
            f.write(auth_proxy_conf(self.kind, self.minter, self.jwks_url,
                                    self.mock.port, self.openai_key))
        return self


# The whole gateway with its bearer check before and after the switch to
# mod_oauth2 (docs/identity.md, "mod_auth_openidc or mod_oauth2"):
#   gateway_openidc_file  10-auth.conf as it was: mod_auth_openidc's oauth20,
#                         the development key from its certificate file
#   gateway_openidc_jwks  the same with the keys from the JWKS URI
#   gateway               the sample: mod_oauth2, the development key as a JWK
#   gateway_jwks          the sample with the keys from the JWKS URI only
OPENIDC_AUTH = """\
LoadModule auth_openidc_module ${{LLM_GW_HTTPD_MODULES}}/mod_auth_openidc.so
{verify}
OIDCOAuthAcceptTokenAs header
OIDCOAuthRemoteUserClaim sub
OIDCPassClaimsAs environment
LLMRouteApiKeyHeader On
<Location /v1>
    AuthType oauth20
    <RequireAll>
        Require valid-user
        Require claim iss:${{LLM_GW_JWT_ISSUER}}
        Require claim aud:${{LLM_GW_JWT_AUDIENCE}}
    </RequireAll>
</Location>
"""


class GatewayJwksOnly(GatewayServer):
    """The sample gateway without the development key: every token is
    verified against the JWKS URI, as in production."""

    @property
    def defines(self):
        d = dict(GatewayServer.defines.fget(self))
        d.pop("LLM_GW_JWT_JWK", None)
        d["LLM_GW_JWKS_URI"] = "unused-see-11-jwks.conf"
        return d


def gateway_auth_variant(kind, minter, jwks):
    """gateway_d entries for the before/after bearer-check variants."""
    if kind == "gateway_jwks":
        # The sample's jwks_uri line needs a trusted certificate; the
        # bench's JWKS server has a throw-away one.
        return {"10-auth.conf": open(os.path.join(
            REPO, "conf", "llm-gateway.d", "10-auth.conf")).read().replace(
                "jwks_uri.expiry=3600",
                "jwks_uri.ssl_verify=false&jwks_uri.expiry=3600").replace(
                "${LLM_GW_JWKS_URI}", jwks.url)}
    if kind == "gateway_openidc_file":
        verify = "OIDCOAuthVerifyCertFiles %s#%s" % (
            minter.rsa_key.kid, minter.rsa_key.cert_path)
    else:
        verify = ("OIDCOAuthVerifyJwksUri %s\nOIDCOAuthSSLValidateServer Off"
                  % jwks.url)
    return {"10-auth.conf": OPENIDC_AUTH.format(verify=verify)}


# The sample's per-user quotas (1200 requests/minute) would stop a
# benchmark's one user within seconds: same directives, limits out of reach,
# so that the quota bookkeeping is still paid for.
BENCH_QUOTAS = """\
LLMRouteQuota user requests/minute 1000000000
LLMRouteQuota user tokens/minute   1000000000000
LLMRouteQuota user tokens/day      1000000000000
"""


# Switches for the breakdown variants (gateway-noscan-noaudit, ...).
OFF = {"noscan": "LLMScan Off", "noaudit": "LLMAudit Off"}


# gateway-wal: the embedded SQLite audit in WAL mode without an fsync per
# row (what the sample could set; see docs/route-benchmark.md).
SQLITE_WAL = """\
DBDInitSQL "PRAGMA journal_mode=WAL"
DBDInitSQL "PRAGMA synchronous=NORMAL"
DBDInitSQL "PRAGMA busy_timeout=5000"
"""


def scan_conf_without(*directives):
    """The sample's 40-scan.conf less the lines of the given directives:
    gateway_base runs another build's modules, which may not know a
    directive the sample has gained since."""
    with open(os.path.join(REPO, "conf", "llm-gateway.d",
                           "40-scan.conf")) as f:
        return "".join(line for line in f
                       if line.split()[:1] not in ([d] for d in directives))


def make_servers(kinds, mock_port, workdir, extra_conf="", scan_cache=None):
    """{kind: started server} for kinds among plain, plain_auth, gateway,
    gateway_pg (audit in a PostgreSQL of its own), plain_openidc_file,
    plain_openidc_jwks, plain_oauth2_file, plain_oauth2_jwks.  scan_cache:
    an LLMScanCleanCache value for the gateway and its gateway-... variants
    (gateway-nocache: 0 whatever scan_cache says)."""
    minter = TokenMinter(os.path.join(workdir, "jwt"))
    servers = {}
    jwks = None
    if any(k.endswith("_jwks") for k in kinds):
        from gwtest.jwks import JwksServer
        jwks = JwksServer(minter).start()
    ref = MockRef(mock_port)
    for kind in kinds:
        base = tempfile.mkdtemp(prefix="llmgw-bench-%s-" % kind, dir=workdir)
        os.chmod(base, 0o755)
        if kind == "plain":
            s = PlainNoAuth(minter, mock=ref, plain_proxy=True, base_dir=base,
                            extra_conf=extra_conf, sample_mpm=True)
        elif kind == "plain_auth":
            s = GatewayServer(minter, mock=ref, plain_proxy=True,
                              base_dir=base, extra_conf=extra_conf,
                              sample_mpm=True)
        elif kind == "gateway_redis":
            # The same gateway with its quota counters in a redis-server
            # of its own (LLMRouteQuotaStore): the cost of a fleet.
            from gwtest.redis import RedisServer
            r = RedisServer(os.path.join(base, "redis"))
            r.argv_extra = ["--appendonly", "no"]
            r.start()
            s = GatewayServer(minter, mock=ref, pg=None, base_dir=base,
                              include_mock_provider=False,
                              gateway_d={"60-quotas.conf": BENCH_QUOTAS,
                                         "65-quota-store.conf":
                                         "LLMRouteQuotaStore redis://%s:%d/0"
                                         "\n" % (LOOPBACK, r.port)},
                              extra_conf=extra_conf, sample_mpm=True)
            s.bench_redis = r
        elif kind.startswith(("plain_openidc_", "plain_oauth2_")):
            s = PlainAuth(minter, mock=ref, plain_proxy=True, base_dir=base,
                          extra_conf=extra_conf, sample_mpm=True, kind=kind,
                          jwks_url=jwks.url if jwks else None)
        elif kind in ("gateway_jwks", "gateway_openidc_file",
                      "gateway_openidc_jwks"):
            gd = {"60-quotas.conf": BENCH_QUOTAS}
            gd.update(gateway_auth_variant(kind, minter, jwks))
            cls = GatewayJwksOnly if kind == "gateway_jwks" else GatewayServer
            s = cls(minter, mock=ref, pg=None, base_dir=base,
                    include_mock_provider=False, gateway_d=gd,
                    extra_conf=extra_conf, sample_mpm=True)
        elif kind == "gateway_base":
            # The sample gateway with the modules of another build
            # (LLM_GW_BASE_MODULES_DIR), to pair a change with what it
            # changes in one run: same mock, same body, same load.
            mdir = os.environ.get("LLM_GW_BASE_MODULES_DIR")
            if not mdir:
                raise ValueError("gateway_base needs LLM_GW_BASE_MODULES_DIR")
            s = GatewayServer(minter, mock=ref, pg=None, base_dir=base,
                              include_mock_provider=False, modules_dir=mdir,
                              gateway_d={"60-quotas.conf": BENCH_QUOTAS,
                                         "40-scan.conf": scan_conf_without(
                                             "LLMScanCleanCache")},
                              extra_conf=extra_conf, sample_mpm=True)
        elif kind.startswith("gateway") and kind != "gateway_pg":
            # gateway, or gateway-noscan / gateway-noaudit / ... to see
            # what each part costs.
            off = kind.split("-")[1:]
            gd = {"60-quotas.conf": BENCH_QUOTAS}
            if "wal" in off:
                off.remove("wal")
                gd["91-bench-wal.conf"] = SQLITE_WAL
            if "nocache" in off:
                off.remove("nocache")
                gd["98-bench-scan-cache.conf"] = "LLMScanCleanCache 0\n"
            elif scan_cache:
                gd["98-bench-scan-cache.conf"] = \
                    "LLMScanCleanCache %s\n" % scan_cache
            if off:
                gd["99-bench-off.conf"] = "<Location /v1>\n%s</Location>\n" % (
                    "".join("    %s\n" % OFF[o] for o in off))
            s = GatewayServer(minter, mock=ref, pg=None, base_dir=base,
                              include_mock_provider=False, gateway_d=gd,
                              extra_conf=extra_conf, sample_mpm=True)
        elif kind == "gateway_pg":
            from gwtest.pg import PostgresServer
            pg = PostgresServer()
            pg.init()
            pg.load_schema_file(os.path.join(REPO, "conf", "sql",
                                             "postgresql.sql"))
            pg.grant_gateway()
            s = GatewayServer(minter, mock=ref, pg=pg, base_dir=base,
                              include_mock_provider=False,
                              gateway_d={"60-quotas.conf": BENCH_QUOTAS},
                              extra_conf=extra_conf, sample_mpm=True)
            s.bench_pg = pg
        else:
            raise ValueError(kind)
        s.start()
        servers[kind] = s
    token = minter.mint(sub="bench-user", groups=["developers"],
                        lifetime=6 * 3600)
    return servers, token


def stop_servers(servers):
    for s in servers.values():
        s.stop()
        pg = getattr(s, "bench_pg", None)
        if pg is not None:
            pg.destroy()
        redis = getattr(s, "bench_redis", None)
        if redis is not None:
            redis.destroy()


def httpd_pids(server):
    """The httpd parent and its children (one process group)."""
    pgid = server.proc.pid
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            pids.append(int(d))
    return pids


# -- CPU and memory ------------------------------------------------------------

def cpu_seconds(pids, parent=None):
    """utime+stime of the processes, plus the reaped children's
    (cutime+cstime) of ``parent`` so that processes that ended during a
    run still count."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): utime=14, stime=15, cutime=16,
        # cstime=17 in proc(5) numbering.
        total += int(fields[11]) + int(fields[12])
        if pid == parent:
            total += int(fields[13]) + int(fields[14])
    return total / CLK_TCK


def rss_bytes(pids):
    """(sum of RSS, sum of PSS) over the processes, in bytes."""
    rss = pss = 0
    for pid in pids:
        try:
            with open("/proc/%d/statm" % pid) as f:
                rss += int(f.read().split()[1]) * PAGE
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return rss, pss


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def wait(seconds):
    time.sleep(seconds)
