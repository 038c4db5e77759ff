/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Each child builds its request trees in arenas (lib/dialect/json_arena.c)
 * instead of with a malloc per node.  jansson's allocator is one pair of
 * functions for the whole process, and the pair installed here lives in
 * this module: so the module is first made impossible to unload (an
 * unloaded module would leave jansson calling into nothing, for instance
 * when httpd -X unloads modules at exit while other modules still free
 * jansson objects), and the pair is installed only in children, where no
 * configuration is read again.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* dladdr, RTLD_NODELETE */
#endif
#include <dlfcn.h>

#include "httpd.h"
#include "http_log.h"

#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "scan_arena.h"

APLOG_USE_MODULE(llm_scan);

/* Address space reserved per child for the blocks; memory is committed
 * only as blocks are first used (a 1 MB agent request uses 4-5 blocks of
 * 64 KB), and trees past it are built with malloc as before. */
#define ARENA_REGION ((apr_size_t)1 << 30)

/* 0 when this module's code can no longer be unloaded. */
static int pin_module(const char **why)
{
#ifdef RTLD_NODELETE
    Dl_info info;
    void *h;

    if (!dladdr((void *)pin_module, &info) || !info.dli_fname) {
        *why = "dladdr() does not know this module's file";
        return -1;
    }
    h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    if (!h) {
        *why = dlerror();
        return -1;
    }
    /* The handle's reference is kept on purpose: with RTLD_NODELETE
     * the module stays whatever dlclose is called later. */
    return 0;
#else
    *why = "the system has no RTLD_NODELETE";
    return -1;
#endif
}

void llm_scan_arena_child_init(apr_pool_t *pchild, server_rec *s)
{
    const char *why = NULL;

    (void)pchild;
    if (pin_module(&why) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(01350)
                     "request trees are built with malloc in this child: "
                     "mod_llm_scan cannot be kept loaded (%s)",
                     why ? why : "unknown");
        return;
    }
    if (llm_json_arena_install(ARENA_REGION) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMNO(01351)
                     "request trees are built with malloc in this child: "
                     "another module gave jansson its own allocator, or "
                     "%" APR_SIZE_T_FMT " MB of address space could not be "
                     "reserved", ARENA_REGION >> 20);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMNO(01352)
                 "request trees are built in per-request arenas");
}
