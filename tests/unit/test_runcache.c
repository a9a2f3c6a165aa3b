/*
 * The gateway's cache of finished runs' answers, on a clock the test
 * controls: which states are kept, the time to live, the tenant each entry
 * remembers, replacing an entry, and starting over when full.
 */
#include "gateway/runcache.h"
#include "tests/tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char RUN_A[] = "01a210d3-ed32-76f4-9dd9-3b4344879c58";
static const char RUN_B[] = "01a210d3-ed32-76f4-9dd9-3b4344879c59";

static void test_runcache_final_states(void)
{
    const char *final[] = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "DEAD"};
    const char *moving[] = {"QUEUED", "DISPATCHED", "RUNNING", "RETRYING", "", "succeeded"};
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
        CU_ASSERT_TRUE(gw_runcache_final(final[i]));
    for (size_t i = 0; i < sizeof(moving) / sizeof(moving[0]); i++)
        CU_ASSERT_FALSE(gw_runcache_final(moving[i]));
    CU_ASSERT_FALSE(gw_runcache_final(NULL));
}

static void test_runcache_ttl_and_tenant(void)
{
    gw_runcache_t *c = gw_runcache_new(16, 1 << 20);
    char tenant[CVG_TENANT_ID_MAX + 1];
    size_t len = 0;
    int64_t t = 1000000;
    CU_ASSERT_PTR_NULL(gw_runcache_get(c, RUN_A, 5000, t, tenant, &len));
    const char body[] = "{\"status\":\"SUCCEEDED\"}\n";
    gw_runcache_put(c, RUN_A, "acme", body, strlen(body), t);
    char *got = gw_runcache_get(c, RUN_A, 5000, t + 4999, tenant, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, body);
    CU_ASSERT_EQUAL(len, strlen(body));
    CU_ASSERT_STRING_EQUAL(tenant, "acme");
    free(got);
    /* Another run is not that one; past the time to live nothing is. */
    CU_ASSERT_PTR_NULL(gw_runcache_get(c, RUN_B, 5000, t, tenant, &len));
    CU_ASSERT_PTR_NULL(gw_runcache_get(c, RUN_A, 5000, t + 5000, tenant, &len));
    /* A time to live of 0 turns the cache off. */
    CU_ASSERT_PTR_NULL(gw_runcache_get(c, RUN_A, 0, t, tenant, &len));
    /* Storing again replaces the answer and restarts its time. */
    const char newer[] = "{\"status\":\"DEAD\"}\n";
    gw_runcache_put(c, RUN_A, "acme", newer, strlen(newer), t + 6000);
    got = gw_runcache_get(c, RUN_A, 5000, t + 10000, tenant, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, newer);
    free(got);
    /* Ids too long to be run ids are neither kept nor found. */
    char long_id[80];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    gw_runcache_put(c, long_id, "acme", body, strlen(body), t);
    CU_ASSERT_PTR_NULL(gw_runcache_get(c, long_id, 5000, t, tenant, &len));
    gw_runcache_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
}

static void test_runcache_bounded(void)
{
    /* 16 runs at most: the 17th starts over, and every answer read back is
     * the one stored for that run. */
    gw_runcache_t *c = gw_runcache_new(16, 1 << 20);
    char tenant[CVG_TENANT_ID_MAX + 1], id[CVG_ID_LEN], body[64];
    size_t len = 0;
    for (int i = 0; i < 17; i++) {
        snprintf(id, sizeof(id), "01a210d3-ed32-76f4-9dd9-3b43448790%02u", (unsigned)i % 100u);
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        gw_runcache_put(c, id, "acme", body, strlen(body), 1000);
    }
    int kept = 0;
    for (int i = 0; i < 17; i++) {
        snprintf(id, sizeof(id), "01a210d3-ed32-76f4-9dd9-3b43448790%02u", (unsigned)i % 100u);
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        char *got = gw_runcache_get(c, id, 5000, 1000, tenant, &len);
        if (got) {
            CU_ASSERT_STRING_EQUAL(got, body);
            kept++;
        }
        free(got);
    }
    CU_ASSERT_EQUAL(kept, 1); /* the run stored after starting over */
    gw_runcache_destroy(&c);
    /* A byte budget of 800: answers over 100 bytes are not kept, and the
     * budget's overflow starts over too. */
    c = gw_runcache_new(16, 800);
    char big[200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    gw_runcache_put(c, RUN_A, "acme", big, strlen(big), 1000);
    CU_ASSERT_PTR_NULL(gw_runcache_get(c, RUN_A, 5000, 1000, tenant, &len));
    for (int i = 0; i < 9; i++) {
        snprintf(id, sizeof(id), "01a210d3-ed32-76f4-9dd9-3b43448790%02u", (unsigned)i % 100u);
        gw_runcache_put(c, id, "acme", big, 99, 1000);
    }
    kept = 0;
    for (int i = 0; i < 9; i++) {
        snprintf(id, sizeof(id), "01a210d3-ed32-76f4-9dd9-3b43448790%02u", (unsigned)i % 100u);
        char *got = gw_runcache_get(c, id, 5000, 1000, tenant, &len);
        kept += got != NULL;
        free(got);
    }
    CU_ASSERT_EQUAL(kept, 1); /* 8 x 99 bytes fit, the 9th started over */
    gw_runcache_destroy(&c);
}

static CU_TestInfo tests[] = {
    {"test_runcache_final_states", test_runcache_final_states},
    {"test_runcache_ttl_and_tenant", test_runcache_ttl_and_tenant},
    {"test_runcache_bounded", test_runcache_bounded},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_runcache = {"unit_runcache", NULL, NULL, tests, 30};
