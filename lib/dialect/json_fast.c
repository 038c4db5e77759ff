/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Request bodies from coding agents are mostly long strings (tool output,
 * file contents, diffs).  jansson reads them a byte at a time through a
 * stream abstraction, validating and copying each byte twice; measured
 * under callgrind, that lexing is ~98 % of json_loadb's time and building
 * the tree (malloc, hash inserts) under 2 %.  So this parser keeps
 * jansson's tree and its constructors and replaces only the lexing: it
 * reads the buffer in place, skips runs of plain string bytes a block at a
 * time (up to 64 bytes, with the CPU's vector instructions),
 * copies a string once (straight from the body when it has no escapes)
 * and validates UTF-8 only where a byte is not ASCII.
 *
 * What it accepts and refuses is json_loadb's with JSON_REJECT_DUPLICATES
 * | JSON_ALLOW_NUL, checked by tests/unit/dialect/test_json_fast.c and
 * tests/fuzz/fuzz_json.c against jansson itself, with one deliberate
 * difference: jansson loses a raw NUL byte read as the look-ahead after a
 * number or a literal and so accepts "[5\0]", which is not JSON and which
 * a provider's parser would refuse; here a raw NUL is always an error.
 * Error texts are our own constants: they never quote the body.
 */

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(LLM_JSON_FAST_PORTABLE)
#include <emmintrin.h>
#define JF_SSE2 1
#endif
/* The vector string loops: x86-64 with a compiler that builds code for an
 * instruction set per function, chosen at run time. */
#if defined(JF_SSE2) && defined(__x86_64__) \
    && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define JF_X86 1
#endif

#include "json_fast.h"

/* jansson 2.14 added keys with lengths; before it, keys are C strings
 * (a key holding NUL is refused anyway, so nothing is lost). */
#if JANSSON_VERSION_HEX >= 0x020e00
#define JF_KEYS_WITH_LENGTH 1
#else
#define JF_KEYS_WITH_LENGTH 0
#endif

#if JSON_INTEGER_IS_LONG_LONG
#define JF_INT_MAX LLONG_MAX
#else
#define JF_INT_MAX LONG_MAX
#endif

/* Keys up to this long are copied on the stack while their value is
 * parsed; longer ones (rare) to the heap. */
#define JF_KEY_STACK 64

typedef struct {
    const unsigned char *start;
    const unsigned char *end;
    const unsigned char *p;     /* next byte to read */
    char *buf;                  /* decoded strings, number text; reused */
    size_t cap;
    int max_depth;
    int too_deep;
    int path;                   /* the string loop: LLM_JSON_PATH_* */
    const char *late;           /* jf_escape_at's unpaired surrogate */
    size_t esc_len;             /* and the bytes it wrote */
    const char *msg;            /* the first error, and where it was */
    const unsigned char *at;
} jf_t;

static void jf_fail(jf_t *jf, const unsigned char *at, const char *msg)
{
    if (!jf->msg) {
        jf->msg = msg;
        jf->at = at;
    }
}

static int jf_reserve(jf_t *jf, size_t n)
{
    size_t cap;
    char *b;

    if (n <= jf->cap) {
        return 0;
    }
    cap = jf->cap ? jf->cap : 256;
    while (cap < n) {
        if (cap > ((size_t)-1) / 2) {
            return -1;
        }
        cap *= 2;
    }
    b = realloc(jf->buf, cap);
    if (!b) {
        return -1;
    }
    jf->buf = b;
    jf->cap = cap;
    return 0;
}

static const unsigned char *jf_ws(const unsigned char *p,
                                  const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    return p;
}

/* 1 for the bytes a string can hold as they are: everything but '"',
 * '\\', control characters and the bytes of non-ASCII characters. */
static int jf_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of the well-formed UTF-8 character at q (q[0] >= 0x80), 0 when
 * it is not one: overlong forms, surrogates and code points above
 * U+10FFFF are refused, as jansson refuses them. */
static size_t jf_utf8_len(const unsigned char *q, const unsigned char *end)
{
    size_t avail = (size_t)(end - q);
    unsigned c = q[0];

    if (c >= 0xC2 && c <= 0xDF) {
        return avail >= 2 && (q[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xE0 && q[1] < 0xA0) || (c == 0xED && q[1] >= 0xA0)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80
            || (q[3] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xF0 && q[1] < 0x90) || (c == 0xF4 && q[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/* The four hex digits at q, or -1 and *bad at the first byte that is
 * not one (end if they are cut short). */
static long jf_hex4(const unsigned char *q, const unsigned char *end,
                    const unsigned char **bad)
{
    long v = 0;
    int i;
    unsigned c;

    for (i = 0; i < 4; i++) {
        if (q + i == end) {
            *bad = end;
            return -1;
        }
        c = q[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        }
        else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        }
        else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        }
        else {
            *bad = q + i;
            return -1;
        }
    }
    return v;
}

static size_t jf_utf8_put(char *t, unsigned long cp)
{
    if (cp < 0x80) {
        t[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    t[0] = (char)(0xF0 | (cp >> 18));
    t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The escape at q (q[0] is a backslash) decoded to t: the bytes written,
 * or -1 after jf_fail.  *q moves past it.  An unpaired surrogate writes
 * nothing and is remembered in *late (see jf_string). */
static int jf_escape(jf_t *jf, const unsigned char **qp, char *t,
                     const char **late)
{
    const unsigned char *end = jf->end, *q = *qp, *bad;
    long cp, lo;

    if (end - q < 2) {
        jf_fail(jf, end, "premature end of input");
        return -1;
    }
    *qp = q + 2;
    switch (q[1]) {
    case '"': case '\\': case '/':
        t[0] = (char)q[1];
        return 1;
    case 'b':
        t[0] = '\b';
        return 1;
    case 'f':
        t[0] = '\f';
        return 1;
    case 'n':
        t[0] = '\n';
        return 1;
    case 'r':
        t[0] = '\r';
        return 1;
    case 't':
        t[0] = '\t';
        return 1;
    case 'u':
        break;
    default:
        jf_fail(jf, q + 2, "invalid escape");
        return -1;
    }
    cp = jf_hex4(q + 2, end, &bad);
    if (cp < 0) {
        /* jansson has read the offending byte, if any */
        jf_fail(jf, bad < end ? bad + 1 : end, "invalid escape");
        return -1;
    }
    q += 6;
    *qp = q;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        *late = *late ? *late : "invalid Unicode escape (lone low surrogate)";
        return 0;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* UTF-16 pair: only a low surrogate may follow; anything else is
         * left for the caller to read. */
        lo = (end - q >= 6 && q[0] == '\\' && q[1] == 'u')
             ? jf_hex4(q + 2, end, &bad) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
            *late = *late ? *late : "invalid Unicode escape (lone high "
                                    "surrogate)";
            return 0;
        }
        *qp = q + 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return (int)jf_utf8_put(t, (unsigned long)cp);
}

/* Room the decoding loop keeps free in jf->buf: a block's store (64
 * bytes at most) and then an escape's 4 bytes always fit without a check;
 * and how much more it asks for when it grows the buffer. */
#define JF_ROOM 128
#define JF_GROW 256

/* The byte a one-letter escape stands for, 0 for the others (\u, and the
 * letters that are not escapes, which jf_escape reports). */
static const unsigned char jf_unescape[256] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f',
    ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

/* The string loops, one per instruction set.  A string's plain bytes are
 * found a block at a time; a string without escapes is used where it is in
 * the body, one with escapes is decoded into jf->buf (the next string or
 * number may reuse it).
 *
 * jansson reads a string twice: first its syntax (escapes well formed, no
 * control characters, UTF-8), then it decodes \u escapes, where it finds
 * unpaired surrogates.  An unpaired surrogate is therefore reported only
 * once the whole string is read and only if nothing else was wrong in it;
 * done the same here so that errors point where jansson's would.
 *
 * Source code in tool results has an escape every 30-40 bytes (a 1 MB
 * agent body: 31,681), most of them one letter (\n, \", \\).  Scanning a
 * run for its end, then copying it with a call, cost ~110 instructions an
 * escape; so once a string has an escape, its bytes are copied a block at
 * a time as they are scanned, and one-letter escapes are decoded in the
 * loop from a table.  Blocks of 64 bytes (AVX-512BW) or 32 (AVX2) take a
 * run between two escapes in about one step; the CPU's best is chosen at
 * the first parse (llm_json_fast_path). */

/* Portable: eight bytes at a time.  A flag in the high bit of a byte when
 * it is '"' or '\\' (a zero after the xor), below 0x20 (a borrow) or
 * >= 0x80; flags above the lowest may be false, so the bytes are then
 * looked at one by one (whatever the byte order). */
static inline uint64_t jf_scan8(const unsigned char *q)
{
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t high = 0x8080808080808080ULL;
    uint64_t w, a, b;
    unsigned i;

    memcpy(&w, q, 8);
    a = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    if (!((((a - ones) & ~a) | ((b - ones) & ~b) | w | (w - ones * 0x20))
          & high)) {
        return 0;
    }
    for (i = 0; jf_plain(q[i]); i++) {
    }
    return (uint64_t)1 << i;
}

static inline uint64_t jf_copy8(const unsigned char *q, char *d)
{
    memcpy(d, q, 8);
    return jf_scan8(q);
}

#define JFS_NAME jf_string_scalar
#define JFS_TARGET
#define JFS_W 8
#define JFS_SCAN(q) jf_scan8(q)
#define JFS_COPY(q, d) jf_copy8(q, d)
#include "json_fast_string.h"
#undef JFS_NAME
#undef JFS_TARGET
#undef JFS_W
#undef JFS_SCAN
#undef JFS_COPY

#ifdef JF_X86
/* A signed compare with 0x20 catches control characters and, as negative
 * numbers, every byte >= 0x80, in one instruction. */
static inline uint64_t jf_scan16(const unsigned char *q)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);

    return (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
}

static inline uint64_t jf_copy16(const unsigned char *q, char *d)
{
    _mm_storeu_si128((__m128i *)(void *)d,
                     _mm_loadu_si128((const __m128i *)(const void *)q));
    return jf_scan16(q);
}

#define JFS_NAME jf_string_sse2
#define JFS_TARGET
#define JFS_W 16
#define JFS_SCAN(q) jf_scan16(q)
#define JFS_COPY(q, d) jf_copy16(q, d)
#include "json_fast_string.h"
#undef JFS_NAME
#undef JFS_TARGET
#undef JFS_W
#undef JFS_SCAN
#undef JFS_COPY

#define JF_AVX2 __attribute__((target("avx2")))

JF_AVX2
static inline uint64_t jf_special32(__m256i v)
{
    return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))),
        _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v)));
}

