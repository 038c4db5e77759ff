/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * HMAC-SHA256 chain over audit records, and the key files it reads.
 */

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "apr_strings.h"
#include "apr_file_io.h"
#include "apr_lib.h"

#include "audit_chain.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

const char *llm_audit_key_read(apr_pool_t *p, const char *path,
                               apr_size_t min_len,
                               const unsigned char **key, apr_size_t *len)
{
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_status_t rv;
    unsigned char *buf;
    apr_size_t n, i;
    char err[128];

    rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot open key file %s: %s", path,
                            apr_strerror(rv, err, sizeof(err)));
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fd);
    if (rv != APR_SUCCESS || fi.size > 4096) {
        apr_file_close(fd);
        return apr_psprintf(p, "key file %s is not a small regular file",
                            path);
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    rv = apr_file_read_full(fd, buf, n, &n);
    apr_file_close(fd);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(p, "cannot read key file %s: %s", path,
                            apr_strerror(rv, err, sizeof(err)));
    }
    /* 64 hex digits and a newline is how `openssl rand -hex 32` writes a
     * key; take that as 32 bytes rather than 64 weak ones. */
    while (n > 0 && apr_isspace(buf[n - 1])) {
        n--;
    }
    if (n == 64) {
        unsigned char *raw = apr_palloc(p, 32);

        for (i = 0; i < 32; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);

            if (hi < 0 || lo < 0) {
                break;
            }
            raw[i] = (unsigned char)(hi << 4 | lo);
        }
        if (i == 32) {
            *key = raw;
            *len = 32;
            return NULL;
        }
    }
    if (n < min_len) {
        return apr_psprintf(p, "key file %s holds %" APR_SIZE_T_FMT
                            " bytes; it needs 64 hex digits or at least %"
                            APR_SIZE_T_FMT " raw bytes (openssl rand -hex 32)",
                            path, n, min_len);
    }
    *key = buf;
    *len = n;
    return NULL;
}

#define HMAC_BLOCK 64          /* SHA-256's block size */

static apr_status_t free_pads(void *data)
{
    llm_audit_chain_t *c = data;

    EVP_MD_CTX_free(c->inner);
    EVP_MD_CTX_free(c->outer);
    EVP_MD_CTX_free(c->scratch);
    c->inner = c->outer = c->scratch = NULL;
    return APR_SUCCESS;
}

/* HMAC (RFC 2104) split at the key: the states after hashing
 * (K ^ ipad) and (K ^ opad), where K is the key, or its SHA-256 when it
 * is longer than a block, zero-padded to a block. */
static void make_pads(apr_pool_t *p, llm_audit_chain_t *c)
{
    unsigned char k[HMAC_BLOCK], ipad[HMAC_BLOCK], opad[HMAC_BLOCK];
    unsigned int klen = 0, i;
    int ok;

    memset(k, 0, sizeof(k));
    if (c->key_len > HMAC_BLOCK) {
        if (!EVP_Digest(c->key, c->key_len, k, &klen, EVP_sha256(), NULL)) {
            return;
        }
    }
    else {
        memcpy(k, c->key, c->key_len);
    }
    for (i = 0; i < HMAC_BLOCK; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    c->inner = EVP_MD_CTX_new();
    c->outer = EVP_MD_CTX_new();
    c->scratch = EVP_MD_CTX_new();
    apr_pool_cleanup_register(p, c, free_pads, apr_pool_cleanup_null);
    ok = c->inner && c->outer && c->scratch
         && EVP_DigestInit_ex(c->inner, EVP_sha256(), NULL)
         && EVP_DigestUpdate(c->inner, ipad, HMAC_BLOCK)
         && EVP_DigestInit_ex(c->outer, EVP_sha256(), NULL)
         && EVP_DigestUpdate(c->outer, opad, HMAC_BLOCK);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));
    if (!ok) {
        apr_pool_cleanup_run(p, c, free_pads);
    }
}

