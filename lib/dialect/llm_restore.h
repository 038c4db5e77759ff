/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Reversible redaction, the way back: the placeholders a request was
 * given ([REDACTED_EMAIL_1] for alice@corp.com) are replaced by their
 * values in the answer, in the caller's dialect, for the caller alone.
 *
 * A placeholder is looked up whole ("[" ... "]") in a map that lives in
 * the request's pool: a placeholder the model invents, or one that came
 * from another request, is not in it and stays as written.  Inside a
 * string that is itself JSON text (tool-call "arguments", an Anthropic
 * "partial_json" piece) the value is JSON-escaped once before it goes
 * in, so that the arguments still parse to the value; in every other
 * string it goes in as it is and the serialiser escapes it.  Thinking
 * and reasoning blocks, and their signatures, are never changed: the
 * provider signs what it wrote.
 *
 * Streams (llm_restore_stream_*) take SSE bytes in any pieces and give
 * back whole events.  An event is passed on as it came unless it holds a
 * placeholder of the map, or the end of one of its strings could still
 * begin one; such an event is held (with every event after it, so that
 * nothing is reordered) until the next piece of the same string says
 * whether it is one: a placeholder split over three events is restored
 * in the event that completes it and cut from the two before.  Held
 * events go on at the first event that does not continue the string
 * (an Anthropic "ping" excepted), and at the end of the stream.
 *
 * httpd-free: APR and jansson only.
 */

#ifndef LLM_RESTORE_H
#define LLM_RESTORE_H

#include <stddef.h>
#include <jansson.h>
#include "apr_pools.h"

/* Longest placeholder a map takes. */
#define LLM_RESTORE_MAX_PLACEHOLDER 128

typedef struct llm_restore_map_t llm_restore_map_t;

llm_restore_map_t *llm_restore_map_create(apr_pool_t *p);

/* placeholder -> value (len bytes, copied).  A placeholder is "[", then
 * printable ASCII other than [ ] " \, then "]", at most
 * LLM_RESTORE_MAX_PLACEHOLDER bytes: such text stands in JSON as it is,
 * so it is found in the bytes of any JSON string.  0, or -1 (not added)
 * for another shape or a placeholder already mapped to another value. */
int llm_restore_map_add(llm_restore_map_t *m, const char *placeholder,
                        const char *value, size_t len);

/* Placeholders in the map. */
int llm_restore_map_count(const llm_restore_map_t *m);

/* s[0..n) with every placeholder of m replaced by its value (JSON-escaped
 * when json_text), allocated from p; s itself when there is none.
 * Returns how many were replaced.  tail, if not NULL, gets the offset in
 * the result of a last part that could still begin a placeholder
 * (*out_len when there is none). */
int llm_restore_string(const llm_restore_map_t *m, apr_pool_t *p,
                       const char *s, size_t n, int json_text,
                       const char **out, size_t *out_len, size_t *tail);

/* Every string of a parsed answer (an answer body, or one event's data)
 * restored in place; JSON text by its key ("arguments").  The number of
 * placeholders replaced. */
int llm_restore_json(const llm_restore_map_t *m, apr_pool_t *p, json_t *v);

/* A whole non-stream answer: the restored JSON text in p, or buf itself
 * when nothing was replaced or buf is not JSON.  *count gets the number
 * replaced. */
const char *llm_restore_body(const llm_restore_map_t *m, apr_pool_t *p,
                             const char *buf, size_t len, size_t *out_len,
                             int *count);

/* --- streams ------------------------------------------------------------ */

typedef struct llm_restore_stream_t llm_restore_stream_t;

/* max_event 0: the SSE parser's default cap.  Memory stays bounded over
 * a stream of any length: each held event has a pool of its own, gone
 * once the event went on. */
llm_restore_stream_t *llm_restore_stream_create(apr_pool_t *p,
                                                const llm_restore_map_t *m,
                                                size_t max_event);

/* Feed the answer's bytes; *out / *out_len get the bytes to send on now
 * (whole events; valid until the next call; may be empty).  An event over
 * the cap ends restoring: from then on bytes go on as they come. */
void llm_restore_stream_feed(llm_restore_stream_t *s, const char *buf,
                             size_t len, const char **out, size_t *out_len);

/* The answer ended: everything still held or buffered. */
void llm_restore_stream_finish(llm_restore_stream_t *s, const char **out,
                               size_t *out_len);

/* Placeholders replaced so far. */
int llm_restore_stream_count(const llm_restore_stream_t *s);

/* 1 once an event over the cap ended restoring. */
int llm_restore_stream_failed(const llm_restore_stream_t *s);

#endif /* LLM_RESTORE_H */
