/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * Passwords that no "name = value" holds: flags of commands (their
 * regexes are in rules_builtin.c, the value check is here), arguments of
 * well-known login, bind and connect calls, taken by position, and
 * passwords given in a sentence ("user deploy, password X").
 *
 * The value alone decides whether such a thing is a password or a
 * reference to one ($PW, ${X}, %s, a variable passed instead of a
 * literal): only literals are findings.
 */

#include <string.h>

#include "scan_private.h"

static int has_subst(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k + 1 < n; k++) {
        if ((v[k] == '$' && (v[k + 1] == '{' || v[k + 1] == '('))
            || (v[k] == '{' && v[k + 1] == '{')
            || (v[k] == '%' && (v[k + 1] == 's' || v[k + 1] == '('))) {
            return 1;
        }
    }
    return 0;
}

int llm_scan_check_password(const llm_scan_ctx_t *cx, size_t off, size_t len)
{
    const unsigned char *v = cx->t + off;
    size_t k, stars = 0;

    if (len < 4 || len > 128) {
        return 0;
    }
    /* $PW, <password>, %PW%, --next-flag, *** */
    if (v[0] == '$' || v[0] == '<' || v[0] == '%' || v[0] == '-'
        || v[0] == '{' || v[0] == '`') {
        return 0;
    }
    for (k = 0; k < len; k++) {
        stars += v[k] == '*';
        if (v[k] == '\n' || v[k] == '`') {
            return 0;
        }
    }
    if (stars * 2 >= len) {
        return 0;
    }
    return !has_subst(v, len) && !llm_scan_password_placeholder(v, len);
}

/* ---- positional arguments of login, bind and connect calls ---------- */

#define ARG_EXPR 0
#define ARG_STRING 1
#define ARG_NUMBER 2
#define MAX_ARGS 8

typedef struct {
    int kind;
    size_t off, len;     /* a string's content */
} arg_t;

/* Which positional argument is the password (CONNECT: judged from the
 * arguments), and how many positional arguments the call may have. */
#define CONNECT (-1)

static const struct {
    const char *lit;
    int idx, min, max;
} calls[] = {
    { ".login(", 1, 2, 3 },                  /* smtplib, imaplib, ftplib */
    { "simple_bind_s(", 1, 2, 2 },           /* python-ldap */
    { "simple_bind(", 1, 2, 2 },
    { ".bind_s(", 1, 2, 3 },
    { "ldap_bind(", 2, 3, 3 },               /* PHP */
    { "getConnection(", 2, 3, 3 },           /* JDBC DriverManager */
    { "mysqli_connect(", 2, 3, 6 },
    { "new mysqli(", 2, 3, 6 },
    { "mysql_connect(", 2, 3, 5 },
    { "new PDO(", 2, 3, 4 },
    { "NetworkCredential(", 1, 2, 3 },       /* .NET */
    { "PasswordAuthentication(", 1, 2, 2 },  /* java.net */
    { "PasswordCredentials(", 1, 2, 2 },     /* UsernamePasswordCredentials */
    { "BasicAuth(", 1, 2, 3 },               /* requests, aiohttp, httpx */
    { "DigestAuth(", 1, 2, 2 },
    { "setPassword(", 0, 1, 1 },
    { "auth=(", 1, 2, 2 },                   /* requests auth tuple */
    { "PlainAuth(", 2, 4, 4 },               /* Go net/smtp */
    { "ftp_login(", 2, 3, 3 },               /* PHP */
    { "ssh2_auth_password(", 2, 3, 3 },
    { ".connect(", CONNECT, 3, 6 },          /* DB drivers, SSH clients */
    { NULL, 0, 0, 0 }
};

static int ident_char(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '_';
}

/* A string literal at k (with an r/b/u prefix of Python): its content. */
static size_t parse_string(const unsigned char *t, size_t n, size_t k,
                           arg_t *a)
{
    unsigned char q = t[k];
    size_t b = k + 1;

    for (k = b; k < n && k - b < 256; k++) {
        if (t[k] == '\n') {
            return 0;
        }
        if (t[k] == '\\') {
            k++;
            continue;
        }
        if (t[k] == q) {
            a->kind = ARG_STRING;
            a->off = b;
            a->len = k - b;
            return k + 1;
        }
    }
    return 0;
}

