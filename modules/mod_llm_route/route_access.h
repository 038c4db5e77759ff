/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Which models a caller may use (LLMRouteAllowModels), decided from the
 * groups in the caller's token before anything is routed, and applied to
 * the model list as well.
 */

#ifndef ROUTE_ACCESS_H
#define ROUTE_ACCESS_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "llm_gateway.h"
#include "route_config.h"

/* One LLMRouteAllowModels line: who ("*", a group, or "user:NAME") and
 * the fnmatch patterns it grants; a pattern starting with '!' takes a
 * model back out of this line's grant. */
typedef struct llm_route_access_t {
    const char *who;
    apr_array_header_t *patterns;   /* of const char * */
} llm_route_access_t;

/* LLMRouteAllowModels who pattern [pattern ...] */
const char *llm_route_cmd_allow_models(cmd_parms *cmd, void *dcv,
                                       const char *args);

/* The lines of add for a given "who" replace the inherited lines for that
 * "who"; the others are inherited. */
apr_array_header_t *llm_route_merge_access(apr_pool_t *p,
                                           const apr_array_header_t *base,
                                           const apr_array_header_t *add);

/* Non-zero when the caller (req->user, req->groups) may use model, which
 * the routes send to the provider as upstream (after aliases and renames;
 * NULL when no route takes it).  Decided on upstream, the string the
 * provider acts on: a line grants it when a pattern matches upstream, or
 * names model literally (an alias granted by name), and no '!' pattern of
 * the line matches either.  With no LLMRouteAllowModels in effect every
 * model is allowed. */
int llm_route_model_allowed(request_rec *r, const llm_route_dir_conf_t *dc,
                            const llm_request_t *req, const char *model,
                            const char *upstream);

/* Non-zero when group is one of the caller's groups (exact match). */
int llm_route_in_group(const apr_array_header_t *groups, const char *group);

#endif /* ROUTE_ACCESS_H */
