/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A lock word in shared memory, for critical sections of a few hundred
 * nanoseconds that every request of every httpd process enters (quota
 * counters, audit metrics).
 *
 * Why not apr_global_mutex: APR's default process mutex on Linux is a
 * robust pthread mutex with priority inheritance, and a PI futex hands a
 * contended lock to a sleeping waiter at every unlock.  Measured with 16
 * connections on 2 cores (docs/route-benchmark.md): the quota lock alone
 * put a fifth of the gateway's CPU into context switches.  Here a waiter
 * spins briefly, then yields the CPU (to the holder, on a busy node);
 * the running thread takes a free lock at once.
 *
 * The word holds the owner's pid, so that a process that died holding it
 * (SIGKILL, a crash in any module) does not stop the node: a waiter that
 * has yielded for long checks whether the owner still exists and takes
 * the lock over.  What that owner was changing may be half done; the
 * users keep only counters, for which that is acceptable.
 */

#ifndef LLM_SHM_LOCK_H
#define LLM_SHM_LOCK_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "apr.h"
#include "apr_atomic.h"

typedef struct llm_shm_lock_t {
    volatile apr_uint32_t owner;     /* pid, 0 when free */
} llm_shm_lock_t;

/* Spins before the first yield; yields between owner checks. */
#define LLM_SHM_LOCK_SPINS  100
#define LLM_SHM_LOCK_CHECK  4096

static APR_INLINE void llm_shm_lock_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* me: the calling process's pid.  Callers on a request's path pass the
 * one they kept at child_init (getpid() is a system call, and these locks
 * are taken several times a request); it must be this process's own, or
 * a waiter could never take the lock over from it after its death. */
static APR_INLINE void llm_shm_lock_as(llm_shm_lock_t *l, apr_uint32_t me)
{
    unsigned long tries = 0;

    for (;;) {
        apr_uint32_t o = l->owner;

        if (o == 0 && apr_atomic_cas32(&l->owner, me, 0) == 0) {
            return;
        }
        if (++tries < LLM_SHM_LOCK_SPINS) {
            llm_shm_lock_pause();
            continue;
        }
        sched_yield();
        if (tries % LLM_SHM_LOCK_CHECK == 0 && o != 0 && o != me
            && kill((pid_t)o, 0) != 0 && errno == ESRCH) {
            apr_atomic_cas32(&l->owner, 0, o);
        }
    }
}

static APR_INLINE void llm_shm_lock(llm_shm_lock_t *l)
{
    llm_shm_lock_as(l, (apr_uint32_t)getpid());
}

static APR_INLINE void llm_shm_unlock(llm_shm_lock_t *l)
{
    apr_atomic_xchg32(&l->owner, 0);
}

#endif /* LLM_SHM_LOCK_H */
