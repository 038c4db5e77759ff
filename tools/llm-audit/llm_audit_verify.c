/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
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
 *   TAIL       rows missing at a chain's end: before its end record,
 *              (with -c, every writer stopped) a chain without one, or
 *              (with -w) below the last seq the writers table shows
 *   ENDED      a row after a chain's end record
 * A chain may start after seq 1 when llm_audit_drop_before() recorded a
 * checkpoint for it: the first kept row must continue exactly from it.
 * A chain ends with an end record (decision "chain_end") written when its
 * process stops, or by the process that recovers a dead one's journal; a
 * chain without one is open: its writer runs, or rows were cut from its
 * end.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_getopt.h"
#include "apr_strings.h"
#include "apr_hash.h"

#include "audit/audit_record.h"
#include "audit/audit_chain.h"
#include "audit_tool.h"

static const char *prog = "llm-audit-verify";
static int problems;
static int require_closed;       /* -c: every writer is stopped */
static int open_chains;
/* -w: the status page's writers table (chain -> last seq sealed, as
 * text), each entry removed when its chain is seen. */
static apr_hash_t *writers;

/* The keys to try (-k may repeat: rotated keys, several gateways). */
typedef struct {
    const unsigned char *key;
    apr_size_t len;
} key_t_;
static apr_array_header_t *keys;

