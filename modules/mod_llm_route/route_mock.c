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
 * The local mock provider: NOT a model.  It lets a newcomer try the gateway
 * offline (conf/llm-gateway.d/25-mock-provider.conf routes "mock-*" models
 * to it through an ordinary balancer), and gives benchmarks an upstream
 * that costs almost nothing.  It answers in the provider's own wire format,
 * streamed or not, echoing the last user text.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "httpd.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "route_internal.h"

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

static int read_body(request_rec *r, char **buf, apr_size_t *len)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    apr_off_t total = 0;
    int eos = 0;

    *buf = NULL;
    *len = 0;
    while (!eos) {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);
        apr_bucket *e;

        if (rv != APR_SUCCESS) {
            return HTTP_BAD_REQUEST;
        }
        for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
             e = APR_BUCKET_NEXT(e)) {
            if (APR_BUCKET_IS_EOS(e)) {
                eos = 1;
            }
        }
        apr_brigade_length(bb, 1, &total);
        if (total > MOCK_MAX_BODY) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (total > 0) {
            apr_size_t n = (apr_size_t)total;
            char *nb = apr_palloc(r->pool, *len + n + 1);

            if (*len) {
                memcpy(nb, *buf, *len);
            }
            apr_brigade_flatten(bb, nb + *len, &n);
            *buf = nb;
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

static void chat(request_rec *r, const char *model, const char *reply,
                 int in, int stream)
{
    int out = tokens(reply);

    if (!stream) {
        send_json(r, json_pack(
            "{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s, s:s}, s:s}],"
            " s:{s:i, s:i, s:i}}",
            "id", "chatcmpl-mock", "object", "chat.completion", "created", 0,
            "model", model, "choices", "index", 0, "message", "role",
            "assistant", "content", reply, "finish_reason", "stop", "usage",
            "prompt_tokens", in, "completion_tokens", out, "total_tokens",
            in + out));
        return;
    }
    start_stream(r);
    sse(r, NULL, json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s, s:s},"
                           " s:n}]}", "id", "chatcmpl-mock", "object",
                           "chat.completion.chunk", "created", 0, "model",
                           model, "choices", "index", 0, "delta", "role",
                           "assistant", "content", "", "finish_reason"));
    sse(r, NULL, json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s}, s:n}]}",
                           "id", "chatcmpl-mock", "object",
                           "chat.completion.chunk", "created", 0, "model",
                           model, "choices", "index", 0, "delta", "content",
                           reply, "finish_reason"));
    sse(r, NULL, json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{}, s:s}],"
                           " s:{s:i, s:i, s:i}}", "id", "chatcmpl-mock",
                           "object", "chat.completion.chunk", "created", 0,
                           "model", model, "choices", "index", 0, "delta",
                           "finish_reason", "stop", "usage", "prompt_tokens",
                           in, "completion_tokens", out, "total_tokens",
                           in + out));
    ap_rputs("data: [DONE]\n\n", r);
}

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

static json_t *response_obj(const char *model, const char *status,
                            json_t *output, int in, int out)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:o, s:{s:i, s:i, s:i}}",
                     "id", "resp_mock", "object", "response", "created_at", 0,
                     "status", status, "model", model, "output", output,
                     "usage", "input_tokens", in, "output_tokens", out,
                     "total_tokens", in + out);
}

static json_t *message_item(const char *reply, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:[]}]}",
                     "id", "msg_mock", "type", "message", "status", status,
                     "role", "assistant", "content", "type", "output_text",
                     "text", reply, "annotations");
}

