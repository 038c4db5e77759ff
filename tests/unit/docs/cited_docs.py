#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Every document the code and the docs cite is in the project: a comment
# that sends the reader to a file that does not exist (a design document
# that was never part of it) is a comment that is not true.  A name is looked
# up from the top of the tree, then in docs/.  Usage: cited_docs.py [srcdir]

import os
import re
import sys

# Where citations are written: the code, its headers and the documents.
SCOPES = ("include", "lib", "modules", "tools", "docs", "conf", "rpm",
          "README.md", "tests/integration/README.md")
CITED = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.md)\b")


def files(srcdir):
    for scope in SCOPES:
        path = os.path.join(srcdir, scope)
        if os.path.isfile(path):
            yield path
            continue
        for dirpath, _, names in os.walk(path):
            for n in names:
                if n.endswith((".c", ".h", ".md", ".conf", ".in", ".spec",
                               ".py", ".sh", ".sql")):
                    yield os.path.join(dirpath, n)


def cited_lines(path):
    """(line number, text) of what may cite a document: the comments of C
    sources, every line of anything else."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    if not path.endswith((".c", ".h")):
        return list(enumerate(text.split("\n"), 1))
    out = []
    for m in re.finditer(r"/\*.*?\*/|//[^\n]*", text, re.S):
        first = text.count("\n", 0, m.start()) + 1
        for i, line in enumerate(m.group(0).split("\n")):
            out.append((first + i, line))
    return out


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "srcdir", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    missing, seen = [], 0
    for path in files(srcdir):
        for lineno, line in cited_lines(path):
            for name in CITED.findall(line):
                seen += 1
                if not (os.path.isfile(os.path.join(srcdir, name))
                        or os.path.isfile(os.path.join(srcdir, "docs",
                                                       name))):
                    missing.append("%s:%d: cites %s, which the project "
                                   "does not have"
                                   % (os.path.relpath(path, srcdir),
                                      lineno, name))
    for m in missing:
        print(m)
    print("cited_docs: %d citation(s), %d missing" % (seen, len(missing)))
    return 1 if missing or seen == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
