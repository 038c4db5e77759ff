/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Rule sets: built once, compiled once (PCRE2 JIT, prefilter tables,
 * keyword automaton), then read-only and shared by every thread.  The
 * compiled PCRE2 objects are freed by a cleanup on the set's pool.
 */

#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "apr_time.h"
#include "scan_private.h"

/* Limits for every regex: a pathological admin pattern fails the scan
 * (and so the request, closed) instead of eating the CPU. */
#define LLM_SCAN_MATCH_LIMIT 100000
#define LLM_SCAN_DEPTH_LIMIT 5000

/* Admin patterns may hold non-ASCII words; text from clients may be
 * invalid UTF-8, which must not make a match fail with an error.  The
 * built-in patterns are ASCII and run in the faster byte mode. */
#define ADMIN_OPTS (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)

static apr_status_t rules_cleanup(void *data)
{
    llm_scan_rules_t *rs = data;
    int i;

    for (i = 0; i < rs->rules->nelts; i++) {
        llm_scan_rule_t *r = LLM_RULE(rs, i);
        if (r->code) {
            pcre2_code_free(r->code);
            r->code = NULL;
        }
    }
    for (i = 0; i < rs->allow->nelts; i++) {
        pcre2_code_free(APR_ARRAY_IDX(rs->allow, i, pcre2_code *));
    }
    rs->allow->nelts = 0;
    if (rs->mctx) {
        pcre2_match_context_free(rs->mctx);
        rs->mctx = NULL;
    }
    return APR_SUCCESS;
}

llm_scan_rules_t *llm_scan_rules_create(apr_pool_t *p, int builtins)
{
    llm_scan_rules_t *rs = apr_pcalloc(p, sizeof(*rs));

    rs->pool = p;
    rs->rules = apr_array_make(p, 64, sizeof(llm_scan_rule_t));
    rs->allow = apr_array_make(p, 4, sizeof(pcre2_code *));
    rs->disabled = apr_array_make(p, 4, sizeof(const char *));
    rs->kwlists = NULL;
    rs->anchors = apr_array_make(p, 256, sizeof(llm_scan_anchor_t));
    llm_scan_builtin_add(rs);
    if (!builtins) {
        /* present but off: recogniser indexes stay valid, and disabling a
         * built-in rule by name is still accepted (a no-op) */
        int i;
        for (i = 0; i < rs->rules->nelts; i++) {
            LLM_RULE(rs, i)->disabled = 1;
        }
    }
    apr_pool_cleanup_register(p, rs, rules_cleanup, apr_pool_cleanup_null);
    return rs;
}

int llm_scan_type_name_valid(const char *type)
{
    const char *c;

    if (!type || !LLM_IS_UPPER((unsigned char)type[0])) {
        return 0;
    }
    for (c = type; *c; c++) {
        if (!LLM_IS_UPPER((unsigned char)*c) && !LLM_IS_DIGIT((unsigned char)*c)
            && *c != '_') {
            return 0;
        }
    }
    return 1;
}

static const char *check_type(apr_pool_t *p, const char *type)
{
    if (!llm_scan_type_name_valid(type)) {
        return apr_psprintf(p, "type '%s' must match [A-Z][A-Z0-9_]*",
                            type ? type : "");
    }
    return NULL;
}

static const char *check_common(llm_scan_rules_t *rs, const char *type,
                                const char *rule_id, llm_category_e cat)
{
    const char *err;
    int i;

    if (rs->compiled) {
        return "rule set already compiled";
    }
    if ((err = check_type(rs->pool, type))) {
        return err;
    }
    if (!rule_id || !*rule_id) {
        return "rule id must not be empty";
    }
    if (cat != LLM_CAT_SECRET && cat != LLM_CAT_PII && cat != LLM_CAT_CONTENT) {
        return "unknown category";
    }
    for (i = 0; i < rs->rules->nelts; i++) {
        if (!strcmp(LLM_RULE(rs, i)->id, rule_id)) {
            return apr_psprintf(rs->pool, "rule id '%s' is already defined",
                                rule_id);
        }
    }
    return NULL;
}

