/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer scan (LLMScanResponse): an output filter that reads the
 * answer as the caller will get it -- after mod_llm_route's response
 * filter has translated it -- and applies the LLMScanAction actions to
 * what the model wrote.  It runs on the provider's text with the request's
 * placeholders still in it; a filter that puts the original values back
 * must come after it (a higher filter type than LLM_ANSWER_SCAN_FTYPE),
 * so that restored values are never findings.
 */

#ifndef SCAN_ANSWER_H
#define SCAN_ANSWER_H

#include "httpd.h"
#include "util_filter.h"
#include "apr_hash.h"

#include "llm_gateway.h"
#include "llm_keep.h"
#include "scan/llm_answer.h"
#include "dialect/llm_answer_walk.h"
#include "scan_config.h"

#define LLM_ANSWER_SCAN_FILTER "LLM_ANSWER_SCAN"
/* After mod_llm_route's LLM_RESPONSE (AP_FTYPE_RESOURCE), before its
 * quota headers (AP_FTYPE_CONTENT_SET). */
#define LLM_ANSWER_SCAN_FTYPE (AP_FTYPE_RESOURCE + 4)

/* A redaction in a block: [start, end) of the block's bytes becomes
 * the placeholder. */
typedef struct {
    size_t start, end;
    const char *placeholder;
} scan_answer_edit_t;

typedef struct scan_answer_sse_t scan_answer_sse_t;

typedef struct {
    request_rec *r;
    llm_request_t *req;
    const llm_scan_rules_t *rules;
    const llm_scan_dir_conf_t *dc;
    int started;
    enum { ANSWER_PASS = 0, ANSWER_BODY, ANSWER_SSE } mode;
    int blocked;                 /* a finding to block: the rest is dropped */
    const llm_finding_t *blocker;
    int redacted;                /* redactions made so far */
    int found;                   /* findings of the answer so far */
    apr_hash_t *by_value;        /* type NUL value -> placeholder */
    apr_hash_t *per_type;        /* type -> int * */
    apr_bucket_brigade *out;
    /* a whole answer */
    llm_keep_t kept;             /* a whole answer */
    int too_big;
    scan_answer_sse_t *sse;
} scan_answer_t;

/* Called from the fixup of a request that goes upstream. */
void llm_scan_answer_insert(request_rec *r, llm_request_t *req,
                            const llm_scan_rules_t *rules,
                            const llm_scan_dir_conf_t *dc);

void llm_scan_answer_register(void);

/* The mark of an answer this scan read with no finding (llm_gateway.h,
 * answer_clean_mark): which compiled rules read it, in this running
 * server -- its parent process, its configuration generation, the rule
 * set's address there.  Whether a value is found depends on the rules
 * and the bytes alone (the actions only decide what to do with one), and
 * the same rules read the same bytes the same way, so two equal marks
 * promise that the answer holds nothing either would find. */
const char *llm_scan_answer_mark(scan_answer_t *ctx);

/* child_init: keeps the parent's pid for the marks. */
void llm_scan_answer_child_init(apr_pool_t *pchild, server_rec *s);

/* The values a block's scan found: each recorded as a finding of the
 * answer at location; redactions appended to edits (NULL: none can be
 * made).  1 when one of them blocks the answer (signed thinking, a value
 * already partly relayed, or the action). */
int llm_scan_answer_judge(scan_answer_t *ctx, llm_answer_kind_e kind,
                          const char *location,
                          const apr_array_header_t *matches,
                          apr_array_header_t *edits);

/* text (one string of a block, its bytes [base, base + len)) with the
 * edits that touch it; text itself when none does. */
const char *llm_scan_answer_apply(apr_pool_t *p, const char *text,
                                  size_t len, size_t base,
                                  const apr_array_header_t *edits,
                                  size_t *out_len);

/* Every caller-visible string of a parsed answer object (a whole answer,
 * or a stream event that repeats whole strings): judged, redacted in the
 * tree.  1: the answer is to be blocked; -1: the engine failed; else 0. */
int llm_scan_answer_object(scan_answer_t *ctx, json_t *obj);

/* The error event that ends a blocked stream, in the caller's dialect. */
const char *llm_scan_answer_error_event(scan_answer_t *ctx, size_t *len);

/* The findings that block, as a message for the caller (types and
 * locations, never values). */
const char *llm_scan_answer_message(scan_answer_t *ctx);

/* Streams (scan_answer_sse.c): every bucket of bb consumed, what may go
 * on appended to ctx->out. */
apr_status_t llm_scan_answer_sse(scan_answer_t *ctx, apr_bucket_brigade *bb);

#endif /* SCAN_ANSWER_H */
