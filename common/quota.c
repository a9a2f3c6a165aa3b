/*
 * Pipeline run quotas (see quota.h).
 */
#include "common/quota.h"
#include "common/time.h"

#include <stdbool.h>

#include <stdio.h>
#include <string.h>

typedef struct row_ctx {
    cvg_usage_t *u;
    const char *today;
    int rows;
} row_ctx_t;

static int64_t num(const cvg_val_t *v)
{
    return v->type == CVG_VAL_INT ? v->i : 0;
}

static int take(void *ud, const cvg_row_t *row)
{
    row_ctx_t *c = ud;
    char date[11] = "";
    if (row->vals[0].type == CVG_VAL_TEXT)
        snprintf(date, sizeof(date), "%.*s", (int)row->vals[0].len, row->vals[0].s);
    c->rows++;
    if (strcmp(date, c->today) == 0) {
        c->u->run_today = num(&row->vals[1]);
        c->u->succeeded_today = num(&row->vals[3]);
        c->u->failed_today = num(&row->vals[4]);
    }
    /* Rows come newest first: the first one in this month carries the
     * month-to-date count. */
    if (c->rows == 1 && strncmp(date, c->today, 7) == 0)
        c->u->run_month = num(&row->vals[2]);
    return 1;
}

int cvg_quota_read(cvg_wh_t *wh, const char *tenant_id, const char *today, cvg_usage_t *out,
                   cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->date, sizeof(out->date), "%s", today);
    row_ctx_t c = {.u = out, .today = today};
    cvg_val_t p[2] = {cvg_v_text(tenant_id), cvg_v_text(today)};
    int rc = cvg_wh_exec(wh,
                         "SELECT usage_date, pipelines_run_today, pipelines_run_month, "
                         "pipelines_succeeded_today, pipelines_failed_today, "
                         "concurrent_pipelines_running FROM tenants.tenant_usage_quotas "
                         "WHERE tenant_id = $1 AND usage_date <= $2 ORDER BY usage_date DESC "
                         "LIMIT 1",
                         p, 2, take, &c, NULL, err);
    if (rc == 1)
        rc = 0;
    /* runs in flight: the queue knows, not a counter */
    if (rc == 0)
        rc = cvg_wh_query_int(wh,
                              "SELECT count(*) FROM tenants.tenant_pipeline_execution_queue "
                              "WHERE tenant_id = $1 AND state IN ('DISPATCHED', 'RUNNING')",
                              p, 1, &out->running, NULL, err);
    return rc;
}

int cvg_quota_count_end(cvg_wh_t *wh, const char *tenant_id, const char *status, int64_t now_ms,
                        cvg_err_t *err)
{
    bool ok = strcmp(status, "SUCCEEDED") == 0;
    bool failed = strcmp(status, "FAILED") == 0 || strcmp(status, "TIMED_OUT") == 0 ||
                  strcmp(status, "DEAD") == 0;
    if (!ok && !failed)
        return 0;
    char today[CVG_TIME_DATE_LEN], month[8], now[CVG_TIME_ISO_LEN];
    cvg_time_format_date(now_ms, today);
    cvg_time_format_iso(now_ms, now);
    snprintf(month, sizeof(month), "%.7s", today);
    cvg_val_t u[5] = {cvg_v_text(tenant_id), cvg_v_text(today), cvg_v_text(now), CVG_V_INT(ok),
                      CVG_V_INT(failed)};
    int64_t changed = 0;
    int rc = cvg_wh_exec(wh,
                         "UPDATE tenants.tenant_usage_quotas SET pipelines_succeeded_today = "
                         "pipelines_succeeded_today + $4, pipelines_failed_today = "
                         "pipelines_failed_today + $5, updated_at = $3 "
                         "WHERE tenant_id = $1 AND usage_date = $2",
                         u, 5, NULL, NULL, &changed, err);
    if (rc != 0 || changed > 0)
        return rc;
    cvg_val_t i[6] = {cvg_v_text(tenant_id), cvg_v_text(today), cvg_v_text(now),
                      cvg_v_text(month),     CVG_V_INT(ok),     CVG_V_INT(failed)};
    return cvg_wh_exec(
        wh,
        "INSERT INTO tenants.tenant_usage_quotas (tenant_id, usage_date, usage_month, "
        "pipelines_run_today, pipelines_run_month, pipelines_succeeded_today, "
        "pipelines_failed_today, concurrent_pipelines_running, daily_limit, monthly_limit, "
        "concurrent_limit, last_pipeline_at, updated_at) "
        "SELECT $1, $2, $4, 0, CASE WHEN u.usage_month = $4 THEN u.pipelines_run_month ELSE 0 "
        "END, $5, $6, 0, s.daily_limit, s.monthly_limit, s.concurrent_limit, u.last_pipeline_at, "
        "$3 FROM tenants.tenant_usage_quotas u LEFT JOIN tenants.tenant_subscriptions s "
        "ON s.tenant_id = u.tenant_id AND s.created_at = (SELECT max(created_at) FROM "
        "tenants.tenant_subscriptions WHERE tenant_id = $1) "
        "WHERE u.tenant_id = $1 AND u.usage_date < $2 ORDER BY u.usage_date DESC LIMIT 1",
        i, 6, NULL, NULL, NULL, err);
}

/* Seconds from now_ms to the next UTC midnight, or to the next month. */
static int64_t until_reset(int64_t now_ms, bool month)
{
    int64_t day_ms = 86400000;
    int64_t next_day = (now_ms / day_ms + 1) * day_ms;
    if (!month)
        return (next_day - now_ms + 999) / 1000;
    char date[CVG_TIME_DATE_LEN];
    cvg_time_format_date(now_ms, date);
    int y = (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 + (date[3] - '0');
    int m = (date[5] - '0') * 10 + (date[6] - '0');
    y += m == 12;
    m = m == 12 ? 1 : m + 1;
    int64_t first = cvg_time_days_from_civil(y, (unsigned)m, 1) * day_ms;
    return (first - now_ms + 999) / 1000;
}

const char *cvg_quota_exhausted(const cvg_usage_t *u, const cvg_limits_t *l, int64_t now_ms,
                                int64_t *retry_after_s, char *why, size_t size)
{
    int64_t after = 0;
    if (l->daily > 0 && u->run_today >= l->daily) {
        snprintf(why, size, "daily limit of %lld pipeline runs reached (resets at 00:00 UTC)",
                 (long long)l->daily);
        after = until_reset(now_ms, false);
    } else if (l->monthly > 0 && u->run_month >= l->monthly) {
        snprintf(why, size, "monthly limit of %lld pipeline runs reached (resets on the 1st, UTC)",
                 (long long)l->monthly);
        after = until_reset(now_ms, true);
    } else {
        return NULL;
    }
    if (retry_after_s)
        *retry_after_s = after;
    return why;
}
