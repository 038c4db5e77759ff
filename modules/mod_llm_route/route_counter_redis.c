/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
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
 * which is read with a later batch: a request then waits for Redis once
 * (its reserve), and its correction is run at once all the same.  The
 * scripts are loaded when a connection is made and on NOSCRIPT, so that
 * a correction finds its script; one sent just after a SCRIPT FLUSH is
 * sent again when its reply is read, with the child's next batch.
 *
 * One connection per httpd child, made at its first use.  The child's
 * requests queue their commands; the thread that finds nobody talking to
 * Redis sends everything queued in one write and reads the replies, so
 * that a burst shares round trips instead of queueing for them (with
 * one command per round trip, 200 requests at once made threads wait
 * past the timeout and fall back).  A request waits at most the
 * timeout, queued or sent.
 * The connection is the only mutable state: it hangs off this store,
 * which lives in the configuration pool, copied into each child by fork,
 * so every child writes only its own copy (llm_counter_redis_child_init).
 *
 * Servers are tried in the order configured; with more than one, only a
 * primary (ROLE master) is kept, so that after a failover the nodes find
 * the promoted replica.  A connection idle for a while that the server
 * has closed (restart, idle timeout) is noticed before a command is sent
 * on it and made again.
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
#include "apr_thread_cond.h"
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

/* A connection idle this long is checked before use: a restarted Redis
 * is down for longer than this. */
#define REDIS_IDLE_CHECK apr_time_from_msec(100)

#define ITEM_QUEUED 0
#define ITEM_SENT   1
#define ITEM_DONE   2

/* One command for Redis.  A reserve waits for its reply; a correction
 * (nowait) does not, and a SCRIPT LOAD of our own (cmd NULL) is read and
 * checked by whoever reads replies next. */
typedef struct item_t {
    char *cmd;                   /* the formatted command (malloc) */
    int len;
    int nowait;
    int resent;                  /* sent again after NOSCRIPT */
    int state;                   /* ITEM_* (under the queue mutex) */
    int abandoned;               /* its request stopped waiting: the
                                  * thread that finishes it frees it */
    apr_status_t rv;
    redisReply *reply;
    struct item_t *next;         /* in the queue or the sent list */
    struct item_t *wnext;        /* the waiting items of a batch */
} item_t;

/* The child's connection (see the top of the file).  Requests queue
 * their commands; one thread at a time (busy) sends everything queued in
 * one write and reads the replies, so the child's requests share round
 * trips instead of taking turns.  The fields below the queue belong to
 * that thread. */
typedef struct {
    apr_thread_mutex_t *mu;      /* the queue and busy; never held for I/O */
    apr_thread_cond_t *cv;       /* a batch is done */
    item_t *queued, *queued_tail;
    int busy;
    int waiters;                 /* requests waiting on cv */
    redisContext *c;
    item_t *sent, *sent_tail;    /* replies not read yet, in order */
    int at;                      /* the server c talks to */
    int fails;                   /* failures in a row */
    apr_time_t retry_at;         /* no new connection before this */
    apr_time_t used;             /* when a command was last sent */
    int step;                    /* socket timeout set, in eighths of the
                                  * configured one; < 0: other, 0: none */
    apr_status_t setup_rv;       /* how the last setup command failed */
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

static void item_free(item_t *it)
{
    if (it->reply) {
        freeReplyObject(it->reply);
    }
    free(it->cmd);
    free(it);
}

/* A reply is read for the first item sent; NULL when none. */
static item_t *sent_pop(redis_conn_t *cn)
{
    item_t *it = cn->sent;

    if (it) {
        cn->sent = it->next;
        if (!cn->sent) {
            cn->sent_tail = NULL;
        }
        it->next = NULL;
    }
    return it;
}

static void sent_push(redis_conn_t *cn, item_t *it)
{
    it->next = NULL;
    if (cn->sent_tail) {
        cn->sent_tail->next = it;
    }
    else {
        cn->sent = it;
    }
    cn->sent_tail = it;
}

/* Commands sent on a connection that broke may or may not have been run:
 * they are never sent again (a second run would count twice).  A waiting
 * request gets rv; a correction is counted as lost. */
static void conn_fail_sent(redis_conn_t *cn, apr_status_t rv)
{
    item_t *it;
    int lost = 0;

    while ((it = sent_pop(cn)) != NULL) {
        if (it->nowait) {
            lost += it->cmd != NULL;
            item_free(it);
        }
        else {
            it->rv = rv;         /* handed back by the sending thread */
        }
    }
    if (lost) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s, LLMNO(02507)
                     "quota store: the connection to Redis broke with %d "
                     "token correction(s) unconfirmed; their requests keep "
                     "their estimates if Redis did not run them", lost);
        llm_quota_store_count_failures(lost);
    }
}

