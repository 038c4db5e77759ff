/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Which gateway endpoint a request is for, and the few top-level fields
 * every part of the gateway asks about (model, stream).
 */

#include <string.h>

#include "llm_dialect.h"

typedef struct {
    const char *method;
    const char *subpath;
    llm_endpoint_e ep;
    llm_family_e family;
    const char *name;
} endpoint_def_t;

static const endpoint_def_t endpoints[] = {
    { "POST", "/chat/completions", LLM_EP_OPENAI_CHAT, LLM_FAMILY_OPENAI,
      "chat.completions" },
    { "POST", "/responses", LLM_EP_OPENAI_RESPONSES, LLM_FAMILY_OPENAI,
      "responses" },
    { "POST", "/embeddings", LLM_EP_OPENAI_EMBEDDINGS, LLM_FAMILY_OPENAI,
      "embeddings" },
    { "POST", "/completions", LLM_EP_OPENAI_COMPLETIONS, LLM_FAMILY_OPENAI,
      "completions" },
    { "POST", "/messages", LLM_EP_ANTHROPIC_MESSAGES, LLM_FAMILY_ANTHROPIC,
      "messages" },
    { "POST", "/messages/count_tokens", LLM_EP_ANTHROPIC_COUNT_TOKENS,
      LLM_FAMILY_ANTHROPIC, "messages.count_tokens" },
    /* The model list is answered in the caller's dialect, which the path
     * alone does not tell: OpenAI is the family of record. */
    { "GET", "/models", LLM_EP_MODELS, LLM_FAMILY_OPENAI, "models" },
    { "HEAD", "/models", LLM_EP_MODELS, LLM_FAMILY_OPENAI, "models" },
};

#define N_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

llm_endpoint_e llm_dialect_endpoint(const char *method, const char *subpath)
{
    size_t i, len;

    if (!method || !subpath) {
        return LLM_EP_NONE;
    }
    len = strlen(subpath);
    /* One trailing slash is what a base URL joined by hand often leaves. */
    if (len > 1 && subpath[len - 1] == '/') {
        len--;
    }
    for (i = 0; i < N_ENDPOINTS; i++) {
        if (strlen(endpoints[i].subpath) == len
            && !strncmp(endpoints[i].subpath, subpath, len)
            && !strcmp(endpoints[i].method, method)) {
            return endpoints[i].ep;
        }
    }
    return LLM_EP_NONE;
}

static const endpoint_def_t *endpoint_def(llm_endpoint_e ep)
{
    size_t i;

    for (i = 0; i < N_ENDPOINTS; i++) {
        if (endpoints[i].ep == ep) {
            return &endpoints[i];
        }
    }
    return NULL;
}

llm_family_e llm_dialect_family(llm_endpoint_e ep)
{
    const endpoint_def_t *d = endpoint_def(ep);

    return d ? d->family : LLM_FAMILY_NONE;
}

const char *llm_dialect_endpoint_name(llm_endpoint_e ep)
{
    const endpoint_def_t *d = endpoint_def(ep);

    return d ? d->name : "none";
}

const char *llm_dialect_model(json_t *root)
{
    json_t *m = json_is_object(root) ? json_object_get(root, "model") : NULL;

    return json_is_string(m) ? json_string_value(m) : NULL;
}

int llm_dialect_is_stream(json_t *root)
{
    json_t *s = json_is_object(root) ? json_object_get(root, "stream") : NULL;

    return json_is_true(s);
}
