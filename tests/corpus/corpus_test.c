/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The corpus test: scans every file of tests/corpus/files with the default
 * rules and compares with tests/corpus/expected.tsv (file, TYPE, exact
 * value).  A finding that is not labelled is a false positive; a label
 * with no finding is a miss.  Fails when any type's recall is below
 * LLM_CORPUS_MIN_RECALL or the false positives exceed LLM_CORPUS_MAX_FP:
 * tighten them as the engine improves, never loosen them to let a change
 * in.  Then every found value is cut in two at every offset inside it and
 * must be found whole where the two parts meet (split_every_offset).
 *
 *   corpus_test [corpus-dir]     (default: $srcdir/tests/corpus)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "scan/llm_scan.h"

#define LLM_CORPUS_MIN_RECALL 1.0   /* per type */
#define LLM_CORPUS_MAX_FP 0         /* over the whole corpus */

typedef struct {
    const char *file;
    const char *type;
    const char *value;
    int hit;
    size_t at;               /* where it was found */
} label_t;

static char *unescape(apr_pool_t *p, const char *s)
{
    char *o = apr_palloc(p, strlen(s) + 1), *d = o;

    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *d++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        }
        else {
            *d++ = *s;
        }
    }
    *d = '\0';
    return o;
}

static char *slurp(apr_pool_t *p, const char *path, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;

    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                      APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return NULL;
    }
    buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    *len = (apr_size_t)fi.size;
    if (*len && apr_file_read_full(f, buf, *len, NULL) != APR_SUCCESS) {
        return NULL;
    }
    buf[*len] = '\0';
    apr_file_close(f);
    return buf;
}

typedef struct {
    const char *type;
    int want, hit, fp;
    int cuts, split_hit;     /* the value cut in two at every offset */
} tally_t;

static tally_t *tally_of(apr_array_header_t *t, const char *type)
{
    int i;
    tally_t *x;

    for (i = 0; i < t->nelts; i++) {
        x = &APR_ARRAY_IDX(t, i, tally_t);
        if (!strcmp(x->type, type)) {
            return x;
        }
    }
    x = apr_array_push(t);
    memset(x, 0, sizeof(*x));
    x->type = type;
    return x;
}

typedef struct {
    int cuts, found, other;
} split_t;

/* Ordinary text put around each file for the split pass: 3 KB, more than
 * the joined scan's window. */
static const char *pad;
static size_t padlen;

static void make_pad(apr_pool_t *p)
{
    static const char line[] = "The build finished; the report lists "
        "each module and its tests.\n";
    size_t k, n = 3072 / (sizeof(line) - 1) + 1;
    char *b = apr_palloc(p, n * (sizeof(line) - 1) + 1);

    for (k = 0; k < n; k++) {
        memcpy(b + k * (sizeof(line) - 1), line, sizeof(line) - 1);
    }
    b[n * (sizeof(line) - 1)] = '\0';
    pad = b;
    padlen = n * (sizeof(line) - 1);
}

/* Each found value cut in two at every offset inside it, as if a client
 * sent the text in two adjacent messages (with a page of other text
 * before and after, in messages of their own): llm_scan_joined (what the
 * gateway runs where messages of one role meet) must find it whole, and
 * nothing that is not a label of the file may cross the cut. */
