#!/usr/bin/python3
"""Request bodies shaped like a coding agent's turn, for the benchmarks.

    bench/agent_body.py --size 50k [--dialect openai|anthropic] [--stream]
                        [--model NAME] [--seed N] [-o body.json]
    bench/agent_body.py --all DIR     # 4k 50k 200k 1m x both dialects x
                                      # stream or not, as DIR/agent-*.json
    bench/agent_body.py --session FILE --size 50k [--seed N] [--dialect ...]
                        [--stream]    # the turns of one growing session

An agent turn is mostly what the agent carries along: a long system prompt,
a dozen tool schemas, and a history of tool calls whose results are source
files, search hits, diffs, build and test logs.  Everything here is made up
by templates and a seeded random generator (nothing copied from a real
agent), so the same arguments always give the same bytes, and the size is
exact.  The bodies hold nothing the scanner acts on (no key-shaped strings,
no addresses, no personal data): they measure the cost of allowed traffic.

Sizes: 4k has a short prompt (~700 bytes), two tools and two small tool
results; from 32k on, all twelve tools and an 8 KB prompt, and the history
grows with the size (50k: 4 tool results, 200k: 16, 1m: 86).
"""

import argparse
import json
import os
import random
import sys

SIZES = {"4k": 4 * 1024, "50k": 50 * 1024, "200k": 200 * 1024,
         "1m": 1024 * 1024}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5"}

IDENTS = ("request handler config session token_count retry timeout cache "
          "parser build deploy service client server query index update "
          "user_id payload buffer offset length stream worker queue result "
          "response headers router schema migration logger batch window "
          "record entry state store event metric tracer budget limit pool "
          "channel frame chunk cursor page filter reader writer").split()
MODULES = ("billing ingest scheduler gateway catalog search auth_flow "
           "reports inventory notifier exporter planner").split()
