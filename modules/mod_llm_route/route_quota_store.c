/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The quota counters' store: the node's shared memory, or Redis for a
 * fleet of nodes (LLMRouteQuotaStore), and the rule for when Redis does
 * not answer (LLMRouteQuotaStoreFailure).
 *
 *     LLMRouteQuotaStore redis://gw:/etc/llm-gateway/redis.pass@10.0.0.5:6379/0 \
 *                        redis://gw:/etc/llm-gateway/redis.pass@10.0.0.6:6379/0 \
 *                        timeout=50ms
 *     LLMRouteQuotaStoreFailure open
 *
 * The password is read from its file when the configuration is read (as
 * root, so the file can be root's alone); only the file's name is ever
 * written anywhere.
 *
 * Whether Redis answers is one word in a small shared segment, flipped
 * by the first request that finds it changed: each loss and each return
 * is logged once per node, and the metrics count the requests that were
 * counted on this node instead (open) or refused (closed).
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_lib.h"
#include "apr_optional.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "llm_shm_lock.h"
#include "route_internal.h"
#include "route_quota.h"
#include "route_quota_store.h"

APLOG_USE_MODULE(llm_route);

#define HEALTH_USERDATA "llm_route::quota_store_health/1"
#define PASSWORD_MAX 4096

/* Shared by the node's processes, kept across graceful restarts. */
typedef struct {
    llm_shm_lock_t lock;
    apr_uint32_t down;           /* 1 while Redis does not answer */
    apr_uint64_t failures;       /* calls Redis did not answer */
    apr_uint64_t fallbacks;      /* requests counted here instead (open) */
    apr_uint64_t refused;        /* requests refused with 503 (closed) */
    apr_uint64_t outages;        /* times it stopped answering */
} health_t;

/* Set in post_config of each generation and inherited by its children,
 * like the configuration itself; the counters live in shared memory or
 * in Redis, the connection in each child (route_counter_redis.c). */
static llm_counter_store_t *store_local;
static llm_counter_store_t *store_shared;
static const llm_quota_store_conf_t *store_conf;
static health_t *health;

/* -- configuration --------------------------------------------------------- */

static llm_quota_store_conf_t *conf_of(cmd_parms *cmd)
{
    llm_route_server_conf_t *sc = llm_route_srv(cmd->server);

    if (!sc->quota_store) {
        sc->quota_store = apr_pcalloc(cmd->pool, sizeof(*sc->quota_store));
        sc->quota_store->servers = apr_array_make(cmd->pool, 2,
                                                  sizeof(llm_redis_server_t));
        sc->quota_store->timeout = LLM_QUOTA_STORE_TIMEOUT;
    }
    return sc->quota_store;
}

static const char *read_password(cmd_parms *cmd, llm_redis_server_t *srv)
{
    const char *path = ap_server_root_relative(cmd->pool, srv->password_file);
    apr_file_t *f;
    char *buf = apr_palloc(cmd->pool, PASSWORD_MAX + 1);
    apr_size_t len = PASSWORD_MAX + 1;
    apr_status_t rv;

    if (!path || (rv = apr_file_open(&f, path, APR_FOPEN_READ
                                     | APR_FOPEN_BINARY, 0, cmd->temp_pool))
                     != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: cannot open "
                            "the password file %s", srv->url,
                            srv->password_file);
    }
    rv = apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: cannot read "
                            "the password file %s", srv->url,
                            srv->password_file);
    }
    if (len > PASSWORD_MAX) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: the password "
                            "file %s is longer than %d bytes", srv->url,
                            srv->password_file, PASSWORD_MAX);
    }
    /* An editor's final newline is not part of the password. */
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    if (!len) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: the password "
                            "file %s is empty", srv->url, srv->password_file);
    }
    buf[len] = '\0';
    srv->password = buf;
    srv->password_len = len;
    return NULL;
}

