/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Reading the whole request body before anything goes upstream, and giving
 * the kept body back to mod_proxy. */

#ifndef SCAN_BODY_H
#define SCAN_BODY_H

#include "httpd.h"
#include "util_filter.h"

#include "llm_gateway.h"

#define LLM_BODY_REPLAY_FILTER "LLM_BODY_REPLAY"

/* Read the body whole into req->body (decoded when inflate is on and the
 * body is gzip/deflate encoded).  Returns OK or the HTTP status to answer
 * (413 over max, 415 encoding refused, 400 bad body); *why says why. */
int llm_scan_read_body(request_rec *r, llm_request_t *req, apr_off_t max,
                       int inflate, const char **why);

/* Make mod_proxy read req->body (as it is when mod_proxy reads it, so later
 * rewrites count) from memory, with a Content-Length that frames it, so that
 * mod_proxy_http streams it instead of spooling it to a file.  OK, or
 * HTTP_INTERNAL_SERVER_ERROR when the input filters cannot be arranged so. */
int llm_scan_replay_body(request_rec *r, llm_request_t *req);

apr_status_t llm_scan_replay_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                    ap_input_mode_t mode,
                                    apr_read_type_e block,
                                    apr_off_t readbytes);

/* Inflate a gzip or zlib/raw deflate buffer into p, at most max bytes.
 * APR_SUCCESS, APR_ENOSPC when larger than max, APR_EGENERAL when corrupt. */
apr_status_t llm_scan_inflate(apr_pool_t *p, const char *in, apr_size_t inlen,
                              apr_size_t max, char **out, apr_size_t *outlen);

#endif /* SCAN_BODY_H */
