/*
 * UTC time helpers: clocks in milliseconds, ISO 8601 and compact formats.
 * Timestamps cross process and storage boundaries as ISO 8601 UTC text with
 * milliseconds ("2026-11-25T10:00:00.123Z"), which sorts as it reads.
 */
#ifndef CVG_TIME_H
#define CVG_TIME_H

#include <stdint.h>

#define CVG_TIME_ISO_LEN     25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */
#define CVG_TIME_DATE_LEN    11 /* "YYYY-MM-DD" + NUL */
#define CVG_TIME_COMPACT_LEN 16 /* "YYYYMMDD_HHMMSS" + NUL */

/* Milliseconds since the Unix epoch, from the wall clock. */
int64_t cvg_time_now_ms(void);

/* Milliseconds from a monotonic clock, for deadlines and durations. */
int64_t cvg_time_mono_ms(void);

/* Formats ms since the epoch as ISO 8601 UTC with milliseconds. */
void cvg_time_format_iso(int64_t ms, char out[CVG_TIME_ISO_LEN]);

/* Formats the UTC date of ms as YYYY-MM-DD. */
void cvg_time_format_date(int64_t ms, char out[CVG_TIME_DATE_LEN]);

/* Formats ms as YYYYMMDD_HHMMSS (UTC), as used in validation ids. */
void cvg_time_format_compact(int64_t ms, char out[CVG_TIME_COMPACT_LEN]);

/*
 * Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS", optionally with ".fff" (1 to 9
 * digits, kept to ms) and "Z" or "+HH:MM"/"-HH:MM"; a space may stand for
 * 'T'. Without an offset the time is UTC. 0 or CVG_EINVAL.
 */
int cvg_time_parse_iso(const char *s, int64_t *ms);

/* Days since the epoch for a proleptic Gregorian date (UTC, no time zone). */
int64_t cvg_time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Sleeps for ms milliseconds (restarting after signals is not done:
 * a signal ends the sleep early so shutdown stays prompt). */
void cvg_time_sleep_ms(int64_t ms);

#endif
