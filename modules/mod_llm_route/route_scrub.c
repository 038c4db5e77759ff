/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Secrets the gateway holds for a request never travel back in its
 * answer.  Some providers echo a rejected key in their error message
 * ("Incorrect API key provided: sk-..."), and a provider or a proxy in
 * between may echo request headers: the provider key configured for the
 * route, and the caller's own token, are replaced wherever they appear in
 * the answer's headers and in the error bodies relayed to the caller.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_scrub.h"

/* Shorter values would replace ordinary words; no key or token is. */
#define SECRET_MIN_LEN 8

static void add_secret(llm_route_secrets_t *s, const char *v,
                       const char *placeholder)
{
    apr_size_t n = v ? strlen(v) : 0;
    int i;

    if (n < SECRET_MIN_LEN || s->n >= LLM_ROUTE_MAX_SECRETS) {
        return;
    }
    for (i = 0; i < s->n; i++) {
        if (s->len[i] == n && !memcmp(s->value[i], v, n)) {
            return;
        }
    }
    s->value[s->n] = v;
    s->len[s->n] = n;
    s->placeholder[s->n] = placeholder;
    s->n++;
}

/* The token after an "Authorization: Bearer" (any case, any blanks). */
static const char *bearer_token(const char *h)
{
    if (!h) {
        return NULL;
    }
    while (*h == ' ' || *h == '\t') {
        h++;
    }
    if (strncasecmp(h, "Bearer", 6) || (h[6] != ' ' && h[6] != '\t')) {
        return NULL;
    }
    h += 6;
    while (*h == ' ' || *h == '\t') {
        h++;
    }
    return h;
}

void llm_route_answer_secrets(request_rec *r, llm_route_secrets_t *s)
{
    llm_route_choice_t *choice =
        ap_get_module_config(r->request_config, &llm_route_module);

    memset(s, 0, sizeof(*s));
    if (choice && choice->provider) {
        add_secret(s, choice->provider->key, "[REDACTED_PROVIDER_KEY]");
    }
    /* r->headers_in is the caller's again once mod_proxy has built the
     * upstream request from its copy. */
    add_secret(s, bearer_token(apr_table_get(r->headers_in,
                                             "Authorization")),
               "[REDACTED_GATEWAY_TOKEN]");
    add_secret(s, apr_table_get(r->headers_in, "x-api-key"),
               "[REDACTED_GATEWAY_TOKEN]");
}

/* The first secret at or after p, and which one. */
static const char *next_secret(const llm_route_secrets_t *s, const char *p,
                               const char *end, int *which)
{
    const char *best = NULL, *hit;
    int i;

    for (i = 0; i < s->n; i++) {
        if ((apr_size_t)(end - p) < s->len[i]) {
            continue;
        }
        hit = memmem(p, (apr_size_t)(end - p), s->value[i], s->len[i]);
        if (hit && (!best || hit < best)) {
            best = hit;
            *which = i;
        }
    }
    return best;
}

const char *llm_route_scrub(apr_pool_t *p, const llm_route_secrets_t *s,
                            const char *buf, apr_size_t len,
                            apr_size_t *out_len, int *hits)
{
    const char *pos, *end = buf + len, *hit;
    apr_size_t total = len, n;
    int which = 0;
    char *out, *o;

    *out_len = len;
    if (!s->n || !len || !(hit = next_secret(s, buf, end, &which))) {
        return buf;
    }
    /* Two passes: the size, then the copy. */
    for (pos = buf; hit; hit = next_secret(s, pos, end, &which)) {
        total += strlen(s->placeholder[which]) - s->len[which];
        pos = hit + s->len[which];
    }
    o = out = apr_palloc(p, total + 1);
    pos = buf;
    while ((hit = next_secret(s, pos, end, &which)) != NULL) {
        memcpy(o, pos, (apr_size_t)(hit - pos));
        o += hit - pos;
        n = strlen(s->placeholder[which]);
        memcpy(o, s->placeholder[which], n);
        o += n;
        pos = hit + s->len[which];
        (*hits)++;
    }
    memcpy(o, pos, (apr_size_t)(end - pos));
    o += end - pos;
    *o = '\0';
    *out_len = (apr_size_t)(o - out);
    return out;
}

typedef struct {
    request_rec *r;
    const llm_route_secrets_t *s;
    apr_table_t *clean;
    int hits;
} header_walk_t;

static int scrub_one(void *baton, const char *key, const char *val)
{
    header_walk_t *w = baton;
    apr_size_t n;

    apr_table_addn(w->clean, key,
                   llm_route_scrub(w->r->pool, w->s, val, strlen(val), &n,
                                   &w->hits));
    return 1;
}

static int scrub_table(request_rec *r, const llm_route_secrets_t *s,
                       apr_table_t *t)
{
    header_walk_t w;

    w.r = r;
    w.s = s;
    w.hits = 0;
    w.clean = apr_table_make(r->pool, apr_table_elts(t)->nelts + 1);
    apr_table_do(scrub_one, &w, t, NULL);
    if (w.hits) {
        /* Rebuilt in place (other filters hold this table), repeated
         * headers such as Set-Cookie kept. */
        const apr_array_header_t *arr = apr_table_elts(w.clean);
        const apr_table_entry_t *te = (const apr_table_entry_t *)arr->elts;
        int i;

        apr_table_clear(t);
        for (i = 0; i < arr->nelts; i++) {
            apr_table_addn(t, te[i].key, te[i].val);
        }
    }
    return w.hits;
}

int llm_route_scrub_headers(request_rec *r, const llm_route_secrets_t *s)
{
    if (!s->n) {
        return 0;
    }
    return scrub_table(r, s, r->headers_out)
           + scrub_table(r, s, r->err_headers_out);
}
