/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Is a media field (an image, a document, audio, a file) really base64 of
 * a binary format?  Only then is it left out of the scan: scanning base64
 * finds noise, and redacting it would corrupt the file.  A field name
 * proves nothing: plain text, data:text/... URLs, or base64 of a text file
 * sent in the same fields are text, and are scanned (base64 of text both
 * as sent and decoded).
 */

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "apr_strings.h"

#include "dialect_private.h"

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

/* Bytes that are no base64 or base64url digit: 1. */
static const unsigned char not_b64[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x10 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,     /* 0x20: + - / */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,     /* 0x30: 0-9 */
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x40: A-O */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0,     /* 0x50: P-Z _ */
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x60: a-o */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,     /* 0x70: p-z */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};

#if defined(__SSE2__)
/* Sixteen bytes at a time, about one instruction a byte (the JSON parse
 * of the same string costs as much): a byte is a digit when it is in one
 * of the ranges or one of the four marks (signed compares: bytes >= 0x80
 * are negative and fail every range).  Returns where the scalar loop
 * goes on, or (size_t)-1 for a byte that is no digit. */
static size_t b64_valid_sse2(const unsigned char *u, size_t end)
{
    const __m128i a0 = _mm_set1_epi8('A' - 1), a1 = _mm_set1_epi8('Z' + 1);
    const __m128i l0 = _mm_set1_epi8('a' - 1), l1 = _mm_set1_epi8('z' + 1);
    const __m128i d0 = _mm_set1_epi8('0' - 1), d1 = _mm_set1_epi8('9' + 1);
    const __m128i plus = _mm_set1_epi8('+'), slash = _mm_set1_epi8('/');
    const __m128i minus = _mm_set1_epi8('-'), under = _mm_set1_epi8('_');
    __m128i acc = _mm_set1_epi8(-1), v, ok;
    size_t k;

    for (k = 0; k + 16 <= end; k += 16) {
        v = _mm_loadu_si128((const __m128i *)(const void *)(u + k));
        ok = _mm_or_si128(
            _mm_or_si128(
                _mm_and_si128(_mm_cmpgt_epi8(v, a0), _mm_cmplt_epi8(v, a1)),
                _mm_and_si128(_mm_cmpgt_epi8(v, l0), _mm_cmplt_epi8(v, l1))),
            _mm_or_si128(
                _mm_and_si128(_mm_cmpgt_epi8(v, d0), _mm_cmplt_epi8(v, d1)),
                _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, plus),
                                 _mm_cmpeq_epi8(v, slash)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, minus),
                                 _mm_cmpeq_epi8(v, under)))));
        acc = _mm_and_si128(acc, ok);
    }
    return _mm_movemask_epi8(acc) == 0xffff ? k : (size_t)-1;
}
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_B64_AVX2 1
/* The same, 32 bytes at a time, on machines that have AVX2 (asked at run
 * time): a quarter of the instructions. */
__attribute__((target("avx2")))
static size_t b64_valid_avx2(const unsigned char *u, size_t end)
{
    const __m256i a0 = _mm256_set1_epi8('A' - 1), a1 = _mm256_set1_epi8('Z' + 1);
    const __m256i l0 = _mm256_set1_epi8('a' - 1), l1 = _mm256_set1_epi8('z' + 1);
    const __m256i d0 = _mm256_set1_epi8('0' - 1), d1 = _mm256_set1_epi8('9' + 1);
    const __m256i plus = _mm256_set1_epi8('+'), slash = _mm256_set1_epi8('/');
    const __m256i minus = _mm256_set1_epi8('-'), under = _mm256_set1_epi8('_');
    __m256i acc = _mm256_set1_epi8(-1), v, ok;
    size_t k;

    for (k = 0; k + 32 <= end; k += 32) {
        v = _mm256_loadu_si256((const __m256i *)(const void *)(u + k));
        ok = _mm256_or_si256(
            _mm256_or_si256(
                _mm256_and_si256(_mm256_cmpgt_epi8(v, a0),
                                 _mm256_cmpgt_epi8(a1, v)),
                _mm256_and_si256(_mm256_cmpgt_epi8(v, l0),
                                 _mm256_cmpgt_epi8(l1, v))),
            _mm256_or_si256(
                _mm256_and_si256(_mm256_cmpgt_epi8(v, d0),
                                 _mm256_cmpgt_epi8(d1, v)),
                _mm256_or_si256(
                    _mm256_or_si256(_mm256_cmpeq_epi8(v, plus),
                                    _mm256_cmpeq_epi8(v, slash)),
                    _mm256_or_si256(_mm256_cmpeq_epi8(v, minus),
                                    _mm256_cmpeq_epi8(v, under)))));
        acc = _mm256_and_si256(acc, ok);
    }
    return _mm256_movemask_epi8(acc) == -1 ? k : (size_t)-1;
}
#endif

