/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Counters in shared memory, for every httpd process of the node.
 *
 * One anonymous shared segment holds an open-addressing table of fixed
 * size slots and the lock word (llm_shm_lock.h) that serialises every
 * batch, so a check and the add that follows it are one step for all
 * processes and threads: no lost updates.
 *
 * The segment is created once per httpd parent on the process pool, not
 * on pconf: a graceful restart keeps it (so counts go on), and the
 * children of the old generation, still finishing their requests, keep
 * counting in the same table under the same lock as the new ones.
 * Nothing of this module's code is registered on the process pool,
 * because the module itself is unloaded and loaded again at every
 * restart.
 *
 * Slots are never emptied, only expired: a lookup walks at most
 * LLM_SHM_PROBES slots from the key's hash, stopping early at a slot that
 * was never used; an expired slot found on the way is reused.
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "llm_shm_lock.h"
#include "route_counter_store.h"

APLOG_USE_MODULE(llm_route);

#define LLM_SHM_MAGIC   0x4c4c4d51u     /* "LLMQ" */
#define LLM_SHM_VERSION 3
#define LLM_SHM_PROBES  64
/* The version is in the key: a newer module after a graceful restart
 * never reads an older module's structures; it starts a table of its own
 * (with its own lock) and the old generation finishes on the old one. */
#define LLM_SHM_USERDATA "llm_route::counter_shm/3"

typedef struct {
    char key[LLM_COUNTER_KEY_MAX + 1];
    apr_int64_t value;
    apr_time_t expires;
} shm_slot_t;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_uint32_t nslots;
    apr_uint32_t slot_size;
    apr_uint32_t restore;        /* RESTORE_* */
    llm_shm_lock_t lock;
    apr_time_t created;
} shm_header_t;

#define RESTORE_NONE    0
#define RESTORE_WANTED  1
#define RESTORE_RUNNING 2

/* Kept in the process pool's userdata: found again after a restart. */
typedef struct {
    apr_shm_t *shm;
    shm_header_t *hdr;
    shm_slot_t *slots;
    llm_counter_store_t store;
    apr_uint32_t me;             /* this child's pid (child_init); 0: ask */
} shm_store_t;

/* The table's lock, as this process: the pid kept at child_init spares
 * a getpid() system call at each of the request's reservations. */
static void lock_table(shm_store_t *ss)
{
    llm_shm_lock_as(&ss->hdr->lock, ss->me ? ss->me
                                           : (apr_uint32_t)getpid());
}

static apr_uint64_t fnv1a(const char *s, apr_uint64_t h)
{
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= APR_UINT64_C(0x100000001b3);
    }
    return h;
}

/* The stored form of a key: itself, or two independent digests of it
 * when it does not fit in a slot. */
static const char *slot_key(const char *key, char *buf)
{
    if (strlen(key) <= LLM_COUNTER_KEY_MAX) {
        return key;
    }
    apr_snprintf(buf, LLM_COUNTER_KEY_MAX + 1, "#%016" APR_UINT64_T_HEX_FMT
                 "%016" APR_UINT64_T_HEX_FMT,
                 fnv1a(key, APR_UINT64_C(0xcbf29ce484222325)),
                 fnv1a(key, APR_UINT64_C(0x84222325cbf29ce4)));
    return buf;
}

/* The slot of key (live, or made fresh with the op's window), or NULL
 * when all the slots it may use are taken by live counters. */
static shm_slot_t *find(shm_store_t *ss, const llm_counter_op_t *op,
                        apr_time_t now)
{
    char buf[LLM_COUNTER_KEY_MAX + 1];
    const char *key = slot_key(op->key, buf);
    apr_uint32_t n = ss->hdr->nslots;
    apr_uint32_t i, at = (apr_uint32_t)(fnv1a(key,
                                        APR_UINT64_C(0xcbf29ce484222325)) % n);
    shm_slot_t *reuse = NULL;

    for (i = 0; i < LLM_SHM_PROBES && i < n; i++) {
        shm_slot_t *sl = &ss->slots[(at + i) % n];

        if (!sl->key[0]) {
            if (!reuse) {
                reuse = sl;
            }
            break;
        }
        if (!strcmp(sl->key, key)) {
            if (sl->expires <= now) {
                sl->value = 0;
                sl->expires = op->expires;
            }
            return sl;
        }
        if (!reuse && sl->expires <= now) {
            reuse = sl;
        }
    }
    if (reuse) {
        apr_cpystrn(reuse->key, key, sizeof(reuse->key));
        reuse->value = 0;
        reuse->expires = op->expires;
    }
    return reuse;
}

static apr_status_t shm_reserve(llm_counter_store_t *st,
                                llm_counter_op_t *ops, int n, apr_time_t now)
{
    shm_store_t *ss = st->ctx;
    shm_slot_t *slot[64];
    int i, refused = 0;

    if (n > 64) {
        return APR_EINVAL;
    }
    lock_table(ss);
    for (i = 0; i < n; i++) {
        llm_counter_op_t *op = &ops[i];

        slot[i] = find(ss, op, now);
        op->over = 0;
        op->unavailable = slot[i] == NULL;
        op->value = slot[i] ? slot[i]->value : 0;
        op->reset = slot[i] ? slot[i]->expires : op->expires;
        if (slot[i] && op->limit >= 0 && op->value + op->amount > op->limit) {
            op->over = 1;
            refused = 1;
        }
    }
    if (!refused) {
        for (i = 0; i < n; i++) {
            if (slot[i]) {
                slot[i]->value += ops[i].amount;
                ops[i].value = slot[i]->value;
            }
        }
    }
    llm_shm_unlock(&ss->hdr->lock);
    return refused ? APR_EGENERAL : APR_SUCCESS;
}

