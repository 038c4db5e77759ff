"""The RPM as an httpd admin meets it (issue 14): built from the `make dist`
tarball, installed into a scratch root with `rpm --root`, upgraded over an
edited policy, a deleted policy and a policy switched off in site.conf, and
the installed configuration checked with httpd -t using the scratch root's
paths (httpd's own modules are this host's: there is no Fedora httpd here).

Run as root (rpm --root sets owners):
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/rpm/test_rpm_install.py
Debian lacks the build requirements' package names, hence --nodeps.
"""

import glob
import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LLM_GW_BUILD_DIR") or os.path.join(TOP, "build")
HTTPD_UID = 48          # Fedora's apache user
SPEC_HTTPD_USER = "apache"


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    return p.returncode, p.stdout


def apxs(var):
    return run(["apxs", "-q", var])[1].strip()


def build_rpm(work, tarball, release, defines=()):
    top = os.path.join(work, "rpmbuild-%s" % release)
    cmd = ["rpmbuild", "-tb", "--nodeps", "--define", "_topdir " + top,
           "--define", "llm_release %s" % release]
    for d in defines:
        cmd += ["--define", d]
    rc, out = run(cmd + [tarball])
    assert rc == 0, out[-4000:]
    rpms = glob.glob(os.path.join(top, "RPMS", "*", "mod_llm_gateway-0*.rpm"))
    assert len(rpms) == 1, rpms
    return rpms[0]


@pytest.fixture(scope="module")
def work():
    if os.geteuid() != 0:
        pytest.fail("rpm --root installs need root (file owners)")
    d = tempfile.mkdtemp(prefix="llmgw-rpm-")
    os.chmod(d, 0o755)
    yield d
    if os.environ.get("LLM_GW_KEEP_TMP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def rpms(work):
    """Release 2 from `make dist`; release 3 from the same tarball with
    60-quotas.conf changed (so the upgrade has a new version of an edited
    file to keep away from it)."""
    for old in glob.glob(os.path.join(BUILD, "mod_llm_gateway-*.tar.gz")):
        os.unlink(old)
    rc, out = run(["make", "-C", BUILD, "dist"])
    assert rc == 0, out[-3000:]
    tarball = glob.glob(os.path.join(BUILD, "mod_llm_gateway-*.tar.gz"))[0]
    r2 = build_rpm(work, tarball, 2, ["_httpd_mmn 20120211x8664"])
    src = os.path.join(work, "src3")
    os.makedirs(src)
    with tarfile.open(tarball) as t:
        t.extractall(src)
    top = glob.glob(os.path.join(src, "mod_llm_gateway-*"))[0]
    quotas = os.path.join(top, "conf", "llm-gateway.d", "60-quotas.conf")
    with open(quotas, "a") as f:
        f.write("# Release 3 of this file.\n")
    tarball3 = os.path.join(work, os.path.basename(tarball))
    with tarfile.open(tarball3, "w:gz") as t:
        t.add(top, arcname=os.path.basename(top))
    r3 = build_rpm(work, tarball3, 3)
    return r2, r3


def qp(rpm, fmt):
    rc, out = run(["rpm", "-qp", "--qf", fmt, rpm])
    assert rc == 0, out
    return out


def files_of(rpm):
    """{path: (user, group, mode, flags)} from the package header."""
    out = qp(rpm, "[%{FILENAMES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t"
                  "%{FILEMODES:octal}\t%{FILEFLAGS:fflags}\n]")
    res = {}
    for line in out.splitlines():
        path, user, group, mode, flags = line.split("\t")
        res[path] = (user, group, int(mode, 8) & 0o7777, flags)
    return res



def test_package_layout(rpms):
    r2, r3 = rpms
    f = files_of(r2)
    moddir = apxs("LIBEXECDIR")         # derived at build time (apxs)
    for m in ("mod_llm_scan.so", "mod_llm_route.so", "mod_llm_audit.so"):
        assert os.path.join(moddir, m) in f
    assert not [p for p in f if p.endswith(".la")], "libtool .la shipped"
    # The local mock provider is test equipment: neither its module nor
    # its configuration file is packaged.
    assert not [p for p in f if "mock" in os.path.basename(p)], \
        [p for p in f if "mock" in os.path.basename(p)]
    for tool in ("llm-scan", "llm-audit-verify", "llm-audit-decrypt",
                 "llm-token"):
        assert "/usr/bin/" + tool in f
    # httpd's own directories, as Fedora's mod_* packages use them.
    assert f["/etc/httpd/conf.modules.d/10-llm_gateway.conf"][3] == "cn"
    assert f["/etc/httpd/conf.d/llm-gateway.conf"][3] == "cn"
    # Every configuration file is %config(noreplace); SQL schemas are not.
    for p, (_, _, _, flags) in f.items():
        if p.startswith("/etc/llm-gateway/") and p.endswith(".conf"):
            assert flags == "cn", (p, flags)
    assert f["/etc/llm-gateway/site.conf"][3] == "cn"
    assert f["/etc/llm-gateway/sql/postgresql.sql"][3] == ""
    # The data directory belongs to httpd's user.
    assert f["/var/lib/llm-gateway"][:3] == ("apache", "apache", 0o750)
    assert f["/var/lib/llm-gateway/db"][:3] == ("apache", "apache", 0o750)
    assert f["/var/lib/llm-gateway/spool"][:3] == ("apache", "apache", 0o750)
    assert f["/var/lib/llm-gateway/keys"][:3] == ("root", "apache", 0o750)
    # Tied to the httpd module ABI when httpd-devel's macro says which.
    requires = qp(r2, "[%{REQUIRENAME} = %{REQUIREVERSION}\n]")
    assert "httpd-mmn = 20120211x8664" in requires
    # mod_oauth2 verifies the callers' tokens; mod_auth_openidc is for the
    # optional self-service page only.
    assert "mod_oauth2 = " in requires and "mod_auth_openidc" not in requires
    assert "mod_auth_openidc" in qp(r2, "[%{SUGGESTNAME}\n]")
    assert "httpd-mmn" not in qp(r3, "[%{REQUIRENAME}\n]")


def scratch_root(work, name):
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "apache:x:%d:%d:Apache:/usr/share/httpd:/sbin/nologin\n"
                % (HTTPD_UID, HTTPD_UID))
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\napache:x:%d:\n" % HTTPD_UID)
    rc, out = run(["rpm", "--root", root, "--initdb"])
    assert rc == 0, out
    return root


