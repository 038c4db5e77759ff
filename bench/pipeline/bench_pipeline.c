/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The request pipeline of mod_llm_scan, measured without httpd (a
 * benchmark, not a test).  Builds coding-agent request bodies of a few MB
 * each -- OpenAI chat with long tool outputs, Anthropic messages with
 * tool_use / tool_result blocks, Responses API with function_call_output;
 * file reads with line-number prefixes, diffs, logs with stack traces,
 * .env files, a few secrets and personal data -- and measures in one run,
 * on the same bytes:
 *
 *   plain      a byte-touching pass over the body (the floor)
 *   parse      llm_json_parse alone (and freeing the tree)
 *   extract    llm_json_parse + llm_dialect_units
 *   full       llm_json_parse + llm_dialect_units + llm_scan_text over
 *              every unit with the full default rule set: what the
 *              gateway does to every request before deciding
 *   scan       llm_scan_text alone over the units' text (engine figure)
 *
 * MB/s are of body bytes (scan: of unit bytes), CPU time of this thread
 * (a per-core figure that other load on a shared machine does not
 * distort), best of the rounds.  Then the per-request latency of the full
 * pipeline on a 100 KB body: median, 90th and 99th percentile of many runs,
 * in CPU time and wall clock.
 *
 *   bench_pipeline [MB] [rounds] [latency-runs] [dump-dir]
 *   (default 12 MB of bodies, 5 rounds, 2000 runs; dump-dir gets the
 *   bodies as body-N.json to look at or feed to the gateway)
 *
 *   bench_pipeline --stages [--runs=N] [--no-arena] [--clean-cache]
 *                  body.json...
 *   the time of each stage of a request, per body (stages.c)
 *
 *   bench_pipeline --parse [--runs=N] [--no-arena] body.json...
 *   the parse and the release of its tree alone, with the page faults a
 *   request (parse_free.c)
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "llm_types.h"
#include "dialect/llm_dialect.h"
#include "scan/llm_scan.h"
#include "stages.h"

/* -- deterministic randomness ----------------------------------------------- */

static unsigned long long rng = 0x2545f4914f6cdd1dULL;

static unsigned int rnd(unsigned int n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned int)(rng % n);
}

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* -- text a coding agent sends ---------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

