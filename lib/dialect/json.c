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
 * The JSON body: parse once (duplicate keys refused), serialise compactly,
 * tie jansson's malloc'ed trees to the lifetime of an APR pool.
 */

#include <string.h>

#include "apr_strings.h"

#include "llm_dialect.h"
#include "dialect_private.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *llm_dialect_pool_own(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_cleanup,
                                  apr_pool_cleanup_null);
    }
    return j;
}

/* Depth of nesting, stopping once over the limit so that this walk itself
 * stays shallow whatever jansson accepted. */
static int too_deep(json_t *j, int depth)
{
    size_t i;
    const char *key;
    json_t *v;

    if (depth > LLM_DIALECT_MAX_DEPTH) {
        return 1;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if ((json_is_array(v) || json_is_object(v))
                && too_deep(v, depth + 1)) {
                return 1;
            }
        }
    }
    else if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if ((json_is_array(v) || json_is_object(v))
                && too_deep(v, depth + 1)) {
                return 1;
            }
        }
    }
    return 0;
}

json_t *llm_json_parse(apr_pool_t *p, const char *buf, size_t len,
                       const char **err)
{
    json_error_t jerr;
    json_t *root;
    char *text, *near;

    /* \u0000 is valid JSON and a provider would read it: accept it, and
     * let every consumer here work with lengths, not C strings. */
    root = json_loadb(buf ? buf : "", buf ? len : 0,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (err) {
            /* jansson quotes the text near the error; that text may be the
             * very secret the caller must not see echoed in a 400. */
            text = apr_pstrdup(p, jerr.text);
            near = strstr(text, " near ");
            if (near) {
                *near = '\0';
            }
            *err = apr_psprintf(p, "malformed JSON at line %d, column %d: %s",
                                jerr.line, jerr.column, text);
        }
        return NULL;
    }
    llm_dialect_pool_own(p, root);
    if (too_deep(root, 1)) {
        if (err) {
            *err = apr_psprintf(p, "JSON nested deeper than %d levels",
                                LLM_DIALECT_MAX_DEPTH);
        }
        return NULL;
    }
    return root;
}

char *llm_json_dump(apr_pool_t *p, json_t *root, size_t *len)
{
    char *s, *copy;
    size_t n;

    /* Key order is kept (jansson >= 2.8 always does; the flag documents
     * the intent): providers and prompt caches see the body as sent. */
    s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s) {
        if (len) {
            *len = 0;
        }
        return NULL;
    }
    n = strlen(s);
    copy = apr_pmemdup(p, s, n + 1);
    free(s);
    if (len) {
        *len = n;
    }
    return copy;
}

const char *llm_dialect_str(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}
