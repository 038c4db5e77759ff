/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * Counters in Redis, shared by every gateway node (route_counter_store.h).
 *
 * The keys are the quota policy's own (route_quota.c builds them), so a
 * counter means the same in Redis as in the node's shared memory.  A
 * reserve and a correction are each one Lua script, run atomically by
 * Redis: a reserve reads every counter of the batch, refuses when one
 * would pass its limit, else adds to all of them; a counter created by a
 * script gets the rest of its window as its TTL, so windows end by
 * themselves.  The scripts are sent by their SHA1 (EVALSHA); a Redis that
 * does not know them (restarted, failed over, SCRIPT FLUSH) answers
 * NOSCRIPT, which runs nothing, and they are loaded and sent again.
 *
 * The correction after an answer is sent without waiting for its reply,
 * which is read with the connection's next use: a request then waits for
 * Redis once (its reserve), and its correction is run at once all the
 * same.  The scripts are loaded when a connection is made, so that a
 * correction finds its script; after a SCRIPT FLUSH a correction may wait
 * for its child's next call to be sent again.
 *
 * One connection per httpd child, made at its first use and shared by the
 * child's threads in turn under a mutex that waits at most the timeout.
 * The connection is the only mutable state: it hangs off this store,
 * which lives in the configuration pool, copied into each child by fork,
 * so every child writes only its own copy (llm_counter_redis_child_init).
 *
 * Servers are tried in the order configured; with more than one, only a
 * primary (ROLE master) is kept, so that after a failover the nodes find
 * the promoted replica.  A connection the server has closed (restart,
 * idle timeout) is noticed before a command is sent on it and made again.
 * A command that was sent and failed is never sent again: Redis may have
 * run it, and a second run would count the request twice.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_sha1.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "llm_gateway.h"
#include "route_counter_store.h"
#include "route_quota_store.h"

APLOG_USE_MODULE(llm_route);

/* After two failures in a row, a child waits this long before it tries
 * to connect again: while Redis is away, requests do not each pay for a
 * connection attempt. */
#define REDIS_RETRY apr_time_from_msec(250)
#define REDIS_MAX_OPS 64

/* KEYS: the counters.  ARGV: amount, limit (< 0: none), window in ms,
 * for each.  Returns refused (0/1), then value, ms left, over for each. */
static const char reserve_lua[] =
    "local n = #KEYS\n"
    "local out = {0}\n"
    "local fresh = {}\n"
    "for i = 1, n do\n"
    "  local b = 3 * (i - 1)\n"
    "  local amount = tonumber(ARGV[b + 1])\n"
    "  local limit = tonumber(ARGV[b + 2])\n"
    "  local v = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  local ttl = redis.call('PTTL', KEYS[i])\n"
    "  if ttl < 0 then\n"
    "    ttl = tonumber(ARGV[b + 3])\n"
    "    fresh[i] = true\n"
    "  end\n"
    "  local over = 0\n"
    "  if limit >= 0 and v + amount > limit then\n"
    "    over = 1\n"
    "    out[1] = 1\n"
    "  end\n"
    "  out[3 * i - 1] = v\n"
    "  out[3 * i] = ttl\n"
    "  out[3 * i + 1] = over\n"
    "end\n"
    "if out[1] == 0 then\n"
    "  for i = 1, n do\n"
    "    local b = 3 * (i - 1)\n"
    "    out[3 * i - 1] = redis.call('INCRBY', KEYS[i], ARGV[b + 1])\n"
    "    if fresh[i] then\n"
    "      redis.call('PEXPIRE', KEYS[i], ARGV[b + 3])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: the counters.  ARGV: amount (may be negative), window in ms, for
 * each.  No counter goes below zero.  Returns value, ms left for each. */
static const char add_lua[] =
    "local out = {}\n"
    "for i = 1, #KEYS do\n"
    "  local v = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])\n"
    "  local ttl = redis.call('PTTL', KEYS[i])\n"
    "  if ttl < 0 then\n"
    "    ttl = tonumber(ARGV[2 * i])\n"
    "    redis.call('PEXPIRE', KEYS[i], ttl)\n"
    "  end\n"
    "  if v < 0 then\n"
    "    redis.call('INCRBY', KEYS[i], -v)\n"
    "    v = 0\n"
    "  end\n"
    "  out[2 * i - 1] = v\n"
    "  out[2 * i] = ttl\n"
    "end\n"
    "return out\n";