static void tput(text_t *t, const char *s)
{
    size_t l = strlen(s);

    if (t->len + l + 1 > t->cap) {
        t->cap = (t->len + l + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        if (!t->buf) {
            abort();
        }
    }
    memcpy(t->buf + t->len, s, l + 1);
    t->len += l;
}

static void tputf(text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tputf(text_t *t, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    tput(t, tmp);
}

static void treset(text_t *t)
{
    t->len = 0;
    if (t->buf) {
        t->buf[0] = '\0';
    }
}

static const char *const idents[] = {
    "request", "handler", "config", "session", "token_count", "retry",
    "timeout", "cache", "parser", "build", "deploy", "service", "client",
    "server", "db", "query", "index", "update", "user_id", "payload",
    "buffer", "offset", "length", "stream", "worker", "queue", "result",
    "response", "headers", "router", "schema", "migration", "logger", NULL
};

static const char *id(void)
{
    static unsigned int n;

    if (!n) {
        while (idents[n]) {
            n++;
        }
    }
    return idents[rnd(n)];
}

static void hex(char *out, int n)
{
    static const char h[] = "0123456789abcdef";
    int i;

    for (i = 0; i < n; i++) {
        out[i] = h[rnd(16)];
    }
    out[n] = '\0';
}

static void alnum(char *out, int n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int i;

    for (i = 0; i < n; i++) {
        out[i] = a[rnd(62)];
    }
    out[n] = '\0';
}

/* One line of source code, Python, TypeScript or C. */
static void code_line(text_t *t)
{
    char h[41];

    switch (rnd(12)) {
    case 0:
        tputf(t, "def %s_%s(self, %s, %s=None):", id(), id(), id(), id());
        break;
    case 1:
        tputf(t, "    %s = self.%s.get(\"%s\", %u)", id(), id(), id(),
              rnd(1000));
        break;
    case 2:
        tputf(t, "    if %s is None or len(%s) > %u:", id(), id(), rnd(4096));
        break;
    case 3:
        tputf(t, "export async function %s(%s: %sOptions): Promise<void> {",
              id(), id(), id());
        break;
    case 4:
        tputf(t, "import { %s, %s } from '@%s/%s';", id(), id(), id(), id());
        break;
    case 5:
        tputf(t, "  const %s = await fetch(`/api/v1/%s/${%s}`);", id(), id(),
              id());
        break;
    case 6:
        tputf(t, "    // %s the %s before the %s is flushed", id(), id(),
              id());
        break;
    case 7:
        hex(h, 40);
        tputf(t, "    \"%s\": \"sha1-%s\",", id(), h);
        break;
    case 8:
        tputf(t, "static int %s_%s(const char *%s, size_t %s)", id(), id(),
              id(), id());
        break;
    case 9:
        tputf(t, "    return %s(%s, %u, %u);", id(), id(), rnd(100),
              rnd(65536));
        break;
    case 10:
        tputf(t, "@app.route(\"/%s/<int:%s>\", methods=[\"GET\"])", id(),
              id());
        break;
    default:
        tputf(t, "%*s%s.%s(%s)", (int)rnd(12), "", id(), id(), id());
    }
}

/* A file read as agents' Read tools return it: "    12\t...". */
static void file_read(text_t *t, size_t want)
{
    size_t start = t->len;
    unsigned int line = 1;

    while (t->len - start < want) {
        tputf(t, "%6u\t", line++);
        code_line(t);
        tput(t, "\n");
    }
}

static void diff(text_t *t, size_t want)
{
    size_t start = t->len;
    char a[8], b[8];

    while (t->len - start < want) {
        int i, n = 5 + (int)rnd(25);

        hex(a, 7);
        hex(b, 7);
        tputf(t, "diff --git a/src/%s.py b/src/%s.py\nindex %s..%s 100644\n"
              "--- a/src/%s.py\n+++ b/src/%s.py\n@@ -%u,%u +%u,%u @@\n",
              id(), id(), a, b, id(), id(), rnd(900), n, rnd(900), n);
        for (i = 0; i < n; i++) {
            tputf(t, "%c", "+- "[rnd(3)]);
            code_line(t);
            tput(t, "\n");
        }
    }
}

static void log_text(text_t *t, size_t want)
{
    static const char *const lvl[] = { "INFO", "WARN", "DEBUG", "ERROR" };
    size_t start = t->len;
    char rid[33];

    while (t->len - start < want) {
        hex(rid, 32);
        tputf(t, "2024-05-%02u %02u:%02u:%02u.%03u %s [%s] %s: %s %s in "
              "%ums request_id=%s peer=10.%u.%u.%u:%u\n",
              1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000),
              lvl[rnd(4)], id(), id(), id(), id(), rnd(2000), rid,
              rnd(256), rnd(256), rnd(256), 1024 + rnd(60000));
        if (!rnd(25)) {
            tputf(t, "Traceback (most recent call last):\n"
                  "  File \"/srv/app/%s.py\", line %u, in %s\n"
                  "    %s = %s[%s]\nKeyError: '%s'\n",
                  id(), rnd(900), id(), id(), id(), id(), id());
        }
    }
}

/* A .env file; secrets in some of them, as in real repositories. */
static void env_file(text_t *t, int with_secrets)
{
    char tok[48];

    tputf(t, "NODE_ENV=production\nPORT=%u\nLOG_LEVEL=info\n"
          "REDIS_URL=redis://cache.internal:6379/0\nFEATURE_%s=true\n",
          3000 + rnd(1000), "NEW_CHECKOUT");
    if (!with_secrets) {
        tput(t, "DATABASE_URL=${DATABASE_URL}\nAWS_REGION=eu-west-1\n");
        return;
    }
    switch (rnd(4)) {
    case 0:
        alnum(tok, 14);
        tputf(t, "DATABASE_URL=postgres://app:%s@db.internal:5432/app\n",
              tok);
        break;
    case 1:
        tput(t, "AWS_ACCESS_KEY_ID=AKIA");
        {
            static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            int i;

            for (i = 0; i < 16; i++) {
                tok[i] = b32[rnd(32)];
            }
            tok[16] = '\0';
        }
        tputf(t, "%s\n", tok);
        break;
    case 2:
        alnum(tok, 36);
        tputf(t, "GITHUB_TOKEN=ghp_%s\n", tok);
        break;
    default:
        tputf(t, "SUPPORT_EMAIL=%s.%s@acme-corp.com\n", id(), id());
    }
}

static void prose(text_t *t, size_t want)
{
    size_t start = t->len;

    while (t->len - start < want) {
        tputf(t, "The %s %s the %s when the %s is %s", id(), id(), id(),
              id(), id());
        tput(t, rnd(4) ? ", and " : ".\n");
    }
}

/* A tool output of about want bytes: a file read, a diff, a log, an
 * .env file or a mix. */
static void tool_output(text_t *t, size_t want)
{
    treset(t);
    switch (rnd(6)) {
    case 0:
    case 1:
        file_read(t, want);
        break;
    case 2:
        diff(t, want);
        break;
    case 3:
        log_text(t, want);
        break;
    case 4:
        env_file(t, rnd(3) == 0);
        file_read(t, want);
        break;
    default:
        prose(t, want / 4);
        file_read(t, want - want / 4);
    }
}

/* -- request bodies ---------------------------------------------------------- */

typedef struct {
    char *body;
    size_t len;
    llm_endpoint_e ep;
    const char *what;
} body_t;

static size_t out_size(void)
{
    /* tool outputs of 2-60 KB, a few much larger (whole files, logs) */
    return rnd(10) ? 2048 + rnd(58 * 1024) : 64 * 1024 + rnd(192 * 1024);
}

static json_t *openai_tools(void)
{
    return json_pack(
        "[{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}, s:[s]}}},"
        " {s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}, s:[s]}}}]",
        "type", "function", "function", "name", "read_file", "description",
        "Read a file of the repository, with line numbers",
        "parameters", "type", "object", "properties", "path", "type",
        "string", "description", "path relative to the root", "required",
        "path",
        "type", "function", "function", "name", "run_shell", "description",
        "Run a shell command in the sandbox and return its output",
        "parameters", "type", "object", "properties", "command", "type",
        "string", "description", "the command line", "required", "command");
}

static json_t *anthropic_tools(void)
{
    return json_pack(
        "[{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}, s:[s]}},"
        " {s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}, s:[s]}}]",
        "name", "Read", "description", "Reads a file from the filesystem",
        "input_schema", "type", "object", "properties", "file_path", "type",
        "string", "description", "absolute path", "required", "file_path",
        "name", "Bash", "description", "Executes a bash command",
        "input_schema", "type", "object", "properties", "command", "type",
        "string", "description", "the command to run", "required",
        "command");
}

static char *dump(json_t *root, size_t *len)
{
    char *s = json_dumps(root, JSON_COMPACT);

    json_decref(root);
    if (!s) {
        abort();
    }
    *len = strlen(s);
    return s;
}

static body_t openai_chat_body(size_t want, text_t *t)
{
    json_t *msgs = json_array();
    json_t *root;
    size_t have = 0;
    unsigned int turn = 0;
    body_t b;
    char call[32];

    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system",
        "content", "You are a coding agent working in a git repository. "
        "Use the tools to read files and run commands."));
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user",
        "content", "The checkout tests fail since yesterday; find out why "
        "and fix it."));
    while (have < want) {
        size_t n = out_size();

        snprintf(call, sizeof(call), "call_%08x%04u", rnd(0xffffffffu),
                 turn++);
        json_array_append_new(msgs, json_pack(
            "{s:s, s:n, s:[{s:s, s:s, s:{s:s, s:s}}]}", "role", "assistant",
            "content", "tool_calls", "id", call, "type", "function",
            "function", "name", rnd(2) ? "read_file" : "run_shell",
            "arguments", rnd(2) ? "{\"path\":\"src/checkout/cart.py\"}"
                                : "{\"command\":\"pytest -x tests/ -q\"}"));
        tool_output(t, n);
        json_array_append_new(msgs, json_pack("{s:s, s:s, s:s%}", "role",
                                              "tool", "tool_call_id", call,
                                              "content", t->buf, t->len));
        have += n;
    }
    root = json_pack("{s:s, s:o, s:o, s:b}", "model", "gpt-4o", "messages",
                     msgs, "tools", openai_tools(), "stream", 1);
    b.body = dump(root, &b.len);
    b.ep = LLM_EP_OPENAI_CHAT;
    b.what = "openai chat";
    return b;
}

