/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The counters in shared memory: the segment and its mutex across graceful
 * restarts, the request path's shared state (database up, spool pending),
 * and what each finished request adds.  audit_prometheus.c and
 * audit_status.c read them.
 */

#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_shm.h"
#include "apr_hash.h"

#include "mod_llm_audit.h"
#include "audit_metrics.h"

APLOG_USE_MODULE(llm_audit);

#define SHM_KEY "llm_audit::shm"

/* From 1 ms: a refusal or a cached answer takes a few ms, and with a 50 ms
 * first bucket a 2 ms p50 was drawn as 25 ms.  Up to 5 minutes: agent
 * streams (latency) and slow first tokens of large prompts (TTFT). */
const double llm_audit_buckets[LLM_AUDIT_NBUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    30, 60, 120, 300
};

static llm_audit_shm_t *shm;
/* This child's pid for the segment's lock (llm_audit_metrics_child_init):
 * getpid() is a system call, and every request takes the lock.  0 in the
 * parent, which asks. */
static apr_uint32_t shm_me;

llm_audit_shm_t *llm_audit_shm(void)
{
    return shm;
}

llm_audit_shm_t *llm_audit_shm_snapshot(apr_pool_t *p)
{
    llm_audit_shm_t *snap;

    if (!shm) {
        return NULL;
    }
    snap = apr_palloc(p, sizeof(*snap));
    llm_audit_shm_lock();
    memcpy(snap, shm, sizeof(*snap));
    llm_audit_shm_unlock();
    return snap;
}

void llm_audit_metrics_child_init(void)
{
    shm_me = (apr_uint32_t)getpid();
}

void llm_audit_shm_lock(void)
{
    if (shm) {
        llm_shm_lock_as(&shm->lock, shm_me ? shm_me
                                           : (apr_uint32_t)getpid());
    }
}

void llm_audit_shm_unlock(void)
{
    if (shm) {
        llm_shm_unlock(&shm->lock);
    }
}

apr_status_t llm_audit_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *proc = s->process->pool;
    apr_shm_t *seg = NULL;
    apr_status_t rv;
    void *data = NULL;

    /* httpd reads its configuration twice at startup; the first round
     * only checks it.  Shared memory is made once the
     * server is about to run. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return APR_SUCCESS;
    }
    /* The segment hangs off the process pool, which a graceful restart
     * keeps: counters carry on where they were. */
    apr_pool_userdata_get(&data, SHM_KEY, proc);
    seg = data;
    if (seg) {
        llm_audit_shm_t *old = apr_shm_baseaddr_get(seg);

        if (old->magic != LLM_AUDIT_SHM_MAGIC
            || old->version != LLM_AUDIT_SHM_VERSION
            || old->size != sizeof(llm_audit_shm_t)) {
            seg = NULL;      /* another layout (module upgraded): start over */
        }
    }
    if (!seg) {
        rv = apr_shm_create(&seg, sizeof(llm_audit_shm_t), NULL, proc);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, LLMNO(03050)
                         "cannot create the audit metrics shared memory "
                         "(%" APR_SIZE_T_FMT " bytes)",
                         sizeof(llm_audit_shm_t));
            return rv;
        }
        memset(apr_shm_baseaddr_get(seg), 0, sizeof(llm_audit_shm_t));
        shm = apr_shm_baseaddr_get(seg);
        shm->magic = LLM_AUDIT_SHM_MAGIC;
        shm->version = LLM_AUDIT_SHM_VERSION;
        shm->size = sizeof(llm_audit_shm_t);
        shm->created = apr_time_now();
        shm->db_ok = 1;
        shm->spool_ok = 1;
        apr_pool_userdata_set(seg, SHM_KEY, apr_pool_cleanup_null, proc);
    }
    shm = apr_shm_baseaddr_get(seg);
    return APR_SUCCESS;
}

/* Process-local fallbacks before the segment exists (config test). */
static int local_db_ok = 1, local_spool_ok = 1, local_pending;

void llm_audit_state_db(int ok)
{
    if (!shm) {
        local_db_ok = ok;
        return;
    }
    if (shm->db_ok != ok) {
        shm->db_ok = ok;
    }
    if (ok) {
        shm->db_last_ok = apr_time_now();
    }
    else {
        shm->db_last_error = apr_time_now();
    }
}

