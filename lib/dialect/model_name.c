/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Model names and provider path segments.  A model name reaches the
 * provider's body (or, for Azure, its URL), the audit row and the error
 * log, so it must be a name and nothing else: the alphabet the providers'
 * model ids use, checked before anything reads the name.
 */

#include <string.h>

#include "llm_names.h"

static int alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9');
}

static int name_char(unsigned char c)
{
    return alnum(c) || c == '.' || c == '_' || c == ':' || c == '@'
        || c == '-';
}

int llm_model_name_ok(const char *s)
{
    size_t n = 0;
    int seg_start = 1;

    if (!s) {
        return 0;
    }
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];

        if (n >= LLM_MODEL_NAME_MAX) {
            return 0;
        }
        if (seg_start) {
            /* A segment starts with a letter or digit: no empty, "." or
             * ".." segment, nothing a path would resolve. */
            if (!alnum(c)) {
                return 0;
            }
            seg_start = 0;
        }
        else if (c == '/') {
            seg_start = 1;
        }
        else if (!name_char(c)) {
            return 0;
        }
    }
    return n > 0 && !seg_start;
}

int llm_path_segment_ok(const char *s)
{
    size_t n;

    if (!s || !alnum((unsigned char)*s)) {
        return 0;
    }
    for (n = 1; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];

        if (n >= 64 || !(alnum(c) || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}