WORDS = ("the function returns a list of parsed records and the caller "
         "checks each field before writing it to the cache layer while the "
         "scheduler retries failed jobs with exponential backoff so that "
         "transient network errors do not surface to users").split()


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.ids = 0

    def ident(self):
        return self.r.choice(IDENTS)

    def camel(self):
        return "".join(w.capitalize() for w in self.ident().split("_")) + \
            "".join(w.capitalize() for w in self.ident().split("_"))

    def path(self, ext):
        return "src/%s/%s.%s" % (self.r.choice(MODULES), self.ident(), ext)

    def call_id(self, prefix):
        self.ids += 1
        alnum = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
        return prefix + "".join(self.r.choice(alnum) for _ in range(20)) + \
            "%04d" % self.ids

    def sentence(self):
        n = self.r.randint(8, 18)
        words = [self.r.choice(WORDS) for _ in range(n)]
        return " ".join(words).capitalize() + "."

    # -- source code in several languages ------------------------------------

    def python(self, lines):
        out = ["import logging", "from dataclasses import dataclass", "",
               "log = logging.getLogger(__name__)", ""]
        while len(out) < lines:
            cls, a, b = self.camel(), self.ident(), self.ident()
            out += ["", "@dataclass", "class %s:" % cls,
                    "    %s: int = %d" % (a, self.r.randint(0, 999)),
                    "    %s: str = \"%s\"" % (b, self.ident()), "",
                    "    def %s_%s(self, %s, limit=None):" % (
                        self.ident(), self.ident(), self.ident()),
                    "        \"\"\"%s\"\"\"" % self.sentence(),
                    "        if limit is not None and self.%s > limit:" % a,
                    "            log.warning(\"%s over limit: %%s\", self.%s)"
                    % (a, a),
                    "            return []",
                    "        return [x for x in self.%s.split(\",\") if x]"
                    % b]
        return out[:lines]

    def go(self, lines):
        out = ["package %s" % self.r.choice(MODULES), "", "import (",
               "\t\"context\"", "\t\"fmt\"", "\t\"time\"", ")", ""]
        while len(out) < lines:
            t, f = self.camel(), self.camel()
            out += ["", "type %s struct {" % t,
                    "\t%s int" % self.camel(),
                    "\t%s string" % self.camel(), "}", "",
                    "func (s *%s) %s(ctx context.Context, n int) error {"
                    % (t, f),
                    "\tctx, cancel := context.WithTimeout(ctx, %d*time."
                    "Millisecond)" % self.r.randint(50, 5000),
                    "\tdefer cancel()",
                    "\tif n > %d {" % self.r.randint(1, 512),
                    "\t\treturn fmt.Errorf(\"%s: %%d too many\", n)"
                    % self.ident(),
                    "\t}", "\treturn nil", "}"]
        return out[:lines]

    def typescript(self, lines):
        out = ["import { %s, %s } from './%s';" % (
            self.camel(), self.camel(), self.ident()), ""]
        while len(out) < lines:
            i, f = self.camel(), self.ident()
            out += ["", "export interface %s {" % i,
                    "  %s: number;" % self.ident(),
                    "  %s?: string[];" % self.ident(), "}", "",
                    "export async function %s(opts: %s): Promise<number> {"
                    % (f, i),
                    "  const res = await fetch(`/api/v1/%s/${opts.%s}`);"
                    % (self.ident(), self.ident()),
                    "  if (!res.ok) {",
                    "    throw new Error(`%s failed: ${res.status}`);"
                    % f, "  }",
                    "  return (await res.json()).%s ?? 0;" % self.ident(),
                    "}"]
        return out[:lines]

    def c(self, lines):
        out = ["#include <stdlib.h>", "#include <string.h>", ""]
        while len(out) < lines:
            f, a = self.ident(), self.ident()
            out += ["", "/* %s */" % self.sentence(),
                    "static int %s_%s(const char *%s, size_t len)" % (
                        f, self.ident(), a), "{",
                    "    size_t i;", "",
                    "    for (i = 0; i < len; i++) {",
                    "        if (%s[i] == '%s') {" % (a, self.r.choice(",;:")),
                    "            return (int)i;", "        }", "    }",
                    "    return -%d;" % self.r.randint(1, 9), "}"]
        return out[:lines]

    def rust(self, lines):
        out = ["use std::collections::HashMap;", ""]
        while len(out) < lines:
            s = self.camel()
            out += ["", "#[derive(Debug, Clone)]", "pub struct %s {" % s,
                    "    %s: HashMap<String, u64>," % self.ident(), "}", "",
                    "impl %s {" % s,
                    "    pub fn %s(&mut self, key: &str) -> Option<u64> {"
                    % self.ident(),
                    "        let v = self.%s.get(key)?;" % self.ident(),
                    "        Some(v.saturating_mul(%d))" % self.r.randint(2, 64),
                    "    }", "}"]
        return out[:lines]

    def source(self, lines):
        lang, ext = self.r.choice([(self.python, "py"), (self.go, "go"),
                                   (self.typescript, "ts"), (self.c, "c"),
                                   (self.rust, "rs")])
        return self.path(ext), lang(lines)

    # -- what tools return ------------------------------------------------------

    def file_read(self, lines):
        path, src = self.source(lines)
        return path, "\n".join("%6d\t%s" % (i + 1, l)
                               for i, l in enumerate(src))

    def grep(self, hits):
        word = self.ident()
        out = []
        for _ in range(hits):
            path, src = self.source(12)
            n = self.r.randrange(len(src))
            out.append("%s:%d:%s" % (path, n + 1, src[n] + "  # " + word))
        return word, "\n".join(out)

    def diff(self, hunks):
        out = []
        for _ in range(hunks):
            path, src = self.source(14)
            start = self.r.randint(1, 400)
            out += ["diff --git a/%s b/%s" % (path, path),
                    "--- a/%s" % path, "+++ b/%s" % path,
                    "@@ -%d,%d +%d,%d @@" % (start, len(src), start,
                                             len(src))]
            for line in src:
                out.append(self.r.choice("  +-") [0] + line)
        return "\n".join(out)

    def test_log(self, lines):
        out = ["============================= test session starts "
               "=============================",
               "collected %d items" % (lines * 3), ""]
        while len(out) < lines:
            mod = self.r.choice(MODULES)
            if self.r.random() < 0.15:
                out += ["FAILED tests/test_%s.py::test_%s_%s - AssertionError"
                        % (mod, self.ident(), self.ident()),
                        "Traceback (most recent call last):",
                        "  File \"src/%s/%s.py\", line %d, in %s" % (
                            mod, self.ident(), self.r.randint(10, 900),
                            self.ident()),
                        "    assert %s == %d" % (self.ident(),
                                                 self.r.randint(0, 99)),
                        "AssertionError: expected %d, got %d" % (
                            self.r.randint(0, 99), self.r.randint(0, 99))]
            else:
                out.append("tests/test_%s.py::test_%s_%s PASSED [%3d%%]" % (
                    mod, self.ident(), self.ident(), self.r.randint(0, 100)))
        return "\n".join(out[:lines])

    def build_log(self, lines):
        out = []
        while len(out) < lines:
            path = self.path("c")
            if self.r.random() < 0.2:
                out.append("%s:%d:%d: warning: unused variable '%s' "
                           "[-Wunused-variable]" % (
                               path, self.r.randint(1, 900),
                               self.r.randint(1, 40), self.ident()))
            else:
                out.append("  CC       %s" % path.replace(".c", ".lo"))
        return "\n".join(out)

    def service_log(self, lines):
        lvl = ("INFO", "WARN", "DEBUG", "ERROR")
        out = []
        for _ in range(lines):
            out.append("2025-03-%02d %02d:%02d:%02d.%03d %s [%s] %s: %s %s "
                       "in %dms worker=%s-%d" % (
                           self.r.randint(1, 28), self.r.randint(0, 23),
                           self.r.randint(0, 59), self.r.randint(0, 59),
                           self.r.randint(0, 999), self.r.choice(lvl),
                           self.r.choice(MODULES), self.ident(),
                           self.ident(), self.ident(),
                           self.r.randint(1, 2000), self.ident(),
                           self.r.randint(1, 64)))
        return "\n".join(out)

    def listing(self, n):
        out = ["total %d" % (n * 8)]
        for _ in range(n):
            out.append("-rw-r--r-- 1 dev dev %6d Mar %2d %02d:%02d %s" % (
                self.r.randint(100, 90000), self.r.randint(1, 28),
                self.r.randint(0, 23), self.r.randint(0, 59),
                self.path(self.r.choice(["py", "go", "ts", "c", "rs"]))))
        return "\n".join(out)


