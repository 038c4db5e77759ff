/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mod_llm_audit's directives: parsed and checked when read (apachectl -t
 * reports every bad value), created and merged field by field.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_fnmatch.h"
#include "apr_lib.h"

#include "mod_llm_audit.h"
#include "llm_size.h"

llm_audit_srv_t *llm_audit_srv(server_rec *s)
{
    return ap_get_module_config(s->module_config, &llm_audit_module);
}

llm_audit_dir_t *llm_audit_dir(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &llm_audit_module);
}

void *llm_audit_create_srv(apr_pool_t *p, server_rec *s)
{
    llm_audit_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->key_file = NULL;
    sc->body_key_file = NULL;
    sc->spool_path = NULL;
    sc->spool_max = LLM_AUDIT_UNSET;
    sc->schema_files = NULL;
    sc->replay_interval = LLM_AUDIT_UNSET;
    sc->batch_size = LLM_AUDIT_UNSET;
    sc->batch_delay = LLM_AUDIT_UNSET;
    sc->prices = apr_array_make(p, 8, sizeof(llm_audit_price_t));
    sc->prices_set = 0;
    /* Loaded at post_config (load_server), for each server: not
     * configuration, nothing to inherit. */
    sc->key = NULL;
    sc->key_len = 0;
    sc->body_key = NULL;
    sc->body_key_len = 0;
    sc->schema_sql = NULL;
    memset(&sc->spool, 0, sizeof(sc->spool));
    return sc;
}

void *llm_audit_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    llm_audit_srv_t *base = basev, *add = addv;
    llm_audit_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->key_file = add->key_file ? add->key_file : base->key_file;
    sc->body_key_file = add->body_key_file ? add->body_key_file
                                           : base->body_key_file;
    sc->spool_path = add->spool_path ? add->spool_path : base->spool_path;
    sc->spool_max = add->spool_max != LLM_AUDIT_UNSET ? add->spool_max
                                                      : base->spool_max;
    sc->schema_files = add->schema_files ? add->schema_files
                                         : base->schema_files;
    sc->replay_interval = add->replay_interval != LLM_AUDIT_UNSET
                          ? add->replay_interval : base->replay_interval;
    sc->batch_size = add->batch_size != LLM_AUDIT_UNSET ? add->batch_size
                                                        : base->batch_size;
    sc->batch_delay = add->batch_delay != LLM_AUDIT_UNSET
                      ? add->batch_delay : base->batch_delay;
    /* A virtual host with its own price list replaces the global one:
     * appending would make the global lines shadow the host's. */
    sc->prices = add->prices_set ? add->prices : base->prices;
    sc->prices_set = add->prices_set || base->prices_set;
    /* Keys, schema text and the spool are loaded at post_config. */
    sc->key = NULL;
    sc->key_len = 0;
    sc->body_key = NULL;
    sc->body_key_len = 0;
    sc->schema_sql = NULL;
    memset(&sc->spool, 0, sizeof(sc->spool));
    return sc;
}

void *llm_audit_create_dir(apr_pool_t *p, char *dir)
{
    llm_audit_dir_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->enabled = LLM_AUDIT_UNSET;
    dc->required = LLM_AUDIT_UNSET;
    dc->bodies = LLM_AUDIT_UNSET;
    dc->body_max = LLM_AUDIT_UNSET;
    return dc;
}

void *llm_audit_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    llm_audit_dir_t *base = basev, *add = addv;
    llm_audit_dir_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->enabled = add->enabled != LLM_AUDIT_UNSET ? add->enabled
                                                  : base->enabled;
    dc->required = add->required != LLM_AUDIT_UNSET ? add->required
                                                    : base->required;
    dc->bodies = add->bodies != LLM_AUDIT_UNSET ? add->bodies
                                                : base->bodies;
    dc->body_max = add->body_max != LLM_AUDIT_UNSET ? add->body_max
                                                    : base->body_max;
    return dc;
}

/* "64M", "512K", "1G", "1048576": bytes (llm_size.h). */
static const char *parse_size(cmd_parms *cmd, const char *arg, apr_off_t min,
                              apr_off_t *out)
{
    apr_int64_t n;
    const char *err = llm_size_parse(cmd->pool, arg, LLM_SIZE_BYTES, min,
                                     APR_INT64_MAX, &n);

    if (err) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    }
    *out = (apr_off_t)n;
    return NULL;
}

/* The chain, the spool and its replay belong to the whole server (one
 * chain per process, one spool file): their directives are refused in a
 * virtual host rather than silently ignored there. */
