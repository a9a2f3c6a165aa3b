/*
 * Subscription plans from configs/system/plans.yml: per plan the daily,
 * monthly and concurrent run limits, the request rate limit and the trial
 * length.
 */
#ifndef CVG_PLANS_H
#define CVG_PLANS_H

#include "common/err.h"

#include <stddef.h>

#define CVG_PLANS_MAX     16
#define CVG_PLAN_NAME_MAX 33

typedef struct cvg_plan {
    char name[CVG_PLAN_NAME_MAX];
    int daily_limit;
    int monthly_limit;
    int concurrent_limit;
    int rate_limit_per_minute;
    int trial_days;
} cvg_plan_t;

typedef struct cvg_plans {
    size_t n;
    cvg_plan_t items[CVG_PLANS_MAX];
} cvg_plans_t;

/* Loads <config_dir>/system/plans.yml; errors name the field. */
int cvg_plans_load(const char *config_dir, cvg_plans_t *out, cvg_err_t *err);

/* The plan called name (exact, upper case), or NULL. */
const cvg_plan_t *cvg_plans_find(const cvg_plans_t *p, const char *name);

/* "FREE, BASIC, ..." for error messages. */
void cvg_plans_names(const cvg_plans_t *p, char *out, size_t size);

#endif
