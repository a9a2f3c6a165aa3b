/*
 * Reading pipeline runs, always within one tenant:
 *   GET /api/v1/pipelines/runs/{run_id}   a run, its steps (every attempt)
 *                                         and data-quality results
 *   GET /api/v1/pipelines/runs?status=&pipeline_id=&trigger_type=&since=&limit=&cursor=
 * A run just accepted is read from the queue until the run log has it, so
 * its status_url never answers 404. Another tenant's run is as absent as
 * one that never was. A finished run's answer is kept in memory for
 * CVG_RUN_CACHE_MS (gateway/runcache.c); runs in flight are always read.
 */
#include "common/str.h"
#include "common/time.h"
#include "common/utf8.h"
#include "gateway/gateway.h"
#include "gateway/runcache.h"
#include "gateway/whpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#define POOL_WAIT_MS 2000
#define LIST_DEFAULT 50
#define LIST_MAX     200
#define CURSOR_MAX   200

static const char RUN_SQL[] =
    "SELECT pipeline_logging_id, tenant_id, pipeline_id, pipeline, status, trigger_type, "
    "trigger_by AS triggered_by, parameters, attempt, worker_id, start_time, end_time, "
    "duration_ms, rows_processed, error_message, created_at, updated_at "
    "FROM tenants.tenant_pipeline_runs";

/* Runs accepted but not yet in the run log (it gets a run from the run's
 * first event), in the run log's columns. */
static const char QUEUED_SQL[] =
    "SELECT q.pipeline_logging_id, q.tenant_id, q.pipeline_id, q.pipeline, q.state AS status, "
    "q.trigger_type, q.triggered_by, q.parameters, q.attempt, NULL AS worker_id, "
    "NULL AS start_time, NULL AS end_time, NULL AS duration_ms, NULL AS rows_processed, "
    "q.last_error AS error_message, q.enqueued_at AS created_at, q.updated_at "
    "FROM tenants.tenant_pipeline_execution_queue q WHERE NOT EXISTS (SELECT 1 FROM "
    "tenants.tenant_pipeline_runs r WHERE r.pipeline_logging_id = q.pipeline_logging_id)";

/* The filters and page of a list, applied to either source. */
static const char LIST_PAGE[] =
    "WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR status = $2) AND "
    "($3 IS NULL OR pipeline_id = $3) AND ($4 IS NULL OR created_at >= $4) AND "
    "($5 IS NULL OR (created_at, pipeline_logging_id) < ($5, $6)) AND "
    "($8 IS NULL OR trigger_type = $8) "
    "ORDER BY created_at DESC, pipeline_logging_id DESC LIMIT $7";

/* JSON text columns come back parsed. */
static void parse_json_field(json_t *o, const char *key)
{
    const char *text = json_string_value(json_object_get(o, key));
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (v)
        json_object_set_new(o, key, v);
}

static int take_one(void *ud, const cvg_row_t *row)
{
    *(json_t **)ud = cvg_row_json(row);
    return 1;
}

static int take_all(void *ud, const cvg_row_t *row)
{
    json_array_append_new(ud, cvg_row_json(row));
    return 0;
}