JF_AVX2
static inline uint64_t jf_scan32(const unsigned char *q)
{
    return jf_special32(
        _mm256_loadu_si256((const __m256i *)(const void *)q));
}

JF_AVX2
static inline uint64_t jf_copy32(const unsigned char *q, char *d)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)q);

    _mm256_storeu_si256((__m256i *)(void *)d, v);
    return jf_special32(v);
}

/* jf_escape for a loop that keeps its variables in registers (none of
 * them has its address taken): the position after the escape at q, or
 * NULL after jf_fail; the bytes written in jf->esc_len, an unpaired
 * surrogate in jf->late. */
__attribute__((noinline))
static const unsigned char *jf_escape_at(jf_t *jf, const unsigned char *q,
                                         char *t)
{
    int w = jf_escape(jf, &q, t, &jf->late);

    if (w < 0) {
        return NULL;
    }
    jf->esc_len = (size_t)w;
    return q;
}

/* What the block decoders below leave to a byte at a time, at *qp: the
 * closing quote (1), an escape jf_unescape does not decode, UTF-8 or an
 * error (-1, after jf_fail).  Otherwise 0, with what it stands for
 * written at buf + *used and *qp past it. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int jf_decode_other(jf_t *jf, const unsigned char **qp,
                                  const unsigned char *end, char *buf,
                                  size_t *used)
{
    const unsigned char *q = *qp;
    size_t n;

    if (*q == '"') {
        return 1;
    }
    if (*q == '\\') {
        if (!(q = jf_escape_at(jf, q, buf + *used))) {
            return -1;
        }
        *used += jf->esc_len;
    }
    else if (*q >= 0x80) {
        if (!(n = jf_utf8_len(q, end))) {
            jf_fail(jf, q, "invalid UTF-8");
            return -1;
        }
        memcpy(buf + *used, q, n);
        *used += n;
        q += n;
    }
    else {
        jf_fail(jf, q, *q == '\n' ? "unexpected newline"
                                  : "control character in string");
        return -1;
    }
    *qp = q;
    return 0;
}

/* The string decoded into buf, its closing quote at q. */
static int jf_decode_done(jf_t *jf, const unsigned char *q, char *buf,
                          size_t used, const char **out, size_t *out_len)
{
    if (jf->late) {
        jf_fail(jf, q + 1, jf->late);
        return -1;
    }
    *out = buf;
    *out_len = used;
    jf->p = q + 1;
    return 0;
}

