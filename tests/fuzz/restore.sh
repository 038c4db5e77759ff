#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Build the restore engine's libFuzzer target (lib/dialect/llm_restore.h)
# with clang (-fsanitize=fuzzer,address,undefined) straight from the
# sources, seed it with a few answers and streams of our own holding
# placeholders, and run a bounded smoke.
#
#   tests/fuzz/restore.sh [seconds]       default 30 s
#   FUZZ_OUT=dir keeps the binary, corpus and crash files there.

set -eu

. "$(dirname "$0")/lib/fuzz-common.sh"
fuzz_setup restore.sh fuzz-restore
secs=${1:-30}
apr_config=$(command -v apr-1-config || true)
if [ -z "$apr_config" ]; then
    echo "restore.sh: apr-1-config not found, skipped" >&2
    exit 77
fi

bin="$out/fuzz_restore"
# shellcheck disable=SC2046
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/include" -I"$top/lib/dialect" \
    $("$apr_config" --cppflags --includes) $(pkg-config --cflags jansson zlib) \
    "$top/tests/fuzz/fuzz_restore.c" "$top"/lib/dialect/*.c \
    $("$apr_config" --link-ld --libs) $(pkg-config --libs jansson zlib) \
    -o "$bin"

# Seeds: the first byte is the piece size.
seed anthropic '\x02event: message_start\ndata: {"type":"message_start","message":{"id":"m","content":[]}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"to [REDACTED_EM"}}\n\nevent: ping\ndata: {"type":"ping"}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"AIL_1] x["}}\n\nevent: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\nevent: content_block_delta\r\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"p\\":\\"[REDACTED_PASS"}}\r\n\r\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"WORD_2]\\"}"}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"[R]"}}\n\n'
seed openai '\x05data: {"choices":[{"index":0,"delta":{"content":"[R"}}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":"]"}}]}\n\ndata: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\\"a\\":\\"[REDACTED_EMAIL_1]\\"}"}}]}}]}\n\ndata: [DONE]\n\n'
seed responses '\x07event: response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta","output_index":1,"delta":"[REDACTED_"}\n\nevent: response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta","output_index":1,"delta":"PASSWORD_2]"}\n\n'
seed body '\x00{"choices":[{"message":{"content":"[REDACTED_EMAIL_1]","tool_calls":[{"function":{"arguments":"[REDACTED_PASSWORD_2]"}}]}}]}'

fuzz_smoke "$bin" 65536
fuzz_done