/* Close the connection; what was sent and not answered gets rv. */
static void conn_close(redis_conn_t *cn, apr_status_t rv)
{
    conn_fail_sent(cn, rv);
    if (cn->c) {
        redisFree(cn->c);
        cn->c = NULL;
    }
}

static void conn_drop(redis_conn_t *cn)
{
    conn_close(cn, APR_ECONNRESET);
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
        cn->setup_rv = *rv;
        conn_drop(cn);
        return NULL;
    }
    cn->used = apr_time_now();
    reply = redisCommandArgv(cn->c, argc, argv, lens);
    if (!reply) {
        cn->setup_rv = *rv = io_status(cn);
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
            if (cn->c && strstr(cn->c->errstr, "timed out")) {
                rv = APR_TIMEUP;
            }
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
        cn->setup_rv = APR_SUCCESS;
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
            if (cn->setup_rv == APR_TIMEUP) {
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

/* Our own SCRIPT LOADs, queued behind what was sent: read and checked
 * like any reply. */
static apr_status_t scripts_resend(redis_conn_t *cn)
{
    const char *scripts[2] = { reserve_lua, add_lua };
    int i;

    for (i = 0; i < 2; i++) {
        const char *argv[3] = { "SCRIPT", "LOAD", scripts[i] };
        size_t lens[3] = { 6, 4, strlen(scripts[i]) };
        item_t *it = calloc(1, sizeof(*it));

        if (!it || redisAppendCommandArgv(cn->c, 3, argv, lens) != REDIS_OK) {
            free(it);
            return APR_ENOMEM;
        }
        it->nowait = 1;
        it->state = ITEM_SENT;
        sent_push(cn, it);
    }
    return APR_SUCCESS;
}

/* The reply to the first command sent.  A command Redis did not know the
 * script of (NOSCRIPT: not run) is sent again behind the scripts; a
 * request's reply is handed to it; a correction's is checked. */
static apr_status_t read_one(redis_store_t *rs, redis_conn_t *cn,
                             apr_time_t deadline)
{
    redisReply *reply = NULL;
    item_t *it;
    apr_status_t rv;

    if ((rv = conn_deadline(cn, rs->conf->timeout, deadline))
        != APR_SUCCESS) {
        return rv;
    }
    if (redisGetReply(cn->c, (void **)&reply) != REDIS_OK || !reply) {
        return io_status(cn);
    }
    it = sent_pop(cn);
    if (!it->cmd) {
        /* Our SCRIPT LOAD: its answer is a SHA. */
        rv = reply->type == REDIS_REPLY_STRING ? APR_SUCCESS
                                               : LLM_QUOTA_STORE_EPROTO;
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, cn->s, LLMNO(02503)
                         "quota store: %s did not load the counter scripts "
                         "after NOSCRIPT: %s", server_at(rs, cn->at)->url,
                         reply->type == REDIS_REPLY_ERROR ? reply->str
                                                          : "not a SHA1");
        }
        freeReplyObject(reply);
        item_free(it);
        return rv;
    }
    if (reply->type == REDIS_REPLY_ERROR
        && !strncmp(reply->str, "NOSCRIPT", 8) && !it->resent) {
        freeReplyObject(reply);
        if (scripts_resend(cn) != APR_SUCCESS
            || redisAppendFormattedCommand(cn->c, it->cmd, it->len)
               != REDIS_OK) {
            it->rv = APR_ENOMEM;
            if (it->nowait) {
                item_free(it);
            }
            return APR_ENOMEM;
        }
        it->resent = 1;
        sent_push(cn, it);
        return conn_flush(cn);
    }
    if (it->nowait) {
        if (reply->type == REDIS_REPLY_ERROR) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cn->s, LLMNO(02508)
                         "quota store: %s refused a token correction: %s",
                         server_at(rs, cn->at)->url, reply->str);
            llm_quota_store_count_failures(1);
        }
        freeReplyObject(reply);
        item_free(it);
        return APR_SUCCESS;
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
        it->rv = LLM_QUOTA_STORE_EPROTO;
        return LLM_QUOTA_STORE_EPROTO;
    }
    it->reply = reply;
    it->rv = APR_SUCCESS;
    return APR_SUCCESS;
}

