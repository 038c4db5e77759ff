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
    return c;
}

void llm_audit_mac(const unsigned char *key, apr_size_t key_len,
                   const char *prev_mac, const char *data, apr_size_t len,
                   char out[LLM_AUDIT_MAC_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;
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
    for (i = 0; i < md_len && i < LLM_AUDIT_MAC_HEX_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[2 * i] = '\0';
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

    chain->seq++;
    rec->v[LLM_AUDIT_F_CHAIN_ID] = chain->chain_id;
    rec->v[LLM_AUDIT_F_SEQ] = apr_psprintf(p, "%" APR_INT64_T_FMT, chain->seq);
    rec->v[LLM_AUDIT_F_PREV_MAC] = apr_pstrdup(p, chain->prev_mac);
    llm_audit_record_mac(p, chain->key, chain->key_len, rec, mac);
    rec->v[LLM_AUDIT_F_MAC] = apr_pstrdup(p, mac);
    memcpy(chain->prev_mac, mac, sizeof(chain->prev_mac));
}
