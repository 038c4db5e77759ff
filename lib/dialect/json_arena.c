/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Request trees without malloc.  jansson allocates every node of a parsed
 * body on its own: a string is two mallocs, an object member one, an
 * object two more.  A coding agent's request is thousands of nodes, and in
 * httpd's threads (more of them than glibc has arenas) the mallocs, and
 * the frees when the request pool goes, were a quarter of the gateway's
 * CPU at 50 KB (docs/route-benchmark.md, "Agent-sized bodies").
 *
 * So, while llm_json_parse builds a tree, jansson's small allocations are
 * taken from blocks of one arena per request pool, by bumping a pointer;
 * freeing one is nothing, and the blocks go back when the pool goes.
 * jansson's allocator is one pair of functions for the whole process,
 * which mod_auth_openidc's jansson objects use too, so the pair keeps the
 * meaning it had for everything else:
 *
 * - allocating is malloc() unless this thread is inside an arena window
 *   (a thread-local pointer, set only around a parse);
 * - freeing is free() unless the pointer lies in the region the arena
 *   blocks are cut from, which is reserved once (PROT_NONE, no memory
 *   committed until a block is first used) and never moves: a range check
 *   that needs no lock and works on whichever thread destroys the pool
 *   (with the event MPM, not always the one that parsed).
 *
 * A long string's copy (tool output, a file: most of a coding agent's
 * body) is in the arena too.  With malloc it was the last per-byte cost
 * of building the tree that was not parsing: glibc gave the memory of the
 * long strings back to the system between requests (trimming the top of
 * the heap) and the next request faulted every page in again, ~216 page
 * faults per 1 MB body.  Strings up to a block go into the blocks; longer
 * ones get a span of contiguous blocks of their own (a power of two of
 * them, so that released spans serve later strings of other lengths), and
 * released spans are kept for reuse like the blocks.
 *
 * A tree may hold nodes of both kinds (a value set after the parse is
 * malloc'ed); json_decref still walks it when the pool goes, and frees
 * what malloc gave.  Nothing keeps a reference to a request's tree beyond
 * its pool.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "llm_dialect.h"
#include "dialect_private.h"

#define BLOCK_SIZE  ((size_t)64 * 1024)
#define ALIGNMENT   16
/* Up to this size, an allocation that does not fit the current block
 * starts a new current block (what is left of the old one is lost, at
 * most SMALL_MAX bytes).  A longer one that does not fit goes at the start
 * of a new block, and the emptier of the two blocks becomes current. */
#define SMALL_MAX   ((size_t)2048)
#define BLOCK_MAX   (BLOCK_SIZE - ALIGNMENT)
/* Blocks kept resident for reuse after their request (16 MB a process:
 * a 50 KB agent request uses one block, 1 MB ~20 with its long strings,
 * and a child serves several at once); the rest of the released blocks
 * give their memory back (madvise). */
#define KEEP_BLOCKS 256
/* Spans: 2^c blocks for c < SPAN_CLASSES (up to 2 GB, more than any
 * region here); the blocks of released spans kept resident, at most: */
#define SPAN_CLASSES 16
#define KEEP_SPAN_BLOCKS 64

struct llm_json_arena_t {
    char *cur;              /* next free byte of the current block */
    char *lim;              /* end of the current block */
    char *blocks;           /* this arena's blocks, newest first, linked
                             * through their first word */
    char *spans;            /* its spans, linked the same way; the second
                             * word of a span holds its span_t */
};

/* The second word of a span: its class, and (while it is free) whether
 * its pages are resident. */
typedef struct {
    unsigned cls;
    unsigned resident;
} span_t;

static struct {
    char *base;             /* the reserved region; set once, never moved */
    char *end;
    char *fresh;            /* the first block never handed out */
    char **free_stack;      /* released blocks */
    size_t nfree;
    char *spans[SPAN_CLASSES];  /* released spans by class */
    size_t span_resident;       /* blocks of released spans kept resident */
    pthread_mutex_t lock;
} region = { NULL, NULL, NULL, NULL, 0, { NULL }, 0,
             PTHREAD_MUTEX_INITIALIZER };

/* Read on every jansson allocation in the process (mod_oauth2's too, ~400
 * a request): the initial-exec model makes that a load from the thread
 * pointer instead of a call to __tls_get_addr, as this file is in modules
 * that httpd loads with dlopen.  It takes 8 bytes of the static TLS space
 * glibc keeps for such modules. */
#if defined(__GNUC__)
static __thread llm_json_arena_t *current
    __attribute__((tls_model("initial-exec")));
#else
static __thread llm_json_arena_t *current;
#endif

static char *block_get(void)
{
    char *b = NULL;

    pthread_mutex_lock(&region.lock);
    if (region.nfree) {
        b = region.free_stack[--region.nfree];
    }
    else if (region.fresh < region.end) {
        if (mprotect(region.fresh, BLOCK_SIZE, PROT_READ | PROT_WRITE) == 0) {
            b = region.fresh;
            region.fresh += BLOCK_SIZE;
        }
    }
    pthread_mutex_unlock(&region.lock);
    return b;
}

static span_t *span_info(char *s)
{
    return (span_t *)(void *)(s + sizeof(char *));
}

/* A span for n bytes (past its header), or NULL: a released one of the
 * class if there is one, else new blocks from the region. */
static char *span_get(llm_json_arena_t *a, size_t n)
{
    size_t blocks = (n + ALIGNMENT + BLOCK_SIZE - 1) / BLOCK_SIZE;
    size_t bytes;
    unsigned cls = 0;
    char *s = NULL;

    while (((size_t)1 << cls) < blocks) {
        if (++cls == SPAN_CLASSES) {
            return NULL;
        }
    }
    bytes = BLOCK_SIZE << cls;
    pthread_mutex_lock(&region.lock);
    if ((s = region.spans[cls]) != NULL) {
        region.spans[cls] = *(char **)(void *)s;
        if (span_info(s)->resident) {
            region.span_resident -= (size_t)1 << cls;
        }
    }
    else if ((size_t)(region.end - region.fresh) >= bytes
             && mprotect(region.fresh, bytes, PROT_READ | PROT_WRITE) == 0) {
        s = region.fresh;
        region.fresh += bytes;
    }
    pthread_mutex_unlock(&region.lock);
    if (s) {
        span_info(s)->cls = cls;
        *(char **)(void *)s = a->spans;
        a->spans = s;
    }
    return s;
}

static void *arena_alloc(llm_json_arena_t *a, size_t n)
{
    char *b, *p;

    n = (n + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
    if ((size_t)(a->lim - a->cur) >= n) {
        p = a->cur;
        a->cur += n;
        return p;
    }
    if (n > BLOCK_MAX) {
        return (b = span_get(a, n)) != NULL ? b + ALIGNMENT : NULL;
    }
    if (!(b = block_get())) {
        return NULL;
    }
    *(char **)(void *)b = a->blocks;
    a->blocks = b;
    p = b + ALIGNMENT;
    if (n <= SMALL_MAX || BLOCK_MAX - n > (size_t)(a->lim - a->cur)) {
        a->cur = p + n;
        a->lim = b + BLOCK_SIZE;
    }
    return p;
}

static void *arena_malloc(size_t n)
{
    llm_json_arena_t *a = current;
    void *p;

    if (a && (p = arena_alloc(a, n)) != NULL) {
        return p;
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    if ((char *)p >= region.base && (char *)p < region.end) {
        return;             /* the arena's: goes with its pool */
    }
    free(p);
}

static apr_status_t arena_release(void *data)
{
    llm_json_arena_t *a = data;
    char *b, *next;

    pthread_mutex_lock(&region.lock);
    for (b = a->blocks; b; b = next) {
        next = *(char **)(void *)b;
        if (region.nfree >= KEEP_BLOCKS) {
            /* Still reserved and writable; its pages are given back and
             * come back zeroed when it is used again. */
            madvise(b, BLOCK_SIZE, MADV_DONTNEED);
        }
        region.free_stack[region.nfree++] = b;
    }
    for (b = a->spans; b; b = next) {
        unsigned cls = span_info(b)->cls;
        size_t blocks = (size_t)1 << cls;

        next = *(char **)(void *)b;
        if (region.span_resident + blocks > KEEP_SPAN_BLOCKS) {
            /* the header is written again below: one page comes back */
            madvise(b, BLOCK_SIZE << cls, MADV_DONTNEED);
            span_info(b)->resident = 0;
        }
        else {
            region.span_resident += blocks;
            span_info(b)->resident = 1;
        }
        span_info(b)->cls = cls;
        *(char **)(void *)b = region.spans[cls];
        region.spans[cls] = b;
    }
    pthread_mutex_unlock(&region.lock);
    a->blocks = NULL;
    a->spans = NULL;
    a->cur = a->lim = NULL;
    return APR_SUCCESS;
}

int llm_json_arena_install(size_t region_size)
{
    json_malloc_t m;
    json_free_t f;
    void *base;
    char **stack;
    size_t nblocks = region_size / BLOCK_SIZE;

    json_get_alloc_funcs(&m, &f);
    if (m == arena_malloc && f == arena_free) {
        return 0;
    }
    /* Someone else's allocator: objects it made must be freed by it. */
    if (m != malloc || f != free || region.base || nblocks == 0) {
        return -1;
    }
    base = mmap(NULL, nblocks * BLOCK_SIZE, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        return -1;
    }
    if (!(stack = malloc(nblocks * sizeof(char *)))) {
        munmap(base, nblocks * BLOCK_SIZE);
        return -1;
    }
    region.free_stack = stack;
    region.base = region.fresh = base;
    region.end = region.base + nblocks * BLOCK_SIZE;
    json_set_alloc_funcs(arena_malloc, arena_free);
    return 0;
}

int llm_json_arena_installed(void)
{
    json_malloc_t m;
    json_free_t f;

    json_get_alloc_funcs(&m, &f);
    return m == arena_malloc && f == arena_free;
}

int llm_json_arena_owns(const void *p)
{
    return (const char *)p >= region.base && (const char *)p < region.end;
}

static const char ARENA_KEY[] = "llm_json_arena";

llm_json_arena_t *llm_json_arena_enter(apr_pool_t *p)
{
    llm_json_arena_t *a = NULL, *prev = current;

    if (!region.base || !llm_json_arena_installed()) {
        return prev;
    }
    apr_pool_userdata_get((void **)&a, ARENA_KEY, p);
    if (!a) {
        a = apr_pcalloc(p, sizeof(*a));
        /* Registered before any tree of p is handed to p: cleanups run
         * last registered first, so every json_decref walks the trees
         * while their blocks are still there. */
        apr_pool_userdata_setn(a, ARENA_KEY, NULL, p);
        /* Not for a child forked before exec (a CGI): it must not take
         * the region's lock, which another thread may have held. */
        apr_pool_cleanup_register(p, a, arena_release,
                                  apr_pool_cleanup_null);
    }
    current = a;
    return prev;
}

void llm_json_arena_leave(llm_json_arena_t *prev)
{
    current = prev;
}
