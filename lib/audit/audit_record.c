/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The audit record's columns and the forms it takes: canonical bytes for
 * the MAC, a JSON line for the spool, SQL for the writer and the verifier.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "audit_record.h"

typedef struct {
    const char *name;
    apr_size_t len;              /* strlen(name), for the per-record forms */
    llm_audit_type_e type;
} field_def_t;

#define FIELD(name, type) { name, sizeof(name) - 1, type }

/* Order matters: it is the column order of the INSERT and of the MAC. */
static const field_def_t fields[LLM_AUDIT_NFIELDS] = {
    FIELD("ts",              LLM_AUDIT_T_TIME),
    FIELD("request_id",      LLM_AUDIT_T_TEXT),
    FIELD("chain_id",        LLM_AUDIT_T_TEXT),
    FIELD("seq",             LLM_AUDIT_T_INT),
    FIELD("prev_mac",        LLM_AUDIT_T_TEXT),
    FIELD("server_name",     LLM_AUDIT_T_TEXT),
    FIELD("user_name",       LLM_AUDIT_T_TEXT),
    FIELD("user_groups",     LLM_AUDIT_T_TEXT),
    FIELD("client_ip",       LLM_AUDIT_T_TEXT),
    FIELD("user_agent",      LLM_AUDIT_T_TEXT),
    FIELD("method",          LLM_AUDIT_T_TEXT),
    FIELD("uri",             LLM_AUDIT_T_TEXT),
    FIELD("endpoint",        LLM_AUDIT_T_TEXT),
    FIELD("dialect",         LLM_AUDIT_T_TEXT),
    FIELD("model_requested", LLM_AUDIT_T_TEXT),
    FIELD("model_used",      LLM_AUDIT_T_TEXT),
    FIELD("provider",        LLM_AUDIT_T_TEXT),
    FIELD("balancer",        LLM_AUDIT_T_TEXT),
    FIELD("balancer_member", LLM_AUDIT_T_TEXT),
    FIELD("decision",        LLM_AUDIT_T_TEXT),
    FIELD("reason",          LLM_AUDIT_T_TEXT),
    FIELD("findings",        LLM_AUDIT_T_TEXT),
    FIELD("finding_count",   LLM_AUDIT_T_INT),
    FIELD("http_status",     LLM_AUDIT_T_INT),
    FIELD("upstream_status", LLM_AUDIT_T_INT),
    FIELD("stream",          LLM_AUDIT_T_INT),
    FIELD("bytes_in",        LLM_AUDIT_T_INT),
    FIELD("bytes_out",       LLM_AUDIT_T_INT),
    FIELD("tokens_in",       LLM_AUDIT_T_INT),
    FIELD("tokens_out",      LLM_AUDIT_T_INT),
    FIELD("tokens_cached",   LLM_AUDIT_T_INT),
    FIELD("cost",            LLM_AUDIT_T_DECIMAL),
    FIELD("latency_us",      LLM_AUDIT_T_INT),
    FIELD("ttfb_us",         LLM_AUDIT_T_INT),
    FIELD("body_mode",       LLM_AUDIT_T_TEXT),
    FIELD("body",            LLM_AUDIT_T_TEXT),
    FIELD("answer_body_mode", LLM_AUDIT_T_TEXT),
    FIELD("answer_body",     LLM_AUDIT_T_TEXT),
    FIELD("cost_saved",      LLM_AUDIT_T_DECIMAL),
    FIELD("mac",             LLM_AUDIT_T_TEXT)
};

const char *llm_audit_field_name(int f)
{
    return (f >= 0 && f < LLM_AUDIT_NFIELDS) ? fields[f].name : NULL;
}

llm_audit_type_e llm_audit_field_type(int f)
{
    return (f >= 0 && f < LLM_AUDIT_NFIELDS) ? fields[f].type
                                             : LLM_AUDIT_T_TEXT;
}

int llm_audit_field_index(const char *name)
{
    int f;

    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        if (!strcmp(fields[f].name, name)) {
            return f;
        }
    }
    return -1;
}

