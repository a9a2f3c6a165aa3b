/*
 * Scheduled pipelines through the real cluster: a schedule stored through
 * the API and checked as a run request is (every bad field named, nothing
 * stored), its due slot fired by the scheduler into a run that carries the
 * schedule's parameters and the slot's day, the slot fired once however
 * often it is due again, missed slots collapsed into one run, the slot's
 * state following its run, a tenant over its quota or suspended getting
 * no run and the reason, and the three Cloud Scheduler endpoints.
 * A schedule is made due by moving its next_run_time into the past, as
 * time passing would.
 */
#include "common/cron.h"
#include "common/time.h"
#include "tests/integration/harness.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static cluster_t c;
static char admin_header[128];
static char key_acme[64], key_other[64];
static const char *const json_ct = "Content-Type: application/json";

static long call(const char *method, const char *path, const char *key, const char *body,
                 json_t **out)
{
    char kh[128];
    if (key)
        snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
    const char *h[] = {key ? kh : admin_header, json_ct, NULL};
    return http_request(&c, method, path, h, body, out);
}

static void onboard(const char *tenant, const char *plan, char *key, size_t size)
{
    cluster_onboard(&c, tenant, plan, key, size);
}

static int setup(void)
{
    if (cluster_prepare(&c, false) != 0)
        return 1;
    if (cluster_use_test_configs(&c) != 0 || cluster_launch(&c, 2, true) != 0)
        return 1;
    snprintf(admin_header, sizeof(admin_header), "X-Admin-Key: %s", c.admin_key);
    if (!cluster_wait_ready(&c, 20000))
        return 1;
    if (call("POST", "/api/v1/admin/bootstrap", NULL, NULL, NULL) != 200)
        return 1;
    onboard("acme", "PROFESSIONAL", key_acme, sizeof(key_acme));
    onboard("other", "PROFESSIONAL", key_other, sizeof(key_other));
    return key_acme[0] && key_other[0] ? 0 : 1;
}

static int teardown(void)
{
    return cluster_destroy(&c) != 0;
}

static const char *error_code(json_t *b)
{
    const char *s = json_string_value(json_object_get(json_object_get(b, "error"), "code"));
    return s ? s : "";
}

/* True when one of the answer's errors contains text. */
static bool has_error(json_t *b, const char *text)
{
    const json_t *list = json_object_get(b, "errors");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *e = json_string_value(json_array_get(list, i));
        if (e != NULL && strstr(e, text) != NULL)
            return true;
    }
    return false;
}

#define CONFIGS "SELECT count(*) FROM tenant_pipeline_configs WHERE tenant_id = ?"
#define SLOTS   "SELECT count(*) FROM tenant_scheduled_pipeline_runs WHERE config_id = ?"
/* queue rows naming one of the schedule's slots, and that slot's run */
#define SLOT_RUNS                                                                                 \
    "SELECT count(*) FROM tenant_pipeline_execution_queue q JOIN tenant_scheduled_pipeline_runs " \
    "s ON s.scheduled_run_id = q.scheduled_run_id AND s.pipeline_logging_id = "                   \
    "q.pipeline_logging_id WHERE s.config_id = ?"

/* Makes the schedule due: its next slot moved to `when`. */
static void make_due(const char *config_id, const char *when)
{
    const char *a[] = {when, config_id, NULL};
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants",
                                  "UPDATE tenant_pipeline_configs SET next_run_time = ? WHERE "
                                  "config_id = ?",
                                  a),
                          0);
}

/* The newest slot's column of a schedule ("" when none). */
static void slot_text(const char *config_id, const char *column, char *out, size_t size)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM tenant_scheduled_pipeline_runs WHERE config_id = ? ORDER BY "
             "scheduled_time DESC LIMIT 1",
             column);
    wh_text(&c, "tenants", sql, config_id, out, size);
}

/* Waits until the newest slot of the schedule is in a final state. */
static bool wait_slot_final(const char *config_id, int timeout_ms)
{
    return wait_wh_int(&c, "tenants",
                       "SELECT count(*) FROM tenant_scheduled_pipeline_runs WHERE config_id = ? "
                       "AND state IN ('COMPLETED', 'FAILED', 'DEAD')",
                       config_id, 1, timeout_ms);
}

