/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Assignments: `name = value`, `name: value`, `"name": "value"`,
 * `name := value`, `name => 'value'`, `<name>value</name>`,
 * `define('NAME', 'value')`.  The prefilter hands over each place where a
 * name may contain pass/pwd/secret/token/key/credential; this file finds
 * the whole name, decides what it names (a password, an AWS secret key, a
 * generic secret ...), finds the value and judges it.  The finding covers
 * the value only, so that redaction leaves the name in place.
 *
 * What keeps false alarms down on code: references (${X}, os.environ[...],
 * process.env.X, calls), type annotations, placeholders, names that only
 * talk about a secret (password_hash, token_url, max_tokens, public_key),
 * and for generic names a value that must look machine-made.
 */

#include <string.h>

#include "scan_private.h"

typedef enum {
    NAME_NONE = 0,
    NAME_PASSWORD,
    NAME_GENERIC,
    NAME_AWS_SECRET,
    NAME_GCP_KEY_ID,
    NAME_TWILIO
} name_kind_e;

#define MAX_NAME 96
#define MAX_SEGS 16

static int is_ident(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '_' || c == '-' || c == '.';
}

/* Segments that make a name about a secret rather than the secret. */
static const char *const not_secret[] = {
    "public", "pub", "id", "ids", "name", "names", "path", "file", "filename",
    "dir", "url", "uri", "endpoint", "type", "types", "count", "size",
    "length", "len", "format", "prefix", "suffix", "header", "field", "env",
    "var", "hash", "hashed", "digest", "version", "expiry", "expires",
    "expire", "expiration", "ttl", "timeout", "max", "min", "limit",
    "usage", "cache", "sort", "partition", "primary", "foreign",
    "idempotency", "ref", "policy", "reset", "rule", "rules", "regex",
    "pattern", "hint", "label", "prompt", "placeholder", "input", "strength",
    "error", "message", "msg", "text", "help", "description", "desc", "title",
    "enabled", "enable", "required", "changed", "manager", "store",
    "provider", "location", "algorithm", "alg", "mode", "kind", "method",
    "index", "idx", "arn", "template", "schema", "validator", "validation",
    "mask", "masked", "show", "visible", "toggle", "forgot", "generator",
    "column", "col", "table", "param", "params", "option", "options", "flag",
    "callback", "handler", "event", "bits", "keys", "tokens", "secrets",
    "passwords", "hotkey", "monkey", "turkey", "donkey",
    "keyword", "keywords", "keystroke", "keypress", "keydown", "keyup",
    "keyboard", "keyring", "keychain", "keyspace", "keypair", "tokenizer",
    "bypass", "compass", "surpass", "trespass", "encompass", "overpass",
    "passenger", "passport", "passage", "passive", "passthrough", "less",
    "at", "until", "encrypted", "kms", "vault", "ssm", "secretref",
    "valuefrom", "mount", "list", "map", "err", "fn", "func", "function",
    "class", "impl", "manager", "info", "debug", "analysis", "concept",
    "time", "invalid", "wrong", "bad", "incorrect", "mismatch", "count",
    "stdin", NULL
};

static int in_list(const char *s, size_t n, const char *const *list)
{
    int i;

    for (i = 0; list[i]; i++) {
        if (list[i][0] == s[0] && strlen(list[i]) == n
            && !memcmp(list[i], s, n)) {
            return 1;
        }
    }
    return 0;
}

static int ends_with(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    return n >= wl && !memcmp(s + n - wl, w, wl);
}

static int contains(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w), i;

    for (i = 0; i + wl <= n; i++) {
        if (!memcmp(s + i, w, wl)) {
            return 1;
        }
    }
    return 0;
}

/* Split a name into lower-case segments at separators and camelCase
 * humps, and say what it names. */