/* Writes v as exactly `digits` decimal digits at out (v fits). */
static void put_fixed(char *out, int v, int digits)
{
    while (digits-- > 0) {
        out[digits] = (char)('0' + v % 10);
        v /= 10;
    }
}

const char *llm_audit_time_format(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    int year;
    char *out;

    apr_time_exp_gmt(&tm, t);
    year = tm.tm_year + 1900;
    /* 'Z' rather than '+00': both PostgreSQL and SQLite's date functions
     * read it, and text comparison on SQLite stays chronological. */
    if (year < 0 || year > 9999 || tm.tm_usec < 0) {
        return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d.%06dZ",
                            year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                            tm.tm_min, tm.tm_sec, tm.tm_usec);
    }
    /* Written digit by digit: every record formats two of these, and
     * the formatter was a visible share of the audit's CPU. */
    out = apr_palloc(p, sizeof("YYYY-MM-DD hh:mm:ss.uuuuuuZ"));
    put_fixed(out, year, 4);
    out[4] = '-';
    put_fixed(out + 5, tm.tm_mon + 1, 2);
    out[7] = '-';
    put_fixed(out + 8, tm.tm_mday, 2);
    out[10] = ' ';
    put_fixed(out + 11, tm.tm_hour, 2);
    out[13] = ':';
    put_fixed(out + 14, tm.tm_min, 2);
    out[16] = ':';
    put_fixed(out + 17, tm.tm_sec, 2);
    out[19] = '.';
    put_fixed(out + 20, tm.tm_usec, 6);
    out[26] = 'Z';
    out[27] = '\0';
    return out;
}

/* Already what "%" APR_INT64_T_FMT prints ("0", or an optional minus and
 * up to 18 digits without a leading zero): most integer fields are, and
 * they need no round trip through a number. */
static int is_printed_int(const char *v)
{
    const char *d = v + (*v == '-');
    apr_size_t n = 0;

    if (*d == '0') {
        return d == v && d[1] == '\0';
    }
    while (d[n] >= '0' && d[n] <= '9') {
        n++;
    }
    return n > 0 && n <= 18 && d[n] == '\0';
}

