/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * llm-scan: the gateway's detection engine on the command line, for
 * pre-commit hooks and CI.  Same built-in rules as the gateway, plus an
 * admin rule file.  Prints file:line:col: TYPE rule masked-value for each
 * finding; exits 0 when nothing was found, 1 when something was, 2 on an
 * error (an unreadable file or a bad rule file wins over findings: the
 * caller must not take a partial scan for a clean one).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "scan/llm_scan.h"

#define LLM_SCAN_CLI_MAX (512u * 1024u * 1024u)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: llm-scan [--rules FILE]... [--no-builtins] [--quiet] "
            "[FILE|DIR...]\n"
            "       llm-scan [--rules FILE]... --list-rules\n"
            "Scans the files (directories recursively, binaries and .git left\n"
            "out; standard input when none or '-') for secrets, personal data\n"
            "and admin content rules.  Prints\n"
            "  file:line:col: TYPE rule-id masked-value\n"
            "Exit status: 0 nothing found, 1 findings, 2 error.\n");
}

static const char *cat_name(llm_category_e c)
{
    return c == LLM_CAT_SECRET ? "secret" : c == LLM_CAT_PII ? "pii" : "content";
}

static void list_rule(void *baton, const char *id, const char *type,
                      llm_category_e cat)
{
    const llm_scan_rules_t *rs = baton;
    const char *pat = llm_scan_rule_pattern(rs, id);

    printf("%-28s %-16s %-8s %s\n", id, type, cat_name(cat),
           pat ? pat : "-");
}

