#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Build the answer scan's libFuzzer target (tests/fuzz/fuzz_answer.c:
# lib/dialect's answer walk and lib/scan's answer stream) with clang
# (-fsanitize=fuzzer,address,undefined) from the sources, seed it with
# streams of both dialects, and run a bounded smoke.
#
#   tests/fuzz/answer.sh [seconds]       default 40 s
#   FUZZ_OUT=dir keeps the binary, corpus and crash files there.

set -eu

. "$(dirname "$0")/lib/fuzz-common.sh"
fuzz_setup answer.sh fuzz-answer
secs=${1:-40}

bin="$out/fuzz_answer"
# shellcheck disable=SC2046
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/include" -I"$top/lib" -I"$top/lib/dialect" \
    $(apr-1-config --cppflags --includes) $(pkg-config --cflags jansson libpcre2-8) \
    "$top/tests/fuzz/fuzz_answer.c" "$top"/lib/dialect/*.c "$top"/lib/scan/*.c \
    $(apr-1-config --link-ld --libs) $(pkg-config --libs jansson libpcre2-8 zlib) -lm \
    -o "$bin"

seed chat '\0000data: {"choices":[{"index":0,"delta":{"content":"mail carol.qu"}}]}\ndata: {"choices":[{"index":0,"delta":{"content":"inn@northwind-mail.com now"},"finish_reason":"stop"}]}\ndata: [DONE]\n'
seed args '\0004data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"content\\": \\"to carol\\\\u0040north"}}]}}]}\ndata: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"wind-mail.com\\"}"}}]}}]}\n'
seed messages '\0002data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"key AKIAQ7XJ2L"}}\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"MN4PQR5S3T ok"}}\ndata: {"type":"content_block_stop","index":0}\n'
seed responses '\0001data: {"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"call (415) 867"}\ndata: {"type":"response.output_text.done","output_index":0,"content_index":0,"text":"call (415) 867-5309"}\n'
seed body '\0002{"content":[{"type":"text","text":"x carol.quinn@northwind-mail.com"},{"type":"tool_use","input":{"a":["b",{"c":"4539 1488 0343 6467"}]}}]}'

FUZZ_ASAN=detect_leaks=0 fuzz_smoke "$bin" 8192
fuzz_done
