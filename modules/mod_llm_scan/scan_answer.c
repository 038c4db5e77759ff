/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer scan's filter (scan_answer.h): which answers are read, the
 * findings and actions, and whole (non-stream) answers, which are held to
 * their end anyway to be judged before any of them goes.  Streams are in
 * scan_answer_sse.c.
 *
 * Thinking under a provider signature (Anthropic "thinking" blocks) is
 * never altered: the provider checks the signature when the caller sends
 * the block back, so a redaction there would break the conversation.  A
 * finding in it whose action is redact or block blocks the answer.
 */

#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "dialect/llm_dialect.h"
#include "scan_answer.h"

APLOG_USE_MODULE(llm_scan);

/* A whole answer is read up to this size; a bigger one is refused (it
 * could not be checked): mod_llm_route translates no bigger either. */
#define ANSWER_MAX_BODY (32 * 1024 * 1024)

static const char *placeholder(scan_answer_t *ctx, const char *type,
                               const char *value, apr_size_t len)
{
    apr_pool_t *p = ctx->r->pool;
    apr_size_t tlen = strlen(type);
    char *key = apr_palloc(p, tlen + 1 + len);
    const char *found;
    int *n;

    memcpy(key, type, tlen + 1);
    memcpy(key + tlen + 1, value, len);
    if ((found = apr_hash_get(ctx->by_value, key, tlen + 1 + len))) {
        return found;
    }
    if (!(n = apr_hash_get(ctx->per_type, type, APR_HASH_KEY_STRING))) {
        n = apr_pcalloc(p, sizeof(*n));
        apr_hash_set(ctx->per_type, type, APR_HASH_KEY_STRING, n);
    }
    /* "A" numbers: never one of the request's placeholders, which a
     * filter after this one may put the original values back for. */
    found = apr_psprintf(p, "[REDACTED_%s_A%d]", type, ++*n);
    apr_hash_set(ctx->by_value, key, tlen + 1 + len, found);
    return found;
}

int llm_scan_answer_judge(scan_answer_t *ctx, llm_answer_kind_e kind,
                          const char *location,
                          const apr_array_header_t *matches,
                          apr_array_header_t *edits)
{
    request_rec *r = ctx->r;
    llm_request_t *req = ctx->req;
    int i, block = 0;

    for (i = 0; i < matches->nelts; i++) {
        const llm_answer_match_t *m = &APR_ARRAY_IDX(matches, i,
                                                     llm_answer_match_t);
        llm_finding_t f = { 0 };

        f.type = m->m.type;
        f.rule = m->m.rule;
        f.location = location;
        f.offset = m->m.offset;
        f.length = m->m.length;
        f.category = m->m.category;
        f.direction = LLM_DIRECTION_ANSWER;
        f.action = llm_scan_action_for(ctx->dc, m->m.rule, m->m.type,
                                       m->m.category);
        if (f.action == LLM_ACTION_REDACT
            && (kind == LLM_ANSWER_SIGNED || m->late || !edits)) {
            f.action = LLM_ACTION_BLOCK;
        }
        if (f.action == LLM_ACTION_BLOCK && kind == LLM_ANSWER_SIGNED
            && APLOGrinfo(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMNO(01201)
                          "%s in signed thinking at %s of the answer: "
                          "signed thinking is never altered, the answer "
                          "is blocked", f.type, location);
        }
        else if (m->late) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(01202)
                          "%s at %s of the streamed answer was found only "
                          "after its start had been relayed; the stream "
                          "is ended", f.type, location);
        }
        llm_request_add_finding(r, req, &f);
        ctx->found++;
        if (f.action == LLM_ACTION_BLOCK) {
            if (!block && !ctx->blocker) {
                ctx->blocker = &APR_ARRAY_IDX(req->findings,
                                              req->findings->nelts - 1,
                                              llm_finding_t);
            }
            block = 1;
        }
        else if (f.action == LLM_ACTION_REDACT) {
            scan_answer_edit_t *e = apr_array_push(edits);

            e->start = m->start;
            e->end = m->end;
            e->placeholder = placeholder(ctx, m->m.type, m->value,
                                         m->m.length);
            ctx->redacted++;
        }
    }
    return block;
}

