/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Byte roles for the vector prefilter (prefilter.c): the pair table, 64 K
 * pairs, covered by at most LLM_SCAN_ROLE_BITS "rectangles" A x B (every
 * pair whose first byte is in A and second in B).  Bit k of
 * role_first[c0] says c0 is in A_k, bit k of role_second[c1] that c1 is in
 * B_k; a pair may hit only when role_first[c0] & role_second[c1] is not 0.
 * That is a superset of the table (every hit pair lies in some rectangle),
 * so the exact lookup at the positions it passes finds every hit; the
 * closer the cover, the fewer lookups.  Built per rule set: the pairs
 * depend on which rules are on.
 *
 * The cover: one rectangle per second byte (the first bytes that hit with
 * it), rectangles with the same first bytes made one, then the two whose
 * union adds the fewest likely-looking pairs merged until few enough are
 * left.  "Likely" is a rough weight per byte class (lower-case letters and
 * punctuation are everywhere in code and prose, high bytes rare): it only
 * steers which false pairs the cover lets through, never what is found.
 */

#include <string.h>

#include "scan_private.h"

typedef struct {
    uint64_t first[4];      /* A: the first bytes */
    uint64_t second[4];     /* B: the second bytes */
    unsigned int wsecond;   /* weight of B */
} rect_t;

static unsigned int byte_weight(unsigned int c)
{
    if (LLM_IS_LOWER(c)) {
        return 6;
    }
    if (c == ' ' || c == '"' || c == '\n' || c == '.' || c == ',' || c == ':'
        || c == '_' || c == '-' || c == '/' || c == '(' || c == ')'
        || c == '=' || c == '{' || c == '}' || c == '\\') {
        return 4;
    }
    if (LLM_IS_DIGIT(c)) {
        return 3;
    }
    if (LLM_IS_UPPER(c)) {
        return 2;
    }
    return 1;
}

static void set_add(uint64_t *s, unsigned int c)
{
    s[c >> 6] |= 1ULL << (c & 63);
}

static int set_has(const uint64_t *s, unsigned int c)
{
    return (int)((s[c >> 6] >> (c & 63)) & 1);
}

static int set_eq(const uint64_t *a, const uint64_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Weight of the bytes in a but not in b (few, mostly: a byte at a time). */
static unsigned int weight_of(const uint8_t *w, const uint64_t *a,
                              const uint64_t *b)
{
    unsigned int sum = 0;
    int q;

    for (q = 0; q < 4; q++) {
        uint64_t x = a[q] & ~b[q];
        while (x) {
            sum += w[q * 64 + __builtin_ctzll(x)];
            x &= x - 1;
        }
    }
    return sum;
}

void llm_scan_roles_build(llm_scan_rules_t *rs)
{
    uint8_t w[256];
    uint64_t none[4] = { 0, 0, 0, 0 };
    int nr = 0, k, g, h;
    unsigned int c0, c1, hi0 = 0, hi1 = 0;

    memset(rs->role_first, 0, sizeof(rs->role_first));
    memset(rs->role_second, 0, sizeof(rs->role_second));
    rs->role_hi_first = rs->role_hi_second = 0;
    rs->role_count = 0;
    for (c0 = 0; c0 < 256; c0++) {
        w[c0] = (uint8_t)byte_weight(c0);
    }
    {
        /* from the rule set's pool: compiled once, and no static state */
        rect_t *rr = apr_palloc(rs->pool, 256 * sizeof(*rr));

        for (c1 = 0; c1 < 256; c1++) {
            rect_t cur;
            memset(&cur, 0, sizeof(cur));
            for (c0 = 0; c0 < 256; c0++) {
                if (rs->pairbyte[c0 | (c1 << 8)]) {
                    set_add(cur.first, c0);
                }
            }
            if (set_eq(cur.first, none)) {
                continue;
            }
            for (g = 0; g < nr && !set_eq(rr[g].first, cur.first); g++) {
            }
            if (g == nr) {
                rr[nr++] = cur;
            }
            set_add(rr[g].second, c1);
            rr[g].wsecond += byte_weight(c1);
        }
        /* merge the cheapest pair until the rectangles fit the bits */
        while (nr > LLM_SCAN_ROLE_BITS) {
            unsigned int best = ~0u, cost;
            int bg = 0, bh = 1, q;
            for (g = 0; g < nr; g++) {
                for (h = g + 1; h < nr; h++) {
                    cost = weight_of(w, rr[h].first, rr[g].first)
                           * rr[g].wsecond
                           + weight_of(w, rr[g].first, rr[h].first)
                           * rr[h].wsecond;
                    if (cost < best) {
                        best = cost;
                        bg = g;
                        bh = h;
                    }
                }
            }
            for (q = 0; q < 4; q++) {
                rr[bg].first[q] |= rr[bh].first[q];
                rr[bg].second[q] |= rr[bh].second[q];
            }
            rr[bg].wsecond += rr[bh].wsecond;
            rr[bh] = rr[--nr];
        }
        for (g = 0; g < nr; g++) {
            for (c0 = 0; c0 < 256; c0++) {
                if (set_has(rr[g].first, c0)) {
                    rs->role_first[g >> 3][c0] |= (uint8_t)(1u << (g & 7));
                }
                if (set_has(rr[g].second, c0)) {
                    rs->role_second[g >> 3][c0] |= (uint8_t)(1u << (g & 7));
                }
            }
        }
        rs->role_count = nr;
    }
    /* The vector loop looks up bytes 0-127 in its tables and gives every
     * byte from 128 on one value per table: their union, which keeps the
     * cover a superset. */
    for (k = 0; k < LLM_SCAN_ROLE_BITS / 8; k++) {
        for (c0 = 128; c0 < 256; c0++) {
            hi0 |= (unsigned int)rs->role_first[k][c0] << (8 * k);
            hi1 |= (unsigned int)rs->role_second[k][c0] << (8 * k);
        }
    }
    rs->role_hi_first = hi0;
    rs->role_hi_second = hi1;
}
