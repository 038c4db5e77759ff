/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Where the module that authenticated a request leaves the token it
 * verified: mod_oauth2 (AuthType oauth2, the bearer path) and
 * mod_auth_openidc (AuthType openid-connect, the browser login of the
 * self-service page; oauth20, its deprecated bearer mode) name their
 * variables differently.
 */

#ifndef ROUTE_CLAIMS_H
#define ROUTE_CLAIMS_H

#include "httpd.h"

/* The token the authenticating module verified, or NULL (logged, with
 * what to change in the configuration).  *claim_prefix is that module's
 * environment prefix for the claims of a token the gateway cannot read
 * itself (opaque, checked by introspection). */
const char *llm_route_verified_token(request_rec *r,
                                     const char **claim_prefix);

#endif /* ROUTE_CLAIMS_H */
