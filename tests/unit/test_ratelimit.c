/*
 * Token buckets, on a clock the test controls: the burst, the refill rate,
 * what the headers and Retry-After say, and independent buckets.
 */
#include "gateway/ratelimit.h"
#include "tests/tests.h"

static void test_ratelimit_bucket(void)
{
    gw_ratelimit_t *rl = gw_ratelimit_new();
    gw_rl_result_t r;
    int64_t t = 1000000;
    for (int i = 0; i < 60; i++) {
        gw_ratelimit_take(rl, "key:a", 60, 60, t, &r);
        CU_ASSERT_TRUE(r.allowed);
    }
    CU_ASSERT_EQUAL(r.remaining, 0);
    CU_ASSERT_EQUAL(r.limit, 60);
    CU_ASSERT_EQUAL(r.window_s, 60);
    gw_ratelimit_take(rl, "key:a", 60, 60, t, &r);
    CU_ASSERT_FALSE(r.allowed);
    CU_ASSERT_EQUAL(r.retry_after_s, 1); /* one token a second */
    /* Another key has its own bucket. */
    gw_ratelimit_take(rl, "key:b", 60, 60, t, &r);
    CU_ASSERT_TRUE(r.allowed);
    CU_ASSERT_EQUAL(r.remaining, 59);
    /* A second later, one more request fits. */
    gw_ratelimit_take(rl, "key:a", 60, 60, t + 1000, &r);
    CU_ASSERT_TRUE(r.allowed);
    gw_ratelimit_take(rl, "key:a", 60, 60, t + 1000, &r);
    CU_ASSERT_FALSE(r.allowed);
    /* After a full window the bucket is full again, never fuller. */
    gw_ratelimit_take(rl, "key:a", 60, 60, t + 600000, &r);
    CU_ASSERT_TRUE(r.allowed);
    CU_ASSERT_EQUAL(r.remaining, 59);
    CU_ASSERT_EQUAL(r.reset_s, 1);
    /* 3 per hour: the refused one must wait 20 minutes. */
    for (int i = 0; i < 3; i++)
        gw_ratelimit_take(rl, "signup:10.0.0.1", 3, 3600, t, &r);
    gw_ratelimit_take(rl, "signup:10.0.0.1", 3, 3600, t, &r);
    CU_ASSERT_FALSE(r.allowed);
    CU_ASSERT_EQUAL(r.retry_after_s, 1200);
    gw_ratelimit_destroy(&rl);
    CU_ASSERT_PTR_NULL(rl);
}

/* A peek answers as a take would, and takes nothing. */
static void test_ratelimit_peek(void)
{
    gw_ratelimit_t *rl = gw_ratelimit_new();
    gw_rl_result_t r;
    int64_t t = 5000000;
    for (int i = 0; i < 5; i++) {
        gw_ratelimit_peek(rl, "badkey:10.0.0.2", 2, 60, t, &r);
        CU_ASSERT_TRUE(r.allowed);
        CU_ASSERT_EQUAL(r.remaining, 2);
    }
    gw_ratelimit_take(rl, "badkey:10.0.0.2", 2, 60, t, &r);
    gw_ratelimit_take(rl, "badkey:10.0.0.2", 2, 60, t, &r);
    CU_ASSERT_TRUE(r.allowed);
    gw_ratelimit_peek(rl, "badkey:10.0.0.2", 2, 60, t, &r);
    CU_ASSERT_FALSE(r.allowed);
    CU_ASSERT_EQUAL(r.retry_after_s, 30);
    /* refilled by the clock, not by peeking */
    gw_ratelimit_peek(rl, "badkey:10.0.0.2", 2, 60, t + 30000, &r);
    CU_ASSERT_TRUE(r.allowed);
    CU_ASSERT_EQUAL(r.remaining, 1);
    gw_ratelimit_destroy(&rl);
}

static CU_TestInfo tests[] = {
    {"test_ratelimit_bucket", test_ratelimit_bucket},
    {"test_ratelimit_peek", test_ratelimit_peek},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_ratelimit = {"unit_ratelimit", NULL, NULL, tests, 30};
