/*
 * Cron expressions (see cron.h): a small hand-written parser into bit sets,
 * and a next-slot search that walks months, days and hours in whole units.
 */
#include "common/cron.h"
#include "common/time.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FIELD        "schedule_cron" /* the error's field: the column users write */
#define MS_PER_MIN   60000LL
#define MS_PER_DAY   86400000LL
#define HORIZON_DAYS 1827 /* 5 years of which up to 2 are leap years */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* One of the five fields. Values may go up to top ("7" is Sunday), while
 * "*" and "a/n" stop at max. */
typedef struct field {
    const char *name;         /* as in messages: "day-of-month" */
    unsigned min, max, top;   /* the range of "*", and the largest value accepted */
    const char *const *names; /* 3-letter names of min, min+1, ..., or NULL */
    const char *kind;         /* what a name is: "month name" */
} field_t;

static const field_t fields[5] = {
    {"minute", 0, 59, 59, NULL, NULL},
    {"hour", 0, 23, 23, NULL, NULL},
    {"day-of-month", 1, 31, 31, NULL, NULL},
    {"month", 1, 12, 12, month_names, "month name"},
    {"day-of-week", 0, 6, 7, day_names, "day name"},
};

static const struct {
    const char *name;
    const char *fields;
} macros[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Records "schedule_cron: <field>: <what>"; returns CVG_EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(cvg_err_t *err, const field_t *f,
                                                      const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return cvg_err_set(err, CVG_EINVAL, FIELD, "%s: %s: %s", FIELD, f->name, what);
}

/* Names a character that has no place where it stands (a printable one:
 * parse_fields refused the others). */
static int unexpected(cvg_err_t *err, const field_t *f, char c, const char *s, const char *end)
{
    return fail(err, f, "unexpected '%c' in %.*s", c, (int)(end - s), s);
}

/* Reads a number or a name of the field at *p, before end, into *out and
 * moves *p past it. item is the whole item, for messages. */
static int read_value(const field_t *f, const char **p, const char *end, const char *item,
                      unsigned *out, cvg_err_t *err)
{
    const char *s = *p, *q = s;
    size_t ndigits = 0;
    while (q < end && isalnum((unsigned char)*q))
        ndigits += isdigit((unsigned char)*q++) != 0;
    int len = (int)(q - s);
    if (len == 0)
        return s < end ? unexpected(err, f, *s, item, end)
                       : fail(err, f, "%.*s is incomplete", (int)(end - item), item);
    *p = q;
    if (ndigits == (size_t)len) {
        /* Past two digits, a number is out of range or carries zeros no
         * one writes; neither is taken, and nothing can overflow. */
        const char *v = s;
        while (v < q - 1 && *v == '0')
            v++;
        unsigned n = 0;
        for (const char *d = v; d < q && d - v < 3; d++)
            n = n * 10 + (unsigned)(*d - '0');
        if (q - v > 2 || n > f->top || n < f->min)
            return fail(err, f, "%.*s is out of range %u-%u", len, s, f->min, f->top);
        if (len > 2)
            return fail(err, f, "%.*s has more than 2 digits", len, s);
        *out = n;
        return 0;
    }
    for (size_t i = 0; f->names && len == 3 && i <= f->max - f->min; i++) {
        if (strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->min + (unsigned)i;
            return 0;
        }
    }
    if (f->names)
        return fail(err, f, "%.*s is not a number or a %s", len, s, f->kind);
    return fail(err, f, "%.*s is not a number", len, s);
}

/* Reads the n of a step at *p (digits only), 1 up to the field's count of
 * values, and moves *p past it. */
static int read_step(const field_t *f, const char **p, const char *end, const char *item,
                     unsigned *out, cvg_err_t *err)
{
    const char *s = *p, *q = s;
    unsigned n = 0, span = f->max - f->min + 1;
    for (; q < end && isdigit((unsigned char)*q); q++)
        n = n > 1000 ? n : n * 10 + (unsigned)(*q - '0'); /* capped: no overflow */
    if (q == s)
        return s < end ? unexpected(err, f, *s, item, end)
                       : fail(err, f, "%.*s is incomplete", (int)(end - item), item);
    *p = q;
    if (n == 0)
        return fail(err, f, "step 0");
    if (n > span)
        return fail(err, f, "step %.*s is out of range 1-%u", (int)(q - s), s, span);
    if (q - s > 2)
        return fail(err, f, "step %.*s has more than 2 digits", (int)(q - s), s);
    *out = n;
    return 0;
}

/* Parses one list item, s to end (not empty), into bits. */
static int parse_item(const field_t *f, const char *s, const char *end, uint64_t *bits,
                      cvg_err_t *err)
{
    const char *p = s;
    unsigned lo = f->min, hi = f->max, step = 1;
    bool star = *p == '*', range = false;
    int rc;
    if (star) {
        p++;
    } else {
        rc = read_value(f, &p, end, s, &lo, err);
        if (rc != 0)
            return rc;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            range = true;
            rc = read_value(f, &p, end, s, &hi, err);
            if (rc != 0)
                return rc;
        }
    }
    const char *range_end = p;
    if (p < end && *p == '/') {
        p++;
        rc = read_step(f, &p, end, s, &step, err);
        if (rc != 0)
            return rc;
        if (!star && !range)
            hi = f->max > lo ? f->max : lo; /* "a/n": a to the end ("7/2" is just 7) */
    }
    if (p < end)
        return unexpected(err, f, *p, s, end);
    if (lo > hi)
        return fail(err, f, "range %.*s is reversed", (int)(range_end - s), s);
    for (unsigned v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    return 0;
}

/* Parses one field, s to end (not empty), a comma-separated list. */
static int parse_field(const field_t *f, const char *s, const char *end, uint64_t *bits,
                       cvg_err_t *err)
{
    for (const char *item = s;;) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *stop = comma ? comma : end;
        if (stop == item)
            return fail(err, f, "empty item in list %.*s", (int)(end - s), s);
        int rc = parse_item(f, item, stop, bits, err);
        if (rc != 0)
            return rc;
        if (comma == NULL)
            return 0;
        item = comma + 1;
    }
}