int llm_audit_state_db_ok(void)
{
    return shm ? shm->db_ok : local_db_ok;
}

int llm_audit_state_db_retry_due(void)
{
    apr_time_t now = apr_time_now();

    if (!shm) {
        return 1;
    }
    if (now - shm->db_last_error < apr_time_from_sec(1)) {
        return 0;
    }
    /* Claim this second's attempt; a racing thread may claim it too,
     * which costs one extra try, not correctness. */
    shm->db_last_error = now;
    return 1;
}

void llm_audit_state_spool(int ok)
{
    if (shm) {
        shm->spool_ok = ok;
    }
    else {
        local_spool_ok = ok;
    }
}

int llm_audit_state_spool_ok(void)
{
    return shm ? shm->spool_ok : local_spool_ok;
}

void llm_audit_state_set_pending(int pending)
{
    if (shm) {
        shm->spool_pending = pending;
    }
    else {
        local_pending = pending;
    }
}

int llm_audit_state_spool_pending(void)
{
    return shm ? shm->spool_pending : local_pending;
}

void llm_audit_metrics_event(const char *what)
{
    apr_uint64_t *c = NULL;

    if (!shm) {
        return;
    }
    if (!strcmp(what, "db_error"))       c = &shm->db_errors;
    else if (!strcmp(what, "spooled"))   c = &shm->spooled;
    else if (!strcmp(what, "replayed"))  c = &shm->replayed;
    else if (!strcmp(what, "lost"))      c = &shm->lost;
    else if (!strcmp(what, "refused"))   c = &shm->refused;
    else if (!strcmp(what, "batch_wait")) c = &shm->batch_waits;
    else if (!strcmp(what, "recovered")) c = &shm->recovered;
    else if (!strcmp(what, "interrupted")) c = &shm->interrupted;
    else if (!strcmp(what, "unjournaled")) c = &shm->unjournaled;
    if (c) {
        llm_audit_shm_lock();
        (*c)++;
        llm_audit_shm_unlock();
    }
}

/* src is valid UTF-8 (llm_audit_utf8); a cut must not split one of its
 * characters, or the page it is shown on is no longer UTF-8. */
