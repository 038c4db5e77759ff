/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Decoded views: what a model reads back from text that hides a value
 * from a byte scan.  Invisible format characters (U+200B, U+200C,
 * U+200D, U+2060, U+FEFF, soft hyphen) split a key or an address without
 * changing what it says; percent-encoding (%40, %2540 twice over, or every
 * character of a value) spells it in other bytes.
 *
 * When a cheap trigger fires (a format character present; a %XX escape
 * of a letter, digit or URL delimiter), the text is rewritten into a
 * view, each view byte remembering the raw bytes it came from, and the
 * view is scanned with the same rules.  Findings are mapped back onto the
 * raw text, so redaction replaces the right bytes: all of them, the
 * invisible ones and the escapes included.  Overlap resolution then keeps
 * one finding where the raw scan found (part of) the same value.
 *
 * Base64 that decodes to text is a view too, started by the rule
 * base64-credentials at its anchors (docker "auth", npm _auth, base64 -d,
 * base64 JSON "eyJ", kind: Secret, base64 of the start of a connection
 * string, a token or a .env line) rather than by looking at every run
 * of base64 (which cost 12% of the scan: agent text is mostly runs of
 * the base64 alphabet): each byte of such a view stands for the whole run, so what
 * is found in it redacts the run and is reported under its own type.
 */

#include <string.h>
#if defined(__SSE2__) && !defined(LLM_SCAN_NO_SIMD)
#include <emmintrin.h>
#endif

#include "scan_private.h"

/* views of views (base64 JSON holding a base64 auth) go this deep */
#define MAX_DEPTH 3
/* the most base64 decoded for one view */
#define MAX_B64 16384

typedef struct {
    unsigned char *t;
    size_t len;
    size_t *from;        /* raw offset of the first byte view byte i came from */
    size_t *to;          /* raw offset just past its last byte */
} view_t;

/* Length of the format character at t[i], or 0. */
static size_t format_char(const unsigned char *t, size_t n, size_t i)
{
    if (t[i] == 0xe2 && i + 2 < n) {
        if (t[i + 1] == 0x80 && t[i + 2] >= 0x8b && t[i + 2] <= 0x8d) {
            return 3;            /* U+200B ZWSP, U+200C ZWNJ, U+200D ZWJ */
        }
        if (t[i + 1] == 0x81 && t[i + 2] == 0xa0) {
            return 3;            /* U+2060 WORD JOINER */
        }
    }
    else if (t[i] == 0xef && i + 2 < n && t[i + 1] == 0xbb && t[i + 2] == 0xbf) {
        return 3;                /* U+FEFF */
    }
    else if (t[i] == 0xc2 && i + 1 < n && t[i + 1] == 0xad) {
        return 2;                /* U+00AD SOFT HYPHEN */
    }
    return 0;
}

static int hexval(unsigned char c)
{
    return LLM_IS_DIGIT(c) ? c - '0' : LLM_IS_HEX(c) ? (c | 32) - 'a' + 10 : -1;
}

/* %XX at t[i]: the byte, or -1 */
static int escape_at(const unsigned char *t, size_t n, size_t i)
{
    int h, l;

    if (t[i] != '%' || i + 2 >= n || (h = hexval(t[i + 1])) < 0
        || (l = hexval(t[i + 2])) < 0) {
        return -1;
    }
    return h * 16 + l;
}

/* An escape that can hide part of a value: a letter, digit or one of the
 * delimiters of addresses and credentials.  %20 and %22 (spaces and
 * quotes in URLs) do not make a view. */
static int telling_escape(int b)
{
    return LLM_IS_ALNUM(b) || b == '@' || b == ':' || b == '/' || b == '%'
           || b == '=' || b == '&' || b == '+' || b == '.' || b == '_'
           || b == '-' || b == '?' || b == '#';
}

