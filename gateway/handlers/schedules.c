/*
 * A tenant's scheduled pipelines (tenants.tenant_pipeline_configs), one
 * schedule per pipeline:
 *   PUT    /api/v1/tenants/{tenant_id}/schedules/{provider}/{domain}/{template}
 *   GET    /api/v1/tenants/{tenant_id}/schedules/{provider}/{domain}/{template}
 *   DELETE /api/v1/tenants/{tenant_id}/schedules/{provider}/{domain}/{template}
 *   GET    /api/v1/tenants/{tenant_id}/schedules
 * A schedule is checked as a run request is (the pipeline valid, its
 * parameters declared and typed, the provider settings it uses stored)
 * plus its cron expression; the scheduler fires it (scheduler/fire.c).
 */
#include "common/cron.h"
#include "common/time.h"
#include "gateway/gateway.h"
#include "gateway/pipeline_checks.h"
#include "gateway/whpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_WAIT_MS       5000
#define DEFAULT_PRIORITY   10 /* as the scheduler's SCH_SCHEDULED_PRIORITY */
#define RECENT_SLOTS       10 /* slots shown with a schedule */
#define SCHEDULES_LIST_MAX 1000
#define C                  "tenants.tenant_pipeline_configs"
#define S                  "tenants.tenant_scheduled_pipeline_runs"

static const char *const fields[] = {"schedule_cron", "timezone", "parameters",
                                     "is_active",     "priority", "catch_up"};

/* The config's id: one schedule per pipeline and tenant. */
static void config_id(gw_req_t *req, char *out, size_t size, char *path, size_t path_size)
{
    snprintf(path, path_size, "%s/%s/%s", gw_req_param(req, "provider"),
             gw_req_param(req, "domain"), gw_req_param(req, "template"));
    snprintf(out, size, "%s/%s", gw_req_param(req, "tenant_id"), path);
}

/* A connection for a request about tenant's schedules: NULL when none is
 * free or the tenant does not exist (answered 503 or 404). */
static cvg_wh_t *acquire_for(gw_req_t *req, gw_resp_t *resp, const char *tenant)
{
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh != NULL && !gw_tenant_known(req, resp, wh, tenant)) {
        gw_whpool_release(req->gw->pool, wh);
        wh = NULL;
    }
    return wh;
}

/* A checked schedule, ready to store. */
typedef struct schedule {
    const char *cron;
    cvg_cron_t parsed;
    bool active;
    int priority;
    bool catch_up;
    char *params; /* compact JSON object text, owned */
} schedule_t;

