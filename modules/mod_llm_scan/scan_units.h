/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* Refinements of the policy step (scan_units.c). */

#ifndef SCAN_UNITS_H
#define SCAN_UNITS_H

#include "httpd.h"
#include "apr_tables.h"
#include "llm_gateway.h"
#include "dialect/llm_dialect.h"
#include "scan/llm_scan.h"

/* Add to matches (offsets in u's text) what ends or starts right where
 * two text parts of u meet word to word, which the scan of the joined
 * text misses.  0, or -1 when the engine failed. */
int llm_scan_junctions(request_rec *r, const llm_scan_rules_t *rules,
                       const llm_unit_t *u, apr_array_header_t *matches);

/* path as it may be shown (403 body, audit row, error log): every key in
 * it that a rule matches written by position; "(hidden)" if that is not
 * enough. */
const char *llm_scan_safe_location(request_rec *r, llm_request_t *req,
                                   const llm_scan_rules_t *rules,
                                   const char *path);

#endif /* SCAN_UNITS_H */
