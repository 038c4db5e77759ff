/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Where a request's time goes inside the gateway, stage by stage, on the
 * bodies bench/agent_body.py writes (bench_pipeline --stages FILE...).
 * Each stage runs the code the modules run, on its own, many times; the
 * figure is the median CPU time of this thread (steady on a shared
 * machine).  Stages:
 *
 *   read       the body copied out of 8 KB brigade buckets into one buffer
 *              sized from Content-Length (llm_scan_read_body)
 *   inflate    llm_scan_inflate of the gzip'd body (only gzip'd requests)
 *   parse      llm_json_parse
 *   check      llm_dialect_check, model, stream flag
 *   extract    llm_dialect_units
 *   scan       llm_scan_text over every unit, full default rules
 *   rename     model renamed by the route: set + llm_json_dump (only
 *              when the provider knows the model by another name)
 *   translate  llm_translate_request_for + llm_json_dump (only for the
 *              other dialect's provider)
 *   hand-over  the replay filter's bucket over the kept body, read by
 *              mod_proxy whole (route_handover.c: a read takes the rest
 *              of the body in one bucket)
 *   free       the request pool cleared: the parse tree freed
 *
 * Trees are built in per-request arenas as mod_llm_scan builds them in
 * each child (lib/dialect/json_arena.c); --no-arena leaves jansson on
 * malloc, to compare.
 *
 * --clean-cache scans as mod_llm_scan does with LLMScanCleanCache: one
 * cache of strings scanned clean (64 MB) for all the files and runs, so
 * the scan's median is that of a body whose every string is known clean,
 * and its first run that of the strings the files before left unknown
 * (give a session's turns in order: bench/agent_body.py --session).
 *
 * The audit stage does not depend on the body (LLMAuditBodies off, the
 * sample): bench/gateway/bench.py --targets gateway,gateway-noaudit
 * measures it end to end.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <jansson.h>

#include "apr_buckets.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "llm_types.h"
#include "dialect/llm_dialect.h"
#include "dialect/llm_translate.h"
#include "scan/llm_scan.h"
#include "scan/llm_clean_cache.h"

#include "scan_body.h"          /* llm_scan_inflate */
#include "stages.h"

/* what the core input filter hands the body read in */
#define CHUNK 8192

typedef struct {
    const char *name;
    double us;          /* median CPU microseconds */
    int in_default;     /* on the path of a plain, same-dialect request */
} stage_t;

typedef struct {
    const char *path;
    char *body;
    size_t len;
    char *gz;
    size_t gzlen;
    llm_endpoint_e ep;
    llm_family_e other;
} input_t;

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int load(apr_pool_t *p, const char *path, input_t *in)
{
    FILE *f = fopen(path, "rb");
    long n;
    uLongf gzcap;
    z_stream zs;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "bench_pipeline: cannot read %s\n", path);
        return -1;
    }
    in->path = path;
    in->len = (size_t)n;
    in->body = apr_palloc(p, in->len + 1);
    if (fread(in->body, 1, in->len, f) != in->len) {
        fclose(f);
        return -1;
    }
    fclose(f);
    in->body[in->len] = '\0';
    /* The dialect by its shape: Anthropic bodies carry "system" at the
     * top, OpenAI chat bodies a system message. */
    in->ep = strstr(in->body, "\"input_schema\"") || !strncmp(in->body,
             "{\"model\":\"claude", 16)
             ? LLM_EP_ANTHROPIC_MESSAGES : LLM_EP_OPENAI_CHAT;
    in->other = in->ep == LLM_EP_ANTHROPIC_MESSAGES ? LLM_FAMILY_OPENAI
                                                    : LLM_FAMILY_ANTHROPIC;
    gzcap = compressBound((uLong)in->len) + 64;
    in->gz = apr_palloc(p, gzcap);
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK) {
        return -1;
    }
    zs.next_in = (Bytef *)in->body;
    zs.avail_in = (uInt)in->len;
    zs.next_out = (Bytef *)in->gz;
    zs.avail_out = (uInt)gzcap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&zs);
        return -1;
    }
    in->gzlen = zs.total_out;
    deflateEnd(&zs);
    return 0;
}

/* The state one request builds, stage after stage. */
typedef struct {
    char *buf;
    json_t *root;
    apr_array_header_t *units;
} req_t;