static void usage(void)
{
    fprintf(stderr,
        "usage: %s -d DRIVER -p PARAMS -k KEYFILE [-k KEYFILE...] [-v] [-s N]\n"
        "  -d, --driver   pgsql or sqlite3 (as DBDriver)\n"
        "  -p, --params   apr_dbd parameters (as DBDParams)\n"
        "  -k, --key      the LLMAuditKeyFile of the gateways that wrote;\n"
        "                 repeat for rotated keys (a chain keeps one key)\n"
        "  -v, --verbose  also list every chain and where it starts/ends\n"
        "  -s, --page-size N  rows per query (default 10000)\n"
        "  -c, --closed   every gateway writing here is stopped: a chain\n"
        "                 without its end record lost rows at its end\n"
        "  -w, --writers FILE  the status page's ?auto output (Chain: lines)\n"
        "                 of the running gateways, taken after their spool\n"
        "                 emptied: no chain may end below the seq it shows\n"
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

/* One chain's state while its rows stream past, page after page. */
typedef struct {
    apr_pool_t *pool;            /* cleared when the next chain starts */
    const char *chain;
    apr_hash_t *by_mac;          /* mac -> seen_t, to name reorderings */
    seen_t prev;
    int which;                   /* index of the chain's key, -1 unknown */
    apr_int64_t rows;
    int ended;                   /* the last row is the end record */
} chain_state_t;

static void chain_end(chain_state_t *st, int verbose)
{
    if (verbose && st->chain) {
        printf("chain %s: %" APR_INT64_T_FMT " row(s), last seq %"
               APR_INT64_T_FMT " (id=%s), %s\n", st->chain, st->rows,
               st->prev.seq, st->prev.id, st->ended ? "closed" : "open");
    }
    if (st->chain && writers) {
        const char *want = apr_hash_get(writers, st->chain,
                                        APR_HASH_KEY_STRING);

        if (want && apr_atoi64(want) > st->prev.seq) {
            problem("TAIL", "chain=%s: its writer sealed seq %s, the table "
                    "ends at seq %" APR_INT64_T_FMT " (id=%s): rows cut "
                    "from its end (or still in a spool)", st->chain, want,
                    st->prev.seq, st->prev.id);
        }
        apr_hash_set(writers, st->chain, APR_HASH_KEY_STRING, NULL);
    }
    if (st->chain && !st->ended) {
        if (require_closed) {
            problem("TAIL", "chain=%s: its last row, id=%s seq %"
                    APR_INT64_T_FMT ", is not its end record: rows were "
                    "cut from its end (or its writer still runs)",
                    st->chain, st->prev.id, st->prev.seq);
        }
        else {
            open_chains++;
        }
    }
    st->ended = 0;
    apr_pool_clear(st->pool);
    st->chain = NULL;
    st->by_mac = apr_hash_make(st->pool);
    st->prev.id = NULL;
    st->prev.seq = 0;
    st->prev.mac = NULL;
    st->which = -1;
    st->rows = 0;
}

/* Check one row (values from the page pool p) against its chain. */
static void check_row(chain_state_t *st, apr_pool_t *p, apr_hash_t *cps,
                      const char **v, int verbose)
{
    llm_audit_record_t rec;
    seen_t *cur;
    const char *prev_mac, *chain;
    int f;

    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        rec.v[f] = v[f + 1];
    }
    chain = rec.v[LLM_AUDIT_F_CHAIN_ID] ? rec.v[LLM_AUDIT_F_CHAIN_ID] : "";
    if (!st->chain || strcmp(st->chain, chain)) {
        chain_end(st, verbose);
        st->chain = apr_pstrdup(st->pool, chain);
    }
    st->rows++;
    cur = apr_palloc(st->pool, sizeof(*cur));
    cur->id = apr_pstrdup(st->pool, v[0] ? v[0] : "?");
    cur->seq = apr_atoi64(rec.v[LLM_AUDIT_F_SEQ] ? rec.v[LLM_AUDIT_F_SEQ]
                                                 : "0");
    cur->mac = apr_pstrdup(st->pool, rec.v[LLM_AUDIT_F_MAC]
                                     ? rec.v[LLM_AUDIT_F_MAC] : "");
    prev_mac = rec.v[LLM_AUDIT_F_PREV_MAC] ? rec.v[LLM_AUDIT_F_PREV_MAC] : "";

    if (!mac_ok(p, &rec, &st->which)) {
        problem("EDITED", "id=%s chain=%s seq=%" APR_INT64_T_FMT
                ": the row's MAC does not match its content "
                "(request_id %s)", cur->id, chain, cur->seq,
                rec.v[LLM_AUDIT_F_REQUEST_ID]
                ? rec.v[LLM_AUDIT_F_REQUEST_ID] : "?");
    }
    if (!st->prev.id) {
        if (cur->seq == 1) {
            if (strcmp(prev_mac, LLM_AUDIT_MAC_ZERO)) {
                problem("LINK", "id=%s chain=%s seq=1: the first row of a "
                        "chain must have a zero prev_mac", cur->id, chain);
            }
        }
        else {
            apr_hash_t *h = apr_hash_get(cps, chain, APR_HASH_KEY_STRING);
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
                problem("HEAD", "id=%s chain=%s: the chain starts at seq %"
                        APR_INT64_T_FMT " with no retention checkpoint: "
                        "seq 1..%" APR_INT64_T_FMT " deleted", cur->id,
                        chain, cur->seq, cur->seq - 1);
            }
        }
    }
    else if (st->ended) {
        problem("ENDED", "id=%s chain=%s seq=%" APR_INT64_T_FMT ": a row "
                "after the chain's end record (id=%s)", cur->id, chain,
                cur->seq, st->prev.id);
    }
    else if (cur->seq == st->prev.seq) {
        problem("DUPLICATE", "id=%s and id=%s chain=%s: both claim seq %"
                APR_INT64_T_FMT, st->prev.id, cur->id, chain, cur->seq);
    }
    else if (cur->seq > st->prev.seq + 1 && llm_audit_is_end_record(&rec)) {
        problem("TAIL", "chain=%s: seq %" APR_INT64_T_FMT "..%"
                APR_INT64_T_FMT " missing at the chain's end, between id=%s "
                "and its end record id=%s", chain, st->prev.seq + 1,
                cur->seq - 1, st->prev.id, cur->id);
    }
    else if (cur->seq > st->prev.seq + 1) {
        problem("GAP", "chain=%s: seq %" APR_INT64_T_FMT "..%"
                APR_INT64_T_FMT " missing between id=%s and id=%s", chain,
                st->prev.seq + 1, cur->seq - 1, st->prev.id, cur->id);
    }
    else if (strcmp(prev_mac, st->prev.mac)) {
        seen_t *from_row = apr_hash_get(st->by_mac, prev_mac,
                                        APR_HASH_KEY_STRING);

        if (from_row) {
            problem("REORDERED", "id=%s chain=%s seq=%" APR_INT64_T_FMT
                    ": it follows id=%s (seq %" APR_INT64_T_FMT "), not "
                    "id=%s", cur->id, chain, cur->seq, from_row->id,
                    from_row->seq, st->prev.id);
        }
        else {
            problem("LINK", "id=%s chain=%s seq=%" APR_INT64_T_FMT
                    ": prev_mac is not the mac of id=%s (seq %"
                    APR_INT64_T_FMT "): rows replaced or removed", cur->id,
                    chain, cur->seq, st->prev.id, st->prev.seq);
        }
    }
    apr_hash_set(st->by_mac, cur->mac, APR_HASH_KEY_STRING, cur);
    st->prev = *cur;
    st->ended = llm_audit_is_end_record(&rec);
}

/* "Chain-<n>: <id> <seq>" lines of the status page's ?auto output (one
 * key per writer slot; "Chain: <id> <seq>" from older gateways too). */
