/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Personal data: numbers (phone, card, SSN, IPv4), e-mail addresses,
 * IBANs and IPv6 addresses.  Numbers are parsed once into digit groups and
 * their separators; each kind then checks the grouping it is written in
 * and its validator.  Code is full of numbers (versions, dates, times,
 * ports, line numbers, hashes), so a shape alone is never enough: the
 * grouping must be the one people write, the arithmetic must hold, and
 * the weak shapes need a word such as "phone" or "SSN" nearby.
 */

#include <string.h>

#include "scan_private.h"

#define MAXG 8

typedef struct {
    size_t off[MAXG];
    size_t len[MAXG];
    unsigned char sep[MAXG];     /* separator after group i */
    int n;
} groups_t;

static const char *const phone_words[] = {
    "tel", "phone", "mobile", "mob.", "fax", "call", "cell", "whatsapp",
    "contact", "reach", "ring", "handy", "telefon", "sms", "text me",
    "celular", "fone", "zap", NULL
};

static const char *const ssn_words[] = {
    "ssn", "social security", "soc sec", "ss#", "ss no", "tin", NULL
};

static const char *const ip_words[] = {
    "ip", "addr", "host", "server", "peer", "client", "remote", "gateway",
    "dns", "nameserver", "proxy", "upstream", "listen", "bind", "inet", NULL
};

/* words near a dotted quad that make it a version, not an address */
static const char *const version_words[] = {
    "version", "versions", "ver", "release", "released", "build", "firmware",
    "rev", "revision", "v", "v8", "tag", "driver", "kernel", "patch",
    "upgrade", "upgraded", "upgrading", "update", "updated", "updating",
    "bump", "bumped", "roll", "rolled", "downgrade", "chrome", "chromium",
    "firefox", "safari", "android", "ios", "windows", "python", "node",
    "nodejs", "java", "jdk", "sdk", "agent", "oid", "engine", "changelog",
    "section", "chapter", "clause", "rfc", "part", "figure", "table", "step",
    NULL
};

static int rb_ok(const unsigned char *t, size_t n, size_t x)
{
    return x >= n || !(LLM_IS_ALNUM(t[x]) || t[x] == '_');
}

static int num(const unsigned char *t, size_t off, size_t len)
{
    int v = 0;
    size_t k;

    for (k = 0; k < len; k++) {
        v = v * 10 + (t[off + k] - '0');
    }
    return v;
}

/* A whole word of words (lower case) in the win bytes before pos. */
static int word_before(const unsigned char *t, size_t pos, size_t win,
                       const char *const *words)
{
    size_t from = pos > win ? pos - win : 0, i, k, wl;
    int w;

    for (w = 0; words[w]; w++) {
        wl = strlen(words[w]);
        for (i = from; i + wl <= pos; i++) {
            if ((i > 0 && LLM_IS_ALPHA(t[i - 1]))
                || (i + wl < pos && LLM_IS_ALPHA(t[i + wl]))) {
                continue;
            }
            for (k = 0; k < wl && LLM_LOWER(t[i + k]) == (unsigned char)words[w][k]; k++) {
            }
            if (k == wl) {
                return 1;
            }
        }
    }
    return 0;
}

static int ctx_before(const llm_scan_ctx_t *cx, size_t pos, size_t win,
                      const char *const *words)
{
    return llm_scan_context_has(cx->t, cx->len, pos > win ? pos - win : 0,
                                pos, words);
}

static size_t gend(const groups_t *g, int i)
{
    return g->off[i] + g->len[i];
}