/* Skip an expression up to the ',' or ')' that ends the argument. */
static size_t skip_expr(const unsigned char *t, size_t n, size_t k, size_t lim)
{
    int depth = 0;

    while (k < n && k < lim) {
        unsigned char c = t[k];
        if (c == '"' || c == '\'') {
            arg_t dummy;
            size_t e = parse_string(t, n, k, &dummy);
            if (!e) {
                return 0;
            }
            k = e;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            depth++;
        }
        else if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) {
                return k;
            }
            depth--;
        }
        else if (c == ',' && depth == 0) {
            return k;
        }
        else if (c == ';' && depth == 0) {
            return 0;
        }
        k++;
    }
    return 0;
}

/* The positional arguments of the call whose '(' is at k; keyword
 * arguments end them.  -1 when the text is no call. */
static int parse_args(const unsigned char *t, size_t n, size_t k, arg_t *args)
{
    size_t lim = k + 600 < n ? k + 600 : n;
    int na = 0;

    k++;
    for (;;) {
        size_t b, e;
        while (k < lim && (t[k] == ' ' || t[k] == '\t' || t[k] == '\n'
                           || t[k] == '\r')) {
            k++;
        }
        if (k >= lim) {
            return -1;
        }
        if (t[k] == ')') {
            return na;
        }
        if (na == MAX_ARGS) {
            return na;
        }
        b = k;
        args[na].kind = ARG_EXPR;
        args[na].off = b;
        args[na].len = 0;
        /* keyword argument: name=value (not ==) */
        while (k < lim && ident_char(t[k])) {
            k++;
        }
        if (k > b && k + 1 < lim && (t[k] == '=' || (t[k] == ' ' && t[k + 1] == '='))) {
            size_t x = t[k] == ' ' ? k + 1 : k;
            if (x + 1 < lim && t[x + 1] != '=') {
                return na;
            }
        }
        k = b;
        if ((t[k] == 'r' || t[k] == 'b' || t[k] == 'u' || t[k] == 'R'
             || t[k] == 'f' || t[k] == 'L' || t[k] == '@')
            && k + 1 < lim && (t[k + 1] == '"' || t[k + 1] == '\'')) {
            if (t[k] == 'f') {
                args[na].kind = ARG_EXPR;  /* f"...{x}": built, not literal */
            }
            k++;
        }
        if (t[k] == '"' || t[k] == '\'') {
            int fmt = k > b && t[b] == 'f';
            if (!(e = parse_string(t, n, k, &args[na]))) {
                return -1;
            }
            if (fmt) {
                args[na].kind = ARG_EXPR;
            }
            k = e;
            /* "pw".toCharArray(), "pw".encode(): still the literal */
            if (k < lim && t[k] == '.') {
                if (!(k = skip_expr(t, n, k, lim))) {
                    return -1;
                }
            }
            else if (k < lim && t[k] != ',' && t[k] != ')' && t[k] != ' ') {
                args[na].kind = ARG_EXPR;    /* "a" + b */
                if (!(k = skip_expr(t, n, k, lim))) {
                    return -1;
                }
            }
        }
        else if (LLM_IS_DIGIT(t[k])) {
            while (k < lim && LLM_IS_DIGIT(t[k])) {
                k++;
            }
            args[na].kind = ARG_NUMBER;
            if (k < lim && t[k] != ',' && t[k] != ')' && t[k] != ' ') {
                args[na].kind = ARG_EXPR;
                if (!(k = skip_expr(t, n, k, lim))) {
                    return -1;
                }
            }
        }
        else if (!(k = skip_expr(t, n, k, lim))) {
            return -1;
        }
        na++;
        while (k < lim && (t[k] == ' ' || t[k] == '\t')) {
            k++;
        }
        if (k < lim && t[k] == ',') {
            k++;
            continue;
        }
        if (k < lim && t[k] == ')') {
            return na;
        }
        return -1;
    }
}

