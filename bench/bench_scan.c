/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Engine benchmark (not a test).  Builds a realistic mixed corpus in
 * memory -- source code, JSON, logs, diffs, prose, with a sprinkling of
 * secrets and personal data -- cut into strings of the sizes agents send,
 * and prints in one run:
 *   - a plain byte-touching pass over the same strings (the floor),
 *   - llm_scan_text with the full default rule set,
 *   - their ratio,
 *   - parse + extract + scan of whole request bodies is measured by
 *     bench/pipeline/bench_pipeline (lib/dialect's JSON parse and unit
 *     extraction feeding this engine), built from the same tree;
 *   - with --joined, also llm_scan_joined over all the strings taken as
 *     adjacent messages of one role (the worst case: every string meets
 *     the next), next to the scan of the strings themselves.
 *
 *   - with --paths, also llm_scan_text with the prefilter's scalar loop,
 *     each round right after the default (vector, where the CPU has it)
 *     one, so that both meet the same load on a shared machine.
 *
 *   bench_scan [--joined] [--paths] [MB] [rounds] [dump-file]
 *   (default 8 MB, 5 rounds; best round wins; dump-file gets the corpus)
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "scan/llm_scan.h"
#include "scan/scan_private.h"

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned int rnd(unsigned int n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned int)(rng_state % n);
}

static double now(void)
{
    struct timespec ts;
    /* CPU time of this thread: the figure is per core, and other work on
     * a shared machine does not count against it */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf_t;

static void put(sbuf_t *b, const char *s)
{
    size_t l = strlen(s);
    if (b->len + l + 1 > b->cap) {
        b->cap = (b->len + l + 1) * 2;
        b->buf = realloc(b->buf, b->cap);
        if (!b->buf) {
            abort();
        }
    }
    memcpy(b->buf + b->len, s, l + 1);
    b->len += l;
}

static void putf(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(sbuf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put(b, tmp);
}

static const char *const words[] = {
    "the", "request", "handler", "returns", "a", "value", "for", "each",
    "user", "when", "config", "is", "loaded", "from", "disk", "and", "we",
    "should", "retry", "after", "timeout", "error", "cache", "key", "token",
    "session", "parser", "build", "test", "deploy", "service", "client",
    "server", "database", "query", "index", "update", "function", "module",
    "import", "export", "default", "string", "number", "list", "map", "path",
    "name", "file", "line", "column", "version", "release", "stream",
    "buffer", "offset", "length", "memory", "thread", "lock", "queue", NULL
};

static const char *word(void)
{
    static int n = 0;
    if (!n) {
        while (words[n]) {
            n++;
        }
    }
    return words[rnd((unsigned int)n)];
}

static void rand_token(char *out, int n)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int i;
    for (i = 0; i < n; i++) {
        out[i] = al[rnd(62)];
    }
    out[n] = '\0';
}

static void gen_code(sbuf_t *b)
{
    int i, lines = 20 + (int)rnd(60);
    for (i = 0; i < lines; i++) {
        switch (rnd(10)) {
        case 0:
            putf(b, "def %s_%s(self, %s, %s=None):\n", word(), word(), word(), word());
            break;
        case 1:
            putf(b, "    %s = self.%s.get(\"%s\", %u)\n", word(), word(), word(), rnd(1000));
            break;
        case 2:
            putf(b, "    if %s is None or len(%s) > %u:\n        raise ValueError(\"%s %s\")\n",
                 word(), word(), rnd(4096), word(), word());
            break;
        case 3:
            putf(b, "static int %s_%s(const char *%s, size_t %s)\n{\n", word(), word(), word(), word());
            break;
        case 4:
            putf(b, "    for (i = 0; i < %s->nelts; i++) { %s += %s[i]; }\n", word(), word(), word());
            break;
        case 5:
            putf(b, "const %s = await fetch(`/api/v1/%s/${%s}`, { method: 'POST' });\n", word(), word(), word());
            break;
        case 6:
            putf(b, "    // %s the %s before %s\n", word(), word(), word());
            break;
        case 7:
            putf(b, "import { %s, %s } from '@%s/%s';\n", word(), word(), word(), word());
            break;
        case 8:
            putf(b, "    return %s(%s, %u, %u);\n}\n", word(), word(), rnd(100), rnd(65536));
            break;
        default:
            putf(b, "%*s%s.%s(%s);\n", (int)rnd(12), "", word(), word(), word());
        }
    }
}

static void gen_json(sbuf_t *b)
{
    int i, n = 5 + (int)rnd(30);
    put(b, "{\"items\": [\n");
    for (i = 0; i < n; i++) {
        char id[40];
        rand_token(id, 12);
        putf(b, "  {\"id\": \"%s\", \"name\": \"%s %s\", \"count\": %u, \"price\": %u.%02u, "
             "\"created\": \"2024-%02u-%02uT%02u:%02u:%02uZ\", \"tags\": [\"%s\", \"%s\"], "
             "\"enabled\": %s}%s\n",
             id, word(), word(), rnd(100000), rnd(1000), rnd(100), 1 + rnd(12),
             1 + rnd(28), rnd(24), rnd(60), rnd(60), word(), word(),
             rnd(2) ? "true" : "false", i + 1 < n ? "," : "");
    }
    put(b, "]}\n");
}

static void gen_log(sbuf_t *b)
{
    int i, n = 20 + (int)rnd(60);
    static const char *const lvl[] = { "INFO", "WARN", "DEBUG", "ERROR" };
    for (i = 0; i < n; i++) {
        putf(b, "2024-05-%02u %02u:%02u:%02u.%03u [%s] %s: %s %s %s in %ums (req=%08x, "
             "peer=10.%u.%u.%u:%u)\n",
             1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000), lvl[rnd(4)],
             word(), word(), word(), word(), rnd(2000), rnd(0xffffffffu),
             rnd(256), rnd(256), rnd(256), 1024 + rnd(60000));
    }
}

