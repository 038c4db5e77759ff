"""The Debian/Ubuntu package (issue 14), built the way the RPM is: from
the `make dist` tarball with the project's debian/ directory, laid out as
Debian packages httpd modules (mods-available/llm_gateway.{load,conf}, not
enabled on installation, tied to the httpd module ABI), its configuration
checked with httpd -t as `a2enmod llm_gateway` would load it, using the
extracted package's paths.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/deb
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
PKG = "libapache2-mod-llm-gateway"


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    return p.returncode, p.stdout


def apxs(var):
    return run(["apxs", "-q", var])[1].strip()


@pytest.fixture(scope="module")
def deb():
    if not shutil.which("dpkg-buildpackage"):
        pytest.fail("dpkg-buildpackage missing (dpkg-dev, debhelper)")
    work = tempfile.mkdtemp(prefix="llmgw-deb-")
    for old in glob.glob(os.path.join(BUILD, "mod_llm_gateway-*.tar.gz")):
        os.unlink(old)
    rc, out = run(["make", "-C", BUILD, "dist"])
    assert rc == 0, out[-3000:]
    tarball = glob.glob(os.path.join(BUILD, "mod_llm_gateway-*.tar.gz"))[0]
    with tarfile.open(tarball) as t:
        t.extractall(work)
    src = glob.glob(os.path.join(work, "mod_llm_gateway-*"))[0]
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    rc, out = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src,
                  env=env)
    assert rc == 0, out[-4000:]
    path = glob.glob(os.path.join(work, PKG + "_*.deb"))[0]
    root = os.path.join(work, "root")
    ctl = os.path.join(work, "control")
    assert run(["dpkg-deb", "-x", path, root])[0] == 0
    assert run(["dpkg-deb", "-e", path, ctl])[0] == 0
    yield path, root, ctl
    if os.environ.get("LLM_GW_KEEP_TMP") != "1":
        shutil.rmtree(work, ignore_errors=True)


def read(path):
    with open(path) as f:
        return f.read()


def test_package_layout(deb):
    path, root, ctl = deb
    rc, depends = run(["dpkg-deb", "-f", path, "Depends"])
    # The httpd module ABI, as dh_apache2 ties Debian's module packages.
    assert "apache2-api-20120211" in depends, depends
    # mod_oauth2 verifies the callers' tokens; mod_auth_openidc is for the
    # optional self-service page only.
    assert "libapache2-mod-oauth2" in depends
    assert "libapache2-mod-auth-openidc" not in depends
    rc, suggests = run(["dpkg-deb", "-f", path, "Suggests"])
    assert "libapache2-mod-auth-openidc" in suggests, suggests
    moddir = root + apxs("LIBEXECDIR")
    for m in ("mod_llm_scan.so", "mod_llm_route.so", "mod_llm_audit.so"):
        assert os.path.exists(os.path.join(moddir, m))
    assert not glob.glob(moddir + "/*.la")
    # The local mock provider is test equipment: neither its module nor
    # its configuration file is packaged.
    mock = [p for p in glob.glob(root + "/**", recursive=True)
            if "mock" in os.path.basename(p)]
    assert not mock, mock
    for tool in ("llm-scan", "llm-audit-verify", "llm-audit-decrypt",
                 "llm-token"):
        assert os.path.exists(root + "/usr/bin/" + tool)
    # Every file under /etc is a conffile: dpkg keeps the admin's edits,
    # and the admin's deletions, across upgrades.
    conffiles = set(read(os.path.join(ctl, "conffiles")).split())
    etc = {p[len(root):] for p in glob.glob(root + "/etc/**", recursive=True)
           if os.path.isfile(p)}
    assert etc == conffiles, etc ^ conffiles
    assert "/etc/apache2/mods-available/llm_gateway.load" in conffiles
    assert "/etc/apache2/mods-available/llm_gateway.conf" in conffiles
    assert "/etc/llm-gateway/site.conf" in conffiles
    # Not enabled on installation; the data directory for www-data.
    postinst = read(os.path.join(ctl, "postinst"))
    assert "enmod" not in postinst
    assert "own www-data:www-data 0750 /var/lib/llm-gateway\n" in postinst
    assert "own root:www-data 0750 /var/lib/llm-gateway/keys" in postinst
    gw = read(root + "/etc/llm-gateway/llm-gateway.conf")
    assert "Define LLM_GW_CA_BUNDLE /etc/ssl/certs/ca-certificates.crt" in gw
    assert "Define LLM_GW_ROOT /etc/llm-gateway" in gw
    assert "Define LLM_GW_DATA /var/lib/llm-gateway" in gw
    assert "Define LLM_GW_USER www-data" in read(
        root + "/etc/llm-gateway/httpd-standalone.conf")


def debian_conf(root, jwks=True):
    """httpd.conf as Debian's apache2.conf reads an enabled module, with
    the extracted package's paths."""
    mods = apxs("LIBEXECDIR")
    lines = [
        'ServerRoot "%s/etc/apache2"' % root,
        "ServerName localhost",
        'DefaultRuntimeDir "%s/run"' % root,
        'PidFile "%s/run/apache2.pid"' % root,
        'ErrorLog "%s/run/error.log"' % root,
        "Listen 127.0.0.1:1",
        "LoadModule mpm_event_module %s/mod_mpm_event.so" % mods,
        "LoadModule authz_core_module %s/mod_authz_core.so" % mods,
        "LoadModule authz_host_module %s/mod_authz_host.so" % mods,
        "LoadModule info_module %s/mod_info.so" % mods,
        "Define LLM_GW_ROOT %s/etc/llm-gateway" % root,
        "Define LLM_GW_DATA %s/var/lib/llm-gateway" % root,
        "Define LLM_GW_MODULES %s%s" % (root, mods),
    ]
    if jwks:
        lines.append("Define LLM_GW_JWKS_URI https://idp.example.com/certs")
    lines += ['Include "%s/etc/apache2/mods-available/llm_gateway.load"' % root,
              'Include "%s/etc/apache2/mods-available/llm_gateway.conf"' % root]
    os.makedirs(os.path.join(root, "run"), exist_ok=True)
    path = os.path.join(root, "httpd-test.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def httpd(conf, *args):
    return run([os.path.join(apxs("SBINDIR"), apxs("PROGNAME")), "-f", conf]
               + list(args))


def test_enabled_configuration_checks(deb):
    _, root, _ = deb
    conf = debian_conf(root)
    rc, out = httpd(conf, "-t")
    assert rc == 0 and "Syntax OK" in out, out
    rc, cfg = httpd(conf, "-t", "-D", "DUMP_CONFIG")
    assert rc == 0, cfg
    assert "LLMGateway On" in cfg
    assert "OAuth2TokenVerify jwks_uri https://idp.example.com/certs" in cfg
    assert "OAuth2TokenVerify jwk " not in cfg
    assert "OIDCOAuth" not in cfg and "auth_openidc" not in cfg
    assert "llm-mock-provider" not in cfg
    # Not even when an admin defines the checkout's switch for it.
    rc, out = httpd(conf, "-t", "-D", "LLM_GW_MOCK_PROVIDER",
                    "-D", "DUMP_MODULES")
    assert rc == 0, out
    assert "llm_route_module" in out and "llm_mock_module" not in out, out
    rc, out = httpd(debian_conf(root, jwks=False), "-t")
    assert rc != 0 and "LLM_GW_JWKS_URI" in out, out