static body_t anthropic_body(size_t want, text_t *t)
{
    json_t *msgs = json_array();
    json_t *root;
    size_t have = 0;
    unsigned int turn = 0;
    body_t b;
    char tid[40];

    json_array_append_new(msgs, json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}",
        "role", "user", "content",
        "type", "text", "text", "<system-reminder>The repository uses "
        "pytest and ruff.</system-reminder>",
        "type", "text", "text", "Refactor the session cache and keep the "
        "tests green."));
    while (have < want) {
        size_t n = out_size();
        int blocks = rnd(4) == 0;

        snprintf(tid, sizeof(tid), "toolu_%08x%08x%04u", rnd(0xffffffffu),
                 rnd(0xffffffffu), turn++);
        json_array_append_new(msgs, json_pack(
            "{s:s, s:[{s:s, s:s}, {s:s, s:s, s:s, s:{s:s}}]}",
            "role", "assistant", "content",
            "type", "text", "text", "Let me look at that.",
            "type", "tool_use", "id", tid, "name", rnd(2) ? "Read" : "Bash",
            "input", rnd(2) ? "file_path" : "command",
            rnd(2) ? "/srv/app/session/cache.py" : "git diff HEAD~3"));
        tool_output(t, n);
        if (blocks) {
            /* tool_result as text blocks, cut in two */
            size_t cut = t->len / 2;

            json_array_append_new(msgs, json_pack(
                "{s:s, s:[{s:s, s:s, s:[{s:s, s:s%}, {s:s, s:s%}]}]}",
                "role", "user", "content", "type", "tool_result",
                "tool_use_id", tid, "content", "type", "text", "text",
                t->buf, cut, "type", "text", "text", t->buf + cut,
                t->len - cut));
        }
        else {
            json_array_append_new(msgs, json_pack(
                "{s:s, s:[{s:s, s:s, s:s%}]}", "role", "user", "content",
                "type", "tool_result", "tool_use_id", tid, "content",
                t->buf, t->len));
        }
        have += n;
    }
    root = json_pack("{s:s, s:i, s:[{s:s, s:s, s:{s:s}}], s:o, s:o, s:b}",
                     "model", "claude-sonnet-4-5", "max_tokens", 32000,
                     "system", "type", "text", "text",
                     "You are Claude Code, Anthropic's CLI for Claude.",
                     "cache_control", "type", "ephemeral",
                     "tools", anthropic_tools(), "messages", msgs,
                     "stream", 1);
    b.body = dump(root, &b.len);
    b.ep = LLM_EP_ANTHROPIC_MESSAGES;
    b.what = "anthropic messages";
    return b;
}

