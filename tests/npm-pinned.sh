# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Sourced by the test folders' install.sh: an npm install exactly as pinned
# by the folder's package-lock.json, skipped when node_modules was made from
# the same lock (a stamp holding its checksum), one run at a time.
#
#   npm_pinned_begin SCRIPT WHAT [--force]
#       from the folder itself; exits 0 when nothing is to be done, else
#       returns holding the lock (SCRIPT is re-run under flock)
#   npm_pinned_done
#       after the folder's own checks passed: stamp it

npm_pinned_fresh() {
    [ "$npm_pinned_force" != "--force" ] && [ -f "$npm_pinned_stamp" ] \
        && [ "$(cat "$npm_pinned_stamp")" = "$npm_pinned_want" ]
}

npm_pinned_begin() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "install.sh: node and npm are needed for the $2" >&2
        exit 2
    fi
    npm_pinned_force=${3:-}
    npm_pinned_stamp=node_modules/.llm-gw-install-stamp
    npm_pinned_want=$(sha256sum package-lock.json | cut -d' ' -f1)
    npm_pinned_fresh && exit 0
    # Two test runs starting at once must not both install: flock when
    # present, then look again (the other run may just have finished).
    if command -v flock >/dev/null 2>&1 && [ -z "${LLM_GW_INSTALL_LOCKED:-}" ]; then
        LLM_GW_INSTALL_LOCKED=1 exec flock "$(dirname "$1")/.install.lock" \
            sh "$1" ${3:+"$3"}
    fi
    npm_pinned_fresh && exit 0
    return 0
}

npm_pinned_done() {
    echo "$npm_pinned_want" > "$npm_pinned_stamp"
}
