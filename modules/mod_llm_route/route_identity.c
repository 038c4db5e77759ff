/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Who the caller is, read from the token the authenticating module
 * verified (mod_oauth2 for API calls, mod_auth_openidc for the
 * self-service page's login; route_claims.c finds it).
 *
 * Both modules hand claims on as environment variables, with arrays joined
 * by ',' (mod_auth_openidc) or as JSON text (mod_oauth2), under prefixes
 * of their own; a group named "nobody,llm-all-models" would read as two
 * groups in the first.  The user, the groups and the expiry are therefore
 * taken from the token's own JSON: the payload of the JWT that was
 * verified, one string per group -- the same whichever module verified
 * it.  The same JSON gives "exp" and "nbf", which neither module requires
 * as the gateway does: a token without an expiry would be valid for ever.
 */

#include <string.h>
#include <stdlib.h>
#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_base64.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_claims.h"
#include "dialect/llm_dialect.h"
#include "dialect/json_fast.h"

APLOG_USE_MODULE(llm_route);

/* Clock skew allowed for "nbf". */
#define NBF_SKEW 60

/* The decoded payload of a compact JWS (header.payload.signature); NULL
 * for anything else (an opaque token checked by introspection, a JWE). */
static const char *jws_payload(request_rec *r, const char *token,
                               apr_size_t *len)
{
    const char *p1 = strchr(token, '.');
    const char *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    apr_size_t n, i;
    char *b64, *raw;
    int got;

    if (!p2 || strchr(p2 + 1, '.') || p2 == p1 + 1) {
        return NULL;
    }
    n = (apr_size_t)(p2 - p1 - 1);
    b64 = apr_palloc(r->pool, n + 3);
    for (i = 0; i < n; i++) {
        char c = p1[1 + i];

        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (i % 4) {
        b64[i++] = '=';
    }
    b64[i] = '\0';
    raw = apr_palloc(r->pool, apr_base64_decode_len(b64) + 1);
    got = apr_base64_decode(raw, b64);
    if (got <= 0) {
        return NULL;
    }
    *len = (apr_size_t)got;
    return raw;
}

/* The groups claim as a list of strings: an array's string members, or a
 * single string.  Other members are no group names and are left out.
 * Only this member is parsed: a whole claims tree costs more than every
 * other check of this file together. */
static void take_groups(request_rec *r, llm_request_t *req,
                        const char *value, apr_size_t vlen)
{
    char *wrapped = apr_palloc(r->pool, vlen + 3);
    json_t *outer, *v, *list, *g;
    size_t i;
    char *dump;

    wrapped[0] = '[';
    memcpy(wrapped + 1, value, vlen);
    wrapped[vlen + 1] = ']';
    wrapped[vlen + 2] = '\0';
    outer = llm_json_parse(r->pool, wrapped, vlen + 2, NULL);
    v = json_array_get(outer, 0);
    if (!v || !(json_is_array(v) || json_is_string(v))) {
        return;
    }
    list = json_array();
    if (json_is_string(v)) {
        json_array_append(list, v);
    }
    else {
        json_array_foreach(v, i, g) {
            if (json_is_string(g)) {
                json_array_append(list, g);
            }
        }
    }
    req->groups = apr_array_make(r->pool, (int)json_array_size(list) + 1,
                                 sizeof(const char *));
    json_array_foreach(list, i, g) {
        const char *name = json_string_value(g);

        /* "admins\u0000x" would compare as "admins".  mod_auth_openidc
         * 2.4 refuses such a token; should another verifier take it, the
         * name is in the audit row but grants nothing. */
        if (strlen(name) == json_string_length(g)) {
            APR_ARRAY_PUSH(req->groups, const char *) =
                apr_pstrdup(r->pool, name);
        }
    }
    dump = json_dumps(list, JSON_COMPACT);
    req->groups_json = dump ? apr_pstrdup(r->pool, dump) : NULL;
    free(dump);
    json_decref(list);
}

/* A top-level member that is a JSON number (NumericDate). */
static int number_claim(request_rec *r, const char *payload, apr_size_t len,
                        const char *name, apr_int64_t *out)
{
    const char *v;
    size_t vlen;
    char *copy, *end;
    double d;

    if (llm_json_top_member(payload, len, name, &v, &vlen) != 1
        || !vlen || !(*v == '-' || (*v >= '0' && *v <= '9'))) {
        return 0;
    }
    copy = apr_pstrmemdup(r->pool, v, vlen);
    d = strtod(copy, &end);
    if (*end || d != d) {
        return 0;
    }
    /* Far beyond any date, and within what the conversion can hold. */
    *out = d > 9e15 ? (apr_int64_t)9e15 : d < -9e15 ? (apr_int64_t)-9e15
                                                     : (apr_int64_t)d;
    return 1;
}

/* An opaque token's claim as introspection reported it, in the
 * authenticating module's environment variables. */
static const char *env_claim(request_rec *r, const char *prefix,
                             const char *name)
{
    return prefix ? apr_table_get(r->subprocess_env,
                                  apr_pstrcat(r->pool, prefix, name, NULL))
                  : NULL;
}

static int env_number(request_rec *r, const char *prefix, const char *name,
                      apr_int64_t *out)
{
    const char *v = env_claim(r, prefix, name);
    char *end;

    if (!v || !*v) {
        return 0;
    }
    *out = apr_strtoi64(v, &end, 10);
    return *end == '\0';
}

/* A top-level member that is a JSON string without NUL (a name cut at a
 * NUL would compare as another). */
static const char *string_claim(request_rec *r, const char *payload,
                                apr_size_t len, const char *name)
{
    const char *v;
    size_t vlen;
    json_t *parsed, *s;
    const char *out = NULL;
    char *wrapped;

    if (llm_json_top_member(payload, len, name, &v, &vlen) != 1
        || !vlen || *v != '"') {
        return NULL;
    }
    wrapped = apr_palloc(r->pool, vlen + 3);
    wrapped[0] = '[';
    memcpy(wrapped + 1, v, vlen);
    wrapped[vlen + 1] = ']';
    wrapped[vlen + 2] = '\0';
    parsed = llm_json_parse(r->pool, wrapped, vlen + 2, NULL);
    s = json_array_get(parsed, 0);
    if (json_is_string(s) && json_string_length(s)
        && strlen(json_string_value(s)) == json_string_length(s)) {
        out = apr_pstrdup(r->pool, json_string_value(s));
    }
    return out;
}

int llm_route_take_identity(request_rec *r, const llm_route_dir_conf_t *dc,
                            llm_request_t *req, const char **why)
{
    apr_int64_t now = apr_time_sec(r->request_time), exp = 0, nbf = 0;
    const char *token, *payload, *gv, *prefix, *user = NULL;
    apr_size_t plen = 0;
    size_t gvlen;
    int has_exp, has_nbf, found;

    req->user = r->user;
    if (!r->user) {
        return OK;          /* no authentication here: nothing to read */
    }
    if (!(token = llm_route_verified_token(r, &prefix))) {
        *why = "the gateway cannot read the verified token";
        return HTTP_UNAUTHORIZED;
    }
    payload = jws_payload(r, token, &plen);
    found = payload ? llm_json_top_member(payload, plen,
                                          llm_route_groups_claim(dc),
                                          &gv, &gvlen)
                    : -1;
    if (found >= 0) {
        if (found == 1) {
            take_groups(r, req, gv, gvlen);
        }
        if (dc->user_claim) {
            user = string_claim(r, payload, plen, dc->user_claim);
        }
        has_exp = number_claim(r, payload, plen, "exp", &exp);
        has_nbf = number_claim(r, payload, plen, "nbf", &nbf);
    }
    else {
        /* Opaque (or a payload this scan cannot follow): the claims came
         * from introspection and reach us only as the module passed them
         * on, where a list of groups cannot be told apart. */
        if (dc->user_claim) {
            user = env_claim(r, prefix, dc->user_claim);
        }
        has_exp = env_number(r, prefix, "exp", &exp);
        has_nbf = env_number(r, prefix, "nbf", &nbf);
    }
    if (user && *user) {
        req->user = user;
    }
    if (!has_exp) {
        *why = "it has no expiry: exp is missing or not a number";
        return HTTP_UNAUTHORIZED;
    }
    if (exp <= now) {
        *why = "it has expired";
        return HTTP_UNAUTHORIZED;
    }
    if (llm_route_token_max_life(dc) > 0
        && exp - now > llm_route_token_max_life(dc)) {
        *why = "it is valid for longer than this gateway accepts "
               "(LLMRouteTokenMaxLifetime)";
        return HTTP_UNAUTHORIZED;
    }
    if (has_nbf && nbf > now + NBF_SKEW) {
        *why = "it is not valid yet: nbf is in the future";
        return HTTP_UNAUTHORIZED;
    }
    return OK;
}
