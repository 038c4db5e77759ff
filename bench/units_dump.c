/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Every scan unit llm_dialect_units_checked makes of given request bodies,
 * written out in full: per unit its length, the unit it follows and its
 * text; per piece its path, offset, length, kind (value, key, fixed) and
 * the key.  To compare two builds when a change to the walk (units.c,
 * fields.c, path.c) must not alter the units:
 *     bench/units_dump FILE... > out    (with each build), then cmp.
 * A file that does not parse is reported as such, so fuzz inputs can be
 * given too.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apr_pools.h"

#include "dialect/llm_dialect.h"

/* Bytes outside printable ASCII as \xNN, so that a unit's text is one
 * line whatever it holds. */
static void put_text(const char *s, size_t n)
{
    size_t i;
    unsigned char c;

    putchar('"');
    for (i = 0; i < n; i++) {
        c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            printf("\\x%02x", c);
        }
        else {
            putchar(c);
        }
    }
    putchar('"');
}

static int dump_file(apr_pool_t *p, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;
    json_t *root;
    const char *err = NULL;
    apr_array_header_t *units;
    int i, j;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "units_dump: cannot read %s\n", path);
        if (f) {
            fclose(f);
        }
        return -1;
    }
    buf = apr_palloc(p, (apr_size_t)len + 1);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        fprintf(stderr, "units_dump: cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    buf[len] = '\0';

    printf("== %s\n", path);
    root = llm_json_parse(p, buf, (size_t)len, &err);
    if (!root) {
        printf("parse error: %s\n", err ? err : "?");
        return 0;
    }
    err = NULL;
    units = llm_dialect_units_checked(p, root, LLM_EP_OPENAI_CHAT, &err);
    printf("units %d err %s\n", units->nelts, err ? err : "-");
    for (i = 0; i < units->nelts; i++) {
        const llm_unit_t *u = &APR_ARRAY_IDX(units, i, llm_unit_t);

        printf("unit %d len %zu follows %d text ", i, u->len, u->follows);
        put_text(u->text, u->len);
        putchar('\n');
        for (j = 0; j < u->pieces->nelts; j++) {
            const llm_piece_t *pc = &APR_ARRAY_IDX(u->pieces, j,
                                                   llm_piece_t);

            printf("  piece %d path %s off %zu len %zu fixed %d %s", j,
                   llm_dialect_path_text(p, pc->path), pc->unit_offset,
                   pc->len,
                   pc->fixed, pc->value ? "value" : pc->object ? "key"
                                                               : "number");
            if (!pc->value) {
                putchar(' ');
                put_text(pc->key, pc->key_len);
            }
            putchar('\n');
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    int i, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: units_dump FILE...\n");
        return 2;
    }
    apr_initialize();
    for (i = 1; i < argc; i++) {
        apr_pool_create(&p, NULL);
        if (dump_file(p, argv[i]) < 0) {
            rc = 1;
        }
        apr_pool_destroy(p);
    }
    apr_terminate();
    return rc;
}
