/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The prefilter: the only code that touches every byte.  Each byte pair
 * (t[i], t[i+1]) is looked up in a table of one byte a pair, eight pairs a
 * branch; a hit means that some literal anchor holds that pair, or that
 * the pair opens a number, an e-mail '@', an IBAN or a "word:" before a
 * number.  Most text hits nothing.  The commonest hits, short numbers
 * (dates, times, counts, private addresses), are dropped on the spot from
 * their first two digit runs; only the rest reach the anchors'
 * regexes and the recognisers.
 *
 * Where the CPU has AVX-512 BW and VBMI, a vector loop first sorts 64
 * positions at a time by a cover of the table (prefilter_roles.c) and
 * looks up only the pairs that pass, ~7 in 100 bytes of agent text
 * instead of every one; the commonest drops (short numbers, "word:"
 * before no digit) it decides for the whole block at once, and it takes
 * the other hits in the same order with the same code as the scalar
 * loops, so that both dispatch at the same positions.  The scalar loops
 * finish the last bytes and run everywhere else (LLM_SCAN_PREFILTER=scalar
 * in the environment, or building with -DLLM_SCAN_NO_SIMD, forces them).
 */

#include <stdlib.h>
#include <string.h>

#include "scan_private.h"

/* Names whose assignment may hold a password or a secret; the recogniser
 * works out the whole name around the anchor.  Each word is looked up by
 * its rarest pair ("cr" of secret, "ok" of token), not its first. */
static const struct { const char *w; int pairoff; } assign_words[] = {
    { "pass", 0 }, { "pwd", 0 }, { "pw", 0 }, { "secret", 2 }, { "token", 1 },
    { "key", 1 }, { "credential", 0 }, { NULL, 0 }
};

/* Which pair of a literal to look up: one that mixes a letter or digit
 * with punctuation, or has a capital or a digit, is rarer in text than a
 * pair of lower-case letters. */
static int pick_pair(const char *lit, size_t len)
{
    size_t k;
    int best = -100, at = 0;

    for (k = 0; k + 1 < len; k++) {
        unsigned char a = (unsigned char)lit[k], b = (unsigned char)lit[k + 1];
        int sc = 0;
        if ((LLM_IS_ALNUM(a) != LLM_IS_ALNUM(b)) && a != ' ' && b != ' ') {
            sc += 2;
        }
        if (LLM_IS_UPPER(a) || LLM_IS_UPPER(b)) {
            sc += 1;
        }
        if (LLM_IS_DIGIT(a) || LLM_IS_DIGIT(b)) {
            sc += 1;
        }
        if (a == ' ' || b == ' ') {
            sc -= 3;
        }
        if (sc > best) {
            best = sc;
            at = (int)k;
        }
    }
    return at;
}

/* The letters of the one-character escapes that stand for a blank. */
static int escape_letter(unsigned char c)
{
    return c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f';
}

/* llm_scan_near_ok in scan_private.h computes the same */
static unsigned int bucket_of(uint16_t pair)
{
    return ((unsigned int)pair * 40503u >> 4) & (LLM_SCAN_BUCKETS - 1);
}

static uint16_t fold_pair(unsigned char c0, unsigned char c1)
{
    return (uint16_t)(LLM_LOWER(c0) | (LLM_LOWER(c1) << 8));
}

static void set_pair(llm_scan_rules_t *rs, unsigned char c0, unsigned char c1)
{
    unsigned int pr = c0 | ((unsigned int)c1 << 8);
    rs->pairmap[pr >> 3] |= (uint8_t)(1u << (pr & 7));
}

static void set_lit(llm_scan_rules_t *rs, unsigned char c0, unsigned char c1)
{
    unsigned int pr = c0 | ((unsigned int)c1 << 8);
    rs->litmap[pr >> 3] |= (uint8_t)(1u << (pr & 7));
    set_pair(rs, c0, c1);
}

