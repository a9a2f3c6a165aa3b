/*
 * Pipeline run quotas: today's and this month's counters of a tenant from
 * tenants.tenant_usage_quotas, and whether a daily or monthly limit of the
 * plan is reached (429 for the caller, until the day or month is over).
 * The scheduler counts accepted runs, in the transaction that queues them,
 * and ended ones, in the one that settles them; the concurrency limit makes
 * runs wait for dispatch, it refuses none.
 */
#ifndef CVG_QUOTA_H
#define CVG_QUOTA_H

#include "common/err.h"
#include "common/warehouse.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cvg_usage {
    char date[11]; /* the UTC day counted */
    int64_t run_today;
    int64_t run_month;
    int64_t succeeded_today;
    int64_t failed_today;
    int64_t running;
} cvg_usage_t;

typedef struct cvg_limits {
    int64_t daily;
    int64_t monthly;
    int64_t concurrent;
} cvg_limits_t;

/* Reads the tenant's counters for `today` (YYYY-MM-DD): today's row, or
 * zeros with the month's count from the latest earlier row of the month. */
int cvg_quota_read(cvg_wh_t *wh, const char *tenant_id, const char *today, cvg_usage_t *out,
                   cvg_err_t *err);

/* Counts a run that ended at now_ms (its UTC day) with status:
 * SUCCEEDED in pipelines_succeeded_today; FAILED, TIMED_OUT and DEAD in
 * pipelines_failed_today; any other status not at all. When the tenant
 * queued nothing that day, the day's row is made from its latest row (the
 * month's count, if the same month) and its current subscription's limits.
 * The caller holds the transaction that settled the run, so it counts
 * once. */
int cvg_quota_count_end(cvg_wh_t *wh, const char *tenant_id, const char *status, int64_t now_ms,
                        cvg_err_t *err);

/* NULL when one more run fits the daily and monthly limits, else why not
 * (written to why); *retry_after_s (may be NULL) gets the seconds until
 * the limit resets, from now_ms. */
const char *cvg_quota_exhausted(const cvg_usage_t *u, const cvg_limits_t *l, int64_t now_ms,
                                int64_t *retry_after_s, char *why, size_t size);

#endif