/* A string from its first escape (at q) on, with AVX2: as jf_decode64
 * below (blocks at fixed steps, escapes from the block's masks, so that
 * nothing waits on memory between two escapes), but without masked
 * stores: the plain bytes between two escapes are loaded again from
 * where they start and stored whole, 64 bytes in two stores (what lies
 * past them is overwritten by what follows).  The blocks are 64 bytes,
 * two loads, as jf_decode64's: source code has an escape every ~32
 * bytes, and the end of a block's loop over its escapes is a guess the
 * CPU misses about once a block, so a block of 32 missed it about once
 * an escape.  A load may reach 63 bytes past its block, so the blocks
 * stop 128 bytes before the body's end, and the rest is read a byte at
 * a time. */
JF_AVX2
static int jf_decode32(jf_t *jf, const unsigned char *q, const char **out,
                       size_t *out_len)
{
    const unsigned char *end = jf->end, *b = q;
    size_t used = (size_t)(q - jf->p), pos = 0, i;
    uint64_t bs, m;
    int k;
    unsigned char c;
    char *buf;
    __m256i v0, v1;
    const __m256i bsl = _mm256_set1_epi8('\\');

    jf->late = NULL;
    if (jf_reserve(jf, used + JF_ROOM + JF_GROW)) {
        jf_fail(jf, q, "out of memory");
        return -1;
    }
    buf = jf->buf;
    memcpy(buf, jf->p, used);
    for (;;) {
        /* b: the block, pos: its first byte not yet decoded.  A store
         * writes 64 bytes from where the output is, at most 63 bytes
         * past where the block's output started, an escape after it 4,
         * the byte loop at the end 127: JF_ROOM is enough. */
        if (jf->cap - used < JF_ROOM) {
            if (jf_reserve(jf, used + JF_ROOM + JF_GROW)) {
                jf_fail(jf, b + pos, "out of memory");
                return -1;
            }
            buf = jf->buf;
        }
        if (end - b < 128) {
            q = b + pos;
            if (q == end) {
                break;
            }
            if (jf_plain(*q)) {
                buf[used++] = (char)*q;
                pos++;
                continue;
            }
            goto other;
        }
        v0 = _mm256_loadu_si256((const __m256i *)(const void *)b);
        v1 = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32));
        bs = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, bsl))
             | (uint64_t)(uint32_t)_mm256_movemask_epi8(
                   _mm256_cmpeq_epi8(v1, bsl)) << 32;
        m = (jf_special32(v0) | jf_special32(v1) << 32) & (~0ULL << pos);
        while (m) {
            i = (size_t)__builtin_ctzll(m);
            _mm256_storeu_si256(
                (__m256i *)(void *)(buf + used),
                _mm256_loadu_si256((const __m256i *)(const void *)(b + pos)));
            _mm256_storeu_si256(
                (__m256i *)(void *)(buf + used + 32),
                _mm256_loadu_si256(
                    (const __m256i *)(const void *)(b + pos + 32)));
            used += i - pos;
            pos = i;
            /* b[i + 1] is in the body: 128 bytes are left from b */
            if (!((bs >> i) & 1) || !(c = jf_unescape[b[i + 1]])) {
                goto other;
            }
            buf[used++] = (char)c;
            pos = i + 2;
            if (pos >= 64) {
                break;
            }
            m &= ~0ULL << pos;
        }
        if (pos < 64) {
            _mm256_storeu_si256(
                (__m256i *)(void *)(buf + used),
                _mm256_loadu_si256((const __m256i *)(const void *)(b + pos)));
            _mm256_storeu_si256(
                (__m256i *)(void *)(buf + used + 32),
                _mm256_loadu_si256(
                    (const __m256i *)(const void *)(b + pos + 32)));
            used += 64 - pos;
            pos = 64;
        }
        b += pos;
        pos = 0;
        continue;