static int try_ipv4(llm_scan_ctx_t *cx, const groups_t *g, size_t pos)
{
    const unsigned char *t = cx->t;
    unsigned int o[4];
    int i;

    if (g->n < 4 || (g->n > 4 && g->sep[3] == '.')) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        if ((i < 3 && g->sep[i] != '.') || g->len[i] > 3
            || (g->len[i] > 1 && t[g->off[i]] == '0')) {
            return 0;
        }
        o[i] = (unsigned int)num(t, g->off[i], g->len[i]);
        if (o[i] > 255) {
            return 0;
        }
    }
    if (gend(g, 3) < cx->len && t[gend(g, 3)] == '.'
        && gend(g, 3) + 1 < cx->len && LLM_IS_DIGIT(t[gend(g, 3) + 1])) {
        return 0;
    }
    /* ==1.2.3.4, ~1.2.3.4, pkg@1.2.3.4, "version 1.2.3.4": not addresses;
     * nor section numbers: [23.2.2.1], (26.5.1.3) */
    if (pos > 0) {
        unsigned char c = t[pos - 1];
        if (c == '[' || (c == '(' && o[1] < 10 && o[2] < 10 && o[3] < 10)) {
            return 1;
        }
        if (c == '~' || c == '^' || c == '@'
            || (c == '=' && pos > 1 && (t[pos - 2] == '=' || t[pos - 2] == '<'
                                        || t[pos - 2] == '>' || t[pos - 2] == '~'
                                        || t[pos - 2] == '!'))) {
            return 1;
        }
    }
    /* 22.2.1.1, 9.4.2.251, OIDs 2.5.4.3: section numbers and object ids
     * look like small addresses.  A random address rarely has two of its
     * last three parts under 10; such a one needs a sign of an address. */
    if ((o[1] < 10) + (o[2] < 10) + (o[3] < 10) >= 2 || (o[0] <= 2 && o[1] < 10)) {
        unsigned char c = pos > 0 ? t[pos - 1] : ' ';
        if (c != '=' && c != '@' && c != '/'
            && !word_before(t, pos, 24, ip_words)) {
            return 1;
        }
    }
    /* 12.4.254.14-node.11, 1.2.3.4-beta */
    if (gend(g, 3) + 1 < cx->len && t[gend(g, 3)] == '-'
        && LLM_IS_ALPHA(t[gend(g, 3) + 1])) {
        return 1;
    }
    if (llm_scan_ipv4_public(o) && !word_before(t, pos, 40, version_words)) {
        llm_scan_emit(cx, LLM_R_IPV4, pos, gend(g, 3) - pos);
    }
    return 1;
}

/* 111-22-3333 and 123-45-xxxx: the examples of every form and manual */
static int ssn_example(const unsigned char *t, const groups_t *g)
{
    int i;
    size_t k;

    if (!memcmp(t + g->off[0], "123", 3) && !memcmp(t + g->off[1], "45", 2)) {
        return 1;
    }
    for (i = 0; i < 3; i++) {
        for (k = 1; k < g->len[i]; k++) {
            if (t[g->off[i] + k] != t[g->off[i]]) {
                return 0;
            }
        }
    }
    return 1;
}

static int try_ssn(llm_scan_ctx_t *cx, const groups_t *g)
{
    const unsigned char *t = cx->t;
    size_t at = g->off[0];

    if (g->n >= 3 && g->len[0] == 3 && g->len[1] == 2 && g->len[2] == 4
        && !ssn_example(t, g)
        && g->sep[0] == g->sep[1] && (g->sep[0] == '-' || g->sep[0] == ' ')
        && (g->n == 3 || g->sep[2] == ' ')) {
        if (g->sep[0] == ' ' && !ctx_before(cx, at, 40, ssn_words)) {
            return 0;
        }
        if (llm_scan_ssn_valid(num(t, g->off[0], 3), num(t, g->off[1], 2),
                               num(t, g->off[2], 4))) {
            llm_scan_emit(cx, LLM_R_SSN, at, gend(g, 2) - at);
        }
        return 1;
    }
    if (g->len[0] == 9 && (g->n == 1 || g->sep[0] == ' ')
        && ctx_before(cx, at, 32, ssn_words)) {
        if (llm_scan_ssn_valid(num(t, at, 3), num(t, at + 3, 2),
                               num(t, at + 5, 4))) {
            llm_scan_emit(cx, LLM_R_SSN, at, 9);
        }
        return 1;
    }
    return 0;
}

/* A group of 3-6 hex digits (with a digit) right before or after the
 * number: a table of code points or a hex dump, not a card. */
