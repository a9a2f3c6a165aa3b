/*
 * Notifications through the real cluster: runs POSTed to the gateway,
 * queued by the scheduler, executed by a worker against the local SMTP and
 * webhook test servers, logged by the logger. A failing run sends its
 * on_failure e-mail (read back from the SMTP server); a Slack step whose
 * webhook fails twice is retried and succeeds, each attempt in the step
 * log; one whose webhook hangs is stopped at its time limit (TIMED_OUT).
 */
#include "common/id.h"
#include "common/time.h"
#include "tests/integration/testsrv.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static cluster_t c;
static int smtp_port, hook_port;
static char admin_header[128], key_header[128];
static const char *const json_ct = "Content-Type: application/json";

static long call(const char *method, const char *path, bool admin, const char *body, json_t **out)
{
    const char *h[] = {admin ? admin_header : key_header, json_ct, NULL};
    return http_request(&c, method, path, h, body, out);
}

/* Says which part of the setup failed. */
static int failed(const char *what)
{
    fprintf(stderr, "integration_notify: setup: %s\n", what);
    return 1;
}

static int setup(void)
{
    if (cluster_prepare(&c, false) != 0)
        return failed("cluster_prepare");
    const char *smtp_args[] = {"--auth", TESTSRV_SMTP_USER ":" TESTSRV_SMTP_PASSWORD, NULL};
    if (!testsrv_start(&c, "smtp", smtp_args, &smtp_port) ||
        !testsrv_start(&c, "webhook", NULL, &hook_port))
        return failed("test servers");
    if (cluster_use_test_configs(&c) != 0)
        return failed("copy of configs/ and the test pipelines");
    /* the test servers listen on 127.0.0.1 over plain SMTP and HTTP */
    if (cluster_env_set(&c, "CVG_OUTBOUND_ALLOW", "127.0.0.1") != 0 ||
        cluster_launch(&c, 1, true) != 0)
        return failed("cluster launch");
    snprintf(admin_header, sizeof(admin_header), "X-Admin-Key: %s", c.admin_key);
    if (!cluster_wait_ready(&c, 20000) ||
        call("POST", "/api/v1/admin/bootstrap", true, NULL, NULL) != 200)
        return failed("ready and bootstrapped");
    json_t *b = NULL;
    long st = call("POST", "/api/v1/tenants/onboard", true,
                   "{\"tenant_id\": \"acme\", \"company_name\": \"Acme Inc\", \"admin_email\": "
                   "\"ops@acme.io\", \"plan_name\": \"PROFESSIONAL\"}",
                   &b);
    const char *key = json_string_value(json_object_get(b, "api_key"));
    snprintf(key_header, sizeof(key_header), "X-API-Key: %s", st == 201 && key ? key : "");
    json_decref(b);
    if (st != 201)
        return failed("onboarding");
    /* the tenant's SMTP and Slack credentials, and where alerts go */
    char smtp[400], slack[300];
    testsrv_smtp_credential(smtp_port, smtp, sizeof(smtp));
    testsrv_slack_credential(hook_port, slack, sizeof(slack));
    static const struct {
        const char *path;
        const char *body;
    } puts[] = {{"/api/v1/tenants/acme/credentials/smtp", NULL},
                {"/api/v1/tenants/acme/credentials/slack", NULL},
                {"/api/v1/tenants/acme/providers/notify",
                 "{\"alert_email\": \"finops@acme.test\", \"slack_channel\": \"#finops\"}"}};
    for (size_t i = 0; i < sizeof(puts) / sizeof(puts[0]); i++) {
        const char *body = i == 0 ? smtp : i == 1 ? slack : puts[i].body;
        st = call("PUT", puts[i].path, false, body, &b);
        if (st / 100 != 2) {
            char *d = json_dumps(b, JSON_COMPACT);
            fprintf(stderr, "PUT %s: %ld %s\n", puts[i].path, st, d ? d : "");
            free(d);
        }
        json_decref(b);
        b = NULL;
        if (st / 100 != 2)
            return failed("credentials and settings");
    }
    return 0;
}

static int teardown(void)
{
    return cluster_destroy(&c) != 0;
}

/* POSTs a run of pipeline for acme; its id into run_id. */
static long run(const char *pipeline, char run_id[CVG_ID_LEN])
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/pipelines/run/acme/%s", pipeline);
    json_t *b = NULL;
    long st = call("POST", path, false, "{\"date\": \"2026-11-03\"}", &b);
    const char *id = json_string_value(json_object_get(b, "pipeline_logging_id"));
    snprintf(run_id, CVG_ID_LEN, "%s", id ? id : "");
    json_decref(b);
    return st;
}

