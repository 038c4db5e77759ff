/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Model access per group.  Admins write one line per group:
 *
 *     LLMRouteAllowModels developers  gpt-4o* claude-sonnet-* claude-haiku-*
 *     LLMRouteAllowModels ml-research *  !*-preview
 *     LLMRouteAllowModels user:ci-bot gpt-4o-mini
 *
 * A caller may use a model when at least one line that applies to it (its
 * group, its user name, or "*") grants the model and that same line does
 * not take it back with a '!' pattern.  Lines add up: grants are never
 * taken away by another group's line, so being in one more group can only
 * give more.  Without any line every model is allowed, as before the
 * directive existed.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_fnmatch.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_access.h"

int llm_route_in_group(const apr_array_header_t *groups, const char *group)
{
    int i;

    if (!groups || !*group) {
        return 0;
    }
    for (i = 0; i < groups->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(groups, i, const char *), group)) {
            return 1;
        }
    }
    return 0;
}

const char *llm_route_cmd_allow_models(cmd_parms *cmd, void *dcv,
                                       const char *args)
{
    llm_route_dir_conf_t *dc = dcv;
    const char *who = ap_getword_conf(cmd->pool, &args);
    llm_route_access_t *rule;

    if (!*who || !*args) {
        return "LLMRouteAllowModels: usage: LLMRouteAllowModels "
               "group|user:NAME|* pattern [pattern ...] (shell wildcards; "
               "!pattern excludes)";
    }
    if (!strncmp(who, "user:", 5) && !who[5]) {
        return "LLMRouteAllowModels: 'user:' needs a user name";
    }
    rule = apr_array_push(dc->model_access);
    rule->who = who;
    rule->patterns = apr_array_make(cmd->pool, 4, sizeof(const char *));
    while (*args) {
        const char *pat = ap_getword_conf(cmd->pool, &args);
        const char *body = *pat == '!' ? pat + 1 : pat;

        if (!*body) {
            return apr_psprintf(cmd->pool, "LLMRouteAllowModels %s: empty "
                                "model pattern '%s'", who, pat);
        }
        /* apr_fnmatch reports malformed brackets only as "no match";
         * refuse them here so a typo cannot silently deny a model. */
        if (strchr(body, '[') && !strchr(strchr(body, '['), ']')) {
            return apr_psprintf(cmd->pool, "LLMRouteAllowModels %s: pattern "
                                "'%s' has an unclosed '['", who, pat);
        }
        APR_ARRAY_PUSH(rule->patterns, const char *) = pat;
    }
    return NULL;
}

/* Lines for the same "who" (llm_route_merge_lines). */
static int same_who(const void *a, const void *b)
{
    return !strcmp(((const llm_route_access_t *)a)->who,
                   ((const llm_route_access_t *)b)->who);
}

apr_array_header_t *llm_route_merge_access(apr_pool_t *p,
                                           const apr_array_header_t *base,
                                           const apr_array_header_t *add)
{
    return llm_route_merge_lines(p, base, add, same_who);
}

static int rule_applies(const llm_route_access_t *rule,
                        const llm_request_t *req)
{
    if (!strcmp(rule->who, "*")) {
        return 1;
    }
    if (!strncmp(rule->who, "user:", 5)) {
        return req->user && !strcmp(req->user, rule->who + 5);
    }
    return llm_route_in_group(req->groups, rule->who);
}

/* upstream is the model the provider will be asked for; asked, when not
 * NULL, the other name the caller used for it (an alias, or a route that
 * renames).  Grants match the upstream model, or name the asked-for name
 * literally; a '!' pattern that matches either takes the grant back. */
static int rule_grants(const llm_route_access_t *rule, const char *upstream,
                       const char *asked)
{
    int granted = 0, i;

    for (i = 0; i < rule->patterns->nelts; i++) {
        const char *pat = APR_ARRAY_IDX(rule->patterns, i, const char *);

        if (*pat == '!') {
            if (apr_fnmatch(pat + 1, upstream, 0) == APR_SUCCESS
                || (asked && apr_fnmatch(pat + 1, asked, 0) == APR_SUCCESS)) {
                return 0;
            }
        }
        else if (!granted
                 && (apr_fnmatch(pat, upstream, 0) == APR_SUCCESS
                     || (asked && !strcmp(pat, asked)))) {
            granted = 1;
        }
    }
    return granted;
}

int llm_route_model_allowed(request_rec *r, const llm_route_dir_conf_t *dc,
                            const llm_request_t *req, const char *model,
                            const char *upstream)
{
    const char *asked = NULL;
    int i;

    if (!dc->model_access || !dc->model_access->nelts) {
        return 1;
    }
    if (!model) {
        return 0;
    }
    /* Decided on the string the provider acts on. */
    if (upstream && strcmp(upstream, model)) {
        asked = model;
    }
    else {
        upstream = model;
    }
    for (i = 0; i < dc->model_access->nelts; i++) {
        const llm_route_access_t *rule =
            &APR_ARRAY_IDX(dc->model_access, i, llm_route_access_t);

        if (rule_applies(rule, req) && rule_grants(rule, upstream, asked)) {
            return 1;
        }
    }
    return 0;
}