static int has_escapes(const unsigned char *t, size_t n)
{
    const unsigned char *p;
    int b;

    for (p = memchr(t, '%', n); p; p = memchr(p + 1, '%', n - (size_t)(p + 1 - t))) {
        b = escape_at(t, n, (size_t)(p - t));
        if (b >= 0 && telling_escape(b)) {
            return 1;
        }
        if ((size_t)(p + 1 - t) >= n) {
            break;
        }
    }
    return 0;
}

/* What the byte at t[i] opens: a format character (*fmt) or a telling
 * %XX escape (*pct). */
static void judge_at(const unsigned char *t, size_t n, size_t i, int *fmt,
                     int *pct)
{
    int b;

    if (t[i] == '%') {
        *pct = *pct || ((b = escape_at(t, n, i)) >= 0 && telling_escape(b));
    }
    else {
        *fmt = *fmt || format_char(t, n, i) != 0;
    }
}

/* Does t hold a format character (*fmt), a telling %XX escape (*pct)?
 * One pass for both, sixteen bytes at a time where the CPU has SSE2,
 * looking closer only at the bytes that may open one ('%' and the lead
 * bytes 0xc2, 0xe2, 0xef), and done once both are found: the four
 * memchr passes this replaces were 7% of the scan of a 1 MB agent body. */
static void judge_text(const unsigned char *t, size_t n, int *fmt, int *pct)
{
    size_t i = 0;

    *fmt = *pct = 0;
#if defined(__SSE2__) && !defined(LLM_SCAN_NO_SIMD)
    {
        const __m128i pc = _mm_set1_epi8('%'), c2 = _mm_set1_epi8((char)0xc2);
        const __m128i e2 = _mm_set1_epi8((char)0xe2);
        const __m128i ef = _mm_set1_epi8((char)0xef);

        for (; i + 16 <= n; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(t + i));
            unsigned int m = (unsigned int)_mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(x, pc), _mm_cmpeq_epi8(x, c2)),
                _mm_or_si128(_mm_cmpeq_epi8(x, e2), _mm_cmpeq_epi8(x, ef))));
            while (m) {
                judge_at(t, n, i + (size_t)__builtin_ctz(m), fmt, pct);
                if (*fmt && *pct) {
                    return;
                }
                m &= m - 1;
            }
        }
    }
#endif
    for (; i < n; i++) {
        if (t[i] == '%' || t[i] == 0xc2 || t[i] == 0xe2 || t[i] == 0xef) {
            judge_at(t, n, i, fmt, pct);
            if (*fmt && *pct) {
                return;
            }
        }
    }
}

/* Can t hold a format character (its lead byte, 0xc2 and up) or a %XX
 * escape at all?  For the short strings of an agent's request (keys and
 * names of tool schemas, ids: most of its hundreds of units) one plain
 * loop costs less than the four memchr calls that would each find
 * nothing. */
static int maybe_view(const unsigned char *t, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (t[i] >= 0xc2 || t[i] == '%') {
            return 1;
        }
    }
    return 0;
}

/* One pass over src (raw text when from is NULL): format characters
 * dropped, %XX decoded when decode is set. */
static void rewrite(apr_pool_t *p, const unsigned char *t, size_t n,
                    const size_t *from, const size_t *to, int decode,
                    int drop_format, view_t *out)
{
    size_t i = 0, o = 0, k;
    int b;

    out->t = apr_palloc(p, n + 1);
    out->from = apr_palloc(p, sizeof(size_t) * (n + 1));
    out->to = apr_palloc(p, sizeof(size_t) * (n + 1));
    while (i < n) {
        if (drop_format && (k = format_char(t, n, i))) {
            i += k;
            continue;
        }
        if (decode && (b = escape_at(t, n, i)) >= 0) {
            out->t[o] = (unsigned char)b;
            out->from[o] = from ? from[i] : i;
            out->to[o] = to ? to[i + 2] : i + 3;
            o++;
            i += 3;
            continue;
        }
        out->t[o] = t[i];
        out->from[o] = from ? from[i] : i;
        out->to[o] = to ? to[i] : i + 1;
        o++;
        i++;
    }
    out->t[o] = '\0';
    out->len = o;
}

