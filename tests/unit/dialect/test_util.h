/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Small helpers shared by the dialect unit tests.
 */

#ifndef LLM_TEST_DIALECT_UTIL_H
#define LLM_TEST_DIALECT_UTIL_H

#include <string.h>
#include <check.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "llm_dialect.h"

/* Per-test pool, created in the fixture. */
extern apr_pool_t *tp;

void tu_setup(void);
void tu_teardown(void);

/* Parse or fail the test. */
json_t *tu_parse(const char *text);

/* The unit holding a piece with this path, or NULL; *pi gets the piece's
 * index in it. */
const llm_unit_t *tu_unit_with(apr_array_header_t *units, const char *path,
                               int *pi);

/* 1 if any unit's text contains needle. */
int tu_units_contain(apr_array_header_t *units, const char *needle);

/* String member of an object, "(null)" when absent. */
const char *tu_str(json_t *obj, const char *key);

/* Compact dump of a value. */
const char *tu_dump(json_t *j);

/* Read a whole file into the pool; NULL if it is not there. */
char *tu_slurp(const char *path, size_t *len);

/* Run a suite (apr initialised around it); the exit status for main. */
int tu_run(Suite *s);

/* Call fn for each file whose name ends in suffix in the folders of
 * exchanges (LLM_FIXTURES_DIR, by default the project's own
 * tests/unit/dialect/exchanges, written for these tests: agents' requests
 * of each dialect as .json records, providers' streams as .sse).  The
 * number of files, or -1 when the folder is not there. */
int tu_for_each_fixture(const char *suffix,
                        void (*fn)(const char *path, const char *name,
                                   void *baton),
                        void *baton);

#endif
