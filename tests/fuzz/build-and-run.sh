#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Fuzz smoke run of the detection engine: builds tests/fuzz/fuzz_scan.c and
# lib/scan/*.c with clang -fsanitize=fuzzer,address,undefined (automake
# builds with gcc, so this script compiles on its own), then runs a bounded
# number of inputs from the seed corpus (tests/fuzz/seeds and the labelled
# corpus).  Exit 0: no crash, no sanitizer report.  Exit 77 (automake's
# "skipped") when clang's libFuzzer is not installed.
#
#   tests/fuzz/build-and-run.sh [runs]          (default 20000, < 60 s)
#   FUZZ_SECONDS=600 tests/fuzz/build-and-run.sh -1  (a longer session)

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
runs=${1:-20000}
seconds=${FUZZ_SECONDS:-50}
work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/llm-fuzz.XXXXXX")}
CLANG=${CLANG:-}

if [ -z "$CLANG" ]; then
    for c in clang clang-14 clang-15 clang-16; do
        if command -v "$c" >/dev/null 2>&1; then CLANG=$c; break; fi
    done
fi
if [ -z "$CLANG" ]; then
    echo "fuzz: no clang, skipped"; exit 77
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}' \
        | "$CLANG" -x c -fsanitize=fuzzer - -o "$work/probe" >/dev/null 2>&1; then
    echo "fuzz: $CLANG has no libFuzzer, skipped"; exit 77
fi

cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
cppflags="-I$top/include -I$top/lib $(apr-1-config --cppflags --includes) $(pkg-config --cflags libpcre2-8)"
libs="$(apr-1-config --link-ld --libs) $(pkg-config --libs libpcre2-8) -lm"

# shellcheck disable=SC2086
"$CLANG" $cflags $cppflags -o "$work/fuzz_scan" "$here/fuzz_scan.c" "$top"/lib/scan/*.c $libs

mkdir -p "$work/corpus"
cp "$here"/seeds/* "$work/corpus/" 2>/dev/null || true
cp "$top"/tests/corpus/files/* "$work/corpus/" 2>/dev/null || true

echo "fuzz: $runs runs (at most ${seconds}s) in $work"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1 \
"$work/fuzz_scan" -runs="$runs" -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/corpus" 2>"$work/fuzz.log" || {
    tail -60 "$work/fuzz.log"
    echo "fuzz: FAILED, artifacts in $work"
    exit 1
}
tail -12 "$work/fuzz.log"
[ -n "${FUZZ_WORKDIR:-}" ] || rm -rf "$work"
echo "fuzz: ok"
