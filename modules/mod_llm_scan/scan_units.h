/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
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