static const char NOT_PRIMARY[] = "not the primary (ROLE is not master)";

/* Commands sent whose replies are read with the connection's next use:
 * a correction, and after NOSCRIPT a SCRIPT LOAD and the correction again
 * (conn_drain). */
#define REDIS_PENDING_MAX 4
/* A connection idle this long is checked before use: a restarted Redis
 * is down for longer than this. */
#define REDIS_IDLE_CHECK apr_time_from_msec(100)

/* A correction sent and not yet confirmed; cmd NULL: a SCRIPT LOAD. */
typedef struct {
    char *cmd;                   /* the formatted command (malloc) */
    int len;
    int resent;                  /* sent again after NOSCRIPT */
} pending_t;

/* The child's connection (see the top of the file). */
typedef struct {
    apr_thread_mutex_t *mu;
    redisContext *c;
    int at;                      /* the server c talks to */
    int fails;                   /* failures in a row */
    apr_time_t retry_at;         /* no new connection before this */
    apr_time_t used;             /* when a command was last sent */
    int step;                    /* socket timeout set, in eighths of the
                                  * configured one; < 0: other, 0: none */
    pending_t pending[REDIS_PENDING_MAX];
    int npending;
    server_rec *s;
} redis_conn_t;

typedef struct {
    const llm_quota_store_conf_t *conf;
    char reserve_sha[41];
    char add_sha[41];
    redis_conn_t *conn;          /* this child's; NULL in the parent */
    llm_counter_store_t store;
} redis_store_t;

static void sha1_hex(const char *text, char *out)
{
    apr_sha1_ctx_t ctx;
    unsigned char d[APR_SHA1_DIGESTSIZE];
    int i;

    apr_sha1_init(&ctx);
    apr_sha1_update(&ctx, text, (unsigned int)strlen(text));
    apr_sha1_final(d, &ctx);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        apr_snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

static struct timeval tv_of(apr_interval_time_t t)
{
    struct timeval tv;

    if (t < 1000) {
        t = 1000;
    }
    tv.tv_sec = (long)apr_time_sec(t);
    tv.tv_usec = (long)apr_time_usec(t);
    return tv;
}

static const llm_redis_server_t *server_at(const redis_store_t *rs, int i)
{
    return &APR_ARRAY_IDX(rs->conf->servers, i, llm_redis_server_t);
}

static void pending_pop(redis_conn_t *cn)
{
    free(cn->pending[0].cmd);
    cn->npending--;
    memmove(&cn->pending[0], &cn->pending[1],
            cn->npending * sizeof(pending_t));
}

/* Corrections sent on a connection that broke may or may not have been
 * run: they are not sent again (a second run would count twice). */
static void conn_drop(redis_conn_t *cn)
{
    int lost = 0;

    while (cn->npending) {
        lost += cn->pending[0].cmd != NULL;
        pending_pop(cn);
    }
    if (lost) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s, LLMNO(02507)
                     "quota store: the connection to Redis broke with %d "
                     "token correction(s) unconfirmed; their requests keep "
                     "their estimates if Redis did not run them", lost);
        llm_quota_store_count_failures(lost);
    }
    if (cn->c) {
        redisFree(cn->c);
        cn->c = NULL;
    }
}

static apr_status_t conn_cleanup(void *data)
{
    conn_drop(data);
    return APR_SUCCESS;
}

/* The socket waits at most until the deadline.  The timeout is set in
 * eighths of the configured one, rounded down, so that a request which
 * found the connection free (nearly all) needs no system call for it. */
static apr_status_t conn_deadline(redis_conn_t *cn, apr_interval_time_t t,
                                  apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();
    int step;

    if (left <= 0) {
        return APR_TIMEUP;
    }
    step = (int)(left * 8 / t);
    if (step < 1) {
        step = -1;
    }
    if (step != cn->step || step < 0) {
        if (redisSetTimeout(cn->c, tv_of(step > 0 ? t * step / 8 : left))
            != REDIS_OK) {
            return APR_EGENERAL;
        }
        cn->step = step;
    }
    return APR_SUCCESS;
}

