/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Body capture at rest, httpd-free: AES-256-GCM under the body key, with
 * the row's request id as associated data, so a body moved to another
 * row no longer decrypts.  Stored text: "v1:" base64(nonce12 ct tag16).
 */

#ifndef LLM_AUDIT_CRYPT_H
#define LLM_AUDIT_CRYPT_H

#include "apr_pools.h"

#define LLM_AUDIT_BODY_KEY_LEN 32

/* Encrypt; NULL and *err on failure. */
const char *llm_audit_encrypt(apr_pool_t *p, const unsigned char *key,
                              apr_size_t key_len, const char *aad,
                              const char *data, apr_size_t len,
                              const char **err);

/* Decrypt a blob made by llm_audit_encrypt; NULL and *err when the key,
 * the request id or the blob is wrong. */
const char *llm_audit_decrypt(apr_pool_t *p, const unsigned char *key,
                              apr_size_t key_len, const char *aad,
                              const char *blob, apr_size_t *len,
                              const char **err);

#endif /* LLM_AUDIT_CRYPT_H */
