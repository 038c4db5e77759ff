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
. ../npm-pinned.sh
npm_pinned_begin "$here/install.sh" "client tests" "$@"

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

npm_pinned_done
