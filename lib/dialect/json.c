/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The JSON body: parse once (duplicate keys refused), serialise compactly,
 * tie jansson's malloc'ed trees to the lifetime of an APR pool.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"
#include "json_fast.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *llm_dialect_pool_own(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_cleanup,
                                  apr_pool_cleanup_null);
    }
    return j;
}

void llm_json_release(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_run(p, j, json_cleanup);
    }
}

json_t *llm_json_parse(apr_pool_t *p, const char *buf, size_t len,
                       const char **err)
{
    llm_json_fast_error_t jerr;
    llm_json_arena_t *arena;
    json_t *root;

    /* Not json_loadb: its byte-at-a-time lexer ran at ~80 MB/s and was
     * most of the cost of scanning a request (docs/scan-benchmark.md).
     * The fast parser accepts what json_loadb accepted with
     * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL -- \u0000 is valid JSON and
     * a provider would read it, so every consumer here works with
     * lengths -- and refuses nesting over the limit as it reads, so a
     * hostile body never builds a deep tree.  Its error texts are
     * constants: a 400 never echoes the body, which may hold the very
     * secret the caller must not see. */
    arena = llm_json_arena_enter(p);
    root = llm_json_fast_parse(buf, len, LLM_DIALECT_MAX_DEPTH, &jerr);
    llm_json_arena_leave(arena);
    if (!root) {
        if (err) {
            *err = jerr.too_deep
                   ? apr_psprintf(p, "JSON nested deeper than %d levels",
                                  LLM_DIALECT_MAX_DEPTH)
                   : apr_psprintf(p, "malformed JSON at line %d, column %d: "
                                  "%s", jerr.line, jerr.column, jerr.text);
        }
        return NULL;
    }
    return llm_dialect_pool_own(p, root);
}

/* llm_json_dump: json_write.c. */

const char *llm_dialect_str(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}