/* A run and everything about it, or NULL when it does not exist. */
static int read_run(cvg_wh_t *wh, const char *run_id, json_t **out, cvg_err_t *err)
{
    *out = NULL;
    cvg_val_t p = cvg_v_text(run_id);
    char sql[sizeof(RUN_SQL) + 64];
    snprintf(sql, sizeof(sql), "%s WHERE pipeline_logging_id = $1", RUN_SQL);
    json_t *run = NULL, *queue = NULL;
    int rc = cvg_wh_exec(wh, sql, &p, 1, take_one, &run, NULL, err);
    if (rc == 0 || rc == 1)
        rc = cvg_wh_exec(
            wh,
            "SELECT state, attempt, max_attempts, cancel_requested, enqueued_at, "
            "not_before, tenant_id, pipeline, pipeline_id, parameters, trigger_type, "
            "triggered_by, last_error, updated_at FROM tenants.tenant_pipeline_execution_queue "
            "WHERE pipeline_logging_id = $1",
            &p, 1, take_one, &queue, NULL, err);
    if (rc != 0 && rc != 1) {
        json_decref(run);
        json_decref(queue);
        return rc;
    }
    if (run == NULL && queue == NULL)
        return 0;
    if (run == NULL) {
        /* accepted, not yet in the run log: the run log's fields all the
         * same (as the list has them), those of a start null */
        run = json_pack(
            "{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:n, s:n, s:n, s:n, s:n, "
            "s:O?, s:O?, s:O?}",
            "pipeline_logging_id", run_id, "tenant_id", json_object_get(queue, "tenant_id"),
            "pipeline_id", json_object_get(queue, "pipeline_id"), "pipeline",
            json_object_get(queue, "pipeline"), "status", json_object_get(queue, "state"),
            "trigger_type", json_object_get(queue, "trigger_type"), "triggered_by",
            json_object_get(queue, "triggered_by"), "parameters",
            json_object_get(queue, "parameters"), "attempt", json_object_get(queue, "attempt"),
            "worker_id", "start_time", "end_time", "duration_ms", "rows_processed", "error_message",
            json_object_get(queue, "last_error"), "created_at",
            json_object_get(queue, "enqueued_at"), "updated_at",
            json_object_get(queue, "updated_at"));
    }
    parse_json_field(run, "parameters");
    if (queue) {
        const char *state = json_string_value(json_object_get(queue, "state"));
        const char *status = json_string_value(json_object_get(run, "status"));
        /* the queue is ahead of the log before the run starts */
        if (state && status && strcmp(status, "QUEUED") == 0 && strcmp(state, "QUEUED") != 0)
            json_object_set(run, "status", json_object_get(queue, "state"));
        json_object_set_new(
            run, "queue",
            json_pack("{s:O?, s:O?, s:O?, s:b, s:O?, s:O?}", "state",
                      json_object_get(queue, "state"), "attempt", json_object_get(queue, "attempt"),
                      "max_attempts", json_object_get(queue, "max_attempts"), "cancel_requested",
                      json_integer_value(json_object_get(queue, "cancel_requested")) != 0,
                      "enqueued_at", json_object_get(queue, "enqueued_at"), "not_before",
                      json_object_get(queue, "not_before")));
        json_decref(queue);
    }
    json_t *steps = json_array(), *dq = json_array();
    rc = cvg_wh_exec(wh,
                     "SELECT step_log_id, step_id, step_index, ps_type, run_attempt, attempt, "
                     "status, start_time, end_time, duration_ms, rows_processed, error_message, "
                     "metadata FROM tenants.tenant_step_logs WHERE pipeline_logging_id = $1 "
                     "ORDER BY run_attempt, step_index, start_time, attempt",
                     &p, 1, take_all, steps, NULL, err);
    if (rc == 0)
        rc = cvg_wh_exec(wh,
                         "SELECT step_id, check_name, check_type, target_table, severity, passed, "
                         "observed_value, expected_value, message, checked_at FROM "
                         "tenants.tenant_dq_results WHERE pipeline_logging_id = $1 "
                         "ORDER BY checked_at, dq_result_id", /* ids grow as checks ran */
                         &p, 1, take_all, dq, NULL, err);
    for (size_t i = 0; i < json_array_size(steps); i++)
        parse_json_field(json_array_get(steps, i), "metadata");
    for (size_t i = 0; i < json_array_size(dq); i++) {
        json_t *d = json_array_get(dq, i);
        json_object_set_new(d, "passed",
                            json_boolean(json_integer_value(json_object_get(d, "passed")) != 0));
    }
    json_object_set_new(run, "steps", steps);
    json_object_set_new(run, "dq_results", dq);
    *out = run;
    return rc;
}

/* An administrator's tenant filter: the shape of a tenant id (the system
 * tenant's included), never empty. */
static bool tenant_filter_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > CVG_TENANT_ID_MAX)
        return false;
    for (const char *p = t; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return false;
    }
    return true;
}

/* The tenant a request may read, or NULL for an administrator (all). */
static const char *scope_tenant(const gw_req_t *req)
{
    return req->principal == GW_TENANT_KEY ? req->key.tenant_id : NULL;
}

/* The answer of a finished run from memory: true when it answered. */
static bool answer_cached(gw_req_t *req, gw_resp_t *resp, const char *run_id, int64_t now)
{
    gw_t *gw = req->gw;
    char owner[CVG_TENANT_ID_MAX + 1];
    size_t len = 0;
    char *body = gw_runcache_get(gw->runs, run_id, gw->cfg.run_cache_ms, now, owner, &len);
    if (body == NULL)
        return false;
    atomic_fetch_add(&gw->run_cache_hits, 1);
    const char *tenant = scope_tenant(req);
    if (tenant && strcmp(tenant, owner) != 0) {
        free(body);
        gw_resp_error(resp, 404, "not_found", "run_id", "no run %.64s", run_id);
        return true;
    }
    resp->status = 200;
    resp->body = body;
    resp->len = len;
    return true;
}

