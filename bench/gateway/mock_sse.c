/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mock_sse: a benchmark upstream that speaks just enough of the OpenAI
 * Chat Completions wire format, fast enough never to be the bottleneck.
 * One thread, epoll, HTTP/1.1 keep-alive; NOT A MODEL and not a test
 * fixture (tests use tests/integration/gwtest/mock_provider.py).
 *
 *   mock_sse PORT
 *
 * Any POST gets a chat.completion (non-stream) or, when the body holds
 * "stream":true, an SSE stream of chat.completion.chunk events ending in
 * [DONE], sent chunked, one event per chunk; a POST to .../messages gets
 * the Anthropic Messages equivalents (a message, or its SSE events).  Two numbers pace a stream
 * (the long-streams benchmark), read from the body -- anywhere, e.g. in
 * "metadata" -- since the gateway forwards only the providers' own
 * headers, or from request headers when talking to the mock directly:
 *   "mock_interval_ms": N / x-mock-interval-ms: N
 *                           N ms between events (default 0: all at once)
 *   "mock_events": N / x-mock-events: N
 *                           number of content events (default 16)
 *   "mock_openai_usage": 1  usage as OpenAI sends it: a usage chunk of its
 *                           own ("choices": []) and "usage": null on every
 *                           other chunk only when the body asks for it
 *                           (stream_options.include_usage), none otherwise;
 *                           without it the finish chunk always has usage
 *   "mock_placeholder_every": N  (unpaced streams and whole chat answers)
 *                           [REDACTED_EMAIL_1] in the text, split over
 *                           three content events out of every N, as a
 *                           model writes it token by token (the cost of
 *                           reversible redaction's restoring)
 * The first event always goes out at once, so a client's time to first
 * token through a proxy minus the same direct is what the proxy adds.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 65536
#define INBUF_FIRST 65536
/* Agent-sized request bodies reach several MB. */
#define INBUF_MAX (64 * 1024 * 1024)

typedef struct conn {
    int fd;
    char *in;
    size_t inlen, incap;
    char *out;          /* pending bytes not yet written */
    size_t outlen, outoff, outcap;
    int streaming;      /* paced stream in progress */
    int openai_usage;   /* "mock_openai_usage": usage only when asked */
    int usage;          /* ... and the stream asked for it */
    int events_left;
    int interval_ms;
    int64_t due_ms;
    int seq;
    struct conn *next_due; /* FIFO of paced streams, ordered by due time */
    int in_queue;
} conn_t;

static conn_t *conns[MAX_CONNS];
static conn_t *due_head, *due_tail;
static int epfd;


static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void out_append(conn_t *c, const char *p, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;

        while (cap < c->outlen + n) {
            cap *= 2;
        }
        c->out = realloc(c->out, cap);
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

static void out_chunk(conn_t *c, const char *p, size_t n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);

    out_append(c, hdr, h);
    out_append(c, p, n);
    out_append(c, "\r\n", 2);
}

static void close_conn(conn_t *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    c->fd = -1;
    free(c->in);
    free(c->out);
    if (!c->in_queue) {
        free(c);
    }
    /* else freed when it reaches the head of the due queue */
}

static int flush_out(conn_t *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);

        if (w < 0) {
            if (errno == EAGAIN) {
                struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
                                          .data.fd = c->fd };
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                return 0;
            }
            return -1;
        }
        c->outoff += w;
    }
    c->outoff = c->outlen = 0;
    return 0;
}

static void event_chunk(conn_t *c, const char *delta_json)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
        "\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,"
        "\"delta\":%s,\"finish_reason\":null}]%s}\n\n", delta_json,
        c->usage ? ",\"usage\":null" : "");

    out_chunk(c, buf, n);
}

static void stream_finish(conn_t *c)
{
    static const char fin[] =
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
        "\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,"
        "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
        "1000,\"completion_tokens\":16,\"total_tokens\":1016}}\n\n";
    static const char fin_plain[] =
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
        "\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,"
        "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    static const char fin_asked[] =
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
        "\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,"
        "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
        "\"created\":1700000000,\"model\":\"mock\",\"choices\":[],\"usage\":"
        "{\"prompt_tokens\":1000,\"completion_tokens\":16,\"total_tokens\":"
        "1016}}\n\n";
    static const char done[] = "data: [DONE]\n\n";

    if (!c->openai_usage) {
        out_chunk(c, fin, sizeof(fin) - 1);
    }
    else if (c->usage) {
        out_chunk(c, fin_asked, sizeof(fin_asked) - 1);
    }
    else {
        out_chunk(c, fin_plain, sizeof(fin_plain) - 1);
    }
    out_chunk(c, done, sizeof(done) - 1);
    out_append(c, "0\r\n\r\n", 5);
}

static void queue_due(conn_t *c)
{
    c->next_due = NULL;
    c->in_queue = 1;
    if (due_tail) {
        due_tail->next_due = c;
    }
    else {
        due_head = c;
    }
    due_tail = c;
}

