/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Provider keys are read when the configuration is loaded -- at start and
 * at every graceful restart, so a rotated key file takes effect with
 * `apachectl graceful` -- while httpd still runs as root and can read a
 * key file no child may read.  A key never appears in a log line.
 */

#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "apr_env.h"
#include "apr_file_io.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "llm_gateway.h"
#include "route_internal.h"

APLOG_USE_MODULE(llm_route);

static const char *trim(char *s)
{
    char *e;

    while (apr_isspace(*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && apr_isspace(e[-1])) {
        *--e = '\0';
    }
    return s;
}

static const char *read_key_file(apr_pool_t *p, const char *path,
                                 apr_status_t *rv)
{
    apr_file_t *f;
    char buf[8192];
    apr_size_t n = sizeof(buf) - 1;

    *rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    if (*rv != APR_SUCCESS) {
        return NULL;
    }
    *rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (*rv != APR_SUCCESS && *rv != APR_EOF) {
        return NULL;
    }
    *rv = APR_SUCCESS;
    buf[n] = '\0';
    return trim(apr_pstrmemdup(p, buf, n));
}

void llm_route_load_keys(apr_pool_t *p, server_rec *s,
                         llm_route_server_conf_t *sc)
{
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        llm_provider_t *pv = &APR_ARRAY_IDX(sc->providers, i, llm_provider_t);
        apr_status_t rv = APR_SUCCESS;
        const char *key = NULL;

        if (!pv->key_source) {
            continue;
        }
        if (!strncmp(pv->key_source, "env:", 4)) {
            char *v = NULL;

            if (apr_env_get(&v, pv->key_source + 4, p) == APR_SUCCESS) {
                key = trim(v);
            }
        }
        else {
            key = read_key_file(p, pv->key_source + 5, &rv);
        }
        pv->key = key && *key ? key : NULL;
        if (!pv->key) {
            /* Not fatal: a gateway may carry providers it has no key for
             * yet; their models answer 503 until the key is there. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, LLMNO(02001)
                         "provider %s: no key from %s; its models will be "
                         "refused with 503", pv->name, pv->key_source);
        }
    }
}
