#!/bin/sh
# Install the single sign-on test tools -- oidc-provider (the OpenID
# Provider the tests start, op.mjs) and playwright-core (drives Debian's
# chromium; it never downloads a browser) -- into tests/idp/node_modules,
# exactly as pinned by package-lock.json.
#
# Idempotent and quick when nothing changed: skipped when node_modules was
# made from the same package-lock.json (a stamp holding its checksum).
# Needs node >= 20 and npm with access to the registry (npm_config_registry
# for a mirror).  Exit status 0 when usable, non-zero with npm's output.
#
#   tests/idp/install.sh            install if needed
#   tests/idp/install.sh --force    reinstall
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: node and npm are needed for the single sign-on tests" >&2
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
    LLM_GW_INSTALL_LOCKED=1 exec flock "$lock" sh "$here/install.sh" "$@"
fi
if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] \
        && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

# The browser is Debian's /usr/bin/chromium: never fetch one.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=warn

node --input-type=module -e 'await import("oidc-provider"); await import("playwright-core")'

echo "$want" > "$stamp"
