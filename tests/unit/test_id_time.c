/*
 * Ids (UUIDv7 from the CSPRNG, time-ordered) and UTC time helpers.
 */
#include "common/err.h"
#include "common/id.h"
#include "common/time.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_id_format_and_version(void)
{
    char id[CVG_ID_LEN];
    CU_ASSERT_EQUAL_FATAL(cvg_id_new(id), 0);
    CU_ASSERT_EQUAL(strlen(id), 36);
    CU_ASSERT(cvg_id_valid(id));
    CU_ASSERT_EQUAL(id[14], '7');                   /* version 7 */
    CU_ASSERT_PTR_NOT_NULL(strchr("89ab", id[19])); /* RFC 9562 variant */
    int64_t ms = cvg_id_time_ms(id), now = cvg_time_now_ms();
    CU_ASSERT(ms <= now && now - ms < 5000);
    CU_ASSERT_FALSE(cvg_id_valid("0193C2B0-0000-7000-8000-000000000001")); /* upper case */
    CU_ASSERT_FALSE(cvg_id_valid("0193c2b0-0000-7000-8000-00000000001"));
    CU_ASSERT_FALSE(cvg_id_valid("0193c2b0x0000-7000-8000-000000000001"));
    CU_ASSERT_EQUAL(cvg_id_time_ms("not an id"), -1);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_id_strictly_increasing_and_unique(void)
{
    enum { N = 20000 };
    char(*ids)[CVG_ID_LEN] = malloc((size_t)N * CVG_ID_LEN);
    for (int i = 0; i < N; i++) {
        cvg_id_new(ids[i]);
        if (i > 0)
            CU_ASSERT(strcmp(ids[i - 1], ids[i]) < 0);
    }
    qsort(ids, N, CVG_ID_LEN, cmp);
    int dups = 0;
    for (int i = 1; i < N; i++)
        dups += strcmp(ids[i - 1], ids[i]) == 0;
    CU_ASSERT_EQUAL(dups, 0);
    free(ids);
}

static void test_id_random_bits_differ(void)
{
    /* Two ids in the same millisecond share the timestamp but not the
     * random tail. */
    char a[CVG_ID_LEN], b[CVG_ID_LEN];
    cvg_id_new(a);
    cvg_id_new(b);
    CU_ASSERT(strcmp(a + 24, b + 24) != 0);
}

static void test_id_fork_child_draws_its_own_bits(void)
{
    /* Ids take random bits from a per-thread pool: a forked child must
     * not reuse the bits its parent goes on to use. */
    char mine[CVG_ID_LEN], theirs[CVG_ID_LEN] = "";
    cvg_id_new(mine); /* the pool is filled now */
    int fd[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fd), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char id[CVG_ID_LEN];
        cvg_id_new(id);
        ssize_t w = write(fd[1], id, CVG_ID_LEN);
        _exit(w == CVG_ID_LEN ? 0 : 1);
    }
    close(fd[1]);
    cvg_id_new(mine);
    CU_ASSERT_EQUAL(read(fd[0], theirs, CVG_ID_LEN), CVG_ID_LEN);
    close(fd[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    theirs[CVG_ID_LEN - 1] = '\0';
    CU_ASSERT(cvg_id_valid(theirs));
    CU_ASSERT(strcmp(mine + 24, theirs + 24) != 0);
}

static void test_time_format_and_parse(void)
{
    static const struct {
        const char *in;
        int64_t ms;
        const char *iso;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00.000Z"},
        {"2026-11-25T10:00:00.123Z", 1795600800123, "2026-11-25T10:00:00.123Z"},
        {"2026-11-25 10:00:00", 1795600800000, "2026-11-25T10:00:00.000Z"},
        {"2026-11-25T12:00:00+02:00", 1795600800000, "2026-11-25T10:00:00.000Z"},
        {"2026-11-25T07:30:00-02:30", 1795600800000, "2026-11-25T10:00:00.000Z"},
        {"2026-11-25T10:00:00.123456789Z", 1795600800123, "2026-11-25T10:00:00.123Z"},
        {"2024-02-29", 1709164800000, "2024-02-29T00:00:00.000Z"},
        {"2000-02-29T23:59:59.999Z", 951868799999, "2000-02-29T23:59:59.999Z"},
        {"2026-12-31T23:59:59Z", 1798761599000, "2026-12-31T23:59:59.000Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        CU_ASSERT_EQUAL(cvg_time_parse_iso(cases[i].in, &ms), 0);
        CU_ASSERT_EQUAL(ms, cases[i].ms);
        char iso[CVG_TIME_ISO_LEN];
        cvg_time_format_iso(cases[i].ms, iso);
        CU_ASSERT_STRING_EQUAL(iso, cases[i].iso);
    }
    char d[CVG_TIME_DATE_LEN], c[CVG_TIME_COMPACT_LEN];
    cvg_time_format_date(1795600800123, d);
    cvg_time_format_compact(1795600800123, c);
    CU_ASSERT_STRING_EQUAL(d, "2026-11-25");
    CU_ASSERT_STRING_EQUAL(c, "20261125_100000");
}

static void test_time_rejects_invalid(void)
{
    static const char *bad[] = {
        "",
        "2026-02-29",
        "2025-13-01",
        "2026-00-10",
        "2026-04-31",
        "2026-1-01",
        "2026-11-25T24:00:00Z",
        "2026-11-25T10:60:00Z",
        "2026-11-25T10:00:00.Z",
        "2026-11-25T10:00:00+2:00",
        "2026-11-25T10:00:00 UTC",
        "yesterday",
        "2026-11-25T10:00",
        "2026-11-25x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms;
        CU_ASSERT_EQUAL(cvg_time_parse_iso(bad[i], &ms), CVG_EINVAL);
    }
}

static void test_time_round_trips_every_day_of_a_leap_year(void)
{
    int64_t start;
    CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso("2028-01-01", &start), 0);
    for (int day = 0; day < 366; day++) {
        int64_t ms = start + (int64_t)day * 86400000 + 12345678;
        char iso[CVG_TIME_ISO_LEN];
        cvg_time_format_iso(ms, iso);
        int64_t back = 0;
        CU_ASSERT_EQUAL(cvg_time_parse_iso(iso, &back), 0);
        CU_ASSERT_EQUAL(back, ms);
    }
    char d[CVG_TIME_DATE_LEN];
    cvg_time_format_date(start + 365LL * 86400000, d);
    CU_ASSERT_STRING_EQUAL(d, "2028-12-31");
}

static void test_time_clocks(void)
{
    int64_t a = cvg_time_mono_ms();
    cvg_time_sleep_ms(20);
    int64_t b = cvg_time_mono_ms();
    CU_ASSERT(b - a >= 20);
    CU_ASSERT(cvg_time_now_ms() > 1767225600000); /* after 2026-01-01 */
}

static CU_TestInfo tests[] = {
    {"test_id_format_and_version", test_id_format_and_version},
    {"test_id_strictly_increasing_and_unique", test_id_strictly_increasing_and_unique},
    {"test_id_random_bits_differ", test_id_random_bits_differ},
    {"test_id_fork_child_draws_its_own_bits", test_id_fork_child_draws_its_own_bits},
    {"test_time_format_and_parse", test_time_format_and_parse},
    {"test_time_rejects_invalid", test_time_rejects_invalid},
    {"test_time_round_trips_every_day_of_a_leap_year",
     test_time_round_trips_every_day_of_a_leap_year},
    {"test_time_clocks", test_time_clocks},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_id_time = {"unit_id_time", NULL, NULL, tests, 30};