static apr_status_t io_status(redis_conn_t *cn)
{
    apr_status_t rv = cn->c->err == REDIS_ERR_IO
                          && (errno == EAGAIN || errno == EWOULDBLOCK)
                          ? APR_TIMEUP : APR_ECONNRESET;

    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, cn->s, LLMNO(02500)
                 "quota store: Redis connection failed: %s", cn->c->errstr);
    return rv;
}

/* Send what hiredis holds for the server. */
static apr_status_t conn_flush(redis_conn_t *cn)
{
    int done = 0;

    cn->used = apr_time_now();
    while (!done) {
        if (redisBufferWrite(cn->c, &done) != REDIS_OK) {
            return io_status(cn);
        }
    }
    return APR_SUCCESS;
}

/* A command and its reply; NULL when the connection failed (dropped). */
static redisReply *conn_command(redis_conn_t *cn, apr_interval_time_t t,
                                apr_time_t deadline, int argc,
                                const char **argv, const size_t *lens,
                                apr_status_t *rv)
{
    redisReply *reply;

    if ((*rv = conn_deadline(cn, t, deadline)) != APR_SUCCESS) {
        conn_drop(cn);
        return NULL;
    }
    cn->used = apr_time_now();
    reply = redisCommandArgv(cn->c, argc, argv, lens);
    if (!reply) {
        *rv = io_status(cn);
        conn_drop(cn);
    }
    return reply;
}

/* Both scripts, in one round trip, when a connection is made: a
 * correction is sent without waiting for its answer (redis_add), so it
 * should not meet a Redis that lacks its script.  NULL when loaded. */
static const char *scripts_load(redis_conn_t *cn, const redis_store_t *rs,
                                apr_time_t deadline)
{
    const char *scripts[2] = { reserve_lua, add_lua };
    const char *shas[2] = { rs->reserve_sha, rs->add_sha };
    const char *why = NULL;
    int i;

    for (i = 0; i < 2; i++) {
        const char *argv[3] = { "SCRIPT", "LOAD", scripts[i] };
        size_t lens[3] = { 6, 4, strlen(scripts[i]) };

        if (redisAppendCommandArgv(cn->c, 3, argv, lens) != REDIS_OK) {
            return "out of memory";
        }
    }
    if (conn_deadline(cn, rs->conf->timeout, deadline) != APR_SUCCESS) {
        return "no time left to load the scripts";
    }
    for (i = 0; i < 2; i++) {
        redisReply *reply = NULL;

        if (redisGetReply(cn->c, (void **)&reply) != REDIS_OK || !reply) {
            return "no answer to SCRIPT LOAD";
        }
        if (!why && (reply->type != REDIS_REPLY_STRING
                     || strcmp(reply->str, shas[i]))) {
            why = reply->type == REDIS_REPLY_ERROR
                      ? "SCRIPT LOAD refused (the user needs +script|load)"
                      : "SCRIPT LOAD answered another SHA1";
        }
        freeReplyObject(reply);
    }
    return why;
}

/* Log in, pick the database and, with a list of servers, make sure this
 * one is the primary; load the scripts.  NULL when it will do; else why
 * not. */
static const char *conn_setup(redis_conn_t *cn, const redis_store_t *rs,
                              const llm_redis_server_t *srv,
                              apr_time_t deadline, apr_pool_t *p)
{
    apr_interval_time_t t = rs->conf->timeout;
    const char *argv[3];
    size_t lens[3];
    redisReply *reply;
    apr_status_t rv;
    const char *why = NULL;

    if (srv->password) {
        int k = 0;

        argv[k] = "AUTH";
        lens[k++] = 4;
        if (srv->user) {
            argv[k] = srv->user;
            lens[k++] = strlen(srv->user);
        }
        argv[k] = srv->password;
        lens[k++] = srv->password_len;
        if (!(reply = conn_command(cn, t, deadline, k, argv, lens, &rv))) {
            return "no answer to AUTH";
        }
        /* Redis's answer names the failure, never the password. */
        if (reply->type == REDIS_REPLY_ERROR) {
            why = apr_pstrcat(p, "AUTH refused (password from ",
                              srv->password_file, "): ", reply->str, NULL);
        }
        freeReplyObject(reply);
        if (why) {
            return why;
        }
    }
    if (srv->db) {
        const char *db = apr_itoa(p, srv->db);

        argv[0] = "SELECT";
        lens[0] = 6;
        argv[1] = db;
        lens[1] = strlen(db);
        if (!(reply = conn_command(cn, t, deadline, 2, argv, lens, &rv))) {
            return "no answer to SELECT";
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            why = apr_pstrcat(p, "SELECT ", db, " refused: ", reply->str,
                              NULL);
        }
        freeReplyObject(reply);
        if (why) {
            return why;
        }
    }
    if (rs->conf->servers->nelts > 1) {
        argv[0] = "ROLE";
        lens[0] = 4;
        if (!(reply = conn_command(cn, t, deadline, 1, argv, lens, &rv))) {
            return "no answer to ROLE";
        }
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
            || reply->element[0]->type != REDIS_REPLY_STRING
            || strcmp(reply->element[0]->str, "master")) {
            why = NOT_PRIMARY;
        }
        freeReplyObject(reply);
        if (why) {
            return why;
        }
    }
    return scripts_load(cn, rs, deadline);
}

