/*
 * The logger's sink and batches: events become run, step and DQ rows;
 * replays and out-of-order arrivals change nothing; a bad event is
 * rejected alone; a missing central dataset is a transient failure.
 */
#include "common/central.h"
#include "logger/batch.h"
#include "logger/sink.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static char *dir;
static cvg_wh_t *wh;
static bool stale; /* of the last lgr_sink_apply */

static int setup(void)
{
    dir = tmpdir_new("sink");
    char url[600];
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    cvg_err_t err;
    if (cvg_wh_open(url, &wh, &err) != 0 || cvg_wh_dataset_create(wh, "tenants", &err) != 0)
        return 1;
    static const char *tables[] = {"tenant_pipeline_runs", "tenant_step_logs", "tenant_dq_results"};
    for (size_t i = 0; i < 3; i++) {
        if (central_table_create(wh, "tenants", tables[i]) != 0)
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

static void run_event(cvg_event_t *ev, cvg_event_kind_t kind, const char *run, const char *status)
{
    cvg_event_init(ev, kind);
    STRSET(ev->run_id, run);
    STRSET(ev->tenant_id, "acme");
    STRSET(ev->pipeline_id, "cost_billing");
    STRSET(ev->pipeline, "gcp/cost/cost_billing");
    STRSET(ev->status, status);
    STRSET(ev->worker_id, "w-1");
    ev->start_ms = 1795600800000;
    if (kind == CVG_EV_RUN_FINISHED)
        ev->end_ms = ev->start_ms + 1500;
}

static void row_text(const char *sql, const char *arg, char *out, size_t size)
{
    cvg_val_t p = cvg_v_text(arg);
    cvg_err_t err;
    bool found = false;
    CU_ASSERT_EQUAL(cvg_wh_query_text(wh, sql, &p, 1, out, size, &found, &err), 0);
    if (!found)
        out[0] = '\0';
}

static int64_t row_int(const char *sql, const char *arg)
{
    cvg_val_t p = cvg_v_text(arg);
    cvg_err_t err;
    int64_t n = -1;
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh, sql, &p, 1, &n, NULL, &err), 0);
    return n;
}

static void test_sink_run_lifecycle(void)
{
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t start, done;
    cvg_err_t err;
    run_event(&start, CVG_EV_RUN_STARTED, run, "RUNNING");
    start.detail = strdup("{\"parameters\":{\"date\":\"2026-11-03\"}}");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &start, &stale, &err), 0);
    char status[32];
    row_text("SELECT status FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = $1", run,
             status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "RUNNING");
    run_event(&done, CVG_EV_RUN_FINISHED, run, "SUCCEEDED");
    done.rows = 42;
    done.detail = strdup("{\"steps\":[]}");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &done, &stale, &err), 0);
    row_text("SELECT status FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = $1", run,
             status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "SUCCEEDED");
    CU_ASSERT_EQUAL(row_int("SELECT duration_ms FROM tenants.tenant_pipeline_runs WHERE "
                            "pipeline_logging_id = $1",
                            run),
                    1500);
    CU_ASSERT_EQUAL(row_int("SELECT rows_processed FROM tenants.tenant_pipeline_runs WHERE "
                            "pipeline_logging_id = $1",
                            run),
                    42);
    char params[128];
    row_text("SELECT json_extract(parameters, '$.date') FROM tenants.tenant_pipeline_runs WHERE "
             "pipeline_logging_id = $1",
             run, params, sizeof(params));
    CU_ASSERT_STRING_EQUAL(params, "2026-11-03");
    /* A replayed start, after the end: nothing moves back, no second row. */
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &start, &stale, &err), 0);
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &done, &stale, &err), 0);
    row_text("SELECT status FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = $1", run,
             status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "SUCCEEDED");
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_pipeline_runs WHERE "
                            "pipeline_logging_id = $1",
                            run),
                    1);
    cvg_event_cleanup(&start);
    cvg_event_cleanup(&done);
}