static int in_table(const llm_scan_ctx_t *cx, size_t from, size_t to)
{
    const unsigned char *t = cx->t;
    size_t k, a;
    int digit;

    if (from >= 3 && t[from - 1] == ' ') {
        for (a = from - 1, digit = 0; a > 0 && from - a <= 7 && LLM_IS_HEX(t[a - 1]); a--) {
            digit |= LLM_IS_DIGIT(t[a - 1]);
        }
        k = from - 1 - a;
        if (k >= 3 && k <= 6 && digit && (a == 0 || !LLM_IS_ALNUM(t[a - 1]))) {
            return 1;
        }
    }
    if (to + 3 < cx->len && t[to] == ' ') {
        for (a = to + 1, digit = 0; a < cx->len && a - to <= 7 && LLM_IS_HEX(t[a]); a++) {
            digit |= LLM_IS_DIGIT(t[a]);
        }
        k = a - to - 1;
        if (k >= 3 && k <= 6 && digit && (a >= cx->len || !LLM_IS_ALNUM(t[a]))) {
            return 1;
        }
    }
    return 0;
}

/* GS1 check digit (EAN-13, GTIN-14): weights 3,1,3... from the right */
static int gs1_valid(const char *d, size_t n)
{
    int sum = 0, w = 3;
    size_t i;

    for (i = n - 1; i-- > 0;) {
        sum += (d[i] - '0') * w;
        w = 4 - w;
    }
    return (10 - sum % 10) % 10 == d[n - 1] - '0';
}

static const char *const barcode_words[] = {
    "ean", "ean13", "ean_13", "ean-13", "gtin", "gtin13", "gtin14", "gtin_13",
    "gtin_14", "upc", "barcode", "bar_code", "sku", "isbn", "isbn13", NULL
};

static const char *const card_words[] = {
    "card", "credit", "visa", "mastercard", "amex", "kreditkarte", "carte",
    "tarjeta", "cartao", "ccnum", "cc_num", "cc-num", NULL
};

/* A word of words in t[from, to): case-insensitive, not inside another
 * word; a camelCase hump counts as a start (productEan, eanCode). */
static int word_in_range(const unsigned char *t, size_t from, size_t to,
                         const char *const *words)
{
    size_t i, k, wl;
    int w;

    for (i = from; i < to; i++) {
        if (i > 0 && LLM_IS_ALPHA(t[i - 1])
            && !(LLM_IS_UPPER(t[i]) && LLM_IS_LOWER(t[i - 1]))) {
            continue;
        }
        for (w = 0; words[w]; w++) {
            wl = strlen(words[w]);
            if (i + wl > to || LLM_LOWER(t[i]) != (unsigned char)words[w][0]) {
                continue;
            }
            for (k = 1; k < wl && LLM_LOWER(t[i + k]) == (unsigned char)words[w][k]; k++) {
            }
            if (k == wl && (i + wl >= to || !LLM_IS_LOWER(t[i + wl]))) {
                return 1;
            }
        }
    }
    return 0;
}

/* EAN-13 and GTIN-14 barcodes in product data (a key or column named
 * ean, gtin, upc, sku, barcode; a table's header line counts) share
 * lengths and prefixes with Visa and Diners cards, and one in ten passes
 * Luhn as well.  Not a card unless something says card. */
static int product_barcode(const llm_scan_ctx_t *cx, const char *d, size_t nd,
                           size_t off, size_t end)
{
    const unsigned char *t = cx->t;
    size_t from = off > 600 ? off - 600 : 0, hdr;

    if ((nd != 13 && nd != 14) || !gs1_valid(d, nd)) {
        return 0;
    }
    if (llm_scan_context_has(t, cx->len, off > 300 ? off - 300 : 0,
                             end + 100, card_words)) {
        return 0;
    }
    for (hdr = 0; hdr < cx->len && hdr < 400 && t[hdr] != '\n'; hdr++) {
    }
    if (word_in_range(t, from, off, barcode_words)
        || (from > hdr && word_in_range(t, 0, hdr, barcode_words))) {
        return 1;
    }
    /* a lone 13-digit Visa is rare today; a lone EAN-13 is not */
    return nd == 13;
}

