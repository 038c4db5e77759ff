/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The strings of an answer the caller will see, found where they are, in
 * the caller's dialect: text, refusals, tool-call arguments (JSON text
 * the client parses), thinking that carries a provider signature.
 *
 * For a stream: one SSE event's data at a time, each string as a piece of
 * a block (the deltas of one content block, one choice's content, one
 * tool call's arguments) with the span of its JSON string token in the
 * data, so that a caller can put a new value in its place and leave every
 * other byte of the event as it was.  Only the events that carry text are
 * read, with a scan that stops at the members it needs (no tree), so the
 * walk costs little on the stream's hot path.
 *
 * For a whole answer: the jansson nodes holding the strings.
 *
 * Shared by the answer scan (mod_llm_scan) and whatever else edits
 * answers in place.
 */

#ifndef LLM_ANSWER_WALK_H
#define LLM_ANSWER_WALK_H

#include <stddef.h>
#include <jansson.h>
#include "apr_pools.h"
#include "apr_tables.h"
#include "llm_types.h"

typedef enum {
    LLM_ANSWER_TEXT = 0,     /* text, refusal, reasoning summary */
    LLM_ANSWER_ARGS,         /* tool-call arguments: JSON text */
    LLM_ANSWER_SIGNED        /* thinking under a provider signature */
} llm_answer_kind_e;

/* One string of an event. */
typedef struct {
    llm_answer_kind_e kind;
    const char *block;       /* the block it continues, and the finding's
                              * location: "content[1].text",
                              * "choices[0].delta.tool_calls[0].function.arguments" */
    size_t tok_off, tok_len; /* its JSON string token (quotes included) in
                              * the event's data */
    const char *text;        /* decoded */
    size_t len;
    int whole;               /* the whole string again (a "done" event),
                              * not a delta */
} llm_answer_piece_t;

typedef struct {
    apr_array_header_t *pieces;  /* of llm_answer_piece_t */
    /* Blocks this event ends: a name ends that block, a name ending in
     * '.' or '[' every block it begins. */
    apr_array_header_t *ends;    /* of const char * */
    int last;                    /* the stream's end ([DONE], message_stop,
                                  * response.completed) */
    int error;                   /* an error event */
} llm_answer_event_t;

/* Read one event (its event: field, NULL if none, and its data) of a
 * stream to a caller of endpoint ep.  out's arrays are made from p.
 * 0, or -1 when the data is not the JSON the dialect sends (then nothing
 * of it is known to be text: the caller decides). */
int llm_answer_walk_event(apr_pool_t *p, llm_endpoint_e ep,
                          const char *event, const char *data, size_t len,
                          llm_answer_event_t *out);

/* A string of a whole answer. */
typedef struct {
    llm_answer_kind_e kind;
    const char *location;    /* "choices[0].message.content" */
    json_t *node;            /* the json string */
} llm_answer_string_t;

/* Every caller-visible string of a whole answer body (caller's dialect)
 * of endpoint ep, appended to out (of llm_answer_string_t).  Strings in
 * an Anthropic tool_use input (an object the client gets as it is) are
 * LLM_ANSWER_TEXT each, keys left out. */
void llm_answer_walk_body(apr_pool_t *p, llm_endpoint_e ep, json_t *body,
                          apr_array_header_t *out);

/* s as a JSON string token (quotes included), from p. */
char *llm_answer_json_quote(apr_pool_t *p, const char *s, size_t n,
                            size_t *out_len);

#endif /* LLM_ANSWER_WALK_H */