static void test_sink_out_of_order(void)
{
    /* The end arrives first (its start was lost and is sent again). */
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t start, done;
    cvg_err_t err;
    run_event(&done, CVG_EV_RUN_FINISHED, run, "FAILED");
    done.error = strdup("step load failed: boom");
    done.detail = strdup("{\"parameters\":{\"date\":\"2026-11-04\"},\"steps\":[]}");
    run_event(&start, CVG_EV_RUN_STARTED, run, "RUNNING");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &done, &stale, &err), 0);
    CU_ASSERT_FALSE(stale);
    /* the late start is stored already (its row is past it): no news */
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &start, &stale, &err), 0);
    CU_ASSERT_TRUE(stale);
    char text[128];
    row_text("SELECT status FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = $1", run,
             text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "FAILED");
    row_text("SELECT error_message FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = "
             "$1",
             run, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "step load failed: boom");
    row_text("SELECT json_extract(parameters, '$.date') FROM tenants.tenant_pipeline_runs WHERE "
             "pipeline_logging_id = $1",
             run, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "2026-11-04");
    /* A later attempt does move forward. */
    cvg_event_t again;
    run_event(&again, CVG_EV_RUN_STARTED, run, "RUNNING");
    again.attempt = 2;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &again, &stale, &err), 0);
    row_text("SELECT status FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = $1", run,
             text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "RUNNING");
    cvg_event_cleanup(&start);
    cvg_event_cleanup(&done);
    cvg_event_cleanup(&again);
}

static void test_sink_steps_and_dq(void)
{
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_STEP_STARTED, run, "RUNNING");
    STRSET(ev.step_id, "load");
    cvg_id_new(ev.step_log_id);
    ev.step_index = 0;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    char step_log_id[CVG_ID_LEN];
    memcpy(step_log_id, ev.step_log_id, CVG_ID_LEN);
    run_event(&ev, CVG_EV_STEP_FINISHED, run, "SUCCEEDED");
    STRSET(ev.step_id, "load");
    memcpy(ev.step_log_id, step_log_id, CVG_ID_LEN);
    ev.end_ms = ev.start_ms + 250;
    ev.rows = 7;
    ev.detail = strdup("{\"table\":\"acme.gcp_cost_billing\"}");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    CU_ASSERT_FALSE(stale);
    cvg_event_cleanup(&ev);
    /* its start sent again after the end: stored already, no news */
    run_event(&ev, CVG_EV_STEP_STARTED, run, "RUNNING");
    STRSET(ev.step_id, "load");
    memcpy(ev.step_log_id, step_log_id, CVG_ID_LEN);
    ev.step_index = 0;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    CU_ASSERT_TRUE(stale);
    cvg_event_cleanup(&ev);
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_step_logs WHERE "
                            "pipeline_logging_id = $1",
                            run),
                    1);
    CU_ASSERT_EQUAL(row_int("SELECT duration_ms FROM tenants.tenant_step_logs WHERE "
                            "step_log_id = $1",
                            step_log_id),
                    250);

    run_event(&ev, CVG_EV_DQ_RESULT, run, "");
    STRSET(ev.step_id, "checks");
    ev.detail = strdup("{\"check_name\":\"rows\",\"check_type\":\"row_count\",\"passed\":false,"
                       "\"severity\":\"error\",\"observed_value\":0,\"expected_value\":\">= 1\"}");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    CU_ASSERT_FALSE(stale);
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0); /* a replay */
    CU_ASSERT_TRUE(stale);                                     /* held already: no news */
    cvg_event_cleanup(&ev);
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_dq_results WHERE "
                            "pipeline_logging_id = $1",
                            run),
                    1);
    char observed[32];
    row_text("SELECT observed_value FROM tenants.tenant_dq_results WHERE pipeline_logging_id = $1",
             run, observed, sizeof(observed));
    CU_ASSERT_STRING_EQUAL(observed, "0");
    /* a measure is stored as it reads: 821.8 h, not 821.79999999999995 */
    run_event(&ev, CVG_EV_DQ_RESULT, run, "");
    STRSET(ev.step_id, "checks");
    ev.detail = strdup("{\"check_name\":\"fresh\",\"check_type\":\"freshness\",\"passed\":"
                       "false,\"observed_value\":821.79999999999995,\"expected_value\":24.0}");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT observed_value || ' ' || expected_value FROM "
             "tenants.tenant_dq_results WHERE check_name = 'fresh' AND "
             "pipeline_logging_id = $1");
    row_text(sql, run, observed, sizeof(observed));
    CU_ASSERT_STRING_EQUAL(observed, "821.8 24.0");
}

