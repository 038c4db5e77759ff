/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * JSON paths as findings report them: messages[3].content[0].text.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

/* A key is written out only when it looks like a field name a schema
 * would use; anything else (an e-mail address, a token used as a key of a
 * tool's input) is written by position, because paths end up in error
 * bodies and audit records where a secret must never appear. */
static int key_is_name(const char *key, size_t len)
{
    size_t i, digits = 0, upper = 0, lower = 0, seps = 0, run = 0;
    unsigned char c;

    if (len == 0 || len > 40 || (key[0] >= '0' && key[0] <= '9')) {
        return 0;
    }
    /* One pass: every key of a request goes through here. */
    for (i = 0; i < len; i++) {
        c = (unsigned char)key[i];
        if (c >= 'a' && c <= 'z') {
            lower++;
            run = 0;
            continue;
        }
        if (c >= '0' && c <= '9') {
            digits++;
        }
        else if (c >= 'A' && c <= 'Z') {
            upper++;
        }
        else if (c == '_' || c == '-' || c == '$') {
            seps++;
            run = 0;
            continue;
        }
        else {
            return 0;
        }
        /* sixteen capitals and digits in a row are no word of a name,
         * even with a suffix or prefix glued on (AKIA..._a) */
        if (++run >= 16) {
            return 0;
        }
    }
    /* Long runs of letters mixed with digits are what keys and tokens look
     * like; names have few digits. */
    if (digits > 4) {
        return 0;
    }
    if (len >= 16 && digits > 0 && upper > 0 && lower == 0) {
        return 0;
    }
    /* A long upper-case run without separators is an id (an AWS key id
     * may have no digit at all); CONSTANT_NAMES have underscores. */
    if (len >= 16 && lower == 0 && seps == 0) {
        return 0;
    }
    return 1;
}

/* A step down from the node at up: where each node the walk enters
 * lies.  Every node gets one (a few words from the pool); the text is
 * written only for a finding (llm_dialect_path_text), so a request with
 * no finding never formats a path. */
struct llm_path_t {
    const llm_path_t *up;        /* NULL: a member of the root */
    const char *key;             /* a member's key, as the tree holds it */
    size_t n;                    /* the key's length, or the index */
    size_t index;                /* a member's place in its object */
    enum { STEP_NAME, STEP_KEY, STEP_INDEX, STEP_KEYOF } kind;
};

static const llm_path_t *step(apr_pool_t *p, const llm_path_t *up,
                              int kind, const char *key, size_t n,
                              size_t index)
{
    llm_path_t *s = apr_palloc(p, sizeof(*s));

    s->up = up;
    s->key = key;
    s->n = n;
    s->index = index;
    s->kind = kind;
    return s;
}

const llm_path_t *llm_dialect_path_key(apr_pool_t *p, const llm_path_t *up,
                                       const char *key, size_t key_len,
                                       size_t index)
{
    return step(p, up, STEP_KEY, key, key_len, index);
}

const llm_path_t *llm_dialect_path_name(apr_pool_t *p, const llm_path_t *up,
                                        const char *name, size_t len)
{
    return step(p, up, STEP_NAME, name, len, 0);
}

const llm_path_t *llm_dialect_path_keyof(apr_pool_t *p, const llm_path_t *up)
{
    return step(p, up, STEP_KEYOF, NULL, 0, 0);
}

const llm_path_t *llm_dialect_path_index(apr_pool_t *p, const llm_path_t *up,
                                         size_t index)
{
    return step(p, up, STEP_INDEX, NULL, index, 0);
}

/* open, the decimal digits of n, close: "[12]", "{#3}", ".{#3}". */
static size_t bracketed(char *buf, const char *open, size_t n, char close)
{
    char digits[24];
    size_t nd = 0, olen = strlen(open), i;

    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    memcpy(buf, open, olen);
    for (i = 0; i < nd; i++) {
        buf[olen + i] = digits[nd - 1 - i];
    }
    buf[olen + nd] = close;
    return olen + nd + 1;
}

/* One step as text into buf (NULL: only its length).  The step below
 * the root (up NULL) has no '.' before a name. */
