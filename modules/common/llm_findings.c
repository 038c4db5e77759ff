/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A request's findings as JSON, in the two forms the gateway writes them:
 * each finding with its offset and length (the caller's error body and
 * mod_llm_scan's log line), or grouped by type, rule and location with a
 * count (the audit row, where offsets would only add noise across rows).
 * One builder for both, so that the escaping (types, rules and locations
 * can hold caller-controlled JSON keys: jansson escapes them) and the
 * names are written in one place.  Grouping finds an entry through a hash,
 * so a body with many findings costs time in proportion to their number.
 *
 * Needs APR and jansson only (no httpd function): the unit tests compile
 * it on its own.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "llm_gateway.h"

const char *llm_action_name(int action)
{
    switch (action) {
    case LLM_ACTION_LOG:    return "log";
    case LLM_ACTION_REDACT: return "redact";
    case LLM_ACTION_BLOCK:  return "block";
    }
    return "none";
}

const char *llm_direction_name(int direction)
{
    return direction == LLM_DIRECTION_ANSWER ? "answer" : "request";
}

static const char *str(const char *s)
{
    return s ? s : "";
}

static const char *dump(apr_pool_t *p, json_t *arr, size_t flags)
{
    char *text = json_dumps(arr, JSON_COMPACT | flags);
    const char *out = apr_pstrdup(p, text ? text : "[]");

    json_decref(arr);
    free(text);
    return out;
}

const char *llm_request_findings_json(apr_pool_t *p, const llm_request_t *req)
{
    json_t *arr;
    int i;

    if (!req || !req->findings || req->findings->nelts == 0) {
        return "[]";
    }
    arr = json_array();
    for (i = 0; i < req->findings->nelts; i++) {
        const llm_finding_t *f = &APR_ARRAY_IDX(req->findings, i,
                                                llm_finding_t);

        json_array_append_new(arr, json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "type", str(f->type),
            "rule", str(f->rule), "location", str(f->location),
            "offset", (json_int_t)f->offset, "length", (json_int_t)f->length,
            "action", llm_action_name(f->action),
            "direction", llm_direction_name(f->direction)));
    }
    return dump(p, arr, 0);
}

/* Entries in the order their (type, rule, location, direction) was
 * first seen; the hash key is the three strings with their NULs, which
 * none of them holds inside, and the direction's byte, so no two share a
 * key. */
const char *llm_request_findings_grouped_json(apr_pool_t *p,
                                              const llm_request_t *req)
{
    apr_hash_t *seen;
    json_t *arr;
    int i;

    if (!req || !req->findings || req->findings->nelts == 0) {
        return "[]";
    }
    seen = apr_hash_make(p);
    arr = json_array();
    for (i = 0; i < req->findings->nelts; i++) {
        const llm_finding_t *f = &APR_ARRAY_IDX(req->findings, i,
                                                llm_finding_t);
        const char *type = str(f->type), *rule = str(f->rule),
                   *location = str(f->location);
        apr_size_t tl = strlen(type), rl = strlen(rule),
                   ll = strlen(location);
        char *key = apr_palloc(p, tl + rl + ll + 3);
        json_t *entry;

        memcpy(key, type, tl + 1);
        memcpy(key + tl + 1, rule, rl + 1);
        memcpy(key + tl + rl + 2, location, ll + 1);
        key[tl + rl + ll + 3 - 1] = f->direction == LLM_DIRECTION_ANSWER
                                    ? 'a' : 'r';
        entry = apr_hash_get(seen, key, tl + rl + ll + 3);
        if (entry) {
            json_object_set_new(entry, "count", json_integer(
                json_integer_value(json_object_get(entry, "count")) + 1));
            continue;
        }
        entry = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "type", type,
                          "rule", rule, "location", location, "count", 1,
                          "action", llm_action_name(f->action),
                          "direction", llm_direction_name(f->direction));
        json_array_append_new(arr, entry);   /* arr holds the reference */
        apr_hash_set(seen, key, tl + rl + ll + 3, entry);
    }
    return dump(p, arr, JSON_ENSURE_ASCII);
}