const char *llm_scan_answer_apply(apr_pool_t *p, const char *text,
                                  size_t len, size_t base,
                                  const apr_array_header_t *edits,
                                  size_t *out_len)
{
    size_t cur = 0, total = 0, a, b;
    char *out = NULL, *o = NULL;
    int i, pass;

    *out_len = len;
    /* Two passes: the size, then the copy. */
    for (pass = 0; pass < 2; pass++) {
        int touched = 0;

        cur = 0;
        total = 0;
        for (i = 0; edits && i < edits->nelts; i++) {
            const scan_answer_edit_t *e = &APR_ARRAY_IDX(edits, i,
                                                         scan_answer_edit_t);

            if (e->end <= base || e->start >= base + len) {
                continue;
            }
            touched = 1;
            a = e->start > base ? e->start - base : 0;
            b = e->end - base < len ? e->end - base : len;
            if (a < cur) {
                a = cur;
            }
            if (pass) {
                memcpy(o, text + cur, a - cur);
                o += a - cur;
            }
            total += a - cur;
            /* The placeholder goes where the value starts; the rest of
             * a value split across pieces is left out of the others. */
            if (e->start >= base) {
                size_t n = strlen(e->placeholder);

                if (pass) {
                    memcpy(o, e->placeholder, n);
                    o += n;
                }
                total += n;
            }
            cur = b > cur ? b : cur;
        }
        if (!touched) {
            return text;
        }
        if (pass) {
            memcpy(o, text + cur, len - cur);
            o += len - cur;
            *o = '\0';
            *out_len = (size_t)(o - out);
            return out;
        }
        total += len - cur;
        o = out = apr_palloc(p, total + 1);
    }
    return text;
}

static void lower(char *s)
{
    for (; *s; s++) {
        *s = apr_tolower(*s);
    }
}

const char *llm_scan_answer_message(scan_answer_t *ctx)
{
    apr_array_header_t *where = apr_array_make(ctx->r->pool, 4,
                                               sizeof(char *));
    int i;

    for (i = 0; i < ctx->req->findings->nelts && where->nelts < 5; i++) {
        const llm_finding_t *f = &APR_ARRAY_IDX(ctx->req->findings, i,
                                                llm_finding_t);

        if (f->direction == LLM_DIRECTION_ANSWER
            && f->action == LLM_ACTION_BLOCK) {
            APR_ARRAY_PUSH(where, const char *) =
                apr_psprintf(ctx->r->pool, "%s at %s", f->type, f->location);
        }
    }
    return apr_psprintf(ctx->r->pool, "The provider's answer was blocked by "
                        "the gateway's data policy: %s.",
                        apr_array_pstrcat(ctx->r->pool, where, ';'));
}

/* The request's row and refusal say the answer was blocked, and why. */
static const char *blocked_code(scan_answer_t *ctx)
{
    char *code = apr_pstrcat(ctx->r->pool, "answer_",
                             ctx->blocker ? ctx->blocker->type : "blocked",
                             NULL);

    lower(code);
    ctx->req->decision = LLM_DECISION_BLOCK;
    ctx->req->reason = code;
    return code;
}

static const char *block_type(scan_answer_t *ctx)
{
    return ctx->blocker && ctx->blocker->category == LLM_CAT_CONTENT
           ? "policy_violation" : "sensitive_data_detected";
}

