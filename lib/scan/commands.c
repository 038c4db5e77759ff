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

/* ---- the command a flag belongs to -------------------------------------- */

/* Is one of cmds a word of the shell command that holds off?  The command
 * runs back to the start of its line (over "\\" continuations) or to a
 * |, ; or && before it. */
static int command_before(const llm_scan_ctx_t *cx, size_t off,
                          const char *const *cmds)
{
    const unsigned char *t = cx->t;
    size_t k = off, lim = off > 600 ? off - 600 : 0, i, wl;
    int w;

    while (k > lim) {
        unsigned char c = t[k - 1];
        if (c == '\n') {
            size_t b = k - 1;
            if (b > 0 && t[b - 1] == '\r') {
                b--;
            }
            if (b > 0 && t[b - 1] == '\\') {
                k = b - 1;
                continue;
            }
            break;
        }
        if (c == '|' || c == ';' || (c == '&' && k >= 2 && t[k - 2] == '&')) {
            break;
        }
        k--;
    }
    for (i = k; i < off; i++) {
        if (i > k && !(t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '/'
                       || t[i - 1] == '(' || t[i - 1] == '`' || t[i - 1] == '"'
                       || t[i - 1] == '\'' || t[i - 1] == '$')) {
            continue;
        }
        for (w = 0; cmds[w]; w++) {
            wl = strlen(cmds[w]);
            if (i + wl < off && !memcmp(t + i, cmds[w], wl)
                && (t[i + wl] == ' ' || t[i + wl] == '\t')) {
                return 1;
            }
        }
    }
    return 0;
}

static const char *const mysql_cmds[] = {
    "mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck",
    "mysqlshow", "mysqlslap", "mysqlpump", "mariadb", "mariadb-dump", NULL
};

/* docker/podman/helm registry/oras/cf/az login -p, sshpass -p */
static const char *const login_cmds[] = { "login", "sshpass", NULL };

static const char *const curl_cmds[] = { "curl", NULL };

/* "--password options", "-p value": a lower-case word after a blank
 * is prose about the flag, not a password given to it */
static int word_after_blank(const llm_scan_ctx_t *cx, size_t off, size_t len)
{
    size_t k;

    if (off == 0 || (cx->t[off - 1] != ' ' && cx->t[off - 1] != '\t')) {
        return 0;
    }
    for (k = 0; k < len; k++) {
        if (!LLM_IS_LOWER(cx->t[off + k])) {
            return 0;
        }
    }
    return 1;
}

int llm_scan_check_flag_password(const llm_scan_ctx_t *cx, size_t off,
                                 size_t len)
{
    return !word_after_blank(cx, off, len) && llm_scan_check_password(cx, off, len);
}

/* the flag before a value at off: the letter after its '-' */
static unsigned char flag_letter(const unsigned char *t, size_t off)
{
    size_t k = off;

    if (k > 0 && (t[k - 1] == '\'' || t[k - 1] == '"')) {
        k--;
    }
    /* -U user%pass: back over the user */
    if (k > 0 && t[k - 1] == '%') {
        k--;
        while (k > 0 && t[k - 1] != ' ' && t[k - 1] != '\t' && t[k - 1] != '\n') {
            k--;                 /* the user, and a quote opened before it */
        }
    }
    while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t')) {
        k--;
    }
    return k >= 2 && t[k - 2] == '-' ? t[k - 1] : 0;
}

static const char *const redis_cmds[] = { "redis-cli", "keydb-cli", NULL };
static const char *const ldap_cmds[] = {
    "ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami",
    "ldappasswd", "ldapmodrdn", "ldapcompare", NULL
};
static const char *const sqlcmd_cmds[] = { "sqlcmd", "bcp", "osql", NULL };
static const char *const keygen_cmds[] = { "ssh-keygen", NULL };
static const char *const smb_cmds[] = {
    "smbclient", "rpcclient", "smbmap", "smbcacls", NULL
};

