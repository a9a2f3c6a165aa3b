/*
 * The processors that reach out, driven through the runner (validate,
 * resolve, run, retries) on a SQLite warehouse, against the real local
 * servers of testsrv.h: an on_failure e-mail delivered with the run's
 * context and read back, SMTP 554 failing at once and 451 retried, the
 * outbound policy refusing the same local servers without
 * CVG_OUTBOUND_ALLOW; Slack webhooks retried after a 500, failing on a
 * 400 and on a redirect, metadata addresses refused; S3 objects (CSV and
 * gzip CSV) loaded, a missing key and unknown access key failing clearly.
 */
#include "common/credentials.h"
#include "common/crypto.h"
#include "common/providers.h"
#include "common/yaml.h"
#include "tests/integration/testsrv.h"
#include "tests/tests.h"
#include "worker/registry.h"
#include "worker/runner.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static cluster_t c;
static int s3_port, smtp_port, hook_port;
static cvg_config_t cfg;
static cvg_providers_t providers;
static cvg_keyring_t keys;
static cvg_wh_t *wh, *meta_wh;

/* The CSV seeded into the bucket: 3 rows. */
static const char billing_csv[] = "usage_date,service,cost\n"
                                  "2026-11-01,compute,12.50\n"
                                  "2026-11-01,storage,3.25\n"
                                  "2026-11-02,compute,11.75\n";

