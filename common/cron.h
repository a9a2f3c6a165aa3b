/*
 * Five-field cron expressions (Vixie cron syntax, UTC): a pipeline's
 * schedule_cron parsed into one bit set per field, and the next slot of a
 * schedule after a given time, which the scheduler's due scan asks for.
 */
#ifndef CVG_CRON_H
#define CVG_CRON_H

#include "common/err.h"

#include <stdbool.h>
#include <stdint.h>

#define CVG_CRON_TEXT_MAX 128 /* bytes of an expression, at most */

/* A parsed expression: every field has at least one bit set. */
typedef struct cvg_cron {
    uint64_t minute;       /* bit m set: minute m (0..59) */
    uint32_t hour;         /* bit h: hour h (0..23) */
    uint32_t dom;          /* bit d: day of month d (1..31) */
    uint16_t month;        /* bit m: month m (1..12) */
    uint8_t dow;           /* bit d: day of week d (0..6, Sunday 0; 7 is folded into 0) */
    bool dom_any, dow_any; /* the field's text starts with '*' ("*", "*\/2", ...), as Vixie */
} cvg_cron_t;

/*
 * Parses "minute hour day-of-month month day-of-week" (UTC). Each field: "*",
 * a number, a range "a-b", a step "*\/n", "a-b/n" or "a/n" (a to the field's
 * max), or a list of these separated by commas; month names JAN..DEC and day
 * names SUN..SAT in any case; day of week 7 is Sunday too. A step is 1 up to
 * the field's count of values. The macros @hourly, @daily (= @midnight),
 * @weekly (Sunday), @monthly, @yearly (= @annually) stand alone. Fields are
 * separated by spaces or tabs; blanks around the text are allowed. text
 * (borrowed) is at most CVG_CRON_TEXT_MAX bytes.
 * 0 and *out filled, or CVG_EINVAL with *out untouched and err (may be NULL)
 * holding field "schedule_cron" and a message naming the cron field and what
 * is wrong: "schedule_cron: hour: 24 is out of range 0-23".
 */
int cvg_cron_parse(const char *text, cvg_cron_t *out, cvg_err_t *err);

/*
 * The first slot strictly after after_ms (ms since the epoch, UTC), on a
 * whole minute, in ms; -1 when none exists within 5 years (1827 days) after
 * it ("0 0 31 2 *", Feb 31), when c is NULL, or when after_ms is outside the
 * years 1 to 9999. A day matches as in Vixie cron: when both day fields are
 * restricted (neither starts with '*') either may match, else both must.
 * Thread-safe; whole months, days and hours are skipped, never minutes.
 */
int64_t cvg_cron_next(const cvg_cron_t *c, int64_t after_ms);

#endif
