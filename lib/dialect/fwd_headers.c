/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The request headers that go to a provider, and the syntax each value
 * must have.  These values bypass the body scan, so each is held to the
 * narrowest form its API defines: a value that does not fit cannot carry
 * a key or a token to the provider.  The User-Agent, free text by nature,
 * is only held to printable ASCII here and scanned by mod_llm_scan.
 */

#include <string.h>
#include <strings.h>

#include "llm_names.h"

static int lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

llm_fwd_header_e llm_fwd_header(const char *name)
{
    if (!name) {
        return LLM_FWD_NONE;
    }
    switch (*name) {
    case 'U': case 'u':
        return strcasecmp(name, "User-Agent") ? LLM_FWD_NONE
                                              : LLM_FWD_USER_AGENT;
    case 'A': case 'a':
        if (!strcasecmp(name, "Accept")) {
            return LLM_FWD_ACCEPT;
        }
        if (!strcasecmp(name, "anthropic-version")) {
            return LLM_FWD_ANTHROPIC_VERSION;
        }
        if (!strcasecmp(name, "anthropic-beta")) {
            return LLM_FWD_ANTHROPIC_BETA;
        }
        return LLM_FWD_NONE;
    case 'O': case 'o':
        return strcasecmp(name, "OpenAI-Beta") ? LLM_FWD_NONE
                                               : LLM_FWD_OPENAI_BETA;
    }
    return LLM_FWD_NONE;
}

static int user_agent_ok(const char *v)
{
    size_t n;

    for (n = 0; v[n]; n++) {
        unsigned char c = (unsigned char)v[n];

        if (n >= LLM_USER_AGENT_MAX || c < 0x20 || c > 0x7e) {
            return 0;
        }
    }
    return n > 0;
}

static int date_ok(const char *v)
{
    /* YYYY-MM-DD */
    static const char form[] = "dddd-dd-dd";
    int i;

    for (i = 0; form[i]; i++) {
        if (form[i] == 'd' ? !digit((unsigned char)v[i]) : v[i] != '-') {
            return 0;
        }
    }
    return v[i] == '\0';
}

/* One anthropic-beta name: prompt-caching-2024-07-31, claude-code-20250219:
 * lower-case words of at most 20 characters joined by '-', 64 in all. */
static const char *beta_name(const char *p)
{
    const char *start = p;
    size_t word = 0;

    for (;; p++) {
        if (lower_alnum((unsigned char)*p)) {
            if (++word > 20) {
                return NULL;
            }
        }
        else if (*p == '-' && word) {
            word = 0;
        }
        else {
            break;
        }
    }
    if (!word || p - start > 64) {
        return NULL;
    }
    return p;
}

/* One OpenAI-Beta item: assistants=v2. */
static const char *openai_beta_item(const char *p)
{
    const char *start = p;

    if (!(*p >= 'a' && *p <= 'z')) {
        return NULL;
    }
    while (lower_alnum((unsigned char)*p) || *p == '_' || *p == '-') {
        p++;
    }
    if (p - start > 32 || *p++ != '=') {
        return NULL;
    }
    start = p;
    while (lower_alnum((unsigned char)*p) || *p == '.' || *p == '-') {
        p++;
    }
    if (p == start || p - start > 16) {
        return NULL;
    }
    return p;
}

/* The media ranges a JSON API client asks for, with an optional q. */
static const char *accept_item(const char *p)
{
    static const char *const ranges[] = {
        "application/json", "text/event-stream", "application/x-ndjson",
        "text/plain", "application/*", "text/*", "*/*", NULL
    };
    int i;

    for (i = 0; ranges[i]; i++) {
        size_t n = strlen(ranges[i]);

        if (!strncasecmp(p, ranges[i], n)) {
            p += n;
            break;
        }
    }
    if (!ranges[i]) {
        return NULL;
    }
    p = skip_ows(p);
    if (*p == ';') {
        p = skip_ows(p + 1);
        if ((*p != 'q' && *p != 'Q') || p[1] != '=') {
            return NULL;
        }
        p += 2;
        if (*p != '0' && *p != '1') {
            return NULL;
        }
        p++;
        if (*p == '.') {
            for (i = 0, p++; digit((unsigned char)*p); p++) {
                if (++i > 3) {
                    return NULL;
                }
            }
        }
    }
    return p;
}

/* A comma-separated list of items, each read by item(), at most 16. */
static int list_ok(const char *v, const char *(*item)(const char *))
{
    const char *p = skip_ows(v);
    int n = 0;

    for (;;) {
        if (++n > 16 || !(p = item(p))) {
            return 0;
        }
        p = skip_ows(p);
        if (!*p) {
            return 1;
        }
        if (*p != ',') {
            return 0;
        }
        p = skip_ows(p + 1);
    }
}

int llm_fwd_header_ok(llm_fwd_header_e h, const char *value)
{
    if (!value) {
        return 0;
    }
    switch (h) {
    case LLM_FWD_USER_AGENT:
        return user_agent_ok(value);
    case LLM_FWD_ACCEPT:
        return list_ok(value, accept_item);
    case LLM_FWD_ANTHROPIC_VERSION:
        return date_ok(value);
    case LLM_FWD_ANTHROPIC_BETA:
        return list_ok(value, beta_name);
    case LLM_FWD_OPENAI_BETA:
        return list_ok(value, openai_beta_item);
    case LLM_FWD_NONE:
        break;
    }
    return 0;
}

int llm_beta_query_ok(const char *value, size_t len)
{
    return (len == 4 && !strncmp(value, "true", 4))
        || (len == 5 && !strncmp(value, "false", 5));
}
