/*
 * The run log made to agree with the queue (see sch_reconcile in
 * scheduler.h). Run once the queue is ready, before the first dispatch; an
 * event the logger already has is harmless (it keeps the furthest state of
 * the newest attempt), so a second pass changes nothing.
 */
#include "common/log.h"
#include "common/time.h"
#include "scheduler/scheduler.h"

#include <stdlib.h>
#include <string.h>

#define Q "tenants.tenant_pipeline_execution_queue"

typedef struct unlogged {
    char run_id[CVG_ID_LEN];
    char tenant_id[CVG_TENANT_MAX];
    char pipeline_id[CVG_NAME_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX];
    char status[CVG_STATUS_MAX]; /* to announce */
    char error[512];
    char trigger_type[CVG_STATUS_MAX];
    char triggered_by[CVG_NAME_MAX];
    char *params;
    int attempt;
    int64_t at_ms; /* the queue row's updated_at */
    bool in_log;
} unlogged_t;

typedef struct found {
    unlogged_t *rows;
    size_t n, max;
} found_t;

/* A row of run id, tenant, pipeline_id, pipeline, queue state, attempt to
 * announce, last_error, trigger_type, triggered_by, parameters, whether
 * the run log has the run, and the queue row's updated_at. */
static int take(void *ud, const cvg_row_t *row)
{
    found_t *f = ud;
    if (f->n >= f->max)
        return 1;
    unlogged_t *u = &f->rows[f->n++];
    memset(u, 0, sizeof(*u));
    cvg_val_copy_text(u->run_id, sizeof(u->run_id), &row->vals[0]);
    cvg_val_copy_text(u->tenant_id, sizeof(u->tenant_id), &row->vals[1]);
    cvg_val_copy_text(u->pipeline_id, sizeof(u->pipeline_id), &row->vals[2]);
    cvg_val_copy_text(u->pipeline, sizeof(u->pipeline), &row->vals[3]);
    char state[CVG_STATUS_MAX];
    cvg_val_copy_text(state, sizeof(state), &row->vals[4]);
    /* a run queued again is announced as the lost attempt's retry */
    snprintf(u->status, sizeof(u->status), "%s", strcmp(state, "QUEUED") == 0 ? "RETRYING" : state);
    u->attempt = row->vals[5].type == CVG_VAL_INT ? (int)row->vals[5].i : 1;
    cvg_val_copy_text(u->error, sizeof(u->error), &row->vals[6]);
    cvg_val_copy_text(u->trigger_type, sizeof(u->trigger_type), &row->vals[7]);
    cvg_val_copy_text(u->triggered_by, sizeof(u->triggered_by), &row->vals[8]);
    if (row->vals[9].type == CVG_VAL_TEXT)
        u->params = strndup(row->vals[9].s, row->vals[9].len);
    u->in_log = row->vals[10].type == CVG_VAL_INT && row->vals[10].i != 0;
    char at[CVG_TIME_ISO_LEN];
    cvg_val_copy_text(at, sizeof(at), &row->vals[11]);
    if (at[0] == '\0' || cvg_time_parse_iso(at, &u->at_ms) != 0)
        u->at_ms = 0;
    return 0;
}

static const char *error_of(const unlogged_t *u)
{
    if (u->error[0] != '\0')
        return u->error;
    if (strcmp(u->status, "CANCELLED") == 0)
        return u->in_log ? "cancelled" : SCH_CANCELLED_BEFORE_START;
    return strcmp(u->status, "DEAD") == 0 ? "no attempts left" : "queued again";
}

int sch_reconcile(sch_t *s, size_t max, size_t *n)
{
    *n = 0;
    unlogged_t *rows = calloc(max ? max : 1, sizeof(*rows));
    if (rows == NULL)
        return CVG_ENOMEM;
    found_t f = {.rows = rows, .max = max};
    cvg_val_t p = CVG_V_INT((int64_t)max);
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_wh_exec(
        s->wh,
        "SELECT q.pipeline_logging_id, q.tenant_id, q.pipeline_id, q.pipeline, q.state, "
        "CASE WHEN q.state = 'QUEUED' THEN r.attempt ELSE q.attempt END, q.last_error, "
        "q.trigger_type, q.triggered_by, q.parameters, r.pipeline_logging_id IS NOT NULL, "
        "q.updated_at "
        "FROM " Q " q LEFT JOIN tenants.tenant_pipeline_runs r "
        "ON r.pipeline_logging_id = q.pipeline_logging_id "
        "WHERE (q.state IN ('DEAD', 'CANCELLED') AND (r.status IS NULL OR r.status NOT IN "
        "('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'DEAD'))) "
        "OR (q.state = 'QUEUED' AND r.status = 'RUNNING' AND r.attempt < q.attempt) "
        "ORDER BY q.updated_at LIMIT $1",
        &p, 1, take, &f, NULL, &err);
    if (rc != 0)
        cvg_warn(NULL, "cannot compare the queue with the run log: %s", err.message);
    for (size_t i = 0; i < f.n; i++) {
        unlogged_t *u = &rows[i];
        cvg_log_ctx_t lc = {
            .tenant_id = u->tenant_id, .pipeline_id = u->pipeline_id, .run_id = u->run_id};
        cvg_log_field_t lf[2] = {CVG_LF_STR("status", u->status),
                                 CVG_LF_NUM("attempt", u->attempt)};
        cvg_log_write(CVG_LOG_WARNING, &lc, lf, 2,
                      "the run log missed what the queue holds (its event was lost with an "
                      "earlier scheduler): told again");
        sch_announce(s, &(sch_announce_t){.run_id = u->run_id,
                                          .tenant_id = u->tenant_id,
                                          .pipeline_id = u->pipeline_id,
                                          .pipeline = u->pipeline,
                                          .status = u->status,
                                          .error = error_of(u),
                                          .attempt = u->attempt,
                                          .at_ms = u->at_ms,
                                          .trigger_type = u->in_log ? NULL : u->trigger_type,
                                          .triggered_by = u->in_log ? NULL : u->triggered_by,
                                          .params = u->in_log ? NULL : u->params});
        free(u->params);
    }
    free(rows);
    *n = f.n;
    return rc;
}