/* Whether acme's run list filtered by trigger_type holds run_id. */
static bool listed(const char *run_id, const char *trigger_type)
{
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs?trigger_type=%s&limit=200", trigger_type);
    json_t *b = NULL;
    bool found = false;
    if (call("GET", path, key_acme, NULL, &b) == 200) {
        const json_t *runs = json_object_get(b, "runs");
        for (size_t i = 0; i < json_array_size(runs); i++) {
            const json_t *r = json_array_get(runs, i);
            const char *t = json_string_value(json_object_get(r, "trigger_type"));
            if (t == NULL || strcmp(t, trigger_type) != 0)
                CU_FAIL("a run of another trigger type listed");
            const char *id = json_string_value(json_object_get(r, "pipeline_logging_id"));
            found = found || (id && strcmp(id, run_id) == 0);
        }
    }
    json_decref(b);
    return found;
}

static void test_schedules_bad_requests_store_nothing(void)
{
    const char *path = "/api/v1/tenants/acme/schedules/test/params/typed";
    static const struct {
        const char *body, *error;
    } cases[] = {
        {"{\"schedule_cron\": \"0 24 * * *\", \"parameters\": {\"n\": 1}}",
         "schedule_cron: hour: 24 is out of range 0-23"},
        {"{\"schedule_cron\": \"0 2 * *\", \"parameters\": {\"n\": 1}}",
         "schedule_cron: expected 5 fields"},
        {"{\"parameters\": {\"n\": 1}}", "schedule_cron: field required"},
        {"{\"schedule_cron\": \"0 2 * * *\", \"cron\": \"x\", \"parameters\": {\"n\": 1}}",
         "cron: unknown field"},
        {"{\"schedule_cron\": \"0 2 * * *\", \"timezone\": \"Europe/Paris\", \"parameters\": "
         "{\"n\": 1}}",
         "timezone: only UTC is supported"},
        {"{\"schedule_cron\": \"0 2 * * *\"}", "n"},
        {"{\"schedule_cron\": \"0 2 * * *\", \"parameters\": {\"n\": 1, \"region\": \"eu\"}}",
         "not a parameter of pipeline test_typed_params"},
        {"{\"schedule_cron\": \"0 2 * * *\", \"parameters\": {\"n\": 1, \"date\": "
         "\"2026-11-03\"}}",
         "parameters.date: a scheduled run's date is the day of its slot"},
        {"{\"schedule_cron\": \"0 2 * * *\", \"parameters\": {\"n\": 1}, \"priority\": 0}",
         "priority: an integer from 1"},
        {"{\"schedule_cron\": \"0 0 31 2 *\", \"parameters\": {\"n\": 1}}", "never comes"},
        {"{\"schedule_cron\": \"0 2 * * *\", \"parameters\": {\"n\": 1}, \"catch_up\": \"yes\"}",
         "catch_up: must be true or false"},
        /* 144 a day against the plan's 100 */
        {"{\"schedule_cron\": \"*/10 * * * *\", \"parameters\": {\"n\": 1}}",
         "fires more than 100 times on some UTC days: tenant acme's plan allows 100 runs a day"},
        /* only on Mondays: every minute of two hours, 120 */
        {"{\"schedule_cron\": \"* 3,4 * * MON\", \"parameters\": {\"n\": 1}}",
         "fires more than 100 times on some UTC days"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *b = NULL;
        CU_ASSERT_EQUAL(call("PUT", path, key_acme, cases[i].body, &b), 400);
        CU_ASSERT_STRING_EQUAL(error_code(b), "invalid_schedule");
        if (!has_error(b, cases[i].error)) {
            char *d = json_dumps(b, JSON_COMPACT);
            printf("\n  %s: wanted \"%s\" in %s\n", cases[i].body, cases[i].error, d);
            free(d);
            CU_FAIL("the error does not name what is wrong");
        }
        json_decref(b);
    }
    /* every error at once */
    json_t *b = NULL;
    CU_ASSERT_EQUAL(call("PUT", path, key_acme,
                         "{\"schedule_cron\": \"61 * * * *\", \"timezone\": \"CET\", \"x\": 1}",
                         &b),
                    400);
    CU_ASSERT(has_error(b, "minute") && has_error(b, "timezone") && has_error(b, "x: unknown"));
    json_decref(b);
    /* no such pipeline; a setup pipeline; another tenant's key */
    CU_ASSERT_EQUAL(call("PUT", "/api/v1/tenants/acme/schedules/test/params/nope", key_acme,
                         "{\"schedule_cron\": \"0 2 * * *\"}", NULL),
                    404);
    CU_ASSERT_EQUAL(call("PUT", "/api/v1/tenants/acme/schedules/setup/initial/onboarding", NULL,
                         "{\"schedule_cron\": \"0 2 * * *\"}", NULL),
                    404);
    CU_ASSERT_EQUAL(call("PUT", path, key_other,
                         "{\"schedule_cron\": \"0 2 * * *\", \"parameters\": {\"n\": 1}}", NULL),
                    403);
    /* the cost pipeline needs the tenant's billing export: named */
    b = NULL;
    CU_ASSERT_EQUAL(call("PUT", "/api/v1/tenants/acme/schedules/gcp/cost/cost_billing", key_acme,
                         "{\"schedule_cron\": \"0 6 * * *\"}", &b),
                    400);
    CU_ASSERT_STRING_EQUAL(error_code(b), "missing_setting");
    CU_ASSERT(has_error(b, "billing_export_uri"));
    json_decref(b);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", CONFIGS, "acme"), 0);
    CU_ASSERT_EQUAL(call("GET", path, key_acme, NULL, NULL), 404);
}

static void test_schedules_slot_fires_once_with_its_day(void)
{
    const char *path = "/api/v1/tenants/acme/schedules/test/params/typed";
    const char *id = "acme/test/params/typed";
    json_t *b = NULL;
    int64_t before = cvg_time_now_ms();
    CU_ASSERT_EQUAL_FATAL(call("PUT", path, key_acme,
                               "{\"schedule_cron\": \"0 6 * * *\", \"parameters\": {\"n\": 7}}",
                               &b),
                          201);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "config_id")), id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "pipeline")), "test/params/typed");
    CU_ASSERT(json_is_true(json_object_get(b, "is_active")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(b, "parameters"), "n")), 7);
    /* the next 06:00 UTC after now */
    cvg_cron_t cron;
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("0 6 * * *", &cron, NULL), 0);
    char want[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_cron_next(&cron, before), want);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "next_run_time")), want);
    json_decref(b);
    /* replacing it keeps one schedule: 200 */
    CU_ASSERT_EQUAL(call("PUT", path, key_acme,
                         "{\"schedule_cron\": \"0 6 * * *\", \"parameters\": {\"n\": 7}}", NULL),
                    200);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", CONFIGS, "acme"), 1);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 0);

    /* five days of slots missed: one run, for the latest */
    int64_t now = cvg_time_now_ms();
    int64_t latest = cvg_cron_next(&cron, now) - 86400000;
    char first[CVG_TIME_ISO_LEN], slot[CVG_TIME_ISO_LEN], day[CVG_TIME_DATE_LEN];
    cvg_time_format_iso(latest - 4 * 86400000LL, first);
    cvg_time_format_iso(latest, slot);
    cvg_time_format_date(latest, day);
    char *log = cluster_log(&c, "scheduler");
    size_t from = log ? strlen(log) : 0;
    free(log);
    make_due(id, first);
    b = NULL;
    CU_ASSERT_EQUAL(call("POST", "/api/v1/scheduler/trigger", NULL, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "job")), "trigger");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(b, "fired"));
    json_decref(b);
    /* fired by the call or by the tick before it: either way, now */
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 1);
    char got[64];
    slot_text(id, "scheduled_time", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, slot);
    CU_ASSERT(cluster_wait_log_after(&c, "scheduler", from,
                                     "4 earlier slot(s) missed while no scheduler ran", 5000));
    CU_ASSERT_TRUE_FATAL(wait_slot_final(id, 60000));
    slot_text(id, "state", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "COMPLETED");
    char run_id[64];
    slot_text(id, "pipeline_logging_id", run_id, sizeof(run_id));
    char rp[200];
    snprintf(rp, sizeof(rp), "/api/v1/pipelines/runs/%s", run_id);
    b = NULL;
    CU_ASSERT_EQUAL(call("GET", rp, key_acme, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "status")), "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "trigger_type")), "scheduled");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "triggered_by")), "scheduler");
    json_t *params = json_object_get(b, "parameters");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(params, "date")), day);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(params, "n")), 7);
    json_decref(b);
    CU_ASSERT_EQUAL(wh_int(&c, "acme", "SELECT n FROM typed_params WHERE ? IS NOT NULL", "x"), 7);
    /* listed among the scheduled runs, not the manual ones */
    CU_ASSERT_TRUE(listed(run_id, "scheduled"));
    CU_ASSERT_FALSE(listed(run_id, "manual"));
    json_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        call("POST", "/api/v1/pipelines/run/acme/test/params/typed", key_acme, "{\"n\": 8}", &m),
        202);
    char manual[64];
    snprintf(manual, sizeof(manual), "%s",
             json_string_value(json_object_get(m, "pipeline_logging_id")));
    json_decref(m);
    CU_ASSERT_TRUE(listed(manual, "manual"));
    CU_ASSERT_FALSE(listed(manual, "scheduled"));
    CU_ASSERT_EQUAL(call("GET", "/api/v1/pipelines/runs?trigger_type=cron", key_acme, NULL, NULL),
                    400);

    /* the schedule moved on, and shows the slot and its run */
    b = NULL;
    CU_ASSERT_EQUAL(call("GET", path, key_acme, NULL, &b), 200);
    char next[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(latest + 86400000, next);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "next_run_time")), next);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "last_run_time")), slot);
    json_t *recent = json_array_get(json_object_get(b, "recent_slots"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(recent, "state")), "COMPLETED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(recent, "pipeline_logging_id")),
                           run_id);
    json_decref(b);

    /* the same slot due again (a restart, a second scheduler): no run */
    long long runs_before = wh_int(&c, "tenants", SLOT_RUNS, id);
    CU_ASSERT_EQUAL(runs_before, 1);
    make_due(id, slot);
    CU_ASSERT_EQUAL(call("POST", "/api/v1/scheduler/trigger", NULL, NULL, NULL), 200);
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_configs WHERE config_id = ? "
                               "AND next_run_time > last_run_time",
                               id, 1, 10000));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 1);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOT_RUNS, id), 1);
    CU_ASSERT(gateway_metric(&c, "cvg_scheduler_fired_total") >= 1);
}

