/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Plain types shared by the httpd-free engines (lib/) and the modules.
 * No httpd or APR types here: the command-line tools and fuzzers use it.
 */

#ifndef LLM_TYPES_H
#define LLM_TYPES_H

/* The gateway endpoints (docs/architecture.md, Contracts). */
typedef enum {
    LLM_EP_NONE = 0,
    LLM_EP_OPENAI_CHAT,          /* POST /v1/chat/completions */
    LLM_EP_OPENAI_RESPONSES,     /* POST /v1/responses */
    LLM_EP_OPENAI_EMBEDDINGS,    /* POST /v1/embeddings */
    LLM_EP_OPENAI_COMPLETIONS,   /* POST /v1/completions */
    LLM_EP_ANTHROPIC_MESSAGES,   /* POST /v1/messages */
    LLM_EP_ANTHROPIC_COUNT_TOKENS, /* POST /v1/messages/count_tokens */
    LLM_EP_MODELS                /* GET /v1/models */
} llm_endpoint_e;

/* API families: what a caller speaks and what a provider speaks. */
typedef enum {
    LLM_FAMILY_NONE = 0,
    LLM_FAMILY_OPENAI,
    LLM_FAMILY_ANTHROPIC
} llm_family_e;

/* What kind of rule produced a finding; selects the default action and
 * the error type (content rules answer policy_violation). */
typedef enum {
    LLM_CAT_SECRET = 0,
    LLM_CAT_PII,
    LLM_CAT_CONTENT
} llm_category_e;

/* What the policy does with a finding. */
typedef enum {
    LLM_ACTION_UNSET = 0,
    LLM_ACTION_LOG,
    LLM_ACTION_REDACT,
    LLM_ACTION_BLOCK
} llm_action_e;

#endif /* LLM_TYPES_H */