static void add_anchor(llm_scan_rules_t *rs, const char *lit, size_t len,
                       int act, int ci, int rule, int back, int pairoff)
{
    llm_scan_anchor_t *a = apr_array_push(rs->anchors);
    unsigned char c0 = (unsigned char)lit[pairoff];
    unsigned char c1 = (unsigned char)lit[pairoff + 1];
    unsigned int b;

    a->pair = fold_pair(c0, c1);
    a->act = (uint8_t)act;
    a->ci = (uint8_t)ci;
    a->rule = rule;
    a->back = back;
    a->pairoff = pairoff;
    a->lit = lit;
    a->litlen = len;
    b = bucket_of(a->pair);
    a->next = rs->bucket[b];
    rs->bucket[b] = rs->anchors->nelts - 1;
    if (ci) {
        set_lit(rs, LLM_LOWER(c0), LLM_LOWER(c1));
        set_lit(rs, LLM_IS_LOWER(c0) ? c0 - 32 : c0, LLM_LOWER(c1));
        set_lit(rs, LLM_LOWER(c0), LLM_IS_LOWER(c1) ? c1 - 32 : c1);
        set_lit(rs, LLM_IS_LOWER(c0) ? c0 - 32 : c0,
                LLM_IS_LOWER(c1) ? c1 - 32 : c1);
    }
    else {
        set_lit(rs, c0, c1);
    }
}

static void set_bit(uint8_t *map, unsigned int b)
{
    map[b >> 3] |= (uint8_t)(1u << (b & 7));
}

/* The text bytes that match lit[k] of anchor a. */
static void allow_byte(uint8_t *map, const llm_scan_anchor_t *a, int k)
{
    unsigned int b;

    if (k < 0 || (size_t)k >= a->litlen) {
        memset(map, 0xff, 32);          /* outside the literal: anything */
        return;
    }
    for (b = 0; b < 256; b++) {
        if ((a->ci ? (unsigned int)LLM_LOWER(b) : b)
            == (unsigned char)a->lit[k]) {
            set_bit(map, b);
        }
    }
}

/* For each bucket of anchors, the bytes its anchors allow on either side of
 * the pair (the union over the bucket: a pair that fails it matches no
 * anchor of the bucket, and dispatch would find nothing there). */
static void build_near(llm_scan_rules_t *rs)
{
    const llm_scan_anchor_t *an = (const llm_scan_anchor_t *)rs->anchors->elts;
    int b, a, used = 1;

    memset(rs->nearclass, 0, sizeof(rs->nearclass));
    memset(rs->near, 0, sizeof(rs->near));
    memset(&rs->near[1], 0xff, sizeof(rs->near[1]));
    for (b = 0; b < LLM_SCAN_BUCKETS; b++) {
        llm_scan_near_t *nr;
        if (rs->bucket[b] < 0) {
            continue;
        }
        if (used == LLM_SCAN_NEAR_MAX) {
            rs->nearclass[b] = 1;
            continue;
        }
        rs->nearclass[b] = (uint8_t)++used;
        nr = &rs->near[used];
        for (a = rs->bucket[b]; a >= 0; a = an[a].next) {
            allow_byte(nr->before, &an[a], an[a].pairoff - 1);
            allow_byte(nr->after, &an[a], an[a].pairoff + 2);
            allow_byte(nr->after2, &an[a], an[a].pairoff + 3);
        }
    }
}

static int any_on(const llm_scan_rules_t *rs, int from, int to)
{
    int i;

    for (i = from; i <= to; i++) {
        if (!LLM_RULE(rs, i)->disabled) {
            return 1;
        }
    }
    return 0;
}

/* What quick_skip's first test makes of a hit pair, looked up once: 1 no
 * literal anchor's pair; 2 a literal anchor's pair that its neighbours
 * never drop (it opens something else too, or its bucket allows all);
 * c + 1 a literal anchor's pair that quick_skip drops when near[c] does
 * not allow its neighbours.  A near class too large for a byte counts as
 * 2: not dropping such a pair is what the scan did before the neighbour
 * check, and dispatch finds nothing there. */
static uint8_t pair_kind(const llm_scan_rules_t *rs, unsigned int pr)
{
    unsigned int c;

    if (!((rs->pairmap[pr >> 3] >> (pr & 7)) & 1)) {
        return 0;
    }
    if (!((rs->litmap[pr >> 3] >> (pr & 7)) & 1)) {
        return 1;
    }
    if ((rs->othermap[pr >> 3] >> (pr & 7)) & 1) {
        return 2;
    }
    c = rs->nearclass[bucket_of(fold_pair((unsigned char)(pr & 255),
                                          (unsigned char)(pr >> 8)))];
    return (uint8_t)(c >= 2 && c <= 254 ? c + 1 : 2);
}

/* The classes of the vector loop's drops (run_avx512, drops_of).  A byte
 * gets VC_NUM only if its pair with every digit is kind 1 and
 * quick_skip_other takes such a pair to number_worth; VC_WORD only if its
 * pair with ':' is kind 1; VC_END only if no digit before it makes a
 * hit.  A drop skips the digit run of its number without visiting it,
 * which the scalar loop does only after looking at it: exact because the
 * pairs in the run are no hits, which holds when no digit pair hits
 * (else no byte gets a class and nothing is dropped). */