static void st_read(apr_pool_t *p, const input_t *in, req_t *q)
{
    size_t off, n;

    q->buf = apr_palloc(p, in->len + 1);
    for (off = 0; off < in->len; off += n) {
        n = in->len - off < CHUNK ? in->len - off : CHUNK;
        memcpy(q->buf + off, in->body + off, n);
    }
    q->buf[in->len] = '\0';
}

static int st_inflate(apr_pool_t *p, const input_t *in)
{
    char *out;
    apr_size_t outlen;

    return llm_scan_inflate(p, in->gz, in->gzlen, 64 * 1024 * 1024, &out,
                            &outlen) == APR_SUCCESS && outlen == in->len
           ? 0 : -1;
}

static int st_parse(apr_pool_t *p, const input_t *in, req_t *q)
{
    const char *err = NULL;

    q->root = llm_json_parse(p, q->buf, in->len, &err);
    if (!q->root) {
        fprintf(stderr, "bench_pipeline: %s: %s\n", in->path, err);
        return -1;
    }
    return 0;
}

static int st_check(apr_pool_t *p, const input_t *in, req_t *q)
{
    const char *err = llm_dialect_check(p, q->root, in->ep);

    if (err) {
        fprintf(stderr, "bench_pipeline: %s: %s\n", in->path, err);
        return -1;
    }
    return llm_dialect_model(q->root) ? 0 : -1;
}

static void st_extract(apr_pool_t *p, const input_t *in, req_t *q)
{
    q->units = llm_dialect_units(p, q->root, in->ep);
}

static int st_scan(apr_pool_t *p, const llm_scan_rules_t *rs,
                   llm_clean_cache_t *cc, req_t *q, size_t *findings)
{
    apr_array_header_t *m = apr_array_make(p, 16, sizeof(llm_scan_match_t));
    int i, n;

    *findings = 0;
    for (i = 0; i < q->units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(q->units, i, llm_unit_t);

        apr_array_clear(m);
        if ((n = llm_scan_text_cached(cc, rs, u->text, u->len, p, m,
                                      NULL)) < 0) {
            return -1;
        }
        *findings += (size_t)n;
    }
    return 0;
}

static int st_rename(apr_pool_t *p, req_t *q)
{
    size_t len;

    json_object_set_new(q->root, "model", json_string("upstream-model-name"));
    return llm_json_dump(p, q->root, &len) ? 0 : -1;
}

static int st_translate(apr_pool_t *p, const input_t *in, req_t *q)
{
    llm_translate_opts_t opts;
    const char *err = NULL;
    json_t *t;
    size_t len;

    memset(&opts, 0, sizeof(opts));
    t = llm_translate_request_for(p, in->ep, in->other, q->root, &opts, &err);
    if (!t) {
        fprintf(stderr, "bench_pipeline: %s: not translatable: %s\n",
                in->path, err ? err : "?");
        return -1;
    }
    json_object_set_new(t, "model", json_string("upstream-model-name"));
    return llm_json_dump(p, t, &len) ? 0 : -1;
}

/* What mod_proxy gets from the replay filter: one pool bucket over the
 * kept body, read and let go. */
static void st_handover(apr_pool_t *p, const input_t *in, req_t *q,
                        apr_bucket_alloc_t *ba)
{
    apr_bucket_brigade *bb = apr_brigade_create(p, ba);
    apr_bucket *e = apr_bucket_pool_create(q->buf, in->len, p, ba);
    const char *d;
    apr_size_t dl;

    APR_BRIGADE_INSERT_TAIL(bb, e);
    apr_bucket_read(e, &d, &dl, APR_BLOCK_READ);
    apr_brigade_cleanup(bb);
}

enum { S_READ, S_INFLATE, S_PARSE, S_CHECK, S_EXTRACT, S_SCAN, S_RENAME,
       S_TRANSLATE, S_HANDOVER, S_FREE, S_N };

