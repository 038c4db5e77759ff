#!/bin/sh
# Install the real LLM clients the integration tests drive (openai and
# @anthropic-ai/sdk for Node, Claude Code, Codex CLI) into
# tests/clients/node_modules, exactly as pinned by package-lock.json.
#
# Idempotent and quick when nothing changed: the install is skipped when
# node_modules was made from the same package-lock.json (a stamp holding
# its checksum).  Needs node >= 20 and npm with access to the registry
# (set npm_config_registry for a mirror).  Exit status 0 when the clients
# are usable, non-zero (with npm's output) otherwise.
#
#   tests/clients/install.sh            install if needed
#   tests/clients/install.sh --force    reinstall
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: node and npm are needed for the client tests" >&2
    exit 2
fi

stamp=node_modules/.llm-gw-install-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)

if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] \
        && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

# Two test runs starting at once must not both install: flock when present.
lock="$here/.install.lock"
if command -v flock >/dev/null 2>&1 && [ -z "${LLM_GW_INSTALL_LOCKED:-}" ]; then
    # $0 may be relative to where we were called from: we cd'ed since.
    LLM_GW_INSTALL_LOCKED=1 exec flock "$lock" sh "$here/install.sh" "$@"
fi
# Re-check under the lock: another run may just have finished.
if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] \
        && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

# openai 7.x and Claude Code declare node >= 22 but work on node 20: do not
# let an engine-strict user config refuse them.
npm ci --no-audit --no-fund --engine-strict=false --loglevel=warn

# Claude Code's postinstall copies its native binary over a placeholder;
# an npm that skips install scripts leaves the placeholder.  Run it then.
if ! node_modules/.bin/claude --version >/dev/null 2>&1; then
    node node_modules/@anthropic-ai/claude-code/install.cjs
fi

node_modules/.bin/claude --version >/dev/null
node_modules/.bin/codex --version >/dev/null
node -e 'require("openai"); require("@anthropic-ai/sdk"); require("anthropic-sdk-0x")'

echo "$want" > "$stamp"