/* A failing run fails its slot; the tenant's list shows the schedule;
 * deleting it stops it and keeps the history. */
static void test_schedules_failed_run_list_and_delete(void)
{
    const char *path = "/api/v1/tenants/acme/schedules/test/quality/checks";
    const char *id = "acme/test/quality/checks";
    CU_ASSERT_EQUAL_FATAL(
        call("PUT", path, NULL, "{\"schedule_cron\": \"0 0 1 1 *\", \"priority\": 20}", NULL), 201);
    make_due(id, "2026-01-01T00:00:00.000Z");
    CU_ASSERT_TRUE_FATAL(wait_slot_final(id, 60000));
    char got[600];
    slot_text(id, "state", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "FAILED");
    slot_text(id, "error", got, sizeof(got));
    CU_ASSERT(got[0] != '\0');
    json_t *b = NULL;
    CU_ASSERT_EQUAL(call("GET", "/api/v1/tenants/acme/schedules", key_acme, NULL, &b), 200);
    json_t *list = json_object_get(b, "schedules"), *mine = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *x = json_array_get(list, i);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "tenant_id")), "acme");
        if (strcmp(json_string_value(json_object_get(x, "config_id")), id) == 0)
            mine = x;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(mine);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(mine, "priority")), 20);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mine, "schedule_cron")), "0 0 1 1 *");
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(call("GET", "/api/v1/tenants/acme/schedules", key_other, NULL, &b), 403);
    json_decref(b);
    CU_ASSERT_EQUAL(call("DELETE", path, key_acme, NULL, NULL), 200);
    CU_ASSERT_EQUAL(call("GET", path, key_acme, NULL, NULL), 404);
    CU_ASSERT_EQUAL(call("DELETE", path, key_acme, NULL, NULL), 404);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 1);
}

