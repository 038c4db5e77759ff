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

/* Model names to providers: aliases first, then the first matching route
 * of the location (its own routes before inherited ones). */

#include "httpd.h"
#include "apr_fnmatch.h"
#include "apr_strings.h"

#include "route_internal.h"

llm_provider_t *llm_route_select(request_rec *r,
                                 const llm_route_dir_conf_t *dc,
                                 const llm_route_server_conf_t *sc,
                                 const char *model,
                                 const char **upstream_model,
                                 const char **label)
{
    const char *target = apr_table_get(dc->aliases, model);
    int i;

    if (target) {
        model = target;
    }
    for (i = 0; i < dc->routes->nelts; i++) {
        const llm_model_route_t *mr =
            &APR_ARRAY_IDX(dc->routes, i, llm_model_route_t);

        if (apr_fnmatch(mr->pattern, model, 0) == APR_SUCCESS) {
            *upstream_model = mr->upstream_model ? mr->upstream_model : model;
            if (label) {
                /* A name from the configuration, never the caller's own
                 * string: what a wildcard matched may be anything. */
                *label = mr->upstream_model ? mr->upstream_model
                         : target ? target : mr->pattern;
            }
            return llm_route_find_provider(sc, mr->provider_name);
        }
    }
    return NULL;
}