static const char *find_header(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = head, *end = head + len;

    while (p < end) {
        const char *eol = memmem(p, end - p, "\r\n", 2);

        if (!eol) {
            break;
        }
        if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;

            while (*v == ' ') {
                v++;
            }
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* The number after "key" in a JSON body (quotes around it allowed). */
static const char *body_number(const char *body, size_t blen,
                               const char *key)
{
    const char *p = memmem(body, blen, key, strlen(key));
    const char *end = body + blen;

    if (!p) {
        return NULL;
    }
    p += strlen(key);
    while (p < end && (*p == '"' || *p == ':' || *p == ' ')) {
        p++;
    }
    return p < end && *p >= '0' && *p <= '9' ? p : NULL;
}

/* An Anthropic Messages answer, for requests to .../messages (not paced). */
static void respond_anthropic(conn_t *c, int stream)
{
    static const char json[] =
        "{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"mock\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Benchmark answer from the mock upstream: sixteen tokens or so, "
        "short and fixed.\"}],\"stop_reason\":\"end_turn\","
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":1000,"
        "\"output_tokens\":16}}";
    static const char *const events[] = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\""
        ":{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"mock\",\"content\":[],\"stop_reason\":null,"
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":1000,"
        "\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\","
        "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
        "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
        "\"token \"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
        "\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
        "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":"
        "{\"output_tokens\":16}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    };
    char hdr[256];
    int n, i;

    if (!stream) {
        n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\n\r\n",
                     sizeof(json) - 1);
        out_append(c, hdr, n);
        out_append(c, json, sizeof(json) - 1);
        return;
    }
    n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Type: "
                 "text/event-stream\r\nCache-Control: no-cache\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    out_append(c, hdr, n);
    for (i = 0; i < 6; i++) {
        /* sixteen deltas, like the OpenAI stream */
        int k, times = i == 2 ? 16 : 1;

        for (k = 0; k < times; k++) {
            out_chunk(c, events[i], strlen(events[i]));
        }
    }
    out_append(c, "0\r\n\r\n", 5);
}

static void respond(conn_t *c, const char *head, size_t hlen,
                    const char *body, size_t blen)
{
    int stream = memmem(body, blen, "\"stream\":true", 13) != NULL
                 || memmem(body, blen, "\"stream\": true", 14) != NULL;
    const char *eol = memmem(head, hlen, " HTTP/1.", 8);

    if (eol && eol - head >= 9 && !memcmp(eol - 9, "/messages", 9)) {
        respond_anthropic(c, stream);
        return;
    }
    if (!stream) {
        static const char json_ph[] =
            "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\","
            "\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":"
            "0,\"message\":{\"role\":\"assistant\",\"content\":\"Benchmark "
            "answer to [REDACTED_EMAIL_1] from the mock upstream: short and "
            "fixed.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\""
            ":1000,\"completion_tokens\":16,\"total_tokens\":1016}}";
        static const char json[] =
            "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\","
            "\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":"
            "0,\"message\":{\"role\":\"assistant\",\"content\":\"Benchmark "
            "answer from the mock upstream: sixteen tokens or so, short and "
            "fixed.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\""
            ":1000,\"completion_tokens\":16,\"total_tokens\":1016}}";
        int with_ph = body_number(body, blen, "\"mock_placeholder_every\"")
                      != NULL;
        const char *j = with_ph ? json_ph : json;
        size_t jlen = with_ph ? sizeof(json_ph) - 1 : sizeof(json) - 1;
        char hdr[256];
        int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Type: "
                         "application/json\r\nContent-Length: %zu\r\n\r\n",
                         jlen);

        out_append(c, hdr, n);
        out_append(c, j, jlen);
        return;
    }
    {
        static const char sh[] = "HTTP/1.1 200 OK\r\nContent-Type: "
            "text/event-stream\r\nCache-Control: no-cache\r\n"
            "Transfer-Encoding: chunked\r\n\r\n";
        const char *iv = body_number(body, blen, "\"mock_interval_ms\"");
        const char *ne = body_number(body, blen, "\"mock_events\"");
        int events = ne ? atoi(ne) : 16;
        int i;

        if (!iv) {
            iv = find_header(head, hlen, "x-mock-interval-ms");
        }
        if (!ne) {
            ne = find_header(head, hlen, "x-mock-events");
        }
        out_append(c, sh, sizeof(sh) - 1);
        c->openai_usage = body_number(body, blen, "\"mock_openai_usage\"")
                          != NULL;
        c->usage = c->openai_usage
                   && memmem(body, blen, "\"include_usage\":true", 20);
        event_chunk(c, "{\"role\":\"assistant\",\"content\":\"\"}");
        c->interval_ms = iv ? atoi(iv) : 0;
        if (c->interval_ms <= 0) {
            static const char *const ph[3] = {
                "{\"content\":\" [RED\"}", "{\"content\":\"ACTED_EM\"}",
                "{\"content\":\"AIL_1] \"}" };
            const char *pe = body_number(body, blen,
                                         "\"mock_placeholder_every\"");
            int every = pe ? atoi(pe) : 0;

            for (i = 0; i < events; i++) {
                event_chunk(c, every >= 3 && i % every < 3
                               ? ph[i % every]
                               : "{\"content\":\"token \"}");
            }
            stream_finish(c);
            return;
        }
        /* first content event now, the rest paced */
        event_chunk(c, "{\"content\":\"token \"}");
        c->streaming = 1;
        c->events_left = events - 1;
        c->due_ms = now_ms() + c->interval_ms;
        queue_due(c);
    }
}