/* base64 (or base64url) throughout, padding only at the end.  Images are
 * megabytes: vector code on x86-64, else one table load a byte, eight
 * a round, no branch inside a block. */
static int b64_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = 0, end = n, blk;
    unsigned int bad = 0;

    while (end > 0 && u[end - 1] == '=') {
        end--;
    }
    if (n < 4 || n - end > 2 || (n > end && n % 4 != 0)) {
        return 0;
    }
#if defined(HAVE_B64_AVX2)
    if (__builtin_cpu_supports("avx2")) {
        k = b64_valid_avx2(u, end);
    }
#if defined(__SSE2__)
    else {
        k = b64_valid_sse2(u, end);
    }
#endif
#elif defined(__SSE2__)
    k = b64_valid_sse2(u, end);
#endif
    if (k == (size_t)-1) {
        return 0;
    }
    while (k < end && !bad) {
        blk = end - k > 4096 ? k + 4096 : end;
        for (; k + 8 <= blk; k += 8) {
            bad |= not_b64[u[k]] | not_b64[u[k + 1]] | not_b64[u[k + 2]]
                   | not_b64[u[k + 3]] | not_b64[u[k + 4]]
                   | not_b64[u[k + 5]] | not_b64[u[k + 6]]
                   | not_b64[u[k + 7]];
        }
        for (; k < blk; k++) {
            bad |= not_b64[u[k]];
        }
    }
    return !bad;
}

/* base64 as `base64`, MIME and PEM write it: lines of a fixed length (a
 * multiple of 4), each ending in LF or CRLF.  Decoders skip the line
 * breaks, so the model reads what is encoded.  Only the first line is
 * checked here: text that merely has newlines fails at once. */
static int b64_wrapped(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n < 200 ? n : 200);
    size_t len;

    if (!nl) {
        return 0;
    }
    len = (size_t)(nl - s);
    if (len > 0 && s[len - 1] == '\r') {
        len--;
    }
    return len >= 16 && len % 4 == 0 && b64_valid(s, len);
}

/* A copy of s without its line breaks. */
static int b64_unwrap(apr_pool_t *p, const char **s, size_t *n)
{
    char *out = apr_palloc(p, *n + 1);
    size_t k, o = 0;

    for (k = 0; k < *n; k++) {
        if ((*s)[k] != '\n' && (*s)[k] != '\r') {
            out[o++] = (*s)[k];
        }
    }
    out[o] = '\0';
    *s = out;
    *n = o;
    return o > 0;
}

/* Decode the first max bytes (or all, max 0) of valid base64. */
static size_t b64_decode(const char *s, size_t n, unsigned char *out,
                         size_t max)
{
    size_t k, o = 0;
    unsigned int acc = 0;
    int bits = 0, v;

    for (k = 0; k < n && (max == 0 || o < max); k++) {
        if ((v = b64_val((unsigned char)s[k])) < 0) {
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

/* The magic numbers of the binary formats the providers take. */
static int binary_magic(const unsigned char *b, size_t n)
{
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
        return 1;
    }
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
        return 1;                               /* JPEG */
    }
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) {
        return 1;
    }
    if (n >= 12 && !memcmp(b, "RIFF", 4)
        && (!memcmp(b + 8, "WEBP", 4) || !memcmp(b + 8, "WAVE", 4)
            || !memcmp(b + 8, "AVI ", 4))) {
        return 1;
    }
    if (n >= 5 && !memcmp(b, "%PDF-", 5)) {
        return 1;
    }
    if (n >= 3 && !memcmp(b, "ID3", 3)) {
        return 1;                               /* MP3 with a tag */
    }
    if (n >= 2 && b[0] == 0xff && (b[1] & 0xe0) == 0xe0) {
        return 1;                               /* MPEG / AAC frame */
    }
    if (n >= 4 && (!memcmp(b, "OggS", 4) || !memcmp(b, "fLaC", 4)
                   || !memcmp(b, "PK\x03\x04", 4)
                   || !memcmp(b, "\x1a\x45\xdf\xa3", 4)
                   || !memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) {
        return 1;                   /* Ogg, FLAC, zip (docx...), WebM, TIFF */
    }
    if (n >= 8 && !memcmp(b + 4, "ftyp", 4)) {
        return 1;                               /* MP4, M4A, MOV, HEIC */
    }
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        return 1;                               /* gzip */
    }
    return 0;
}