static apr_hash_t *load_writers(apr_pool_t *p, const char *path)
{
    apr_hash_t *h = apr_hash_make(p);
    char line[512];
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        return NULL;
    }
    while (fgets(line, sizeof(line), f)) {
        char *id, *sp;

        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "Chain", 5)) {
            continue;
        }
        id = line + 5;
        if (*id == '-') {
            id += 1 + strspn(id + 1, "0123456789");
        }
        if (strncmp(id, ": ", 2) || !(sp = strrchr(id + 2, ' '))) {
            continue;
        }
        id += 2;
        *sp = '\0';
        apr_hash_set(h, apr_pstrdup(p, id), APR_HASH_KEY_STRING,
                     apr_pstrdup(p, sp + 1));
    }
    fclose(f);
    return h;
}

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "driver", 'd', 1, "apr_dbd driver" },
        { "params", 'p', 1, "apr_dbd parameters" },
        { "key", 'k', 1, "MAC key file" },
        { "verbose", 'v', 0, "list chains" },
        { "page-size", 's', 1, "rows per query" },
        { "closed", 'c', 0, "every writer is stopped" },
        { "writers", 'w', 1, "status page ?auto output" },
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
    apr_pool_t *page;
    chain_state_t st;
    const char *base, *after_chain = NULL, *after_id = NULL;
    apr_int64_t after_seq = 0, nrows = 0;
    int verbose = 0, ncols, i, nchains = 0, c, after = 0;
    int page_size = 10000;

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
        case 'c': require_closed = 1; break;
        case 'w':
            if (!(writers = load_writers(p, arg))) {
                return 2;
            }
            break;
        case 's':
            page_size = atoi(arg);
            if (page_size < 1) {
                usage();
                return 2;
            }
            break;
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
    /* Keyset pages in (chain_id, seq, id) order: memory stays bounded by
     * the page and the reorder index of one chain, however big the table. */
    apr_pool_create(&page, p);
    apr_pool_create(&st.pool, p);
    st.chain = NULL;
    st.ended = 0;
    chain_end(&st, 0);
    base = llm_audit_select_sql(p, driver);
    for (;;) {
        const char *sql = apr_pstrcat(page, base, after
            ? apr_psprintf(page, " WHERE (chain_id, seq, id) > ('%s', %"
                           APR_INT64_T_FMT ", %s)",
                           apr_dbd_escape(db->driver, page, after_chain,
                                          db->handle), after_seq, after_id)
            : "", apr_psprintf(page, " ORDER BY chain_id, seq, id LIMIT %d",
                               page_size), NULL);

        rows = llm_audit_tool_select(page, prog, db, sql, 0, &ncols);
        if (!rows) {
            return 2;
        }
        if (rows->nelts == 0) {
            break;
        }
        if (ncols != LLM_AUDIT_NFIELDS + 1) {
            fprintf(stderr, "%s: expected %d columns, the query gave %d\n",
                    prog, LLM_AUDIT_NFIELDS + 1, ncols);
            return 2;
        }
        for (i = 0; i < rows->nelts; i++) {
            const char **v = APR_ARRAY_IDX(rows, i, const char **);

            if (!st.chain || !v[1 + LLM_AUDIT_F_CHAIN_ID]
                || strcmp(st.chain, v[1 + LLM_AUDIT_F_CHAIN_ID])) {
                nchains++;
            }
            check_row(&st, page, cps, v, verbose);
            nrows++;
        }
        {
            const char **last = APR_ARRAY_IDX(rows, rows->nelts - 1,
                                              const char **);

            after = 1;
            after_chain = apr_pstrdup(p, last[1 + LLM_AUDIT_F_CHAIN_ID]
                                         ? last[1 + LLM_AUDIT_F_CHAIN_ID]
                                         : "");
            after_seq = apr_atoi64(last[1 + LLM_AUDIT_F_SEQ]
                                   ? last[1 + LLM_AUDIT_F_SEQ] : "0");
            after_id = apr_pstrdup(p, last[0] ? last[0] : "0");
        }
        if (rows->nelts < page_size) {
            break;
        }
        apr_pool_clear(page);
    }
    chain_end(&st, verbose);
    if (writers) {
        apr_hash_index_t *hi;

        /* Chains the writers table shows and the table has no row of. */
        for (hi = apr_hash_first(p, writers); hi; hi = apr_hash_next(hi)) {
            const char *seq = apr_hash_this_val(hi);

            if (apr_atoi64(seq) > 0) {
                problem("TAIL", "chain=%s: its writer sealed seq %s, the "
                        "table has no row of it", (const char *)
                        apr_hash_this_key(hi), seq);
            }
        }
    }
    printf("%s: %" APR_INT64_T_FMT " row(s) in %d chain(s): %s%s\n", prog,
           nrows, nchains, problems ? apr_psprintf(p, "%d problem(s)",
                                                   problems)
                                    : "all chains intact",
           open_chains ? apr_psprintf(p, "; %d open (their writers still "
                                      "run, or rows were cut from their "
                                      "ends: -c checks a stopped gateway)",
                                      open_chains) : "");
    apr_dbd_close(db->driver, db->handle);
    return problems ? 1 : 0;
}
