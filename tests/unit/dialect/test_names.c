/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The syntax of model names, provider path segments and forwarded header
 * values (llm_names.h): what providers and clients really send passes,
 * anything that could carry a key, a path step or a byte outside ASCII
 * does not.
 */

#include <string.h>

#include "test_util.h"
#include "llm_names.h"

START_TEST(model_names)
{
    static const char *const good[] = {
        "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "o3", "claude-sonnet-4-5",
        "claude-3-5-sonnet@20240620", "meta-llama/Llama-3.1-70B-Instruct",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "ft:gpt-4o-mini-2024-07-18:my-org:custom:9abcDEF1",
        "anthropic.claude-3-sonnet-20240229-v1:0", "text-embedding-3-small",
        "mock-echo", "a", NULL
    };
    static const char *const bad[] = {
        "", "/gpt", "gpt/", "gpt//x", "a/../b", "a/./b", "..", ".", "a/.x",
        "-gpt", "gpt 4o", "gpt\n", "gpt\t", "gpt%2F", "gpt?x", "gpt#x",
        "gpt\\x", "gpt\"", "caf\xc3\xa9", "gpt+x", "gpt=x", "gpt,x",
        "gpt;x", "gpt(x)", "gpt<x>", "gpt\x7f", NULL
    };
    char longname[LLM_MODEL_NAME_MAX + 2];
    int i;

    for (i = 0; good[i]; i++) {
        ck_assert_msg(llm_model_name_ok(good[i]), "refused %s", good[i]);
    }
    for (i = 0; bad[i]; i++) {
        ck_assert_msg(!llm_model_name_ok(bad[i]), "accepted %s", bad[i]);
    }
    ck_assert(!llm_model_name_ok(NULL));
    memset(longname, 'a', sizeof(longname) - 1);
    longname[LLM_MODEL_NAME_MAX] = '\0';
    ck_assert(llm_model_name_ok(longname));
    longname[LLM_MODEL_NAME_MAX] = 'a';
    longname[LLM_MODEL_NAME_MAX + 1] = '\0';
    ck_assert(!llm_model_name_ok(longname));
}
END_TEST

