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

/*
 * The one parser for every size and count a directive takes: LLMScanMaxBody,
 * LLMAuditBodyMax, LLMAuditSpoolMaxSize (bytes: K, M, G are powers of 1024)
 * and LLMRouteQuota limits (counts: k, M, G are powers of 1000).  APR only,
 * no httpd: the unit tests call it directly.
 */

#ifndef LLM_SIZE_H
#define LLM_SIZE_H

#include "apr_pools.h"

/* What K, M and G multiply by. */
typedef enum {
    LLM_SIZE_BYTES = 1024,   /* "16M" = 16 * 1024 * 1024; an optional B */
    LLM_SIZE_COUNT = 1000    /* "200k" = 200000 */
} llm_size_unit_e;

/* Parse arg: decimal digits, then at most one of K, M, G (either case),
 * then for bytes an optional B ("64MB", "512b").  Nothing else: no sign,
 * no blank, no fraction.  The value must lie in [min, max].  Returns NULL
 * and sets *out, or a message from p naming arg and what is wrong, for the
 * caller to prefix with the directive's name. */
const char *llm_size_parse(apr_pool_t *p, const char *arg,
                           llm_size_unit_e unit, apr_int64_t min,
                           apr_int64_t max, apr_int64_t *out);

#endif /* LLM_SIZE_H */
