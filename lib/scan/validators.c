/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Validators: the arithmetic that tells a real value from something that
 * only has its shape (Luhn, IBAN mod 97, SSN ranges, address ranges,
 * entropy).  Pure functions, no allocation.
 */

#include <math.h>
#include <string.h>

#include "scan_private.h"

double llm_scan_entropy(const unsigned char *s, size_t n)
{
    unsigned int count[256];
    double h = 0.0;
    size_t i;

    if (n == 0) {
        return 0.0;
    }
    memset(count, 0, sizeof(count));
    for (i = 0; i < n; i++) {
        count[s[i]]++;
    }
    for (i = 0; i < 256; i++) {
        if (count[i]) {
            double q = (double)count[i] / (double)n;
            h -= q * log2(q);
        }
    }
    return h;
}

int llm_scan_luhn(const char *d, size_t n)
{
    int sum = 0, dbl = 0;
    size_t i;

    for (i = n; i-- > 0;) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9) {
                v -= 9;
            }
        }
        sum += v;
        dbl = !dbl;
    }
    return n > 0 && sum % 10 == 0;
}

static int prefix_num(const char *d, int k)
{
    int v = 0, i;

    for (i = 0; i < k; i++) {
        v = v * 10 + (d[i] - '0');
    }
    return v;
}

/* Issuer prefixes and lengths of the networks that matter; a random
 * Luhn-valid run of digits must also look like a card. */
int llm_scan_card_iin(const char *d, size_t n)
{
    int p1 = d[0] - '0', p2 = prefix_num(d, 2), p3 = prefix_num(d, 3);
    int p4 = prefix_num(d, 4);

    if (n < 13 || n > 19) {
        return 0;
    }
    if (p1 == 4) {
        return n == 13 || n == 16 || n == 19;                 /* Visa */
    }
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) {
        return n == 16;                                       /* Mastercard */
    }
    if (p2 == 34 || p2 == 37) {
        return n == 15;                                       /* Amex */
    }
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) {
        return n >= 16;                                       /* Discover */
    }
    if (p4 >= 3528 && p4 <= 3589) {
        return n >= 16;                                       /* JCB */
    }
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) {
        return n >= 14;                                       /* Diners */
    }
    if (p2 == 62) {
        return n >= 16;                                       /* UnionPay */
    }
    if (p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 63 || p2 == 67) {
        return n >= 13;                                       /* Maestro */
    }
    return 0;
}

/* Numbers the payment providers publish for testing. */
static const char *const test_cards[] = {
    "4242424242424242", "4000056655665556", "5555555555554444",
    "2223003122003222", "5200828282828210", "5105105105105100",
    "378282246310005", "371449635398431", "6011111111111117",
    "6011000990139424", "3056930009020004", "36227206271667",
    "3566002020360505", "6200000000000005", "4111111111111111",
    "4012888888881881", "4222222222222", "5454545454545454",
    "4444333322221111", "5500000000000004", "4917610000000000",
    "4988438843884305", "4005519200000004", "4009348888881881",
    "4012000033330026", "4012000077777777", "4217651111111119",
    "4500600000000061", "5431111111111111", "6011000991300009",
    "378734493671000", "371111111111114", "30569309025904",
    "38520000023237", "6011601160116611", "3530111333300000",
    "5019717010103742", "6331101999990016", "4000000000000002",
    "4000000000009995", "4000000000000077", "4000000000000341",
    "4000002500003155", "4000002760003184", "4000000000003220",
    "5555555555555557", "4000000000000010", "4000000000000028",
    "4000000000000036", "4000000000000101", "6011000000000004",
    "5425233430109903", "2222400070000005", "4035501000000008",
    "4360000001000005", "4111111145551142", "6703444444444449",
    "4400000000000008", "5101180000000007", "2223000048400011",
    NULL
};

int llm_scan_card_is_test(const char *d, size_t n)
{
    int i, run = 1, best = 1;
    size_t k;

    for (i = 0; test_cards[i]; i++) {
        if (strlen(test_cards[i]) == n && !memcmp(test_cards[i], d, n)) {
            return 1;
        }
    }
    /* 4000 0000 0000 0002 and friends: test ranges, not issued cards */
    for (k = 1; k < n; k++) {
        run = d[k] == d[k - 1] ? run + 1 : 1;
        if (run > best) {
            best = run;
        }
    }
    return best >= 9;
}