# -- the agent's fixed parts ------------------------------------------------------

TOOLS = [
    ("read_file", "Read a file of the workspace. Returns its lines numbered "
     "from 1. Use offset and limit for large files instead of reading "
     "them whole.",
     {"path": ("string", "Path relative to the workspace root."),
      "offset": ("integer", "First line to return (1-based)."),
      "limit": ("integer", "How many lines to return at most.")},
     ["path"]),
    ("write_file", "Create or overwrite a file with the given content. "
     "Read an existing file first; never write a file you have not read.",
     {"path": ("string", "Path relative to the workspace root."),
      "content": ("string", "The whole new content of the file.")},
     ["path", "content"]),
    ("edit_file", "Replace one exact occurrence of old_text by new_text in "
     "a file. Fails when old_text occurs zero or several times: add context "
     "lines to make it unique.",
     {"path": ("string", "Path relative to the workspace root."),
      "old_text": ("string", "Text to replace, exactly as in the file."),
      "new_text": ("string", "Replacement text."),
      "replace_all": ("boolean", "Replace every occurrence instead.")},
     ["path", "old_text", "new_text"]),
    ("list_dir", "List a directory with sizes and modification times.",
     {"path": ("string", "Directory, relative to the workspace root."),
      "recursive": ("boolean", "Descend into subdirectories.")},
     ["path"]),
    ("grep", "Search file contents with a regular expression. Returns "
     "path:line:text for each hit, at most max_results.",
     {"pattern": ("string", "Regular expression (RE2 syntax)."),
      "glob": ("string", "Only files whose path matches this glob."),
      "max_results": ("integer", "Stop after this many hits."),
      "case_sensitive": ("boolean", "Match case exactly.")},
     ["pattern"]),
    ("glob", "Find files by name pattern, newest first.",
     {"pattern": ("string", "Glob such as src/**/*.ts.")},
     ["pattern"]),
    ("run_command", "Run a shell command in the workspace and return its "
     "output and exit status. Commands time out after timeout_ms. Do not "
     "start servers or interactive programs.",
     {"command": ("string", "The command line."),
      "timeout_ms": ("integer", "Kill the command after this long."),
      "cwd": ("string", "Working directory, relative to the root.")},
     ["command"]),
    ("run_tests", "Run the project's test suite or a subset of it and "
     "return the runner's output.",
     {"selector": ("string", "Test file, class or name to run."),
      "fail_fast": ("boolean", "Stop at the first failure.")},
     []),
    ("git_diff", "Show the working tree's changes against HEAD or a given "
     "revision, as a unified diff.",
     {"revision": ("string", "Compare against this revision."),
      "paths": ("array", "Limit the diff to these paths.")},
     []),
    ("search_symbols", "Find definitions and references of a symbol with "
     "the language server.",
     {"name": ("string", "Symbol name."),
      "kind": ("string", "function, class, variable or any.")},
     ["name"]),
    ("todo_write", "Replace the task list shown to the user. Keep exactly "
     "one item in progress.",
     {"items": ("array", "Items with content and status.")},
     ["items"]),
    ("ask_user", "Ask the user a question when the task is ambiguous and "
     "a wrong guess would cost more than the interruption.",
     {"question": ("string", "One clear question."),
      "options": ("array", "Suggested answers.")},
     ["question"]),
]

