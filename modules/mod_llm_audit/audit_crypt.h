/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
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
