/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Text that arrives in parts but is read as one: adjacent messages of one
 * role, which a provider joins into one turn.  A value split over two
 * parts matches nothing in either; only the joined text holds it.
 *
 * Each part has been scanned on its own already, so only what crosses a
 * boundary is new.  The joined text is therefore read around the
 * boundaries only: a window either side of each (wider on a side that is
 * base64 where the parts meet; windows that meet are one), copied out of
 * the parts and scanned; a match is kept when a boundary falls inside it.
 * A kept match that reaches the edge of its window, or comes within a
 * line of it, may go on past it (a private key longer than the window):
 * that window is widened and scanned again.  Parts shorter than the
 * window are read whole, so a value spread over three parts is found
 * too.
 */

#include <stdlib.h>
#include <string.h>

#include "scan_private.h"

/* bytes read either side of a boundary: the context rules look back (a
 * name, a vendor three lines up) and most values fit */
#define JOIN_WINDOW 1024
/* ... and on a side that is base64 where it meets the other: a private
 * key's BEGIN line may be kilobytes before the cut, a JWT's end
 * kilobytes after it */
#define ENCODED_WINDOW 4096
/* a value this close to a window's edge may go on past it */
#define EDGE 128
/* a window is not widened past this (a match still reaching the edge is
 * kept as it is) */
#define JOIN_MAX (1024 * 1024)

typedef struct {
    size_t from, to;     /* a window, in joined offsets */
} span_t;

/* Copy joined bytes [from, to) out of the parts. */
static char *copy_out(apr_pool_t *p, const char *const *texts,
                      const size_t *lens, const size_t *start, int n,
                      size_t from, size_t to)
{
    char *buf = apr_palloc(p, to - from + 1), *o = buf;
    int k;

    for (k = 0; k < n; k++) {
        size_t a = start[k], b = start[k] + lens[k];
        if (b <= from || a >= to) {
            continue;
        }
        if (a < from) {
            a = from;
        }
        if (b > to) {
            b = to;
        }
        memcpy(o, texts[k] + (a - start[k]), b - a);
        o += b - a;
    }
    *o = '\0';
    return buf;
}

/* Are the n bytes at s base64 (of either alphabet), the lines of a key
 * block or their escapes included? */
static int encoded(const unsigned char *s, size_t n)
{
    size_t k, letters = 0;

    for (k = 0; k < n; k++) {
        if (LLM_IS_ALNUM(s[k])) {
            letters++;
        }
        else if (s[k] != '+' && s[k] != '/' && s[k] != '=' && s[k] != '-'
                 && s[k] != '_' && s[k] != '.' && s[k] != '\n'
                 && s[k] != '\r' && s[k] != '\\') {
            return 0;
        }
    }
    return letters >= n / 2;
}

/* Is a boundary between two parts strictly inside [off, end)? */
static int crosses(const size_t *start, int n, size_t off, size_t end)
{
    int k;

    for (k = 1; k < n; k++) {
        if (start[k] > off && start[k] < end) {
            return 1;
        }
    }
    return 0;
}

static int same_match(const llm_scan_match_t *a, const llm_scan_match_t *b)
{
    return a->offset == b->offset && a->length == b->length
           && !strcmp(a->rule, b->rule);
}

int llm_scan_joined(const llm_scan_rules_t *rs, const char *const *texts,
                    const size_t *lens, int nparts, size_t window,
                    apr_pool_t *p, apr_array_header_t *out)
{
    size_t *start, total = 0;
    span_t *sp;
    int k, ns = 0, added = 0, i, j;
    apr_array_header_t *m;

    if (!rs || !out || nparts < 0 || (nparts > 0 && (!texts || !lens))) {
        return -1;
    }
    if (nparts < 2) {
        return 0;
    }
    if (window == 0) {
        window = JOIN_WINDOW;
    }
    start = apr_palloc(p, sizeof(*start) * (size_t)nparts);
    for (k = 0; k < nparts; k++) {
        start[k] = total;
        total += lens[k];
    }
    /* one window per boundary; windows that meet are merged */
    sp = apr_palloc(p, sizeof(*sp) * (size_t)nparts);
    for (k = 1; k < nparts; k++) {
        size_t b = start[k], left = window, right = window, from, to, e;
        if (lens[k - 1] == 0 || lens[k] == 0) {
            continue;            /* an empty part joins nothing new */
        }
        e = lens[k - 1] < 64 ? lens[k - 1] : 64;
        if (left < ENCODED_WINDOW
            && encoded((const unsigned char *)texts[k - 1] + lens[k - 1] - e, e)) {
            left = ENCODED_WINDOW;
        }
        e = lens[k] < 64 ? lens[k] : 64;
        if (right < ENCODED_WINDOW
            && encoded((const unsigned char *)texts[k], e)) {
            right = ENCODED_WINDOW;
        }
        from = b > left ? b - left : 0;
        to = total - b > right ? b + right : total;
        if (ns > 0 && from <= sp[ns - 1].to) {
            sp[ns - 1].to = to;
        }
        else {
            sp[ns].from = from;
            sp[ns].to = to;
            ns++;
        }
    }
    m = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    for (i = 0; i < ns; i++) {
        size_t from = sp[i].from, to = sp[i].to, grow = window;
        int widen;

        do {
            char *buf = copy_out(p, texts, lens, start, nparts, from, to);
            int n;

            widen = 0;
            apr_array_clear(m);
            if ((n = llm_scan_text(rs, buf, to - from, p, m)) < 0) {
                return -1;
            }
            for (j = 0; j < n && !widen; j++) {
                const llm_scan_match_t *x = &APR_ARRAY_IDX(m, j,
                                                           llm_scan_match_t);
                size_t off = from + x->offset, end = off + x->length;
                if (!crosses(start, nparts, off, end)) {
                    continue;
                }
                /* near the edge rather than at it: a cut-off key block
                 * ends at its last whole line */
                if (to - from < JOIN_MAX
                    && ((off < from + EDGE && from > 0)
                        || (end + EDGE > to && to < total))) {
                    widen = 1;
                }
            }
            if (widen) {
                grow *= 2;
                from = from > grow ? from - grow : 0;
                to = total - to > grow ? to + grow : total;
                continue;
            }
            for (j = 0; j < n; j++) {
                llm_scan_match_t x = APR_ARRAY_IDX(m, j, llm_scan_match_t);
                int d, dup = 0;
                x.offset += from;
                if (!crosses(start, nparts, x.offset, x.offset + x.length)) {
                    continue;
                }
                /* a widened window may overlap the next or the last one */
                for (d = out->nelts - added; d < out->nelts && !dup; d++) {
                    dup = same_match(&APR_ARRAY_IDX(out, d, llm_scan_match_t),
                                     &x);
                }
                if (!dup) {
                    APR_ARRAY_PUSH(out, llm_scan_match_t) = x;
                    added++;
                }
            }
        } while (widen);
        /* the windows this one grew over are read already */
        while (i + 1 < ns && sp[i + 1].to <= to) {
            i++;
        }
    }
    return added;
}
