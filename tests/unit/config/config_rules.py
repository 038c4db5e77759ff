#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_llm_gateway developers; see NOTICE.
#
# Every member of a module's configuration structs has a rule in the
# function that creates the struct and in the one that merges it: a
# member the merge forgets is silently lost in every <Location> and
# virtual host that inherits it, and one the create forgets has no unset
# value to tell "not set here" from a value.
#
# The functions are the ones each module's AP_DECLARE_MODULE record
# names; the struct is the one the function allocates; "a rule" is an
# assignment to that member of the allocated struct (a member built later,
# at check_config or post_config, is assigned its "nothing yet" value so
# that the choice is written down).
#
# Each module has one "not set here" value for its scalar members (a
# single LLM_*_UNSET), and applies the defaults in one place: a member a
# create function sets to it is read only in the files that define the
# sentinel or hold the configuration (the readers there say what an unset
# value means); elsewhere it may be set (a directive), never read.
#
# A module's configuration is reached through its getters, which live with
# it in the file that creates it (llm_audit_srv / llm_audit_dir,
# llm_route_srv / llm_route_dir, llm_scan_srv / llm_scan_dir): no other
# file reads per_dir_config or module_config itself.
# Usage: config_rules.py [srcdir]

import os
import re
import sys

# Members without a rule today, each with the reason it is safe.  An entry
# that no longer applies (the member got its rule, or is gone) is itself
# reported, so that this list only shrinks.  It is empty: keep it so.
KNOWN = {
}

MODULE_RECORD = re.compile(
    r"AP_DECLARE_MODULE\s*\(\s*(\w+)\s*\)\s*=\s*\{\s*STANDARD20_MODULE_STUFF\s*,"
    r"\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,")
ALLOC = re.compile(r"(\w+)\s*\*\s*(\w+)\s*=\s*apr_p(?:c)?alloc\s*\(")