static int write_seed(const char *name, bool gzip, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", c.dir, name);
    if (gzip) {
        gzFile z = gzopen(path, "wb");
        if (z == NULL)
            return -1;
        /* larger than one read: the body arrives in several pieces */
        int ok = gzputs(z, "usage_date,service,cost\n") > 0;
        for (int i = 0; ok && i < 5000; i++)
            ok = gzprintf(z, "2026-11-%02d,svc-%d,%d.%02d\n", 1 + i % 28, i % 17, i, i % 100) > 0;
        return gzclose(z) == Z_OK && ok ? 0 : -1;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(billing_csv, f);
    return fclose(f) == 0 ? 0 : -1;
}

#define BIG_ROWS 30000 /* rows of big.csv: several times the loader's window */

static int write_big(char *path, size_t size)
{
    snprintf(path, size, "%s/big.csv", c.dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs("usage_date,service,cost\n", f);
    for (int i = 0; i < BIG_ROWS; i++)
        fprintf(f, "2026-11-%02d,service-number-%05d,%d.%02d\n", 1 + i % 28, i, i, i % 100);
    return fclose(f) == 0 ? 0 : -1;
}

static int store_credential(const char *provider, const char *json)
{
    json_t *secret = json_loads(json, 0, NULL), *meta = json_object();
    char id[CVG_ID_LEN];
    cvg_err_t err;
    int rc = secret ? cvg_cred_store(meta_wh, &keys, "acme", provider, "default", secret, meta,
                                     "test", id, &err)
                    : -1;
    if (rc != 0)
        printf("\n  credential %s: %s\n", provider, secret ? err.message : "bad JSON");
    json_decref(secret);
    json_decref(meta);
    return rc;
}

static int store_settings(const char *provider, const char *json)
{
    cvg_val_t v[3] = {cvg_v_text("acme"), cvg_v_text(provider), cvg_v_text(json)};
    cvg_err_t err;
    return cvg_wh_exec(meta_wh,
                       "INSERT INTO tenants.tenant_provider_configs (tenant_id, provider, "
                       "settings, created_at, updated_at) VALUES ($1, $2, $3, "
                       "'2026-11-25T00:00:00.000Z', '2026-11-25T00:00:00.000Z')",
                       v, 3, NULL, NULL, NULL, &err);
}

static int bootstrap(void)
{
    cvg_pipeline_t p;
    cvg_err_t err;
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    int rc = cvg_pipeline_load(cfg.config_dir, "setup/bootstrap_system", &p, errs, &err);
    free(errs);
    if (rc != 0)
        return rc;
    wrk_env_t env = {.wh = wh, .cfg = &cfg, .worker_id = "test", .setup_allowed = true};
    wrk_run_t run = {.run_id = "r0", .tenant_id = "system", .attempt = 1};
    wrk_outcome_t out;
    rc = wrk_runner_run(&env, &run, &p, &out);
    if (rc == 0 && strcmp(out.status, "SUCCEEDED") != 0)
        rc = -1;
    wrk_outcome_cleanup(&out);
    cvg_pipeline_cleanup(&p);
    return rc;
}

static int setup(void)
{
    if (cluster_prepare(&c, true) != 0)
        return 1;
    char csv[700], gz[700], big[700], seed1[800], seed2[800], seed3[800], seed4[800];
    if (write_seed("billing.csv", false, csv, sizeof(csv)) != 0 ||
        write_seed("billing.csv.gz", true, gz, sizeof(gz)) != 0 || write_big(big, sizeof(big)))
        return 1;
    snprintf(seed1, sizeof(seed1), "exports/2026-11/billing.csv=%s", csv);
    snprintf(seed2, sizeof(seed2), "exports/2026-11/billing.csv.gz=%s", gz);
    /* a key that needs escaping in the URL */
    snprintf(seed3, sizeof(seed3), "exports/2026 11/bill+ing (1).csv=%s", csv);
    snprintf(seed4, sizeof(seed4), "exports/2026-11/big.csv=%s", big);
    /* the store is in eu-west-1, the tenant's aws_region below */
    const char *s3_args[] = {"--bucket", "cvg-billing", "--seed", seed1,    "--seed",
                             seed2,      "--seed",      seed3,    "--seed", seed4,
                             "--region", "eu-west-1",   NULL};
    const char *smtp_args[] = {"--auth", TESTSRV_SMTP_USER ":" TESTSRV_SMTP_PASSWORD, NULL};
    if (!testsrv_start(&c, "s3", s3_args, &s3_port) ||
        !testsrv_start(&c, "smtp", smtp_args, &smtp_port) ||
        !testsrv_start(&c, "webhook", NULL, &hook_port))
        return 1;

    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", source_dir());
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    snprintf(cfg.project_id, sizeof(cfg.project_id), "local");
    snprintf(cfg.outbound_allow, sizeof(cfg.outbound_allow), "127.0.0.1");
    char url[700];
    snprintf(url, sizeof(url), "sqlite://%s/wh", c.dir);
    cvg_err_t err;
    unsigned char master[32];
    cvg_random_bytes(master, sizeof(master));
    char *b64 = cvg_base64_encode(master, sizeof(master)), text[100];
    snprintf(text, sizeof(text), "1:%s", b64);
    free(b64);
    if (cvg_keyring_parse_master(&keys, text, "test", &err) != 0 ||
        cvg_wh_open(url, &wh, &err) != 0 || cvg_wh_open(url, &meta_wh, &err) != 0 ||
        cvg_providers_load(cfg.config_dir, &providers, &err) != 0 || bootstrap() != 0 ||
        cvg_wh_dataset_create(wh, "acme", &err) != 0)
        return 1;
    char smtp[300], slack[300], aws[300];
    testsrv_smtp_credential(smtp_port, smtp, sizeof(smtp));
    testsrv_slack_credential(hook_port, slack, sizeof(slack));
    snprintf(aws, sizeof(aws),
             "{\"s3_endpoint\": \"http://127.0.0.1:%d\", \"aws_region\": "
             "\"eu-west-1\"}",
             s3_port);
    return store_credential("smtp", smtp) != 0 || store_credential("slack", slack) != 0 ||
           store_credential("aws", TESTSRV_S3_CREDENTIAL) != 0 ||
           store_settings("notify",
                          "{\"alert_email\": \"ops@example.test, "
                          "finance@example.test\", \"slack_channel\": \"#finops\"}") != 0 ||
           store_settings("aws", aws) != 0;
}

static int teardown(void)
{
    cvg_wh_close(&wh);
    cvg_wh_close(&meta_wh);
    cvg_providers_cleanup(&providers);
    cvg_keyring_wipe(&keys);
    wrk_registry_unload();
    return cluster_destroy(&c) != 0;
}

/* Runs the pipeline in yaml for tenant acme, as a worker would. */
static void run_yaml(const char *yaml, wrk_outcome_t *out)
{
    cvg_pipeline_t p;
    cvg_err_t err;
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    json_t *doc = NULL;
    int rc = cvg_yaml_load_string(yaml, strlen(yaml), "test.yml", &doc, &err);
    if (rc == 0)
        rc = cvg_pipeline_from_json(doc, "test/outbound/pipeline", &p, errs, &err);
    json_decref(doc);
    wrk_env_t env = {.wh = wh,
                     .meta_wh = meta_wh,
                     .cfg = &cfg,
                     .keys = &keys,
                     .worker_id = "test",
                     .providers = &providers};
    if (rc == 0 && wrk_runner_validate(&env, &p, errs) > 0)
        rc = CVG_EINVAL;
    if (rc != 0)
        printf("\n  pipeline: %s\n", errs->n ? errs->items[0].message : err.message);
    free(errs);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    cvg_params_t params = {0};
    cvg_params_add(&params, "date", "2026-11-03");
    wrk_run_t run = {.run_id = "run-0042", .tenant_id = "acme", .attempt = 1, .params = &params};
    CU_ASSERT_EQUAL(wrk_runner_run(&env, &run, &p, out), 0);
    cvg_params_cleanup(&params);
    cvg_pipeline_cleanup(&p);
}

static json_t *step_of(const wrk_outcome_t *out, size_t i)
{
    return json_array_get(out->steps, i);
}

static const char *step_str(const wrk_outcome_t *out, size_t i, const char *field)
{
    const char *s = json_string_value(json_object_get(step_of(out, i), field));
    return s ? s : "";
}

static json_t *step_result(const wrk_outcome_t *out, size_t i)
{
    return json_object_get(step_of(out, i), "result");
}

static bool contains(const char *text, const char *part)
{
    bool found = text && strstr(text, part) != NULL;
    if (!found)
        printf("\n  '%s' not in '%s'\n", part, text ? text : "(null)");
    return found;
}

/* ---- e-mail ---------------------------------------------------------------- */

/* A run whose first step fails, then the on_failure e-mail. */
static const char failing_then_mail[] =
    "pipeline_id: daily_costs\ndescription: d\nsteps:\n"
    "  - step_id: check\n    ps_type: dq.checks\n"
    "    target: {table: missing_table}\n"
    "    checks: [{name: rows, type: row_count, min: 1}]\n"
    "  - step_id: notify\n    ps_type: notify_systems.email_notification\n"
    "    trigger: on_failure\n"
    "    to_emails: [\"{alert_email}\"]\n"
    "    cc_emails: [audit@example.test]\n"
    "    subject_template: \"Coût {pipeline_id}: {run_status} for {tenant_id}\"\n"
    "    body_template: |\n"
    "      Run {run_id} of {pipeline_id} for {tenant_id} on {date}: {run_status}.\n"
    "      First error: {run_error}\n"
    "      .a line starting with a dot\n"
    "      .\n"
    "      the end\n";

static void test_outbound_email_on_failure_delivered(void)
{
    int before = testsrv_count(&c, "smtp");
    wrk_outcome_t out;
    run_yaml(failing_then_mail, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    CU_ASSERT_STRING_EQUAL(step_str(&out, 1, "status"), "SUCCEEDED");
    if (strcmp(step_str(&out, 1, "status"), "SUCCEEDED") != 0)
        printf("\n  notify: %s\n", step_str(&out, 1, "error"));
    CU_ASSERT_TRUE_FATAL(testsrv_wait_count(&c, "smtp", before + 1, 5000));
    json_t *m = testsrv_received(&c, "smtp", before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "mail_from")),
                           "alerts@convergence.test");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "auth_user")), TESTSRV_SMTP_USER);
    json_t *rcpt = json_object_get(m, "rcpt_tos");
    CU_ASSERT_EQUAL(json_array_size(rcpt), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(rcpt, 0)), "ops@example.test");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(rcpt, 1)), "finance@example.test");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(rcpt, 2)), "audit@example.test");
    /* RFC 2047 on the wire, the text back when decoded */
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "subject")),
                           "Coût daily_costs: FAILED for acme");
    const char *raw = json_string_value(json_object_get(m, "raw"));
    CU_ASSERT_TRUE(contains(raw, "Subject: =?UTF-8?B?"));
    json_t *headers = json_object_get(m, "headers");
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(headers, "from")),
                            "Convergence Alerts <alerts@convergence.test>"));
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(headers, "to")),
                            "ops@example.test, finance@example.test"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(headers, "cc")), "audit@example.test");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(headers, "mime-version")), "1.0");
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(headers, "content-type")),
                            "text/plain; charset=\"utf-8\""));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(headers, "date"));
    const char *text = json_string_value(json_object_get(m, "text"));
    CU_ASSERT_TRUE(contains(text, "Run run-0042 of daily_costs for acme on 2026-11-03: FAILED."));
    CU_ASSERT_TRUE(contains(text, "First error: step check failed: "));
    CU_ASSERT_TRUE(contains(text, "missing_table"));
    /* libcurl stuffed the dots, the server took them off again */
    CU_ASSERT_TRUE(contains(text, "\r\n.a line starting with a dot\r\n.\r\nthe end\r\n"));
    /* the step's result */
    json_t *r = step_result(&out, 1);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "recipients")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "message_id")),
                           json_string_value(json_object_get(headers, "message-id")));
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(r, "smtp_response")), "250"));
    json_decref(m);
    wrk_outcome_cleanup(&out);
}