/* A "load" step starting at ts: a new step row when step_log_id is "" (its
 * id written there), else another event of that step. */
static void start_step(const char *run, char step_log_id[CVG_ID_LEN], int64_t ts)
{
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_STEP_STARTED, run, "RUNNING");
    STRSET(ev.step_id, "load");
    if (step_log_id[0] == '\0')
        cvg_id_new(step_log_id);
    memcpy(ev.step_log_id, step_log_id, CVG_ID_LEN);
    ev.ts_ms = ts;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
}

/* The scheduler's word that the run's worker was lost, at ts. */
static void worker_lost(const char *run, int64_t ts, const char *error)
{
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_RUN_QUEUED, run, "RETRYING");
    STRSET(ev.worker_id, "scheduler");
    ev.attempt = 1;
    ev.ts_ms = ts;
    ev.error = error ? strdup(error) : NULL;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
}

#define STEP_STATUS "SELECT status FROM tenants.tenant_step_logs WHERE step_log_id = $1"

/* A lost worker's step is closed by the scheduler's word on the run; a
 * step of the next attempt, begun after it, is not touched until the run
 * is over. */
static void test_sink_lost_worker_closes_its_steps(void)
{
    char run[CVG_ID_LEN], lost_step[CVG_ID_LEN] = "", next_step[CVG_ID_LEN] = "";
    cvg_id_new(run);
    start_step(run, lost_step, 1795600800000);
    worker_lost(run, 1795600860000, "lease expired: worker lost; queued again");
    char status[32], error[128];
    row_text(STEP_STATUS, lost_step, status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "FAILED");
    row_text("SELECT error_message FROM tenants.tenant_step_logs WHERE step_log_id = $1", lost_step,
             error, sizeof(error));
    CU_ASSERT_STRING_EQUAL(error, "lease expired: worker lost; queued again");
    row_text("SELECT end_time FROM tenants.tenant_step_logs WHERE step_log_id = $1", lost_step,
             status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "2026-11-25T10:01:00.000Z");

    /* a late RUNNING from the lost worker (hung, not dead) does not reopen it */
    start_step(run, lost_step, 1795600870000);
    row_text(STEP_STATUS, lost_step, status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "FAILED");

    /* the next attempt's step, then the scheduler's word replayed: the
     * new step stays RUNNING */
    start_step(run, next_step, 1795600900000);
    worker_lost(run, 1795600860000, NULL);
    row_text(STEP_STATUS, next_step, status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "RUNNING");

    /* the run over, by anyone's word: no step of it is left RUNNING (a
     * lost attempt's step reported late would otherwise stay so) */
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_RUN_FINISHED, run, "CANCELLED");
    ev.ts_ms = 1795600999000;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
    row_text(STEP_STATUS, next_step, status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "CANCELLED");
    row_text("SELECT error_message FROM tenants.tenant_step_logs WHERE step_log_id = $1", next_step,
             error, sizeof(error));
    CU_ASSERT_STRING_EQUAL(error, "the run ended (CANCELLED) before this step's end was logged");

    /* a step reported RUNNING after that (a slow worker's lost attempt)
     * ends at once */
    char late_step[CVG_ID_LEN] = "";
    start_step(run, late_step, 1795600950000);
    row_text(STEP_STATUS, late_step, status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "CANCELLED");

    /* a step's own end, should it come, still applies */
    run_event(&ev, CVG_EV_STEP_FINISHED, run, "SUCCEEDED");
    STRSET(ev.step_id, "load");
    memcpy(ev.step_log_id, next_step, CVG_ID_LEN);
    ev.ts_ms = 1795601000000;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
    row_text(STEP_STATUS, next_step, status, sizeof(status));
    CU_ASSERT_STRING_EQUAL(status, "SUCCEEDED");
    /* and a step that succeeded carries no error */
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_step_logs WHERE step_log_id = $1 "
                            "AND error_message IS NULL",
                            next_step),
                    1);
}

/* An end that arrives after the run moved on: the late end of attempt 1
 * (a slow worker that lost its lease) once attempt 2 runs changes nothing
 * and closes none of the steps running now (attempt 2's; a step's own
 * attempt counts its retries, so it is 1 here); a replay of the same state
 * (equal rank, same attempt) still applies, and is news. */