/* The whole input in memory: findings carry offsets into it. */
static apr_status_t read_all(apr_file_t *f, apr_pool_t *p, char **buf,
                             apr_size_t *len)
{
    apr_size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    apr_status_t st;

    if (!b) {
        return APR_ENOMEM;
    }
    for (;;) {
        apr_size_t want = cap - n;
        st = apr_file_read(f, b + n, &want);
        n += want;
        if (st == APR_EOF || (st == APR_SUCCESS && want == 0)) {
            break;
        }
        if (st != APR_SUCCESS) {
            free(b);
            return st;
        }
        if (n == cap) {
            char *nb;
            if (cap >= LLM_SCAN_CLI_MAX) {
                free(b);
                return APR_ENOSPC;
            }
            nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return APR_ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
    }
    *buf = apr_pmemdup(p, b, n ? n : 1);
    *len = n;
    free(b);
    return APR_SUCCESS;
}

static int scan_one(const llm_scan_rules_t *rs, const char *name,
                    apr_file_t *f, int quiet, int walked, apr_pool_t *p)
{
    char *text;
    apr_size_t len, pos = 0;
    apr_status_t st;
    apr_array_header_t *out;
    int n, i;
    long line = 1;
    apr_size_t line_start = 0;

    if ((st = read_all(f, p, &text, &len)) != APR_SUCCESS) {
        char eb[128];
        fprintf(stderr, "llm-scan: %s: %s\n", name,
                apr_strerror(st, eb, sizeof(eb)));
        return -1;
    }
    /* found while walking a directory: binaries are skipped, as git does
     * (a NUL in the first 8000 bytes); a file named by hand is scanned */
    if (walked && memchr(text, '\0', len < 8000 ? len : 8000)) {
        return 0;
    }
    out = apr_array_make(p, 16, sizeof(llm_scan_match_t));
    n = llm_scan_text(rs, text, len, p, out);
    if (n < 0) {
        fprintf(stderr, "llm-scan: %s: scan failed (match limit?)\n", name);
        return -1;
    }
    for (i = 0; i < out->nelts && !quiet; i++) {
        const llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
        for (; pos < m->offset; pos++) {
            if (text[pos] == '\n') {
                line++;
                line_start = pos + 1;
            }
        }
        printf("%s:%ld:%lu: %s %s %s\n", name, line,
               (unsigned long)(m->offset - line_start + 1), m->type, m->rule,
               llm_scan_mask(p, text + m->offset, m->length));
    }
    return n;
}

typedef struct {
    const llm_scan_rules_t *rs;
    int quiet;
    int found;
    int failed;
} cli_t;

static void report_error(const char *name, apr_status_t st)
{
    char eb[128];
    fprintf(stderr, "llm-scan: %s: %s\n", name, apr_strerror(st, eb, sizeof(eb)));
}

/* A file, standard input ("-"), or a directory walked recursively
 * (version control directories left out). */
static void scan_path(cli_t *cli, const char *name, int walked, apr_pool_t *parent)
{
    apr_pool_t *p;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t st;
    int n;

    apr_pool_create(&p, parent);
    if (!strcmp(name, "-")) {
        if ((st = apr_file_open_stdin(&f, p)) != APR_SUCCESS) {
            report_error("<stdin>", st);
            cli->failed = 1;
        }
        else if ((n = scan_one(cli->rs, "<stdin>", f, cli->quiet, 0, p)) < 0) {
            cli->failed = 1;
        }
        else if (n > 0) {
            cli->found = 1;
        }
        apr_pool_destroy(p);
        return;
    }
    if ((st = apr_stat(&fi, name, APR_FINFO_TYPE, p)) != APR_SUCCESS) {
        report_error(name, st);
        cli->failed = 1;
    }
    else if (fi.filetype == APR_DIR) {
        apr_dir_t *d;
        if ((st = apr_dir_open(&d, name, p)) != APR_SUCCESS) {
            report_error(name, st);
            cli->failed = 1;
        }
        else {
            apr_finfo_t de;
            while (apr_dir_read(&de, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
                if (!strcmp(de.name, ".") || !strcmp(de.name, "..")
                    || !strcmp(de.name, ".git") || !strcmp(de.name, ".hg")
                    || !strcmp(de.name, ".svn")) {
                    continue;
                }
                if (de.filetype == APR_DIR || de.filetype == APR_REG) {
                    scan_path(cli, apr_pstrcat(p, name,
                                               name[strlen(name) - 1] == '/'
                                               ? "" : "/", de.name, NULL),
                              1, p);
                }
            }
            apr_dir_close(d);
        }
    }
    else if ((st = apr_file_open(&f, name, APR_FOPEN_READ | APR_FOPEN_BINARY,
                                 APR_FPROT_OS_DEFAULT, p)) != APR_SUCCESS) {
        report_error(name, st);
        cli->failed = 1;
    }
    else if ((n = scan_one(cli->rs, name, f, cli->quiet, walked, p)) < 0) {
        cli->failed = 1;
    }
    else if (n > 0) {
        cli->found = 1;
    }
    apr_pool_destroy(p);
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    llm_scan_rules_t *rs;
    const char *err;
    int i, builtins = 1, list = 0, quiet = 0;
    apr_array_header_t *rulefiles, *files;
    cli_t cli;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&pool, NULL);
    rulefiles = apr_array_make(pool, 2, sizeof(const char *));
    files = apr_array_make(pool, 8, sizeof(const char *));

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--rules") && i + 1 < argc) {
            APR_ARRAY_PUSH(rulefiles, const char *) = argv[++i];
        }
        else if (!strncmp(a, "--rules=", 8)) {
            APR_ARRAY_PUSH(rulefiles, const char *) = a + 8;
        }
        else if (!strcmp(a, "--no-builtins")) {
            builtins = 0;
        }
        else if (!strcmp(a, "--list-rules")) {
            list = 1;
        }
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        }
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        else if (!strcmp(a, "--")) {
            for (i++; i < argc; i++) {
                APR_ARRAY_PUSH(files, const char *) = argv[i];
            }
        }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "llm-scan: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        else {
            APR_ARRAY_PUSH(files, const char *) = a;
        }
    }

    rs = llm_scan_rules_create(pool, builtins);
    for (i = 0; i < rulefiles->nelts; i++) {
        if ((err = llm_scan_rules_load_file(rs, APR_ARRAY_IDX(rulefiles, i,
                                                              const char *),
                                            pool))) {
            fprintf(stderr, "llm-scan: %s\n", err);
            return 2;
        }
    }
    if ((err = llm_scan_rules_compile(rs))) {
        fprintf(stderr, "llm-scan: %s\n", err);
        return 2;
    }
    if (list) {
        llm_scan_rules_visit(rs, list_rule, rs);
        return 0;
    }

    if (files->nelts == 0) {
        APR_ARRAY_PUSH(files, const char *) = "-";
    }
    cli.rs = rs;
    cli.quiet = quiet;
    cli.found = cli.failed = 0;
    for (i = 0; i < files->nelts; i++) {
        scan_path(&cli, APR_ARRAY_IDX(files, i, const char *), 0, pool);
    }
    fflush(stdout);
    return cli.failed ? 2 : cli.found ? 1 : 0;
}
