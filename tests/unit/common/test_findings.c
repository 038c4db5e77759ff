/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * A request's findings as JSON (modules/common/llm_findings.c): each
 * finding for the caller's error body, grouped with counts for the audit
 * row -- the same bytes as before they shared one builder, and grouping
 * that stays linear in the number of findings.
 */

#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <jansson.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "llm_gateway.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static llm_request_t *request(void)
{
    llm_request_t *req = apr_pcalloc(pool, sizeof(*req));

    req->findings = apr_array_make(pool, 4, sizeof(llm_finding_t));
    return req;
}

static void add(llm_request_t *req, const char *type, const char *rule,
                const char *location, apr_size_t offset, int action)
{
    llm_finding_t *f = apr_array_push(req->findings);

    memset(f, 0, sizeof(*f));
    f->type = type;
    f->rule = rule;
    f->location = location;
    f->offset = offset;
    f->length = 20;
    f->action = action;
}

START_TEST(no_findings_is_an_empty_array)
{
    llm_request_t *req = request();

    ck_assert_str_eq(llm_request_findings_json(pool, req), "[]");
    ck_assert_str_eq(llm_request_findings_grouped_json(pool, req), "[]");
    ck_assert_str_eq(llm_request_findings_json(pool, NULL), "[]");
    ck_assert_str_eq(llm_request_findings_grouped_json(pool, NULL), "[]");
}
END_TEST

START_TEST(each_finding_with_its_offset)
{
    llm_request_t *req = request();

    add(req, "AWS_ACCESS_KEY", "aws-access-key-id", "messages[0].content",
        12, LLM_ACTION_BLOCK);
    add(req, "EMAIL", "email", "messages[1].content", 3, LLM_ACTION_REDACT);
    ck_assert_str_eq(llm_request_findings_json(pool, req),
        "[{\"type\":\"AWS_ACCESS_KEY\",\"rule\":\"aws-access-key-id\","
        "\"location\":\"messages[0].content\",\"offset\":12,\"length\":20,"
        "\"action\":\"block\",\"direction\":\"request\"},"
        "{\"type\":\"EMAIL\",\"rule\":\"email\","
        "\"location\":\"messages[1].content\",\"offset\":3,\"length\":20,"
        "\"action\":\"redact\",\"direction\":\"request\"}]");
}
END_TEST

START_TEST(grouped_by_type_rule_and_location_in_first_seen_order)
{
    llm_request_t *req = request();

    add(req, "EMAIL", "email", "messages[1].content", 3, LLM_ACTION_LOG);
    add(req, "JWT", "jwt", "messages[0].content", 0, LLM_ACTION_BLOCK);
    add(req, "EMAIL", "email", "messages[1].content", 40, LLM_ACTION_LOG);
    add(req, "EMAIL", "email", "messages[2].content", 1, LLM_ACTION_LOG);
    add(req, "EMAIL", "email", "messages[1].content", 90, LLM_ACTION_LOG);
    ck_assert_str_eq(llm_request_findings_grouped_json(pool, req),
        "[{\"type\":\"EMAIL\",\"rule\":\"email\","
        "\"location\":\"messages[1].content\",\"count\":3,"
        "\"action\":\"log\",\"direction\":\"request\"},"
        "{\"type\":\"JWT\",\"rule\":\"jwt\","
        "\"location\":\"messages[0].content\",\"count\":1,"
        "\"action\":\"block\",\"direction\":\"request\"},"
        "{\"type\":\"EMAIL\",\"rule\":\"email\","
        "\"location\":\"messages[2].content\",\"count\":1,"
        "\"action\":\"log\",\"direction\":\"request\"}]");
}
END_TEST

/* The three strings are one key only together: "ab"+"c" is not "a"+"bc". */
START_TEST(grouping_keys_do_not_run_into_each_other)
{
    llm_request_t *req = request();
    json_t *arr;

    add(req, "ab", "c", "d", 0, LLM_ACTION_LOG);
    add(req, "a", "bc", "d", 0, LLM_ACTION_LOG);
    add(req, "a", "b", "cd", 0, LLM_ACTION_LOG);
    add(req, "ab", "c", "d", 0, LLM_ACTION_LOG);
    arr = json_loads(llm_request_findings_grouped_json(pool, req), 0, NULL);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(json_array_size(arr), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(
        json_array_get(arr, 0), "count")), 2);
    json_decref(arr);
}
END_TEST

