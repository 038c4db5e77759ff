/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Usage when the provider reports none: a stream from an OpenAI-compatible
 * server that ignores stream_options, an answer too large to read, a
 * stream cut before its last event.  The gateway charges what it relayed,
 * so that no request flag or provider quirk makes an answer free.
 */

#include <string.h>

#include "llm_usage.h"

/* The first letters of the member names the scan looks for: most quotes
 * in an event are rejected by this table alone. */
static const unsigned char wanted_first[256] = {
    ['a'] = 1, ['c'] = 1, ['d'] = 1, ['p'] = 1, ['r'] = 1, ['t'] = 1,
    ['u'] = 1
};

#define NAME_IS(p, n, lit) \
    ((n) == sizeof(lit) - 1 && !memcmp((p), (lit), sizeof(lit) - 1))

/* p is just after an opening quote and q at the closing one: 1 for a
 * member holding text the model wrote, 2 for "usage", else 0. */
static int wanted_name(const char *p, size_t n)
{
    switch (*p) {
    case 'a':
        return NAME_IS(p, n, "arguments");
    case 'c':
        return NAME_IS(p, n, "content");
    case 'd':
        return NAME_IS(p, n, "delta");
    case 'p':
        return NAME_IS(p, n, "partial_json");
    case 'r':
        return NAME_IS(p, n, "refusal") || NAME_IS(p, n, "reasoning_content");
    case 't':
        return NAME_IS(p, n, "text") || NAME_IS(p, n, "thinking");
    case 'u':
        return NAME_IS(p, n, "usage") ? 2 : 0;
    }
    return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* The quote closing the string whose content starts at p, or NULL. */
static const char *string_end(const char *p, const char *end)
{
    const char *q, *b;

    while ((q = memchr(p, '"', (size_t)(end - p))) != NULL) {
        for (b = q; b > p && b[-1] == '\\'; b--) {
        }
        if (((q - b) & 1) == 0) {
            return q;
        }
        p = q + 1;
    }
    return NULL;
}

/* Responses' summary events repeat text already sent as deltas. */
static int summary_event(const char *event)
{
    size_t n;

    if (!event || strncmp(event, "response.", 9)) {
        return 0;
    }
    n = strlen(event);
    return n < 6 || strcmp(event + n - 6, ".delta");
}

size_t llm_usage_scan_event(const char *event, const char *data, size_t len,
                            int *has_usage)
{
    const char *p = data, *end = data + len, *q, *v;
    size_t total = 0;
    int count = !summary_event(event), w;

    *has_usage = 0;
    /* Every string is stepped over whole; a name is a string followed by
     * a colon. */
    while (p < end && (q = memchr(p, '"', (size_t)(end - p))) != NULL) {
        if (q + 1 >= end) {
            break;
        }
        if (!(p = string_end(q + 1, end))) {
            break;
        }
        w = wanted_first[(unsigned char)q[1]]
            ? wanted_name(q + 1, (size_t)(p - q - 1)) : 0;
        p++;
        if (!w) {
            continue;
        }
        v = skip_ws(p, end);
        if (v >= end || *v != ':') {
            continue;
        }
        v = skip_ws(v + 1, end);
        if (w == 2) {
            /* OpenAI's "usage": null on every chunk but the last is
             * nothing to read. */
            *has_usage |= v < end && *v != 'n';
            continue;
        }
        if (v < end && *v == '"' && (q = string_end(v + 1, end)) != NULL) {
            if (count) {
                total += (size_t)(q - v - 1);
            }
            p = q + 1;
        }
    }
    return total;
}

size_t llm_usage_text_bytes(const char *event, const char *data, size_t len)
{
    int has_usage;

    return llm_usage_scan_event(event, data, len, &has_usage);
}

long long llm_usage_estimate_tokens(size_t bytes)
{
    return (long long)((bytes + 3) / 4);
}

int llm_usage_complete(llm_usage_t *u, size_t input_bytes,
                       size_t output_text_bytes)
{
    int estimated = 0;
    long long out = llm_usage_estimate_tokens(output_text_bytes);

    if (!u->seen) {
        u->input_tokens = llm_usage_estimate_tokens(input_bytes);
        estimated = 1;
    }
    if (!u->output_final && out > u->output_tokens) {
        u->output_tokens = out;
        estimated = 1;
    }
    u->seen = 1;
    return estimated;
}