/* A connection to the first server of the list that takes it. */
static apr_status_t conn_open(redis_conn_t *cn, const redis_store_t *rs,
                              apr_time_t deadline)
{
    apr_pool_t *p;
    apr_status_t rv = APR_ECONNREFUSED;
    int i;

    if (apr_time_now() < cn->retry_at) {
        return APR_EAGAIN;
    }
    apr_pool_create(&p, NULL);
    for (i = 0; i < rs->conf->servers->nelts; i++) {
        const llm_redis_server_t *srv = server_at(rs, i);
        apr_interval_time_t left = deadline - apr_time_now();
        const char *why;

        if (left <= 0) {
            rv = APR_TIMEUP;
            break;
        }
        cn->c = redisConnectWithTimeout(srv->host, srv->port, tv_of(left));
        if (!cn->c || cn->c->err) {
            if (!cn->fails) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s,
                             LLMNO(02501) "quota store: cannot connect to "
                             "%s: %s", srv->url,
                             cn->c ? cn->c->errstr : "out of memory");
            }
            conn_drop(cn);
            continue;
        }
        cn->step = 0;
        if ((why = conn_setup(cn, rs, srv, deadline, p)) != NULL) {
            /* A replica listed before the primary is passed over at
             * every connection: worth a notice, not a warning. */
            if (!cn->fails) {
                ap_log_error(APLOG_MARK, why == NOT_PRIMARY ? APLOG_NOTICE
                             : APLOG_WARNING, 0, cn->s,
                             LLMNO(02502) "quota store: %s: %s", srv->url,
                             why);
            }
            conn_drop(cn);
            /* It took the connection and did not answer in time. */
            if (apr_time_now() >= deadline) {
                rv = APR_TIMEUP;
                break;
            }
            continue;
        }
        if (i > 0) {
            /* The first server is down or a replica: worth knowing. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s, LLMNO(02506)
                         "quota store: counting on %s (server %d of the "
                         "list)", srv->url, i + 1);
        }
        cn->at = i;
        rv = APR_SUCCESS;
        break;
    }
    apr_pool_destroy(p);
    return rv;
}

/* The server closed the connection while it was idle (a restart, its
 * idle timeout): nothing can have been run on it, so a new one is made
 * before the command is sent. */
static int conn_closed_by_server(redis_conn_t *cn)
{
    char b;
    ssize_t k = recv(cn->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    return k >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK
                      && errno != EINTR);
}

static apr_status_t script_load_send(redis_conn_t *cn, const char *script)
{
    const char *argv[3] = { "SCRIPT", "LOAD", script };
    size_t lens[3] = { 6, 4, strlen(script) };

    if (redisAppendCommandArgv(cn->c, 3, argv, lens) != REDIS_OK) {
        return APR_ENOMEM;
    }
    cn->pending[cn->npending].cmd = NULL;
    cn->pending[cn->npending].len = 0;
    cn->pending[cn->npending].resent = 0;
    cn->npending++;
    return APR_SUCCESS;
}

/* Read the replies to the corrections sent earlier.  A correction Redis
 * did not know the script of (NOSCRIPT: not run) is sent again after the
 * script; one it refused is lost (logged, counted). */
static apr_status_t conn_drain(redis_store_t *rs, redis_conn_t *cn,
                               apr_time_t deadline)
{
    apr_status_t rv;

    while (cn->npending) {
        pending_t p = cn->pending[0];
        redisReply *reply = NULL;

        if ((rv = conn_deadline(cn, rs->conf->timeout, deadline))
            != APR_SUCCESS) {
            conn_drop(cn);
            return rv;
        }
        if (redisGetReply(cn->c, (void **)&reply) != REDIS_OK || !reply) {
            rv = io_status(cn);
            conn_drop(cn);
            return rv;
        }
        if (!p.cmd) {
            /* Our SCRIPT LOAD: its answer is the SHA we know. */
            rv = reply->type == REDIS_REPLY_STRING ? APR_SUCCESS
                                                   : LLM_QUOTA_STORE_EPROTO;
            freeReplyObject(reply);
            pending_pop(cn);
            if (rv != APR_SUCCESS) {
                conn_drop(cn);
                return rv;
            }
            continue;
        }
        if (reply->type == REDIS_REPLY_ERROR
            && !strncmp(reply->str, "NOSCRIPT", 8) && !p.resent
            && cn->npending + 2 <= REDIS_PENDING_MAX) {
            freeReplyObject(reply);
            cn->pending[0].cmd = NULL;      /* moved to the end */
            pending_pop(cn);
            if (script_load_send(cn, add_lua) != APR_SUCCESS
                || redisAppendFormattedCommand(cn->c, p.cmd, p.len)
                   != REDIS_OK) {
                free(p.cmd);
                conn_drop(cn);
                return APR_ENOMEM;
            }
            p.resent = 1;
            cn->pending[cn->npending++] = p;
            if ((rv = conn_flush(cn)) != APR_SUCCESS) {
                conn_drop(cn);
                return rv;
            }
            continue;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s, LLMNO(02508)
                         "quota store: %s refused a token correction: %s",
                         server_at(rs, cn->at)->url, reply->str);
            llm_quota_store_count_failures(1);
        }
        freeReplyObject(reply);
        pending_pop(cn);
    }
    return APR_SUCCESS;
}

