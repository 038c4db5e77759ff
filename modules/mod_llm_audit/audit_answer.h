/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The answer's copy for the audit row (LLMAuditBodies): the bytes that
 * leave mod_llm_scan's answer scan, up to LLMAuditBodyMax.  The filter
 * sits right after the scan (LLM_ANSWER_SCAN_FTYPE + 1) and before any
 * filter that puts the request's original values back into the answer,
 * so the copy holds placeholders where the request was redacted and
 * where the answer scan redacted, never a value the scan took out.
 */

#ifndef AUDIT_ANSWER_H
#define AUDIT_ANSWER_H

#include "httpd.h"
#include "util_filter.h"

#include "mod_llm_audit.h"

#define LLM_AUDIT_ANSWER_FILTER "LLM_AUDIT_ANSWER"
/* mod_llm_scan's LLM_ANSWER_SCAN is AP_FTYPE_RESOURCE + 4. */
#define LLM_AUDIT_ANSWER_FTYPE (AP_FTYPE_RESOURCE + 5)

void llm_audit_answer_register(void);

/* Keep a copy of this request's answer when dc captures bodies. */
void llm_audit_answer_insert(request_rec *r, const llm_audit_dir_t *dc);

/* The copy kept (NULL: none); *truncated when the answer was longer
 * than the limit. */
const char *llm_audit_answer_get(request_rec *r, apr_size_t *len,
                                 int *truncated);

#endif /* AUDIT_ANSWER_H */
