/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Unit tests for mod_llm_audit's httpd-free parts: the record's canonical
 * bytes and JSON form, the MAC chain, key files, the spool and the body
 * encryption.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <dirent.h>
#include <check.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "apr_file_io.h"

#include "audit/audit_record.h"
#include "audit/audit_chain.h"
#include "audit/audit_spool.h"
#include "audit/audit_journal.h"
#include "audit/audit_fileio.h"
#include "llm_shm_lock.h"
#include "audit/audit_crypt.h"

static apr_pool_t *pool;
static char tmpdir[256];

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/llm-audit-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) {
        /* best effort */
    }
    apr_pool_destroy(pool);
}

static const unsigned char test_key[32] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
};

static void sample(llm_audit_record_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->v[LLM_AUDIT_F_TS] = "2026-01-02 03:04:05.000006Z";
    rec->v[LLM_AUDIT_F_REQUEST_ID] = "req-1";
    rec->v[LLM_AUDIT_F_USER_NAME] = "alice";
    rec->v[LLM_AUDIT_F_DECISION] = "allow";
    rec->v[LLM_AUDIT_F_FINDINGS] = "[]";
    rec->v[LLM_AUDIT_F_HTTP_STATUS] = "200";
    rec->v[LLM_AUDIT_F_COST] = "0.000001230";
}

/* -- record ------------------------------------------------------------ */

START_TEST(canonical_names_fields_and_skips_nulls)
{
    llm_audit_record_t rec;
    apr_size_t len;
    const char *c;

    sample(&rec);
    c = llm_audit_canonical(pool, &rec, &len);
    ck_assert_uint_eq(len, strlen(c));
    ck_assert_str_eq(c, "llm-audit-v1\n"
                     "ts=27:2026-01-02 03:04:05.000006Z\n"
                     "request_id=5:req-1\n"
                     "user_name=5:alice\n"
                     "decision=5:allow\n"
                     "findings=2:[]\n"
                     "http_status=3:200\n"
                     "cost=11:0.000001230\n");
    /* NULL and "" are different rows. */
    rec.v[LLM_AUDIT_F_REASON] = "";
    ck_assert_ptr_nonnull(strstr(llm_audit_canonical(pool, &rec, &len),
                                 "reason=0:\n"));
}
END_TEST

START_TEST(canonical_normalises_database_text)
{
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_HTTP_STATUS,
                                         "0200"), "200");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ,
                                         "9007199254740993"),
                     "9007199254740993");
    /* SQLite's REAL comes back in its own notation. */
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_COST, "1.23e-06"),
                     "0.000001230");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_COST,
                                         "0.000001230"), "0.000001230");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_USER_NAME, "007"),
                     "007");
    ck_assert_ptr_null(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ, NULL));
    /* Integers already in printed form pass as they are; any other
     * spelling is printed afresh. */
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ, "0"), "0");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ, "-0"), "0");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ, "+7"), "7");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ, "-12"), "-12");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ,
                                         "-9223372036854775808"),
                     "-9223372036854775808");
    ck_assert_str_eq(llm_audit_normalise(pool, LLM_AUDIT_F_SEQ, "12x"),
                     "12x");
}
END_TEST

START_TEST(length_prefix_stops_field_smuggling)
{
    llm_audit_record_t a, b;
    apr_size_t la, lb;

    sample(&a);
    sample(&b);
    a.v[LLM_AUDIT_F_USER_NAME] = "alice\ndecision=5:block";
    b.v[LLM_AUDIT_F_USER_NAME] = "alice";
    b.v[LLM_AUDIT_F_DECISION] = "block";
    ck_assert_str_ne(llm_audit_canonical(pool, &a, &la),
                     llm_audit_canonical(pool, &b, &lb));
}
END_TEST

START_TEST(json_round_trip)
{
    llm_audit_record_t rec, back;
    char *line;
    int f;

    sample(&rec);
    rec.v[LLM_AUDIT_F_CHAIN_ID] = "h:1:2";
    rec.v[LLM_AUDIT_F_SEQ] = "7";
    rec.v[LLM_AUDIT_F_PREV_MAC] = LLM_AUDIT_MAC_ZERO;
    rec.v[LLM_AUDIT_F_MAC] = LLM_AUDIT_MAC_ZERO;
    rec.v[LLM_AUDIT_F_USER_AGENT] = "agent \"quoted\"\n\xc3\xa9";
    line = llm_audit_record_to_json(pool, &rec);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_null(strchr(line, '\n'));
    ck_assert_int_eq(llm_audit_record_from_json(pool, line, strlen(line),
                                                &back), APR_SUCCESS);
    for (f = 0; f < LLM_AUDIT_NFIELDS; f++) {
        if (rec.v[f]) {
            ck_assert_str_eq(back.v[f], rec.v[f]);
        }
        else {
            ck_assert_ptr_null(back.v[f]);
        }
    }
    /* A torn line is not a record. */
    ck_assert_int_eq(llm_audit_record_from_json(pool, line, strlen(line) / 2,
                                                &back), APR_EINVAL);
    ck_assert_int_eq(llm_audit_record_from_json(pool, "{}", 2, &back),
                     APR_EINVAL);
}
END_TEST

/* Plain runs are skipped eight bytes at a time: a byte that needs an
 * escape (or is not ASCII) is found at every offset of a word, at the
 * start, middle and end of a value, and the line loads back the same. */
