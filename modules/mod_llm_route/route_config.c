/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Directives of mod_llm_route, each checked when parsed. */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_fnmatch.h"

#include "llm_gateway.h"
#include "llm_size.h"
#include "route_config.h"
#include "route_access.h"
#include "route_quota.h"
#include "route_quota_store.h"
#include "route_cache.h"

extern module AP_MODULE_DECLARE_DATA llm_route_module;

llm_route_server_conf_t *llm_route_srv(server_rec *s)
{
    return ap_get_module_config(s->module_config, &llm_route_module);
}

llm_route_dir_conf_t *llm_route_dir(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &llm_route_module);
}

void *llm_route_create_server_conf(apr_pool_t *p, server_rec *s)
{
    llm_route_server_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->providers = apr_array_make(p, 4, sizeof(llm_provider_t));
    sc->provider_refs = apr_array_make(p, 4, sizeof(const char *));
    sc->quota_slots = LLM_ROUTE_UNSET;
    sc->quota_used = 0;          /* no LLMRouteQuota line yet */
    sc->quota_restore = LLM_ROUTE_UNSET;
    sc->quota_store = NULL;      /* the node's shared memory */
    sc->quota_budget_user = 0;   /* no day or month line yet */
    sc->quota_budget_groups = apr_hash_make(p);
    sc->cache_store = apr_pcalloc(p, sizeof(*sc->cache_store));
    sc->cache_used = 0;
    return sc;
}

void *llm_route_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    llm_route_server_conf_t *base = basev, *add = addv;
    llm_route_server_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    /* A vhost's own provider of the same name is found first. */
    sc->providers = apr_array_append(p, add->providers, base->providers);
    sc->provider_refs = apr_array_append(p, base->provider_refs,
                                         add->provider_refs);
    /* One counter table per node: its size is the main server's. */
    sc->quota_slots = base->quota_slots;
    sc->quota_used = base->quota_used || add->quota_used;
    sc->quota_restore = base->quota_restore;
    sc->quota_store = base->quota_store;
    /* Budget kinds are gathered from every server at the rebuild; each
     * keeps its own. */
    sc->quota_budget_user = add->quota_budget_user;
    sc->quota_budget_groups = add->quota_budget_groups;
    /* One answer cache per node: the main server's. */
    sc->cache_store = base->cache_store;
    sc->cache_used = base->cache_used || add->cache_used;
    return sc;
}

void *llm_route_create_dir_conf(apr_pool_t *p, char *dir)
{
    llm_route_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->gateway = LLM_ROUTE_UNSET;
    dc->base = dir;
    dc->routes = apr_array_make(p, 4, sizeof(llm_model_route_t));
    dc->aliases = apr_table_make(p, 4);
    dc->promote_api_key = LLM_ROUTE_UNSET;
    dc->user_claim = NULL;
    dc->groups_claim = NULL;
    dc->token_max_life = LLM_ROUTE_UNSET;
    dc->model_access = apr_array_make(p, 2, sizeof(llm_route_access_t));
    dc->quotas = apr_array_make(p, 2, sizeof(llm_quota_rule_t));
    dc->cache = LLM_ROUTE_UNSET;
    dc->cache_ttl = LLM_ROUTE_UNSET;
    dc->cache_scope = LLM_ROUTE_UNSET;
    dc->cache_max = LLM_ROUTE_UNSET;
    return dc;
}

void *llm_route_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    llm_route_dir_conf_t *base = basev, *add = addv;
    llm_route_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->gateway = add->gateway != LLM_ROUTE_UNSET ? add->gateway : base->gateway;
    /* The API root is where LLMGateway was switched on. */
    dc->base = add->gateway != LLM_ROUTE_UNSET ? add->base : base->base;
    /* A location's own routes are tried before the inherited ones. */
    dc->routes = apr_array_append(p, add->routes, base->routes);
    dc->aliases = apr_table_overlay(p, base->aliases, add->aliases);
    dc->promote_api_key = add->promote_api_key != LLM_ROUTE_UNSET
                              ? add->promote_api_key : base->promote_api_key;
    dc->user_claim = add->user_claim ? add->user_claim : base->user_claim;
    dc->groups_claim = add->groups_claim ? add->groups_claim
                                         : base->groups_claim;
    dc->token_max_life = add->token_max_life != LLM_ROUTE_UNSET
                             ? add->token_max_life : base->token_max_life;
    dc->model_access = llm_route_merge_access(p, base->model_access,
                                              add->model_access);
    dc->quotas = llm_route_merge_quotas(p, base->quotas, add->quotas);
    dc->cache = add->cache != LLM_ROUTE_UNSET ? add->cache : base->cache;
    dc->cache_ttl = add->cache_ttl != LLM_ROUTE_UNSET ? add->cache_ttl
                                                      : base->cache_ttl;
    dc->cache_scope = add->cache_scope != LLM_ROUTE_UNSET ? add->cache_scope
                                                          : base->cache_scope;
    dc->cache_max = add->cache_max != LLM_ROUTE_UNSET ? add->cache_max
                                                      : base->cache_max;
    return dc;
}

