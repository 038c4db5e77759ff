/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * AES-256-GCM for captured bodies (OpenSSL EVP).
 */

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "apr_strings.h"
#include "apr_base64.h"

#include "audit_crypt.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX "v1:"

const char *llm_audit_encrypt(apr_pool_t *p, const unsigned char *key,
                              apr_size_t key_len, const char *aad,
                              const char *data, apr_size_t len,
                              const char **err)
{
    EVP_CIPHER_CTX *ctx;
    unsigned char *buf;
    int n = 0, fin = 0, ok;
    char *b64;

    if (key_len != LLM_AUDIT_BODY_KEY_LEN) {
        *err = "the body key must be 32 bytes";
        return NULL;
    }
    if (len > (apr_size_t)64 * 1024 * 1024) {
        *err = "body too large to capture";
        return NULL;
    }
    buf = apr_palloc(p, NONCE_LEN + len + TAG_LEN);
    /* A random 96-bit nonce per body: at the 2^32 bodies per key where
     * collisions start to matter, rotate LLMAuditBodyKeyFile. */
    if (RAND_bytes(buf, NONCE_LEN) != 1) {
        *err = "no randomness for the nonce";
        return NULL;
    }
    ctx = EVP_CIPHER_CTX_new();
    ok = ctx
         && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
                                NULL) == 1
         && EVP_EncryptInit_ex(ctx, NULL, NULL, key, buf) == 1
         && (!aad || EVP_EncryptUpdate(ctx, NULL, &n,
                                       (const unsigned char *)aad,
                                       (int)strlen(aad)) == 1)
         && EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n,
                              (const unsigned char *)data, (int)len) == 1
         && EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &fin) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                buf + NONCE_LEN + n + fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        *err = "AES-256-GCM encryption failed";
        return NULL;
    }
    n = NONCE_LEN + n + fin + TAG_LEN;
    b64 = apr_palloc(p, sizeof(PREFIX) + apr_base64_encode_len(n));
    memcpy(b64, PREFIX, sizeof(PREFIX) - 1);
    apr_base64_encode_binary(b64 + sizeof(PREFIX) - 1, buf, n);
    return b64;
}

const char *llm_audit_decrypt(apr_pool_t *p, const unsigned char *key,
                              apr_size_t key_len, const char *aad,
                              const char *blob, apr_size_t *len,
                              const char **err)
{
    EVP_CIPHER_CTX *ctx;
    unsigned char *raw;
    char *out;
    int rawlen, n = 0, fin = 0, ok;

    if (key_len != LLM_AUDIT_BODY_KEY_LEN) {
        *err = "the body key must be 32 bytes";
        return NULL;
    }
    if (!blob || strncmp(blob, PREFIX, sizeof(PREFIX) - 1)) {
        *err = "not a captured body (no v1: prefix)";
        return NULL;
    }
    blob += sizeof(PREFIX) - 1;
    raw = apr_palloc(p, apr_base64_decode_len(blob) + 1);
    rawlen = apr_base64_decode_binary(raw, blob);
    if (rawlen < NONCE_LEN + TAG_LEN) {
        *err = "captured body is truncated";
        return NULL;
    }
    out = apr_palloc(p, rawlen - NONCE_LEN - TAG_LEN + 1);
    ctx = EVP_CIPHER_CTX_new();
    ok = ctx
         && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
                                NULL) == 1
         && EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) == 1
         && (!aad || EVP_DecryptUpdate(ctx, NULL, &n,
                                       (const unsigned char *)aad,
                                       (int)strlen(aad)) == 1)
         && EVP_DecryptUpdate(ctx, (unsigned char *)out, &n, raw + NONCE_LEN,
                              rawlen - NONCE_LEN - TAG_LEN) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                raw + rawlen - TAG_LEN) == 1
         && EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        *err = "authentication failed: wrong key, wrong request id or "
               "altered body";
        return NULL;
    }
    out[n + fin] = '\0';
    *len = (apr_size_t)(n + fin);
    return out;
}
