/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Passwords given to commands: flags (their regexes are in
 * rules_builtin.c, the checks of the value and of the command before the
 * flag are here), .netrc entries, passwords piped into a command's stdin,
 * Go's MySQL DSN.  Also the value check that calls.c and prose.c share.
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

/* docker/podman/helm registry/oras/cf/az login -p, sshpass -p; MongoDB's
 * shells and tools and rabbitmqadmin, whose -p is the password too */
static const char *const login_cmds[] = {
    "login", "sshpass", "mongo", "mongosh", "mongodump", "mongorestore",
    "mongoexport", "mongoimport", "mongostat", "mongotop", "mongofiles",
    "rabbitmqadmin", NULL
};

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
