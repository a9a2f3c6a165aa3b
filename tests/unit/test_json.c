/*
 * Untrusted JSON: depth checked before parsing, duplicates refused.
 */
#include "common/json.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static void test_json_depth_limit(void)
{
    enum { DEPTH = 10000 };
    char *deep = malloc(2 * DEPTH + 1);
    memset(deep, '[', DEPTH);
    memset(deep + DEPTH, ']', DEPTH);
    deep[2 * DEPTH] = '\0';
    json_t *doc = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_json_parse(deep, 2 * DEPTH, CVG_JSON_MAX_DEPTH, &doc, &err), CVG_ETOOBIG);
    CU_ASSERT_PTR_NULL(doc);
    free(deep);
    /* Brackets inside strings do not count. */
    const char *ok = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"}";
    CU_ASSERT_EQUAL(cvg_json_depth(ok, strlen(ok)), 1);
    CU_ASSERT_EQUAL(cvg_json_parse(ok, strlen(ok), 2, &doc, &err), 0);
    json_decref(doc);
}

static void test_json_rejects_malformed_and_duplicates(void)
{
    static const char *bad[] = {"{", "{\"a\":1,}", "{\"a\":1,\"a\":2}", "nul", "{'a':1}", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = NULL;
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_json_parse(bad[i], strlen(bad[i]), 8, &doc, &err), CVG_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "malformed JSON"));
        CU_ASSERT_PTR_NULL(doc);
    }
    /* a NUL byte, which jansson takes as the end after a number */
    static const char nul[] = "{\"overlap_seconds\": 10\0}";
    json_t *doc = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    CU_ASSERT_EQUAL(cvg_json_parse(nul, sizeof(nul) - 1, 8, &doc, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "malformed JSON: a NUL byte at offset 22");
    CU_ASSERT_PTR_NULL(doc);
    /* an escaped NUL in a string: said plainly, no library flag named */
    static const char esc[] = "{\"label\": \"a\\u0000b\"}";
    cvg_err_clear(&err);
    CU_ASSERT_EQUAL(cvg_json_parse(esc, sizeof(esc) - 1, 8, &doc, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\\u0000 (a NUL character) is not allowed"));
    CU_ASSERT_PTR_NULL(strstr(err.message, "JSON_ALLOW_NUL"));
}

static CU_TestInfo tests[] = {
    {"test_json_depth_limit", test_json_depth_limit},
    {"test_json_rejects_malformed_and_duplicates", test_json_rejects_malformed_and_duplicates},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_json = {"unit_json", NULL, NULL, tests, 30};