/* The schedule's slot `when` forgotten and made due again: true once it
 * ended again. */
static bool fire_again(const char *config_id, const char *when)
{
    const char *a[] = {config_id, NULL};
    if (wh_exec(&c, "tenants", "DELETE FROM tenant_scheduled_pipeline_runs WHERE config_id = ?",
                a) != 0)
        return false;
    make_due(config_id, when);
    return wait_slot_final(config_id, 20000);
}

/* A slot whose tenant is over its daily limit, or suspended, starts no
 * run: the slot says why, and the schedule moves on. */
static void test_schedules_refused_slots_say_why(void)
{
    char key[64];
    onboard("tightco", "FREE", key, sizeof(key));
    CU_ASSERT_FATAL(key[0] != '\0');
    const char *path = "/api/v1/tenants/tightco/schedules/test/params/typed";
    const char *id = "tightco/test/params/typed";
    CU_ASSERT_EQUAL_FATAL(call("PUT", path, key,
                               "{\"schedule_cron\": \"0 0 1 1 *\", \"parameters\": {\"n\": 1}}",
                               NULL),
                          201);
    char today[CVG_TIME_DATE_LEN], now[CVG_TIME_ISO_LEN];
    cvg_time_format_date(cvg_time_now_ms(), today);
    const char *a[] = {today, today, NULL};
    /* the day's five runs used up */
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_usage_quotas (tenant_id, usage_date, usage_month, "
                "pipelines_run_today, pipelines_run_month, pipelines_succeeded_today, "
                "pipelines_failed_today, concurrent_pipelines_running, daily_limit, monthly_limit, "
                "concurrent_limit, updated_at) VALUES ('tightco', ?, substr(?, 1, 7), 5, 5, 0, 0, "
                "0, 5, 100, 1, '2026-01-01T00:00:00.000Z') ON CONFLICT (tenant_id, usage_date) DO "
                "UPDATE SET pipelines_run_today = 5",
                a),
        0);
    cvg_time_format_iso(cvg_time_now_ms() - 60000, now);
    make_due(id, now);
    CU_ASSERT_TRUE_FATAL(wait_slot_final(id, 20000));
    char got[600];
    slot_text(id, "error", got, sizeof(got));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "quota_exceeded"));
    slot_text(id, "pipeline_logging_id", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "");
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_pipeline_execution_queue WHERE tenant_id = ?",
               "tightco"),
        0);
    CU_ASSERT(gateway_metric(&c, "cvg_scheduler_fire_refused_total") >= 1);
    /* suspended: the same, with that reason */
    CU_ASSERT_EQUAL(call("PATCH", "/api/v1/admin/tenants/tightco/subscription", NULL,
                         "{\"status\": \"SUSPENDED\"}", NULL),
                    200);
    CU_ASSERT_TRUE_FATAL(fire_again(id, now));
    slot_text(id, "error", got, sizeof(got));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "subscription_suspended"));
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_pipeline_execution_queue WHERE tenant_id = ?",
               "tightco"),
        0);
    /* a tenant removed by hand: the slot says so and the schedule stops */
    const char *t[] = {"tightco", NULL};
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants", "DELETE FROM tenant_profiles WHERE tenant_id = ?", t), 0);
    CU_ASSERT_TRUE_FATAL(fire_again(id, now));
    slot_text(id, "error", got, sizeof(got));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "not_found: tenant tightco does not exist"));
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_configs WHERE config_id = ? "
                               "AND is_active = 0 AND next_run_time IS NULL",
                               id, 1, 5000));
}

