/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* What the files of mod_llm_route share among themselves. */

#ifndef ROUTE_INTERNAL_H
#define ROUTE_INTERNAL_H

#include "httpd.h"
#include "llm_gateway.h"
#include "route_config.h"

extern module AP_MODULE_DECLARE_DATA llm_route_module;

/* The route chosen for a request, kept in r->request_config. */
typedef struct llm_route_choice_t {
    llm_provider_t *provider;
} llm_route_choice_t;

void llm_route_load_keys(apr_pool_t *p, server_rec *s,
                         llm_route_server_conf_t *sc);

/* The provider for model (after aliases); *upstream_model gets the name the
 * provider knows it by, *label (when not NULL) the configured name the
 * route was chosen by (alias target, renamed model or the route's
 * pattern).  NULL when no route matches. */
llm_provider_t *llm_route_select(request_rec *r,
                                 const llm_route_dir_conf_t *dc,
                                 const llm_route_server_conf_t *sc,
                                 const char *model,
                                 const char **upstream_model,
                                 const char **label);

/* The provider for req->model_requested, written into req: provider,
 * provider_family, balancer, model_used (the name the provider knows it
 * by) and model_label, the only place they are set.  NULL, req untouched,
 * when no route matches. */
llm_provider_t *llm_route_assign(request_rec *r,
                                 const llm_route_dir_conf_t *dc,
                                 const llm_route_server_conf_t *sc,
                                 llm_request_t *req);

/* Read who the caller is from the verified token: req->user, req->groups
 * (LLMRouteGroupsClaim, as the token's JSON array), and check that the
 * token has an expiry and is valid now.  OK, or HTTP_UNAUTHORIZED with
 * *why saying what is wrong with the token (route_identity.c). */
int llm_route_take_identity(request_rec *r, const llm_route_dir_conf_t *dc,
                            llm_request_t *req, const char **why);

/* The provider path for the request, or NULL when a name it would be
 * built from is not fit for a URL (route_proxy.c). */
const char *llm_route_provider_path(request_rec *r, const llm_request_t *req,
                                    const llm_provider_t *pv,
                                    const char *upstream_model,
                                    const char **args);

/* Hand the request to mod_proxy: r->filename = proxy:balancer://...
 * path is llm_route_provider_path()'s; the body is framed as req->body
 * is now. */
void llm_route_to_proxy(request_rec *r, llm_request_t *req,
                        llm_provider_t *pv, const char *path,
                        const char *args);

/* route_handover.c: make mod_proxy read req->body (as it is when mod_proxy
 * reads it, so later rewrites count) from memory, so that mod_proxy_http
 * streams it instead of spooling it to a file.  OK, or
 * HTTP_INTERNAL_SERVER_ERROR when the input filters cannot be arranged
 * so.  llm_route_frame_body: Content-Length of req->body, once it is the
 * body the provider receives. */
int llm_route_replay_body(request_rec *r, llm_request_t *req);
void llm_route_frame_body(request_rec *r, const llm_request_t *req);
void llm_route_register_replay_filter(void);

/* Make req->body what the provider expects: the model renamed when the
 * route says so, the request translated when the provider speaks the
 * other dialect.  OK or an HTTP status. */
int llm_route_prepare_body(request_rec *r, llm_request_t *req,
                           const llm_provider_t *pv,
                           const char *upstream_model);

/* An OpenAI-dialect stream's upstream body asks for its usage chunk
 * (stream_options.include_usage), whatever the caller asked. */
void llm_route_ask_usage(request_rec *r, llm_request_t *req);

/* mod_proxy's optional fixups hook: only the upstream copy of the headers
 * is changed, so the caller's token never goes upstream. */
int llm_route_proxy_fixups(request_rec *r);

/* The output filter that reads usage and translates answers. */
#define LLM_RESPONSE_FILTER "LLM_RESPONSE"
void llm_route_watch_response(request_rec *r, llm_request_t *req);
void llm_route_register_response_filter(void);

/* Handlers. */
int llm_route_models_handler(request_rec *r);

/* The models a caller may use, as GET /v1/models lists them: the aliases
 * and the routes that name one model, filtered by LLMRouteAllowModels. */
typedef struct {
    const char *name;
    const char *owner;           /* provider name, or "gateway" for aliases */
} llm_usable_model_t;
apr_array_header_t *llm_route_usable_models(request_rec *r,
                                            const llm_route_dir_conf_t *dc,
                                            const llm_request_t *req);

/* The self-service page (route_selfservice.c). */
#define LLM_SELF_SERVICE_HANDLER "llm-self-service"
int llm_route_self_service_handler(request_rec *r);
int llm_route_error_handler(request_rec *r);

#define LLM_MODELS_HANDLER "llm-models"
#define LLM_ERROR_HANDLER "llm-error"

#endif /* ROUTE_INTERNAL_H */