def rpm_root(root, *args):
    nodeps = ["--nodeps"] if args[0] in ("-i", "-U", "-V") else []
    rc, out = run(["rpm", "--root", root] + nodeps + list(args))
    assert rc == 0, out
    return out


def read(root, path):
    with open(root + path) as f:
        return f.read()


def fedora_conf(root, enable=True, jwks=True):
    """A Fedora-like httpd.conf for the scratch root: conf.modules.d/ and
    conf.d/ included as Fedora's httpd.conf does, paths in the root."""
    lines = [
        'ServerRoot "%s/etc/httpd"' % root,
        "ServerName localhost",
        'DefaultRuntimeDir "%s/run"' % root,
        'PidFile "%s/run/httpd.pid"' % root,
        'ErrorLog "%s/run/error_log"' % root,
        "Listen 127.0.0.1:1",
        # What Fedora's 00-*.conf load, from this host's httpd.
        "LoadModule mpm_event_module %s/mod_mpm_event.so" % apxs("LIBEXECDIR"),
        "LoadModule authz_core_module %s/mod_authz_core.so" % apxs("LIBEXECDIR"),
        "LoadModule authz_host_module %s/mod_authz_host.so" % apxs("LIBEXECDIR"),
        "LoadModule info_module %s/mod_info.so" % apxs("LIBEXECDIR"),
        "Define LLM_GW_ROOT %s/etc/llm-gateway" % root,
        "Define LLM_GW_DATA %s/var/lib/llm-gateway" % root,
        "Define LLM_GW_MODULES %s%s" % (root, apxs("LIBEXECDIR")),
        "Define LLM_GW_CA_BUNDLE %s/etc/pki/tls/certs/ca-bundle.crt" % root,
    ]
    if enable:
        lines.append("Define LLM_GW_ENABLE")
    if jwks:
        lines.append("Define LLM_GW_JWKS_URI https://idp.example.com/certs")
    lines += ['Include "%s/etc/httpd/conf.modules.d/*.conf"' % root,
              'IncludeOptional "%s/etc/httpd/conf.d/*.conf"' % root]
    path = os.path.join(root, "etc", "httpd", "conf", "httpd.conf")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.makedirs(os.path.join(root, "run"), exist_ok=True)
    ca = os.path.join(root, "etc", "pki", "tls", "certs", "ca-bundle.crt")
    os.makedirs(os.path.dirname(ca), exist_ok=True)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", ca)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def httpd(conf, *args):
    binary = os.path.join(apxs("SBINDIR"), apxs("PROGNAME"))
    return run([binary, "-f", conf] + list(args))


def dump_config(conf):
    rc, out = httpd(conf, "-t", "-D", "DUMP_CONFIG")
    assert rc == 0, out
    return out


