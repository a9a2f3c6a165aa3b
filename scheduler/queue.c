/*
 * The run queue (see queue.h). Every change is a conditional UPDATE on the
 * expected state (and attempt), so a late or repeated message cannot move
 * a run twice.
 */
#include "scheduler/queue.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/quota.h"
#include "common/time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define Q "tenants.tenant_pipeline_execution_queue"

void sch_queue_init(sch_queue_t *q, cvg_wh_t *wh, int dispatch_lease_ms, int run_lease_ms)
{
    memset(q, 0, sizeof(*q));
    q->wh = wh;
    q->dispatch_lease_ms = dispatch_lease_ms;
    q->run_lease_ms = run_lease_ms;
    q->retry_delay_ms = 5000;
}

bool sch_queue_check_ready(sch_queue_t *q)
{
    if (q->ready)
        return true;
    bool exists = false;
    if (cvg_wh_table_exists(q->wh, "tenants", "tenant_pipeline_execution_queue", &exists, NULL) ==
            0 &&
        exists)
        q->ready = true;
    return q->ready;
}

/* The failure of a statement on the queue table: a missing table means the
 * system was re-bootstrapped under us; check again next time. */
static int note(sch_queue_t *q, int rc)
{
    if (rc == CVG_ENOTFOUND)
        q->ready = false;
    return rc;
}

/* How old a run's end in the run log is before the tick settles the queue
 * from it rather than waiting for the stream. */
#define ENDED_MARGIN_MS 2000

static void iso_in(int64_t delta_ms, char out[CVG_TIME_ISO_LEN])
{
    cvg_time_format_iso(cvg_time_now_ms() + delta_ms, out);
}

typedef struct claim_ctx {
    cvg_job_t *jobs;
    size_t n, max;
    size_t held_back; /* due runs of tenants at their concurrency limit */
} claim_ctx_t;

/* Runs of tenant taken so far in this claim. */
static int64_t taken_for(const claim_ctx_t *c, const char *tenant)
{
    int64_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += strcmp(c->jobs[i].tenant_id, tenant) == 0;
    return n;
}

static int collect_job(void *ud, const cvg_row_t *row)
{
    claim_ctx_t *c = ud;
    if (c->n >= c->max)
        return 1;
    /* the plan's concurrency: runs in flight plus those claimed now */
    char tenant[CVG_TENANT_MAX];
    cvg_val_copy_text(tenant, sizeof(tenant), &row->vals[2]);
    int64_t inflight = row->vals[8].type == CVG_VAL_INT ? row->vals[8].i : 0;
    int64_t limit = row->vals[9].type == CVG_VAL_INT ? row->vals[9].i : 0;
    if (limit > 0 && inflight + taken_for(c, tenant) >= limit) {
        c->held_back++;
        return 0;
    }
    cvg_job_t *j = &c->jobs[c->n++];
    memset(j, 0, sizeof(*j));
    cvg_val_copy_text(j->queue_id, sizeof(j->queue_id), &row->vals[0]);
    cvg_val_copy_text(j->run_id, sizeof(j->run_id), &row->vals[1]);
    cvg_val_copy_text(j->tenant_id, sizeof(j->tenant_id), &row->vals[2]);
    cvg_val_copy_text(j->pipeline, sizeof(j->pipeline), &row->vals[3]);
    cvg_val_copy_text(j->pipeline_id, sizeof(j->pipeline_id), &row->vals[10]);
    if (row->vals[4].type == CVG_VAL_TEXT) {
        json_t *p = json_loadb(row->vals[4].s, row->vals[4].len, 0, NULL);
        const char *key;
        json_t *val;
        json_object_foreach(p, key, val)
        {
            char *text = json_is_string(val) ? NULL : json_dumps(val, JSON_ENCODE_ANY);
            cvg_params_add(&j->params, key, text ? text : json_string_value(val));
            free(text);
        }
        json_decref(p);
    }
    cvg_val_copy_text(j->trigger_type, sizeof(j->trigger_type), &row->vals[5]);
    cvg_val_copy_text(j->triggered_by, sizeof(j->triggered_by), &row->vals[6]);
    j->attempt = row->vals[7].type == CVG_VAL_INT ? (int)row->vals[7].i : 1;
    return 0;
}