other:
        q = b + pos;
        if ((k = jf_decode_other(jf, &q, end, buf, &used)) != 0) {
            return k == 1 ? jf_decode_done(jf, q, buf, used, out, out_len)
                          : -1;
        }
        /* an escape may end past the block */
        pos = (size_t)(q - b);
        if (pos >= 64) {
            b = q;
            pos = 0;
        }
    }
    jf_fail(jf, end, "premature end of input");
    return -1;
}

#define JFS_NAME jf_string_avx2
#define JFS_TARGET JF_AVX2
#define JFS_W 32
#define JFS_SCAN(q) jf_scan32(q)
#define JFS_COPY(q, d) jf_copy32(q, d)
#define JFS_DECODE jf_decode32
#include "json_fast_string.h"
#undef JFS_NAME
#undef JFS_TARGET
#undef JFS_W
#undef JFS_SCAN
#undef JFS_COPY
#undef JFS_DECODE

#define JF_AVX512 __attribute__((target("avx512f,avx512bw")))

JF_AVX512
static inline uint64_t jf_special64(__m512i v)
{
    return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'))
           | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\'))
           | _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(0x20));
}

JF_AVX512
static inline uint64_t jf_scan64(const unsigned char *q)
{
    return jf_special64(_mm512_loadu_si512((const void *)q));
}

JF_AVX512
static inline uint64_t jf_copy64(const unsigned char *q, char *d)
{
    const __m512i v = _mm512_loadu_si512((const void *)q);

    _mm512_storeu_si512((void *)d, v);
    return jf_special64(v);
}

/* A string from its first escape (at q) on, with AVX-512BW.  The loop of
 * json_fast_string.h starts each block where the last special byte was,
 * so every escape waits for a load, a compare and a count that depend on
 * the one before (~30 cycles an escape, most of the parse of an agent
 * body).  Here blocks are read at fixed steps, independent of what they
 * hold; the escapes of a block are taken from its masks, and the plain
 * bytes between them are written from the block's register with a masked
 * store (exactly those bytes, nothing past them), so an escape costs a
 * few register operations. */
JF_AVX512
static int jf_decode64(jf_t *jf, const unsigned char *q, const char **out,
                       size_t *out_len)
{
    const unsigned char *end = jf->end, *b = q;
    size_t used = (size_t)(q - jf->p), pos = 0, i, left;
    int k;
    uint64_t live, bs, m;
    unsigned char c;
    char *buf;
    __m512i v;

    jf->late = NULL;
    if (jf_reserve(jf, used + JF_ROOM + JF_GROW)) {
        jf_fail(jf, q, "out of memory");
        return -1;
    }
    buf = jf->buf;
    memcpy(buf, jf->p, used);
    for (;;) {
        /* b: the block, pos: its first byte not yet decoded.  A block
         * writes at most its 64 bytes and an escape reaching past it
         * (4 bytes out): JF_ROOM is enough. */
        if (jf->cap - used < JF_ROOM) {
            if (jf_reserve(jf, used + JF_ROOM + JF_GROW)) {
                jf_fail(jf, b + pos, "out of memory");
                return -1;
            }
            buf = jf->buf;
        }
        left = (size_t)(end - b);
        if (left >= 64) {
            live = ~0ULL;
            v = _mm512_loadu_si512((const void *)b);
        }
        else {
            /* nothing is read past the body */
            live = ((uint64_t)1 << left) - 1;
            v = _mm512_maskz_loadu_epi8(live, (const void *)b);
        }
        bs = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\'));
        m = (bs | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'))
             | _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(0x20)))
            & live & (~0ULL << pos);
        /* One-letter escapes here; anything else (the closing quote
         * too) below, after which the block is read again: nothing of it
         * is kept across a call. */
        while (m) {
            i = (size_t)__builtin_ctzll(m);
            /* the plain bytes pos..i-1, from the register: lane k goes to
             * buf + used - pos + k */
            _mm512_mask_storeu_epi8(
                (void *)((uintptr_t)buf + used - pos),
                (((uint64_t)1 << i) - 1) & (~0ULL << pos), v);
            used += i - pos;
            pos = i;
            if (!((bs >> i) & 1) || left - i < 2
                || !(c = jf_unescape[b[i + 1]])) {
                goto other;
            }
            buf[used++] = (char)c;
            pos = i + 2;
            if (pos >= 64) {
                break;
            }
            m &= ~0ULL << pos;
        }
        if (left <= 64 && pos >= left) {
            break;
        }
        if (pos < 64) {
            if (left <= 64) {
                break;          /* plain bytes up to the body's end */
            }
            _mm512_mask_storeu_epi8((void *)((uintptr_t)buf + used - pos),
                                    ~0ULL << pos, v);
            used += 64 - pos;
            pos = 64;
        }
        b += pos;
        pos = 0;
        continue;
other:
        q = b + pos;
        if ((k = jf_decode_other(jf, &q, end, buf, &used)) != 0) {
            return k == 1 ? jf_decode_done(jf, q, buf, used, out, out_len)
                          : -1;
        }
        /* an escape may end past the block */
        pos = (size_t)(q - b);
        if (pos >= 64) {
            b = q;
            pos = 0;
        }
    }
    jf_fail(jf, end, "premature end of input");
    return -1;
}