/* A declared type whose content is text: never exempt. */
static int text_type(const char *t, size_t n)
{
    static const char *const texts[] = {
        "application/json", "application/xml", "application/javascript",
        "application/x-sh", "application/x-yaml", "application/yaml",
        "application/sql", "application/x-www-form-urlencoded", NULL
    };
    size_t k;
    int i;

    if (n >= 5 && !strncasecmp(t, "text/", 5)) {
        return 1;
    }
    for (k = 0; k + 5 <= n; k++) {
        if (t[k] == '+' && (!strncasecmp(t + k, "+json", 5)
                            || (k + 4 <= n && !strncasecmp(t + k, "+xml", 4)))) {
            return 1;
        }
    }
    for (i = 0; texts[i]; i++) {
        if (strlen(texts[i]) == n && !strncasecmp(t, texts[i], n)) {
            return 1;
        }
    }
    return 0;
}

llm_media_e llm_dialect_media(apr_pool_t *p, const char *s, size_t n,
                              const char *declared, int url_field,
                              const char **decoded, size_t *decoded_len)
{
    const char *payload = s, *comma, *semi;
    size_t plen = n, dlen = declared ? strlen(declared) : 0;
    unsigned char head[24], *out;

    *decoded = NULL;
    *decoded_len = 0;
    if (n >= 5 && !strncasecmp(s, "data:", 5)) {
        comma = memchr(s, ',', n);
        if (!comma || comma - s < 12
            || strncasecmp(comma - 7, ";base64", 7)) {
            return LLM_MEDIA_TEXT;      /* data:text/plain,... is text */
        }
        declared = s + 5;
        semi = memchr(declared, ';', (size_t)(comma - declared));
        dlen = (size_t)((semi ? semi : comma) - declared);
        payload = comma + 1;
        plen = n - (size_t)(payload - s);
    }
    else if (url_field) {
        return LLM_MEDIA_TEXT;          /* a URL: text */
    }
    if (!b64_valid(payload, plen)
        && !(b64_wrapped(payload, plen)
             && b64_unwrap(p, &payload, &plen)
             && b64_valid(payload, plen))) {
        return LLM_MEDIA_TEXT;
    }
    if (!(declared && text_type(declared, dlen))
        && binary_magic(head, b64_decode(payload, plen, head, sizeof(head)))) {
        if (memcmp(head, "%PDF-", 5)) {
            return LLM_MEDIA_BINARY;
        }
        /* a document: the providers hand the model its text */
        out = apr_palloc(p, plen / 4 * 3 + 3);
        switch (llm_pdf_text(p, out, b64_decode(payload, plen, out, 0),
                             decoded, decoded_len)) {
        case LLM_PDF_OK:
            return LLM_MEDIA_DOCUMENT;
        case LLM_PDF_ENCRYPTED:
            *decoded = "is an encrypted PDF, whose text the gateway "
                       "cannot scan";
            break;
        default:
            *decoded = "is a PDF whose streams inflate to more than "
                       "64 MB, too large to scan";
        }
        *decoded_len = strlen(*decoded);
        return LLM_MEDIA_UNREADABLE;
    }
    out = apr_palloc(p, plen / 4 * 3 + 3);
    *decoded_len = b64_decode(payload, plen, out, 0);
    *decoded = (const char *)out;
    return LLM_MEDIA_ENCODED_TEXT;
}
