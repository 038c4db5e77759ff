/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The text of a PDF (lib/dialect/pdf_text.c): what its pages show, plain
 * and Flate-compressed, pieces of one run joined, escapes undone, the
 * strings of its dictionaries; pictures and fonts left out; a "stream"
 * written inside a string taken for a word; encrypted documents and
 * deflate bombs told apart; any cut of a document read without a fault.
 */

#include <stdlib.h>
#include <zlib.h>

#include "test_util.h"
#include "dialect_private.h"

static const char *text_of(const char *pdf, size_t n, llm_pdf_e *rc)
{
    const char *t;
    size_t len;

    *rc = llm_pdf_text(tp, (const unsigned char *)pdf, n, &t, &len);
    return apr_pstrmemdup(tp, t, len);
}

static const char *ok_text(const char *pdf, size_t n)
{
    llm_pdf_e rc;
    const char *t = text_of(pdf, n, &rc);

    ck_assert_int_eq(rc, LLM_PDF_OK);
    return t;
}

/* A one-object document around a stream. */
static char *doc(const char *dict, const char *data, size_t dlen,
                 size_t *n)
{
    char *head = apr_psprintf(tp, "%%PDF-1.7\n4 0 obj\n<< %s /Length %zu >>"
                              "\nstream\n", dict, dlen);
    const char *tail = "\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n"
                       "%%EOF\n";
    size_t h = strlen(head), t = strlen(tail);
    char *b = apr_palloc(tp, h + dlen + t);

    memcpy(b, head, h);
    memcpy(b + h, data, dlen);
    memcpy(b + h + dlen, tail, t);
    *n = h + dlen + t;
    return b;
}

static char *deflated(const char *s, size_t n, size_t *out)
{
    uLongf cap = compressBound((uLong)n);
    char *b = apr_palloc(tp, cap);

    ck_assert_int_eq(compress2((Bytef *)b, &cap, (const Bytef *)s, (uLong)n,
                               6), Z_OK);
    *out = cap;
    return b;
}

#define KEY "AKIAQ3EGYBZ5KXW7LM2P"

/* Bytes with their length (stream data holds NULs). */
typedef struct {
    char *b;
    size_t n;
} bytes_t;

static bytes_t str_(const char *s)
{
    bytes_t x = { apr_pstrdup(tp, s), strlen(s) };

    return x;
}

static bytes_t cat_(bytes_t a, const char *s, size_t n)
{
    bytes_t x;

    x.b = apr_palloc(tp, a.n + n);
    memcpy(x.b, a.b, a.n);
    memcpy(x.b + a.n, s, n);
    x.n = a.n + n;
    return x;
}

/* A stream object's body: the dictionary, Flate data. */
static bytes_t zstream(const char *dict, const char *data)
{
    size_t z;
    char *d = deflated(data, strlen(data), &z);
    bytes_t x = str_(apr_psprintf(tp, "<< %s /Filter /FlateDecode"
                                  " /Length %zu >>\nstream\n", dict, z));

    x = cat_(x, d, z);
    return cat_(x, "\nendstream", 10);
}

/* A document of objects numbered from 1 (none for a NULL one). */
static bytes_t pdf_of(const bytes_t *objs, int n)
{
    bytes_t x = str_("%PDF-1.7\n");
    const char *head;
    int i;

    for (i = 0; i < n; i++) {
        if (!objs[i].b) {
            continue;                   /* a number kept elsewhere */
        }
        head = apr_psprintf(tp, "%d 0 obj\n", i + 1);
        x = cat_(x, head, strlen(head));
        x = cat_(x, objs[i].b, objs[i].n);
        x = cat_(x, "\nendobj\n", 8);
    }
    return cat_(x, "trailer << /Root 1 0 R >>\n%%EOF\n", 31);
}

/* A ToUnicode map of 2-byte glyph ids: ranges (letters from first,
 * digits), single codes, an array form and a character outside the BMP. */
#define TOUNICODE(first) \
    "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n" \
    "1 begincodespacerange <0000> <FFFF> endcodespacerange\n" \
    "3 beginbfrange <0003> <001C> <" first "> <001D> <0026> <0030>\n" \
    "<0040> <0042> [<0061> <0062> <0063>] endbfrange\n" \
    "2 beginbfchar <0050> <0020> <0051> <D83DDE00> endbfchar\n" \
    "endcmap CMapName currentdict /CMap defineresource pop end end"

/* "AKIAQ3..." as glyph ids of TOUNICODE("0041") (A = 0003 ...) and of
 * TOUNICODE("0061") the same ids read as lower case. */
