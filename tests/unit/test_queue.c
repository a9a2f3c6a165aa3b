/*
 * The scheduler's queue state machine on a real warehouse: claim, a worker
 * taking the run, a dispatch lease that lapses (pushed again, same
 * attempt), a run lease that lapses (the run log's end wins; otherwise a new
 * attempt, then DEAD), an end missed on the stream settled before its
 * lease, a stopping worker's hand-back, and completion by attempt. Leases
 * are made already expired (negative durations), or far off, so nothing
 * depends on timing.
 */
#include "common/central.h"
#include "common/quota.h"
#include "common/time.h"
#include "scheduler/queue.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static char *dir;
static cvg_wh_t *wh;

static int setup(void)
{
    dir = tmpdir_new("queue");
    char url[600];
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    cvg_err_t err;
    if (cvg_wh_open(url, &wh, &err) != 0 || cvg_wh_dataset_create(wh, "tenants", &err) != 0)
        return 1;
    for (size_t i = 0; i < CVG_CENTRAL_TABLE_COUNT; i++) {
        if (central_table_create(wh, "tenants", cvg_central_tables[i]) != 0)
            return 1;
    }
    return 0;
}

static int teardown(void)
{
    cvg_wh_close(&wh);
    tmpdir_remove(&dir);
    return 0;
}

static void enqueue_for(const char *tenant, char run[CVG_ID_LEN], int max_attempts)
{
    char queue[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_id_new(queue);
    cvg_val_t p[4] = {cvg_v_text(queue), cvg_v_text(run), CVG_V_INT(max_attempts),
                      cvg_v_text(tenant)};
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_pipeline_execution_queue (queue_id, "
                    "pipeline_logging_id, tenant_id, pipeline, pipeline_id, parameters, "
                    "trigger_type, priority, state, attempt, max_attempts, enqueued_at, "
                    "updated_at) VALUES ($1, $2, $4, 'gcp/cost/cost_billing', 'cost_billing', "
                    "'{\"date\":\"2026-11-03\",\"n\":5}', 'manual', 5, 'QUEUED', 1, $3, "
                    "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                    p, 4, NULL, NULL, NULL, &err),
        0);
}

static void enqueue(char run[CVG_ID_LEN], int max_attempts)
{
    enqueue_for("acme", run, max_attempts);
}

static void state_of(const char *run, char *state, int *attempt)
{
    cvg_val_t p = cvg_v_text(run);
    cvg_err_t err;
    char text[64];
    CU_ASSERT_EQUAL(cvg_wh_query_text(wh,
                                      "SELECT state || ':' || attempt FROM "
                                      "tenants.tenant_pipeline_execution_queue WHERE "
                                      "pipeline_logging_id = $1",
                                      &p, 1, text, sizeof(text), NULL, &err),
                    0);
    char *colon = strchr(text, ':');
    *attempt = colon ? (int)strtol(colon + 1, NULL, 10) : -1;
    if (colon)
        *colon = '\0';
    snprintf(state, 32, "%.31s", text);
}

static size_t claim_all(sch_queue_t *q, cvg_job_t *jobs)
{
    size_t n = 0;
    cvg_err_t err;
    CU_ASSERT_EQUAL(sch_queue_claim(q, 8, jobs, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        cvg_params_cleanup(&jobs[i].params);
    return n;
}

static void test_queue_claim_and_take(void)
{
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, 60000);
    char run[CVG_ID_LEN];
    enqueue(run, 3);
    cvg_job_t jobs[8];
    size_t n = 0;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(sch_queue_claim(&q, 8, jobs, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(jobs[0].run_id, run);
    CU_ASSERT_STRING_EQUAL(jobs[0].pipeline, "gcp/cost/cost_billing");
    /* the config's pipeline_id as queued, for reports if it no longer loads */
    CU_ASSERT_STRING_EQUAL(jobs[0].pipeline_id, "cost_billing");
    CU_ASSERT_STRING_EQUAL(cvg_params_get(&jobs[0].params, "date"), "2026-11-03");
    CU_ASSERT_STRING_EQUAL(cvg_params_get(&jobs[0].params, "n"), "5");
    CU_ASSERT(jobs[0].lease_deadline_ms > 0);
    cvg_params_cleanup(&jobs[0].params);
    char state[32];
    int attempt;
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "DISPATCHED");
    /* Nothing more to claim. */
    CU_ASSERT_EQUAL(claim_all(&q, jobs), 0);
    /* A heartbeat naming the run makes it RUNNING under that worker. */
    CU_ASSERT_EQUAL(sch_queue_held(&q, run, 1, "w-1", &err), 0);
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "RUNNING");
    /* Another worker cannot take it over, nor a stale attempt. */
    int64_t changed = 0;
    CU_ASSERT_EQUAL(sch_queue_held(&q, run, 1, "w-2", &err), 0);
    cvg_val_t p = cvg_v_text(run);
    char owner[64];
    cvg_wh_query_text(wh,
                      "SELECT lease_owner FROM tenants.tenant_pipeline_execution_queue WHERE "
                      "pipeline_logging_id = $1",
                      &p, 1, owner, sizeof(owner), NULL, &err);
    CU_ASSERT_STRING_EQUAL(owner, "w-1");
    (void)changed;
    /* Its end, for this attempt, settles it. */
    cvg_event_t ev;
    cvg_event_init(&ev, CVG_EV_RUN_FINISHED);
    memcpy(ev.run_id, run, CVG_ID_LEN);
    snprintf(ev.status, sizeof(ev.status), "SUCCEEDED");
    ev.attempt = 2; /* not this attempt: ignored */
    CU_ASSERT_EQUAL(sch_queue_on_event(&q, &ev, &err), 0);
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "RUNNING");
    ev.attempt = 1;
    CU_ASSERT_EQUAL(sch_queue_on_event(&q, &ev, &err), 0);
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "SUCCEEDED");
}