/* A waited-for command is still without its reply. */
static int waiting_sent(const redis_conn_t *cn)
{
    const item_t *it;

    for (it = cn->sent; it; it = it->next) {
        if (!it->nowait) {
            return 1;
        }
    }
    return 0;
}

/* Send a batch and read every reply a request waits for (the thread
 * that is busy; no lock held).  Replies to corrections at the end are
 * left for the next batch to read. */
static void send_batch(redis_store_t *rs, redis_conn_t *cn, item_t *batch,
                       apr_time_t deadline)
{
    apr_status_t rv = APR_SUCCESS;
    item_t *it, *next;

    if (cn->c && !cn->sent && apr_time_now() - cn->used > REDIS_IDLE_CHECK
        && conn_closed_by_server(cn)) {
        conn_drop(cn);
    }
    if (!cn->c && (rv = conn_open(cn, rs, deadline)) != APR_SUCCESS) {
        goto failed;
    }
    for (it = batch; it; it = next) {
        next = it->next;
        if (redisAppendFormattedCommand(cn->c, it->cmd, it->len)
            != REDIS_OK) {
            batch = it;          /* these were not sent */
            rv = APR_ENOMEM;
            goto broken;
        }
        sent_push(cn, it);
    }
    batch = NULL;
    if ((rv = conn_flush(cn)) != APR_SUCCESS) {
        goto broken;
    }
    while (waiting_sent(cn)) {
        if ((rv = read_one(rs, cn, deadline)) != APR_SUCCESS) {
            goto broken;
        }
    }
    cn->fails = 0;
    cn->retry_at = 0;
    return;

broken:
    conn_close(cn, rv);
failed:
    /* A pause before reconnecting is not a new failure: counting it
     * would push the next attempt back for as long as requests keep
     * coming. */
    if (rv != APR_EAGAIN && ++cn->fails > 1) {
        cn->retry_at = apr_time_now() + REDIS_RETRY;
    }
    for (it = batch; it; it = next) {
        next = it->next;
        it->next = NULL;
        if (it->nowait) {
            llm_quota_store_count_failures(1);
            item_free(it);
        }
        else {
            it->rv = rv;
        }
    }
}

/* Take what is queued and send it (the caller found nobody busy; the
 * mutex is held on entry and on return, not while talking to Redis). */
static void serve_queue(redis_store_t *rs, redis_conn_t *cn,
                        apr_time_t deadline)
{
    item_t *batch = cn->queued, *waited = NULL, *b, *w, *nw;

    cn->busy = 1;
    cn->queued = cn->queued_tail = NULL;
    for (b = batch; b; b = b->next) {
        b->state = ITEM_SENT;
        if (!b->nowait) {
            b->wnext = waited;
            waited = b;
        }
    }
    apr_thread_mutex_unlock(cn->mu);
    send_batch(rs, cn, batch, deadline);
    apr_thread_mutex_lock(cn->mu);
    cn->busy = 0;
    for (w = waited; w; w = nw) {
        nw = w->wnext;
        w->state = ITEM_DONE;
        if (w->abandoned) {
            item_free(w);
        }
    }
    apr_thread_cond_broadcast(cn->cv);
}

/* Queue a command.  A reserve waits for its reply until the deadline
 * (*out: the reply, freed by the caller); a correction returns at once.
 * A thread that finds nobody busy sends everything queued; one that
 * finishes a batch sends what queued meanwhile when nobody else waits to.
 * The item is freed here, or by the thread that reads its reply when its
 * request stopped waiting. */
