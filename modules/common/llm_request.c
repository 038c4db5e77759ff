/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The per-request object shared by the three modules.  Each module is its
 * own shared object with this file linked in, so the object cannot hang off
 * one module's request_config: it is kept as r->pool userdata under a
 * fixed key, which every copy of this code finds.  Internal redirects keep
 * r->pool, so they see the same object.
 */

#include "httpd.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "llm_gateway.h"

#define LLM_REQUEST_KEY "llm_gateway::request"

llm_request_t *llm_request_get(request_rec *r, int create)
{
    void *v = NULL;
    llm_request_t *req;

    while (r->main) {
        r = r->main;
    }
    apr_pool_userdata_get(&v, LLM_REQUEST_KEY, r->pool);
    if (v || !create) {
        return v;
    }
    req = apr_pcalloc(r->pool, sizeof(*req));
    req->started = r->request_time;
    req->findings = apr_array_make(r->pool, 4, sizeof(llm_finding_t));
    apr_pool_userdata_setn(req, LLM_REQUEST_KEY, NULL, r->pool);
    return req;
}

void llm_request_add_finding(request_rec *r, llm_request_t *req,
                             const llm_finding_t *f)
{
    llm_finding_t *dst = apr_array_push(req->findings);

    *dst = *f;
    dst->type = apr_pstrdup(r->pool, f->type);
    dst->rule = apr_pstrdup(r->pool, f->rule);
    dst->location = apr_pstrdup(r->pool, f->location);
}

void llm_request_set_body(request_rec *r, llm_request_t *req,
                          const char *body, apr_size_t len)
{
    (void)r;
    if (body != req->body || len != req->body_len) {
        req->body_rewritten = 1;
    }
    req->body = body;
    req->body_len = len;
}

const char *llm_decision_name(llm_decision_e d)
{
    switch (d) {
    case LLM_DECISION_ALLOW:   return "allow";
    case LLM_DECISION_REDACT:  return "redact";
    case LLM_DECISION_BLOCK:   return "block";
    case LLM_DECISION_DENY:    return "deny";
    case LLM_DECISION_QUOTA:   return "quota";
    case LLM_DECISION_INVALID: return "invalid";
    case LLM_DECISION_ERROR:   return "error";
    case LLM_DECISION_CACHE_HIT: return "cache_hit";
    case LLM_DECISION_NONE:    break;
    }
    return "none";
}