/* The other two Cloud Scheduler jobs, and the admin key they need. */
static void test_schedules_cloud_scheduler_jobs(void)
{
    CU_ASSERT_EQUAL(call("POST", "/api/v1/scheduler/trigger", key_acme, NULL, NULL), 403);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(call("POST", "/api/v1/scheduler/process-queue", NULL, NULL, &b), 200);
    CU_ASSERT(json_is_integer(json_object_get(b, "dispatched")));
    CU_ASSERT(json_integer_value(json_object_get(b, "workers_alive")) == 2);
    CU_ASSERT(json_is_object(json_object_get(b, "queue")));
    json_decref(b);
    /* an old day's counters go, this month's stay */
    const char *old = "INSERT INTO tenant_usage_quotas (tenant_id, usage_date, usage_month, "
                      "pipelines_run_today, pipelines_run_month, pipelines_succeeded_today, "
                      "pipelines_failed_today, concurrent_pipelines_running, daily_limit, "
                      "monthly_limit, concurrent_limit, updated_at) VALUES ('acme', ?, '2020-01', "
                      "3, 3, 3, 0, 0, 100, 3000, 5, '2020-01-01T00:00:00.000Z')";
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants", old, (const char *[]){"2020-01-01", NULL}), 0);
    const char *days = "SELECT count(*) FROM tenant_usage_quotas WHERE tenant_id = ? AND "
                       "usage_date = '2020-01-01'";
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", days, "acme"), 1);
    long long recent = wh_int(&c, "tenants",
                              "SELECT count(*) FROM tenant_usage_quotas WHERE usage_date >= "
                              "date('now', '-1 day') AND ? IS NOT NULL",
                              "x");
    CU_ASSERT(recent >= 1);
    b = NULL;
    CU_ASSERT_EQUAL(call("POST", "/api/v1/scheduler/reset-daily-quotas", NULL, NULL, &b), 200);
    CU_ASSERT(json_integer_value(json_object_get(b, "deleted_days")) >= 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "retention_days")), 90);
    json_decref(b);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", days, "acme"), 0);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants",
                           "SELECT count(*) FROM tenant_usage_quotas WHERE usage_date >= "
                           "date('now', '-1 day') AND ? IS NOT NULL",
                           "x"),
                    recent);
}

