/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * mod_llm_mock, the local mock provider: NOT a model.  It lets a newcomer
 * try the gateway offline (conf/llm-gateway.d/25-mock-provider.conf loads
 * it and routes "mock-*" models to it through an ordinary balancer), and
 * gives the tests and benchmarks an upstream that costs almost nothing.  It
 * answers in the provider's own wire format, streamed or not, echoing the
 * last user text -- faithfully enough for the official SDKs' stream
 * helpers, which rebuild answers from every event.
 *
 * A module of its own, apart from the gateway's three: it is development
 * and test equipment, not production code.  It is built with them but not
 * installed (so no package ships it), and it knows nothing of them: it is
 * a handler that speaks the providers' protocols, like any upstream.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_base64.h"
#include "apr_strings.h"

#include "llm_gateway.h"       /* LLMNO, the log ids; nothing else */

#define MOCK_HANDLER "llm-mock-provider"
#define MOCK_MAX_BODY (64 * 1024 * 1024)
#define MOCK_NOTE "[local mock provider, not a real model] You said: "

static const char *text_of(json_t *content)
{
    size_t i;

    if (json_is_string(content)) {
        return json_string_value(content);
    }
    for (i = json_array_size(content); i > 0; i--) {
        json_t *part = json_array_get(content, i - 1);
        json_t *t = json_object_get(part, "text");

        if (json_is_string(t)) {
            return json_string_value(t);
        }
    }
    return NULL;
}

static const char *last_user_text(json_t *root)
{
    json_t *msgs = json_object_get(root, "messages");
    const char *t;
    size_t i;

    if (!msgs) {
        msgs = json_object_get(root, "input");
        if (json_is_string(msgs)) {
            return json_string_value(msgs);
        }
    }
    if (!msgs) {
        json_t *prompt = json_object_get(root, "prompt");

        return json_is_string(prompt) ? json_string_value(prompt) : "";
    }
    for (i = json_array_size(msgs); i > 0; i--) {
        json_t *m = json_array_get(msgs, i - 1);

        if (json_is_string(m)) {
            return json_string_value(m);
        }
        if ((t = text_of(json_object_get(m, "content"))) != NULL) {
            return t;
        }
        if ((t = text_of(json_object_get(m, "output"))) != NULL) {
            return t;
        }
    }
    return "";
}

/* The body into one buffer that doubles as it fills: linear in the body's
 * size (a copy per read would be quadratic: 16 MB took a minute). */
static int read_body(request_rec *r, char **buf, apr_size_t *len)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    apr_size_t cap = 0;
    int eos = 0;

    *buf = NULL;
    *len = 0;
    while (!eos) {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);
        apr_bucket *e;

        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, LLMNO(04001)
                          "mock provider: reading the request body failed "
                          "after %" APR_SIZE_T_FMT " bytes", *len);
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
             e = APR_BUCKET_NEXT(e)) {
            const char *d;
            apr_size_t n;

            if (APR_BUCKET_IS_EOS(e)) {
                eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(e)) {
                continue;
            }
            if ((rv = apr_bucket_read(e, &d, &n, APR_BLOCK_READ))
                != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                              LLMNO(04005) "mock provider: reading a bucket "
                              "of the request body failed after %"
                              APR_SIZE_T_FMT " bytes", *len);
                return HTTP_BAD_REQUEST;
            }
            if (n > MOCK_MAX_BODY - *len) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(04002)
                              "mock provider: request body over its %d MB "
                              "limit", MOCK_MAX_BODY / (1024 * 1024));
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (*len + n + 1 > cap) {
                char *nb;

                cap = cap ? cap : 16384;
                while (cap < *len + n + 1) {
                    cap *= 2;
                }
                nb = apr_palloc(r->pool, cap);
                if (*len) {
                    memcpy(nb, *buf, *len);
                }
                *buf = nb;
            }
            memcpy(*buf + *len, d, n);
            *len += n;
        }
        apr_brigade_cleanup(bb);
    }
    return OK;
}

