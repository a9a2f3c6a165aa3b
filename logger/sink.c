/*
 * The logger's sink (see sink.h). SQL here is the portable subset every
 * warehouse driver accepts: dataset.table names, $N parameters, and
 * INSERT ... ON CONFLICT ... DO UPDATE ... WHERE.
 */
#include "logger/sink.h"
#include "common/id.h"
#include "common/time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const RUN_UPSERT =
    "INSERT INTO tenants.tenant_pipeline_runs (pipeline_logging_id, tenant_id, pipeline_id, "
    "pipeline, status, state_seq, trigger_type, trigger_by, parameters, attempt, worker_id, "
    "start_time, end_time, duration_ms, rows_processed, error_message, result, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
    "$17, $19, $18) "
    "ON CONFLICT (pipeline_logging_id) DO UPDATE SET status = excluded.status, "
    "state_seq = excluded.state_seq, "
    "pipeline = COALESCE(excluded.pipeline, tenant_pipeline_runs.pipeline), "
    "trigger_type = COALESCE(excluded.trigger_type, tenant_pipeline_runs.trigger_type), "
    "trigger_by = COALESCE(excluded.trigger_by, tenant_pipeline_runs.trigger_by), "
    "parameters = COALESCE(excluded.parameters, tenant_pipeline_runs.parameters), "
    "attempt = excluded.attempt, "
    "worker_id = COALESCE(excluded.worker_id, tenant_pipeline_runs.worker_id), "
    "start_time = COALESCE(excluded.start_time, tenant_pipeline_runs.start_time), "
    /* a new attempt starts its end afresh; a success has no error */
    "end_time = CASE WHEN excluded.attempt > tenant_pipeline_runs.attempt THEN excluded.end_time "
    "ELSE COALESCE(excluded.end_time, tenant_pipeline_runs.end_time) END, "
    "duration_ms = CASE WHEN excluded.attempt > tenant_pipeline_runs.attempt THEN "
    "excluded.duration_ms ELSE COALESCE(excluded.duration_ms, tenant_pipeline_runs.duration_ms) "
    "END, "
    "rows_processed = CASE WHEN excluded.attempt > tenant_pipeline_runs.attempt THEN "
    "excluded.rows_processed ELSE COALESCE(excluded.rows_processed, "
    "tenant_pipeline_runs.rows_processed) END, "
    "error_message = CASE WHEN excluded.attempt > tenant_pipeline_runs.attempt OR "
    "excluded.status = 'SUCCEEDED' THEN excluded.error_message ELSE "
    "COALESCE(excluded.error_message, tenant_pipeline_runs.error_message) END, "
    "result = CASE WHEN excluded.attempt > tenant_pipeline_runs.attempt THEN excluded.result "
    "ELSE COALESCE(excluded.result, tenant_pipeline_runs.result) END, "
    "updated_at = excluded.updated_at "
    "WHERE excluded.state_seq >= tenant_pipeline_runs.state_seq";

static const char *const STEP_UPSERT =
    "INSERT INTO tenants.tenant_step_logs (step_log_id, pipeline_logging_id, tenant_id, "
    "pipeline_id, step_id, step_index, ps_type, attempt, status, state_seq, start_time, end_time, "
    "duration_ms, rows_processed, error_message, metadata, created_at, updated_at, run_attempt) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, "
    "$18) ON CONFLICT (step_log_id) DO UPDATE SET status = excluded.status, "
    "state_seq = excluded.state_seq, "
    "start_time = COALESCE(excluded.start_time, tenant_step_logs.start_time), "
    "end_time = COALESCE(excluded.end_time, tenant_step_logs.end_time), "
    "duration_ms = COALESCE(excluded.duration_ms, tenant_step_logs.duration_ms), "
    "rows_processed = COALESCE(excluded.rows_processed, tenant_step_logs.rows_processed), "
    "error_message = CASE WHEN excluded.status IN ('SUCCEEDED', 'SKIPPED') THEN "
    "excluded.error_message ELSE COALESCE(excluded.error_message, tenant_step_logs.error_message) "
    "END, "
    "metadata = COALESCE(excluded.metadata, tenant_step_logs.metadata), "
    "run_attempt = COALESCE(tenant_step_logs.run_attempt, excluded.run_attempt), "
    "updated_at = excluded.updated_at "
    "WHERE excluded.state_seq >= tenant_step_logs.state_seq";

