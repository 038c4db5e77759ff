/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Reading the whole request body before anything goes upstream. */

#ifndef SCAN_BODY_H
#define SCAN_BODY_H

#include "httpd.h"

#include "llm_gateway.h"

/* Read the body whole into req->body (decoded when inflate is on and the
 * body is gzip/deflate encoded).  Returns OK or the HTTP status to answer
 * (413 over max, 415 encoding refused, 400 bad body); *why says why. */
int llm_scan_read_body(request_rec *r, llm_request_t *req, apr_off_t max,
                       int inflate, const char **why);

/* Inflate a gzip or zlib/raw deflate buffer, at most max bytes, into
 * memory freed with p.  APR_SUCCESS, APR_ENOSPC when larger than max,
 * APR_EGENERAL when corrupt, APR_ENOMEM when memory ran out. */
apr_status_t llm_scan_inflate(apr_pool_t *p, const char *in, apr_size_t inlen,
                              apr_size_t max, char **out, apr_size_t *outlen);

#endif /* SCAN_BODY_H */
