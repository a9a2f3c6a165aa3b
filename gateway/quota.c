/*
 * Pipeline run quotas (see quota.h).
 */
#include "gateway/quota.h"

#include <stdio.h>
#include <string.h>

typedef struct row_ctx {
    gw_usage_t *u;
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
        c->u->running = num(&row->vals[5]);
    }
    /* Rows come newest first: the first one in this month carries the
     * month-to-date count. */
    if (c->rows == 1 && strncmp(date, c->today, 7) == 0)
        c->u->run_month = num(&row->vals[2]);
    if (c->rows == 1)
        c->u->running = num(&row->vals[5]);
    return 1;
}

int gw_quota_read(cvg_wh_t *wh, const char *tenant_id, const char *today, gw_usage_t *out,
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
    return rc == 1 ? 0 : rc;
}

const char *gw_quota_exhausted(const gw_usage_t *u, const gw_limits_t *l, char *why, size_t size)
{
    if (l->daily > 0 && u->run_today >= l->daily)
        snprintf(why, size, "daily limit of %lld pipeline runs reached (resets at 00:00 UTC)",
                 (long long)l->daily);
    else if (l->monthly > 0 && u->run_month >= l->monthly)
        snprintf(why, size, "monthly limit of %lld pipeline runs reached", (long long)l->monthly);
    else if (l->concurrent > 0 && u->running >= l->concurrent)
        snprintf(why, size, "%lld pipeline runs already in flight (the plan's limit)",
                 (long long)u->running);
    else
        return NULL;
    return why;
}