static void send_json(request_rec *r, json_t *obj)
{
    char *dump = json_dumps(obj, JSON_COMPACT);

    json_decref(obj);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, strlen(dump));
    ap_rputs(dump, r);
    free(dump);
}

static void sse(request_rec *r, const char *event, json_t *data)
{
    char *dump = json_dumps(data, JSON_COMPACT);

    json_decref(data);
    if (event) {
        ap_rvputs(r, "event: ", event, "\n", NULL);
    }
    ap_rvputs(r, "data: ", dump, "\n\n", NULL);
    free(dump);
    ap_rflush(r);
}

static void start_stream(request_rec *r)
{
    ap_set_content_type(r, "text/event-stream");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
}

static int tokens(const char *s)
{
    return (int)(strlen(s) / 4) + 1;
}

/* The reply in the pieces a model streams: a word and its spaces each. */
static apr_array_header_t *pieces_of(apr_pool_t *p, const char *reply)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(const char *));
    const char *s = reply, *e;

    while (*s) {
        for (e = s; *e && *e != ' '; e++) {
        }
        while (*e == ' ') {
            e++;
        }
        APR_ARRAY_PUSH(a, const char *) = apr_pstrmemdup(p, s, e - s);
        s = e;
    }
    return a;
}

#define PIECE(a, i) APR_ARRAY_IDX(a, i, const char *)

/* --- OpenAI chat.completions and completions --------------------------- */

static json_t *openai_usage(int in, int out)
{
    return json_pack("{s:i, s:i, s:i}", "prompt_tokens", in,
                     "completion_tokens", out, "total_tokens", in + out);
}

/* A chunk as OpenAI streams it: with stream_options.include_usage every
 * chunk has "usage": null but the last, which has no choices. */
static json_t *chunk(const char *object, const char *model, json_t *choices,
                     int include_usage)
{
    json_t *c = json_pack("{s:s, s:s, s:i, s:s, s:o}", "id",
                          !strcmp(object, "text_completion") ? "cmpl-mock"
                                                             : "chatcmpl-mock",
                          "object", object, "created", 0, "model", model,
                          "choices", choices);

    if (include_usage) {
        json_object_set_new(c, "usage", json_null());
    }
    return c;
}

static void usage_chunk(request_rec *r, const char *object, const char *model,
                        int in, int out)
{
    json_t *c = chunk(object, model, json_array(), 1);

    json_object_set_new(c, "usage", openai_usage(in, out));
    sse(r, NULL, c);
}

static json_t *chat_choice(json_t *delta, const char *finish)
{
    return json_pack("[{s:i, s:o, s:n, s:s?}]", "index", 0, "delta", delta,
                     "logprobs", "finish_reason", finish);
}

static void chat(request_rec *r, const char *model, const char *reply,
                 int in, int stream, int include_usage)
{
    const char *obj = "chat.completion.chunk";
    apr_array_header_t *pieces;
    int out = tokens(reply), i;

    if (!stream) {
        send_json(r, json_pack(
            "{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s, s:s, s:n}, s:n, s:s}],"
            " s:o}",
            "id", "chatcmpl-mock", "object", "chat.completion", "created", 0,
            "model", model, "choices", "index", 0, "message", "role",
            "assistant", "content", reply, "refusal", "logprobs",
            "finish_reason", "stop", "usage", openai_usage(in, out)));
        return;
    }
    start_stream(r);
    sse(r, NULL, chunk(obj, model, chat_choice(json_pack("{s:s, s:s, s:n}",
        "role", "assistant", "content", "", "refusal"), NULL),
        include_usage));
    pieces = pieces_of(r->pool, reply);
    for (i = 0; i < pieces->nelts; i++) {
        sse(r, NULL, chunk(obj, model, chat_choice(json_pack("{s:s}",
            "content", PIECE(pieces, i)), NULL), include_usage));
    }
    sse(r, NULL, chunk(obj, model, chat_choice(json_object(), "stop"),
                       include_usage));
    if (include_usage) {
        usage_chunk(r, obj, model, in, out);
    }
    ap_rputs("data: [DONE]\n\n", r);
}

