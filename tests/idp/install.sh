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
. ../npm-pinned.sh
npm_pinned_begin "$here/install.sh" "single sign-on tests" "$@"

# The browser is Debian's /usr/bin/chromium: never fetch one.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=warn

node --input-type=module -e 'await import("oidc-provider"); await import("playwright-core")'

npm_pinned_done
