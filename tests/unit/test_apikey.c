/*
 * API keys: format, checksum (every single-character change is caught
 * before any lookup), keyed hashes and scopes.
 */
#include "common/apikey.h"
#include "common/err.h"
#include "common/crypto.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static void test_apikey_format(void)
{
    char key[CVG_APIKEY_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(cvg_apikey_generate(key), 0);
    CU_ASSERT_EQUAL(strlen(key), CVG_APIKEY_LEN);
    CU_ASSERT_EQUAL(strncmp(key, "cvgk_", 5), 0);
    for (size_t i = 5; i < CVG_APIKEY_LEN; i++)
        CU_ASSERT_PTR_NOT_NULL(
            strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", key[i]));
    CU_ASSERT_TRUE(cvg_apikey_well_formed(key));
    char prefix[CVG_APIKEY_DISPLAY_LEN + 1];
    cvg_apikey_display(key, prefix);
    CU_ASSERT_EQUAL(strlen(prefix), 12);
    CU_ASSERT_EQUAL(strncmp(prefix, key, 12), 0);
}

static void test_apikey_every_typo_is_caught(void)
{
    char key[CVG_APIKEY_LEN + 1];
    cvg_apikey_generate(key);
    const char *alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    int missed = 0;
    for (size_t i = 5; i < CVG_APIKEY_LEN; i++) {
        char saved = key[i];
        for (const char *c = alphabet; *c; c++) {
            if (*c == saved)
                continue;
            key[i] = *c;
            missed += cvg_apikey_well_formed(key);
        }
        key[i] = saved;
    }
    CU_ASSERT_EQUAL(missed, 0);
    /* Swapped neighbours, wrong prefix, wrong length, foreign characters. */
    char t[CVG_APIKEY_LEN + 2];
    memcpy(t, key, sizeof(key));
    char a = t[10];
    t[10] = t[11];
    t[11] = a;
    if (t[10] != t[11])
        CU_ASSERT_FALSE(cvg_apikey_well_formed(t));
    memcpy(t, key, sizeof(key));
    t[0] = 'x';
    CU_ASSERT_FALSE(cvg_apikey_well_formed(t));
    memcpy(t, key, sizeof(key));
    t[CVG_APIKEY_LEN - 1] = '\0';
    CU_ASSERT_FALSE(cvg_apikey_well_formed(t));
    memcpy(t, key, sizeof(key));
    t[20] = '-';
    CU_ASSERT_FALSE(cvg_apikey_well_formed(t));
    CU_ASSERT_FALSE(cvg_apikey_well_formed(NULL));
    CU_ASSERT_FALSE(cvg_apikey_well_formed(""));
}

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_apikey_random_and_unique(void)
{
    enum { N = 2000 };
    char(*keys)[CVG_APIKEY_LEN + 1] = malloc(N * (CVG_APIKEY_LEN + 1));
    int counts[62] = {0};
    for (int i = 0; i < N; i++) {
        cvg_apikey_generate(keys[i]);
        for (int j = 5; j < 5 + CVG_APIKEY_RANDOM_LEN; j++) {
            const char *alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            counts[strchr(alphabet, keys[i][j]) - alphabet]++;
        }
    }
    qsort(keys, N, CVG_APIKEY_LEN + 1, cmp);
    for (int i = 1; i < N; i++)
        CU_ASSERT(strcmp(keys[i - 1], keys[i]) != 0);
    /* 64000 characters over 62 symbols: each near 1032; a biased
     * generator (plain modulo of bytes) would put the first 8 near 1238. */
    for (int c = 0; c < 62; c++)
        CU_ASSERT(counts[c] > 850 && counts[c] < 1220);
    free(keys);
}

static void test_apikey_hash_needs_the_pepper(void)
{
    unsigned char p1[32] = {1}, p2[32] = {2};
    char key[CVG_APIKEY_LEN + 1], h1[CVG_APIKEY_HASH_HEX], h1b[CVG_APIKEY_HASH_HEX],
        h2[CVG_APIKEY_HASH_HEX];
    cvg_apikey_generate(key);
    cvg_apikey_hash(p1, key, h1);
    cvg_apikey_hash(p1, key, h1b);
    cvg_apikey_hash(p2, key, h2);
    CU_ASSERT_STRING_EQUAL(h1, h1b);
    CU_ASSERT_STRING_NOT_EQUAL(h1, h2);
    CU_ASSERT_EQUAL(strlen(h1), 64);
    CU_ASSERT_PTR_NULL(strstr(h1, key + 5));
}

static void test_apikey_scopes(void)
{
    const char *names[] = {"tenant:read", "pipelines:run"};
    unsigned bits = 0;
    const char *bad = NULL;
    CU_ASSERT_EQUAL(cvg_scopes_parse(names, 2, &bits, &bad), 0);
    CU_ASSERT_EQUAL(bits, CVG_SCOPE_TENANT_READ | CVG_SCOPE_PIPELINES_RUN);
    const char *all[] = {"*"};
    CU_ASSERT_EQUAL(cvg_scopes_parse(all, 1, &bits, &bad), 0);
    CU_ASSERT_EQUAL(bits, CVG_SCOPE_ALL);
    const char *wrong[] = {"tenant:read", "root"};
    CU_ASSERT_EQUAL(cvg_scopes_parse(wrong, 2, &bits, &bad), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(bad, "root");
    CU_ASSERT_STRING_EQUAL(cvg_scope_name(CVG_SCOPE_CREDENTIALS_WRITE), "credentials:write");
}

static CU_TestInfo tests[] = {
    {"test_apikey_format", test_apikey_format},
    {"test_apikey_every_typo_is_caught", test_apikey_every_typo_is_caught},
    {"test_apikey_random_and_unique", test_apikey_random_and_unique},
    {"test_apikey_hash_needs_the_pepper", test_apikey_hash_needs_the_pepper},
    {"test_apikey_scopes", test_apikey_scopes},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_apikey = {"unit_apikey", NULL, NULL, tests, 30};
