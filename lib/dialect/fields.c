/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * What the dialects' own fields may hold, for the scan walker (units.c).
 *
 * No field goes upstream unchecked.  An enum value the dialects define
 * ("user", "tool_result", "ephemeral") is a fixed word and needs no scan;
 * any other value of an enum field is scanned as text, so that a new
 * provider value still passes and a secret in "role" is still found.  Ids
 * must fit an id syntax (else 400) and are scanned as well: a key id such
 * as AKIA... fits any id syntax.  Opaque provider blobs (thinking
 * signatures, encrypted reasoning) must be base64 and are scanned too
 * (random base64 holds no finding: 64 MB of it gave none).  Field names
 * of the dialects' objects are not text; any other key is scanned.
 */

#include <string.h>

#include "dialect_private.h"

/* A word list, one string with the words between '|' ("|a|bc|"), the
 * commonest first. */
static int in_list(const char *list, const char *v, size_t n)
{
    const char *s = list + 1;

    if (n == 0 || memchr(v, '|', n)) {
        return 0;
    }
    while (*s) {
        if (s[0] == v[0] && !strncmp(s, v, n) && s[n] == '|') {
            return 1;
        }
        s = strchr(s, '|') + 1;
    }
    return 0;
}

typedef struct {
    const char *name;
    llm_field_kind_e kind;
    const char *values;      /* enums: the known values */
} field_t;

/* Sorted by name (bsearch). */
static const field_t fields[] = {
    { "call_id", LLM_FIELD_ID, NULL },
    { "detail", LLM_FIELD_ENUM, "|auto|low|high|" },
    { "encoding_format", LLM_FIELD_ENUM, "|float|base64|" },
    { "encrypted_content", LLM_FIELD_BLOB, NULL },
    { "finish_reason", LLM_FIELD_ENUM,
      "|stop|length|tool_calls|content_filter|function_call|" },
    { "id", LLM_FIELD_ID, NULL },
    { "media_type", LLM_FIELD_ENUM,
      "|image/jpeg|image/png|image/gif|image/webp|application/pdf|"
      "text/plain|" },
    { "model", LLM_FIELD_MODEL, NULL },
    { "object", LLM_FIELD_ENUM,
      "|chat.completion|chat.completion.chunk|response|list|"
      "text_completion|embedding|" },
    { "previous_response_id", LLM_FIELD_ID, NULL },
    { "reasoning_effort", LLM_FIELD_ENUM,
      "|none|minimal|low|medium|high|xhigh|" },
    { "role", LLM_FIELD_ENUM,
      "|system|user|assistant|tool|function|developer|" },
    { "service_tier", LLM_FIELD_ENUM,
      "|auto|default|flex|scale|priority|standard_only|" },
    { "signature", LLM_FIELD_BLOB, NULL },
    { "status", LLM_FIELD_ENUM,
      "|completed|in_progress|incomplete|failed|searching|queued|"
      "cancelled|" },
    { "stop_reason", LLM_FIELD_ENUM,
      "|end_turn|max_tokens|stop_sequence|tool_use|pause_turn|refusal|"
      "model_context_window_exceeded|" },
    { "tool_call_id", LLM_FIELD_ID, NULL },
    { "tool_choice", LLM_FIELD_ENUM, "|auto|none|required|any|" },
    { "tool_use_id", LLM_FIELD_ID, NULL },
    { "truncation", LLM_FIELD_ENUM, "|auto|disabled|" },
    { "ttl", LLM_FIELD_ENUM, "|5m|1h|" },
    /* block, part, item, tool and setting types of both dialects; an
     * Anthropic versioned type (web_search_20250305) is its base name
     * with a date */
    { "type", LLM_FIELD_ENUM,
      "|text|tool_use|tool_result|function|function_call|"
      "function_call_output|message|input_text|output_text|ephemeral|"
      "thinking|reasoning|image|image_url|document|file|"
      "input_image|input_file|input_audio|audio|refusal|summary_text|"
      "reasoning_text|custom|custom_tool_call|"
      "custom_tool_call_output|server_tool_use|"
      "web_search_tool_result|web_fetch_tool_result|"
      "code_execution_tool_result|mcp_tool_use|mcp_tool_result|"
      "search_result|container_upload|redacted_thinking|"
      "base64|url|content|char_location|page_location|"
      "content_block_location|web_search_result_location|"
      "search_result_location|url_citation|file_citation|json_schema|"
      "json_object|auto|any|tool|none|required|allowed_tools|enabled|"
      "disabled|adaptive|approximate|web_search|"
      "web_search_preview|web_fetch|file_search|code_interpreter|"
      "code_execution|computer|computer_use_preview|computer_call|"
      "computer_call_output|local_shell|local_shell_call|"
      "local_shell_call_output|shell|shell_call|shell_call_output|"
      "apply_patch|apply_patch_call|apply_patch_call_output|mcp|"
      "mcp_call|mcp_list_tools|mcp_approval_request|"
      "mcp_approval_response|image_generation|image_generation_call|"
      "web_search_call|file_search_call|item_reference|namespace|bash|"
      "text_editor|memory|clear_thinking|clear_tool_uses|"
      "input_tokens|tool_uses|thinking_turns|tool_search_tool_regex|"
      "tool_search_tool_bm25|tool_reference|" },
};