apr_array_header_t *llm_route_merge_lines(apr_pool_t *p,
                                          const apr_array_header_t *base,
                                          const apr_array_header_t *add,
                                          llm_route_same_line_fn *same)
{
    apr_array_header_t *out;
    int i, j;

    if (!add->nelts) {
        return (apr_array_header_t *)base;
    }
    out = apr_array_copy(p, add);
    for (i = 0; i < base->nelts; i++) {
        const char *b = base->elts + (apr_size_t)i * base->elt_size;
        int replaced = 0;

        for (j = 0; j < add->nelts && !replaced; j++) {
            replaced = same(add->elts + (apr_size_t)j * add->elt_size, b);
        }
        if (!replaced) {
            memcpy(apr_array_push(out), b, base->elt_size);
        }
    }
    return out;
}

llm_provider_t *llm_route_find_provider(const llm_route_server_conf_t *sc,
                                        const char *name)
{
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        llm_provider_t *pv = &APR_ARRAY_IDX(sc->providers, i, llm_provider_t);

        if (!strcmp(pv->name, name)) {
            return pv;
        }
    }
    return NULL;
}

static const char *set_gateway(cmd_parms *cmd, void *dcv, int on)
{
    llm_route_dir_conf_t *dc = dcv;

    if (on && !cmd->path) {
        return "LLMGateway On belongs in a <Location> block: its path is the "
               "API root (e.g. <Location /v1>)";
    }
    dc->gateway = on;
    dc->base = cmd->path;
    return NULL;
}

/* The provider types, the one place they are written: what each defaults
 * to.  Usage and error messages list them from here. */
static const struct {
    const char *name;
    llm_provider_type_e type;
    llm_family_e family;
    const char *prefix;
    const char *api_version;
    const char *anthropic_version;
} provider_types[] = {
    { "openai", LLM_PROVIDER_OPENAI, LLM_FAMILY_OPENAI, "/v1", NULL, NULL },
    { "anthropic", LLM_PROVIDER_ANTHROPIC, LLM_FAMILY_ANTHROPIC, "/v1", NULL,
      "2023-06-01" },
    { "azure", LLM_PROVIDER_AZURE, LLM_FAMILY_OPENAI, "/openai",
      "2024-10-21", NULL },
    { "gemini", LLM_PROVIDER_GEMINI, LLM_FAMILY_OPENAI, "/v1beta/openai",
      NULL, NULL },
    { NULL }
};

static const char *provider_type_names(apr_pool_t *p, const char *sep)
{
    const char *s = provider_types[0].name;
    int i;

    for (i = 1; provider_types[i].name; i++) {
        s = apr_pstrcat(p, s, sep, provider_types[i].name, NULL);
    }
    return s;
}