static int card_check(llm_scan_ctx_t *cx, const groups_t *g, int ng)
{
    char d[24];
    size_t nd = 0;
    int i;

    for (i = 0; i < ng; i++) {
        if (nd + g->len[i] > 19) {
            return 0;
        }
        memcpy(d + nd, cx->t + g->off[i], g->len[i]);
        nd += g->len[i];
    }
    if (nd < 13 || !llm_scan_card_iin(d, nd) || !llm_scan_luhn(d, nd)) {
        return 0;
    }
    if (ng > 1 && g->sep[0] == ' '
        && in_table(cx, g->off[0], gend(g, ng - 1))) {
        return 1;
    }
    if (ng == 1 && product_barcode(cx, d, nd, g->off[0], gend(g, 0))) {
        return 1;
    }
    if (!llm_scan_card_is_test(d, nd)) {
        llm_scan_emit(cx, LLM_R_CARD, g->off[0], gend(g, ng - 1) - g->off[0]);
    }
    return 1;
}

static int try_card(llm_scan_ctx_t *cx, const groups_t *g)
{
    static const int shapes[][6] = {
        {4, 4, 4, 4, 0}, {4, 4, 4, 4, 3, 0}, {4, 6, 5, 0}, {4, 6, 4, 0},
        {0}
    };
    int s, i;

    if (g->len[0] >= 13 && g->len[0] <= 19 && (g->n == 1 || g->sep[0] == ' ')) {
        return card_check(cx, g, 1);
    }
    for (s = 0; shapes[s][0]; s++) {
        for (i = 0; shapes[s][i]; i++) {
            if (i >= g->n || g->len[i] != (size_t)shapes[s][i]
                || (i > 0 && g->sep[i - 1] != g->sep[0])
                || (g->sep[0] != ' ' && g->sep[0] != '-')) {
                break;
            }
        }
        if (!shapes[s][i] && (g->n == i || g->sep[i - 1] == ' ')
            && card_check(cx, g, i)) {
            return 1;
        }
    }
    return 0;
}

/* fictional numbers: NANP 555-0100..0199, Ofcom's drama ranges */
static int phone_fictional(const char *d, size_t nd)
{
    if ((nd == 11 || nd == 8) && d[0] == '1') {
        d++;
        nd--;
    }
    if (nd == 10 && !memcmp(d + 3, "5550", 4) && d[7] == '1') {
        return 1;
    }
    /* 555-1212 is directory assistance, in every example */
    if (nd >= 7 && !memcmp(d + nd - 7, "5551212", 7)) {
        return 1;
    }
    /* 555-01xx without an area code; 500 is where test numbers live */
    if ((nd == 7 && !memcmp(d, "5550", 4) && d[4] == '1')
        || (nd == 10 && !memcmp(d, "500", 3))) {
        return 1;
    }
    if (nd >= 10 && (!memcmp(d, "442079460", 9) || !memcmp(d, "447700900", 9)
                     || !memcmp(d, "02079460", 8) || !memcmp(d, "07700900", 8))) {
        return 1;
    }
    return 0;
}

static int nanp_ok(const unsigned char *t, size_t a, size_t x)
{
    return t[a] >= '2' && t[x] >= '2';
}

static void emit_phone(llm_scan_ctx_t *cx, const groups_t *g, int ng,
                       size_t from)
{
    char d[24];
    size_t nd = 0;
    int i;

    for (i = 0; i < ng && nd + g->len[i] <= 20; i++) {
        memcpy(d + nd, cx->t + g->off[i], g->len[i]);
        nd += g->len[i];
    }
    if (!phone_fictional(d, nd)) {
        llm_scan_emit(cx, LLM_R_PHONE, from, gend(g, ng - 1) - from);
    }
}

/* groups i, i+1 after a Brazilian area code: 9XXXX-XXXX or [2-5]XXX-XXXX,
 * and the area code itself 11..99 without a 0 */
static int brazil_local(const unsigned char *t, const groups_t *g, int i)
{
    unsigned char a0 = t[g->off[i - 1]], a1 = t[g->off[i - 1] + 1];
    unsigned char f = t[g->off[i]];

    return a0 != '0' && a1 != '0' && g->len[i + 1] == 4
           && (g->sep[i] == '-' || g->sep[i] == ' ')
           && (g->n == i + 2 || g->sep[i + 1] == ' ')
           && ((g->len[i] == 5 && f == '9') || (g->len[i] == 4 && f >= '2' && f <= '5'));
}

