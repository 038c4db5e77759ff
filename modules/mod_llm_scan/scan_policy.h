/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/* From engine matches to the gateway's decision: findings, actions,
 * redaction placeholders. */

#ifndef SCAN_POLICY_H
#define SCAN_POLICY_H

#include "httpd.h"
#include "llm_gateway.h"
#include "dialect/llm_restore.h"
#include "scan_config.h"

/* Scan every provider-visible string of req->json, record the findings on
 * req and, when the decision is to redact, rewrite req->json.  Returns the
 * decision, or LLM_DECISION_ERROR when the engine failed (fail closed).
 * When a protocol field does not fit its syntax (an id, a provider blob),
 * *invalid gets the message for a 400 and nothing is scanned.  *restore
 * gets the placeholders of reversible redactions and their values (in
 * r->pool only), or NULL when there is none. */
llm_decision_e llm_scan_apply_policy(request_rec *r, llm_request_t *req,
                                     const llm_scan_rules_t *rules,
                                     const llm_scan_dir_conf_t *dc,
                                     const char **invalid,
                                     llm_restore_map_t **restore);

/* The 403 for a blocked request, in the caller's dialect. */
int llm_scan_send_block(request_rec *r, llm_request_t *req);

#endif /* SCAN_POLICY_H */