static body_t responses_body(size_t want, text_t *t)
{
    json_t *input = json_array();
    json_t *root;
    size_t have = 0;
    unsigned int turn = 0;
    body_t b;
    char call[32];

    json_array_append_new(input, json_pack(
        "{s:s, s:s, s:[{s:s, s:s}]}", "type", "message", "role", "user",
        "content", "type", "input_text", "text",
        "Add retries to the payment client."));
    while (have < want) {
        size_t n = out_size();

        snprintf(call, sizeof(call), "call_%08x%04u", rnd(0xffffffffu),
                 turn++);
        json_array_append_new(input, json_pack(
            "{s:s, s:s, s:s, s:s}", "type", "function_call", "call_id", call,
            "name", "exec_command", "arguments",
            "{\"cmd\":[\"bash\",\"-lc\",\"sed -n 1,400p src/pay/client.ts\"]}"));
        tool_output(t, n);
        json_array_append_new(input, json_pack(
            "{s:s, s:s, s:s%}", "type", "function_call_output", "call_id",
            call, "output", t->buf, t->len));
        have += n;
    }
    root = json_pack("{s:s, s:s, s:o, s:b}", "model", "gpt-5-codex",
                     "instructions", "You are Codex, a coding agent. Follow "
                     "the repository's AGENTS.md.", "input", input,
                     "stream", 1);
    b.body = dump(root, &b.len);
    b.ep = LLM_EP_OPENAI_RESPONSES;
    b.what = "responses";
    return b;
}

