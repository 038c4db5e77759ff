#!/bin/sh
# Prove the RPM builds from the `make dist` tarball and carries the three
# modules.  Debian lacks the RPM build requirements' package names, hence
# --nodeps; the build itself is real.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top/build"
rm -f mod_llm_gateway-*.tar.gz
make dist >dist.log 2>&1 || { tail -20 dist.log; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rpmbuild -tb --nodeps --define "_topdir $work" mod_llm_gateway-*.tar.gz \
    >"$work/rpmbuild.log" 2>&1 || { tail -40 "$work/rpmbuild.log"; exit 1; }
rpm=$(find "$work/RPMS" -name 'mod_llm_gateway-*.rpm' | head -1)
[ -n "$rpm" ] || { echo "no RPM produced"; exit 1; }
contents=$(rpm -qpl "$rpm")
for f in mod_llm_scan.so mod_llm_route.so mod_llm_audit.so llm-scan llm-token llm-gateway.conf; do
    echo "$contents" | grep -q "/$f\$" || { echo "RPM lacks $f"; echo "$contents"; exit 1; }
done
echo "RPM built: $(basename "$rpm") ($(echo "$contents" | wc -l) files)"
