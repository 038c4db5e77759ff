/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Every directive is checked when it is parsed, so that `apachectl -t`
 * names the bad value; admin patterns are compiled here once to report
 * their errors, and again (with JIT) when check_config builds the rule set.
 */

#include <ctype.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "llm_size.h"
#include "scan_config.h"

extern module AP_MODULE_DECLARE_DATA llm_scan_module;

llm_scan_server_conf_t *llm_scan_srv(server_rec *s)
{
    return ap_get_module_config(s->module_config, &llm_scan_module);
}

llm_scan_dir_conf_t *llm_scan_dir(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &llm_scan_module);
}

void *llm_scan_create_server_conf(apr_pool_t *p, server_rec *s)
{
    llm_scan_server_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->specs = apr_array_make(p, 4, sizeof(llm_scan_rule_spec_t));
    sc->action_refs = apr_array_make(p, 4, sizeof(const char *));
    sc->builtins = LLM_SCAN_UNSET;
    sc->rules = NULL;            /* built at check_config */
    sc->clean_cache = LLM_SCAN_UNSET;
    sc->clean = NULL;            /* made at child_init */
    return sc;
}

void *llm_scan_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    llm_scan_server_conf_t *base = basev, *add = addv;
    llm_scan_server_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->specs = apr_array_append(p, base->specs, add->specs);
    sc->action_refs = apr_array_append(p, base->action_refs, add->action_refs);
    sc->builtins = add->builtins != LLM_SCAN_UNSET ? add->builtins
                                                   : base->builtins;
    sc->rules = NULL;
    sc->clean_cache = add->clean_cache != LLM_SCAN_UNSET ? add->clean_cache
                                                         : base->clean_cache;
    sc->clean = NULL;
    return sc;
}

void *llm_scan_create_dir_conf(apr_pool_t *p, char *dir)
{
    llm_scan_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->enabled = LLM_SCAN_UNSET;
    dc->max_body = LLM_SCAN_UNSET;
    dc->inflate = LLM_SCAN_UNSET;
    dc->answers = LLM_SCAN_UNSET;
    dc->actions = apr_table_make(p, 4);
    dc->redact_modes = apr_table_make(p, 2);
    return dc;
}

void *llm_scan_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    llm_scan_dir_conf_t *base = basev, *add = addv;
    llm_scan_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->enabled = add->enabled != LLM_SCAN_UNSET ? add->enabled : base->enabled;
    dc->max_body = add->max_body != LLM_SCAN_UNSET ? add->max_body
                                                   : base->max_body;
    dc->inflate = add->inflate != LLM_SCAN_UNSET ? add->inflate : base->inflate;
    dc->answers = add->answers != LLM_SCAN_UNSET ? add->answers : base->answers;
    /* apr_table_get returns the first entry: the inner context's own
     * actions must come first to win. */
    dc->actions = apr_table_overlay(p, add->actions, base->actions);
    dc->redact_modes = apr_table_overlay(p, add->redact_modes,
                                         base->redact_modes);
    return dc;
}

static int valid_rule_id(const char *id)
{
    if (!*id) {
        return 0;
    }
    for (; *id; id++) {
        if (!isalnum((unsigned char)*id) && *id != '-' && *id != '_'
            && *id != '.') {
            return 0;
        }
    }
    return 1;
}

static int parse_category(const char *s, llm_category_e *cat)
{
    if (!strcasecmp(s, "secret")) {
        *cat = LLM_CAT_SECRET;
    }
    else if (!strcasecmp(s, "pii")) {
        *cat = LLM_CAT_PII;
    }
    else if (!strcasecmp(s, "content")) {
        *cat = LLM_CAT_CONTENT;
    }
    else {
        return 0;
    }
    return 1;
}

/* An admin rule for a built-in type (another PHONE format, say) is handled
 * like that type; a type of the admin's own is content. */
static llm_category_e default_category(const char *type)
{
    int cat = llm_scan_builtin_category(type);

    return cat < 0 ? LLM_CAT_CONTENT : (llm_category_e)cat;
}

