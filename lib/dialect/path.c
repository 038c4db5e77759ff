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
 * JSON paths as findings report them: messages[3].content[0].text.
 */

#include "apr_strings.h"

#include "dialect_private.h"

/* A key is written out only when it looks like a field name a schema
 * would use; anything else (an e-mail address, a token used as a key of a
 * tool's input) is written by position, because paths end up in error
 * bodies and audit records where a secret must never appear. */
static int key_is_name(const char *key, size_t len)
{
    size_t i, digits = 0, upper = 0, lower = 0, seps = 0;
    char c;

    if (len == 0 || len > 40) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        c = key[i];
        if (c >= '0' && c <= '9') {
            if (i == 0) {
                return 0;
            }
            digits++;
        }
        else if (c >= 'A' && c <= 'Z') {
            upper++;
        }
        else if (c >= 'a' && c <= 'z') {
            lower++;
        }
        else if (c == '_' || c == '-' || c == '$') {
            seps++;
        }
        else {
            return 0;
        }
    }
    /* Long runs of letters mixed with digits are what keys and tokens look
     * like; names have few digits. */
    if (digits > 4) {
        return 0;
    }
    if (len >= 16 && digits > 0 && upper > 0 && lower == 0) {
        return 0;
    }
    /* A long upper-case run without separators is an id (an AWS key id
     * may have no digit at all); CONSTANT_NAMES have underscores. */
    if (len >= 16 && lower == 0 && seps == 0) {
        return 0;
    }
    return 1;
}

const char *llm_dialect_path_key(apr_pool_t *p, const char *path,
                                 const char *key, size_t key_len,
                                 size_t index)
{
    int root = (path == NULL || *path == '\0');

    if (key_is_name(key, key_len)) {
        return root ? apr_pstrmemdup(p, key, key_len)
                    : apr_psprintf(p, "%s.%.*s", path, (int)key_len, key);
    }
    return apr_psprintf(p, "%s%s{#%" APR_SIZE_T_FMT "}", root ? "" : path,
                        root ? "" : ".", index);
}

const char *llm_dialect_path_index(apr_pool_t *p, const char *path,
                                   size_t index)
{
    return apr_psprintf(p, "%s[%" APR_SIZE_T_FMT "]", path ? path : "",
                        index);
}