static void test_sink_late_end_of_an_earlier_attempt(void)
{
    char run[CVG_ID_LEN], step[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_id_new(step);
    cvg_err_t err;
    cvg_event_t ev;
    run_event(&ev, CVG_EV_RUN_STARTED, run, "RUNNING");
    ev.attempt = 2;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    CU_ASSERT_FALSE(stale);
    cvg_event_cleanup(&ev);
    run_event(&ev, CVG_EV_STEP_STARTED, run, "RUNNING");
    STRSET(ev.step_id, "load");
    memcpy(ev.step_log_id, step, CVG_ID_LEN);
    ev.step_index = 0;
    ev.attempt = 1;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
    run_event(&ev, CVG_EV_RUN_FINISHED, run, "SUCCEEDED");
    ev.attempt = 1;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    CU_ASSERT_TRUE(stale);
    cvg_event_cleanup(&ev);
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_step_logs WHERE step_log_id = $1 "
                            "AND status = 'RUNNING'",
                            step),
                    1);
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_pipeline_runs WHERE "
                            "pipeline_logging_id = $1 AND status = 'RUNNING' AND attempt = 2",
                            run),
                    1);
    /* attempt 2's own start, sent again: same state, not stale */
    run_event(&ev, CVG_EV_RUN_STARTED, run, "RUNNING");
    ev.attempt = 2;
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    CU_ASSERT_FALSE(stale);
    cvg_event_cleanup(&ev);
}

static void test_sink_rejects_bad_events(void)
{
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_RUN_STARTED, run, "EXPLODED");
    int rc = lgr_sink_apply(wh, &ev, &stale, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    CU_ASSERT_FALSE(lgr_sink_transient(rc, &err));
    run_event(&ev, CVG_EV_RUN_STARTED, "not-an-id", "RUNNING");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), CVG_EINVAL);
    run_event(&ev, CVG_EV_RUN_STARTED, run, "RUNNING");
    ev.detail = strdup("[not json");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), CVG_EINVAL);
    cvg_event_cleanup(&ev);
    run_event(&ev, CVG_EV_DQ_RESULT, run, "");
    ev.detail = strdup("{\"check_name\":\"x\"}");
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), CVG_EINVAL);
    cvg_event_cleanup(&ev);
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_pipeline_runs WHERE "
                            "pipeline_logging_id = $1",
                            run),
                    0);
}

static void add(lgr_batch_t *b, cvg_event_t *ev)
{
    zframe_t *id = zframe_new("peer", 4), *payload = zframe_new("x", 1);
    CU_ASSERT_EQUAL(lgr_batch_add(b, &id, &payload, ev), 0);
}

static void test_batch_isolates_a_bad_event(void)
{
    lgr_batch_t b;
    CU_ASSERT_EQUAL_FATAL(lgr_batch_init(&b, 10), 0);
    char runs[3][CVG_ID_LEN];
    cvg_event_t ev;
    for (int i = 0; i < 3; i++) {
        cvg_id_new(runs[i]);
        run_event(&ev, CVG_EV_RUN_STARTED, runs[i], i == 1 ? "BOGUS" : "RUNNING");
        add(&b, &ev);
    }
    cvg_event_t dup;
    CU_ASSERT_EQUAL(cvg_event_copy(&dup, &b.items[0].ev), 0);
    add(&b, &dup);
    /* an end and then its start, sent late: in the one-by-one pass too the
     * start is stored already (stale), the end is news */
    run_event(&ev, CVG_EV_RUN_FINISHED, runs[2], "SUCCEEDED");
    add(&b, &ev);
    run_event(&ev, CVG_EV_RUN_STARTED, runs[2], "RUNNING");
    add(&b, &ev);
    cvg_err_t err;
    CU_ASSERT_EQUAL(lgr_batch_commit(&b, wh, &err), 0);
    CU_ASSERT_EQUAL(b.items[0].state, LGR_COMMITTED);
    CU_ASSERT_EQUAL(b.items[1].state, LGR_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.items[1].error, "BOGUS"));
    CU_ASSERT_EQUAL(b.items[2].state, LGR_COMMITTED);
    CU_ASSERT_EQUAL(b.items[3].state, LGR_DUPLICATE);
    CU_ASSERT_FALSE(b.items[0].stale);
    CU_ASSERT_EQUAL(b.items[4].state, LGR_COMMITTED);
    CU_ASSERT_FALSE(b.items[4].stale);
    CU_ASSERT_EQUAL(b.items[5].state, LGR_COMMITTED);
    CU_ASSERT_TRUE(b.items[5].stale);
    CU_ASSERT_EQUAL(row_int("SELECT count(*) FROM tenants.tenant_pipeline_runs WHERE "
                            "pipeline_logging_id = $1",
                            runs[2]),
                    1);
    lgr_batch_cleanup(&b);
}

