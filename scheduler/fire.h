/*
 * Scheduled pipelines: due slots of tenants.tenant_pipeline_configs fired
 * into the queue, and each slot's state kept in step with its run (see
 * fire.c).
 */
#ifndef SCH_FIRE_H
#define SCH_FIRE_H

#include "scheduler/scheduler.h"

/* {tenant_id}/{provider}/{domain}/{template} and its NUL */
#define CVG_SCHEDULE_ID_MAX (CVG_TENANT_MAX + CVG_PIPELINE_PATH_MAX)
/* A scheduled run's queue priority unless its schedule sets one; manual
 * runs (1) go first. */
#define SCH_SCHEDULED_PRIORITY 10
#define SCH_FIRE_MAX           100   /* configs fired per pass on the tick */
#define SCH_FIRE_EVERY_MS      1000  /* passes on the tick, apart */
#define SCH_FIRE_WARN_EVERY_MS 60000 /* a failing pass is logged once a minute */

typedef struct sch_fired {
    size_t fired;   /* slots whose run was queued */
    size_t refused; /* slots that started no run (standing, quota): FAILED with why */
    size_t already; /* slots fired before (a restart, another scheduler) */
    size_t skipped; /* earlier slots missed while nothing fired, collapsed */
    size_t broken;  /* configs deactivated: their cron no longer reads, their tenant is gone */
    size_t failed;  /* configs the warehouse failed on: tried again on the next pass */
    bool more;      /* the pass was full, or a schedule catching up is still due */
} sch_fired_t;

/* Fires up to max due configs, each in its own transaction; 0 or the
 * warehouse's failure (the configs not reached wait for the next pass). */
int sch_fire_due(sch_t *s, size_t max, sch_fired_t *out, cvg_err_t *err);

/* Moves slots whose run ended to COMPLETED, FAILED or DEAD; *n gets how
 * many. */
int sch_fire_sync(sch_t *s, size_t *n, cvg_err_t *err);

/* Both, every SCH_FIRE_EVERY_MS (or on the next tick after a full pass). */
void sch_fire_tick(sch_t *s, int64_t now_mono);

#endif
