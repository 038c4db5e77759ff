"""Fixtures for the gateway's integration tests (see README.md here).

Real parts, started once per session where that is safe (PostgreSQL, the
mock provider, the signing keys) and once per test module for httpd (a
module's tests share one gateway configuration); tests that need another
configuration build their own with ``gateway_factory``.  Every server is
stopped by its fixture's finalizer, also when a test fails or the session
is interrupted.
"""

import os
import shutil
import sys
import tempfile
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gwtest.httpd import REPO_ROOT, GatewayServer  # noqa: E402
from gwtest.jwks import JwksServer  # noqa: E402
from gwtest.mock_provider import MockProvider  # noqa: E402
from gwtest.op import OpenIdProvider  # noqa: E402
from gwtest.pg import PostgresServer  # noqa: E402
from gwtest.tokens import TokenMinter  # noqa: E402

PG_SCHEMA = os.path.join(REPO_ROOT, "conf", "sql", "postgresql.sql")


@pytest.fixture(scope="session")
def session_tmp():
    """A temp dir for the whole session (keys, ServerRoots); removed at the
    end unless LLM_GW_KEEP_TMP=1."""
    d = tempfile.mkdtemp(prefix="llmgw-it-")
    os.chmod(d, 0o755)
    yield d
    if os.environ.get("LLM_GW_KEEP_TMP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def minter(session_tmp):
    """gwtest.tokens.TokenMinter: RS256 key httpd trusts (kid "dev"), an
    untrusted key, an ES256 key; ``minter.mint(...)`` makes tokens."""
    return TokenMinter(os.path.join(session_tmp, "jwt"))


@pytest.fixture(scope="session")
def jwks(minter):
    """An https JWKS endpoint with the minter's RS256 and ES256 keys; add
    ``jwks.httpd_conf()`` to a gateway's conf to verify ES256 tokens."""
    j = JwksServer(minter).start()
    yield j
    j.stop()


@pytest.fixture(scope="module")
def op():
    """A real OpenID Provider (gwtest.op.OpenIdProvider, oidc-provider from
    npm) on loopback; one per test module, since tests rotate its keys."""
    o = OpenIdProvider().start()
    yield o
    o.destroy()


@pytest.fixture(scope="session")
def postgres():
    """A running PostgreSQL with the audit schema (conf/sql/postgresql.sql,
    when present) loaded and the gateway role granted rights on it."""
    pg = PostgresServer()
    try:
        pg.init()
        pg.schema_loaded = False
        if os.path.exists(PG_SCHEMA):
            pg.load_schema_file(PG_SCHEMA)
            pg.schema_loaded = True
        pg.grant_gateway()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="session")
def mock_provider():
    """The session's MockProvider; tests use ``mock`` (reset per test)."""
    m = MockProvider().start()
    yield m
    m.stop()


@pytest.fixture
def mock(mock_provider):
    """The mock provider, reset before the test: no recorded requests, no
    scripted behaviours, default answers."""
    mock_provider.reset()
    yield mock_provider
    mock_provider.reset()


class GatewayFactory:
    """Builds extra gateways with their own configuration; all stopped at
    the end of the test.  ``make(**kwargs)`` takes GatewayServer's keyword
    arguments (minter, mock and pg default to the session's)."""

    def __init__(self, minter, mock, pg):
        self.defaults = dict(minter=minter, mock=mock, pg=pg)
        self.servers = []

    def make(self, start=True, **kwargs):
        args = dict(self.defaults)
        args.update(kwargs)
        g = GatewayServer(**args)
        self.servers.append(g)
        if start:
            g.start()
        return g

    def close(self):
        for g in self.servers:
            g.destroy()


@pytest.fixture
def gateway_factory(minter, mock_provider, postgres):
    f = GatewayFactory(minter, mock_provider, postgres)
    yield f
    f.close()


@pytest.fixture(scope="module")
def gateway(minter, mock_provider, postgres):
    """One gateway per test module: the sample configuration with the test
    providers (gpt-*, o*, text-embedding-* -> testopenai; claude-* ->
    testanthropic, both at the mock) and the audit in the test PostgreSQL."""
    g = GatewayServer(minter, mock=mock_provider, pg=postgres)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


@pytest.fixture
def client(gateway):
    return gateway.client()


@pytest.fixture
def user_agent(request):
    """A User-Agent unique to this test, to find its audit rows."""
    return "gwtest/%s/%s" % (request.node.name[:60], uuid.uuid4().hex[:12])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, show the httpd error_log tail and what the mock received:
    most integration failures are explained there."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {}) or {}
    servers = []
    for value in funcargs.values():
        if isinstance(value, GatewayServer):
            servers.append(value)
        elif isinstance(value, GatewayFactory):
            servers.extend(value.servers)
    seen = set()
    for g in servers:
        if id(g) in seen:
            continue
        seen.add(id(g))
        report.sections.append(("httpd error_log tail (%s)" % g.base_dir,
                                g.error_log_tail(80)))
    for value in funcargs.values():
        if isinstance(value, MockProvider):
            report.sections.append(("mock provider requests",
                                    value.summary()))
            break