START_TEST(json_line_escapes_at_every_offset)
{
    static const char *const odd[] = { "\"", "\\", "\n", "\x01", "\x1f",
                                       "\x7f", "\xc3\xa9", "\xe2\x80\xa8",
                                       "\xff" };
    llm_audit_record_t rec, back;
    char *line;
    int i, k, len;

    for (k = 0; k < (int)(sizeof(odd) / sizeof(odd[0])); k++) {
        for (i = 0; i < 24; i++) {
            for (len = i; len < i + 18; len += 17) {
                char *v = apr_psprintf(pool, "%.*s%s%.*s", i,
                                       "abcdefghijklmnopqrstuvwxyz", odd[k],
                                       len - i,
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

                sample(&rec);
                rec.v[LLM_AUDIT_F_CHAIN_ID] = "h:1:2";
                rec.v[LLM_AUDIT_F_SEQ] = "7";
                rec.v[LLM_AUDIT_F_PREV_MAC] = LLM_AUDIT_MAC_ZERO;
                rec.v[LLM_AUDIT_F_MAC] = LLM_AUDIT_MAC_ZERO;
                rec.v[LLM_AUDIT_F_USER_AGENT] = v;
                line = llm_audit_record_to_json(pool, &rec);
                ck_assert_ptr_null(strchr(line, '\n'));
                ck_assert_ptr_null(strchr(line, '\x01'));
                ck_assert_ptr_null(strchr(line, '\x1f'));
                ck_assert_int_eq(llm_audit_record_from_json(pool, line,
                                                            strlen(line),
                                                            &back),
                                 APR_SUCCESS);
                /* Ill-formed UTF-8 comes back as U+FFFD, the rest as is. */
                ck_assert_str_eq(back.v[LLM_AUDIT_F_USER_AGENT],
                                 strcmp(odd[k], "\xff") ? v
                                 : apr_psprintf(pool, "%.*s\xef\xbf\xbd%.*s",
                                                i,
                                                "abcdefghijklmnopqrstuvwxyz",
                                                len - i,
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
            }
        }
    }
}
END_TEST

START_TEST(json_line_escapes_every_byte_jansson_would_refuse)
{
    llm_audit_record_t rec, back;
    char *line;

    sample(&rec);
    rec.v[LLM_AUDIT_F_CHAIN_ID] = "h:1:2";
    rec.v[LLM_AUDIT_F_SEQ] = "7";
    rec.v[LLM_AUDIT_F_PREV_MAC] = LLM_AUDIT_MAC_ZERO;
    rec.v[LLM_AUDIT_F_MAC] = LLM_AUDIT_MAC_ZERO;
    /* Controls, backslash, a 4-byte character, U+2028, DEL. */
    rec.v[LLM_AUDIT_F_USER_AGENT] =
        "a\\b\x01\x1f\t\r\b\f\xf0\x9f\x98\x80\xe2\x80\xa8\x7f/";
    /* Ill-formed: a lone continuation byte, an overlong, a surrogate, a
     * truncated sequence at the end. */
    rec.v[LLM_AUDIT_F_URI] = "x\x80y\xc0\xafz\xed\xa0\x80w\xe2\x82";
    line = llm_audit_record_to_json(pool, &rec);
    ck_assert_ptr_null(strchr(line, '\n'));
    ck_assert_ptr_null(strchr(line, '\x01'));
    ck_assert_int_eq(llm_audit_record_from_json(pool, line, strlen(line),
                                                &back), APR_SUCCESS);
    ck_assert_str_eq(back.v[LLM_AUDIT_F_USER_AGENT],
                     rec.v[LLM_AUDIT_F_USER_AGENT]);
    ck_assert_str_eq(back.v[LLM_AUDIT_F_URI],
                     "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz"
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdw"
                     "\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(insert_sql_per_driver)
{
    const char *sq = llm_audit_insert_sql(pool, "sqlite3");
    const char *pg = llm_audit_insert_sql(pool, "pgsql");
    const char *c;
    int n = 0;

    for (c = sq; (c = strstr(c, "%s")) != NULL; c += 2) {
        n++;
    }
    ck_assert_int_eq(n, LLM_AUDIT_NFIELDS);
    ck_assert_ptr_null(strstr(sq, "CAST"));
    ck_assert_ptr_nonnull(strstr(pg, "CAST(%s AS timestamptz)"));
    ck_assert_ptr_nonnull(strstr(pg, "CAST(%s AS json)"));
    /* No conflict target: it would need SELECT on PostgreSQL. */
    ck_assert_ptr_nonnull(strstr(sq, ") ON CONFLICT DO NOTHING"));
    ck_assert_ptr_nonnull(strstr(llm_audit_select_sql(pool, "pgsql"),
                                 "AT TIME ZONE 'UTC'"));
}
END_TEST

START_TEST(utf8_cleaning)
{
    const char *ok = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

    ck_assert_ptr_eq(llm_audit_utf8(pool, ok), ok);   /* untouched */
    ck_assert_str_eq(llm_audit_utf8(pool, "a\xff" "b"), "a?b");
    ck_assert_str_eq(llm_audit_utf8(pool, "Mozilla/5.0 (\xe9t\xe9)"),
                     "Mozilla/5.0 (?t?)");
    /* truncated, overlong and surrogate sequences */
    ck_assert_str_eq(llm_audit_utf8(pool, "x\xe2\x82"), "x??");
    ck_assert_str_eq(llm_audit_utf8(pool, "\xc0\xaf"), "??");
    ck_assert_str_eq(llm_audit_utf8(pool, "\xed\xa0\x80"), "???");
    ck_assert_ptr_null(llm_audit_utf8(pool, NULL));
}
END_TEST

/* ASCII is passed over eight bytes at a time: a stray byte, or a whole
 * character, at every offset of a word after and before ASCII. */
START_TEST(utf8_cleaning_at_every_offset)
{
    int i;

    for (i = 0; i < 24; i++) {
        const char *good = apr_psprintf(pool, "%.*s\xe2\x82\xac%s", i,
                                        "abcdefghijklmnopqrstuvwxyz",
                                        "0123456789");
        const char *bad = apr_psprintf(pool, "%.*s\xff%s", i,
                                       "abcdefghijklmnopqrstuvwxyz",
                                       "0123456789");

        ck_assert_ptr_eq(llm_audit_utf8(pool, good), good);
        ck_assert_str_eq(llm_audit_utf8(pool, bad),
                         apr_psprintf(pool, "%.*s?%s", i,
                                      "abcdefghijklmnopqrstuvwxyz",
                                      "0123456789"));
    }
}
END_TEST

START_TEST(time_format)
{
    apr_time_t t = apr_time_from_sec(1767323045) + 6;   /* 2026-01-02 */

    ck_assert_str_eq(llm_audit_time_format(pool, t),
                     "2026-01-02 03:04:05.000006Z");
}
END_TEST

/* Written by hand since the fourth pass on the fixed cost: the same text
 * as the format it replaced, for times spread over four centuries and
 * every digit position, and years of other widths. */
START_TEST(time_format_as_printf)
{
    apr_time_t t = 0;
    apr_time_exp_t tm;
    int i;

    for (i = 0; i < 20000; i++) {
        /* 1970 to ~2370 in steps of ~7.3 days and odd microseconds */
        t = (apr_time_t)i * APR_INT64_C(631152123457) + (i % 1000003);
        apr_time_exp_gmt(&tm, t);
        ck_assert_str_eq(llm_audit_time_format(pool, t),
                         apr_psprintf(pool,
                                      "%04d-%02d-%02d %02d:%02d:%02d.%06dZ",
                                      tm.tm_year + 1900, tm.tm_mon + 1,
                                      tm.tm_mday, tm.tm_hour, tm.tm_min,
                                      tm.tm_sec, tm.tm_usec));
    }
    ck_assert_str_eq(llm_audit_time_format(pool, 0),
                     "1970-01-01 00:00:00.000000Z");
    ck_assert_str_eq(llm_audit_time_format(pool, APR_INT64_C(253402300799)
                                                 * APR_USEC_PER_SEC
                                                 + 999999),
                     "9999-12-31 23:59:59.999999Z");
    /* Past 9999 and before 1970 the printed width is the format's. */
    ck_assert_str_eq(llm_audit_time_format(pool, APR_INT64_C(253402300800)
                                                 * APR_USEC_PER_SEC),
                     "10000-01-01 00:00:00.000000Z");
    ck_assert_str_eq(llm_audit_time_format(pool, -APR_USEC_PER_SEC),
                     "1969-12-31 23:59:59.000000Z");
}
END_TEST

/* -- chain --------------------------------------------------------------- */

START_TEST(mac_known_answer)
{
    /* The same value tests/integration/audit_helpers.py computes: two
     * independent readings of the format agree. */
    llm_audit_record_t rec;
    char mac[LLM_AUDIT_MAC_HEX_LEN + 1];

    sample(&rec);
    rec.v[LLM_AUDIT_F_CHAIN_ID] = "host:1:2";
    rec.v[LLM_AUDIT_F_SEQ] = "1";
    rec.v[LLM_AUDIT_F_PREV_MAC] = LLM_AUDIT_MAC_ZERO;
    llm_audit_record_mac(pool, test_key, sizeof(test_key), &rec, mac);
    ck_assert_str_eq(mac, "44aeff1635c4f7f583bdc2250dfa96e8"
                          "ea38fcfb998d91b3862677332abe955d");
}
END_TEST

START_TEST(chain_links_rows)
{
    llm_audit_chain_t *ch = llm_audit_chain_create(pool, "h:1:2", test_key,
                                                   sizeof(test_key));
    llm_audit_record_t r[3];
    char mac[LLM_AUDIT_MAC_HEX_LEN + 1];
    int i;

    for (i = 0; i < 3; i++) {
        sample(&r[i]);
        llm_audit_chain_seal(ch, pool, &r[i]);
    }
    ck_assert_str_eq(r[0].v[LLM_AUDIT_F_SEQ], "1");
    ck_assert_str_eq(r[2].v[LLM_AUDIT_F_SEQ], "3");
    ck_assert_str_eq(r[0].v[LLM_AUDIT_F_PREV_MAC], LLM_AUDIT_MAC_ZERO);
    ck_assert_str_eq(r[1].v[LLM_AUDIT_F_PREV_MAC], r[0].v[LLM_AUDIT_F_MAC]);
    ck_assert_str_eq(r[2].v[LLM_AUDIT_F_PREV_MAC], r[1].v[LLM_AUDIT_F_MAC]);
    /* Same content, different place: different MAC. */
    ck_assert_str_ne(r[1].v[LLM_AUDIT_F_MAC], r[2].v[LLM_AUDIT_F_MAC]);
    /* Any edit shows. */
    r[1].v[LLM_AUDIT_F_DECISION] = "block";
    llm_audit_record_mac(pool, test_key, sizeof(test_key), &r[1], mac);
    ck_assert_str_ne(mac, r[1].v[LLM_AUDIT_F_MAC]);
    r[1].v[LLM_AUDIT_F_DECISION] = "allow";
    r[1].v[LLM_AUDIT_F_HTTP_STATUS] = "201";
    llm_audit_record_mac(pool, test_key, sizeof(test_key), &r[1], mac);
    ck_assert_str_ne(mac, r[1].v[LLM_AUDIT_F_MAC]);
    /* Another key: another MAC. */
    r[1].v[LLM_AUDIT_F_HTTP_STATUS] = "200";
    llm_audit_record_mac(pool, (const unsigned char *)"another key of "
                         "thirty-two bytes", 32, &r[1], mac);
    ck_assert_str_ne(mac, r[1].v[LLM_AUDIT_F_MAC]);
}
END_TEST

/* Seals take a fast path (key pads hashed once per chain); the verifier
 * recomputes each MAC the one-shot way.  They must agree for every key
 * length, around SHA-256's 64-byte block above all. */
START_TEST(sealed_mac_matches_the_verifiers)
{
    static const apr_size_t lens[] = { 1, 31, 32, 63, 64, 65, 128, 200 };
    unsigned char key[200];
    apr_size_t i, k;

    for (i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char)(i * 7 + 3);
    }
    for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        llm_audit_chain_t *ch = llm_audit_chain_create(pool, "h:9:9", key,
                                                       lens[k]);
        llm_audit_record_t r;
        char mac[LLM_AUDIT_MAC_HEX_LEN + 1];
        int n;

        for (n = 0; n < 3; n++) {
            sample(&r);
            llm_audit_chain_seal(ch, pool, &r);
            llm_audit_record_mac(pool, key, lens[k], &r, mac);
            ck_assert_msg(!strcmp(mac, r.v[LLM_AUDIT_F_MAC]),
                          "key of %u bytes, row %d: sealed %s, verifier %s",
                          (unsigned)lens[k], n, r.v[LLM_AUDIT_F_MAC], mac);
        }
    }
}
END_TEST

static const char *write_file(const char *name, const char *text,
                              apr_size_t len)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

START_TEST(key_files)
{
    const unsigned char *key;
    apr_size_t len;
    const char *err, *path;

    path = write_file("hex.key", "000102030405060708090a0b0c0d0e0f"
                      "101112131415161718191a1b1c1d1e1f\n", 65);
    err = llm_audit_key_read(pool, path, 32, &key, &len);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(len, 32);
    ck_assert_mem_eq(key, test_key, 32);

    path = write_file("short.key", "too short\n", 10);
    err = llm_audit_key_read(pool, path, 32, &key, &len);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "openssl rand -hex 32"));

    path = write_file("raw.key", "0123456789012345678901234567890123456789",
                      40);
    ck_assert_ptr_null(llm_audit_key_read(pool, path, 32, &key, &len));
    ck_assert_uint_eq(len, 40);

    err = llm_audit_key_read(pool, "/nonexistent/k", 32, &key, &len);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
}
END_TEST

/* -- spool ------------------------------------------------------------------ */

typedef struct {
    int calls;
    int healthy;
    char seen[16][64];
} replay_t;

/* Lines starting with 'F' fail to store, with '!' are not records. */
static apr_status_t collect(void *ctxv, apr_pool_t *p, const char *line,
                            apr_size_t len)
{
    replay_t *ctx = ctxv;

    if (len > 0 && line[0] == 'F') {
        return APR_EGENERAL;
    }
    if (len > 0 && line[0] == '!') {
        return APR_EINVAL;
    }
    apr_cpystrn(ctx->seen[ctx->calls % 16], line,
                len + 1 < 64 ? len + 1 : 64);
    ctx->calls++;
    return APR_SUCCESS;
}

static int healthy(void *ctxv, apr_pool_t *p)
{
    return ((replay_t *)ctxv)->healthy;
}

static apr_off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void reset(replay_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->healthy = 1;
}

START_TEST(spool_append_depth_replay)
{
    llm_audit_spool_t sp;
    apr_off_t size;
    apr_int64_t n;
    replay_t ctx;
    int done, rejected;

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 1024;
    ck_assert_int_eq(llm_audit_spool_depth(&sp, pool, &size, &n),
                     APR_SUCCESS);
    ck_assert_int_eq(size, 0);
    ck_assert(llm_audit_spool_has_room(&sp, pool, 100));
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, "one", 3),
                     APR_SUCCESS);
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, "two", 3),
                     APR_SUCCESS);
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, "three", 5),
                     APR_SUCCESS);
    llm_audit_spool_depth(&sp, pool, &size, &n);
    ck_assert_int_eq(size, 14);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(file_size(sp.path), 14);

    reset(&ctx);
    ck_assert_int_eq(llm_audit_spool_replay(&sp, pool, 0, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(done, 3);
    ck_assert_int_eq(rejected, 0);
    ck_assert_str_eq(ctx.seen[0], "one");
    ck_assert_str_eq(ctx.seen[2], "three");
    ck_assert_int_eq(file_size(sp.path), 0);
}
END_TEST

START_TEST(spool_sets_aside_a_refused_record)
{
    llm_audit_spool_t sp;
    replay_t ctx;
    int done, rejected;

    sp.path = write_file("refused.spool", "one\nFbad\nthree\n", 15);
    sp.max_size = 0;
    reset(&ctx);
    ck_assert_int_eq(llm_audit_spool_replay(&sp, pool, 0, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(done, 2);
    ck_assert_int_eq(rejected, 1);
    ck_assert_int_eq(file_size(sp.path), 0);
    ck_assert_int_eq(file_size(apr_pstrcat(pool, sp.path, ".rejected",
                                           NULL)), 5);
}
END_TEST

START_TEST(spool_kept_whole_when_the_database_fails)
{
    llm_audit_spool_t sp;
    replay_t ctx;
    int done, rejected;
    char lines[64];

    /* Nothing goes in: the database, not the records. */
    sp.path = write_file("down.spool", "Fa\nFb\nFc\n", 9);
    sp.max_size = 0;
    reset(&ctx);
    ck_assert_int_ne(llm_audit_spool_replay(&sp, pool, 0, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(done, 0);
    ck_assert_int_eq(rejected, 0);
    ck_assert_int_eq(file_size(sp.path), 9);

    /* Some went in, then the database stopped answering. */
    sp.path = write_file("gone.spool", "a\nFb\nc\n", 7);
    reset(&ctx);
    ctx.healthy = 0;
    ck_assert_int_ne(llm_audit_spool_replay(&sp, pool, 0, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(file_size(sp.path), 7);

    /* Ten failures in a row stop the attempt, whatever came before. */
    strcpy(lines, "ok\n");
    for (done = 0; done < LLM_AUDIT_SPOOL_MAX_FAILURES + 2; done++) {
        strcat(lines, "F\n");
    }
    sp.path = write_file("many.spool", lines, strlen(lines));
    reset(&ctx);
    ck_assert_int_ne(llm_audit_spool_replay(&sp, pool, 0, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(done, 1);
    ck_assert_int_eq(file_size(sp.path), (apr_off_t)strlen(lines));
}
END_TEST

START_TEST(spool_is_bounded)
{
    llm_audit_spool_t sp;
    char line[100];

    sp.path = apr_pstrcat(pool, tmpdir, "/small.spool", NULL);
    sp.max_size = 250;
    memset(line, 'x', sizeof(line));
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, line, 100),
                     APR_SUCCESS);
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, line, 100),
                     APR_SUCCESS);
    ck_assert(!llm_audit_spool_has_room(&sp, pool, 100));
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, line, 100),
                     APR_ENOSPC);
    ck_assert_int_eq(file_size(sp.path), 202);
    /* Unwritable place: an error, not a crash. */
    sp.path = "/nonexistent-dir/x.spool";
    ck_assert_int_ne(llm_audit_spool_append(&sp, pool, line, 10),
                     APR_SUCCESS);
    ck_assert(!llm_audit_spool_has_room(&sp, pool, 10));
}
END_TEST

START_TEST(spool_rejects_torn_and_bad_lines)
{
    llm_audit_spool_t sp;
    replay_t ctx;
    int done, rejected;
    const char *rej;

    sp.path = write_file("torn.spool", "good1\n!bad\ngood2\nhalf-writ", 26);
    sp.max_size = 0;
    reset(&ctx);
    ck_assert_int_eq(llm_audit_spool_replay(&sp, pool, 0, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(done, 2);
    ck_assert_int_eq(rejected, 2);
    ck_assert_int_eq(file_size(sp.path), 0);
    rej = apr_pstrcat(pool, sp.path, ".rejected", NULL);
    ck_assert_int_eq(file_size(rej), 15);    /* "!bad\nhalf-writ\n" */
}
END_TEST

START_TEST(spool_replay_nonblocking_when_busy)
{
    llm_audit_spool_t sp;
    replay_t ctx;
    int done, rejected, fd;

    sp.path = apr_pstrcat(pool, tmpdir, "/busy.spool", NULL);
    sp.max_size = 0;
    ck_assert_int_eq(llm_audit_spool_append(&sp, pool, "x", 1), APR_SUCCESS);
    fd = open(sp.path, O_RDONLY);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    reset(&ctx);
    ck_assert_int_eq(llm_audit_spool_replay(&sp, pool, 1, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_EAGAIN);
    ck_assert_int_eq(ctx.calls, 0);
    close(fd);
    ck_assert_int_eq(llm_audit_spool_replay(&sp, pool, 1, collect, healthy,
                                            &ctx, &done, &rejected),
                     APR_SUCCESS);
    ck_assert_int_eq(done, 1);
}
END_TEST

/* -- body crypto ---------------------------------------------------------------- */

START_TEST(crypt_round_trip_and_failures)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"plain-words-of-the-prompt\"}]}";
    const char *blob, *blob2, *out, *err = NULL;
    apr_size_t len;
    char *bad;

    blob = llm_audit_encrypt(pool, test_key, 32, "req-1", body,
                             strlen(body), &err);
    ck_assert_ptr_nonnull(blob);
    ck_assert_int_eq(strncmp(blob, "v1:", 3), 0);
    /* Long enough that random base64 never holds it by chance ("hi" did,
     * one run in a few hundred). */
    ck_assert_ptr_null(strstr(blob, "plain-words-of-the-prompt"));
    ck_assert_ptr_null(strstr(blob, "messages"));
    out = llm_audit_decrypt(pool, test_key, 32, "req-1", blob, &len, &err);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len, strlen(body));
    ck_assert_str_eq(out, body);
    /* A fresh nonce every time. */
    blob2 = llm_audit_encrypt(pool, test_key, 32, "req-1", body,
                              strlen(body), &err);
    ck_assert_str_ne(blob, blob2);
    /* Wrong row, wrong key, altered text, not a blob. */
    ck_assert_ptr_null(llm_audit_decrypt(pool, test_key, 32, "req-2", blob,
                                         &len, &err));
    ck_assert_ptr_nonnull(strstr(err, "authentication failed"));
    ck_assert_ptr_null(llm_audit_decrypt(pool, (const unsigned char *)
                                         "another key of thirty-two bytes",
                                         32, "req-1", blob, &len, &err));
    bad = apr_pstrdup(pool, blob);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    ck_assert_ptr_null(llm_audit_decrypt(pool, test_key, 32, "req-1", bad,
                                         &len, &err));
    ck_assert_ptr_null(llm_audit_decrypt(pool, test_key, 32, "req-1",
                                         "plain text", &len, &err));
    ck_assert_ptr_null(llm_audit_encrypt(pool, test_key, 16, "r", "x", 1,
                                         &err));
    /* Empty body. */
    blob = llm_audit_encrypt(pool, test_key, 32, "r", "", 0, &err);
    out = llm_audit_decrypt(pool, test_key, 32, "r", blob, &len, &err);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len, 0);
}
END_TEST

static int journal_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        n += strstr(de->d_name, "audit.spool.j.") == de->d_name;
    }
    closedir(d);
    return n;
}

/* A request's intent and its sealed record in chain c, as JSON lines. */
static const char *intent_line(const char *chain_id, const char *id)
{
    llm_audit_record_t rec;

    sample(&rec);
    rec.v[LLM_AUDIT_F_REQUEST_ID] = id;
    rec.v[LLM_AUDIT_F_CHAIN_ID] = chain_id;
    rec.v[LLM_AUDIT_F_DECISION] = "error";
    rec.v[LLM_AUDIT_F_REASON] = "interrupted";
    return llm_audit_record_to_json(pool, &rec);
}

static const char *sealed_line(llm_audit_chain_t *c, const char *id)
{
    llm_audit_record_t rec;

    sample(&rec);
    rec.v[LLM_AUDIT_F_REQUEST_ID] = id;
    llm_audit_chain_seal(c, pool, &rec);
    return llm_audit_record_to_json(pool, &rec);
}

/* The spool's records, parsed, in order. */
static int spool_records(const llm_audit_spool_t *sp,
                         llm_audit_record_t *out, int max)
{
    char *buf, *line, *end;
    apr_size_t len;
    int fd = open(sp->path, O_RDONLY), n = 0;

    if (fd < 0) {
        return 0;
    }
    ck_assert_int_eq(llm_audit_read_all(fd, pool, &buf, &len), APR_SUCCESS);
    close(fd);
    for (line = buf; line < buf + len && n < max; line = end + 1) {
        end = memchr(line, '\n', (apr_size_t)(buf + len - line));
        ck_assert_ptr_nonnull(end);
        ck_assert_int_eq(llm_audit_record_from_json(pool, line,
                                                    (apr_size_t)(end - line),
                                                    &out[n]), APR_SUCCESS);
        n++;
    }
    return n;
}

/* The chain rows must verify: MACs and links from seq first_seq on. */
static void assert_chained(llm_audit_record_t *recs, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        char mac[LLM_AUDIT_MAC_HEX_LEN + 1];

        llm_audit_record_mac(pool, test_key, 32, &recs[i], mac);
        ck_assert_str_eq(mac, recs[i].v[LLM_AUDIT_F_MAC]);
        if (i > 0) {
            ck_assert_str_eq(recs[i].v[LLM_AUDIT_F_PREV_MAC],
                             recs[i - 1].v[LLM_AUDIT_F_MAC]);
            ck_assert_int_eq(apr_atoi64(recs[i].v[LLM_AUDIT_F_SEQ]),
                             apr_atoi64(recs[i - 1].v[LLM_AUDIT_F_SEQ]) + 1);
        }
    }
}