/* redis://[user:password-file@]host[:port][/db] */
static const char *parse_url(cmd_parms *cmd, const char *url,
                             llm_redis_server_t *srv)
{
    const char *rest = url + 8, *at = strrchr(rest, '@'), *h, *e;
    char *end;
    apr_int64_t v;

    memset(srv, 0, sizeof(*srv));
    srv->port = 6379;
    /* What logs and errors show: never the part before '@', in case
     * someone wrote a password there after all. */
    url = apr_pstrcat(cmd->pool, "redis://", at ? at + 1 : rest, NULL);
    srv->url = url;
    if (at) {
        const char *colon = memchr(rest, ':', at - rest);

        if (!colon || colon[1] != '/') {
            return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: the "
                                "credentials are user:/path/of/password-file@ "
                                "(the user may be empty; the password is read "
                                "from the file, never written here)", url);
        }
        srv->user = colon > rest ? apr_pstrmemdup(cmd->pool, rest,
                                                  colon - rest) : NULL;
        srv->password_file = apr_pstrmemdup(cmd->pool, colon + 1,
                                            at - colon - 1);
        h = at + 1;
    }
    else {
        h = rest;
    }
    if (*h == '[') {
        if (!(e = strchr(h, ']'))) {
            return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: '[' "
                                "without ']'", url);
        }
        srv->host = apr_pstrmemdup(cmd->pool, h + 1, e - h - 1);
        e++;
    }
    else {
        e = h + strcspn(h, ":/");
        srv->host = apr_pstrmemdup(cmd->pool, h, e - h);
    }
    if (!*srv->host) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: no host",
                            url);
    }
    if (*e == ':') {
        v = apr_strtoi64(e + 1, &end, 10);
        if (end == e + 1 || v < 1 || v > 65535) {
            return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: the port "
                                "is not a number from 1 to 65535", url);
        }
        srv->port = (int)v;
        e = end;
    }
    if (*e == '/' && e[1]) {
        v = apr_strtoi64(e + 1, &end, 10);
        if (end == e + 1 || *end || v < 0 || v > 100000) {
            return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: the "
                                "database is not a number", url);
        }
        srv->db = (int)v;
        e = end;
    }
    else if (*e == '/') {
        e++;
    }
    if (*e) {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStore %s: unexpected "
                            "'%s' (redis://[user:password-file@]host:port/db)",
                            url, e);
    }
    return srv->password_file ? read_password(cmd, srv) : NULL;
}

const char *llm_route_cmd_quota_store(cmd_parms *cmd, void *dcv,
                                      const char *args)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    llm_quota_store_conf_t *conf;
    int shm = 0, options = 0;

    if (err) {
        return err;
    }
    conf = conf_of(cmd);
    if (conf->servers->nelts) {
        return "LLMRouteQuotaStore is set twice";
    }
    while (*args) {
        const char *w = ap_getword_conf(cmd->pool, &args);

        if (!strcasecmp(w, "shm")) {
            shm = 1;
        }
        else if (!strncasecmp(w, "redis://", 8)) {
            llm_redis_server_t *srv = apr_array_push(conf->servers);

            if ((err = parse_url(cmd, w, srv)) != NULL) {
                return err;
            }
        }
        else if (!strncasecmp(w, "timeout=", 8)) {
            apr_interval_time_t t;

            if (ap_timeout_parameter_parse(w + 8, &t, "ms") != APR_SUCCESS
                || t < apr_time_from_msec(1) || t > apr_time_from_sec(10)) {
                return apr_psprintf(cmd->pool, "LLMRouteQuotaStore: '%s' is "
                                    "not a time from 1ms to 10s (e.g. "
                                    "timeout=50ms)", w + 8);
            }
            conf->timeout = t;
            options = 1;
        }
        else if (!strcasecmp(w, "tls") || !strncasecmp(w, "rediss://", 9)) {
            /* Debian 12's hiredis (0.14) has no TLS library; it came
             * with 1.0 (hiredis_ssl). */
            return "LLMRouteQuotaStore: TLS to Redis is not available in "
                   "this build (its hiredis has no TLS support): reach "
                   "Redis over a private network or through a TLS tunnel "
                   "on 127.0.0.1";
        }
        else if (*w) {
            return apr_psprintf(cmd->pool, "LLMRouteQuotaStore: '%s' is not "
                                "shm, redis://[user:password-file@]host:port"
                                "/db or timeout=", w);
        }
    }
    if (shm && (conf->servers->nelts || options)) {
        return "LLMRouteQuotaStore shm takes nothing else";
    }
    if (!shm && !conf->servers->nelts) {
        return "LLMRouteQuotaStore: usage: shm | redis://[user:password-file"
               "@]host:port/db [redis://... (tried in order)] "
               "[timeout=50ms]";
    }
    return NULL;
}