/* A schedule that catches up fires every slot it missed, oldest first,
 * each run with its own slot's day. */
static void test_schedules_catch_up(void)
{
    char key[64];
    onboard("catchco", "PROFESSIONAL", key, sizeof(key));
    CU_ASSERT_FATAL(key[0] != '\0');
    const char *path = "/api/v1/tenants/catchco/schedules/test/params/typed";
    const char *id = "catchco/test/params/typed";
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(call("PUT", path, key,
                               "{\"schedule_cron\": \"0 6 * * *\", \"parameters\": {\"n\": 5}, "
                               "\"catch_up\": true}",
                               &b),
                          201);
    CU_ASSERT(json_is_true(json_object_get(b, "catch_up")));
    json_decref(b);
    cvg_cron_t cron;
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("0 6 * * *", &cron, NULL), 0);
    int64_t latest = cvg_cron_next(&cron, cvg_time_now_ms()) - 86400000;
    char first[CVG_TIME_ISO_LEN], next[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(latest - 3 * 86400000LL, first);
    cvg_time_format_iso(latest + 86400000, next);
    char *log = cluster_log(&c, "scheduler");
    size_t from = log ? strlen(log) : 0;
    free(log);
    make_due(id, first);
    /* four slots, three missed and the latest, each its own run */
    CU_ASSERT_TRUE_FATAL(wait_wh_int(&c, "tenants",
                                     "SELECT count(*) FROM tenant_scheduled_pipeline_runs WHERE "
                                     "config_id = ? AND state = 'COMPLETED'",
                                     id, 4, 60000));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 4);
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_scheduled_pipeline_runs s JOIN "
               "tenant_pipeline_runs r ON r.pipeline_logging_id = s.pipeline_logging_id "
               "WHERE s.config_id = ? AND json_extract(r.parameters, '$.date') = "
               "substr(s.scheduled_time, 1, 10) AND r.trigger_type = 'scheduled'",
               id),
        4);
    char oldest[64];
    wh_text(&c, "tenants",
            "SELECT min(scheduled_time) FROM tenant_scheduled_pipeline_runs WHERE config_id = ?",
            id, oldest, sizeof(oldest));
    CU_ASSERT_STRING_EQUAL(oldest, first);
    b = NULL;
    CU_ASSERT_EQUAL(call("GET", path, key, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "next_run_time")), next);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(b, "recent_slots")), 4);
    json_decref(b);
    /* nothing was skipped */
    log = cluster_log(&c, "scheduler");
    CU_ASSERT_PTR_NULL(log ? strstr(log + from, "schedule catchco/") : NULL);
    free(log);

    /* 35 days missed: the last 31 fire, the 4 oldest are skipped, said */
    const char *many = "catchco/test/quality/checks";
    CU_ASSERT_EQUAL_FATAL(call("PUT", "/api/v1/tenants/catchco/schedules/test/quality/checks", key,
                               "{\"schedule_cron\": \"0 6 * * *\", \"catch_up\": true}", NULL),
                          201);
    char from_slot[CVG_TIME_ISO_LEN], kept[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(latest - 34 * 86400000LL, from_slot);
    cvg_time_format_iso(latest - 30 * 86400000LL, kept);
    make_due(many, from_slot);
    CU_ASSERT_TRUE_FATAL(wait_wh_int(&c, "tenants",
                                     "SELECT count(*) FROM tenant_scheduled_pipeline_runs WHERE "
                                     "config_id = ? AND state IN ('COMPLETED', 'FAILED')",
                                     many, 31, 120000));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, many), 31);
    wh_text(&c, "tenants",
            "SELECT min(scheduled_time) FROM tenant_scheduled_pipeline_runs WHERE config_id = ?",
            many, oldest, sizeof(oldest));
    CU_ASSERT_STRING_EQUAL(oldest, kept);
    CU_ASSERT_TRUE(cluster_wait_log_after(
        &c, "scheduler", from, "schedule catchco/test/quality/checks: 4 earlier slot(s) missed",
        1000));

    /* a PUT that keeps the cron keeps the next slot (a catch-up, or a due
     * slot, is not lost to a change of priority); another cron starts over */
    make_due(id, "2030-01-01T06:00:00.000Z");
    b = NULL;
    CU_ASSERT_EQUAL(call("PUT", path, key,
                         "{\"schedule_cron\": \"0 6 * * *\", \"parameters\": {\"n\": 5}, "
                         "\"catch_up\": true, \"priority\": 30}",
                         &b),
                    200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "next_run_time")),
                           "2030-01-01T06:00:00.000Z");
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(call("PUT", path, key,
                         "{\"schedule_cron\": \"0 7 * * *\", \"parameters\": {\"n\": 5}}", &b),
                    200);
    const char *moved = json_string_value(json_object_get(b, "next_run_time"));
    CU_ASSERT(moved != NULL && strcmp(moved, "2030-01-01T06:00:00.000Z") != 0 &&
              strstr(moved, "T07:00:00.000Z") != NULL);
    json_decref(b);
}