const char *llm_audit_normalise(apr_pool_t *p, int f, const char *value)
{
    char *end;

    if (!value) {
        return NULL;
    }
    switch (llm_audit_field_type(f)) {
    case LLM_AUDIT_T_INT: {
        apr_int64_t n;

        if (is_printed_int(value)) {
            return value;
        }
        n = apr_strtoi64(value, &end, 10);

        if (end != value && *end == '\0') {
            return apr_psprintf(p, "%" APR_INT64_T_FMT, n);
        }
        break;
    }
    case LLM_AUDIT_T_DECIMAL: {
        /* SQLite keeps REAL and prints it its own way; PostgreSQL's
         * NUMERIC(20,9) prints nine decimals.  Both round-trip through a
         * double at the precision the column holds. */
        double d = strtod(value, &end);

        if (end != value && *end == '\0') {
            return apr_psprintf(p, "%.9f", d);
        }
        break;
    }
    case LLM_AUDIT_T_TIME:
    case LLM_AUDIT_T_TEXT:
        break;
    }
    return value;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if
 * none: what PostgreSQL keeps in text and jansson loads. */
static apr_size_t utf8_len(const unsigned char *s, apr_size_t n)
{
    apr_size_t len, i;
    unsigned int cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* No overlong forms, surrogates or code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
        || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    return len;
}

const char *llm_audit_utf8(apr_pool_t *p, const char *value)
{
    const unsigned char *s = (const unsigned char *)value;
    apr_size_t n, i, k;
    char *out;

    if (!value) {
        return NULL;
    }
    n = strlen(value);
    /* ASCII eight bytes at a time: most values are nothing else. */
    for (i = 0; n - i >= 8; i += 8) {
        apr_uint64_t x;

        memcpy(&x, s + i, 8);
        if (x & APR_UINT64_C(0x8080808080808080)) {
            break;
        }
    }
    for (; i < n; i += k) {
        if ((k = utf8_len(s + i, n - i)) == 0) {
            break;
        }
    }
    if (i == n) {
        return value;
    }
    /* PostgreSQL refuses invalid UTF-8 in text: a header a client sent
     * in Latin-1 would otherwise keep the row out of the table (and its
     * spool line out forever).  Each stray byte becomes '?'. */
    out = apr_palloc(p, n + 1);
    for (i = 0; i < n; i += k) {
        k = utf8_len(s + i, n - i);
        if (k == 0) {
            out[i] = '?';
            k = 1;
        }
        else {
            memcpy(out + i, s + i, k);
        }
    }
    out[n] = '\0';
    return out;
}

/* Writes n in decimal at out; returns the digits written. */
static apr_size_t put_decimal(char *out, apr_size_t n)
{
    char tmp[24];
    apr_size_t k = 0, i;

    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (i = 0; i < k; i++) {
        out[i] = tmp[k - 1 - i];
    }
    return k;
}

const char *llm_audit_canonical(apr_pool_t *p, const llm_audit_record_t *rec,
                                apr_size_t *len)
{
    const char *v[LLM_AUDIT_NFIELDS];
    apr_size_t vlen[LLM_AUDIT_NFIELDS], nlen[LLM_AUDIT_NFIELDS];
    apr_size_t total = sizeof(LLM_AUDIT_CANON_VERSION);
    char *out, *at;
    int f;

    /* Sized first and written once: the canonical form is built for
     * every record, and formatting it piece by piece was a visible share
     * of the audit's CPU. */
    for (f = 0; f < LLM_AUDIT_F_MAC; f++) {
        v[f] = llm_audit_normalise(p, f, rec->v[f]);
        if (v[f]) {
            vlen[f] = strlen(v[f]);
            nlen[f] = fields[f].len;
            total += nlen[f] + vlen[f] + 24;   /* '=', digits, ':', '\n' */
        }
    }
    out = at = apr_palloc(p, total + 1);
    memcpy(at, LLM_AUDIT_CANON_VERSION "\n", sizeof(LLM_AUDIT_CANON_VERSION));
    at += sizeof(LLM_AUDIT_CANON_VERSION);
    for (f = 0; f < LLM_AUDIT_F_MAC; f++) {
        /* NULL fields are left out entirely (see audit_record.h); the
         * length prefix keeps a value from posing as the next field. */
        if (!v[f]) {
            continue;
        }
        memcpy(at, fields[f].name, nlen[f]);
        at += nlen[f];
        *at++ = '=';
        at += put_decimal(at, vlen[f]);
        *at++ = ':';
        memcpy(at, v[f], vlen[f]);
        at += vlen[f];
        *at++ = '\n';
    }
    *at = '\0';
    *len = (apr_size_t)(at - out);
    return out;
}

/* Bytes a JSON string holds as they are: printable ASCII but '"' and
 * '\\'.  A run of them is measured and copied at once: most values
 * (ids, times, numbers, model names) are nothing else, and testing and
 * storing byte after byte, twice (count, then write), was most of what
 * a record's JSON line cost. */
#define PLAIN(c) ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')

#define ONES  APR_UINT64_C(0x0101010101010101)
#define HIGHS APR_UINT64_C(0x8080808080808080)

/* The end of the run of PLAIN bytes at s, eight bytes at a time: a word
 * with no byte >= 0x80, none < 0x20 and none equal to '"' or '\\' is
 * plain through (the usual test for a byte below n, exact as a yes/no),
 * and the first word that is not is finished byte by byte. */
static const unsigned char *plain_run(const unsigned char *s,
                                      const unsigned char *end)
{
    while (end - s >= 8) {
        apr_uint64_t x, q, b;

        memcpy(&x, s, 8);
        q = x ^ (ONES * '"');
        b = x ^ (ONES * '\\');
        if (((x & HIGHS)
             | ((x - ONES * 0x20) & ~x & HIGHS)
             | ((q - ONES) & ~q & HIGHS)
             | ((b - ONES) & ~b & HIGHS)) != 0) {
            break;
        }
        s += 8;
    }
    while (s < end && PLAIN(*s)) {
        s++;
    }
    return s;
}

/* Write v (vlen bytes) as a JSON string body at out (NULL: only count);
 * returns the bytes.  Ill-formed UTF-8 becomes U+FFFD, so the line always
 * loads. */
static apr_size_t json_escape(char *out, const char *v, apr_size_t vlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)v;
    const unsigned char *end = s + vlen;
    apr_size_t n = 0;

    while (s < end) {
        const unsigned char *run = s;
        unsigned char c;
        apr_size_t k;
        char esc = 0;

        s = plain_run(s, end);
        if (s > run) {
            if (out) {
                memcpy(out + n, run, (apr_size_t)(s - run));
            }
            n += (apr_size_t)(s - run);
            if (s == end) {
                break;
            }
        }
        c = *s;
        switch (c) {
        case '"': esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        }
        if (esc) {
            if (out) {
                out[n] = '\\';
                out[n + 1] = esc;
            }
            n += 2;
            s++;
        }
        else if (c < 0x20) {
            if (out) {
                memcpy(out + n, "\\u00", 4);
                out[n + 4] = hex[c >> 4];
                out[n + 5] = hex[c & 15];
            }
            n += 6;
            s++;
        }
        else if ((k = utf8_len(s, (apr_size_t)(end - s))) > 0) {
            if (out) {
                memcpy(out + n, s, k);
            }
            n += k;
            s += k;
        }
        else {
            if (out) {
                memcpy(out + n, "\xef\xbf\xbd", 3);
            }
            n += 3;
            s++;
        }
    }
    return n;
}

