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
 * llm-audit-verify: read the audit table, check every chain, report what
 * was deleted, edited or reordered, by row id.
 *
 *   llm-audit-verify -d pgsql -p "host=... dbname=... user=..." -k mac.key
 *   llm-audit-verify -d sqlite3 -p /var/lib/llm-gateway/db/audit.db -k mac.key
 *
 * Exit status: 0 every chain intact, 1 problems found, 2 could not check.
 * Each problem is one line starting with its kind:
 *   EDITED     a row's MAC does not match its content
 *   GAP        sequence numbers missing in a chain (rows deleted)
 *   HEAD       a chain starts after seq 1 with no retention checkpoint
 *   LINK       a row's prev_mac is not the previous row's mac
 *   REORDERED  a row's prev_mac names another row of the chain
 *   DUPLICATE  two rows claim the same seq of one chain
 * A chain may start after seq 1 when llm_audit_drop_before() recorded a
 * checkpoint for it: the first kept row must continue exactly from it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_getopt.h"
#include "apr_strings.h"
#include "apr_hash.h"

#include "audit_record.h"
#include "audit_chain.h"
#include "audit_tool.h"

static const char *prog = "llm-audit-verify";
static int problems;

/* The keys to try (-k may repeat: rotated keys, several gateways). */
typedef struct {
    const unsigned char *key;
    apr_size_t len;
} key_t_;
static apr_array_header_t *keys;

static void usage(void)
{
    fprintf(stderr,
        "usage: %s -d DRIVER -p PARAMS -k KEYFILE [-v]\n"
        "  -d, --driver   pgsql or sqlite3 (as DBDriver)\n"
        "  -p, --params   apr_dbd parameters (as DBDParams)\n"
        "  -k, --key      the LLMAuditKeyFile of the gateways that wrote;\n"
        "                 repeat for rotated keys (a chain keeps one key)\n"
        "  -v, --verbose  also list every chain and where it starts/ends\n"
        "Exit: 0 intact, 1 problems found, 2 could not check.\n", prog);
}