int sch_queue_claim(sch_queue_t *q, size_t max, cvg_job_t *jobs, size_t *n, cvg_err_t *err)
{
    *n = 0;
    if (max == 0 || !sch_queue_check_ready(q))
        return 0;
    char now[CVG_TIME_ISO_LEN], lease[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    /* one deadline, in the row and in the job: a refusal names it */
    int64_t deadline = cvg_time_now_ms() + q->dispatch_lease_ms;
    cvg_time_format_iso(deadline, lease);
    claim_ctx_t c = {.jobs = jobs, .max = max};
    /* Look past the first `max`: the oldest may belong to tenants at their
     * limit, and the others must not wait behind them. */
    cvg_val_t p[2] = {cvg_v_text(now), CVG_V_INT((int64_t)max * 4 + 32)};
    int rc = cvg_wh_exec(
        q->wh,
        "SELECT q.queue_id, q.pipeline_logging_id, q.tenant_id, q.pipeline, q.parameters, "
        "q.trigger_type, q.triggered_by, q.attempt, "
        "(SELECT count(*) FROM " Q " r WHERE r.tenant_id = q.tenant_id AND r.state IN "
        "('DISPATCHED', 'RUNNING')), "
        "(SELECT s.concurrent_limit FROM tenants.tenant_subscriptions s WHERE s.tenant_id = "
        "q.tenant_id ORDER BY s.created_at DESC LIMIT 1), q.pipeline_id "
        "FROM " Q " q WHERE q.state = 'QUEUED' AND (q.not_before IS NULL OR q.not_before <= $1) "
        "ORDER BY q.priority, q.enqueued_at LIMIT $2",
        p, 2, collect_job, &c, NULL, err);
    if (rc == 1)
        rc = 0; /* collect_job stopped the read: enough runs claimed */
    if (rc != 0) {
        for (size_t i = 0; i < c.n; i++)
            cvg_params_cleanup(&jobs[i].params);
        return note(q, rc);
    }
    for (size_t i = 0; i < c.n; i++) {
        cvg_job_t *j = &jobs[i];
        cvg_val_t u[3] = {cvg_v_text(j->queue_id), cvg_v_text(lease), cvg_v_text(now)};
        int64_t changed = 0;
        rc = cvg_wh_exec(q->wh,
                         "UPDATE " Q " SET state = 'DISPATCHED', lease_expires_at = $2, "
                         "updated_at = $3 WHERE queue_id = $1 AND state = 'QUEUED'",
                         u, 3, NULL, NULL, &changed, err);
        if (rc != 0 || changed != 1) {
            cvg_params_cleanup(&j->params);
            continue; /* taken by someone else, or a transient failure */
        }
        j->lease_deadline_ms = deadline;
        if (i != *n)
            jobs[*n] = *j;
        (*n)++;
    }
    return 0;
}

int sch_queue_unclaim(sch_queue_t *q, const char *queue_id, cvg_err_t *err)
{
    char now[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    cvg_val_t p[2] = {cvg_v_text(queue_id), cvg_v_text(now)};
    return note(q, cvg_wh_exec(q->wh,
                               "UPDATE " Q " SET state = 'QUEUED', lease_expires_at = NULL, "
                               "updated_at = $2 WHERE queue_id = $1 AND state = 'DISPATCHED'",
                               p, 2, NULL, NULL, NULL, err));
}

int sch_queue_refused(sch_queue_t *q, const char *run_id, int attempt, int64_t lease_deadline_ms,
                      int64_t *changed, cvg_err_t *err)
{
    *changed = 0;
    if (!q->ready || run_id[0] == '\0')
        return 0;
    char now[CVG_TIME_ISO_LEN], lease[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    cvg_time_format_iso(lease_deadline_ms, lease);
    cvg_val_t p[4] = {cvg_v_text(run_id), CVG_V_INT(attempt), cvg_v_text(lease), cvg_v_text(now)};
    return note(q, cvg_wh_exec(q->wh,
                               "UPDATE " Q " SET state = 'QUEUED', lease_expires_at = NULL, "
                               "updated_at = $4 WHERE pipeline_logging_id = $1 AND attempt = $2 "
                               "AND state = 'DISPATCHED' AND lease_expires_at = $3",
                               p, 4, NULL, NULL, changed, err));
}

/* The tenant of a run, from its queue row. */
static int tenant_of(sch_queue_t *q, const char *run_id, char tenant[CVG_TENANT_MAX],
                     cvg_err_t *err)
{
    cvg_val_t p = cvg_v_text(run_id);
    bool found = false;
    int rc = cvg_wh_query_text(q->wh, "SELECT tenant_id FROM " Q " WHERE pipeline_logging_id = $1",
                               &p, 1, tenant, CVG_TENANT_MAX, &found, err);
    if (rc == 0 && !found)
        rc = cvg_err_set(err, CVG_ENOTFOUND, "run_id", "run %s is not in the queue", run_id);
    return rc;
}

/* How a settled run is counted in its tenant's usage: status NULL for a
 * change that ends nothing the counters count (a retry, a cancel). */
typedef struct ending {
    const char *run_id;
    const char *tenant; /* "" when the teller did not say: read from the queue row */
    const char *status;
    int64_t ended_ms; /* the UTC day it is counted on */
} ending_t;

static int settle_once(sch_queue_t *q, const char *sql, const cvg_val_t *p, size_t n,
                       const ending_t *end, bool count, int64_t *changed, cvg_err_t *err)
{
    *changed = 0;
    int rc = cvg_wh_begin(q->wh, err);
    bool begun = rc == 0;
    if (rc == 0)
        rc = cvg_wh_exec(q->wh, sql, p, n, NULL, NULL, changed, err);
    if (rc == 0 && *changed > 0 && count) {
        char tenant[CVG_TENANT_MAX];
        snprintf(tenant, sizeof(tenant), "%s", end->tenant);
        if (tenant[0] == '\0')
            rc = tenant_of(q, end->run_id, tenant, err);
        if (rc == 0)
            rc = cvg_quota_count_end(q->wh, tenant, end->status, end->ended_ms, err);
    }
    if (rc == 0)
        rc = cvg_wh_commit(q->wh, err);
    if (rc != 0 && begun)
        cvg_wh_rollback(q->wh);
    return rc;
}

/* Runs sql, which may end a run (a caller outside any transaction), and
 * counts the end in the tenant's usage in the same transaction, once: only
 * when the statement changed the queue row. A count that fails does not
 * keep the run from being settled: it is settled without it. */
static int settle(sch_queue_t *q, const char *sql, const cvg_val_t *p, size_t n,
                  const ending_t *end, int64_t *changed, cvg_err_t *err)
{
    bool count = end->status != NULL;
    int rc = settle_once(q, sql, p, n, end, count, changed, err);
    if (rc != 0 && count && *changed > 0) {
        cvg_log_ctx_t lc = {.run_id = end->run_id};
        cvg_warn(&lc, "run not counted in its tenant's usage: %s", err->message);
        rc = settle_once(q, sql, p, n, end, false, changed, err);
    }
    return rc;
}

int sch_queue_on_event(sch_queue_t *q, const cvg_event_t *ev, cvg_err_t *err)
{
    if (!q->ready)
        return 0;
    char now[CVG_TIME_ISO_LEN], lease[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    iso_in(q->run_lease_ms, lease);
    if (ev->kind == CVG_EV_RUN_STARTED) {
        cvg_val_t p[5] = {cvg_v_text(ev->run_id), cvg_v_text(ev->worker_id), cvg_v_text(lease),
                          cvg_v_text(now), CVG_V_INT(ev->attempt)};
        return note(q, cvg_wh_exec(q->wh,
                                   "UPDATE " Q " SET state = 'RUNNING', lease_owner = $2, "
                                   "lease_expires_at = $3, updated_at = $4 "
                                   "WHERE pipeline_logging_id = $1 AND attempt = $5 "
                                   "AND state IN ('QUEUED', 'DISPATCHED')",
                                   p, 5, NULL, NULL, NULL, err));
    }
    if (ev->kind == CVG_EV_RUN_FINISHED) {
        cvg_val_t p[5] = {cvg_v_text(ev->run_id), cvg_v_text(ev->status),
                          ev->error ? cvg_v_text(ev->error) : CVG_V_NULL, cvg_v_text(now),
                          CVG_V_INT(ev->attempt)};
        int64_t changed = 0;
        ending_t end = {ev->run_id, ev->tenant_id, ev->status,
                        ev->end_ms > 0  ? ev->end_ms
                        : ev->ts_ms > 0 ? ev->ts_ms
                                        : cvg_time_now_ms()};
        return note(q, settle(q,
                              "UPDATE " Q " SET state = $2, last_error = $3, "
                              "lease_owner = NULL, lease_expires_at = NULL, updated_at = $4 "
                              "WHERE pipeline_logging_id = $1 AND attempt = $5 "
                              "AND state IN ('QUEUED', 'DISPATCHED', 'RUNNING')",
                              p, 5, &end, &changed, err));
    }
    return 0;
}

int sch_queue_held(sch_queue_t *q, const char *run_id, int attempt, const char *worker_id,
                   cvg_err_t *err)
{
    if (!q->ready || run_id[0] == '\0')
        return 0;
    char now[CVG_TIME_ISO_LEN], lease[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    iso_in(q->run_lease_ms, lease);
    cvg_val_t p[5] = {cvg_v_text(run_id), cvg_v_text(worker_id), cvg_v_text(lease), cvg_v_text(now),
                      CVG_V_INT(attempt)};
    return note(q, cvg_wh_exec(q->wh,
                               "UPDATE " Q " SET state = 'RUNNING', lease_owner = $2, "
                               "lease_expires_at = $3, updated_at = $4 "
                               "WHERE pipeline_logging_id = $1 AND attempt = $5 AND "
                               "(state = 'DISPATCHED' OR (state = 'RUNNING' AND lease_owner = $2))",
                               p, 5, NULL, NULL, NULL, err));
}

bool sch_queue_cancel_requested(sch_queue_t *q, const char *run_id)
{
    if (!q->ready)
        return false;
    cvg_val_t p = cvg_v_text(run_id);
    int64_t n = 0;
    return cvg_wh_query_int(q->wh,
                            "SELECT count(*) FROM " Q " WHERE pipeline_logging_id = $1 AND "
                            "cancel_requested = 1 AND state IN ('RUNNING', 'DISPATCHED', "
                            "'CANCELLED')",
                            &p, 1, &n, NULL, NULL) == 0 &&
           n > 0;
}

typedef struct lapsed {
    char (*ids)[CVG_ID_LEN];
    size_t n, max;
} lapsed_t;

static int collect_lapsed(void *ud, const cvg_row_t *row)
{
    lapsed_t *l = ud;
    if (l->n >= l->max)
        return 1;
    cvg_val_copy_text(l->ids[l->n++], CVG_ID_LEN, &row->vals[0]);
    return 0;
}

int sch_queue_redispatch(sch_queue_t *q, char (*ids)[CVG_ID_LEN], size_t max, size_t *n,
                         cvg_err_t *err)
{
    *n = 0;
    if (!sch_queue_check_ready(q) || max == 0)
        return 0;
    char now[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    cvg_val_t p[2] = {cvg_v_text(now), CVG_V_INT((int64_t)max)};
    lapsed_t l = {.ids = ids, .max = max};
    int rc = cvg_wh_exec(q->wh,
                         "SELECT pipeline_logging_id FROM " Q " WHERE state = 'DISPATCHED' AND "
                         "lease_expires_at < $1 ORDER BY lease_expires_at LIMIT $2",
                         p, 2, collect_lapsed, &l, NULL, err);
    rc = rc == 1 ? 0 : rc;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        cvg_val_t u[2] = {cvg_v_text(ids[i]), cvg_v_text(now)};
        int64_t changed = 0;
        rc = cvg_wh_exec(q->wh,
                         "UPDATE " Q " SET state = 'QUEUED', lease_expires_at = NULL, "
                         "updated_at = $2 WHERE pipeline_logging_id = $1 AND "
                         "state = 'DISPATCHED' AND lease_expires_at < $2",
                         u, 2, NULL, NULL, &changed, err);
        if (rc == 0 && changed == 1 && i != *n)
            memcpy(ids[*n], ids[i], CVG_ID_LEN);
        if (rc == 0 && changed == 1)
            (*n)++;
    }
    return note(q, rc);
}

typedef struct expire_ctx {
    sch_expired_t *out;
    size_t n, max;
} expire_ctx_t;

/* A row of run id, tenant, pipeline_id, pipeline, attempt, max_attempts,
 * the run log's final status (or NULL), cancel_requested, the run log's
 * end time (or NULL), the lease's owner (or NULL). */
static int collect_expired(void *ud, const cvg_row_t *row)
{
    expire_ctx_t *c = ud;
    if (c->n >= c->max)
        return 1;
    sch_expired_t *e = &c->out[c->n++];
    memset(e, 0, sizeof(*e));
    cvg_val_copy_text(e->run_id, sizeof(e->run_id), &row->vals[0]);
    cvg_val_copy_text(e->tenant_id, sizeof(e->tenant_id), &row->vals[1]);
    cvg_val_copy_text(e->pipeline_id, sizeof(e->pipeline_id), &row->vals[2]);
    cvg_val_copy_text(e->pipeline, sizeof(e->pipeline), &row->vals[3]);
    e->attempt = row->vals[4].type == CVG_VAL_INT ? (int)row->vals[4].i : 1;
    e->max_attempts = row->vals[5].type == CVG_VAL_INT ? (int)row->vals[5].i : 1;
    cvg_val_copy_text(e->logged, sizeof(e->logged), &row->vals[6]);
    e->cancelled = row->vals[7].type == CVG_VAL_INT && row->vals[7].i != 0;
    char ended[CVG_TIME_ISO_LEN] = "";
    if (row->ncols > 8)
        cvg_val_copy_text(ended, sizeof(ended), &row->vals[8]);
    if (row->ncols > 9)
        cvg_val_copy_text(e->worker, sizeof(e->worker), &row->vals[9]);
    if (ended[0] == '\0' || cvg_time_parse_iso(ended, &e->ended_ms) != 0)
        e->ended_ms = cvg_time_now_ms();
    return 0;
}

int sch_queue_expire(sch_queue_t *q, sch_expired_t *out, size_t max, size_t *n, cvg_err_t *err)
{
    *n = 0;
    if (!sch_queue_check_ready(q))
        return 0;
    char now[CVG_TIME_ISO_LEN], later[CVG_TIME_ISO_LEN], settled[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    iso_in(-ENDED_MARGIN_MS, settled);
    expire_ctx_t c = {.out = out, .max = max};
    cvg_val_t p[3] = {cvg_v_text(now), CVG_V_INT((int64_t)max), cvg_v_text(settled)};
    /* The run log is the truth about how an attempt ended: a completion the
     * scheduler missed on the stream (it was down, or the logger stopped
     * between its commit and the publish) is found there at the next tick,
     * without waiting for the lease, so the run stops holding a slot of
     * its tenant's concurrency (once the end is ENDED_MARGIN_MS old: the
     * stream, which carries it at once, goes first). */
    int rc = cvg_wh_exec(
        q->wh,
        "SELECT q.pipeline_logging_id, q.tenant_id, q.pipeline_id, q.pipeline, q.attempt, "
        "q.max_attempts, CASE WHEN r.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED') "
        "THEN r.status END, q.cancel_requested, r.end_time, q.lease_owner FROM " Q " q "
        "LEFT JOIN tenants.tenant_pipeline_runs r "
        "ON r.pipeline_logging_id = q.pipeline_logging_id AND r.attempt = q.attempt "
        "WHERE q.state = 'RUNNING' AND (q.lease_expires_at < $1 OR (r.status IN ('SUCCEEDED', "
        "'FAILED', 'TIMED_OUT', 'CANCELLED') AND r.updated_at < $3)) "
        "ORDER BY q.lease_expires_at LIMIT $2",
        p, 3, collect_expired, &c, NULL, err);
    if (rc != 0)
        return note(q, rc);
    for (size_t i = 0; i < c.n; i++) {
        sch_expired_t *e = &out[i];
        int64_t changed = 0;
        if (e->logged[0] != '\0') {
            cvg_val_t u[4] = {cvg_v_text(e->run_id), CVG_V_INT(e->attempt), cvg_v_text(now),
                              cvg_v_text(e->logged)};
            rc = settle(q,
                        "UPDATE " Q " SET state = $4, lease_owner = NULL, "
                        "lease_expires_at = NULL, updated_at = $3 "
                        "WHERE pipeline_logging_id = $1 AND attempt = $2 AND state = 'RUNNING'",
                        u, 4, &(ending_t){e->run_id, e->tenant_id, e->logged, e->ended_ms},
                        &changed, err);
        } else if (e->cancelled) {
            /* its worker was lost after a cancel was asked for: done */
            cvg_val_t u[3] = {cvg_v_text(e->run_id), CVG_V_INT(e->attempt), cvg_v_text(now)};
            rc =
                cvg_wh_exec(q->wh,
                            "UPDATE " Q " SET state = 'CANCELLED', lease_owner = NULL, "
                            "lease_expires_at = NULL, updated_at = $3 "
                            "WHERE pipeline_logging_id = $1 AND attempt = $2 AND state = 'RUNNING'",
                            u, 3, NULL, NULL, &changed, err);
        } else {
            e->dead = e->attempt >= e->max_attempts;
            /* Backoff doubles per attempt, from retry_delay_ms. */
            int shift = e->attempt < 6 ? e->attempt - 1 : 5;
            iso_in((int64_t)q->retry_delay_ms * ((int64_t)1 << (shift > 0 ? shift : 0)), later);
            cvg_val_t u[4] = {cvg_v_text(e->run_id), CVG_V_INT(e->attempt), cvg_v_text(now),
                              cvg_v_text(later)};
            rc = settle(
                q,
                e->dead ? "UPDATE " Q " SET state = 'DEAD', lease_owner = NULL, "
                          "lease_expires_at = NULL, last_error = 'lease expired: "
                          "worker lost, no attempts left', updated_at = $3 "
                          "WHERE pipeline_logging_id = $1 AND attempt = $2 "
                          "AND state = 'RUNNING'"
                        : "UPDATE " Q " SET state = 'QUEUED', attempt = attempt + 1, "
                          "not_before = $4, lease_owner = NULL, "
                          "lease_expires_at = NULL, last_error = 'lease expired: "
                          "worker lost', updated_at = $3 "
                          "WHERE pipeline_logging_id = $1 AND attempt = $2 "
                          "AND state = 'RUNNING'",
                u, 4,
                &(ending_t){e->run_id, e->tenant_id, e->dead ? "DEAD" : NULL, cvg_time_now_ms()},
                &changed, err);
        }
        if (rc != 0)
            return note(q, rc);
        if (changed == 1)
            out[(*n)++] = *e;
    }
    return 0;
}

int sch_queue_handback(sch_queue_t *q, const char *run_id, int attempt, const char *worker_id,
                       sch_expired_t *out, bool *requeued, cvg_err_t *err)
{
    *requeued = false;
    if (!sch_queue_check_ready(q) || run_id[0] == '\0')
        return 0;
    char now[CVG_TIME_ISO_LEN], later[CVG_TIME_ISO_LEN];
    iso_in(0, now);
    /* due after the first retry delay, as a lost run is: the logger closes
     * the stopped attempt's steps begun before the scheduler's word, and
     * the next attempt's must begin after it whatever the clocks say */
    iso_in(q->retry_delay_ms, later);
    expire_ctx_t c = {.out = out, .max = 1};
    cvg_val_t p[5] = {cvg_v_text(run_id), CVG_V_INT(attempt), cvg_v_text(worker_id),
                      cvg_v_text(now), cvg_v_text(later)};
    int rc = cvg_wh_exec(
        q->wh,
        "UPDATE " Q " SET state = 'QUEUED', attempt = attempt + 1, "
        "max_attempts = max_attempts + 1, not_before = $5, lease_owner = NULL, "
        "lease_expires_at = NULL, last_error = 'its worker stopped before the run ended', "
        "updated_at = $4 WHERE pipeline_logging_id = $1 AND attempt = $2 AND "
        "(state = 'DISPATCHED' OR (state = 'RUNNING' AND lease_owner = $3)) AND "
        "COALESCE(cancel_requested, 0) = 0 "
        "RETURNING pipeline_logging_id, tenant_id, pipeline_id, pipeline, attempt - 1, "
        "max_attempts, NULL, cancel_requested, NULL",
        p, 5, collect_expired, &c, NULL, err);
    if (rc == 1)
        rc = 0;
    *requeued = rc == 0 && c.n == 1;
    return note(q, rc);
}

typedef struct counts_ctx {
    cvg_buf_t *b;
    bool first;
} counts_ctx_t;

static int add_count(void *ud, const cvg_row_t *row)
{
    counts_ctx_t *c = ud;
    if (!c->first)
        cvg_buf_puts(c->b, ",");
    c->first = false;
    cvg_buf_append_json_str(c->b, row->vals[0].s ? row->vals[0].s : "", row->vals[0].len);
    cvg_buf_printf(c->b, ":%lld", (long long)row->vals[1].i);
    return 0;
}

int sch_queue_counts(sch_queue_t *q, char *out, size_t size, cvg_err_t *err)
{
    snprintf(out, size, "{}");
    if (!sch_queue_check_ready(q))
        return 0;
    cvg_buf_t b;
    cvg_buf_init(&b, size > 2 ? size - 2 : 0);
    cvg_buf_puts(&b, "{");
    counts_ctx_t c = {.b = &b, .first = true};
    int rc = cvg_wh_exec(q->wh, "SELECT state, count(*) FROM " Q " GROUP BY state", NULL, 0,
                         add_count, &c, NULL, err);
    cvg_buf_puts(&b, "}");
    if (rc == 0)
        snprintf(out, size, "%s", cvg_buf_cstr(&b));
    cvg_buf_cleanup(&b);
    return note(q, rc);
}