static const char *glyphs(const char *ascii)
{
    char *o = apr_palloc(tp, strlen(ascii) * 4 + 3);
    size_t k, m = 0;

    o[m++] = '<';
    for (k = 0; ascii[k]; k++) {
        int code = ascii[k] >= 'A' && ascii[k] <= 'Z' ? ascii[k] - 'A' + 3
                 : ascii[k] >= '0' && ascii[k] <= '9'
                   ? 0x1d + ascii[k] - '0' : 0x50;
        m += (size_t)sprintf(o + m, "%04X", code);
    }
    o[m++] = '>';
    o[m] = '\0';
    return o;
}

START_TEST(plain_page_text)
{
    const char *page = "BT /F1 12 Tf 72 712 Td (aws_access_key_id " KEY
                       ") Tj ET";
    size_t n;
    char *pdf = doc("", page, strlen(page), &n);

    ck_assert_ptr_nonnull(strstr(ok_text(pdf, n), "aws_access_key_id " KEY));
}
END_TEST

START_TEST(flate_page_text)
{
    const char *page = "BT /F1 12 Tf 72 712 Td (deploy with " KEY ") Tj ET";
    size_t z, n;
    char *data = deflated(page, strlen(page), &z), *pdf;
    const char *t;

    pdf = doc("/Filter /FlateDecode", data, z, &n);
    ck_assert_ptr_null(memmem(pdf, n, KEY, strlen(KEY)));
    t = ok_text(pdf, n);
    ck_assert_ptr_nonnull(strstr(t, "deploy with " KEY));
    /* as an array of one filter, and with the length a reference */
    pdf = doc("/Filter [/FlateDecode] /Length 9 0 R", data, z, &n);
    ck_assert_ptr_nonnull(strstr(ok_text(pdf, n), KEY));
}
END_TEST

START_TEST(pieces_of_one_run_are_joined)
{
    /* kerned pieces, separate Tj's of one line, a hex piece, an escaped
     * piece: one value to a reader */
    const char *page = "BT /F1 9 Tf 10 10 Td [(AKIA) -12 (Q3EG) 30 (YBZ5)] TJ"
                       " <4b5857> Tj (7L\\115) Tj (2P) Tj ET";
    size_t n;
    char *pdf = doc("", page, strlen(page), &n);

    ck_assert_ptr_nonnull(strstr(ok_text(pdf, n), KEY));
}
END_TEST

START_TEST(gaps_and_lines_separate_words)
{
    const char *page = "BT [(user)-400(name)] TJ 0 -14 Td (next) Tj T* (line)"
                       " Tj (\\(nested (parens)\\) ok) Tj"
                       " (cont\\\ninued) Tj (tab\\tx) ' ET";
    size_t n;
    char *pdf = doc("", page, strlen(page), &n);
    const char *t = ok_text(pdf, n);

    ck_assert_ptr_nonnull(strstr(t, "user name"));
    ck_assert_ptr_nonnull(strstr(t, "next\nline"));
    ck_assert_ptr_nonnull(strstr(t, "(nested (parens)) ok"));
    ck_assert_ptr_nonnull(strstr(t, "continued"));
    ck_assert_ptr_nonnull(strstr(t, "\ntab\tx"));
}
END_TEST

START_TEST(dictionary_strings_are_read)
{
    /* an annotation, a link, form field value, UTF-16 document info */
    static const char pdf[] =
        "%PDF-1.4\n1 0 obj << /Type /Annot /Contents (token " KEY ") >>"
        " endobj\n2 0 obj << /URI (https://x.test/?a=b) /V (field value) >>"
        " endobj\n3 0 obj << /Title (\xfe\xff\x00h\x00\xe9\x00y) >> endobj\n"
        "trailer << /Info 3 0 R >>\n%%EOF\n";
    const char *t = ok_text(pdf, sizeof(pdf) - 1);

    ck_assert_ptr_nonnull(strstr(t, "token " KEY));
    ck_assert_ptr_nonnull(strstr(t, "https://x.test/?a=b"));
    ck_assert_ptr_nonnull(strstr(t, "field value"));
    ck_assert_ptr_nonnull(strstr(t, "h\xc3\xa9y"));
}
END_TEST