static void build_drop_classes(llm_scan_rules_t *rs)
{
    unsigned int c, d;
    uint8_t hi = 0xff;

    memset(rs->vclass, 0, sizeof(rs->vclass));
    rs->vclass_hi = 0;
    for (c = '0'; c <= '9'; c++) {
        for (d = '0'; d <= '9'; d++) {
            if (rs->pairkind[c | (d << 8)]) {
                return;
            }
        }
    }
    for (c = 0; c < 256; c++) {
        uint8_t v = 0;
        int num = !LLM_IS_ALNUM(c) && c != '_' && c != '.' && c != '-'
                  && c != ':' && c != '+' && c != '(' && c != '/';
        int end = 1;
        for (d = '0'; d <= '9'; d++) {
            num = num && rs->pairkind[c | (d << 8)] == 1;
            end = end && !rs->pairkind[d | (c << 8)];
        }
        if (LLM_IS_DIGIT(c)) {
            v |= LLM_SCAN_VC_DIGIT;
        }
        if (num) {
            v |= LLM_SCAN_VC_NUM;
        }
        if (c == ' ' || c == '-' || c == '.') {
            v |= LLM_SCAN_VC_SEP;
        }
        if (c == '2' || c == '3') {
            v |= LLM_SCAN_VC_TWO3;
        }
        if (c == ':') {
            v |= LLM_SCAN_VC_COLON;
        }
        if (LLM_IS_ALPHA(c) && rs->pairkind[c | (':' << 8)] == 1) {
            v |= LLM_SCAN_VC_WORD;
        }
        if (end) {
            v |= LLM_SCAN_VC_END;
        }
        rs->vclass[c] = v;
        if (c >= 128) {
            hi &= v;
        }
    }
    rs->vclass_hi = hi;
}

