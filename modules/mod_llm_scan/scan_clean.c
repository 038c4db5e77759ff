/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * One cache of strings already scanned clean per child, made when the
 * child starts and freed with it: the threads of a child share it, the
 * children do not (a shared-memory cache would need a lock across
 * processes and copies in and out of the segment).  Every server of the
 * child reaches it through its configuration; entries are keyed by the
 * rule set, so that a string clean under one server's rules is never
 * taken as clean under another's.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "llm_gateway.h"
#include "scan/llm_clean_cache.h"
#include "scan_config.h"
#include "scan_clean.h"

APLOG_USE_MODULE(llm_scan);

/* Threads of a child pick a shard by hash: with 16, two threads meet on
 * one lock in 1 of 16 lookups. */
#define CLEAN_SHARDS 16

typedef struct {
    llm_clean_cache_t *cache;
    server_rec *s;
} clean_child_t;

/* What the cache did in this child, for sizing it (debug level). */
static apr_status_t say_stats(void *data)
{
    clean_child_t *cc = data;
    llm_clean_cache_stats_t st;

    if (APLOG_IS_LEVEL(cc->s, APLOG_DEBUG)) {
        llm_clean_cache_stats(cc->cache, &st);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, cc->s, LLMNO(01502)
                     "cache of strings scanned clean, at child exit: "
                     "%" APR_UINT64_T_FMT " hits, %" APR_UINT64_T_FMT
                     " misses, %" APR_UINT64_T_FMT " added, %"
                     APR_UINT64_T_FMT " evicted, %" APR_SIZE_T_FMT
                     " strings of %" APR_SIZE_T_FMT " bytes held",
                     st.hits, st.misses, st.added, st.evicted, st.entries,
                     st.bytes);
    }
    return APR_SUCCESS;
}

void llm_scan_clean_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_int64_t size = llm_scan_clean_cache_size(llm_scan_srv(s));
    llm_clean_cache_t *cache = NULL;
    clean_child_t *cc;
    apr_status_t rv;
    server_rec *vs;

    if (size <= 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMNO(01500)
                     "every string is scanned on every request "
                     "(LLMScanCleanCache Off)");
        return;
    }
    rv = llm_clean_cache_create(&cache, pchild, (apr_size_t)size,
                                CLEAN_SHARDS, LLM_CLEAN_CACHE_MIN_LEN);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, LLMNO(01501)
                     "this child scans every string on every request: its "
                     "cache of strings scanned clean (LLMScanCleanCache %"
                     APR_INT64_T_FMT ") could not be made", size);
        return;
    }
    for (vs = s; vs; vs = vs->next) {
        llm_scan_srv(vs)->clean = cache;
    }
    cc = apr_palloc(pchild, sizeof(*cc));
    cc->cache = cache;
    cc->s = s;
    /* registered after the cache's own cleanup: runs before it */
    apr_pool_cleanup_register(pchild, cc, say_stats, apr_pool_cleanup_null);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMNO(01503)
                 "strings scanned clean are kept in up to %" APR_INT64_T_FMT
                 " bytes in this child", size);
}