/* The body's fields, every problem to errs. */
static void check_body(const json_t *body, const gw_pipe_t *pipe, schedule_t *sc,
                       cvg_errlist_t *errs)
{
    for (void *it = json_object_iter((json_t *)body); it != NULL;
         it = json_object_iter_next((json_t *)body, it)) {
        const char *key = json_object_iter_key(it);
        bool known = false;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            known = known || strcmp(key, fields[i]) == 0;
        if (!known)
            cvg_errlist_add(errs, CVG_EINVAL, key,
                            "%.64s: unknown field; a schedule has schedule_cron, timezone, "
                            "parameters, is_active, priority and catch_up",
                            key);
    }
    const json_t *cron = json_object_get(body, "schedule_cron");
    cvg_err_t err;
    cvg_err_clear(&err);
    if (!json_is_string(cron))
        cvg_errlist_add(errs, CVG_EINVAL, "schedule_cron",
                        "schedule_cron: field required, a five-field cron expression in UTC "
                        "(\"0 2 * * *\" is 02:00 every day)");
    else if (cvg_cron_parse(json_string_value(cron), &sc->parsed, &err) != 0)
        cvg_errlist_add(errs, CVG_EINVAL, "schedule_cron", "%s", err.message);
    else
        sc->cron = json_string_value(cron);
    const json_t *tz = json_object_get(body, "timezone");
    if (tz != NULL && !json_is_null(tz) &&
        !(json_is_string(tz) && strcmp(json_string_value(tz), "UTC") == 0))
        cvg_errlist_add(errs, CVG_EINVAL, "timezone",
                        "timezone: only UTC is supported; write the cron expression in UTC");
    const json_t *active = json_object_get(body, "is_active");
    if (active != NULL && !json_is_boolean(active))
        cvg_errlist_add(errs, CVG_EINVAL, "is_active", "is_active: must be true or false");
    sc->active = active == NULL || json_is_true(active);
    const json_t *catch_up = json_object_get(body, "catch_up");
    if (catch_up != NULL && !json_is_boolean(catch_up))
        cvg_errlist_add(errs, CVG_EINVAL, "catch_up", "catch_up: must be true or false");
    sc->catch_up = json_is_true(catch_up);
    const json_t *prio = json_object_get(body, "priority");
    sc->priority = DEFAULT_PRIORITY;
    if (prio != NULL && (!json_is_integer(prio) || json_integer_value(prio) < CVG_PRIORITY_MIN ||
                         json_integer_value(prio) > CVG_PRIORITY_MAX))
        cvg_errlist_add(errs, CVG_EINVAL, "priority",
                        "priority: an integer from %d (first) to %d; runs started by hand have %d",
                        CVG_PRIORITY_MIN, CVG_PRIORITY_MAX, CVG_PRIORITY_MIN);
    else if (prio != NULL)
        sc->priority = (int)json_integer_value(prio);
    const json_t *params = json_object_get(body, "parameters");
    if (params != NULL && !json_is_object(params)) {
        cvg_errlist_add(errs, CVG_EINVAL, "parameters",
                        "parameters: must be a JSON object of the pipeline's parameters");
        return;
    }
    if (json_object_get(params, "date") != NULL)
        cvg_errlist_add(errs, CVG_EINVAL, "parameters.date",
                        "parameters.date: a scheduled run's date is the day of its slot; it "
                        "cannot be fixed");
    json_t *empty = json_object();
    json_t *checked = cvg_paramdecl_check_body(pipe->p.params, pipe->p.nparams, pipe->p.pipeline_id,
                                               params ? params : empty, "1970-01-01", errs);
    json_decref(empty);
    /* the date is each slot's own, set when it fires */
    json_object_del(checked, "date");
    sc->params = json_dumps(checked, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(checked);
}

static int take_row(void *ud, const cvg_row_t *row)
{
    *(json_t **)ud = cvg_row_json(row);
    return 1;
}

static int take_rows(void *ud, const cvg_row_t *row)
{
    json_array_append_new(ud, cvg_row_json(row));
    return 0;
}

#define SCHEDULE_COLUMNS                                                                       \
    "config_id, tenant_id, provider, domain, template, pipeline_id, schedule_cron, timezone, " \
    "is_active, next_run_time, last_run_time, parameters, priority, catch_up, created_at, "    \
    "updated_at"

/* A stored config as the API shows it. */
static void shape(json_t *row)
{
    json_t *params = json_loads(json_string_value(json_object_get(row, "parameters")), 0, NULL);
    json_object_set_new(row, "parameters", params ? params : json_object());
    json_t *active = json_object_get(row, "is_active");
    json_object_set_new(row, "is_active",
                        json_boolean(json_is_true(active) || json_integer_value(active) != 0));
    json_t *catch_up = json_object_get(row, "catch_up");
    json_object_set_new(row, "catch_up",
                        json_boolean(json_is_true(catch_up) || json_integer_value(catch_up) != 0));
    if (json_is_null(json_object_get(row, "timezone")))
        json_object_set_new(row, "timezone", json_string("UTC"));
    json_object_set_new(row, "pipeline",
                        json_sprintf("%s/%s/%s",
                                     json_string_value(json_object_get(row, "provider")),
                                     json_string_value(json_object_get(row, "domain")),
                                     json_string_value(json_object_get(row, "template"))));
}

/* The schedule and its latest slots; *out NULL when there is none. */
static int read_schedule(cvg_wh_t *wh, const char *id, json_t **out, cvg_err_t *err)
{
    *out = NULL;
    cvg_val_t p[2] = {cvg_v_text(id), CVG_V_INT(RECENT_SLOTS)};
    int rc = cvg_wh_exec(wh, "SELECT " SCHEDULE_COLUMNS " FROM " C " WHERE config_id = $1", p, 1,
                         take_row, out, NULL, err);
    if (rc == 1)
        rc = 0;
    if (rc != 0 || *out == NULL)
        return rc;
    shape(*out);
    json_t *slots = json_array();
    cvg_err_t serr;
    cvg_err_clear(&serr);
    /* the schedule stands without them: a failed read of its slots is said,
     * not made the schedule's */
    if (cvg_wh_exec(wh,
                    "SELECT scheduled_time, state, pipeline_logging_id, error, updated_at FROM " S
                    " WHERE config_id = $1 ORDER BY scheduled_time DESC LIMIT $2",
                    p, 2, take_rows, slots, NULL, &serr) != 0) {
        json_decref(slots);
        slots = json_null();
        json_object_set_new(*out, "recent_slots_error",
                            json_sprintf("%s%s", serr.message,
                                         cvg_wh_err_missing_column(&serr)
                                             ? " (run POST /api/v1/admin/bootstrap)"
                                             : ""));
    }
    json_object_set_new(*out, "recent_slots", slots);
    return 0;
}

/* The tenant's daily run limit (0: none known). */
static int daily_limit(cvg_wh_t *wh, const char *tenant, int64_t *limit, cvg_err_t *err)
{
    cvg_val_t t = cvg_v_text(tenant);
    bool found = false;
    *limit = 0;
    return cvg_wh_query_int(wh,
                            "SELECT daily_limit FROM tenants.tenant_subscriptions WHERE tenant_id "
                            "= $1 ORDER BY created_at DESC LIMIT 1",
                            &t, 1, limit, &found, err);
}

/* The most slots the cron has in one UTC day of the coming week, counted
 * up to cap + 1 (enough to say it is over cap). */
static int64_t most_a_day(const cvg_cron_t *c, int64_t now_ms, int64_t cap)
{
    int64_t day0 = now_ms - now_ms % 86400000, most = 0;
    for (int d = 0; d < 7 && most <= cap; d++) {
        int64_t start = day0 + (int64_t)d * 86400000, end = start + 86400000, n = 0;
        for (int64_t t = cvg_cron_next(c, start - 1); t != -1 && t < end && n <= cap;
             t = cvg_cron_next(c, t))
            n++;
        if (n > most)
            most = n;
    }
    return most;
}

static int store(gw_req_t *req, cvg_wh_t *wh, const char *id, const gw_pipe_t *pipe,
                 const schedule_t *sc, int64_t next_ms, bool *created, cvg_err_t *err)
{
    char now[CVG_TIME_ISO_LEN], next[CVG_TIME_ISO_LEN];
    int64_t now_ms = cvg_time_now_ms();
    cvg_time_format_iso(now_ms, now);
    cvg_time_format_iso(next_ms, next);
    int64_t exists = 0;
    cvg_val_t k = cvg_v_text(id);
    int rc = cvg_wh_query_int(wh, "SELECT COUNT(*) FROM " C " WHERE config_id = $1", &k, 1, &exists,
                              NULL, err);
    if (rc != 0)
        return rc;
    *created = exists == 0;
    cvg_val_t v[13] = {cvg_v_text(id),
                       cvg_v_text(gw_req_param(req, "tenant_id")),
                       cvg_v_text(gw_req_param(req, "provider")),
                       cvg_v_text(gw_req_param(req, "domain")),
                       cvg_v_text(gw_req_param(req, "template")),
                       cvg_v_text(pipe->p.pipeline_id),
                       cvg_v_text(sc->cron),
                       CVG_V_BOOL(sc->active),
                       sc->active ? cvg_v_text(next) : CVG_V_NULL,
                       cvg_v_text(sc->params),
                       CVG_V_INT(sc->priority),
                       cvg_v_text(now),
                       CVG_V_BOOL(sc->catch_up)};
    return cvg_wh_exec(
        wh,
        "INSERT INTO " C " (config_id, tenant_id, provider, domain, template, "
        "pipeline_id, schedule_cron, timezone, is_active, next_run_time, "
        "parameters, priority, catch_up, created_at, updated_at) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, 'UTC', $8, $9, $10, $11, $13, $12, $12) ON CONFLICT "
        "(config_id) DO UPDATE SET pipeline_id = $6, schedule_cron = $7, timezone "
        "= 'UTC', is_active = $8, next_run_time = CASE WHEN $8 AND "
        "tenant_pipeline_configs.is_active AND tenant_pipeline_configs.schedule_cron "
        "= $7 AND tenant_pipeline_configs.next_run_time IS NOT NULL THEN "
        "tenant_pipeline_configs.next_run_time ELSE $9 END, parameters = $10, "
        "priority = $11, catch_up = $13, updated_at = $12",
        v, 13, NULL, NULL, NULL, err);
}

void gw_schedules_put(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    char id[CVG_TENANT_MAX + CVG_PIPELINE_PATH_MAX], path[CVG_PIPELINE_PATH_MAX];
    config_id(req, id, sizeof(id), path, sizeof(path));
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    if (body == NULL) {
        gw_resp_error(resp, 400, "invalid_json", NULL,
                      "the body must be a JSON object with at least schedule_cron");
        return;
    }
    cvg_errlist_t *errs = cvg_errlist_new();
    if (errs == NULL) {
        json_decref(body);
        gw_resp_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    const gw_pipe_t *pipe = NULL;
    schedule_t sc = {0};
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t next_ms = 0;
    if (gw_pipeline_get(req, resp, path, errs, &pipe) != 0)
        goto out; /* answered */
    check_body(body, pipe, &sc, errs);
    if (errs->n == 0 && sc.cron != NULL &&
        (next_ms = cvg_cron_next(&sc.parsed, cvg_time_now_ms())) < 0)
        cvg_errlist_add(errs, CVG_EINVAL, "schedule_cron",
                        "schedule_cron: %s never comes (no such day in the next five years)",
                        sc.cron);
    if (errs->n > 0) {
        gw_errors_reply(resp, 400, "invalid_schedule", errs);
        goto out;
    }
    if (!gw_pipeline_tenant_exists(req, resp, tenant))
        goto out; /* answered: 404 or 503 */
    if (gw_pipeline_settings_check(req, tenant, pipe, errs, &err) != 0) {
        gw_resp_error(resp, 503, "unavailable", NULL, "%s", err.message);
        goto out;
    }
    if (errs->n > 0) {
        gw_errors_reply(resp, 400, "missing_setting", errs);
        goto out;
    }
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        goto out;
    int64_t limit = 0, most = 0;
    if (daily_limit(wh, tenant, &limit, &err) != 0) {
        gw_whpool_release(req->gw->pool, wh);
        gw_resp_warehouse_error(resp, "cannot read the tenant's plan", &err);
        goto out;
    }
    if (limit > 0 && (most = most_a_day(&sc.parsed, cvg_time_now_ms(), limit)) > limit) {
        gw_whpool_release(req->gw->pool, wh);
        cvg_errlist_add(errs, CVG_EINVAL, "schedule_cron",
                        "schedule_cron: %s fires more than %lld times on some UTC days: tenant "
                        "%s's plan allows %lld runs a day, and the slots past that would start "
                        "no run",
                        sc.cron, (long long)limit, tenant, (long long)limit);
        gw_errors_reply(resp, 400, "invalid_schedule", errs);
        goto out;
    }
    bool created = false;
    json_t *row = NULL;
    int rc = store(req, wh, id, pipe, &sc, next_ms, &created, &err);
    bool stored = rc == 0;
    if (rc == 0)
        rc = read_schedule(wh, id, &row, &err);
    gw_whpool_release(req->gw->pool, wh);
    if (stored && (rc != 0 || row == NULL))
        gw_resp_error(resp, 503, "unavailable", NULL,
                      "the schedule was stored but cannot be read back: %s", err.message);
    else if (rc != 0)
        gw_resp_warehouse_error(resp, "cannot store the schedule", &err);
    else
        gw_resp_json(resp, created ? 201 : 200, row);
out:
    gw_pipecache_put(req->gw->pipes, pipe);
    free(sc.params);
    free(errs);
    json_decref(body);
}

void gw_schedules_get(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    char id[CVG_TENANT_MAX + CVG_PIPELINE_PATH_MAX], path[CVG_PIPELINE_PATH_MAX];
    config_id(req, id, sizeof(id), path, sizeof(path));
    cvg_wh_t *wh = acquire_for(req, resp, tenant);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *row = NULL;
    int rc = read_schedule(wh, id, &row, &err);
    gw_whpool_release(req->gw->pool, wh);
    if (rc != 0)
        gw_resp_warehouse_error(resp, "cannot read the schedule", &err);
    else if (row == NULL)
        gw_resp_error(resp, 404, "not_found", "pipeline", "tenant %s has no schedule for %s",
                      tenant, path);
    else
        gw_resp_json(resp, 200, row);
}

void gw_schedules_delete(gw_req_t *req, gw_resp_t *resp)
{
    if (gw_req_no_body(req, resp) != 0)
        return;
    const char *tenant = gw_req_param(req, "tenant_id");
    char id[CVG_TENANT_MAX + CVG_PIPELINE_PATH_MAX], path[CVG_PIPELINE_PATH_MAX];
    config_id(req, id, sizeof(id), path, sizeof(path));
    cvg_wh_t *wh = acquire_for(req, resp, tenant);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t changes = 0;
    cvg_val_t k = cvg_v_text(id);
    int rc = cvg_wh_exec(wh, "DELETE FROM " C " WHERE config_id = $1", &k, 1, NULL, NULL, &changes,
                         &err);
    gw_whpool_release(req->gw->pool, wh);
    if (rc != 0)
        gw_resp_error(resp, 503, "unavailable", NULL, "cannot delete the schedule: %s",
                      err.message);
    else if (changes == 0)
        gw_resp_error(resp, 404, "not_found", "pipeline", "tenant %s has no schedule for %s",
                      tenant, path);
    else
        gw_resp_json(resp, 200,
                     json_pack("{s:s, s:s, s:b}", "config_id", id, "pipeline", path, "deleted", 1));
}

void gw_schedules_list(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    cvg_wh_t *wh = acquire_for(req, resp, tenant);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *list = json_array();
    cvg_val_t p[2] = {cvg_v_text(tenant), CVG_V_INT(SCHEDULES_LIST_MAX)};
    int rc = cvg_wh_exec(wh,
                         "SELECT " SCHEDULE_COLUMNS " FROM " C
                         " WHERE tenant_id = $1 ORDER BY config_id LIMIT $2",
                         p, 2, take_rows, list, NULL, &err);
    gw_whpool_release(req->gw->pool, wh);
    if (rc != 0) {
        json_decref(list);
        gw_resp_warehouse_error(resp, "cannot read the schedules", &err);
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++)
        shape(json_array_get(list, i));
    gw_resp_json(resp, 200, json_pack("{s:s, s:o}", "tenant_id", tenant, "schedules", list));
}
