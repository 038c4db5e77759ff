/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * An OpenAI-dialect stream reports its usage only when the request asks
 * for it (stream_options.include_usage).  Quotas and the audit must not
 * depend on a flag the caller chooses, so the gateway asks on every such
 * stream it sends; route_response.c takes the usage chunk out of the
 * stream again when the caller had not asked for it.
 */

#include <jansson.h>

#include "httpd.h"
#include "http_log.h"

#include "dialect/llm_usage.h"
#include "route_internal.h"

APLOG_USE_MODULE(llm_route);

/* Whether the parsed body already asks for the usage, when the body
 * going upstream is that parsed body (untranslated; redacted or renamed
 * at most): then it is not walked again (~0.3 ms a walk per MB of a
 * coding agent's request). */
static int asked_already(const llm_request_t *req)
{
    json_t *so;

    if (!req->json || req->caller_family != req->provider_family
        || req->endpoint != req->provider_endpoint) {
        return 0;
    }
    so = json_object_get((json_t *)req->json, "stream_options");
    return json_is_object(so)
           && json_is_true(json_object_get(so, "include_usage"));
}

void llm_route_ask_usage(request_rec *r, llm_request_t *req)
{
    const char *body;
    apr_size_t len;

    if (req->provider_endpoint != LLM_EP_OPENAI_CHAT
        && req->provider_endpoint != LLM_EP_OPENAI_COMPLETIONS) {
        return;
    }
    /* The parsed body says whether the caller streams: a request that
     * does not is not walked again for its "stream" member. */
    if (!req->body || (req->json && !req->stream)
        || asked_already(req)
        || llm_usage_request_ask(r->pool, req->body, req->body_len, &body,
                                 &len) != 1) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, LLMNO(02305)
                  "stream for provider %s: stream_options.include_usage "
                  "added", req->provider);
    llm_request_set_body(r, req, body, len);
}
