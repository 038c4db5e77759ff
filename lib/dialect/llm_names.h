/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The syntax of the caller-supplied names and header values the gateway
 * passes on to a provider outside the scanned body: the model name, the
 * path segment an Azure deployment is named by, and the request headers
 * the providers' APIs define.  A value that does not fit is never
 * forwarded, logged or counted.  httpd-free, no allocation.
 */

#ifndef LLM_NAMES_H
#define LLM_NAMES_H

#include <stddef.h>

/* Longest model name accepted, in bytes. */
#define LLM_MODEL_NAME_MAX 128

/* Non-zero when s is a model name: 1..LLM_MODEL_NAME_MAX bytes of
 * '/'-separated segments, each starting with an ASCII letter or digit and
 * going on with letters, digits and . _ : @ - (gpt-4o-mini,
 * meta-llama/Llama-3.1-8B, ft:gpt-4o-mini:org::id, claude-x@20240620).
 * No empty, "." or ".." segment, no space, no byte outside ASCII. */
int llm_model_name_ok(const char *s);

/* Non-zero when s may be one segment of a provider URL path (an Azure
 * deployment name): 1..64 letters, digits, . _ -, starting with a letter
 * or digit.  Nothing a URL would give a meaning to. */
int llm_path_segment_ok(const char *s);

/* Longest User-Agent forwarded or logged, in bytes. */
#define LLM_USER_AGENT_MAX 512

/* The request headers a provider may receive from the caller. */
typedef enum {
    LLM_FWD_NONE = 0,            /* not forwarded */
    LLM_FWD_USER_AGENT,
    LLM_FWD_ACCEPT,
    LLM_FWD_ANTHROPIC_VERSION,
    LLM_FWD_ANTHROPIC_BETA,
    LLM_FWD_OPENAI_BETA
} llm_fwd_header_e;

/* Which forwarded header name is (case-insensitive); LLM_FWD_NONE for
 * every other header. */
llm_fwd_header_e llm_fwd_header(const char *name);

/* Non-zero when value fits the syntax of header h:
 *   User-Agent         1..LLM_USER_AGENT_MAX bytes of printable ASCII
 *                      (mod_llm_scan makes it so and scans it)
 *   Accept             media ranges of JSON and event streams, q values
 *   anthropic-version  YYYY-MM-DD
 *   anthropic-beta     comma list of lower-case words joined by '-'
 *   OpenAI-Beta        comma list of name=value, lower-case */
int llm_fwd_header_ok(llm_fwd_header_e h, const char *value);

/* Non-zero when a "beta" query value may go to the provider: "true" or
 * "false" (Anthropic's ?beta=true). */
int llm_beta_query_ok(const char *value, size_t len);

#endif /* LLM_NAMES_H */