static void completions(request_rec *r, const char *model, const char *reply,
                        int in, int stream, int include_usage)
{
    const char *obj = "text_completion";
    apr_array_header_t *pieces;
    int out = tokens(reply), i;

    if (!stream) {
        send_json(r, json_pack("{s:s, s:s, s:i, s:s, s:[{s:s, s:i, s:n,"
                               " s:s}], s:o}", "id", "cmpl-mock", "object",
                               obj, "created", 0, "model", model, "choices",
                               "text", reply, "index", 0, "logprobs",
                               "finish_reason", "stop", "usage",
                               openai_usage(in, out)));
        return;
    }
    start_stream(r);
    pieces = pieces_of(r->pool, reply);
    for (i = 0; i < pieces->nelts; i++) {
        sse(r, NULL, chunk(obj, model, json_pack("[{s:s, s:i, s:n, s:s?}]",
            "text", PIECE(pieces, i), "index", 0, "logprobs",
            "finish_reason", i + 1 == pieces->nelts ? "stop" : NULL),
            include_usage));
    }
    if (include_usage) {
        usage_chunk(r, obj, model, in, out);
    }
    ap_rputs("data: [DONE]\n\n", r);
}

/* --- Anthropic messages ------------------------------------------------- */

static void messages(request_rec *r, const char *model, const char *reply,
                     int in, int stream)
{
    int out = tokens(reply);

    if (!stream) {
        send_json(r, json_pack(
            "{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:n,"
            " s:{s:i, s:i}}", "id", "msg_mock", "type", "message", "role",
            "assistant", "model", model, "content", "type", "text", "text",
            reply, "stop_reason", "end_turn", "stop_sequence", "usage",
            "input_tokens", in, "output_tokens", out));
        return;
    }
    start_stream(r);
    sse(r, "message_start", json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:{s:i, s:i}}}",
        "type", "message_start", "message", "id", "msg_mock", "type",
        "message", "role", "assistant", "model", model, "content",
        "stop_reason", "stop_sequence", "usage", "input_tokens", in,
        "output_tokens", 1));
    sse(r, "content_block_start", json_pack(
        "{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_start", "index",
        0, "content_block", "type", "text", "text", ""));
    sse(r, "ping", json_pack("{s:s}", "type", "ping"));
    sse(r, "content_block_delta", json_pack(
        "{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index",
        0, "delta", "type", "text_delta", "text", reply));
    sse(r, "content_block_stop", json_pack(
        "{s:s, s:i}", "type", "content_block_stop", "index", 0));
    sse(r, "message_delta", json_pack(
        "{s:s, s:{s:s, s:n}, s:{s:i}}", "type", "message_delta", "delta",
        "stop_reason", "end_turn", "stop_sequence", "usage",
        "output_tokens", out));
    sse(r, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

/* --- OpenAI Responses --------------------------------------------------- */

static json_t *responses_usage(int in, int out)
{
    return json_pack("{s:i, s:{s:i}, s:i, s:{s:i}, s:i}", "input_tokens", in,
                     "input_tokens_details", "cached_tokens", 0,
                     "output_tokens", out, "output_tokens_details",
                     "reasoning_tokens", 0, "total_tokens", in + out);
}

/* usage stolen; NULL: null (a response still in progress). */
static json_t *response_obj(const char *model, const char *status,
                            json_t *output, json_t *usage)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:n, s:n, s:n, s:s, s:o, s:b,"
                     " s:s, s:[], s:o}",
                     "id", "resp_mock", "object", "response", "created_at", 0,
                     "status", status, "error", "incomplete_details",
                     "instructions", "model", model, "output", output,
                     "parallel_tool_calls", 1, "tool_choice", "auto",
                     "tools", "usage", usage ? usage : json_null());
}

static json_t *text_part(const char *text)
{
    return json_pack("{s:s, s:[], s:[], s:s}", "type", "output_text",
                     "annotations", "logprobs", "text", text);
}

