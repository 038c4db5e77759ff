"""Built-in rules seen through the gateway, on text as agents send it:
shell commands in Bash tool_use inputs and diffs of decorated code.  Each
case is what a user sees: a password in a command is refused before it
leaves; an added decorator line in a diff is not an e-mail address and
reaches the provider byte for byte.
"""

import pytest

import scan_helpers as sh


@pytest.fixture
def token(minter):
    return minter.mint(sub="scan-rules", groups=["developers"])


def bash_body(command):
    return sh.PLACEMENT_BY_NAME["messages.tool_use_input"].body(command)


@pytest.mark.parametrize("template", [
    "DB_PASSWORD={pw} ./app",
    "export DB_PASSWORD={pw}",
    "DB_PASSWORD={pw} npm start",
    "PGPASSWORD={pw} psql -h db.internal -U app orders",
    "MYSQL_PWD={pw} mysqldump --all-databases > dump.sql",
])
def test_password_in_shell_command_is_blocked(gateway, mock, token,
                                              user_agent, template):
    pw = sh.db_password()
    command = template.format(pw=pw)
    resp = sh.post(gateway, token, sh.MESSAGES, bash_body(command),
                   user_agent)
    sh.assert_blocked(resp, "anthropic", "PASSWORD", mock, values=[pw],
                      location="messages[1].content[1].input.command",
                      offset=command.index(pw), length=len(pw))


@pytest.mark.parametrize("lines", [
    ['+@app.route("/health")', "+def health():", '+    return "ok"'],
    ["+@pytest.fixture", "+def client(app):", "+    return app.test_client()"],
    ["-@pytest.fixture(scope='module')", "+@pytest.fixture(scope='session')"],
    ["+@dataclass(frozen=True)", "+class Point:"],
    ["+@Override", "+public String toString() {"],
])
def test_decorator_on_diff_line_is_not_an_email(gateway, mock, token,
                                                user_agent, lines):
    diff = ("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
            "@@ -10,3 +10,6 @@\n" + "\n".join(lines) + "\n")
    placement = sh.PLACEMENT_BY_NAME["messages.tool_result_string"]
    raw = sh.dumps(placement.body(diff))
    resp = sh.post(gateway, token, sh.MESSAGES, raw, user_agent)
    assert resp.status == 200, resp
    got = sh.forwarded(mock)
    assert got.body == raw, "the diff was rewritten: %r" % got.body[-300:]
    sh.assert_audit(gateway, user_agent, "allow")
