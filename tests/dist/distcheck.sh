#!/bin/sh
# `make distcheck` as an unprivileged user: the release tarball builds, its
# tests pass, and install/uninstall stay inside the prefix and DESTDIR
# (nothing is written to the live httpd's module directory).  As root, the
# check runs as nobody on a copy of the tarball.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top/build"
rm -f mod_llm_gateway-*.tar.gz
make dist >dist.log 2>&1 || { tail -20 dist.log; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp mod_llm_gateway-*.tar.gz "$work/"
cd "$work"
tar xzf mod_llm_gateway-*.tar.gz
run=""
if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$work"
    chown -R nobody "$work"
    run="runuser -u nobody --"
fi
src=$(find "$work" -maxdepth 1 -type d -name 'mod_llm_gateway-*')
# shellcheck disable=SC2086
$run sh -c "cd '$src' && HOME='$work' ./configure >'$work/configure.log' 2>&1 \
    && HOME='$work' make distcheck >'$work/distcheck.log' 2>&1" || {
    echo "make distcheck failed as $(id -un)${run:+ (runuser -u nobody)}:" >&2
    tail -40 "$work/configure.log" "$work/distcheck.log" >&2; exit 1; }
grep "archives ready for distribution" "$work/distcheck.log"