/* cx_Oracle.connect("scott", "pw", "dsn") puts the password second */
static int oracle_receiver(const unsigned char *t, size_t at)
{
    static const char *const words[] = { "oracle", NULL };
    size_t b = at;

    while (b > 0 && (ident_char(t[b - 1]) || t[b - 1] == '.') && at - b < 40) {
        b--;
    }
    return llm_scan_context_has(t, at, b, at, words);
}

size_t llm_scan_find_call_password(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, ll = 0;
    arg_t args[MAX_ARGS];
    int c, na, idx;

    for (c = 0; calls[c].lit; c++) {
        ll = strlen(calls[c].lit);
        if (at + ll <= n && !memcmp(t + at, calls[c].lit, ll)) {
            break;
        }
    }
    if (!calls[c].lit) {
        return at + 1;
    }
    /* a definition (def login(self, user, pw):), not a call */
    if (at >= 4 && !memcmp(t + at - 4, "def ", 4)) {
        return at + 1;
    }
    na = parse_args(t, n, at + ll - 1, args);
    if (na < calls[c].min || na > calls[c].max) {
        return at + 1;
    }
    idx = calls[c].idx;
    if (idx == CONNECT) {
        if (oracle_receiver(t, at)) {
            idx = 1;
        }
        else if (na >= 4 && args[1].kind == ARG_NUMBER) {
            idx = 3;             /* paramiko: host, port, user, password */
        }
        else if (args[0].kind != ARG_NUMBER && args[1].kind != ARG_NUMBER) {
            idx = 2;             /* host, user, password[, database] */
        }
        else {
            return at + 1;
        }
        /* the host or user given as a literal too: a driver's call, not
         * socket.connect(addr, ...) */
        if (args[0].kind != ARG_STRING && args[1].kind != ARG_STRING) {
            return at + 1;
        }
    }
    if (idx >= na || args[idx].kind != ARG_STRING
        || !llm_scan_check_password(cx, args[idx].off, args[idx].len)) {
        return at + 1;
    }
    llm_scan_emit(cx, rule, args[idx].off, args[idx].len);
    return at + 1;
}

/* ---- passwords in sentences ------------------------------------------- */

static const char *const user_words[] = {
    "user", "login", "account", "credential", "creds", "log in", "sign in",
    "benutzer", "usuario", "utilisateur", "ssh", NULL
};

/* lower, upper, digit, other: how many kinds of character v has */
static int char_classes(const unsigned char *v, size_t n, int *digit_or_sym)
{
    int lo = 0, up = 0, di = 0, ot = 0;
    size_t k;

    for (k = 0; k < n; k++) {
        if (LLM_IS_LOWER(v[k])) {
            lo = 1;
        }
        else if (LLM_IS_UPPER(v[k])) {
            up = 1;
        }
        else if (LLM_IS_DIGIT(v[k])) {
            di = 1;
        }
        else {
            ot = 1;
        }
    }
    *digit_or_sym = di || ot;
    return lo + up + di + ot;
}

static int word_at(const unsigned char *t, size_t n, size_t k, const char *w)
{
    size_t wl = strlen(w), i;

    if (k + wl > n) {
        return 0;
    }
    for (i = 0; i < wl; i++) {
        if (LLM_LOWER(t[k + i]) != (unsigned char)w[i]) {
            return 0;
        }
    }
    return k + wl == n || !LLM_IS_ALNUM(t[k + wl]);
}

/* letters, '_' and '.' only, or a digit only at the end: a name */
static int ident_like(const unsigned char *v, size_t n)
{
    size_t k = n;

    while (k > 0 && LLM_IS_DIGIT(v[k - 1])) {
        k--;
    }
    while (k > 0 && (LLM_IS_ALPHA(v[k - 1]) || v[k - 1] == '_' || v[k - 1] == '.')) {
        k--;
    }
    return k == 0 && (memchr(v, '_', n) || memchr(v, '.', n));
}