static pcre2_code *compile_re(apr_pool_t *p, const char *pattern,
                              uint32_t opts, const char **err)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code;

    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         opts,
                         &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(ec, buf, sizeof(buf));
        *err = apr_psprintf(p, "bad regex '%s' at offset %lu: %s", pattern,
                            (unsigned long)eo, (const char *)buf);
        return NULL;
    }
    /* JIT is an optimisation: without it (unsupported CPU) we still match */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

const char *llm_scan_rules_add_pattern(llm_scan_rules_t *rs, const char *type,
                                       const char *rule_id,
                                       const char *pcre2_pattern,
                                       llm_category_e category)
{
    const char *err;
    llm_scan_rule_t *r;
    pcre2_code *code;

    if ((err = check_common(rs, type, rule_id, category))) {
        return err;
    }
    if (!pcre2_pattern || !*pcre2_pattern) {
        return "empty pattern";
    }
    /* compiled now so that apachectl -t reports a bad regex */
    if (!(code = compile_re(rs->pool, pcre2_pattern, ADMIN_OPTS, &err))) {
        return err;
    }
    r = apr_array_push(rs->rules);
    memset(r, 0, sizeof(*r));
    r->id = apr_pstrdup(rs->pool, rule_id);
    r->type = apr_pstrdup(rs->pool, type);
    r->cat = category;
    r->prio = 55;
    r->pattern = apr_pstrdup(rs->pool, pcre2_pattern);
    r->code = code;
    if (rs->compiled && rs->rules->nelts - 1 < rs->admin_from) {
        rs->admin_from = rs->rules->nelts - 1;
    }
    return NULL;
}

const char *llm_scan_rules_add_keywords(llm_scan_rules_t *rs, const char *type,
                                        const char *rule_id,
                                        const char *const *words, int nwords,
                                        llm_category_e category)
{
    const char *err;
    llm_scan_rule_t *r;
    int i;

    if ((err = check_common(rs, type, rule_id, category))) {
        return err;
    }
    if (nwords <= 0) {
        return "keyword list is empty";
    }
    for (i = 0; i < nwords; i++) {
        if (!words[i] || !*words[i]) {
            return "empty keyword";
        }
    }
    r = apr_array_push(rs->rules);
    memset(r, 0, sizeof(*r));
    r->id = apr_pstrdup(rs->pool, rule_id);
    r->type = apr_pstrdup(rs->pool, type);
    r->cat = category;
    r->prio = 45;
    r->is_keywords = 1;
    return llm_scan_kw_add(rs, rs->rules->nelts - 1, words, nwords);
}

const char *llm_scan_rules_add_allow(llm_scan_rules_t *rs,
                                     const char *pcre2_pattern)
{
    const char *err;
    pcre2_code *code;

    if (rs->compiled) {
        return "rule set already compiled";
    }
    if (!pcre2_pattern || !*pcre2_pattern) {
        return "empty allow pattern";
    }
    /* whole value: anchored at its start, \z at its end */
    if (!(code = compile_re(rs->pool,
                            apr_pstrcat(rs->pool, "(?:", pcre2_pattern, ")\\z",
                                        NULL),
                            PCRE2_ANCHORED | ADMIN_OPTS, &err))) {
        return apr_psprintf(rs->pool, "allow pattern: %s", err);
    }
    APR_ARRAY_PUSH(rs->allow, pcre2_code *) = code;
    return NULL;
}

/* Built-in rules that were removed: switching one off stays accepted, so
 * that a rule file written for an older release still loads. */
static int retired_rule(const char *id)
{
    /* Twilio account SIDs are public identifiers (the auth token is the
     * secret), no longer findings */
    return !strcmp(id, "twilio-account-sid");
}

