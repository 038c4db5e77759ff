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
 * Reusable pool buffers for the stream code: long streams must not grow
 * the request pool with every event.
 */

#include <string.h>

#include "dialect_private.h"

void llm_dbuf_init(llm_dbuf_t *b, apr_pool_t *p, size_t max)
{
    b->p = p;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int llm_dbuf_append(llm_dbuf_t *b, const char *s, size_t n)
{
    size_t need, ncap;
    char *nd;

    if (n > b->max || b->len > b->max - n) {
        return -1;
    }
    need = b->len + n + 1;
    if (need > b->cap) {
        ncap = b->cap ? b->cap : 256;
        while (ncap < need) {
            ncap *= 2;
        }
        if (ncap > b->max + 1) {
            ncap = b->max + 1;
        }
        nd = apr_palloc(b->p, ncap);
        if (b->len) {
            memcpy(nd, b->data, b->len);
        }
        b->data = nd;
        b->cap = ncap;
    }
    if (n) {
        memcpy(b->data + b->len, s, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int llm_dbuf_puts(llm_dbuf_t *b, const char *s)
{
    return llm_dbuf_append(b, s, strlen(s));
}
