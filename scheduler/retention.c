/*
 * Queue retention: the queue row of a finished run is the scheduler's
 * working record only until the run log holds the run's end. Rows in a
 * final state whose last change is older than CVG_QUEUE_RETENTION_HOURS,
 * and whose run log row is final too, are deleted a bounded number at a
 * time, so the queue (and every scan of it: dispatch, reconcile, the run
 * list's queued half) stays the size of the recent past, not of all
 * history. The run reads answer from the run log alone afterwards.
 */
#include "scheduler/scheduler.h"
#include "common/log.h"
#include "common/time.h"

#include <stdio.h>
#include <string.h>

#define Q     "tenants.tenant_pipeline_execution_queue"
#define FINAL "('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'DEAD')"

/* The statement: a finished state and every priority named, so each
 * (state, priority) pair is one range of the queue's (state, priority,
 * enqueued_at) index up to the cutoff (a run changed before the cutoff was
 * queued before it), and the scan is of old rows only, not of the whole
 * retention window's. */
static const char *prune_sql(void)
{
    static char sql[2048];
    if (sql[0] != '\0')
        return sql;
    size_t n =
        (size_t)snprintf(sql, sizeof(sql),
                         "DELETE FROM " Q " WHERE queue_id IN (SELECT q.queue_id FROM " Q
                         " q JOIN tenants.tenant_pipeline_runs r ON r.pipeline_logging_id "
                         "= q.pipeline_logging_id WHERE q.state IN " FINAL " AND q.priority IN (%d",
                         CVG_PRIORITY_MIN);
    for (int p = CVG_PRIORITY_MIN + 1; p <= CVG_PRIORITY_MAX; p++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", %d", p);
    snprintf(sql + n, sizeof(sql) - n, "%s",
             ") AND q.enqueued_at < $1 AND q.updated_at < $1 AND r.status IN " FINAL " LIMIT $2)");
    return sql;
}

int sch_queue_prune(sch_queue_t *q, int64_t before_ms, size_t max, size_t *n, cvg_err_t *err)
{
    *n = 0;
    if (!sch_queue_check_ready(q))
        return 0;
    char before[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(before_ms, before);
    cvg_val_t p[2] = {cvg_v_text(before), CVG_V_INT((int64_t)max)};
    int64_t changes = 0;
    int rc = cvg_wh_exec(q->wh, prune_sql(), p, 2, NULL, NULL, &changes, err);
    if (rc == CVG_ENOTFOUND)
        q->ready = false;
    if (rc == 0)
        *n = (size_t)changes;
    return rc;
}

void sch_retention_tick(sch_t *s, int64_t now_mono)
{
    if (now_mono < s->next_prune_mono)
        return;
    size_t n = 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t keep_ms = (int64_t)s->cfg.queue_retention_hours * 3600 * 1000;
    int rc = sch_queue_prune(&s->queue, cvg_time_now_ms() - keep_ms, SCH_PRUNE_MAX, &n, &err);
    if (rc != 0)
        cvg_warn(NULL, "cannot delete old finished runs from the queue: %s", err.message);
    s->pruned += n;
    if (n > 0) {
        cvg_log_field_t f = CVG_LF_NUM("deleted", (int64_t)n);
        cvg_log_write(CVG_LOG_INFO, NULL, &f, 1,
                      "finished runs older than %d h left the queue (the run log keeps them)",
                      s->cfg.queue_retention_hours);
    }
    /* a full batch: more are waiting, taken on the next ticks */
    s->next_prune_mono = now_mono + (n == SCH_PRUNE_MAX ? 0 : SCH_PRUNE_EVERY_MS);
}

int sch_usage_prune(sch_t *s, int keep_days, size_t *n, cvg_err_t *err)
{
    *n = 0;
    char before[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms() - (int64_t)keep_days * 86400 * 1000, before);
    /* never this month's: its first run of a day counts on from them */
    char month_start[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms(), month_start);
    memcpy(month_start + 8, "01", 2);
    cvg_val_t p[2] = {cvg_v_text(before), cvg_v_text(month_start)};
    int64_t changes = 0;
    int rc = cvg_wh_exec(s->wh,
                         "DELETE FROM tenants.tenant_usage_quotas WHERE usage_date < $1 "
                         "AND usage_date < $2",
                         p, 2, NULL, NULL, &changes, err);
    if (rc == 0)
        *n = (size_t)changes;
    return rc;
}
