/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Secrets the gateway holds for a request never travel back in its
 * answer.  Some providers echo a rejected key in their error message
 * ("Incorrect API key provided: sk-..."), and a provider or a proxy in
 * between may echo request headers: the provider key configured for the
 * route, and the caller's own token, are replaced wherever they appear in
 * the answer's headers, in the answers held whole (errors, translated
 * non-stream answers) and in the bytes of those relayed as they come.
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

/* --- answers relayed as they come ------------------------------------ */

void llm_route_scrubber_init(apr_pool_t *p, llm_route_scrubber_t *z,
                             const llm_route_secrets_t *s)
{
    apr_size_t longest = 0, j, m;
    const unsigned char *v;
    int i;

    memset(z, 0, sizeof(*z));
    z->s = s;
    z->p = p;
    for (i = 0; i < s->n; i++) {
        v = (const unsigned char *)s->value[i];
        m = s->len[i];
        if (m > longest) {
            longest = m;
        }
        /* Its shift table waits for bytes as long as it (skip_table):
         * the caller's token, a JWT of a kilobyte or so, is longer than
         * most answers. */
        for (j = 0; j < m; j++) {
            z->in_secret[v[j]] = 1;
        }
    }
    if (longest) {
        z->tail = apr_palloc(p, longest);
    }
}

/* Secret i's Horspool shift table, made the first time it is searched
 * for. */
static const apr_uint32_t *skip_table(llm_route_scrubber_t *z, int i)
{
    const unsigned char *v = (const unsigned char *)z->s->value[i];
    apr_size_t m = z->s->len[i], j;
    apr_uint32_t *skip;
    int c;

    if (z->skip[i]) {
        return z->skip[i];
    }
    skip = apr_palloc(z->p, 256 * sizeof(apr_uint32_t));
    for (c = 0; c < 256; c++) {
        skip[c] = (apr_uint32_t)m;
    }
    for (j = 0; j + 1 < m; j++) {
        skip[v[j]] = (apr_uint32_t)(m - 1 - j);
    }
    z->skip[i] = skip;
    return skip;
}

/* Secret i in [p, end), Horspool: relayed answers are searched byte
 * after byte as they pass, and with keys and tokens of 20 to several
 * hundred bytes this looks at about one byte in that many, where
 * memmem() first builds its tables anew at every call. */
static const char *find_secret(llm_route_scrubber_t *z, int i,
                               const char *p, const char *end)
{
    const char *v = z->s->value[i];
    apr_size_t m = z->s->len[i];
    const apr_uint32_t *skip;
    unsigned char last = (unsigned char)v[m - 1];
    unsigned char c;

    if ((apr_size_t)(end - p) < m) {
        return NULL;
    }
    skip = skip_table(z, i);
    while ((apr_size_t)(end - p) >= m) {
        c = (unsigned char)p[m - 1];
        if (c == last && !memcmp(p, v, m - 1)) {
            return p;
        }
        p += skip[c];
    }
    return NULL;
}

/* The first secret at or after p, and which one. */
static const char *next_secret_z(llm_route_scrubber_t *z,
                                 const char *p, const char *end, int *which)
{
    const char *best = NULL, *hit, *lim;
    int i;

    for (i = 0; i < z->s->n; i++) {
        lim = best && (apr_size_t)(end - best) > z->s->len[i]
              ? best + z->s->len[i] : end;
        hit = find_secret(z, i, p, lim);
        if (hit && (!best || hit < best)) {
            best = hit;
            *which = i;
        }
    }
    return best;
}

/* Where the part of buf[from, len) to hold back starts: the first
 * position whose rest is the beginning of a secret (len: none).  Only
 * the trailing run of bytes that occur in some secret can be (an event
 * ends in a newline, which none holds, so a whole event is never held),
 * and within the secret's length - 1 last bytes; memchr for its first
 * byte finds the candidates. */
