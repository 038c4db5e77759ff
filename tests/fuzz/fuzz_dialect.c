/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * libFuzzer target for lib/dialect: every body a client or provider could
 * send goes through parsing, the shape check, unit extraction, redaction
 * edits, serialisation, translation both ways, error-body translation,
 * and the SSE parser and stream translators fed in arbitrary pieces.
 *
 * The first input byte picks the endpoint and the piece size for the
 * stream code; the rest is the body.  Built and run by dialect.sh.
 */

#include <stdint.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "llm_dialect.h"
#include "llm_translate.h"
#include "llm_usage.h"
#include "llm_sse.h"

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

static const llm_endpoint_e endpoints[] = {
    LLM_EP_OPENAI_CHAT, LLM_EP_OPENAI_RESPONSES, LLM_EP_OPENAI_EMBEDDINGS,
    LLM_EP_OPENAI_COMPLETIONS, LLM_EP_ANTHROPIC_MESSAGES,
    LLM_EP_ANTHROPIC_COUNT_TOKENS, LLM_EP_MODELS, LLM_EP_NONE
};

/* Redact the middle of every unit: exercises edits across pieces and keys
 * (refusals for cuts through UTF-8 characters are expected). */
static int hide_every_step(void *baton, const char *key, size_t len)
{
    (void)baton;
    return len > 0 && key[0] != 'm';
}

/* Every piece's path, with every named step written by position: the
 * path parser reads what the walker wrote, against the same tree. */
static void hide_paths(apr_pool_t *p, json_t *root, apr_array_header_t *units)
{
    int i, k;
    const llm_unit_t *u;

    for (i = 0; i < units->nelts; i++) {
        u = &((const llm_unit_t *)units->elts)[i];
        for (k = 0; k < u->pieces->nelts; k++) {
            const llm_piece_t *pc = &((const llm_piece_t *)u->pieces->elts)[k];

            llm_dialect_path_hide(p, root, llm_dialect_path_text(p, pc->path),
                                  hide_every_step, NULL);
        }
    }
}

static void redact_all(apr_pool_t *p, apr_array_header_t *units)
{
    int i;
    llm_edit_t e[2];
    const llm_unit_t *u;
    size_t off;

    for (i = 0; i < units->nelts; i++) {
        u = &((const llm_unit_t *)units->elts)[i];
        if (u->len < 2) {
            continue;
        }
        e[0].offset = u->len / 3;
        e[0].length = u->len / 2;
        e[0].replacement = "[REDACTED_X_1]";
        e[1].offset = 0;
        e[1].length = 1;
        e[1].replacement = "";
        llm_unit_locate(u, u->len / 2, &off);
        llm_unit_apply_edits(p, u, e, 2);
    }
}

static void streams(apr_pool_t *p, const char *buf, size_t len, size_t step,
                    llm_family_e from, llm_family_e to)
{
    llm_sse_translator_t *t = llm_sse_translator_create(p, from, to, 1,
                                                        NULL);
    const char *out;
    size_t olen, pos = 0, n;

    while (pos < len) {
        n = len - pos < step ? len - pos : step;
        if (llm_sse_translate(t, buf + pos, n, &out, &olen) != 0) {
            break;
        }
        pos += n;
    }
    llm_sse_translate_finish(t, &out, &olen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *body, *err = NULL;
    size_t len, step;
    llm_endpoint_e ep;
    json_t *root, *tr;
    apr_array_header_t *units;
    llm_usage_t u;
    llm_translate_opts_t opts = { 0, 1 };

    if (size < 1) {
        return 0;
    }
    ep = endpoints[data[0] & 7];
    step = (size_t)(data[0] >> 3) + 1;
    body = (const char *)data + 1;
    len = size - 1;
    apr_pool_create(&p, root_pool);

    /* streams first: they take any bytes */
    streams(p, body, len, step, LLM_FAMILY_ANTHROPIC, LLM_FAMILY_OPENAI);
    streams(p, body, len, step, LLM_FAMILY_OPENAI, LLM_FAMILY_ANTHROPIC);
    streams(p, body, len, step, LLM_FAMILY_OPENAI, LLM_FAMILY_OPENAI);
    {
        llm_sse_translator_t *t = llm_sse_translator_create_for(p,
            LLM_EP_OPENAI_RESPONSES, LLM_FAMILY_ANTHROPIC, 0, "m");
        const char *out;
        size_t olen, pos = 0, n;

        while (pos < len) {
            n = len - pos < step ? len - pos : step;
            if (llm_sse_translate(t, body + pos, n, &out, &olen) != 0) {
                break;
            }
            pos += n;
        }
        llm_sse_translate_finish(t, &out, &olen);
    }
    llm_translate_error_body(p, body, len, LLM_FAMILY_ANTHROPIC, 429);
    llm_translate_error_body(p, body, len, LLM_FAMILY_OPENAI, 503);

    root = llm_json_parse(p, body, len, &err);
    if (root) {
        llm_dialect_check(p, root, ep);
        llm_dialect_model(root);
        llm_dialect_is_stream(root);
        llm_usage_init(&u);
        llm_usage_from_body(&u, root);
        llm_usage_from_event(&u, NULL, root);

        tr = llm_translate_chat_to_anthropic(p, root, &opts, &err);
        if (tr) {
            llm_json_dump(p, tr, NULL);
        }
        tr = llm_translate_anthropic_to_chat(p, root, &opts, &err);
        if (tr) {
            llm_json_dump(p, tr, NULL);
        }
        tr = llm_translate_responses_to_anthropic(p, root, NULL, &err);
        if (tr) {
            llm_json_dump(p, tr, NULL);
        }
        tr = llm_translate_anthropic_response_to_responses(p, root);
        if (tr) {
            llm_json_dump(p, tr, NULL);
        }
        tr = llm_translate_anthropic_response_to_chat(p, root);
        if (tr) {
            llm_json_dump(p, tr, NULL);
        }
        tr = llm_translate_chat_response_to_anthropic(p, root);
        if (tr) {
            llm_json_dump(p, tr, NULL);
        }

        units = llm_dialect_units(p, root, ep);
        hide_paths(p, root, units);
        redact_all(p, units);
        llm_json_dump(p, root, NULL);
        /* the edited tree is still a tree the walker can read */
        llm_dialect_units(p, root, ep);
    }
    llm_dialect_error_body(p, (data[0] & 1) ? LLM_FAMILY_ANTHROPIC
                                            : LLM_FAMILY_OPENAI,
                           400 + data[0], "invalid_request_error", NULL,
                           "fuzz", len ? body : NULL);
    apr_pool_destroy(p);
    return 0;
}
