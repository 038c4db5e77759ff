/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* mod_llm_scan configuration: directives, their parse-time checks, merge. */

#ifndef SCAN_CONFIG_H
#define SCAN_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "llm_types.h"
#include "scan/llm_scan.h"

/* The one "not set here" value of every scalar member (pointers: NULL):
 * it survives every merge where nothing sets the directive, so that an
 * inner context inherits; the defaults below are applied where the value
 * is read, by the readers at the end of this file and nowhere else. */
#define LLM_SCAN_UNSET (-1)

#define LLM_SCAN_DEFAULT_ENABLED 1           /* LLMScan On */
/* Coding agents send whole files and long histories: several MB. */
#define LLM_SCAN_DEFAULT_MAX_BODY (16 * 1024 * 1024)
#define LLM_SCAN_DEFAULT_INFLATE 1           /* LLMScanInflate On */
#define LLM_SCAN_DEFAULT_BUILTINS 1          /* LLMScanBuiltinRules On */
#define LLM_SCAN_DEFAULT_ANSWERS 0           /* LLMScanResponse Off */
/* LLMScanCleanCache, per child: sized in docs/sizing (a session of 1 MB
 * turns has ~1 MB of distinct clean text; a child's threads each carry
 * one session at a time). */
#define LLM_SCAN_DEFAULT_CLEAN_CACHE (16 * 1024 * 1024)
#define LLM_SCAN_CLEAN_CACHE_MIN ((apr_int64_t)1 << 20)
#define LLM_SCAN_CLEAN_CACHE_MAX ((apr_int64_t)4 << 30)
#define LLM_SCAN_VALUE(v, dflt) ((v) == LLM_SCAN_UNSET ? (dflt) : (v))

/* One admin rule as written in the config, kept until check_config builds
 * the server's rule set (merged vhost rules need the base server's too). */
typedef struct llm_scan_rule_spec_t {
    enum { SPEC_PATTERN, SPEC_KEYWORDS, SPEC_ALLOW, SPEC_DISABLE } kind;
    const char *type;
    const char *rule_id;
    const char *pattern;
    const char *const *words;
    int nwords;
    llm_category_e category;
} llm_scan_rule_spec_t;

typedef struct llm_scan_server_conf_t {
    apr_array_header_t *specs;       /* of llm_scan_rule_spec_t */
    apr_array_header_t *action_refs; /* rule ids and types LLMScanAction
                                        names, checked once rules are built */
    int builtins;                    /* LLMScanBuiltinRules */
    llm_scan_rules_t *rules;         /* compiled in check_config */
    apr_int64_t clean_cache;         /* LLMScanCleanCache bytes, 0: off */
    /* The child's cache of texts scanned clean, shared by every server of
     * the child (entries are keyed by rule set); NULL when off.  Set at
     * child_init (scan_clean.c). */
    struct llm_clean_cache_t *clean;
} llm_scan_server_conf_t;

typedef struct llm_scan_dir_conf_t {
    int enabled;                     /* LLMScan */
    apr_off_t max_body;              /* LLMScanMaxBody */
    int inflate;                     /* LLMScanInflate */
    apr_table_t *actions;            /* LLMScanAction: key -> "block"... */
    int answers;                     /* LLMScanResponse */
    apr_table_t *redact_modes;       /* LLMScanRedact: key -> "reversible"
                                        or "one-way" */
} llm_scan_dir_conf_t;

extern const command_rec llm_scan_cmds[];

/* A server's and a request's configuration of this module. */
llm_scan_server_conf_t *llm_scan_srv(server_rec *s);
llm_scan_dir_conf_t *llm_scan_dir(request_rec *r);

void *llm_scan_create_server_conf(apr_pool_t *p, server_rec *s);
void *llm_scan_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
void *llm_scan_create_dir_conf(apr_pool_t *p, char *dir);
void *llm_scan_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);

/* Build and compile the rule set of one server from its specs. */
const char *llm_scan_build_rules(apr_pool_t *p, llm_scan_server_conf_t *sc);

/* The action for a finding: rule id, then type, then category, then the
 * defaults (secrets block, PII redact, content block). */
llm_action_e llm_scan_action_for(const llm_scan_dir_conf_t *dc,
                                 const char *rule, const char *type,
                                 llm_category_e cat);

/* The values in force. */
static APR_INLINE int llm_scan_enabled(const llm_scan_dir_conf_t *dc)
{
    return LLM_SCAN_VALUE(dc->enabled, LLM_SCAN_DEFAULT_ENABLED) != 0;
}

static APR_INLINE apr_off_t llm_scan_max_body(const llm_scan_dir_conf_t *dc)
{
    return LLM_SCAN_VALUE(dc->max_body, LLM_SCAN_DEFAULT_MAX_BODY);
}

static APR_INLINE int llm_scan_inflate_on(const llm_scan_dir_conf_t *dc)
{
    return LLM_SCAN_VALUE(dc->inflate, LLM_SCAN_DEFAULT_INFLATE) != 0;
}

static APR_INLINE int llm_scan_answers(const llm_scan_dir_conf_t *dc)
{
    return LLM_SCAN_VALUE(dc->answers, LLM_SCAN_DEFAULT_ANSWERS) == 1;
}

static APR_INLINE apr_int64_t llm_scan_clean_cache_size(
    const llm_scan_server_conf_t *sc)
{
    return LLM_SCAN_VALUE(sc->clean_cache, LLM_SCAN_DEFAULT_CLEAN_CACHE);
}

static APR_INLINE int llm_scan_builtins(const llm_scan_server_conf_t *sc)
{
    return LLM_SCAN_VALUE(sc->builtins, LLM_SCAN_DEFAULT_BUILTINS) != 0;
}

/* 1 when a redaction of this finding is to be undone in the answer
 * (LLMScanRedact ... reversible): rule id, then type, then category;
 * one-way unless configured. */
int llm_scan_reversible_for(const llm_scan_dir_conf_t *dc, const char *rule,
                            const char *type, llm_category_e cat);

#endif /* SCAN_CONFIG_H */
