/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Compact serialisation of a jansson tree into a pool, byte for byte what
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes, at several times its
 * speed: a renamed, redacted or translated body of 1 MB took 7 ms in
 * json_dumps (a byte at a time into a buffer that doubles, then a copy
 * into the pool) (docs/route-benchmark.md).  Two passes: the exact length
 * first, then one allocation and the bytes, runs without escapes copied
 * whole.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

/* Bytes of a string byte's output: 1, 2 for the short escapes (" \\ \b \f
 * \n \r \t), 6 for the other control characters (\u00XX); 0 marks the
 * start of a multi-byte UTF-8 character. */
static const unsigned char esc_len[256] = {
    6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 6, 2, 2, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const char hexdig[] = "0123456789ABCDEF";

/* Length of the well-formed UTF-8 character at q (q[0] >= 0x80), 0 when
 * it is not one; jansson's dump fails on such a string, and so does this. */
static size_t utf8_len(const unsigned char *q, const unsigned char *end)
{
    size_t avail = (size_t)(end - q);
    unsigned c = q[0];

    if (c >= 0xC2 && c <= 0xDF) {
        return avail >= 2 && (q[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80
            || (c == 0xE0 && q[1] < 0xA0) || (c == 0xED && q[1] >= 0xA0)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80
            || (q[3] & 0xC0) != 0x80 || (c == 0xF0 && q[1] < 0x90)
            || (c == 0xF4 && q[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/* Eight bytes at once, with bit tricks on a 64-bit word: how many of the
 * bytes at q (8 when none) come before the first that needs an escape (a
 * control character, '"' or '\\') or, with high, starts a multi-byte
 * character.  The lowest flagged byte of each test is exact (a borrow only
 * runs upwards); on a big-endian machine the answer is 0 and the byte
 * loop decides. */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define HAS_ZERO(v) (((v) - ONES) & ~(v) & HIGHS)

static size_t plain8(const unsigned char *q, int high)
{
    apr_uint64_t w, m;

    memcpy(&w, q, 8);
    m = ((w - ONES * 0x20) & ~w & HIGHS)                /* < 0x20 */
        | HAS_ZERO(w ^ (ONES * '"'))
        | HAS_ZERO(w ^ (ONES * '\\'))
        | (high ? (w & HIGHS) : 0);
    if (!m) {
        return 8;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(m) / 8;
#else
    return 0;
#endif
}

/* Output length of a string with its quotes; (size_t)-1 when invalid. */
static size_t string_len(const char *s, size_t n)
{
    const unsigned char *q = (const unsigned char *)s, *end = q + n;
    size_t out = 2;

    while (q < end) {
        unsigned char e;

        while (end - q >= 8) {
            size_t k = plain8(q, 1);

            out += k;
            q += k;
            if (k < 8) {
                break;
            }
        }
        if (q == end) {
            break;
        }
        e = esc_len[*q];

        if (e) {
            out += e;
            q++;
        }
        else {
            size_t k = utf8_len(q, end);

            if (!k) {
                return (size_t)-1;
            }
            out += k;
            q += k;
        }
    }
    return out;
}

static char *put_string(char *w, const char *s, size_t n)
{
    const unsigned char *q = (const unsigned char *)s, *end = q + n;

    *w++ = '"';
    while (q < end) {
        const unsigned char *run = q;

        for (;;) {
            while (end - q >= 8) {
                size_t k = plain8(q, 0);

                q += k;
                if (k < 8) {
                    break;
                }
            }
            if (q == end || esc_len[*q] == 2 || esc_len[*q] == 6) {
                break;
            }
            q++;
        }
        memcpy(w, run, (size_t)(q - run));
        w += q - run;
        if (q == end) {
            break;
        }
        *w++ = '\\';
        switch (*q) {
        case '"':  *w++ = '"';  break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b';  break;
        case '\f': *w++ = 'f';  break;
        case '\n': *w++ = 'n';  break;
        case '\r': *w++ = 'r';  break;
        case '\t': *w++ = 't';  break;
        default:
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hexdig[*q >> 4];
            *w++ = hexdig[*q & 15];
        }
        q++;
    }
    *w++ = '"';
    return w;
}

#if JANSSON_VERSION_HEX >= 0x020e00
#define FOREACH_KEY(obj, key, klen, v) \
    json_object_keylen_foreach(obj, key, klen, v)
#else
/* Before 2.14 keys hold no NUL. */
#define FOREACH_KEY(obj, key, klen, v) \
    json_object_foreach(obj, key, v) if ((klen = strlen(key)), 1)
#endif

/* Integers as jansson prints them; reals are rare in request bodies and
 * their text (precision, exponent form) is left to jansson itself. */
static const char *scalar_text(apr_pool_t *p, json_t *j, char *buf,
                               size_t size)
{
    if (json_is_integer(j)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return buf;
    }
    {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        const char *copy = s ? apr_pstrdup(p, s) : NULL;

        free(s);
        return copy;
    }
}

/* Pass one: the exact output length, (size_t)-1 when jansson would fail.
 * Reals' texts are kept in *reals, in tree order, for pass two. */
static size_t measure(apr_pool_t *p, json_t *j, apr_array_header_t *reals)
{
    size_t total, k;

    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        json_t *v;
        int first = 1;

        total = 2;
        FOREACH_KEY(j, key, klen, v) {
            size_t a = string_len(key, klen), b = measure(p, v, reals);

            if (a == (size_t)-1 || b == (size_t)-1) {
                return (size_t)-1;
            }
            total += a + 1 + b + (first ? 0 : 1);
            first = 0;
        }
        return total;
    }
    case JSON_ARRAY:
        total = 2;
        for (k = 0; k < json_array_size(j); k++) {
            size_t b = measure(p, json_array_get(j, k), reals);

            if (b == (size_t)-1) {
                return (size_t)-1;
            }
            total += b + (k ? 1 : 0);
        }
        return total;
    case JSON_STRING:
        return string_len(json_string_value(j), json_string_length(j));
    case JSON_INTEGER: {
        char buf[32];

        return strlen(scalar_text(p, j, buf, sizeof(buf)));
    }
    case JSON_REAL: {
        const char *s = scalar_text(p, j, NULL, 0);

        if (!s) {
            return (size_t)-1;
        }
        APR_ARRAY_PUSH(reals, const char *) = s;
        return strlen(s);
    }
    case JSON_TRUE:
        return 4;
    case JSON_FALSE:
        return 5;
    case JSON_NULL:
        return 4;
    }
    return (size_t)-1;
}

static char *put(apr_pool_t *p, char *w, json_t *j,
                 const apr_array_header_t *reals, int *real_at)
{
    size_t k;

    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        json_t *v;
        int first = 1;

        *w++ = '{';
        FOREACH_KEY(j, key, klen, v) {
            if (!first) {
                *w++ = ',';
            }
            first = 0;
            w = put_string(w, key, klen);
            *w++ = ':';
            w = put(p, w, v, reals, real_at);
        }
        *w++ = '}';
        return w;
    }
    case JSON_ARRAY:
        *w++ = '[';
        for (k = 0; k < json_array_size(j); k++) {
            if (k) {
                *w++ = ',';
            }
            w = put(p, w, json_array_get(j, k), reals, real_at);
        }
        *w++ = ']';
        return w;
    case JSON_STRING:
        return put_string(w, json_string_value(j), json_string_length(j));
    case JSON_INTEGER: {
        char buf[32];
        size_t n = strlen(scalar_text(p, j, buf, sizeof(buf)));

        memcpy(w, buf, n);
        return w + n;
    }
    case JSON_REAL: {
        const char *s = APR_ARRAY_IDX(reals, (*real_at)++, const char *);
        size_t n = strlen(s);

        memcpy(w, s, n);
        return w + n;
    }
    case JSON_TRUE:
        memcpy(w, "true", 4);
        return w + 4;
    case JSON_FALSE:
        memcpy(w, "false", 5);
        return w + 5;
    case JSON_NULL:
        memcpy(w, "null", 4);
        return w + 4;
    }
    return w;
}

char *llm_json_dump(apr_pool_t *p, json_t *root, size_t *len)
{
    apr_array_header_t *reals = apr_array_make(p, 4, sizeof(const char *));
    size_t n;
    char *out, *end;
    int real_at = 0;

    n = root ? measure(p, root, reals) : (size_t)-1;
    if (n == (size_t)-1) {
        if (len) {
            *len = 0;
        }
        return NULL;
    }
    out = apr_palloc(p, n + 1);
    end = put(p, out, root, reals, &real_at);
    *end = '\0';
    if (len) {
        *len = (size_t)(end - out);
    }
    return out;
}
