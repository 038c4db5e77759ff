#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Build the lib/dialect libFuzzer target with clang (-fsanitize=fuzzer,
# address,undefined) straight from the sources, seed it with a few bodies
# and streams of our own, and run a bounded smoke.
#
#   tests/fuzz/dialect.sh [seconds]       default 40 s
#   FUZZ_OUT=dir keeps the binary, corpus and crash files there.

set -eu

. "$(dirname "$0")/lib/fuzz-common.sh"
fuzz_setup dialect.sh fuzz-dialect
secs=${1:-40}
apr_config=$(command -v apr-1-config || true)
if [ -z "$apr_config" ]; then
    echo "dialect.sh: apr-1-config not found, skipped" >&2
    exit 77
fi

bin="$out/fuzz_dialect"
# shellcheck disable=SC2046
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/include" -I"$top/lib/dialect" \
    $("$apr_config" --cppflags --includes) $(pkg-config --cflags jansson) \
    "$top/tests/fuzz/fuzz_dialect.c" "$top"/lib/dialect/*.c \
    $("$apr_config" --link-ld --libs) $(pkg-config --libs jansson zlib) \
    -o "$bin"

# Seeds: the first byte picks the endpoint (low 3 bits) and the stream
# piece size (the rest).
seed chat '\x00{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"key AKIA"},{"type":"text","text":"ZZZZ"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\\"a\\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"stop":"x","stream":true}'
seed responses '\x01{"model":"m","instructions":"i","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"t"}]},{"type":"function_call","call_id":"c","name":"n","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"o"}]}'
seed embeddings '\x02{"model":"e","input":["a","b"]}'
seed messages '\x04{"model":"c","max_tokens":9,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"t1","name":"n","input":{"k":"v","e@x.example":[1,"w"]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"r"}]},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}'
seed anthropic_response '\x0c{"id":"msg_1","type":"message","model":"c","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"t","name":"n","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"cache_read_input_tokens":2,"output_tokens":3}}'
seed chat_response '\x08{"id":"c","model":"m","choices":[{"message":{"role":"assistant","content":"x","tool_calls":[{"id":"i","function":{"name":"n","arguments":"{}"}}]},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}'
seed anthropic_stream '\x13event: message_start\r\ndata: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3}}}\r\n\r\nevent: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n"}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}\n\n: c\n\nevent: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'
seed openai_stream '\x0bdata: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"h"}}]}\n\ndata: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":"{"}}]},"finish_reason":"tool_calls"}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\ndata: [DONE]\n\n'
seed error '\x00{"type":"error","error":{"type":"overloaded_error","message":"busy"}}'

fuzz_smoke "$bin" 65536
fuzz_done
