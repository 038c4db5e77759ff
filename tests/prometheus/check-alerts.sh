#!/bin/sh
# The alerting rules (conf/prometheus-alerts.yml) are valid Prometheus rules
# and fire on what they are for (tests/prometheus/alerts-test.yml).
# promtool comes with Debian's prometheus package (scripts/deps.sh test).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool >/dev/null 2>&1 || {
    echo "promtool not found: apt-get install prometheus (scripts/deps.sh test)" >&2
    exit 1
}
promtool check rules "$top/conf/prometheus-alerts.yml"
promtool test rules "$top/tests/prometheus/alerts-test.yml"