const char *llm_scan_prefilter_build(llm_scan_rules_t *rs)
{
    int i, c0, c1;

    memset(rs->pairmap, 0, sizeof(rs->pairmap));
    memset(rs->litmap, 0, sizeof(rs->litmap));
    memset(rs->othermap, 0, sizeof(rs->othermap));
    for (i = 0; i < LLM_SCAN_BUCKETS; i++) {
        rs->bucket[i] = -1;
    }
    rs->anchors->nelts = 0;

    for (i = LLM_R_NCODE; i < rs->rules->nelts; i++) {
        llm_scan_rule_t *r = LLM_RULE(rs, i);
        const char *s, *e;
        if (r->disabled || !r->builtin || !r->anchors) {
            continue;
        }
        for (s = r->anchors; *s; s = *e ? e + 1 : e) {
            e = strchr(s, '|');
            if (!e) {
                e = s + strlen(s);
            }
            if (e - s < 2) {
                return "built-in anchor shorter than two bytes";
            }
            add_anchor(rs, s, (size_t)(e - s), LLM_SCAN_ACT_PATTERN,
                       r->anchor_ci, i, r->back, pick_pair(s, (size_t)(e - s)));
        }
    }
    if (any_on(rs, LLM_R_ASSIGN_PASSWORD, LLM_R_GENERIC_ASSIGN)) {
        for (i = 0; assign_words[i].w; i++) {
            add_anchor(rs, assign_words[i].w, strlen(assign_words[i].w),
                       LLM_SCAN_ACT_ASSIGN, 1, -1, 0, assign_words[i].pairoff);
        }
    }
    if (any_on(rs, LLM_R_CONN_PASSWORD, LLM_R_CONN_PASSWORD)) {
        add_anchor(rs, "://", 3, LLM_SCAN_ACT_URL, 0, -1, 0, 0);
    }
    if (any_on(rs, LLM_R_PRIVATE_KEY_RSA, LLM_R_PRIVATE_KEY_PGP)) {
        add_anchor(rs, "-----BEGIN ", 11, LLM_SCAN_ACT_PEM, 0, -1, 0, 4);
    }
    if (any_on(rs, LLM_R_JWT, LLM_R_JWT)) {
        add_anchor(rs, "eyJ", 3, LLM_SCAN_ACT_JWT, 0, -1, 0, 1);
    }

    rs->want_email = any_on(rs, LLM_R_EMAIL, LLM_R_EMAIL);
    rs->want_number = any_on(rs, LLM_R_PHONE, LLM_R_IPV4);
    rs->want_iban = any_on(rs, LLM_R_IBAN, LLM_R_IBAN);
    rs->want_ipv6 = any_on(rs, LLM_R_IPV6, LLM_R_IPV6);
    for (c0 = 0; c0 < 256; c0++) {
        for (c1 = 0; c1 < 256; c1++) {
            int hit = 0;
            if (rs->want_email && c1 == '@' && c0 != '@') {
                hit = 1;
            }
            /* a number starts after a blank or punctuation, not inside
             * x86_64, v1.2 or 2024-05-01 */
            if ((rs->want_number || rs->want_ipv6) && LLM_IS_DIGIT(c1)
                && !LLM_IS_ALNUM(c0) && c0 != '_' && c0 != '.' && c0 != '-'
                && c0 != ':') {
                hit = 1;
            }
            /* after a colon only when a word precedes it (ssn:536-..,
             * ip:203.0.113.7), never inside a time such as 10:00:02: the
             * pair is (letter, ':') */
            if (rs->want_number && LLM_IS_ALPHA(c0) && c1 == ':') {
                hit = 1;
            }
            if (rs->want_iban && LLM_IS_UPPER(c0) && LLM_IS_DIGIT(c1)) {
                hit = 1;
            }
            /* "\n4111 ...": a number right after escape text written out
             * (JSON inside a string, logs); quick_skip drops the pair
             * unless a backslash precedes it */
            if ((rs->want_number || rs->want_ipv6) && LLM_IS_DIGIT(c1)
                && escape_letter((unsigned char)c0)) {
                hit = 1;
            }
            if (hit) {
                set_pair(rs, (unsigned char)c0, (unsigned char)c1);
            }
            /* every pair for which dispatch may call a recogniser other
             * than the anchors' (a superset of its tests) */
            if ((c1 == '@' && rs->want_email)
                || (c1 == ':' && rs->want_number && LLM_IS_ALPHA(c0))
                || (LLM_IS_DIGIT(c1) && (rs->want_number || rs->want_ipv6
                                         || rs->want_iban))) {
                set_bit(rs->othermap, (unsigned int)c0 | ((unsigned int)c1 << 8));
            }
        }
    }
    build_near(rs);
    for (c0 = 0; c0 < 65536; c0++) {
        rs->pairbyte[c0] = (uint8_t)((rs->pairmap[c0 >> 3] >> (c0 & 7)) & 1);
    }
    for (c0 = 0; c0 < 65536; c0++) {
        rs->pairkind[c0] = pair_kind(rs, (unsigned int)c0);
    }
    build_drop_classes(rs);
    llm_scan_roles_build(rs);
    /* the vector loop where the CPU has it, unless the environment asks
     * for the scalar one (to compare the two on one machine) */
    {
        const char *want = getenv("LLM_SCAN_PREFILTER");
        llm_scan_prefilter_path(rs, want && !strcmp(want, "scalar")
                                    ? LLM_SCAN_PATH_SCALAR
                                    : LLM_SCAN_PATH_AVX512);
    }
    return NULL;
}

static int lit_eq(const unsigned char *t, const llm_scan_anchor_t *a)
{
    size_t k;

    if (!a->ci) {
        /* byte by byte, not memcmp: literals are a few bytes and most
         * differ in the first, where a library call costs more than the
         * comparison (4% of the gateway's CPU at 1 MB) */
        for (k = 0; k < a->litlen; k++) {
            if (t[k] != (unsigned char)a->lit[k]) {
                return 0;
            }
        }
        return 1;
    }
    for (k = 0; k < a->litlen; k++) {
        if (LLM_LOWER(t[k]) != (unsigned char)a->lit[k]) {
            return 0;
        }
    }
    return 1;
}

/* Everything that may start at i.  Returns the end of what was consumed;
 * the loop goes on at the last byte of it so that a pair straddling the
 * end is still seen. */
