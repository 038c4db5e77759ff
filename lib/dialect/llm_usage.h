/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Token usage from provider responses and streams, in one convention for
 * quotas and audit whatever the provider's dialect.
 *
 * input_tokens counts every input token, cached ones included (OpenAI's
 * prompt_tokens; for Anthropic input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens); cached_input_tokens is the part read
 * from a prompt cache (prompt_tokens_details.cached_tokens,
 * input_tokens_details.cached_tokens, cache_read_input_tokens).
 */

#ifndef LLM_USAGE_H
#define LLM_USAGE_H

#include <jansson.h>
#include "apr_pools.h"

typedef struct llm_usage_t {
    long long input_tokens;
    long long output_tokens;
    long long cached_input_tokens;
    long long cache_creation_input_tokens;
    int seen;                        /* 1 once any usage was read */
    int output_final;                /* output_tokens is the answer's total
                                      * (not message_start's placeholder) */
    /* Anthropic reports its parts in separate events: the uncached part
     * as last reported, to add the cache parts to. */
    long long anthropic_uncached;
} llm_usage_t;

void llm_usage_init(llm_usage_t *u);

/* Read a "usage" object of any family into u; fields it has replace
 * those in u.  1 if it held usage, 0 if not. */
int llm_usage_from_object(llm_usage_t *u, json_t *usage);

/* From a whole non-stream response body (chat.completion, response,
 * message, embeddings list). 1 if usage was found. */
int llm_usage_from_body(llm_usage_t *u, json_t *body);

/* The same from the body's text, parsing only its "usage" member: for
 * answers passed on untouched.  Equals the above on a well-formed body. */
int llm_usage_from_body_text(llm_usage_t *u, const char *buf, size_t len);

/* From one stream event's data: an OpenAI chat chunk carrying usage,
 * Responses' response.completed (or .incomplete/.failed), Anthropic's
 * message_start and message_delta.  event may be NULL (the type is read
 * from the data).  1 if usage was found. */
int llm_usage_from_event(llm_usage_t *u, const char *event, json_t *data);

/* The same from the event's data text, parsing only the usage object
 * (streams are relayed untouched).  Equals the above on well-formed data. */
int llm_usage_from_event_text(llm_usage_t *u, const char *event,
                              const char *data, size_t len);

/* --- when the provider reports none ---------------------------------- */

/* Bytes of generated text in one stream event's data (or a whole answer
 * body): the string values, as written, of the members that carry text a
 * model wrote (content, text, arguments, partial_json, refusal, thinking,
 * reasoning_content, and Responses' string delta).  Responses' summary
 * events (event name response.* not ending in .delta) count 0: they
 * repeat the deltas.  One pass over the text, no parse. */
size_t llm_usage_text_bytes(const char *event, const char *data, size_t len);

/* The same pass, telling too whether the data has a "usage" member to be
 * read (llm_usage_read_event_text): a stream's events are scanned once. */
size_t llm_usage_scan_event(const char *event, const char *data, size_t len,
                            int *has_usage);

/* llm_usage_from_event_text without its quick check for the word
 * "usage", for data llm_usage_scan_event found a usage member in. */
int llm_usage_read_event_text(llm_usage_t *u, const char *event,
                              const char *data, size_t len);

/* Tokens for bytes of text: about 4 bytes each, rounded up. */
long long llm_usage_estimate_tokens(size_t bytes);

/* Fill in what the provider did not report: input tokens from the bytes
 * of the body sent to it, output tokens from the text relayed (never
 * less than what was reported).  1 when anything was estimated. */
int llm_usage_complete(llm_usage_t *u, size_t input_bytes,
                       size_t output_text_bytes);

/* The upstream body of an OpenAI-dialect stream (chat.completions or
 * completions) made to ask for the usage chunk: stream_options.
 * include_usage set to true by a text edit (the rest byte for byte).
 * 1 and *out / *out_len (from p) when edited; 0 when the body is not a
 * stream or already asks; -1 when it is not an object this edit can
 * follow (sent as it is). */
int llm_usage_request_ask(apr_pool_t *p, const char *body, size_t len,
                          const char **out, size_t *out_len);

#endif /* LLM_USAGE_H */
