/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer cache's key, its lookup and the answer of a hit.
 *
 * The key is a SHA-256 over, each with its length: the scope and whom it
 * names (the user; the caller's groups, sorted; or no one), the caller's
 * endpoint and whether it asked for a stream's usage chunk, the model it
 * named, the provider and the model the provider is asked for, the
 * protocol headers that change an answer (anthropic-version,
 * anthropic-beta, OpenAI-Beta), the query, and the body exactly as it
 * goes upstream -- after redaction, translation and the gateway's own
 * additions.  A stored answer is what the caller of that key got, in its
 * dialect, so every input that shapes it is in the key: two requests that
 * differ in any of them never share an answer, and no scope reaches
 * another's entries.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_cache.h"

APLOG_USE_MODULE(llm_route);

#define CACHE_PENDING "llm_route::cache"
#define CACHE_HIT "llm_route::cache-hit"
#define CACHE_HEADER "X-LLM-Cache"

static void put_num(EVP_MD_CTX *md, apr_uint64_t n)
{
    unsigned char b[8];
    int i;

    for (i = 0; i < 8; i++) {
        b[i] = (unsigned char)(n >> (56 - 8 * i));
    }
    EVP_DigestUpdate(md, b, sizeof(b));
}

/* Each field with its length first, so that no two lists of fields
 * hash the same bytes. */
static void put_field(EVP_MD_CTX *md, const char *s, apr_size_t n)
{
    put_num(md, (apr_uint64_t)n);
    if (n) {
        EVP_DigestUpdate(md, s, n);
    }
}

static void put_str(EVP_MD_CTX *md, const char *s)
{
    /* NULL and "" differ: a length of all ones for NULL. */
    if (!s) {
        put_num(md, ~(apr_uint64_t)0);
        return;
    }
    put_field(md, s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whom the scope names; NULL when the caller has no place in it (no
 * user, or no groups claim for the group scope): such a request is
 * neither looked up nor stored. */
static int put_scope(request_rec *r, EVP_MD_CTX *md, int scope,
                     const llm_request_t *req)
{
    const char **g;
    int i, n;

    switch (scope) {
    case LLM_CACHE_SCOPE_ALL:
        put_str(md, "all");
        return 1;
    case LLM_CACHE_SCOPE_GROUP:
        if (!req->groups || !req->groups->nelts) {
            return 0;
        }
        /* The very same set of groups, in any order. */
        n = req->groups->nelts;
        g = apr_pmemdup(r->pool, req->groups->elts, n * sizeof(*g));
        qsort(g, n, sizeof(*g), cmp_str);
        put_str(md, "group");
        put_num(md, (apr_uint64_t)n);
        for (i = 0; i < n; i++) {
            if (i && !strcmp(g[i], g[i - 1])) {
                continue;
            }
            put_str(md, g[i]);
        }
        return 1;
    default:
        if (!req->user || !*req->user) {
            return 0;
        }
        put_str(md, "user");
        put_str(md, req->user);
        return 1;
    }
}

static int caller_asked_usage(const llm_request_t *req)
{
    json_t *so = req->json ? json_object_get(req->json, "stream_options")
                           : NULL;

    return json_is_true(json_object_get(so, "include_usage"));
}

static int compute_key(request_rec *r, const llm_route_dir_conf_t *dc,
                       const llm_request_t *req, unsigned char *key)
{
    static const char *const headers[] = {
        "anthropic-version", "anthropic-beta", "OpenAI-Beta", NULL
    };
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int i, ok;

    if (!md) {
        return 0;
    }
    ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    put_str(md, "llm-cache-v1");
    ok = ok && put_scope(r, md,
                         llm_route_cache_scope(dc), req);
    if (ok) {
        put_num(md, (apr_uint64_t)req->endpoint);
        put_num(md, (apr_uint64_t)caller_asked_usage(req));
        put_str(md, req->model_requested);
        put_str(md, req->provider);
        put_str(md, req->model_used);
        for (i = 0; headers[i]; i++) {
            put_str(md, apr_table_get(r->headers_in, headers[i]));
        }
        put_str(md, r->args);
        put_field(md, req->body, req->body_len);
        ok = EVP_DigestFinal_ex(md, key, &n) == 1 && n == 32;
    }
    EVP_MD_CTX_free(md);
    return ok;
}

/* Cache-Control from the caller: no-cache skips the lookup (the fresh
 * answer is stored), no-store skips both. */
static int has_directive(const char *cc, const char *name)
{
    apr_size_t n = strlen(name);

    while (cc && *cc) {
        while (*cc == ' ' || *cc == '\t' || *cc == ',') {
            cc++;
        }
        if (!strncasecmp(cc, name, n)
            && (!cc[n] || cc[n] == ',' || cc[n] == ' ' || cc[n] == '\t'
                || cc[n] == '=')) {
            return 1;
        }
        cc = strchr(cc, ',');
    }
    return 0;
}

/* "LLMC1 <stream> <in> <out> <cached>[ <clean mark>]\n" then the
 * answer (entries stored before the mark have none). */
static llm_cache_entry_t *parse_entry(request_rec *r, unsigned char *data,
                                      unsigned int len)
{
    llm_cache_entry_t *e = apr_pcalloc(r->pool, sizeof(*e));
    char *nl = memchr(data, '\n', len);
    char *p, *end;
    apr_int64_t v[4];
    int i;

    if (!nl || len < sizeof(LLM_CACHE_MAGIC)
        || memcmp(data, LLM_CACHE_MAGIC " ", sizeof(LLM_CACHE_MAGIC))) {
        return NULL;
    }
    *nl = '\0';
    p = (char *)data + sizeof(LLM_CACHE_MAGIC);
    for (i = 0; i < 4; i++) {
        v[i] = apr_strtoi64(p, &end, 10);
        if (end == p || v[i] < 0) {
            return NULL;
        }
        p = end;
    }
    if (*p == ' ' && p[1]) {
        e->clean_mark = apr_pstrdup(r->pool, p + 1);
    }
    else if (*p) {
        return NULL;
    }
    e->stream = v[0] != 0;
    e->tokens_in = v[1];
    e->tokens_out = v[2];
    e->tokens_cached = v[3];
    e->body = nl + 1;
    e->len = len - (apr_size_t)(nl + 1 - (char *)data);
    return e;
}

llm_cache_pending_t *llm_route_cache_pending(request_rec *r)
{
    void *p = NULL;

    apr_pool_userdata_get(&p, CACHE_PENDING, r->pool);
    return p;
}

llm_cache_entry_t *llm_route_cache_lookup(request_rec *r,
                                          const llm_route_dir_conf_t *dc,
                                          llm_request_t *req)
{
    const char *cc = apr_table_get(r->headers_in, "Cache-Control");
    llm_cache_pending_t *pd;
    llm_cache_entry_t *e;
    unsigned char *data;
    unsigned int len;

    /* Counting tokens is answered by the provider for nothing. */
    if (!llm_route_cache_on(dc) || req->endpoint == LLM_EP_ANTHROPIC_COUNT_TOKENS) {
        return NULL;
    }
    if (has_directive(cc, "no-store")) {
        apr_table_setn(r->err_headers_out, CACHE_HEADER, "bypass");
        return NULL;
    }
    pd = apr_pcalloc(r->pool, sizeof(*pd));
    if (!compute_key(r, dc, req, pd->key)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMNO(02720)
                      "answer cache: the caller has no place in scope %s "
                      "(no user or no groups); not cached",
                      llm_route_cache_scope(dc) == LLM_CACHE_SCOPE_GROUP
                          ? "group" : "user");
        return NULL;
    }
    pd->ttl = llm_route_cache_ttl(dc);
    pd->max = llm_route_cache_max(dc);
    pd->store = 1;
    apr_pool_userdata_setn(pd, CACHE_PENDING, NULL, r->pool);
    if (has_directive(cc, "no-cache")) {
        apr_table_setn(r->err_headers_out, CACHE_HEADER, "bypass");
        return NULL;
    }
    /* The entry's header line is at most 128 bytes. */
    if (llm_route_cache_get(r, pd->key, sizeof(pd->key), pd->max + 256,
                            &data, &len) != APR_SUCCESS) {
        apr_table_setn(r->err_headers_out, CACHE_HEADER, "miss");
        return NULL;
    }
    if (!(e = parse_entry(r, data, len)) || e->stream != (req->stream != 0)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02721)
                      "answer cache: an entry of %u bytes under this "
                      "request's key is not one the gateway stored; "
                      "ignored", len);
        apr_table_setn(r->err_headers_out, CACHE_HEADER, "miss");
        return NULL;
    }
    return e;
}