/* Scan the view with the same rules (built-in, keyword lists, the admin's
 * patterns) and add what it finds, mapped onto
 * the raw text, to the raw scan's candidates. */
static void scan_view(llm_scan_ctx_t *cx, const view_t *v)
{
    llm_scan_ctx_t sub;
    int i;

    memset(&sub, 0, sizeof(sub));
    sub.depth = cx->depth + 1;
    sub.rs = cx->rs;
    sub.t = v->t;
    sub.len = v->len;
    sub.p = cx->p;
    sub.md = cx->md;
    llm_scan_prefilter_run(&sub);
    if (!sub.error && cx->rs->kw) {
        llm_scan_kw_run(&sub);
    }
    /* an admin's pattern is a value like any other: a project code or an
     * internal token percent-encoded or in base64 is still that */
    if (!sub.error) {
        llm_scan_run_admin(&sub);
    }
    if (!cx->md) {
        cx->md = sub.md;        /* same pool: the raw scan may reuse it */
    }
    if (sub.error) {
        cx->error = 1;
        return;
    }
    for (i = 0; sub.cands && i < sub.cands->nelts; i++) {
        const llm_scan_cand_t *c = &APR_ARRAY_IDX(sub.cands, i, llm_scan_cand_t);
        llm_scan_cand_t *m = llm_scan_cand_push(cx);
        m->off = v->from[c->off];
        m->len = v->to[c->off + c->len - 1] - m->off;
        m->rule = c->rule;
        m->prio = c->prio;
    }
}

void llm_scan_views(llm_scan_ctx_t *cx)
{
    int fmt, pct;
    view_t v, v2;

    if (cx->len < 4 || (cx->len <= 64 && !maybe_view(cx->t, cx->len))) {
        return;
    }
    judge_text(cx->t, cx->len, &fmt, &pct);
    if (!fmt && !pct) {
        return;
    }
    rewrite(cx->p, cx->t, cx->len, NULL, NULL, pct, fmt, &v);
    /* %2540 is %40 once decoded: decode what the first pass uncovered */
    if (pct && has_escapes(v.t, v.len)) {
        rewrite(cx->p, v.t, v.len, v.from, v.to, 1, 0, &v2);
        v = v2;
    }
    scan_view(cx, &v);
}

/* ---- base64 that decodes to text ---------------------------------------- */

static int b64c(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '+' || c == '/' || c == '-' || c == '_';
}

/* The base64 run at s: its end, '=' padding included. */
static size_t b64_end(const unsigned char *t, size_t n, size_t s)
{
    size_t e = s;

    while (e < n && e - s < MAX_B64 && b64c(t[e])) {
        e++;
    }
    while (e < n && t[e] == '=' && e - s < MAX_B64 + 2) {
        e++;
    }
    return e;
}

/* Decoded bytes that are text: printable ASCII, blanks, UTF-8; no NUL
 * nor other control bytes. */
static int is_text(const unsigned char *d, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if ((d[k] < 0x20 && d[k] != '\n' && d[k] != '\r' && d[k] != '\t')
            || d[k] == 0x7f) {
            return 0;
        }
    }
    return n > 0;
}

/* base64 of [s, e) decoded into a view whose every byte stands for the
 * whole run: a finding in it redacts the run.  prefix (may be empty) is
 * put first, each byte standing for itself at praw. */
static int b64_view(llm_scan_ctx_t *cx, size_t s, size_t e, const char *prefix,
                    size_t plen, size_t praw, view_t *v)
{
    size_t n = e - s, o, k;
    unsigned char *d;

    while (n > 0 && cx->t[s + n - 1] == '=') {
        n--;
    }
    if (n < 8) {
        return 0;
    }
    d = apr_palloc(cx->p, plen + n + 1);
    memcpy(d, prefix, plen);
    o = llm_scan_b64_decode(cx->t + s, n, d + plen, n);
    if (o < 4 || !is_text(d + plen, o)) {
        return 0;
    }
    v->t = d;
    v->len = plen + o;
    v->t[v->len] = '\0';
    v->from = apr_palloc(cx->p, sizeof(size_t) * (v->len + 1));
    v->to = apr_palloc(cx->p, sizeof(size_t) * (v->len + 1));
    for (k = 0; k < plen; k++) {
        v->from[k] = praw + k;
        v->to[k] = praw + k + 1;
    }
    for (; k < v->len; k++) {
        v->from[k] = s;
        v->to[k] = e;
    }
    return 1;
}

