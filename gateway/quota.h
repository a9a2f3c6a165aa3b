/*
 * Pipeline run quotas: today's and this month's counters of a tenant from
 * tenants.tenant_usage_quotas, and whether a limit of the plan is reached
 * (429 for the caller). Counting accepted runs belongs to the run path.
 */
#ifndef GW_QUOTA_H
#define GW_QUOTA_H

#include "common/err.h"
#include "common/warehouse.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gw_usage {
    char date[11]; /* the UTC day counted */
    int64_t run_today;
    int64_t run_month;
    int64_t succeeded_today;
    int64_t failed_today;
    int64_t running;
} gw_usage_t;

typedef struct gw_limits {
    int64_t daily;
    int64_t monthly;
    int64_t concurrent;
} gw_limits_t;

/* Reads the tenant's counters for `today` (YYYY-MM-DD): today's row, or
 * zeros with the month's count from the latest earlier row of the month. */
int gw_quota_read(cvg_wh_t *wh, const char *tenant_id, const char *today, gw_usage_t *out,
                  cvg_err_t *err);

/* NULL when one more run fits the limits, else why not (written to why). */
const char *gw_quota_exhausted(const gw_usage_t *u, const gw_limits_t *l, char *why, size_t size);

#endif
