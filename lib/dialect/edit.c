/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Redaction: edits found in a unit's text are written back into the JSON
 * strings (and keys) the unit was built from.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

/* The piece an offset falls in; the end of the text belongs to the last
 * piece, so that an insertion at the very end has a home. */
static int locate_index(const llm_unit_t *u, size_t offset)
{
    const llm_piece_t *pcs = (const llm_piece_t *)u->pieces->elts;
    int lo = 0, hi = u->pieces->nelts - 1, mid;

    if (u->pieces->nelts == 0 || offset > u->len) {
        return -1;
    }
    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;
        if (pcs[mid].unit_offset <= offset) {
            lo = mid;
        }
        else {
            hi = mid - 1;
        }
    }
    /* Offsets at a boundary belong to the piece that starts there. */
    return lo;
}

const llm_piece_t *llm_unit_locate(const llm_unit_t *u, size_t offset,
                                   size_t *piece_off)
{
    int i = u ? locate_index(u, offset) : -1;
    const llm_piece_t *pc;

    if (i < 0) {
        return NULL;
    }
    pc = &((const llm_piece_t *)u->pieces->elts)[i];
    if (piece_off) {
        *piece_off = offset - pc->unit_offset;
    }
    return pc;
}

/* Objects up to this size are rebuilt to keep a renamed key in its place;
 * larger ones get the renamed member at the end, since rebuilding for
 * every key of a huge object would be quadratic. */
#define RENAME_IN_PLACE_MAX 256

/* Rename a key where it stands: jansson appends new keys at the end, so
 * the object is rebuilt in its order (prompt caches and humans reading
 * the forwarded body both prefer it unchanged). */
static int rename_key(json_t *obj, const char *old, size_t old_len,
                      const char *nkey, size_t nkey_len)
{
    json_t *copy;
    const char *k;
    size_t klen;
    json_t *v;
    void *it;
    int found = 0;

    if (old_len == nkey_len && !memcmp(old, nkey, old_len)) {
        return 0;
    }
    if (json_object_size(obj) > RENAME_IN_PLACE_MAX) {
        v = llm_json_object_getn(obj, old, old_len);
        if (!v || llm_json_object_getn(obj, nkey, nkey_len)
            || llm_json_object_setn(obj, nkey, nkey_len, v) != 0) {
            return -1;
        }
        return llm_json_object_deln(obj, old, old_len);
    }
    copy = json_object();
    if (!copy) {
        return -1;
    }
    for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        k = json_object_iter_key(it);
        klen = llm_json_iter_key_len(it);
        v = json_object_iter_value(it);
        if (klen == nkey_len && !memcmp(k, nkey, klen)) {
            /* Two keys would collapse into one: refuse, the caller blocks. */
            json_decref(copy);
            return -1;
        }
        if (klen == old_len && !memcmp(k, old, klen)) {
            found = 1;
            k = nkey;
            klen = nkey_len;
        }
        if (llm_json_object_setn(copy, k, klen, v) != 0) {
            json_decref(copy);
            return -1;
        }
    }
    if (!found) {
        json_decref(copy);
        return -1;
    }
    json_object_clear(obj);
    if (json_object_update(obj, copy) != 0) {
        json_decref(copy);
        return -1;
    }
    json_decref(copy);
    return 0;
}

static int edit_cmp(const void *a, const void *b)
{
    const llm_edit_t *x = a, *y = b;

    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    /* the longer first, so that it absorbs the shorter */
    if (x->length != y->length) {
        return x->length > y->length ? -1 : 1;
    }
    return 0;
}

/* Sorted, with overlapping edits merged: two rules often match the same
 * value (a key that is also high-entropy), and a redaction must not fail
 * for it.  The union of the ranges gets the replacement of the edit that
 * starts first. */
