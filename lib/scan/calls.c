/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Passwords passed by position to well-known login, bind and connect
 * calls (SMTP/IMAP/FTP login, LDAP binds, JDBC, PHP's mysqli and PDO, .NET
 * and Java credential objects, DB drivers' and SSH clients' connect):
 * the call's arguments are parsed far enough to tell a string literal
 * from a variable, and only a literal in the password's place is a
 * finding.
 */

#include <string.h>

#include "scan_private.h"

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
    const char *name;        /* the callee's name, or its end */
    int suffix;              /* name may end a longer one (HTTPBasicAuth) */
    int dot;                 /* a method: "." right before the name */
    int idx, min, max;
} calls[] = {
    { "login", 0, 1, 1, 2, 3 },              /* smtplib, imaplib, ftplib */
    { "simple_bind_s", 0, 0, 1, 2, 2 },      /* python-ldap */
    { "simple_bind", 0, 0, 1, 2, 2 },
    { "bind_s", 0, 1, 1, 2, 3 },
    { "ldap_bind", 0, 0, 2, 3, 3 },          /* PHP */
    { "getConnection", 0, 0, 2, 3, 3 },      /* JDBC DriverManager */
    { "mysqli_connect", 0, 0, 2, 3, 6 },
    { "mysqli", 0, 0, 2, 3, 6 },             /* new mysqli(...) */
    { "PDO", 0, 0, 2, 3, 4 },                /* new PDO(...) */
    { "NetworkCredential", 0, 0, 1, 2, 3 },  /* .NET */
    { "PasswordAuthentication", 0, 0, 1, 2, 2 }, /* java.net */
    { "PasswordCredentials", 1, 0, 1, 2, 2 },    /* UsernamePassword... */
    { "BasicAuth", 1, 0, 1, 2, 3 },          /* requests, aiohttp, httpx */
    { "DigestAuth", 1, 0, 1, 2, 2 },
    { "setPassword", 0, 0, 0, 1, 1 },
    { "auth=", 0, 0, 1, 2, 2 },              /* requests auth tuple */
    { "PlainAuth", 0, 0, 2, 4, 4 },          /* Go net/smtp */
    { "ftp_login", 0, 0, 2, 3, 3 },          /* PHP */
    { "ssh2_auth_password", 0, 0, 2, 3, 3 },
    { "connect", 0, 1, CONNECT, 3, 6 },      /* DB drivers, SSH clients */
    { "auth", 0, 1, 0, 1, 1 },               /* Redis AUTH: jedis, ioredis */
    { NULL, 0, 0, 0, 0, 0 }
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
    size_t n = cx->len, nb, ne, paren;
    arg_t args[MAX_ARGS];
    int c, na, idx;

    /* the whole callee name around the anchor, then its "(" */
    nb = at;
    if (nb < n && t[nb] == '.') {
        nb++;
    }
    while (nb > 0 && ident_char(t[nb - 1])) {
        nb--;
    }
    for (ne = at; ne < n && (ident_char(t[ne]) || (ne == at && t[ne] == '.')); ne++) {
    }
    if (ne < n && t[ne] == '=') {
        ne++;                    /* auth=( */
    }
    paren = ne;
    if (paren >= n || t[paren] != '(') {
        return at + 1;
    }
    for (c = 0; calls[c].name; c++) {
        size_t l = strlen(calls[c].name), s0;
        if (l > ne - nb || memcmp(t + ne - l, calls[c].name, l)) {
            continue;
        }
        s0 = ne - l;
        if (s0 != nb && !calls[c].suffix) {
            continue;
        }
        if (calls[c].dot && (s0 == 0 || t[s0 - 1] != '.')) {
            continue;
        }
        break;
    }
    if (!calls[c].name) {
        return at + 1;
    }
    at = nb;
    /* a definition (def login(self, user, pw):), not a call */
    if (at >= 4 && !memcmp(t + at - 4, "def ", 4)) {
        return at + 1;
    }
    na = parse_args(t, n, paren, args);
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