static apr_status_t recover(const llm_audit_spool_t *sp,
                            llm_audit_recovery_t *got)
{
    return llm_audit_journal_recover(sp, pool, test_key, 32, "gw", got);
}

START_TEST(journal_of_a_live_process_is_left_alone_and_removed_at_close)
{
    llm_audit_spool_t sp;
    llm_audit_journal_t *j;
    llm_audit_recovery_t got;
    llm_audit_chain_t *c = llm_audit_chain_create(pool, "c1", test_key, 32);
    const char *line;
    apr_int64_t n;
    apr_off_t size;
    int seg;

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 0;
    ck_assert_int_eq(llm_audit_journal_open(&j, pool, sp.path, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(journal_files(), 2);
    line = sealed_line(c, "r1");
    ck_assert_int_eq(llm_audit_journal_append(j, LLM_AUDIT_J_RECORD, line,
                                              strlen(line), 1, &seg),
                     APR_SUCCESS);
    llm_audit_journal_done(j, seg);

    /* Its owner lives (holds the locks): nothing is taken. */
    ck_assert_int_eq(recover(&sp, &got), APR_SUCCESS);
    ck_assert_int_eq(got.files, 0);
    ck_assert_int_eq(journal_files(), 2);

    llm_audit_journal_close(j);
    ck_assert_int_eq(journal_files(), 0);
    llm_audit_spool_depth(&sp, pool, &size, &n);
    ck_assert_int_eq(size, 0);
}
END_TEST

START_TEST(journal_is_bounded)
{
    llm_audit_spool_t sp;
    llm_audit_journal_t *j;
    int seg;

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    ck_assert_int_eq(llm_audit_journal_open(&j, pool, sp.path, 100),
                     APR_SUCCESS);
    ck_assert_int_eq(llm_audit_journal_append(j, LLM_AUDIT_J_INTENT,
                                              "{}", 2, 0, &seg), APR_SUCCESS);
    ck_assert_int_eq(llm_audit_journal_append(j, LLM_AUDIT_J_INTENT,
                                              intent_line("c", "r"),
                                              strlen(intent_line("c", "r")),
                                              0, &seg), APR_ENOSPC);
    llm_audit_journal_close(j);
}
END_TEST

/* A child that journals, as the module does, then dies: r1 stored (done),
 * r2 sealed but not stored, r3 upstream when it died (intent only). */
START_TEST(journal_of_a_dead_process_goes_to_the_spool_and_its_chain_ends)
{
    llm_audit_spool_t sp;
    llm_audit_recovery_t got;
    llm_audit_record_t recs[8];
    int status, n;
    pid_t pid;

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 0;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        llm_audit_journal_t *j;
        llm_audit_chain_t *c = llm_audit_chain_create(pool, "host:7:1",
                                                      test_key, 32);
        const char *l;
        int si, sr;

        if (llm_audit_journal_open(&j, pool, sp.path, 0) != APR_SUCCESS) {
            _exit(1);
        }
        l = intent_line("host:7:1", "r1");
        llm_audit_journal_append(j, LLM_AUDIT_J_INTENT, l, strlen(l), 0, &si);
        l = sealed_line(c, "r1");
        llm_audit_journal_append(j, LLM_AUDIT_J_RECORD, l, strlen(l), 1, &sr);
        llm_audit_journal_done(j, si);
        llm_audit_journal_done(j, sr);          /* r1 is stored */
        l = intent_line("host:7:1", "r2");
        llm_audit_journal_append(j, LLM_AUDIT_J_INTENT, l, strlen(l), 0, &si);
        l = sealed_line(c, "r2");
        llm_audit_journal_append(j, LLM_AUDIT_J_RECORD, l, strlen(l), 2, &sr);
        llm_audit_journal_done(j, si);
        l = intent_line("host:7:1", "r3");
        llm_audit_journal_append(j, LLM_AUDIT_J_INTENT, l, strlen(l), 0, &si);
        _exit(0);                /* dies without closing the journal */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(journal_files(), 2);

    ck_assert_int_eq(recover(&sp, &got), APR_SUCCESS);
    ck_assert_int_eq(journal_files(), 0);
    ck_assert_int_eq(got.files, 2);
    ck_assert_int_eq(got.interrupted, 1);
    ck_assert_int_eq(got.chains, 1);
    /* r1 was not cleared from the active file (it is small): moved again,
     * which the database's ON CONFLICT DO NOTHING absorbs. */
    ck_assert_int_eq(got.records, 2);
    n = spool_records(&sp, recs, 8);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(recs[0].v[LLM_AUDIT_F_REQUEST_ID], "r1");
    ck_assert_str_eq(recs[1].v[LLM_AUDIT_F_REQUEST_ID], "r2");
    ck_assert_str_eq(recs[2].v[LLM_AUDIT_F_REQUEST_ID], "r3");
    ck_assert_str_eq(recs[2].v[LLM_AUDIT_F_REASON], "interrupted");
    ck_assert_str_eq(recs[2].v[LLM_AUDIT_F_SEQ], "3");
    ck_assert_str_eq(recs[3].v[LLM_AUDIT_F_DECISION], LLM_AUDIT_DECISION_END);
    ck_assert_str_eq(recs[3].v[LLM_AUDIT_F_REASON], "process_died");
    ck_assert_str_eq(recs[3].v[LLM_AUDIT_F_CHAIN_ID], "host:7:1");
    assert_chained(recs, 4);

    /* Run again: nothing left to move. */
    ck_assert_int_eq(recover(&sp, &got), APR_SUCCESS);
    ck_assert_int_eq(got.files, 0);
}
END_TEST

/* Records stored and cleared away still leave where the chain stands:
 * the end record continues from the last seq, not from 0. */
START_TEST(journal_keeps_the_chain_head_across_clearing)
{
    llm_audit_spool_t sp;
    llm_audit_recovery_t got;
    llm_audit_record_t recs[4];
    int status, n;
    pid_t pid;

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 0;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        llm_audit_journal_t *j;
        llm_audit_chain_t *c = llm_audit_chain_create(pool, "c9", test_key,
                                                      32);
        apr_off_t written = 0;
        int seg, i = 0;

        if (llm_audit_journal_open(&j, pool, sp.path, 0) != APR_SUCCESS) {
            _exit(1);
        }
        /* Past two rotations, every record stored at once. */
        while (written < 3 * LLM_AUDIT_JOURNAL_ROTATE) {
            const char *l = sealed_line(c, apr_psprintf(pool, "r%d", ++i));

            if (llm_audit_journal_append(j, LLM_AUDIT_J_RECORD, l,
                                         strlen(l), c->seq, &seg)
                != APR_SUCCESS) {
                _exit(1);
            }
            llm_audit_journal_done(j, seg);
            written += (apr_off_t)strlen(l) + 2;
        }
        _exit(c->seq > 100 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(recover(&sp, &got), APR_SUCCESS);
    ck_assert_int_eq(got.chains, 1);
    ck_assert_int_lt(got.records, 100);      /* most were cleared away */
    n = spool_records(&sp, recs, 4) ;
    ck_assert_int_ge(n, 1);
    {
        /* The last line is the end record, right after the last seal. */
        llm_audit_record_t all[400];
        int k = spool_records(&sp, all, 400);

        ck_assert_str_eq(all[k - 1].v[LLM_AUDIT_F_DECISION],
                         LLM_AUDIT_DECISION_END);
        ck_assert_int_eq(apr_atoi64(all[k - 1].v[LLM_AUDIT_F_SEQ]),
                         apr_atoi64(all[k - 2].v[LLM_AUDIT_F_SEQ]) + 1);
        ck_assert_int_gt(apr_atoi64(all[k - 1].v[LLM_AUDIT_F_SEQ]), 100);
        assert_chained(all + k - 2, 2);
    }
}
END_TEST

/* The batch writer reports a whole batch done at once
 * (llm_audit_journal_done_n): the files are cleared as with one call per
 * record, and an entry not reported stays for recovery. */
START_TEST(journal_done_by_the_batch)
{
    llm_audit_spool_t sp;
    llm_audit_recovery_t got;
    llm_audit_record_t all[400];
    int status, k, i, last_kept = 0;
    pid_t pid;

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 0;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        llm_audit_journal_t *j;
        llm_audit_chain_t *c = llm_audit_chain_create(pool, "c8", test_key,
                                                      32);
        apr_off_t written = 0;
        int seg, n = 0, left[2] = { 0, 0 };

        if (llm_audit_journal_open(&j, pool, sp.path, 0) != APR_SUCCESS) {
            _exit(1);
        }
        while (written < 3 * LLM_AUDIT_JOURNAL_ROTATE) {
            const char *l = sealed_line(c, apr_psprintf(pool, "r%d", ++n));

            if (llm_audit_journal_append(j, LLM_AUDIT_J_RECORD, l,
                                         strlen(l), c->seq, &seg)
                != APR_SUCCESS) {
                _exit(1);
            }
            left[seg]++;
            written += (apr_off_t)strlen(l) + 2;
            if (n % 8 == 0) {
                llm_audit_journal_done_n(j, left);
                left[0] = left[1] = 0;
            }
        }
        {
            /* The last batch is reported done but for one record. */
            const char *l = sealed_line(c, apr_psprintf(pool, "r%d", ++n));

            if (llm_audit_journal_append(j, LLM_AUDIT_J_RECORD, l,
                                         strlen(l), c->seq, &seg)
                != APR_SUCCESS) {
                _exit(1);
            }
        }
        llm_audit_journal_done_n(j, left);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(recover(&sp, &got), APR_SUCCESS);
    ck_assert_int_eq(got.chains, 1);
    ck_assert_int_lt(got.records, 100);      /* most were cleared away */
    k = spool_records(&sp, all, 400);
    ck_assert_int_ge(k, 2);
    /* The record not reported done is there, before the chain's end. */
    for (i = 0; i < k; i++) {
        if (apr_atoi64(all[i].v[LLM_AUDIT_F_SEQ])
            == apr_atoi64(all[k - 1].v[LLM_AUDIT_F_SEQ]) - 1) {
            last_kept = 1;
        }
    }
    ck_assert_int_eq(last_kept, 1);
    ck_assert_str_eq(all[k - 1].v[LLM_AUDIT_F_DECISION],
                     LLM_AUDIT_DECISION_END);
}
END_TEST

/* A journal file nobody holds, as a dead process leaves it. */
static void orphan_journal(const char *content)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/audit.spool.j.1.2.0",
                                   NULL);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    close(fd);
}

START_TEST(journal_drops_a_torn_last_line)
{
    llm_audit_spool_t sp;
    llm_audit_recovery_t got;
    llm_audit_record_t recs[4];
    llm_audit_chain_t *c = llm_audit_chain_create(pool, "c2", test_key, 32);
    const char *one = sealed_line(c, "r1"), *two = sealed_line(c, "r2");

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 0;
    orphan_journal(apr_psprintf(pool, "R%s\nR%.40s", one, two));
    ck_assert_int_eq(recover(&sp, &got), APR_SUCCESS);
    ck_assert_int_eq(got.records, 1);
    /* r1, then the end record in r2's place: r2 was never whole. */
    ck_assert_int_eq(spool_records(&sp, recs, 4), 2);
    ck_assert_str_eq(recs[1].v[LLM_AUDIT_F_SEQ], "2");
    ck_assert_str_eq(recs[1].v[LLM_AUDIT_F_DECISION], LLM_AUDIT_DECISION_END);
}
END_TEST

START_TEST(journal_stays_when_the_spool_is_full)
{
    llm_audit_spool_t sp;
    llm_audit_recovery_t got;
    llm_audit_chain_t *c = llm_audit_chain_create(pool, "c3", test_key, 32);

    sp.path = apr_pstrcat(pool, tmpdir, "/audit.spool", NULL);
    sp.max_size = 4;
    orphan_journal(apr_psprintf(pool, "R%s\n", sealed_line(c, "r1")));
    ck_assert_int_eq(recover(&sp, &got), APR_ENOSPC);
    ck_assert_int_eq(got.files, 0);
    ck_assert_int_eq(journal_files(), 1);
}
END_TEST

typedef struct {
    llm_shm_lock_t lock;
    long counter;
} shared_counter_t;

START_TEST(shm_lock_loses_no_update_across_processes)
{
    shared_counter_t *sc = mmap(NULL, sizeof(*sc), PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pids[4];
    int i, k, status;

    ck_assert_ptr_ne(sc, MAP_FAILED);
    memset(sc, 0, sizeof(*sc));
    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            for (k = 0; k < 50000; k++) {
                llm_shm_lock(&sc->lock);
                /* A read, a yield point, a write: lost without the lock. */
                long v = sc->counter;
                if (k % 997 == 0) {
                    sched_yield();
                }
                sc->counter = v + 1;
                llm_shm_unlock(&sc->lock);
            }
            _exit(0);
        }
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ck_assert_int_eq(sc->counter, 200000);
    ck_assert_uint_eq(sc->lock.owner, 0);
    munmap(sc, sizeof(*sc));
}
END_TEST

START_TEST(shm_lock_held_by_a_dead_process_is_taken_over)
{
    shared_counter_t *sc = mmap(NULL, sizeof(*sc), PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pid;
    int status;

    ck_assert_ptr_ne(sc, MAP_FAILED);
    memset(sc, 0, sizeof(*sc));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        llm_shm_lock(&sc->lock);
        _exit(0);                       /* dies holding it */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_uint_eq(sc->lock.owner, (apr_uint32_t)pid);
    llm_shm_lock(&sc->lock);            /* returns: the owner is gone */
    ck_assert_uint_eq(sc->lock.owner, (apr_uint32_t)getpid());
    llm_shm_unlock(&sc->lock);
    munmap(sc, sizeof(*sc));
}
END_TEST

/* The modules keep their pid at child_init and lock with it
 * (llm_shm_lock_as): what the word holds must still be the child's own
 * pid, so that the parent takes over a lock the child died holding. */
START_TEST(shm_lock_as_a_kept_pid_is_taken_over_after_death)
{
    shared_counter_t *sc = mmap(NULL, sizeof(*sc), PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    apr_uint32_t parent = (apr_uint32_t)getpid();
    pid_t pid;
    int status;

    ck_assert_ptr_ne(sc, MAP_FAILED);
    memset(sc, 0, sizeof(*sc));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_uint32_t me = (apr_uint32_t)getpid();   /* its child_init */

        llm_shm_lock_as(&sc->lock, me);
        _exit(sc->lock.owner == me ? 0 : 1);         /* dies holding it */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(sc->lock.owner, (apr_uint32_t)pid);
    llm_shm_lock_as(&sc->lock, parent);  /* returns: the owner is gone */
    ck_assert_uint_eq(sc->lock.owner, parent);
    llm_shm_unlock(&sc->lock);
    munmap(sc, sizeof(*sc));
}
END_TEST

static Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc;

    tc = tcase_create("record");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, canonical_names_fields_and_skips_nulls);
    tcase_add_test(tc, canonical_normalises_database_text);
    tcase_add_test(tc, length_prefix_stops_field_smuggling);
    tcase_add_test(tc, json_round_trip);
    tcase_add_test(tc, json_line_escapes_every_byte_jansson_would_refuse);
    tcase_add_test(tc, json_line_escapes_at_every_offset);
    tcase_add_test(tc, insert_sql_per_driver);
    tcase_add_test(tc, time_format);
    tcase_add_test(tc, time_format_as_printf);
    tcase_add_test(tc, utf8_cleaning);
    tcase_add_test(tc, utf8_cleaning_at_every_offset);
    suite_add_tcase(s, tc);

    tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mac_known_answer);
    tcase_add_test(tc, chain_links_rows);
    tcase_add_test(tc, sealed_mac_matches_the_verifiers);
    tcase_add_test(tc, key_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("spool");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, spool_append_depth_replay);
    tcase_add_test(tc, spool_sets_aside_a_refused_record);
    tcase_add_test(tc, spool_kept_whole_when_the_database_fails);
    tcase_add_test(tc, spool_is_bounded);
    tcase_add_test(tc, spool_rejects_torn_and_bad_lines);
    tcase_add_test(tc, spool_replay_nonblocking_when_busy);
    suite_add_tcase(s, tc);

    tc = tcase_create("shm_lock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, shm_lock_loses_no_update_across_processes);
    tcase_add_test(tc, shm_lock_held_by_a_dead_process_is_taken_over);
    tcase_add_test(tc, shm_lock_as_a_kept_pid_is_taken_over_after_death);
    suite_add_tcase(s, tc);

    tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, journal_of_a_live_process_is_left_alone_and_removed_at_close);
    tcase_add_test(tc, journal_is_bounded);
    tcase_add_test(tc, journal_of_a_dead_process_goes_to_the_spool_and_its_chain_ends);
    tcase_add_test(tc, journal_keeps_the_chain_head_across_clearing);
    tcase_add_test(tc, journal_done_by_the_batch);
    tcase_add_test(tc, journal_drops_a_torn_last_line);
    tcase_add_test(tc, journal_stays_when_the_spool_is_full);
    suite_add_tcase(s, tc);

    tc = tcase_create("crypt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, crypt_round_trip_and_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(audit_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
