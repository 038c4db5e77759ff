/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The caller's strings that travel outside the scanned body: the model
 * name and the User-Agent.  Both go to the provider and into the audit
 * row; the User-Agent into the access log as well.
 *
 * A model name must have the model name syntax (lib/dialect/llm_names.h)
 * and hold nothing a rule finds that may not go as it is (block or
 * redact): a name cannot be redacted, it chooses the route.  Such a
 * request is refused with 400 before anything else reads the name, and
 * the name is written nowhere.
 *
 * A User-Agent is checked as soon as the headers are read, before
 * authentication, because the access log writes it for every request:
 * bytes that are not printable ASCII become '?', what a secret or
 * personal-data rule finds is replaced by its placeholder, and it is cut
 * at LLM_USER_AGENT_MAX.  A header is no prompt; refusing the
 * request over it would gain nothing.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "dialect/llm_names.h"
#include "scan/llm_scan.h"
#include "scan_names.h"

APLOG_USE_MODULE(llm_scan);

static void add_finding(request_rec *r, llm_request_t *req,
                        const llm_scan_match_t *m, const char *location,
                        llm_action_e action)
{
    llm_finding_t f = { 0 };

    f.type = m->type;
    f.rule = m->rule;
    f.location = location;
    f.offset = m->offset;
    f.length = m->length;
    f.category = m->category;
    f.action = action;
    llm_request_add_finding(r, req, &f);
}

int llm_scan_check_model(request_rec *r, llm_request_t *req,
                         const llm_scan_rules_t *rules,
                         const llm_scan_dir_conf_t *dc, const char *model,
                         apr_size_t len)
{
    apr_array_header_t *matches;
    int i, refused = 0;

    if (!model) {
        return OK;
    }
    /* "gpt\u0000..." reads as "gpt" here, but goes to the provider whole. */
    if (len != strlen(model) || !llm_model_name_ok(model)) {
        return HTTP_BAD_REQUEST;
    }
    if (!llm_scan_enabled(dc)) {
        return OK;
    }
    matches = apr_array_make(r->pool, 2, sizeof(llm_scan_match_t));
    if (llm_scan_text(rules, model, strlen(model), r->pool, matches) < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02201)
                      "scan engine failed on the model name; refusing the "
                      "request");
        return HTTP_BAD_REQUEST;
    }
    for (i = 0; i < matches->nelts; i++) {
        const llm_scan_match_t *m = &APR_ARRAY_IDX(matches, i,
                                                   llm_scan_match_t);
        llm_action_e action = llm_scan_action_for(dc, m->rule, m->type,
                                                  m->category);

        add_finding(r, req, m, "model", action);
        if (action == LLM_ACTION_BLOCK || action == LLM_ACTION_REDACT) {
            refused = 1;
        }
    }
    return refused ? HTTP_BAD_REQUEST : OK;
}

/* Bytes outside printable ASCII become '?' (a Latin-1 agent keeps its
 * row and its log line); NULL when there were none. */
static char *printable(request_rec *r, const char *ua, apr_size_t len)
{
    apr_size_t i;
    char *out = NULL;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)ua[i];

        if (c < 0x20 || c > 0x7e) {
            if (!out) {
                out = apr_pstrmemdup(r->pool, ua, len);
            }
            out[i] = '?';
        }
    }
    return out;
}

void llm_scan_check_user_agent(request_rec *r, llm_request_t *req,
                               const llm_scan_rules_t *rules,
                               const llm_scan_dir_conf_t *dc)
{
    /* Every User-Agent line, joined: a second one must not go upstream
     * unseen behind a harmless first. */
    const char *ua = apr_table_getm(r->pool, r->headers_in, "User-Agent");
    apr_array_header_t *matches;
    char *out, *fixed;
    apr_size_t len, at = 0, o = 0;
    int i, n = 0, lines;

    if (!ua) {
        return;
    }
    lines = apr_table_get(r->headers_in, "User-Agent") != ua;
    len = strlen(ua);
    if ((fixed = printable(r, ua, len)) != NULL) {
        ua = fixed;
    }
    matches = apr_array_make(r->pool, 2, sizeof(llm_scan_match_t));
    if (llm_scan_enabled(dc) && rules
        && llm_scan_text(rules, ua, len, r->pool, matches) < 0) {
        /* Not scanned is neither forwarded nor logged. */
        apr_table_unset(r->headers_in, "User-Agent");
        return;
    }
    /* Every secret and every piece of personal data is replaced, whatever
     * its action: "log" keeps a value in a body the model may need, and
     * nobody needs it in a header.  Content rules (customer names, code
     * names) are about what a prompt says; an agent's name is no prompt. */
    out = apr_palloc(r->pool, len + matches->nelts * 64 + 1);
    for (i = 0; i < matches->nelts; i++) {
        const llm_scan_match_t *m = &APR_ARRAY_IDX(matches, i,
                                                   llm_scan_match_t);
        const char *ph;

        if (m->offset < at || m->category == LLM_CAT_CONTENT) {
            continue;       /* overlaps the previous one, or no secret */
        }
        memcpy(out + o, ua + at, m->offset - at);
        o += m->offset - at;
        ph = apr_psprintf(r->pool, "[REDACTED_%.32s_%d]", m->type, ++n);
        memcpy(out + o, ph, strlen(ph));
        o += strlen(ph);
        at = m->offset + m->length;
        add_finding(r, req, m, "header.User-Agent", LLM_ACTION_REDACT);
    }
    memcpy(out + o, ua + at, len - at);
    o += len - at;
    /* Cut after the scan, so that no part of a value is left unseen. */
    if (o > LLM_USER_AGENT_MAX) {
        o = LLM_USER_AGENT_MAX;
    }
    out[o] = '\0';
    if (n || fixed || o < len || lines) {
        apr_table_setn(r->headers_in, "User-Agent", out);
    }
}
