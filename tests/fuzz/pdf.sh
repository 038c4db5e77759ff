#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Build the PDF text reader's libFuzzer target (tests/fuzz/fuzz_pdf.c:
# lib/dialect/pdf_text.c, pdf_cmap.c) with clang
# (-fsanitize=fuzzer,address,undefined), seed it with small documents
# (plain and Flate streams, object streams, strings with every escape, a
# CID font with its ToUnicode map), and run a bounded smoke.
#
#   tests/fuzz/pdf.sh [seconds]       default 20 s
#   FUZZ_OUT=dir keeps the binary, corpus and crash files there.

set -eu

. "$(dirname "$0")/lib/fuzz-common.sh"
fuzz_setup pdf.sh fuzz-pdf
secs=${1:-20}

bin="$out/fuzz_pdf"
# shellcheck disable=SC2046
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/include" -I"$top/lib/dialect" \
    $(apr-1-config --cppflags --includes) $(pkg-config --cflags jansson zlib) \
    "$top/tests/fuzz/fuzz_pdf.c" "$top/lib/dialect/pdf_text.c" \
    "$top/lib/dialect/pdf_cmap.c" "$top/lib/dialect/pdf_objects.c" \
    $(apr-1-config --link-ld --libs) $(pkg-config --libs zlib) \
    -o "$bin"

seed page '%PDF-1.4\n1 0 obj << /Length 52 >>\nstream\nBT /F1 9 Tf 1 2 Td [(AK) -300 (IA)] TJ <414b> Tj (a\\(\\)\\\\\\101\\\n) '"'"' ET\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'
seed dicts '%PDF-1.7\n1 0 obj << /Contents (x >> stream\n y) /T (\xfe\xff\x00a\x00b) /V <41> >> endobj\n2 0 obj << /Length 3 0 R >>\nstream\n(q) Tj\nendstream endobj\n%%EOF'
# a Flate stream and an object stream (zlib bytes written by Python)
python3 - "$out/corpus" <<'PY'
import sys, zlib
d = sys.argv[1]
page = zlib.compress(b"BT (AKIAQ3EGYBZ5KXW7LM2P) Tj T* [(a) 5 (b)] TJ ET")
open(d + "/flate", "wb").write(
    b"%%PDF-1.5\n4 0 obj << /Length %d /Filter /FlateDecode >>\nstream\n"
    % len(page) + page + b"\nendstream\nendobj\n")
objs = zlib.compress(b"5 0 << /Contents (in objstm) >>")
open(d + "/objstm", "wb").write(
    b"%%PDF-1.5\n6 0 obj << /Type /ObjStm /N 1 /First 4 /Length %d"
    b" /Filter [/FlateDecode] >>\nstream\r\n" % len(objs) + objs
    + b"\r\nendstream\nendobj\n")
cmap = zlib.compress(b"1 begincodespacerange <0000> <FFFF> endcodespacerange"
                     b" 2 beginbfrange <0003> <001C> <0041> <0040> <0041>"
                     b" [<0061> <D83DDE00>] endbfrange 1 beginbfchar <0050>"
                     b" <0020> endbfchar")
open(d + "/cidfont", "wb").write(
    b"%%PDF-1.7\n3 0 obj << /Type /Page /Contents 4 0 R /Resources"
    b" << /Font << /F1 5 0 R >> >> >> endobj\n4 0 obj << /Length 30 >>"
    b"\nstream\nBT /F1 9 Tf <000300040050> Tj ET\nendstream endobj\n"
    b"5 0 obj << /Subtype /Type0 /ToUnicode 6 0 R >> endobj\n6 0 obj"
    b" << /Filter /FlateDecode /Length %d >>\nstream\n" % len(cmap) + cmap
    + b"\nendstream endobj\n")
PY

fuzz_smoke "$bin" 65536
fuzz_done