/* A tenant's limit reached in the middle of a catch-up stops it there:
 * one refused slot says why, the rest are not fired one by one, and the
 * schedule goes on from its next slot. */
static void test_schedules_catch_up_stops_at_the_limit(void)
{
    char key[64];
    onboard("smallco", "FREE", key, sizeof(key));
    CU_ASSERT_FATAL(key[0] != '\0');
    const char *id = "smallco/test/params/typed";
    CU_ASSERT_EQUAL_FATAL(call("PUT", "/api/v1/tenants/smallco/schedules/test/params/typed", key,
                               "{\"schedule_cron\": \"0 6 * * *\", \"parameters\": {\"n\": 2}, "
                               "\"catch_up\": true}",
                               NULL),
                          201);
    cvg_cron_t cron;
    CU_ASSERT_EQUAL_FATAL(cvg_cron_parse("0 6 * * *", &cron, NULL), 0);
    int64_t next = cvg_cron_next(&cron, cvg_time_now_ms());
    char first[CVG_TIME_ISO_LEN], want_next[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(next - 10 * 86400000LL, first);
    cvg_time_format_iso(next, want_next);
    char *log = cluster_log(&c, "scheduler");
    size_t from = log ? strlen(log) : 0;
    free(log);
    make_due(id, first);
    /* FREE runs 5 a day: five slots run, the sixth is refused, and stops it */
    CU_ASSERT_TRUE_FATAL(cluster_wait_log_after(&c, "scheduler", from,
                                                "schedule smallco/test/params/typed: catching up "
                                                "stopped at slot",
                                                30000));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 6);
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_scheduled_pipeline_runs WHERE config_id = ? "
               "AND state = 'FAILED' AND error LIKE 'quota_exceeded%'",
               id),
        1);
    char got[64];
    wh_text(&c, "tenants", "SELECT next_run_time FROM tenant_pipeline_configs WHERE config_id = ?",
            id, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, want_next);
    CU_ASSERT_TRUE(cluster_wait_log_after(&c, "scheduler", from,
                                          "4 later missed slot(s) were not fired", 1000));
}