static size_t dispatch(llm_scan_ctx_t *cx, size_t i)
{
    const llm_scan_rules_t *rs = cx->rs;
    const unsigned char *t = cx->t;
    unsigned char c0 = t[i], c1 = t[i + 1];
    unsigned int pr = c0 | ((unsigned int)c1 << 8);
    size_t end = i + 1, e;
    int a;

    if (cx->dispatched) {
        APR_ARRAY_PUSH(cx->dispatched, size_t) = i;
    }
    if (c1 == '@') {
        if (rs->want_email && (e = llm_scan_rec_email(cx, i + 1)) > end) {
            end = e;
        }
    }
    else if (c1 == ':') {
        if (rs->want_number && LLM_IS_ALPHA(c0) && i + 2 < cx->len
            && LLM_IS_DIGIT(t[i + 2])
            && (e = llm_scan_rec_number(cx, i + 2)) > end) {
            end = e;
        }
    }
    else if (LLM_IS_DIGIT(c1)) {
        if ((!LLM_IS_ALNUM(c0) && c0 != '_' && c0 != '.' && c0 != '-')
            || (escape_letter(c0) && i > 0 && t[i - 1] == '\\')) {
            /* public IPv6 addresses start with a group 2xxx or 3xxx */
            if (rs->want_ipv6 && (c1 == '2' || c1 == '3') && i + 6 < cx->len
                && t[i + 5] == ':' && (e = llm_scan_rec_ipv6(cx, i + 1)) > end) {
                end = e;
            }
            else if (rs->want_number && (e = llm_scan_rec_number(cx, i + 1)) > end) {
                end = e;
            }
        }
        if (rs->want_iban && LLM_IS_UPPER(c0) && i > 0 && LLM_IS_UPPER(t[i - 1])
            && i + 2 < cx->len && LLM_IS_DIGIT(t[i + 2])
            && (e = llm_scan_rec_iban(cx, i - 1)) > end) {
            end = e;
        }
    }
    if (!(rs->litmap[pr >> 3] & (1u << (pr & 7)))) {
        return end;
    }
    for (a = rs->bucket[bucket_of(fold_pair(c0, c1))]; a >= 0;) {
        const llm_scan_anchor_t *an =
            &((const llm_scan_anchor_t *)rs->anchors->elts)[a];
        size_t st;
        a = an->next;
        if (an->pair != fold_pair(c0, c1) || i < (size_t)an->pairoff) {
            continue;
        }
        st = i - (size_t)an->pairoff;
        if (st + an->litlen > cx->len || !lit_eq(t + st, an)) {
            continue;
        }
        switch (an->act) {
        case LLM_SCAN_ACT_PATTERN:
            if ((size_t)an->back > st) {
                continue;
            }
            e = llm_scan_run_pattern(cx, an->rule, st - (size_t)an->back);
            break;
        case LLM_SCAN_ACT_ASSIGN:
            e = llm_scan_rec_assign(cx, st, an->litlen);
            break;
        case LLM_SCAN_ACT_URL:
            e = llm_scan_rec_url(cx, st);
            break;
        case LLM_SCAN_ACT_PEM:
            e = llm_scan_rec_pem(cx, st);
            break;
        case LLM_SCAN_ACT_JWT:
            e = llm_scan_rec_jwt(cx, st);
            break;
        default:
            e = 0;
        }
        if (e > end) {
            end = e;
        }
    }
    return end;
}

/* Can the number starting at s (its first digit run ends at j) be a
 * phone, card, SSN or IP address?  Judged from the first two digit runs
 * only, so that dates, times, decimals and counts, the bulk of the
 * numbers in logs and JSON, cost no call. */
static int number_worth(const unsigned char *t, size_t n, size_t s, size_t j)
{
    size_t l1 = j - s, l2 = 0, k;
    unsigned char sep, after;

    if (l1 >= 9) {
        return 1;
    }
    /* 2a00:1450:...: a global IPv6 address whose first group has letters */
    if ((t[s] == '2' || t[s] == '3') && s + 5 < n && t[s + 4] == ':') {
        return 1;
    }
    if (j + 1 >= n) {
        return 0;
    }
    sep = t[j];
    if (sep == ':') {
        return l1 == 4 && (t[s] == '2' || t[s] == '3');
    }
    if (sep != ' ' && sep != '-' && sep != '.') {
        return 0;
    }
    for (k = j + 1; k < n && LLM_IS_DIGIT(t[k]); k++) {
    }
    l2 = k - j - 1;
    after = k < n ? t[k] : 0;
    if (l2 == 0) {
        return 0;
    }
    if (sep == '.') {
        /* 10.x, 127.x, 192.168.x: private, the bulk of addresses in logs */
        if ((l1 == 2 && t[s] == '1' && t[s + 1] == '0')
            || (l1 == 3 && !memcmp(t + s, "127", 3))
            || (l1 == 3 && l2 == 3 && !memcmp(t + s, "192.168", 7))) {
            return 0;
        }
        return after == '.' && l1 <= 3 && l2 <= 3;
    }
    if (t[s] == '0' && l1 >= 2 && l1 <= 5) {
        return 1;                       /* national phone numbers */
    }
    if ((l1 == 3 && (l2 == 2 || l2 == 3)) || (l1 == 4 && (l2 == 4 || l2 == 6))
        || (l1 == 1 && l2 == 3)) {
        return 1;
    }
    /* ... and 11 98765-4321, a Brazilian mobile with its area code */
    return sep == ' ' && ((l1 == 2 && (l2 == 2 || l2 == 5)) || l2 >= 9
                          || l1 + l2 >= 9);
}

