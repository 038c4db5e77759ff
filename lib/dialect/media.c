/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
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

/* base64 (or base64url) throughout, padding only at the end.  Images are
 * megabytes: comparisons only and no early exit inside a block, which
 * the compiler turns into vector code. */
static int b64_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k, end = n, blk;
    unsigned int bad = 0;

    while (end > 0 && u[end - 1] == '=') {
        end--;
    }
    if (n < 4 || n - end > 2 || (n > end && n % 4 != 0)) {
        return 0;
    }
    for (k = 0; k < end && !bad; k = blk) {
        blk = end - k > 4096 ? k + 4096 : end;
        for (; k < blk; k++) {
            unsigned char c = u[k];
            bad |= !((unsigned char)(c - 'A') < 26
                     || (unsigned char)(c - 'a') < 26
                     || (unsigned char)(c - '0') < 10
                     || c == '+' || c == '/' || c == '-' || c == '_');
        }
    }
    return !bad;
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
    if (!b64_valid(payload, plen)) {
        return LLM_MEDIA_TEXT;
    }
    if (!(declared && text_type(declared, dlen))
        && binary_magic(head, b64_decode(payload, plen, head, sizeof(head)))) {
        return LLM_MEDIA_BINARY;
    }
    out = apr_palloc(p, plen / 4 * 3 + 3);
    *decoded_len = b64_decode(payload, plen, out, 0);
    *decoded = (const char *)out;
    return LLM_MEDIA_ENCODED_TEXT;
}