static const char mail_with_retries[] =
    "pipeline_id: mail\ndescription: d\nsteps:\n"
    "  - step_id: notify\n    ps_type: notify_systems.email_notification\n"
    "    retry_policy: {max_retries: 2, retry_delay_seconds: 0}\n"
    "    to_emails: [ops@example.test]\n"
    "    subject_template: \"{pipeline_id} {run_status}\"\n";

static void test_outbound_email_smtp_rejections(void)
{
    int before = testsrv_count(&c, "smtp");
    /* 554: permanent, not retried */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "smtp",
                                      "{\"status\": 554, \"message\": \"5.7.1 no "
                                      "relaying for you\"}"),
                    0);
    wrk_outcome_t out;
    run_yaml(mail_with_retries, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "554 5.7.1 no relaying for you"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts")); /* one attempt */
    wrk_outcome_cleanup(&out);

    /* 451: temporary, retried per retry_policy (each attempt in the log) */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "smtp",
                                      "{\"status\": 451, \"message\": \"4.3.0 try "
                                      "later\"}"),
                    0);
    run_yaml(mail_with_retries, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    json_t *attempts = json_object_get(step_of(&out, 0), "attempts");
    CU_ASSERT_EQUAL(json_array_size(attempts), 3);
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "451 4.3.0 try later"));
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "smtp", NULL), 0);
    CU_ASSERT_EQUAL(testsrv_count(&c, "smtp"), before);
}