static name_kind_e classify_name(const unsigned char *nm, size_t n)
{
    char low[MAX_NAME + 1], joined[MAX_NAME + 1];
    size_t seg_off[MAX_SEGS], seg_len[MAX_SEGS];
    int nseg = 0, i, pw = 0, gen = 0;
    size_t k, jl = 0, cur = 0, start = 0;

    if (n > MAX_NAME) {
        return NAME_NONE;
    }
    for (k = 0; k <= n; k++) {
        unsigned char c = k < n ? nm[k] : '_';
        int brk = !LLM_IS_ALNUM(c);
        /* fooBar, or HTTPServer: break before the last capital */
        int hump = k > 0 && k < n && LLM_IS_UPPER(c)
                   && (LLM_IS_LOWER(nm[k - 1])
                       || (LLM_IS_UPPER(nm[k - 1]) && k + 1 < n
                           && LLM_IS_LOWER(nm[k + 1])));
        if ((brk || hump) && cur > start) {
            if (nseg < MAX_SEGS) {
                seg_off[nseg] = start;
                seg_len[nseg] = cur - start;
                nseg++;
            }
        }
        if (brk) {
            start = cur;
            continue;
        }
        if (hump) {
            start = cur;
        }
        low[cur++] = (char)LLM_LOWER(c);
        joined[jl++] = (char)LLM_LOWER(c);
    }
    low[cur] = joined[jl] = '\0';

    if (contains(joined, jl, "privatekeyid")) {
        return NAME_GCP_KEY_ID;
    }
    for (i = 0; i < nseg; i++) {
        const char *s = low + seg_off[i];
        size_t l = seg_len[i];
        if (in_list(s, l, not_secret)) {
            return NAME_NONE;
        }
        if (contains(s, l, "password") || contains(s, l, "passwd")
            || contains(s, l, "passphrase") || ends_with(s, l, "pass")
            || ends_with(s, l, "pwd")
            /* pw, db_pw, rootpw: only as the name's last word */
            || (i == nseg - 1 && l <= 8 && ends_with(s, l, "pw"))) {
            pw = 1;
        }
        if (ends_with(s, l, "key") || ends_with(s, l, "secret")
            || ends_with(s, l, "token") || contains(s, l, "credential")
            || (l > 6 && !memcmp(s, "secret", 6))) {
            gen = 1;
        }
    }
    if (contains(joined, jl, "twilio")
        && (contains(joined, jl, "token") || contains(joined, jl, "auth"))) {
        return NAME_TWILIO;
    }
    if ((contains(joined, jl, "aws") && contains(joined, jl, "secret"))
        || contains(joined, jl, "secretaccesskey")) {
        return NAME_AWS_SECRET;
    }
    if (pw) {
        return NAME_PASSWORD;
    }
    return gen ? NAME_GENERIC : NAME_NONE;
}

/* Values that are really references to a secret kept elsewhere. */
static const char *const ref_prefixes[] = {
    "process.env", "os.environ", "os.getenv", "getenv", "env(", "env.",
    "env[", "system.getenv", "secrets.", "vault:", "ref+", "arn:",
    "config.", "settings.", "self.", "this.", "params", "request.", "req.",
    "args.", "options.", "opts.", "props.", "input", "document.", "window.",
    NULL
};

static const char *const aws_words[] = { "akia", "asia", "aws", NULL };

static const char *const strong_words[] = {
    "secret", "token", "apikey", "api_key", "api-key", "auth", "private",
    "access", "signing", "session", "credential", "master", NULL
};

static const char *const type_words[] = {
    "string", "str", "int", "integer", "number", "bool", "boolean", "any",
    "none", "null", "nil", "undefined", "true", "false", "object", "bytes",
    "char", "text", "varchar", "secretstr", "optional", "required", "yes",
    "no", "on", "off", "unknown", "void", "redacted", "hidden", "masked",
    "fail", "failed", "passed", "ok", "success", "skip", "skipped",
    NULL
};

static const char *const pw_placeholders[] = {
    "password", "passwd", "pass", "pwd", "pw", "secret", "changeme",
    "mypassword", "yourpassword", "your_password", "test", "testing",
    "example", "sample", "foobar", "foo", "bar", "password123", "value",
    "xxx", "abc", "123", "qwerty", "letmein", "hunter2", "secret123",
    "forge", "homestead",
    NULL
};

