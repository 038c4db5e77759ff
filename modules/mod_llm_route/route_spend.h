/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* A user's spend this month, for the self-service page (route_spend.c). */

#ifndef ROUTE_SPEND_H
#define ROUTE_SPEND_H

#include "httpd.h"

typedef struct {
    const char *cost;           /* USD as the database sums it, "0" if none */
    apr_int64_t requests;       /* requests that reached a provider */
    apr_time_t since;           /* the month's first instant, UTC */
} llm_spend_t;

/* What the audit table holds for user since the start of this month
 * (UTC).  APR_SUCCESS, or an error with *why for the page (the cause is
 * logged). */
apr_status_t llm_route_month_spend(request_rec *r, const char *user,
                                   llm_spend_t *out, const char **why);

#endif /* ROUTE_SPEND_H */
