/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Reversible redaction: the answer gets back the values its request's
 * placeholders stand for (lib/dialect/llm_restore.h does the work). */

#ifndef SCAN_RESTORE_H
#define SCAN_RESTORE_H

#include "httpd.h"
#include "dialect/llm_restore.h"

#define LLM_RESTORE_FILTER "LLM_RESTORE"

/* Restore map's placeholders in r's answer.  The map stays in r->pool;
 * nothing of it is logged, recorded or put in a header. */
void llm_scan_restore_answer(request_rec *r, const llm_restore_map_t *map);

void llm_scan_register_restore_filter(void);

#endif /* SCAN_RESTORE_H */
