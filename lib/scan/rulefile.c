/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The admin rule file, one rule a line, so that llm-scan in CI and the
 * gateway can share the same custom rules:
 *
 *   # comment
 *   pattern  TYPE rule-id PCRE2...      (the rest of the line)
 *   keywords TYPE rule-id word word...  (whitespace separated)
 *   allow    PCRE2...                   (the rest of the line)
 *   disable  rule-id-or-TYPE
 *
 * A rule of a built-in type takes that type's category; any other type is
 * a content rule.
 */

#include <string.h>

#include "apr_strings.h"
#include "apr_file_io.h"
#include "scan_private.h"

static char *next_word(char **s)
{
    char *w, *p = *s;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (!*p) {
        *s = p;
        return NULL;
    }
    w = p;
    while (*p && *p != ' ' && *p != '\t') {
        p++;
    }
    if (*p) {
        *p++ = '\0';
    }
    *s = p;
    return w;
}

static char *rest(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

static llm_category_e category_of(const char *type)
{
    int c = llm_scan_builtin_category(type);
    return c < 0 ? LLM_CAT_CONTENT : (llm_category_e)c;
}

const char *llm_scan_rules_load_line(llm_scan_rules_t *rs, char *line,
                                     apr_pool_t *p)
{
    char *s = line, *kw, *type, *id, *r;

    kw = next_word(&s);
    if (!kw || kw[0] == '#') {
        return NULL;
    }
    if (!strcmp(kw, "pattern")) {
        type = next_word(&s);
        id = next_word(&s);
        r = rest(s);
        if (!type || !id || !*r) {
            return "usage: pattern TYPE rule-id PCRE2";
        }
        return llm_scan_rules_add_pattern(rs, type, id, r, category_of(type));
    }
    if (!strcmp(kw, "keywords")) {
        apr_array_header_t *words = apr_array_make(p, 8, sizeof(char *));
        char *w;
        type = next_word(&s);
        id = next_word(&s);
        while ((w = next_word(&s))) {
            char *e = w + strlen(w);
            if (e > w && e[-1] == '\r') {
                e[-1] = '\0';
            }
            if (*w) {
                APR_ARRAY_PUSH(words, char *) = w;
            }
        }
        if (!type || !id || !words->nelts) {
            return "usage: keywords TYPE rule-id word...";
        }
        return llm_scan_rules_add_keywords(rs, type, id,
                                           (const char *const *)words->elts,
                                           words->nelts, category_of(type));
    }
    if (!strcmp(kw, "allow")) {
        r = rest(s);
        if (!*r) {
            return "usage: allow PCRE2";
        }
        return llm_scan_rules_add_allow(rs, r);
    }
    if (!strcmp(kw, "disable")) {
        id = next_word(&s);
        if (!id) {
            return "usage: disable rule-id-or-TYPE";
        }
        return llm_scan_rules_disable(rs, rest(id));
    }
    return apr_psprintf(p, "unknown keyword '%s' (pattern, keywords, allow, "
                        "disable)", kw);
}

const char *llm_scan_rules_load_file(llm_scan_rules_t *rs, const char *path,
                                     apr_pool_t *p)
{
    apr_file_t *f;
    apr_status_t st;
    char buf[8192];
    int lineno = 0;

    st = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED,
                       APR_FPROT_OS_DEFAULT, p);
    if (st != APR_SUCCESS) {
        char eb[128];
        return apr_psprintf(p, "%s: %s", path,
                            apr_strerror(st, eb, sizeof(eb)));
    }
    while (apr_file_gets(buf, sizeof(buf), f) == APR_SUCCESS) {
        size_t l = strlen(buf);
        const char *err;
        lineno++;
        if (l && buf[l - 1] == '\n') {
            buf[--l] = '\0';
        }
        else if (l == sizeof(buf) - 1) {
            apr_file_close(f);
            return apr_psprintf(p, "%s:%d: line too long", path, lineno);
        }
        if ((err = llm_scan_rules_load_line(rs, buf, p))) {
            apr_file_close(f);
            return apr_psprintf(p, "%s:%d: %s", path, lineno, err);
        }
    }
    apr_file_close(f);
    return NULL;
}