/* Central tables older than this build (the slots' error column missing):
 * the schedule is still read, the scheduler says to bootstrap (once, not
 * every second), and after the bootstrap the due slot fires. */
static void test_schedules_before_bootstrap_after_upgrade(void)
{
    const char *path = "/api/v1/tenants/other/schedules/test/params/typed";
    const char *id = "other/test/params/typed";
    CU_ASSERT_EQUAL_FATAL(call("PUT", path, key_other,
                               "{\"schedule_cron\": \"0 0 1 1 *\", \"parameters\": {\"n\": 3}}",
                               NULL),
                          201);
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants",
                                  "ALTER TABLE tenant_scheduled_pipeline_runs DROP COLUMN error",
                                  (const char *[]){NULL}),
                          0);
    char *log = cluster_log(&c, "scheduler");
    size_t from = log ? strlen(log) : 0;
    free(log);
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms() - 60000, now);
    make_due(id, now);
    CU_ASSERT_TRUE(
        cluster_wait_log_after(&c, "scheduler", from, "run POST /api/v1/admin/bootstrap", 10000));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", SLOTS, id), 0);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(call("GET", path, key_other, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "schedule_cron")), "0 0 1 1 *");
    CU_ASSERT(json_is_null(json_object_get(b, "recent_slots")));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_string_value(json_object_get(b, "recent_slots_error")), "bootstrap"));
    json_decref(b);
    /* a second's passes are not a line each */
    cvg_time_sleep_ms(2500);
    log = cluster_log(&c, "scheduler");
    size_t lines = 0;
    for (const char *p = log ? log + from : ""; (p = strstr(p, "cannot fire due schedules")); p++)
        lines++;
    free(log);
    CU_ASSERT_EQUAL(lines, 1);
    CU_ASSERT_EQUAL_FATAL(call("POST", "/api/v1/admin/bootstrap", NULL, NULL, NULL), 200);
    CU_ASSERT_TRUE_FATAL(wait_slot_final(id, 60000));
    char got[64];
    slot_text(id, "state", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "COMPLETED");
}

static CU_TestInfo tests[] = {
    {"bad schedules are refused, naming the field, and store nothing",
     test_schedules_bad_requests_store_nothing},
    {"a due slot fires once, for the latest missed slot, with its day and parameters",
     test_schedules_slot_fires_once_with_its_day},
    {"a failed run fails its slot; list and delete", test_schedules_failed_run_list_and_delete},
    {"a slot over quota or of a suspended tenant starts no run and says why",
     test_schedules_refused_slots_say_why},
    {"process-queue and reset-daily-quotas answer what they did",
     test_schedules_cloud_scheduler_jobs},
    {"a schedule that catches up fires each missed slot with its day", test_schedules_catch_up},
    {"a catch-up stops at the tenant's daily limit", test_schedules_catch_up_stops_at_the_limit},
    {"tables older than the build: read, told once, fired after the bootstrap",
     test_schedules_before_bootstrap_after_upgrade},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_schedules = {"integration_schedules", setup, teardown, tests, 240};