/* A busy worker refuses a pushed run: that dispatch (its lease deadline)
 * goes back to QUEUED at once; a stale refusal, of an earlier dispatch of
 * the run, changes nothing. */
static void test_queue_refused_dispatch(void)
{
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, 60000);
    char run[CVG_ID_LEN];
    enqueue_for("refuser", run, 3);
    cvg_job_t jobs[8];
    size_t n = 0;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(sch_queue_claim(&q, 8, jobs, &n, &err), 0);
    int64_t deadline = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(jobs[i].run_id, run) == 0)
            deadline = jobs[i].lease_deadline_ms;
        cvg_params_cleanup(&jobs[i].params);
    }
    CU_ASSERT_FATAL(deadline > 0);
    int64_t changed = 0;
    CU_ASSERT_EQUAL(sch_queue_refused(&q, run, 1, deadline - 1, &changed, &err), 0);
    CU_ASSERT_EQUAL(changed, 0); /* not this dispatch */
    char state[32];
    int attempt;
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "DISPATCHED");
    CU_ASSERT_EQUAL(sch_queue_refused(&q, run, 1, deadline, &changed, &err), 0);
    CU_ASSERT_EQUAL(changed, 1);
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "QUEUED");
    CU_ASSERT_EQUAL(attempt, 1); /* not an attempt: it never started */
    CU_ASSERT_EQUAL(sch_queue_refused(&q, run, 1, deadline, &changed, &err), 0);
    CU_ASSERT_EQUAL(changed, 0); /* told twice */
    /* out of the way of the next tests' claims */
    cvg_val_t p = cvg_v_text(run);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh,
                                "UPDATE tenants.tenant_pipeline_execution_queue SET state = "
                                "'CANCELLED' WHERE pipeline_logging_id = $1",
                                &p, 1, NULL, NULL, NULL, &err),
                    0);
}

