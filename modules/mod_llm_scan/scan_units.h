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

/* A value found only where adjacent messages of one role meet
 * (llm_unit_t.follows): the match, whose offset is in the first unit's
 * text and whose length is the whole value's, and the range it covers in
 * each unit, in text order. */
typedef struct {
    int unit;
    size_t offset;
    size_t length;
} llm_scan_part_t;

typedef struct {
    llm_scan_match_t match;
    apr_array_header_t *parts;   /* of llm_scan_part_t */
    const char *value;           /* the value, joined */
} llm_scan_joined_t;

/* The values that only the joined text of adjacent messages of one role
 * holds: an array of llm_scan_joined_t (empty when no such messages
 * meet), or NULL when the engine failed. */
apr_array_header_t *llm_scan_across_messages(request_rec *r,
                                             const llm_scan_rules_t *rules,
                                             const apr_array_header_t *units);

/* Does a value of joined cover all of [offset, offset+length) of unit? */
int llm_scan_joined_covers(const apr_array_header_t *joined, int unit,
                           size_t offset, size_t length);

/* path as it may be shown (403 body, audit row, error log): every key in
 * it that a rule matches written by position; "(hidden)" if that is not
 * enough. */
const char *llm_scan_safe_location(request_rec *r, llm_request_t *req,
                                   const llm_scan_rules_t *rules,
                                   const char *path);

#endif /* SCAN_UNITS_H */