static int lower_eq_list(const unsigned char *v, size_t n,
                         const char *const *list)
{
    char low[32];
    size_t k;

    if (n >= sizeof(low)) {
        return 0;
    }
    for (k = 0; k < n; k++) {
        low[k] = (char)LLM_LOWER(v[k]);
    }
    return in_list(low, n, list);
}

static int lower_prefix_list(const unsigned char *v, size_t n,
                             const char *const *list)
{
    int i;
    size_t k, wl;

    for (i = 0; list[i]; i++) {
        wl = strlen(list[i]);
        if (wl > n) {
            continue;
        }
        for (k = 0; k < wl; k++) {
            if (LLM_LOWER(v[k]) != (unsigned char)list[i][k]) {
                break;
            }
        }
        if (k == wl) {
            return 1;
        }
    }
    return 0;
}

int llm_scan_password_placeholder(const unsigned char *v, size_t n)
{
    return llm_scan_is_placeholder(v, n) || lower_eq_list(v, n, pw_placeholders);
}

/* Inside quotes only template marks start a reference; unquoted, YAML's
 * !tag, *alias and &anchor, and code's (, [ and : do too. */
static int is_ref(const unsigned char *v, size_t n, int quoted)
{
    unsigned char c = v[0];

    if (c == '$' || c == '{' || c == '<'
        || (c == '%' && n > 1 && (v[1] == '(' || v[1] == '{' || LLM_IS_ALPHA(v[1])))) {
        return 1;
    }
    if (!quoted && (c == '!' || c == '*' || c == '&' || c == '@' || c == '('
                    || c == '[' || c == ':' || c == '%')) {
        return 1;
    }
    return lower_prefix_list(v, n, ref_prefixes);
}

/* f"{user}", "%(pw)s", "%s": templates, not values */
static int is_template(const unsigned char *s, size_t n)
{
    size_t k;

    for (k = 0; k + 1 < n; k++) {
        if ((s[k] == '{' && (LLM_IS_ALPHA(s[k + 1]) || s[k + 1] == '_'
                             || s[k + 1] == '{' || s[k + 1] == '}')
             && memchr(s + k, '}', n - k))
            || (s[k] == '%' && (s[k + 1] == 's' || s[k + 1] == 'd'
                                || s[k + 1] == '(' || s[k + 1] == '{'))) {
            return 1;
        }
    }
    return 0;
}

/* a.b.c made of identifiers: a property path, not a value */
static int is_dotted_ident(const unsigned char *v, size_t n)
{
    size_t k;
    int dots = 0, at_start = 1;

    for (k = 0; k < n; k++) {
        if (v[k] == '.') {
            if (at_start) {
                return 0;
            }
            dots++;
            at_start = 1;
            continue;
        }
        if (!(LLM_IS_ALNUM(v[k]) || v[k] == '_')
            || (at_start && LLM_IS_DIGIT(v[k]))) {
            return 0;
        }
        at_start = 0;
    }
    return dots > 0 && !at_start;
}

static int has_digit(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (LLM_IS_DIGIT(v[k])) {
            return 1;
        }
    }
    return 0;
}

static const char *const pass_words[] = { "pass", "pwd", NULL };

/* 1.302103, 1219328376.07815, 42 */
static int is_number(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (!LLM_IS_DIGIT(v[k]) && v[k] != '.') {
            return 0;
        }
    }
    return n > 0 && v[0] != '.' && memchr(v, '.', n) != NULL;
}

static int is_plain_ident(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (!(LLM_IS_ALPHA(v[k]) || v[k] == '_')) {
            return 0;
        }
    }
    return n > 0;
}

static int token_chars(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        unsigned char c = v[k];
        if (!(LLM_IS_ALNUM(c) || c == '+' || c == '/' || c == '=' || c == '_'
              || c == '-' || c == '.' || c == '~' || c == ':')) {
            return 0;
        }
    }
    return 1;
}

/* WordPress salts and the like: long, quoted, any printable but blanks */
static int printable_word(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (v[k] <= ' ' || v[k] > '~' || v[k] == '\\') {
            return 0;
        }
    }
    return 1;
}