/* IBAN lengths per country (ISO 13616 registry). */
static const struct { char cc[3]; int len; } iban_len[] = {
    {"AD",24},{"AE",23},{"AL",28},{"AT",20},{"AZ",28},{"BA",20},{"BE",16},
    {"BG",22},{"BH",22},{"BR",29},{"BY",28},{"CH",21},{"CR",22},{"CY",28},
    {"CZ",24},{"DE",22},{"DK",18},{"DO",28},{"EE",20},{"EG",29},{"ES",24},
    {"FI",18},{"FO",18},{"FR",27},{"GB",22},{"GE",22},{"GI",23},{"GL",18},
    {"GR",27},{"GT",28},{"HR",21},{"HU",28},{"IE",22},{"IL",23},{"IQ",23},
    {"IS",26},{"IT",27},{"JO",30},{"KW",30},{"KZ",20},{"LB",28},{"LC",32},
    {"LI",21},{"LT",20},{"LU",20},{"LV",21},{"MC",27},{"MD",24},{"ME",22},
    {"MK",19},{"MR",27},{"MT",31},{"MU",30},{"NL",18},{"NO",15},{"PK",24},
    {"PL",28},{"PS",29},{"PT",25},{"QA",29},{"RO",24},{"RS",22},{"SA",24},
    {"SC",31},{"SE",24},{"SI",19},{"SK",24},{"SM",27},{"ST",25},{"SV",28},
    {"TL",23},{"TN",24},{"TR",26},{"UA",29},{"VA",22},{"VG",24},{"XK",20},
    {"", 0}
};

/* iban: compact (no spaces), upper case, n characters. */
int llm_scan_iban_valid(const char *iban, size_t n)
{
    int i, want = 0;
    unsigned int rem = 0;
    size_t k;

    for (i = 0; iban_len[i].len; i++) {
        if (iban[0] == iban_len[i].cc[0] && iban[1] == iban_len[i].cc[1]) {
            want = iban_len[i].len;
            break;
        }
    }
    if (!want || (size_t)want != n) {
        return 0;
    }
    /* mod 97 over BBAN + country + check digits, letters as 10..35 */
    for (k = 0; k < n; k++) {
        unsigned char c = (unsigned char)iban[(k + 4) % n];
        if (LLM_IS_DIGIT(c)) {
            rem = (rem * 10 + (c - '0')) % 97;
        }
        else if (LLM_IS_UPPER(c)) {
            rem = (rem * 100 + (c - 'A' + 10)) % 97;
        }
        else {
            return 0;
        }
    }
    return rem == 1;
}

int llm_scan_ssn_valid(int area, int group, int serial)
{
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) {
        return 0;
    }
    /* the Woolworth wallet card and the 1962 advertisement */
    if ((area == 78 && group == 5 && serial == 1120)
        || (area == 219 && group == 9 && serial == 9999)) {
        return 0;
    }
    /* 123-45-6789 is everybody's example */
    if (area == 123 && group == 45 && serial == 6789) {
        return 0;
    }
    return 1;
}

int llm_scan_ipv4_public(const unsigned int o[4])
{
    unsigned int a = o[0], b = o[1], c = o[2];

    if (a == 0 || a == 10 || a == 127 || a >= 224) {
        return 0;          /* this net, private, loopback, multicast, 240/4 */
    }
    if ((a == 100 && b >= 64 && b <= 127)          /* CGNAT */
        || (a == 169 && b == 254)                  /* link-local */
        || (a == 172 && b >= 16 && b <= 31)        /* private */
        || (a == 192 && b == 168)                  /* private */
        || (a == 192 && b == 0 && (c == 0 || c == 2))  /* IETF, TEST-NET-1 */
        || (a == 198 && (b == 18 || b == 19))      /* benchmarking */
        || (a == 198 && b == 51 && c == 100)       /* TEST-NET-2 */
        || (a == 203 && b == 0 && c == 113)) {     /* TEST-NET-3 */
        return 0;
    }
    /* 123.123.123.123, 4.4.4.4: made up */
    if (a == b && b == c && c == o[3]) {
        return 0;
    }
    /* public resolvers everybody writes in configs, and the placeholder */
    if ((a == 8 && b == 8 && c == 8 && (o[3] == 8))
        || (a == 8 && b == 8 && c == 4 && o[3] == 4)
        || (a == 1 && b == 1 && c == 1 && o[3] == 1)
        || (a == 1 && b == 0 && c == 0 && o[3] == 1)
        || (a == 9 && b == 9 && c == 9 && o[3] == 9)
        || (a == 149 && b == 112 && c == 112 && o[3] == 112)
        || (a == 208 && b == 67 && (c == 222 || c == 220) && (o[3] == 222 || o[3] == 220))
        || (a == 1 && b == 2 && c == 3 && o[3] == 4)
        || (a == 123 && b == 45 && c == 67 && o[3] == 89)
        || (a == 12 && b == 34 && c == 56 && o[3] == 78)) {
        return 0;
    }
    return 1;
}

