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
 * Usage when the provider reports none: a stream from an OpenAI-compatible
 * server that ignores stream_options, an answer too large to read, a
 * stream cut before its last event.  The gateway charges what it relayed,
 * so that no request flag or provider quirk makes an answer free.
 */

#include <string.h>

#include "llm_usage.h"

/* Members whose string value is text the model wrote. */
static const struct {
    const char *name;
    size_t len;
} text_members[] = {
    { "content", 7 }, { "text", 4 }, { "arguments", 9 },
    { "partial_json", 12 }, { "refusal", 7 }, { "thinking", 8 },
    { "reasoning_content", 17 }, { "delta", 5 }
};

#define N_TEXT_MEMBERS (sizeof(text_members) / sizeof(text_members[0]))

/* p is just after a '"': the length of `name"` if a text member's name
 * is spelt there, else 0. */
static size_t text_member_at(const char *p, const char *end)
{
    size_t i;

    for (i = 0; i < N_TEXT_MEMBERS; i++) {
        size_t n = text_members[i].len;

        if (*p == text_members[i].name[0] && (size_t)(end - p) > n
            && p[n] == '"' && !memcmp(p, text_members[i].name, n)) {
            return n + 1;
        }
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

size_t llm_usage_text_bytes(const char *event, const char *data, size_t len)
{
    const char *p = data, *end = data + len, *q;
    size_t total = 0, k;

    if (summary_event(event)) {
        return 0;
    }
    /* Quotes are delimiters or escaped (\"); a delimiter followed by a
     * text member's name and a colon opens that member. */
    while (p < end && (q = memchr(p, '"', (size_t)(end - p))) != NULL) {
        p = q + 1;
        if (p >= end || (q > data && q[-1] == '\\')
            || !(k = text_member_at(p, end))) {
            continue;
        }
        q = skip_ws(p + k, end);
        if (q >= end || *q != ':') {
            continue;
        }
        q = skip_ws(q + 1, end);
        if (q >= end || *q != '"') {
            continue;
        }
        for (q++; q < end && *q != '"'; total++) {
            q += *q != '\\' ? 1 : (q + 1 < end && q[1] == 'u') ? 6 : 2;
        }
        p = q + 1;
    }
    return total;
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
