#!/bin/sh
# Install the Debian/Ubuntu packages a task needs, only those missing, so
# that running it again costs nothing.  Usage: scripts/deps.sh build|test|bench
set -eu

build_pkgs="build-essential autoconf automake libtool pkg-config apache2 apache2-dev
libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql libpcre2-dev libjansson-dev libssl-dev
zlib1g-dev libapache2-mod-oauth2 libapache2-mod-auth-openidc openssl sqlite3
ca-certificates libhiredis-dev"
test_pkgs="check postgresql python3 python3-pytest python3-psycopg2 python3-cryptography
rpm debhelper valgrind clang curl redis-server prometheus
chromium"
# bench/: wrk drives the load, perf and valgrind's callgrind profile it
bench_pkgs="wrk linux-perf valgrind python3-cryptography"

case "${1:-build}" in
    build) want="$build_pkgs" ;;
    test)  want="$build_pkgs $test_pkgs" ;;
    bench) want="$build_pkgs $bench_pkgs" ;;
    *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# The client tests drive the real agents (Node.js >= 20); a machine
# without Node gets Debian's.
if [ "${1:-build}" = test ] && ! command -v node >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

echo "Installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts the packaged services; the gateway runs its own httpd and
# the tests their own PostgreSQL and Redis; prometheus is there for
# promtool.
for svc in apache2 postgresql redis-server prometheus; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || \
        $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