static void split_every_offset(const llm_scan_rules_t *rs, const char *file,
                               const char *text, apr_size_t len,
                               apr_array_header_t *labels,
                               apr_array_header_t *tallies, apr_pool_t *p,
                               split_t *sp)
{
    int i, j, k;

    for (i = 0; i < labels->nelts; i++) {
        label_t *l = &APR_ARRAY_IDX(labels, i, label_t);
        size_t vl = strlen(l->value), cut;
        tally_t *tl;

        if (!l->hit || strcmp(l->file, file)) {
            continue;
        }
        tl = tally_of(tallies, l->type);
        for (cut = l->at + 1; cut < l->at + vl; cut++) {
            /* the file between pages of other text, so that the windows
             * around the cut, not the file's ends, bound what is read */
            const char *texts[4] = { pad, text, text + cut, pad };
            size_t lens[4] = { padlen, cut, len - cut, padlen };
            apr_pool_t *cp;
            apr_array_header_t *out;
            int whole = 0;

            apr_pool_create(&cp, p);
            out = apr_array_make(cp, 4, sizeof(llm_scan_match_t));
            if (llm_scan_joined(rs, texts, lens, 4, 0, cp, out) < 0) {
                fprintf(stderr, "corpus: %s: joined scan failed\n", file);
                exit(2);
            }
            for (j = 0; j < out->nelts; j++) {
                llm_scan_match_t *m = &APR_ARRAY_IDX(out, j, llm_scan_match_t);
                int labelled = 0;
                if (m->offset < padlen || m->offset - padlen >= len) {
                    sp->other++;     /* in the pages around: never */
                    printf("SPLIT FALSE POSITIVE %s: %s in the padding\n",
                           file, m->type);
                    continue;
                }
                m->offset -= padlen;
                if (m->offset == l->at && m->length == vl
                    && !strcmp(m->type, l->type)) {
                    whole = labelled = 1;
                }
                for (k = 0; k < labels->nelts && !labelled; k++) {
                    label_t *o = &APR_ARRAY_IDX(labels, k, label_t);
                    labelled = o->hit && !strcmp(o->file, file)
                               && o->at == m->offset
                               && strlen(o->value) == m->length
                               && !strcmp(o->type, m->type);
                }
                if (!labelled) {
                    sp->other++;
                    printf("SPLIT FALSE POSITIVE %s cut at %lu: %s %s '%.*s'\n",
                           file, (unsigned long)cut, m->type, m->rule,
                           (int)(m->length > 80 ? 80 : m->length),
                           text + m->offset);
                }
            }
            sp->cuts++;
            tl->cuts++;
            if (whole) {
                sp->found++;
                tl->split_hit++;
            }
            else if (sp->cuts - sp->found <= 20) {
                printf("SPLIT MISSED %s cut at %lu: %s '%.60s'\n", file,
                       (unsigned long)cut, l->type, l->value);
            }
            apr_pool_destroy(cp);
        }
    }
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    const char *dir, *err;
    char *manifest, *line, *save;
    apr_size_t mlen;
    apr_array_header_t *labels, *tallies;
    llm_scan_rules_t *rs;
    apr_dir_t *d;
    apr_finfo_t fi;
    int i, files = 0, fp = 0, missed = 0, failed = 0;
    split_t split = { 0, 0, 0 };
    apr_size_t bytes = 0;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    if (argc > 1) {
        dir = argv[1];
    }
    else {
        dir = apr_pstrcat(pool, getenv("srcdir") ? getenv("srcdir") : ".",
                          "/tests/corpus", NULL);
    }
    manifest = slurp(pool, apr_pstrcat(pool, dir, "/expected.tsv", NULL), &mlen);
    if (!manifest) {
        fprintf(stderr, "corpus: cannot read %s/expected.tsv\n", dir);
        return 2;
    }
    labels = apr_array_make(pool, 128, sizeof(label_t));
    tallies = apr_array_make(pool, 32, sizeof(tally_t));
    for (line = apr_strtok(manifest, "\n", &save); line;
         line = apr_strtok(NULL, "\n", &save)) {
        char *f, *t, *v;
        label_t *l;
        if (line[0] == '#' || !line[0]) {
            continue;
        }
        f = line;
        t = strchr(f, '\t');
        v = t ? strchr(t + 1, '\t') : NULL;
        if (!t || !v) {
            fprintf(stderr, "corpus: bad manifest line: %s\n", line);
            return 2;
        }
        *t++ = '\0';
        *v++ = '\0';
        l = apr_array_push(labels);
        l->file = f;
        l->type = t;
        l->value = unescape(pool, v);
        l->hit = 0;
        tally_of(tallies, t)->want++;
    }

    make_pad(pool);
    rs = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rs))) {
        fprintf(stderr, "corpus: %s\n", err);
        return 2;
    }
    if (apr_dir_open(&d, apr_pstrcat(pool, dir, "/files", NULL), pool)
        != APR_SUCCESS) {
        fprintf(stderr, "corpus: cannot open %s/files\n", dir);
        return 2;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        apr_pool_t *fp_pool;
        apr_size_t len;
        char *text;
        apr_array_header_t *out;
        int j;

        if (fi.filetype != APR_REG || fi.name[0] == '.') {
            continue;
        }
        apr_pool_create(&fp_pool, pool);
        text = slurp(fp_pool, apr_pstrcat(fp_pool, dir, "/files/", fi.name, NULL), &len);
        if (!text) {
            fprintf(stderr, "corpus: cannot read %s\n", fi.name);
            return 2;
        }
        files++;
        bytes += len;
        out = apr_array_make(fp_pool, 16, sizeof(llm_scan_match_t));
        if (llm_scan_text(rs, text, len, fp_pool, out) < 0) {
            fprintf(stderr, "corpus: %s: scan failed\n", fi.name);
            return 2;
        }
        for (j = 0; j < out->nelts; j++) {
            llm_scan_match_t *m = &APR_ARRAY_IDX(out, j, llm_scan_match_t);
            int ok = 0;
            for (i = 0; i < labels->nelts && !ok; i++) {
                label_t *l = &APR_ARRAY_IDX(labels, i, label_t);
                if (!l->hit && !strcmp(l->file, fi.name) && !strcmp(l->type, m->type)
                    && strlen(l->value) == m->length
                    && !memcmp(l->value, text + m->offset, m->length)) {
                    l->hit = ok = 1;
                    l->at = m->offset;
                    tally_of(tallies, m->type)->hit++;
                }
            }
            if (!ok) {
                fp++;
                tally_of(tallies, apr_pstrdup(pool, m->type))->fp++;
                printf("FALSE POSITIVE %s: %s %s at %lu: '%.*s'\n", fi.name,
                       m->type, m->rule, (unsigned long)m->offset,
                       (int)(m->length > 100 ? 100 : m->length), text + m->offset);
            }
        }
        split_every_offset(rs, fi.name, text, len, labels, tallies, fp_pool,
                           &split);
        apr_pool_destroy(fp_pool);
    }
    apr_dir_close(d);

    for (i = 0; i < labels->nelts; i++) {
        label_t *l = &APR_ARRAY_IDX(labels, i, label_t);
        if (!l->hit) {
            missed++;
            printf("MISSED %s: %s '%.100s'\n", l->file, l->type, l->value);
        }
    }
    printf("\n%-16s %6s %6s %8s %4s %7s %7s\n", "type", "labels", "found",
           "recall", "fp", "splits", "found");
    for (i = 0; i < tallies->nelts; i++) {
        tally_t *x = &APR_ARRAY_IDX(tallies, i, tally_t);
        double rec = x->want ? (double)x->hit / x->want : 1.0;
        printf("%-16s %6d %6d %7.1f%% %4d %7d %7d\n", x->type, x->want, x->hit,
               100.0 * rec, x->fp, x->cuts, x->split_hit);
        if (rec < LLM_CORPUS_MIN_RECALL) {
            failed = 1;
        }
    }
    printf("%d files, %lu bytes, %d labels, %d missed, %d false positives "
           "(ceiling %d)\n", files, (unsigned long)bytes, labels->nelts, missed,
           fp, LLM_CORPUS_MAX_FP);
    printf("split over two messages at every offset inside every found value: "
           "%d splits, %d found whole, %d other findings across the cut\n",
           split.cuts, split.found, split.other);
    if (split.found < split.cuts || split.other > 0) {
        failed = 1;
    }
    if (fp > LLM_CORPUS_MAX_FP) {
        failed = 1;
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? 1 : 0;
}