def strip_comments(text):
    # A comment's line breaks stay, so that line numbers stay true.
    text = re.sub(r"/\*.*?\*/", lambda m: " " + "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def braced(text, start):
    """The text between the '{' at start and its matching '}'."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    raise ValueError("unbalanced braces")


def split_top(text, sep):
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def members(body):
    names = []
    for decl in split_top(body, ";"):
        decl = decl.strip()
        if not decl:
            continue
        fnptr = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)
        if fnptr:
            names.append(fnptr.group(1))
            continue
        # "enum { A, B } kind" or "struct x { ... } y": the declarators
        # follow the last closing brace.
        if "}" in decl:
            decl = "int " + decl[decl.rindex("}") + 1:]
        first, *rest = split_top(decl, ",")
        for d in [first] + rest:
            d = re.sub(r"\[[^\]]*\]", "", d)
            d = re.sub(r":\s*\d+\s*$", "", d)
            m = re.search(r"(\w+)\s*$", d)
            if m:
                names.append(m.group(1))
    return names


def find_struct(sources, type_name):
    pat = re.compile(r"typedef\s+struct\s*\w*\s*\{")
    for text in sources.values():
        for m in pat.finditer(text):
            body = braced(text, m.end() - 1)
            after = text[m.end() - 1 + len(body) + 2:]
            if re.match(r"\s*" + re.escape(type_name) + r"\s*;", after):
                return body
    return None


def find_function(sources, name):
    pat = re.compile(r"^[\w \t\*]*\b" + re.escape(name) + r"\s*\([^;{]*\)\s*\{",
                     re.M)
    for path, text in sources.items():
        m = pat.search(text)
        if m:
            return path, braced(text, m.end() - 1)
    return None, None


SENTINEL_DEF = re.compile(r"#\s*define\s+(LLM_\w*UNSET)\b|\b(LLM_\w*UNSET)\s*=")


def check_defaults(moddir, sources, unset_members, problems):
    """One sentinel per module, and members created unset read only where
    the defaults are."""
    sentinels = sorted({a or b for t in sources.values()
                        for a, b in SENTINEL_DEF.findall(t)})
    if len(sentinels) > 1 or (unset_members and not sentinels):
        problems.append("%s: expected one LLM_*_UNSET sentinel, found %s"
                        % (moddir, ", ".join(sentinels) or "none"))
    defs = {f for f, t in sources.items()
            if "config" in f or SENTINEL_DEF.search(t)}
    for f, text in sorted(sources.items()):
        if f in defs:
            continue
        for name in sentinels:
            for m in re.finditer(r"\b%s\b" % re.escape(name), text):
                problems.append("%s/%s: uses %s: an unset value is the "
                                "business of the configuration's readers"
                                % (moddir, f, name))
        for member in sorted(unset_members):
            for m in re.finditer(r"->\s*%s\b(?!\s*=[^=])"
                                 % re.escape(member), text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append("%s/%s:%d: reads %s, which may be unset: "
                                "read it through the reader that applies "
                                "its default" % (moddir, f, line, member))


def check_module(srcdir, moddir, problems, known_seen):
    sources = {}
    for f in sorted(os.listdir(moddir)):
        if f.endswith((".c", ".h")):
            with open(os.path.join(moddir, f), encoding="utf-8") as fh:
                sources[f] = strip_comments(fh.read())
    unset_members = set()
    records = [m for t in sources.values() for m in MODULE_RECORD.finditer(t)]
    if len(records) != 1:
        problems.append("%s: expected one AP_DECLARE_MODULE record, found %d"
                        % (moddir, len(records)))
        return 0
    checked = 0
    funcs = records[0].groups()[1:]
    for role, name in zip(("create", "merge", "create", "merge"), funcs):
        if name == "NULL":
            continue
        path, body = find_function(sources, name)
        if body is None:
            problems.append("%s: cannot find %s" % (moddir, name))
            continue
        alloc = ALLOC.search(body)
        if not alloc:
            problems.append("%s: %s allocates no struct that this check "
                            "can see" % (path, name))
            continue
        type_name, var = alloc.groups()
        struct = find_struct(sources, type_name)
        if struct is None:
            problems.append("%s: cannot find the definition of %s"
                            % (moddir, type_name))
            continue
        names = members(struct)
        if not names:
            problems.append("%s: %s has no members this check can read"
                            % (moddir, type_name))
        for member in names:
            checked += 1
            has_rule = re.search(r"\b%s\s*->\s*%s\b"
                                 % (re.escape(var), re.escape(member)), body)
            if role == "create" and re.search(
                    r"\b%s\s*->\s*%s\s*=\s*LLM_\w*UNSET\b"
                    % (re.escape(var), re.escape(member)), body):
                unset_members.add(member)
            key = (type_name, member, role)
            if key in KNOWN:
                known_seen.add(key)
                if has_rule:
                    problems.append("%s: %s now has a rule for %s.%s: take "
                                    "it off KNOWN in %s" % (path, name,
                                    type_name, member, __file__))
            elif not has_rule:
                problems.append("%s: %s (%s) has no rule for %s.%s"
                                % (path, name, role, type_name, member))
    check_defaults(moddir, sources, unset_members, problems)
    check_getters(moddir, sources, funcs, problems)
    return checked


CONFIG_READ = re.compile(r"ap_get_module_config\s*\(\s*[\w>\-.]*"
                         r"(?:per_dir_config|module_config)\b")


def check_getters(moddir, sources, funcs, problems):
    """The configuration is read through getters in the file that creates
    it."""
    homes = set()
    for name in funcs:
        if name != "NULL":
            path, _ = find_function(sources, name)
            if path:
                homes.add(path)
    for f, text in sorted(sources.items()):
        if f in homes:
            continue
        for m in CONFIG_READ.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            problems.append("%s/%s:%d: reads the configuration with "
                            "ap_get_module_config: use the getter of the "
                            "file that creates it (%s)"
                            % (moddir, f, line, ", ".join(sorted(homes))))


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "srcdir", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    root = os.path.join(srcdir, "modules")
    problems, checked, known_seen = [], 0, set()
    mods = sorted(d for d in os.listdir(root) if d.startswith("mod_"))
    if not mods:
        print("config_rules: no modules under %s" % root)
        return 1
    for d in mods:
        checked += check_module(srcdir, os.path.join(root, d), problems,
                                known_seen)
    for key in sorted(set(KNOWN) - known_seen):
        problems.append("KNOWN names %s.%s (%s), which no longer exists: "
                        "take it off the list" % key)
    for p in problems:
        print(p)
    print("config_rules: %d module(s), %d member rule(s) checked, %d problem(s)"
          % (len(mods), checked, len(problems)))
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
