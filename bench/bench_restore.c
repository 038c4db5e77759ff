/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * What restoring placeholders costs (lib/dialect/llm_restore.h), next to
 * what the answer relay already does per event in the same run: the
 * pass-through stream translator of mod_llm_route (SSE parse and usage
 * read), fed one event per call as the network delivers them.
 *
 *   bench/bench_restore [events] [rounds]      default 20000 5
 *
 * Streams of chat.completion.chunk events (the mock's shape, ~330 bytes
 * each): plain words; code with brackets on every event; a placeholder
 * of the request split over three events every 20 events; every event's
 * text ending in "[" (each one held until the next: the worst case).
 * Then a 20 KB non-stream chat answer, with and without placeholders.
 * Reported: ns of CPU per event (per answer for bodies), the median of
 * the rounds.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "llm_restore.h"
#include "llm_sse.h"

static double cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static const char *chunk(apr_pool_t *p, const char *text)
{
    return apr_psprintf(p,
        "data: {\"id\":\"chatcmpl-0123456789abcdef\",\"object\":"
        "\"chat.completion.chunk\",\"created\":1733500000,\"model\":"
        "\"gpt-4o-mini\",\"service_tier\":\"default\",\"system_fingerprint\":"
        "\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
        "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
        text);
}

typedef enum { PLAIN, CODE, SPLIT, HELD } kind_e;

static const char **make_events(apr_pool_t *p, int n, kind_e kind)
{
    const char **ev = apr_palloc(p, sizeof(*ev) * (size_t)n);
    int i;

    for (i = 0; i < n; i++) {
        switch (kind) {
        case PLAIN:
            ev[i] = chunk(p, "word ");
            break;
        case CODE:
            ev[i] = chunk(p, "a[i] = b[j];");
            break;
        case SPLIT:
            ev[i] = chunk(p, i % 20 == 0 ? "mail [REDACT"
                             : i % 20 == 1 ? "ED_EMAIL"
                             : i % 20 == 2 ? "_1] now" : "word ");
            break;
        case HELD:
            ev[i] = chunk(p, "x[");
            break;
        }
    }
    return ev;
}

static double run_translator(apr_pool_t *p, const char **ev, int n)
{
    llm_sse_translator_t *t = llm_sse_translator_create_for(
        p, LLM_EP_OPENAI_CHAT, LLM_FAMILY_OPENAI, 1, NULL);
    const char *o;
    size_t on;
    double t0 = cpu_ns();
    int i;

    for (i = 0; i < n; i++) {
        llm_sse_translate(t, ev[i], strlen(ev[i]), &o, &on);
    }
    llm_sse_translate_finish(t, &o, &on);
    return (cpu_ns() - t0) / n;
}

static double run_restore(apr_pool_t *p, const llm_restore_map_t *m,
                          const char **ev, int n, int *count)
{
    llm_restore_stream_t *s = llm_restore_stream_create(p, m, 0);
    const char *o;
    size_t on;
    double t0 = cpu_ns();
    int i;

    for (i = 0; i < n; i++) {
        llm_restore_stream_feed(s, ev[i], strlen(ev[i]), &o, &on);
    }
    llm_restore_stream_finish(s, &o, &on);
    *count = llm_restore_stream_count(s);
    return (cpu_ns() - t0) / n;
}

static const char *body_20k(apr_pool_t *p, int placeholders)
{
    char *text = apr_pcalloc(p, 20 * 1024);
    size_t len = 0;
    int k = 0;

    while (len < 19 * 1024) {
        const char *w = placeholders && (k++ % 50) == 0
                        ? "[REDACTED_EMAIL_1] " : "for (i = 0; i < n; i++) ";
        memcpy(text + len, w, strlen(w));
        len += strlen(w);
    }
    return apr_psprintf(p,
        "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":1,"
        "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{"
        "\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":"
        "\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}",
        text);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    static const char *names[] = { "plain words", "code, [ in every event",
                                   "placeholder split over 3 of 20 events",
                                   "every event held (text ends in \"[\")" };
    apr_pool_t *root, *p;
    llm_restore_map_t *m;
    double *base, *rest;
    int kind, r, count = 0;

    apr_initialize();
    apr_pool_create(&root, NULL);
    m = llm_restore_map_create(root);
    llm_restore_map_add(m, "[REDACTED_EMAIL_1]", "alice@corp.example", 18);
    llm_restore_map_add(m, "[REDACTED_PHONE_1]", "+1 415 555 0100", 15);
    base = calloc((size_t)rounds, sizeof(double));
    rest = calloc((size_t)rounds, sizeof(double));
    printf("%-40s %12s %12s %8s\n", "stream (chat chunks, ~330 B)",
           "relay ns/ev", "restore ns/ev", "ratio");
    for (kind = PLAIN; kind <= HELD; kind++) {
        const char **ev;

        apr_pool_create(&p, root);
        ev = make_events(p, n, (kind_e)kind);
        for (r = 0; r < rounds; r++) {
            apr_pool_t *q;

            apr_pool_create(&q, p);
            base[r] = run_translator(q, ev, n);
            apr_pool_destroy(q);
            apr_pool_create(&q, p);
            rest[r] = run_restore(q, m, ev, n, &count);
            apr_pool_destroy(q);
        }
        qsort(base, (size_t)rounds, sizeof(double), cmp);
        qsort(rest, (size_t)rounds, sizeof(double), cmp);
        printf("%-40s %12.0f %12.0f %7.2fx  (%d restored)\n", names[kind],
               base[rounds / 2], rest[rounds / 2],
               rest[rounds / 2] / base[rounds / 2], count);
        apr_pool_destroy(p);
    }
    for (kind = 0; kind < 2; kind++) {
        const char *b, *o;
        size_t on;
        int c = 0, i, reps = 200;
        double t0;

        apr_pool_create(&p, root);
        b = body_20k(p, kind);
        for (r = 0; r < rounds; r++) {
            t0 = cpu_ns();
            for (i = 0; i < reps; i++) {
                apr_pool_t *q;

                apr_pool_create(&q, p);
                o = llm_restore_body(m, q, b, strlen(b), &on, &c);
                apr_pool_destroy(q);
            }
            rest[r] = (cpu_ns() - t0) / reps;
        }
        qsort(rest, (size_t)rounds, sizeof(double), cmp);
        printf("20 KB non-stream answer, %-15s %10.1f us/answer (%d "
               "restored)\n", kind ? "placeholders" : "none",
               rest[rounds / 2] / 1000, c);
        (void)o;
        apr_pool_destroy(p);
    }
    return 0;
}