PROMPT_SECTIONS = [
    ("Role", ["You are a coding agent working in the user's repository.",
              "You read code before changing it and keep changes small.",
              "You explain what you did in a few sentences at the end."]),
    ("Tools", ["Prefer the dedicated tools over shell commands.",
               "Read a file before editing it; edits must match exactly.",
               "Batch independent reads in one turn.",
               "Never run commands that need a terminal or never end."]),
    ("Code style", ["Follow the conventions already used in the file.",
                    "Do not add comments that restate the code.",
                    "Keep functions short and names descriptive.",
                    "Do not reformat code you did not change."]),
    ("Testing", ["Run the relevant tests after every change.",
                 "When a test fails, read the failure before retrying.",
                 "Add a test for every bug you fix."]),
    ("Git", ["Do not commit unless the user asks.",
             "Never rewrite published history or force-push.",
             "Write commit messages that say why, not only what."]),
    ("Safety", ["Do not print or store credentials found in files.",
                "Ask before deleting files or running migrations.",
                "Stay inside the workspace directory."]),
]


def system_prompt(g, size):
    out = []
    while len("\n".join(out)) < size:
        for title, rules in PROMPT_SECTIONS:
            out.append("# %s" % title)
            for rule in rules:
                out.append("- %s %s" % (rule, g.sentence()))
            out.append("")
    return "\n".join(out)[:size]


def tool_schemas(n):
    schemas = []
    for name, desc, params, required in TOOLS[:n]:
        props = {}
        for p, (typ, pdesc) in params.items():
            props[p] = {"type": typ, "description": pdesc}
            if typ == "array":
                props[p]["items"] = {"type": "string"}
        schemas.append((name, desc, {"type": "object", "properties": props,
                                     "required": required,
                                     "additionalProperties": False}))
    return schemas