static void test_queue_untaken_dispatch_keeps_its_attempt(void)
{
    sch_queue_t q;
    sch_queue_init(&q, wh, -1000, 60000); /* dispatch leases already lapsed */
    char run[CVG_ID_LEN];
    enqueue(run, 3);
    cvg_job_t jobs[8];
    CU_ASSERT_EQUAL_FATAL(claim_all(&q, jobs), 1);
    size_t again = 0;
    char ids[4][CVG_ID_LEN];
    cvg_err_t err;
    CU_ASSERT_EQUAL(sch_queue_redispatch(&q, ids, 4, &again, &err), 0);
    CU_ASSERT_EQUAL_FATAL(again, 1);
    CU_ASSERT_STRING_EQUAL(ids[0], run);
    char state[32];
    int attempt;
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "QUEUED");
    CU_ASSERT_EQUAL(attempt, 1);
    CU_ASSERT_EQUAL(claim_all(&q, jobs), 1); /* and can be pushed again at once */
}

static void test_queue_lost_worker_means_a_new_attempt_then_dead(void)
{
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, -1000); /* run leases already lapsed */
    q.retry_delay_ms = -1000;             /* and no backoff wait */
    char run[CVG_ID_LEN];
    enqueue(run, 2);
    cvg_job_t jobs[8];
    sch_expired_t lost[16];
    size_t n = 0;
    cvg_err_t err;
    char state[32];
    int attempt;
    for (int a = 1; a <= 2; a++) {
        CU_ASSERT_EQUAL_FATAL(claim_all(&q, jobs), 1);
        CU_ASSERT_EQUAL(sch_queue_held(&q, run, a, "w-1", &err), 0);
        CU_ASSERT_EQUAL(sch_queue_expire(&q, lost, 16, &n, &err), 0);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_EQUAL(lost[0].attempt, a);
        state_of(run, state, &attempt);
        if (a == 1) {
            CU_ASSERT_FALSE(lost[0].dead);
            CU_ASSERT_STRING_EQUAL(state, "QUEUED");
            CU_ASSERT_EQUAL(attempt, 2);
        } else {
            CU_ASSERT_TRUE(lost[0].dead);
            CU_ASSERT_STRING_EQUAL(state, "DEAD");
        }
    }
}

static void test_queue_lapsed_lease_takes_the_end_from_the_run_log(void)
{
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, -1000);
    char run[CVG_ID_LEN];
    enqueue(run, 3);
    cvg_job_t jobs[8];
    CU_ASSERT_EQUAL_FATAL(claim_all(&q, jobs), 1);
    cvg_err_t err;
    CU_ASSERT_EQUAL(sch_queue_held(&q, run, 1, "w-1", &err), 0);
    /* The run ended and the logger stored it, but the scheduler missed
     * the event on the stream. */
    cvg_val_t p = cvg_v_text(run);
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_pipeline_runs (pipeline_logging_id, tenant_id, "
                    "pipeline_id, status, state_seq, attempt, created_at, updated_at) VALUES "
                    "($1, 'acme', 'cost_billing', 'FAILED', 24, 1, 'x', 'x')",
                    &p, 1, NULL, NULL, NULL, &err),
        0);
    sch_expired_t lost[16];
    size_t n = 0;
    CU_ASSERT_EQUAL(sch_queue_expire(&q, lost, 16, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(lost[0].logged, "FAILED");
    char state[32];
    int attempt;
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "FAILED");
    CU_ASSERT_EQUAL(attempt, 1);
}

/* A queue with long leases and two runs of tenant, RUNNING under workers
 * w-1 (a) and w-2 (b). */
static void two_running(sch_queue_t *q, const char *tenant, int max_attempts, char a[CVG_ID_LEN],
                        char b[CVG_ID_LEN])
{
    sch_queue_init(q, wh, 60000, 600000);
    enqueue_for(tenant, a, max_attempts);
    enqueue_for(tenant, b, max_attempts);
    cvg_job_t jobs[8];
    CU_ASSERT_EQUAL_FATAL(claim_all(q, jobs), 2);
    cvg_err_t err;
    CU_ASSERT_EQUAL(sch_queue_held(q, a, 1, "w-1", &err), 0);
    CU_ASSERT_EQUAL(sch_queue_held(q, b, 1, "w-2", &err), 0);
}

/* Ends every run of a tenant in the queue, so the next tests claim none. */
static void finish_tenant(const char *tenant)
{
    cvg_val_t p = cvg_v_text(tenant);
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_exec(wh,
                                "UPDATE tenants.tenant_pipeline_execution_queue SET state = "
                                "'CANCELLED' WHERE tenant_id = $1",
                                &p, 1, NULL, NULL, NULL, &err),
                    0);
}

