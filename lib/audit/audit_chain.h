/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The tamper-evidence chain, httpd-free.  Each writer (one httpd child
 * process) owns one chain: rows carry chain_id, seq (1, 2, ...), the MAC
 * of the chain's previous row and their own MAC, where
 *     mac = HMAC-SHA256(key, prev_mac_hex || canonical bytes)
 * Deleting, editing or reordering rows breaks the chain where it happens.
 */

#ifndef LLM_AUDIT_CHAIN_H
#define LLM_AUDIT_CHAIN_H

#include "apr_pools.h"
#include "audit_record.h"

#define LLM_AUDIT_KEY_MIN 32

typedef struct llm_audit_chain_t {
    const char *chain_id;
    apr_int64_t seq;                          /* of the last sealed row */
    char prev_mac[LLM_AUDIT_MAC_HEX_LEN + 1];
    const unsigned char *key;
    apr_size_t key_len;
    /* The key's HMAC pads, hashed once at creation (EVP_MD_CTX *, kept
     * opaque here): each seal then copies two SHA-256 states instead of
     * fetching the digest and deriving the pads again.  NULL when that
     * failed: seals take the one-shot path. */
    void *inner;
    void *outer;
    void *scratch;
} llm_audit_chain_t;

/* Read a key file: 64 hex digits (optionally followed by a newline) or
 * at least min_len raw bytes.  On failure returns an error message. */
const char *llm_audit_key_read(apr_pool_t *p, const char *path,
                               apr_size_t min_len,
                               const unsigned char **key, apr_size_t *len);

/* A fresh chain (seq 0, prev_mac zero).  The key is not copied; the
 * digest states derived from it are freed with p. */
llm_audit_chain_t *llm_audit_chain_create(apr_pool_t *p, const char *chain_id,
                                          const unsigned char *key,
                                          apr_size_t key_len);

/* HMAC-SHA256 over prev_mac || data, as 64 lower-case hex digits. */
void llm_audit_mac(const unsigned char *key, apr_size_t key_len,
                   const char *prev_mac, const char *data, apr_size_t len,
                   char out[LLM_AUDIT_MAC_HEX_LEN + 1]);

/* MAC of a record as it stands (chain fields included), into out. */
void llm_audit_record_mac(apr_pool_t *p, const unsigned char *key,
                          apr_size_t key_len, const llm_audit_record_t *rec,
                          char out[LLM_AUDIT_MAC_HEX_LEN + 1]);

/* Give rec the chain's next seq and prev_mac, compute its MAC and move
 * the chain on.  Not thread-safe: the caller serialises calls on one
 * chain (a process-local mutex; chains of different processes never
 * share state). */
void llm_audit_chain_seal(llm_audit_chain_t *chain, apr_pool_t *p,
                          llm_audit_record_t *rec);

#endif /* LLM_AUDIT_CHAIN_H */
