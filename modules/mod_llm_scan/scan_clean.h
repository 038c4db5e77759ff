/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The child's cache of strings already scanned clean (LLMScanCleanCache,
 * lib/scan/llm_clean_cache.h).
 */

#ifndef SCAN_CLEAN_H
#define SCAN_CLEAN_H

#include "httpd.h"

/* child_init: the cache of this child, reached by every server's
 * configuration; none when LLMScanCleanCache is 0 or Off. */
void llm_scan_clean_child_init(apr_pool_t *pchild, server_rec *s);

#endif