static void responses(request_rec *r, const char *model, const char *reply,
                      int in, int stream)
{
    int out = tokens(reply);

    if (!stream) {
        send_json(r, response_obj(model, "completed",
                                  json_pack("[o]", message_item(reply,
                                                               "completed")),
                                  in, out));
        return;
    }
    start_stream(r);
    sse(r, "response.created", json_pack("{s:s, s:i, s:o}", "type",
        "response.created", "sequence_number", 0, "response",
        response_obj(model, "in_progress", json_array(), 0, 0)));
    sse(r, "response.output_item.added", json_pack(
        "{s:s, s:i, s:i, s:{s:s, s:s, s:s, s:s, s:[]}}", "type",
        "response.output_item.added", "sequence_number", 1, "output_index", 0,
        "item", "id", "msg_mock", "type", "message", "status", "in_progress",
        "role", "assistant", "content"));
    sse(r, "response.output_text.delta", json_pack(
        "{s:s, s:i, s:s, s:i, s:i, s:s}", "type",
        "response.output_text.delta", "sequence_number", 2, "item_id",
        "msg_mock", "output_index", 0, "content_index", 0, "delta", reply));
    sse(r, "response.output_item.done", json_pack(
        "{s:s, s:i, s:i, s:o}", "type", "response.output_item.done",
        "sequence_number", 3, "output_index", 0, "item",
        message_item(reply, "completed")));
    sse(r, "response.completed", json_pack("{s:s, s:i, s:o}", "type",
        "response.completed", "sequence_number", 4, "response",
        response_obj(model, "completed",
                     json_pack("[o]", message_item(reply, "completed")),
                     in, out)));
}

static void embeddings(request_rec *r, const char *model, int in)
{
    json_t *vec = json_array();
    int i;

    for (i = 0; i < 8; i++) {
        json_array_append_new(vec, json_real(0.125 * i));
    }
    send_json(r, json_pack("{s:s, s:[{s:s, s:i, s:o}], s:s, s:{s:i, s:i}}",
                           "object", "list", "data", "object", "embedding",
                           "index", 0, "embedding", vec, "model", model,
                           "usage", "prompt_tokens", in, "total_tokens", in));
}

int llm_route_mock_handler(request_rec *r)
{
    const char *path, *model, *text, *reply;
    json_error_t jerr;
    json_t *root;
    char *body;
    apr_size_t len;
    int rc, stream, in;

    if (!r->handler || strcmp(r->handler, LLM_MOCK_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_POST) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((rc = read_body(r, &body, &len)) != OK) {
        return rc;
    }
    root = json_loadb(body ? body : "", len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return HTTP_BAD_REQUEST;
    }
    path = r->uri;
    model = json_string_value(json_object_get(root, "model"));
    model = apr_pstrdup(r->pool, model ? model : "mock");
    stream = json_is_true(json_object_get(root, "stream"));
    text = last_user_text(root);
    in = tokens(body ? body : "");
    reply = apr_pstrcat(r->pool, MOCK_NOTE,
                        apr_pstrmemdup(r->pool, text,
                                       strlen(text) > 200 ? 200
                                                          : strlen(text)),
                        NULL);
    json_decref(root);

    if (ap_strstr_c(path, "/messages/count_tokens")) {
        send_json(r, json_pack("{s:i}", "input_tokens", in));
    }
    else if (ap_strstr_c(path, "/messages")) {
        messages(r, model, reply, in, stream);
    }
    else if (ap_strstr_c(path, "/chat/completions")) {
        chat(r, model, reply, in, stream);
    }
    else if (ap_strstr_c(path, "/responses")) {
        responses(r, model, reply, in, stream);
    }
    else if (ap_strstr_c(path, "/embeddings")) {
        embeddings(r, model, in);
    }
    else if (ap_strstr_c(path, "/completions")) {
        send_json(r, json_pack("{s:s, s:s, s:i, s:s, s:[{s:s, s:i, s:s}],"
                               " s:{s:i, s:i, s:i}}", "id", "cmpl-mock",
                               "object", "text_completion", "created", 0,
                               "model", model, "choices", "text", reply,
                               "index", 0, "finish_reason", "stop", "usage",
                               "prompt_tokens", in, "completion_tokens",
                               tokens(reply), "total_tokens",
                               in + tokens(reply)));
    }
    else {
        return HTTP_NOT_FOUND;
    }
    return OK;
}
