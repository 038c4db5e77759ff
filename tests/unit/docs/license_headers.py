#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Every C source and header of the project states its license as an SPDX
# identifier in its first lines, and none carries a header claiming the code
# is licensed to someone else (this is not an ASF project: see NOTICE).
# Any other file of the project that states its license in its first lines
# (scripts, build files, tests) states it the same way.
# Usage: license_headers.py [srcdir]

import os
import sys

SCOPES = ("include", "lib", "modules", "tools", "tests", "bench")
FOREIGN = "Licensed to the Apache Software Foundation"


def other_file(path, bad):
    """A file that states a license in its first lines says SPDX."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(400)
    except (UnicodeDecodeError, OSError):
        return
    if "Licensed " in head and "SPDX-License-Identifier: Apache-2.0" \
            not in head:
        bad.append("%s: states its license without the SPDX line" % path)


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "srcdir", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    bad = []
    for scope in SCOPES:
        for dirpath, dirs, names in os.walk(os.path.join(srcdir, scope)):
            dirs[:] = [d for d in dirs if d not in ("node_modules", ".libs")]
            for n in names:
                path = os.path.join(dirpath, n)
                if not n.endswith((".c", ".h")):
                    other_file(path, bad)
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                head = text[:400]
                if "SPDX-License-Identifier: Apache-2.0" not in head:
                    bad.append("%s: no SPDX-License-Identifier line" % path)
                if FOREIGN in text:
                    bad.append("%s: carries a foreign license header" % path)
    for n in ("Makefile.am", "configure.ac"):
        other_file(os.path.join(srcdir, n), bad)
    for b in bad:
        print(b)
    if not os.path.isfile(os.path.join(srcdir, "NOTICE")):
        print("NOTICE is missing")
        bad.append("NOTICE")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