static int all_of(const unsigned char *v, size_t n, int hex_only)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (hex_only ? !LLM_IS_HEX(v[k])
                     : !(LLM_IS_ALNUM(v[k]) || v[k] == '+' || v[k] == '/')) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    size_t off, len;
    int quoted;
    int op;              /* '=', ':', '>', ',' */
    int spaced;          /* whitespace before the operator */
    int prose_after;     /* more words follow an unquoted value */
    int blank_after_op;  /* "a: b", not "a:b" */
    unsigned char after; /* byte right after an unquoted value */
} value_t;

static int all_upper(const unsigned char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (LLM_IS_LOWER(v[k])) {
            return 0;
        }
    }
    return 1;
}

/* After the name at [s, e): operator and value.  0 if there is none. */
static int find_value(llm_scan_ctx_t *cx, size_t s, size_t e, value_t *v)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len;
    size_t k = e, q;
    unsigned char oq = 0;
    int esc = 0, query;

    memset(v, 0, sizeof(*v));
    /* closing quote of a quoted name, or the ] of config['password'] */
    if (k < n && (t[k] == '"' || t[k] == '\'' || t[k] == '`')) {
        oq = t[k];
        k++;
    }
    else if (k + 1 < n && t[k] == '\\' && t[k + 1] == '"') {
        oq = '"';
        k += 2;
    }
    if (k < n && t[k] == ']') {
        k++;
    }
    while (k < n && (t[k] == ' ' || t[k] == '\t') && k - e < 8) {
        k++;
        v->spaced = 1;
    }
    if (k >= n) {
        return 0;
    }
    if (t[k] == '>' && s > 0 && t[s - 1] == '<') {
        /* <password>value</password> */
        size_t b = ++k;
        while (k < n && t[k] != '<' && t[k] != '\n' && k - b < 256) {
            k++;
        }
        /* only with its closing tag: <password>x</password> */
        if (k + 3 + (e - s) > n || t[k] != '<' || t[k + 1] != '/'
            || memcmp(t + k + 2, t + s, e - s) || t[k + 2 + (e - s)] != '>') {
            return 0;
        }
        v->off = b;
        v->len = k - b;
        v->op = '>';
        v->quoted = 1;
        return 1;
    }
    if (t[k] == '=') {
        if (k + 1 < n && (t[k + 1] == '=' || t[k + 1] == '~')) {
            return 0;
        }
        v->op = '=';
        k++;
        if (k < n && t[k] == '>') {
            k++;
        }
    }
    else if (t[k] == ':') {
        if (k + 1 < n && t[k + 1] == ':') {
            return 0;
        }
        v->op = ':';
        k++;
        if (k < n && t[k] == '=') {
            v->op = '=';
            k++;
        }
    }
    else if (t[k] == ',' && oq && (memchr(t + s, '_', e - s) || all_upper(t + s, e - s))) {
        /* define('DB_PASSWORD', 'x'), setenv("TOKEN", "x"); not
         * scrypt('password', 'salt'), where the first argument is a value */
        size_t b = s;
        while (b > 0 && (t[b - 1] == '"' || t[b - 1] == '\'' || t[b - 1] == '\\')) {
            b--;
        }
        while (b > 0 && (t[b - 1] == ' ')) {
            b--;
        }
        if (b == 0 || t[b - 1] != '(') {
            return 0;
        }
        v->op = ',';
        k++;
        /* env('DB_PASSWORD', default='x'): the default is the value */
        while (k < n && (t[k] == ' ' || t[k] == '\t')) {
            k++;
        }
        if (k + 8 < n && !memcmp(t + k, "default", 7)
            && (t[k + 7] == '=' || t[k + 7] == ':')) {
            k += 8;
        }
        /* only a literal is a value here: env('X', default=None) and
         * getenv("X", fallback) name a secret kept elsewhere */
        {
            size_t x = k;
            while (x < n && (t[x] == ' ' || t[x] == '\t')) {
                x++;
            }
            if (x >= n || !(t[x] == '"' || t[x] == '\'' || t[x] == '`'
                            || (t[x] == '\\' && x + 1 < n && t[x + 1] == '"'))) {
                return 0;
            }
        }
    }
    else {
        return 0;
    }
    q = k;
    while (k < n && (t[k] == ' ' || t[k] == '\t')) {
        k++;
    }
    v->blank_after_op = k > q;
    if (k >= n) {
        return 0;
    }
    /* a quoted value: "...", '...', `...` or \"...\" as in JSON text */
    if (t[k] == '"' || t[k] == '\'' || t[k] == '`'
        || (t[k] == '\\' && k + 1 < n && t[k + 1] == '"')) {
        unsigned char qc = t[k];
        if (qc == '\\') {
            esc = 1;
            qc = '"';
            k++;
        }
        k++;
        for (q = k; q < n && q - k < 512; q++) {
            if (t[q] == '\n') {
                return 0;
            }
            if (esc) {
                if (t[q] == '\\' && q + 1 < n && t[q + 1] == '"') {
                    break;
                }
            }
            else if (t[q] == qc && (q == k || t[q - 1] != '\\')) {
                break;
            }
        }
        if (q >= n || q - k >= 512) {
            return 0;
        }
        v->off = k;
        v->len = q - k;
        v->quoted = 1;
        return 1;
    }
    if (t[k] == '\n' || t[k] == '\r') {
        return 0;
    }
    /* header style: Authorization-like names carry a scheme word first */
    /* '&' ends a value only in a query string: .env passwords have them */
    query = s > 0 && (t[s - 1] == '?' || t[s - 1] == '&');
    /* password=password=...: what an earlier scan crossed holds no end of
     * a value, so it is not crossed again (no quadratic scanning) */
    q = k;
    if (!query && cx->unq_from <= k && k < cx->unq_to) {
        q = cx->unq_to;
    }
    for (; q < n; q++) {
        unsigned char c = t[q];
        if (c <= ' ' || c == '"' || c == '\'' || c == '`' || c == '\\'
            || c == ';' || c == ',' || (c == '&' && query) || c == ')'
            || c == '}' || c == '(' || c == '[' || c == ']' || c == '<'
            || c == '>') {
            break;
        }
        if (q - k > 512) {
            if (!query) {
                cx->unq_from = k;
                cx->unq_to = q;
            }
            return 0;
        }
    }
    v->off = k;
    v->len = q - k;
    v->after = q < n ? t[q] : 0;
    /* words after the value on the same line: prose, not config */
    while (q < n && (t[q] == ' ' || t[q] == '\t')) {
        q++;
    }
    if (q < n && q > k + v->len && (LLM_IS_ALNUM(t[q]) || t[q] == '(')) {
        v->prose_after = 1;
    }
    return 1;
}

