# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Sourced by the fuzz scripts (answer.sh, dialect.sh, json.sh, pdf.sh,
# restore.sh), which build their libFuzzer targets with clang from the
# sources and run a bounded smoke: what they all do alike.
#
#   fuzz_setup NAME PREFIX    $top, $out (FUZZ_OUT or a new /tmp/PREFIX.*
#                             folder with corpus/ in it), $CC (CC_FUZZ,
#                             else clang-14 or clang; exit 77, automake's
#                             "skipped", when there is none)
#   seed FILE BYTES           a seed (printf %b escapes) in $out/corpus
#   fuzz_smoke BIN MAXLEN [SECS]
#                             runs BIN on the corpus for SECS (default
#                             $secs); a crash, leak, timeout or sanitizer
#                             report fails the script, its input kept in
#                             $out (FUZZ_ASAN: other ASAN_OPTIONS)
#   fuzz_done                 $out goes unless FUZZ_OUT named it

fuzz_setup() {
    fuzz_name=$1
    top=$(cd "$(dirname "$0")/../.." && pwd)
    out=${FUZZ_OUT:-$(mktemp -d "/tmp/$2.XXXXXX")}
    mkdir -p "$out/corpus"
    CC=${CC_FUZZ:-}
    if [ -z "$CC" ]; then
        for c in clang-14 clang; do
            if command -v "$c" >/dev/null 2>&1; then CC=$c; break; fi
        done
    fi
    if [ -z "$CC" ]; then
        echo "$fuzz_name: clang not found, skipped" >&2
        exit 77
    fi
}

seed() {
    printf '%b' "$2" > "$out/corpus/$1"
}

fuzz_smoke() {
    echo "$fuzz_name: fuzzing $(basename "$1") for ${3:-$secs}s in $out"
    status=0
    ASAN_OPTIONS=${FUZZ_ASAN:-detect_leaks=1}:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    "$1" -max_total_time="${3:-$secs}" -max_len="$2" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/$(basename "$1")-" "$out/corpus" \
        2>"$out/$(basename "$1").log" || status=$?
    tail -n 6 "$out/$(basename "$1").log"
    if [ "$status" -ne 0 ] || ls "$out"/*-crash-* "$out"/*-leak-* \
            "$out"/*-timeout-* "$out"/*-oom-* >/dev/null 2>&1; then
        grep -A 30 "ERROR\|SUMMARY\|runtime error" "$out"/*.log \
            | head -n 60 >&2 || true
        echo "$fuzz_name: FAILED (exit $status); logs, inputs kept in $out" >&2
        exit 1
    fi
}

fuzz_done() {
    [ -n "${FUZZ_OUT:-}" ] || rm -rf "$out"
    echo "$fuzz_name: ok"
}