void gw_pipelines_run_get(gw_req_t *req, gw_resp_t *resp)
{
    const char *run_id = gw_req_param(req, "run_id");
    int64_t now = cvg_time_mono_ms();
    if (answer_cached(req, resp, run_id, now))
        return;
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *run = NULL;
    /* the run log, queue, steps and checks as of one moment */
    static const char *const central[] = {"tenants", NULL};
    int rc = cvg_wh_begin_read(wh, central, &err);
    if (rc == 0) {
        rc = read_run(wh, run_id, &run, &err);
        cvg_wh_rollback(wh);
    }
    gw_whpool_release(req->gw->pool, wh);
    const char *tenant = scope_tenant(req);
    if (rc != 0) {
        json_decref(run);
        gw_resp_warehouse_error(resp, "cannot read the run", &err);
    } else if (run == NULL ||
               (tenant && strcmp(tenant, json_string_value(json_object_get(run, "tenant_id"))))) {
        json_decref(run);
        gw_resp_error(resp, 404, "not_found", "run_id", "no run %.64s", run_id);
    } else {
        const char *t = json_string_value(json_object_get(run, "tenant_id"));
        char owner[CVG_TENANT_ID_MAX + 1];
        snprintf(owner, sizeof(owner), "%s", t ? t : "");
        /* ended in the run log itself (an end time), not only in the queue */
        bool final = gw_runcache_final(json_string_value(json_object_get(run, "status"))) &&
                     json_is_string(json_object_get(run, "end_time"));
        gw_resp_json(resp, 200, run); /* frees run */
        if (final && owner[0] && resp->body && req->gw->cfg.run_cache_ms > 0)
            gw_runcache_put(req->gw->runs, run_id, owner, resp->body, resp->len, now);
    }
}

static bool hex_decode(const char *hex, char *out, size_t size)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 >= size)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (char)v;
    }
    out[n / 2] = '\0';
    return true;
}

/* The cursor is the last row's created_at and id, hex-encoded. */
static bool cursor_parse(const char *c, char *created, char *id)
{
    char text[CURSOR_MAX];
    if (!hex_decode(c, text, sizeof(text)))
        return false;
    char *tab = strchr(text, '\t');
    int64_t ms;
    if (tab == NULL || (size_t)(tab - text) >= CVG_TIME_ISO_LEN || strlen(tab + 1) >= CVG_ID_LEN)
        return false;
    *tab = '\0';
    memcpy(created, text, strlen(text) + 1);
    memcpy(id, tab + 1, strlen(tab + 1) + 1);
    return cvg_time_parse_iso(created, &ms) == 0;
}

static json_t *cursor_make(const json_t *row)
{
    char text[CURSOR_MAX], hex[2 * CURSOR_MAX + 1];
    snprintf(text, sizeof(text), "%s\t%s", json_string_value(json_object_get(row, "created_at")),
             json_string_value(json_object_get(row, "pipeline_logging_id")));
    for (size_t i = 0; text[i]; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)text[i]);
    return json_string(hex);
}

static bool status_ok(const char *s)
{
    static const char *const known[] = {"QUEUED",    "DISPATCHED", "RUNNING",   "RETRYING",
                                        "SUCCEEDED", "FAILED",     "TIMED_OUT", "CANCELLED",
                                        "DEAD",      NULL};
    for (size_t i = 0; known[i]; i++) {
        if (strcmp(known[i], s) == 0)
            return true;
    }
    return false;
}