/* Equal to the literal lit, k having lit's length: the compiler makes
 * each a compare of one or two words. */
#define EQ(k, lit) (!memcmp((k), (lit), sizeof(lit) - 1))

/* The entry of fields[] named k (n bytes), by length and then by the
 * names of that length: the walker looks up every member of the
 * dialects' objects, and a bsearch of strcmp calls was a fifth of the
 * walk of an agent's request. */
static const field_t *field_of(const char *k, size_t n)
{
    switch (n) {
    case 2:
        return EQ(k, "id") ? &fields[5] : NULL;
    case 3:
        return EQ(k, "ttl") ? &fields[20] : NULL;
    case 4:
        return EQ(k, "type") ? &fields[21]
               : EQ(k, "role") ? &fields[11] : NULL;
    case 5:
        return EQ(k, "model") ? &fields[7] : NULL;
    case 6:
        return EQ(k, "detail") ? &fields[1]
               : EQ(k, "object") ? &fields[8]
               : EQ(k, "status") ? &fields[14] : NULL;
    case 7:
        return EQ(k, "call_id") ? &fields[0] : NULL;
    case 9:
        return EQ(k, "signature") ? &fields[13] : NULL;
    case 10:
        return EQ(k, "media_type") ? &fields[6]
               : EQ(k, "truncation") ? &fields[19] : NULL;
    case 11:
        return EQ(k, "stop_reason") ? &fields[15]
               : EQ(k, "tool_choice") ? &fields[17]
               : EQ(k, "tool_use_id") ? &fields[18] : NULL;
    case 12:
        return EQ(k, "service_tier") ? &fields[12]
               : EQ(k, "tool_call_id") ? &fields[16] : NULL;
    case 13:
        return EQ(k, "finish_reason") ? &fields[4] : NULL;
    case 15:
        return EQ(k, "encoding_format") ? &fields[2] : NULL;
    case 16:
        return EQ(k, "reasoning_effort") ? &fields[10] : NULL;
    case 17:
        return EQ(k, "encrypted_content") ? &fields[3] : NULL;
    case 20:
        return EQ(k, "previous_response_id") ? &fields[9] : NULL;
    default:
        return NULL;
    }
}

llm_field_kind_e llm_dialect_field_kind(const char *key, size_t key_len)
{
    const field_t *f = field_of(key, key_len);

    return f ? f->kind : LLM_FIELD_TEXT;
}

/* "web_search_20250305": a listed name and an 8-digit date */
static int versioned(const char *list, const char *v, size_t n)
{
    size_t k;

    if (n < 10 || v[n - 9] != '_') {
        return 0;
    }
    for (k = n - 8; k < n; k++) {
        if (v[k] < '0' || v[k] > '9') {
            return 0;
        }
    }
    return in_list(list, v, n - 9);
}

int llm_dialect_enum_known(const char *key, size_t key_len, const char *v,
                           size_t n)
{
    const field_t *f = field_of(key, key_len);

    if (!f || f->kind != LLM_FIELD_ENUM) {
        return 0;
    }
    return in_list(f->values, v, n)
           || (f == &fields[21] && versioned(f->values, v, n));
}

/* The bytes of an id (letters, digits, _-.:+/=), looked up: ids of tool
 * calls and results run to a few hundred in an agent's request. */