/* text NULL: the item as it opens, without content yet. */
static json_t *message_item(const char *text, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", "msg_mock", "type",
                     "message", "status", status, "role", "assistant",
                     "content", text ? json_pack("[o]", text_part(text))
                                     : json_array());
}

/* One Responses event: its type and sequence number, then its fields. */
static void revent(request_rec *r, int *seq, const char *type, json_t *ev)
{
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "sequence_number", json_integer((*seq)++));
    sse(r, type, ev);
}

static json_t *in_part(void)
{
    return json_pack("{s:s, s:i, s:i}", "item_id", "msg_mock",
                     "output_index", 0, "content_index", 0);
}

/* The sequence the real API sends for one message: created, in_progress,
 * output_item.added, content_part.added, output_text.delta...,
 * output_text.done, content_part.done, output_item.done, completed (the
 * SDK's responses.stream() builds its final response from all of it). */
static void responses(request_rec *r, const char *model, const char *reply,
                      int in, int stream)
{
    apr_array_header_t *pieces;
    json_t *ev;
    int out = tokens(reply), seq = 0, i;

    if (!stream) {
        send_json(r, response_obj(model, "completed",
                                  json_pack("[o]", message_item(reply,
                                                               "completed")),
                                  responses_usage(in, out)));
        return;
    }
    start_stream(r);
    revent(r, &seq, "response.created", json_pack("{s:o}", "response",
           response_obj(model, "in_progress", json_array(), NULL)));
    revent(r, &seq, "response.in_progress", json_pack("{s:o}", "response",
           response_obj(model, "in_progress", json_array(), NULL)));
    revent(r, &seq, "response.output_item.added", json_pack("{s:i, s:o}",
           "output_index", 0, "item", message_item(NULL, "in_progress")));
    ev = in_part();
    json_object_set_new(ev, "part", text_part(""));
    revent(r, &seq, "response.content_part.added", ev);
    pieces = pieces_of(r->pool, reply);
    for (i = 0; i < pieces->nelts; i++) {
        ev = in_part();
        json_object_set_new(ev, "delta", json_string(PIECE(pieces, i)));
        json_object_set_new(ev, "logprobs", json_array());
        revent(r, &seq, "response.output_text.delta", ev);
    }
    ev = in_part();
    json_object_set_new(ev, "text", json_string(reply));
    json_object_set_new(ev, "logprobs", json_array());
    revent(r, &seq, "response.output_text.done", ev);
    ev = in_part();
    json_object_set_new(ev, "part", text_part(reply));
    revent(r, &seq, "response.content_part.done", ev);
    revent(r, &seq, "response.output_item.done", json_pack("{s:i, s:o}",
           "output_index", 0, "item", message_item(reply, "completed")));
    revent(r, &seq, "response.completed", json_pack("{s:o}", "response",
           response_obj(model, "completed",
                        json_pack("[o]", message_item(reply, "completed")),
                        responses_usage(in, out))));
}

/* --- OpenAI embeddings -------------------------------------------------- */

/* One vector per input: a string or a token array is one input, an array
 * of them one each. */
static size_t embedding_inputs(json_t *input, int *tok)
{
    json_t *first;
    size_t i, n;

    *tok = 0;
    if (json_is_string(input)) {
        *tok = tokens(json_string_value(input));
        return 1;
    }
    n = json_array_size(input);
    first = json_array_get(input, 0);
    if (!n || json_is_integer(first)) {
        *tok = (int)n;
        return 1;
    }
    for (i = 0; i < n; i++) {
        json_t *x = json_array_get(input, i);

        *tok += json_is_string(x) ? tokens(json_string_value(x))
                                  : (int)json_array_size(x);
    }
    return n;
}

