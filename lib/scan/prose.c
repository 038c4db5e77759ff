/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Passwords given in a sentence: "user deploy, password X", "the password
 * for the staging db is X", "das Passwort ist X".  A value follows the
 * word password (after is/was/to or a few words), has a digit or a
 * symbol, and either a word about an account is near or it is quoted.
 */

#include <string.h>

#include "scan_private.h"

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

/* The value at k: quoted (at most 64 bytes, on one line; -1 when its
 * quote does not close) or bare up to a blank or a quote, without the end
 * of the sentence.  [*vb, *ve) is the value, *quoted says which. */
static int read_value(const unsigned char *t, size_t n, size_t k,
                      size_t *vb, size_t *ve, int *quoted)
{
    if (k < n && (t[k] == '"' || t[k] == '\'' || t[k] == '`')) {
        unsigned char q = t[k];

        *vb = ++k;
        while (k < n && t[k] != q && t[k] != '\n' && k - *vb <= 64) {
            k++;
        }
        if (k >= n || t[k] != q) {
            return -1;
        }
        *ve = k;
        *quoted = 1;
        return 0;
    }
    *vb = k;
    while (k < n && t[k] > ' ' && t[k] != '"' && t[k] != '\'' && t[k] != '`'
           && k - *vb <= 64) {
        k++;
    }
    *ve = k;
    while (*ve > *vb && (t[*ve - 1] == '.' || t[*ve - 1] == ','
                         || t[*ve - 1] == ';' || t[*ve - 1] == ')'
                         || t[*ve - 1] == ':')) {
        (*ve)--;
    }
    *quoted = 0;
    return 0;
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
    if (read_value(t, n, k, &vb, &ve, &quoted) != 0) {
        return at + 1;
    }
    if (!quoted) {
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

/* ---- an account and its password, with no word for password ------------ */

/* "user alice / s3cr3t-Pass!", "login: deploy, Nr6!xT4qZm", "sign in as
 * admin with Zx8^wQ3mKp", "Benutzer: anna / Gk8mW2z!Rt".  ("log in as" is
 * not looked for: its rarest pair is the "og" of every log.)  No word says
 * password, so the value itself must: 8 to 64 characters with letters,
 * digits and a third kind (a symbol or both cases), not made of words and
 * numbers joined ("Group-Admins-2024", "release-v1.2.3-beta"), not a path
 * nor an address.  The name before it is one token, and only a slash, a bar, a
 * comma, "and" or "with" may stand between them. */
static const struct { const char *w; size_t len, anchor; } account_words[] = {
    /* anchor: where in the word the prefilter found it (rules_builtin.c
     * looks each up by a rare pair of its own: "ccount", "gin", "tzer";
     * "user" has none and costs most) */
    { "username", 8, 0 }, { "user", 4, 0 }, { "login", 5, 2 },
    { "sign in as", 10, 2 }, { "account", 7, 1 }, { "benutzer", 8, 4 },
    { "usuario", 7, 2 }, { NULL, 0, 0 }
};

static int words_and_numbers(const unsigned char *v, size_t n)
{
    size_t k = 0, s;
    int alpha, digit;

    while (k < n) {
        s = k;
        alpha = digit = 1;
        while (k < n && v[k] != '-' && v[k] != '_' && v[k] != '.') {
            alpha &= LLM_IS_ALPHA(v[k]) ? 1 : 0;
            digit &= LLM_IS_DIGIT(v[k]) ? 1 : 0;
            k++;
        }
        /* a segment that mixes is not a word, unless as short as the
         * v1, rc2, x64 of versions and platforms */
        if (k - s > 3 && !alpha && !digit) {
            return 0;
        }
        k++;
    }
    return 1;
}

static size_t blanks(const unsigned char *t, size_t n, size_t k)
{
    while (k < n && (t[k] == ' ' || t[k] == '\t')) {
        k++;
    }
    return k;
}

size_t llm_scan_find_prose_account(llm_scan_ctx_t *cx, int rule, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, k, ns, ne, vb, ve;
    int w, classes, ds, quoted = 0, lo = 0, up = 0, di = 0;

    /* "user" is mostly user_id, users, self.user in code: gone at once */
    if (at + 4 < n && LLM_LOWER(t[at]) == 'u' && LLM_LOWER(t[at + 1]) == 's'
        && (t[at + 4] == '_' || t[at + 4] == '.' || t[at + 4] == '('
            || t[at + 4] == 's' || t[at + 4] == 'I' || t[at + 4] == 'N'
            || t[at + 4] == '"' || t[at + 4] == '\'' || t[at + 4] == ')')) {
        return at + 1;
    }
    for (w = 0; account_words[w].w; w++) {
        size_t ws = at - account_words[w].anchor;
        if (at >= account_words[w].anchor
            && (unsigned char)account_words[w].w[account_words[w].anchor]
               == LLM_LOWER(t[at])
            && word_at(t, n, ws, account_words[w].w)
            && llm_scan_word_start(t, ws)) {
            break;
        }
    }
    if (!account_words[w].w) {
        return at + 1;
    }
    /* user_id, User.find: names in code, not a sentence */
    k = at - account_words[w].anchor + account_words[w].len;
    if (k < n && (t[k] == '_' || t[k] == '.' || t[k] == '(')) {
        return at + 1;
    }
    if (k < n && t[k] == ':') {
        k++;
    }
    k = blanks(t, n, k);
    /* the account: one token */
    ns = k;
    while (k < n && (LLM_IS_ALNUM(t[k]) || t[k] == '.' || t[k] == '_'
                     || t[k] == '-' || t[k] == '@' || t[k] == '+')
           && k - ns <= 64) {
        k++;
    }
    ne = k;
    if (ne == ns || ne - ns > 64 || !LLM_IS_ALNUM(t[ns])) {
        return at + 1;
    }
    /* what joins it to the password */
    k = blanks(t, n, k);
    if (k < n && (t[k] == '/' || t[k] == '|' || t[k] == ',')) {
        k++;
    }
    else if (word_at(t, n, k, "and")) {
        k += 3;
    }
    else if (word_at(t, n, k, "with")) {
        k += 4;
    }
    else {
        return at + 1;
    }
    if (k >= n || (t[k] != ' ' && t[k] != '\t' && t[k - 1] != '/')) {
        return at + 1;
    }
    k = blanks(t, n, k);
    if (read_value(t, n, k, &vb, &ve, &quoted) != 0) {
        return at + 1;
    }
    if (ve - vb < 8 || ve - vb > 64
        || (!quoted && (memchr(t + vb, '/', ve - vb) || memchr(t + vb, '(', ve - vb)
                        || memchr(t + vb, '@', ve - vb)
                        || memchr(t + vb, ':', ve - vb)))) {
        return at + 1;           /* a path, a call, an address, a digest */
    }
    for (k = vb; k < ve && (LLM_IS_HEX(t[k]) || t[k] == '-'); k++) {
    }
    if (k == ve) {               /* an id or a hash */
        return at + 1;
    }
    classes = char_classes(t + vb, ve - vb, &ds);
    for (k = vb; k < ve; k++) {
        lo |= LLM_IS_LOWER(t[k]);
        up |= LLM_IS_UPPER(t[k]);
        di |= LLM_IS_DIGIT(t[k]);
    }
    if (classes < 3 || !di || !(lo || up) || words_and_numbers(t + vb, ve - vb)
        || ident_like(t + vb, ve - vb)) {
        return at + 1;
    }
    if (llm_scan_check_password(cx, vb, ve - vb)) {
        llm_scan_emit(cx, rule, vb, ve - vb);
    }
    return at + 1;
}
