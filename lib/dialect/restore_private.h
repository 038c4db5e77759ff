/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * What restore_map.c (the map, one string, parsed answers) shares with
 * restore_sse.c (streams).  Not part of the library's API.
 */

#ifndef LLM_RESTORE_PRIVATE_H
#define LLM_RESTORE_PRIVATE_H

#include "apr_hash.h"

#include "llm_restore.h"
#include "dialect_private.h"

typedef struct llm_restore_entry_t {
    const char *value;
    size_t len;
    const char *escaped;         /* for a string of JSON text */
    size_t elen;
} llm_restore_entry_t;

struct llm_restore_map_t {
    apr_pool_t *p;
    apr_hash_t *values;          /* placeholder -> entry */
    apr_hash_t *prefixes;        /* every proper beginning of one */
    size_t longest;
    unsigned char second[256];   /* what follows "[" in a placeholder,
                                    and the quote that ends a string */
    int n;
};

/* Could JSON text d[0..n) hold a placeholder of m, or end a string in
 * the beginning of one?  Placeholders stand in JSON as they are. */
int llm_restore_candidate(const llm_restore_map_t *m, const char *d,
                          size_t n);

/* The entry of the placeholder s[0..n), or NULL. */
const llm_restore_entry_t *llm_restore_lookup(const llm_restore_map_t *m,
                                              const char *s, size_t n);

/* 1 when s[0..n) is a proper beginning of a placeholder of m. */
int llm_restore_is_prefix(const llm_restore_map_t *m, const char *s,
                          size_t n);

/* Which parts of an answer are never changed (thinking, reasoning, their
 * signatures), and which strings hold JSON text. */
int llm_restore_skipped_key(const char *key);
int llm_restore_skipped_object(json_t *obj);
int llm_restore_json_text_key(const char *key);

/* llm_restore_string on a JSON string, set in place when anything was
 * replaced; the count. */
int llm_restore_set_string(apr_pool_t *p, const llm_restore_map_t *m,
                           json_t *str, int json_text, size_t *tail);

#endif /* LLM_RESTORE_PRIVATE_H */
