/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Every finding of the engine, printed, to compare two builds (a tool,
 * not a test).  A change meant to make the scan cheaper without changing
 * what it finds (the prefilter, the engine's allocations) is checked by
 * running this program of the old build and of the new one on the same
 * inputs and comparing the outputs byte for byte:
 *
 *   scan_findings [--short M] N FILE...
 *
 * Each FILE is scanned whole and then line by line (agents' strings are
 * both), with the full default rule set; then N texts are generated from
 * a fixed seed: the built-in anchors (whole, cut, in changed case when
 * they are case-insensitive), numbers, cards, phones, addresses, IBANs,
 * e-mail addresses, escapes (\n, %3D, =3D, \x3d, \u003d, &#61;, \012),
 * assignment words and separators, and runs of random letters, digits
 * and base64 characters, up to 3.5 KB each.  One line per text: its
 * source, length, result and every finding as rule@offset+length.  With
 * --short, M more texts of 0 to 200 bytes with pieces at the edges of
 * 32- and 64-byte blocks (scan_short).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_tables.h"
#include "scan/scan_private.h"

static unsigned long long rng = 88172645463325252ULL;

static unsigned int rnd(unsigned int n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned int)(rng % n);
}

static void scan(const llm_scan_rules_t *rs, apr_pool_t *p, const char *tag,
                 long idx, const unsigned char *t, size_t n)
{
    apr_array_header_t *m = apr_array_make(p, 8, sizeof(llm_scan_match_t));
    int r = llm_scan_text(rs, (const char *)t, n, p, m), i;

    printf("%s#%ld n=%zu r=%d", tag, idx, n, r);
    for (i = 0; i < m->nelts; i++) {
        const llm_scan_match_t *x = &APR_ARRAY_IDX(m, i, llm_scan_match_t);
        printf(" %s@%zu+%zu", x->rule, (size_t)x->offset, (size_t)x->length);
    }
    putchar('\n');
    apr_pool_clear(p);
}

static void scan_file(const llm_scan_rules_t *rs, apr_pool_t *p,
                      const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *t;
    long n, s = 0, line = 0, i;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "scan_findings: cannot read %s\n", path);
        if (f) {
            fclose(f);
        }
        return;
    }
    t = malloc((size_t)n + 1);
    if (!t || fread(t, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "scan_findings: cannot read %s\n", path);
        fclose(f);
        free(t);
        return;
    }
    fclose(f);
    scan(rs, p, path, -1, t, (size_t)n);
    for (i = 0; i <= n; i++) {
        if (i == n || t[i] == '\n') {
            if (i > s) {
                scan(rs, p, path, line, t + s, (size_t)(i - s));
            }
            line++;
            s = i + 1;
        }
    }
    free(t);
}

static const char *const pieces[] = {
    " ", "\n", "\\n", "\\t", "=", ":", "\"", "'", "-", "_", ".", "/", "@",
    "(", ")", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "4111 1111 1111 1111", "+1 415 555 0132", "203.0.113.7",
    "2a00:1450:4001::1", "DE89370400440532013000", "123-45-6789",
    "user@example.org", "jane.doe@corp.example.com", "password=",
    "Passw0rd!xyz", "secret: ", "token=", "ghp_", "eyJhbGciOiJIUzI1NiJ9",
    "x", "Q", "abc", "ZZ", "%3D", "%2F", "=3D", "\\x3d", "\\u003d", "&#61;",
    "\\012", "key", "KEY", "api_key", "Bearer ", "ssh ", "mysql -p",
    "curl -u ", "echo ", "| base64 -d", NULL
};

