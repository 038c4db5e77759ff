/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* mod_llm_route configuration: providers, model routes, identity claims. */

#ifndef ROUTE_CONFIG_H
#define ROUTE_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"
#include "apr_hash.h"

#include "llm_types.h"

/* The one "not set here" value of every scalar member (pointers: NULL):
 * it survives every merge where nothing sets the directive, so that an
 * inner context inherits; the defaults below are applied where the value
 * is read, by the readers at the end of this file and nowhere else. */
#define LLM_ROUTE_UNSET (-1)

#define LLM_ROUTE_DEFAULT_GATEWAY 0          /* LLMGateway Off */
#define LLM_ROUTE_DEFAULT_PROMOTE_API_KEY 1  /* LLMRouteApiKeyHeader On */
#define LLM_ROUTE_DEFAULT_GROUPS_CLAIM "groups"
#define LLM_ROUTE_DEFAULT_TOKEN_MAX_LIFE 0   /* no limit */
#define LLM_ROUTE_DEFAULT_QUOTA_SLOTS 16384
#define LLM_ROUTE_DEFAULT_QUOTA_RESTORE 0
#define LLM_ROUTE_DEFAULT_CACHE 0            /* LLMCache Off */
#define LLM_ROUTE_DEFAULT_CACHE_TTL apr_time_from_sec(300)
#define LLM_ROUTE_DEFAULT_CACHE_SCOPE LLM_CACHE_SCOPE_USER
#define LLM_ROUTE_DEFAULT_CACHE_MAX (1024 * 1024)
#define LLM_ROUTE_VALUE(v, dflt) ((v) == LLM_ROUTE_UNSET ? (dflt) : (v))

/* LLMCacheScope: who shares cached answers (route_cache.h). */
typedef enum {
    LLM_CACHE_SCOPE_USER = 0,    /* one caller's own answers */
    LLM_CACHE_SCOPE_GROUP,       /* callers with the very same groups */
    LLM_CACHE_SCOPE_ALL          /* everyone under the location */
} llm_cache_scope_e;

typedef enum {
    LLM_PROVIDER_OPENAI = 0,     /* and every OpenAI-compatible API */
    LLM_PROVIDER_ANTHROPIC,
    LLM_PROVIDER_AZURE,
    LLM_PROVIDER_GEMINI
} llm_provider_type_e;

typedef struct llm_provider_t {
    const char *name;
    llm_provider_type_e type;
    llm_family_e family;
    const char *balancer;        /* "balancer://openai" */
    const char *prefix;          /* path prefix at the provider, "/v1" */
    const char *key_source;      /* "env:NAME" or "file:/path" */
    const char *key;             /* loaded in post_config; NULL if missing */
    const char *api_version;     /* Azure api-version */
    const char *anthropic_version; /* default anthropic-version header */
} llm_provider_t;

typedef struct llm_model_route_t {
    const char *pattern;         /* apr_fnmatch pattern */
    const char *provider_name;
    const char *upstream_model;  /* NULL: the requested name */
} llm_model_route_t;

typedef struct llm_route_server_conf_t {
    apr_array_header_t *providers;   /* of llm_provider_t */
    /* provider names used by LLMRouteModel anywhere in this server, so
     * that check_config (which runs at apachectl -t) can find typos. */
    apr_array_header_t *provider_refs;   /* of const char * */
    int quota_slots;             /* LLMRouteQuotaSlots (main server only) */
    int quota_used;              /* an LLMRouteQuota line in this server */
    int quota_restore;           /* LLMRouteQuotaRestore (main server only) */
    /* LLMRouteQuotaStore, LLMRouteQuotaStoreFailure (main server only;
     * route_quota_store.h); NULL: the node's shared memory */
    struct llm_quota_store_conf_t *quota_store;
    /* day and month counters LLMRouteQuota lines use, for the rebuild:
     * per user (LLM_QUOTA_BUDGET_BIT mask) and per group (name -> int *) */
    int quota_budget_user;
    apr_hash_t *quota_budget_groups;
    /* LLMCacheStore (main server only; route_cache.h), and whether some
     * location of this server has LLMCache On */
    struct llm_cache_store_t *cache_store;
    int cache_used;
} llm_route_server_conf_t;

