/*
 * Bounded buffers: growth stops at the maximum; JSON escaping.
 */
#include "common/buf.h"
#include "common/err.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static void test_buf_bounded(void)
{
    cvg_buf_t b;
    cvg_buf_init(&b, 10);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "");
    CU_ASSERT_EQUAL(cvg_buf_puts(&b, "12345"), 0);
    CU_ASSERT_EQUAL(cvg_buf_printf(&b, "%d", 6789), 0);
    CU_ASSERT_EQUAL(b.len, 9);
    CU_ASSERT_EQUAL(cvg_buf_puts(&b, "ab"), CVG_ETOOBIG);
    CU_ASSERT_EQUAL(b.len, 9);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "123456789");
    /* Sticky: a later append that would fit is refused too, so the content
     * never has a hole where the refused part was. */
    CU_ASSERT_EQUAL(cvg_buf_puts(&b, "0"), CVG_ETOOBIG);
    CU_ASSERT_TRUE(b.overflow);
    cvg_buf_reset(&b);
    CU_ASSERT_EQUAL(cvg_buf_puts(&b, "1234567890"), 0);
    CU_ASSERT_EQUAL(cvg_buf_printf(&b, "%s", "x"), CVG_ETOOBIG);
    CU_ASSERT(b.cap <= 11);
    char *s = cvg_buf_detach(&b);
    CU_ASSERT_STRING_EQUAL(s, "1234567890");
    free(s);
    CU_ASSERT_EQUAL(b.len, 0);
    cvg_buf_cleanup(&b);
}

static void test_buf_json_escape(void)
{
    cvg_buf_t b;
    cvg_buf_init(&b, 1024);
    const char in[] = "a\"b\\c\nd\te\x01 é";
    CU_ASSERT_EQUAL(cvg_buf_append_json_str(&b, in, strlen(in)), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "\"a\\\"b\\\\c\\nd\\te\\u0001 é\"");
    cvg_buf_cleanup(&b);
}

static CU_TestInfo tests[] = {
    {"test_buf_bounded", test_buf_bounded},
    {"test_buf_json_escape", test_buf_json_escape},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_buf = {"unit_buf", NULL, NULL, tests, 30};