/* Parses the five fields of text (no macro) into *out. */
static int parse_fields(const char *text, cvg_cron_t *out, cvg_err_t *err)
{
    const char *start[5], *end[5];
    int n = 0;
    for (const char *p = text; *p;) {
        while (blank(*p))
            p++;
        if (*p == '\0')
            break;
        const char *s = p;
        while (*p && !blank(*p))
            p++;
        if (n < 5) {
            start[n] = s;
            end[n] = p;
        }
        n++;
    }
    if (n != 5)
        return cvg_err_set(err, CVG_EINVAL, FIELD,
                           "%s: expected 5 fields (minute hour day-of-month month day-of-week), "
                           "got %d",
                           FIELD, n);
    uint64_t bits[5] = {0};
    for (int i = 0; i < 5; i++) {
        /* Control characters and non-ASCII never reach a message. */
        for (const char *p = start[i]; p < end[i]; p++) {
            if (!isgraph((unsigned char)*p))
                return fail(err, &fields[i], "unexpected byte 0x%02x", (unsigned char)*p);
        }
        int rc = parse_field(&fields[i], start[i], end[i], &bits[i], err);
        if (rc != 0)
            return rc;
    }
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday, 0 */
    out->dom_any = *start[2] == '*';
    out->dow_any = *start[4] == '*';
    return 0;
}