/* Stores a run's end in the run log, as the logger does, updated at `at`. */
static void log_end(const char *run, const char *status, const char *at)
{
    cvg_val_t p[3] = {cvg_v_text(run), cvg_v_text(status), cvg_v_text(at)};
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_pipeline_runs (pipeline_logging_id, tenant_id, "
                    "pipeline_id, status, state_seq, attempt, created_at, updated_at) VALUES "
                    "($1, 'acme', 'cost_billing', $2, 24, 1, $3, $3)",
                    p, 3, NULL, NULL, NULL, &err),
        0);
}

/* An end the scheduler missed on the stream settles the queue at the next
 * tick, long before the lease would lapse, once it is a little old (a
 * fresh one is the stream's to deliver). */
static void test_queue_missed_end_settled_before_the_lease(void)
{
    sch_queue_t q;
    char old_end[CVG_ID_LEN], fresh_end[CVG_ID_LEN];
    two_running(&q, "missed", 3, old_end, fresh_end);
    cvg_err_t err;
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    log_end(old_end, "SUCCEEDED", "2026-01-01T00:00:00.000Z");
    log_end(fresh_end, "SUCCEEDED", now);
    sch_expired_t lost[16];
    size_t n = 0;
    CU_ASSERT_EQUAL(sch_queue_expire(&q, lost, 16, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(lost[0].run_id, old_end);
    CU_ASSERT_STRING_EQUAL(lost[0].logged, "SUCCEEDED");
    char state[32];
    int attempt;
    state_of(old_end, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "SUCCEEDED");
    state_of(fresh_end, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "RUNNING");
    finish_tenant("missed");
}

/* A stopping worker's run goes back to the queue at once as its next
 * attempt, the stopped one not counted; only that worker's, and not one
 * being cancelled. */
static void test_queue_handback(void)
{
    sch_queue_t q;
    char run[CVG_ID_LEN], cancelled[CVG_ID_LEN];
    two_running(&q, "stopping", 1, run, cancelled);
    cvg_job_t jobs[8];
    cvg_err_t err;
    sch_expired_t e;
    bool requeued = true;
    CU_ASSERT_EQUAL(sch_queue_handback(&q, run, 1, "w-other", &e, &requeued, &err), 0);
    CU_ASSERT_FALSE(requeued); /* not that worker's */
    CU_ASSERT_EQUAL(sch_queue_handback(&q, run, 1, "w-1", &e, &requeued, &err), 0);
    CU_ASSERT_TRUE(requeued);
    CU_ASSERT_STRING_EQUAL(e.run_id, run);
    CU_ASSERT_EQUAL(e.attempt, 1);
    char state[32];
    int attempt;
    state_of(run, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "QUEUED");
    CU_ASSERT_EQUAL(attempt, 2);
    cvg_val_t p = cvg_v_text(run);
    int64_t max = 0;
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh,
                                     "SELECT max_attempts FROM "
                                     "tenants.tenant_pipeline_execution_queue WHERE "
                                     "pipeline_logging_id = $1",
                                     &p, 1, &max, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(max, 2); /* one attempt left, as before the stop */
    /* due after the retry delay, as a lost run is: not claimable yet */
    CU_ASSERT_EQUAL(claim_all(&q, jobs), 0);
    /* the same hand-back again (a repeated message) changes nothing */
    CU_ASSERT_EQUAL(sch_queue_handback(&q, run, 1, "w-1", &e, &requeued, &err), 0);
    CU_ASSERT_FALSE(requeued);
    p = cvg_v_text(cancelled);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh,
                                "UPDATE tenants.tenant_pipeline_execution_queue SET "
                                "cancel_requested = 1 WHERE pipeline_logging_id = $1",
                                &p, 1, NULL, NULL, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(sch_queue_handback(&q, cancelled, 1, "w-2", &e, &requeued, &err), 0);
    CU_ASSERT_FALSE(requeued);
    state_of(cancelled, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "RUNNING");
    finish_tenant("stopping");
}

/* A tenant's runs beyond its plan's concurrency wait; another tenant's go
 * past them. */
static void test_queue_concurrency_limit_per_tenant(void)
{
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_subscriptions (subscription_id, tenant_id, "
                    "plan_name, status, daily_limit, monthly_limit, concurrent_limit, "
                    "rate_limit_per_minute, subscription_start_date, created_at, updated_at) "
                    "VALUES ('s1', 'solo', 'FREE', 'ACTIVE', 5, 50, 1, 60, '2026-01-01', "
                    "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                    NULL, 0, NULL, NULL, NULL, &err),
        0);
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, 60000);
    char a1[CVG_ID_LEN], a2[CVG_ID_LEN], a3[CVG_ID_LEN], b1[CVG_ID_LEN];
    enqueue_for("solo", a1, 1);
    enqueue_for("solo", a2, 1);
    enqueue_for("solo", a3, 1);
    enqueue_for("other", b1, 1);
    cvg_job_t jobs[8];
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(sch_queue_claim(&q, 8, jobs, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2);
    int solo = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        solo += strcmp(jobs[i].tenant_id, "solo") == 0;
        other += strcmp(jobs[i].tenant_id, "other") == 0;
        cvg_params_cleanup(&jobs[i].params);
    }
    CU_ASSERT_EQUAL(solo, 1);
    CU_ASSERT_EQUAL(other, 1);
    /* while one solo run is in flight, no other solo run goes */
    CU_ASSERT_EQUAL(claim_all(&q, jobs), 0);
    char state[32];
    int attempt = 0;
    state_of(a2, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "QUEUED");
}

/* A run's end as the stream tells it; the tenant may be left out (the
 * queue row knows it), ended_ms 0: the event's time. */
static void finish_event(const char *tenant, const char *run, const char *status, int64_t ended_ms)
{
    cvg_event_t ev;
    cvg_event_init(&ev, CVG_EV_RUN_FINISHED);
    memcpy(ev.run_id, run, CVG_ID_LEN);
    snprintf(ev.tenant_id, sizeof(ev.tenant_id), "%s", tenant);
    snprintf(ev.status, sizeof(ev.status), "%s", status);
    ev.ts_ms = cvg_time_now_ms();
    ev.end_ms = ended_ms;
    ev.attempt = 1;
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, 60000);
    CU_ASSERT_TRUE(sch_queue_check_ready(&q));
    cvg_err_t err;
    CU_ASSERT_EQUAL(sch_queue_on_event(&q, &ev, &err), 0);
}