static void scan_generated(const llm_scan_rules_t *rs, apr_pool_t *p,
                           long count)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=_-";
    const llm_scan_anchor_t *an = (const llm_scan_anchor_t *)rs->anchors->elts;
    unsigned char buf[4096];
    unsigned int npieces = 0;
    long s;

    while (pieces[npieces]) {
        npieces++;
    }
    for (s = 0; s < count; s++) {
        size_t len = 0, wl, q;
        unsigned int k = 1 + rnd(40), j;
        for (j = 0; j < k && len < 3500; j++) {
            unsigned int c = rnd(10);
            const char *w;
            if (c < 3 && rs->anchors->nelts > 0) {
                const llm_scan_anchor_t *a =
                    &an[rnd((unsigned int)rs->anchors->nelts)];
                w = a->lit;
                wl = a->litlen;
                if (rnd(3) == 0 && wl > 2) {        /* a cut anchor */
                    size_t cut = rnd((unsigned int)wl);
                    w += cut;
                    wl -= cut;
                }
                for (q = 0; q < wl; q++) {
                    unsigned char ch = (unsigned char)w[q];
                    buf[len + q] = a->ci && LLM_IS_LOWER(ch) && rnd(2)
                                   ? (unsigned char)(ch - 32) : ch;
                }
                len += wl;
            }
            else if (c < 7) {
                w = pieces[rnd(npieces)];
                wl = strlen(w);
                memcpy(buf + len, w, wl);
                len += wl;
            }
            else {
                wl = 1 + rnd(24);
                for (q = 0; q < wl; q++) {
                    buf[len + q] =
                        (unsigned char)alphabet[rnd(sizeof(alphabet) - 1)];
                }
                len += wl;
            }
        }
        scan(rs, p, "generated", s, buf, len);
    }
}

/* Short texts, 0 to 200 bytes, for loops that take the text in blocks
 * (the vector prefilter: 64 bytes): filler of letters, blanks, digits or
 * punctuation with one to four pieces or anchors written over it at an
 * offset next to a block edge (31, 32, 63, 64, 127, 128 and around) or
 * anywhere, so that hits fall on, before and across the edges. */
static void scan_short(const llm_scan_rules_t *rs, apr_pool_t *p, long count)
{
    static const char *const fill[] = {
        "abcdefghijklmnopqrstuvwxyz", "  \n\t", "0123456789",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "\"{}:,.-_/=@ ", "aZ09 .:-"
    };
    static const size_t edges[] = { 0, 1, 30, 31, 32, 33, 62, 63, 64, 65,
                                    126, 127, 128, 129 };
    const llm_scan_anchor_t *an = (const llm_scan_anchor_t *)rs->anchors->elts;
    unsigned char buf[256];
    unsigned int npieces = 0;
    long s;

    while (pieces[npieces]) {
        npieces++;
    }
    for (s = 0; s < count; s++) {
        size_t len = rnd(201), q, at, wl;
        const char *f = fill[rnd(sizeof(fill) / sizeof(fill[0]))];
        size_t fl = strlen(f);
        unsigned int k = 1 + rnd(4), j;

        for (q = 0; q < len; q++) {
            buf[q] = (unsigned char)f[rnd((unsigned int)fl)];
        }
        for (j = 0; j < k && len > 0; j++) {
            const char *w;
            if (rnd(2) == 0 && rs->anchors->nelts > 0) {
                const llm_scan_anchor_t *a =
                    &an[rnd((unsigned int)rs->anchors->nelts)];
                w = a->lit;
                wl = a->litlen;
            }
            else {
                w = pieces[rnd(npieces)];
                wl = strlen(w);
            }
            /* the piece ends at, starts at or holds the edge */
            at = edges[rnd(sizeof(edges) / sizeof(edges[0]))];
            switch (rnd(4)) {
            case 0:
                at = at >= wl ? at - wl : 0;
                break;
            case 1:
                at = at >= wl / 2 ? at - wl / 2 : 0;
                break;
            case 2:
                at = rnd((unsigned int)len);
                break;
            default:
                break;
            }
            for (q = 0; q < wl && at + q < len; q++) {
                buf[at + q] = (unsigned char)w[q];
            }
        }
        scan(rs, p, "short", s, buf, len);
    }
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *gp, *p;
    llm_scan_rules_t *rs;
    const char *err;
    int i;

    long nshort = 0;

    if (argc > 2 && !strcmp(argv[1], "--short")) {
        nshort = atol(argv[2]);
        argc -= 2;
        argv += 2;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: scan_findings [--short M] N [FILE...]\n");
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&gp, NULL);
    apr_pool_create(&p, gp);
    rs = llm_scan_rules_create(gp, 1);
    if ((err = llm_scan_rules_compile(rs)) != NULL) {
        fprintf(stderr, "scan_findings: %s\n", err);
        return 2;
    }
    for (i = 2; i < argc; i++) {
        scan_file(rs, p, argv[i]);
    }
    scan_generated(rs, p, atol(argv[1]));
    scan_short(rs, p, nshort);
    apr_pool_destroy(gp);
    apr_terminate();
    return 0;
}
