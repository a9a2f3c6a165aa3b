/*
 * Cancelling a run (control op "cancel"). A run not yet started ends
 * CANCELLED at once; a running one is marked and its worker told to stop
 * (the runner interrupts the step and ends the run CANCELLED). A worker
 * that never hears of it still stops: the mark is checked again on its
 * next heartbeat, and a lease that lapses on a marked run ends it.
 */
#include "scheduler/scheduler.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q "tenants.tenant_pipeline_execution_queue"

typedef struct target {
    bool found;
    char tenant[CVG_TENANT_MAX];
    char state[CVG_STATUS_MAX];
    char owner[CVG_NAME_MAX];
    char pipeline_id[CVG_NAME_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX];
    char trigger_type[CVG_STATUS_MAX];
    char triggered_by[CVG_NAME_MAX];
    char *params; /* the parameters' JSON text, as queued */
    int attempt;
    bool ended; /* found in the run log only, final: past the queue's retention */
} target_t;

static int take(void *ud, const cvg_row_t *row)
{
    target_t *t = ud;
    t->found = true;
    cvg_val_copy_text(t->tenant, sizeof(t->tenant), &row->vals[0]);
    cvg_val_copy_text(t->state, sizeof(t->state), &row->vals[1]);
    cvg_val_copy_text(t->owner, sizeof(t->owner), &row->vals[2]);
    cvg_val_copy_text(t->pipeline_id, sizeof(t->pipeline_id), &row->vals[3]);
    cvg_val_copy_text(t->pipeline, sizeof(t->pipeline), &row->vals[4]);
    t->attempt = row->vals[5].type == CVG_VAL_INT ? (int)row->vals[5].i : 1;
    cvg_val_copy_text(t->trigger_type, sizeof(t->trigger_type), &row->vals[6]);
    cvg_val_copy_text(t->triggered_by, sizeof(t->triggered_by), &row->vals[7]);
    if (row->vals[8].type == CVG_VAL_TEXT)
        t->params = strndup(row->vals[8].s, row->vals[8].len);
    return 1;
}

static int take_logged(void *ud, const cvg_row_t *row)
{
    target_t *t = ud;
    t->found = t->ended = true;
    cvg_val_copy_text(t->tenant, sizeof(t->tenant), &row->vals[0]);
    cvg_val_copy_text(t->state, sizeof(t->state), &row->vals[1]);
    return 1;
}

/* A run no longer in the queue: one whose row left it past the retention
 * (retention.c) ended, and the run log has it. */
static int find_logged(sch_t *s, const char *run_id, target_t *t, cvg_err_t *err)
{
    cvg_val_t p = cvg_v_text(run_id);
    int rc = cvg_wh_exec(s->wh,
                         "SELECT tenant_id, status FROM tenants.tenant_pipeline_runs WHERE "
                         "pipeline_logging_id = $1 AND status IN ('SUCCEEDED', 'FAILED', "
                         "'TIMED_OUT', 'CANCELLED', 'DEAD')",
                         &p, 1, take_logged, t, NULL, err);
    return rc == 1 ? 0 : rc;
}

void sch_cancel_send(sch_t *s, const sch_worker_t *x, const char *run_id)
{
    if (x == NULL || x->ident_len == 0)
        return;
    cvg_worker_msg_t m = {.ts_ms = cvg_time_now_ms()};
    snprintf(m.op, sizeof(m.op), "cancel");
    snprintf(m.worker_id, sizeof(m.worker_id), "%s", x->id);
    snprintf(m.run_id, sizeof(m.run_id), "%s", run_id);
    cvg_buf_t b;
    cvg_buf_init(&b, 4096);
    if (cvg_msg_encode_worker(&m, &b) == 0) {
        zframe_t *id = zframe_new(x->ident, x->ident_len);
        zframe_send(&id, s->workers_in, ZFRAME_MORE);
        zframe_t *f = zframe_new(b.data, b.len);
        zframe_send(&f, s->workers_in, 0);
    }
    cvg_buf_cleanup(&b);
}

/* The run's end for the run log, which may not have the run yet (it gets a
 * run from its first event), so the event carries what the queue knows. */