int llm_scan_ipv6_public(const unsigned int g[8])
{
    if (g[0] < 0x2000 || g[0] > 0x3fff) {
        return 0;          /* only global unicast 2000::/3 */
    }
    if (g[0] == 0x2001 && (g[1] == 0x0db8 || g[1] < 0x0200)) {
        return 0;          /* documentation; IANA special purpose 2001::/23 */
    }
    if (g[0] == 0x3fff && g[1] < 0x1000) {
        return 0;          /* documentation (RFC 9637) */
    }
    if ((g[0] == 0x2001 && g[1] == 0x4860 && g[2] == 0x4860)       /* Google */
        || (g[0] == 0x2606 && g[1] == 0x4700 && g[2] == 0x4700)    /* Cloudflare */
        || (g[0] == 0x2620 && g[1] == 0x00fe)) {                   /* Quad9 */
        int i, rest = 0;
        for (i = 3; i < 7; i++) {
            rest |= g[i];
        }
        if (!rest) {
            return 0;
        }
    }
    return 1;
}

static int b64_val(unsigned char c)
{
    if (LLM_IS_UPPER(c)) return c - 'A';
    if (LLM_IS_LOWER(c)) return c - 'a' + 26;
    if (LLM_IS_DIGIT(c)) return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard and URL alphabets alike; stops at '=' or the first byte that is
 * not base64.  Returns the bytes written. */
size_t llm_scan_b64_decode(const unsigned char *s, size_t n,
                           unsigned char *out, size_t outmax)
{
    unsigned int acc = 0;
    int bits = 0;
    size_t i, o = 0;

    for (i = 0; i < n && o < outmax; i++) {
        int v = b64_val(s[i]);
        if (v < 0) {
            break;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

/* Is v a machine-made random value rather than words, a hash of a commit,
 * a UUID, a version or a path?  Used for generic assignments and for the
 * vendor formats that are short enough to collide with identifiers. */
int llm_scan_looks_random(const unsigned char *v, size_t n, int hexok)
{
    size_t i, digits = 0, upper = 0, lower = 0, other = 0, seg = 0;
    size_t segs = 0, wordsegs = 0;
    int seg_alpha = 1, seg_digit = 1;
    double h, need;

    if (n < 16) {
        return 0;
    }
    for (i = 0; i <= n; i++) {
        unsigned char c = i < n ? v[i] : '_';
        if (c == '_' || c == '-' || c == '.' || c == ' ') {
            if (seg) {
                segs++;
                if (seg_alpha || seg_digit) {
                    wordsegs++;
                }
            }
            seg = 0;
            seg_alpha = seg_digit = 1;
            if (i < n) {
                other++;
            }
            continue;
        }
        seg++;
        if (LLM_IS_DIGIT(c)) {
            digits++;
            seg_alpha = 0;
        }
        else if (LLM_IS_UPPER(c)) {
            upper++;
            seg_digit = 0;
        }
        else if (LLM_IS_LOWER(c)) {
            lower++;
            seg_digit = 0;
        }
        else {
            other++;
            seg_alpha = seg_digit = 0;
        }
    }
    /* words_joined_like_this_2024: made by a person */
    if (segs >= 3 && wordsegs == segs) {
        return 0;
    }
    if (!digits || (!upper && !lower)) {
        return 0;
    }
    /* UUID 8-4-4-4-12 */
    if (n == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-') {
        return 0;
    }
    if (!hexok) {
        int allhex = 1;
        for (i = 0; i < n && allhex; i++) {
            allhex = LLM_IS_HEX(v[i]);
        }
        if (allhex) {
            return 0;
        }
    }
    h = llm_scan_entropy(v, n);
    need = n < 20 ? 3.3 : (n < 32 ? 3.5 : 3.6);
    {
        /* hex carries 4 bits a character at most, base64 6 */
        int allhex = 1;
        for (i = 0; i < n && allhex; i++) {
            allhex = LLM_IS_HEX(v[i]);
        }
        if (allhex) {
            need = 3.0;
        }
    }
    return h >= need;
}

/* Does any of words (lower case) occur in t[from, to)? */
int llm_scan_context_has(const unsigned char *t, size_t len, size_t from,
                         size_t to, const char *const *words)
{
    size_t i, k, wl;
    int w;

    if (to > len) {
        to = len;
    }
    for (i = from; i < to; i++) {
        unsigned char c = LLM_LOWER(t[i]);
        for (w = 0; words[w]; w++) {
            if ((unsigned char)words[w][0] != c) {
                continue;
            }
            wl = strlen(words[w]);
            if (i + wl > to) {
                continue;
            }
            for (k = 1; k < wl && LLM_LOWER(t[i + k]) == (unsigned char)words[w][k]; k++) {
            }
            if (k == wl) {
                return 1;
            }
        }
    }
    return 0;
}