/* Take the child's connection, made and clear of earlier replies, for
 * one call that must end by the deadline; released by conn_release. */
static apr_status_t conn_acquire(redis_store_t *rs, apr_time_t deadline)
{
    redis_conn_t *cn = rs->conn;
    apr_status_t rv;

    if (!cn) {
        return APR_EINIT;
    }
    rv = apr_thread_mutex_timedlock(cn->mu, rs->conf->timeout);
    if (rv != APR_SUCCESS) {
        return APR_STATUS_IS_TIMEUP(rv) ? APR_TIMEUP : rv;
    }
    if (cn->c && !cn->npending
        && apr_time_now() - cn->used > REDIS_IDLE_CHECK
        && conn_closed_by_server(cn)) {
        conn_drop(cn);
    }
    if (cn->c && cn->npending) {
        /* A failure here is the earlier corrections': a new connection
         * serves this call. */
        conn_drain(rs, cn, deadline);
    }
    if (!cn->c && (rv = conn_open(cn, rs, deadline)) != APR_SUCCESS) {
        /* A pause before reconnecting is not a new failure: counting it
         * would push the next attempt back for as long as requests keep
         * coming. */
        if (rv != APR_EAGAIN && ++cn->fails > 1) {
            cn->retry_at = apr_time_now() + REDIS_RETRY;
        }
        apr_thread_mutex_unlock(cn->mu);
        return rv;
    }
    return APR_SUCCESS;
}

static void conn_release(redis_store_t *rs, apr_status_t rv)
{
    redis_conn_t *cn = rs->conn;

    if (rv == APR_SUCCESS) {
        cn->fails = 0;
        cn->retry_at = 0;
    }
    else if (++cn->fails > 1) {
        cn->retry_at = apr_time_now() + REDIS_RETRY;
    }
    apr_thread_mutex_unlock(cn->mu);
}