int llm_scan_check_client_password(const llm_scan_ctx_t *cx, size_t off,
                                   size_t len)
{
    const char *const *cmds;

    switch (flag_letter(cx->t, off)) {
    case 'a': cmds = redis_cmds; break;
    case 'w': cmds = ldap_cmds; break;
    case 'P': cmds = sqlcmd_cmds; break;
    case 'U': cmds = smb_cmds; break;
    case 'N': cmds = keygen_cmds; break;
    default: return 0;
    }
    return command_before(cx, off, cmds) && llm_scan_check_flag_password(cx, off, len);
}

int llm_scan_check_mysql_password(const llm_scan_ctx_t *cx, size_t off,
                                  size_t len)
{
    return command_before(cx, off, mysql_cmds)
           && llm_scan_check_password(cx, off, len);
}

int llm_scan_check_login_password(const llm_scan_ctx_t *cx, size_t off,
                                  size_t len)
{
    return command_before(cx, off, login_cmds)
           && llm_scan_check_flag_password(cx, off, len);
}

int llm_scan_check_curl_password(const llm_scan_ctx_t *cx, size_t off,
                                 size_t len)
{
    return command_before(cx, off, curl_cmds)
           && llm_scan_check_password(cx, off, len);
}

/* ---- .netrc ---------------------------------------------------------------- */

/* A line-number prefix at k (right after a newline): "  12\t", "12: ",
 * "  12\xe2\x86\x92" (an agent's file view), "12|".  Returns its end, or k. */
static size_t skip_line_number(const unsigned char *t, size_t n, size_t k)
{
    size_t x = k, d;

    while (x < n && (t[x] == ' ' || t[x] == '\t')) {
        x++;
    }
    for (d = x; x < n && LLM_IS_DIGIT(t[x]) && x - d < 7; x++) {
    }
    if (x == d || x >= n) {
        return k;
    }
    if (t[x] == '\t' || t[x] == '|') {
        return x + 1;
    }
    if (t[x] == ':' && x + 1 < n && t[x + 1] == ' ') {
        return x + 2;
    }
    if (x + 3 <= n && !memcmp(t + x, "\xe2\x86\x92", 3)) {
        return x + 3;
    }
    return k;
}

/* The next .netrc token from *k (not past end): its bounds. */
static int netrc_token(const unsigned char *t, size_t end, size_t *k,
                       size_t *tb, size_t *te)
{
    size_t x = *k;

    for (;;) {
        while (x < end && (t[x] == ' ' || t[x] == '\t' || t[x] == '\r')) {
            x++;
        }
        if (x < end && t[x] == '\n') {
            x = skip_line_number(t, end, x + 1);
            continue;
        }
        break;
    }
    if (x >= end) {
        return 0;
    }
    *tb = x;
    while (x < end && !(t[x] == ' ' || t[x] == '\t' || t[x] == '\r' || t[x] == '\n')) {
        x++;
    }
    *te = x;
    *k = x;
    return 1;
}

static int tok_is(const unsigned char *t, size_t tb, size_t te, const char *w)
{
    return te - tb == strlen(w) && !memcmp(t + tb, w, te - tb);
}

/* "password" at kw ends a .netrc entry: machine HOST or default, then
 * login/account/port pairs, each a token of its own. */
static int netrc_entry_before(const unsigned char *t, size_t kw)
{
    size_t from = kw > 400 ? kw - 400 : 0, s, k, tb, te;
    int ok = 0;

    for (s = kw; s-- > from;) {
        if ((t[s] == 'm' || t[s] == 'd') && s + 7 < kw
            && (s == 0 || t[s - 1] == ' ' || t[s - 1] == '\t' || t[s - 1] == '\n'
                || t[s - 1] == 0x92 || t[s - 1] == '|')
            && (!memcmp(t + s, "machine", 7) || !memcmp(t + s, "default", 7))) {
            break;
        }
        if (s == from) {
            return 0;
        }
    }
    if (s < from || s >= kw) {
        return 0;
    }
    k = s;
    if (!netrc_token(t, kw, &k, &tb, &te)) {
        return 0;
    }
    if (tok_is(t, tb, te, "machine")) {
        if (!netrc_token(t, kw, &k, &tb, &te)) {
            return 0;
        }
        ok = 1;
    }
    else if (!tok_is(t, tb, te, "default")) {
        return 0;
    }
    /* default alone before password is prose ("the default password") */
    while (netrc_token(t, kw, &k, &tb, &te)) {
        if (!(tok_is(t, tb, te, "login") || tok_is(t, tb, te, "account")
              || tok_is(t, tb, te, "port"))
            || !netrc_token(t, kw, &k, &tb, &te)) {
            return 0;
        }
        ok = 1;
    }
    return ok;
}