#define JFS_NAME jf_string_avx512
#define JFS_TARGET JF_AVX512
#define JFS_W 64
#define JFS_SCAN(q) jf_scan64(q)
#define JFS_COPY(q, d) jf_copy64(q, d)
#define JFS_DECODE jf_decode64
#include "json_fast_string.h"
#undef JFS_NAME
#undef JFS_TARGET
#undef JFS_W
#undef JFS_SCAN
#undef JFS_COPY
#undef JFS_DECODE
#endif /* JF_X86 */

/* The loop in use: 0 until the first parse chooses (read and written
 * relaxed: every thread that chooses writes the same value). */
static int jf_path_now;

static int jf_path_works(int path)
{
    switch (path) {
    case LLM_JSON_PATH_SCALAR:
        return 1;
#ifdef JF_X86
    case LLM_JSON_PATH_SSE2:
        return 1;
    case LLM_JSON_PATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case LLM_JSON_PATH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f")
               && __builtin_cpu_supports("avx512bw");
#endif
    default:
        return 0;
    }
}

static int jf_path_best(void)
{
    static const struct {
        const char *name;
        int path;
    } names[] = {
        { "scalar", LLM_JSON_PATH_SCALAR }, { "sse2", LLM_JSON_PATH_SSE2 },
        { "avx2", LLM_JSON_PATH_AVX2 }, { "avx512", LLM_JSON_PATH_AVX512 },
    };
    const char *want = getenv("LLM_JSON_FAST_PATH");
    size_t i;
    int path;

    /* asked for by name (tests and benchmarks compare the loops), if the
     * CPU has it */
    for (i = 0; want && i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(want, names[i].name) && jf_path_works(names[i].path)) {
            return names[i].path;
        }
    }
    for (path = LLM_JSON_PATH_AVX512; path > LLM_JSON_PATH_SCALAR; path--) {
        if (jf_path_works(path)) {
            return path;
        }
    }
    return LLM_JSON_PATH_SCALAR;
}

int llm_json_fast_path(int path)
{
    if (path == LLM_JSON_PATH_AUTO) {
        path = __atomic_load_n(&jf_path_now, __ATOMIC_RELAXED);
        if (!path) {
            path = jf_path_best();
            __atomic_store_n(&jf_path_now, path, __ATOMIC_RELAXED);
        }
        return path;
    }
    if (!jf_path_works(path)) {
        return -1;
    }
    __atomic_store_n(&jf_path_now, path, __ATOMIC_RELAXED);
    return path;
}

/* The string whose opening quote was just read: 0 with *out and *out_len
 * (in the body, or in jf->buf when it had escapes), or -1 after
 * jf_fail. */
static int jf_string(jf_t *jf, const char **out, size_t *out_len)
{
    switch (jf->path) {
#ifdef JF_X86
    case LLM_JSON_PATH_AVX512:
        return jf_string_avx512(jf, out, out_len);
    case LLM_JSON_PATH_AVX2:
        return jf_string_avx2(jf, out, out_len);
    case LLM_JSON_PATH_SSE2:
        return jf_string_sse2(jf, out, out_len);
#endif
    default:
        return jf_string_scalar(jf, out, out_len);
    }
}

static int jf_digit(const unsigned char *q, const unsigned char *end)
{
    return q < end && *q >= '0' && *q <= '9';
}

/* A number, read as json_loadb reads it: integers (no '.', no exponent)
 * must fit json_int_t, reals go through strtod and may not overflow. */