static void problem(const char *kind, const char *fmt, ...)
{
    va_list ap;

    problems++;
    printf("%-9s ", kind);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

typedef struct {
    const char *id;
    apr_int64_t seq;
    const char *mac;
} seen_t;

/* Checkpoints written by retention: chain -> hash of "seq" -> mac. */
static apr_hash_t *load_checkpoints(apr_pool_t *p, llm_audit_db_t *db)
{
    apr_hash_t *cps = apr_hash_make(p);
    apr_array_header_t *rows;
    int ncols, i;

    rows = llm_audit_tool_select(p, prog, db,
                                 "SELECT chain_id, seq, mac FROM "
                                 "llm_audit_checkpoint", 1, &ncols);
    if (!rows) {
        return cps;           /* an older schema without the table */
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **v = APR_ARRAY_IDX(rows, i, const char **);
        apr_hash_t *h;

        if (!v[0] || !v[1] || !v[2]) {
            continue;
        }
        h = apr_hash_get(cps, v[0], APR_HASH_KEY_STRING);
        if (!h) {
            h = apr_hash_make(p);
            apr_hash_set(cps, v[0], APR_HASH_KEY_STRING, h);
        }
        apr_hash_set(h, apr_psprintf(p, "%" APR_INT64_T_FMT,
                                     apr_atoi64(v[1])),
                     APR_HASH_KEY_STRING, v[2]);
    }
    return cps;
}

/* The MAC of rec under the chain's key; the chain's first row picks the
 * key (*which), later rows must use the same one. */
static int mac_ok(apr_pool_t *p, const llm_audit_record_t *rec, int *which)
{
    char mac[LLM_AUDIT_MAC_HEX_LEN + 1];
    const char *want = rec->v[LLM_AUDIT_F_MAC] ? rec->v[LLM_AUDIT_F_MAC] : "";
    int i;

    for (i = 0; i < keys->nelts; i++) {
        const key_t_ *k = &APR_ARRAY_IDX(keys, i, key_t_);

        if (*which >= 0 && i != *which) {
            continue;
        }
        llm_audit_record_mac(p, k->key, k->len, rec, mac);
        if (!strcmp(mac, want)) {
            *which = i;
            return 1;
        }
    }
    return 0;
}

static void verify_chain(apr_pool_t *p, apr_hash_t *cps,
                         apr_array_header_t *rows, int from, int to,
                         int verbose)
{
    apr_hash_t *by_mac = apr_hash_make(p);
    seen_t prev = { NULL, 0, NULL };
    const char *chain = NULL;
    int i, f, which = -1;

    for (i = from; i < to; i++) {
        const char **v = APR_ARRAY_IDX(rows, i, const char **);
        llm_audit_record_t rec;
        seen_t *cur = apr_palloc(p, sizeof(*cur));
        const char *prev_mac;

        for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
            rec.v[f] = v[f + 1];
        }
        chain = rec.v[LLM_AUDIT_F_CHAIN_ID];
        cur->id = v[0];
        cur->seq = apr_atoi64(rec.v[LLM_AUDIT_F_SEQ]
                              ? rec.v[LLM_AUDIT_F_SEQ] : "0");
        cur->mac = rec.v[LLM_AUDIT_F_MAC] ? rec.v[LLM_AUDIT_F_MAC] : "";
        prev_mac = rec.v[LLM_AUDIT_F_PREV_MAC] ? rec.v[LLM_AUDIT_F_PREV_MAC]
                                               : "";

        if (!mac_ok(p, &rec, &which)) {
            problem("EDITED", "id=%s chain=%s seq=%" APR_INT64_T_FMT
                    ": the row's MAC does not match its content "
                    "(request_id %s)", cur->id, chain, cur->seq,
                    rec.v[LLM_AUDIT_F_REQUEST_ID]
                    ? rec.v[LLM_AUDIT_F_REQUEST_ID] : "?");
        }
        if (!prev.id) {
            if (cur->seq == 1) {
                if (strcmp(prev_mac, LLM_AUDIT_MAC_ZERO)) {
                    problem("LINK", "id=%s chain=%s seq=1: the first row "
                            "of a chain must have a zero prev_mac", cur->id,
                            chain);
                }
            }
            else {
                apr_hash_t *h = apr_hash_get(cps, chain,
                                             APR_HASH_KEY_STRING);
                const char *cp = h ? apr_hash_get(h,
                    apr_psprintf(p, "%" APR_INT64_T_FMT, cur->seq - 1),
                    APR_HASH_KEY_STRING) : NULL;

                if (cp && !strcmp(cp, prev_mac)) {
                    if (verbose) {
                        printf("chain %s starts at seq %" APR_INT64_T_FMT
                               " (id=%s) after a retention checkpoint\n",
                               chain, cur->seq, cur->id);
                    }
                }
                else {
                    problem("HEAD", "id=%s chain=%s: the chain starts at "
                            "seq %" APR_INT64_T_FMT " with no retention "
                            "checkpoint: seq 1..%" APR_INT64_T_FMT
                            " deleted", cur->id, chain, cur->seq,
                            cur->seq - 1);
                }
            }
        }
        else if (cur->seq == prev.seq) {
            problem("DUPLICATE", "id=%s and id=%s chain=%s: both claim seq %"
                    APR_INT64_T_FMT, prev.id, cur->id, chain, cur->seq);
        }
        else if (cur->seq > prev.seq + 1) {
            problem("GAP", "chain=%s: seq %" APR_INT64_T_FMT "..%"
                    APR_INT64_T_FMT " missing between id=%s and id=%s",
                    chain, prev.seq + 1, cur->seq - 1, prev.id, cur->id);
        }
        else if (strcmp(prev_mac, prev.mac)) {
            seen_t *from_row = apr_hash_get(by_mac, prev_mac,
                                            APR_HASH_KEY_STRING);

            if (from_row) {
                problem("REORDERED", "id=%s chain=%s seq=%" APR_INT64_T_FMT
                        ": it follows id=%s (seq %" APR_INT64_T_FMT
                        "), not id=%s", cur->id, chain, cur->seq,
                        from_row->id, from_row->seq, prev.id);
            }
            else {
                problem("LINK", "id=%s chain=%s seq=%" APR_INT64_T_FMT
                        ": prev_mac is not the mac of id=%s (seq %"
                        APR_INT64_T_FMT "): rows replaced or removed",
                        cur->id, chain, cur->seq, prev.id, prev.seq);
            }
        }
        apr_hash_set(by_mac, cur->mac, APR_HASH_KEY_STRING, cur);
        prev = *cur;
    }
    if (verbose && chain) {
        printf("chain %s: %d row(s), last seq %" APR_INT64_T_FMT
               " (id=%s)\n", chain, to - from, prev.seq, prev.id);
    }
}

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "driver", 'd', 1, "apr_dbd driver" },
        { "params", 'p', 1, "apr_dbd parameters" },
        { "key", 'k', 1, "MAC key file" },
        { "verbose", 'v', 0, "list chains" },
        { "help", 'h', 0, "help" },
        { NULL, 0, 0, NULL }
    };
    const char *driver = NULL, *params = NULL, *arg, *err;
    apr_pool_t *p;
    apr_getopt_t *opt;
    apr_status_t rv;
    llm_audit_db_t *db;
    apr_array_header_t *rows;
    apr_hash_t *cps;
    int verbose = 0, ncols, i, start, nchains = 0, c;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    keys = apr_array_make(p, 2, sizeof(key_t_));
    apr_getopt_init(&opt, p, argc, argv);
    while ((rv = apr_getopt_long(opt, opts, &c, &arg)) == APR_SUCCESS) {
        switch (c) {
        case 'd': driver = arg; break;
        case 'p': params = arg; break;
        case 'k': {
            key_t_ *k = apr_array_push(keys);

            err = llm_audit_key_read(p, arg, LLM_AUDIT_KEY_MIN, &k->key,
                                     &k->len);
            if (err) {
                fprintf(stderr, "%s: %s\n", prog, err);
                return 2;
            }
            break;
        }
        case 'v': verbose = 1; break;
        default: usage(); return c == 'h' ? 0 : 2;
        }
    }
    if (rv != APR_EOF || !driver || !params || keys->nelts == 0
        || opt->ind != argc) {
        usage();
        return 2;
    }
    db = llm_audit_tool_open(p, prog, driver, params);
    if (!db) {
        return 2;
    }
    cps = load_checkpoints(p, db);
    rows = llm_audit_tool_select(p, prog, db,
                                 llm_audit_select_sql(p, driver), 0, &ncols);
    if (!rows) {
        return 2;
    }
    if (ncols != LLM_AUDIT_NFIELDS + 1) {
        fprintf(stderr, "%s: expected %d columns, the query gave %d\n", prog,
                LLM_AUDIT_NFIELDS + 1, ncols);
        return 2;
    }
    /* Rows come ordered by chain, seq, id: check one chain at a time. */
    for (start = 0, i = 1; i <= rows->nelts; i++) {
        const char **a = APR_ARRAY_IDX(rows, start, const char **);
        const char **b = i < rows->nelts
                         ? APR_ARRAY_IDX(rows, i, const char **) : NULL;
        const char *ca = a[1 + LLM_AUDIT_F_CHAIN_ID];

        if (b && ca && b[1 + LLM_AUDIT_F_CHAIN_ID]
            && !strcmp(ca, b[1 + LLM_AUDIT_F_CHAIN_ID])) {
            continue;
        }
        verify_chain(p, cps, rows, start, i, verbose);
        nchains++;
        start = i;
    }
    if (rows->nelts == 0) {
        nchains = 0;
    }
    printf("%s: %d row(s) in %d chain(s): %s\n", prog, rows->nelts, nchains,
           problems ? apr_psprintf(p, "%d problem(s)", problems)
                    : "all chains intact");
    apr_dbd_close(db->driver, db->handle);
    return problems ? 1 : 0;
}
