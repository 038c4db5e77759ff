/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * libFuzzer target for the PDF text reader (lib/dialect/pdf_text.c and
 * its font maps, pdf_cmap.c): any
 * bytes a caller can send as a PDF document, read without a fault or a
 * read past the end, and every byte of the text it gives readable.
 * Built and run by pdf.sh.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "dialect_private.h"

static apr_pool_t *root_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root_pool, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *text;
    size_t len;

    apr_pool_create(&p, root_pool);
    if (llm_pdf_text(p, data, size, &text, &len) == LLM_PDF_OK && len) {
        /* every byte of the text is readable */
        volatile unsigned char sum = 0;
        size_t k;

        for (k = 0; k < len; k++) {
            sum ^= (unsigned char)text[k];
        }
        (void)sum;
    }
    apr_pool_destroy(p);
    return 0;
}
