/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The string loop of json_fast.c, written once and included there once per
 * instruction set (no include guard on purpose).  Before each inclusion
 * json_fast.c defines:
 *
 *   JFS_NAME         the function's name
 *   JFS_TARGET       its target attribute (or nothing)
 *   JFS_W            the bytes of a block
 *   JFS_SCAN(q)      a uint64_t with bit i set when q[i] (i < JFS_W) is
 *                    '"', '\\', below 0x20 or above 0x7F; bits above the
 *                    lowest set one may be anything
 *   JFS_COPY(q, d)   the same, after storing q[0..JFS_W) at d
 *   JFS_DECODE       (optional) the function that decodes a string from
 *                    its first escape on, instead of the loop here
 *
 * so that the loop and its block primitives are compiled for the same
 * instruction set (a vector primitive cannot be inlined into a loop built
 * for less).  What the loop does and why: jf_string in json_fast.c.
 */

JFS_TARGET
static int JFS_NAME(jf_t *jf, const char **out, size_t *out_len)
{
    const unsigned char *end = jf->end;
    const unsigned char *q = jf->p;
    size_t n;
    uint64_t m;
#ifndef JFS_DECODE
    /* q <= room: JF_ROOM bytes are free at jf->buf + used (see below);
     * q <= fast: that, and a whole block of the body at q */
    const unsigned char *room, *fast, *vec_end;
    const char *late = NULL;            /* an unpaired surrogate */
    size_t used;
    unsigned char c;
    int w;
#endif

    for (;;) {
        while (end - q >= JFS_W) {
            m = JFS_SCAN(q);
            if (m) {
                q += __builtin_ctzll(m);
                goto special;
            }
            q += JFS_W;
        }
        while (q < end && jf_plain(*q)) {
            q++;
        }
        if (q == end) {
            jf_fail(jf, end, "premature end of input");
            return -1;
        }
special:
        if (*q == '"') {
            *out = (const char *)jf->p;
            *out_len = (size_t)(q - jf->p);
            jf->p = q + 1;
            return 0;
        }
        if (*q >= 0x80) {
            n = jf_utf8_len(q, end);
            if (!n) {
                jf_fail(jf, q, "invalid UTF-8");
                return -1;
            }
            q += n;
            continue;
        }
        if (*q < 0x20) {
            jf_fail(jf, q, *q == '\n' ? "unexpected newline"
                                      : "control character in string");
            return -1;
        }
        break;                          /* a backslash */
    }
#ifdef JFS_DECODE
    return JFS_DECODE(jf, q, out, out_len);
#else

    /* Decoding never writes more bytes than it reads (an escape is
     * shorter than its text; a plain or UTF-8 byte is one byte), so with
     * cap - used >= JF_ROOM + (room - q) at q, JF_ROOM bytes are still free
     * at any position up to room: one comparison a block checks both the
     * room and the body's end. */
    used = (size_t)(q - jf->p);
    if (jf_reserve(jf, used + JF_ROOM + JF_GROW)) {
        jf_fail(jf, q, "out of memory");
        return -1;
    }
    memcpy(jf->buf, jf->p, used);
    vec_end = end - jf->start >= JFS_W ? end - JFS_W : jf->start;
#define JFS_BOUNDS()                                                    \
    do {                                                                \
        n = jf->cap - used - JF_ROOM;                                   \
        room = (size_t)(end - q) <= n ? end : q + n;                    \
        fast = room < vec_end ? room : vec_end;                         \
    } while (0)
    JFS_BOUNDS();
    for (;;) {
        /* q is at a byte that is not plain, and JF_ROOM bytes are free */
        if (*q == '"') {
            break;
        }
        if (*q == '\\') {
            if (end - q >= 2 && (c = jf_unescape[q[1]]) != 0) {
                jf->buf[used++] = (char)c;
                q += 2;
            }
            else {
                if ((w = jf_escape(jf, &q, jf->buf + used, &late)) < 0) {
                    return -1;
                }
                used += (size_t)w;
            }
        }
        else if (*q >= 0x80) {
            n = jf_utf8_len(q, end);
            if (!n) {
                jf_fail(jf, q, "invalid UTF-8");
                return -1;
            }
            memcpy(jf->buf + used, q, n);
            used += n;
            q += n;
        }
        else {
            jf_fail(jf, q, *q == '\n' ? "unexpected newline"
                                      : "control character in string");
            return -1;
        }
        /* The plain bytes that follow, a block at a time: the store lands
         * before the check, and the bytes past the special one are
         * overwritten by what follows. */
        for (;;) {
            if (q <= fast) {
                m = JFS_COPY(q, jf->buf + used);
                if (m) {
                    n = (size_t)__builtin_ctzll(m);
                    q += n;
                    used += n;
                    break;
                }
                q += JFS_W;
                used += JFS_W;
                continue;
            }
            if (q > room) {
                if (jf_reserve(jf, used + JF_ROOM + JF_GROW)) {
                    jf_fail(jf, q, "out of memory");
                    return -1;
                }
                JFS_BOUNDS();
                continue;
            }
            /* the body's last bytes, fewer than a block */
            if (q == end) {
                jf_fail(jf, end, "premature end of input");
                return -1;
            }
            if (!jf_plain(*q)) {
                break;
            }
            jf->buf[used++] = (char)*q++;
        }
    }
#undef JFS_BOUNDS
    if (late) {
        jf_fail(jf, q + 1, late);
        return -1;
    }
    *out = jf->buf;
    *out_len = used;
    jf->p = q + 1;
    return 0;
#endif
}
