/*
 * Queueing runs on request (enqueue messages from the gateway's manual-run
 * endpoint, several runs each; see docs/protocol.md): the Idempotency-Key is looked up, the
 * tenant's daily and monthly limits are checked, the queue row is inserted and the usage counters
 * are raised, all in a transaction. Runs that arrive together share one transaction (one commit): a
 * tenant's limits and counters are read once per batch and raised once for all its runs in it. The
 * queue row is the run's record until a worker starts it: the run log gets the run from the
 * worker's first event (or the scheduler's, if it is cancelled or dead first), so accepting a run
 * costs the logger nothing and a burst of requests does not contend with it for the central file.
 * The run reads merge the two (gateway/handlers/run_reads.c).
 */
#include "scheduler/scheduler.h"
#include "common/id.h"
#include "common/log.h"
#include "common/quota.h"
#include "common/tenant.h"
#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q "tenants.tenant_pipeline_execution_queue"

typedef struct existing {
    char run_id[CVG_ID_LEN];
    char state[CVG_STATUS_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX];
    json_t *parameters; /* owned */
    bool found;
} existing_t;

static int take_existing(void *ud, const cvg_row_t *row)
{
    existing_t *e = ud;
    e->found = true;
    snprintf(e->run_id, sizeof(e->run_id), "%.*s", (int)row->vals[0].len, row->vals[0].s);
    snprintf(e->state, sizeof(e->state), "%.*s", (int)row->vals[1].len, row->vals[1].s);
    snprintf(e->pipeline, sizeof(e->pipeline), "%.*s", (int)row->vals[2].len, row->vals[2].s);
    if (row->vals[3].type == CVG_VAL_TEXT)
        e->parameters = json_loadb(row->vals[3].s, row->vals[3].len, 0, NULL);
    return 1;
}

/* A repeated request must ask for what the first asked for: the same
 * parameters, the date included when this one names it (a request that
 * leaves its date to the day it came matches whatever day the first had). */
static bool same_request(const existing_t *ex, const cvg_enq_run_t *run)
{
    json_t *now = json_loads(run->parameters, 0, NULL);
    json_t *then = json_copy(ex->parameters);
    if (!run->date_given) {
        json_object_del(now, "date");
        json_object_del(then, "date");
    }
    bool same = now != NULL && then != NULL && json_equal(now, then);
    json_decref(now);
    json_decref(then);
    return same;
}

typedef struct limits_row {
    cvg_limits_t *l;
    bool found;
} limits_row_t;

static int take_limits(void *ud, const cvg_row_t *row)
{
    limits_row_t *r = ud;
    r->found = true;
    r->l->daily = row->vals[0].type == CVG_VAL_INT ? row->vals[0].i : 0;
    r->l->monthly = row->vals[1].type == CVG_VAL_INT ? row->vals[1].i : 0;
    r->l->concurrent = row->vals[2].type == CVG_VAL_INT ? row->vals[2].i : 0;
    return 1;
}

static int read_limits(cvg_wh_t *wh, const char *tenant, cvg_limits_t *l, cvg_err_t *err)
{
    memset(l, 0, sizeof(*l));
    limits_row_t r = {.l = l};
    cvg_val_t t = cvg_v_text(tenant);
    int rc = cvg_wh_exec(wh,
                         "SELECT daily_limit, monthly_limit, concurrent_limit FROM "
                         "tenants.tenant_subscriptions WHERE tenant_id = $1 "
                         "ORDER BY created_at DESC LIMIT 1",
                         &t, 1, take_limits, &r, NULL, err);
    if (rc == 1)
        rc = 0;
    if (rc == 0 && !r.found)
        rc = cvg_err_set(err, CVG_ENOTFOUND, "tenant_id", "tenant %s has no subscription", tenant);
    return rc;
}

/* The result of a run queued now or earlier under the same key. */
static void queued_result(cvg_enq_result_t *r, const char *run_id, const char *state, bool existing)
{
    r->status = 0;
    snprintf(r->run_id, sizeof(r->run_id), "%s", run_id);
    snprintf(r->state, sizeof(r->state), "%s", state);
    r->existing = existing;
}

static void error_result(cvg_enq_result_t *r, int status, const char *code, const char *reason)
{
    r->status = status;
    snprintf(r->code, sizeof(r->code), "%s", code);
    /* a warehouse error may be longer: cut, not refused */
    snprintf(r->reason, sizeof(r->reason), "%.*s", (int)sizeof(r->reason) - 1, reason);
}

/* A tenant's limits and counters, read once per batch; `added` counts the
 * runs this batch queued for it, written back in one upsert at the end. */
typedef struct tenant_usage {
    char tenant[CVG_TENANT_ID_MAX + 1];
    int rc; /* of reading them; CVG_ENOTFOUND: no subscription */
    char why[200];
    cvg_limits_t limits;
    cvg_usage_t usage;
    int64_t added;
} tenant_usage_t;

typedef struct batch {
    sch_t *s;
    int64_t now;
    char now_iso[CVG_TIME_ISO_LEN], today[CVG_TIME_DATE_LEN];
    tenant_usage_t *tenants;
    size_t ntenants;
} batch_t;

