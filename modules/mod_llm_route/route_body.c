/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The body the provider receives.  Same-dialect requests under their own
 * model name pass through byte for byte (or as mod_llm_scan redacted
 * them); only a rename or a translation re-serialises the JSON.
 */

#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_log.h"

#include "dialect/llm_dialect.h"
#include "dialect/llm_translate.h"
#include "route_internal.h"

APLOG_USE_MODULE(llm_route);

int llm_route_prepare_body(request_rec *r, llm_request_t *req,
                           const llm_provider_t *pv,
                           const char *upstream_model)
{
    json_t *root = req->json;
    apr_size_t len;
    const char *body;

    if (pv->family != req->caller_family) {
        llm_translate_opts_t opts;
        const char *err = NULL;

        memset(&opts, 0, sizeof(opts));
        root = llm_translate_request_for(r->pool, req->endpoint, pv->family,
                                         req->json, &opts, &err);
        if (!root) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMNO(02010)
                          "request for %s not translatable for provider "
                          "%s: %s", req->model_requested, pv->name,
                          err ? err : "unknown shape");
            return HTTP_BAD_REQUEST;
        }
        json_object_set_new(root, "model", json_string(upstream_model));
    }
    else if (strcmp(upstream_model, req->model_requested)) {
        json_object_set_new(root, "model", json_string(upstream_model));
    }
    else {
        return OK;
    }
    body = llm_json_dump(r->pool, root, &len);
    if (root != req->json) {
        /* The translated tree was only to be serialised: a 1 MB request
         * need not hold it until it ends. */
        llm_json_release(r->pool, root);
    }
    if (!body) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02400)
                      "the request for %s could not be serialised for "
                      "provider %s", req->model_requested, pv->name);
        return HTTP_BAD_REQUEST;
    }
    llm_request_set_body(r, req, body, len);
    return OK;
}