llm_audit_chain_t *llm_audit_chain_create(apr_pool_t *p, const char *chain_id,
                                          const unsigned char *key,
                                          apr_size_t key_len)
{
    llm_audit_chain_t *c = apr_pcalloc(p, sizeof(*c));

    c->chain_id = apr_pstrdup(p, chain_id);
    c->seq = 0;
    memcpy(c->prev_mac, LLM_AUDIT_MAC_ZERO, sizeof(c->prev_mac));
    c->key = key;
    c->key_len = key_len;
    make_pads(p, c);
    return c;
}

static void to_hex(const unsigned char *md, unsigned int md_len,
                   char out[LLM_AUDIT_MAC_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned int i;

    for (i = 0; i < md_len && i < LLM_AUDIT_MAC_HEX_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[2 * i] = '\0';
}

/* The same value as llm_audit_mac() from the chain's hashed pads;
 * 0 when a digest call failed. */
static int chain_mac(llm_audit_chain_t *c, const char *prev_mac,
                     const char *data, apr_size_t len,
                     char out[LLM_AUDIT_MAC_HEX_LEN + 1])
{
    unsigned char ih[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
    unsigned int ih_len = 0, md_len = 0;

    if (!EVP_MD_CTX_copy_ex(c->scratch, c->inner)
        || !EVP_DigestUpdate(c->scratch, prev_mac, strlen(prev_mac))
        || !EVP_DigestUpdate(c->scratch, data, len)
        || !EVP_DigestFinal_ex(c->scratch, ih, &ih_len)
        || !EVP_MD_CTX_copy_ex(c->scratch, c->outer)
        || !EVP_DigestUpdate(c->scratch, ih, ih_len)
        || !EVP_DigestFinal_ex(c->scratch, md, &md_len)) {
        return 0;
    }
    to_hex(md, md_len, out);
    return 1;
}

void llm_audit_mac(const unsigned char *key, apr_size_t key_len,
                   const char *prev_mac, const char *data, apr_size_t len,
                   char out[LLM_AUDIT_MAC_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    apr_size_t plen = strlen(prev_mac);
    unsigned char stackbuf[4096];
    unsigned char *msg = stackbuf;

    /* One-shot HMAC() is the call OpenSSL 1.1 and 3.x both keep
     * undeprecated; it wants the message in one piece. */
    if (plen + len > sizeof(stackbuf)) {
        msg = malloc(plen + len);
        if (!msg) {
            out[0] = '\0';
            return;
        }
    }
    memcpy(msg, prev_mac, plen);
    memcpy(msg + plen, data, len);
    HMAC(EVP_sha256(), key, (int)key_len, msg, plen + len, md, &md_len);
    if (msg != stackbuf) {
        free(msg);
    }
    to_hex(md, md_len, out);
}

void llm_audit_record_mac(apr_pool_t *p, const unsigned char *key,
                          apr_size_t key_len, const llm_audit_record_t *rec,
                          char out[LLM_AUDIT_MAC_HEX_LEN + 1])
{
    apr_size_t len;
    const char *canon = llm_audit_canonical(p, rec, &len);
    const char *prev = rec->v[LLM_AUDIT_F_PREV_MAC];

    llm_audit_mac(key, key_len, prev ? prev : "", canon, len, out);
}

void llm_audit_chain_seal(llm_audit_chain_t *chain, apr_pool_t *p,
                          llm_audit_record_t *rec)
{
    char mac[LLM_AUDIT_MAC_HEX_LEN + 1];
    const char *canon;
    apr_size_t len = 0;

    chain->seq++;
    rec->v[LLM_AUDIT_F_CHAIN_ID] = chain->chain_id;
    rec->v[LLM_AUDIT_F_SEQ] = apr_psprintf(p, "%" APR_INT64_T_FMT, chain->seq);
    rec->v[LLM_AUDIT_F_PREV_MAC] = apr_pstrdup(p, chain->prev_mac);
    canon = chain->inner ? llm_audit_canonical(p, rec, &len) : NULL;
    if (!canon || !chain_mac(chain, chain->prev_mac, canon, len, mac)) {
        llm_audit_record_mac(p, chain->key, chain->key_len, rec, mac);
    }
    rec->v[LLM_AUDIT_F_MAC] = apr_pstrdup(p, mac);
    memcpy(chain->prev_mac, mac, sizeof(chain->prev_mac));
}