static int try_phone(llm_scan_ctx_t *cx, const groups_t *g, size_t pos,
                     int plus, int paren)
{
    const unsigned char *t = cx->t;
    size_t nd = 0;
    int i, k, zeros, ng = g->n;

    for (i = 0; i < ng; i++) {
        nd += g->len[i];
    }
    if (plus) {
        /* E.164: +CC and 7..14 more digits, grouped as people write them:
         * no one-digit groups after the country code, one kind of
         * separator */
        for (i = 0; i < ng; i++) {
            if (g->len[i] > 14 || (i > 1 && g->len[i] < 2)
                || (i > 0 && i + 1 < ng && g->sep[i] != g->sep[i - 1]
                    && g->sep[i - 1] != ' ')) {
                return 0;
            }
        }
        if (ng > 1 && g->len[0] > 3) {
            return 0;
        }
        if (nd >= 8 && nd <= 15 && t[pos] != '0') {
            emit_phone(cx, g, ng, pos - 1);
            return 1;
        }
        return 0;
    }
    if (paren && ng >= 3 && g->len[0] == 3 && g->sep[0] == ')'
        && g->len[1] == 3 && g->len[2] == 4
        && (g->sep[1] == '-' || g->sep[1] == '.' || g->sep[1] == ' ')
        && (ng == 3 || g->sep[2] == ' ')) {
        if (nanp_ok(t, g->off[0], g->off[1])) {
            emit_phone(cx, g, 3, pos - 1);
        }
        return 1;
    }
    /* Brazil: (11) 98765-4321 (mobile, 9 and eight digits), (11) 3456-7890 */
    if (paren && ng >= 3 && g->len[0] == 2 && g->sep[0] == ')'
        && brazil_local(t, g, 1)) {
        size_t from = pos - 1;
        /* +55 (11) ...: the country code belongs to it */
        if (from >= 4 && t[from - 1] == ' ' && t[from - 4] == '+'
            && t[from - 3] == '5' && t[from - 2] == '5') {
            from -= 4;
        }
        emit_phone(cx, g, 3, from);
        return 1;
    }
    /* 11 98765-4321 after a word such as phone or TEL */
    if (!paren && ng >= 3 && g->len[0] == 2 && g->sep[0] == ' '
        && brazil_local(t, g, 1) && ctx_before(cx, pos, 48, phone_words)) {
        emit_phone(cx, g, 3, pos);
        return 1;
    }
    /* 212-555-0123, 212.555.0123, 1-212-555-0123 */
    {
        int b = (g->len[0] == 1 && t[g->off[0]] == '1' && ng >= 4) ? 1 : 0;
        if (ng >= b + 3 && g->len[b] == 3 && g->len[b + 1] == 3
            && g->len[b + 2] == 4 && g->sep[b] == g->sep[b + 1]
            && (g->sep[b] == '-' || g->sep[b] == '.'
                || (g->sep[b] == ' ' && ctx_before(cx, pos, 48, phone_words)))
            && (!b || g->sep[0] == g->sep[1])
            && (ng == b + 3 || g->sep[b + 2] == ' ')) {
            if (nanp_ok(t, g->off[b], g->off[b + 1])) {
                emit_phone(cx, g, b + 3, pos);
            }
            return 1;
        }
    }
    /* French style: five pairs of digits, the first 0 and 1-9 */
    if (ng >= 5 && t[pos] == '0' && t[pos + 1] != '0') {
        for (i = 0; i < 5; i++) {
            if (g->len[i] != 2 || (i < 4 && g->sep[i] != g->sep[0])) {
                break;
            }
        }
        /* hex dumps: 01 02 03 04 05; a number has one leading 0 pair */
        for (k = 1, zeros = 0; k < 5 && i == 5; k++) {
            zeros += t[g->off[k]] == '0';
        }
        if (i == 5 && zeros < 2 && (g->sep[0] == ' ' || g->sep[0] == '.')
            && (ng == 5 || (g->sep[4] == ' ' && g->len[5] != 2))) {
            emit_phone(cx, g, 5, pos);
            return 1;
        }
    }
    /* national numbers (020 7946 0958, 030 12345678, 4155552671) need a
     * word such as "phone" before them */
    if (nd >= 10 && nd <= 12 && ng <= 4
        && (t[pos] == '0' || (ng == 1 && nd == 10 && nanp_ok(t, pos, pos + 3)))
        && ctx_before(cx, pos, 48, phone_words)) {
        for (i = 0; i + 1 < ng; i++) {
            if (g->sep[i] != ' ' && g->sep[i] != '-') {
                return 0;
            }
        }
        if (ng == 1 && t[pos] != '0' && !nanp_ok(t, pos, pos + 3)) {
            return 0;
        }
        emit_phone(cx, g, ng, pos);
        return 1;
    }
    return 0;
}