def test_install_owners_modes_and_paths(work, rpms):
    r2, _ = rpms
    root = scratch_root(work, "fresh")
    rpm_root(root, "-i", r2)
    st = os.stat(root + "/var/lib/llm-gateway")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == \
        (HTTPD_UID, HTTPD_UID, 0o750)
    st = os.stat(root + "/var/lib/llm-gateway/keys")
    assert (st.st_uid, st.st_gid) == (0, HTTPD_UID)
    assert not glob.glob(root + apxs("LIBEXECDIR") + "/*.la")
    # Paths were derived at build time: no Debian leftovers.
    gw = read(root, "/etc/llm-gateway/llm-gateway.conf")
    assert "Define LLM_GW_ROOT /etc/llm-gateway" in gw
    assert "Define LLM_GW_DATA /var/lib/llm-gateway" in gw
    assert "Define LLM_GW_CA_BUNDLE /etc/pki/tls/certs/ca-bundle.crt" in gw
    assert "Define LLM_GW_HTTPD_MODULES %s" % apxs("LIBEXECDIR") in gw
    assert "Define LLM_GW_USER apache" in read(
        root, "/etc/llm-gateway/httpd-standalone.conf")
    assert "Define LLM_GW_MODULES %s" % apxs("LIBEXECDIR") in read(
        root, "/etc/httpd/conf.modules.d/10-llm_gateway.conf")
    for path in glob.glob(root + "/etc/**/*.conf", recursive=True):
        text = read("", path)
        assert "www-data" not in text, path
        assert "ca-certificates.crt" not in text, path
    # rpm -V: nothing changed after install.
    rpm_root(root, "-V", "mod_llm_gateway")


def test_installed_configuration_checks(work, rpms):
    r2, _ = rpms
    root = scratch_root(work, "check")
    rpm_root(root, "-i", r2)

    # Installing changes nothing until the admin enables the gateway.
    conf = fedora_conf(root, enable=False)
    rc, out = httpd(conf, "-t", "-D", "DUMP_MODULES")
    assert rc == 0, out
    assert "llm_" not in out

    # Enabled, with the IdP's keys: the whole installed configuration
    # passes, with the modules, the endpoint, and neither the mock
    # provider nor the development-token verifier.
    conf = fedora_conf(root)
    rc, out = httpd(conf, "-t")
    assert rc == 0 and "Syntax OK" in out, out
    rc, out = httpd(conf, "-t", "-D", "DUMP_MODULES")
    for m in ("llm_scan_module", "llm_route_module", "llm_audit_module"):
        assert m in out
    cfg = dump_config(conf)
    assert "LLMGateway On" in cfg
    assert "OAuth2TokenVerify jwks_uri https://idp.example.com/certs" in cfg
    assert "OAuth2TokenVerify jwk " not in cfg
    assert "OIDCOAuth" not in cfg and "auth_openidc" not in cfg
    assert "llm-mock-provider" not in cfg and "mock-echo" not in cfg
    assert "LLMRouteQuota" in cfg and "LLMRouteAllowModels" in cfg
    # Not even when an admin defines the checkout's switch for it.
    rc, out = httpd(conf, "-t", "-D", "LLM_GW_MOCK_PROVIDER",
                    "-D", "DUMP_MODULES")
    assert rc == 0, out
    assert "llm_route_module" in out and "llm_mock_module" not in out, out

    # Enabled without any way to verify tokens: refused at -t, saying why.
    conf = fedora_conf(root, jwks=False)
    rc, out = httpd(conf, "-t")
    assert rc != 0
    assert "LLM_GW_JWKS_URI" in out, out


def test_upgrade_keeps_edited_and_switched_off_policies(work, rpms):
    r2, r3 = rpms
    root = scratch_root(work, "upgrade")
    rpm_root(root, "-i", r2)
    d = root + "/etc/llm-gateway/llm-gateway.d/"
    # The admin edits a policy, deletes one, and switches one off the
    # documented way.
    with open(d + "60-quotas.conf") as f:
        quotas = f.read().replace("requests/minute 1200",
                                  "requests/minute 77")
    with open(d + "60-quotas.conf", "w") as f:
        f.write(quotas)
    os.unlink(d + "40-scan.conf")
    site = read(root, "/etc/llm-gateway/site.conf").replace(
        "#Define LLM_GW_NO_MODEL_ACCESS", "Define LLM_GW_NO_MODEL_ACCESS")
    with open(root + "/etc/llm-gateway/site.conf", "w") as f:
        f.write(site)

    rpm_root(root, "-U", r3)
    assert "mod_llm_gateway-0.1.0-3" in rpm_root(root, "-q",
                                                 "mod_llm_gateway")
    # The edit is kept; the new version waits beside it.
    assert read(root, "/etc/llm-gateway/llm-gateway.d/60-quotas.conf") == quotas
    assert "Release 3" in read(
        root, "/etc/llm-gateway/llm-gateway.d/60-quotas.conf.rpmnew")
    # The switch in site.conf survives, and the policy stays off ...
    assert "\nDefine LLM_GW_NO_MODEL_ACCESS" in read(
        root, "/etc/llm-gateway/site.conf")
    cfg = dump_config(fedora_conf(root))
    assert "LLMRouteAllowModels" not in cfg
    assert "LLMRouteQuota user requests/minute 77" in cfg
    # ... while the deleted file came back with the upgrade: why site.conf
    # holds the switches.
    assert os.path.exists(d + "40-scan.conf")
