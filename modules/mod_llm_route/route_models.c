/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * GET /v1/models, answered from the routing table of the caller's location:
 * the aliases and the routes that name one model (wildcard routes have no
 * single name to list), in the caller's dialect.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_fnmatch.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_access.h"

/* The model list filtered the way a request is: on the name the route
 * would give the provider.  Only what can be served is listed: a model
 * whose provider has no credential (key=env: of an unset variable) would
 * only be refused. */
static int may_use(request_rec *r, const llm_route_dir_conf_t *dc,
                   const llm_request_t *req, const char *name)
{
    const char *upstream = NULL;
    llm_provider_t *pv = llm_route_select(r, dc, llm_route_srv(r->server),
                                          name, &upstream, NULL);

    return pv && pv->key
           && llm_route_model_allowed(r, dc, req, name, upstream);
}

static void add_model(json_t *data, llm_family_e family, const char *id,
                      const char *owner)
{
    if (family == LLM_FAMILY_ANTHROPIC) {
        json_array_append_new(data, json_pack("{s:s, s:s, s:s, s:s}",
            "type", "model", "id", id, "display_name", id,
            "created_at", "1970-01-01T00:00:00Z"));
    }
    else {
        json_array_append_new(data, json_pack("{s:s, s:s, s:i, s:s}",
            "id", id, "object", "model", "created", 0, "owned_by", owner));
    }
}

apr_array_header_t *llm_route_usable_models(request_rec *r,
                                            const llm_route_dir_conf_t *dc,
                                            const llm_request_t *req)
{
    apr_array_header_t *out = apr_array_make(r->pool, 8,
                                             sizeof(llm_usable_model_t));
    apr_hash_t *seen = apr_hash_make(r->pool);
    const apr_array_header_t *arr = apr_table_elts(dc->aliases);
    const apr_table_entry_t *te = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts + dc->routes->nelts; i++) {
        const char *name, *owner;
        llm_usable_model_t *m;

        if (i < arr->nelts) {
            name = te[i].key;
            owner = "gateway";
        }
        else {
            const llm_model_route_t *mr = &APR_ARRAY_IDX(
                dc->routes, i - arr->nelts, llm_model_route_t);

            if (apr_fnmatch_test(mr->pattern)) {
                continue;
            }
            name = mr->pattern;
            owner = mr->provider_name;
        }
        /* Only what the caller may use (LLMRouteAllowModels). */
        if (apr_hash_get(seen, name, APR_HASH_KEY_STRING)
            || !may_use(r, dc, req, name)) {
            continue;
        }
        apr_hash_set(seen, name, APR_HASH_KEY_STRING, name);
        m = apr_array_push(out);
        m->name = name;
        m->owner = owner;
    }
    return out;
}

int llm_route_models_handler(request_rec *r)
{
    llm_request_t *req;
    llm_route_dir_conf_t *dc;
    json_t *root, *data;
    apr_array_header_t *models;
    char *dump;
    int i;

    if (!r->handler || strcmp(r->handler, LLM_MODELS_HANDLER)) {
        return DECLINED;
    }
    req = llm_request_get(r, 0);
    dc = llm_route_dir(r);
    data = json_array();
    models = llm_route_usable_models(r, dc, req);
    for (i = 0; i < models->nelts; i++) {
        const llm_usable_model_t *m =
            &APR_ARRAY_IDX(models, i, llm_usable_model_t);

        add_model(data, req->caller_family, m->name, m->owner);
    }
    if (req->caller_family == LLM_FAMILY_ANTHROPIC) {
        size_t n = json_array_size(data);

        root = json_pack("{s:o, s:b, s:o, s:o}", "data", data,
                         "has_more", 0,
                         "first_id", n ? json_incref(json_object_get(
                             json_array_get(data, 0), "id")) : json_null(),
                         "last_id", n ? json_incref(json_object_get(
                             json_array_get(data, n - 1), "id"))
                                      : json_null());
    }
    else {
        root = json_pack("{s:s, s:o}", "object", "list", "data", data);
    }
    dump = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, strlen(dump));
    if (!r->header_only) {
        ap_rputs(dump, r);
    }
    free(dump);
    return OK;
}