/* Runs that end are counted in the tenant's usage of the day they end:
 * SUCCEEDED as succeeded; FAILED, TIMED_OUT and DEAD as failed; CANCELLED
 * not at all; each once however often its end is told. A day with no run
 * queued yet gets its row, with the month's count carried and the current
 * plan's limits. */
static void test_queue_ends_counted_in_usage(void)
{
    int64_t now = cvg_time_now_ms();
    char today[CVG_TIME_DATE_LEN], yesterday[CVG_TIME_DATE_LEN], month[8];
    cvg_time_format_date(now, today);
    cvg_time_format_date(now - 86400000, yesterday);
    snprintf(month, sizeof(month), "%.7s", yesterday);
    cvg_val_t p[2] = {cvg_v_text(yesterday), cvg_v_text(month)};
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_usage_quotas (tenant_id, usage_date, usage_month, "
                    "pipelines_run_today, pipelines_run_month, pipelines_succeeded_today, "
                    "pipelines_failed_today, concurrent_pipelines_running, daily_limit, "
                    "monthly_limit, concurrent_limit, updated_at) VALUES ('counter', $1, $2, 4, "
                    "7, 0, 0, 0, 10, 100, 2, '2026-01-01T00:00:00.000Z')",
                    p, 2, NULL, NULL, NULL, &err),
        0);
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_subscriptions (subscription_id, tenant_id, "
                    "plan_name, status, daily_limit, monthly_limit, concurrent_limit, "
                    "rate_limit_per_minute, subscription_start_date, created_at, updated_at) "
                    "VALUES ('s-counter', 'counter', 'BASIC', 'ACTIVE', 20, 200, 3, 60, "
                    "'2026-01-01', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                    NULL, 0, NULL, NULL, NULL, &err),
        0);
    char ok[CVG_ID_LEN], bad[CVG_ID_LEN], slow[CVG_ID_LEN], gone[CVG_ID_LEN], lost[CVG_ID_LEN],
        late[CVG_ID_LEN];
    enqueue_for("counter", ok, 3);
    enqueue_for("counter", bad, 3);
    enqueue_for("counter", slow, 3);
    enqueue_for("counter", gone, 3);
    enqueue_for("counter", lost, 1);
    enqueue_for("counter", late, 3);
    finish_event("counter", ok, "SUCCEEDED", 0);
    finish_event("counter", ok, "SUCCEEDED", 0); /* told twice */
    finish_event("", bad, "FAILED", 0);          /* the queue knows whose */
    finish_event("counter", slow, "TIMED_OUT", 0);
    finish_event("counter", gone, "CANCELLED", 0);
    /* ended yesterday, settled today: yesterday's */
    finish_event("counter", late, "SUCCEEDED", now - 86400000);
    /* a worker lost with no attempts left: DEAD */
    cvg_val_t r = cvg_v_text(lost);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_exec(wh,
                                      "UPDATE tenants.tenant_pipeline_execution_queue SET state = "
                                      "'RUNNING', lease_owner = 'w-1', lease_expires_at = "
                                      "'2000-01-01T00:00:00.000Z' WHERE pipeline_logging_id = $1",
                                      &r, 1, NULL, NULL, NULL, &err),
                          0);
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, 60000);
    sch_expired_t expired[16];
    size_t n = 0;
    CU_ASSERT_EQUAL(sch_queue_expire(&q, expired, 16, &n, &err), 0);
    char state[32];
    int attempt;
    state_of(lost, state, &attempt);
    CU_ASSERT_STRING_EQUAL(state, "DEAD");
    cvg_usage_t u;
    CU_ASSERT_EQUAL_FATAL(cvg_quota_read(wh, "counter", today, &u, &err), 0);
    CU_ASSERT_EQUAL(u.succeeded_today, 1);
    CU_ASSERT_EQUAL(u.failed_today, 3);
    CU_ASSERT_EQUAL(u.run_today, 0); /* queued yesterday */
    CU_ASSERT_EQUAL(u.run_month, strncmp(today, yesterday, 7) == 0 ? 7 : 0);
    int64_t limit = 0;
    cvg_val_t t = cvg_v_text(today);
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh,
                                     "SELECT daily_limit FROM tenants.tenant_usage_quotas WHERE "
                                     "tenant_id = 'counter' AND usage_date = $1",
                                     &t, 1, &limit, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(limit, 20); /* the plan's now, not yesterday's row's */
    CU_ASSERT_EQUAL_FATAL(cvg_quota_read(wh, "counter", yesterday, &u, &err), 0);
    CU_ASSERT_EQUAL(u.succeeded_today, 1);
    CU_ASSERT_EQUAL(u.run_today, 4);
}