/* t[0] | t[1] << 8, one unaligned load on the machines we run on */
static unsigned int pair_at(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = (uint16_t)((v >> 8) | (v << 8));
#endif
    return v;
}

/* quick_skip (below) of a pair that is no literal anchor's */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline size_t quick_skip_other(const unsigned char *t, size_t n,
                                      size_t p)
{
    unsigned char c0 = t[p], c1 = t[p + 1];
    size_t j;

    if (c1 == ':') {
        /* word: -- only a number right after it matters */
        if (p + 2 >= n || !LLM_IS_DIGIT(t[p + 2])) {
            return p + 1;
        }
        return 0;
    }
    if (LLM_IS_UPPER(c0) && LLM_IS_DIGIT(c1)) {
        /* the 2nd letter and 1st check digit of an IBAN: DE44, after a
         * word boundary; in base64 and identifiers, almost never */
        if (p >= 1 && LLM_IS_UPPER(t[p - 1]) && p + 2 < n && LLM_IS_DIGIT(t[p + 2])
            && (p < 2 || !(LLM_IS_ALNUM(t[p - 2]) || t[p - 2] == '_'))) {
            return 0;
        }
        return p + 1;
    }
    if (!LLM_IS_DIGIT(c1) || c0 == '+' || c0 == '(') {
        return 0;
    }
    /* a letter before a digit is here only as the end of an escape */
    if (LLM_IS_LOWER(c0) && (p == 0 || t[p - 1] != '\\')) {
        return p + 1;
    }
    if (p + 9 < n) {
        /* the digit run in one go: a byte is a digit when (b ^ '0') < 10 */
        uint64_t w, x, nd;
        memcpy(&w, t + p + 1, 8);
        x = w ^ 0x3030303030303030ULL;
        nd = ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL;
        if (nd) {
            j = p + 1 + (size_t)(__builtin_ctzll(nd) >> 3);
        }
        else {
            for (j = p + 9; j < n && LLM_IS_DIGIT(t[j]); j++) {
            }
        }
    }
    else {
        for (j = p + 1; j < n && LLM_IS_DIGIT(t[j]); j++) {
        }
    }
    /* 12:30 or a/123: inside something else */
    if ((c0 == ':' || c0 == '/') && p > 0 && LLM_IS_ALNUM(t[p - 1])) {
        return j;
    }
    return number_worth(t, n, p + 1, j) ? 0 : j;
}

/* The common hit is a short number in JSON or a log line.  Returns where
 * to go on when the hit at p can be dropped without a call, else 0.  kd,
 * the kind of its pair (pairkind, not 0), says which test applies. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline size_t quick_skip(const llm_scan_rules_t *rs,
                                const unsigned char *t, size_t n, size_t p,
                                unsigned int kd)
{
    if (kd == 1) {
        return quick_skip_other(t, n, p);
    }
    /* No anchor of the pair's bucket allows the bytes around it: unless
     * the pair may also open something else (kind 2), dispatch would
     * find nothing, and the scan goes on at the next byte as after it. */
    if (kd > 2 && p > 0 && p + 2 < n
        && !llm_scan_near_in(&rs->near[kd - 1], t, n, p)) {
        return p + 1;
    }
    return 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) \
    && !defined(LLM_SCAN_NO_SIMD)
#define LLM_SCAN_HAVE_AVX512 1
#include <immintrin.h>

#define LLM_VEC_TARGET \
    __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/* The roles of 64 bytes in one table of eight rectangles: bytes 0-127 by
 * their index, bytes from 128 on (hi set) all the same value. */
LLM_VEC_TARGET
static inline __m512i roles_of(__m512i x, __mmask64 hi, __m512i lo0,
                               __m512i lo1, __m512i hival)
{
    return _mm512_mask_blend_epi8(hi, _mm512_permutex2var_epi8(lo0, x, lo1),
                                  hival);
}

/* The positions of the block (bit k: the pair at t[k]) among m that
 * quick_skip_other would drop, decided for all of them at once: a "word:"
 * not before a digit, and a number of at most eight digits that
 * number_worth refuses from its first run alone (not an IPv6 group, no
 * separator before more digits).  The scalar loop drops a number by going
 * on after its digits; the pairs there are no hits (VC_END, and no digit
 * pair hits), so dropping its first position is the same.  Only what the
 * block's own 64 bytes decide: the last positions are left to the scalar
 * code.  a, ha: the block's bytes and their top bits; lo0, lo1, hi: the
 * class table (vclass). */