START_TEST(the_word_stream_in_a_string_is_a_word)
{
    /* a string holding the keyword must not turn what follows into a
     * stream's data, where dictionary strings are not read */
    static const char pdf[] =
        "%PDF-1.4\n1 0 obj << /Contents (see the >> stream\n below) >> endobj\n"
        "2 0 obj << /Contents (" KEY ") >> endobj\n"
        "3 0 obj << /Length 0 >>\nstream\n\nendstream endobj\n%%EOF\n";

    ck_assert_ptr_nonnull(strstr(ok_text(pdf, sizeof(pdf) - 1), KEY));
}
END_TEST

START_TEST(compressed_object_streams_are_read)
{
    const char *objs = "5 0 6 40 << /Type /Annot /Contents (in objstm " KEY
                       ") >> << /V (x) >>";
    size_t z, n;
    char *data = deflated(objs, strlen(objs), &z);
    char *pdf = doc("/Type /ObjStm /N 2 /First 8 /Filter /FlateDecode", data,
                    z, &n);

    ck_assert_ptr_nonnull(strstr(ok_text(pdf, n), "in objstm " KEY));
}
END_TEST

START_TEST(pictures_and_fonts_are_left_out)
{
    const char *drawn = "BT (" KEY ") Tj ET";
    size_t n;
    char *pdf;

    pdf = doc("/Type /XObject /Subtype /Image /Width 1 /Height 1", drawn,
              strlen(drawn), &n);
    ck_assert_ptr_null(strstr(ok_text(pdf, n), KEY));
    pdf = doc("/Length1 900", drawn, strlen(drawn), &n);
    ck_assert_ptr_null(strstr(ok_text(pdf, n), KEY));
    pdf = doc("/Filter /DCTDecode", drawn, strlen(drawn), &n);
    ck_assert_ptr_null(strstr(ok_text(pdf, n), KEY));
}
END_TEST

START_TEST(encrypted_documents_are_told_apart)
{
    static const char enc[] = "%PDF-1.6\n1 0 obj << >> endobj\n"
                              "trailer << /Encrypt 7 0 R /Root 1 0 R >>\n";
    static const char enc2[] = "%PDF-1.6\ntrailer << /Encrypt << /V 4 >> >>\n";
    static const char words[] = "%PDF-1.6\n1 0 obj << /Contents "
                                "(a /Encrypt) >> endobj\n";
    llm_pdf_e rc;

    text_of(enc, sizeof(enc) - 1, &rc);
    ck_assert_int_eq(rc, LLM_PDF_ENCRYPTED);
    text_of(enc2, sizeof(enc2) - 1, &rc);
    ck_assert_int_eq(rc, LLM_PDF_ENCRYPTED);
    ck_assert_ptr_nonnull(strstr(ok_text(words, sizeof(words) - 1),
                                 "a /Encrypt"));
}
END_TEST

START_TEST(deflate_bombs_are_too_large)
{
    size_t big = 80u * 1024 * 1024, z, n;
    char *zeros = calloc(1, big), *data, *pdf;
    llm_pdf_e rc;

    ck_assert_ptr_nonnull(zeros);
    data = deflated(zeros, big, &z);
    free(zeros);
    ck_assert_uint_lt(z, 200 * 1024);
    pdf = doc("/Filter /FlateDecode", data, z, &n);
    text_of(pdf, n, &rc);
    ck_assert_int_eq(rc, LLM_PDF_TOO_LARGE);
}
END_TEST

START_TEST(every_cut_reads_without_a_fault)
{
    const char *page = "BT [(AKIA) -12 (Q3EG)] TJ <4b58> Tj (a\\(b\\\\) ' ET";
    size_t z, n, k;
    char *data = deflated(page, strlen(page), &z);
    char *pdf = doc("/Filter /FlateDecode", data, z, &n), *cut;
    const char *t;
    size_t len;

    for (k = 0; k <= n; k++) {
        cut = malloc(k ? k : 1);        /* exactly k bytes: valgrind sees
                                         * a read past the cut */
        memcpy(cut, pdf, k);
        (void)llm_pdf_text(tp, (const unsigned char *)cut, k, &t, &len);
        free(cut);
    }
}
END_TEST