/* A queue row for the retention test: tenant prune-co, the given state,
 * priority and times, and a run log row of log_status unless NULL. */
static void row_for_prune(const char *state, int priority, const char *enqueued,
                          const char *updated, const char *log_status, char run[CVG_ID_LEN])
{
    char queue[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_id_new(queue);
    cvg_val_t p[6] = {cvg_v_text(queue),   cvg_v_text(run),      cvg_v_text(state),
                      CVG_V_INT(priority), cvg_v_text(enqueued), cvg_v_text(updated)};
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_pipeline_execution_queue (queue_id, "
                    "pipeline_logging_id, tenant_id, pipeline, pipeline_id, trigger_type, "
                    "priority, state, attempt, max_attempts, enqueued_at, updated_at) VALUES "
                    "($1, $2, 'prune-co', 'gcp/cost/cost_billing', 'cost_billing', 'manual', $4, "
                    "$3, 1, 3, $5, $6)",
                    p, 6, NULL, NULL, NULL, &err),
        0);
    if (log_status == NULL)
        return;
    cvg_val_t l[2] = {cvg_v_text(run), cvg_v_text(log_status)};
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh,
                    "INSERT INTO tenants.tenant_pipeline_runs (pipeline_logging_id, tenant_id, "
                    "pipeline_id, status, state_seq, attempt, created_at, updated_at) VALUES "
                    "($1, 'prune-co', 'cost_billing', $2, 24, 1, 'x', 'x')",
                    l, 2, NULL, NULL, NULL, &err),
        0);
}

