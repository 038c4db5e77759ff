/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Which translation a caller's endpoint needs for a provider's family:
 * one place for the glue to ask, so that the modules never pick the
 * direction themselves.
 */

#include "llm_translate.h"
#include "dialect_private.h"

llm_endpoint_e llm_translate_target_endpoint(llm_endpoint_e caller,
                                             llm_family_e provider)
{
    switch (caller) {
    case LLM_EP_OPENAI_CHAT:
    case LLM_EP_OPENAI_RESPONSES:
        return provider == LLM_FAMILY_ANTHROPIC ? LLM_EP_ANTHROPIC_MESSAGES
                                                : caller;
    case LLM_EP_ANTHROPIC_MESSAGES:
        return provider == LLM_FAMILY_OPENAI ? LLM_EP_OPENAI_CHAT : caller;
    case LLM_EP_OPENAI_EMBEDDINGS:
    case LLM_EP_OPENAI_COMPLETIONS:
        return provider == LLM_FAMILY_ANTHROPIC ? LLM_EP_NONE : caller;
    case LLM_EP_ANTHROPIC_COUNT_TOKENS:
        return provider == LLM_FAMILY_OPENAI ? LLM_EP_NONE : caller;
    default:
        return caller;
    }
}

json_t *llm_translate_request_for(apr_pool_t *p, llm_endpoint_e caller,
                                  llm_family_e provider, json_t *body,
                                  const llm_translate_opts_t *opts,
                                  const char **err)
{
    llm_endpoint_e target = llm_translate_target_endpoint(caller, provider);
    const char *dummy;

    if (!err) {
        err = &dummy;
    }
    *err = NULL;
    if (target == caller) {
        return body;
    }
    switch (target) {
    case LLM_EP_ANTHROPIC_MESSAGES:
        return caller == LLM_EP_OPENAI_RESPONSES
               ? llm_translate_responses_to_anthropic(p, body, opts, err)
               : llm_translate_chat_to_anthropic(p, body, opts, err);
    case LLM_EP_OPENAI_CHAT:
        return llm_translate_anthropic_to_chat(p, body, opts, err);
    default:
        *err = provider == LLM_FAMILY_ANTHROPIC
               ? "this endpoint has no equivalent for Anthropic models"
               : "this endpoint has no equivalent for OpenAI models";
        return NULL;
    }
}

json_t *llm_translate_response_for(apr_pool_t *p, llm_endpoint_e caller,
                                   llm_family_e provider, json_t *body)
{
    llm_endpoint_e target = llm_translate_target_endpoint(caller, provider);

    if (target == caller) {
        return body;
    }
    switch (caller) {
    case LLM_EP_OPENAI_CHAT:
        return llm_translate_anthropic_response_to_chat(p, body);
    case LLM_EP_OPENAI_RESPONSES:
        return llm_translate_anthropic_response_to_responses(p, body);
    case LLM_EP_ANTHROPIC_MESSAGES:
        return llm_translate_chat_response_to_anthropic(p, body);
    default:
        return NULL;
    }
}
