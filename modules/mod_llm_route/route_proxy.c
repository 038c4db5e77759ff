/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * Handing a request to mod_proxy the way mod_rewrite's [P] does, and
 * swapping the caller's gateway token for the provider's key on the copy of
 * the headers that only the upstream request sees.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_request.h"
#include "apr_strings.h"

#include "route_internal.h"

/* The provider's path for the endpoint the request is sent to (the
 * caller's own, or its equivalent in the provider's dialect). */
static const char *provider_path(request_rec *r, const llm_request_t *req,
                                 const llm_provider_t *pv,
                                 const char *upstream_model,
                                 const char **args)
{
    const char *sub;

    switch (req->provider_endpoint) {
    case LLM_EP_OPENAI_CHAT:
        sub = "/chat/completions";
        break;
    case LLM_EP_ANTHROPIC_MESSAGES:
        sub = "/messages";
        break;
    case LLM_EP_ANTHROPIC_COUNT_TOKENS:
        sub = "/messages/count_tokens";
        break;
    case LLM_EP_OPENAI_RESPONSES:
        sub = "/responses";
        break;
    case LLM_EP_OPENAI_EMBEDDINGS:
        sub = "/embeddings";
        break;
    case LLM_EP_OPENAI_COMPLETIONS:
        sub = "/completions";
        break;
    default:
        sub = "";
        break;
    }
    *args = pv->family == req->caller_family ? r->args : NULL;
    if (pv->type == LLM_PROVIDER_AZURE) {
        /* Azure names the deployment in the path and wants its version. */
        *args = apr_pstrcat(r->pool, "api-version=", pv->api_version, NULL);
        return apr_pstrcat(r->pool, "/deployments/",
                           ap_escape_uri(r->pool, upstream_model), sub, NULL);
    }
    return sub;
}

void llm_route_to_proxy(request_rec *r, llm_request_t *req,
                        llm_provider_t *pv, const char *upstream_model)
{
    llm_route_choice_t *choice = apr_pcalloc(r->pool, sizeof(*choice));
    const char *args = NULL;
    const char *path = provider_path(r, req, pv, upstream_model, &args);

    choice->provider = pv;
    ap_set_module_config(r->request_config, &llm_route_module, choice);

    /* mod_proxy's canon handler escapes the path and appends r->args, as
     * for mod_rewrite's [P]: a '?' in the filename would be sent as %3F. */
    r->filename = apr_pstrcat(r->pool, "proxy:", pv->balancer, pv->prefix,
                              path, NULL);
    r->args = args && *args ? (char *)args : NULL;
    r->proxyreq = PROXYREQ_REVERSE;
    r->handler = "proxy-server";
    /* Streams must reach the client event by event. */
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_table_setn(r->subprocess_env, "proxy-sendcl", "1");
    req->provider = pv->name;
    req->provider_family = pv->family;
    req->balancer = pv->balancer;
}

int llm_route_proxy_fixups(request_rec *r)
{
    llm_route_choice_t *choice;
    llm_provider_t *pv;

    if (r->main) {
        return OK;
    }
    choice = ap_get_module_config(r->request_config, &llm_route_module);
    if (!choice || !(pv = choice->provider)) {
        return OK;
    }
    /* Whatever the caller sent as credentials was for the gateway. */
    apr_table_unset(r->headers_in, "Authorization");
    apr_table_unset(r->headers_in, "x-api-key");
    apr_table_unset(r->headers_in, "api-key");
    apr_table_unset(r->headers_in, "Proxy-Authorization");
    apr_table_unset(r->headers_in, "Cookie");

    switch (pv->type) {
    case LLM_PROVIDER_ANTHROPIC:
        apr_table_setn(r->headers_in, "x-api-key", pv->key);
        if (!apr_table_get(r->headers_in, "anthropic-version")) {
            apr_table_setn(r->headers_in, "anthropic-version",
                           pv->anthropic_version);
        }
        break;
    case LLM_PROVIDER_AZURE:
        apr_table_setn(r->headers_in, "api-key", pv->key);
        break;
    default:
        apr_table_setn(r->headers_in, "Authorization",
                       apr_pstrcat(r->pool, "Bearer ", pv->key, NULL));
        break;
    }
    return OK;
}
