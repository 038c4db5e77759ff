/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Walks request records shaped like coding agents' turns (the project's
 * own, in tests/unit/dialect/exchanges; LLM_FIXTURES_DIR points at another
 * folder of the same layout) through the shape check and the unit
 * extraction.
 */

#include <stdlib.h>

#include "test_util.h"

static int nchecked;

/* "/v1/messages?beta=true" -> "/messages" */
static const char *subpath_of(const char *url)
{
    char *s = apr_pstrdup(tp, url), *q = strchr(s, '?');
    const char *slash;

    if (q) {
        *q = '\0';
    }
    slash = strchr(s + 1, '/');
    return slash ? slash : s;
}

static size_t string_bytes(json_t *j, const char *key)
{
    size_t i, n = 0;
    const char *k;
    json_t *v;

    if (json_is_string(j)) {
        return json_string_length(j);
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            n += string_bytes(v, key);
        }
    }
    else if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            n += string_bytes(v, k);
        }
    }
    return n;
}

static void walk_one(const char *file)
{
    size_t len, total = 0, i;
    char *text = tu_slurp(file, &len);
    json_t *rec, *req, *body, *root;
    const char *method, *url, *err = NULL, *bodytext;
    llm_endpoint_e ep;
    apr_array_header_t *units;
    const llm_unit_t *u;
    const char *before, *after;
    llm_edit_t same;

    ck_assert_ptr_nonnull(text);
    rec = json_loadb(text, len, 0, NULL);
    ck_assert_msg(rec != NULL, "%s: not JSON", file);
    req = json_object_get(rec, "request");
    method = json_string_value(json_object_get(req, "method"));
    url = json_string_value(json_object_get(req, "url"));
    body = json_object_get(req, "body");
    if (!method || !url || !json_is_object(body)) {
        json_decref(rec);
        return;
    }
    ep = llm_dialect_endpoint(method, subpath_of(url));
    ck_assert_msg(ep != LLM_EP_NONE, "%s: %s %s not recognised", file,
                  method, url);
    /* Through the text, as the gateway sees it. */
    bodytext = llm_json_dump(tp, body, NULL);
    root = llm_json_parse(tp, bodytext, strlen(bodytext), &err);
    ck_assert_msg(root != NULL, "%s: %s", file, err);
    err = llm_dialect_check(tp, root, ep);
    ck_assert_msg(err == NULL, "%s: %s", file, err);
    /* real clients' ids, enums and blobs fit the protocol checks */
    units = llm_dialect_units_checked(tp, root, ep, &err);
    ck_assert_msg(err == NULL, "%s: %s", file, err);
    ck_assert_msg(units->nelts > 0, "%s: no units", file);
    for (i = 0; i < (size_t)units->nelts; i++) {
        total += ((llm_unit_t *)units->elts)[i].len;
    }
    /* Most of what a coding agent sends is text for the model. */
    ck_assert_msg(string_bytes(root, NULL) < 4096
                  || total * 10 >= string_bytes(root, NULL) * 9,
                  "%s: only %zu of %zu string bytes in units", file, total,
                  string_bytes(root, NULL));
    /* Editing every unit with itself leaves the body byte for byte. */
    before = llm_json_dump(tp, root, NULL);
    for (i = 0; i < (size_t)units->nelts; i++) {
        u = &((llm_unit_t *)units->elts)[i];
        same.offset = 0;
        same.length = 1;
        same.replacement = apr_pstrmemdup(tp, u->text, 1);
        if ((unsigned char)u->text[0] < 0x80) {
            /* the model name and provider blobs are never edited */
            ck_assert_int_eq(llm_unit_apply_edits(tp, u, &same, 1),
                             ((llm_piece_t *)u->pieces->elts)[0].fixed
                             ? -1 : 0);
        }
    }
    after = llm_json_dump(tp, root, NULL);
    ck_assert_str_eq(before, after);
    nchecked++;
    json_decref(rec);
}

static void walk_cb(const char *path, const char *name, void *baton)
{
    walk_one(path);
}

START_TEST(fixtures_walk)
{
    ck_assert_int_ge(tu_for_each_fixture(".json", walk_cb, NULL), 0);
    ck_assert_int_gt(nchecked, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dialect-fixtures");
    TCase *tc = tcase_create("fixtures");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fixtures_walk);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
