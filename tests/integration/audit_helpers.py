"""Helpers for the mod_llm_audit integration tests (test_audit*.py).

- find_tool(): the built llm-audit-verify / llm-audit-decrypt
- verify(gateway): run llm-audit-verify against the gateway's audit table
  (PostgreSQL or SQLite) with the gateway's MAC key; returns (rc, output)
- an independent Python implementation of the row MAC (canonical bytes,
  HMAC-SHA256 chain), so tests can write valid rows of their own (for the
  retention test) and check the C code against a second reading of the
  format
- metrics(): the Prometheus exposition parsed into {(name, labels): value}
"""

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import urllib.request
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# Column order of the MAC (lib/audit/audit_record.c) and how
# each is normalised: i = integer, d = 9-decimal number, t = time, s = text.
FIELDS = [
    ("ts", "t"), ("request_id", "s"), ("chain_id", "s"), ("seq", "i"),
    ("prev_mac", "s"), ("server_name", "s"), ("user_name", "s"),
    ("user_groups", "s"), ("client_ip", "s"), ("user_agent", "s"),
    ("method", "s"), ("uri", "s"), ("endpoint", "s"), ("dialect", "s"),
    ("model_requested", "s"), ("model_used", "s"), ("provider", "s"),
    ("balancer", "s"), ("balancer_member", "s"), ("decision", "s"),
    ("reason", "s"), ("findings", "s"), ("finding_count", "i"),
    ("http_status", "i"), ("upstream_status", "i"), ("stream", "i"),
    ("bytes_in", "i"), ("bytes_out", "i"), ("tokens_in", "i"),
    ("tokens_out", "i"), ("tokens_cached", "i"), ("cost", "d"),
    ("latency_us", "i"), ("ttfb_us", "i"), ("body_mode", "s"),
    ("body", "s"), ("answer_body_mode", "s"), ("answer_body", "s"),
    ("cost_saved", "d"),
]
COLUMNS = [f for f, _ in FIELDS] + ["mac"]
ZERO_MAC = "0" * 64


def find_tool(name):
    """The built tool: $LLM_GW_AUDIT_TOOLS_DIR, $LLM_GW_BUILD_DIR/tools/
    llm-audit (scripts/test-all), <repo>/build/tools/llm-audit, then PATH.  Missing tools make the tests error, never skip."""
    candidates = []
    env = os.environ.get("LLM_GW_AUDIT_TOOLS_DIR")
    if env:
        candidates.append(os.path.join(env, name))
    build = os.environ.get("LLM_GW_BUILD_DIR")
    if build:
        candidates.append(os.path.join(build, "tools", "llm-audit", name))
    for build in ("build", "."):
        candidates.append(os.path.join(REPO_ROOT, build, "tools",
                                       "llm-audit", name))
    mods = os.environ.get("LLM_GW_MODULES_DIR")
    if mods:
        candidates.append(os.path.join(mods, name))
        candidates.append(os.path.join(mods, "..", "tools", "llm-audit",
                                       name))
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError("%s not built: set LLM_GW_AUDIT_TOOLS_DIR to the "
                       "directory holding it (tried %s)" % (name, candidates))


def key_file(gateway):
    return os.path.join(gateway.keys_dir, "audit-mac.key")


def read_key(gateway):
    with open(key_file(gateway)) as f:
        return bytes.fromhex(f.read().strip())


def db_args(gateway):
    """-d/-p for the tools: the superuser over the socket for PostgreSQL
    (an auditor role in production), the file for SQLite."""
    if gateway.pg is not None:
        pg = gateway.pg
        return ["-d", "pgsql", "-p",
                "host=%s port=%d dbname=%s user=%s" % (
                    pg.socket_dir, pg.port, pg.dbname, pg.superuser)]
    return ["-d", "sqlite3", "-p", gateway.sqlite_path]


def verify(gateway, *extra):
    """Small pages by default, so that every check also crosses page
    boundaries inside and between chains; pass --page-size to override."""
    extra = list(extra)
    if "--page-size" not in extra and "-s" not in extra:
        extra += ["--page-size", "3"]
    proc = subprocess.run(
        [find_tool("llm-audit-verify")] + db_args(gateway)
        + ["-k", key_file(gateway)] + extra,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    return proc.returncode, proc.stdout.decode(errors="replace")


def decrypt(gateway, body_key_file, request_id):
    proc = subprocess.run(
        [find_tool("llm-audit-decrypt")] + db_args(gateway)
        + ["-k", body_key_file, request_id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


# -- the MAC, independently --------------------------------------------------

def fmt_time(dt):
    """A datetime (tz-aware) the way the ts column is MACed."""
    import datetime
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + "%06dZ" % dt.microsecond


def normalise(kind, value):
    if value is None:
        return None
    if kind == "t" and not isinstance(value, str):
        return fmt_time(value)
    if kind == "i":
        return "%d" % int(value)
    if kind == "d":
        return "%.9f" % float(Decimal(str(value)))
    if not isinstance(value, str):
        import json
        return json.dumps(value, separators=(",", ":"))
    return value


def canonical(row):
    out = [b"llm-audit-v1\n"]
    for name, kind in FIELDS:
        v = normalise(kind, row.get(name))
        if v is None:
            continue
        b = v.encode()
        out.append(b"%s=%d:%s\n" % (name.encode(), len(b), b))
    return b"".join(out)


def row_mac(key, row):
    return hmac.new(key, (row["prev_mac"]).encode() + canonical(row),
                    hashlib.sha256).hexdigest()


def make_chain(key, chain_id, rows, start_seq=1, prev_mac=ZERO_MAC):
    """Give rows (dicts of column values) seq, prev_mac and mac."""
    seq = start_seq
    for row in rows:
        row["chain_id"] = chain_id
        row["seq"] = seq
        row["prev_mac"] = prev_mac
        row["mac"] = row_mac(key, row)
        prev_mac = row["mac"]
        seq += 1
    return rows


# -- metrics ------------------------------------------------------------------

_METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC.match(line)
        if not m:
            raise AssertionError("not Prometheus text: %r" % line)
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metrics(gateway, path="/llm-metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (gateway.port,
                                                          path),
                                timeout=10) as resp:
        assert resp.status == 200
        ctype = resp.headers.get("Content-Type", "")
        assert ctype.startswith("text/plain"), ctype
        return parse_metrics(resp.read().decode())


def metric_sum(m, name, **labels):
    """Sum of the series of metric name whose labels include labels."""
    total = 0.0
    for (n, lab), v in m.items():
        if n != name:
            continue
        d = dict(lab)
        if all(d.get(k) == str(v2) for k, v2 in labels.items()):
            total += v
    return total
