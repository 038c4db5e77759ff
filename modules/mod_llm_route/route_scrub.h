/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Keeping the provider key and the caller's token out of answers. */

#ifndef ROUTE_SCRUB_H
#define ROUTE_SCRUB_H

#include "httpd.h"
#include "apr_buckets.h"

#define LLM_ROUTE_MAX_SECRETS 3

typedef struct {
    const char *value[LLM_ROUTE_MAX_SECRETS];
    apr_size_t len[LLM_ROUTE_MAX_SECRETS];
    const char *placeholder[LLM_ROUTE_MAX_SECRETS];
    int n;
} llm_route_secrets_t;

/* The secrets of this request: the routed provider's key, the caller's
 * bearer token and x-api-key (values under 8 bytes are not taken). */
void llm_route_answer_secrets(request_rec *r, llm_route_secrets_t *s);

/* buf with every secret replaced by its placeholder ([REDACTED_PROVIDER_KEY],
 * [REDACTED_GATEWAY_TOKEN]); buf itself when there is none.  *hits grows
 * by the number replaced. */
const char *llm_route_scrub(apr_pool_t *p, const llm_route_secrets_t *s,
                            const char *buf, apr_size_t len,
                            apr_size_t *out_len, int *hits);

/* The same in every value of r->headers_out and r->err_headers_out;
 * the number replaced. */
int llm_route_scrub_headers(request_rec *r, const llm_route_secrets_t *s);

/* The same for an answer relayed as it comes (streams, same-dialect
 * answers): the bytes are scrubbed as they pass, and only a tail that
 * could be the start of a secret is held back until the next bytes (or
 * the end) tell. */
typedef struct {
    const llm_route_secrets_t *s;
    apr_uint32_t *skip[LLM_ROUTE_MAX_SECRETS]; /* Horspool shift tables,
                                                * NULL until needed */
    apr_pool_t *p;               /* where they are made */
    unsigned char in_secret[256]; /* bytes some secret holds */
    char *tail;                  /* longest secret - 1 bytes at most */
    apr_size_t tail_len;
    int hits;                    /* secrets replaced so far */
} llm_route_scrubber_t;

void llm_route_scrubber_init(apr_pool_t *p, llm_route_scrubber_t *z,
                             const llm_route_secrets_t *s);

/* Every data bucket of bb scrubbed in place; the held tail goes out
 * before an EOS.  APR_SUCCESS, or the error of a bucket that could not
 * be read. */
apr_status_t llm_route_scrub_brigade(llm_route_scrubber_t *z,
                                     apr_bucket_brigade *bb);

#endif /* ROUTE_SCRUB_H */
