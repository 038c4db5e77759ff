/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Where cached answers live: one of httpd's own socache providers, named
 * by LLMCacheStore (mod_socache_shmcb, mod_socache_redis,
 * mod_socache_memcache ... whichever is loaded).  One instance per node,
 * the main server's, set up only when some location has LLMCache On.
 * Providers that are not safe across processes (shmcb) are used under a
 * global mutex, as mod_ssl does with its session cache.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "http_core.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "apr_global_mutex.h"

#include "route_internal.h"
#include "route_cache.h"

APLOG_USE_MODULE(llm_route);

#define CACHE_MUTEX_TYPE "llm-cache"
/* The consumer's name in the provider: shmcb names its file after it,
 * redis and memcache prefix every key with it, so that nodes with the
 * same name share entries. */
#define CACHE_NAMESPACE "llm-gateway"

static int cache_used(server_rec *s)
{
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        llm_route_server_conf_t *sc = llm_route_srv(vs);

        if (sc->cache_used) {
            return 1;
        }
    }
    return 0;
}

/* The provider and its argument; the default is a 64 MB shmcb in the
 * runtime directory. */
static const char *find_provider(apr_pool_t *p, llm_cache_store_t *st)
{
    if (!st->provider_name) {
        st->provider_name = LLM_CACHE_DEFAULT_STORE;
        st->provider_arg = apr_pstrcat(p, ap_runtime_dir_relative(p,
                                                                  "llm-cache"),
                                       LLM_CACHE_DEFAULT_SHMCB_SIZE, NULL);
        st->spec = apr_pstrcat(p, st->provider_name, ":", st->provider_arg,
                               NULL);
    }
    st->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                                      st->provider_name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (!st->provider) {
        return apr_psprintf(p, "LLMCacheStore %s: no socache provider named "
                            "'%s' is loaded (LoadModule socache_%s_module "
                            "mod_socache_%s.so)", st->spec, st->provider_name,
                            st->provider_name, st->provider_name);
    }
    return NULL;
}

static int cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, CACHE_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT,
                             0) == APR_SUCCESS ? OK
                                               : HTTP_INTERNAL_SERVER_ERROR;
}

/* apachectl -t: the provider is loaded and takes its argument. */
static int cache_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    llm_route_server_conf_t *sc = llm_route_srv(s);
    llm_cache_store_t *st = sc->cache_store;
    ap_socache_instance_t *probe;
    const char *err;

    if (!cache_used(s)) {
        return OK;
    }
    if (!(err = find_provider(pconf, st))) {
        err = st->provider->create(&probe, st->provider_arg, ptemp, ptemp);
        if (err) {
            err = apr_psprintf(ptemp, "LLMCacheStore %s: %s", st->spec, err);
        }
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     LLMNO(02700) "%s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t destroy_instance(void *data)
{
    llm_cache_store_t *st = data;

    if (st->instance) {
        st->provider->destroy(st->instance, ap_server_conf);
        st->instance = NULL;
    }
    return APR_SUCCESS;
}

static int cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    llm_route_server_conf_t *sc = llm_route_srv(s);
    llm_cache_store_t *st = sc->cache_store;
    struct ap_socache_hints hints;
    const char *err;
    apr_status_t rv;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || !cache_used(s)) {
        return OK;
    }
    if ((err = find_provider(pconf, st)) != NULL
        || (err = st->provider->create(&st->instance, st->provider_arg,
                                       ptemp, pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, LLMNO(02701)
                     "LLMCacheStore %s: %s", st->spec, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (st->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&st->mutex, NULL, CACHE_MUTEX_TYPE, NULL,
                                    s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02702)
                         "LLMCacheStore %s: cannot create the cache's "
                         "mutex", st->spec);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    /* shmcb sizes its index from these: one slot per 4 KB of the
     * segment (a short answer is one to a few KB, a stream more), so
     * that many small answers do not evict each other while the
     * segment still has room. */
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = 32;
    hints.avg_obj_size = 4 * 1024;
    hints.expiry_interval = apr_time_from_sec(30);
    rv = st->provider->init(st->instance, CACHE_NAMESPACE, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02703)
                     "LLMCacheStore %s: the provider could not start",
                     st->spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, st, destroy_instance,
                              apr_pool_cleanup_null);
    return llm_route_cache_metrics_attach(s) == APR_SUCCESS
               ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static void cache_child_init(apr_pool_t *p, server_rec *s)
{
    llm_route_server_conf_t *sc = llm_route_srv(s);
    llm_cache_store_t *st = sc->cache_store;
    apr_status_t rv;

    if (st->mutex) {
        rv = apr_global_mutex_child_init(&st->mutex,
                 apr_global_mutex_lockfile(st->mutex), p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02704)
                         "the answer cache's mutex could not be reopened "
                         "in this child; the cache is off in it");
            st->instance = NULL;
        }
    }
}