/* The run once it has ended and its last step is in the log. */
static json_t *ended(const char *run_id, const char *last_step)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s", run_id);
    int64_t deadline = cvg_time_mono_ms() + 60000;
    json_t *b = NULL;
    for (;;) {
        json_decref(b);
        b = NULL;
        call("GET", path, true, NULL, &b);
        const char *s = json_string_value(json_object_get(b, "status"));
        bool done = s && strcmp(s, "QUEUED") != 0 && strcmp(s, "DISPATCHED") != 0 &&
                    strcmp(s, "RUNNING") != 0 && strcmp(s, "RETRYING") != 0;
        json_t *steps = json_object_get(b, "steps");
        bool logged = false;
        for (size_t i = 0; i < json_array_size(steps); i++) {
            json_t *st = json_array_get(steps, i);
            const char *id = json_string_value(json_object_get(st, "step_id"));
            const char *status = json_string_value(json_object_get(st, "status"));
            logged |= id && strcmp(id, last_step) == 0 && status && strcmp(status, "RUNNING") != 0;
        }
        if ((done && logged) || cvg_time_mono_ms() > deadline)
            return b;
        cvg_time_sleep_ms(100);
    }
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void test_notify_on_failure_email(void)
{
    int before = testsrv_count(&c, "smtp");
    char run_id[CVG_ID_LEN];
    CU_ASSERT_EQUAL_FATAL(run("test/notify/failing", run_id), 202);
    json_t *r = ended(run_id, "notify");
    CU_ASSERT_STRING_EQUAL(str(r, "status"), "FAILED");
    CU_ASSERT_STRING_EQUAL(str(run_step(r, "check"), "status"), "FAILED");
    CU_ASSERT_STRING_EQUAL(str(run_step(r, "skipped_on_failure"), "status"), "SKIPPED");
    CU_ASSERT_STRING_EQUAL(str(run_step(r, "notify"), "status"), "SUCCEEDED");
    json_decref(r);
    /* the message as the SMTP server took it */
    CU_ASSERT_TRUE_FATAL(testsrv_wait_count(&c, "smtp", before + 1, 10000));
    json_t *m = testsrv_received(&c, "smtp", before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_STRING_EQUAL(str(m, "auth_user"), TESTSRV_SMTP_USER);
    CU_ASSERT_STRING_EQUAL(str(m, "mail_from"), "alerts@convergence.test");
    json_t *rcpt = json_object_get(m, "rcpt_tos");
    CU_ASSERT_EQUAL(json_array_size(rcpt), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(rcpt, 0)), "finops@acme.test");
    CU_ASSERT_STRING_EQUAL(str(m, "subject"), "test_failing_notify: FAILED for acme");
    const char *text = str(m, "text");
    char line[200];
    snprintf(line, sizeof(line), "Run %s of test_failing_notify for acme on 2026-11-03: FAILED.",
             run_id);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "First error: step check failed"));
    if (strstr(text, line) == NULL)
        printf("\n  mail text: %.600s\n", text);
    json_decref(m);
}

static void test_notify_webhook_retried(void)
{
    int before = testsrv_count(&c, "webhook");
    CU_ASSERT_EQUAL_FATAL(testsrv_set_reply(&c, "webhook",
                                            "[{\"status\": 500, \"body\": \"oops\"}, "
                                            "{\"status\": 503, \"body\": \"busy\"}]"),
                          0);
    char run_id[CVG_ID_LEN];
    CU_ASSERT_EQUAL_FATAL(run("test/notify/retried", run_id), 202);
    json_t *r = ended(run_id, "announce");
    CU_ASSERT_STRING_EQUAL(str(r, "status"), "SUCCEEDED");
    /* each attempt is a row of the step log: two failures with the
     * webhook's answer, then the success */
    json_t *steps = json_object_get(r, "steps");
    CU_ASSERT_EQUAL(json_array_size(steps), 3);
    static const char *const want_status[] = {"FAILED", "FAILED", "SUCCEEDED"};
    static const char *const want_error[] = {"answered 500: oops", "answered 503: busy", ""};
    for (size_t i = 0; i < 3 && i < json_array_size(steps); i++) {
        json_t *s = json_array_get(steps, i);
        CU_ASSERT_STRING_EQUAL(str(s, "step_id"), "announce");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "attempt")), (json_int_t)i + 1);
        CU_ASSERT_STRING_EQUAL(str(s, "status"), want_status[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(str(s, "error_message"), want_error[i]));
    }
    if (json_array_size(steps) != 3) {
        char *d = json_dumps(steps, JSON_COMPACT);
        printf("\n  steps: %.2000s\n", d ? d : "");
        free(d);
    }
    json_decref(r);
    /* the webhook saw three POSTs, the last one taken */
    CU_ASSERT_TRUE(testsrv_wait_count(&c, "webhook", before + 3, 5000));
    json_t *req = testsrv_received(&c, "webhook", before + 2);
    CU_ASSERT_STRING_EQUAL(str(req, "method"), "POST");
    char want[120];
    snprintf(want, sizeof(want), "test_retried_notify ran for acme (%s)", run_id);
    CU_ASSERT_PTR_NOT_NULL(strstr(str(req, "body"), want));
    CU_ASSERT_PTR_NOT_NULL(strstr(str(req, "body"), "#finops"));
    json_decref(req);
    testsrv_set_reply(&c, "webhook", NULL);
}

/* A webhook that does not answer: the transfer is aborted at the step's
 * time limit (3 s), not at the webhook's leisure, and the step and the run
 * end TIMED_OUT. */
static void test_notify_hung_webhook_times_out(void)
{
    CU_ASSERT_EQUAL_FATAL(testsrv_set_reply(&c, "webhook", "{\"delay_ms\": 60000}"), 0);
    char run_id[CVG_ID_LEN];
    int64_t t0 = cvg_time_mono_ms();
    CU_ASSERT_EQUAL_FATAL(run("test/notify/hung", run_id), 202);
    json_t *r = ended(run_id, "announce");
    int64_t took = cvg_time_mono_ms() - t0;
    CU_ASSERT_STRING_EQUAL(str(r, "status"), "TIMED_OUT");
    CU_ASSERT_STRING_EQUAL(str(run_step(r, "announce"), "status"), "TIMED_OUT");
    /* ended by the limit, long before the webhook would have answered */
    CU_ASSERT(took < 30000);
    json_decref(r);
    testsrv_set_reply(&c, "webhook", NULL);
}

static CU_TestInfo tests[] = {
    {"test_notify_on_failure_email", test_notify_on_failure_email},
    {"test_notify_webhook_retried", test_notify_webhook_retried},
    {"test_notify_hung_webhook_times_out", test_notify_hung_webhook_times_out},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_notify = {"integration_notify", setup, teardown, tests, 180};
