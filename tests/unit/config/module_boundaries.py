#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# The gateway's modules import nothing from each other
# (docs/architecture.md): they share the per-request object of
# include/llm_gateway.h, and the optional functions declared there are the
# only calls from one module into another.  httpd loads modules with their
# symbols global, so a call to another module's function would link and
# run; this check is what keeps the boundary.
#
#   1. No module includes a header from another module's directory.
#   2. No module names a function another module defines.
#   3. Each optional function of llm_gateway.h is registered by one module
#      and looked up only by others -- never by mod_llm_scan, which depends
#      on the shared object alone.
#   4. The audit table and the database it lives in are mod_llm_audit's:
#      no other module names the table in SQL or asks mod_dbd for a
#      connection (the quota rebuild and the self-service page's spend ask
#      mod_llm_audit through its optional functions).
#
# Usage: module_boundaries.py [srcdir]

import os
import re
import sys

DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(llm_\w+)\s*\([^;{]*\)\s*\{",
                        re.M)
INCLUDE = re.compile(r'#\s*include\s+"([^"]+)"')
OPTIONAL = re.compile(r"APR_DECLARE_OPTIONAL_FN\s*\([^,]+,\s*(\w+)\s*,")
AUDIT_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+llm_audit\b", re.I)
DBD = re.compile(r"\bap_dbd_\w+")


def strip(text):
    """Comments and string literals out, line breaks kept."""
    text = re.sub(r"/\*.*?\*/", lambda m: " " + "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)


def read_module(path):
    out = {}
    for f in sorted(os.listdir(path)):
        if f.endswith((".c", ".h")):
            with open(os.path.join(path, f), encoding="utf-8") as fh:
                out[f] = fh.read()
    return out


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "srcdir", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    root = os.path.join(srcdir, "modules")
    mods = sorted(d for d in os.listdir(root) if d.startswith("mod_llm_")
                  and os.path.isdir(os.path.join(root, d)))
    raw = {m: read_module(os.path.join(root, m)) for m in mods}
    code = {m: {f: strip(t) for f, t in raw[m].items()} for m in mods}
    problems = []
    if len(mods) < 2:
        problems.append("fewer than two gateway modules under %s" % root)

    defined = {}
    for m in mods:
        for f, t in code[m].items():
            if f.endswith(".c"):
                for name in DEFINITION.findall(t):
                    defined.setdefault(name, m)

    with open(os.path.join(srcdir, "include", "llm_gateway.h"),
              encoding="utf-8") as fh:
        optional = OPTIONAL.findall(fh.read())
    if not optional:
        problems.append("include/llm_gateway.h declares no optional function "
                        "this check can read")

    for m in mods:
        own = set(raw[m])
        for f, t in raw[m].items():
            for inc in INCLUDE.findall(t):
                base = os.path.basename(inc)
                others = [o for o in mods if o != m and base in raw[o]]
                if others and base not in own:
                    problems.append("%s/%s includes %s, a header of %s"
                                    % (m, f, inc, others[0]))
            for name, owner in sorted(defined.items()):
                if owner != m and re.search(r"\b%s\b" % re.escape(name),
                                            code[m][f]):
                    problems.append("%s/%s names %s, a function of %s: go "
                                    "through the shared object or an "
                                    "optional function of llm_gateway.h"
                                    % (m, f, name, owner))

    for m in mods:
        if m == "mod_llm_audit":
            continue
        for f, t in raw[m].items():
            nocomment = re.sub(r"/\*.*?\*/", " ", t, flags=re.S)
            if AUDIT_TABLE.search(nocomment):
                problems.append("%s/%s names mod_llm_audit's table in SQL: "
                                "ask mod_llm_audit through an optional "
                                "function of llm_gateway.h" % (m, f))
            used = sorted(set(DBD.findall(code[m][f])))
            if used:
                problems.append("%s/%s uses mod_dbd (%s): the database is "
                                "the audit trail's, mod_llm_audit's to "
                                "read" % (m, f, ", ".join(used)))

    for fn in optional:
        registers = [m for m in mods for t in code[m].values()
                     if re.search(r"APR_REGISTER_OPTIONAL_FN\s*\(\s*%s\s*\)"
                                  % fn, t)]
        users = {m for m in mods for t in code[m].values()
                 if re.search(r"APR_(?:RETRIEVE_OPTIONAL_FN|OPTIONAL_FN_TYPE)"
                              r"\s*\(\s*%s\s*\)" % fn, t)}
        if len(registers) != 1:
            problems.append("optional function %s is registered by %d "
                            "modules (%s), not one" % (fn, len(registers),
                                                       ", ".join(registers)))
        for m in sorted(users):
            if registers and m == registers[0]:
                problems.append("%s looks up its own optional function %s"
                                % (m, fn))
            if m == "mod_llm_scan":
                problems.append("mod_llm_scan looks up %s: it depends on the "
                                "shared object only" % fn)

    for p in problems:
        print(p)
    print("module_boundaries: %d module(s), %d function(s), %d optional "
          "function(s), %d problem(s)" % (len(mods), len(defined),
                                          len(optional), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