LLM_VEC_TARGET
static inline uint64_t drops_of(__m512i a, __mmask64 ha, uint64_t m,
                                __m512i lo0, __m512i lo1, __m512i hi)
{
    __m512i cl = roles_of(a, ha, lo0, lo1, hi);
#define LLM_VC_BITS(c) \
    ((uint64_t)_mm512_test_epi8_mask(cl, _mm512_set1_epi8(LLM_SCAN_VC_ ## c)))
    uint64_t d = LLM_VC_BITS(DIGIT), colon = LLM_VC_BITS(COLON);
    uint64_t word, s, v, pr, end;

    /* "word:" then no digit: t[k + 2] is in the block up to k = 61 */
    word = LLM_VC_BITS(WORD) & (colon >> 1) & ~(d >> 2) & (~0ULL >> 2);
    /* the first digit s of each number, its first byte past the digits,
     * and whether number_worth goes on from there: it does not when no
     * digit follows the blank, '-' or '.' (up to byte 62, that t[j + 1]
     * is known) */
    s = (LLM_VC_BITS(NUM) & m) << 1 & d;
    end = (d + s) & ~d & LLM_VC_BITS(END)
          & ~(LLM_VC_BITS(SEP) & (d >> 1)) & (~0ULL >> 1);
    /* back from those ends over at most eight digits: a longer number
     * is not reached, and number_worth keeps it */
    v = end >> 1;
    pr = d;
    v |= (v >> 1) & pr;
    pr &= pr >> 1;
    v |= (v >> 2) & pr;
    pr &= pr >> 2;
    v |= (v >> 4) & pr;
    /* not 2xxx: or 3xxx: (t[s + 4] in the block: s up to 59) */
    s &= v & ~(LLM_VC_BITS(TWO3) & (colon >> 4)) & (~0ULL >> 4);
#undef LLM_VC_BITS
    return (word | s >> 1) & m;
}

/* The vector loop: the cover of prefilter_roles.c sorts 64 positions at a
 * time, and only where it passes is the pair looked up; the hits are then
 * taken in order exactly as by the loop of eight below, so that the scan
 * visits the same positions and finds the same things.  Returns where the
 * scalar loops go on, or (size_t)-1 on an error. */
LLM_VEC_TARGET
static size_t run_avx512(llm_scan_ctx_t *cx, size_t i)
{
    const llm_scan_rules_t *rs = cx->rs;
    const unsigned char *t = cx->t;
    const uint8_t *kind = rs->pairkind;
    size_t n = cx->len, end, q;
    __m512i f0[LLM_SCAN_ROLE_BITS / 8][2], s0[LLM_SCAN_ROLE_BITS / 8][2];
    __m512i fhi[LLM_SCAN_ROLE_BITS / 8], shi[LLM_SCAN_ROLE_BITS / 8];
    __m512i vc0 = _mm512_loadu_si512(rs->vclass);
    __m512i vc1 = _mm512_loadu_si512(rs->vclass + 64);
    __m512i vchi = _mm512_set1_epi8((char)rs->vclass_hi);
    int k, drop = rs->vclass['0'] != 0;

    for (k = 0; k < LLM_SCAN_ROLE_BITS / 8; k++) {
        f0[k][0] = _mm512_loadu_si512(rs->role_first[k]);
        f0[k][1] = _mm512_loadu_si512(rs->role_first[k] + 64);
        s0[k][0] = _mm512_loadu_si512(rs->role_second[k]);
        s0[k][1] = _mm512_loadu_si512(rs->role_second[k] + 64);
        fhi[k] = _mm512_set1_epi8((char)(rs->role_hi_first >> (8 * k)));
        shi[k] = _mm512_set1_epi8((char)(rs->role_hi_second >> (8 * k)));
    }
    /* t[i + 64] is the second byte of the last pair */
    while (i + 65 <= n) {
        __m512i a = _mm512_loadu_si512(t + i);
        __m512i b = _mm512_loadu_si512(t + i + 1);
        __mmask64 ha = _mm512_movepi8_mask(a), hb = _mm512_movepi8_mask(b);
        __m512i any = _mm512_setzero_si512();
        uint64_t m;
        size_t base = i, next = i + 64;

        for (k = 0; k < LLM_SCAN_ROLE_BITS / 8; k++) {
            any = _mm512_or_si512(any, _mm512_and_si512(
                roles_of(a, ha, f0[k][0], f0[k][1], fhi[k]),
                roles_of(b, hb, s0[k][0], s0[k][1], shi[k])));
        }
        m = _mm512_test_epi8_mask(any, any);
        if (m && drop) {
            m &= ~drops_of(a, ha, m, vc0, vc1, vchi);
        }
        while (m) {
            size_t p = base + (size_t)__builtin_ctzll(m);
            unsigned int kd = kind[pair_at(t + p)];
            m &= m - 1;
            if (!kd) {
                continue;
            }
            if ((q = quick_skip(rs, t, n, p, kd))) {
                if (q >= base + 64) {
                    next = q;
                    break;
                }
                m &= ~0ULL << (q - base);
                continue;
            }
            end = dispatch(cx, p);
            if (cx->error) {
                return (size_t)-1;
            }
            q = end > p + 2 ? end - 1 : p + 1;
            /* The block's positions are a function of the text alone, so
             * those from q on are still right after a dispatch: going on
             * with them, rather than sorting 64 bytes from q again, is
             * what the scalar loop's restart at q would visit.  (Most
             * dispatches end inside their block: sorting again from there
             * made half as many blocks again as the text has.) */
            if (q >= base + 64) {
                next = q;
                break;
            }
            m &= ~0ULL << (q - base);
        }
        i = next;
    }
    return i;
}

static int cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vbmi");
}
#endif

int llm_scan_prefilter_path(llm_scan_rules_t *rs, int path)
{
#ifdef LLM_SCAN_HAVE_AVX512
    if (path == LLM_SCAN_PATH_AVX512 && rs->role_count > 0 && cpu_has_avx512()) {
        return rs->prefilter_path = LLM_SCAN_PATH_AVX512;
    }
#else
    (void)path;
#endif
    return rs->prefilter_path = LLM_SCAN_PATH_SCALAR;
}

void llm_scan_prefilter_run(llm_scan_ctx_t *cx)
{
    const unsigned char *t = cx->t;
    const uint8_t *pb = cx->rs->pairbyte;
    const uint8_t *kind = cx->rs->pairkind;
    size_t n = cx->len, i = 0, end, q;

    if (n < 2) {
        return;
    }
    /* a number at the very start has no byte before it to trigger on */
    if (LLM_IS_DIGIT(t[0])) {
        size_t e = 0;
        if (cx->rs->want_ipv6 && n > 5 && t[4] == ':') {
            e = llm_scan_rec_ipv6(cx, 0);
        }
        else if (cx->rs->want_number) {
            e = llm_scan_rec_number(cx, 0);
        }
        i = e > 1 ? e - 1 : 0;
    }
#ifdef LLM_SCAN_HAVE_AVX512
    if (cx->rs->prefilter_path == LLM_SCAN_PATH_AVX512
        && (i = run_avx512(cx, i)) == (size_t)-1) {
        return;
    }
#endif
    /* eight pairs from one load, one branch: most blocks hit nothing, and
     * the hits of a block are taken one by one without reloading it */
    while (i + 9 <= n) {
        unsigned int m;
        size_t base = i, next = i + 8;

        m = pb[pair_at(t + i)]
            | (unsigned int)pb[pair_at(t + i + 1)] << 1
            | (unsigned int)pb[pair_at(t + i + 2)] << 2
            | (unsigned int)pb[pair_at(t + i + 3)] << 3
            | (unsigned int)pb[pair_at(t + i + 4)] << 4
            | (unsigned int)pb[pair_at(t + i + 5)] << 5
            | (unsigned int)pb[pair_at(t + i + 6)] << 6
            | (unsigned int)pb[pair_at(t + i + 7)] << 7;
        while (m) {
            size_t p = base + (size_t)__builtin_ctz(m);
            if ((q = quick_skip(cx->rs, t, n, p, kind[pair_at(t + p)]))) {
                if (q >= base + 8) {
                    next = q;
                    break;
                }
                m &= ~((1u << (q - base)) - 1u);
                continue;
            }
            end = dispatch(cx, p);
            if (cx->error) {
                return;
            }
            next = end > p + 2 ? end - 1 : p + 1;
            break;
        }
        i = next;
    }
    while (i + 1 < n) {
        unsigned int kd = kind[pair_at(t + i)];

        if (!kd) {
            i++;
            continue;
        }
        if ((q = quick_skip(cx->rs, t, n, i, kd))) {
            i = q;
            continue;
        }
        end = dispatch(cx, i);
        if (cx->error) {
            return;
        }
        i = end > i + 2 ? end - 1 : i + 1;
    }
}
