/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Server-sent events: an incremental parser that takes the stream in
 * whatever pieces the network delivers, and stream translators between
 * the Anthropic Messages event stream and OpenAI chat.completion.chunk
 * streams.  Plain buffers, no buckets: the httpd output filter feeds the
 * bytes of each bucket it reads and sends on the bytes it gets back.
 *
 * Memory stays flat over a stream of any length: buffers are reused
 * across events and grow only to the largest event seen (up to the cap),
 * and per-event work uses a scratch pool cleared on every call.
 */

#ifndef LLM_SSE_H
#define LLM_SSE_H

#include <stddef.h>
#include "apr_pools.h"
#include "llm_types.h"
#include "llm_usage.h"

/* Default cap on one line or one event's data; a provider's last event
 * (Responses' response.completed repeats the whole output) can be large. */
#define LLM_SSE_DEFAULT_MAX_EVENT (8 * 1024 * 1024)

/* One event.  The pointers are valid during the callback only. */
typedef struct llm_sse_event_t {
    const char *event;       /* the event: field, NULL if there was none */
    const char *data;        /* data: lines joined by \n, NUL-terminated */
    size_t data_len;
    const char *id;          /* the id: field, NULL if none */
} llm_sse_event_t;

/* Return non-zero to stop parsing; llm_sse_parser_feed returns it. */
typedef int (*llm_sse_event_cb)(void *baton, const llm_sse_event_t *ev);

typedef struct llm_sse_parser_t llm_sse_parser_t;

/* max_event 0: LLM_SSE_DEFAULT_MAX_EVENT. */
llm_sse_parser_t *llm_sse_parser_create(apr_pool_t *p, size_t max_event);

/* Feed bytes (any split: mid-line, mid-\r\n); cb runs for every event
 * completed by a blank line.  0, the callback's non-zero value, or -1
 * when a line or an event exceeds the cap (the parser is then spent). */
int llm_sse_parser_feed(llm_sse_parser_t *ps, const char *buf, size_t len,
                        llm_sse_event_cb cb, void *baton);

/* Where the parser is in the piece being fed, for a caller that relays
 * whole events: the offset just past the line being processed (in a
 * callback: the end of the event's blank line), and just past the
 * piece's last blank line so far (0: none).  A piece that ends in "\r"
 * may leave its "\n" at the start of the next piece. */
size_t llm_sse_parser_line_end(const llm_sse_parser_t *ps);
size_t llm_sse_parser_boundary(const llm_sse_parser_t *ps);

/* The stream ended: an event not yet closed by a blank line is dispatched
 * if it has data (providers sometimes omit the last blank line). */
int llm_sse_parser_finish(llm_sse_parser_t *ps, llm_sse_event_cb cb,
                          void *baton);

/* --- stream translation ---------------------------------------------- */

typedef struct llm_sse_translator_t llm_sse_translator_t;

/* A translator from a provider's stream (from) to the caller's (to):
 *   Anthropic -> OpenAI: message_start ... message_stop become
 *     chat.completion.chunk events ending with data: [DONE], with a usage
 *     chunk when include_usage (the caller's stream_options.include_usage);
 *   OpenAI -> Anthropic: chunks become message_start, content_block_start,
 *     content_block_delta, content_block_stop, message_delta, message_stop.
 * With from == to (or an endpoint without translation, e.g. Responses)
 * bytes pass through untouched and only usage is read.  model, if not
 * NULL, replaces the provider's model name in what the caller sees. */
llm_sse_translator_t *llm_sse_translator_create(apr_pool_t *p,
                                                llm_family_e from,
                                                llm_family_e to,
                                                int include_usage,
                                                const char *model);

/* The translator a caller's endpoint needs for a provider's family:
 * chat.completions on Anthropic -> chunks, messages on OpenAI -> Anthropic
 * events, responses on Anthropic -> Responses API events
 * (response.created, response.output_item.added, deltas,
 * response.output_item.done, response.completed: what Codex CLI needs);
 * anything else passes through, read for usage only. */
llm_sse_translator_t *llm_sse_translator_create_for(apr_pool_t *p,
                                                    llm_endpoint_e caller,
                                                    llm_family_e provider,
                                                    int include_usage,
                                                    const char *model);

/* For a pass-through OpenAI stream (chat.completions, completions) whose
 * caller did not ask for usage: the usage chunk (choices [], usage set)
 * the gateway asked the provider for is left out of what the caller
 * gets.  Bytes then go on whole events at a time (a partial event waits
 * for its end), otherwise as they came. */
void llm_sse_translator_strip_usage(llm_sse_translator_t *t);

/* Feed upstream bytes; *out / *out_len get the bytes to send on (valid
 * until the next call; may be empty).  0, or -1 on an event over the cap
 * (the caller ends the stream; what was sent stays valid SSE).  A
 * pass-through translator always returns 0 and *out is buf itself
 * (unless it strips the usage chunk). */
int llm_sse_translate(llm_sse_translator_t *t, const char *buf, size_t len,
                      const char **out, size_t *out_len);

/* Upstream ended (EOS): whatever the caller's stream still needs to be
 * complete ([DONE], content_block_stop, message_delta, message_stop). */
int llm_sse_translate_finish(llm_sse_translator_t *t, const char **out,
                             size_t *out_len);

/* Usage read from the stream so far (normalised, llm_usage.h). */
const llm_usage_t *llm_sse_translator_usage(const llm_sse_translator_t *t);

/* Bytes of text the model wrote in the stream so far
 * (llm_usage_text_bytes of each event; every byte once an event was too
 * large to read): what an estimate of output tokens is made from when the
 * provider reports no usage. */
size_t llm_sse_translator_text_bytes(const llm_sse_translator_t *t);

/* 1 once the stream has ended ([DONE], message_stop or an error event). */
int llm_sse_translator_done(const llm_sse_translator_t *t);

#endif /* LLM_SSE_H */