/* The same finding in the request and in the answer is two entries. */
START_TEST(direction_is_part_of_the_group)
{
    llm_request_t *req = request();
    json_t *arr;

    add(req, "EMAIL", "email", "content[0].text", 0, LLM_ACTION_REDACT);
    add(req, "EMAIL", "email", "content[0].text", 9, LLM_ACTION_REDACT);
    ((llm_finding_t *)req->findings->elts)[1].direction =
        LLM_DIRECTION_ANSWER;
    arr = json_loads(llm_request_findings_grouped_json(pool, req), 0, NULL);
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_str_eq(json_string_value(json_object_get(
        json_array_get(arr, 1), "direction")), "answer");
    json_decref(arr);
    arr = json_loads(llm_request_findings_json(pool, req), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(
        json_array_get(arr, 0), "direction")), "request");
    json_decref(arr);
}
END_TEST

/* A location is a JSON path made of the caller's keys: escaped, never
 * copied raw; the audit row's form is ASCII, the error body's UTF-8. */
START_TEST(caller_keys_are_escaped)
{
    llm_request_t *req = request();

    add(req, "PASSWORD", "password-assignment",
        "tools[0].input[\"caf\xc3\xa9\\\"]", 0, LLM_ACTION_BLOCK);
    ck_assert_str_eq(llm_request_findings_grouped_json(pool, req),
        "[{\"type\":\"PASSWORD\",\"rule\":\"password-assignment\","
        "\"location\":\"tools[0].input[\\\"caf\\u00E9\\\\\\\"]\","
        "\"count\":1,\"action\":\"block\",\"direction\":\"request\"}]");
    ck_assert_str_eq(llm_request_findings_json(pool, req),
        "[{\"type\":\"PASSWORD\",\"rule\":\"password-assignment\","
        "\"location\":\"tools[0].input[\\\"caf\xc3\xa9\\\\\\\"]\","
        "\"offset\":0,\"length\":20,\"action\":\"block\",\"direction\":\"request\"}]");
}
END_TEST

/* A 16 MB body can hold hundreds of thousands of findings.  Grouping by a
 * search through the entries already built took time in the square of
 * their number (hours for this one); through a hash it is a fraction of a
 * second, far inside the case's timeout. */
#define MANY 100000

START_TEST(many_findings_are_grouped_in_linear_time)
{
    llm_request_t *req = request();
    json_t *arr;
    int i;

    for (i = 0; i < 2 * MANY; i++) {
        add(req, "EMAIL", "email",
            apr_psprintf(pool, "messages[%d].content", i % MANY), 0,
            LLM_ACTION_LOG);
    }
    arr = json_loads(llm_request_findings_grouped_json(pool, req), 0, NULL);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(json_array_size(arr), MANY);
    for (i = 0; i < MANY; i += MANY / 10) {
        json_t *e = json_array_get(arr, i);

        ck_assert_str_eq(json_string_value(json_object_get(e, "location")),
                         apr_psprintf(pool, "messages[%d].content", i));
        ck_assert_int_eq(json_integer_value(json_object_get(e, "count")), 2);
    }
    json_decref(arr);
}
END_TEST

static Suite *findings_suite(void)
{
    Suite *s = suite_create("findings");
    TCase *tc = tcase_create("json");
    TCase *scale = tcase_create("scale");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, no_findings_is_an_empty_array);
    tcase_add_test(tc, each_finding_with_its_offset);
    tcase_add_test(tc, grouped_by_type_rule_and_location_in_first_seen_order);
    tcase_add_test(tc, grouping_keys_do_not_run_into_each_other);
    tcase_add_test(tc, direction_is_part_of_the_group);
    tcase_add_test(tc, caller_keys_are_escaped);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(scale, setup, teardown);
    tcase_set_timeout(scale, 120);
    tcase_add_test(scale, many_findings_are_grouped_in_linear_time);
    suite_add_tcase(s, scale);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(findings_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