static bool queued(const char *run)
{
    cvg_val_t p = cvg_v_text(run);
    int64_t n = -1;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh,
                                     "SELECT count(*) FROM tenants.tenant_pipeline_execution_queue "
                                     "WHERE pipeline_logging_id = $1",
                                     &p, 1, &n, NULL, &err),
                    0);
    return n == 1;
}

/* Retention deletes old finished rows whose run log row is final, at most
 * max a call, at every priority; nothing younger, unfinished or unlogged. */
static void test_queue_prune_old_finished_runs(void)
{
    sch_queue_t q;
    sch_queue_init(&q, wh, 60000, 60000);
    const char *old = "2020-01-01T00:00:00.000Z", *later = "2022-01-01T00:00:00.000Z";
    char done_first[CVG_ID_LEN], dead_last[CVG_ID_LEN], unlogged_end[CVG_ID_LEN];
    char no_log[CVG_ID_LEN], waiting[CVG_ID_LEN], ended_later[CVG_ID_LEN];
    row_for_prune("SUCCEEDED", CVG_PRIORITY_MIN, old, old, "SUCCEEDED", done_first);
    row_for_prune("DEAD", CVG_PRIORITY_MAX, old, old, "DEAD", dead_last);
    row_for_prune("FAILED", 50, old, old, "RUNNING", unlogged_end);
    row_for_prune("SUCCEEDED", 5, old, old, NULL, no_log);
    row_for_prune("QUEUED", 5, old, old, NULL, waiting);
    row_for_prune("SUCCEEDED", 5, old, later, "SUCCEEDED", ended_later);
    int64_t cutoff = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso("2021-01-01T00:00:00.000Z", &cutoff), 0);
    size_t n = 99;
    cvg_err_t err;
    CU_ASSERT_EQUAL(sch_queue_prune(&q, cutoff, 1, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(sch_queue_prune(&q, cutoff, 10, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(sch_queue_prune(&q, cutoff, 10, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_FALSE(queued(done_first));
    CU_ASSERT_FALSE(queued(dead_last));
    CU_ASSERT_TRUE(queued(unlogged_end));
    CU_ASSERT_TRUE(queued(no_log));
    CU_ASSERT_TRUE(queued(waiting));
    CU_ASSERT_TRUE(queued(ended_later));
    /* the later end goes once the cutoff passes it */
    CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso("2023-01-01T00:00:00.000Z", &cutoff), 0);
    CU_ASSERT_EQUAL(sch_queue_prune(&q, cutoff, 10, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_FALSE(queued(ended_later));
}

static CU_TestInfo tests[] = {
    {"test_queue_claim_and_take", test_queue_claim_and_take},
    {"test_queue_refused_dispatch", test_queue_refused_dispatch},
    {"test_queue_untaken_dispatch_keeps_its_attempt",
     test_queue_untaken_dispatch_keeps_its_attempt},
    {"test_queue_lost_worker_means_a_new_attempt_then_dead",
     test_queue_lost_worker_means_a_new_attempt_then_dead},
    {"test_queue_lapsed_lease_takes_the_end_from_the_run_log",
     test_queue_lapsed_lease_takes_the_end_from_the_run_log},
    {"test_queue_missed_end_settled_before_the_lease",
     test_queue_missed_end_settled_before_the_lease},
    {"test_queue_handback", test_queue_handback},
    {"test_queue_concurrency_limit_per_tenant", test_queue_concurrency_limit_per_tenant},
    {"test_queue_ends_counted_in_usage", test_queue_ends_counted_in_usage},
    {"test_queue_prune_old_finished_runs", test_queue_prune_old_finished_runs},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_queue = {"unit_queue", setup, teardown, tests, 60};