const char *llm_scan_rules_disable(llm_scan_rules_t *rs, const char *rule_or_type)
{
    int i, hit = 0;

    if (rs->compiled) {
        return "rule set already compiled";
    }
    if (!rule_or_type || !*rule_or_type) {
        return "empty rule id or type";
    }
    for (i = 0; i < rs->rules->nelts; i++) {
        llm_scan_rule_t *r = LLM_RULE(rs, i);
        if (!strcmp(r->id, rule_or_type) || !strcmp(r->type, rule_or_type)) {
            r->disabled = 1;
            hit = 1;
        }
    }
    if (!hit && !retired_rule(rule_or_type)) {
        return apr_psprintf(rs->pool, "no rule or type named '%s'",
                            rule_or_type);
    }
    return NULL;
}

const char *llm_scan_rules_compile(llm_scan_rules_t *rs)
{
    const char *err;
    int i;
    uint32_t cap;

    if (rs->compiled) {
        return NULL;
    }
    rs->max_ovec = 2;
    rs->admin_from = rs->rules->nelts;
    for (i = 0; i < rs->rules->nelts; i++) {
        llm_scan_rule_t *r = LLM_RULE(rs, i);
        if (!r->builtin && r->code && i >= LLM_R_NCODE
            && i < rs->admin_from) {
            rs->admin_from = i;
        }
        if (r->builtin && r->pattern && !r->code && !r->disabled) {
            if (!(r->code = compile_re(rs->pool, r->pattern, PCRE2_ANCHORED,
                                       &err))) {
                return apr_psprintf(rs->pool, "built-in rule %s: %s", r->id,
                                    err);
            }
        }
        if (r->code) {
            pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &cap);
            if (cap + 1 > rs->max_ovec) {
                rs->max_ovec = cap + 1;
            }
        }
    }
    rs->mctx = pcre2_match_context_create(NULL);
    if (!rs->mctx) {
        return "out of memory";
    }
    pcre2_set_match_limit(rs->mctx, LLM_SCAN_MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, LLM_SCAN_DEPTH_LIMIT);
    if ((err = llm_scan_prefilter_build(rs))) {
        return err;
    }
    if ((err = llm_scan_kw_compile(rs))) {
        return err;
    }
    /* Random rather than a counter: no state outside the rule set, and
     * two sets never share one, whatever process compiled them. */
    if (apr_generate_random_bytes((unsigned char *)&rs->identity,
                                  sizeof(rs->identity)) != APR_SUCCESS) {
        rs->identity = (apr_uint64_t)apr_time_now()
                       ^ (apr_uint64_t)(apr_uintptr_t)rs;
    }
    rs->identity |= 1;      /* never 0, which no compiled set has */
    rs->compiled = 1;
    return NULL;
}

apr_uint64_t llm_scan_rules_identity(const llm_scan_rules_t *rs)
{
    return rs->compiled ? rs->identity : 0;
}

void llm_scan_rules_visit(const llm_scan_rules_t *rs,
                          llm_scan_rule_visit_fn *fn, void *baton)
{
    int i;

    for (i = 0; i < rs->rules->nelts; i++) {
        const llm_scan_rule_t *r = LLM_RULE(rs, i);
        if (!r->disabled) {
            fn(baton, r->id, r->type, r->cat);
        }
    }
}

int llm_scan_rules_has_type(const llm_scan_rules_t *rs, const char *type)
{
    int i;

    if (!type) {
        return 0;
    }
    if (llm_scan_builtin_is_type(type)) {
        return 1;
    }
    for (i = 0; i < rs->rules->nelts; i++) {
        if (!strcmp(LLM_RULE(rs, i)->type, type)) {
            return 1;
        }
    }
    return 0;
}

const char *llm_scan_rule_pattern(const llm_scan_rules_t *rs,
                                  const char *rule_id)
{
    int i;

    for (i = 0; i < rs->rules->nelts; i++) {
        if (!strcmp(LLM_RULE(rs, i)->id, rule_id)) {
            return LLM_RULE(rs, i)->pattern;
        }
    }
    return NULL;
}