static int one_file(const char *path, const llm_scan_rules_t *rs,
                    llm_clean_cache_t *cc, int reps, apr_pool_t *gp,
                    apr_bucket_alloc_t *ba)
{
    static const char *const names[S_N] = {
        "read", "inflate (gzip'd bodies)", "parse", "check", "extract",
        "scan", "rename + dump (renamed model)",
        "translate + dump (other dialect)", "hand-over", "free" };
    static const int in_default[S_N] = { 1, 0, 1, 1, 1, 1, 0, 0, 1, 1 };
    double *t[S_N];
    input_t in;
    size_t findings = 0, units = 0, unit_bytes = 0;
    double total = 0, mb, first_scan = 0;
    int r, s;

    if (load(gp, path, &in) != 0) {
        return -1;
    }
    for (s = 0; s < S_N; s++) {
        t[s] = apr_pcalloc(gp, sizeof(double) * (size_t)reps);
    }
    for (r = 0; r < reps; r++) {
        apr_pool_t *p;
        req_t q;
        double c0, c1;
        int i;

        apr_pool_create(&p, gp);
        memset(&q, 0, sizeof(q));
#define TIME(stage, stmt) \
        c0 = cpu_now(); stmt; c1 = cpu_now(); t[stage][r] = c1 - c0
        TIME(S_READ, st_read(p, &in, &q));
        TIME(S_INFLATE, if (st_inflate(p, &in)) return -1);
        TIME(S_PARSE, if (st_parse(p, &in, &q)) return -1);
        TIME(S_CHECK, if (st_check(p, &in, &q)) return -1);
        TIME(S_EXTRACT, st_extract(p, &in, &q));
        TIME(S_SCAN, if (st_scan(p, rs, cc, &q, &findings)) return -1);
        TIME(S_HANDOVER, st_handover(p, &in, &q, ba));
        TIME(S_TRANSLATE, if (st_translate(p, &in, &q)) return -1);
        TIME(S_RENAME, if (st_rename(p, &q)) return -1);
        if (r == 0) {
            first_scan = t[S_SCAN][0];
            units = (size_t)q.units->nelts;
            for (i = 0; i < q.units->nelts; i++) {
                unit_bytes += APR_ARRAY_IDX(q.units, i, llm_unit_t).len;
            }
        }
        TIME(S_FREE, apr_pool_destroy(p));
#undef TIME
    }
    mb = (double)in.len / 1048576.0;
    printf("\n%s: %.1f KB, %s, %zu units (%.1f KB of text), %zu findings, "
           "%d runs\n", path, (double)in.len / 1024.0,
           in.ep == LLM_EP_ANTHROPIC_MESSAGES ? "anthropic" : "openai",
           units, (double)unit_bytes / 1024.0, findings, reps);
    printf("| stage | CPU us (median) | MB/s | share of the default path |\n"
           "|---|---|---|---|\n");
    for (s = 0; s < S_N; s++) {
        qsort(t[s], (size_t)reps, sizeof(double), cmp_double);
        if (in_default[s]) {
            total += t[s][reps / 2];
        }
    }
    for (s = 0; s < S_N; s++) {
        double us = t[s][reps / 2] * 1e6;

        printf("| %s | %.1f | %.0f | %s |\n", names[s], us,
               us > 0 ? mb / (us / 1e6) : 0.0,
               in_default[s] ? apr_psprintf(gp, "%.0f%%", 100.0 * us / 1e6
                                            / total) : "-");
    }
    printf("| **default path** (read to free) | %.1f | %.0f | 100%% |\n",
           total * 1e6, mb / total);
    if (cc) {
        printf("scan of the first run (strings the files before left "
               "unknown): %.1f us\n", first_scan * 1e6);
    }
    return 0;
}

int bench_stages_main(int argc, const char *const *argv)
{
    apr_pool_t *gp;
    llm_scan_rules_t *rs;
    apr_bucket_alloc_t *ba;
    llm_clean_cache_t *cc = NULL;
    const char *err;
    int reps = 0, i;

    apr_pool_create(&gp, NULL);
    ba = apr_bucket_alloc_create(gp);
    rs = llm_scan_rules_create(gp, 1);
    if ((err = llm_scan_rules_compile(rs)) != NULL) {
        fprintf(stderr, "bench_pipeline: %s\n", err);
        return 2;
    }
    bench_arena_unless_asked(argc, argv);
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-arena")) {
            continue;
        }
        if (!strncmp(argv[i], "--runs=", 7)) {
            reps = atoi(argv[i] + 7);
            continue;
        }
        if (!strcmp(argv[i], "--clean-cache")) {
            if (llm_clean_cache_create(&cc, gp, (apr_size_t)64 << 20, 16,
                                       LLM_CLEAN_CACHE_MIN_LEN)
                != APR_SUCCESS) {
                fprintf(stderr, "bench_pipeline: no clean cache\n");
                return 2;
            }
            continue;
        }
        if (one_file(argv[i], rs, cc, reps > 0 ? reps : 50, gp, ba) != 0) {
            return 2;
        }
    }
    apr_pool_destroy(gp);
    return 0;
}