static const char *const DQ_INSERT =
    "INSERT INTO tenants.tenant_dq_results (dq_result_id, pipeline_logging_id, tenant_id, "
    "pipeline_id, step_id, step_log_id, check_name, check_type, target_table, severity, passed, "
    "observed_value, expected_value, message, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "$8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (dq_result_id) DO NOTHING";

int lgr_state_rank(const char *status)
{
    static const struct {
        const char *name;
        int rank;
    } ranks[] = {{"QUEUED", 1},    {"DISPATCHED", 2}, {"RUNNING", 3}, {"RETRYING", 4},
                 {"SKIPPED", 8},   {"SUCCEEDED", 8},  {"FAILED", 8},  {"TIMED_OUT", 8},
                 {"CANCELLED", 8}, {"DEAD", 9}};
    for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++) {
        if (strcmp(ranks[i].name, status) == 0)
            return ranks[i].rank;
    }
    return 0;
}

bool lgr_sink_transient(int rc, const cvg_err_t *err)
{
    if (rc == CVG_EINVAL && cvg_wh_err_missing_column(err))
        return true; /* a column this build writes, which the bootstrap adds */
    return rc != 0 && rc != CVG_EINVAL && rc != CVG_EEXIST && rc != CVG_ETOOBIG;
}

/* A timestamp parameter: NULL when ms is 0 (unknown). */
static cvg_val_t ts_val(int64_t ms, char buf[CVG_TIME_ISO_LEN])
{
    if (ms <= 0)
        return CVG_V_NULL;
    cvg_time_format_iso(ms, buf);
    return cvg_v_text(buf);
}

static cvg_val_t str_or_null(const char *s)
{
    return (s == NULL || s[0] == '\0') ? CVG_V_NULL : cvg_v_text(s);
}

static cvg_val_t int_or_null(int64_t v, bool known)
{
    return known ? CVG_V_INT(v) : CVG_V_NULL;
}

/*
 * Steps whose worker will never end them. The scheduler says an attempt's
 * worker was lost (its lease expired: the run is RETRYING, DEAD, or
 * CANCELLED if a cancel was pending); or the run is over, by anyone's word
 * that the run's row took (not a stale end of an earlier attempt), and a
 * step of it is still RUNNING (a lost attempt's step reported late, by a
 * worker that was slow rather than dead). They end here, FAILED (or
 * CANCELLED) with the reason, and at a finished state's rank, so a late
 * RUNNING cannot reopen them (a step's own end, should it come, still
 * applies). For RETRYING only the steps that began before the scheduler's
 * word: the next attempt is queued at least the retry delay (5 s) later,
 * which covers the clocks of other hosts; once the run is over no attempt
 * is left to tell apart.
 */
void lgr_closed_clear(lgr_closed_t *closed)
{
    for (size_t i = 0; closed && i < closed->n; i++)
        cvg_event_cleanup(&closed->evs[i]);
    if (closed) {
        free(closed->evs);
        closed->evs = NULL;
        closed->n = 0;
    }
}

/* What closing a step says, built from its row and the run event. */
typedef struct closing {
    const cvg_event_t *run;
    const char *status, *reason;
    lgr_closed_t *out;
} closing_t;

static int64_t iso_ms(const cvg_val_t *v)
{
    int64_t ms = 0;
    if (v->type != CVG_VAL_TEXT || v->len >= CVG_TIME_ISO_LEN)
        return 0;
    char t[CVG_TIME_ISO_LEN];
    memcpy(t, v->s, v->len);
    t[v->len] = '\0';
    return cvg_time_parse_iso(t, &ms) == 0 ? ms : 0;
}

static void text_into(char *dst, size_t size, const cvg_val_t *v)
{
    size_t n = v->type == CVG_VAL_TEXT ? (v->len < size - 1 ? v->len : size - 1) : 0;
    if (n)
        memcpy(dst, v->s, n);
    dst[n] = '\0';
}

/* A row of step_log_id, step_id, step_index, attempt, run_attempt,
 * ps_type, start_time. */
