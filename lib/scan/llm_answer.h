/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Scanning a string that arrives in pieces: the text of one content block
 * of a streamed answer (or of a whole answer, given as one piece).  The
 * caller adds each piece as it comes and asks which values are found and
 * how much of the string is final -- can be relayed -- now.  Only a tail
 * that could still be the start of a value is held back (a run of bytes a
 * value can hold, at most LLM_ANSWER_HOLD_MAX), so a value split across
 * pieces is found whole and can be replaced before any of it is relayed.
 *
 * A block of tool-call arguments (json) is JSON text the client parses:
 * its strings are scanned decoded (escapes undone, one string never run
 * into the next), and what is found is reported as the span of the JSON
 * text it came from, so that a placeholder can be put in its place.
 *
 * httpd-free (APR and the scan engine); offsets are absolute, counted
 * from the block's first byte.
 */

#ifndef LLM_ANSWER_H
#define LLM_ANSWER_H

#include <stddef.h>
#include "apr_pools.h"
#include "apr_tables.h"
#include "llm_scan.h"

/* Text scanned again before what is new, for rules whose value follows
 * a cue ("password: ...", "AWS_SECRET_ACCESS_KEY=") in text already
 * final; it starts after a blank when it holds one, so that no word is
 * read from its middle.  Kept short: in a stream relayed event by event
 * it is scanned again with every event (about 5 ns a byte). */
#define LLM_ANSWER_CONTEXT 48

/* The longest tail held back: longer runs (a JWT, a key) are held up to
 * this and what starts before is relayed; a value found reaching back
 * into relayed text is reported late. */
#define LLM_ANSWER_HOLD_MAX 4096

typedef struct llm_answer_stream_t llm_answer_stream_t;

/* One value found: start/end are offsets of the block's bytes as added
 * (for json, of the JSON text: escapes included). late: part of it
 * was released before it could be seen whole (it cannot be replaced). */
typedef struct {
    llm_scan_match_t m;      /* offset/length: within the decoded text */
    size_t start, end;
    int late;
    const char *value;       /* the decoded value (from the stream's pool):
                              * for a placeholder's key, never to log */
} llm_answer_match_t;

/* rs is shared read-only; p holds the block's state (a sub-pool is made
 * for each scan's scratch and cleared after it). */
llm_answer_stream_t *llm_answer_stream_create(apr_pool_t *p,
                                              const llm_scan_rules_t *rs,
                                              int json);

/* Add the next piece of the block. */
void llm_answer_stream_add(llm_answer_stream_t *s, const char *piece,
                           size_t len);

/* Bytes added so far. */
size_t llm_answer_stream_end(const llm_answer_stream_t *s);

/* Scan what was added since the last call (and the context before it).
 * final: the block has ended, nothing is held.  Appends to out (of
 * llm_answer_match_t) each value found for the first time; *safe gets the
 * offset before which the block is final.  The number appended, or -1
 * when the engine failed (callers fail closed). */
int llm_answer_stream_scan(llm_answer_stream_t *s, int final,
                           apr_array_header_t *out, size_t *safe);

/* The caller relayed the block up to upto (<= the last *safe). */
void llm_answer_stream_release(llm_answer_stream_t *s, size_t upto);

/* The start of the tail of text[0, len) that could still begin a value
 * (len: none), not before from: exposed for the unit tests. */
size_t llm_answer_tail_start(const char *text, size_t len, size_t from);

#endif /* LLM_ANSWER_H */
