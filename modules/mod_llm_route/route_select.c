/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Model names to providers: aliases first, then the first matching route
 * of the location (its own routes before inherited ones).  A request's
 * provider is written into the shared object here and nowhere else. */

#include "httpd.h"
#include "apr_fnmatch.h"
#include "apr_strings.h"

#include "route_internal.h"

llm_provider_t *llm_route_select(request_rec *r,
                                 const llm_route_dir_conf_t *dc,
                                 const llm_route_server_conf_t *sc,
                                 const char *model,
                                 const char **upstream_model,
                                 const char **label)
{
    const char *target = apr_table_get(dc->aliases, model);
    int i;

    if (target) {
        model = target;
    }
    for (i = 0; i < dc->routes->nelts; i++) {
        const llm_model_route_t *mr =
            &APR_ARRAY_IDX(dc->routes, i, llm_model_route_t);

        if (apr_fnmatch(mr->pattern, model, 0) == APR_SUCCESS) {
            *upstream_model = mr->upstream_model ? mr->upstream_model : model;
            if (label) {
                /* A name from the configuration, never the caller's own
                 * string: what a wildcard matched may be anything. */
                *label = mr->upstream_model ? mr->upstream_model
                         : target ? target : mr->pattern;
            }
            return llm_route_find_provider(sc, mr->provider_name);
        }
    }
    return NULL;
}

llm_provider_t *llm_route_assign(request_rec *r,
                                 const llm_route_dir_conf_t *dc,
                                 const llm_route_server_conf_t *sc,
                                 llm_request_t *req)
{
    const char *upstream = NULL, *label = NULL;
    llm_provider_t *pv = llm_route_select(r, dc, sc, req->model_requested,
                                          &upstream, &label);

    if (pv) {
        req->provider = pv->name;
        req->provider_family = pv->family;
        req->balancer = pv->balancer;
        req->model_used = upstream;
        req->model_label = label;
    }
    return pv;
}
