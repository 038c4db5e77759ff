/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Answer scan benchmark (not a test): the CPU the answer scan's library
 * work costs, in-process, with the full default rule set.
 *
 *   bench_answer [rounds]
 *
 * - a 20 KB non-stream chat.completion (prose and code, no finding):
 *   parse + walk of the caller-visible strings + scan, the work
 *   mod_llm_scan's filter does on a whole answer; and the same with the
 *   20 KB as tool-call arguments (scanned decoded, as the client parses
 *   them);
 * - the same text streamed as chat.completion.chunk events of about 4
 *   bytes each: the stream relay's own per-event work today
 *   (llm_sse_translate, pass-through) next to that plus the answer scan's
 *   (event walk, block text, a scan per event -- every event in a read of
 *   its own, the worst case -- or per 16 events).
 *
 * Figures are CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), median
 * and 90th percentile of the rounds.  The whole httpd's CPU per relayed
 * event, against today's build, is bench/gateway/answer_cpu.py.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "dialect/llm_dialect.h"
#include "dialect/llm_sse.h"
#include "dialect/llm_answer_walk.h"
#include "scan/llm_scan.h"
#include "scan/llm_answer.h"

static const char *const lines[] = {
    "Here is the change you asked for, with the tests updated.\n",
    "The function below reads the configuration once and caches it.\n",
    "```python\n",
    "def load_config(path):\n",
    "    with open(path) as f:\n",
    "        return json.load(f)\n",
    "```\n",
    "    for (i = 0; i < n; i++) {\n",
    "        total += values[i] * weights[i];\n",
    "    }\n",
    "Run `make check` to see the three new tests pass; the old one for\n",
    "the parser still covers the empty input.\n",
    "src/parser.c:120: the loop now stops at the first blank line.\n",
    "- fixed the off-by-one in the buffer resize\n",
};

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n, double per)
{
    qsort(t, (size_t)n, sizeof(double), cmp);
    printf("%-58s median %9.2f us  p90 %9.2f us\n", what, t[n / 2] / per,
           t[n * 9 / 10] / per);
}

static char *text_of(apr_pool_t *p, size_t size)
{
    char *t = apr_palloc(p, size + 1);
    size_t o = 0, i = 0, n;

    while (o < size) {
        n = strlen(lines[i % (sizeof(lines) / sizeof(lines[0]))]);
        if (o + n > size) {
            n = size - o;
        }
        memcpy(t + o, lines[i % (sizeof(lines) / sizeof(lines[0]))], n);
        o += n;
        i++;
    }
    t[size] = '\0';
    return t;
}