size_t llm_scan_rec_number(llm_scan_ctx_t *cx, size_t pos)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, k = pos;
    groups_t g;
    int plus = 0, paren = 0;

    if (pos > 0) {
        unsigned char c = t[pos - 1];
        unsigned char c2 = pos > 1 ? t[pos - 2] : ' ';
        if (c == '+' && !LLM_IS_ALNUM(c2) && c2 != ')' && c2 != '+') {
            plus = 1;
        }
        else if (c == '+') {
            return pos + 1;      /* C++14, a+1 */
        }
        else if (c == '(' && !LLM_IS_ALNUM(c2)) {
            paren = 1;
        }
        else if (((c == '-' || c == '/') && (LLM_IS_ALNUM(c2) || c2 == '_'))
                 || (c == ':' && LLM_IS_DIGIT(c2))) {
            return pos + 1;      /* build-123, a/123, 12:30 */
        }
    }
    g.n = 0;
    while (g.n < MAXG) {
        size_t b = k;
        while (k < n && LLM_IS_DIGIT(t[k]) && k - b < 20) {
            k++;
        }
        g.off[g.n] = b;
        g.len[g.n] = k - b;
        g.sep[g.n] = 0;
        g.n++;
        if (k + 1 >= n) {
            break;
        }
        if ((t[k] == ' ' || t[k] == '-' || t[k] == '.') && LLM_IS_DIGIT(t[k + 1])) {
            g.sep[g.n - 1] = t[k];
            k++;
            continue;
        }
        if (t[k] == ')' && paren && g.n == 1) {
            g.sep[0] = ')';
            if (t[k + 1] == ' ' && k + 2 < n && LLM_IS_DIGIT(t[k + 2])) {
                k += 2;
                continue;
            }
            if (LLM_IS_DIGIT(t[k + 1])) {
                k++;
                continue;
            }
        }
        break;
    }
    /* short lone numbers are the common case: leave at once */
    if (g.n == 1 && g.len[0] < 9) {
        return k;
    }
    /* the last group must end the token: 123-45-6789abc is an id */
    if (!rb_ok(t, n, gend(&g, g.n - 1))) {
        g.n--;
        if (g.n == 0) {
            return k;
        }
    }
    /* DE44 5001 0517 ...: the groups of an IBAN, which rec_iban judges */
    if (pos >= 5 && t[pos - 1] == ' ' && LLM_IS_UPPER(t[pos - 5])
        && LLM_IS_UPPER(t[pos - 4]) && LLM_IS_DIGIT(t[pos - 3])
        && LLM_IS_DIGIT(t[pos - 2])) {
        return gend(&g, g.n - 1);
    }
    if (plus && try_phone(cx, &g, pos, plus, paren)) {
        return gend(&g, g.n - 1);
    }
    if (try_ipv4(cx, &g, pos) || try_ssn(cx, &g) || try_card(cx, &g)
        || try_phone(cx, &g, pos, plus, paren)) {
        return gend(&g, g.n - 1);
    }
    /* a match may start at the next word, not inside 2024-05-01 */
    for (k = 1; k < (size_t)g.n; k++) {
        if (g.sep[k - 1] == ' ') {
            return g.off[k];
        }
    }
    return gend(&g, g.n - 1);
}

static int local_char(unsigned char c)
{
    return LLM_IS_ALNUM(c) || c == '.' || c == '_' || c == '+' || c == '-'
           || c == '\'';
}

static const char *const not_tlds[] = {
    "test", "invalid", "localhost", "local", "example", "internal", "lan",
    "home", "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "js",
    "mjs", "cjs", "ts", "tsx", "jsx", "css", "scss", "less", "json", "yaml",
    "yml", "md", "py", "rb", "go", "rs", "java", "kt", "swift", "c", "h",
    "cc", "cpp", "hpp", "txt", "html", "htm", "xml", "lock", "wasm", "map",
    "zip", "gz", "tgz", "tar", "so", "dll", "exe", "pdf", "mp4", "mp3",
    "wav", "woff", "woff2", "ttf", "eot", "sh", "toml", "ini", "cfg", "conf",
    "log", "sql", "proto", "vue", "svelte", "lua", "php", "pl", "dart", NULL
};

