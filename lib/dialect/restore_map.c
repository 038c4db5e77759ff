/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The placeholder map of one request and the replacement in one string
 * (llm_restore.h).  A placeholder has a "[" only at its start and a "]"
 * only at its end, so a string is searched with memchr for "[" and each
 * candidate up to its "]" is one hash lookup, whatever the map's size.
 */

#include <string.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "llm_answer_walk.h"
#include "llm_dialect.h"
#include "llm_restore.h"
#include "restore_private.h"

llm_restore_map_t *llm_restore_map_create(apr_pool_t *p)
{
    llm_restore_map_t *m = apr_pcalloc(p, sizeof(*m));

    m->p = p;
    m->values = apr_hash_make(p);
    m->prefixes = apr_hash_make(p);
    m->second['"'] = 1;
    return m;
}

static int valid_placeholder(const char *ph, size_t n)
{
    size_t i;

    if (n < 3 || n > LLM_RESTORE_MAX_PLACEHOLDER || ph[0] != '['
        || ph[n - 1] != ']') {
        return 0;
    }
    for (i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)ph[i];

        if (c < 0x20 || c > 0x7e || c == '[' || c == ']' || c == '"'
            || c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* The value as it must stand inside a JSON string (the answer scan's
 * quoting, without the quotes). */
static char *json_escape(apr_pool_t *p, const char *v, size_t n,
                         size_t *out_len)
{
    size_t ql;
    char *q = llm_answer_json_quote(p, v, n, &ql);

    q[ql - 1] = '\0';
    *out_len = ql - 2;
    return q + 1;
}

int llm_restore_map_add(llm_restore_map_t *m, const char *placeholder,
                        const char *value, size_t len)
{
    size_t n = placeholder ? strlen(placeholder) : 0, i;
    llm_restore_entry_t *e;

    if (!value || !valid_placeholder(placeholder, n)) {
        return -1;
    }
    e = apr_hash_get(m->values, placeholder, (apr_ssize_t)n);
    if (e) {
        return e->len == len && !memcmp(e->value, value, len) ? 0 : -1;
    }
    e = apr_pcalloc(m->p, sizeof(*e));
    e->value = apr_pmemdup(m->p, value, len);
    e->len = len;
    e->escaped = json_escape(m->p, value, len, &e->elen);
    placeholder = apr_pstrmemdup(m->p, placeholder, n);
    apr_hash_set(m->values, placeholder, (apr_ssize_t)n, e);
    /* Every proper beginning, for the tail of a string that a later
     * piece may complete. */
    for (i = 1; i < n; i++) {
        apr_hash_set(m->prefixes, placeholder, (apr_ssize_t)i, "");
    }
    if (n > m->longest) {
        m->longest = n;
    }
    m->second[(unsigned char)placeholder[1]] = 1;
    m->n++;
    return 0;
}

int llm_restore_map_count(const llm_restore_map_t *m)
{
    return m ? m->n : 0;
}

int llm_restore_candidate(const llm_restore_map_t *m, const char *d,
                          size_t n)
{
    const char *c = d, *end = d + n;

    while (c < end && (c = memchr(c, '[', (size_t)(end - c))) != NULL) {
        if (c + 1 < end && m->second[(unsigned char)c[1]]) {
            return 1;
        }
        c++;
    }
    return 0;
}

const llm_restore_entry_t *llm_restore_lookup(const llm_restore_map_t *m,
                                              const char *s, size_t n)
{
    return apr_hash_get(m->values, s, (apr_ssize_t)n);
}

int llm_restore_is_prefix(const llm_restore_map_t *m, const char *s,
                          size_t n)
{
    return n > 0 && n < m->longest
           && apr_hash_get(m->prefixes, s, (apr_ssize_t)n) != NULL;
}

/* The next placeholder of m at or after from in s[0..n): its start, or
 * n; *e gets its entry, *plen its length.  *tail gets the start of a
 * last part that could still begin one (n: none). */
static size_t next_placeholder(const llm_restore_map_t *m, const char *s,
                               size_t n, size_t from,
                               const llm_restore_entry_t **e, size_t *plen,
                               size_t *tail)
{
    const char *open, *close;
    size_t at, lim;

    *tail = n;
    while (from < n && (open = memchr(s + from, '[', n - from)) != NULL) {
        at = (size_t)(open - s);
        lim = n - at < m->longest ? n - at : m->longest;
        close = memchr(open + 1, ']', lim - 1);
        if (close) {
            *plen = (size_t)(close - open) + 1;
            if ((*e = llm_restore_lookup(m, open, *plen)) != NULL) {
                return at;
            }
        }
        else if (llm_restore_is_prefix(m, open, n - at)) {
            /* No "]" before the end: nothing after it can be one either
             * (a placeholder has no inner "["), except one starting at a
             * later "[" -- which this one would then not be a prefix
             * with.  So the first such "[" is the tail. */
            *tail = at;
            return n;
        }
        from = at + 1;
    }
    return n;
}

int llm_restore_string(const llm_restore_map_t *m, apr_pool_t *p,
                       const char *s, size_t n, int json_text,
                       const char **out, size_t *out_len, size_t *tail)
{
    const llm_restore_entry_t *e = NULL;
    size_t at, plen = 0, t, pos, total = 0;
    int count = 0;
    char *buf, *o;

    *out = s;
    *out_len = n;
    if (tail) {
        *tail = n;
    }
    if (!m || !m->n || !n) {
        return 0;
    }
    /* Two passes: the size, then the copy. */
    pos = 0;
    while ((at = next_placeholder(m, s, n, pos, &e, &plen, &t)) < n) {
        total += (at - pos) + (json_text ? e->elen : e->len);
        pos = at + plen;
        count++;
    }
    if (!count) {
        if (tail) {
            *tail = t;
        }
        return 0;
    }
    total += n - pos;
    o = buf = apr_palloc(p, total + 1);
    pos = 0;
    while ((at = next_placeholder(m, s, n, pos, &e, &plen, &t)) < n) {
        memcpy(o, s + pos, at - pos);
        o += at - pos;
        memcpy(o, json_text ? e->escaped : e->value,
               json_text ? e->elen : e->len);
        o += json_text ? e->elen : e->len;
        pos = at + plen;
    }
    memcpy(o, s + pos, n - pos);
    o += n - pos;
    *o = '\0';
    if (tail) {
        /* t is an offset in s after the last replacement: the same
         * distance from the end in the result. */
        *tail = t == n ? total : total - (n - t);
    }
    *out = buf;
    *out_len = total;
    return count;
}

/* --- parsed answers ------------------------------------------------------ */

int llm_restore_skipped_key(const char *key)
{
    return strstr(key, "thinking") || strstr(key, "reasoning")
           || strstr(key, "signature") || !strcmp(key, "encrypted_content");
}

int llm_restore_skipped_object(json_t *obj)
{
    const char *type = json_string_value(json_object_get(obj, "type"));

    return type && (strstr(type, "thinking") || strstr(type, "reasoning")
                    || strstr(type, "signature"));
}

int llm_restore_json_text_key(const char *key)
{
    return !strcmp(key, "arguments") || !strcmp(key, "partial_json");
}

int llm_restore_set_string(apr_pool_t *p, const llm_restore_map_t *m,
                           json_t *str, int json_text, size_t *tail)
{
    const char *out;
    size_t out_len;
    int count;

    count = llm_restore_string(m, p, json_string_value(str),
                               json_string_length(str), json_text, &out,
                               &out_len, tail);
    if (count && json_string_setn(str, out, out_len) != 0) {
        return 0;
    }
    return count;
}

static int walk(const llm_restore_map_t *m, apr_pool_t *p, json_t *v,
                int json_text, int depth)
{
    const char *key;
    json_t *child;
    size_t i;
    int count = 0;

    if (depth > 64) {
        return 0;
    }
    if (json_is_string(v)) {
        return llm_restore_set_string(p, m, v, json_text, NULL);
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, child) {
            count += walk(m, p, child, 0, depth + 1);
        }
        return count;
    }
    if (!json_is_object(v) || llm_restore_skipped_object(v)) {
        return 0;
    }
    json_object_foreach(v, key, child) {
        if (!llm_restore_skipped_key(key)) {
            count += walk(m, p, child, llm_restore_json_text_key(key),
                          depth + 1);
        }
    }
    return count;
}

int llm_restore_json(const llm_restore_map_t *m, apr_pool_t *p, json_t *v)
{
    if (!m || !m->n) {
        return 0;
    }
    return walk(m, p, v, 0, 0);
}

const char *llm_restore_body(const llm_restore_map_t *m, apr_pool_t *p,
                             const char *buf, size_t len, size_t *out_len,
                             int *count)
{
    json_t *j;
    char *out;

    *out_len = len;
    *count = 0;
    if (!m || !m->n || !llm_restore_candidate(m, buf, len)) {
        return buf;
    }
    if (!(j = llm_json_parse(p, buf, len, NULL))) {
        return buf;
    }
    if (!(*count = llm_restore_json(m, p, j))) {
        llm_json_release(p, j);
        return buf;
    }
    out = llm_json_dump(p, j, out_len);
    llm_json_release(p, j);
    return out;
}