/* The same server without the allow list: refused before connecting. */
static void test_outbound_email_needs_the_allow_list(void)
{
    int before = testsrv_count(&c, "smtp");
    cfg.outbound_allow[0] = '\0';
    wrk_outcome_t out;
    run_yaml(mail_with_retries, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "refused: smtp://127.0.0.1 without TLS is allowed only to hosts in "
                            "CVG_OUTBOUND_ALLOW"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts"));
    wrk_outcome_cleanup(&out);
    snprintf(cfg.outbound_allow, sizeof(cfg.outbound_allow), "127.0.0.1");

    /* Allowed, but the credential asks for TLS, which this server lacks. */
    char smtp[300];
    snprintf(smtp, sizeof(smtp),
             "{\"host\": \"127.0.0.1\", \"port\": %d, \"username\": \"" TESTSRV_SMTP_USER
             "\", \"password\": \"" TESTSRV_SMTP_PASSWORD
             "\", \"from\": \"alerts@convergence.test\"}",
             smtp_port);
    CU_ASSERT_EQUAL_FATAL(store_credential("smtp", smtp), 0);
    run_yaml(mail_with_retries, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "does not offer STARTTLS"));
    wrk_outcome_cleanup(&out);
    /* And with TLS asked for, without the allow list: a loopback address. */
    cfg.outbound_allow[0] = '\0';
    run_yaml(mail_with_retries, &out);
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "refused: 127.0.0.1 is a loopback address (not in "
                            "CVG_OUTBOUND_ALLOW)"));
    wrk_outcome_cleanup(&out);
    snprintf(cfg.outbound_allow, sizeof(cfg.outbound_allow), "127.0.0.1");
    testsrv_smtp_credential(smtp_port, smtp, sizeof(smtp));
    CU_ASSERT_EQUAL(store_credential("smtp", smtp), 0);
    CU_ASSERT_EQUAL(testsrv_count(&c, "smtp"), before);
}

/* A variable cannot smuggle a header in, nor can a bad address pass. */
static void test_outbound_email_header_injection(void)
{
    int before = testsrv_count(&c, "smtp");
    const char *yaml = "pipeline_id: mail\ndescription: d\n"
                       "variables:\n  who: \"x\\r\\nBcc: thief@evil.test\"\n"
                       "steps:\n"
                       "  - step_id: notify\n    ps_type: notify_systems.email_notification\n"
                       "    to_emails: [ops@example.test]\n"
                       "    subject_template: \"Report for {who}\"\n";
    wrk_outcome_t out;
    run_yaml(yaml, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "subject_template: must be a single line"));
    wrk_outcome_cleanup(&out);
    yaml = "pipeline_id: mail\ndescription: d\n"
           "variables:\n  who: \"ops@example.test>\"\n"
           "steps:\n"
           "  - step_id: notify\n    ps_type: notify_systems.email_notification\n"
           "    to_emails: [\"{who}\"]\n";
    run_yaml(yaml, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "to_emails[0]: 'ops@example.test>' is not an e-mail address"));
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(testsrv_count(&c, "smtp"), before);
}

/* ---- Slack ----------------------------------------------------------------- */

static const char slack_step[] =
    "pipeline_id: daily_costs\ndescription: d\nsteps:\n"
    "  - step_id: post\n    ps_type: notify_systems.slack_notification\n"
    "    retry_policy: {max_retries: %d, retry_delay_seconds: 0}\n"
    "    message_template: \"*{pipeline_id}* {run_status} for {tenant_id} (run {run_id})\\n"
    "{run_error}\\n\"\n"; /* as the default's: the error's line empty when all went well */

