/*
 * Readiness names what is missing, and start-up refuses bad configuration:
 * a cluster without workers is not ready and says so, becomes ready when a
 * worker joins, and loses readiness with its scheduler; the gateway will not
 * start without an admin key or with a bad variable, and says which. The
 * logger writes a lone event without waiting for its batch to age.
 */
#include "common/emitter.h"
#include "common/id.h"
#include "common/time.h"
#include "tests/integration/harness.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static cluster_t c;

static int setup(void)
{
    if (cluster_start(&c, 0, true) != 0)
        return 1;
    /* Wait for the gateway to answer at all. */
    for (int i = 0; i < 200; i++) {
        if (http_request(&c, "GET", "/health/live", NULL, NULL, NULL) == 200)
            return 0;
        cvg_time_sleep_ms(50);
    }
    return 1;
}

static int teardown(void)
{
    int bad = cluster_destroy(&c);
    return bad != 0;
}

static bool missing_has(json_t *body, const char *part)
{
    json_t *missing = json_object_get(body, "missing");
    for (size_t i = 0; i < json_array_size(missing); i++) {
        if (strcmp(json_string_value(json_array_get(missing, i)), part) == 0)
            return true;
    }
    return false;
}

static void test_partial_not_ready_without_workers(void)
{
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 503);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "status")), "not_ready");
    CU_ASSERT_TRUE(missing_has(body, "workers"));
    CU_ASSERT_FALSE(missing_has(body, "scheduler"));
    CU_ASSERT_FALSE(missing_has(body, "logger"));
    CU_ASSERT_FALSE(missing_has(body, "warehouse"));
    json_decref(body);
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health", NULL, NULL, &body), 503);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "status")), "unhealthy");
    json_decref(body);
    /* Liveness does not depend on the others. */
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/live", NULL, NULL, NULL), 200);
}

static void test_partial_ready_when_a_worker_joins(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(cluster_spawn(&c, "worker-1", "cvg-worker", NULL, NULL));
    CU_ASSERT_TRUE(cluster_wait_ready(&c, 10000));
}

static void test_partial_not_ready_without_scheduler(void)
{
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, cluster_proc(&c, "scheduler"), 10000), 0);
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 503);
    CU_ASSERT_TRUE(missing_has(body, "scheduler"));
    CU_ASSERT_FALSE(missing_has(body, "logger"));
    json_decref(body);
}

static void test_partial_gateway_needs_an_admin_key(void)
{
    const char *env[] = {"ADMIN_API_KEY=", "API_PORT=1", NULL};
    proc_t *p = cluster_spawn(&c, "gateway-nokey", "cvg-gateway", NULL, env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), EX_CONFIG);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "gateway-nokey", "ADMIN_API_KEY", 100));
}

static void test_partial_bad_variable_is_named(void)
{
    const char *env[] = {"API_PORT=eighty", NULL};
    proc_t *p = cluster_spawn(&c, "gateway-badport", "cvg-gateway", NULL, env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), EX_CONFIG);
    CU_ASSERT_TRUE(
        cluster_wait_log(&c, "gateway-badport", "API_PORT: 'eighty' is not an integer", 100));
    const char *env2[] = {"CVG_LOGGER_BATCH_MS=0", NULL};
    p = cluster_spawn(&c, "logger-badbatch", "cvg-logger", NULL, env2);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), EX_CONFIG);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "logger-badbatch", "CVG_LOGGER_BATCH_MS", 100));
    const char *args[] = {"--version", NULL};
    p = cluster_spawn(&c, "worker-version", "cvg-worker", args, NULL);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), 0);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "worker-version", "cvg-worker ", 100));
    /* `help` as a command shows the usage, as --help does (and starts
     * nothing) */
    const char *help[] = {"help", NULL};
    p = cluster_spawn(&c, "worker-help", "cvg-worker", help, NULL);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), 0);
    CU_ASSERT_TRUE(
        cluster_wait_log(&c, "worker-help", "Usage: cvg-worker [options] [command]", 100));
    const char *tail_help[] = {"tail", "help", NULL};
    p = cluster_spawn(&c, "tail-help", "cvg-logger", tail_help, NULL);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), 0);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail-help", "Usage: cvg-logger tail", 100));
}

static void test_partial_second_logger_refuses_a_taken_endpoint(void)
{
    /* The logger is running: a second one must not steal its sockets. */
    proc_t *p = cluster_spawn(&c, "logger-2", "cvg-logger", NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), EX_CANTCREAT);
}

/* A partial batch is written as soon as nothing more is waiting, not when
 * it is CVG_LOGGER_BATCH_MS old: senders (workers finishing a run) wait for
 * the acknowledgement. Here the batch age is a minute; one event is
 * committed and acknowledged long before. */
static void test_partial_logger_writes_a_lone_event_at_once(void)
{
    char admin[128], endpoint[256];
    snprintf(admin, sizeof(admin), "X-Admin-Key: %s", c.admin_key);
    const char *h[] = {admin, NULL};
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", h, NULL, NULL), 200);
    CU_ASSERT_EQUAL_FATAL(cluster_stop_proc(&c, cluster_proc(&c, "logger"), 10000), 0);
    const char *env[] = {"CVG_LOGGER_BATCH_MS=60000", NULL};
    CU_ASSERT_PTR_NOT_NULL_FATAL(cluster_spawn(&c, "logger", "cvg-logger", NULL, env));
    CU_ASSERT_TRUE_FATAL(cluster_env_get(&c, "CVG_EVENTS_ENDPOINT", endpoint, sizeof(endpoint)));
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_emitter_t *em = cvg_emitter_new(endpoint, 300, 10, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    cvg_event_t ev;
    cvg_event_init(&ev, CVG_EV_RUN_STARTED);
    cvg_id_new(ev.run_id);
    snprintf(ev.tenant_id, sizeof(ev.tenant_id), "acme");
    snprintf(ev.pipeline_id, sizeof(ev.pipeline_id), "cost_billing");
    snprintf(ev.pipeline, sizeof(ev.pipeline), "gcp/cost/cost_billing");
    snprintf(ev.status, sizeof(ev.status), "RUNNING");
    ev.start_ms = ev.ts_ms;
    CU_ASSERT_EQUAL(cvg_emitter_send(em, &ev, 1000), 0);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 20000), 0); /* acknowledged: committed */
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_pipeline_runs WHERE pipeline_logging_id = ?",
               ev.run_id),
        1);
    cvg_event_cleanup(&ev);
    cvg_emitter_destroy(&em);
}

static CU_TestInfo tests[] = {
    {"test_partial_not_ready_without_workers", test_partial_not_ready_without_workers},
    {"test_partial_ready_when_a_worker_joins", test_partial_ready_when_a_worker_joins},
    {"test_partial_not_ready_without_scheduler", test_partial_not_ready_without_scheduler},
    {"test_partial_gateway_needs_an_admin_key", test_partial_gateway_needs_an_admin_key},
    {"test_partial_bad_variable_is_named", test_partial_bad_variable_is_named},
    {"test_partial_second_logger_refuses_a_taken_endpoint",
     test_partial_second_logger_refuses_a_taken_endpoint},
    {"test_partial_logger_writes_a_lone_event_at_once",
     test_partial_logger_writes_a_lone_event_at_once},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_cluster_partial = {"integration_cluster_partial", setup, teardown, tests,
                                           180};