static llm_cache_store_t *store_of(request_rec *r)
{
    llm_route_server_conf_t *sc = llm_route_srv(r->server);

    return sc->cache_store && sc->cache_store->instance ? sc->cache_store
                                                        : NULL;
}

int llm_route_cache_store_local(request_rec *r)
{
    llm_cache_store_t *st = store_of(r);

    return st && st->provider_name && !strcmp(st->provider_name, "shmcb");
}

apr_status_t llm_route_cache_get(request_rec *r, const unsigned char *key,
                                 unsigned int keylen, apr_size_t max,
                                 unsigned char **data, unsigned int *len)
{
    llm_cache_store_t *st = store_of(r);
    unsigned char *buf;
    unsigned int n = (unsigned int)max;
    apr_pool_t *tmp;
    apr_status_t rv;

    if (!st) {
        return APR_NOTFOUND;
    }
    /* The providers copy into a buffer of the caller's, as large as the
     * largest entry may be: a pool of its own, given back at once, so
     * that a request (a stream after a miss may last minutes) keeps only
     * the entry's own size. */
    if ((rv = apr_pool_create(&tmp, r->pool)) != APR_SUCCESS) {
        return rv;
    }
    buf = apr_palloc(tmp, max);
    if (st->mutex && (rv = apr_global_mutex_lock(st->mutex)) != APR_SUCCESS) {
        llm_route_cache_count(LLM_CACHE_EV_LOOKUP_ERROR);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, LLMNO(02705)
                      "answer cache: the mutex could not be taken; not "
                      "looked up");
        apr_pool_destroy(tmp);
        return rv;
    }
    rv = st->provider->retrieve(st->instance, r->server, key, keylen, buf,
                                &n, tmp);
    if (st->mutex) {
        apr_global_mutex_unlock(st->mutex);
    }
    if (rv == APR_SUCCESS) {
        unsigned char *copy = apr_palloc(r->pool, (apr_size_t)n + 1);

        memcpy(copy, buf, n);
        copy[n] = '\0';
        *data = copy;
        *len = n;
        llm_route_cache_count(LLM_CACHE_EV_HIT);
    }
    else if (APR_STATUS_IS_NOTFOUND(rv) || APR_STATUS_IS_EOF(rv)) {
        llm_route_cache_count(LLM_CACHE_EV_MISS);
    }
    else {
        llm_route_cache_count(LLM_CACHE_EV_LOOKUP_ERROR);
        /* The provider logs the failure itself (mod_socache_redis:
         * every one, at error): this line only says what follows. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, LLMNO(02706)
                      "answer cache %s did not answer a lookup; the request "
                      "goes to its provider", st->spec);
    }
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t llm_route_cache_put(request_rec *r, const unsigned char *key,
                                 unsigned int keylen, apr_time_t expiry,
                                 const unsigned char *data, unsigned int len)
{
    llm_cache_store_t *st = store_of(r);
    apr_status_t rv;

    if (!st) {
        return APR_NOTFOUND;
    }
    if (st->mutex && (rv = apr_global_mutex_lock(st->mutex)) != APR_SUCCESS) {
        llm_route_cache_count(LLM_CACHE_EV_STORE_ERROR);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, LLMNO(02707)
                      "answer cache: the mutex could not be taken; answer "
                      "not stored");
        return rv;
    }
    rv = st->provider->store(st->instance, r->server, key, keylen, expiry,
                             (unsigned char *)data, len, r->pool);
    if (st->mutex) {
        apr_global_mutex_unlock(st->mutex);
    }
    llm_route_cache_count(rv == APR_SUCCESS ? LLM_CACHE_EV_STORED
                                            : LLM_CACHE_EV_STORE_ERROR);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, LLMNO(02708)
                      "answer cache %s did not store an answer of %u bytes "
                      "(too large for it, or it did not answer)", st->spec,
                      len);
    }
    return rv;
}

void llm_route_cache_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(cache_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(cache_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