static void test_batch_acks_a_copy_only_with_its_original(void)
{
    /* Two copies of one event in a batch that cannot be written: neither
     * is settled, so neither is acknowledged and the sender keeps it. */
    char *other = tmpdir_new("sink-dup");
    char url[600];
    snprintf(url, sizeof(url), "sqlite://%s/wh", other);
    cvg_wh_t *empty = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &empty, &err), 0);
    lgr_batch_t b;
    lgr_batch_init(&b, 10);
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t ev, dup;
    run_event(&ev, CVG_EV_RUN_STARTED, run, "RUNNING");
    CU_ASSERT_EQUAL(cvg_event_copy(&dup, &ev), 0);
    add(&b, &ev);
    add(&b, &dup);
    CU_ASSERT_NOT_EQUAL(lgr_batch_commit(&b, empty, &err), 0);
    CU_ASSERT_EQUAL(b.items[1].state, LGR_DUPLICATE);
    CU_ASSERT_FALSE(lgr_entry_settled(&b, 0));
    CU_ASSERT_FALSE(lgr_entry_settled(&b, 1));
    lgr_batch_cleanup(&b);
    /* The same pair on a working warehouse: both settled. */
    lgr_batch_init(&b, 10);
    run_event(&ev, CVG_EV_RUN_STARTED, run, "RUNNING");
    CU_ASSERT_EQUAL(cvg_event_copy(&dup, &ev), 0);
    add(&b, &ev);
    add(&b, &dup);
    CU_ASSERT_EQUAL(lgr_batch_commit(&b, wh, &err), 0);
    CU_ASSERT_TRUE(lgr_entry_settled(&b, 0));
    CU_ASSERT_TRUE(lgr_entry_settled(&b, 1));
    lgr_batch_cleanup(&b);
    cvg_wh_close(&empty);
    tmpdir_remove(&other);
}

static void test_batch_waits_for_bootstrap(void)
{
    char *other = tmpdir_new("sink-empty");
    char url[600];
    snprintf(url, sizeof(url), "sqlite://%s/wh", other);
    cvg_wh_t *empty = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &empty, &err), 0);
    lgr_batch_t b;
    lgr_batch_init(&b, 10);
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t ev;
    run_event(&ev, CVG_EV_RUN_STARTED, run, "RUNNING");
    add(&b, &ev);
    int rc = lgr_batch_commit(&b, empty, &err);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(lgr_sink_transient(rc, &err));
    CU_ASSERT_EQUAL(b.items[0].state, LGR_PENDING);
    lgr_batch_cleanup(&b);
    cvg_wh_close(&empty);
    tmpdir_remove(&other);
}

/* A step row says which attempt of its run it belongs to; and a step log
 * from before that column (an upgrade, until the bootstrap adds it) holds
 * the events back instead of rejecting them. */