/* docker "auth" and npm "_auth": base64 of user:password */
static void user_pass(llm_scan_ctx_t *cx, int rule, size_t s, size_t e)
{
    view_t v;
    const unsigned char *c;
    size_t k;

    if (!b64_view(cx, s, e, "", 0, 0, &v)) {
        return;
    }
    c = memchr(v.t, ':', v.len);
    for (k = 0; k < v.len; k++) {
        if (v.t[k] <= ' ') {
            scan_view(cx, &v);   /* not user:password: scan what it says */
            return;
        }
    }
    if (c && c > v.t && (size_t)(c - v.t) + 1 < v.len
        && !llm_scan_password_placeholder(c + 1, v.len - (size_t)(c - v.t) - 1)) {
        llm_scan_emit(cx, rule, s, e - s);
    }
}

/* the value after a name: skip blanks, one ':' or '=', blanks, a quote */
static size_t value_start(const unsigned char *t, size_t n, size_t k)
{
    while (k < n && (t[k] == '"' || t[k] == '\'' || t[k] == ' ' || t[k] == '\t')) {
        k++;
    }
    if (k < n && (t[k] == ':' || t[k] == '=')) {
        k++;
    }
    while (k < n && (t[k] == ' ' || t[k] == '\t' || t[k] == '"' || t[k] == '\'')) {
        k++;
    }
    return k;
}

static size_t line_begin(const unsigned char *t, size_t k)
{
    while (k > 0 && t[k - 1] != '\n') {
        k--;
    }
    return k;
}

/* One data entry of a Kubernetes Secret, key [ks, ke) and base64 value
 * [vs, ve), scanned as "key: <decoded>" so the key names what the value
 * is ("DATABASE_URL: postgres://app:pw@db" yields the password). */
static void k8s_entry(llm_scan_ctx_t *cx, size_t ks, size_t ke, size_t vs,
                      size_t ve)
{
    view_t v;
    char *pre = apr_palloc(cx->p, ke - ks + 2);

    memcpy(pre, cx->t + ks, ke - ks);
    pre[ke - ks] = ':';
    pre[ke - ks + 1] = ' ';
    if (b64_view(cx, vs, ve, pre, ke - ks + 2, ks, &v)) {
        /* ": " stands for the byte after the key, whatever it is */
        v.from[ke - ks] = v.from[ke - ks + 1] = ke;
        v.to[ke - ks] = v.to[ke - ks + 1] = ke + 1;
        scan_view(cx, &v);
    }
}

/* YAML: "data:" at the end of its line, then "  key: base64" lines
 * indented deeper.  Returns where the block ends. */
static size_t k8s_yaml_data(llm_scan_ctx_t *cx, size_t d, size_t to)
{
    const unsigned char *t = cx->t;
    size_t ind = d - line_begin(t, d), k, ks, ke, vs, ve, ls;

    for (k = d + 5; k < to;) {
        while (k < to && (t[k] == '\n' || t[k] == '\r')) {
            k++;
        }
        ls = k;
        while (k < to && t[k] == ' ') {
            k++;
        }
        if (k - ls <= ind || k >= to) {
            return ls;           /* the data block ends */
        }
        ks = k;
        while (k < to && t[k] != ':' && t[k] != '\n' && t[k] != ' ') {
            k++;
        }
        ke = k;
        if (k >= to || t[k] != ':' || ke == ks) {
            return k;
        }
        vs = value_start(t, to, k);
        ve = b64_end(t, to, vs);
        if (ve - vs >= 8 && (ve == to || t[ve] == '\n' || t[ve] == '\r'
                             || t[ve] == '"' || t[ve] == ' ')) {
            k8s_entry(cx, ks, ke, vs, ve);
        }
        while (k < to && t[k] != '\n') {
            k++;
        }
    }
    return k;
}