static json_t *embedding_vector(request_rec *r, size_t index, int base64)
{
    float f[8];
    json_t *vec;
    char *b64;
    int k;

    for (k = 0; k < 8; k++) {
        f[k] = (float)(0.125 * k + 0.0078125 * (double)(index % 64));
    }
    if (!base64) {
        vec = json_array();
        for (k = 0; k < 8; k++) {
            json_array_append_new(vec, json_real(f[k]));
        }
        return vec;
    }
    /* The openai SDK asks for base64 (little-endian float32) by default. */
    b64 = apr_palloc(r->pool, apr_base64_encode_len(sizeof(f)));
    apr_base64_encode(b64, (const char *)f, sizeof(f));
    return json_string(b64);
}

static void embeddings(request_rec *r, const char *model, json_t *root)
{
    const char *fmt = json_string_value(json_object_get(root,
                                                        "encoding_format"));
    int base64 = fmt && !strcmp(fmt, "base64");
    json_t *data = json_array();
    size_t n, i;
    int tok;

    n = embedding_inputs(json_object_get(root, "input"), &tok);
    for (i = 0; i < n; i++) {
        json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object",
                              "embedding", "index", (json_int_t)i,
                              "embedding", embedding_vector(r, i, base64)));
    }
    send_json(r, json_pack("{s:s, s:o, s:s, s:{s:i, s:i}}", "object", "list",
                           "data", data, "model", model, "usage",
                           "prompt_tokens", tok, "total_tokens", tok));
}

/* At most max bytes of s, not splitting a UTF-8 character. */
static const char *utf8_prefix(apr_pool_t *p, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    return apr_pstrmemdup(p, s, n);
}

static int mock_handler(request_rec *r)
{
    const char *path, *model, *text, *reply;
    json_error_t jerr;
    json_t *root;
    char *body;
    apr_size_t len;
    int rc, stream, in, include_usage;

    if (!r->handler || strcmp(r->handler, MOCK_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_POST) {
        r->allowed = AP_METHOD_BIT << M_POST;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((rc = read_body(r, &body, &len)) != OK) {
        return rc;
    }
    root = json_loadb(body ? body : "", len, 0, &jerr);
    if (!root) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(04003)
                      "mock provider: the request body is not a JSON object"
                      " (line %d, column %d: %s)", jerr.line, jerr.column,
                      jerr.text);
        return HTTP_BAD_REQUEST;
    }
    if (!json_is_object(root)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(04006)
                      "mock provider: the request body is JSON but not an "
                      "object");
        json_decref(root);
        return HTTP_BAD_REQUEST;
    }
    path = r->uri;
    model = json_string_value(json_object_get(root, "model"));
    model = apr_pstrdup(r->pool, model ? model : "mock");
    stream = json_is_true(json_object_get(root, "stream"));
    include_usage = json_is_true(json_object_get(
        json_object_get(root, "stream_options"), "include_usage"));
    text = last_user_text(root);
    in = tokens(body ? body : "");
    reply = apr_pstrcat(r->pool, MOCK_NOTE, utf8_prefix(r->pool, text, 200),
                        NULL);

    if (ap_strstr_c(path, "/messages/count_tokens")) {
        send_json(r, json_pack("{s:i}", "input_tokens", in));
    }
    else if (ap_strstr_c(path, "/messages")) {
        messages(r, model, reply, in, stream);
    }
    else if (ap_strstr_c(path, "/chat/completions")) {
        chat(r, model, reply, in, stream, include_usage);
    }
    else if (ap_strstr_c(path, "/responses")) {
        responses(r, model, reply, in, stream);
    }
    else if (ap_strstr_c(path, "/embeddings")) {
        embeddings(r, model, root);
    }
    else if (ap_strstr_c(path, "/completions")) {
        completions(r, model, reply, in, stream, include_usage);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMNO(04004)
                      "mock provider: no provider endpoint at %s (it "
                      "answers .../chat/completions, /completions, "
                      "/responses, /embeddings, /messages and "
                      "/messages/count_tokens)", path);
        json_decref(root);
        return HTTP_NOT_FOUND;
    }
    json_decref(root);
    return OK;
}

static void mock_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(mock_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/* No directives: the sample's <Location /__mock-provider> with
 * "SetHandler llm-mock-provider" is all it needs. */
AP_DECLARE_MODULE(llm_mock) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    mock_register_hooks
};
