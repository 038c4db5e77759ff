/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * bench_pipeline --parse [--runs=N] [--no-arena] body.json...
 *
 * The parse of a body and the release of its tree alone, request after
 * request, as a child of httpd does them: a pool per request, the tree
 * built in the pool's arena and freed when the pool goes, nothing else
 * allocated in between.  Prints per body the median CPU time of the parse
 * and of the release, and the minor page faults a request: with nothing
 * else on the heap, memory that glibc gives back to the system between
 * requests (the top of the heap trimmed) is faulted in again by the next
 * one, as in httpd and unlike in --stages, whose other stages keep the
 * heap's top in use.  LLM_JSON_FAST_PATH=scalar|sse2|avx2|avx512 chooses
 * the parser's string loop.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "apr_pools.h"

#include "dialect/llm_dialect.h"
#include "stages.h"

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

static int one_body(const char *path, int runs)
{
    FILE *f = fopen(path, "rb");
    char *body;
    long len;
    double *tp, *tf;
    struct rusage r0, r1;
    int i, rc = -1;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0) {
        fprintf(stderr, "bench_pipeline: cannot read %s\n", path);
        if (f) {
            fclose(f);
        }
        return -1;
    }
    rewind(f);
    body = malloc((size_t)len);
    tp = malloc(sizeof(double) * (size_t)runs);
    tf = malloc(sizeof(double) * (size_t)runs);
    if (!body || !tp || !tf || fread(body, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "bench_pipeline: cannot read %s\n", path);
        goto out;
    }
    getrusage(RUSAGE_SELF, &r0);
    for (i = 0; i < runs; i++) {
        apr_pool_t *p;
        const char *err = NULL;
        double c0, c1;

        apr_pool_create(&p, NULL);
        c0 = cpu_now();
        if (!llm_json_parse(p, body, (size_t)len, &err)) {
            fprintf(stderr, "bench_pipeline: %s: %s\n", path, err);
            apr_pool_destroy(p);
            goto out;
        }
        c1 = cpu_now();
        apr_pool_destroy(p);
        tp[i] = c1 - c0;
        tf[i] = cpu_now() - c1;
    }
    getrusage(RUSAGE_SELF, &r1);
    qsort(tp, (size_t)runs, sizeof(double), cmp_double);
    qsort(tf, (size_t)runs, sizeof(double), cmp_double);
    printf("%s: %.1f KB, %d runs: parse %.1f us, release %.1f us, "
           "%.2f minor faults a request\n", path, (double)len / 1024.0, runs,
           tp[runs / 2] * 1e6, tf[runs / 2] * 1e6,
           (double)(r1.ru_minflt - r0.ru_minflt) / runs);
    rc = 0;
out:
    fclose(f);
    free(body);
    free(tp);
    free(tf);
    return rc;
}

void bench_arena_unless_asked(int argc, const char *const *argv)
{
    int i;

    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-arena")) {
            return;
        }
    }
    if (llm_json_arena_install((size_t)1 << 30) != 0) {
        fprintf(stderr, "bench_pipeline: no arena for the parse trees\n");
    }
}

int bench_parse_main(int argc, const char *const *argv)
{
    int runs = 200, i;

    bench_arena_unless_asked(argc, argv);
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-arena")) {
            continue;
        }
        if (!strncmp(argv[i], "--runs=", 7)) {
            runs = atoi(argv[i] + 7) > 0 ? atoi(argv[i] + 7) : runs;
            continue;
        }
        if (one_body(argv[i], runs) != 0) {
            return 2;
        }
    }
    return 0;
}