int llm_scan_check_netrc_password(const llm_scan_ctx_t *cx, size_t off,
                                  size_t len)
{
    const unsigned char *t = cx->t;
    size_t k = off;

    if (k > 0 && t[k - 1] == '"') {
        k--;
    }
    /* back over the blanks and line numbers to the keyword */
    while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t' || t[k - 1] == '\n'
                     || t[k - 1] == '\r' || t[k - 1] == '|' || t[k - 1] == ':'
                     || LLM_IS_DIGIT(t[k - 1]) || t[k - 1] == 0xe2
                     || t[k - 1] == 0x86 || t[k - 1] == 0x92)) {
        k--;
    }
    return k >= 8 && !memcmp(t + k - 8, "password", 8)
           && netrc_entry_before(t, k - 8) && llm_scan_check_password(cx, off, len);
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

    /* DB_PASSWORD, $password, PASSWORD: names in code and configs, which
     * the assignment recogniser judges; a sentence has the bare word */
    if ((at > 0 && (t[at - 1] == '_' || t[at - 1] == '.' || t[at - 1] == '$'
                    || t[at - 1] == '-' || t[at - 1] == '"' || t[at - 1] == '\''))
        || (at + 1 < n && LLM_IS_UPPER(t[at + 1]))) {
        return at + 1;
    }
    /* password, Password, passwort (the anchor is "sw" of it) */
    if (word_at(t, n, at, "password") || word_at(t, n, at, "passwort")) {
        wl = 8;
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
    /* "password for the db is X", "reset your password to X": a few
     * lower-case words, then is/was/to and the value */
    if (!op && !word_at(t, n, k, "is") && !word_at(t, n, k, "ist")
        && !word_at(t, n, k, "was")) {
        size_t w = k, words = 0;
        while (words < 5 && w < n && LLM_IS_LOWER(t[w])) {
            size_t b = w;
            if (word_at(t, n, w, "is") || word_at(t, n, w, "was")
                || word_at(t, n, w, "to") || word_at(t, n, w, "ist")) {
                if (words > 0 || word_at(t, n, w, "to")) {
                    k = w;
                }
                break;
            }
            while (w < n && LLM_IS_LOWER(t[w])) {
                w++;
            }
            if (w >= n || t[w] != ' ' || w - b > 12) {
                break;
            }
            w++;
            words++;
        }
    }
    if (word_at(t, n, k, "is") || word_at(t, n, k, "ist")
        || word_at(t, n, k, "was") || word_at(t, n, k, "to")) {
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

/* ---- passwords fed to a command's stdin, and in Go's MySQL DSN --------- */

/* A quoted or bare shell word ending right before k (blanks skipped):
 * its content. */
static int word_before_pos(const unsigned char *t, size_t ls, size_t k,
                           size_t *vb, size_t *ve)
{
    while (k > ls && (t[k - 1] == ' ' || t[k - 1] == '\t')) {
        k--;
    }
    if (k > ls && (t[k - 1] == '\'' || t[k - 1] == '"')) {
        unsigned char q = t[k - 1];
        size_t e = k - 1;
        for (k = e; k > ls && t[k - 1] != q; k--) {
        }
        if (k == ls) {
            return 0;
        }
        *vb = k;
        *ve = e;
        return 1;
    }
    *ve = k;
    while (k > ls && t[k - 1] > ' ' && t[k - 1] != '|' && t[k - 1] != ';') {
        k--;
    }
    *vb = k;
    return *ve > *vb;
}

size_t llm_scan_find_stdin_password(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, ls = at, k, vb, ve;
    int chpasswd = 0;

    /* the anchors: "sudo -S", "--password-stdin", and the "swd" of
     * chpasswd and of passwd --stdin ("ch" and "pa" are everywhere) */
    if (at + 3 <= n && !memcmp(t + at, "swd", 3)) {
        if (at >= 5 && !memcmp(t + at - 5, "chpa", 4)) {
            chpasswd = 1;
            at -= 5;
        }
        else if (at >= 3 && !memcmp(t + at - 3, "pas", 3) && at + 11 <= n
                 && !memcmp(t + at + 3, " --stdin", 8)) {
            at -= 3;
        }
        else {
            return at + 1;
        }
    }
    else if (!(at + 7 <= n && !memcmp(t + at, "sudo -S", 7))
             && !(at + 16 <= n && !memcmp(t + at, "--password-stdin", 16))) {
        return at + 1;
    }
    while (ls > 0 && t[ls - 1] != '\n') {
        ls--;
    }
    /* echo 'X' | ... the command ...: the pipe nearest before it */
    for (k = at; k > ls && t[k - 1] != '|'; k--) {
    }
    if (k > ls && (k < 2 || t[k - 2] != '|')
        && word_before_pos(t, ls, k - 1, &vb, &ve)) {
        size_t w = vb;
        if (w > ls && (t[w - 1] == '\'' || t[w - 1] == '"')) {
            w--;
        }
        while (w > ls && (t[w - 1] == ' ' || t[w - 1] == '\t')) {
            w--;
        }
        /* chpasswd reads user:password */
        if (chpasswd) {
            const unsigned char *c = memchr(t + vb, ':', ve - vb);
            vb = c ? (size_t)(c - t) + 1 : ve;
        }
        if (((w >= ls + 4 && !memcmp(t + w - 4, "echo", 4))
             || (w >= ls + 6 && !memcmp(t + w - 6, "printf", 6))
             || (w >= ls + 7 && !memcmp(t + w - 7, "echo -e", 7))
             || (w >= ls + 7 && !memcmp(t + w - 7, "echo -n", 7)))
            && ve > vb && llm_scan_check_password(cx, vb, ve - vb)) {
            llm_scan_emit(cx, rule, vb, ve - vb);
        }
    }
    /* sudo -S <<< 'X' */
    for (k = at + 7; k + 3 < n && t[k] != '\n' && k - at < 200; k++) {
        if (!memcmp(t + k, "<<<", 3)) {
            size_t b = k + 3;
            while (b < n && (t[b] == ' ' || t[b] == '\t')) {
                b++;
            }
            if (b < n && (t[b] == '\'' || t[b] == '"')) {
                unsigned char q = t[b];
                for (ve = ++b; ve < n && t[ve] != q && t[ve] != '\n'; ve++) {
                }
                if (ve < n && t[ve] == q && llm_scan_check_password(cx, b, ve - b)) {
                    llm_scan_emit(cx, rule, b, ve - b);
                }
            }
            break;
        }
    }
    return at + 1;
}

size_t llm_scan_find_dsn_password(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t k, colon = 0, lim = at > 200 ? at - 200 : 0;

    if (t[at] != '@') {
        return at + 1;
    }

    /* back from '@' over the password to "user:", to a quote or a blank */
    for (k = at; k > lim; k--) {
        unsigned char c = t[k - 1];
        if (c == '"' || c == '\'' || c == '`' || c <= ' ' || c == '/') {
            break;
        }
        if (c == ':') {
            colon = k - 1;       /* the first ':' from the left wins below */
        }
    }
    if (!colon || colon == k || colon + 1 >= at) {
        return at + 1;
    }
    if (llm_scan_check_password(cx, colon + 1, at - colon - 1)) {
        llm_scan_emit(cx, rule, colon + 1, at - colon - 1);
    }
    return at + 1;
}