/* Written directly, not through a jansson tree: this runs for every
 * record LLMAuditBatch journals, and the tree and its dump were most of
 * the batch path's CPU.  Loaded back by llm_audit_record_from_json. */
char *llm_audit_record_to_json(apr_pool_t *p, const llm_audit_record_t *rec)
{
    apr_size_t len = 2, at, vlen[LLM_AUDIT_NFIELDS];
    char *out;
    int f, first = 1;

    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        if (rec->v[f]) {
            /* ,"name":"value" */
            vlen[f] = strlen(rec->v[f]);
            len += 6 + fields[f].len + json_escape(NULL, rec->v[f], vlen[f]);
        }
    }
    out = apr_palloc(p, len + 1);
    at = 0;
    out[at++] = '{';
    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        apr_size_t nl;

        if (!rec->v[f]) {
            continue;
        }
        if (!first) {
            out[at++] = ',';
        }
        first = 0;
        nl = fields[f].len;
        out[at++] = '"';
        memcpy(out + at, fields[f].name, nl);
        at += nl;
        out[at++] = '"';
        out[at++] = ':';
        out[at++] = '"';
        at += json_escape(out + at, rec->v[f], vlen[f]);
        out[at++] = '"';
    }
    out[at++] = '}';
    out[at] = '\0';
    return out;
}

/* The JSON object's known string members into rec; APR_EINVAL when the
 * line is no object or lacks a column every record has. */
static apr_status_t parse_json(apr_pool_t *p, const char *line,
                               apr_size_t len, llm_audit_record_t *rec,
                               int sealed)
{
    json_t *obj;
    json_error_t err;
    const char *key;
    json_t *val;

    memset(rec, 0, sizeof(*rec));
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        return APR_EINVAL;
    }
    json_object_foreach(obj, key, val) {
        int f = llm_audit_field_index(key);

        if (f >= 0 && json_is_string(val)) {
            rec->v[f] = apr_pstrmemdup(p, json_string_value(val),
                                       json_string_length(val));
        }
    }
    json_decref(obj);
    if (!rec->v[LLM_AUDIT_F_TS] || !rec->v[LLM_AUDIT_F_REQUEST_ID]
        || !rec->v[LLM_AUDIT_F_CHAIN_ID] || !rec->v[LLM_AUDIT_F_DECISION]) {
        return APR_EINVAL;
    }
    if (sealed && (!rec->v[LLM_AUDIT_F_SEQ] || !rec->v[LLM_AUDIT_F_PREV_MAC]
                   || !rec->v[LLM_AUDIT_F_MAC])) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t llm_audit_record_from_json(apr_pool_t *p, const char *line,
                                        apr_size_t len,
                                        llm_audit_record_t *rec)
{
    return parse_json(p, line, len, rec, 1);
}

