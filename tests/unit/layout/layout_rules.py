#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# The tree's layout says what each part needs, and keeps saying it:
#  - lib/ holds the engines that build without httpd: none of its files
#    includes an httpd header or the modules' shared contract
#    (llm_gateway.h), so the tools, fuzzers and unit tests link them alone;
#  - the tools', the engines' and their unit tests' build fragments name
#    nothing under modules/ (the audit tools and tests once compiled
#    against a module directory); tests/unit/common tests modules/common;
#  - the local mock provider, test equipment, is never installed;
#  - the README's layout table names each header of include/ and each
#    directory of lib/ and modules/, and nothing there that is not.
# Usage: layout_rules.py [srcdir]

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
HTTPD_HEADER = re.compile(r"^(httpd|http_\w+|ap_\w+|util_\w+|mod_\w+|"
                          r"scoreboard|mpm_common|llm_gateway)\.h$")


def sources(top):
    for dirpath, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in (".libs", ".deps")]
        for n in names:
            if n.endswith((".c", ".h")):
                yield os.path.join(dirpath, n)


def fragments(top):
    for dirpath, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in (".libs", ".deps")]
        if "Makefile.inc" in names:
            yield os.path.join(dirpath, "Makefile.inc")


LAYOUT_ROW = re.compile(r"^\| `([^`]+)` \|", re.M)


def readme_layout(srcdir, bad):
    """The README's layout table against include/, lib/ and modules/."""
    with open(os.path.join(srcdir, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.find("\n## Layout\n")
    if start < 0:
        bad.append("README.md has no '## Layout' section")
        return
    end = text.find("\n## ", start + 1)
    rows = set(LAYOUT_ROW.findall(text[start:end if end > 0 else None]))
    tree = set()
    for part in ("lib", "modules"):
        for d in sorted(os.listdir(os.path.join(srcdir, part))):
            if os.path.isdir(os.path.join(srcdir, part, d)) \
                    and not d.startswith("."):
                tree.add("%s/%s/" % (part, d))
    for h in sorted(os.listdir(os.path.join(srcdir, "include"))):
        if h.endswith(".h"):
            tree.add("include/%s" % h)
    for path in sorted(tree - rows):
        bad.append("README.md's layout table has no row for %s" % path)
    for path in sorted(rows):
        if path.startswith(("include/", "lib/", "modules/")) \
                and path not in tree:
            bad.append("README.md's layout table names %s, which is not in "
                       "the tree" % path)


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "srcdir", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    bad, seen = [], 0
    for path in sources(os.path.join(srcdir, "lib")):
        seen += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for name in INCLUDE.findall(f.read()):
                if HTTPD_HEADER.match(os.path.basename(name)):
                    bad.append("%s includes %s: lib/ builds without httpd "
                               "(httpd-aware code goes in modules/common)"
                               % (os.path.relpath(path, srcdir), name))
    for part in ("lib", "tools", "tests/unit"):
        for path in fragments(os.path.join(srcdir, part)):
            if os.path.basename(os.path.dirname(path)) == "common" \
                    and part == "tests/unit":
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if re.search(r"(?<![\w/])modules/|top_srcdir\)/modules", text):
                bad.append("%s names a path under modules/: %s builds "
                           "without the modules" % (os.path.relpath(
                               path, srcdir), part))
    mock = os.path.join(srcdir, "modules", "mod_llm_mock", "Makefile.inc")
    with open(mock, encoding="utf-8") as f:
        text = f.read()
    if re.search(r"^\s*mod_LTLIBRARIES", text, re.M) or \
            "noinst_LTLIBRARIES += modules/mod_llm_mock/" not in text:
        bad.append("%s: the mock provider must be built noinst, never "
                   "installed" % os.path.relpath(mock, srcdir))
    readme_layout(srcdir, bad)
    for b in bad:
        print(b)
    print("layout_rules: %d lib/ source(s) checked, %d problem(s)"
          % (seen, len(bad)))
    return 1 if bad or seen == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
