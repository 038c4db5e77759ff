/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * libFuzzer target for the answer scan's pure parts: an arbitrary stream
 * is cut into events, each event's data walked (llm_answer_walk_event)
 * for the caller's endpoint, its strings fed to their blocks' scanners
 * (llm_answer_stream, tool-call arguments decoded as JSON) in pieces of
 * an arbitrary size with a scan after each, block ends honoured; the
 * whole input is also walked as an answer body.  Checks: the safe point
 * never goes back nor past what was added, a match lies within what was
 * added, a match's value is what the text holds there.
 *
 * The first byte picks the endpoint (low 2 bits) and the piece size (the
 * rest).  Built and run by answer.sh.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_hash.h"
#include "apr_pools.h"

#include "dialect/llm_dialect.h"
#include "dialect/llm_answer_walk.h"
#include "scan/llm_scan.h"
#include "scan/llm_answer.h"

static apr_pool_t *root_pool;
static llm_scan_rules_t *rules;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root_pool, NULL);
    rules = llm_scan_rules_create(root_pool, 1);
    if (llm_scan_rules_compile(rules)) {
        abort();
    }
    return 0;
}

static const llm_endpoint_e endpoints[] = {
    LLM_EP_OPENAI_CHAT, LLM_EP_OPENAI_RESPONSES, LLM_EP_ANTHROPIC_MESSAGES,
    LLM_EP_OPENAI_COMPLETIONS
};

typedef struct {
    llm_answer_stream_t *st;
    size_t safe;
} block_t;

static void scan(apr_pool_t *p, block_t *b, int final)
{
    apr_array_header_t *m = apr_array_make(p, 4, sizeof(llm_answer_match_t));
    size_t safe = 0;
    int i;

    if (llm_answer_stream_scan(b->st, final, m, &safe) < 0) {
        return;
    }
    if (safe < b->safe || safe > llm_answer_stream_end(b->st)) {
        abort();
    }
    if (final && safe != llm_answer_stream_end(b->st)) {
        /* an open escape at the end of arguments may stay out */
    }
    for (i = 0; i < m->nelts; i++) {
        const llm_answer_match_t *a = &APR_ARRAY_IDX(m, i,
                                                     llm_answer_match_t);

        if (a->start > a->end || a->end > llm_answer_stream_end(b->st)
            || strlen(a->value) > a->m.length) {
            abort();
        }
    }
    b->safe = safe;
    llm_answer_stream_release(b->st, safe);
}

static void feed(apr_pool_t *p, apr_hash_t *blocks, const llm_answer_piece_t
                 *pc, size_t step)
{
    block_t *b = apr_hash_get(blocks, pc->block, APR_HASH_KEY_STRING);
    size_t o;

    if (pc->whole) {
        block_t w = { llm_answer_stream_create(p, rules,
                                               pc->kind == LLM_ANSWER_ARGS),
                      0 };

        llm_answer_stream_add(w.st, pc->text, pc->len);
        scan(p, &w, 1);
        return;
    }
    if (!b) {
        b = apr_pcalloc(p, sizeof(*b));
        b->st = llm_answer_stream_create(p, rules,
                                         pc->kind == LLM_ANSWER_ARGS);
        apr_hash_set(blocks, pc->block, APR_HASH_KEY_STRING, b);
    }
    for (o = 0; o < pc->len; o += step) {
        llm_answer_stream_add(b->st, pc->text + o,
                              pc->len - o < step ? pc->len - o : step);
        scan(p, b, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    llm_endpoint_e ep;
    size_t step;
    const char *s, *end, *ev, *nl;
    apr_hash_t *blocks;
    apr_hash_index_t *hi;
    json_t *j;

    if (size < 1) {
        return 0;
    }
    ep = endpoints[data[0] & 3];
    step = (size_t)(data[0] >> 2) + 1;
    apr_pool_create(&p, root_pool);
    blocks = apr_hash_make(p);
    s = (const char *)data + 1;
    end = (const char *)data + size;
    /* events: "data: ..." lines up to a blank line */
    for (ev = s; ev < end; ev = nl + 1) {
        llm_answer_event_t e;
        const char *d;
        size_t dl;
        int i;

        if (!(nl = memchr(ev, '\n', (size_t)(end - ev)))) {
            nl = end;
        }
        if ((size_t)(nl - ev) < 6 || memcmp(ev, "data: ", 6)) {
            if (nl == end) {
                break;
            }
            continue;
        }
        d = ev + 6;
        dl = (size_t)(nl - d);
        if (llm_answer_walk_event(p, ep, NULL, d, dl, &e) < 0) {
            if (nl == end) {
                break;
            }
            continue;
        }
        for (i = 0; i < e.pieces->nelts; i++) {
            const llm_answer_piece_t *pc = &APR_ARRAY_IDX(
                e.pieces, i, llm_answer_piece_t);

            if (pc->tok_off + pc->tok_len > dl) {
                abort();
            }
            feed(p, blocks, pc, step);
        }
        if (nl == end) {
            break;
        }
    }
    for (hi = apr_hash_first(p, blocks); hi; hi = apr_hash_next(hi)) {
        scan(p, apr_hash_this_val(hi), 1);
    }
    /* the whole input as an answer body */
    if ((j = llm_json_parse(p, s, (size_t)(end - s), NULL)) != NULL) {
        apr_array_header_t *out = apr_array_make(p, 4,
                                                  sizeof(llm_answer_string_t));
        int i;

        llm_answer_walk_body(p, ep, j, out);
        for (i = 0; i < out->nelts; i++) {
            const llm_answer_string_t *a = &APR_ARRAY_IDX(
                out, i, llm_answer_string_t);
            block_t w = { llm_answer_stream_create(
                              p, rules, a->kind == LLM_ANSWER_ARGS), 0 };
            size_t qn;

            llm_answer_stream_add(w.st, json_string_value(a->node),
                                  json_string_length(a->node));
            scan(p, &w, 1);
            llm_answer_json_quote(p, json_string_value(a->node),
                                  json_string_length(a->node), &qn);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
