#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Differential fuzzing of the request-body JSON parser
# (lib/dialect/json_fast.c) against jansson's json_loadb: builds
# tests/fuzz/fuzz_json.c with clang (-fsanitize=fuzzer,address,undefined)
# straight from the sources, twice (with the vector string loops chosen at
# run time, and portable C only), seeds a few bodies and runs a bounded
# smoke: the first build with the best loop the CPU has, and with the
# portable loop forced (LLM_JSON_FAST_PATH=scalar); the second build.
#
#   tests/fuzz/json.sh [seconds]       default 15 s per run (under 60 s in all)
#   FUZZ_OUT=dir keeps the binaries, corpus and crash files there.

set -eu

. "$(dirname "$0")/lib/fuzz-common.sh"
fuzz_setup json.sh fuzz-json
secs=${1:-15}
if ! pkg-config --exists jansson; then
    echo "json.sh: jansson not found, skipped" >&2
    exit 77
fi

for variant in vector portable; do
    extra=
    if [ "$variant" = portable ]; then
        extra=-DLLM_JSON_FAST_PORTABLE
    fi
    # shellcheck disable=SC2046,SC2086
    "$CC" -g -O1 -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined $extra \
        -I"$top/lib/dialect" -I"$top/include" $(pkg-config --cflags jansson apr-1) \
        "$top/tests/fuzz/fuzz_json.c" "$top/lib/dialect/json_fast.c" \
        "$top/lib/dialect/usage.c" \
        $(pkg-config --libs jansson) -o "$out/fuzz_json_$variant"
done

seed chat '{"model":"m","messages":[{"role":"user","content":"a \\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}],"temperature":0.7,"max_tokens":1024,"stream":true,"stop":null,"n":-0,"x":1e-400,"y":-12.5E+3}'
seed messages '{"model":"c","system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"k":[1,2.5,"v",{"":{}},[]]}}]}]}'
seed deep '[[[[[[[[[[[[[[[[{"a":[[[[{"b":{"c":[1]}}]]]]}]]]]]]]]]]]]]]]]'
seed errors '{"a":1,"a":2,"\\u0000":"\\ud800","s":"\x01\xc0\x80\xed\xa0\x80"} x'
seed numbers '[0,-0,1,-1,9223372036854775807,-9223372036854775808,9223372036854775808,1.5,1e308,1e309,4.9e-324,01,1.,.5]'
seed events '{"type":"message_start","message":{"id":"m","usage":{"input_tokens":7,"cache_read_input_tokens":2,"output_tokens":1}}}'
seed chunk '{"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens":2}}'
seed responses '{"type":"response.completed","response":{"usage":{"input_tokens":8,"input_tokens_details":{"cached_tokens":0},"output_tokens":5}}}'
seed answer '{"id":"r","content":[{"type":"tool_use","input":{"usage":{"x":1}}},{"type":"text","text":"\"usage\":["}],"usage" : {"input_tokens":12,"output_tokens":3,"cache_read_input_tokens":0}}'

# A tool result of source code: a one-letter escape every few bytes, at
# every place against the 32- and 64-byte blocks of the vector loops, an
# escaped backslash before a quote, \u escapes and UTF-8 between them
# (written with %s: the seed's %b would decode the escapes).
code=''
i=0
while [ $i -lt 48 ]; do
    code="$code$(printf '%*s' "$i" '')if (s[i] == '\\\\\\\\') {\\n\\treturn \\\"\\\\\\\\\\\"\\u00e9é\\/;\\r\\n}"
    i=$((i + 1))
done
printf '%s' "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"$code\"}]}" \
    > "$out/corpus/code"

fuzz_smoke "$out/fuzz_json_vector" 8192
export LLM_JSON_FAST_PATH=scalar
fuzz_smoke "$out/fuzz_json_vector" 8192
unset LLM_JSON_FAST_PATH
fuzz_smoke "$out/fuzz_json_portable" 8192
fuzz_done