static json_t *jf_number(jf_t *jf)
{
    const unsigned char *end = jf->end;
    const unsigned char *s = jf->p, *q = s, *d;
    unsigned long long acc = 0, limit;
    unsigned digit;
    int neg = 0;
    size_t n;
    double v;
    char *point, *e;
    json_t *j;

    if (*q == '-') {
        neg = 1;
        q++;
    }
    if (!jf_digit(q, end)) {
        jf_fail(jf, q, "invalid token");
        return NULL;
    }
    if (*q == '0') {
        q++;
        if (jf_digit(q, end)) {
            jf_fail(jf, q, "invalid token");
            return NULL;
        }
    }
    else {
        while (jf_digit(q, end)) {
            q++;
        }
    }
    if (q == end || (*q != '.' && *q != 'e' && *q != 'E')) {
        limit = neg ? (unsigned long long)JF_INT_MAX + 1
                    : (unsigned long long)JF_INT_MAX;
        for (d = s + neg; d < q; d++) {
            digit = (unsigned)(*d - '0');
            if (acc > (limit - digit) / 10) {
                jf_fail(jf, q, neg ? "too big negative integer"
                                   : "too big integer");
                return NULL;
            }
            acc = acc * 10 + digit;
        }
        jf->p = q;
        if (!neg) {
            j = json_integer((json_int_t)acc);
        }
        else if (acc == (unsigned long long)JF_INT_MAX + 1) {
            j = json_integer(-(json_int_t)JF_INT_MAX - 1);
        }
        else {
            j = json_integer(-(json_int_t)acc);
        }
        if (!j) {
            jf_fail(jf, q, "out of memory");
        }
        return j;
    }
    if (*q == '.') {
        q++;
        if (!jf_digit(q, end)) {
            jf_fail(jf, q, "invalid token");
            return NULL;
        }
        while (jf_digit(q, end)) {
            q++;
        }
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (!jf_digit(q, end)) {
            jf_fail(jf, q, "invalid token");
            return NULL;
        }
        while (jf_digit(q, end)) {
            q++;
        }
    }
    n = (size_t)(q - s);
    if (jf_reserve(jf, n + 1)) {
        jf_fail(jf, q, "out of memory");
        return NULL;
    }
    memcpy(jf->buf, s, n);
    jf->buf[n] = '\0';
    /* strtod follows the locale, as in jansson, which swaps the point the
     * same way: the same text gives the same double. */
    point = localeconv()->decimal_point;
    if (point[0] != '.') {
        e = memchr(jf->buf, '.', n);
        if (e) {
            *e = point[0];
        }
    }
    errno = 0;
    v = strtod(jf->buf, &e);
    if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE) {
        jf_fail(jf, q, "real number overflow");
        return NULL;
    }
    jf->p = q;
    j = json_real(v);
    if (!j) {
        jf_fail(jf, q, "out of memory");
    }
    return j;
}

static json_t *jf_value(jf_t *jf, int depth);

static int jf_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A token at p that the grammar does not allow there.  jansson reads the
 * whole token before it sees that, so an error inside the token (a bad
 * escape, bad UTF-8, a malformed number) is the one it reports, and it
 * reports the others after the token: the same here, so that the line of
 * an error is jansson's. */
static void jf_unexpected(jf_t *jf, const unsigned char *p, const char *msg)
{
    const unsigned char *end = jf->end, *keep = jf->p;
    const char *s;
    size_t n;
    json_t *j;

    if (p == end) {
        jf_fail(jf, end, msg);
        return;
    }
    jf->p = p;
    if (*p == '"') {
        jf->p = p + 1;
        if (jf_string(jf, &s, &n) == 0) {
            jf_fail(jf, jf->p, msg);
        }
    }
    else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        j = jf_number(jf);
        if (j) {
            jf_fail(jf, jf->p, msg);
            json_decref(j);
        }
    }
    else if (jf_alpha(*p)) {
        while (p < end && jf_alpha(*p)) {
            p++;
        }
        jf_fail(jf, p, msg);
    }
    else if (*p >= 0x80) {
        n = jf_utf8_len(p, end);
        jf_fail(jf, n ? p + n : p, n ? msg : "invalid UTF-8");
    }
    else {
        jf_fail(jf, p + 1, msg);
    }
    jf->p = keep;
}

static json_t *jf_literal(jf_t *jf, const char *word, size_t n, json_t *v)
{
    if ((size_t)(jf->end - jf->p) < n || memcmp(jf->p, word, n) != 0) {
        jf_unexpected(jf, jf->p, "invalid token");
        return NULL;
    }
    jf->p += n;
    return v;
}

/* depth: the level of this array (the root is 1); jf->p is past '['. */
static json_t *jf_array(jf_t *jf, int depth)
{
    const unsigned char *end = jf->end;
    json_t *arr, *v;

    arr = json_array();
    if (!arr) {
        jf_fail(jf, jf->p, "out of memory");
        return NULL;
    }
    jf->p = jf_ws(jf->p, end);
    if (jf->p < end && *jf->p == ']') {
        jf->p++;
        return arr;
    }
    for (;;) {
        v = jf_value(jf, depth);
        if (!v) {
            break;
        }
        if (json_array_append_new(arr, v)) {
            jf_fail(jf, jf->p, "out of memory");
            break;
        }
        jf->p = jf_ws(jf->p, end);
        if (jf->p < end && *jf->p == ',') {
            jf->p = jf_ws(jf->p + 1, end);
            continue;
        }
        if (jf->p < end && *jf->p == ']') {
            jf->p++;
            return arr;
        }
        jf_unexpected(jf, jf->p, "']' expected");
        break;
    }
    json_decref(arr);
    return NULL;
}

/* One member: its key is checked (no NUL, no duplicate) before its value
 * is read, as json_loadb does, and kept aside meanwhile because the value
 * may reuse jf->buf. */
