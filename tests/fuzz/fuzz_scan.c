/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * libFuzzer target for llm_scan_text: any bytes, the default rules plus an
 * admin keyword list, pattern and allow pattern.  Besides the sanitizers'
 * findings it checks the contract: matches inside the buffer, sorted by
 * offset, never overlapping, never empty; and where the CPU has the
 * prefilter's vector loop, that the scalar loop finds exactly the same
 * and hands the same positions to dispatch.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "scan/llm_scan.h"
#include "scan/scan_private.h"

static apr_pool_t *root;
static llm_scan_rules_t *rules;
static int have_vector;

static void teardown(void)
{
    /* the pool cleanup frees the compiled regexes: no leak at exit */
    apr_pool_destroy(root);
    apr_terminate();
}

static void setup(void)
{
    static const char *const words[] = { "falcon", "acme internal", "globex" };
    const char *err;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL)) {
        abort();
    }
    rules = llm_scan_rules_create(root, 1);
    if (llm_scan_rules_add_keywords(rules, "CODENAME", "codenames", words, 3,
                                    LLM_CAT_CONTENT)
        || llm_scan_rules_add_pattern(rules, "TICKET", "tickets",
                                      "\\bOPS-([0-9]{3,6})\\b", LLM_CAT_CONTENT)
        || llm_scan_rules_add_allow(rules, "ops-bot@acme-corp\\.com")
        || llm_scan_rules_add_allow(rules, "1234")
        || (err = llm_scan_rules_compile(rules))) {
        abort();
    }
    have_vector = llm_scan_prefilter_path(rules, LLM_SCAN_PATH_AVX512)
                  == LLM_SCAN_PATH_AVX512;
    atexit(teardown);
}

/* The positions the prefilter of path dispatches at, in order. */
static apr_array_header_t *dispatched(apr_pool_t *p, const char *t, size_t n,
                                      int path)
{
    llm_scan_ctx_t cx;

    llm_scan_prefilter_path(rules, path);
    memset(&cx, 0, sizeof(cx));
    cx.rs = rules;
    cx.t = (const unsigned char *)t;
    cx.len = n;
    cx.p = p;
    cx.dispatched = apr_array_make(p, 16, sizeof(size_t));
    llm_scan_prefilter_run(&cx);
    return cx.error ? NULL : cx.dispatched;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *out;
    char *copy;
    int n, i;

    if (!rules) {
        setup();
    }
    apr_pool_create(&p, root);
    /* a private copy, exactly size bytes: ASan sees any read past it */
    copy = malloc(size ? size : 1);
    if (size) {
        memcpy(copy, data, size);
    }
    out = apr_array_make(p, 8, sizeof(llm_scan_match_t));
    n = llm_scan_text(rules, copy, size, p, out);
    if (n >= 0) {
        if (n != out->nelts) {
            abort();
        }
        for (i = 0; i < out->nelts; i++) {
            const llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
            if (!m->length || m->offset + m->length > size || !m->type
                || !m->rule) {
                abort();
            }
            if (i > 0) {
                const llm_scan_match_t *pm =
                    &APR_ARRAY_IDX(out, i - 1, llm_scan_match_t);
                if (pm->offset + pm->length > m->offset) {
                    abort();
                }
            }
        }
    }
    if (have_vector) {
        /* the same text through the scalar loop: the same result */
        apr_array_header_t *sc = apr_array_make(p, 8, sizeof(llm_scan_match_t));
        int ns;
        llm_scan_prefilter_path(rules, LLM_SCAN_PATH_SCALAR);
        ns = llm_scan_text(rules, copy, size, p, sc);
        llm_scan_prefilter_path(rules, LLM_SCAN_PATH_AVX512);
        if (ns != n || (n >= 0 && sc->nelts != out->nelts)) {
            abort();
        }
        for (i = 0; n >= 0 && i < out->nelts; i++) {
            const llm_scan_match_t *a = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
            const llm_scan_match_t *b = &APR_ARRAY_IDX(sc, i, llm_scan_match_t);
            if (a->offset != b->offset || a->length != b->length
                || strcmp(a->rule, b->rule)) {
                abort();
            }
        }
        {
            apr_array_header_t *ds = dispatched(p, copy, size,
                                                LLM_SCAN_PATH_SCALAR);
            apr_array_header_t *dv = dispatched(p, copy, size,
                                                LLM_SCAN_PATH_AVX512);
            if (!ds != !dv || (ds && (ds->nelts != dv->nelts
                                      || memcmp(ds->elts, dv->elts,
                                                (size_t)ds->nelts
                                                * sizeof(size_t))))) {
                abort();
            }
        }
    }
    free(copy);
    apr_pool_destroy(p);
    return 0;
}
