/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Per-request arenas for the parsed body, set up in each child.
 */

#ifndef SCAN_ARENA_H
#define SCAN_ARENA_H

#include "httpd.h"

/* child_init: request trees of this child are built in arenas from now
 * on, or (logged) with malloc as before. */
void llm_scan_arena_child_init(apr_pool_t *pchild, server_rec *s);

#endif