typedef struct llm_route_dir_conf_t {
    int gateway;                 /* LLMGateway */
    const char *base;            /* path of the <Location> with LLMGateway On */
    apr_array_header_t *routes;  /* of llm_model_route_t, first match wins */
    apr_table_t *aliases;        /* alias -> model */
    int promote_api_key;         /* LLMRouteApiKeyHeader On|Off */
    const char *user_claim;      /* LLMRouteUserClaim; NULL: r->user */
    const char *groups_claim;    /* LLMRouteGroupsClaim */
    /* LLMRouteTokenMaxLifetime in seconds: a token valid for longer than
     * this from now is refused; 0 off. */
    apr_int64_t token_max_life;
    /* LLMRouteAllowModels, of llm_route_access_t (route_access.h) */
    apr_array_header_t *model_access;
    /* LLMRouteQuota, of llm_quota_rule_t (route_quota.h) */
    apr_array_header_t *quotas;
    /* LLMCache, LLMCacheTTL, LLMCacheScope, LLMCacheMaxAnswer
     * (route_cache.h); LLM_ROUTE_UNSET: inherit */
    int cache;
    apr_interval_time_t cache_ttl;
    int cache_scope;
    apr_int64_t cache_max;
} llm_route_dir_conf_t;

extern const command_rec llm_route_cmds[];

/* A server's and a request's configuration of this module. */
llm_route_server_conf_t *llm_route_srv(server_rec *s);
llm_route_dir_conf_t *llm_route_dir(request_rec *r);

void *llm_route_create_server_conf(apr_pool_t *p, server_rec *s);
void *llm_route_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
void *llm_route_create_dir_conf(apr_pool_t *p, char *dir);
void *llm_route_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);

/* The merge of a directive of lines (LLMRouteAllowModels, LLMRouteQuota):
 * the inner context's lines, then each inherited line that no inner line
 * replaces; same(a, b) says whether two lines are for the same thing. */
typedef int llm_route_same_line_fn(const void *a, const void *b);
apr_array_header_t *llm_route_merge_lines(apr_pool_t *p,
                                          const apr_array_header_t *base,
                                          const apr_array_header_t *add,
                                          llm_route_same_line_fn *same);

/* Find a provider by name in a server's table. */
llm_provider_t *llm_route_find_provider(const llm_route_server_conf_t *sc,
                                        const char *name);

/* The values in force. */
static APR_INLINE int llm_route_gateway_on(const llm_route_dir_conf_t *dc)
{
    return LLM_ROUTE_VALUE(dc->gateway, LLM_ROUTE_DEFAULT_GATEWAY) == 1;
}

static APR_INLINE int llm_route_promote_api_key(const llm_route_dir_conf_t *dc)
{
    return LLM_ROUTE_VALUE(dc->promote_api_key,
                           LLM_ROUTE_DEFAULT_PROMOTE_API_KEY) != 0;
}

static APR_INLINE const char *
llm_route_groups_claim(const llm_route_dir_conf_t *dc)
{
    return dc->groups_claim ? dc->groups_claim
                            : LLM_ROUTE_DEFAULT_GROUPS_CLAIM;
}

static APR_INLINE apr_int64_t
llm_route_token_max_life(const llm_route_dir_conf_t *dc)
{
    return LLM_ROUTE_VALUE(dc->token_max_life,
                           LLM_ROUTE_DEFAULT_TOKEN_MAX_LIFE);
}

static APR_INLINE int llm_route_quota_slots(const llm_route_server_conf_t *sc)
{
    return LLM_ROUTE_VALUE(sc->quota_slots, LLM_ROUTE_DEFAULT_QUOTA_SLOTS);
}

static APR_INLINE int llm_route_quota_restore(const llm_route_server_conf_t *sc)
{
    return LLM_ROUTE_VALUE(sc->quota_restore,
                           LLM_ROUTE_DEFAULT_QUOTA_RESTORE) == 1;
}

static APR_INLINE int llm_route_cache_on(const llm_route_dir_conf_t *dc)
{
    return LLM_ROUTE_VALUE(dc->cache, LLM_ROUTE_DEFAULT_CACHE) == 1;
}

static APR_INLINE apr_interval_time_t
llm_route_cache_ttl(const llm_route_dir_conf_t *dc)
{
    return dc->cache_ttl == LLM_ROUTE_UNSET ? LLM_ROUTE_DEFAULT_CACHE_TTL
                                            : dc->cache_ttl;
}

static APR_INLINE llm_cache_scope_e
llm_route_cache_scope(const llm_route_dir_conf_t *dc)
{
    return (llm_cache_scope_e)LLM_ROUTE_VALUE(dc->cache_scope,
                                              LLM_ROUTE_DEFAULT_CACHE_SCOPE);
}

static APR_INLINE apr_size_t llm_route_cache_max(const llm_route_dir_conf_t *dc)
{
    return dc->cache_max == LLM_ROUTE_UNSET
        ? (apr_size_t)LLM_ROUTE_DEFAULT_CACHE_MAX : (apr_size_t)dc->cache_max;
}

#endif /* ROUTE_CONFIG_H */