static const char *check_global(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    llm_audit_srv_t *sc = llm_audit_srv(cmd->server);
    const char *err = (int)(apr_uintptr_t)cmd->info == 1
                      ? ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT)
                      : check_global(cmd);
    const char *path;

    if (err) {
        return err;
    }
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s needs a file path",
                            cmd->cmd->name);
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, arg);
    }
    switch ((int)(apr_uintptr_t)cmd->info) {
    case 0: sc->key_file = path; break;
    case 1:
        /* Unlike the MAC key it is never created for you: checked now so
         * that apachectl -t reports it. */
        if (access(path, R_OK) != 0) {
            return apr_psprintf(cmd->pool, "LLMAuditBodyKeyFile: cannot read "
                                "%s (create it with: openssl rand -hex 32 > "
                                "%s; chmod 600 %s)", path, path, path);
        }
        sc->body_key_file = path;
        break;
    case 2: sc->spool_path = path; break;
    }
    return NULL;
}

/* LLMAuditSchema driver file: run file on new connections of that
 * apr_dbd driver only, so one configuration can switch DBDriver freely. */
static const char *set_schema(cmd_parms *cmd, void *dummy, const char *driver,
                              const char *arg)
{
    llm_audit_srv_t *sc = llm_audit_srv(cmd->server);
    const char *err = check_global(cmd);
    const char *path;
    apr_finfo_t fi;

    if (err) {
        return err;
    }
    if (strcmp(driver, "sqlite3") && strcmp(driver, "pgsql")) {
        return apr_psprintf(cmd->pool, "LLMAuditSchema: driver '%s' is not "
                            "sqlite3 or pgsql", driver);
    }
    /* Checked now: a mistyped path fails apachectl -t. */
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool)
                 != APR_SUCCESS || fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "LLMAuditSchema: %s is not a readable "
                            "file", arg);
    }
    if (!sc->schema_files) {
        sc->schema_files = apr_table_make(cmd->pool, 2);
    }
    apr_table_setn(sc->schema_files, driver, path);
    return NULL;
}

static const char *set_spool_max(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    const char *err = check_global(cmd);

    return err ? err : parse_size(cmd, arg, 4096,
                                  &llm_audit_srv(cmd->server)->spool_max);
}

static const char *set_replay_interval(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    const char *err = check_global(cmd);
    char *end;
    long n;

    if (err) {
        return err;
    }
    n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 1 || n > 3600) {
        return apr_psprintf(cmd->pool, "LLMAuditReplayInterval: '%s' is not "
                            "a number of seconds from 1 to 3600", arg);
    }
    llm_audit_srv(cmd->server)->replay_interval = (int)n;
    return NULL;
}

/* LLMAuditBatch off | rows [milliseconds] */
static const char *set_batch(cmd_parms *cmd, void *dummy, const char *arg,
                             const char *delay)
{
    llm_audit_srv_t *sc = llm_audit_srv(cmd->server);
    const char *err = check_global(cmd);
    char *end;
    long n, ms = LLM_AUDIT_DEFAULT_BATCH_DELAY;

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "off")) {
        if (delay) {
            return "LLMAuditBatch off takes no delay";
        }
        sc->batch_size = 0;
        sc->batch_delay = LLM_AUDIT_UNSET;
        return NULL;
    }
    n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 2 || n > 1000) {
        return apr_psprintf(cmd->pool, "LLMAuditBatch: '%s' is not off or "
                            "a number of rows from 2 to 1000", arg);
    }
    if (delay) {
        ms = strtol(delay, &end, 10);
        if (end == delay || *end || ms < 1 || ms > 1000) {
            return apr_psprintf(cmd->pool, "LLMAuditBatch: '%s' is not a "
                                "delay of 1 to 1000 milliseconds", delay);
        }
    }
    sc->batch_size = (int)n;
    sc->batch_delay = (int)ms;
    return NULL;
}

static const char *parse_price(cmd_parms *cmd, const char *what,
                               const char *arg, double *out)
{
    char *end;
    double d = strtod(arg, &end);

    if (end == arg || *end || d < 0 || d > 1e6) {
        return apr_psprintf(cmd->pool, "LLMAuditPrice: %s price '%s' is not "
                            "a number of USD per million tokens", what, arg);
    }
    *out = d;
    return NULL;
}

/* LLMAuditPrice model-pattern input cached-input output */
static const char *set_price(cmd_parms *cmd, void *dummy, int argc,
                             char *const argv[])
{
    llm_audit_srv_t *sc = llm_audit_srv(cmd->server);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    llm_audit_price_t pr;

    if (err) {
        return err;
    }
    if (argc != 4) {
        return "LLMAuditPrice takes a model pattern and three prices in USD "
               "per million tokens: input, cached input, output "
               "(e.g. LLMAuditPrice claude-sonnet-* 3 0.30 15)";
    }
    pr.pattern = argv[0];
    if ((err = parse_price(cmd, "input", argv[1], &pr.input))
        || (err = parse_price(cmd, "cached input", argv[2], &pr.cached_input))
        || (err = parse_price(cmd, "output", argv[3], &pr.output))) {
        return err;
    }
    if (!sc->prices_set) {
        /* The first line in this context starts its own list. */
        sc->prices = apr_array_make(cmd->pool, 8, sizeof(llm_audit_price_t));
        sc->prices_set = 1;
    }
    *(llm_audit_price_t *)apr_array_push(sc->prices) = pr;
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dcv, int on)
{
    llm_audit_dir_t *dc = dcv;

    if ((int)(apr_uintptr_t)cmd->info == 0) {
        dc->enabled = on;
    }
    else {
        dc->required = on;
    }
    return NULL;
}