START_TEST(cid_fonts_read_through_their_tounicode_map)
{
    /* as browsers write: a Type0 font with subset glyph ids; the page's
     * resources by reference, the font and its map compressed */
    bytes_t o[8];
    bytes_t doc;
    const char *t;

    o[0] = str_("<< /Type /Catalog /Pages 2 0 R >>");
    o[1] = str_("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    o[2] = str_("<< /Type /Page /Parent 2 0 R /Resources 5 0 R"
                " /Contents [4 0 R] >>");
    o[3] = zstream("", apr_psprintf(tp, "BT /F4 9 Tf 1 0 0 1 9 9 Tm %s Tj"
                                    " [%s -20 <0040> 5 <0051>] TJ ET",
                                    glyphs("KEY " KEY), glyphs("x")));
    o[4] = str_("<< /Font << /F4 6 0 R >> >>");
    o[5] = str_("<< /Type /Font /Subtype /Type0 /BaseFont /AAAA+Arial"
                " /Encoding /Identity-H /ToUnicode 8 0 R >>");
    o[6] = str_("<< /Type /Font >>");
    o[7] = zstream("", TOUNICODE("0041"));
    doc = pdf_of(o, 8);
    ck_assert_ptr_null(memmem(doc.b, doc.n, "AKIA", 4));
    t = ok_text(doc.b, doc.n);
    ck_assert_msg(strstr(t, "KEY " KEY) != NULL, "got [%s]", t);
    /* the array form, a code mapped alone, outside the BMP */
    ck_assert_ptr_nonnull(strstr(t, " a\xf0\x9f\x98\x80"));
}
END_TEST

START_TEST(each_page_reads_with_its_own_fonts)
{
    /* two pages name different fonts /F1; a form draws with its own;
     * page 2's resources are inherited from the page tree; one map sits
     * in an object stream */
    bytes_t o[13];
    bytes_t doc;
    const char *t, *objs;

    o[0] = str_("<< /Type /Catalog /Pages 2 0 R >>");
    o[1] = str_("<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2"
                " /Resources << /Font << /F1 8 0 R >> >> >>");
    o[2] = str_("<< /Type /Page /Parent 2 0 R /Contents 5 0 R"
                " /Resources << /Font << /F1 7 0 R >> /XObject"
                " << /X1 11 0 R >> >> >>");
    o[3] = str_("<< /Type /Page /Parent 2 0 R /Contents 6 0 R >>");
    o[4] = zstream("", apr_psprintf(tp, "BT /F1 9 Tf %s Tj ET /X1 Do",
                                    glyphs("PAGEONE")));
    o[5] = zstream("", apr_psprintf(tp, "BT /F1 9 Tf %s Tj ET",
                                    glyphs("PAGETWO")));
    o[6] = str_("<< /Type /Font /Subtype /Type0 /ToUnicode 9 0 R >>");
    o[7].b = NULL;                      /* font 8: in object stream 13 */
    o[8] = zstream("", TOUNICODE("0041"));
    o[9] = str_("<< /Type /Font /Subtype /Type0 /ToUnicode 9 0 R >>");
    o[10] = zstream("/Type /XObject /Subtype /Form /Resources"
                    " << /Font << /F1 10 0 R >> >>",
                    apr_psprintf(tp, "BT /F1 9 Tf %s Tj ET",
                                 glyphs("FORM")));
    o[11] = zstream("", TOUNICODE("0061"));
    objs = "8 0 << /Type /Font /Subtype /Type0 /ToUnicode 12 0 R >>";
    o[12] = zstream("/Type /ObjStm /N 1 /First 4", objs);
    doc = pdf_of(o, 13);
    t = ok_text(doc.b, doc.n);
    ck_assert_msg(strstr(t, "PAGEONE") != NULL, "got [%s]", t);
    ck_assert_msg(strstr(t, "pagetwo") != NULL, "got [%s]", t);
    ck_assert_msg(strstr(t, "FORM") != NULL, "got [%s]", t);
}
END_TEST

static Suite *pdf_suite(void)
{
    Suite *s = suite_create("pdf_text");
    TCase *tc = tcase_create("pdf");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plain_page_text);
    tcase_add_test(tc, flate_page_text);
    tcase_add_test(tc, pieces_of_one_run_are_joined);
    tcase_add_test(tc, gaps_and_lines_separate_words);
    tcase_add_test(tc, dictionary_strings_are_read);
    tcase_add_test(tc, the_word_stream_in_a_string_is_a_word);
    tcase_add_test(tc, compressed_object_streams_are_read);
    tcase_add_test(tc, pictures_and_fonts_are_left_out);
    tcase_add_test(tc, encrypted_documents_are_told_apart);
    tcase_add_test(tc, deflate_bombs_are_too_large);
    tcase_add_test(tc, every_cut_reads_without_a_fault);
    tcase_add_test(tc, cid_fonts_read_through_their_tounicode_map);
    tcase_add_test(tc, each_page_reads_with_its_own_fonts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(pdf_suite());
}