/* The work of the filter on a whole answer. */
static int scan_whole(apr_pool_t *p, const llm_scan_rules_t *rs,
                      const char *body, size_t len)
{
    json_t *j = llm_json_parse(p, body, len, NULL);
    apr_array_header_t *strs = apr_array_make(p, 4,
                                              sizeof(llm_answer_string_t));
    apr_array_header_t *m = apr_array_make(p, 4, sizeof(llm_answer_match_t));
    size_t safe;
    int i, found = 0;

    llm_answer_walk_body(p, LLM_EP_OPENAI_CHAT, j, strs);
    for (i = 0; i < strs->nelts; i++) {
        const llm_answer_string_t *s = &APR_ARRAY_IDX(strs, i,
                                                      llm_answer_string_t);
        llm_answer_stream_t *st = llm_answer_stream_create(
            p, rs, s->kind == LLM_ANSWER_ARGS);

        llm_answer_stream_add(st, json_string_value(s->node),
                              json_string_length(s->node));
        found += llm_answer_stream_scan(st, 1, m, &safe);
    }
    return found;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p, *it;
    llm_scan_rules_t *rs;
    int rounds = argc > 1 ? atoi(argv[1]) : 500, r, i, found = 0;
    double *t;
    const char *text, *q, *body, *args_body;
    size_t ql, blen, alen;
    char **events;
    size_t *elen;
    int nev = 0;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    apr_pool_create(&it, p);
    rs = llm_scan_rules_create(p, 1);
    if (llm_scan_rules_compile(rs)) {
        return 1;
    }
    t = apr_palloc(p, sizeof(double) * (size_t)rounds);
    text = text_of(p, 20 * 1024);
    q = llm_answer_json_quote(p, text, strlen(text), &ql);
    body = apr_psprintf(p, "{\"id\":\"chatcmpl-b\",\"object\":"
                        "\"chat.completion\",\"created\":1,\"model\":"
                        "\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                        "\"message\":{\"role\":\"assistant\",\"content\":"
                        "%s},\"finish_reason\":\"stop\"}],\"usage\":{"
                        "\"prompt_tokens\":3,\"completion_tokens\":5,"
                        "\"total_tokens\":8}}", q);
    blen = strlen(body);
    {
        const char *inner = apr_psprintf(p, "{\"path\":\"notes.md\","
                                         "\"content\":%s}", q);
        const char *iq = llm_answer_json_quote(p, inner, strlen(inner), &ql);

        args_body = apr_psprintf(p, "{\"id\":\"chatcmpl-b\",\"object\":"
                                 "\"chat.completion\",\"created\":1,"
                                 "\"model\":\"gpt-4o-mini\",\"choices\":[{"
                                 "\"index\":0,\"message\":{\"role\":"
                                 "\"assistant\",\"content\":null,"
                                 "\"tool_calls\":[{\"id\":\"call_b\","
                                 "\"type\":\"function\",\"function\":{"
                                 "\"name\":\"write_file\",\"arguments\":"
                                 "%s}}]},\"finish_reason\":\"tool_calls\"}]}",
                                 iq);
        alen = strlen(args_body);
    }
    printf("20 KB answer: %zu bytes of JSON, %zu as tool-call arguments\n",
           blen, alen);

    for (r = 0; r < rounds; r++) {
        double t0 = now_us();
        json_t *j = llm_json_parse(it, body, blen, NULL);

        (void)j;
        t[r] = now_us() - t0;
        apr_pool_clear(it);
    }
    report("non-stream 20 KB: parse alone", t, rounds, 1);
    for (r = 0; r < rounds; r++) {
        double t0 = now_us();

        found += scan_whole(it, rs, body, blen);
        t[r] = now_us() - t0;
        apr_pool_clear(it);
    }
    report("non-stream 20 KB text: parse + walk + scan", t, rounds, 1);
    for (r = 0; r < rounds; r++) {
        double t0 = now_us();

        found += scan_whole(it, rs, args_body, alen);
        t[r] = now_us() - t0;
        apr_pool_clear(it);
    }
    report("non-stream 20 KB tool arguments: parse + walk + scan", t,
           rounds, 1);

    /* the same text as a stream of small deltas */
    events = apr_palloc(p, sizeof(char *) * 8192);
    elen = apr_palloc(p, sizeof(size_t) * 8192);
    for (i = 0; i < (int)strlen(text) && nev < 8190; i += 4) {
        const char *d = llm_answer_json_quote(p, text + i,
                                              strlen(text + i) < 4
                                              ? strlen(text + i) : 4, &ql);

        events[nev] = apr_psprintf(p, "data: {\"id\":\"chatcmpl-b\","
                                   "\"object\":\"chat.completion.chunk\","
                                   "\"created\":1,\"model\":\"gpt-4o-mini\","
                                   "\"choices\":[{\"index\":0,\"delta\":{"
                                   "\"content\":%s},\"finish_reason\":null}]}"
                                   "\n\n", d);
        elen[nev] = strlen(events[nev]);
        nev++;
    }
    printf("stream: %d events of 4 bytes of text\n", nev);
    for (r = 0; r < rounds / 10 + 1; r++) {
        llm_sse_translator_t *tr = llm_sse_translator_create_for(
            it, LLM_EP_OPENAI_CHAT, LLM_FAMILY_OPENAI, 0, NULL);
        double t0 = now_us();
        const char *o;
        size_t on;

        for (i = 0; i < nev; i++) {
            llm_sse_translate(tr, events[i], elen[i], &o, &on);
        }
        t[r] = now_us() - t0;
        apr_pool_clear(it);
    }
    report("stream, today's relay (pass-through translator), per event",
           t, rounds / 10 + 1, nev);
    {
        int batch;

        for (batch = 1; batch <= 16; batch *= 16) {
            for (r = 0; r < rounds / 10 + 1; r++) {
                llm_sse_translator_t *tr = llm_sse_translator_create_for(
                    it, LLM_EP_OPENAI_CHAT, LLM_FAMILY_OPENAI, 0, NULL);
                llm_answer_stream_t *st = llm_answer_stream_create(it, rs, 0);
                apr_array_header_t *m = apr_array_make(
                    it, 4, sizeof(llm_answer_match_t));
                apr_pool_t *ev;
                double t0 = now_us();
                const char *o;
                size_t on, safe;

                apr_pool_create(&ev, it);
                for (i = 0; i < nev; i++) {
                    llm_answer_event_t e;
                    int k;

                    llm_sse_translate(tr, events[i], elen[i], &o, &on);
                    /* the filter's own cut of the event: data after
                     * "data: ", less the blank line */
                    llm_answer_walk_event(ev, LLM_EP_OPENAI_CHAT, NULL,
                                          events[i] + 6, elen[i] - 8, &e);
                    for (k = 0; k < e.pieces->nelts; k++) {
                        const llm_answer_piece_t *pc = &APR_ARRAY_IDX(
                            e.pieces, k, llm_answer_piece_t);

                        llm_answer_stream_add(st, pc->text, pc->len);
                    }
                    if ((i + 1) % batch == 0) {
                        found += llm_answer_stream_scan(st, 0, m, &safe);
                        llm_answer_stream_release(st, safe);
                        apr_pool_clear(ev);
                    }
                }
                t[r] = now_us() - t0;
                apr_pool_clear(it);
            }
            report(batch == 1
                   ? "stream, relay + answer scan (scan every event), per event"
                   : "stream, relay + answer scan (scan per 16 events), per event",
                   t, rounds / 10 + 1, nev);
        }
    }
    printf("findings in the benchmark text (must be 0): %d\n", found);
    apr_pool_destroy(p);
    apr_terminate();
    return found != 0;
}
