/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
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
#include "dialect/llm_names.h"

/* Query parameters the providers' APIs define for these endpoints, with
 * the values they define: Anthropic's beta=true.  The rest is not
 * forwarded: the provider would read it, and it is not part of the body
 * the gateway scanned. */
static const char *provider_args(request_rec *r)
{
    apr_array_header_t *kept;
    char *args, *pair, *state;

    if (!r->args || !*r->args) {
        return NULL;
    }
    kept = apr_array_make(r->pool, 2, sizeof(char *));
    args = apr_pstrdup(r->pool, r->args);
    for (pair = apr_strtok(args, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        if (!strncmp(pair, "beta=", 5)
            && llm_beta_query_ok(pair + 5, strlen(pair + 5))) {
            APR_ARRAY_PUSH(kept, char *) = pair;
        }
    }
    return kept->nelts ? apr_array_pstrcat(r->pool, kept, '&') : NULL;
}

const char *llm_route_provider_path(request_rec *r, const llm_request_t *req,
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
    *args = pv->family == req->caller_family ? provider_args(r) : NULL;
    if (pv->type == LLM_PROVIDER_AZURE) {
        /* Azure names the deployment in the path and wants its version.
         * The path is built from a name that is one plain segment, never
         * escaped into one: "a/../b" must not reach another deployment,
         * and model access was decided on exactly this string. */
        if (!llm_path_segment_ok(upstream_model)) {
            return NULL;
        }
        *args = apr_pstrcat(r->pool, "api-version=", pv->api_version, NULL);
        return apr_pstrcat(r->pool, "/deployments/", upstream_model, sub,
                           NULL);
    }
    return sub;
}

void llm_route_to_proxy(request_rec *r, llm_request_t *req,
                        llm_provider_t *pv, const char *path,
                        const char *args)
{
    llm_route_choice_t *choice = apr_pcalloc(r->pool, sizeof(*choice));

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
    llm_route_frame_body(r, req);
}

/* r->headers_in is mod_proxy's copy for the upstream request here; it is
 * rebuilt in place because mod_proxy keeps using the same table.  Kept:
 * the body's framing, and the headers of llm_names.h whose value fits
 * their syntax (a User-Agent has been scanned by mod_llm_scan by now).
 * The body is JSON, so that is its type, whatever parameters the caller
 * added to it. */
static void keep_provider_headers(request_rec *r)
{
    const apr_array_header_t *arr;
    const apr_table_entry_t *te;
    apr_table_t *orig = apr_table_copy(r->pool, r->headers_in);
    int i;

    apr_table_clear(r->headers_in);
    arr = apr_table_elts(orig);
    te = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        llm_fwd_header_e h;

        if (!te[i].key) {
            continue;
        }
        if (!strcasecmp(te[i].key, "Content-Length")
            || !strcasecmp(te[i].key, "Transfer-Encoding")) {
            apr_table_addn(r->headers_in, te[i].key, te[i].val);
        }
        else if ((h = llm_fwd_header(te[i].key)) != LLM_FWD_NONE
                 && llm_fwd_header_ok(h, te[i].val)) {
            apr_table_addn(r->headers_in, te[i].key, te[i].val);
        }
    }
    apr_table_setn(r->headers_in, "Content-Type", "application/json");
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
    /* Only the headers the providers' APIs define go upstream: the
     * caller's credentials were for the gateway, and any other header is
     * text the provider would read that the gateway has not scanned.
     * Accept-Encoding goes too: usage and translation read the answer. */
    keep_provider_headers(r);

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