static const char *add_provider(cmd_parms *cmd, void *dcv, const char *args)
{
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);
    const char *name = ap_getword_conf(cmd->pool, &args);
    const char *type = ap_getword_conf(cmd->pool, &args);
    const char *balancer = ap_getword_conf(cmd->pool, &args);
    llm_provider_t pv;
    int i;

    memset(&pv, 0, sizeof(pv));
    if (!*name || !*type || !*balancer) {
        return apr_pstrcat(cmd->pool, "LLMRouteProvider: usage: "
                           "LLMRouteProvider name ",
                           provider_type_names(cmd->pool, "|"),
                           " balancer://name [key=env:VAR|key=file:/path] "
                           "[prefix=/v1] [api-version=...] "
                           "[anthropic-version=...]", NULL);
    }
    if (llm_route_find_provider(sc, name)) {
        return apr_psprintf(cmd->pool, "LLMRouteProvider: provider '%s' is "
                            "defined twice", name);
    }
    pv.name = name;
    for (i = 0; provider_types[i].name; i++) {
        if (!strcasecmp(type, provider_types[i].name)) {
            break;
        }
    }
    if (!provider_types[i].name) {
        return apr_psprintf(cmd->pool, "LLMRouteProvider %s: type '%s' is not "
                            "one of %s (any OpenAI-compatible API is "
                            "'openai')", name, type,
                            provider_type_names(cmd->pool, ", "));
    }
    pv.type = provider_types[i].type;
    pv.family = provider_types[i].family;
    pv.prefix = provider_types[i].prefix;
    pv.api_version = provider_types[i].api_version;
    pv.anthropic_version = provider_types[i].anthropic_version;
    if (strncasecmp(balancer, "balancer://", 11) || !balancer[11]) {
        return apr_psprintf(cmd->pool, "LLMRouteProvider %s: '%s' is not a "
                            "balancer URL (balancer://name, defined with "
                            "<Proxy balancer://name>)", name, balancer);
    }
    pv.balancer = balancer;
    while (*args) {
        const char *opt = ap_getword_conf(cmd->pool, &args);
        const char *eq = strchr(opt, '=');
        const char *val = eq ? eq + 1 : NULL;

        if (!eq || !*val) {
            return apr_psprintf(cmd->pool, "LLMRouteProvider %s: option '%s' "
                                "is not name=value", name, opt);
        }
        if (!strncmp(opt, "key=", 4)) {
            if (strncmp(val, "env:", 4) && strncmp(val, "file:", 5)) {
                return apr_psprintf(cmd->pool, "LLMRouteProvider %s: key "
                                    "must be env:VARIABLE or file:/path -- "
                                    "keys are never written in the config",
                                    name);
            }
            pv.key_source = val;
        }
        else if (!strncmp(opt, "prefix=", 7)) {
            if (*val != '/') {
                return apr_psprintf(cmd->pool, "LLMRouteProvider %s: prefix "
                                    "'%s' must start with /", name, val);
            }
            pv.prefix = strcmp(val, "/") ? val : "";
        }
        else if (!strncmp(opt, "api-version=", 12)) {
            pv.api_version = val;
        }
        else if (!strncmp(opt, "anthropic-version=", 18)) {
            pv.anthropic_version = val;
        }
        else {
            return apr_psprintf(cmd->pool, "LLMRouteProvider %s: unknown "
                                "option '%s' (key=, prefix=, api-version=, "
                                "anthropic-version=)", name, opt);
        }
    }
    *(llm_provider_t *)apr_array_push(sc->providers) = pv;
    return NULL;
}

static const char *add_model(cmd_parms *cmd, void *dcv, const char *pattern,
                             const char *provider, const char *upstream)
{
    llm_route_dir_conf_t *dc = dcv;
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);
    llm_model_route_t *mr;

    if (!*pattern || !*provider) {
        return "LLMRouteModel: usage: LLMRouteModel pattern provider "
               "[upstream-model]";
    }
    mr = apr_array_push(dc->routes);
    mr->pattern = pattern;
    mr->provider_name = provider;
    mr->upstream_model = upstream;
    APR_ARRAY_PUSH(sc->provider_refs, const char *) = provider;
    return NULL;
}

static const char *add_alias(cmd_parms *cmd, void *dcv, const char *alias,
                             const char *model)
{
    llm_route_dir_conf_t *dc = dcv;

    if (apr_fnmatch_test(alias)) {
        return apr_psprintf(cmd->pool, "LLMRouteAlias: alias '%s' must be a "
                            "plain name, not a pattern", alias);
    }
    apr_table_set(dc->aliases, alias, model);
    return NULL;
}

static const char *set_claim(cmd_parms *cmd, void *dcv, const char *claim)
{
    llm_route_dir_conf_t *dc = dcv;
    const char *c;

    for (c = claim; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-' && *c != '.') {
            return apr_psprintf(cmd->pool, "%s: '%s' is not a claim name",
                                cmd->cmd->name, claim);
        }
    }
    if (!strcmp(cmd->cmd->name, "LLMRouteUserClaim")) {
        dc->user_claim = claim;
    }
    else {
        dc->groups_claim = claim;
    }
    return NULL;
}

/* mod_oauth2 bounds no access token's lifetime; this does. */
static const char *set_token_max_life(cmd_parms *cmd, void *dcv,
                                      const char *arg)
{
    llm_route_dir_conf_t *dc = dcv;
    apr_int64_t sec;
    const char *err;

    if (!strcasecmp(arg, "off")) {
        dc->token_max_life = 0;
        return NULL;
    }
    if ((err = llm_duration_parse(cmd->pool, arg, 3650 * 86400, &sec))) {
        return apr_pstrcat(cmd->pool, "LLMRouteTokenMaxLifetime: ", err,
                           ", or Off", NULL);
    }
    dc->token_max_life = sec;
    return NULL;
}

