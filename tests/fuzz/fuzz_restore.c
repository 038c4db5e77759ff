/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * libFuzzer target for the restore engine (lib/dialect/llm_restore.h):
 * any answer, whole or as a stream fed in pieces of any size, with a map
 * of a few placeholders (one whose value needs escaping).  Besides the
 * sanitizers it checks that a stream's output does not depend on how its
 * bytes were cut: fed whole and fed in pieces, the caller gets the same.
 *
 * The first input byte is the piece size; the rest is the answer.  Built
 * and run by restore.sh.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "llm_restore.h"

static apr_pool_t *root_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root_pool, NULL);
    return 0;
}

static char *run(apr_pool_t *p, const llm_restore_map_t *m, const char *in,
                 size_t len, size_t step, size_t *out_len)
{
    llm_restore_stream_t *s = llm_restore_stream_create(p, m, 4096);
    size_t cap = len * 8 + 4096, got = 0, pos = 0, k, on;
    char *acc = apr_palloc(p, cap);
    const char *o;

    while (pos < len) {
        k = len - pos < step ? len - pos : step;
        llm_restore_stream_feed(s, in + pos, k, &o, &on);
        if (got + on > cap) {
            abort();
        }
        memcpy(acc + got, o, on);
        got += on;
        pos += k;
    }
    llm_restore_stream_finish(s, &o, &on);
    if (got + on > cap) {
        abort();
    }
    memcpy(acc + got, o, on);
    *out_len = got + on;
    return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    llm_restore_map_t *m;
    const char *in = (const char *)data + 1, *body;
    size_t len, step, whole_len, cut_len, blen;
    char *whole, *cut;
    int count;

    if (size < 1) {
        return 0;
    }
    len = size - 1;
    step = (size_t)data[0] % 32 + 1;
    apr_pool_create(&p, root_pool);
    m = llm_restore_map_create(p);
    llm_restore_map_add(m, "[REDACTED_EMAIL_1]", "a@b.example", 11);
    llm_restore_map_add(m, "[REDACTED_PASSWORD_2]", "q\"\\\n\x01z", 6);
    llm_restore_map_add(m, "[R]", "", 0);

    whole = run(p, m, in, len, len ? len : 1, &whole_len);
    cut = run(p, m, in, len, step, &cut_len);
    if (whole_len != cut_len || memcmp(whole, cut, whole_len)) {
        abort();
    }
    body = llm_restore_body(m, p, in, len, &blen, &count);
    (void)body;
    apr_pool_destroy(p);
    return 0;
}