static llm_edit_t *normalise(apr_pool_t *p, const llm_edit_t *edits,
                             int nedits, int *nout)
{
    llm_edit_t *e = apr_pmemdup(p, edits, sizeof(*e) * (size_t)nedits);
    int i, n = 0;
    size_t end;

    qsort(e, (size_t)nedits, sizeof(*e), edit_cmp);
    for (i = 0; i < nedits; i++) {
        if (n > 0) {
            end = e[n - 1].offset + e[n - 1].length;
            if (e[i].offset < end
                || (e[i].offset == e[n - 1].offset && e[i].length == 0)) {
                if (e[i].offset + e[i].length > end) {
                    e[n - 1].length = e[i].offset + e[i].length
                                      - e[n - 1].offset;
                }
                continue;
            }
        }
        e[n++] = e[i];
    }
    *nout = n;
    return e;
}

int llm_unit_apply_edits(apr_pool_t *p, const llm_unit_t *u,
                         const llm_edit_t *edits, int nedits)
{
    const llm_piece_t *pcs;
    int i, j, owner;
    size_t prev_end = 0, s, e, pos, a, b, rlen, cap, n;
    const char *src;
    char **outs;
    size_t *out_lens;
    char *out;
    json_t *check;

    if (!u || nedits < 0 || (nedits > 0 && !edits)) {
        return -1;
    }
    /* Validate everything before the first change: half a redaction is
     * worse than none, since the caller would forward it. */
    for (j = 0; j < nedits; j++) {
        if (edits[j].offset > u->len
            || edits[j].length > u->len - edits[j].offset
            || !edits[j].replacement) {
            return -1;
        }
    }
    if (nedits == 0 || u->pieces->nelts == 0) {
        return 0;
    }
    edits = normalise(p, edits, nedits, &nedits);
    for (j = 0; j < nedits; j++) {
        if (edits[j].offset < prev_end) {
            return -1;
        }
        prev_end = edits[j].offset + edits[j].length;
    }
    pcs = (const llm_piece_t *)u->pieces->elts;
    outs = apr_pcalloc(p, sizeof(char *) * u->pieces->nelts);
    out_lens = apr_pcalloc(p, sizeof(size_t) * u->pieces->nelts);
    cap = 1;
    for (j = 0; j < nedits; j++) {
        cap += strlen(edits[j].replacement);
    }

    /* First every new text, then a check that each is valid UTF-8 (an
     * offset inside a character would make jansson refuse it), then the
     * changes: all or nothing. */
    for (i = 0; i < u->pieces->nelts; i++) {
        s = pcs[i].unit_offset;
        e = s + pcs[i].len;
        src = pcs[i].value ? json_string_value(pcs[i].value) : pcs[i].key;
        if (!src) {
            return -1;
        }
        out = NULL;
        n = 0;
        pos = s;
        for (j = 0; j < nedits; j++) {
            a = edits[j].offset;
            b = a + edits[j].length;
            owner = locate_index(u, a);
            if ((owner == i || (owner < i && b > s)) && pcs[i].fixed) {
                return -1;      /* nothing can be written back there */
            }
            if (owner == i) {
                if (!out) {
                    out = apr_palloc(p, pcs[i].len + cap);
                }
                memcpy(out + n, src + (pos - s), a - pos);
                n += a - pos;
                rlen = strlen(edits[j].replacement);
                memcpy(out + n, edits[j].replacement, rlen);
                n += rlen;
                pos = b < e ? b : e;
            }
            else if (owner < i && b > s) {
                /* The tail of a range that began in an earlier piece. */
                if (!out) {
                    out = apr_palloc(p, pcs[i].len + cap);
                }
                pos = b < e ? b : e;
            }
        }
        if (!out) {
            continue;
        }
        memcpy(out + n, src + (pos - s), e - pos);
        n += e - pos;
        out[n] = '\0';
        check = json_stringn(out, n);
        if (!check) {
            return -1;
        }
        json_decref(check);
        outs[i] = out;
        out_lens[i] = n;
    }
    for (i = 0; i < u->pieces->nelts; i++) {
        if (!outs[i]) {
            continue;
        }
        if (pcs[i].value) {
            if (json_string_setn(pcs[i].value, outs[i], out_lens[i]) != 0) {
                return -1;
            }
        }
        else if (rename_key(pcs[i].object, pcs[i].key, pcs[i].key_len,
                            outs[i], out_lens[i]) != 0) {
            return -1;
        }
    }
    return 0;
}