static size_t skip_ws(const unsigned char *t, size_t n, size_t k)
{
    while (k < n && (t[k] == ' ' || t[k] == '\t' || t[k] == '\n'
                     || t[k] == '\r')) {
        k++;
    }
    return k;
}

/* JSON (kubectl get secret -o json): "data": { "key": "base64", ... }.
 * d is at the opening quote of "data".  Returns where the object ends. */
static size_t k8s_json_data(llm_scan_ctx_t *cx, size_t d, size_t to)
{
    const unsigned char *t = cx->t;
    size_t k = skip_ws(t, to, d + 6), ks, ke, vs, ve;

    if (k >= to || t[k] != ':') {
        return d + 1;
    }
    k = skip_ws(t, to, k + 1);
    if (k >= to || t[k] != '{') {
        return d + 1;
    }
    for (k++;;) {
        k = skip_ws(t, to, k);
        if (k < to && t[k] == ',') {
            k = skip_ws(t, to, k + 1);
        }
        if (k >= to || t[k] != '"') {
            return k;            /* '}' or not a Secret's data after all */
        }
        ks = ++k;
        while (k < to && t[k] != '"' && t[k] != '\\' && t[k] != '\n') {
            k++;
        }
        ke = k;
        if (k >= to || t[k] != '"' || ke == ks) {
            return k;
        }
        k = skip_ws(t, to, k + 1);
        if (k >= to || t[k] != ':') {
            return k;
        }
        k = skip_ws(t, to, k + 1);
        if (k >= to || t[k] != '"') {
            return k;
        }
        vs = k + 1;
        ve = b64_end(t, to, vs);
        if (ve >= to || t[ve] != '"') {
            return ve;
        }
        if (ve - vs >= 8) {
            k8s_entry(cx, ks, ke, vs, ve);
        }
        k = ve + 1;
    }
}

/* Kubernetes Secret at "Secret" of its kind: the data blocks of the
 * document around it, YAML or JSON.  Every block of the document is
 * read, not only the nearest: kubectl prints data before kind, a
 * manifest after it, and a list holds many Secrets (k8s_done keeps each
 * block to one reading). */
static void k8s_secret(llm_scan_ctx_t *cx, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, from, to, k, d;

    /* the YAML document around kind: Secret */
    from = at > 8192 ? at - 8192 : 0;
    for (k = at; k > from + 3; k--) {
        if (t[k - 1] == '\n' && !memcmp(t + k, "---", 3)) {
            break;
        }
    }
    from = k > from + 3 ? k : from;
    to = at + 8192 < n ? at + 8192 : n;
    for (k = at; k + 4 < to; k++) {
        if (t[k] == '\n' && !memcmp(t + k + 1, "---", 3)) {
            break;
        }
    }
    to = k + 4 < to ? k : to;
    if (cx->k8s_done > from) {
        from = cx->k8s_done;
    }
    for (d = from; d + 5 <= to;) {
        if (!memcmp(t + d, "data:", 5)
            && (d == 0 || t[d - 1] == ' ' || t[d - 1] == '\n')
            && (d + 5 == to || t[d + 5] == '\n' || t[d + 5] == '\r')) {
            d = k8s_yaml_data(cx, d, to);
        }
        else if (d + 6 <= to && !memcmp(t + d, "\"data\"", 6)) {
            d = k8s_json_data(cx, d, to);
        }
        else {
            d++;
        }
        if (cx->error) {
            return;
        }
    }
    if (to > cx->k8s_done) {
        cx->k8s_done = to;
    }
}