static void run_slack(int max_retries, wrk_outcome_t *out)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), slack_step, max_retries);
    run_yaml(yaml, out);
}

static int store_slack(const char *url)
{
    char json[400];
    snprintf(json, sizeof(json), "{\"webhook_url\": \"%s\"}", url);
    return store_credential("slack", json);
}

static void test_outbound_slack_retried_after_500(void)
{
    int before = testsrv_count(&c, "webhook");
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", "[{\"status\": 500, \"body\": \"oops\"}]"), 0);
    wrk_outcome_t out;
    run_slack(2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "SUCCEEDED");
    /* the step log keeps both attempts */
    json_t *attempts = json_object_get(step_of(&out, 0), "attempts");
    CU_ASSERT_EQUAL_FATAL(json_array_size(attempts), 2);
    json_t *a1 = json_array_get(attempts, 0), *a2 = json_array_get(attempts, 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a1, "attempt")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a1, "status")), "FAILED");
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(a1, "error")),
                            "the webhook at 127.0.0.1 answered 500: oops"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a2, "attempt")), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a2, "status")), "SUCCEEDED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "status")), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(step_result(&out, 0), "channel")),
                           "#finops");
    wrk_outcome_cleanup(&out);

    CU_ASSERT_TRUE_FATAL(testsrv_wait_count(&c, "webhook", before + 2, 5000));
    json_t *req = testsrv_received(&c, "webhook", before + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "method")), "POST");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "path")),
                           "/services/T000/B000/XXXX");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(req, "headers"), "content-type")),
        "application/json");
    json_t *body = json_loads(json_string_value(json_object_get(req, "body")), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "text")),
                           "*daily_costs* SUCCEEDED for acme (run run-0042)"); /* no blank end */
    /* no channel in the step or the credential: the tenant's setting */
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "channel")), "#finops");
    json_decref(body);
    json_decref(req);
}

static void test_outbound_slack_permanent_failures(void)
{
    int before = testsrv_count(&c, "webhook");
    /* a 400 is not retried, and its answer is quoted */
    CU_ASSERT_EQUAL(
        testsrv_set_reply(&c, "webhook", "{\"status\": 400, \"body\": \"invalid_payload\"}"), 0);
    wrk_outcome_t out;
    run_slack(2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "error"),
                           "the webhook at 127.0.0.1 answered 400: invalid_payload");
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts"));
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(testsrv_count(&c, "webhook"), before + 1);

    /* 429: the Retry-After it gave is in the step's result */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook",
                                      "{\"status\": 429, \"body\": \"rate_limited\", "
                                      "\"headers\": {\"Retry-After\": \"7\"}}"),
                    0);
    run_slack(0, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "answered 429: rate_limited"));
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(step_result(&out, 0), "retry_after_seconds")), 7);
    wrk_outcome_cleanup(&out);

    /* a redirect is not followed, wherever it points */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook",
                                      "{\"status\": 302, \"headers\": {\"Location\": "
                                      "\"http://169.254.169.254/latest/meta-data/\"}}"),
                    0);
    run_slack(2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "redirects are not followed"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts"));
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", NULL), 0);
    CU_ASSERT_EQUAL(testsrv_count(&c, "webhook"), before + 3);
}

/* Metadata and link-local addresses are refused before any connection,
 * allow list or not; without the allow list so is the local receiver. */