static tenant_usage_t *usage_of(batch_t *b, const char *tenant)
{
    for (size_t i = 0; i < b->ntenants; i++) {
        if (strcmp(b->tenants[i].tenant, tenant) == 0)
            return &b->tenants[i];
    }
    tenant_usage_t *t = &b->tenants[b->ntenants++];
    snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
    cvg_err_t err;
    cvg_err_clear(&err);
    t->rc = read_limits(b->s->wh, tenant, &t->limits, &err);
    if (t->rc == 0)
        t->rc = cvg_quota_read(b->s->wh, tenant, b->today, &t->usage, &err);
    snprintf(t->why, sizeof(t->why), "%.199s", err.message);
    return t;
}

/* Raises the counters of the tenants that had runs queued in this batch. */
static int write_usage(batch_t *b, cvg_err_t *err)
{
    char month[8];
    snprintf(month, sizeof(month), "%.7s", b->today);
    for (size_t i = 0; i < b->ntenants; i++) {
        const tenant_usage_t *t = &b->tenants[i];
        if (t->added == 0)
            continue;
        cvg_val_t u[9] = {cvg_v_text(t->tenant),
                          cvg_v_text(b->today),
                          cvg_v_text(month),
                          CVG_V_INT(t->added),
                          CVG_V_INT(t->usage.run_month + t->added),
                          CVG_V_INT(t->limits.daily),
                          CVG_V_INT(t->limits.monthly),
                          CVG_V_INT(t->limits.concurrent),
                          cvg_v_text(b->now_iso)};
        int rc = cvg_wh_exec(b->s->wh,
                             "INSERT INTO tenants.tenant_usage_quotas (tenant_id, usage_date, "
                             "usage_month, pipelines_run_today, pipelines_run_month, "
                             "pipelines_succeeded_today, pipelines_failed_today, "
                             "concurrent_pipelines_running, daily_limit, monthly_limit, "
                             "concurrent_limit, last_pipeline_at, updated_at) VALUES ($1, $2, $3, "
                             "$4, $5, 0, 0, 0, $6, $7, $8, $9, $9) ON CONFLICT (tenant_id, "
                             "usage_date) DO UPDATE SET pipelines_run_today = "
                             "pipelines_run_today + $4, pipelines_run_month = pipelines_run_month "
                             "+ $4, last_pipeline_at = $9, updated_at = $9",
                             u, 9, NULL, NULL, NULL, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The run's parameters: a JSON object text, stored as the gateway wrote it
 * (compact, keys sorted). */
static bool parameters_ok(const char *text)
{
    json_t *p = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(p);
    json_decref(p);
    return ok;
}

/*
 * One run, inside the batch's transaction. Its only write is the queue
 * row, one statement, which SQLite applies whole or not at all; the usage
 * counters are raised for the whole batch at the end. Returns true when a
 * new run was queued; *fatal is set when the transaction itself failed.
 */
static bool enqueue_one(batch_t *b, const cvg_enq_run_t *run, cvg_enq_result_t *res, int *fatal)
{
    sch_t *s = b->s;
    memset(res, 0, sizeof(*res));
    if (!parameters_ok(run->parameters)) {
        error_result(res, CVG_EINVAL, "invalid_request", "parameters: not a JSON object");
        return false;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    existing_t ex = {0};
    int rc = 0;
    if (run->idempotency_key[0] != '\0') {
        cvg_val_t p[2] = {cvg_v_text(run->tenant_id), cvg_v_text(run->idempotency_key)};
        rc = cvg_wh_exec(s->wh,
                         "SELECT pipeline_logging_id, state, pipeline, parameters FROM " Q
                         " WHERE tenant_id = $1 AND idempotency_key = $2",
                         p, 2, take_existing, &ex, NULL, &err);
        rc = rc == 1 ? 0 : rc;
    }
    if (rc == 0 && ex.found) {
        char why[160];
        snprintf(why, sizeof(why), "this Idempotency-Key was used for %s (run %s)",
                 strcmp(ex.pipeline, run->pipeline) != 0 ? "another pipeline" : "other parameters",
                 ex.run_id);
        if (strcmp(ex.pipeline, run->pipeline) != 0 || !same_request(&ex, run)) {
            error_result(res, CVG_EEXIST, "idempotency_key_reused", why);
            snprintf(res->run_id, sizeof(res->run_id), "%s", ex.run_id);
        } else {
            queued_result(res, ex.run_id, ex.state, true);
        }
        json_decref(ex.parameters);
        return false;
    }
    json_decref(ex.parameters);
    if (rc != 0)
        goto failed;
    tenant_usage_t *t = usage_of(b, run->tenant_id);
    if (t->rc != 0 && t->rc != CVG_ENOTFOUND) {
        /* a failed read may have ended the transaction: fail the batch */
        rc = t->rc;
        cvg_err_set(&err, t->rc, "", "%s", t->why);
        goto failed;
    }
    if (t->rc != 0) {
        error_result(res, t->rc, "not_found", t->why);
        return false;
    }
    cvg_usage_t now_used = t->usage;
    now_used.run_today += t->added;
    now_used.run_month += t->added;
    char why[200];
    int64_t retry_after = 0;
    if (cvg_quota_exhausted(&now_used, &t->limits, b->now, &retry_after, why, sizeof(why))) {
        error_result(res, CVG_EFULL, "quota_exceeded", why);
        res->retry_after_s = retry_after;
        return false;
    }
    char run_id[CVG_ID_LEN], queue_id[CVG_ID_LEN], enqueued[CVG_TIME_ISO_LEN];
    cvg_id_new(run_id);
    cvg_id_new(queue_id);
    /* the time its id says: the run log's created_at, so a list's order
     * and cursor hold when the run moves from the queue to the log */
    cvg_time_format_iso(cvg_id_time_ms(run_id), enqueued);
    cvg_val_t v[13] = {cvg_v_text(queue_id),
                       cvg_v_text(run_id),
                       cvg_v_text(run->tenant_id),
                       cvg_v_text(run->pipeline),
                       cvg_v_text(run->pipeline_id),
                       cvg_v_text(run->parameters),
                       cvg_v_text(run->trigger_type),
                       cvg_v_text(run->triggered_by),
                       CVG_V_INT(run->priority),
                       CVG_V_INT(run->max_attempts),
                       run->idempotency_key[0] ? cvg_v_text(run->idempotency_key) : CVG_V_NULL,
                       cvg_v_text(b->now_iso),
                       cvg_v_text(enqueued)};
    rc = cvg_wh_exec(s->wh,
                     "INSERT INTO " Q " (queue_id, pipeline_logging_id, tenant_id, "
                     "pipeline, pipeline_id, parameters, trigger_type, "
                     "triggered_by, priority, state, attempt, max_attempts, "
                     "idempotency_key, cancel_requested, enqueued_at, updated_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'QUEUED', 1, "
                     "$10, $11, 0, $13, $12)",
                     v, 13, NULL, NULL, NULL, &err);
    if (rc == CVG_EEXIST || rc == CVG_EINVAL || rc == CVG_ENOMEM) {
        /* this row only: the statement changed nothing, the batch goes on */
        error_result(res, rc, "unavailable", err.message);
        return false;
    }
    if (rc != 0)
        goto failed;
    t->added++;
    queued_result(res, run_id, "QUEUED", false);
    return true;
failed:
    *fatal = rc;
    error_result(res, rc, "unavailable", err.message);
    return false;
}

int sch_enqueue_in_tx(sch_t *s, size_t n, const cvg_enq_run_t *const *runs,
                      cvg_enq_result_t *results, size_t *added, cvg_err_t *err)
{
    *added = 0;
    batch_t b = {.s = s, .now = cvg_time_now_ms(), .tenants = calloc(n, sizeof(tenant_usage_t))};
    if (b.tenants == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    cvg_time_format_iso(b.now, b.now_iso);
    cvg_time_format_date(b.now, b.today);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        *added += enqueue_one(&b, runs[i], &results[i], &rc);
        if (rc != 0) /* the transaction failed on this run: its result says why */
            cvg_err_set(err, rc, "", "%s", results[i].reason);
    }
    if (rc == 0)
        rc = write_usage(&b, err);
    free(b.tenants);
    return rc;
}

void sch_enqueue_batch(sch_t *s, size_t n, const cvg_enq_run_t *const *runs,
                       cvg_enq_result_t *results)
{
    cvg_err_t err;
    cvg_err_clear(&err);
    bool ready = sch_queue_check_ready(&s->queue);
    int rc = ready ? cvg_wh_begin(s->wh, &err) : CVG_EBUSY;
    bool begun = ready && rc == 0;
    size_t added = 0;
    if (rc == 0)
        rc = sch_enqueue_in_tx(s, n, runs, results, &added, &err);
    /* One commit for the batch: one fsync, however many runs. */
    if (rc == 0)
        rc = cvg_wh_commit(s->wh, &err);
    if (rc != 0) {
        if (begun)
            cvg_wh_rollback(s->wh);
        bool missing = !ready && rc == CVG_EBUSY;
        const char *why = missing ? "the queue table does not exist: bootstrap the system"
                                  : "the queue cannot be written now";
        for (size_t i = 0; i < n; i++) {
            memset(&results[i], 0, sizeof(results[i]));
            error_result(&results[i], rc == CVG_ENOMEM ? CVG_ENOMEM : CVG_EBUSY,
                         missing ? "not_ready" : "unavailable", err.message[0] ? err.message : why);
        }
        added = 0;
    }
    for (size_t i = 0; i < n && added > 0; i++) {
        if (results[i].status != 0 || results[i].existing)
            continue;
        cvg_log_ctx_t lc = {.tenant_id = runs[i]->tenant_id,
                            .pipeline_id = runs[i]->pipeline_id,
                            .run_id = results[i].run_id};
        /* one line per run at the acceptance rate: DEBUG ("run dispatched"
         * is the INFO line, at the rate runs are executed) */
        cvg_debug(&lc, "run queued (%s)", runs[i]->trigger_type);
    }
    /* a free worker may take one at once */
    if (added > 0)
        sch_dispatch(s);
}
