"""The local mock provider is a module of its own (mod_llm_mock): loaded
only where LLM_GW_MOCK_PROVIDER is defined, answering with no gateway
module beside it, and absent from the gateway's own modules (so that a
gateway without the define has no mock, whatever its configuration says).
The packages' side (neither the module nor its file is shipped) is checked
by tests/rpm and tests/deb."""

import subprocess
import time

import pytest

from gwtest.httpd import GatewayServer

MOCK_NOTE = "[local mock provider, not a real model] You said: "
MOCK_ALONE_CONF = """
LoadModule llm_mock_module ${LLM_GW_MODULES}/mod_llm_mock.so
<Location /__mock-provider>
    SetHandler llm-mock-provider
    Require ip 127.0.0.1 ::1
</Location>
"""
# A gateway's configuration naming the mock's handler without the module.
HANDLER_ONLY_CONF = """
<Location /__mock-provider>
    SetHandler llm-mock-provider
    Require ip 127.0.0.1 ::1
</Location>
"""


def chat(text, model="mock-echo"):
    return {"model": model,
            "messages": [{"role": "user", "content": text}]}


def loaded_modules(server):
    """The module names `httpd -t -D DUMP_MODULES` lists for its conf."""
    server.build()
    proc = subprocess.run([server.binary, "-t", "-D", "DUMP_MODULES", "-f",
                           server.conf_file], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    return {line.split()[0] for line in proc.stdout.splitlines()
            if line.startswith(" ") and "_module" in line}


def wait_for_log(server, needle, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in server.error_log_text():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def mock_alone(minter):
    """httpd with mod_llm_mock and none of the gateway's modules (the plain
    baseline's configuration, which loads no mod_llm_*)."""
    g = GatewayServer(minter, plain_proxy=True, include_mock_provider=False,
                      pg=None, extra_conf=MOCK_ALONE_CONF)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_mock_module_loads_without_the_gateway_modules(mock_alone):
    llm = sorted(m for m in loaded_modules(mock_alone) if "llm_" in m)
    assert llm == ["llm_mock_module"], llm


@pytest.mark.parametrize("path,dialect", [
    ("/__mock-provider/v1/chat/completions", "openai"),
    ("/__mock-provider/v1/messages", "anthropic")])
def test_mock_module_answers_alone(mock_alone, path, dialect):
    resp = mock_alone.client().post(path, chat("Hello alone"))
    assert resp.status == 200, resp
    body = resp.json()
    if dialect == "openai":
        text = body["choices"][0]["message"]["content"]
    else:
        text = body["content"][0]["text"]
    assert text == MOCK_NOTE + "Hello alone"


def test_mock_module_logs_why_it_refuses(mock_alone):
    resp = mock_alone.client().post(
        "/__mock-provider/v1/chat/completions", b"{not json",
        headers={"Content-Type": "application/json"})
    assert resp.status == 400, resp
    assert wait_for_log(mock_alone, "LLM04003: mock provider: the request "
                                    "body is not a JSON object")
    resp = mock_alone.client().post(
        "/__mock-provider/v1/chat/completions", b"[1, 2]",
        headers={"Content-Type": "application/json"})
    assert resp.status == 400, resp
    assert wait_for_log(mock_alone, "LLM04006: mock provider: the request "
                                    "body is JSON but not an object")
    resp = mock_alone.client().post("/__mock-provider/v1/nowhere",
                                    chat("x"))
    assert resp.status == 404, resp
    assert wait_for_log(mock_alone, "LLM04004: mock provider: no provider "
                                    "endpoint at /__mock-provider/v1/nowhere")


@pytest.fixture(scope="module")
def gateway_without_mock(minter):
    """The sample gateway without LLM_GW_MOCK_PROVIDER, its conf naming the
    mock's handler anyway."""
    g = GatewayServer(minter, pg=None, include_mock_provider=False,
                      extra_conf=HANDLER_ONLY_CONF)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_gateway_modules_carry_no_mock(gateway_without_mock):
    mods = loaded_modules(gateway_without_mock)
    for m in ("llm_scan_module", "llm_route_module", "llm_audit_module"):
        assert m in mods, mods
    assert "llm_mock_module" not in mods
    # The handler name alone answers nothing: no module of the gateway's
    # is a provider.
    resp = gateway_without_mock.client().post(
        "/__mock-provider/v1/chat/completions", chat("Anyone there?"))
    assert resp.status != 200, resp
    assert MOCK_NOTE.encode() not in resp.body


@pytest.fixture(scope="module")
def gateway_with_mock(minter):
    """The sample gateway as the quick start and the tests run it."""
    g = GatewayServer(minter, pg=None, include_mock_provider=True)
    try:
        g.start()
        yield g
    finally:
        g.destroy()


def test_sample_loads_the_mock_with_the_define(gateway_with_mock, minter):
    assert "llm_mock_module" in loaded_modules(gateway_with_mock)
    resp = gateway_with_mock.client().post(
        "/v1/chat/completions", chat("Through the gateway"),
        token=minter.mint(groups=["developers"]))
    assert resp.status == 200, resp
    assert resp.json()["choices"][0]["message"]["content"] == \
        MOCK_NOTE + "Through the gateway"
