/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Small helpers shared by the dialect unit tests.
 */

#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>

#include "test_util.h"

apr_pool_t *tp;

void tu_setup(void)
{
    apr_pool_create(&tp, NULL);
}

void tu_teardown(void)
{
    apr_pool_destroy(tp);
    tp = NULL;
}

json_t *tu_parse(const char *text)
{
    const char *err = NULL;
    json_t *j = llm_json_parse(tp, text, strlen(text), &err);

    ck_assert_msg(j != NULL, "parse failed: %s", err ? err : "?");
    return j;
}

const llm_unit_t *tu_unit_with(apr_array_header_t *units, const char *path,
                               int *pi)
{
    int i, k;
    const llm_unit_t *u;
    const llm_piece_t *pc;

    for (i = 0; i < units->nelts; i++) {
        u = &((const llm_unit_t *)units->elts)[i];
        for (k = 0; k < u->pieces->nelts; k++) {
            pc = &((const llm_piece_t *)u->pieces->elts)[k];
            if (!strcmp(llm_dialect_path_text(units->pool, pc->path), path)) {
                if (pi) {
                    *pi = k;
                }
                return u;
            }
        }
    }
    return NULL;
}

int tu_units_contain(apr_array_header_t *units, const char *needle)
{
    int i;
    const llm_unit_t *u;

    for (i = 0; i < units->nelts; i++) {
        u = &((const llm_unit_t *)units->elts)[i];
        if (strstr(u->text, needle)) {
            return 1;
        }
    }
    return 0;
}

const char *tu_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : "(null)";
}

const char *tu_dump(json_t *j)
{
    return llm_json_dump(tp, j, NULL);
}

char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(tp, (apr_size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) {
        *len = (size_t)n;
    }
    return buf;
}

int tu_run(Suite *s)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int tu_for_each_fixture(const char *suffix,
                        void (*fn)(const char *path, const char *name,
                                   void *baton),
                        void *baton)
{
    const char *dir = getenv("LLM_FIXTURES_DIR");
    DIR *top, *sub;
    struct dirent *de, *fe;
    const char *subdir;
    size_t n, sn = strlen(suffix);
    int count = 0;

    if (!dir) {
        dir = LLM_TEST_EXCHANGES_DIR;
    }
    if (!(top = opendir(dir))) {
        fprintf(stderr, "fixtures not found at %s: skipped\n", dir);
        return -1;
    }
    while ((de = readdir(top)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        subdir = apr_pstrcat(tp, dir, "/", de->d_name, NULL);
        if (!(sub = opendir(subdir))) {
            continue;
        }
        while ((fe = readdir(sub)) != NULL) {
            n = strlen(fe->d_name);
            if (n > sn && !strcmp(fe->d_name + n - sn, suffix)) {
                fn(apr_pstrcat(tp, subdir, "/", fe->d_name, NULL),
                   apr_pstrdup(tp, fe->d_name), baton);
                count++;
            }
        }
        closedir(sub);
    }
    closedir(top);
    return count;
}
