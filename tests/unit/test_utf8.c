/*
 * UTF-8: what is well-formed (shortest forms, no surrogates, nothing past
 * U+10FFFF, nothing cut short), and cleaning text for JSON.
 */
#include "common/utf8.h"
#include "tests/tests.h"

#include <string.h>

static void test_utf8_valid(void)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"", true},
        {"plain ascii", true},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xb6", true}, /* é € 💶 */
        {"\xff\xfe", false},                                 /* never in UTF-8 */
        {"\xc3", false},                                     /* cut short */
        {"\xe2\x82", false},
        {"\xc0\xaf", false},         /* overlong '/' */
        {"\xe0\x80\xaf", false},     /* overlong, 3 bytes */
        {"\xed\xa0\x80", false},     /* a surrogate */
        {"\xf4\x90\x80\x80", false}, /* past U+10FFFF */
        {"\x80", false},             /* a lone continuation */
        {"\xc3\x28", false},         /* a continuation missing */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cvg_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            printf("\n  case %zu\n", i);
        CU_ASSERT_EQUAL(cvg_utf8_valid(cases[i].s, strlen(cases[i].s)), cases[i].ok);
    }
    /* the length bounds the check: a sequence past it is cut short */
    CU_ASSERT_FALSE(cvg_utf8_valid("a\xc3\xa9", 2));
    CU_ASSERT_TRUE(cvg_utf8_valid("a\xc3\xa9", 3));
    uint32_t cp = 0;
    CU_ASSERT_EQUAL(cvg_utf8_next((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
    CU_ASSERT_EQUAL(cp, 0x20ac);
}

static void test_utf8_clean(void)
{
    char s[] = "no tenant \xff\xfe, caf\xc3\xa9, cut \xe2\x82";
    cvg_utf8_clean(s);
    CU_ASSERT_STRING_EQUAL(s, "no tenant ??, caf\xc3\xa9, cut ??");
    CU_ASSERT_TRUE(cvg_utf8_valid(s, strlen(s)));
    char ok[] = "caf\xc3\xa9";
    cvg_utf8_clean(ok);
    CU_ASSERT_STRING_EQUAL(ok, "caf\xc3\xa9");
}

static CU_TestInfo tests[] = {
    {"test_utf8_valid", test_utf8_valid},
    {"test_utf8_clean", test_utf8_clean},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_utf8 = {"unit_utf8", NULL, NULL, tests, 30};