static const char *set_max_body(cmd_parms *cmd, void *dcv, const char *arg)
{
    llm_scan_dir_conf_t *dc = dcv;
    apr_int64_t n;
    const char *err = llm_size_parse(cmd->pool, arg, LLM_SIZE_BYTES, 1024,
                                     APR_INT64_MAX, &n);

    if (err) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    }
    dc->max_body = (apr_off_t)n;
    return NULL;
}

/* One cache per child for all its servers: a global directive. */
static const char *set_clean_cache(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    llm_scan_server_conf_t *sc = llm_scan_srv(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t n;

    (void)dummy;
    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "Off") || !strcmp(arg, "0")) {
        sc->clean_cache = 0;
        return NULL;
    }
    err = llm_size_parse(cmd->pool, arg, LLM_SIZE_BYTES,
                         LLM_SCAN_CLEAN_CACHE_MIN, LLM_SCAN_CLEAN_CACHE_MAX,
                         &n);
    if (err) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err,
                           " (a size from 1M to 4G, e.g. 16M, or 0 or Off "
                           "for no cache)", NULL);
    }
    sc->clean_cache = n;
    return NULL;
}

static const char *set_action(cmd_parms *cmd, void *dcv, const char *what,
                              const char *action)
{
    llm_scan_dir_conf_t *dc = dcv;
    llm_category_e cat;

    if (strcasecmp(action, "block") && strcasecmp(action, "redact")
        && strcasecmp(action, "log")) {
        return apr_psprintf(cmd->pool, "%s %s: action '%s' is not one of "
                            "block, redact, log", cmd->cmd->name, what, action);
    }
    if (parse_category(what, &cat)) {
        what = apr_pstrcat(cmd->pool, "category:",
                           apr_pstrdup(cmd->pool, what), NULL);
        ap_str_tolower((char *)what);
    }
    else if (!llm_scan_type_name_valid(what) && !valid_rule_id(what)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is neither a finding type "
                            "(like AWS_ACCESS_KEY), a rule id (like "
                            "aws-access-key-id) nor secret|pii|content",
                            cmd->cmd->name, what);
    }
    apr_table_set(dc->actions, what, apr_pstrdup(cmd->pool, action));
    if (strncmp(what, "category:", 9)) {
        APR_ARRAY_PUSH(llm_scan_srv(cmd->server)->action_refs,
                       const char *) = what;
    }
    return NULL;
}

/* The key of LLMScanAction and LLMScanRedact: "category:pii", or the type
 * or rule id as written (checked once the rules are built); NULL for
 * something that is none of them. */
static const char *finding_key(cmd_parms *cmd, const char *what)
{
    llm_category_e cat;
    char *key;

    if (parse_category(what, &cat)) {
        key = apr_pstrcat(cmd->pool, "category:", what, NULL);
        ap_str_tolower(key);
        return key;
    }
    if (!llm_scan_type_name_valid(what) && !valid_rule_id(what)) {
        return NULL;
    }
    return apr_pstrdup(cmd->pool, what);
}

static const char *set_redact_mode(cmd_parms *cmd, void *dcv,
                                   const char *what, const char *mode)
{
    llm_scan_dir_conf_t *dc = dcv;
    const char *key = finding_key(cmd, what);

    if (strcasecmp(mode, "reversible") && strcasecmp(mode, "one-way")) {
        return apr_psprintf(cmd->pool, "%s %s: '%s' is neither reversible "
                            "nor one-way", cmd->cmd->name, what, mode);
    }
    if (!key) {
        return apr_psprintf(cmd->pool, "%s: '%s' is neither a finding type "
                            "(like EMAIL), a rule id (like email) nor "
                            "secret|pii|content", cmd->cmd->name, what);
    }
    apr_table_set(dc->redact_modes, key, strcasecmp(mode, "reversible")
                                         ? "one-way" : "reversible");
    if (strncmp(key, "category:", 9)) {
        APR_ARRAY_PUSH(llm_scan_srv(cmd->server)->action_refs,
                       const char *) = key;
    }
    return NULL;
}

/* Try a pattern on a scratch rule set so the PCRE2 message and offset show
 * at apachectl -t, not at the first request. */
