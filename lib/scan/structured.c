/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Secrets with structure that a regex alone judges badly: passwords inside
 * URLs, PEM private key blocks (encrypted ones too; public material is not
 * a finding), and JWTs (the header must decode to JSON naming an "alg").
 */

#include <string.h>

#include "scan_private.h"

/* https://abc:xyz@example.com: documentation, not a credential */
static int example_host(const unsigned char *t, size_t h, size_t e)
{
    size_t k;

    for (k = h; k + 7 <= e; k++) {
        if (!memcmp(t + k, "example", 7) && (k == h || t[k - 1] == '.')) {
            return 1;
        }
    }
    return 0;
}

/* scheme://user:password@host -- the finding is the password only */
size_t llm_scan_rec_url(llm_scan_ctx_t *cx, size_t pos)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, u = pos + 3, e, at = 0, k;

    if (pos == 0 || !LLM_IS_ALPHA(t[pos - 1])) {
        return pos + 1;
    }
    for (e = u; e < n && e - u < 512; e++) {
        unsigned char c = t[e];
        if (c == '/' || c == '?' || c == '#' || c <= ' ' || c == '"'
            || c == '\'' || c == '<' || c == '>' || c == '`' || c == '\\') {
            break;
        }
        if (c == '@') {
            at = e;
        }
    }
    if (!at) {
        return u;
    }
    for (k = u; k < at && t[k] != ':'; k++) {
    }
    if (k + 3 < at) {
        const unsigned char *pw = t + k + 1;
        size_t pl = at - k - 1;
        if (pw[0] != '$' && pw[0] != '{' && pw[0] != '<' && pw[0] != '%'
            && pw[0] != '[' && !llm_scan_password_placeholder(pw, pl)
            && !example_host(t, at + 1, e)) {
            llm_scan_emit(cx, LLM_R_CONN_PASSWORD, k + 1, pl);
        }
    }
    /* the user part may itself be a token (https://ghp_...@github.com) */
    return u;
}

static const unsigned char *find_lit(const unsigned char *t, size_t from,
                                     size_t to, const char *lit)
{
    size_t ll = strlen(lit), i;

    for (i = from; i + ll <= to; i++) {
        if (t[i] == (unsigned char)lit[0] && !memcmp(t + i, lit, ll)) {
            return t + i;
        }
    }
    return NULL;
}

/* An OpenSSH key names its cipher right after "openssh-key-v1\0";
 * "none" means the key is in the clear. */
static int openssh_encrypted(const unsigned char *t, size_t from, size_t to)
{
    unsigned char b64[96], raw[72];
    size_t nb = 0, i, o;
    unsigned int cl;

    for (i = from; i < to && nb < sizeof(b64); i++) {
        unsigned char c = t[i];
        if (LLM_IS_ALNUM(c) || c == '+' || c == '/') {
            b64[nb++] = c;
        }
        else if (c == '\\' && i + 1 < to && t[i + 1] == 'n') {
            i++;
        }
        else if (c == '-' && nb == 0) {
            continue;
        }
        else if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
            break;
        }
    }
    o = llm_scan_b64_decode(b64, nb, raw, sizeof(raw));
    if (o < 19 || memcmp(raw, "openssh-key-v1", 15)) {
        return 0;
    }
    cl = ((unsigned int)raw[15] << 24) | ((unsigned int)raw[16] << 16)
         | ((unsigned int)raw[17] << 8) | raw[18];
    return !(cl == 4 && o >= 23 && !memcmp(raw + 19, "none", 4));
}

static int body_byte(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '+' || c == '/' || c == '=' || c == '\n'
           || c == '\r' || c == ' ' || c == '\t' || c == '\\' || c == '"'
           || c == '-' || c == ':' || c == ',' || c == '|';
}