static size_t step_text(const llm_path_t *s, char *buf)
{
    int first = (s->up == NULL);
    char tmp[32];
    size_t n;

    switch (s->kind) {
    case STEP_KEY:
        if (!key_is_name(s->key, s->n)) {
            n = bracketed(tmp, first ? "{#" : ".{#", s->index, '}');
            break;
        }
        /* fall through */
    case STEP_NAME:
        if (buf) {
            if (!first) {
                *buf++ = '.';
            }
            memcpy(buf, s->key, s->n);
        }
        return s->n + (first ? 0 : 1);
    case STEP_INDEX:
        n = bracketed(tmp, "[", s->n, ']');
        break;
    default:
        n = 4;
        memcpy(tmp, "#key", 4);
        break;
    }
    if (buf) {
        memcpy(buf, tmp, n);
    }
    return n;
}

/* Written from its last step back to the root, the way the steps link. */
const char *llm_dialect_path_text(apr_pool_t *p, const llm_path_t *path)
{
    const llm_path_t *s;
    size_t len = 0;
    char *out, *w;

    for (s = path; s; s = s->up) {
        len += step_text(s, NULL);
    }
    out = apr_palloc(p, len + 1);
    out[len] = '\0';
    for (s = path, w = out + len; s; s = s->up) {
        w -= step_text(s, NULL);
        step_text(s, w);
    }
    return out;
}

/* The place of key among obj's members, as the walkers count them. */
static int key_index(json_t *obj, const char *key, size_t len, size_t *index)
{
    size_t i;
    void *it;

    for (i = 0, it = json_object_iter(obj); it;
         i++, it = json_object_iter_next(obj, it)) {
        if (llm_json_iter_key_len(it) == len
            && !memcmp(json_object_iter_key(it), key, len)) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

/* Paths are "name", ".name", "[N]", "{#N}" steps and maybe "#key" at the
 * end.  A written name holds only [A-Za-z0-9_$-] (key_is_name), so the
 * steps split without doubt.  Runs for findings only. */
const char *llm_dialect_path_hide(apr_pool_t *p, json_t *root,
                                  const char *path,
                                  int (*hide)(void *baton, const char *key,
                                              size_t len),
                                  void *baton)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    json_t *node = root;
    const char *s = path, *e, *name;
    size_t n, idx;
    int changed = 0;
    void *it;

    if (!path) {
        return path;
    }
    while (*s) {
        if (*s == '.') {
            e = s + 1;
        }
        else if (*s == '[' || (*s == '{' && s[1] == '#')) {
            e = strchr(s, *s == '[' ? ']' : '}');
            if (!e) {
                e = s + strlen(s);
                node = NULL;
            }
            else {
                idx = (size_t)strtoul(s + (*s == '[' ? 1 : 2), NULL, 10);
                if (*s == '[') {
                    node = json_is_array(node) ? json_array_get(node, idx)
                                               : NULL;
                }
                else {
                    it = json_is_object(node) ? json_object_iter(node) : NULL;
                    for (n = 0; it && n < idx; n++) {
                        it = json_object_iter_next(node, it);
                    }
                    node = it ? json_object_iter_value(it) : NULL;
                }
                e++;
            }
        }
        else if (*s == '#') {
            e = s + strlen(s);
        }
        else {
            e = s + strcspn(s, ".[{#");
            n = (size_t)(e - s);
            name = apr_pstrmemdup(p, s, n);
            if (hide(baton, s, n)) {
                APR_ARRAY_PUSH(out, const char *) =
                    json_is_object(node) && key_index(node, name, n, &idx)
                    ? apr_psprintf(p, "{#%" APR_SIZE_T_FMT "}", idx)
                    : "{#?}";
                changed = 1;
            }
            else {
                APR_ARRAY_PUSH(out, const char *) = name;
            }
            node = json_is_object(node) ? llm_json_object_getn(node, name, n)
                                        : NULL;
            s = e;
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrmemdup(p, s, (size_t)(e - s));
        s = e;
    }
    return changed ? apr_array_pstrcat(p, out, 0) : path;
}