static const char *set_bodies(cmd_parms *cmd, void *dcv, const char *arg)
{
    llm_audit_dir_t *dc = dcv;

    if (!strcasecmp(arg, "off")) {
        dc->bodies = LLM_AUDIT_BODIES_OFF;
    }
    else if (!strcasecmp(arg, "redacted")) {
        dc->bodies = LLM_AUDIT_BODIES_REDACTED;
    }
    else if (!strcasecmp(arg, "full")) {
        dc->bodies = LLM_AUDIT_BODIES_FULL;
    }
    else {
        return apr_psprintf(cmd->pool, "LLMAuditBodies: '%s' is not one of "
                            "off, redacted, full", arg);
    }
    return NULL;
}

static const char *set_body_max(cmd_parms *cmd, void *dcv, const char *arg)
{
    llm_audit_dir_t *dc = dcv;

    return parse_size(cmd, arg, 0, &dc->body_max);
}

const command_rec llm_audit_cmds[] = {
    AP_INIT_FLAG("LLMAudit", set_flag, (void *)0, RSRC_CONF | ACCESS_CONF,
                 "On (default) to write an audit record for every gateway "
                 "request here, Off to write none"),
    AP_INIT_FLAG("LLMAuditRequired", set_flag, (void *)1,
                 RSRC_CONF | ACCESS_CONF,
                 "On to answer 503 rather than serve a request that can be "
                 "neither stored nor spooled"),
    AP_INIT_TAKE1("LLMAuditBodies", set_bodies, NULL, RSRC_CONF | ACCESS_CONF,
                  "off (default), redacted (body as sent upstream) or full "
                  "(body as received); stored encrypted"),
    AP_INIT_TAKE1("LLMAuditBodyMax", set_body_max, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest body to capture (bytes, K, M); larger ones are "
                  "recorded as truncated (default 1M)"),
    AP_INIT_TAKE1("LLMAuditKeyFile", set_file, (void *)0, RSRC_CONF,
                  "file holding the chain MAC key (64 hex digits); created "
                  "at first start when missing"),
    AP_INIT_TAKE1("LLMAuditBodyKeyFile", set_file, (void *)1, RSRC_CONF,
                  "file holding the AES-256 body key (64 hex digits); "
                  "needed when LLMAuditBodies is not off"),
    AP_INIT_TAKE1("LLMAuditSpool", set_file, (void *)2, RSRC_CONF,
                  "spool file for records the database cannot take"),
    AP_INIT_TAKE1("LLMAuditSpoolMaxSize", set_spool_max, NULL, RSRC_CONF,
                  "largest spool size (bytes, K, M, G; default 64M)"),
    AP_INIT_TAKE2("LLMAuditSchema", set_schema, NULL, RSRC_CONF,
                  "driver (sqlite3, pgsql) and SQL file run on each new "
                  "connection of that driver before its first insert"),
    AP_INIT_TAKE1("LLMAuditReplayInterval", set_replay_interval, NULL,
                  RSRC_CONF,
                  "seconds between spool replay attempts (default 5)"),
    AP_INIT_TAKE12("LLMAuditBatch", set_batch, NULL, RSRC_CONF,
                   "off (default), or rows [milliseconds]: a writer thread "
                   "per process stores up to that many records in one "
                   "transaction, waiting at most that long (default 20)"),
    AP_INIT_TAKE_ARGV("LLMAuditPrice", set_price, NULL, RSRC_CONF,
                      "model-pattern input cached-input output: USD per "
                      "million tokens; first matching line wins"),
    { NULL }
};

double llm_audit_cost(const llm_audit_srv_t *sc, const char *model,
                      apr_int64_t in, apr_int64_t cached, apr_int64_t out)
{
    int i;

    if (!model || !sc->prices) {
        return -1;
    }
    for (i = 0; i < sc->prices->nelts; i++) {
        const llm_audit_price_t *pr = &APR_ARRAY_IDX(sc->prices, i,
                                                     llm_audit_price_t);

        if (apr_fnmatch(pr->pattern, model, 0) == APR_SUCCESS) {
            /* tokens_in counts every input token, the cached ones too
             * (OpenAI's prompt_tokens, Anthropic's input plus cache
             * reads): bill the cached share at its own price. */
            apr_int64_t fresh = in > cached ? in - cached : 0;

            return ((double)fresh * pr->input
                    + (double)cached * pr->cached_input
                    + (double)out * pr->output) / 1e6;
        }
    }
    return -1;
}