const char *llm_scan_answer_error_event(scan_answer_t *ctx, size_t *len)
{
    request_rec *r = ctx->r;
    const char *code = blocked_code(ctx), *msg = llm_scan_answer_message(ctx);
    const char *findings = llm_request_findings_json(r->pool, ctx->req);
    const char *ev;

    if (ctx->req->endpoint == LLM_EP_OPENAI_RESPONSES) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:n}", "type", "error",
                              "code", code, "message", msg, "param");
        size_t n;

        ev = apr_pstrcat(r->pool, "event: error\ndata: ",
                         llm_json_dump(r->pool, e, &n), "\n\n", NULL);
        json_decref(e);
    }
    else if (ctx->req->caller_family == LLM_FAMILY_ANTHROPIC) {
        ev = apr_pstrcat(r->pool, "event: error\ndata: ",
                         llm_dialect_error_body(r->pool, LLM_FAMILY_ANTHROPIC,
                                                HTTP_FORBIDDEN,
                                                block_type(ctx), code, msg,
                                                findings),
                         "\n\n", NULL);
    }
    else {
        ev = apr_pstrcat(r->pool, "data: ",
                         llm_dialect_error_body(r->pool, LLM_FAMILY_OPENAI,
                                                HTTP_FORBIDDEN,
                                                block_type(ctx), code, msg,
                                                findings),
                         "\n\n", NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(01203)
                  "streamed answer of provider %s blocked (%s): ended with "
                  "an error event", ctx->req->provider ? ctx->req->provider
                                                        : "-", code);
    *len = strlen(ev);
    return ev;
}

/* The httpd parent of this child, kept at child_init: getppid() is a
 * system call, and every scanned answer is marked.  0 until then. */
static pid_t answer_parent;

void llm_scan_answer_child_init(apr_pool_t *pchild, server_rec *s)
{
    answer_parent = getppid();
}

const char *llm_scan_answer_mark(scan_answer_t *ctx)
{
    return apr_psprintf(ctx->r->pool, "%ld.%d.%pp",
                        (long)(answer_parent ? answer_parent : getppid()),
                        ap_state_query(AP_SQ_CONFIG_GEN), ctx->rules);
}

/* --- whole answers ------------------------------------------------------ */

static void keep(scan_answer_t *ctx, const char *d, apr_size_t n)
{
    if (ctx->too_big) {
        return;
    }
    if (llm_keep(ctx->r->pool, &ctx->kept, d, n, 16384, ANSWER_MAX_BODY)
        != 0) {
        ctx->too_big = 1;
    }
}

/* One string of a whole answer: scanned, judged; redacted in the tree.
 * 1: it blocks the answer. -1: the engine failed. */
static int whole_string(scan_answer_t *ctx, const llm_answer_string_t *s,
                        apr_array_header_t *matches)
{
    apr_pool_t *p = ctx->r->pool;
    const char *v = json_string_value(s->node), *nv;
    size_t n = json_string_length(s->node), nn, safe;
    apr_array_header_t *edits = apr_array_make(p, 2,
                                               sizeof(scan_answer_edit_t));
    llm_answer_stream_t *st = llm_answer_stream_create(p, ctx->rules,
                                                       s->kind
                                                       == LLM_ANSWER_ARGS);
    int block;

    apr_array_clear(matches);
    llm_answer_stream_add(st, v, n);
    if (llm_answer_stream_scan(st, 1, matches, &safe) < 0) {
        return -1;
    }
    if (!matches->nelts) {
        return 0;
    }
    block = llm_scan_answer_judge(ctx, s->kind, s->location, matches, edits);
    if (edits->nelts) {
        nv = llm_scan_answer_apply(p, v, n, 0, edits, &nn);
        json_string_setn(s->node, nv, nn);
    }
    return block;
}

/* Every string of a parsed answer object; 1 when the answer is to be
 * blocked, -1 when the engine failed, else 0 (redacted in place). */
int llm_scan_answer_object(scan_answer_t *ctx, json_t *obj)
{
    apr_pool_t *p = ctx->r->pool;
    apr_array_header_t *strs = apr_array_make(p, 8,
                                              sizeof(llm_answer_string_t));
    apr_array_header_t *matches = apr_array_make(p, 4,
                                                 sizeof(llm_answer_match_t));
    int i, rv, block = 0;

    llm_answer_walk_body(p, ctx->req->endpoint, obj, strs);
    for (i = 0; i < strs->nelts; i++) {
        rv = whole_string(ctx, &APR_ARRAY_IDX(strs, i, llm_answer_string_t),
                          matches);
        if (rv < 0) {
            return -1;
        }
        block |= rv;
    }
    return block;
}