static void copy(char *dst, apr_size_t size, const char *src)
{
    apr_size_t n = src ? strlen(src) : 0;

    if (n >= size) {
        n = size - 1;
        while (n && ((unsigned char)src[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    if (n) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

static unsigned int hash_of(const char *a, const char *b, const char *c,
                            int n)
{
    unsigned int h = 2166136261u;
    const char *parts[3];
    int i;

    parts[0] = a; parts[1] = b; parts[2] = c;
    for (i = 0; i < 3; i++) {
        const char *s = parts[i] ? parts[i] : "";

        while (*s) {
            h = (h ^ (unsigned char)*s++) * 16777619u;
        }
        h = (h ^ 0xff) * 16777619u;
    }
    return (h ^ (unsigned int)n) * 16777619u;
}

/* Find or claim the series of these labels; slot 0 collects the rest
 * once the table is full.  Called with the mutex held. */
static llm_audit_series_t *series_for(const char *provider, const char *model,
                                      const char *decision, int status)
{
    char p[48], m[96], d[16];
    unsigned int h, i;

    copy(p, sizeof(p), provider);
    copy(m, sizeof(m), model);
    copy(d, sizeof(d), decision);
    h = hash_of(p, m, d, status);
    for (i = 0; i < LLM_AUDIT_SERIES_MAX - 1; i++) {
        llm_audit_series_t *se = &shm->series[1 + (h + i)
                                               % (LLM_AUDIT_SERIES_MAX - 1)];

        if (!se->used) {
            se->used = 1;
            memcpy(se->provider, p, sizeof(p));
            memcpy(se->model, m, sizeof(m));
            memcpy(se->decision, d, sizeof(d));
            se->status = status;
            return se;
        }
        if (se->status == status && !strcmp(se->provider, p)
            && !strcmp(se->model, m) && !strcmp(se->decision, d)) {
            return se;
        }
    }
    if (!shm->series[0].used) {
        shm->series[0].used = 1;
        copy(shm->series[0].provider, 48, "_other_");
        copy(shm->series[0].model, 96, "_other_");
        copy(shm->series[0].decision, 16, "_other_");
    }
    return &shm->series[0];
}

static void observe(apr_uint64_t *buckets, apr_int64_t us)
{
    double s = (double)us / 1e6;
    int b;

    for (b = 0; b < LLM_AUDIT_NBUCKETS; b++) {
        if (s <= llm_audit_buckets[b]) {
            break;
        }
    }
    buckets[b]++;          /* cumulated at exposition */
}

static apr_int64_t num(const char *v)
{
    return v ? apr_atoi64(v) : 0;
}

/* The request was refused by the gateway (not an upstream failure). */
static int refusal(const char *decision)
{
    return decision && (!strcmp(decision, "block")
                        || !strcmp(decision, "deny")
                        || !strcmp(decision, "quota")
                        || !strcmp(decision, "invalid"));
}

/* One more refusal of this decision and reason; the last slot collects
 * the rest once the table is full.  Called with the lock held. */
static void count_reason(const char *decision, const char *reason)
{
    char d[16], why[48];
    int i;

    copy(d, sizeof(d), decision);
    copy(why, sizeof(why), reason && *reason ? reason : "-");
    for (i = 0; i < LLM_AUDIT_REASONS_MAX - 1; i++) {
        llm_audit_reasoncount_t *rc = &shm->reasons[i];

        if (!rc->decision[0]) {
            memcpy(rc->decision, d, sizeof(d));
            memcpy(rc->reason, why, sizeof(why));
        }
        if (!strcmp(rc->decision, d) && !strcmp(rc->reason, why)) {
            rc->count++;
            return;
        }
    }
    if (!shm->reasons[i].decision[0]) {
        copy(shm->reasons[i].decision, 16, "_other_");
        copy(shm->reasons[i].reason, 48, "_other_");
    }
    shm->reasons[i].count++;
}

void llm_audit_metrics_record(request_rec *r, const llm_request_t *req,
                              const llm_audit_record_t *rec)
{
    llm_audit_series_t *se;
    const char *user = rec->v[LLM_AUDIT_F_USER_NAME];
    /* Never the caller's string: the configured name mod_llm_route routed
     * by (a wildcard route is its pattern), so that the series are
     * bounded by the configuration and hold no value a caller chose.  A
     * model no route takes has no label. */
    const char *model = llm_audit_utf8(r->pool, req->model_label);
    apr_int64_t lat = num(rec->v[LLM_AUDIT_F_LATENCY_US]);
    apr_int64_t tin = num(rec->v[LLM_AUDIT_F_TOKENS_IN]);
    apr_int64_t tout = num(rec->v[LLM_AUDIT_F_TOKENS_OUT]);
    apr_uint64_t cost = rec->v[LLM_AUDIT_F_COST]
        ? (apr_uint64_t)(strtod(rec->v[LLM_AUDIT_F_COST], NULL) * 1e9 + 0.5)
        : 0;
    apr_int64_t day = apr_time_sec(r->request_time) / 86400;
    const char *decision = rec->v[LLM_AUDIT_F_DECISION];
    int i;

    if (!shm) {
        return;
    }
    llm_audit_shm_lock();
    shm->written++;
    se = series_for(rec->v[LLM_AUDIT_F_PROVIDER], model, decision,
                    (int)num(rec->v[LLM_AUDIT_F_HTTP_STATUS]));
    se->requests++;
    se->tokens_in += (apr_uint64_t)tin;
    se->tokens_out += (apr_uint64_t)tout;
    se->tokens_cached += (apr_uint64_t)num(rec->v[LLM_AUDIT_F_TOKENS_CACHED]);
    se->cost_nusd += cost;
    se->bytes_in += (apr_uint64_t)num(rec->v[LLM_AUDIT_F_BYTES_IN]);
    se->bytes_out += (apr_uint64_t)num(rec->v[LLM_AUDIT_F_BYTES_OUT]);
    observe(se->latency, lat);
    se->latency_sum_us += (apr_uint64_t)lat;
    if (rec->v[LLM_AUDIT_F_TTFB_US]) {
        apr_int64_t t = num(rec->v[LLM_AUDIT_F_TTFB_US]);

        observe(se->ttfb, t);
        se->ttfb_sum_us += (apr_uint64_t)t;
        se->ttfb_count++;
    }
    for (i = 0; req->findings && i < req->findings->nelts; i++) {
        const llm_finding_t *f = &APR_ARRAY_IDX(req->findings, i,
                                                llm_finding_t);
        int k;

        shm->findings_total++;
        for (k = 0; k < LLM_AUDIT_TYPES_MAX; k++) {
            llm_audit_typecount_t *tc = &shm->types[k];

            if (!tc->type[0]) {
                copy(tc->type, sizeof(tc->type), f->type);
            }
            if (!strncmp(tc->type, f->type ? f->type : "",
                         sizeof(tc->type) - 1)) {
                if (f->direction == LLM_DIRECTION_ANSWER) {
                    tc->answer_count++;
                }
                else {
                    tc->count++;
                }
                break;
            }
        }
    }
    if (user && *user) {
        llm_audit_usercount_t *slot = NULL, *oldest = &shm->users[0];

        for (i = 0; i < LLM_AUDIT_USERS_MAX; i++) {
            llm_audit_usercount_t *u = &shm->users[i];

            if (u->day == day && !strncmp(u->user, user,
                                          sizeof(u->user) - 1)) {
                slot = u;
                break;
            }
            if (u->day < oldest->day
                || (u->day == oldest->day && u->tokens < oldest->tokens)) {
                oldest = u;
            }
        }
        if (!slot) {
            /* Yesterday's entries, then today's smallest, make room. */
            slot = oldest;
            memset(slot, 0, sizeof(*slot));
            copy(slot->user, sizeof(slot->user), user);
            slot->day = day;
        }
        slot->tokens += (apr_uint64_t)(tin + tout);
        slot->requests++;
        slot->cost_nusd += cost;
    }
    if (refusal(decision)) {
        count_reason(decision, rec->v[LLM_AUDIT_F_REASON]);
    }
    if (decision && (refusal(decision) || !strcmp(decision, "redact"))) {
        llm_audit_recent_t *rc = &shm->recent[shm->recent_next
                                              % LLM_AUDIT_RECENT_MAX];
        char types[160] = "";

        for (i = 0; req->findings && i < req->findings->nelts; i++) {
            const llm_finding_t *f = &APR_ARRAY_IDX(req->findings, i,
                                                    llm_finding_t);

            if (!strstr(types, f->type ? f->type : "")) {
                if (*types) {
                    apr_cpystrn(types + strlen(types), ",",
                                sizeof(types) - strlen(types));
                }
                apr_cpystrn(types + strlen(types), f->type ? f->type : "",
                            sizeof(types) - strlen(types));
            }
        }
        rc->t = r->request_time;
        copy(rc->request_id, sizeof(rc->request_id),
             rec->v[LLM_AUDIT_F_REQUEST_ID]);
        copy(rc->user, sizeof(rc->user), user);
        copy(rc->model, sizeof(rc->model), model);
        copy(rc->decision, sizeof(rc->decision), decision);
        copy(rc->reason, sizeof(rc->reason), rec->v[LLM_AUDIT_F_REASON]);
        memcpy(rc->types, types, sizeof(types));
        shm->recent_next++;
    }
    llm_audit_shm_unlock();
}

llm_audit_chainhead_t *llm_audit_metrics_claim_chain(const char *chain_id)
{
    llm_audit_chainhead_t *slot;
    int i;

    if (!shm) {
        return NULL;
    }
    /* The slot written longest ago goes to the new writer: a chain that
     * stopped writing has ended (its process is gone or idle). */
    llm_audit_shm_lock();
    slot = &shm->chains[0];
    for (i = 1; i < LLM_AUDIT_CHAINS_MAX; i++) {
        if (shm->chains[i].updated < slot->updated) {
            slot = &shm->chains[i];
        }
    }
    memset(slot, 0, sizeof(*slot));
    apr_cpystrn(slot->chain_id, chain_id, sizeof(slot->chain_id));
    slot->updated = apr_time_now();
    llm_audit_shm_unlock();
    return slot;
}
