/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The cache of strings scanned clean (lib/scan/llm_clean_cache.h), a
 * benchmark (not a test): for strings of a given length cut from a file
 * (an agent body from bench/agent_body.py), the CPU time of
 *   - scanning it (llm_scan_text),
 *   - finding it in the cache (a hit: hash, lock, compare),
 *   - its first pass through llm_scan_text_cached (a miss: hash, lookup,
 *     scan, copy and insert) minus the scan,
 * which is what LLM_CLEAN_CACHE_MIN_LEN is chosen on.
 *
 *   bench_clean_cache FILE [rounds]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_general.h"
#include "apr_file_io.h"
#include "scan/llm_scan.h"
#include "scan/llm_clean_cache.h"

#define NSTR 400

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const size_t lens[] = { 32, 64, 96, 128, 192, 256, 512, 1024,
                                   4096, 16384, 65536, 262144 };
    apr_pool_t *pool, *scratch;
    llm_scan_rules_t *rs;
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t blen;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    size_t li;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [rounds]\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_pool_create(&scratch, pool);
    if (apr_file_open(&f, argv[1], APR_READ, 0, pool) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    blen = (apr_size_t)fi.size;
    buf = apr_palloc(pool, blen + 1);
    apr_file_read_full(f, buf, blen, &blen);
    rs = llm_scan_rules_create(pool, 1);
    if (llm_scan_rules_compile(rs)) {
        return 1;
    }
    printf("%8s %6s %12s %12s %12s %8s\n", "length", "clean", "scan ns",
           "hit ns", "miss+add ns", "scan/hit");
    for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t L = lens[li];
        const char *s[NSTR];
        int n = 0, i, r;
        double best_scan = 1e9, best_hit = 1e9, best_first = 1e9;
        size_t off;

        if (L > blen) {
            break;
        }
        /* clean strings at spread offsets, wrapping round the file */
        for (off = 0, i = 0; n < NSTR && i < NSTR * 8; i++) {
            apr_array_header_t *out = apr_array_make(scratch, 4,
                                                     sizeof(llm_scan_match_t));

            off = (off + 7919 + L / 3) % (blen - L + 1);
            if (llm_scan_text(rs, buf + off, L, scratch, out) == 0) {
                s[n++] = buf + off;
            }
            apr_pool_clear(scratch);
        }
        if (n == 0) {
            continue;
        }
        for (r = 0; r < rounds; r++) {
            llm_clean_cache_t *c;
            apr_pool_t *cp;
            double t0, t1, t2, t3;

            apr_pool_create(&cp, pool);
            llm_clean_cache_create(&c, cp, (apr_size_t)256 << 20, 16, 1);
            t0 = now();
            for (i = 0; i < n; i++) {
                apr_array_header_t *out = apr_array_make(scratch, 4,
                                                         sizeof(llm_scan_match_t));
                llm_scan_text(rs, s[i], L, scratch, out);
                apr_pool_clear(scratch);
            }
            t1 = now();
            for (i = 0; i < n; i++) {
                apr_array_header_t *out = apr_array_make(scratch, 4,
                                                         sizeof(llm_scan_match_t));
                llm_scan_text_cached(c, rs, s[i], L, scratch, out, NULL);
                apr_pool_clear(scratch);
            }
            t2 = now();
            for (i = 0; i < n; i++) {
                if (!llm_clean_cache_has(c, rs, s[i], L)) {
                    fprintf(stderr, "not cached: %d\n", i);
                }
            }
            t3 = now();
            if ((t1 - t0) / n < best_scan) {
                best_scan = (t1 - t0) / n;
            }
            if ((t2 - t1) / n < best_first) {
                best_first = (t2 - t1) / n;
            }
            if ((t3 - t2) / n < best_hit) {
                best_hit = (t3 - t2) / n;
            }
            apr_pool_destroy(cp);
        }
        printf("%8zu %6d %12.0f %12.0f %12.0f %8.1f\n", L, n,
               best_scan * 1e9, best_hit * 1e9,
               (best_first - best_scan) * 1e9, best_scan / best_hit);
    }
    apr_terminate();
    return 0;
}