const char *llm_route_cmd_quota_store_failure(cmd_parms *cmd, void *dcv,
                                              const char *mode)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (!strcasecmp(mode, "open")) {
        conf_of(cmd)->failure_closed = 0;
    }
    else if (!strcasecmp(mode, "closed")) {
        conf_of(cmd)->failure_closed = 1;
    }
    else {
        return apr_psprintf(cmd->pool, "LLMRouteQuotaStoreFailure: '%s' is "
                            "not open or closed", mode);
    }
    return NULL;
}

/* -- health ------------------------------------------------------------------ */

static apr_status_t health_attach(server_rec *s)
{
    apr_pool_t *gp = s->process->pool;
    apr_shm_t *shm;
    apr_status_t rv;

    health = NULL;
    apr_pool_userdata_get((void **)&health, HEALTH_USERDATA, gp);
    if (health) {
        return APR_SUCCESS;
    }
    /* Anonymous, on the process pool: every child of every generation
     * sees the same figures. */
    rv = apr_shm_create(&shm, sizeof(health_t), NULL, gp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02510)
                     "quota store: cannot create the shared health word");
        return rv;
    }
    health = apr_shm_baseaddr_get(shm);
    memset(health, 0, sizeof(*health));
    apr_pool_userdata_set(health, HEALTH_USERDATA, apr_pool_cleanup_null,
                          gp);
    return APR_SUCCESS;
}

static const char *cause(apr_pool_t *p, apr_status_t rv)
{
    switch (rv) {
    case APR_TIMEUP:
        return apr_psprintf(p, "no answer within %" APR_TIME_T_FMT " ms",
                            apr_time_as_msec(store_conf->timeout));
    case APR_EAGAIN:
        return "waiting before connecting again";
    case APR_ECONNREFUSED:
        return "no server of the list takes a connection as primary";
    case APR_ECONNRESET:
        return "the connection broke";
    case LLM_QUOTA_STORE_EPROTO:
        return "the server refused the counter script or answered out of "
               "protocol";
    case APR_EINIT:
        return "this child has no connection (see the startup log)";
    default:
        return "unexpected failure";
    }
}

static void health_failed(request_rec *r, apr_status_t rv, int fallback)
{
    int first = 0;

    llm_shm_lock(&health->lock);
    health->failures++;
    if (fallback) {
        health->fallbacks++;
    }
    else {
        health->refused++;
    }
    /* A child still pausing before it reconnects has learnt nothing new:
     * Redis may have come back for the others already. */
    if (!health->down && rv != APR_EAGAIN) {
        health->down = 1;
        health->outages++;
        first = 1;
    }
    llm_shm_unlock(&health->lock);
    if (first) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02511)
                      "quota store: Redis does not answer (%s): %s until it "
                      "answers again", cause(r->pool, rv),
                      fallback ? "counting quotas on this node's shared "
                                 "memory (LLMRouteQuotaStoreFailure open)"
                               : "refusing requests with 503 "
                                 "(LLMRouteQuotaStoreFailure closed)");
    }
}

