/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The body mod_proxy sends: mod_llm_scan has read the client's body whole
 * (in fixups, so that every refusal is an answer in the caller's dialect);
 * this file gives mod_proxy the body the provider is to receive, from
 * memory, by a small input filter, as mod_request does for kept bodies.
 * This module alone hands requests to mod_proxy (docs/architecture.md).
 */

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_buckets.h"
#include "apr_strings.h"

#include "route_internal.h"

APLOG_USE_MODULE(llm_route);

#define LLM_BODY_REPLAY_FILTER "LLM_BODY_REPLAY"

typedef struct {
    llm_request_t *req;
    apr_size_t pos;
} replay_ctx_t;

/* Reads req->body as it is when mod_proxy reads, so that the translation
 * and usage request made after the filter was put in place count.
 *
 * A read takes the rest of the body in one bucket, whatever readbytes
 * says.  mod_proxy_http, the reader once this filter is in place, asks
 * for 8 KB at a time and writes what each read gave to the provider's
 * connection at once: given 8 KB pieces it made one writev per piece
 * (some 130 per MB), each waking the other end and, after the scan's CPU
 * burst, handing the CPU to it (some 30 context switches per MB).  Given
 * the whole body it sees its end at once, frames it with its exact
 * Content-Length and writes it in a few large writes.  The bucket points
 * into the kept body: nothing is copied, and a speculative read (which
 * returns data without consuming it) still gets at most readbytes. */
static apr_status_t replay_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                  ap_input_mode_t mode, apr_read_type_e block,
                                  apr_off_t readbytes)
{
    replay_ctx_t *ctx = f->ctx;
    apr_size_t n;

    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE) {
        return APR_ENOTIMPL;
    }
    if (ctx->pos >= ctx->req->body_len) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
        return APR_SUCCESS;
    }
    n = ctx->req->body_len - ctx->pos;
    if (mode == AP_MODE_SPECULATIVE && readbytes > 0
        && (apr_off_t)n > readbytes) {
        n = (apr_size_t)readbytes;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
        ctx->req->body + ctx->pos, n, f->r->pool, bb->bucket_alloc));
    if (mode == AP_MODE_READBYTES) {
        ctx->pos += n;
        if (ctx->pos >= ctx->req->body_len) {
            APR_BRIGADE_INSERT_TAIL(bb,
                                    apr_bucket_eos_create(bb->bucket_alloc));
        }
    }
    return APR_SUCCESS;
}

int llm_route_replay_body(request_rec *r, llm_request_t *req)
{
    replay_ctx_t *ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ap_filter_t *f;

    ctx->req = req;
    /* mod_proxy_http trusts Content-Length, and streams the body from
     * memory, only when r->input_filters == r->proto_input_filters (no
     * request-level filter could resize it); otherwise it spools every body
     * over 16 KB to a file in the temporary directory.  So the replay
     * filter is a protocol filter, which lands below HTTP_IN, and the
     * filters above it go: they have delivered the body to mod_llm_scan
     * up to its EOS and have nothing more to give.  Both chains then start
     * at the replay filter, which never reads below itself. */
    f = ap_add_input_filter(LLM_BODY_REPLAY_FILTER, ctx, r, r->connection);
    while (f && r->input_filters != f && r->input_filters->r == r) {
        ap_remove_input_filter(r->input_filters);
    }
    if (!f || r->input_filters != f || r->proto_input_filters != f) {
        /* mod_proxy_http would spool it to disk: refuse rather. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02800)
                      "the kept request body could not be put first in the "
                      "input filters (another module's filter is in the "
                      "way); refusing it rather than letting mod_proxy_http "
                      "write it to a temporary file");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* The provider gets a plain body of known length: the chunking and the
     * compression were the client's, and the 100-continue handshake is
     * over since the body has been read. */
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    apr_table_unset(r->headers_in, "Content-Encoding");
    apr_table_unset(r->headers_in, "Expect");
    r->expecting_100 = 0;
    return OK;
}

void llm_route_frame_body(request_rec *r, const llm_request_t *req)
{
    /* mod_proxy_http trusts this header to frame a body it has not
     * prefetched whole; it is the length of the last body set. */
    apr_table_setn(r->headers_in, "Content-Length",
                   apr_off_t_toa(r->pool, (apr_off_t)req->body_len));
}

void llm_route_register_replay_filter(void)
{
    /* A protocol filter: see llm_route_replay_body. */
    ap_register_input_filter(LLM_BODY_REPLAY_FILTER, replay_filter, NULL,
                             AP_FTYPE_PROTOCOL);
}