static body_t make_body(int kind, size_t want, text_t *t)
{
    switch (kind % 3) {
    case 0:
        return anthropic_body(want, t);
    case 1:
        return openai_chat_body(want, t);
    default:
        return responses_body(want, t);
    }
}

/* -- the pipeline ------------------------------------------------------------- */

typedef struct {
    size_t units, unit_bytes, findings;
} pipe_stats_t;

/* What mod_llm_scan does to a body before it decides: parse, extract,
 * scan every unit.  Returns -1 when anything fails. */
static int pipeline(const llm_scan_rules_t *rs, const body_t *b,
                    apr_pool_t *p, pipe_stats_t *st)
{
    const char *err = NULL;
    json_t *root = llm_json_parse(p, b->body, b->len, &err);
    apr_array_header_t *units, *matches;
    int i, n;

    if (!root) {
        fprintf(stderr, "bench_pipeline: %s\n", err);
        return -1;
    }
    units = llm_dialect_units(p, root, b->ep);
    matches = apr_array_make(p, 16, sizeof(llm_scan_match_t));
    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, i, llm_unit_t);

        apr_array_clear(matches);
        if ((n = llm_scan_text(rs, u->text, u->len, p, matches)) < 0) {
            fprintf(stderr, "bench_pipeline: scan failed\n");
            return -1;
        }
        if (st) {
            st->units++;
            st->unit_bytes += u->len;
            st->findings += (size_t)n;
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double mbps(size_t bytes, double secs)
{
    return secs > 0 ? (double)bytes / 1048576.0 / secs : 0.0;
}

int main(int argc, const char *const *argv)
{
    static const size_t sizes_mb[] = { 3, 4, 2, 1 };
    apr_pool_t *pool, *sp;
    llm_scan_rules_t *rs;
    const char *err;
    text_t t = { NULL, 0, 0 };
    body_t *bodies = NULL, small;
    int nb = 0, r, i, rounds, runs;
    size_t target, total = 0, unit_total = 0;
    double best[5] = { 1e9, 1e9, 1e9, 1e9, 1e9 };
    double *lat, *lat_cpu;
    pipe_stats_t st = { 0, 0, 0 };
    apr_array_header_t *all_units;
    volatile unsigned long sink = 0;
    const char *dump_dir;

    apr_app_initialize(&argc, &argv, NULL);
    if (argc > 1 && !strcmp(argv[1], "--stages")) {
        int rc = bench_stages_main(argc - 2, argv + 2);

        apr_terminate();
        return rc;
    }
    if (argc > 1 && !strcmp(argv[1], "--parse")) {
        int rc = bench_parse_main(argc - 2, argv + 2);

        apr_terminate();
        return rc;
    }
    apr_pool_create(&pool, NULL);
    target = (size_t)((argc > 1 ? atof(argv[1]) : 12.0) * 1048576.0);
    rounds = argc > 2 ? atoi(argv[2]) : 5;
    runs = argc > 3 ? atoi(argv[3]) : 2000;
    dump_dir = argc > 4 ? argv[4] : NULL;
    if (rounds < 1) {
        rounds = 1;
    }
    if (runs < 10) {
        runs = 10;
    }

    rs = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rs)) != NULL) {
        fprintf(stderr, "bench_pipeline: %s\n", err);
        return 2;
    }

    while (total < target) {
        size_t want = sizes_mb[nb % 4] * 1048576;

        if (want > target - total && total > 0) {
            want = target - total;
        }
        bodies = realloc(bodies, sizeof(*bodies) * (size_t)(nb + 1));
        bodies[nb] = make_body(nb, want, &t);
        total += bodies[nb].len;
        nb++;
    }
    small = anthropic_body(100 * 1024, &t);
    /* trim to about 100 KB: rebuild with a smaller target if overshot */
    if (small.len > 110 * 1024) {
        size_t want = 100 * 1024;

        while (small.len > 110 * 1024 && want > 4096) {
            free(small.body);
            want = want * 9 / 10;
            small = anthropic_body(want, &t);
        }
    }

    if (dump_dir) {
        for (i = 0; i < nb; i++) {
            char *path = apr_psprintf(pool, "%s/body-%d.json", dump_dir, i);
            FILE *f = fopen(path, "wb");

            if (!f || fwrite(bodies[i].body, 1, bodies[i].len, f)
                          != bodies[i].len) {
                fprintf(stderr, "bench_pipeline: cannot write %s\n", path);
                return 2;
            }
            fclose(f);
        }
    }

    apr_pool_create(&sp, pool);

    /* the units' text, once, for the engine-alone figure */
    all_units = apr_array_make(pool, 1024, sizeof(llm_unit_t));
    for (i = 0; i < nb; i++) {
        json_t *root = llm_json_parse(pool, bodies[i].body, bodies[i].len,
                                      &err);
        apr_array_header_t *u;

        if (!root) {
            fprintf(stderr, "bench_pipeline: body %d: %s\n", i, err);
            return 2;
        }
        if ((err = llm_dialect_check(pool, root, bodies[i].ep)) != NULL) {
            fprintf(stderr, "bench_pipeline: body %d: %s\n", i, err);
            return 2;
        }
        u = llm_dialect_units(pool, root, bodies[i].ep);
        apr_array_cat(all_units, u);
    }
    for (i = 0; i < all_units->nelts; i++) {
        unit_total += APR_ARRAY_IDX(all_units, i, llm_unit_t).len;
    }

    for (r = 0; r < rounds; r++) {
        double t0, t1;
        unsigned long q = 0;
        int k;

        /* 0: the floor, every byte looked at once */
        t0 = cpu_now();
        for (i = 0; i < nb; i++) {
            const unsigned char *s = (const unsigned char *)bodies[i].body;
            size_t off;

            for (off = 0; off < bodies[i].len; off++) {
                q += s[off] == '"';
            }
        }
        sink += q;
        t1 = cpu_now();
        if (t1 - t0 < best[0]) {
            best[0] = t1 - t0;
        }

        /* 1: parse alone (the tree is freed with the pool, as in httpd) */
        t0 = cpu_now();
        for (i = 0; i < nb; i++) {
            if (!llm_json_parse(sp, bodies[i].body, bodies[i].len, &err)) {
                fprintf(stderr, "bench_pipeline: %s\n", err);
                return 2;
            }
            apr_pool_clear(sp);
        }
        t1 = cpu_now();
        if (t1 - t0 < best[1]) {
            best[1] = t1 - t0;
        }

        /* 2: parse + extract */
        t0 = cpu_now();
        for (i = 0; i < nb; i++) {
            json_t *root = llm_json_parse(sp, bodies[i].body, bodies[i].len,
                                          &err);

            if (!root) {
                return 2;
            }
            sink += (unsigned long)llm_dialect_units(sp, root,
                                                     bodies[i].ep)->nelts;
            apr_pool_clear(sp);
        }
        t1 = cpu_now();
        if (t1 - t0 < best[2]) {
            best[2] = t1 - t0;
        }

        /* 3: parse + extract + scan: the gateway's work */
        memset(&st, 0, sizeof(st));
        t0 = cpu_now();
        for (i = 0; i < nb; i++) {
            if (pipeline(rs, &bodies[i], sp, &st) != 0) {
                return 2;
            }
            apr_pool_clear(sp);
        }
        t1 = cpu_now();
        if (t1 - t0 < best[3]) {
            best[3] = t1 - t0;
        }

        /* 4: the engine alone over the same units */
        t0 = cpu_now();
        for (k = 0; k < all_units->nelts; k++) {
            const llm_unit_t *u = &APR_ARRAY_IDX(all_units, k, llm_unit_t);
            apr_array_header_t *m = apr_array_make(sp, 16,
                                                   sizeof(llm_scan_match_t));

            if (llm_scan_text(rs, u->text, u->len, sp, m) < 0) {
                return 2;
            }
            apr_pool_clear(sp);
        }
        t1 = cpu_now();
        if (t1 - t0 < best[4]) {
            best[4] = t1 - t0;
        }
    }

    /* latency of one 100 KB request, wall clock */
    lat = malloc(sizeof(double) * (size_t)runs);
    lat_cpu = malloc(sizeof(double) * (size_t)runs);
    for (i = 0; i < 20; i++) {            /* warm caches */
        pipeline(rs, &small, sp, NULL);
        apr_pool_clear(sp);
    }
    for (i = 0; i < runs; i++) {
        double t0 = wall_now(), c0 = cpu_now();

        if (pipeline(rs, &small, sp, NULL) != 0) {
            return 2;
        }
        apr_pool_clear(sp);
        lat_cpu[i] = cpu_now() - c0;
        lat[i] = wall_now() - t0;
    }
    qsort(lat, (size_t)runs, sizeof(double), cmp_double);
    qsort(lat_cpu, (size_t)runs, sizeof(double), cmp_double);

    printf("bodies: %d, %.1f MB (", nb, (double)total / 1048576.0);
    for (i = 0; i < nb; i++) {
        printf("%s%s %.1f MB", i ? ", " : "", bodies[i].what,
               (double)bodies[i].len / 1048576.0);
    }
    printf(")\nunits: %lu, %.1f MB of decoded text; %lu findings a pass\n\n",
           (unsigned long)st.units, (double)unit_total / 1048576.0,
           (unsigned long)st.findings);
    printf("%-38s %10s %10s\n", "pass (CPU time, best of rounds)", "MB/s",
           "vs plain");
    printf("%-38s %10.1f %10.3f\n", "plain byte pass", mbps(total, best[0]),
           1.0);
    printf("%-38s %10.1f %10.3f\n", "llm_json_parse", mbps(total, best[1]),
           mbps(total, best[1]) / mbps(total, best[0]));
    printf("%-38s %10.1f %10.3f\n", "parse + llm_dialect_units",
           mbps(total, best[2]), mbps(total, best[2]) / mbps(total, best[0]));
    printf("%-38s %10.1f %10.3f\n", "parse + units + llm_scan_text",
           mbps(total, best[3]), mbps(total, best[3]) / mbps(total, best[0]));
    printf("%-38s %10.1f %10.3f\n", "llm_scan_text alone (unit bytes)",
           mbps(unit_total, best[4]),
           mbps(unit_total, best[4]) / mbps(total, best[0]));
    printf("\nfull pipeline / parse alone: %.3f   (parse is %.0f%% of the "
           "pipeline's time)\n",
           mbps(total, best[3]) / mbps(total, best[1]),
           100.0 * best[1] / best[3]);
    printf("target parse+extract+scan >= 200 MB/s per core: %s\n",
           mbps(total, best[3]) >= 200.0 ? "met" : "NOT met");
    printf("\nlatency of parse + units + scan, %.1f KB anthropic body, "
           "%d runs:\n", (double)small.len / 1024.0, runs);
    printf("  %-10s median %8.1f us  p90 %8.1f us  p99 %8.1f us  "
           "min %8.1f us\n", "CPU time", lat_cpu[runs / 2] * 1e6,
           lat_cpu[runs * 9 / 10] * 1e6, lat_cpu[runs * 99 / 100] * 1e6,
           lat_cpu[0] * 1e6);
    printf("  %-10s median %8.1f us  p90 %8.1f us  p99 %8.1f us  "
           "min %8.1f us\n", "wall", lat[runs / 2] * 1e6,
           lat[runs * 9 / 10] * 1e6, lat[runs * 99 / 100] * 1e6,
           lat[0] * 1e6);

    free(lat);
    free(lat_cpu);
    for (i = 0; i < nb; i++) {
        free(bodies[i].body);
    }
    free(bodies);
    free(small.body);
    free(t.buf);
    apr_pool_destroy(pool);
    apr_terminate();
    return sink == 0xdeadbeef ? 1 : 0;
}