/* Parse as many complete requests as the buffer holds. */
static int handle_input(conn_t *c)
{
    while (!c->streaming) {
        char *he = memmem(c->in, c->inlen, "\r\n\r\n", 4);
        size_t hlen, blen = 0, used;
        const char *cl, *te;
        char *body;

        if (!he) {
            return c->inlen >= INBUF_MAX ? -1 : 0;
        }
        hlen = he - c->in + 4;
        cl = find_header(c->in, hlen, "content-length");
        te = find_header(c->in, hlen, "transfer-encoding");
        body = c->in + hlen;
        if (te && !strncasecmp(te, "chunked", 7)) {
            /* decode in place: only complete bodies are handled */
            char *p = body, *w = body, *end = c->in + c->inlen;

            for (;;) {
                char *eol = memmem(p, end - p, "\r\n", 2);
                size_t n;

                if (!eol) {
                    return 0;
                }
                n = strtoul(p, NULL, 16);
                if (n == 0) {
                    if (end - eol < 4) {
                        return 0;
                    }
                    used = (eol + 4) - c->in;
                    break;
                }
                if ((size_t)(end - (eol + 2)) < n + 2) {
                    return 0;
                }
                memmove(w, eol + 2, n);
                w += n;
                p = eol + 2 + n + 2;
            }
            blen = w - body;
        }
        else {
            blen = cl ? strtoul(cl, NULL, 10) : 0;
            if (c->inlen < hlen + blen) {
                if (hlen + blen > INBUF_MAX) {
                    return -1;
                }
                return 0;
            }
            used = hlen + blen;
        }
        respond(c, c->in, hlen, body, blen);
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
        if (flush_out(c) < 0) {
            return -1;
        }
    }
    return 0;
}

static void run_due(void)
{
    int64_t t = now_ms();

    while (due_head && due_head->due_ms <= t) {
        conn_t *c = due_head;

        due_head = c->next_due;
        if (!due_head) {
            due_tail = NULL;
        }
        c->in_queue = 0;
        if (c->fd < 0) {
            free(c);
            continue;
        }
        if (c->events_left > 0) {
            event_chunk(c, "{\"content\":\"token \"}");
            c->events_left--;
        }
        if (c->events_left > 0) {
            c->due_ms += c->interval_ms;
            queue_due(c);
        }
        else {
            stream_finish(c);
            c->streaming = 0;
        }
        if (flush_out(c) < 0) {
            close_conn(c);
            continue;
        }
        if (!c->streaming && c->inlen && handle_input(c) < 0) {
            close_conn(c);
        }
    }
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    struct sockaddr_in sa;
    struct epoll_event ev, evs[512];

    signal(SIGPIPE, SIG_IGN);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 4096)) {
        perror("mock_sse: bind/listen");
        return 1;
    }
    epfd = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.fd = ls;
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
    fprintf(stderr, "mock_sse listening on 127.0.0.1:%d\n", port);

    for (;;) {
        int timeout = -1, n, i;

        if (due_head) {
            int64_t d = due_head->due_ms - now_ms();

            timeout = d > 0 ? (int)d : 0;
        }
        n = epoll_wait(epfd, evs, 512, timeout);
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            conn_t *c;

            if (fd == ls) {
                int cfd;

                while ((cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (cfd >= MAX_CONNS) {
                        close(cfd);
                        continue;
                    }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one,
                               sizeof(one));
                    c = calloc(1, sizeof(*c));
                    c->fd = cfd;
                    c->in = malloc(INBUF_FIRST);
                    c->incap = INBUF_FIRST;
                    conns[cfd] = c;
                    ev.events = EPOLLIN;
                    ev.data.fd = cfd;
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            c = conns[fd];
            if (!c) {
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (flush_out(c) < 0) {
                    close_conn(c);
                    continue;
                }
                if (c->outlen == 0) {
                    ev.events = EPOLLIN;
                    ev.data.fd = fd;
                    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r;

                if (c->inlen == c->incap && c->incap < INBUF_MAX) {
                    c->incap *= 2;
                    c->in = realloc(c->in, c->incap);
                }
                r = read(fd, c->in + c->inlen, c->incap - c->inlen);

                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN) {
                        continue;
                    }
                    close_conn(c);
                    continue;
                }
                c->inlen += r;
                if (handle_input(c) < 0) {
                    close_conn(c);
                }
            }
        }
        run_due();
    }
}
