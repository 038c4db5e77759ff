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
#include "apr_strings.h"

#include "route_internal.h"
#include "route_claims.h"
#include "dialect/llm_dialect.h"
#include "dialect/json_fast.h"

APLOG_USE_MODULE(llm_route);

/* Clock skew allowed for "nbf". */
#define NBF_SKEW 60

/* The payload's members read, in llm_route_take_identity's one walk. */
enum { C_GROUPS, C_USER, C_EXP, C_NBF, C_COUNT };

/* A base64 digit's value (either alphabet: '-' and '+' are 62, '_' and
 * '/' are 63), or 64 for any other byte. */
#define X64 64
static const unsigned char b64_digit[256] = {
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, 62,  X64, 62,  X64, 63,
    52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  X64, X64, X64, X64, X64, X64,
    X64, 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,
    15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  X64, X64, X64, X64, 63,
    X64, 26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
    41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64,
    X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64, X64
};
#undef X64

/* The decoded payload of a compact JWS (header.payload.signature); NULL
 * for anything else (an opaque token checked by introspection, a JWE).
 * Decoded where it lies, in one pass (the payload's copy in the standard
 * alphabet for apr_base64_decode cost as much as the decoding): the
 * digits up to the first byte that is none, as apr_base64_decode reads
 * them. */
static const char *jws_payload(request_rec *r, const char *token,
                               apr_size_t *len)
{
    const char *p1 = strchr(token, '.');
    const char *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    const unsigned char *in;
    unsigned char *raw, *out, d[4];
    apr_size_t n, i;

    if (!p2 || strchr(p2 + 1, '.') || p2 == p1 + 1) {
        return NULL;
    }
    in = (const unsigned char *)p1 + 1;
    for (n = 0; in + n < (const unsigned char *)p2 && b64_digit[in[n]] < 64;
         n++) {
    }
    raw = out = apr_palloc(r->pool, n / 4 * 3 + 4);
    for (i = 0; i + 4 <= n; i += 4) {
        d[0] = b64_digit[in[i]];
        d[1] = b64_digit[in[i + 1]];
        d[2] = b64_digit[in[i + 2]];
        d[3] = b64_digit[in[i + 3]];
        *out++ = (unsigned char)(d[0] << 2 | d[1] >> 4);
        *out++ = (unsigned char)(d[1] << 4 | d[2] >> 2);
        *out++ = (unsigned char)(d[2] << 6 | d[3]);
    }
    /* A last group of 2 or 3 digits is 1 or 2 bytes; one digit is none. */
    if (n - i >= 2) {
        d[0] = b64_digit[in[i]];
        d[1] = b64_digit[in[i + 1]];
        *out++ = (unsigned char)(d[0] << 2 | d[1] >> 4);
        if (n - i == 3) {
            d[2] = b64_digit[in[i + 2]];
            *out++ = (unsigned char)(d[1] << 4 | d[2] >> 2);
        }
    }
    if (out == raw) {
        return NULL;
    }
    *out = '\0';
    *len = (apr_size_t)(out - raw);
    return (const char *)raw;
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
    /* json_dumps' text, byte for byte, written straight into the pool. */
    req->groups_json = llm_json_dump(r->pool, list, NULL);
    json_decref(list);
}

/* A top-level member's value that is a JSON number (NumericDate). */
static int number_claim(request_rec *r, const char *v, size_t vlen,
                        apr_int64_t *out)
{
    char *copy, *end;
    double d;
    apr_int64_t whole = 0;
    size_t i;

    if (!vlen || !(*v == '-' || (*v >= '0' && *v <= '9'))) {
        return 0;
    }
    /* Plain digits (every real token's dates): the value strtod would
     * give, exactly, below 10^15. */
    for (i = 0; i < vlen && i < 15 && *v != '-' && v[i] >= '0'
                && v[i] <= '9'; i++) {
        whole = whole * 10 + (v[i] - '0');
    }
    if (i == vlen) {
        *out = whole;
        return 1;
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
static const char *string_claim(request_rec *r, const char *v, size_t vlen)
{
    json_t *parsed, *s;
    const char *out = NULL;
    char *wrapped;

    if (!vlen || *v != '"') {
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
    const char *token, *payload, *prefix, *user = NULL;
    const char *names[C_COUNT], *v[C_COUNT];
    apr_size_t plen = 0;
    size_t vlen[C_COUNT];
    int has_exp, has_nbf, found[C_COUNT];

    req->user = r->user;
    if (!r->user) {
        return OK;          /* no authentication here: nothing to read */
    }
    if (!(token = llm_route_verified_token(r, &prefix))) {
        *why = "the gateway cannot read the verified token";
        return HTTP_UNAUTHORIZED;
    }
    payload = jws_payload(r, token, &plen);
    names[C_GROUPS] = llm_route_groups_claim(dc);
    names[C_USER] = dc->user_claim ? dc->user_claim : "";
    names[C_EXP] = "exp";
    names[C_NBF] = "nbf";
    /* Each claim as llm_json_top_member finds it, in one walk. */
    if (payload) {
        llm_json_top_members(payload, plen, names, C_COUNT, v, vlen, found);
    }
    else {
        found[C_GROUPS] = -1;
    }
    if (found[C_GROUPS] >= 0) {
        if (found[C_GROUPS] == 1) {
            take_groups(r, req, v[C_GROUPS], vlen[C_GROUPS]);
        }
        if (dc->user_claim && found[C_USER] == 1) {
            user = string_claim(r, v[C_USER], vlen[C_USER]);
        }
        has_exp = found[C_EXP] == 1
                  && number_claim(r, v[C_EXP], vlen[C_EXP], &exp);
        has_nbf = found[C_NBF] == 1
                  && number_claim(r, v[C_NBF], vlen[C_NBF], &nbf);
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
