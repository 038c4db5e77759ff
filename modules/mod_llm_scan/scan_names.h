/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* The model name and the User-Agent, checked before anything uses them
 * (scan_names.c). */

#ifndef SCAN_NAMES_H
#define SCAN_NAMES_H

#include "httpd.h"
#include "llm_gateway.h"
#include "scan_config.h"

/* OK when model (the body's "model", may be NULL; len bytes as the JSON
 * string holds it, a NUL included) has the model name syntax and holds no finding whose action is block or redact (those
 * are recorded on req at location "model"); HTTP_BAD_REQUEST otherwise. */
int llm_scan_check_model(request_rec *r, llm_request_t *req,
                         const llm_scan_rules_t *rules,
                         const llm_scan_dir_conf_t *dc, const char *model,
                         apr_size_t len);

/* Make r->headers_in's User-Agent safe to forward and to log: printable
 * ASCII ('?' for other bytes), its secrets and personal data replaced by
 * placeholders (and
 * recorded on req at location "header.User-Agent"), at most
 * LLM_USER_AGENT_MAX bytes. */
void llm_scan_check_user_agent(request_rec *r, llm_request_t *req,
                               const llm_scan_rules_t *rules,
                               const llm_scan_dir_conf_t *dc);

#endif /* SCAN_NAMES_H */
