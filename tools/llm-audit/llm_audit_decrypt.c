/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * llm-audit-decrypt: print a captured request body (LLMAuditBodies) in
 * clear, for an administrator holding the body key; with -a the captured
 * answer (the answer_body column) instead.
 *
 *   llm-audit-decrypt -d pgsql -p "host=... dbname=..." -k body.key [-a] REQUEST_ID
 *   llm-audit-decrypt -k body.key -r REQUEST_ID < blob     (either column)
 *
 * The request id is the GCM associated data: a body copied into another
 * row does not decrypt there.  Exit: 0 printed, 1 not found or not
 * decryptable, 2 usage or database error.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_getopt.h"
#include "apr_strings.h"

#include "audit/audit_chain.h"
#include "audit/audit_crypt.h"
#include "audit_tool.h"

static const char *prog = "llm-audit-decrypt";

static void usage(void)
{
    fprintf(stderr,
        "usage: %s -d DRIVER -p PARAMS -k BODYKEYFILE [-a] REQUEST_ID\n"
        "       %s -k BODYKEYFILE -r REQUEST_ID < body-column-text\n"
        "  -a  the captured answer (answer_body) instead of the request\n",
        prog, prog);
}

static int print_body(apr_pool_t *p, const unsigned char *key,
                      apr_size_t key_len, const char *rid, const char *blob)
{
    const char *err = NULL, *out;
    apr_size_t len;

    out = llm_audit_decrypt(p, key, key_len, rid, blob, &len, &err);
    if (!out) {
        fprintf(stderr, "%s: %s: %s\n", prog, rid, err);
        return 1;
    }
    fwrite(out, 1, len, stdout);
    putchar('\n');
    return 0;
}

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "driver", 'd', 1, "apr_dbd driver" },
        { "params", 'p', 1, "apr_dbd parameters" },
        { "key", 'k', 1, "body key file" },
        { "request-id", 'r', 1, "request id of a blob read from stdin" },
        { "answer", 'a', 0, "the captured answer instead of the request" },
        { "help", 'h', 0, "help" },
        { NULL, 0, 0, NULL }
    };
    const char *driver = NULL, *params = NULL, *keyfile = NULL, *rid = NULL;
    const char *arg, *err, *sql;
    const unsigned char *key;
    apr_size_t key_len;
    apr_pool_t *p;
    apr_getopt_t *opt;
    apr_status_t rv;
    llm_audit_db_t *db;
    apr_array_header_t *rows;
    int c, ncols, i, rc = 0, answer = 0;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    apr_getopt_init(&opt, p, argc, argv);
    while ((rv = apr_getopt_long(opt, opts, &c, &arg)) == APR_SUCCESS) {
        switch (c) {
        case 'd': driver = arg; break;
        case 'p': params = arg; break;
        case 'k': keyfile = arg; break;
        case 'r': rid = arg; break;
        case 'a': answer = 1; break;
        default: usage(); return c == 'h' ? 0 : 2;
        }
    }
    if (rv != APR_EOF || !keyfile) {
        usage();
        return 2;
    }
    err = llm_audit_key_read(p, keyfile, LLM_AUDIT_BODY_KEY_LEN, &key,
                             &key_len);
    if (!err && key_len != LLM_AUDIT_BODY_KEY_LEN) {
        err = "the body key must be 32 bytes (64 hex digits)";
    }
    if (err) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }
    if (rid) {
        /* A blob on stdin, as copied from the body column. */
        char buf[8192];
        char *blob = "";
        size_t n;

        while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
            blob = apr_pstrcat(p, blob, apr_pstrmemdup(p, buf, n), NULL);
        }
        blob[strcspn(blob, "\r\n")] = '\0';
        return print_body(p, key, key_len, rid, blob);
    }
    if (!driver || !params || opt->ind != argc - 1) {
        usage();
        return 2;
    }
    rid = argv[opt->ind];
    db = llm_audit_tool_open(p, prog, driver, params);
    if (!db) {
        return 2;
    }
    sql = apr_psprintf(p, "SELECT request_id, %s FROM llm_audit "
                       "WHERE request_id = '%s'",
                       answer ? "answer_body_mode, answer_body"
                              : "body_mode, body",
                       apr_dbd_escape(db->driver, p, rid, db->handle));
    rows = llm_audit_tool_select(p, prog, db, sql, 0, &ncols);
    if (!rows) {
        return 2;
    }
    if (rows->nelts == 0) {
        fprintf(stderr, "%s: no audit row with request_id %s\n", prog, rid);
        return 1;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **v = APR_ARRAY_IDX(rows, i, const char **);

        if (!v[2]) {
            fprintf(stderr, "%s: %s: no %s captured (LLMAuditBodies off "
                    "there)\n", prog, rid, answer ? "answer" : "body");
            rc = 1;
            continue;
        }
        fprintf(stderr, "%s: %s: %s %s\n", prog, rid,
                answer ? "answer_body_mode" : "body_mode", v[1] ? v[1] : "?");
        rc |= print_body(p, key, key_len, rid, v[2]);
    }
    apr_dbd_close(db->driver, db->handle);
    return rc;
}