START_TEST(path_segments)
{
    ck_assert(llm_path_segment_ok("gpt-4o"));
    ck_assert(llm_path_segment_ok("my_deployment.v2"));
    ck_assert(!llm_path_segment_ok("a/b"));
    ck_assert(!llm_path_segment_ok(".."));
    ck_assert(!llm_path_segment_ok(".hidden"));
    ck_assert(!llm_path_segment_ok("a:b"));
    ck_assert(!llm_path_segment_ok("a@b"));
    ck_assert(!llm_path_segment_ok("a%2Fb"));
    ck_assert(!llm_path_segment_ok(""));
    ck_assert(!llm_path_segment_ok(NULL));
    ck_assert(!llm_path_segment_ok(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(header_names)
{
    ck_assert_int_eq(llm_fwd_header("user-agent"), LLM_FWD_USER_AGENT);
    ck_assert_int_eq(llm_fwd_header("ACCEPT"), LLM_FWD_ACCEPT);
    ck_assert_int_eq(llm_fwd_header("Anthropic-Version"),
                     LLM_FWD_ANTHROPIC_VERSION);
    ck_assert_int_eq(llm_fwd_header("anthropic-beta"),
                     LLM_FWD_ANTHROPIC_BETA);
    ck_assert_int_eq(llm_fwd_header("openai-beta"), LLM_FWD_OPENAI_BETA);
    ck_assert_int_eq(llm_fwd_header("Accept-Encoding"), LLM_FWD_NONE);
    ck_assert_int_eq(llm_fwd_header("Authorization"), LLM_FWD_NONE);
    ck_assert_int_eq(llm_fwd_header("x-api-key"), LLM_FWD_NONE);
    ck_assert_int_eq(llm_fwd_header("Content-Type"), LLM_FWD_NONE);
    ck_assert_int_eq(llm_fwd_header(NULL), LLM_FWD_NONE);
}
END_TEST

START_TEST(header_values)
{
    static const struct { llm_fwd_header_e h; const char *v; int ok; } t[] = {
        { LLM_FWD_USER_AGENT, "claude-cli/2.0.14 (external, cli)", 1 },
        { LLM_FWD_USER_AGENT, "OpenAI/Python 1.51.0", 1 },
        { LLM_FWD_USER_AGENT, "", 0 },
        { LLM_FWD_USER_AGENT, "caf\xc3\xa9", 0 },
        { LLM_FWD_USER_AGENT, "a\r\nb", 0 },
        { LLM_FWD_ACCEPT, "application/json", 1 },
        { LLM_FWD_ACCEPT, "text/event-stream", 1 },
        { LLM_FWD_ACCEPT, "application/json, text/plain, */*", 1 },
        { LLM_FWD_ACCEPT, "application/json;q=0.9, */*;q=0.1", 1 },
        { LLM_FWD_ACCEPT, "application/jsonx", 0 },
        { LLM_FWD_ACCEPT, "application/json, AKIAABCDEFGHIJKLMNOP/x", 0 },
        { LLM_FWD_ACCEPT, "application/json; x=1", 0 },
        { LLM_FWD_ACCEPT, "application/json;q=0.12345", 0 },
        { LLM_FWD_ANTHROPIC_VERSION, "2023-06-01", 1 },
        { LLM_FWD_ANTHROPIC_VERSION, "2023-06-01x", 0 },
        { LLM_FWD_ANTHROPIC_VERSION, "2023-6-01", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "prompt-caching-2024-07-31", 1 },
        { LLM_FWD_ANTHROPIC_BETA, "claude-code-20250219,oauth-2025-04-20,"
                                  "interleaved-thinking-2025-05-14", 1 },
        { LLM_FWD_ANTHROPIC_BETA, "a-2024-07-31, b-2024-07-31", 1 },
        { LLM_FWD_ANTHROPIC_BETA, "AKIAABCDEFGHIJKLMNOP", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "x-0123456789abcdef0123456789abcdef", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "ghp_abc", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "a--b", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "a-", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "", 0 },
        { LLM_FWD_ANTHROPIC_BETA, "a,", 0 },
        { LLM_FWD_OPENAI_BETA, "assistants=v2", 1 },
        { LLM_FWD_OPENAI_BETA, "assistants=v2, realtime=v1", 1 },
        { LLM_FWD_OPENAI_BETA, "assistants=AKIAABCDEFGHIJKLMNOP", 0 },
        { LLM_FWD_OPENAI_BETA, "assistants", 0 },
        { LLM_FWD_OPENAI_BETA, "Assistants=v2", 0 },
        { LLM_FWD_NONE, "x", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ck_assert_msg(llm_fwd_header_ok(t[i].h, t[i].v) == t[i].ok,
                      "header %d value '%s': expected %d", (int)t[i].h,
                      t[i].v, t[i].ok);
    }
    ck_assert(!llm_fwd_header_ok(LLM_FWD_ACCEPT, NULL));
}
END_TEST

START_TEST(beta_query)
{
    ck_assert(llm_beta_query_ok("true", 4));
    ck_assert(llm_beta_query_ok("false", 5));
    ck_assert(!llm_beta_query_ok("truex", 5));
    ck_assert(!llm_beta_query_ok("tru", 3));
    ck_assert(!llm_beta_query_ok("AKIAABCDEFGHIJKLMNOP", 20));
}
END_TEST

static Suite *names_suite(void)
{
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("syntax");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, model_names);
    tcase_add_test(tc, path_segments);
    tcase_add_test(tc, header_names);
    tcase_add_test(tc, header_values);
    tcase_add_test(tc, beta_query);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(names_suite());
}
