/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Translation between the OpenAI Chat Completions and Anthropic Messages
 * dialects: requests, non-stream responses, error bodies.  Streams are in
 * llm_sse.h, usage in llm_usage.h.
 *
 * Every json_t returned is new, owned by the pool passed in (decref'ed by
 * a pool cleanup); the input is never modified.  What a dialect cannot
 * express is either mapped to its nearest equivalent or, where dropping
 * it would change the answer silently, refused with a message for a 400.
 */

#ifndef LLM_TRANSLATE_H
#define LLM_TRANSLATE_H

#include <jansson.h>
#include "apr_pools.h"
#include "llm_types.h"
#include "llm_usage.h"

/* Anthropic requires max_tokens; OpenAI callers may leave it out. */
#define LLM_TRANSLATE_DEFAULT_MAX_TOKENS 4096

typedef struct llm_translate_opts_t {
    /* max_tokens for an Anthropic request whose OpenAI caller gave none
     * (0: LLM_TRANSLATE_DEFAULT_MAX_TOKENS). */
    long default_max_tokens;
    /* Write max_completion_tokens rather than max_tokens into OpenAI
     * requests (OpenAI's reasoning models refuse max_tokens; many
     * OpenAI-compatible servers know only max_tokens). */
    int openai_max_completion_tokens;
} llm_translate_opts_t;

/* The glue's entry points.  The provider endpoint a caller's endpoint is
 * sent to for a provider family (chat or responses on Anthropic ->
 * messages, messages on OpenAI -> chat.completions; the caller's own when
 * no translation is needed; LLM_EP_NONE when there is no equivalent:
 * embeddings, completions on Anthropic, count_tokens on OpenAI). */
llm_endpoint_e llm_translate_target_endpoint(llm_endpoint_e caller,
                                             llm_family_e provider);
/* The request body for the provider: body itself when no translation is
 * needed, a new body (owned by p) when translated, NULL and *err (for a
 * 400) when it cannot be. */
json_t *llm_translate_request_for(apr_pool_t *p, llm_endpoint_e caller,
                                  llm_family_e provider, json_t *body,
                                  const llm_translate_opts_t *opts,
                                  const char **err);
/* A non-stream answer for the caller: body itself when no translation is
 * needed, NULL when the provider's body is not an answer (send a 502). */
json_t *llm_translate_response_for(apr_pool_t *p, llm_endpoint_e caller,
                                   llm_family_e provider, json_t *body);

/* Requests.  opts may be NULL.  NULL and *err (for a 400) on failure. */
json_t *llm_translate_chat_to_anthropic(apr_pool_t *p, json_t *chat,
                                        const llm_translate_opts_t *opts,
                                        const char **err);
json_t *llm_translate_anthropic_to_chat(apr_pool_t *p, json_t *msg,
                                        const llm_translate_opts_t *opts,
                                        const char **err);

/* Non-stream responses.  NULL when the body is not a response of the
 * expected kind (the caller then sends a 502 in its caller's dialect). */
json_t *llm_translate_anthropic_response_to_chat(apr_pool_t *p,
                                                 json_t *message);
json_t *llm_translate_chat_response_to_anthropic(apr_pool_t *p,
                                                 json_t *completion);

/* The OpenAI Responses API (Codex CLI) on an Anthropic model: the request
 * (instructions, input messages, function_call / function_call_output
 * items, function tools; OpenAI's reasoning items and hosted tools are
 * left out; previous_response_id is refused: there is no stored state),
 * and the Anthropic message back as a response object. */
json_t *llm_translate_responses_to_anthropic(apr_pool_t *p, json_t *req,
                                             const llm_translate_opts_t *opts,
                                             const char **err);
json_t *llm_translate_anthropic_response_to_responses(apr_pool_t *p,
                                                      json_t *message);

/* Stop reasons: end_turn/stop_sequence -> stop, max_tokens -> length,
 * tool_use -> tool_calls, refusal -> content_filter; and back.  Unknown or
 * NULL reasons map to "stop" / "end_turn". */
const char *llm_translate_stop_to_openai(const char *stop_reason);
const char *llm_translate_stop_to_anthropic(const char *finish_reason);

/* Usage objects of each dialect from normalised usage (llm_usage.h);
 * new references for the caller. */
json_t *llm_translate_usage_openai(const llm_usage_t *u);
json_t *llm_translate_usage_anthropic(const llm_usage_t *u);
json_t *llm_translate_usage_responses(const llm_usage_t *u);

/* An upstream error body (any bytes: JSON of either family, HTML from a
 * proxy, nothing) rewritten as an error body of family `to`, keeping the
 * provider's message where there is one.  Never NULL. */
char *llm_translate_error_body(apr_pool_t *p, const char *buf, size_t len,
                               llm_family_e to, int status);

#endif /* LLM_TRANSLATE_H */