int llm_route_cache_answer(request_rec *r, llm_request_t *req,
                           llm_cache_entry_t *e)
{
    /* No tokens are spent; what the answer would have cost is kept for
     * the audit's cost_saved. */
    req->decision = LLM_DECISION_CACHE_HIT;
    req->saved_tokens_in = e->tokens_in;
    req->saved_tokens_out = e->tokens_out;
    req->saved_tokens_cached = e->tokens_cached;
    /* The answer scan may trust its own mark only where nothing but
     * this server writes the entries: not in a store other hosts reach
     * (Redis, memcached), where anything that can write could forge it. */
    if (e->clean_mark && llm_route_cache_store_local(r)) {
        req->answer_stored_mark = e->clean_mark;
    }
    /* The answer was stored once: never store it again from itself. */
    apr_pool_userdata_setn(NULL, CACHE_PENDING, NULL, r->pool);
    apr_pool_userdata_setn(e, CACHE_HIT, NULL, r->pool);
    apr_table_setn(r->err_headers_out, CACHE_HEADER, "hit");
    r->handler = LLM_CACHE_HIT_HANDLER;
    return OK;
}

int llm_route_cache_hit_handler(request_rec *r)
{
    llm_request_t *req;
    llm_cache_entry_t *e = NULL;
    apr_bucket_brigade *bb;

    if (!r->handler || strcmp(r->handler, LLM_CACHE_HIT_HANDLER)) {
        return DECLINED;
    }
    apr_pool_userdata_get((void **)&e, CACHE_HIT, r->pool);
    req = llm_request_get(r, 0);
    if (!e || !req) {
        /* Only route_fixups sends requests here, with their entry. */
        return HTTP_NOT_FOUND;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    if (e->stream) {
        ap_set_content_type(r, "text/event-stream; charset=utf-8");
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    }
    else {
        ap_set_content_type(r, "application/json");
        ap_set_content_length(r, e->len);
    }
    req->first_byte = apr_time_now();
    req->bytes_out = e->len;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(e->body, e->len,
                                                       r->pool,
                                                       bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
               ? OK : AP_FILTER_ERROR;
}
