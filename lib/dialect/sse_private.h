/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The stream translator's state, shared by sse_translate.c (chat chunks
 * <-> Anthropic events) and sse_responses.c (Anthropic events ->
 * Responses API events).  Not part of the library's API.
 */

#ifndef LLM_SSE_PRIVATE_H
#define LLM_SSE_PRIVATE_H

#include <jansson.h>
#include "apr_tables.h"

#include "llm_sse.h"
#include "dialect_private.h"

#define NO_INDEX (-1)

typedef enum {
    LLM_SSE_PASS = 0,            /* same dialect: bytes untouched */
    LLM_SSE_A2O,                 /* Anthropic events -> chat chunks */
    LLM_SSE_O2A,                 /* chat chunks -> Anthropic events */
    LLM_SSE_A2R                  /* Anthropic events -> Responses events */
} llm_sse_mode_e;

struct llm_sse_translator_t {
    apr_pool_t *p;
    llm_sse_parser_t *ps;
    llm_sse_mode_e mode;
    int include_usage;
    const char *model;           /* what the caller is shown */
    llm_dbuf_t out;
    llm_usage_t usage;
    int started;                 /* the caller's stream has its opening */
    int done;
    int failed;
    json_int_t created;
    size_t text_bytes;           /* generated text seen, for estimates */

    /* pass-through that leaves out the usage chunk */
    int strip_usage;
    const char *piece;           /* the piece being fed */
    size_t mark;                 /* piece bytes before it are dealt with */
    int cut;                     /* the piece does not go on as it came */
    llm_dbuf_t held;             /* an event begun in earlier pieces */

    /* Anthropic -> OpenAI */
    const char *chunk_id;
    apr_array_header_t *tool_of_block;  /* int: block index -> call index */
    int ncalls;
    const char *finish_reason;
    int finish_sent;

    /* OpenAI -> Anthropic */
    int block_open;              /* index of the open block or NO_INDEX */
    int block_is_tool;
    int open_call;               /* call index of the open tool block */
    int nblocks;
    const char *stop_reason;

    /* Anthropic -> Responses */
    const char *resp_id;
    long seq;                    /* sequence_number of the next event */
    json_t *items;               /* finished output items, for completed */
    int item_open;               /* output_index of the open item */
    int item_block;              /* Anthropic block index it came from */
    int item_is_tool;
    llm_dbuf_t item_id;
    llm_dbuf_t call_id;
    llm_dbuf_t name;
    llm_dbuf_t acc;              /* the open item's text or arguments */
};

/* "event: name\ndata: json\n\n" (no event line when name is NULL); data
 * is stolen.  0 or -1. */
int llm_sse_emit_data(llm_sse_translator_t *t, const char *event,
                      json_t *data);

/* Anthropic -> Responses (sse_responses.c) */
void llm_sse_a2r_init(llm_sse_translator_t *t);
int llm_sse_a2r_event(llm_sse_translator_t *t, const char *type, json_t *d);
int llm_sse_a2r_finish(llm_sse_translator_t *t);

#endif /* LLM_SSE_PRIVATE_H */