def history_step(g, budget):
    """One tool call and its result: (tool name, arguments, result text),
    the result about budget bytes."""
    kind = g.r.choice(["read", "read", "grep", "diff", "tests", "build",
                       "log", "ls"])
    if kind == "read":
        path, text = g.file_read(max(8, budget // 48))
        return "read_file", {"path": path}, text
    if kind == "grep":
        word, text = g.grep(max(3, budget // 70))
        return "grep", {"pattern": word, "glob": "src/**"}, text
    if kind == "diff":
        return "git_diff", {}, g.diff(max(1, budget // 700))
    if kind == "tests":
        return "run_tests", {"selector": "tests/"}, \
            g.test_log(max(6, budget // 60))
    if kind == "build":
        return "run_command", {"command": "make -j4"}, \
            g.build_log(max(6, budget // 45))
    if kind == "log":
        return "run_command", {"command": "tail -n 400 logs/app.log"}, \
            g.service_log(max(4, budget // 95))
    return "list_dir", {"path": "src", "recursive": True}, \
        g.listing(max(4, budget // 60))


def openai_body(model, system, tools, steps, stream):
    msgs = [{"role": "system", "content": system},
            {"role": "user", "content": steps[0][0]}]
    for i, (text, name, args, call_id, result) in enumerate(steps):
        if name is None:
            continue
        msgs.append({"role": "assistant", "content": text if i else None,
                     "tool_calls": [{"id": call_id, "type": "function",
                                     "function": {"name": name,
                                                  "arguments":
                                                  json.dumps(args)}}]})
        msgs.append({"role": "tool", "tool_call_id": call_id,
                     "content": result})
    body = {"model": model, "messages": msgs,
            "tools": [{"type": "function",
                       "function": {"name": n, "description": d,
                                    "parameters": p}} for n, d, p in tools],
            "max_tokens": 4096}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def anthropic_body(model, system, tools, steps, stream):
    msgs = [{"role": "user", "content": [{"type": "text",
                                          "text": steps[0][0]}]}]
    for i, (text, name, args, call_id, result) in enumerate(steps):
        if name is None:
            continue
        content = [{"type": "text", "text": text}] if i else []
        content.append({"type": "tool_use", "id": call_id, "name": name,
                        "input": args})
        msgs.append({"role": "assistant", "content": content})
        msgs.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id,
             "content": result}]})
    body = {"model": model, "max_tokens": 4096,
            "system": [{"type": "text", "text": system}],
            "tools": [{"name": n, "description": d, "input_schema": p}
                      for n, d, p in tools],
            "messages": msgs}
    if stream:
        body["stream"] = True
    return body


def dump(body):
    return json.dumps(body, separators=(",", ":")).encode()


def build(size, dialect="openai", stream=False, model=None, seed=11):
    """The body as bytes, exactly size bytes long."""
    g = Gen(seed)
    model = model or MODELS[dialect]
    make = openai_body if dialect == "openai" else anthropic_body
    small = size < 32 * 1024
    system = system_prompt(g, max(600, min(8192, size // 6)))
    tools = tool_schemas(2 if small else 12)
    task = ("The %s job fails since yesterday's deploy; find out why, fix "
            "it and run the tests. %s" % (g.r.choice(MODULES), g.sentence()))
    steps = [(task, None, None, None, None)]
    # Tool results of 2-24 KB until the body is nearly full.
    while True:
        cur = len(dump(make(model, system, tools, steps, stream)))
        room = size - cur - 400
        if room < 300:
            break
        budget = min(room, g.r.randint(2048, 24576))
        name, args, result = history_step(g, budget)
        steps.append(("%s Next I check %s." % (g.sentence(), name), name,
                      args, g.call_id("call_" if dialect == "openai"
                                      else "toolu_"), result))
    # Make the size exact by trimming or padding the last result.
    text, name, args, call_id, result = steps[-1]
    if name is None:
        steps.append(("Reading the log.", "run_command",
                      {"command": "cat build.log"}, g.call_id("call_"), ""))
        text, name, args, call_id, result = steps[-1]
    for _ in range(64):
        cur = len(dump(make(model, system, tools, steps, stream)))
        if cur == size:
            break
        if cur > size:
            result = result[:max(0, len(result) - (cur - size))]
        else:
            pad = " ".join(WORDS)
            result += (" " + pad * (1 + (size - cur) // len(pad)))[
                :size - cur]
        steps[-1] = (text, name, args, call_id, result)
    raw = dump(make(model, system, tools, steps, stream))
    if len(raw) != size:
        raise ValueError("cannot build a %s body of %d bytes" % (dialect,
                                                                 size))
    return raw


# -- growing sessions -------------------------------------------------------
#
# A coding agent resends everything with every turn: turn k+1 is turn k's
# messages plus the assistant's next tool call and its result.  A session
# here starts near 0.9x the size and grows by one exchange of 1-6 KB of
# new content a turn until 1.1x (50k: ~3-4 turns, 200k: ~12); from 512k
# on, 0.95x to 1.05x (1m: ~25).  The system
# prompt and the tool schemas are the same in every session (one product's
# agents share them); the task and the history come from the seed.
#
# File format (for bench/gateway/session.lua, which has no JSON parser):
# one JSON fragment a line (json.dumps escapes every newline): line 1 the
# body up to the messages array's '[', line 2 what closes it, line 3 the
# number of messages of the first turn, then one message a line.  Turn t
# is line 1, the first (line 3) + 2t messages joined by ',', line 2.
# Every text a turn adds holds RUN_MARK, which session.lua replaces with a
# number of the same width each time it starts the session again: a
# restarted session is new text to the gateway, as another session is.

RUN_MARK = "@@RUN@@"
SHARED_SEED = 11        # the system prompt every session shares


def _session_message(dialect, step, first):
    """The wire messages of one history step (the user's task when the
    step has no tool)."""
    text, name, args, call_id, result = step
    if dialect == "openai":
        if name is None:
            return [{"role": "user", "content": text}]
        return [{"role": "assistant", "content": None if first else text,
                 "tool_calls": [{"id": call_id, "type": "function",
                                 "function": {"name": name,
                                              "arguments": json.dumps(args)}
                                 }]},
                {"role": "tool", "tool_call_id": call_id, "content": result}]
    if name is None:
        return [{"role": "user", "content": [{"type": "text",
                                              "text": text}]}]
    content = [] if first else [{"type": "text", "text": text}]
    content.append({"type": "tool_use", "id": call_id, "name": name,
                    "input": args})
    return [{"role": "assistant", "content": content},
            {"role": "user", "content": [{"type": "tool_result",
                                          "tool_use_id": call_id,
                                          "content": result}]}]


def session(size, dialect="openai", stream=False, model=None, seed=11):
    """(head, tail, first, messages): the fragments of one session's turns
    (see the format above)."""
    shared = Gen(SHARED_SEED)
    system = system_prompt(shared, max(600, min(8192, size // 6)))
    tools = tool_schemas(2 if size < 32 * 1024 else 12)
    g = Gen(seed * 7919 + 1)
    model = model or MODELS[dialect]
    prefix = "call_" if dialect == "openai" else "toolu_"
    if dialect == "openai":
        body = {"model": model, "max_tokens": 4096,
                "tools": [{"type": "function",
                           "function": {"name": n, "description": d,
                                        "parameters": p}}
                          for n, d, p in tools]}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        lead = [{"role": "system", "content": system}]
    else:
        body = {"model": model, "max_tokens": 4096,
                "system": [{"type": "text", "text": system}],
                "tools": [{"name": n, "description": d, "input_schema": p}
                          for n, d, p in tools]}
        if stream:
            body["stream"] = True
        lead = []
    body["messages"] = []
    whole = dump(body).decode()      # ends with "messages":[]}
    cut = len(whole) - 2
    head, tail = whole[:cut], whole[cut:]
    for m in lead:
        head += json.dumps(m, separators=(",", ":")) + ","
    task = ("[run %s] The %s job fails since yesterday's deploy; find out "
            "why, fix it and run the tests. %s"
            % (RUN_MARK, g.r.choice(MODULES), g.sentence()))
    msgs = [json.dumps(m, separators=(",", ":"))
            for m in _session_message(dialect, (task, None, None, None,
                                                None), True)]

    def turn_size():
        return len(head) + len(tail) + sum(len(m) + 1 for m in msgs)

    def step(budget, first=False):
        name, args, result = history_step(g, budget)
        text = "[run %s] %s Next I check %s." % (RUN_MARK, g.sentence(),
                                                  name)
        result = "[run %s]\n%s" % (RUN_MARK, result)
        return [json.dumps(m, separators=(",", ":"))
                for m in _session_message(dialect, (text, name, args,
                                                    g.call_id(prefix),
                                                    result), first)]

    spread = 0.1 if size < 512 * 1024 else 0.05
    lo, hi = int(size * (1 - spread)), int(size * (1 + spread))
    while turn_size() < lo:
        budget = min(max(300, lo - turn_size()), g.r.randint(2048, 24576))
        msgs += step(budget, first=len(msgs) == 1)
    first = len(msgs)
    while True:
        more = step(g.r.randint(1024, 6144))
        if turn_size() + sum(len(m) + 1 for m in more) > hi:
            break
        msgs += more
    return head, tail, first, msgs


def write_session(path, size, dialect="openai", stream=False, model=None,
                  seed=11):
    head, tail, first, msgs = session(size, dialect, stream, model, seed)
    with open(path, "w") as f:
        f.write("%s\n%s\n%d\n" % (head, tail, first))
        for m in msgs:
            f.write(m + "\n")
    return 1 + (len(msgs) - first) // 2


def session_turns(path, run="0000000"):
    """The turns of a session file as bodies (bytes), RUN_MARK replaced by
    run: what session.lua sends, for checks and in-process benchmarks."""
    with open(path) as f:
        lines = f.read().split("\n")
    head, tail, first = lines[0], lines[1], int(lines[2])
    msgs = [m for m in lines[3:] if m]
    out = []
    for n in range(first, len(msgs) + 1, 2):
        body = head + ",".join(msgs[:n]) + tail
        out.append(body.replace(RUN_MARK, run).encode())
    return out


def parse_size(s):
    s = s.lower()
    if s in SIZES:
        return SIZES[s]
    mult = {"k": 1024, "m": 1024 * 1024}.get(s[-1:], 1)
    return int(s.rstrip("km")) * mult


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="50k",
                    help="4k, 50k, 200k, 1m or a byte count (12k, 3m, ...)")
    ap.add_argument("--dialect", choices=["openai", "anthropic"],
                    default="openai")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--model")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("-o", "--output")
    ap.add_argument("--all", metavar="DIR",
                    help="write every standard size, dialect and mode")
    ap.add_argument("--session", metavar="FILE",
                    help="write the turns of one growing session (format "
                         "above) for --size and --seed")
    args = ap.parse_args()
    if args.session:
        n = write_session(args.session, parse_size(args.size), args.dialect,
                          args.stream, args.model, args.seed)
        print("%s: %d turns" % (args.session, n))
        return
    if args.all:
        os.makedirs(args.all, exist_ok=True)
        for name, size in SIZES.items():
            for dialect in MODELS:
                for stream in (False, True):
                    path = os.path.join(args.all, "agent-%s-%s%s.json" % (
                        name, dialect, "-stream" if stream else ""))
                    with open(path, "wb") as f:
                        f.write(build(size, dialect, stream, seed=args.seed))
                    print(path)
        return
    raw = build(parse_size(args.size), args.dialect, args.stream, args.model,
                args.seed)
    if args.output:
        with open(args.output, "wb") as f:
            f.write(raw)
    else:
        sys.stdout.buffer.write(raw)


if __name__ == "__main__":
    main()