static apr_status_t submit(redis_store_t *rs, item_t *it, apr_time_t deadline,
                           redisReply **out)
{
    redis_conn_t *cn = rs->conn;
    int waits = !it->nowait, mine_sent = 0;
    apr_status_t rv;

    if (out) {
        *out = NULL;
    }
    if (!cn) {
        item_free(it);
        return APR_EINIT;
    }
    it->state = ITEM_QUEUED;
    it->rv = APR_EGENERAL;
    it->next = it->wnext = NULL;
    apr_thread_mutex_lock(cn->mu);
    if (cn->queued_tail) {
        cn->queued_tail->next = it;
    }
    else {
        cn->queued = it;
    }
    cn->queued_tail = it;
    for (;;) {
        if (!cn->busy && cn->queued
            && ((waits && it->state == ITEM_QUEUED)
                || (!waits && !mine_sent) || !cn->waiters)) {
            mine_sent = 1;       /* a correction goes with this batch */
            serve_queue(rs, cn, deadline);
            continue;
        }
        if (!waits) {
            /* Sent, or queued behind a batch whose thread (or a waiting
             * one) sends it next. */
            apr_thread_mutex_unlock(cn->mu);
            return APR_SUCCESS;
        }
        if (it->state == ITEM_DONE) {
            break;
        }
        if (apr_time_now() < deadline) {
            cn->waiters++;
            apr_thread_cond_timedwait(cn->cv, cn->mu,
                                      deadline - apr_time_now());
            cn->waiters--;
            continue;
        }
        if (it->state == ITEM_QUEUED) {
            /* Never sent: out of the queue. */
            item_t *prev = NULL, *q = cn->queued;

            while (q && q != it) {
                prev = q;
                q = q->next;
            }
            if (q) {
                if (prev) {
                    prev->next = it->next;
                }
                else {
                    cn->queued = it->next;
                }
                if (cn->queued_tail == it) {
                    cn->queued_tail = prev;
                }
            }
            apr_thread_mutex_unlock(cn->mu);
            item_free(it);
            return APR_TIMEUP;
        }
        /* Sent: Redis may run it; the sending thread frees it. */
        it->abandoned = 1;
        apr_thread_mutex_unlock(cn->mu);
        return APR_TIMEUP;
    }
    apr_thread_mutex_unlock(cn->mu);
    rv = it->rv;
    if (rv == APR_SUCCESS) {
        *out = it->reply;
        it->reply = NULL;
    }
    item_free(it);
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

/* The head of an EVALSHA of the script sha, then the keys. */
static int script_args(const char **argv, size_t *lens, char *keycount,
                       const char *sha, const llm_counter_op_t *ops, int n)
{
    int i, argc = 3;

    apr_snprintf(keycount, 16, "%d", n);
    argv[0] = "EVALSHA";
    lens[0] = 7;
    argv[1] = sha;
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

static item_t *item_make(int argc, const char **argv, const size_t *lens,
                         int nowait)
{
    item_t *it = calloc(1, sizeof(*it));

    if (!it) {
        return NULL;
    }
    it->len = redisFormatCommandArgv(&it->cmd, argc, argv, lens);
    if (it->len < 0) {
        free(it);
        return NULL;
    }
    it->nowait = nowait;
    return it;
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
    item_t *it;
    int i, argc, refused;

    if (n > REDIS_MAX_OPS) {
        return APR_EINVAL;
    }
    argc = script_args(argv, lens, keycount, rs->reserve_sha, ops, n);
    for (i = 0; i < n; i++) {
        argc = push_number(argv, lens, argc, nums[3 * i], ops[i].amount);
        argc = push_number(argv, lens, argc, nums[3 * i + 1],
                           ops[i].limit < 0 ? -1 : ops[i].limit);
        argc = push_number(argv, lens, argc, nums[3 * i + 2],
                           window_ms(&ops[i], now));
    }
    if (!(it = item_make(argc, argv, lens, 0))) {
        return APR_ENOMEM;
    }
    rv = submit(rs, it, apr_time_now() + rs->conf->timeout, &reply);
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

/* Sent without waiting: the reply is read with a later batch
 * (send_batch), so a request's correction costs no wait for Redis.
 * The ops' values out are not set. */
static apr_status_t redis_add(llm_counter_store_t *st, llm_counter_op_t *ops,
                              int n, apr_time_t now)
{
    redis_store_t *rs = st->ctx;
    const char *argv[3 + REDIS_MAX_OPS * 3];
    size_t lens[3 + REDIS_MAX_OPS * 3];
    char keycount[16], nums[REDIS_MAX_OPS * 2][24];
    item_t *it;
    int i, argc;

    if (n > REDIS_MAX_OPS) {
        return APR_EINVAL;
    }
    argc = script_args(argv, lens, keycount, rs->add_sha, ops, n);
    for (i = 0; i < n; i++) {
        argc = push_number(argv, lens, argc, nums[2 * i], ops[i].amount);
        argc = push_number(argv, lens, argc, nums[2 * i + 1],
                           window_ms(&ops[i], now));
    }
    if (!(it = item_make(argc, argv, lens, 1))) {
        return APR_ENOMEM;
    }
    return submit(rs, it, apr_time_now() + rs->conf->timeout, NULL);
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
    rv = apr_thread_mutex_create(&cn->mu, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&cn->cv, pchild);
    }
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
