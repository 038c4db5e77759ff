/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * An incremental server-sent events parser (the WHATWG event stream
 * format): lines end in \r\n, \n or \r, "field: value" lines build an
 * event, a blank line dispatches it, lines starting with ':' are
 * comments.  Bytes arrive in arbitrary pieces; a partial line is carried
 * over, up to a cap.
 */

#include <string.h>

#include "llm_sse.h"
#include "dialect_private.h"

struct llm_sse_parser_t {
    llm_dbuf_t line;         /* a line split across feeds */
    llm_dbuf_t data;
    llm_dbuf_t event;
    llm_dbuf_t id;
    int has_event;
    int has_id;
    int skip_lf;             /* the last feed ended in \r */
    int first_line;          /* a UTF-8 BOM may start the stream */
    int spent;
    /* Offsets in the piece being fed, for relaying whole events: just
     * past the line being processed, and just past the piece's last
     * blank line (0: none yet). */
    size_t line_end;
    size_t boundary;
};

llm_sse_parser_t *llm_sse_parser_create(apr_pool_t *p, size_t max_event)
{
    llm_sse_parser_t *ps = apr_pcalloc(p, sizeof(*ps));

    if (max_event == 0) {
        max_event = LLM_SSE_DEFAULT_MAX_EVENT;
    }
    llm_dbuf_init(&ps->line, p, max_event);
    llm_dbuf_init(&ps->data, p, max_event);
    llm_dbuf_init(&ps->event, p, 256);
    llm_dbuf_init(&ps->id, p, 256);
    ps->first_line = 1;
    return ps;
}

static int dispatch(llm_sse_parser_t *ps, llm_sse_event_cb cb, void *baton)
{
    llm_sse_event_t ev;
    int rv = 0;

    if (ps->data.len > 0) {
        /* the \n after the last data line is not part of the data */
        ps->data.len--;
        ps->data.data[ps->data.len] = '\0';
        ev.event = ps->has_event ? ps->event.data : NULL;
        ev.data = ps->data.data;
        ev.data_len = ps->data.len;
        ev.id = ps->has_id ? ps->id.data : NULL;
        rv = cb ? cb(baton, &ev) : 0;
    }
    ps->data.len = 0;
    ps->event.len = 0;
    ps->id.len = 0;
    ps->has_event = 0;
    ps->has_id = 0;
    return rv;
}

static int process_line(llm_sse_parser_t *ps, const char *l, size_t n,
                        llm_sse_event_cb cb, void *baton)
{
    const char *colon, *value;
    size_t flen, vlen;

    if (ps->first_line) {
        ps->first_line = 0;
        if (n >= 3 && !memcmp(l, "\xEF\xBB\xBF", 3)) {
            l += 3;
            n -= 3;
        }
    }
    if (n == 0) {
        int rv = dispatch(ps, cb, baton);

        ps->boundary = ps->line_end;
        return rv;
    }
    if (l[0] == ':') {
        return 0;
    }
    colon = memchr(l, ':', n);
    if (colon) {
        flen = (size_t)(colon - l);
        value = colon + 1;
        vlen = n - flen - 1;
        if (vlen && *value == ' ') {
            value++;
            vlen--;
        }
    }
    else {
        flen = n;
        value = "";
        vlen = 0;
    }
    if (flen == 4 && !memcmp(l, "data", 4)) {
        if (llm_dbuf_append(&ps->data, value, vlen) != 0
            || llm_dbuf_append(&ps->data, "\n", 1) != 0) {
            return -1;
        }
    }
    else if (flen == 5 && !memcmp(l, "event", 5)) {
        ps->event.len = 0;
        if (llm_dbuf_append(&ps->event, value, vlen) != 0) {
            return -1;
        }
        ps->has_event = 1;
    }
    else if (flen == 2 && !memcmp(l, "id", 2)) {
        ps->id.len = 0;
        if (llm_dbuf_append(&ps->id, value, vlen) != 0) {
            return -1;
        }
        ps->has_id = 1;
    }
    /* "retry" and unknown fields are ignored, as the format says. */
    return 0;
}

/* Where the line starting at pos ends (its \n or \r), len if it does not
 * end in buf.  memchr rather than a byte loop: this runs over every byte
 * of every stream the gateway relays. */
static size_t find_eol(const char *buf, size_t pos, size_t len)
{
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t lim = nl ? (size_t)(nl - buf) : len;
    const char *cr = memchr(buf + pos, '\r', lim - pos);

    return cr ? (size_t)(cr - buf) : lim;
}

int llm_sse_parser_feed(llm_sse_parser_t *ps, const char *buf, size_t len,
                        llm_sse_event_cb cb, void *baton)
{
    size_t pos = 0, i, eol;
    int rv;

    ps->boundary = 0;
    if (ps->spent) {
        return -1;
    }
    if (len && ps->skip_lf) {
        ps->skip_lf = 0;
        if (buf[0] == '\n') {
            pos = 1;
        }
    }
    while (pos < len) {
        i = find_eol(buf, pos, len);
        if (i == len) {
            if (llm_dbuf_append(&ps->line, buf + pos, len - pos) != 0) {
                ps->spent = 1;
                return -1;
            }
            break;
        }
        eol = i;
        if (buf[i] == '\r') {
            if (i + 1 < len) {
                if (buf[i + 1] == '\n') {
                    i++;
                }
            }
            else {
                ps->skip_lf = 1;
            }
        }
        ps->line_end = i + 1;
        if (ps->line.len) {
            if (llm_dbuf_append(&ps->line, buf + pos, eol - pos) != 0) {
                ps->spent = 1;
                return -1;
            }
            rv = process_line(ps, ps->line.data, ps->line.len, cb, baton);
            ps->line.len = 0;
        }
        else {
            rv = process_line(ps, buf + pos, eol - pos, cb, baton);
        }
        pos = i + 1;
        if (rv < 0) {
            ps->spent = 1;
            return -1;
        }
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

size_t llm_sse_parser_line_end(const llm_sse_parser_t *ps)
{
    return ps->line_end;
}

size_t llm_sse_parser_boundary(const llm_sse_parser_t *ps)
{
    return ps->boundary;
}

int llm_sse_parser_finish(llm_sse_parser_t *ps, llm_sse_event_cb cb,
                          void *baton)
{
    int rv = 0;

    if (ps->spent) {
        return -1;
    }
    if (ps->line.len) {
        rv = process_line(ps, ps->line.data, ps->line.len, cb, baton);
        ps->line.len = 0;
    }
    if (rv == 0) {
        rv = dispatch(ps, cb, baton);
    }
    return rv;
}
