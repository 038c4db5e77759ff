/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 *
 * The answer cache's directives:
 *
 *     LLMCacheStore  shmcb:/run/llm-cache(67108864) | redis:host:port[,..]
 *                    | memcache:host:port[,..]            (server-wide)
 *     <Location /v1>
 *         LLMCache       On
 *         LLMCacheTTL    10m
 *         LLMCacheScope  user | group | all
 *         LLMCacheMaxAnswer 1M
 *     </Location>
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include "llm_size.h"
#include "route_internal.h"
#include "route_cache.h"

const char *llm_route_cmd_cache(cmd_parms *cmd, void *dcv, int on)
{
    llm_route_dir_conf_t *dc = dcv;
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);

    dc->cache = on;
    /* The store is set up only when some location uses it. */
    sc->cache_used |= on;
    return NULL;
}

const char *llm_route_cmd_cache_ttl(cmd_parms *cmd, void *dcv,
                                    const char *arg)
{
    llm_route_dir_conf_t *dc = dcv;
    apr_int64_t sec;
    const char *err = llm_duration_parse(cmd->pool, arg, 30 * 86400, &sec);

    if (err) {
        return apr_pstrcat(cmd->pool, "LLMCacheTTL: ", err, NULL);
    }
    dc->cache_ttl = apr_time_from_sec(sec);
    return NULL;
}

const char *llm_route_cmd_cache_scope(cmd_parms *cmd, void *dcv,
                                      const char *arg)
{
    llm_route_dir_conf_t *dc = dcv;

    if (!strcasecmp(arg, "user")) {
        dc->cache_scope = LLM_CACHE_SCOPE_USER;
    }
    else if (!strcasecmp(arg, "group")) {
        dc->cache_scope = LLM_CACHE_SCOPE_GROUP;
    }
    else if (!strcasecmp(arg, "all")) {
        dc->cache_scope = LLM_CACHE_SCOPE_ALL;
    }
    else {
        return apr_psprintf(cmd->pool, "LLMCacheScope: '%s' is not user, "
                            "group or all", arg);
    }
    return NULL;
}

const char *llm_route_cmd_cache_max(cmd_parms *cmd, void *dcv,
                                    const char *arg)
{
    llm_route_dir_conf_t *dc = dcv;
    const char *err;
    apr_int64_t v;

    if ((err = llm_size_parse(cmd->pool, arg, LLM_SIZE_BYTES, 1024,
                              64 * 1024 * 1024, &v)) != NULL) {
        return apr_psprintf(cmd->pool, "LLMCacheMaxAnswer: %s (from 1K to "
                            "64M)", err);
    }
    dc->cache_max = v;
    return NULL;
}

const char *llm_route_cmd_cache_store(cmd_parms *cmd, void *dcv,
                                      const char *arg)
{
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);
    llm_cache_store_t *st = sc->cache_store;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *colon;

    if (err) {
        return err;
    }
    colon = strchr(arg, ':');
    st->spec = arg;
    st->provider_name = colon ? apr_pstrmemdup(cmd->pool, arg, colon - arg)
                              : arg;
    st->provider_arg = colon && colon[1] ? colon + 1 : NULL;
    if (!*st->provider_name) {
        return "LLMCacheStore: name an httpd socache provider (shmcb, redis, "
               "memcache, dbm), e.g. shmcb:/run/llm-cache(67108864)";
    }
    /* The provider itself is looked up and given its argument at
     * post_config, when every LoadModule has been read; apachectl -t
     * reports a wrong one there. */
    return NULL;
}