static int take_closing(void *ud, const cvg_row_t *row)
{
    closing_t *c = ud;
    cvg_event_t *grown = realloc(c->out->evs, (c->out->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return 1; /* told on the stream as far as memory allowed */
    c->out->evs = grown;
    cvg_event_t *e = &grown[c->out->n++];
    cvg_event_init(e, CVG_EV_STEP_FINISHED);
    memcpy(e->run_id, c->run->run_id, sizeof(e->run_id));
    memcpy(e->tenant_id, c->run->tenant_id, sizeof(e->tenant_id));
    memcpy(e->pipeline_id, c->run->pipeline_id, sizeof(e->pipeline_id));
    memcpy(e->pipeline, c->run->pipeline, sizeof(e->pipeline));
    memcpy(e->worker_id, c->run->worker_id, sizeof(e->worker_id));
    snprintf(e->status, sizeof(e->status), "%s", c->status);
    text_into(e->step_log_id, sizeof(e->step_log_id), &row->vals[0]);
    text_into(e->step_id, sizeof(e->step_id), &row->vals[1]);
    e->step_index = row->vals[2].type == CVG_VAL_INT ? (int)row->vals[2].i : -1;
    e->attempt = row->vals[3].type == CVG_VAL_INT ? (int)row->vals[3].i : 1;
    e->run_attempt = row->vals[4].type == CVG_VAL_INT ? (int)row->vals[4].i : 0;
    text_into(e->ps_type, sizeof(e->ps_type), &row->vals[5]);
    e->start_ms = iso_ms(&row->vals[6]);
    e->ts_ms = c->run->ts_ms;
    e->end_ms = c->run->ts_ms;
    e->error = c->reason ? strdup(c->reason) : NULL;
    return 0;
}

static int close_lost_steps(cvg_wh_t *wh, const cvg_event_t *ev, bool stale, lgr_closed_t *closed,
                            cvg_err_t *err)
{
    bool scheduler = strcmp(ev->worker_id, "scheduler") == 0;
    bool retrying = scheduler && strcmp(ev->status, "RETRYING") == 0;
    /* a run's finished states; a late end the run row has moved past (a
     * later attempt runs, or it ended already) closes nothing: the steps
     * RUNNING now may be that later attempt's */
    bool over = !stale && lgr_state_rank(ev->status) >= 8;
    if (!retrying && !over)
        return 0;
    char ts[CVG_TIME_ISO_LEN], why[160];
    cvg_time_format_iso(ev->ts_ms, ts);
    snprintf(why, sizeof(why), "the run ended (%s) before this step's end was logged", ev->status);
    /* the scheduler's reason when it gave one, else what happened */
    const char *reason = scheduler && ev->error ? ev->error : retrying ? NULL : why;
    const char *status = strcmp(ev->status, "CANCELLED") == 0 ? "CANCELLED" : "FAILED";
    cvg_val_t v[5] = {cvg_v_text(ev->run_id), cvg_v_text(status), cvg_v_text(ts),
                      str_or_null(reason), CVG_V_INT(retrying)};
    if (closed != NULL) {
        /* the steps about to close, for the stream (a step's own error,
         * when it had one, is the row's; the stream tells the reason) */
        closing_t c = {ev, status, reason ? reason : why, closed};
        int rc = cvg_wh_exec(wh,
                             "SELECT step_log_id, step_id, step_index, attempt, run_attempt, "
                             "ps_type, start_time FROM tenants.tenant_step_logs WHERE "
                             "pipeline_logging_id = $1 AND status = 'RUNNING' AND ($5 = 0 OR "
                             "created_at <= $3) ORDER BY step_index",
                             v, 5, take_closing, &c, NULL, err);
        if (rc != 0 && rc != 1)
            return rc;
    }
    return cvg_wh_exec(wh,
                       "UPDATE tenants.tenant_step_logs SET status = $2, end_time = $3, "
                       "error_message = COALESCE(error_message, $4), updated_at = $3, "
                       "state_seq = attempt * 16 + 8 WHERE pipeline_logging_id = $1 "
                       "AND status = 'RUNNING' AND ($5 = 0 OR created_at <= $3)",
                       v, 5, NULL, NULL, NULL, err);
}

/* A step reported RUNNING after its run is over (the lost attempt of a
 * slow worker): it ends at once, as close_lost_steps would have ended it. */
static int close_if_run_over(cvg_wh_t *wh, const cvg_event_t *ev, cvg_err_t *err)
{
    char ts[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(ev->ts_ms, ts);
    cvg_val_t v[3] = {cvg_v_text(ev->step_log_id), cvg_v_text(ts), cvg_v_text(ev->run_id)};
#define RUN_STATUS \
    "(SELECT status FROM tenants.tenant_pipeline_runs WHERE pipeline_logging_id = $3)"
    int rc = cvg_wh_exec(
        wh,
        "UPDATE tenants.tenant_step_logs SET status = CASE " RUN_STATUS
        " WHEN 'CANCELLED' THEN 'CANCELLED' ELSE 'FAILED' END, end_time = $2, "
        "error_message = COALESCE(error_message, 'the run had ended (' || " RUN_STATUS
        " || ') when this step was reported running'), updated_at = $2, "
        "state_seq = attempt * 16 + 8 WHERE step_log_id = $1 AND status = 'RUNNING' AND " RUN_STATUS
        " IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'DEAD')",
        v, 3, NULL, NULL, NULL, err);
#undef RUN_STATUS
    return rc;
}

static int apply_run(cvg_wh_t *wh, const cvg_event_t *ev, json_t *detail, bool *stale,
                     lgr_closed_t *closed, cvg_err_t *err)
{
    char start[CVG_TIME_ISO_LEN], end[CVG_TIME_ISO_LEN], ts[CVG_TIME_ISO_LEN];
    int rank = lgr_state_rank(ev->status);
    if (rank == 0)
        return cvg_err_set(err, CVG_EINVAL, "status", "unknown run status '%s'", ev->status);
    char *params = NULL, *result = NULL;
    json_t *p = json_object_get(detail, "parameters");
    if (p != NULL)
        params = json_dumps(p, JSON_COMPACT);
    if (ev->kind == CVG_EV_RUN_FINISHED && detail != NULL) {
        /* the parameters have their own column */
        json_t *rest = json_copy(detail);
        json_object_del(rest, "parameters");
        if (json_object_size(rest) > 0)
            result = json_dumps(rest, JSON_COMPACT);
        json_decref(rest);
    }
    bool finished = ev->kind == CVG_EV_RUN_FINISHED;
    cvg_time_format_iso(ev->ts_ms, ts);
    /* created when it was accepted, which its id (UUIDv7) says: the run's
     * place in lists does not move when it starts */
    char created[CVG_TIME_ISO_LEN];
    int64_t born = cvg_id_time_ms(ev->run_id);
    cvg_time_format_iso(born > 0 ? born : ev->ts_ms, created);
    cvg_val_t v[19] = {
        cvg_v_text(ev->run_id),
        cvg_v_text(ev->tenant_id),
        cvg_v_text(ev->pipeline_id),
        str_or_null(ev->pipeline),
        cvg_v_text(ev->status),
        CVG_V_INT((int64_t)ev->attempt * 16 + rank),
        str_or_null(ev->trigger_type),
        str_or_null(ev->triggered_by),
        params ? cvg_v_text(params) : CVG_V_NULL,
        CVG_V_INT(ev->attempt),
        str_or_null(ev->worker_id),
        ts_val(ev->start_ms, start),
        ts_val(ev->end_ms, end),
        int_or_null(ev->end_ms - ev->start_ms, finished && ev->end_ms > 0 && ev->start_ms > 0),
        int_or_null(ev->rows, ev->rows >= 0),
        str_or_null(ev->error),
        result ? cvg_v_text(result) : CVG_V_NULL,
        cvg_v_text(ts),
        cvg_v_text(created),
    };
    int64_t changed = 0;
    int rc = cvg_wh_exec(wh, RUN_UPSERT, v, 19, NULL, NULL, &changed, err);
    *stale = rc == 0 && changed == 0;
    free(params);
    free(result);
    if (rc == 0)
        rc = close_lost_steps(wh, ev, *stale, closed, err);
    return rc;
}

static int apply_step(cvg_wh_t *wh, const cvg_event_t *ev, bool *stale, cvg_err_t *err)
{
    char start[CVG_TIME_ISO_LEN], end[CVG_TIME_ISO_LEN], ts[CVG_TIME_ISO_LEN];
    int rank = lgr_state_rank(ev->status);
    if (rank == 0)
        return cvg_err_set(err, CVG_EINVAL, "status", "unknown step status '%s'", ev->status);
    if (!cvg_id_valid(ev->step_log_id) || ev->step_id[0] == '\0')
        return cvg_err_set(err, CVG_EINVAL, "step_log_id", "step event without step ids");
    bool finished = ev->kind == CVG_EV_STEP_FINISHED;
    cvg_time_format_iso(ev->ts_ms, ts);
    cvg_val_t v[18] = {
        cvg_v_text(ev->step_log_id),
        cvg_v_text(ev->run_id),
        cvg_v_text(ev->tenant_id),
        cvg_v_text(ev->pipeline_id),
        cvg_v_text(ev->step_id),
        int_or_null(ev->step_index, ev->step_index >= 0),
        str_or_null(ev->ps_type),
        CVG_V_INT(ev->attempt),
        cvg_v_text(ev->status),
        CVG_V_INT((int64_t)ev->attempt * 16 + rank),
        ts_val(ev->start_ms, start),
        ts_val(ev->end_ms, end),
        int_or_null(ev->end_ms - ev->start_ms, finished && ev->end_ms > 0 && ev->start_ms > 0),
        int_or_null(ev->rows, ev->rows >= 0),
        str_or_null(ev->error),
        str_or_null(ev->detail),
        cvg_v_text(ts),
        int_or_null(ev->run_attempt, ev->run_attempt > 0),
    };
    int64_t changed = 0;
    int rc = cvg_wh_exec(wh, STEP_UPSERT, v, 18, NULL, NULL, &changed, err);
    *stale = rc == 0 && changed == 0;
    if (rc == 0 && !finished && !*stale)
        rc = close_if_run_over(wh, ev, err);
    return rc;
}

static const char *dstr(json_t *detail, const char *key)
{
    return json_string_value(json_object_get(detail, key));
}

/* A JSON scalar as text for the observed/expected columns. */
static char *scalar_text(json_t *v)
{
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
}

static int apply_dq(cvg_wh_t *wh, const cvg_event_t *ev, json_t *detail, bool *stale,
                    cvg_err_t *err)
{
    if (detail == NULL || dstr(detail, "check_name") == NULL ||
        dstr(detail, "check_type") == NULL || !json_is_boolean(json_object_get(detail, "passed")))
        return cvg_err_set(err, CVG_EINVAL, "detail",
                           "dq_result needs check_name, check_type and passed");
    char ts[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(ev->ts_ms, ts);
    char *observed = scalar_text(json_object_get(detail, "observed_value"));
    char *expected = scalar_text(json_object_get(detail, "expected_value"));
    const char *severity = dstr(detail, "severity");
    cvg_val_t v[15] = {
        cvg_v_text(ev->id),
        cvg_v_text(ev->run_id),
        cvg_v_text(ev->tenant_id),
        cvg_v_text(ev->pipeline_id),
        str_or_null(ev->step_id),
        str_or_null(ev->step_log_id),
        cvg_v_text(dstr(detail, "check_name")),
        cvg_v_text(dstr(detail, "check_type")),
        str_or_null(dstr(detail, "target_table")),
        cvg_v_text(severity ? severity : "error"),
        CVG_V_BOOL(json_is_true(json_object_get(detail, "passed"))),
        str_or_null(observed),
        str_or_null(expected),
        str_or_null(dstr(detail, "message")),
        cvg_v_text(ts),
    };
    int64_t changed = 0;
    int rc = cvg_wh_exec(wh, DQ_INSERT, v, 15, NULL, NULL, &changed, err);
    /* held already: sent again after a lost ack */
    *stale = rc == 0 && changed == 0;
    free(observed);
    free(expected);
    return rc;
}

int lgr_sink_apply(cvg_wh_t *wh, const cvg_event_t *ev, bool *stale, cvg_err_t *err)
{
    return lgr_sink_apply_closing(wh, ev, stale, NULL, err);
}

int lgr_sink_apply_closing(cvg_wh_t *wh, const cvg_event_t *ev, bool *stale, lgr_closed_t *closed,
                           cvg_err_t *err)
{
    *stale = false;
    lgr_closed_clear(closed);
    if (ev->kind == CVG_EV_HEARTBEAT)
        return 0; /* liveness only: published, not stored */
    if (!cvg_id_valid(ev->run_id) || ev->tenant_id[0] == '\0' || ev->pipeline_id[0] == '\0')
        return cvg_err_set(err, CVG_EINVAL, "run_id",
                           "event without run_id, tenant_id or pipeline_id");
    json_t *detail = NULL;
    if (ev->detail != NULL) {
        detail = json_loads(ev->detail, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(detail)) {
            json_decref(detail);
            return cvg_err_set(err, CVG_EINVAL, "detail", "detail is not a JSON object");
        }
    }
    int rc;
    switch (ev->kind) {
    case CVG_EV_RUN_QUEUED:
    case CVG_EV_RUN_STARTED:
    case CVG_EV_RUN_FINISHED:
        rc = apply_run(wh, ev, detail, stale, closed, err);
        break;
    case CVG_EV_STEP_STARTED:
    case CVG_EV_STEP_FINISHED:
        rc = apply_step(wh, ev, stale, err);
        break;
    case CVG_EV_DQ_RESULT:
        rc = apply_dq(wh, ev, detail, stale, err);
        break;
    default:
        rc = cvg_err_set(err, CVG_EINVAL, "kind", "unknown event kind");
    }
    json_decref(detail);
    return rc;
}
