/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The detection engine: finds secrets, personal data and admin-defined
 * content in plain text.  httpd-free (APR, PCRE2 only) so that the gateway,
 * the llm-scan command, the unit tests, the fuzzer and the benchmark all run
 * the very same code.
 *
 * Life cycle: a rule set is built once (at httpd config time, or when the
 * command starts), compiled, and then shared read-only by every thread.
 * Scanning allocates only from the pool the caller passes (the request pool).
 */

#ifndef LLM_SCAN_H
#define LLM_SCAN_H

#include <stddef.h>
#include "apr_pools.h"
#include "apr_tables.h"
#include "llm_types.h"

typedef struct llm_scan_rules_t llm_scan_rules_t;

/* One match in a scanned buffer.  type and rule point into the rule set
 * (valid as long as it lives). */
typedef struct llm_scan_match_t {
    const char *type;        /* "AWS_ACCESS_KEY", "EMAIL", admin type... */
    const char *rule;        /* rule id, "aws-access-key-id" */
    llm_category_e category;
    size_t offset;           /* of the sensitive value in the buffer */
    size_t length;
} llm_scan_match_t;

/* A rule set with the built-in rules when builtins is non-zero.  The pool
 * must outlive every scan (httpd: pconf; the command: its global pool). */
llm_scan_rules_t *llm_scan_rules_create(apr_pool_t *p, int builtins);

/* Admin rules.  Each returns NULL on success or an error message (from p)
 * that names the problem, e.g. the PCRE2 error and its offset; httpd shows
 * it at apachectl -t.  type must be [A-Z][A-Z0-9_]*. */
const char *llm_scan_rules_add_pattern(llm_scan_rules_t *rs, const char *type,
                                       const char *rule_id,
                                       const char *pcre2_pattern,
                                       llm_category_e category);
const char *llm_scan_rules_add_keywords(llm_scan_rules_t *rs, const char *type,
                                        const char *rule_id,
                                        const char *const *words, int nwords,
                                        llm_category_e category);
/* A value that matches an allow pattern (anchored on the whole matched
 * value) is never a finding. */
const char *llm_scan_rules_add_allow(llm_scan_rules_t *rs,
                                     const char *pcre2_pattern);
/* Switch a built-in rule off by rule id or by type. */
const char *llm_scan_rules_disable(llm_scan_rules_t *rs, const char *rule_or_type);

/* Admin rules from a file (format in docs/scan-engine.md): one rule a
 * line, "pattern TYPE id PCRE2", "keywords TYPE id w1 w2 ...",
 * "allow PCRE2", "disable id-or-TYPE", '#' comments.  A built-in TYPE
 * keeps its category, any other is LLM_CAT_CONTENT.  NULL or an error
 * naming file and line.  load_line takes one line (modified in place). */
const char *llm_scan_rules_load_file(llm_scan_rules_t *rs, const char *path,
                                     apr_pool_t *p);
const char *llm_scan_rules_load_line(llm_scan_rules_t *rs, char *line,
                                     apr_pool_t *p);

/* Compile everything added (JIT, prefilter tables).  After this the rule
 * set is immutable and may be shared by threads.  NULL or an error. */
const char *llm_scan_rules_compile(llm_scan_rules_t *rs);

/* A number drawn when the set was compiled (0 before): with the set's
 * address, what tells its results from those of any other set, for a
 * cache of clean texts (llm_clean_cache.h). */
apr_uint64_t llm_scan_rules_identity(const llm_scan_rules_t *rs);

/* Scan len bytes of text (UTF-8, not NUL terminated).  Appends
 * llm_scan_match_t to out (created by the caller with
 * apr_array_make(p, n, sizeof(llm_scan_match_t))), sorted by offset,
 * overlapping matches resolved (the more specific rule wins).  Scratch comes
 * from p.  Returns the number of matches appended, or -1 on an internal
 * error (e.g. PCRE2 match limit hit) -- callers fail closed on -1. */
int llm_scan_text(const llm_scan_rules_t *rs, const char *text, size_t len,
                  apr_pool_t *p, apr_array_header_t *out);

/* Text a reader takes as one though it comes in parts: adjacent messages
 * of one role, which the provider joins into one turn.  Appends to out
 * the matches that only the joined text holds, those a boundary between
 * two parts falls inside, with offsets in the parts' concatenation.  The
 * parts are read window bytes either side of each boundary (0: the
 * default, 1024; 4096 on a side that is base64 where the parts meet),
 * further when a value reaches the window's edge, and are not copied
 * whole unless short.  Returns the number of matches appended,
 * or -1 on an internal error (callers fail closed). */
int llm_scan_joined(const llm_scan_rules_t *rs, const char *const *texts,
                    const size_t *lens, int nparts, size_t window,
                    apr_pool_t *p, apr_array_header_t *out);

/* A printable, masked form of a found value for logs and the command
 * line: the first 4 characters of a value of 16 or more, nothing of a
 * shorter one, then at most 12 '*'s; never the whole value.  From p. */
const char *llm_scan_mask(apr_pool_t *p, const char *value, size_t len);

/* Iterate over the rules of a set (built in and admin; switched-off ones
 * left out), for documentation, llm-scan --list-rules and the config-sync
 * test. */
typedef void llm_scan_rule_visit_fn(void *baton, const char *rule_id,
                                    const char *type, llm_category_e cat);
void llm_scan_rules_visit(const llm_scan_rules_t *rs,
                          llm_scan_rule_visit_fn *fn, void *baton);

/* The PCRE2 pattern of a rule (built-in pattern rules and admin patterns),
 * or NULL for rules written in C and for keyword lists.  For --list-rules
 * and documentation. */
const char *llm_scan_rule_pattern(const llm_scan_rules_t *rs,
                                  const char *rule_id);

/* Is type one of the built-in types (or an admin type in this set)? */
int llm_scan_rules_has_type(const llm_scan_rules_t *rs, const char *type);

/* Whether type is a finding type's name as rules and directives take it:
 * [A-Z][A-Z0-9_]* (the one check, for the engine and mod_llm_scan). */
int llm_scan_type_name_valid(const char *type);

/* The default category of a built-in type name, or -1 if unknown. */
int llm_scan_builtin_category(const char *type);

#endif /* LLM_SCAN_H */