size_t llm_scan_find_prose_password(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, k, wl, vb, ve, ls;
    int quoted = 0, op = 0, classes, ds, ctx;

    if (word_at(t, n, at, "password") || word_at(t, n, at, "passwort")) {
        wl = 8;
    }
    else if (word_at(t, n, at, "passphrase")) {
        wl = 10;
    }
    else {
        return at + 1;
    }
    k = at + wl;
    /* user:password@host, password_hash: not a sentence */
    if (k >= n || !(t[k] == ' ' || t[k] == '\t' || t[k] == '=' || t[k] == ':')) {
        return at + 1;
    }
    if (t[k] == '=' || t[k] == ':') {
        op = 1;
    }
    while (k < n && (t[k] == ' ' || t[k] == '\t')) {
        k++;
    }
    if (word_at(t, n, k, "is") || word_at(t, n, k, "ist")
        || word_at(t, n, k, "was") || word_at(t, n, k, "es")) {
        while (k < n && LLM_IS_ALPHA(t[k])) {
            k++;
        }
        while (k < n && (t[k] == ' ' || t[k] == '\t')) {
            k++;
        }
    }
    if (k < n && (t[k] == ':' || t[k] == '=')) {
        if (k + 1 < n && t[k + 1] == '=') {
            return at + 1;       /* password == x: a comparison */
        }
        op = 1;
        k++;
        while (k < n && (t[k] == ' ' || t[k] == '\t')) {
            k++;
        }
    }
    if (k >= n) {
        return at + 1;
    }
    if (t[k] == '"' || t[k] == '\'' || t[k] == '`') {
        unsigned char q = t[k];
        vb = ++k;
        while (k < n && t[k] != q && t[k] != '\n' && k - vb <= 64) {
            k++;
        }
        if (k >= n || t[k] != q) {
            return at + 1;
        }
        ve = k;
        quoted = 1;
    }
    else {
        vb = k;
        while (k < n && t[k] > ' ' && t[k] != '"' && t[k] != '\'' && t[k] != '`'
               && k - vb <= 64) {
            k++;
        }
        ve = k;
        /* the end of the sentence is not part of it */
        while (ve > vb && (t[ve - 1] == '.' || t[ve - 1] == ',' || t[ve - 1] == ';'
                           || t[ve - 1] == ')' || t[ve - 1] == ':')) {
            ve--;
        }
        /* password = input(), userinfo.partition(':'), self.pw[0] */
        if (memchr(t + vb, '(', ve - vb) || memchr(t + vb, '[', ve - vb)
            || (ve < n && (t[ve] == '(' || t[ve] == '['))) {
            return at + 1;
        }
    }
    if (ve - vb < (quoted ? 4u : 6u) || ve - vb > 64 || t[vb] == '@'
        || memchr(t + vb, ' ', ve - vb)
        || llm_scan_context_has(t, n, vb, ve, (const char *const[]){"://", NULL})) {
        return at + 1;
    }
    classes = char_classes(t + vb, ve - vb, &ds);
    if (classes < 2 || !ds) {
        return at + 1;           /* a word: "password reset" */
    }
    /* find_user_password, self.pw_file: identifiers, not passwords */
    if (!quoted && ident_like(t + vb, ve - vb)) {
        return at + 1;
    }
    ls = at;
    while (ls > 0 && t[ls - 1] != '\n' && at - ls < 120) {
        ls--;
    }
    ctx = llm_scan_context_has(t, n, ls, at, user_words);
    /* a configuration line (password: x) is the assignment recogniser's;
     * here it counts only in a sentence about an account */
    if (op && !ctx) {
        return at + 1;
    }
    if (!ctx && !quoted && (classes < 3 || ve - vb < 8)) {
        return at + 1;
    }
    if (llm_scan_check_password(cx, vb, ve - vb)) {
        llm_scan_emit(cx, rule, vb, ve - vb);
    }
    return at + 1;
}