int cvg_cron_parse(const char *text, cvg_cron_t *out, cvg_err_t *err)
{
    if (text == NULL || out == NULL)
        return cvg_err_set(err, CVG_EINVAL, FIELD, "%s: missing", FIELD);
    if (strnlen(text, CVG_CRON_TEXT_MAX + 1) > CVG_CRON_TEXT_MAX)
        return cvg_err_set(err, CVG_EINVAL, FIELD, "%s: longer than %d bytes", FIELD,
                           CVG_CRON_TEXT_MAX);
    const char *s = text;
    while (blank(*s))
        s++;
    if (*s == '\0')
        return cvg_err_set(err, CVG_EINVAL, FIELD, "%s: empty", FIELD);
    cvg_cron_t c;
    memset(&c, 0, sizeof(c));
    if (*s != '@') {
        int rc = parse_fields(s, &c, err);
        if (rc != 0)
            return rc;
        *out = c;
        return 0;
    }
    size_t len = 0;
    while (s[len] && !blank(s[len]))
        len++;
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
        if (strlen(macros[i].name) != len || strncasecmp(s, macros[i].name, len) != 0)
            continue;
        const char *rest = s + len;
        while (blank(*rest))
            rest++;
        if (*rest != '\0')
            return cvg_err_set(err, CVG_EINVAL, FIELD, "%s: %.*s stands alone, no fields after it",
                               FIELD, (int)len, s);
        int rc = parse_fields(macros[i].fields, &c, err);
        if (rc != 0)
            return rc;
        *out = c;
        return 0;
    }
    bool printable = true;
    for (size_t i = 0; i < len; i++)
        printable &= isgraph((unsigned char)s[i]) != 0;
    return cvg_err_set(err, CVG_EINVAL, FIELD,
                       "%s: unknown macro %.*s; known: @hourly, @daily, @midnight, @weekly, "
                       "@monthly, @yearly, @annually",
                       FIELD, printable ? (int)len : 1, s);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mdays[m - 1] + (m == 2 && leap(y));
}

/* The lowest set bit of bits at or above from, or -1. */
static int next_bit(uint64_t bits, unsigned from, unsigned last)
{
    for (unsigned b = from; b <= last; b++) {
        if (bits >> b & 1)
            return (int)b;
    }
    return -1;
}

/* Vixie's rule: both day fields restricted, either matches; else both. */
static bool day_matches(const cvg_cron_t *c, unsigned dom, int64_t day)
{
    unsigned wd = (unsigned)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    bool in_dom = c->dom >> dom & 1, in_dow = c->dow >> wd & 1;
    return c->dom_any || c->dow_any ? in_dom && in_dow : in_dom || in_dow;
}

int64_t cvg_cron_next(const cvg_cron_t *c, int64_t after_ms)
{
    if (c == NULL || after_ms < cvg_time_days_from_civil(1, 1, 1) * MS_PER_DAY ||
        after_ms >= cvg_time_days_from_civil(10000, 1, 1) * MS_PER_DAY)
        return -1;
    /* The minute after the one holding after_ms (floored, also below 0). */
    int64_t minute = (after_ms >= 0 ? after_ms / MS_PER_MIN : -((-after_ms - 1) / MS_PER_MIN) - 1);
    minute++;
    int64_t day = minute >= 0 ? minute / 1440 : -((-minute - 1) / 1440) - 1;
    unsigned hour = (unsigned)((minute - day * 1440) / 60),
             min = (unsigned)(minute - day * 1440) % 60;
    time_t secs = (time_t)(day * 86400);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return -1;
    int64_t y = (int64_t)tm.tm_year + 1900;
    unsigned m = (unsigned)tm.tm_mon + 1, d = (unsigned)tm.tm_mday;
    for (const int64_t last = day + HORIZON_DAYS; day <= last;) {
        int h = -1, mi = -1;
        if (!(c->month >> m & 1)) {
            day += days_in_month(y, m) - d + 1; /* the first of next month */
            d = days_in_month(y, m);
        } else if (day_matches(c, d, day) && (h = next_bit(c->hour, hour, 23)) >= 0) {
            mi = next_bit(c->minute, (unsigned)h == hour ? min : 0, 59);
            if (mi >= 0)
                return ((day * 24 + h) * 60 + mi) * MS_PER_MIN;
            hour = (unsigned)h + 1; /* the next hour of this day, if any */
            min = 0;
            if (hour < 24)
                continue;
            day++;
        } else {
            day++;
        }
        /* On to the start of the day after d (day already moved). */
        hour = min = 0;
        if (++d > days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    return -1;
}
