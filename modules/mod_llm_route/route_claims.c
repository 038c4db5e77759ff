/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The verified token of an authenticated request, from the module the
 * AuthType in effect names.  The gateway reads the caller's user, groups
 * and expiry from that token's own JSON (route_identity.c), so it must be
 * the token the module verified -- not any token the request carries: a
 * module told to take its token from elsewhere (mod_oauth2's
 * OAuth2AcceptTokenIn, a cookie, a query) would leave an Authorization
 * header the caller wrote unchecked.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "route_internal.h"
#include "route_claims.h"

APLOG_USE_MODULE(llm_route);

typedef struct {
    const char *auth_type;
    int oauth2;                 /* mod_oauth2, else mod_auth_openidc */
    const char *token_var;      /* environment variable with the token */
    const char *claim_prefix;
    /* The module only takes the token from "Authorization: Bearer" (as
     * the sample sets it), so that header is the verified token when the
     * variable is not passed. */
    int bearer_is_verified;
} source_t;

static const source_t sources[] = {
    /* mod_oauth2, OAuth2TargetPass with its defaults (envvars on, prefix
     * OAUTH2_CLAIM_): every claim and the token as access_token. */
    { "oauth2", 1, "OAUTH2_CLAIM_access_token", "OAUTH2_CLAIM_", 0 },
    /* mod_auth_openidc's browser login: the session's access token. */
    { "openid-connect", 0, "OIDC_access_token", "OIDC_CLAIM_", 0 },
    { "auth-openidc", 0, "OIDC_access_token", "OIDC_CLAIM_", 0 },
    /* mod_auth_openidc's OAuth 2.0 resource server (deprecated), with
     * OIDCOAuthAcceptTokenAs header. */
    { "oauth20", 0, "OIDC_access_token", "OIDC_CLAIM_", 1 },
};

static const char *bearer(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Authorization");

    if (h && !strncasecmp(h, "Bearer ", 7)) {
        for (h += 7; *h == ' '; h++)
            ;
        return *h ? h : NULL;
    }
    return NULL;
}

const char *llm_route_verified_token(request_rec *r,
                                     const char **claim_prefix)
{
    const char *type = ap_auth_type(r);
    const char *t;
    size_t i;

    *claim_prefix = NULL;
    for (i = 0; type && i < sizeof(sources) / sizeof(sources[0]); i++) {
        const source_t *s = &sources[i];

        if (strcasecmp(type, s->auth_type)) {
            continue;
        }
        *claim_prefix = s->claim_prefix;
        t = apr_table_get(r->subprocess_env, s->token_var);
        if (t && *t) {
            return t;
        }
        if (s->bearer_is_verified && (t = bearer(r))) {
            return t;
        }
        if (s->oauth2) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02650)
                          "authenticated by mod_oauth2 without %s: the "
                          "gateway reads the caller's groups and expiry "
                          "from the token mod_oauth2 verified; keep "
                          "OAuth2TargetPass with envvars on and the default "
                          "prefix", s->token_var);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02200)
                          "authenticated by mod_auth_openidc without the "
                          "token in %s%s: the gateway reads groups and "
                          "expiry from it (OIDCPassClaimsAs environment)",
                          s->token_var,
                          s->bearer_is_verified ? " or Authorization" : "");
        }
        return NULL;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02651)
                  "authenticated with AuthType %s: the gateway reads the "
                  "caller's groups and expiry from the token mod_oauth2 "
                  "(AuthType oauth2) or mod_auth_openidc (openid-connect, "
                  "oauth20) verified, and knows no other module's",
                  type ? type : "(none)");
    return NULL;
}