static const char *check_pattern(cmd_parms *cmd, const char *type,
                                 const char *id, const char *pattern,
                                 llm_category_e cat, int allow)
{
    llm_scan_rules_t *scratch = llm_scan_rules_create(cmd->temp_pool, 0);
    const char *err = allow ? llm_scan_rules_add_allow(scratch, pattern)
                            : llm_scan_rules_add_pattern(scratch, type, id,
                                                         pattern, cat);

    if (!err) {
        err = llm_scan_rules_compile(scratch);
    }
    return err ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err) : NULL;
}

static const char *add_pattern(cmd_parms *cmd, void *dcv, const char *args)
{
    llm_scan_rule_spec_t *spec;
    const char *type = ap_getword_conf(cmd->pool, &args);
    const char *id = ap_getword_conf(cmd->pool, &args);
    const char *pattern = ap_getword_conf(cmd->pool, &args);
    const char *catname = ap_getword_conf(cmd->pool, &args);
    llm_category_e cat = LLM_CAT_CONTENT;
    const char *err;

    if (!*type || !*id || !*pattern) {
        return "LLMScanPattern: usage: LLMScanPattern TYPE rule-id "
               "\"pcre2 pattern\" [secret|pii|content]";
    }
    if (!llm_scan_type_name_valid(type)) {
        return apr_psprintf(cmd->pool, "LLMScanPattern: type '%s' must be "
                            "upper case letters, digits and _", type);
    }
    if (!valid_rule_id(id)) {
        return apr_psprintf(cmd->pool, "LLMScanPattern: rule id '%s' may "
                            "only hold letters, digits, '-', '_', '.'", id);
    }
    if (*catname && !parse_category(catname, &cat)) {
        return apr_psprintf(cmd->pool, "LLMScanPattern: category '%s' is not "
                            "one of secret, pii, content", catname);
    }
    if (!*catname) {
        cat = default_category(type);
    }
    if (*args) {
        return "LLMScanPattern: too many arguments (quote the pattern)";
    }
    if ((err = check_pattern(cmd, type, id, pattern, cat, 0)) != NULL) {
        return err;
    }
    spec = apr_array_push(llm_scan_srv(cmd->server)->specs);
    memset(spec, 0, sizeof(*spec));
    spec->kind = SPEC_PATTERN;
    spec->type = type;
    spec->rule_id = id;
    spec->pattern = pattern;
    spec->category = cat;
    return NULL;
}