static void test_outbound_slack_refused_addresses(void)
{
    int before = testsrv_count(&c, "webhook");
    static const struct {
        const char *url, *error;
    } cases[] = {
        {"https://169.254.169.254/latest/meta-data/iam/",
         "refused: 169.254.169.254 is a link-local/metadata address (not in CVG_OUTBOUND_ALLOW)"},
        {"http://169.254.169.254/computeMetadata/v1/", "refused: http://169.254.169.254 is plain "
                                                       "HTTP"},
        {"https://[fd00:ec2::254]/latest/", "refused: fd00:ec2::254 is a link-local/metadata"},
        {"https://[fe80::1]/hook", "refused: fe80::1 is a link-local address"},
        {"https://10.0.0.8/hook", "refused: 10.0.0.8 is a private (RFC 1918) address"},
        {"ftp://hooks.example.test/x", "the scheme ftp is not allowed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(store_slack(cases[i].url), 0);
        wrk_outcome_t out;
        run_slack(2, &out);
        CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "status"), "FAILED");
        CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), cases[i].error));
        CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts")); /* not retried */
        /* the token in the URL's path never shows */
        CU_ASSERT_PTR_NULL(strstr(step_str(&out, 0, "error"), "/hook"));
        wrk_outcome_cleanup(&out);
    }

    /* The receiver itself, without CVG_OUTBOUND_ALLOW: plain http refused,
     * and over https its loopback address is. */
    char url[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T000/B000/XXXX", hook_port);
    CU_ASSERT_EQUAL_FATAL(store_slack(url), 0);
    cfg.outbound_allow[0] = '\0';
    wrk_outcome_t out;
    run_slack(0, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "error"),
                           "slack webhook: refused: http://127.0.0.1 is plain HTTP; only https is "
                           "allowed unless 127.0.0.1 is in CVG_OUTBOUND_ALLOW");
    wrk_outcome_cleanup(&out);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/services/T000/B000/XXXX", hook_port);
    CU_ASSERT_EQUAL_FATAL(store_slack(url), 0);
    run_slack(0, &out);
    CU_ASSERT_STRING_EQUAL(step_str(&out, 0, "error"),
                           "slack webhook: refused: 127.0.0.1 is a loopback address (not in "
                           "CVG_OUTBOUND_ALLOW)");
    wrk_outcome_cleanup(&out);
    snprintf(cfg.outbound_allow, sizeof(cfg.outbound_allow), "127.0.0.1");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T000/B000/XXXX", hook_port);
    CU_ASSERT_EQUAL(store_slack(url), 0);
    CU_ASSERT_EQUAL(testsrv_count(&c, "webhook"), before);
}

/* ---- S3 -------------------------------------------------------------------- */

#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A loader step for key into table (truncate); endpoint may be NULL (the
 * tenant's {s3_endpoint} setting). */
static void run_s3(const char *key, const char *table, const char *endpoint, int max_retries,
                   wrk_outcome_t *out)
{
    char yaml[2048], ep[300] = "";
    if (endpoint)
        snprintf(ep, sizeof(ep), "      endpoint: \"%s\"\n", endpoint);
    snprintf(yaml, sizeof(yaml),
             "pipeline_id: s3_load\ndescription: d\n"
             "variables:\n  month: \"2026-11\"\n"
             "steps:\n"
             "  - step_id: load\n    ps_type: aws.s3_data_loader\n"
             "    retry_policy: {max_retries: %d, retry_delay_seconds: 0}\n"
             "    source:\n      s3_bucket: cvg-billing\n      s3_key: \"%s\"\n%s"
             "    destination:\n      dataset_type: \"{tenant_id}\"\n      table: %s\n"
             "      write_mode: truncate\n",
             max_retries, key, ep, table);
    run_yaml(yaml, out);
}

static long long count_rows(const char *table)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM acme.%s", table);
    int64_t n = -1;
    cvg_err_t err;
    if (cvg_wh_query_int(meta_wh, sql, NULL, 0, &n, NULL, &err) != 0)
        printf("\n  %s: %s\n", sql, err.message);
    return n;
}

static void test_outbound_s3_objects_loaded(void)
{
    static const struct {
        const char *key, *table;
        long long rows;
        bool compressed;
    } cases[] = {
        {"exports/{month}/billing.csv", "s3_billing", 3, false},
        {"exports/{month}/billing.csv.gz", "s3_billing_gz", 5000, true},
        {"exports/2026 11/bill+ing (1).csv", "s3_escaped", 3, false},
        /* several times the window between libcurl and the reader */
        {"exports/{month}/big.csv", "s3_big", BIG_ROWS, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wrk_outcome_t out;
        run_s3(cases[i].key, cases[i].table, NULL, 0, &out);
        if (strcmp(out.status, "SUCCEEDED") != 0)
            printf("\n  %s: %s\n", cases[i].key, out.error);
        CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
        CU_ASSERT_EQUAL(count_rows(cases[i].table), cases[i].rows);
        json_t *r = step_result(&out, 0);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_loaded")), cases[i].rows);
        CU_ASSERT_EQUAL(json_is_true(json_object_get(r, "compressed")), cases[i].compressed);
        CU_ASSERT_TRUE(
            contains(json_string_value(json_object_get(r, "source")), "s3://cvg-billing/exports/"));
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "region")), "eu-west-1");
        CU_ASSERT_TRUE(json_is_true(json_object_get(r, "path_style")));
        wrk_outcome_cleanup(&out);
    }
    /* truncate: a second load replaces the rows */
    wrk_outcome_t out;
    run_s3("exports/{month}/billing.csv", "s3_billing", NULL, 0, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(count_rows("s3_billing"), 3);
    wrk_outcome_cleanup(&out);
    /* temporary credentials: the session token is sent and signed (the
     * store refuses an x-amz-* header left out of the signature) */
    CU_ASSERT_EQUAL_FATAL(store_credential("aws", TESTSRV_S3_CREDENTIAL_TOKEN), 0);
    run_s3("exports/{month}/billing.csv", "s3_billing", NULL, 0, &out);
    if (strcmp(out.status, "SUCCEEDED") != 0)
        printf("\n  with a session token: %s\n", out.error);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(store_credential("aws", TESTSRV_S3_CREDENTIAL), 0);
}