size_t llm_scan_rec_pem(llm_scan_ctx_t *cx, size_t pos)
{
    const unsigned char *t = cx->t, *d, *end;
    size_t n = cx->len, l = pos + 11, ll, body, stop;
    int rule;

    d = find_lit(t, l, l + 64 < n ? l + 64 : n, "-----");
    if (!d) {
        return pos + 1;
    }
    ll = (size_t)(d - t) - l;
#define LABEL(s) (ll == sizeof(s) - 1 && !memcmp(t + l, s, ll))
    if (LABEL("RSA PRIVATE KEY")) {
        rule = LLM_R_PRIVATE_KEY_RSA;
    }
    else if (LABEL("EC PRIVATE KEY")) {
        rule = LLM_R_PRIVATE_KEY_EC;
    }
    else if (LABEL("DSA PRIVATE KEY")) {
        rule = LLM_R_PRIVATE_KEY_DSA;
    }
    else if (LABEL("OPENSSH PRIVATE KEY")) {
        rule = LLM_R_PRIVATE_KEY_OPENSSH;
    }
    else if (LABEL("PGP PRIVATE KEY BLOCK")) {
        rule = LLM_R_PRIVATE_KEY_PGP;
    }
    else if (LABEL("ENCRYPTED PRIVATE KEY")) {
        rule = LLM_R_PRIVATE_KEY_ENCRYPTED;
    }
    else if (ll >= 11 && !memcmp(t + l + ll - 11, "PRIVATE KEY", 11)) {
        rule = LLM_R_PRIVATE_KEY_PKCS8;
    }
    else {
        return (size_t)(d - t) + 5;   /* public keys, certificates, CSRs */
    }
#undef LABEL
    body = (size_t)(d - t) + 5;
    /* an encrypted key is still a private key: its passphrase is often
     * weak, next to it, or guessed offline at leisure.  Reported under
     * a rule of its own so that an admin may choose otherwise. */
    if (find_lit(t, body, body + 160 < n ? body + 160 : n, "Proc-Type: 4,ENCRYPTED")
        || (rule == LLM_R_PRIVATE_KEY_OPENSSH
            && openssh_encrypted(t, body, body + 200 < n ? body + 200 : n))) {
        rule = LLM_R_PRIVATE_KEY_ENCRYPTED;
    }
    stop = body + 65536 < n ? body + 65536 : n;
    /* many BEGIN lines and no END must not make the scan quadratic: what
     * an earlier search saw without an END is not searched again */
    if (cx->pem_end_to > body && cx->pem_no_end <= body) {
        end = cx->pem_end_to >= stop ? NULL
              : find_lit(t, cx->pem_end_to - 8 > body ? cx->pem_end_to - 8 : body,
                         stop, "-----END ");
    }
    else {
        end = find_lit(t, body, stop, "-----END ");
    }
    if (!end) {
        cx->pem_no_end = body;
        cx->pem_end_to = stop;
    }
    if (end) {
        const unsigned char *close = find_lit(t, (size_t)(end - t) + 9,
                                              (size_t)(end - t) + 80 < n
                                              ? (size_t)(end - t) + 80 : n,
                                              "-----");
        stop = close ? (size_t)(close - t) + 5 : (size_t)(end - t) + 9;
    }
    else {
        /* cut off: take the body as far as it goes */
        size_t k = body;
        while (k < n && k - body < 16384 && body_byte(t[k])) {
            k++;
        }
        stop = k;
    }
    /* "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END" in docs has no key */
    {
        size_t k, run = 0, best = 0;
        for (k = body; k < stop && best < 16; k++) {
            run = (LLM_IS_ALNUM(t[k]) || t[k] == '+' || t[k] == '/') ? run + 1 : 0;
            if (run > best) {
                best = run;
            }
        }
        if (best < 16) {
            return stop;
        }
    }
    llm_scan_emit(cx, rule, pos, stop - pos);
    return stop;
}

static int b64url(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '-' || c == '_';
}

/* the token on jwt.io's front page: sub 1234567890, name John Doe */
static const char jwt_io_payload[] =
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIi";

size_t llm_scan_rec_jwt(llm_scan_ctx_t *cx, size_t pos)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, e1, e2, e3, o, k;
    unsigned char hdr[384];

    if (pos > 0 && (b64url(t[pos - 1]) || t[pos - 1] == '.')
        && !llm_scan_escape_before(t, pos)) {
        return pos + 1;
    }
    for (e1 = pos; e1 < n && b64url(t[e1]); e1++) {
    }
    if (e1 - pos < 10 || e1 >= n || t[e1] != '.') {
        return pos + 1;
    }
    for (e2 = e1 + 1; e2 < n && b64url(t[e2]); e2++) {
    }
    if (e2 - e1 - 1 < 10 || e2 >= n || t[e2] != '.') {
        return pos + 1;
    }
    for (e3 = e2 + 1; e3 < n && b64url(t[e3]); e3++) {
    }
    if (e3 - e2 - 1 < 16) {
        return pos + 1;
    }
    o = llm_scan_b64_decode(t + pos, e1 - pos, hdr, sizeof(hdr));
    for (k = 0; k < o && (hdr[k] == ' ' || hdr[k] == '\n'); k++) {
    }
    if (k >= o || hdr[k] != '{' || !find_lit(hdr, k, o, "\"alg\"")) {
        return pos + 1;
    }
    if (e2 - e1 - 1 >= sizeof(jwt_io_payload) - 1
        && !memcmp(t + e1 + 1, jwt_io_payload, sizeof(jwt_io_payload) - 1)) {
        return e3;
    }
    llm_scan_emit(cx, LLM_R_JWT, pos, e3 - pos);
    return e3;
}