static void test_batch_waits_for_a_column_bootstrap_adds(void)
{
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_STEP_STARTED, run, "RUNNING");
    STRSET(ev.step_id, "load");
    cvg_id_new(ev.step_log_id);
    ev.step_index = 0;
    ev.run_attempt = 2;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_exec(wh,
                                      "ALTER TABLE tenants.tenant_step_logs DROP COLUMN "
                                      "run_attempt",
                                      NULL, 0, NULL, NULL, NULL, &err),
                          0);
    lgr_batch_t b;
    lgr_batch_init(&b, 10);
    add(&b, &ev);
    int rc = lgr_batch_commit(&b, wh, &err);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(lgr_sink_transient(rc, &err));
    CU_ASSERT_EQUAL(b.items[0].state, LGR_PENDING);
    /* the bootstrap's ALTER, then the same batch again */
    cvg_column_t col = {.type = CVG_COL_INT64, .mode = CVG_MODE_NULLABLE};
    STRSET(col.name, "run_attempt");
    CU_ASSERT_EQUAL_FATAL(cvg_wh_column_add(wh, "tenants", "tenant_step_logs", &col, &err), 0);
    CU_ASSERT_EQUAL(lgr_batch_commit(&b, wh, &err), 0);
    CU_ASSERT_EQUAL(b.items[0].state, LGR_COMMITTED);
    lgr_batch_cleanup(&b);
    CU_ASSERT_EQUAL(row_int("SELECT run_attempt FROM tenants.tenant_step_logs WHERE "
                            "pipeline_logging_id = ?",
                            run),
                    2);
    /* a REQUIRED column cannot be added to rows that lack it */
    col.mode = CVG_MODE_REQUIRED;
    STRSET(col.name, "must_have");
    CU_ASSERT_EQUAL(cvg_wh_column_add(wh, "tenants", "tenant_step_logs", &col, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "lacks the REQUIRED column must_have"));
}

/* The steps a run event closes come back as their step-finished events,
 * for the stream: the lost worker will never send them. */
static void test_sink_closed_steps_are_told(void)
{
    char run[CVG_ID_LEN], step[CVG_ID_LEN] = "";
    cvg_id_new(run);
    start_step(run, step, 1795600800000);
    cvg_event_t ev;
    cvg_err_t err;
    run_event(&ev, CVG_EV_RUN_QUEUED, run, "RETRYING");
    STRSET(ev.worker_id, "scheduler");
    ev.attempt = 1;
    ev.ts_ms = 1795600860000;
    ev.error = strdup("lease expired: worker vm-7 lost; queued again");
    lgr_closed_t closed = {0};
    CU_ASSERT_EQUAL(lgr_sink_apply_closing(wh, &ev, &stale, &closed, &err), 0);
    CU_ASSERT_EQUAL_FATAL(closed.n, 1);
    const cvg_event_t *c = &closed.evs[0];
    CU_ASSERT_EQUAL(c->kind, CVG_EV_STEP_FINISHED);
    CU_ASSERT_STRING_EQUAL(c->step_log_id, step);
    CU_ASSERT_STRING_EQUAL(c->step_id, "load");
    CU_ASSERT_STRING_EQUAL(c->status, "FAILED");
    CU_ASSERT_STRING_EQUAL(c->run_id, run);
    CU_ASSERT_STRING_EQUAL(c->error ? c->error : "",
                           "lease expired: worker vm-7 lost; queued again");
    CU_ASSERT_EQUAL(c->end_ms, 1795600860000);
    /* applied again (a resend), nothing is left RUNNING to close */
    CU_ASSERT_EQUAL(lgr_sink_apply_closing(wh, &ev, &stale, &closed, &err), 0);
    CU_ASSERT_EQUAL(closed.n, 0);
    lgr_closed_clear(&closed);
    cvg_event_cleanup(&ev);
}

static CU_TestInfo tests[] = {
    {"test_sink_run_lifecycle", test_sink_run_lifecycle},
    {"test_batch_waits_for_a_column_bootstrap_adds", test_batch_waits_for_a_column_bootstrap_adds},
    {"test_sink_out_of_order", test_sink_out_of_order},
    {"test_sink_steps_and_dq", test_sink_steps_and_dq},
    {"test_sink_lost_worker_closes_its_steps", test_sink_lost_worker_closes_its_steps},
    {"test_sink_closed_steps_are_told", test_sink_closed_steps_are_told},
    {"test_sink_late_end_of_an_earlier_attempt", test_sink_late_end_of_an_earlier_attempt},
    {"test_sink_rejects_bad_events", test_sink_rejects_bad_events},
    {"test_batch_isolates_a_bad_event", test_batch_isolates_a_bad_event},
    {"test_batch_waits_for_bootstrap", test_batch_waits_for_bootstrap},
    {"test_batch_acks_a_copy_only_with_its_original",
     test_batch_acks_a_copy_only_with_its_original},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_sink = {"unit_sink", setup, teardown, tests, 60};