void gw_pipelines_runs_list(gw_req_t *req, gw_resp_t *resp)
{
    /* a misspelt filter is an error, not a list of every run */
    static const char *const filters[] = {"tenant_id", "status", "pipeline_id", "trigger_type",
                                          "since",     "limit",  "cursor",      NULL};
    const char *repeated = NULL;
    const char *unknown = gw_req_query_unknown(req, filters, &repeated);
    if (repeated != NULL) {
        gw_resp_error(resp, 400, "invalid_field", repeated,
                      "%s: given more than once; give each query parameter once", repeated);
        return;
    }
    if (unknown != NULL) {
        char name[CVG_PATH_KEY_MAX + 4];
        cvg_path_join(name, sizeof(name), "", unknown);
        cvg_utf8_clean(name); /* a name of any bytes still goes into JSON */
        gw_resp_error(resp, 400, "invalid_field", name,
                      "%s: unknown query parameter (tenant_id, status, pipeline_id, "
                      "trigger_type, since, limit, cursor)",
                      name);
        return;
    }
    const char *tenant = scope_tenant(req);
    if (tenant == NULL)
        tenant = gw_req_query(req, "tenant_id");
    const char *status = gw_req_query(req, "status");
    const char *pipeline_id = gw_req_query(req, "pipeline_id");
    const char *since = gw_req_query(req, "since");
    const char *trigger = gw_req_query(req, "trigger_type");
    const char *limit_text = gw_req_query(req, "limit");
    const char *cursor = gw_req_query(req, "cursor");
    int64_t limit = LIST_DEFAULT, ms = 0;
    char created[CVG_TIME_ISO_LEN] = "", after_id[CVG_ID_LEN] = "";
    if (status && !status_ok(status)) {
        gw_resp_error(resp, 400, "invalid_field", "status",
                      "status: one of QUEUED, DISPATCHED, RUNNING, RETRYING, SUCCEEDED, FAILED, "
                      "TIMED_OUT, CANCELLED, DEAD");
        return;
    }
    if (scope_tenant(req) == NULL && tenant && !tenant_filter_ok(tenant)) {
        gw_resp_error(resp, 400, "invalid_field", "tenant_id",
                      "tenant_id: a tenant id (letters, digits, _ and -, at most %d)",
                      CVG_TENANT_ID_MAX);
        return;
    }
    if (pipeline_id && !cvg_ident_valid(pipeline_id, CVG_NAME_MAX - 1)) {
        gw_resp_error(resp, 400, "invalid_field", "pipeline_id",
                      "pipeline_id: an identifier, the config's pipeline_id (gcp_cost_billing), "
                      "not its path");
        return;
    }
    if (trigger && strcmp(trigger, "manual") != 0 && strcmp(trigger, "scheduled") != 0 &&
        strcmp(trigger, "api") != 0) {
        gw_resp_error(resp, 400, "invalid_field", "trigger_type",
                      "trigger_type: manual (the run endpoint), scheduled (a schedule) or api "
                      "(the setup endpoints)");
        return;
    }
    if (since && cvg_time_parse_iso(since, &ms) != 0) {
        gw_resp_error(resp, 400, "invalid_field", "since",
                      "since: a date or timestamp (2026-11-25 or 2026-11-25T10:00:00Z)");
        return;
    }
    if (limit_text && cvg_parse_int64(limit_text, 1, LIST_MAX, &limit) != 0) {
        gw_resp_error(resp, 400, "invalid_field", "limit", "limit: an integer from 1 to %d",
                      LIST_MAX);
        return;
    }
    if (cursor && !cursor_parse(cursor, created, after_id)) {
        gw_resp_error(resp, 400, "invalid_field", "cursor",
                      "cursor: not one this API gave out (use next_cursor as it is)");
        return;
    }
    char since_iso[CVG_TIME_ISO_LEN] = "";
    if (since)
        cvg_time_format_iso(ms, since_iso);
    /* a page of each source, merged */
    char sql[sizeof(RUN_SQL) + sizeof(QUEUED_SQL) + 3 * sizeof(LIST_PAGE) + 128];
    snprintf(sql, sizeof(sql),
             "SELECT * FROM (SELECT * FROM (%s) %s) UNION ALL SELECT * FROM (SELECT * FROM (%s) "
             "%s) %s",
             RUN_SQL, LIST_PAGE, QUEUED_SQL, LIST_PAGE, strstr(LIST_PAGE, "ORDER BY"));
    cvg_val_t p[8] = {cvg_v_text(tenant),
                      cvg_v_text(status),
                      cvg_v_text(pipeline_id),
                      since ? cvg_v_text(since_iso) : CVG_V_NULL,
                      cursor ? cvg_v_text(created) : CVG_V_NULL,
                      cursor ? cvg_v_text(after_id) : CVG_V_NULL,
                      CVG_V_INT(limit + 1),
                      cvg_v_text(trigger)};
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *runs = json_array();
    int rc = cvg_wh_exec(wh, sql, p, 8, take_all, runs, NULL, &err);
    gw_whpool_release(req->gw->pool, wh);
    if (rc != 0) {
        json_decref(runs);
        gw_resp_warehouse_error(resp, "cannot list runs", &err);
        return;
    }
    json_t *next = json_null();
    if ((int64_t)json_array_size(runs) > limit) {
        json_array_remove(runs, (size_t)limit);
        json_decref(next);
        next = cursor_make(json_array_get(runs, (size_t)limit - 1));
    }
    for (size_t i = 0; i < json_array_size(runs); i++)
        parse_json_field(json_array_get(runs, i), "parameters");
    gw_resp_json(resp, 200,
                 json_pack("{s:o, s:o, s:I}", "runs", runs, "next_cursor", next, "limit",
                           (json_int_t)limit));
}
