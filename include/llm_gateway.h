/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The contract between mod_llm_scan, mod_llm_route and mod_llm_audit: one
 * per-request object that each module reaches through llm_request_get(),
 * and the few optional functions one module offers another off the
 * gateway requests' path (a metrics page, a rebuild at startup, a
 * developer's spend on the self-service page).  On that path no module
 * calls another: each writes what it knows into the object, in its own
 * hooks (docs/architecture.md, "Hooks in the order a request meets them").
 * This header is httpd-aware; the engines under lib/ never include it.
 */

#ifndef LLM_GATEWAY_H
#define LLM_GATEWAY_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"
#include "apr_optional.h"

#include "llm_types.h"

/* Log message ids: every module's lines carry LLMnnnnn. Ranges:
 * 00001-00999 shared, 01000-01999 scan, 02000-02999 route, 03000-03999 audit,
 * 04000-04999 the local mock provider (mod_llm_mock). */
#define LLMNO(n) "LLM" #n ": "

/* What the gateway did with a request, as the audit row records it. */
typedef enum {
    LLM_DECISION_NONE = 0,   /* not (yet) decided: not a gateway request */
    LLM_DECISION_ALLOW,      /* forwarded unchanged (findings may be logged) */
    LLM_DECISION_REDACT,     /* forwarded with sensitive values replaced */
    LLM_DECISION_BLOCK,      /* refused because of findings */
    LLM_DECISION_DENY,       /* refused: unauthenticated or not permitted */
    LLM_DECISION_QUOTA,      /* refused: over quota */
    LLM_DECISION_INVALID,    /* refused: malformed, too large, bad encoding */
    LLM_DECISION_ERROR,      /* gateway or upstream failure */
    LLM_DECISION_CACHE_HIT   /* answered from the answer cache (LLMCache) */
} llm_decision_e;

/* Which way the text a finding was in travelled. */
typedef enum {
    LLM_DIRECTION_REQUEST = 0,   /* the caller's request */
    LLM_DIRECTION_ANSWER         /* the provider's answer */
} llm_direction_e;

/* One finding as the gateway keeps it: never the value itself. */
typedef struct llm_finding_t {
    const char *type;        /* "AWS_ACCESS_KEY", or an admin's type name */
    const char *rule;        /* rule id, e.g. "aws-access-key-id" */
    const char *location;    /* JSON path, e.g. "messages[2].content" */
    apr_size_t offset;       /* in the decoded string at location */
    apr_size_t length;
    int category;            /* llm_category_e */
    int action;              /* llm_action_e applied to this finding */
    int direction;           /* llm_direction_e */
} llm_finding_t;

/* The per-request object.  Created on first use, lives in r->pool, shared
 * by the internal redirects of the same request. */
typedef struct llm_request_t {
    apr_time_t started;
    llm_endpoint_e endpoint;     /* which gateway endpoint was called */
    llm_family_e caller_family;  /* dialect family the caller speaks */
    llm_family_e provider_family;/* dialect family of the chosen provider */
    llm_endpoint_e provider_endpoint; /* endpoint called at the provider */

    /* The request body as read by mod_llm_scan; after redaction or
     * translation it is the body the provider receives. */
    const char *body;
    apr_size_t body_len;
    const char *body_received;   /* the body as the client sent it (decoded) */
    apr_size_t body_len_received;
    int body_read;               /* 1 once the body has been read whole */
    int body_rewritten;          /* 1 when body differs from what was sent */
    void *json;                  /* parsed body (json_t *), owned by r->pool */

    /* The model as the caller named it, set only once it has passed the
     * model name syntax (lib/dialect/llm_names.h). */
    const char *model_requested;
    const char *model_used;
    /* The configured name the request was routed by (an alias, a renamed
     * upstream model or the LLMRouteModel pattern it matched): the only
     * model name that may become a metrics label.  NULL: routed by none. */
    const char *model_label;
    const char *provider;        /* provider name from LLMRouteProvider */
    const char *balancer;        /* balancer://name the request went to */
    int stream;

    apr_array_header_t *findings; /* of llm_finding_t */
    llm_decision_e decision;
    const char *reason;          /* short machine reason for refusals */

    const char *user;
    /* The caller's groups, one string each, from the groups claim
     * (LLMRouteGroupsClaim) as the token's JSON holds it: a name may hold
     * any character, a comma too.  groups_json is the same list as a JSON
     * array, the form the audit row stores.  NULL: no groups claim. */
    apr_array_header_t *groups;  /* of const char * */
    const char *groups_json;

    /* Filled while the response passes through. */
    int upstream_status;
    apr_off_t bytes_out;
    apr_int64_t tokens_in;
    apr_int64_t tokens_out;
    apr_int64_t tokens_cached;
    apr_time_t first_byte;       /* first response byte sent to the client */

    /* A request answered from the answer cache (decision CACHE_HIT) spent
     * no tokens (tokens_* stay 0): these are the usage of the cached
     * answer, what the provider would have billed, for the audit's
     * cost_saved. */
    apr_int64_t saved_tokens_in;
    apr_int64_t saved_tokens_out;
    apr_int64_t saved_tokens_cached;

    /* The answer scan and the answer cache (mod_llm_scan writes the
     * first, mod_llm_route the second).  answer_clean_mark: this
     * request's answer passed the answer scan with no finding at all; the
     * mark names the compiled rules that read it, within this running
     * server (its parent, configuration generation and rule set), never
     * across nodes or restarts.  answer_stored_mark: on a cache hit from
     * the node's own memory, the clean mark stored with the entry; when it
     * is the mark the serving location's scan would give, the scan would
     * read the very same bytes with the very same rules and find nothing,
     * so it does not read them again. */
    const char *answer_clean_mark;
    const char *answer_stored_mark;
} llm_request_t;