/* Run a script and wait for its answer.  *out is freed by the caller. */
static apr_status_t run_script(redis_store_t *rs, const char *sha,
                               int argc, const char **argv,
                               const size_t *lens, redisReply **out)
{
    apr_interval_time_t t = rs->conf->timeout;
    apr_time_t deadline = apr_time_now() + t;
    redis_conn_t *cn = rs->conn;
    redisReply *reply;
    apr_status_t rv;

    *out = NULL;
    if ((rv = conn_acquire(rs, deadline)) != APR_SUCCESS) {
        return rv;
    }
    argv[0] = "EVALSHA";
    argv[1] = sha;
    if (!(reply = conn_command(cn, t, deadline, argc, argv, lens, &rv))) {
        goto done;
    }
    if (reply->type == REDIS_REPLY_ERROR
        && !strncmp(reply->str, "NOSCRIPT", 8)) {
        /* Not run: load the scripts (both: the correction after this
         * request will not wait to learn its own was missing) and send
         * the same call again. */
        const char *why;

        freeReplyObject(reply);
        reply = NULL;
        if ((why = scripts_load(cn, rs, deadline)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, cn->s, LLMNO(02503)
                         "quota store: %s did not load the counter scripts: "
                         "%s", server_at(rs, cn->at)->url, why);
            rv = LLM_QUOTA_STORE_EPROTO;
            conn_drop(cn);
            goto done;
        }
        if (!(reply = conn_command(cn, t, deadline, argc, argv, lens,
                                   &rv))) {
            goto done;
        }
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* READONLY (a replica now), OOM, NOPERM, LOADING ...: another
         * server of the list may do, and a fresh connection finds it. */
        if (!cn->fails) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s, LLMNO(02504)
                         "quota store: %s refused the counter script: %s",
                         server_at(rs, cn->at)->url, reply->str);
        }
        freeReplyObject(reply);
        reply = NULL;
        conn_drop(cn);
        rv = LLM_QUOTA_STORE_EPROTO;
        goto done;
    }
    *out = reply;
done:
    conn_release(rs, rv);
    return rv;
}

/* A reply of count integers; else the connection is not trusted. */
static int integers(const redisReply *reply, size_t count)
{
    size_t i;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != count) {
        return 0;
    }
    for (i = 0; i < count; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            return 0;
        }
    }
    return 1;
}

static apr_int64_t window_ms(const llm_counter_op_t *op, apr_time_t now)
{
    apr_int64_t ms = apr_time_as_msec(op->expires - now);

    return ms > 0 ? ms : 1;
}

/* The fixed head of an EVALSHA (name and SHA are filled in by
 * run_script), the keys, then count numbers per key into nums. */
static int script_args(const char **argv, size_t *lens, char *keycount,
                       const llm_counter_op_t *ops, int n)
{
    int i, argc = 3;

    apr_snprintf(keycount, 16, "%d", n);
    lens[0] = 7;
    lens[1] = 40;
    argv[2] = keycount;
    lens[2] = strlen(keycount);
    for (i = 0; i < n; i++) {
        argv[argc] = ops[i].key;
        lens[argc++] = strlen(ops[i].key);
    }
    return argc;
}

static int push_number(const char **argv, size_t *lens, int argc,
                       char *buf, apr_int64_t v)
{
    apr_snprintf(buf, 24, "%" APR_INT64_T_FMT, v);
    argv[argc] = buf;
    lens[argc] = strlen(buf);
    return argc + 1;
}

static apr_status_t redis_reserve(llm_counter_store_t *st,
                                  llm_counter_op_t *ops, int n,
                                  apr_time_t now)
{
    redis_store_t *rs = st->ctx;
    const char *argv[3 + REDIS_MAX_OPS * 4];
    size_t lens[3 + REDIS_MAX_OPS * 4];
    char keycount[16], nums[REDIS_MAX_OPS * 3][24];
    redisReply *reply;
    apr_status_t rv;
    int i, argc, refused;

    if (n > REDIS_MAX_OPS) {
        return APR_EINVAL;
    }
    argc = script_args(argv, lens, keycount, ops, n);
    for (i = 0; i < n; i++) {
        argc = push_number(argv, lens, argc, nums[3 * i], ops[i].amount);
        argc = push_number(argv, lens, argc, nums[3 * i + 1],
                           ops[i].limit < 0 ? -1 : ops[i].limit);
        argc = push_number(argv, lens, argc, nums[3 * i + 2],
                           window_ms(&ops[i], now));
    }
    rv = run_script(rs, rs->reserve_sha, argc, argv, lens, &reply);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!integers(reply, 1 + 3 * (size_t)n)) {
        freeReplyObject(reply);
        return LLM_QUOTA_STORE_EPROTO;
    }
    refused = reply->element[0]->integer != 0;
    for (i = 0; i < n; i++) {
        ops[i].value = reply->element[1 + 3 * i]->integer;
        ops[i].reset = now + apr_time_from_msec(
                                 reply->element[2 + 3 * i]->integer);
        ops[i].over = reply->element[3 + 3 * i]->integer != 0;
        ops[i].unavailable = 0;
    }
    freeReplyObject(reply);
    return refused ? APR_EGENERAL : APR_SUCCESS;
}

