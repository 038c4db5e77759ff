/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Asking an OpenAI-dialect provider for the usage of a stream.  Without
 * stream_options.include_usage an OpenAI stream reports no usage at all,
 * and the gateway could charge neither quota nor audit for the answer.
 * The body is edited as text, so that what was scanned goes upstream
 * unchanged but for this one member.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_usage.h"
#include "json_fast.h"

#define INCLUDE_USAGE "\"include_usage\":true"

/* body with [at, at + cut) replaced by ins. */
static int splice(apr_pool_t *p, const char *body, size_t len, size_t at,
                  size_t cut, const char *ins, const char **out,
                  size_t *out_len)
{
    size_t ilen = strlen(ins);
    char *b = apr_palloc(p, len - cut + ilen + 1);

    memcpy(b, body, at);
    memcpy(b + at, ins, ilen);
    memcpy(b + at + ilen, body + at + cut, len - at - cut);
    b[len - cut + ilen] = '\0';
    *out = b;
    *out_len = len - cut + ilen;
    return 1;
}

static int is_literal(const char *v, size_t n, const char *lit)
{
    return n == strlen(lit) && !memcmp(v, lit, n);
}

/* Just after the '{' opening the object that starts at v. */
static size_t after_brace(const char *body, const char *v)
{
    return (size_t)(v - body) + 1;
}

/* Whether the object at v[0..n) has no member (only blanks inside). */
static int empty_object(const char *v, size_t n)
{
    size_t i;

    for (i = 1; i + 1 < n; i++) {
        if (v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

int llm_usage_request_ask(apr_pool_t *p, const char *body, size_t len,
                          const char **out, size_t *out_len)
{
    const char *v, *so, *iu;
    size_t vlen, solen, iulen, i;
    int rv;

    rv = llm_json_top_member(body, len, "stream", &v, &vlen);
    if (rv < 0) {
        return -1;
    }
    if (rv == 0 || !is_literal(v, vlen, "true")) {
        return 0;
    }
    rv = llm_json_top_member(body, len, "stream_options", &so, &solen);
    if (rv < 0) {
        return -1;
    }
    if (rv == 0) {
        /* Inserted first: the body is an object with at least "stream". */
        for (i = 0; i < len && body[i] != '{'; i++) {
        }
        return splice(p, body, len, i + 1, 0,
                      "\"stream_options\":{" INCLUDE_USAGE "},", out,
                      out_len);
    }
    if (solen == 0 || *so != '{') {
        /* null (or another non-object): replaced by the object. */
        return splice(p, body, len, (size_t)(so - body), solen,
                      "{" INCLUDE_USAGE "}", out, out_len);
    }
    rv = llm_json_top_member(so, solen, "include_usage", &iu, &iulen);
    if (rv < 0) {
        return -1;
    }
    if (rv == 1) {
        if (is_literal(iu, iulen, "true")) {
            return 0;
        }
        return splice(p, body, len, (size_t)(iu - body), iulen, "true", out,
                      out_len);
    }
    return splice(p, body, len, after_brace(body, so), 0,
                  empty_object(so, solen) ? INCLUDE_USAGE
                                          : INCLUDE_USAGE ",",
                  out, out_len);
}