static const char *const not_locals[] = {
    "git", "noreply", "no-reply", "donotreply", "do-not-reply", NULL
};

static int word_in(const unsigned char *s, size_t n, const char *const *list)
{
    char w[32];
    size_t k;
    int i;

    if (n >= sizeof(w)) {
        return 0;
    }
    for (k = 0; k < n; k++) {
        w[k] = (char)LLM_LOWER(s[k]);
    }
    w[n] = '\0';
    for (i = 0; list[i]; i++) {
        if (!strcmp(w, list[i])) {
            return 1;
        }
    }
    return 0;
}

size_t llm_scan_rec_email(llm_scan_ctx_t *cx, size_t at)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, s = at, k, ls, last_dot = 0;
    int labels = 0, example = 0;

    while (s > 0 && local_char(t[s - 1]) && at - s < 64) {
        s--;
    }
    /* \n+@decorator in JSON text: the escape is not part of the address */
    if (s > 0 && t[s - 1] == '\\' && (t[s] == 'n' || t[s] == 't' || t[s] == 'r')) {
        s++;
    }
    /* +@decorator on a diff line, -'x': the marks are not a local part */
    while (s < at && !LLM_IS_ALNUM(t[s])) {
        s++;
    }
    if (s == at || t[at - 1] == '.') {
        return at + 1;
    }
    if (s > 0) {
        unsigned char c = t[s - 1];
        /* "%s@acme.com", "{user}@acme.com": a template */
        if (c == '%' || c == '}' || c == '{'
            || (s > 1 && t[s - 2] == '%' && c == 's')) {
            return at + 1;
        }
        /* EMAIL:x@y, EMAIL;TYPE=INTERNET:x@y (vCard), e-mail:x@y */
        if (c == ':' && s >= 5 && (llm_scan_context_has(t, n, s - 5, s,
                                                        (const char *const[]){"mail:", NULL})
                                   || (s >= 9 && llm_scan_context_has(t, n, s - 9, s,
                                                                      (const char *const[]){"internet:", NULL})))) {
            c = ' ';
        }
        if (c == '/' || c == '@'
            || (c == ':' && !(s >= 7 && llm_scan_context_has(t, n, s - 7, s,
                                                               (const char *const[]){"mailto:", NULL})))) {
            return at + 1;       /* URL user info, or not an address */
        }
    }
    k = at + 1;
    for (;;) {
        ls = k;
        while (k < n && (LLM_IS_ALNUM(t[k]) || t[k] == '-') && k - ls < 63) {
            k++;
        }
        if (k == ls) {
            break;
        }
        labels++;
        if (k - ls == 7 && word_in(t + ls, 7, (const char *const[]){"example", NULL})) {
            example = 1;
        }
        if (k + 1 < n && t[k] == '.' && LLM_IS_ALNUM(t[k + 1])) {
            last_dot = k;
            k++;
            continue;
        }
        break;
    }
    if (labels < 2 || example) {
        return k > at + 1 ? k : at + 1;
    }
    for (ls = last_dot + 1; ls < k; ls++) {
        if (!LLM_IS_ALPHA(t[ls])) {
            return k;
        }
    }
    if (k - last_dot - 1 < 2 || k - last_dot - 1 > 24
        || word_in(t + last_dot + 1, k - last_dot - 1, not_tlds)
        || word_in(t + s, at - s, not_locals)
        || llm_scan_context_has(t, k, at, k, (const char *const[]){"noreply.", NULL})) {
        return k;
    }
    llm_scan_emit(cx, LLM_R_EMAIL, s, k - s);
    return k;
}

/* Examples printed in every IBAN document; a real account never has them. */
static const char *const iban_examples[] = {
    "DE89370400440532013000", "GB82WEST12345698765432",
    "GB29NWBK60161331926819", "NL91ABNA0417164300",
    "FR1420041010050500013M02606", "ES9121000418450200051332",
    "CH9300762011623852957", "BE68539007547034", "AT611904300234573201",
    "IT60X0542811101000000123456", NULL
};

