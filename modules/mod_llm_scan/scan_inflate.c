/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Compressed request bodies are inflated so that they are scanned, never
 * forwarded unseen.  The output limit is the body limit: a small gzip bomb
 * must not grow past what an uncompressed body may be.
 */

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apr_pools.h"
#include "apr_errno.h"

#include "scan_body.h"

/* The output grows by realloc on the C heap and is freed with the pool:
 * grown in the pool, each smaller copy stayed until the request ended. */
static apr_status_t free_output(void *data)
{
    free(data);
    return APR_SUCCESS;
}

static apr_status_t inflate_with(apr_pool_t *p, int window_bits,
                                 const char *in, apr_size_t inlen,
                                 apr_size_t max, char **out,
                                 apr_size_t *outlen)
{
    z_stream zs;
    apr_size_t cap = inlen * 4 + 1024;
    char *buf;
    int zrv;

    if (cap > max + 1) {
        cap = max + 1;
    }
    if (!(buf = malloc(cap + 1))) {
        return APR_ENOMEM;
    }
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, window_bits) != Z_OK) {
        free(buf);
        return APR_EGENERAL;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    for (;;) {
        zrv = inflate(&zs, Z_NO_FLUSH);
        if (zrv == Z_STREAM_END) {
            break;
        }
        if (zrv != Z_OK && zrv != Z_BUF_ERROR) {
            inflateEnd(&zs);
            free(buf);
            return APR_EGENERAL;
        }
        if (zs.avail_out == 0) {
            apr_size_t used = zs.total_out;
            char *nbuf;

            if (used > max) {
                inflateEnd(&zs);
                free(buf);
                return APR_ENOSPC;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            if (!(nbuf = realloc(buf, cap + 1))) {
                inflateEnd(&zs);
                free(buf);
                return APR_ENOMEM;
            }
            buf = nbuf;
            zs.next_out = (Bytef *)buf + used;
            zs.avail_out = (uInt)(cap - used);
        }
        else if (zs.avail_in == 0) {
            /* Input ended before the stream did: truncated. */
            inflateEnd(&zs);
            free(buf);
            return APR_EGENERAL;
        }
    }
    *outlen = zs.total_out;
    inflateEnd(&zs);
    if (*outlen > max) {
        free(buf);
        return APR_ENOSPC;
    }
    buf[*outlen] = '\0';
    apr_pool_cleanup_register(p, buf, free_output, apr_pool_cleanup_null);
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t llm_scan_inflate(apr_pool_t *p, const char *in, apr_size_t inlen,
                              apr_size_t max, char **out, apr_size_t *outlen)
{
    /* 15 + 32: gzip or zlib header, detected.  HTTP "deflate" is meant to
     * be zlib, but some clients send raw deflate: try that second. */
    apr_status_t rv = inflate_with(p, 15 + 32, in, inlen, max, out, outlen);

    if (rv == APR_EGENERAL) {
        rv = inflate_with(p, -15, in, inlen, max, out, outlen);
    }
    return rv;
}