const command_rec llm_route_cmds[] = {
    AP_INIT_FLAG("LLMGateway", set_gateway, NULL, ACCESS_CONF,
                 "On|Off: this <Location> is the gateway's API root"),
    AP_INIT_RAW_ARGS("LLMRouteProvider", add_provider, NULL, RSRC_CONF,
                     "name type balancer://name [key=env:VAR|key=file:/path] "
                     "[prefix=/v1] [api-version=..] [anthropic-version=..]"),
    AP_INIT_TAKE23("LLMRouteModel", add_model, NULL, RSRC_CONF | ACCESS_CONF,
                   "pattern provider [upstream-model]: first match wins"),
    AP_INIT_TAKE2("LLMRouteAlias", add_alias, NULL, RSRC_CONF | ACCESS_CONF,
                  "alias model: a name developers use for a model"),
    AP_INIT_FLAG("LLMRouteApiKeyHeader", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(llm_route_dir_conf_t, promote_api_key),
                 RSRC_CONF | ACCESS_CONF,
                 "On|Off: accept the gateway token in x-api-key as well as "
                 "in Authorization (default On)"),
    AP_INIT_TAKE1("LLMRouteUserClaim", set_claim, NULL, RSRC_CONF | ACCESS_CONF,
                  "claim naming the user in the audit (default: the "
                  "authenticated user: mod_oauth2's remote_user_claim)"),
    AP_INIT_TAKE1("LLMRouteGroupsClaim", set_claim, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "claim holding the caller's groups (default groups)"),
    AP_INIT_TAKE1("LLMRouteTokenMaxLifetime", set_token_max_life, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "refuse tokens still valid for longer than this (e.g. 12h; "
                  "default Off): tokens without exp are always refused"),
    AP_INIT_RAW_ARGS("LLMRouteAllowModels", llm_route_cmd_allow_models, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "group|user:NAME|* pattern [pattern ...]: models these "
                     "callers may use (!pattern excludes)"),
    AP_INIT_TAKE3("LLMRouteQuota", llm_route_cmd_quota, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "user|user:NAME|group:NAME requests|tokens/minute|hour|day|"
                  "month LIMIT|unlimited"),
    AP_INIT_TAKE1("LLMRouteQuotaSlots", llm_route_cmd_quota_slots, NULL,
                  RSRC_CONF,
                  "counters the node's shared quota table holds (default "
                  "16384)"),
    AP_INIT_FLAG("LLMRouteQuotaRestore", llm_route_cmd_quota_restore, NULL,
                 RSRC_CONF,
                 "On|Off: after a fresh start, rebuild day and month quota "
                 "counters from the audit table (default Off)"),
    AP_INIT_RAW_ARGS("LLMRouteQuotaStore", llm_route_cmd_quota_store, NULL,
                     RSRC_CONF,
                     "shm | redis://[user:password-file@]host:port/db "
                     "[redis://... tried in order] [timeout=50ms]: where "
                     "quota counters live (default shm: this node only)"),
    AP_INIT_TAKE1("LLMRouteQuotaStoreFailure",
                  llm_route_cmd_quota_store_failure, NULL, RSRC_CONF,
                  "open|closed: when Redis does not answer, count on this "
                  "node's shared memory (open, default) or refuse with 503 "
                  "(closed)"),
    AP_INIT_FLAG("LLMCache", llm_route_cmd_cache, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On|Off: answer a request from the answer cache when the "
                 "same request was answered before (default Off)"),
    AP_INIT_TAKE1("LLMCacheTTL", llm_route_cmd_cache_ttl, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "how long a cached answer is served (e.g. 10m; default "
                  "5m, at most 30d)"),
    AP_INIT_TAKE1("LLMCacheScope", llm_route_cmd_cache_scope, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "user|group|all: who shares cached answers (default "
                  "user: each caller its own)"),
    AP_INIT_TAKE1("LLMCacheMaxAnswer", llm_route_cmd_cache_max, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "larger answers are not cached (default 1M)"),
    AP_INIT_TAKE1("LLMCacheStore", llm_route_cmd_cache_store, NULL,
                  RSRC_CONF,
                  "provider[:argument]: the httpd socache provider holding "
                  "cached answers (default shmcb in the runtime directory, "
                  "64 MB; redis:host:port or memcache:host:port to share "
                  "them between nodes)"),
    { NULL }
};