static const unsigned char id_byte[256] = {
    ['_'] = 1, ['-'] = 1, ['.'] = 1, [':'] = 1, ['+'] = 1, ['/'] = 1,
    ['='] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

/* Ids the providers and the clients make: toolu_01..., call_..., msg_...,
 * resp_..., rs_..., fc_..., UUIDs, "functions.run:0", ids with a base64
 * suffix.  One token, no blanks, no quotes, bounded; empty carries
 * nothing. */
int llm_dialect_id_ok(const char *v, size_t n)
{
    size_t k;

    if (n > LLM_DIALECT_ID_MAX) {
        return 0;
    }
    for (k = 0; k < n; k++) {
        if (!id_byte[(unsigned char)v[k]]) {
            return 0;
        }
    }
    return 1;
}

/* base64 or base64url, '=' only as padding at the end; empty is allowed
 * (clients send thinking blocks with an empty signature). */
int llm_dialect_blob_ok(const char *v, size_t n)
{
    size_t k, pad = 0;
    unsigned char c;

    for (k = 0; k < n; k++) {
        c = (unsigned char)v[k];
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '+' || c == '/'
                     || c == '-' || c == '_')) {
            return 0;
        }
    }
    return pad <= 2;
}

/* The member names of the dialects' own objects (messages, parts, tool
 * definitions and calls, settings), by length.  A key not here, inside
 * one of those objects, is scanned as text.  Sorted within each length;
 * test_names.c's list must stay the same as this one. */
int llm_dialect_name_known(const char *k, size_t n)
{
    switch (n) {
    case 2:
        return EQ(k, "id");
    case 3:
        return EQ(k, "ttl") || EQ(k, "url");
    case 4:
        return EQ(k, "city") || EQ(k, "data") || EQ(k, "file") ||
               EQ(k, "keep") || EQ(k, "name") || EQ(k, "role") ||
               EQ(k, "text") || EQ(k, "type");
    case 5:
        return EQ(k, "audio") || EQ(k, "edits") || EQ(k, "input") ||
               EQ(k, "model") || EQ(k, "phase") || EQ(k, "title") ||
               EQ(k, "value");
    case 6:
        return EQ(k, "detail") || EQ(k, "effort") || EQ(k, "format") ||
               EQ(k, "output") || EQ(k, "region") || EQ(k, "schema") ||
               EQ(k, "source") || EQ(k, "status") || EQ(k, "strict");
    case 7:
        return EQ(k, "call_id") || EQ(k, "content") || EQ(k, "context") ||
               EQ(k, "country") || EQ(k, "file_id") || EQ(k, "refusal") ||
               EQ(k, "summary") || EQ(k, "trigger");
    case 8:
        return EQ(k, "file_url") || EQ(k, "filename") || EQ(k, "function") ||
               EQ(k, "is_error") || EQ(k, "logprobs") || EQ(k, "max_uses") ||
               EQ(k, "thinking") || EQ(k, "timezone");
    case 9:
        return EQ(k, "arguments") || EQ(k, "citations") ||
               EQ(k, "file_data") || EQ(k, "image_url") ||
               EQ(k, "signature") || EQ(k, "verbosity");
    case 10:
        return EQ(k, "media_type") || EQ(k, "parameters") ||
               EQ(k, "tool_calls");
    case 11:
        return EQ(k, "annotations") || EQ(k, "description") ||
               EQ(k, "input_audio") || EQ(k, "json_schema") ||
               EQ(k, "tool_use_id");
    case 12:
        return EQ(k, "input_schema") || EQ(k, "tool_call_id");
    case 13:
        return EQ(k, "budget_tokens") || EQ(k, "cache_control") ||
               EQ(k, "defer_loading") || EQ(k, "exclude_tools") ||
               EQ(k, "include_usage") || EQ(k, "user_location");
    case 14:
        return EQ(k, "clear_at_least");
    case 15:
        return EQ(k, "allowed_domains") || EQ(k, "blocked_domains");
    case 16:
        return EQ(k, "generate_summary");
    case 17:
        return EQ(k, "clear_tool_inputs") || EQ(k, "encrypted_content");
    case 18:
        return EQ(k, "context_management");
    case 25:
        return EQ(k, "disable_parallel_tool_use");
    default:
        return 0;
    }
}