static apr_status_t shm_add(llm_counter_store_t *st, llm_counter_op_t *ops,
                            int n, apr_time_t now)
{
    shm_store_t *ss = st->ctx;
    int i;

    lock_table(ss);
    for (i = 0; i < n; i++) {
        llm_counter_op_t *op = &ops[i];
        shm_slot_t *sl = find(ss, op, now);

        op->over = 0;
        op->unavailable = sl == NULL;
        if (sl) {
            sl->value += op->amount;
            if (sl->value < 0) {
                sl->value = 0;
            }
            op->value = sl->value;
            op->reset = sl->expires;
        }
    }
    llm_shm_unlock(&ss->hdr->lock);
    return APR_SUCCESS;
}

static int shm_restore_claim(llm_counter_store_t *st, apr_time_t *since)
{
    shm_store_t *ss = st->ctx;
    int mine = 0;

    if (ss->hdr->restore != RESTORE_WANTED) {
        return 0;
    }
    lock_table(ss);
    if (ss->hdr->restore == RESTORE_WANTED) {
        ss->hdr->restore = RESTORE_RUNNING;
        *since = ss->hdr->created;
        mine = 1;
    }
    llm_shm_unlock(&ss->hdr->lock);
    return mine;
}

static void shm_restore_done(llm_counter_store_t *st, int ok)
{
    shm_store_t *ss = st->ctx;

    lock_table(ss);
    ss->hdr->restore = ok ? RESTORE_NONE : RESTORE_WANTED;
    llm_shm_unlock(&ss->hdr->lock);
}

static const llm_counter_store_vt_t shm_vt = {
    "shm", shm_reserve, shm_add, shm_restore_claim, shm_restore_done
};

/* Live counters of an old table carried into a new one of another size
 * (LLMRouteQuotaSlots changed at a graceful restart). */
static void carry_over(shm_store_t *to, const shm_store_t *from,
                       apr_time_t now)
{
    apr_uint32_t i;

    for (i = 0; i < from->hdr->nslots; i++) {
        const shm_slot_t *o = &from->slots[i];
        llm_counter_op_t op;
        shm_slot_t *sl;

        if (!o->key[0] || o->expires <= now) {
            continue;
        }
        memset(&op, 0, sizeof(op));
        op.key = o->key;
        op.expires = o->expires;
        if ((sl = find(to, &op, now)) != NULL) {
            sl->value = o->value;
        }
    }
}

void llm_counter_shm_child_init(llm_counter_store_t *st)
{
    shm_store_t *ss = st->ctx;

    /* The store was made in the parent: this is the child's own copy of
     * its process-local part. */
    ss->me = (apr_uint32_t)getpid();
}

apr_status_t llm_counter_shm_attach(llm_counter_store_t **st,
                                    apr_pool_t *pconf, server_rec *s,
                                    int nslots, int restore)
{
    apr_pool_t *gp = s->process->pool;
    shm_store_t *old = NULL, *ss;
    apr_size_t size;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&old, LLM_SHM_USERDATA, gp);
    if (old && old->hdr->nslots == (apr_uint32_t)nslots) {
        /* A graceful restart: same table, same lock.  The function table
         * is this (reloaded) module's: the old pointer went with the old
         * copy of the module. */
        old->store.vt = &shm_vt;
        *st = &old->store;
        return APR_SUCCESS;
    }

    ss = apr_pcalloc(gp, sizeof(*ss));
    size = sizeof(shm_header_t) + (apr_size_t)nslots * sizeof(shm_slot_t);
    /* Anonymous: inherited by every child forked from this parent. */
    rv = apr_shm_create(&ss->shm, size, NULL, gp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMNO(02111)
                     "quota counters: cannot create %" APR_SIZE_T_FMT
                     " bytes of shared memory", size);
        return rv;
    }
    ss->hdr = apr_shm_baseaddr_get(ss->shm);
    memset(ss->hdr, 0, size);
    ss->hdr->magic = LLM_SHM_MAGIC;
    ss->hdr->version = LLM_SHM_VERSION;
    ss->hdr->nslots = (apr_uint32_t)nslots;
    ss->hdr->slot_size = sizeof(shm_slot_t);
    ss->hdr->created = apr_time_now();
    /* Only an empty table needs the history: a resized one carries its
     * counts over. */
    ss->hdr->restore = restore && !old ? RESTORE_WANTED : RESTORE_NONE;
    ss->slots = (shm_slot_t *)(ss->hdr + 1);
    if (old) {
        /* Another size: the live counts move over; the old generation's
         * children finish on the old table. */
        llm_shm_lock(&old->hdr->lock);
        carry_over(ss, old, apr_time_now());
        llm_shm_unlock(&old->hdr->lock);
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LLMNO(02112)
                     "quota counters: table resized from %u to %d slots",
                     old->hdr->nslots, nslots);
    }
    ss->store.vt = &shm_vt;    /* renewed at every restart, see above */
    ss->store.ctx = ss;
    /* _set, not _setn: the key must be copied, because the literal lives
     * in this module, which is unloaded at the next restart. */
    apr_pool_userdata_set(ss, LLM_SHM_USERDATA, apr_pool_cleanup_null, gp);
    *st = &ss->store;
    return APR_SUCCESS;
}
