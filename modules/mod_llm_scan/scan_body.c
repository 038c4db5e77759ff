/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The body is read in fixups, the way ModSecurity does it: deciding there
 * lets us answer any status in the caller's dialect, while a decision taken
 * inside an input filter that mod_proxy is reading could only become a 400
 * or 413 from mod_proxy.  The kept body stays in the shared request object;
 * mod_llm_route hands it to mod_proxy (route_handover.c).
 */

#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_log.h"
#include "util_filter.h"
#include "apr_strings.h"
#include "apr_buckets.h"

#include "llm_gateway.h"
#include "scan_body.h"

APLOG_USE_MODULE(llm_scan);

/* The body as it is read, on the C heap, freed when the request's pool
 * goes.  Sized from Content-Length, it is one malloc; of unknown length
 * (chunked), it grows by realloc, which frees (or extends) the smaller
 * buffer: grown in the pool, every smaller copy would stay resident until
 * the request ends, twice the body.  Not in the pool even when its size
 * is known: a pool keeps what it frees only up to MaxMemFree (2 MB) and
 * only while its connection lasts, and APR maps a pool's blocks one by
 * one where it is built with APR_ALLOCATOR_USES_MMAP (Debian), so a 1 MB
 * body on a new connection was a fresh mapping and some 260 page faults
 * every time.  glibc serves a block of that size from a fresh mapping
 * only until one has been freed (its mmap threshold then rises to that
 * size), and from the heap, where the next request finds it, after that. */
typedef struct {
    char *data;
    apr_size_t len;
    apr_size_t cap;
    int heap;
} body_buf_t;

static apr_status_t buf_free(void *data)
{
    body_buf_t *b = data;

    if (b->heap) {
        free(b->data);
        b->heap = 0;
    }
    return APR_SUCCESS;
}

/* Room for cap bytes and a terminating NUL; -1 when out of memory. */
static int buf_reserve(apr_pool_t *p, body_buf_t *b, apr_size_t cap)
{
    char *nd = realloc(b->heap ? b->data : NULL, cap + 1);

    if (!nd) {
        return -1;
    }
    if (!b->heap) {
        b->heap = 1;
        apr_pool_cleanup_register(p, b, buf_free, apr_pool_cleanup_null);
    }
    b->data = nd;
    b->cap = cap;
    return 0;
}

static int buf_append(apr_pool_t *p, body_buf_t *b, const char *d,
                      apr_size_t n)
{
    if (b->len + n > b->cap) {
        apr_size_t cap = b->cap ? b->cap * 2 : 16384;

        while (cap < b->len + n) {
            cap *= 2;
        }
        if (buf_reserve(p, b, cap) != 0) {
            return -1;
        }
    }
    memcpy(b->data + b->len, d, n);
    b->len += n;
    return 0;
}

static int read_raw(request_rec *r, apr_off_t max, body_buf_t *b,
                    const char **why)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    int seen_eos = 0;

    do {
        apr_bucket *e;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);

        if (rv != APR_SUCCESS) {
            int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);

            /* HTTP_IN already tells too-large and malformed chunking
             * apart, and mod_reqtimeout a client too slow; keep the
             * verdict. */
            *why = status == HTTP_REQUEST_TIME_OUT
                       ? "the request body did not arrive in time"
                       : "the request body could not be read";
            apr_brigade_destroy(bb);
            return status;
        }
        for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
             e = APR_BUCKET_NEXT(e)) {
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(e)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(e)) {
                continue;
            }
            if (apr_bucket_read(e, &data, &len, APR_BLOCK_READ)
                != APR_SUCCESS) {
                *why = "the request body could not be read";
                return HTTP_BAD_REQUEST;
            }
            if ((apr_off_t)(b->len + len) > max) {
                *why = "the request body is larger than this gateway accepts";
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (buf_append(r->pool, b, data, len) != 0) {
                *why = "the gateway is out of memory";
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        apr_brigade_cleanup(bb);
    } while (!seen_eos);
    apr_brigade_destroy(bb);
    return OK;
}

int llm_scan_read_body(request_rec *r, llm_request_t *req, apr_off_t max,
                       int inflate, const char **why)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *ce = apr_table_get(r->headers_in, "Content-Encoding");
    body_buf_t *bp = apr_pcalloc(r->pool, sizeof(*bp));
    int encoded = 0;
    int rc;

    if (ce && *ce && strcasecmp(ce, "identity")) {
        if (strcasecmp(ce, "gzip") && strcasecmp(ce, "x-gzip")
            && strcasecmp(ce, "deflate")) {
            *why = "the request body's Content-Encoding is not supported "
                   "(use gzip, deflate or none)";
            return HTTP_UNSUPPORTED_MEDIA_TYPE;
        }
        if (!inflate) {
            *why = "compressed request bodies are not accepted here";
            return HTTP_UNSUPPORTED_MEDIA_TYPE;
        }
        encoded = 1;
    }
    if (cl) {
        apr_off_t n;

        if (ap_parse_strict_length(&n, cl) != 1) {
            *why = "the Content-Length header is not valid";
            return HTTP_BAD_REQUEST;
        }
        if (!encoded && n > max) {
            *why = "the request body is larger than this gateway accepts";
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (n > 0 && n <= max && buf_reserve(r->pool, bp, (apr_size_t)n)) {
            *why = "the gateway is out of memory";
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if ((rc = read_raw(r, max, bp, why)) != OK) {
        return rc;
    }
    req->body_read = 1;
    if (encoded && bp->len) {
        char *out;
        apr_size_t outlen;
        apr_status_t rv = llm_scan_inflate(r->pool, bp->data, bp->len,
                                           (apr_size_t)max, &out, &outlen);

        if (rv == APR_ENOSPC) {
            *why = "the decompressed request body is larger than this "
                   "gateway accepts";
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (rv == APR_ENOMEM) {
            *why = "the gateway is out of memory";
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (rv != APR_SUCCESS) {
            *why = "the compressed request body is corrupt";
            return HTTP_BAD_REQUEST;
        }
        buf_free(bp);           /* the compressed bytes, if on the heap */
        bp->data = out;
        bp->len = outlen;
        req->body_rewritten = 1;
    }
    if (!bp->data) {
        bp->data = apr_pcalloc(r->pool, 1);
    }
    bp->data[bp->len] = '\0';
    req->body = bp->data;
    req->body_len = bp->len;
    req->body_received = bp->data;
    req->body_len_received = bp->len;
    return OK;
}