static int password_value_ok(const unsigned char *nm, size_t nl,
                             const unsigned char *t, const value_t *v)
{
    const unsigned char *s = t + v->off;
    size_t n = v->len, k;

    if (n < 4 || n > 200 || is_ref(s, n, v->quoted) || lower_eq_list(s, n, type_words)
        || llm_scan_password_placeholder(s, n)) {
        return 0;
    }
    /* PWD=/home/x is the working directory; paths are not passwords */
    if (s[0] == '/' || s[0] == '~' || (s[0] == '.' && n > 1 && s[1] == '/')
        || (n > 2 && LLM_IS_ALPHA(s[0]) && s[1] == ':' && s[2] == '\\')) {
        return 0;
    }
    if (n == nl && !memcmp(s, nm, n)) {
        return 0;                /* { password: password } */
    }
    /* "pw : https://en.wikipedia.org/wiki/.pw": a link, not a password */
    if ((n > 8 && !memcmp(s, "https://", 8)) || (n > 7 && !memcmp(s, "http://", 7))) {
        return 0;
    }
    /* CHALLENGE_PASSWORD: "challengePassword": a name, not a value */
    if (!has_digit(s, n) && llm_scan_context_has(s, n, 0, n, pass_words)) {
        return 0;
    }
    /* 1.302103, 28P01-like codes are caught by the name; plain numbers with
     * dots are versions or times */
    if (is_number(s, n)) {
        return 0;
    }
    if (!v->quoted) {
        /* "passwd:gecos": YAML and headers put a blank after the colon */
        if (v->op == ':' && !v->blank_after_op) {
            return 0;
        }
        /* words after the value: a sentence after "Password:", but a
         * command after a shell's PGPASSWORD=x psql ... */
        if (v->after == '(' || v->after == '['
            || (v->prose_after && (v->op != '=' || v->spaced))) {
            return 0;
        }
        if (is_dotted_ident(s, n) && !has_digit(s, n)) {
            return 0;            /* settings.DB_PASSWORD, not k2rL6.klv */
        }
        /* code: a->b, std::vector<T>, 0x00010000 */
        if (v->after == '>' || v->after == '<' || contains((const char *)s, n, "::")
            || (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
            return 0;
        }
        /* password = user_input; { password: pwd } -- code, not config */
        if (is_plain_ident(s, n) && !has_digit(s, n)
            && (v->spaced || v->after == ',' || v->after == ';'
                || v->after == '}' || v->after == ')')) {
            return 0;
        }
    }
    else {
        int spaces = 0;
        if (is_template(s, n)) {
            return 0;
        }
        for (k = 0; k < n; k++) {
            if (s[k] == '"' || s[k] == '\'' || (s[k] == '\\' && k + 1 < n
                                                  && s[k + 1] == 'n')) {
                return 0;        /* a sentence, not a secret */
            }
            spaces += s[k] == ' ';
        }
        if (spaces > 3) {
            return 0;
        }
    }
    return 1;
}

/* "user / password" or "user:password" at k, as credentials are handed
 * over in chat: the password is emitted.  1 when it was. */
static int user_slash_password(llm_scan_ctx_t *cx, size_t k)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, ub = k, pb, pe;
    int lo = 0, up = 0, dg = 0, sy = 0;

    while (k < n && (LLM_IS_ALNUM(t[k]) || t[k] == '_' || t[k] == '-'
                     || t[k] == '.' || t[k] == '@')) {
        k++;
    }
    if (k == ub || k - ub > 64 || k >= n) {
        return 0;
    }
    if (t[k] == ':') {
        pb = k + 1;
    }
    else {
        while (k < n && t[k] == ' ') {
            k++;
        }
        if (k >= n || t[k] != '/') {
            return 0;
        }
        k++;
        while (k < n && t[k] == ' ') {
            k++;
        }
        pb = k;
    }
    for (pe = pb; pe < n && t[pe] > ' ' && t[pe] != '"' && t[pe] != '\''
                  && pe - pb <= 64; pe++) {
        lo |= LLM_IS_LOWER(t[pe]);
        up |= LLM_IS_UPPER(t[pe]);
        dg |= LLM_IS_DIGIT(t[pe]);
        sy |= !LLM_IS_ALNUM(t[pe]);
    }
    /* the end of the sentence is not part of it */
    while (pe > pb && (t[pe - 1] == '.' || t[pe - 1] == ',' || t[pe - 1] == ';'
                       || t[pe - 1] == ')')) {
        pe--;
    }
    if (pe - pb < 6 || pe - pb > 64 || !(dg || sy) || lo + up + dg + sy < 3
        || t[pb] == '$' || t[pb] == '<' || t[pb] == '{'
        || llm_scan_password_placeholder(t + pb, pe - pb)) {
        return 0;
    }
    llm_scan_emit(cx, LLM_R_ASSIGN_PASSWORD, pb, pe - pb);
    return 1;
}