static void answer_own_error(scan_answer_t *ctx, int status,
                             const char *type, const char *code,
                             const char *msg, const char *findings)
{
    request_rec *r = ctx->r;
    const char *body = llm_dialect_error_body(r->pool,
                                              ctx->req->caller_family,
                                              status, type, code, msg,
                                              findings);
    apr_size_t n = strlen(body);

    r->status = status;
    ap_set_content_type(r, "application/json");
    APR_BRIGADE_INSERT_TAIL(ctx->out, apr_bucket_pool_create(
        body, n, r->pool, ctx->out->bucket_alloc));
    ap_set_content_length(r, n);
}

/* The whole answer has come: judged, passed on as it was, redacted, or
 * replaced by an error. */
static void finish_body(scan_answer_t *ctx)
{
    request_rec *r = ctx->r;
    llm_request_t *req = ctx->req;
    const char *err = NULL, *text;
    json_t *body;
    size_t n;
    int rv;

    if (ctx->too_big) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01204)
                      "answer of provider %s is over %d MB: too large to "
                      "check; answered 502", req->provider,
                      ANSWER_MAX_BODY >> 20);
        req->reason = "answer_too_large";
        answer_own_error(ctx, HTTP_BAD_GATEWAY, "api_error",
                         "answer_too_large",
                         "The provider's answer is too large for the "
                         "gateway to check; ask for a shorter answer.",
                         NULL);
        return;
    }
    body = llm_json_parse(r->pool, llm_kept_text(&ctx->kept), ctx->kept.len,
                          &err);
    if (!body) {
        /* Not JSON: nothing of it is a string the client reads as text
         * the dialect defines; checked as plain text all the same. */
        llm_answer_string_t s;
        apr_array_header_t *m = apr_array_make(r->pool, 2,
                                               sizeof(llm_answer_match_t));

        s.kind = LLM_ANSWER_TEXT;
        s.location = "body";
        s.node = json_stringn_nocheck(llm_kept_text(&ctx->kept),
                                      ctx->kept.len);
        rv = whole_string(ctx, &s, m);
        if (rv == 0 && ctx->redacted) {
            text = json_string_value(s.node);
            n = json_string_length(s.node);
            APR_BRIGADE_INSERT_TAIL(ctx->out, apr_bucket_pool_create(
                apr_pstrmemdup(r->pool, text, n), n, r->pool,
                ctx->out->bucket_alloc));
            ap_set_content_length(r, n);
            json_decref(s.node);
            return;
        }
        json_decref(s.node);
    }
    else {
        rv = llm_scan_answer_object(ctx, body);
    }
    if (rv < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(01205)
                      "scan engine failed on the answer of provider %s; "
                      "not relayed", req->provider);
        req->decision = LLM_DECISION_ERROR;
        req->reason = "answer_scan_failed";
        answer_own_error(ctx, HTTP_BAD_GATEWAY, "api_error",
                         "answer_scan_failed",
                         "The gateway could not check the provider's "
                         "answer, so it was not relayed.", NULL);
        return;
    }
    if (rv > 0) {
        const char *code = blocked_code(ctx);

        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(01206)
                      "answer of provider %s blocked (%s)", req->provider,
                      code);
        answer_own_error(ctx, HTTP_FORBIDDEN, block_type(ctx), code,
                         llm_scan_answer_message(ctx),
                         llm_request_findings_json(r->pool, req));
        return;
    }
    if (ctx->redacted) {
        text = llm_json_dump(r->pool, body, &n);
        if (req->decision == LLM_DECISION_ALLOW) {
            req->decision = LLM_DECISION_REDACT;
        }
    }
    else {
        text = llm_kept_text(&ctx->kept);
        n = ctx->kept.len;
    }
    if (!ctx->found) {
        req->answer_clean_mark = llm_scan_answer_mark(ctx);
    }
    APR_BRIGADE_INSERT_TAIL(ctx->out, apr_bucket_pool_create(
        text, n, r->pool, ctx->out->bucket_alloc));
    ap_set_content_length(r, n);
}

/* --- the filter ---------------------------------------------------------- */