static int jf_member(jf_t *jf, json_t *obj, int depth)
{
    const unsigned char *end = jf->end;
    const unsigned char *kat = jf->p;
    char kstack[JF_KEY_STACK + 1];
    char *kheap = NULL;
    const char *key;
    size_t klen;
    json_t *v;
    int rc = -1;

    if (jf_string(jf, &key, &klen)) {
        return -1;
    }
    if (memchr(key, '\0', klen)) {
        jf_fail(jf, jf->p, "NUL byte in object key not supported");
        return -1;
    }
    if (!JF_KEYS_WITH_LENGTH || key == jf->buf) {
        if (klen <= JF_KEY_STACK) {
            memcpy(kstack, key, klen);
            kstack[klen] = '\0';
            key = kstack;
        }
        else {
            kheap = malloc(klen + 1);
            if (!kheap) {
                jf_fail(jf, jf->p, "out of memory");
                return -1;
            }
            memcpy(kheap, key, klen);
            kheap[klen] = '\0';
            key = kheap;
        }
    }
#if JF_KEYS_WITH_LENGTH
    v = json_object_getn(obj, key, klen);
#else
    v = json_object_get(obj, key);
#endif
    if (v) {
        jf_fail(jf, jf->p, "duplicate object key");
        goto out;
    }
    jf->p = jf_ws(jf->p, end);
    if (jf->p == end || *jf->p != ':') {
        jf_unexpected(jf, jf->p, "':' expected");
        goto out;
    }
    jf->p = jf_ws(jf->p + 1, end);
    v = jf_value(jf, depth);
    if (!v) {
        goto out;
    }
#if JF_KEYS_WITH_LENGTH
    rc = json_object_setn_new_nocheck(obj, key, klen, v);
#else
    rc = json_object_set_new_nocheck(obj, key, v);
#endif
    if (rc) {
        jf_fail(jf, kat, "out of memory");
    }
out:
    free(kheap);
    return rc;
}

/* depth: the level of this object (the root is 1); jf->p is past '{'. */
static json_t *jf_object(jf_t *jf, int depth)
{
    const unsigned char *end = jf->end;
    json_t *obj;

    obj = json_object();
    if (!obj) {
        jf_fail(jf, jf->p, "out of memory");
        return NULL;
    }
    jf->p = jf_ws(jf->p, end);
    if (jf->p < end && *jf->p == '}') {
        jf->p++;
        return obj;
    }
    for (;;) {
        if (jf->p == end || *jf->p != '"') {
            jf_unexpected(jf, jf->p, "string or '}' expected");
            break;
        }
        jf->p++;
        if (jf_member(jf, obj, depth)) {
            break;
        }
        jf->p = jf_ws(jf->p, end);
        if (jf->p < end && *jf->p == ',') {
            jf->p = jf_ws(jf->p + 1, end);
            continue;
        }
        if (jf->p < end && *jf->p == '}') {
            jf->p++;
            return obj;
        }
        jf_unexpected(jf, jf->p, "'}' expected");
        break;
    }
    json_decref(obj);
    return NULL;
}

/* A value at jf->p (whitespace skipped) inside a container of level
 * depth (0 for the root). */
static json_t *jf_value(jf_t *jf, int depth)
{
    const unsigned char *p = jf->p;
    const char *s;
    size_t n;
    json_t *j;

    if (p == jf->end) {
        jf_fail(jf, p, "premature end of input");
        return NULL;
    }
    switch (*p) {
    case '"':
        jf->p = p + 1;
        if (jf_string(jf, &s, &n)) {
            return NULL;
        }
        j = json_stringn_nocheck(s, n);
        if (!j) {
            jf_fail(jf, jf->p, "out of memory");
        }
        return j;
    case '{':
    case '[':
        /* Checked before descending, so the recursion is bounded by the
         * limit whatever the input. */
        if (depth + 1 > jf->max_depth) {
            jf->too_deep = 1;
            jf_fail(jf, p + 1, "nested too deep");
            return NULL;
        }
        jf->p = p + 1;
        return *p == '{' ? jf_object(jf, depth + 1) : jf_array(jf, depth + 1);
    case 't':
        return jf_literal(jf, "true", 4, json_true());
    case 'f':
        return jf_literal(jf, "false", 5, json_false());
    case 'n':
        return jf_literal(jf, "null", 4, json_null());
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return jf_number(jf);
    default:
        jf_unexpected(jf, p, "unexpected token");
        return NULL;
    }
}

/* Line and column as jansson counts them: lines from 1, columns in
 * characters (every byte but UTF-8 continuations and invalid lead bytes)
 * read on the line so far. */
static void jf_position(const unsigned char *start, const unsigned char *at,
                        llm_json_fast_error_t *err)
{
    const unsigned char *q;
    int line = 1, column = 0;

    for (q = start; q < at; q++) {
        if (*q == '\n') {
            line++;
            column = 0;
        }
        else if (*q < 0x80 || (*q >= 0xC2 && *q <= 0xF4)) {
            column++;
        }
    }
    err->line = line;
    err->column = column;
}

json_t *llm_json_fast_parse(const char *buf, size_t len, int max_depth,
                            llm_json_fast_error_t *err)
{
    jf_t jf;
    json_t *root = NULL;

    memset(&jf, 0, sizeof(jf));
    jf.start = (const unsigned char *)(buf ? buf : "");
    jf.end = jf.start + (buf ? len : 0);
    jf.max_depth = max_depth;
    jf.path = llm_json_fast_path(LLM_JSON_PATH_AUTO);
    jf.p = jf_ws(jf.start, jf.end);

    if (jf.p == jf.end || (*jf.p != '{' && *jf.p != '[')) {
        jf_unexpected(&jf, jf.p, "'[' or '{' expected");
    }
    else {
        root = jf_value(&jf, 0);
        if (root) {
            jf.p = jf_ws(jf.p, jf.end);
            if (jf.p != jf.end) {
                jf_unexpected(&jf, jf.p, "end of file expected");
                json_decref(root);
                root = NULL;
            }
        }
    }
    free(jf.buf);
    if (!root && err) {
        if (!jf.msg) {
            jf.msg = "out of memory";
            jf.at = jf.p;
        }
        jf_position(jf.start, jf.at, err);
        err->too_deep = jf.too_deep;
        err->text = jf.msg;
    }
    return root;
}