static const char *add_keywords(cmd_parms *cmd, void *dcv, const char *args)
{
    llm_scan_rule_spec_t *spec;
    apr_array_header_t *words = apr_array_make(cmd->pool, 8, sizeof(char *));
    const char *type = ap_getword_conf(cmd->pool, &args);
    const char *id = ap_getword_conf(cmd->pool, &args);

    if (!*type || !*id || !*args) {
        return "LLMScanKeywords: usage: LLMScanKeywords TYPE rule-id word "
               "[\"two words\" ...]";
    }
    if (!llm_scan_type_name_valid(type)) {
        return apr_psprintf(cmd->pool, "LLMScanKeywords: type '%s' must be "
                            "upper case letters, digits and _", type);
    }
    if (!valid_rule_id(id)) {
        return apr_psprintf(cmd->pool, "LLMScanKeywords: rule id '%s' may "
                            "only hold letters, digits, '-', '_', '.'", id);
    }
    while (*args) {
        const char *w = ap_getword_conf(cmd->pool, &args);

        if (strlen(w) < 2) {
            return apr_psprintf(cmd->pool, "LLMScanKeywords: keyword '%s' is "
                                "too short (2 characters at least)", w);
        }
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    spec = apr_array_push(llm_scan_srv(cmd->server)->specs);
    memset(spec, 0, sizeof(*spec));
    spec->kind = SPEC_KEYWORDS;
    spec->type = type;
    spec->rule_id = id;
    spec->words = (const char *const *)words->elts;
    spec->nwords = words->nelts;
    spec->category = default_category(type);
    return NULL;
}

static const char *add_allow(cmd_parms *cmd, void *dcv, const char *pattern)
{
    llm_scan_rule_spec_t *spec;
    const char *err = check_pattern(cmd, NULL, NULL, pattern, LLM_CAT_SECRET, 1);

    if (err) {
        return err;
    }
    spec = apr_array_push(llm_scan_srv(cmd->server)->specs);
    memset(spec, 0, sizeof(*spec));
    spec->kind = SPEC_ALLOW;
    spec->pattern = pattern;
    return NULL;
}

static const char *add_disable(cmd_parms *cmd, void *dcv, const char *what)
{
    llm_scan_rule_spec_t *spec;
    llm_scan_rules_t *builtin = llm_scan_rules_create(cmd->temp_pool, 1);

    if (!llm_scan_rules_has_type(builtin, what)
        && llm_scan_rules_disable(builtin, what) != NULL) {
        return apr_psprintf(cmd->pool, "LLMScanDisable: '%s' is neither a "
                            "built-in rule id nor a built-in type (see "
                            "llm-scan --list-rules)", what);
    }
    spec = apr_array_push(llm_scan_srv(cmd->server)->specs);
    memset(spec, 0, sizeof(*spec));
    spec->kind = SPEC_DISABLE;
    spec->rule_id = what;
    return NULL;
}

static const char *set_builtins(cmd_parms *cmd, void *dcv, int on)
{
    llm_scan_srv(cmd->server)->builtins = on;
    return NULL;
}

static void note_rule(void *baton, const char *rule_id, const char *type,
                      llm_category_e cat)
{
    apr_hash_t *known = baton;

    apr_hash_set(known, rule_id, APR_HASH_KEY_STRING, rule_id);
    apr_hash_set(known, type, APR_HASH_KEY_STRING, type);
}

/* LLMScanAction names a rule or type that must exist once every rule is
 * known: a typo would otherwise silently leave the default in force. */
static const char *check_action_refs(apr_pool_t *p,
                                     const llm_scan_server_conf_t *sc)
{
    apr_hash_t *known = apr_hash_make(p);
    int i;

    llm_scan_rules_visit(sc->rules, note_rule, known);
    for (i = 0; i < sc->action_refs->nelts; i++) {
        const char *what = APR_ARRAY_IDX(sc->action_refs, i, const char *);

        if (!apr_hash_get(known, what, APR_HASH_KEY_STRING)) {
            return apr_psprintf(p, "LLMScanAction or LLMScanRedact %s: no "
                                "rule or type of "
                                "that name (see llm-scan --list-rules, or "
                                "define it with LLMScanPattern or "
                                "LLMScanKeywords)", what);
        }
    }
    return NULL;
}

const char *llm_scan_build_rules(apr_pool_t *p, llm_scan_server_conf_t *sc)
{
    llm_scan_rules_t *rs = llm_scan_rules_create(p, llm_scan_builtins(sc));
    const char *err = NULL;
    int i;

    for (i = 0; i < sc->specs->nelts && !err; i++) {
        const llm_scan_rule_spec_t *s =
            &APR_ARRAY_IDX(sc->specs, i, llm_scan_rule_spec_t);

        switch (s->kind) {
        case SPEC_PATTERN:
            err = llm_scan_rules_add_pattern(rs, s->type, s->rule_id,
                                             s->pattern, s->category);
            break;
        case SPEC_KEYWORDS:
            err = llm_scan_rules_add_keywords(rs, s->type, s->rule_id,
                                              s->words, s->nwords,
                                              s->category);
            break;
        case SPEC_ALLOW:
            err = llm_scan_rules_add_allow(rs, s->pattern);
            break;
        case SPEC_DISABLE:
            err = llm_scan_rules_disable(rs, s->rule_id);
            break;
        }
    }
    if (!err) {
        err = llm_scan_rules_compile(rs);
    }
    if (err) {
        return err;
    }
    sc->rules = rs;
    return check_action_refs(p, sc);
}

static llm_action_e action_from(const char *s)
{
    if (!s) {
        return LLM_ACTION_UNSET;
    }
    if (!strcasecmp(s, "block")) {
        return LLM_ACTION_BLOCK;
    }
    if (!strcasecmp(s, "redact")) {
        return LLM_ACTION_REDACT;
    }
    return LLM_ACTION_LOG;
}

llm_action_e llm_scan_action_for(const llm_scan_dir_conf_t *dc,
                                 const char *rule, const char *type,
                                 llm_category_e cat)
{
    static const char *const cat_keys[] = {
        "category:secret", "category:pii", "category:content"
    };
    llm_action_e a;

    if ((a = action_from(apr_table_get(dc->actions, rule))) != LLM_ACTION_UNSET
        || (a = action_from(apr_table_get(dc->actions, type)))
           != LLM_ACTION_UNSET
        || (a = action_from(apr_table_get(dc->actions, cat_keys[cat])))
           != LLM_ACTION_UNSET) {
        return a;
    }
    return cat == LLM_CAT_PII ? LLM_ACTION_REDACT : LLM_ACTION_BLOCK;
}

int llm_scan_reversible_for(const llm_scan_dir_conf_t *dc, const char *rule,
                            const char *type, llm_category_e cat)
{
    static const char *const cat_keys[] = {
        "category:secret", "category:pii", "category:content"
    };
    const char *m;

    if (apr_is_empty_table(dc->redact_modes)) {
        return 0;
    }
    if (!(m = apr_table_get(dc->redact_modes, rule))
        && !(m = apr_table_get(dc->redact_modes, type))) {
        m = apr_table_get(dc->redact_modes, cat_keys[cat]);
    }
    return m && !strcmp(m, "reversible");
}

const command_rec llm_scan_cmds[] = {
    AP_INIT_FLAG("LLMScan", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(llm_scan_dir_conf_t, enabled),
                 ACCESS_CONF | RSRC_CONF,
                 "On|Off: scan request bodies of gateway endpoints here "
                 "(default On)"),
    AP_INIT_TAKE1("LLMScanMaxBody", set_max_body, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "largest request body in bytes, after decompression "
                  "(default 16777216); larger bodies get 413"),
    AP_INIT_FLAG("LLMScanInflate", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(llm_scan_dir_conf_t, inflate),
                 ACCESS_CONF | RSRC_CONF,
                 "On|Off: inflate gzip/deflate request bodies to scan them "
                 "(default On); Off answers 415"),
    AP_INIT_FLAG("LLMScanResponse", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(llm_scan_dir_conf_t, answers),
                 ACCESS_CONF | RSRC_CONF,
                 "On|Off: scan the answers relayed here, streams included, "
                 "with the LLMScanAction actions (default Off; the sample "
                 "configuration turns it On)"),
    AP_INIT_TAKE2("LLMScanAction", set_action, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "TYPE|rule-id|secret|pii|content block|redact|log"),
    AP_INIT_TAKE2("LLMScanRedact", set_redact_mode, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "TYPE|rule-id|secret|pii|content reversible|one-way: "
                  "whether the answer gets the values of this request's "
                  "placeholders back (default one-way)"),
    AP_INIT_RAW_ARGS("LLMScanPattern", add_pattern, NULL, RSRC_CONF,
                     "TYPE rule-id \"pcre2 pattern\" [secret|pii|content]: "
                     "an admin detection rule"),
    AP_INIT_RAW_ARGS("LLMScanKeywords", add_keywords, NULL, RSRC_CONF,
                     "TYPE rule-id word [word ...]: whole-word, "
                     "case-insensitive keyword list"),
    AP_INIT_TAKE1("LLMScanAllow", add_allow, NULL, RSRC_CONF,
                  "\"pcre2 pattern\": values matching it are never findings"),
    AP_INIT_TAKE1("LLMScanDisable", add_disable, NULL, RSRC_CONF,
                  "rule-id|TYPE: switch a built-in rule off"),
    AP_INIT_FLAG("LLMScanBuiltinRules", set_builtins, NULL, RSRC_CONF,
                 "On|Off: use the built-in rules (default On)"),
    AP_INIT_TAKE1("LLMScanCleanCache", set_clean_cache, NULL, RSRC_CONF,
                  "size|0|Off: memory per child for strings already scanned "
                  "with no finding, scanned again only when changed "
                  "(default 16M)"),
    { NULL }
};