size_t llm_scan_rec_assign(llm_scan_ctx_t *cx, size_t pos, size_t litlen)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, s = pos, e = pos + litlen, ns;
    name_kind_e kind;
    value_t v;
    const unsigned char *val;

    while (s > 0 && is_ident(t[s - 1]) && pos - s < MAX_NAME) {
        s--;
    }
    while (e < n && is_ident(t[e]) && e - s < MAX_NAME) {
        e++;
    }
    /* go on right after the word, not after the name: the name may hold a
     * token of its own (key-<32 hex> is a Mailgun key); a name with two
     * words (SECRET_KEY) is judged once */
    if (e - s >= MAX_NAME || s < cx->assign_done) {
        return pos + litlen;
    }
    cx->assign_done = e;
    /* Test2::Event::Pass => ...: a module path, not a setting */
    if (s >= 2 && t[s - 1] == ':' && t[s - 2] == ':') {
        return pos + litlen;
    }
    /* --password, .password, $password: the marks are not the name */
    ns = s;
    while (ns < pos && !LLM_IS_ALNUM(t[ns])) {
        ns++;
    }
    /* most mentions of "key" or "token" assign nothing, or assign code
     * (self.token.get(...)): judge the value's shape before working out
     * what the name means */
    if (!find_value(cx, s, e, &v) || v.len < 4
        || (!v.quoted && (v.after == '(' || v.after == '['
                          || (is_dotted_ident(t + v.off, v.len)
                              && !has_digit(t + v.off, v.len))))
        || (kind = classify_name(t + ns, e - ns)) == NAME_NONE) {
        return pos + litlen;
    }
    val = t + v.off;
    if (v.len == 0) {
        return pos + litlen;
    }

    if (kind == NAME_PASSWORD) {
        if (password_value_ok(t + ns, e - ns, t, &v)) {
            llm_scan_emit(cx, LLM_R_ASSIGN_PASSWORD, v.off, v.len);
        }
        return pos + litlen;
    }
    /* Credentials: admin / Rz2!pL9vKw, credentials: deploy:Qm4^tV8xLp */
    if (kind == NAME_GENERIC && !v.quoted
        && llm_scan_context_has(t, n, ns, e, (const char *const[]){"credential", NULL})
        && user_slash_password(cx, v.off)) {
        return pos + litlen;
    }

    /* secrets: one token, no references, no paths or URLs */
    if (v.len < 16 || v.len > 512
        || !(token_chars(val, v.len) || (v.quoted && v.len >= 32
                                         && printable_word(val, v.len)))
        || is_ref(val, v.len, v.quoted) || val[0] == '/' || val[0] == '-'
        || (!v.quoted && (v.after == '(' || v.after == '['))
        || contains((const char *)val, v.len, "://")
        || llm_scan_is_placeholder(val, v.len)) {
        return pos + litlen;
    }
    if (kind == NAME_AWS_SECRET && v.len == 40 && all_of(val, v.len, 0)) {
        llm_scan_emit(cx, LLM_R_AWS_SECRET, v.off, v.len);
        return pos + litlen;
    }
    if (kind == NAME_GCP_KEY_ID && v.len == 40 && all_of(val, v.len, 1)) {
        llm_scan_emit(cx, LLM_R_GCP_KEY_ID, v.off, v.len);
        return pos + litlen;
    }
    if (kind == NAME_TWILIO && v.len == 32 && all_of(val, v.len, 1)) {
        llm_scan_emit(cx, LLM_R_TWILIO_AUTH, v.off, v.len);
        return pos + litlen;
    }
    /* terraform's secret_key = "...": an AWS secret when an AWS key id or
     * the word aws is near (256 bytes: the same provider block) */
    if (kind == NAME_GENERIC && v.len == 40 && all_of(val, v.len, 0)
        && llm_scan_context_has(t, n, v.off > 256 ? v.off - 256 : 0,
                                v.off + v.len + 256, aws_words)) {
        llm_scan_emit(cx, LLM_R_AWS_SECRET, v.off, v.len);
        return pos + litlen;
    }
    /* 40 or 64 hex digits is what a git commit or a SHA-256 looks like: a
     * secret only when the name says so more than "key" does */
    if ((v.len == 40 || v.len == 64) && all_of(val, v.len, 1)
        && !llm_scan_context_has(t, n, ns, e, strong_words)) {
        return pos + litlen;
    }
    if (llm_scan_looks_random(val, v.len, 1) && !is_dotted_ident(val, v.len)) {
        llm_scan_emit(cx, LLM_R_GENERIC_ASSIGN, v.off, v.len);
    }
    return pos + litlen;
}