static void announce_cancelled(sch_t *s, const char *run_id, const target_t *t)
{
    sch_announce(s, &(sch_announce_t){.run_id = run_id,
                                      .tenant_id = t->tenant,
                                      .pipeline_id = t->pipeline_id,
                                      .pipeline = t->pipeline,
                                      .status = "CANCELLED",
                                      .error = SCH_CANCELLED_BEFORE_START,
                                      .attempt = t->attempt,
                                      .trigger_type = t->trigger_type,
                                      .triggered_by = t->triggered_by,
                                      .params = t->params});
}

json_t *sch_cancel(sch_t *s, const char *body, int *status)
{
    json_t *req = json_loads(body ? body : "", 0, NULL);
    const char *run_id = json_string_value(json_object_get(req, "run_id"));
    const char *tenant = json_string_value(json_object_get(req, "tenant_id"));
    json_t *out = NULL;
    target_t t = {0};
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = CVG_EINVAL;
    if (run_id && sch_queue_check_ready(&s->queue)) {
        cvg_val_t p = cvg_v_text(run_id);
        rc = cvg_wh_exec(s->wh,
                         "SELECT tenant_id, state, lease_owner, pipeline_id, pipeline, attempt, "
                         "trigger_type, triggered_by, parameters FROM " Q
                         " WHERE pipeline_logging_id = $1",
                         &p, 1, take, &t, NULL, &err);
        rc = rc == 1 ? 0 : rc;
        if (rc == 0 && !t.found)
            rc = find_logged(s, run_id, &t, &err);
    }
    /* another tenant's run is as absent as a run that never was */
    if (rc == 0 && (!t.found || (tenant && strcmp(tenant, t.tenant) != 0))) {
        *status = CVG_ENOTFOUND;
        out = json_pack("{s:s, s:s}", "code", "not_found", "message", "no such run");
        goto done;
    }
    if (rc != 0) {
        *status = rc;
        out = json_pack("{s:s, s:s}", "code", "unavailable", "message",
                        err.message[0] ? err.message : "run_id required");
        goto done;
    }
    if (t.ended) {
        *status = CVG_EEXIST;
        out = json_pack("{s:s, s:s, s:s}", "code", "already_finished", "message",
                        "the run has already finished", "state", t.state);
        goto done;
    }
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    cvg_val_t u[2] = {cvg_v_text(run_id), cvg_v_text(now)};
    int64_t changed = 0;
    if (strcmp(t.state, "QUEUED") == 0 || strcmp(t.state, "DISPATCHED") == 0) {
        rc = cvg_wh_exec(s->wh,
                         "UPDATE " Q " SET state = 'CANCELLED', cancel_requested = 1, "
                         "lease_expires_at = NULL, updated_at = $2 WHERE pipeline_logging_id = $1 "
                         "AND state IN ('QUEUED', 'DISPATCHED')",
                         u, 2, NULL, NULL, &changed, &err);
        if (rc == 0 && changed == 1) {
            announce_cancelled(s, run_id, &t);
            *status = 0;
            out = json_pack("{s:s, s:s}", "run_id", run_id, "state", "CANCELLED");
            goto done;
        }
    } else if (strcmp(t.state, "RUNNING") == 0) {
        rc = cvg_wh_exec(s->wh,
                         "UPDATE " Q " SET cancel_requested = 1, updated_at = $2 WHERE "
                         "pipeline_logging_id = $1 AND state = 'RUNNING'",
                         u, 2, NULL, NULL, &changed, &err);
        if (rc == 0 && changed == 1) {
            sch_cancel_send(s, sch_workers_by_run(&s->workers, run_id), run_id);
            *status = 0;
            out = json_pack("{s:s, s:s}", "run_id", run_id, "state", "CANCELLING");
            goto done;
        }
    }
    if (rc != 0) {
        *status = rc;
        out = json_pack("{s:s, s:s}", "code", "unavailable", "message", err.message);
        goto done;
    }
    /* it ended meanwhile, or had ended */
    *status = CVG_EEXIST;
    out = json_pack("{s:s, s:s, s:s}", "code", "already_finished", "message",
                    "the run has already finished", "state", t.state);
done:
    if (*status == 0) {
        cvg_log_ctx_t lc = {.tenant_id = t.tenant, .pipeline_id = t.pipeline_id, .run_id = run_id};
        cvg_info(&lc, "cancel requested (run was %s)", t.state);
    }
    free(t.params);
    json_decref(req);
    return out;
}