size_t llm_scan_find_b64_view(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, s, e, k;
    view_t v;

    if (cx->depth >= MAX_DEPTH) {
        return at + 1;
    }
    /* "auth": "..." (docker config.json), _auth=... (.npmrc) */
    if (at + 5 <= n && !memcmp(t + at, "auth\"", 5)) {
        if (at == 0 || t[at - 1] != '"') {
            return at + 1;
        }
        s = value_start(t, n, at + 5);
        e = b64_end(t, n, s);
        if (s > at + 5 && e - s >= 8) {
            user_pass(cx, rule, s, e);
        }
        return at + 1;
    }
    if (at + 5 <= n && !memcmp(t + at, "auth=", 5)) {
        if (at == 0 || t[at - 1] != '_') {
            return at + 1;
        }
        s = at + 5;
        e = b64_end(t, n, s);
        if (e - s >= 8) {
            user_pass(cx, rule, s, e);
        }
        return at + 1;
    }
    /* kind: Secret */
    if (at + 6 <= n && !memcmp(t + at, "Secret", 6)) {
        for (k = at; k > 0 && at - k < 12 && (t[k - 1] == ' ' || t[k - 1] == '"'
                                               || t[k - 1] == ':'); k--) {
        }
        if (k >= 4 && !memcmp(t + k - 4, "kind", 4)) {
            k8s_secret(cx, at);
        }
        return at + 1;
    }
    /* base64 JSON: eyJ is {" -- but not a JWT's header (a '.' follows) */
    if (at + 3 <= n && !memcmp(t + at, "eyJ", 3)) {
        if (at > 0 && b64c(t[at - 1])) {
            return at + 1;
        }
        e = b64_end(t, n, at);
        if (e - at >= 24 && (e >= n || t[e] != '.')
            && b64_view(cx, at, e, "", 0, 0, &v)) {
            scan_view(cx, &v);
        }
        return e > at + 1 ? e : at + 1;
    }
    /* echo <b64> | base64 -d, base64 --decode <<< <b64> (the anchor is
     * "4 -d" of it: "base64" itself is common in base64 text) */
    if (at >= 5 && !memcmp(t + at - 5, "base6", 5)
        && (at + 4 <= n && !memcmp(t + at, "4 -", 3))) {
        size_t ls = line_begin(t, at), q;
        at -= 5;
        /* the argument of an echo or printf before the pipe */
        for (q = at; q > ls && t[q - 1] != '|'; q--) {
        }
        if (q > ls) {
            for (k = q - 1; k > ls && (t[k - 1] == ' ' || t[k - 1] == '"'
                                       || t[k - 1] == '\''); k--) {
            }
            for (s = k; s > ls && (b64c(t[s - 1]) || t[s - 1] == '='); s--) {
            }
            if (k - s >= 12 && b64_view(cx, s, k, "", 0, 0, &v)) {
                scan_view(cx, &v);
            }
        }
        for (k = at + 8; k < n && t[k] != '\n' && t[k] != '<'; k++) {
        }
        if (k + 3 < n && !memcmp(t + k, "<<<", 3)) {
            s = k + 3;
            while (s < n && (t[s] == ' ' || t[s] == '"' || t[s] == '\'')) {
                s++;
            }
            e = b64_end(t, n, s);
            if (e - s >= 12 && b64_view(cx, s, e, "", 0, 0, &v)) {
                scan_view(cx, &v);
            }
        }
        return at + 6;
    }
    /* The other anchors are base64 of how a text holding a secret begins
     * (a connection string, a token, a .env or credentials file: the
     * list in rules_builtin.c), at the start of a run: the run is read
     * decoded, whatever stands before it (DATABASE_URL_B64=, atob(',
     * b64decode(", Buffer.from(').  Not a part of a JWT or a domain. */
    if (at > 0 && (b64c(t[at - 1]) || t[at - 1] == '.')) {
        return at + 1;
    }
    e = b64_end(t, n, at);
    if (e - at >= 16 && (e >= n || t[e] != '.')
        && b64_view(cx, at, e, "", 0, 0, &v)) {
        scan_view(cx, &v);
    }
    return e > at + 1 ? e : at + 1;
}