/* -- finding one top-level member without building the tree -------------- */

static const unsigned char *skip_ws(const unsigned char *p,
                                    const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* Past the string starting at p (its opening quote), or NULL. */
/* The first byte at or after p that is '"', '\\' or a control
 * character, or end.  Unlike jf_plain_run it goes on over non-ASCII
 * bytes: skipping a string needs no UTF-8 check. */
static const unsigned char *skip_plain(const unsigned char *p,
                                       const unsigned char *end)
{
#ifdef JF_SSE2
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1F);
    __m128i v;
    unsigned bits;

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* min(v, 0x1F) == v exactly for the bytes 0x00-0x1F */
        bits = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                      _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)));
        if (bits) {
            return p + __builtin_ctz(bits);
        }
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) {
        p++;
    }
    return p;
}

/* Past the string whose opening quote is at p, or NULL.  Runs of plain
 * bytes are skipped 16 at a time: a request body is mostly long strings,
 * and the gateway looks for top-level members of every stream request it
 * sends (usage_request.c). */
static const unsigned char *skip_string(const unsigned char *p,
                                        const unsigned char *end)
{
    for (p++; p < end; p++) {
        p = skip_plain(p, end);
        if (p == end) {
            return NULL;
        }
        if (*p == '\\') {
            p++;
        }
        else if (*p == '"') {
            return p + 1;
        }
        else if (*p < 0x20) {
            return NULL;
        }
    }
    return NULL;
}

/* Past the value starting at p, or NULL.  Containers are matched by
 * bracket count only: the value is parsed properly once found. */
static const unsigned char *skip_value(const unsigned char *p,
                                       const unsigned char *end)
{
    int depth = 0;

    if (p >= end) {
        return NULL;
    }
    if (*p != '{' && *p != '[') {
        if (*p == '"') {
            return skip_string(p, end);
        }
        while (p < end && *p != ',' && *p != '}' && *p != ']'
               && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            p++;
        }
        return p;
    }
    while (p < end) {
        if (*p == '"') {
            if (!(p = skip_string(p, end))) {
                return NULL;
            }
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        }
        else if (*p == '}' || *p == ']') {
            if (--depth == 0) {
                return p + 1;
            }
        }
        p++;
    }
    return NULL;
}

int llm_json_top_member(const char *buf, size_t len, const char *name,
                        const char **value, size_t *value_len)
{
    const unsigned char *p = (const unsigned char *)buf;
    const unsigned char *end = p + len;
    size_t nlen = strlen(name);

    p = skip_ws(p, end);
    if (p >= end || *p != '{') {
        return -1;
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        return 0;
    }
    while (p < end) {
        const unsigned char *k = p, *ke, *v;

        if (*p != '"' || !(p = skip_string(p, end))) {
            return -1;
        }
        ke = p;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') {
            return -1;
        }
        v = skip_ws(p + 1, end);
        if (!(p = skip_value(v, end))) {
            return -1;
        }
        /* Compared as written: a name spelt with escapes is not found. */
        if ((size_t)(ke - k) == nlen + 2 && !memcmp(k + 1, name, nlen)) {
            *value = (const char *)v;
            *value_len = (size_t)(p - v);
            return 1;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        return p < end && *p == '}' ? 0 : -1;
    }
    return -1;
}

const char *llm_json_skip_value(const char *p, const char *end)
{
    return (const char *)skip_value(skip_ws((const unsigned char *)p,
                                            (const unsigned char *)end),
                                    (const unsigned char *)end);
}

int llm_json_top_members(const char *buf, size_t len,
                         const char *const *names, size_t n,
                         const char **values, size_t *value_lens, int *found)
{
    const unsigned char *p = (const unsigned char *)buf;
    const unsigned char *end = p + len;
    size_t i, left = n;
    int rv = 0;

    for (i = 0; i < n; i++) {
        found[i] = 0;
    }
    p = skip_ws(p, end);
    if (p >= end || *p != '{') {
        rv = -1;
        goto done;
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        goto done;
    }
    while (p < end && left) {
        const unsigned char *k = p, *ke, *v;
        unsigned char first;

        if (*p != '"' || !(p = skip_string(p, end))) {
            rv = -1;
            goto done;
        }
        ke = p;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') {
            rv = -1;
            goto done;
        }
        v = skip_ws(p + 1, end);
        if (!(p = skip_value(v, end))) {
            rv = -1;
            goto done;
        }
        /* The first member of a name counts, as in llm_json_top_member.
         * Most names differ at their first byte (an empty key's is its
         * end); strncmp stops at the end of a shorter name. */
        first = ke - k == 2 ? 0 : k[1];
        for (i = 0; i < n; i++) {
            if (!found[i] && (unsigned char)names[i][0] == first
                && !strncmp(names[i], (const char *)k + 1,
                            (size_t)(ke - k) - 2)
                && names[i][(ke - k) - 2] == '\0') {
                found[i] = 1;
                values[i] = (const char *)v;
                value_lens[i] = (size_t)(p - v);
                left--;
            }
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (!(p < end && *p == '}')) {
            rv = -1;
        }
        goto done;
    }
    if (left) {
        rv = -1;        /* ran out of text inside the object */
    }
done:
    /* A name not found before the walk failed is -1, as it would be
     * alone. */
    for (i = 0; i < n; i++) {
        if (!found[i]) {
            found[i] = rv;
        }
    }
    return rv;
}
