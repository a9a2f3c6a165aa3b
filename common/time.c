/*
 * UTC time helpers (see time.h). Civil-date arithmetic is done by hand so
 * nothing depends on the process time zone.
 */
#include "common/time.h"
#include "common/err.h"

#include <stdbool.h>
#include <time.h>

int64_t cvg_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cvg_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 to a civil date; valid for any year in int64 range
 * that matters here (H. Hinnant's algorithm). */
int64_t cvg_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

typedef struct parts {
    int64_t year;
    unsigned mon, day, hour, min, sec, msec;
} parts_t;

static void split(int64_t ms, parts_t *p)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    civil_from_days(days, &p->year, &p->mon, &p->day);
    p->hour = (unsigned)(rem / 3600000);
    p->min = (unsigned)(rem / 60000 % 60);
    p->sec = (unsigned)(rem / 1000 % 60);
    p->msec = (unsigned)(rem % 1000);
}

/* Writes v as exactly width decimal digits (zero padded, high digits cut). */
static char *put(char *o, unsigned long long v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

static unsigned long long year4(int64_t y)
{
    return y < 0 ? 0 : (unsigned long long)y % 10000;
}

void cvg_time_format_iso(int64_t ms, char out[CVG_TIME_ISO_LEN])
{
    parts_t p;
    split(ms, &p);
    char *o = put(out, year4(p.year), 4);
    *o++ = '-';
    o = put(o, p.mon, 2);
    *o++ = '-';
    o = put(o, p.day, 2);
    *o++ = 'T';
    o = put(o, p.hour, 2);
    *o++ = ':';
    o = put(o, p.min, 2);
    *o++ = ':';
    o = put(o, p.sec, 2);
    *o++ = '.';
    o = put(o, p.msec, 3);
    *o++ = 'Z';
    *o = '\0';
}

void cvg_time_format_date(int64_t ms, char out[CVG_TIME_DATE_LEN])
{
    parts_t p;
    split(ms, &p);
    char *o = put(out, year4(p.year), 4);
    *o++ = '-';
    o = put(o, p.mon, 2);
    *o++ = '-';
    o = put(o, p.day, 2);
    *o = '\0';
}

void cvg_time_format_compact(int64_t ms, char out[CVG_TIME_COMPACT_LEN])
{
    parts_t p;
    split(ms, &p);
    char *o = put(out, year4(p.year), 4);
    o = put(o, p.mon, 2);
    o = put(o, p.day, 2);
    *o++ = '_';
    o = put(o, p.hour, 2);
    o = put(o, p.min, 2);
    o = put(o, p.sec, 2);
    *o = '\0';
}

/* Reads exactly n digits at *s into *out and advances. */
static bool digits(const char **s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cvg_time_parse_iso(const char *s, int64_t *ms)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    if (s == NULL || !digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d))
        return CVG_EINVAL;
    if (mo < 1 || mo > 12 || d < 1)
        return CVG_EINVAL;
    if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return CVG_EINVAL;
    int offset_min = 0;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' ||
            !digits(&s, 2, &sec))
            return CVG_EINVAL;
        if (h > 23 || mi > 59 || sec > 59)
            return CVG_EINVAL;
        if (*s == '.') {
            s++;
            int n = 0;
            unsigned scale = 100;
            while (*s >= '0' && *s <= '9') {
                if (n < 3)
                    frac += (unsigned)(*s - '0') * scale;
                scale /= 10;
                s++;
                if (++n > 9)
                    return CVG_EINVAL;
            }
            if (n == 0)
                return CVG_EINVAL;
        }
        if (*s == 'Z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s == '-' ? -1 : 1;
            unsigned oh, om;
            s++;
            if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 || om > 59)
                return CVG_EINVAL;
            offset_min = sign * (int)(oh * 60 + om);
        }
    }
    if (*s != '\0')
        return CVG_EINVAL;
    int64_t days = cvg_time_days_from_civil(y, mo, d);
    *ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)offset_min * 60) * 1000 + frac;
    return 0;
}

void cvg_time_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}