static void test_outbound_s3_missing_object(void)
{
    wrk_outcome_t out;
    run_s3("exports/{month}/nope.csv", "s3_nope", NULL, 2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "s3://cvg-billing/exports/2026-11/nope.csv: no such key "
                            "'exports/2026-11/nope.csv' (404 NoSuchKey"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts")); /* not retried */
    wrk_outcome_cleanup(&out);
    bool exists = true;
    cvg_err_t err;
    cvg_wh_table_exists(meta_wh, "acme", "s3_nope", &exists, &err);
    CU_ASSERT_FALSE(exists);

    const char *yaml = "pipeline_id: s3_load\ndescription: d\nsteps:\n"
                       "  - step_id: load\n    ps_type: aws.s3_data_loader\n"
                       "    source: {s3_bucket: no-such-bucket, s3_key: x.csv}\n"
                       "    destination: {dataset_type: \"{tenant_id}\", table: s3_nope}\n";
    run_yaml(yaml, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "no such bucket 'no-such-bucket'"));
    wrk_outcome_cleanup(&out);
}

static void test_outbound_s3_access_denied(void)
{
    CU_ASSERT_EQUAL_FATAL(store_credential("aws", "{\"access_key_id\": \"AKIAUNKNOWN\", "
                                                  "\"secret_access_key\": \"wrong\"}"),
                          0);
    wrk_outcome_t out;
    run_s3("exports/{month}/billing.csv", "s3_denied", NULL, 2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "s3://cvg-billing/exports/2026-11/billing.csv: access denied (403 "
                            "InvalidAccessKeyId"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts"));
    CU_ASSERT_PTR_NULL(strstr(step_str(&out, 0, "error"), "wrong")); /* no secret */
    wrk_outcome_cleanup(&out);
    /* a step that names another region signs for it, and the store refuses */
    CU_ASSERT_EQUAL_FATAL(store_credential("aws", TESTSRV_S3_CREDENTIAL), 0);
    run_yaml("pipeline_id: s3_load\ndescription: d\nsteps:\n"
             "  - step_id: load\n    ps_type: aws.s3_data_loader\n"
             "    source: {s3_bucket: cvg-billing, s3_key: exports/2026-11/billing.csv, region: "
             "us-east-2}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: s3_denied}\n",
             &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "AuthorizationHeaderMalformed: the region 'us-east-2' is wrong; "
                            "expecting 'eu-west-1'"));
    wrk_outcome_cleanup(&out);
    /* the right key with a wrong secret: the store checks the signature */
    CU_ASSERT_EQUAL_FATAL(store_credential("aws", "{\"access_key_id\": \"" TESTSRV_S3_KEY
                                                  "\", \"secret_access_key\": \"wrong\"}"),
                          0);
    run_s3("exports/{month}/billing.csv", "s3_denied", NULL, 2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "s3://cvg-billing/exports/2026-11/billing.csv: access denied (403 "
                            "SignatureDoesNotMatch"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts"));
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(store_credential("aws", TESTSRV_S3_CREDENTIAL), 0);
}

/* 5xx answers and connection failures are retried: a store stood in for
 * by the webhook receiver, which also shows what was sent. */
static void test_outbound_s3_transient_failures(void)
{
    CU_ASSERT_EQUAL_FATAL(store_credential("aws", TESTSRV_S3_CREDENTIAL_TOKEN), 0);
    int before = testsrv_count(&c, "webhook");
    CU_ASSERT_EQUAL(
        testsrv_set_reply(&c, "webhook",
                          "[{\"status\": 503, \"body\": \"<Error><Code>SlowDown</Code><Message>"
                          "Please reduce your request rate.</Message></Error>\"},"
                          " {\"status\": 200, \"body\": \"usage_date,service,cost\\n"
                          "2026-11-05,compute,1.5\\n\"}]"),
        0);
    char endpoint[100];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", hook_port);
    wrk_outcome_t out;
    run_s3("exports/{month}/billing.csv", "s3_retried", endpoint, 1, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    json_t *attempts = json_object_get(step_of(&out, 0), "attempts");
    CU_ASSERT_EQUAL_FATAL(json_array_size(attempts), 2);
    CU_ASSERT_TRUE(
        contains(json_string_value(json_object_get(json_array_get(attempts, 0), "error")),
                 "the store answered 503 SlowDown: Please reduce your request rate. "
                 "(temporary)"));
    CU_ASSERT_EQUAL(count_rows("s3_retried"), 1);
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", NULL), 0);

    /* what a request looks like: path style, signed, payload hash, token */
    CU_ASSERT_TRUE_FATAL(testsrv_wait_count(&c, "webhook", before + 2, 5000));
    json_t *req = testsrv_received(&c, "webhook", before + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "method")), "GET");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "path")),
                           "/cvg-billing/exports/2026-11/billing.csv");
    json_t *h = json_object_get(req, "headers");
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(h, "authorization")),
                            "AWS4-HMAC-SHA256 Credential=" TESTSRV_S3_KEY "/"));
    CU_ASSERT_TRUE(contains(json_string_value(json_object_get(h, "authorization")),
                            "/eu-west-1/s3/aws4_request"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "x-amz-content-sha256")),
                           S3_EMPTY_SHA256);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "x-amz-security-token")),
                           "tok-123");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(h, "x-amz-date"));
    json_decref(req);

    /* dot segments in a key are part of its name: sent as they are */
    CU_ASSERT_EQUAL_FATAL(
        testsrv_set_reply(&c, "webhook", "[{\"status\": 200, \"body\": \"a,b\\n1,2\\n\"}]"), 0);
    run_s3("../other-bucket/./{month}.csv", "s3_dots", endpoint, 0, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", NULL), 0);
    CU_ASSERT_TRUE_FATAL(testsrv_wait_count(&c, "webhook", before + 3, 5000));
    req = testsrv_received(&c, "webhook", before + 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "path")),
                           "/cvg-billing/../other-bucket/./2026-11.csv");
    json_decref(req);

    /* nobody listening: retried, then failed */
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", harness_free_port());
    run_s3("exports/{month}/billing.csv", "s3_retried", endpoint, 1, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(step_of(&out, 0), "attempts")), 2);
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"), "127.0.0.1:"));
    CU_ASSERT_EQUAL(count_rows("s3_retried"), 1); /* the old rows stay */
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(store_credential("aws", TESTSRV_S3_CREDENTIAL), 0);
}