static void health_ok(request_rec *r)
{
    int back = 0;

    /* Read without the lock: only the flip needs it. */
    if (!health->down) {
        return;
    }
    llm_shm_lock(&health->lock);
    if (health->down) {
        health->down = 0;
        back = 1;
    }
    llm_shm_unlock(&health->lock);
    if (back) {
        /* At warn, the sample's LogLevel: the end of an outage belongs
         * beside its start. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(02512)
                      "quota store: Redis answers again; quotas are counted "
                      "there");
    }
}

void llm_quota_store_count_failures(int n)
{
    if (health) {
        llm_shm_lock(&health->lock);
        health->failures += n;
        llm_shm_unlock(&health->lock);
    }
}

/* The metrics page (mod_llm_audit's llm-metrics handler) calls this
 * through route's llm_route_quota_metrics (mod_llm_route.c). */
void llm_quota_store_metrics(request_rec *r)
{
    health_t h;

    if (!store_shared || !health) {
        return;
    }
    llm_shm_lock(&health->lock);
    h = *health;
    llm_shm_unlock(&health->lock);
    ap_rprintf(r,
        "# HELP llm_gateway_quota_store_up 1 while the shared quota store "
        "(Redis) answers.\n"
        "# TYPE llm_gateway_quota_store_up gauge\n"
        "llm_gateway_quota_store_up %d\n"
        "# HELP llm_gateway_quota_store_failures_total Calls to the shared "
        "quota store that failed or timed out.\n"
        "# TYPE llm_gateway_quota_store_failures_total counter\n"
        "llm_gateway_quota_store_failures_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_quota_store_fallbacks_total Requests counted on "
        "this node's shared memory because the shared store did not "
        "answer.\n"
        "# TYPE llm_gateway_quota_store_fallbacks_total counter\n"
        "llm_gateway_quota_store_fallbacks_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_quota_store_refused_total Requests refused with "
        "503 because the shared store did not answer.\n"
        "# TYPE llm_gateway_quota_store_refused_total counter\n"
        "llm_gateway_quota_store_refused_total %" APR_UINT64_T_FMT "\n"
        "# HELP llm_gateway_quota_store_outages_total Times the shared "
        "store stopped answering.\n"
        "# TYPE llm_gateway_quota_store_outages_total counter\n"
        "llm_gateway_quota_store_outages_total %" APR_UINT64_T_FMT "\n",
        h.down ? 0 : 1, h.failures, h.fallbacks, h.refused, h.outages);
}

/* -- the calls ---------------------------------------------------------------- */

int llm_quota_store_ready(void)
{
    return store_local != NULL;
}

apr_status_t llm_quota_store_reserve(request_rec *r, llm_counter_op_t *ops,
                                     int n, apr_time_t now,
                                     llm_counter_store_t **used)
{
    apr_status_t rv;

    if (store_shared) {
        rv = store_shared->vt->reserve(store_shared, ops, n, now);
        if (rv == APR_SUCCESS || rv == APR_EGENERAL) {
            health_ok(r);
            *used = store_shared;
            return rv;
        }
        health_failed(r, rv, !store_conf->failure_closed);
        if (store_conf->failure_closed) {
            *used = NULL;
            return LLM_QUOTA_STORE_CLOSED;
        }
    }
    *used = store_local;
    return store_local->vt->reserve(store_local, ops, n, now);
}

void llm_quota_store_add(request_rec *r, llm_counter_store_t *used,
                         llm_counter_op_t *ops, int n, apr_time_t now)
{
    apr_status_t rv = used->vt->add(used, ops, n, now);

    if (used != store_shared) {
        return;
    }
    if (rv == APR_SUCCESS) {
        health_ok(r);
        return;
    }
    /* The request was counted in Redis with its estimate; the
     * correction to its real usage could not be sent. */
    llm_quota_store_count_failures(1);
    /* During an outage (logged when it began) one line per request
     * would drown the log. */
    ap_log_rerror(APLOG_MARK, health->down ? APLOG_DEBUG : APLOG_WARNING,
                  0, r, LLMNO(02513)
                  "quota store: the token correction after the answer could "
                  "not be sent to Redis (%s); the estimate stays counted",
                  cause(r->pool, rv));
}

/* -- lifecycle ---------------------------------------------------------------- */

apr_status_t llm_quota_store_setup(apr_pool_t *pconf, server_rec *s,
                                   int used, llm_counter_store_t **local)
{
    llm_route_server_conf_t *sc = llm_route_srv(s);
    apr_status_t rv;

    store_local = store_shared = NULL;
    store_conf = NULL;
    health = NULL;
    *local = NULL;
    if (!used) {
        return APR_SUCCESS;
    }
    rv = llm_counter_shm_attach(&store_local, pconf, s,
                                llm_route_quota_slots(sc),
                                llm_route_quota_restore(sc));
    if (rv != APR_SUCCESS) {
        store_local = NULL;
        return rv;
    }
    *local = store_local;
    if (!sc->quota_store || !sc->quota_store->servers->nelts) {
        return APR_SUCCESS;
    }
    store_conf = sc->quota_store;
    if ((rv = health_attach(s)) != APR_SUCCESS
        || (rv = llm_counter_redis_create(&store_shared, pconf, s,
                                          store_conf)) != APR_SUCCESS) {
        store_local = store_shared = NULL;
        return rv;
    }
    return APR_SUCCESS;
}

static void quota_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (store_local) {
        llm_counter_shm_child_init(store_local);
    }
    if (store_shared) {
        llm_counter_redis_child_init(store_shared, pchild, s);
    }
}

void llm_quota_store_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(quota_store_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
