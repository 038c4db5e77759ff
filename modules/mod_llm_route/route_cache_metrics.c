/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer cache's figures on the metrics page: what the store answered
 * to lookups and stores.  A Redis or memcached that stops answering does
 * not refuse a request (it goes to its provider), so an operator sees the
 * outage here, not in the answers.  One word of shared memory per node,
 * on the process pool so that it outlives graceful restarts.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_shm.h"

#include "llm_shm_lock.h"
#include "route_internal.h"
#include "route_cache.h"

APLOG_USE_MODULE(llm_route);

#define METRICS_USERDATA "llm_route::cache_metrics/1"

typedef struct {
    llm_shm_lock_t lock;
    apr_uint64_t n[LLM_CACHE_NEVENTS];
} cache_metrics_t;

static cache_metrics_t *metrics;

apr_status_t llm_route_cache_metrics_attach(server_rec *s)
{
    apr_pool_t *gp = s->process->pool;
    apr_shm_t *shm;
    apr_status_t rv;

    metrics = NULL;
    apr_pool_userdata_get((void **)&metrics, METRICS_USERDATA, gp);
    if (metrics) {
        return APR_SUCCESS;
    }
    rv = apr_shm_create(&shm, sizeof(*metrics), NULL, gp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02709)
                     "answer cache: cannot create the shared memory of its "
                     "metrics");
        return rv;
    }
    metrics = apr_shm_baseaddr_get(shm);
    memset(metrics, 0, sizeof(*metrics));
    apr_pool_userdata_set(metrics, METRICS_USERDATA, apr_pool_cleanup_null,
                          gp);
    return APR_SUCCESS;
}

void llm_route_cache_count(llm_cache_event_e ev)
{
    if (metrics && ev >= 0 && ev < LLM_CACHE_NEVENTS) {
        llm_shm_lock(&metrics->lock);
        metrics->n[ev]++;
        llm_shm_unlock(&metrics->lock);
    }
}

void llm_route_cache_metrics(request_rec *r)
{
    cache_metrics_t m;

    if (!metrics) {
        return;
    }
    llm_shm_lock(&metrics->lock);
    m = *metrics;
    llm_shm_unlock(&metrics->lock);
    ap_rprintf(r,
        "# HELP llm_gateway_cache_lookups_total Answer cache lookups by "
        "what the store answered (error: it did not answer; the request "
        "went to its provider).\n"
        "# TYPE llm_gateway_cache_lookups_total counter\n"
        "llm_gateway_cache_lookups_total{result=\"hit\"} %" APR_UINT64_T_FMT
        "\n"
        "llm_gateway_cache_lookups_total{result=\"miss\"} %" APR_UINT64_T_FMT
        "\n"
        "llm_gateway_cache_lookups_total{result=\"error\"} %" APR_UINT64_T_FMT
        "\n"
        "# HELP llm_gateway_cache_stores_total Answers handed to the answer "
        "cache's store, by whether it kept them.\n"
        "# TYPE llm_gateway_cache_stores_total counter\n"
        "llm_gateway_cache_stores_total{result=\"stored\"} %" APR_UINT64_T_FMT
        "\n"
        "llm_gateway_cache_stores_total{result=\"error\"} %" APR_UINT64_T_FMT
        "\n",
        m.n[LLM_CACHE_EV_HIT], m.n[LLM_CACHE_EV_MISS],
        m.n[LLM_CACHE_EV_LOOKUP_ERROR], m.n[LLM_CACHE_EV_STORED],
        m.n[LLM_CACHE_EV_STORE_ERROR]);
}