apr_status_t llm_audit_intent_from_json(apr_pool_t *p, const char *line,
                                        apr_size_t len,
                                        llm_audit_record_t *rec)
{
    return parse_json(p, line, len, rec, 0);
}

llm_audit_record_t *llm_audit_end_record(apr_pool_t *p, const char *chain_id,
                                         const char *server_name,
                                         const char *reason)
{
    llm_audit_record_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->v[LLM_AUDIT_F_TS] = llm_audit_time_format(p, apr_time_now());
    rec->v[LLM_AUDIT_F_REQUEST_ID] = apr_pstrcat(p, "chain-end:", chain_id,
                                                 NULL);
    rec->v[LLM_AUDIT_F_SERVER_NAME] = server_name;
    rec->v[LLM_AUDIT_F_DECISION] = LLM_AUDIT_DECISION_END;
    rec->v[LLM_AUDIT_F_REASON] = reason;
    return rec;
}

int llm_audit_is_end_record(const llm_audit_record_t *rec)
{
    return rec->v[LLM_AUDIT_F_DECISION]
           && !strcmp(rec->v[LLM_AUDIT_F_DECISION], LLM_AUDIT_DECISION_END);
}

/* PostgreSQL's type for a column, for the casts its driver needs:
 * apr_dbd_pgsql declares every %s parameter as varchar, which PostgreSQL
 * will not put into a timestamptz, bigint or json column unconverted. */
static const char *pg_type(int f)
{
    if (f == LLM_AUDIT_F_FINDINGS) {
        return "json";
    }
    switch (fields[f].type) {
    case LLM_AUDIT_T_INT:     return "bigint";
    case LLM_AUDIT_T_DECIMAL: return "numeric";
    case LLM_AUDIT_T_TIME:    return "timestamptz";
    case LLM_AUDIT_T_TEXT:    break;
    }
    return NULL;
}

const char *llm_audit_insert_sql_rows(apr_pool_t *p, const char *driver,
                                      int rows)
{
    const char *cols = "", *vals = "", *all;
    int pg = driver && !strcmp(driver, "pgsql");
    int f, i;

    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        const char *t = pg ? pg_type(f) : NULL;

        cols = apr_pstrcat(p, cols, f ? ", " : "", fields[f].name, NULL);
        vals = apr_pstrcat(p, vals, f ? ", " : "",
                           t ? apr_pstrcat(p, "CAST(%s AS ", t, ")", NULL)
                             : "%s", NULL);
    }
    /* Several rows in one statement (LLMAuditBatch): one round trip and
     * one commit, and no transaction held open across calls. */
    all = apr_pstrcat(p, "(", vals, ")", NULL);
    for (i = 1; i < rows; i++) {
        all = apr_pstrcat(p, all, ", (", vals, ")", NULL);
    }
    /* ON CONFLICT DO NOTHING: PostgreSQL 9.5+ and SQLite 3.24+ read the
     * same text.  No conflict target: naming (request_id, ts) would make
     * PostgreSQL ask for SELECT on them, and the gateway's role has
     * INSERT only.  The only unique key a replayed row can hit is
     * (request_id, ts): the id is the database's. */
    return apr_pstrcat(p, "INSERT INTO llm_audit (", cols, ") VALUES ",
                       all, " ON CONFLICT DO NOTHING", NULL);
}

const char *llm_audit_insert_sql(apr_pool_t *p, const char *driver)
{
    return llm_audit_insert_sql_rows(p, driver, 1);
}

const char *llm_audit_select_sql(apr_pool_t *p, const char *driver)
{
    const char *cols = "id";
    int pg = driver && !strcmp(driver, "pgsql");
    int f;

    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        const char *expr = fields[f].name;

        if (pg && f == LLM_AUDIT_F_TS) {
            /* Independent of the session's TimeZone and DateStyle. */
            expr = "to_char(ts AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD HH24:MI:SS.US') || 'Z'";
        }
        cols = apr_pstrcat(p, cols, ", ", expr, NULL);
    }
    return apr_pstrcat(p, "SELECT ", cols, " FROM llm_audit", NULL);
}