/* Sent without waiting: the reply is read with the connection's next
 * use (conn_drain), so a request's correction costs no wait for Redis.
 * The ops' values out are not set. */
static apr_status_t redis_add(llm_counter_store_t *st, llm_counter_op_t *ops,
                              int n, apr_time_t now)
{
    redis_store_t *rs = st->ctx;
    redis_conn_t *cn = rs->conn;
    const char *argv[3 + REDIS_MAX_OPS * 3];
    size_t lens[3 + REDIS_MAX_OPS * 3];
    char keycount[16], nums[REDIS_MAX_OPS * 2][24];
    char *cmd = NULL;
    int i, argc, len;
    apr_status_t rv;

    if (n > REDIS_MAX_OPS) {
        return APR_EINVAL;
    }
    argc = script_args(argv, lens, keycount, ops, n);
    argv[0] = "EVALSHA";
    argv[1] = rs->add_sha;
    for (i = 0; i < n; i++) {
        argc = push_number(argv, lens, argc, nums[2 * i], ops[i].amount);
        argc = push_number(argv, lens, argc, nums[2 * i + 1],
                           window_ms(&ops[i], now));
    }
    if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0) {
        return APR_ENOMEM;
    }
    if ((rv = conn_acquire(rs, apr_time_now() + rs->conf->timeout))
        != APR_SUCCESS) {
        free(cmd);
        return rv;
    }
    /* conn_acquire read every earlier reply: one correction is pending
     * at a time, plus a SCRIPT LOAD and a resend after NOSCRIPT. */
    if (!cn->c) {
        free(cmd);
        conn_release(rs, APR_ECONNRESET);
        return APR_ECONNRESET;
    }
    if (redisAppendFormattedCommand(cn->c, cmd, len) != REDIS_OK) {
        free(cmd);
        conn_release(rs, APR_ENOMEM);
        return APR_ENOMEM;
    }
    cn->pending[cn->npending].cmd = cmd;
    cn->pending[cn->npending].len = len;
    cn->pending[cn->npending].resent = 0;
    cn->npending++;
    if ((rv = conn_flush(cn)) != APR_SUCCESS) {
        conn_drop(cn);
    }
    conn_release(rs, rv);
    return rv;
}

/* Budgets in Redis outlive any node: nothing to rebuild. */
static int redis_restore_claim(llm_counter_store_t *st, apr_time_t *since)
{
    return 0;
}

static void redis_restore_done(llm_counter_store_t *st, int ok)
{
}

static const llm_counter_store_vt_t redis_vt = {
    "redis", redis_reserve, redis_add, redis_restore_claim,
    redis_restore_done
};

apr_status_t llm_counter_redis_create(llm_counter_store_t **st,
                                      apr_pool_t *pconf, server_rec *s,
                                      const llm_quota_store_conf_t *conf)
{
    redis_store_t *rs = apr_pcalloc(pconf, sizeof(*rs));

    rs->conf = conf;
    sha1_hex(reserve_lua, rs->reserve_sha);
    sha1_hex(add_lua, rs->add_sha);
    rs->store.vt = &redis_vt;
    rs->store.ctx = rs;
    *st = &rs->store;
    return APR_SUCCESS;
}

void llm_counter_redis_child_init(llm_counter_store_t *st,
                                  apr_pool_t *pchild, server_rec *s)
{
    redis_store_t *rs = st->ctx;
    redis_conn_t *cn = apr_pcalloc(pchild, sizeof(*cn));
    apr_status_t rv;

    cn->s = s;
    rv = apr_thread_mutex_create(&cn->mu, APR_THREAD_MUTEX_TIMED, pchild);
    if (rv != APR_SUCCESS) {
        /* Without it the store answers APR_EINIT: the failure policy
         * applies to every request of this child. */
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02505)
                     "quota store: cannot create the Redis connection "
                     "mutex of this child");
        return;
    }
    apr_pool_cleanup_register(pchild, cn, conn_cleanup,
                              apr_pool_cleanup_null);
    /* This child's copy of the store (see the top of the file). */
    rs->conn = cn;
}