static apr_size_t hold_from(const llm_route_scrubber_t *z, const char *buf,
                            apr_size_t len, apr_size_t from)
{
    const llm_route_secrets_t *s = z->s;
    apr_size_t best = len, start, rest, run = len;
    const char *c;
    int i;

    while (run > from && z->in_secret[(unsigned char)buf[run - 1]]) {
        run--;
    }
    if (run == len) {
        return len;
    }
    for (i = 0; i < s->n; i++) {
        start = len > s->len[i] - 1 ? len - (s->len[i] - 1) : 0;
        if (start < run) {
            start = run;
        }
        c = buf + start;
        while (c < buf + best
               && (c = memchr(c, s->value[i][0],
                              (apr_size_t)(buf + best - c))) != NULL) {
            rest = (apr_size_t)(buf + len - c);
            if (!memcmp(c, s->value[i], rest)) {
                best = (apr_size_t)(c - buf);
                break;
            }
            c++;
        }
    }
    return best;
}

/* buf (the held tail and bucket e's bytes) less what is held back now,
 * scrubbed, in place of e. */
static void replace_bucket(llm_route_scrubber_t *z, apr_bucket *e,
                           const char *buf, apr_size_t len)
{
    const llm_route_secrets_t *s = z->s;
    const char *pos = buf, *end = buf + len, *hit;
    apr_size_t total = 0, keep, n;
    int which = 0;
    char *out, *o;

    while ((hit = next_secret_z(z, pos, end, &which)) != NULL) {
        total += (apr_size_t)(hit - pos) + strlen(s->placeholder[which]);
        pos = hit + s->len[which];
    }
    keep = hold_from(z, buf, len, (apr_size_t)(pos - buf));
    total += keep - (apr_size_t)(pos - buf);
    if (total) {
        o = out = apr_bucket_alloc(total, e->list);
        pos = buf;
        while ((hit = next_secret_z(z, pos, buf + keep, &which)) != NULL) {
            memcpy(o, pos, (apr_size_t)(hit - pos));
            o += hit - pos;
            n = strlen(s->placeholder[which]);
            memcpy(o, s->placeholder[which], n);
            o += n;
            pos = hit + s->len[which];
            z->hits++;
        }
        memcpy(o, pos, (apr_size_t)(buf + keep - pos));
        APR_BUCKET_INSERT_BEFORE(e, apr_bucket_heap_create(out, total,
                                     apr_bucket_free, e->list));
    }
    /* buf may be the tail itself: memmove. */
    memmove(z->tail, buf + keep, len - keep);
    z->tail_len = len - keep;
}

static void scrub_bucket(llm_route_scrubber_t *z, apr_bucket *e,
                         const char *data, apr_size_t n)
{
    apr_size_t keep;
    char *joined;
    int which;

    if (!z->tail_len) {
        /* The usual case: nothing held, no secret: e goes on as it is
         * (or split, when its end could begin a secret). */
        if (next_secret_z(z, data, data + n, &which)) {
            replace_bucket(z, e, data, n);
            apr_bucket_delete(e);
            return;
        }
        keep = hold_from(z, data, n, 0);
        if (keep == n) {
            return;
        }
        memcpy(z->tail, data + keep, n - keep);
        z->tail_len = n - keep;
        if (keep) {
            apr_bucket_split(e, keep);
            apr_bucket_delete(APR_BUCKET_NEXT(e));
        }
        else {
            apr_bucket_delete(e);
        }
        return;
    }
    joined = apr_bucket_alloc(z->tail_len + n, e->list);
    memcpy(joined, z->tail, z->tail_len);
    memcpy(joined + z->tail_len, data, n);
    replace_bucket(z, e, joined, z->tail_len + n);
    apr_bucket_free(joined);
    apr_bucket_delete(e);
}

apr_status_t llm_route_scrub_brigade(llm_route_scrubber_t *z,
                                     apr_bucket_brigade *bb)
{
    apr_bucket *e, *next;
    const char *data;
    apr_size_t n;
    apr_status_t rv;

    if (!z->s->n) {
        return APR_SUCCESS;
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = next) {
        next = APR_BUCKET_NEXT(e);
        if (APR_BUCKET_IS_EOS(e)) {
            /* Shorter than any secret and holding none: it goes as is. */
            if (z->tail_len) {
                APR_BUCKET_INSERT_BEFORE(e, apr_bucket_heap_create(
                    z->tail, z->tail_len, NULL, e->list));
                z->tail_len = 0;
            }
            continue;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        if ((rv = apr_bucket_read(e, &data, &n, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        if (n) {
            scrub_bucket(z, e, data, n);
        }
    }
    return APR_SUCCESS;
}