/* Return the request's object, creating it when create is non-zero;
 * NULL when it does not exist and create is 0. */
llm_request_t *llm_request_get(request_rec *r, int create);

/* Append a finding (strings are copied to r->pool). */
void llm_request_add_finding(request_rec *r, llm_request_t *req,
                             const llm_finding_t *f);

/* Replace the body the provider will receive (after redaction or
 * translation).  The module that hands the request to mod_proxy frames
 * whatever req->body is then (docs/architecture.md). */
void llm_request_set_body(request_rec *r, llm_request_t *req,
                          const char *body, apr_size_t len);

/* Name of a decision as stored in the audit table ("allow", "block", ...). */
const char *llm_decision_name(llm_decision_e d);

/* llm_findings.c.  Name of a finding's action ("log", "redact", "block";
 * "none"). */
const char *llm_action_name(int action);

/* Name of a finding's direction ("request", "answer"). */
const char *llm_direction_name(int direction);

/* Findings as JSON text, one entry per finding (type, rule, location,
 * offset, length, action, direction; never a value): the caller's error
 * body. */
const char *llm_request_findings_json(apr_pool_t *p, const llm_request_t *req);

/* Findings as the audit row keeps them: one entry per (type, rule,
 * location, direction) with a count, in the order first seen, no
 * offsets. */
const char *llm_request_findings_grouped_json(apr_pool_t *p,
                                              const llm_request_t *req);

/* Send an error in the caller's dialect (r->status set to status) and
 * return DONE for the hook to return.  type is the OpenAI error type
 * ("sensitive_data_detected", "invalid_request_error", ...), code the
 * machine code; findings_json, when not NULL, is a JSON array of findings
 * placed in the body. */
int llm_request_send_error(request_rec *r, int status, const char *type,
                           const char *code, const char *message,
                           const char *findings_json);

/* Optional function of mod_llm_route: its own lines of the Prometheus
 * page (the shared quota store's health, the answer cache's store),
 * written with ap_rprintf by mod_llm_audit's llm-metrics handler.  Writes
 * nothing when the node counts quotas in its own shared memory and no
 * location caches answers. */
APR_DECLARE_OPTIONAL_FN(void, llm_route_quota_metrics, (request_rec *r));

/* One caller's use of the providers as mod_llm_audit's table records it:
 * the requests that reached a provider (decision allow or redact) and
 * their tokens (in + out), since the start of the day and of the month. */
typedef struct llm_audit_usage_t {
    const char *user;            /* NULL or "" when the row had none */
    const apr_array_header_t *groups;   /* of const char *, maybe empty */
    apr_int64_t requests_day;
    apr_int64_t requests_month;
    apr_int64_t tokens_day;
    apr_int64_t tokens_month;
} llm_audit_usage_t;

typedef void llm_audit_usage_fn(void *baton, const llm_audit_usage_t *u);

/* Optional function of mod_llm_audit: call fn once per user and groups
 * with what its table holds from month (included) to until (excluded),
 * counting from day for the day figures.  APR_SUCCESS; APR_EAGAIN when
 * its database cannot be reached now (try again later); another status
 * when the table cannot be read and will not be by retrying, *why saying
 * what to fix.  Run from a thread that may block (mod_dbd's own
 * connection, no request). */
APR_DECLARE_OPTIONAL_FN(apr_status_t, llm_audit_usage,
                        (server_rec *s, apr_pool_t *p, apr_time_t day,
                         apr_time_t month, apr_time_t until,
                         llm_audit_usage_fn *fn, void *baton,
                         const char **why));

/* One caller's spend as mod_llm_audit's table records it: the sum of the
 * cost of their rows (every request has one, priced by LLMAuditPrice) and
 * how many requests count toward their request quotas, as the quota
 * counters count them: those that reached a provider (decision allow or
 * redact) and those answered from the answer cache (cache_hit, cost 0),
 * the latter also on their own. */
typedef struct llm_audit_spend_t {
    const char *cost;            /* USD as the database sums it, "0" if none */
    apr_int64_t requests;        /* allow, redact and cache_hit */
    apr_int64_t cache_hits;      /* of which cache_hit */
} llm_audit_spend_t;

/* Optional function of mod_llm_audit: what its table holds for user from
 * since (included) on, read on r's database connection, for a page that
 * shows it.  APR_SUCCESS, or an error with *why to show (the cause is in
 * the error log). */
APR_DECLARE_OPTIONAL_FN(apr_status_t, llm_audit_spend,
                        (request_rec *r, const char *user, apr_time_t since,
                         llm_audit_spend_t *out, const char **why));

#endif /* LLM_GATEWAY_H */