static void start(scan_answer_t *ctx)
{
    request_rec *r = ctx->r;
    const char *ct = r->content_type;

    ctx->started = 1;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, LLMNO(01207)
                  "answer scan: HTTP %d, %s", r->status, ct ? ct : "-");
    ctx->out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    ctx->by_value = apr_hash_make(r->pool);
    ctx->per_type = apr_hash_make(r->pool);
    /* Errors (the provider's, or the gateway's own) carry no answer of
     * the model: mod_llm_route has scrubbed them. */
    if (r->status < 200 || r->status >= 300 || r->header_only || !ct) {
        ctx->mode = ANSWER_PASS;
        return;
    }
    /* A cached answer this server's scan read with no finding, under the
     * rules that would read it now: reading it again finds nothing. */
    if (ctx->req->answer_stored_mark
        && !strcmp(ctx->req->answer_stored_mark,
                   llm_scan_answer_mark(ctx))) {
        ctx->mode = ANSWER_PASS;
        ctx->req->answer_clean_mark = ctx->req->answer_stored_mark;
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, LLMNO(03400)
                      "answer scan: a cached answer these rules read "
                      "with no finding; not read again");
        return;
    }
    if (!strncasecmp(ct, "text/event-stream", 17)) {
        ctx->mode = ANSWER_SSE;
    }
    else {
        ctx->mode = ANSWER_BODY;
    }
    /* A redaction changes the length. */
    apr_table_unset(r->headers_out, "Content-Length");
}

static apr_status_t answer_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    scan_answer_t *ctx = f->ctx;
    apr_bucket *e, *next;
    apr_status_t rv;

    if (!ctx->started) {
        start(ctx);
    }
    if (ctx->mode == ANSWER_PASS) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (ctx->mode == ANSWER_SSE) {
        rv = llm_scan_answer_sse(ctx, bb);
        apr_brigade_cleanup(bb);
    }
    else {
        for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
             e = next) {
            const char *data;
            apr_size_t n;

            next = APR_BUCKET_NEXT(e);
            if (APR_BUCKET_IS_EOS(e)) {
                finish_body(ctx);
                APR_BUCKET_REMOVE(e);
                APR_BRIGADE_INSERT_TAIL(ctx->out, e);
                break;
            }
            if (AP_BUCKET_IS_ERROR(e)) {
                /* the provider's connection broke: httpd's own handling */
                APR_BUCKET_REMOVE(e);
                APR_BRIGADE_INSERT_TAIL(ctx->out, e);
                continue;
            }
            if (APR_BUCKET_IS_METADATA(e)) {
                /* a flush would send the status before the answer is
                 * judged */
                continue;
            }
            if ((rv = apr_bucket_read(e, &data, &n, APR_BLOCK_READ))
                != APR_SUCCESS) {
                return rv;
            }
            keep(ctx, data, n);
        }
        apr_brigade_cleanup(bb);
        rv = APR_SUCCESS;
    }
    if (rv != APR_SUCCESS || APR_BRIGADE_EMPTY(ctx->out)) {
        return rv;
    }
    rv = ap_pass_brigade(f->next, ctx->out);
    apr_brigade_cleanup(ctx->out);
    return rv;
}

void llm_scan_answer_insert(request_rec *r, llm_request_t *req,
                            const llm_scan_rules_t *rules,
                            const llm_scan_dir_conf_t *dc)
{
    scan_answer_t *ctx;

    if (!llm_scan_answers(dc) || !rules
        || req->endpoint == LLM_EP_OPENAI_EMBEDDINGS
        || req->endpoint == LLM_EP_ANTHROPIC_COUNT_TOKENS) {
        return;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->r = r;
    ctx->req = req;
    ctx->rules = rules;
    ctx->dc = dc;
    ap_add_output_filter(LLM_ANSWER_SCAN_FILTER, ctx, r, r->connection);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, LLMNO(01200)
                  "the answer will be scanned");
}

void llm_scan_answer_register(void)
{
    ap_register_output_filter(LLM_ANSWER_SCAN_FILTER, answer_filter, NULL,
                              LLM_ANSWER_SCAN_FTYPE);
}
