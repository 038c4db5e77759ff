/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Sizes, counts and durations in directives (llm_size.h).  Digits are read here
 * rather than by strtoll, which would take a sign, leading blanks and a
 * value past the 64-bit range without a word.
 */

#include "apr_lib.h"
#include "apr_strings.h"

#include "llm_size.h"

#define NOT_A_SIZE(p, arg, unit)                                          \
    apr_psprintf((p), (unit) == LLM_SIZE_BYTES                            \
                 ? "'%s' is not a size (bytes, or a number with K, M "    \
                   "or G, e.g. 16M)"                                      \
                 : "'%s' is not a number (e.g. 60, 200k, 5M)", (arg))

const char *llm_size_parse(apr_pool_t *p, const char *arg,
                           llm_size_unit_e unit, apr_int64_t min,
                           apr_int64_t max, apr_int64_t *out)
{
    const char *s = arg;
    apr_int64_t n = 0, mult = 1;
    int exp = 0;

    if (!apr_isdigit(*s)) {
        return NOT_A_SIZE(p, arg, unit);
    }
    for (; apr_isdigit(*s); s++) {
        if (n > (APR_INT64_MAX - (*s - '0')) / 10) {
            return apr_psprintf(p, "'%s' is too large (at most %"
                                APR_INT64_T_FMT ")", arg, max);
        }
        n = n * 10 + (*s - '0');
    }
    switch (apr_toupper(*s)) {
    case 'K': exp = 1; s++; break;
    case 'M': exp = 2; s++; break;
    case 'G': exp = 3; s++; break;
    default: break;
    }
    if (unit == LLM_SIZE_BYTES && apr_toupper(*s) == 'B') {
        s++;
    }
    if (*s) {
        return NOT_A_SIZE(p, arg, unit);
    }
    while (exp-- > 0) {
        mult *= unit;
    }
    if (n > max / mult) {
        return apr_psprintf(p, "'%s' is too large (at most %" APR_INT64_T_FMT
                            "%s)", arg, max,
                            unit == LLM_SIZE_BYTES ? " bytes" : "");
    }
    n *= mult;
    if (n < min) {
        return apr_psprintf(p, "'%s' is below the minimum of %"
                            APR_INT64_T_FMT "%s", arg, min,
                            unit == LLM_SIZE_BYTES ? " bytes" : "");
    }
    *out = n;
    return NULL;
}

const char *llm_duration_parse(apr_pool_t *p, const char *arg,
                               apr_int64_t max_sec, apr_int64_t *sec)
{
    const char *s = arg;
    apr_int64_t n = 0, unit;

    for (; apr_isdigit(*s) && n <= max_sec; s++) {
        n = n * 10 + (*s - '0');
    }
    switch (*s) {
    case '\0': unit = 1; break;
    case 's': unit = 1; s++; break;
    case 'm': unit = 60; s++; break;
    case 'h': unit = 3600; s++; break;
    case 'd': unit = 86400; s++; break;
    default: unit = 0; break;
    }
    if (s == arg || !apr_isdigit(*arg) || *s || unit == 0 || n <= 0
        || n > max_sec / unit) {
        return apr_psprintf(p, "'%s' is not a duration (seconds, or a "
                            "number with s, m, h or d; from 1 second to %"
                            APR_INT64_T_FMT " seconds)", arg, max_sec);
    }
    *sec = n * unit;
    return NULL;
}