static void test_outbound_s3_policy(void)
{
    /* the same store without CVG_OUTBOUND_ALLOW */
    cfg.outbound_allow[0] = '\0';
    wrk_outcome_t out;
    run_s3("exports/{month}/billing.csv", "s3_policy", NULL, 2, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "refused: http://127.0.0.1 is plain HTTP; only https is allowed unless "
                            "127.0.0.1 is in CVG_OUTBOUND_ALLOW"));
    CU_ASSERT_PTR_NULL(json_object_get(step_of(&out, 0), "attempts"));
    wrk_outcome_cleanup(&out);
    snprintf(cfg.outbound_allow, sizeof(cfg.outbound_allow), "127.0.0.1");
    /* a metadata endpoint, allow list or not */
    run_s3("latest/meta-data/iam/security-credentials/", "s3_policy", "https://169.254.169.254", 2,
           &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_TRUE(contains(step_str(&out, 0, "error"),
                            "refused: 169.254.169.254 is a link-local/metadata address"));
    wrk_outcome_cleanup(&out);
    bool exists = true;
    cvg_err_t err;
    cvg_wh_table_exists(meta_wh, "acme", "s3_policy", &exists, &err);
    CU_ASSERT_FALSE(exists);
}

static CU_TestInfo tests[] = {
    {"test_outbound_email_on_failure_delivered", test_outbound_email_on_failure_delivered},
    {"test_outbound_email_smtp_rejections", test_outbound_email_smtp_rejections},
    {"test_outbound_email_needs_the_allow_list", test_outbound_email_needs_the_allow_list},
    {"test_outbound_email_header_injection", test_outbound_email_header_injection},
    {"test_outbound_slack_retried_after_500", test_outbound_slack_retried_after_500},
    {"test_outbound_slack_permanent_failures", test_outbound_slack_permanent_failures},
    {"test_outbound_slack_refused_addresses", test_outbound_slack_refused_addresses},
    {"test_outbound_s3_objects_loaded", test_outbound_s3_objects_loaded},
    {"test_outbound_s3_missing_object", test_outbound_s3_missing_object},
    {"test_outbound_s3_access_denied", test_outbound_s3_access_denied},
    {"test_outbound_s3_transient_failures", test_outbound_s3_transient_failures},
    {"test_outbound_s3_policy", test_outbound_s3_policy},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_outbound_it = {"integration_outbound", setup, teardown, tests, 120};
