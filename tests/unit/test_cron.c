/*
 * Cron expressions: parsing (what is taken, what is refused and how it is
 * said) and the next slot, checked against timestamps as a user reads them
 * and, minute by minute, against a plain reading of the rules.
 */
#include "common/cron.h"
#include "common/err.h"
#include "common/time.h"
#include "tests/tests.h"

#include <string.h>
#include <time.h>

/* The next slot after `after` (ISO text) as ISO text, or "none". */
static void next_iso(const char *expr, const char *after, char out[CVG_TIME_ISO_LEN])
{
    cvg_cron_t c;
    cvg_err_t err;
    int64_t ms = 0;
    snprintf(out, CVG_TIME_ISO_LEN, "%s", "bad input");
    if (cvg_cron_parse(expr, &c, &err) != 0) {
        printf("\n  %s: %s\n", expr, err.message);
        return;
    }
    if (cvg_time_parse_iso(after, &ms) != 0)
        return;
    int64_t next = cvg_cron_next(&c, ms);
    if (next < 0)
        snprintf(out, CVG_TIME_ISO_LEN, "%s", "none");
    else
        cvg_time_format_iso(next, out);
}

static void test_cron_next_slots(void)
{
    static const struct {
        const char *expr, *after, *want;
    } cases[] = {
        /* steps and strictly-after */
        {"*/15 * * * *", "2026-12-05T10:07:30Z", "2026-12-05T10:15:00.000Z"},
        {"*/15 * * * *", "2026-12-05T10:15:00Z", "2026-12-05T10:30:00.000Z"},
        {"*/15 * * * *", "2026-12-05T10:14:59.999Z", "2026-12-05T10:15:00.000Z"},
        {"*/15 * * * *", "2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00.000Z"},
        {"* * * * *", "2026-12-05T10:07:00Z", "2026-12-05T10:08:00.000Z"},
        {"5/20 * * * *", "2026-12-05T10:26:00Z", "2026-12-05T10:45:00.000Z"},
        {"5/20 * * * *", "2026-12-05T10:45:00Z", "2026-12-05T11:05:00.000Z"},
        {"0 */6 * * *", "2026-12-05T10:07:30Z", "2026-12-05T12:00:00.000Z"},
        {"10-20/5 8-9 * * *", "2026-12-05T08:20:00Z", "2026-12-05T09:10:00.000Z"},
        {"0 2 * * *", "2026-12-05T02:00:00Z", "2026-12-06T02:00:00.000Z"},
        {"0 2 * * *", "2026-12-05T01:59:59.999Z", "2026-12-05T02:00:00.000Z"},
        {"0 2 * * *", "2026-12-31T02:00:00Z", "2027-01-01T02:00:00.000Z"},
        /* months and years */
        {"0 0 1 * *", "2026-12-05T10:07:30Z", "2027-01-01T00:00:00.000Z"},
        {"0 0 1 * *", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00.000Z"},
        {"59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00.000Z"},
        {"0 0 31 * *", "2026-04-15T00:00:00Z", "2026-05-31T00:00:00.000Z"},
        {"0 0 30 * *", "2027-01-30T12:00:00Z", "2027-03-30T00:00:00.000Z"},
        {"0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00.000Z"},
        {"0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00.000Z"},
        {"0 0 31 2 *", "2026-12-05T10:07:30Z", "none"},
        {"0 0 30,31 2 *", "2026-12-05T10:07:30Z", "none"},
        {"0 0 31 4,6,9,11 *", "2026-12-05T10:07:30Z", "none"},
        /* 2100 is no leap year: the next Feb 29 is 8 years on, past 5 */
        {"0 0 29 2 *", "2096-03-01T00:00:00Z", "none"},
        {"0 0 1 1 *", "1969-12-31T12:00:00Z", "1970-01-01T00:00:00.000Z"},
        /* days of the week; 2026-12-05 is a Saturday */
        {"30 9 * * MON-FRI", "2026-12-05T10:07:30Z", "2026-12-07T09:30:00.000Z"},
        {"30 9 * * 1-5", "2026-12-07T09:30:00Z", "2026-12-08T09:30:00.000Z"},
        {"30 9 * * mon-fri", "2026-12-11T09:30:00Z", "2026-12-14T09:30:00.000Z"},
        {"0 12 * * 7", "2026-12-05T10:07:30Z", "2026-12-06T12:00:00.000Z"},
        {"0 12 * * 0", "2026-12-05T10:07:30Z", "2026-12-06T12:00:00.000Z"},
        {"0 12 * * 5-7", "2026-12-06T12:00:00Z", "2026-12-11T12:00:00.000Z"},
        {"0 0 * jul sun", "2026-12-05T10:07:30Z", "2027-07-04T00:00:00.000Z"},
        {"0 0 1 Jan,jUL *", "2026-12-05T10:07:30Z", "2027-01-01T00:00:00.000Z"},
        /* both day fields restricted: either; one starting with '*': both */
        {"0 0 13 * FRI", "2026-12-05T10:07:30Z", "2026-12-11T00:00:00.000Z"},
        {"0 0 13 * FRI", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00.000Z"},
        {"0 0 13 * FRI", "2026-12-13T00:00:00Z", "2026-12-18T00:00:00.000Z"},
        {"0 0 1,15 * MON", "2026-12-05T10:07:30Z", "2026-12-07T00:00:00.000Z"},
        {"0 0 */2 * TUE", "2026-12-05T10:07:30Z", "2026-12-15T00:00:00.000Z"},
        {"0 0 * * MON", "2026-12-05T10:07:30Z", "2026-12-07T00:00:00.000Z"},
        {"0 0 13 * *", "2026-12-05T10:07:30Z", "2026-12-13T00:00:00.000Z"},
        /* macros */
        {"@hourly", "2026-12-05T10:07:30Z", "2026-12-05T11:00:00.000Z"},
        {"@daily", "2026-12-05T10:07:30Z", "2026-12-06T00:00:00.000Z"},
        {"@midnight", "2026-12-05T10:07:30Z", "2026-12-06T00:00:00.000Z"},
        {"@weekly", "2026-12-05T10:07:30Z", "2026-12-06T00:00:00.000Z"},
        {"@weekly", "2026-12-06T00:00:00Z", "2026-12-13T00:00:00.000Z"},
        {"@monthly", "2026-12-05T10:07:30Z", "2027-01-01T00:00:00.000Z"},
        {"@yearly", "2026-12-05T10:07:30Z", "2027-01-01T00:00:00.000Z"},
        {"@annually", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00.000Z"},
        {"  @Daily\t", "2026-12-05T10:07:30Z", "2026-12-06T00:00:00.000Z"},
        /* blanks */
        {" \t0  2\t*   * *  ", "2026-12-05T02:00:00Z", "2026-12-06T02:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[CVG_TIME_ISO_LEN];
        next_iso(cases[i].expr, cases[i].after, got);
        if (strcmp(got, cases[i].want) != 0)
            printf("\n  \"%s\" after %s: got %s, want %s\n", cases[i].expr, cases[i].after, got,
                   cases[i].want);
        CU_ASSERT_STRING_EQUAL(got, cases[i].want);
    }
    CU_ASSERT_EQUAL(cvg_cron_next(NULL, 0), -1);
}

static void test_cron_parse_fields(void)
{
    cvg_cron_t c;
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("5/20 0,12 1-3 * sun,SAT", &c, NULL), 0);
    CU_ASSERT_EQUAL(c.minute, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
    CU_ASSERT_EQUAL(c.hour, (1u << 0) | (1u << 12));
    CU_ASSERT_EQUAL(c.dom, (1u << 1) | (1u << 2) | (1u << 3));
    CU_ASSERT_EQUAL(c.month, 0x1ffe); /* 1..12 */
    CU_ASSERT_EQUAL(c.dow, (1u << 0) | (1u << 6));
    CU_ASSERT_FALSE(c.dom_any);
    CU_ASSERT_FALSE(c.dow_any);

    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("* * */2 DEC 7", &c, NULL), 0);
    CU_ASSERT_EQUAL(c.minute, (1ULL << 60) - 1);
    CU_ASSERT_EQUAL(c.hour, (1u << 24) - 1);
    CU_ASSERT_EQUAL(c.dom, 0xaaaaaaaau); /* 1, 3, ..., 31 */
    CU_ASSERT_EQUAL(c.month, 1u << 12);
    CU_ASSERT_EQUAL(c.dow, 1u << 0); /* 7 is Sunday */
    CU_ASSERT(c.dom_any);            /* "*\/2" starts with '*', as Vixie */
    CU_ASSERT_FALSE(c.dow_any);

    cvg_cron_t a, b;
    CU_ASSERT_EQUAL(cvg_cron_parse("0 0 * * 0-7", &a, NULL), 0);
    CU_ASSERT_EQUAL(cvg_cron_parse("0 0 * * *", &b, NULL), 0);
    CU_ASSERT_EQUAL(a.dow, 0x7f);
    CU_ASSERT_EQUAL(b.dow, 0x7f);
    CU_ASSERT_FALSE(a.dow_any);
    CU_ASSERT(b.dow_any);
    CU_ASSERT_EQUAL(cvg_cron_parse("@weekly", &a, NULL), 0);
    CU_ASSERT_EQUAL(cvg_cron_parse("0 0 * * SUN", &b, NULL), 0);
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
    CU_ASSERT_EQUAL(cvg_cron_parse("5/20 * * * *", &a, NULL), 0);
    CU_ASSERT_EQUAL(cvg_cron_parse("5-59/20 * * * *", &b, NULL), 0);
    CU_ASSERT_EQUAL(a.minute, b.minute);
    CU_ASSERT_EQUAL(cvg_cron_parse("0 0 * * 6/1", &a, NULL), 0); /* to Saturday, not Sunday */
    CU_ASSERT_EQUAL(a.dow, 1u << 6);
    CU_ASSERT_EQUAL(cvg_cron_parse("00 09 01 01 *", &a, NULL), 0); /* zero-padded */
    CU_ASSERT_EQUAL(a.hour, 1u << 9);
    CU_ASSERT_EQUAL(cvg_cron_parse("*/60 */24 */31 */12 */7", &a, NULL), 0);
    CU_ASSERT_EQUAL(a.minute, 1ULL);
}

static void test_cron_text_limits(void)
{
    char text[CVG_CRON_TEXT_MAX + 2];
    memset(text, ' ', sizeof(text));
    memcpy(text, "* * * * *", 9);
    text[CVG_CRON_TEXT_MAX] = '\0'; /* 128 bytes, trailing blanks */
    cvg_cron_t c;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_cron_parse(text, &c, &err), 0);
    text[CVG_CRON_TEXT_MAX] = ' ';
    text[CVG_CRON_TEXT_MAX + 1] = '\0'; /* 129 */
    CU_ASSERT_EQUAL(cvg_cron_parse(text, &c, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.field, "schedule_cron");
    CU_ASSERT_STRING_EQUAL(err.message, "schedule_cron: longer than 128 bytes");

    CU_ASSERT_EQUAL(cvg_cron_parse(NULL, &c, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "schedule_cron: missing");
    CU_ASSERT_EQUAL(cvg_cron_parse("* * * * *", NULL, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_cron_parse("60 * * * *", &c, NULL), CVG_EINVAL); /* err may be NULL */

    /* a refused text leaves *out as it was */
    cvg_cron_t before;
    memset(&before, 0xab, sizeof(before));
    c = before;
    CU_ASSERT_EQUAL(cvg_cron_parse("0 0 * * 8", &c, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(memcmp(&c, &before, sizeof(c)), 0);
}

static void test_cron_rejects_with_reason(void)
{
    static const struct {
        const char *expr, *message;
    } cases[] = {
        /* the messages users see, word for word */
        {"0 24 * * *", "schedule_cron: hour: 24 is out of range 0-23"},
        {"* * * * * *", "schedule_cron: expected 5 fields (minute hour day-of-month month "
                        "day-of-week), got 6"},
        {"0 0 */0 * *", "schedule_cron: day-of-month: step 0"},
        {"30-10 * * * *", "schedule_cron: minute: range 30-10 is reversed"},
        {"0 0 1 FOO *", "schedule_cron: month: FOO is not a number or a month name"},
        /* more malformed input */
        {"", "schedule_cron: empty"},
        {" \t ", "schedule_cron: empty"},
        {"* * * *", "schedule_cron: expected 5 fields (minute hour day-of-month month "
                    "day-of-week), got 4"},
        {"60 * * * *", "schedule_cron: minute: 60 is out of range 0-59"},
        {"100 * * * *", "schedule_cron: minute: 100 is out of range 0-59"},
        {"99999999999999999999 * * * *",
         "schedule_cron: minute: 99999999999999999999 is out of range 0-59"},
        {"005 * * * *", "schedule_cron: minute: 005 has more than 2 digits"},
        {"*/0 * * * *", "schedule_cron: minute: step 0"},
        {"*/00 * * * *", "schedule_cron: minute: step 0"},
        {"*/61 * * * *", "schedule_cron: minute: step 61 is out of range 1-60"},
        {"0 0 * * */8", "schedule_cron: day-of-week: step 8 is out of range 1-7"},
        {"1-2-3 * * * *", "schedule_cron: minute: unexpected '-' in 1-2-3"},
        {"1/2/3 * * * *", "schedule_cron: minute: unexpected '/' in 1/2/3"},
        {"*-5 * * * *", "schedule_cron: minute: unexpected '-' in *-5"},
        {"? * * * *", "schedule_cron: minute: unexpected '?' in ?"},
        {"5- * * * *", "schedule_cron: minute: 5- is incomplete"},
        {"*/ * * * *", "schedule_cron: minute: */ is incomplete"},
        {"*/x * * * *", "schedule_cron: minute: unexpected 'x' in */x"},
        {"a * * * *", "schedule_cron: minute: a is not a number"},
        {"5a * * * *", "schedule_cron: minute: 5a is not a number"},
        {"0 MON * * *", "schedule_cron: hour: MON is not a number"},
        {"5,,6 * * * *", "schedule_cron: minute: empty item in list 5,,6"},
        {",5 * * * *", "schedule_cron: minute: empty item in list ,5"},
        {"5, * * * *", "schedule_cron: minute: empty item in list 5,"},
        {"0 0 0 * *", "schedule_cron: day-of-month: 0 is out of range 1-31"},
        {"0 0 32 * *", "schedule_cron: day-of-month: 32 is out of range 1-31"},
        {"0 0 * 0 *", "schedule_cron: month: 0 is out of range 1-12"},
        {"0 0 * 13 *", "schedule_cron: month: 13 is out of range 1-12"},
        {"0 0 * JANUARY *", "schedule_cron: month: JANUARY is not a number or a month name"},
        {"0 0 * * 8", "schedule_cron: day-of-week: 8 is out of range 0-7"},
        {"0 0 * * MONDAY", "schedule_cron: day-of-week: MONDAY is not a number or a day name"},
        {"0 0 * * FRI-MON", "schedule_cron: day-of-week: range FRI-MON is reversed"},
        {"0 0 * * 1\n", "schedule_cron: day-of-week: unexpected byte 0x0a"},
        {"0 0 * * 1-5/\x01", "schedule_cron: day-of-week: unexpected byte 0x01"},
        {"@every 5m", "schedule_cron: unknown macro @every; known: @hourly, @daily, @midnight, "
                      "@weekly, @monthly, @yearly, @annually"},
        {"@", "schedule_cron: unknown macro @; known: @hourly, @daily, @midnight, @weekly, "
              "@monthly, @yearly, @annually"},
        {"@daily 0", "schedule_cron: @daily stands alone, no fields after it"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_cron_t c;
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = cvg_cron_parse(cases[i].expr, &c, &err);
        if (rc != CVG_EINVAL || strcmp(err.message, cases[i].message) != 0)
            printf("\n  \"%s\": rc %d, \"%s\"\n", cases[i].expr, rc, err.message);
        CU_ASSERT_EQUAL(rc, CVG_EINVAL);
        CU_ASSERT_EQUAL(err.code, CVG_EINVAL);
        CU_ASSERT_STRING_EQUAL(err.field, "schedule_cron");
        CU_ASSERT_STRING_EQUAL(err.message, cases[i].message);
    }
}

/* The rules read plainly: does the minute starting at ms match? */
static int matches(const cvg_cron_t *c, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int dom = (c->dom >> tm.tm_mday) & 1, dow = (c->dow >> tm.tm_wday) & 1;
    int day = c->dom_any || c->dow_any ? dom && dow : dom || dow;
    return (int)((c->minute >> tm.tm_min) & 1) && ((c->hour >> tm.tm_hour) & 1) &&
           ((c->month >> (tm.tm_mon + 1)) & 1) && day;
}

static void test_cron_next_agrees_minute_by_minute(void)
{
    /* For every minute of 20 days across a year end, and of 20 across a
     * leap day, the next slot is the first matching minute after it. */
    static const char *exprs[] = {
        "*/7 * * * *",      "13 */5 * * *",        "0 0 13 * FRI",  "0 12 * * 0",
        "30 9 1,15 * *",    "0 0 29 2 *",          "0 0 */2 * MON", "59 23 28-31 * *",
        "0 8-18/3 * * 1-5", "15 10 * JAN,MAR sat", "0 0 1 * *",     "@hourly",
    };
    static const char *starts[] = {"2027-12-20T00:00:00Z", "2028-02-15T00:00:00Z"};
    enum { MINUTES = 20 * 1440 };
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        int64_t t0 = 0;
        CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso(starts[s], &t0), 0);
        for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
            cvg_cron_t c;
            CU_ASSERT_EQUAL_FATAL(cvg_cron_parse(exprs[e], &c, NULL), 0);
            int64_t want = -1; /* unknown past the window's end */
            int wrong = 0;
            for (int64_t m = MINUTES - 1; m >= 0; m--) {
                int64_t at = t0 + m * 60000;
                if (matches(&c, at + 60000))
                    want = at + 60000;
                /* from the start or the end of the minute, in turn */
                if (want >= 0 && cvg_cron_next(&c, at + (m % 2 ? 59999 : 0)) != want)
                    wrong++;
            }
            if (wrong)
                printf("\n  \"%s\" from %s: %d minutes disagree\n", exprs[e], starts[s], wrong);
            CU_ASSERT_EQUAL(wrong, 0);
        }
    }
}

static void test_cron_next_is_quick_when_rare(void)
{
    /* Slots years apart, or none, are found by skipping months and days:
     * ten thousand searches take well under a second. */
    cvg_cron_t leap, never, rare;
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("0 0 29 2 *", &leap, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("0 0 31 2 *", &never, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("59 23 */31 * MON", &rare, NULL), 0);
    int64_t from = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso("2026-03-01T00:00:00Z", &from), 0);
    int64_t t = cvg_time_mono_ms();
    int found = 0;
    for (int i = 0; i < 10000; i++) {
        found += cvg_cron_next(&leap, from) > 0;
        found += cvg_cron_next(&never, from) > 0;
        found += cvg_cron_next(&rare, from) > 0;
    }
    int64_t took = cvg_time_mono_ms() - t;
    CU_ASSERT_EQUAL(found, 20000);
    if (took >= 5000)
        printf("\n  30000 searches took %lld ms\n", (long long)took);
    CU_ASSERT(took < 5000); /* generous for valgrind; minute by minute would take minutes */
}

static CU_TestInfo tests[] = {
    {"test_cron_next_slots", test_cron_next_slots},
    {"test_cron_parse_fields", test_cron_parse_fields},
    {"test_cron_text_limits", test_cron_text_limits},
    {"test_cron_rejects_with_reason", test_cron_rejects_with_reason},
    {"test_cron_next_agrees_minute_by_minute", test_cron_next_agrees_minute_by_minute},
    {"test_cron_next_is_quick_when_rare", test_cron_next_is_quick_when_rare},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_cron = {"unit_cron", NULL, NULL, tests, 120};
