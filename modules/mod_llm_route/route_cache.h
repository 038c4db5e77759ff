/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The exact answer cache (LLMCache): a request whose body, as it would go
 * upstream after redaction, was answered before within the TTL and the
 * same scope is answered from the cache instead of the provider.  The
 * entries live in one of httpd's socache providers (LLMCacheStore):
 * shmcb on one node, redis or memcache shared by a fleet.
 *
 *   route_cache_config.c   the directives
 *   route_cache_store.c    the socache provider: set-up, get, put
 *   route_cache.c          the key, the lookup, the answer of a hit
 *   route_cache_capture.c  the output filters that judge and store answers
 *   route_cache_metrics.c  what the store answered, on the metrics page
 */

#ifndef ROUTE_CACHE_H
#define ROUTE_CACHE_H

#include "httpd.h"
#include "http_config.h"

#include "llm_gateway.h"
#include "route_config.h"

/* LLMCache's scopes and defaults are the configuration's
 * (route_config.h); the default store is applied at post_config
 * (route_cache_store.c). */
#define LLM_CACHE_DEFAULT_STORE "shmcb"
#define LLM_CACHE_DEFAULT_SHMCB_SIZE "(67108864)"

/* The node's socache instance (LLMCacheStore), set up at post_config for
 * the main server and shared by every virtual host. */
typedef struct llm_cache_store_t {
    const char *spec;            /* LLMCacheStore as written */
    const char *provider_name;   /* "shmcb", "redis", "memcache" ... */
    const char *provider_arg;    /* what follows the ':' (may be NULL) */
    const struct ap_socache_provider_t *provider;
    struct ap_socache_instance_t *instance;
    struct apr_global_mutex_t *mutex; /* providers not safe across processes */
} llm_cache_store_t;

/* Directives (route_cache_config.c). */
const char *llm_route_cmd_cache(cmd_parms *cmd, void *dcv, int on);
const char *llm_route_cmd_cache_ttl(cmd_parms *cmd, void *dcv,
                                    const char *arg);
const char *llm_route_cmd_cache_scope(cmd_parms *cmd, void *dcv,
                                      const char *arg);
const char *llm_route_cmd_cache_max(cmd_parms *cmd, void *dcv,
                                    const char *arg);
const char *llm_route_cmd_cache_store(cmd_parms *cmd, void *dcv,
                                      const char *arg);

/* The store (route_cache_store.c): pre_config registers the mutex type,
 * post_config creates and starts the provider's instance when a location
 * uses the cache, child_init reopens the mutex. */
void llm_route_cache_register_hooks(apr_pool_t *p);
/* The entry stored under key, copied into r->pool: APR_SUCCESS with *data
 * and *len, APR_NOTFOUND, or another error (logged). */
apr_status_t llm_route_cache_get(request_rec *r, const unsigned char *key,
                                 unsigned int keylen, apr_size_t max,
                                 unsigned char **data, unsigned int *len);
apr_status_t llm_route_cache_put(request_rec *r, const unsigned char *key,
                                 unsigned int keylen, apr_time_t expiry,
                                 const unsigned char *data, unsigned int len);

/* A cached answer found for the request. */
typedef struct llm_cache_entry_t {
    int stream;                  /* an SSE stream, else one JSON body */
    apr_int64_t tokens_in, tokens_out, tokens_cached; /* its usage */
    const char *body;            /* the answer as the caller gets it */
    apr_size_t len;
    /* the answer scan's mark when it found nothing in this answer
     * (llm_gateway.h, answer_clean_mark), else NULL */
    const char *clean_mark;
} llm_cache_entry_t;

/* route_cache.c.  In route_fixups, once the body is what goes upstream:
 * the request's key (when the location caches and the caller did not
 * say no-cache), and the cached answer when there is one (else NULL). */
llm_cache_entry_t *llm_route_cache_lookup(request_rec *r,
                                          const llm_route_dir_conf_t *dc,
                                          llm_request_t *req);
/* A hit: the request is answered by the cache's handler. */
int llm_route_cache_answer(request_rec *r, llm_request_t *req,
                           llm_cache_entry_t *e);
#define LLM_CACHE_HIT_HANDLER "llm-cache-hit"
int llm_route_cache_hit_handler(request_rec *r);

/* A miss going to the provider: watch the answer and store it when it is
 * complete and successful (route_cache_capture.c).  Call the first
 * before llm_route_watch_response (it reads what the provider sends), the
 * second after (it keeps what the caller gets). */
void llm_route_cache_watch_upstream(request_rec *r, llm_request_t *req);
void llm_route_cache_watch_answer(request_rec *r, llm_request_t *req);
void llm_route_cache_register_filters(void);

/* LLM_CACHE_STORE's place in the chain: after route's response filter
 * (AP_FTYPE_RESOURCE), mod_llm_scan's answer scan (+ 4) and mod_llm_audit's
 * answer copy (+ 5), so that what is stored is the answer as the caller
 * received it, scanned.  A filter that gives the caller back values the
 * request's redaction took out must come after this one: the entry is
 * served to everyone in the key's scope, whose own values differ. */
#define LLM_CACHE_STORE_FTYPE (AP_FTYPE_RESOURCE + 6)

/* The key computed by llm_route_cache_lookup, kept for the capture. */
typedef struct llm_cache_pending_t {
    unsigned char key[32];
    apr_interval_time_t ttl;
    apr_size_t max;
    int store;                   /* 0: no-store from the caller */
} llm_cache_pending_t;
llm_cache_pending_t *llm_route_cache_pending(request_rec *r);

/* The metrics (route_cache_metrics.c): what the store answered, counted
 * in shared memory made at post_config when a location caches, and the
 * lines of the metrics page (nothing when no location caches). */
typedef enum {
    LLM_CACHE_EV_HIT = 0,        /* a lookup found an entry */
    LLM_CACHE_EV_MISS,           /* a lookup found none */
    LLM_CACHE_EV_LOOKUP_ERROR,   /* the store did not answer a lookup */
    LLM_CACHE_EV_STORED,
    LLM_CACHE_EV_STORE_ERROR,    /* the store did not keep an answer */
    LLM_CACHE_NEVENTS
} llm_cache_event_e;
apr_status_t llm_route_cache_metrics_attach(server_rec *s);
void llm_route_cache_count(llm_cache_event_e ev);
void llm_route_cache_metrics(request_rec *r);

/* The header of a stored entry, then the answer's bytes. */
#define LLM_CACHE_MAGIC "LLMC1"

/* route_cache_store.c: whether the store is this node's own memory
 * (shmcb), which nothing but this server's processes writes. */
int llm_route_cache_store_local(request_rec *r);

#endif /* ROUTE_CACHE_H */
