#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# The llm-scan command as a user meets it: output format, masking, exit
# status 0/1/2, standard input, --rules, --list-rules.  Run from the build
# directory (make check does); LLM_SCAN overrides the binary.

set -u
bin=${LLM_SCAN:-./tools/llm-scan/llm-scan}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llm-scan-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

check() {   # name expected-status actual-status
    if [ "$2" != "$3" ]; then
        echo "FAIL: $1: exit $3, expected $2"; fail=1
    else
        echo "ok: $1"
    fi
}

printf 'line one\nkey: ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d\nmail jane.doe@acme-corp.com\n' > "$tmp/a.txt"
printf 'nothing to see here, see user@example.com\n' > "$tmp/clean.txt"

"$bin" "$tmp/a.txt" > "$tmp/out" 2>&1; check "findings exit 1" 1 $?
grep -q "^$tmp/a.txt:2:6: GITHUB_TOKEN github-pat-classic ghp_\*\*\*\*" "$tmp/out" \
    || { echo "FAIL: format: $(cat "$tmp/out")"; fail=1; }
grep -q "u8jzPde0" "$tmp/out" && { echo "FAIL: value not masked"; fail=1; }
grep -q "^$tmp/a.txt:3:6: EMAIL email " "$tmp/out" || { echo "FAIL: email line"; fail=1; }

"$bin" "$tmp/clean.txt" > "$tmp/out" 2>&1; check "clean exit 0" 0 $?
[ -s "$tmp/out" ] && { echo "FAIL: clean file printed: $(cat "$tmp/out")"; fail=1; }

"$bin" < "$tmp/a.txt" > "$tmp/out" 2>&1; check "stdin" 1 $?
grep -q "^<stdin>:2:6: GITHUB_TOKEN" "$tmp/out" || { echo "FAIL: stdin name"; fail=1; }

"$bin" "$tmp/clean.txt" "$tmp/missing" > "$tmp/out" 2>&1; check "unreadable file exit 2" 2 $?
"$bin" "$tmp/a.txt" "$tmp/missing" > "$tmp/out" 2>&1; check "error beats findings" 2 $?

cat > "$tmp/rules" <<'RULES'
# admin rules
pattern TICKET jira-ticket \bOPS-[0-9]{3,6}\b
keywords CODENAME codenames Falcon acme-internal
allow jane\.doe@acme-corp\.com
disable GITHUB_TOKEN
RULES
printf 'project falcon, OPS-1234, jane.doe@acme-corp.com ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d\n' > "$tmp/b.txt"
"$bin" --rules "$tmp/rules" "$tmp/b.txt" > "$tmp/out" 2>&1; check "rule file" 1 $?
[ "$(wc -l < "$tmp/out")" -eq 2 ] || { echo "FAIL: rule file output: $(cat "$tmp/out")"; fail=1; }
grep -q "CODENAME codenames" "$tmp/out" && grep -q "TICKET jira-ticket" "$tmp/out" \
    || { echo "FAIL: admin rules not applied"; fail=1; }

# an admin pattern runs on the decoded views too: the raw bytes, column 9
printf 'GET /t?r=OPS%%2D4821&x=1\n' > "$tmp/enc.txt"
"$bin" --rules "$tmp/rules" "$tmp/enc.txt" > "$tmp/out" 2>&1; check "admin rule on a view" 1 $?
grep -q "^$tmp/enc.txt:1:10: TICKET jira-ticket" "$tmp/out" \
    || { echo "FAIL: encoded ticket: $(cat "$tmp/out")"; fail=1; }

printf 'pattern TICKET t1 (unclosed\n' > "$tmp/bad"
"$bin" --rules "$tmp/bad" "$tmp/a.txt" > "$tmp/out" 2>&1; check "bad rule file exit 2" 2 $?
grep -q "bad:1:.*missing closing parenthesis" "$tmp/out" || { echo "FAIL: bad rule message: $(cat "$tmp/out")"; fail=1; }

"$bin" --list-rules > "$tmp/out" 2>&1; check "list rules" 0 $?
for r in aws-access-key-id jwt password-assignment email credit-card iban us-ssn ipv4-public; do
    grep -q "^$r " "$tmp/out" || { echo "FAIL: --list-rules lacks $r"; fail=1; }
done

mkdir -p "$tmp/tree/sub" "$tmp/tree/.git"
cp "$tmp/a.txt" "$tmp/tree/sub/a.txt"
cp "$tmp/a.txt" "$tmp/tree/.git/config"
printf 'ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d\0binary' > "$tmp/tree/blob.bin"
"$bin" "$tmp/tree" > "$tmp/out" 2>&1; check "directory walk" 1 $?
[ "$(wc -l < "$tmp/out")" -eq 2 ] && grep -q "^$tmp/tree/sub/a.txt:2:6: GITHUB_TOKEN" "$tmp/out" \
    || { echo "FAIL: directory walk output: $(cat "$tmp/out")"; fail=1; }

"$bin" --bogus > /dev/null 2>&1; check "unknown option" 2 $?
exit $fail