static void gen_prose(sbuf_t *b)
{
    int i, n = 40 + (int)rnd(200);
    for (i = 0; i < n; i++) {
        put(b, word());
        put(b, rnd(12) ? " " : ".\n");
    }
    put(b, "\n");
}

static void gen_diff(sbuf_t *b)
{
    int i, n = 10 + (int)rnd(30);
    putf(b, "diff --git a/src/%s.py b/src/%s.py\n--- a/src/%s.py\n+++ b/src/%s.py\n@@ -%u,%u +%u,%u @@\n",
         word(), word(), word(), word(), rnd(500), rnd(40), rnd(500), rnd(40));
    for (i = 0; i < n; i++) {
        putf(b, "%c    %s = %s(%s)\n", "+- "[rnd(3)], word(), word(), word());
    }
}

/* a secret or a piece of personal data, rarely */
static void gen_sensitive(sbuf_t *b)
{
    char tok[64];
    switch (rnd(8)) {
    case 0:
        rand_token(tok, 36);
        putf(b, "GITHUB_TOKEN=ghp_%s\n", tok);
        break;
    case 1:
        putf(b, "aws_access_key_id = AKIA%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c\n",
             'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26),
             'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26),
             'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26),
             'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26), 'A' + rnd(26));
        break;
    case 2:
        putf(b, "contact %s.%s@acme-corp.com for access\n", word(), word());
        break;
    case 3:
        rand_token(tok, 12);
        putf(b, "DATABASE_URL=postgres://app:%s@db.internal:5432/app\n", tok);
        break;
    case 4:
        putf(b, "client connected from 34.%u.%u.%u\n", rnd(256), rnd(256), 1 + rnd(250));
        break;
    case 5:
        rand_token(tok, 40);
        putf(b, "api_key: \"%s\"\n", tok);
        break;
    case 6:
        putf(b, "call +1 415 %03u %04u\n", 200 + rnd(700), rnd(10000));
        break;
    default:
        put(b, "password = \"Wq8!zP2m#Lr5\"\n");
    }
}

typedef struct {
    const char *s;
    size_t len;
} piece_t;

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool, *sp;
    llm_scan_rules_t *rs;
    const char *err;
    sbuf_t corpus = { NULL, 0, 0 };
    piece_t *pc;
    int npc = 0, cap = 1024, r, i, rounds;
    size_t target, total = 0, off, findings = 0;
    double best_plain = 1e9, best_scan = 1e9, best_joined = 1e9;
    double mbps_plain, mbps_scan;
    volatile unsigned long sink = 0;
    int joined = 0, paths = 0, path;
    size_t joined_found = 0;
    double best_scalar = 1e9;

    apr_app_initialize(&argc, &argv, NULL);
    if (argc > 1 && !strcmp(argv[1], "--joined")) {
        joined = 1;
        argc--;
        argv++;
    }
    if (argc > 1 && !strcmp(argv[1], "--paths")) {
        paths = 1;
        argc--;
        argv++;
    }
    apr_pool_create(&pool, NULL);
    target = (size_t)(argc > 1 ? atof(argv[1]) : 8.0) * 1024 * 1024;
    rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1) {
        rounds = 1;
    }

    rs = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rs))) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }

    /* pieces of 1-64 KB, like the strings of a coding agent's request */
    pc = malloc(sizeof(*pc) * (size_t)cap);
    {
        size_t *starts = malloc(sizeof(size_t) * (size_t)cap);
        while (corpus.len < target) {
            size_t want = 1024 + rnd(63 * 1024), st = corpus.len;
            while (corpus.len - st < want) {
                switch (rnd(5)) {
                case 0: gen_code(&corpus); break;
                case 1: gen_json(&corpus); break;
                case 2: gen_log(&corpus); break;
                case 3: gen_prose(&corpus); break;
                default: gen_diff(&corpus);
                }
                if (!rnd(6)) {
                    gen_sensitive(&corpus);
                }
            }
            if (npc == cap) {
                cap *= 2;
                pc = realloc(pc, sizeof(*pc) * (size_t)cap);
                starts = realloc(starts, sizeof(size_t) * (size_t)cap);
            }
            starts[npc] = st;
            pc[npc].len = corpus.len - st;
            npc++;
        }
        for (i = 0; i < npc; i++) {
            pc[i].s = corpus.buf + starts[i];
            total += pc[i].len;
        }
        free(starts);
    }

    if (argc > 3) {
        FILE *f = fopen(argv[3], "wb");
        if (!f || fwrite(corpus.buf, 1, corpus.len, f) != corpus.len) {
            fprintf(stderr, "bench: cannot write %s\n", argv[3]);
            return 2;
        }
        fclose(f);
    }
    apr_pool_create(&sp, pool);
    for (r = 0; r < rounds; r++) {
        double t0 = now(), t1;
        unsigned long nl = 0;
        /* the floor: look at every byte once */
        for (i = 0; i < npc; i++) {
            const unsigned char *s = (const unsigned char *)pc[i].s;
            for (off = 0; off < pc[i].len; off++) {
                nl += s[off] == '\n';
            }
        }
        sink += nl;
        t1 = now();
        if (t1 - t0 < best_plain) {
            best_plain = t1 - t0;
        }

        t0 = now();
        findings = 0;
        for (i = 0; i < npc; i++) {
            apr_array_header_t *out = apr_array_make(sp, 16, sizeof(llm_scan_match_t));
            int n = llm_scan_text(rs, pc[i].s, pc[i].len, sp, out);
            if (n < 0) {
                fprintf(stderr, "bench: scan failed\n");
                return 2;
            }
            findings += (size_t)n;
            apr_pool_clear(sp);
        }
        t1 = now();
        if (t1 - t0 < best_scan) {
            best_scan = t1 - t0;
        }

        if (paths) {
            path = rs->prefilter_path;
            llm_scan_prefilter_path(rs, LLM_SCAN_PATH_SCALAR);
            t0 = now();
            for (i = 0; i < npc; i++) {
                apr_array_header_t *out = apr_array_make(sp, 16,
                                                         sizeof(llm_scan_match_t));
                if (llm_scan_text(rs, pc[i].s, pc[i].len, sp, out) < 0) {
                    fprintf(stderr, "bench: scan failed\n");
                    return 2;
                }
                apr_pool_clear(sp);
            }
            t1 = now();
            llm_scan_prefilter_path(rs, path);
            if (t1 - t0 < best_scalar) {
                best_scalar = t1 - t0;
            }
        }

        if (joined) {
            const char **texts = malloc(sizeof(*texts) * (size_t)npc);
            size_t *lens = malloc(sizeof(*lens) * (size_t)npc);
            apr_array_header_t *out;
            int n;
            for (i = 0; i < npc; i++) {
                texts[i] = pc[i].s;
                lens[i] = pc[i].len;
            }
            t0 = now();
            out = apr_array_make(sp, 16, sizeof(llm_scan_match_t));
            n = llm_scan_joined(rs, texts, lens, npc, 0, sp, out);
            t1 = now();
            if (n < 0) {
                fprintf(stderr, "bench: joined scan failed\n");
                return 2;
            }
            joined_found = (size_t)n;
            apr_pool_clear(sp);
            free(texts);
            free(lens);
            if (t1 - t0 < best_joined) {
                best_joined = t1 - t0;
            }
        }
    }

    mbps_plain = (double)total / 1048576.0 / best_plain;
    mbps_scan = (double)total / 1048576.0 / best_scan;
    printf("corpus: %.1f MB in %d strings (code, JSON, logs, diffs, prose), "
           "%lu findings a round\n", (double)total / 1048576.0, npc,
           (unsigned long)findings);
    printf("plain byte pass:        %8.1f MB/s\n", mbps_plain);
    printf("llm_scan_text (default): %8.1f MB/s\n", mbps_scan);
    printf("ratio scan/plain:        %8.3f\n", mbps_scan / mbps_plain);
    if (paths) {
        printf("prefilter loop of the default: %s\n",
               rs->prefilter_path == LLM_SCAN_PATH_AVX512 ? "vector (AVX-512)"
                                                          : "scalar");
        printf("llm_scan_text, scalar loop: %8.1f MB/s\n",
               (double)total / 1048576.0 / best_scalar);
    }
    printf("parse+extract+scan:      see bench/pipeline/bench_pipeline\n");
    if (joined) {
        printf("llm_scan_joined over %d boundaries: %.2f ms, %.1f%% of the "
               "strings' scan (%lu across a boundary)\n", npc - 1,
               best_joined * 1000.0, 100.0 * best_joined / best_scan,
               (unsigned long)joined_found);
    }
    free(pc);
    free(corpus.buf);
    apr_pool_destroy(pool);
    apr_terminate();
    return sink == 0xdeadbeef ? 1 : 0;
}