size_t llm_scan_rec_iban(llm_scan_ctx_t *cx, size_t pos)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, k = pos, nb = 0, at[34];
    char buf[35];
    int i;

    if (!LLM_IS_UPPER(t[pos]) || pos + 4 > n || !LLM_IS_DIGIT(t[pos + 3])
        || (pos > 0 && (LLM_IS_ALNUM(t[pos - 1]) || t[pos - 1] == '_'))) {
        return pos + 2;
    }
    while (k < n && nb < 34) {
        unsigned char c = t[k];
        if (LLM_IS_UPPER(c) || LLM_IS_DIGIT(c)) {
            at[nb] = k;
            buf[nb++] = (char)c;
            k++;
        }
        else if (c == ' ' && nb % 4 == 0 && k + 1 < n
                 && (LLM_IS_UPPER(t[k + 1]) || LLM_IS_DIGIT(t[k + 1]))) {
            k++;
        }
        else {
            break;
        }
    }
    buf[nb] = '\0';
    for (i = 34; i >= 15; i--) {
        if ((size_t)i <= nb && rb_ok(t, n, at[i - 1] + 1)
            && (i == (int)nb || t[at[i - 1] + 1] == ' ')
            && llm_scan_iban_valid(buf, (size_t)i)) {
            int x;
            for (x = 0; iban_examples[x]; x++) {
                if (strlen(iban_examples[x]) == (size_t)i
                    && !memcmp(iban_examples[x], buf, (size_t)i)) {
                    return at[i - 1] + 1;
                }
            }
            llm_scan_emit(cx, LLM_R_IBAN, pos, at[i - 1] + 1 - pos);
            return at[i - 1] + 1;
        }
    }
    return pos + 2;
}

/* s: the first digit of what may be a global address, 2xxx: or 3xxx: */
size_t llm_scan_rec_ipv6(llm_scan_ctx_t *cx, size_t s)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, e, k;
    unsigned int g[8], head[8], tail[8];
    int nh = 0, nt = 0, dbl = 0, j;

    if (s + 5 >= n || !LLM_IS_HEX(t[s + 1]) || !LLM_IS_HEX(t[s + 2])
        || !LLM_IS_HEX(t[s + 3]) || t[s + 4] != ':') {
        return s + 1;
    }
    for (e = s; e < n && (LLM_IS_HEX(t[e]) || t[e] == ':') && e - s < 45; e++) {
    }
    if (e < n && (LLM_IS_ALNUM(t[e]) || t[e] == '_' || t[e] == '.')) {
        return e;
    }
    /* parse: groups of 1-4 hex, at most one "::" */
    k = s;
    if (t[k] == ':') {
        if (k + 1 < e && t[k + 1] == ':') {
            dbl = 1;
            k += 2;
        }
        else {
            return e;
        }
    }
    while (k < e) {
        unsigned int v = 0;
        size_t b = k;
        while (k < e && LLM_IS_HEX(t[k]) && k - b < 5) {
            v = v * 16 + (unsigned int)(LLM_IS_DIGIT(t[k]) ? t[k] - '0'
                                        : (t[k] | 32) - 'a' + 10);
            k++;
        }
        if (k == b || k - b > 4) {
            return e;
        }
        if (dbl) {
            if (nt >= 8) {
                return e;
            }
            tail[nt++] = v;
        }
        else {
            if (nh >= 8) {
                return e;
            }
            head[nh++] = v;
        }
        if (k >= e) {
            break;
        }
        if (k + 1 < e && t[k + 1] == ':') {
            if (dbl) {
                return e;
            }
            dbl = 1;
            k += 2;
            continue;
        }
        if (++k >= e) {
            return e;
        }
    }
    if ((!dbl && nh != 8) || (dbl && nh + nt > 7) || nh + nt < 3) {
        return e;
    }
    for (j = 0; j < 8; j++) {
        g[j] = 0;
    }
    for (j = 0; j < nh; j++) {
        g[j] = head[j];
    }
    for (j = 0; j < nt; j++) {
        g[8 - nt + j] = tail[j];
    }
    if (llm_scan_ipv6_public(g)) {
        llm_scan_emit(cx, LLM_R_IPV6, s, e - s);
    }
    return e;
}
