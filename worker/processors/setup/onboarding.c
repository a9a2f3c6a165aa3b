/*
 * setup.tenants.onboarding: creates a tenant, all or nothing. In order: the
 * tenant's dataset, its onboarding_validation_test table with one row, its
 * tenant_comprehensive_view over the central logs, then in one transaction
 * the profile, subscription, usage quota row and first API key. Should any
 * part fail, what was already made is removed again; the dataset is only
 * dropped when this run created it. The new key goes to the caller through
 * ctx->secret_out, never into the step's result or the logs.
 *
 * Test builds (CVG_TESTING) can fail on purpose at named points through
 * CVG_TEST_FAULT=onboarding:<point>, to prove the rollback.
 */
#include "common/central.h"
#include "common/crypto.h"
#include "common/fs.h"
#include "common/keystore.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "worker/processors/setup/tenant_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SCHEMAS "setup/tenants/onboarding/schemas"
#define DEFAULT_TABLE   "onboarding_validation_test"
#define DEFAULT_VIEW    "tenant_comprehensive_view"

#ifdef CVG_TESTING
static bool fault(const proc_ctx_t *ctx, const char *point)
{
    char want[80];
    snprintf(want, sizeof(want), "onboarding:%s", point);
    return strcmp(ctx->cfg->test_fault, want) == 0;
}
#else
static bool fault(const proc_ctx_t *ctx, const char *point)
{
    (void)ctx;
    (void)point;
    return false;
}
#endif

static const char *step_str(const json_t *step, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(step, key));
    return v ? v : def;
}

static int validate(const json_t *step, const char *path, cvg_errlist_t *errs)
{
    size_t before = errs->n;
    const char *key;
    json_t *val;
    /* its fields' names are its schema's to check */
    json_object_foreach((json_t *)step, key, val)
    {
        if ((!strcmp(key, "validation_table") || !strcmp(key, "view")) &&
            !cvg_wh_ident_ok(json_string_value(val)))
            cvg_errlist_add(errs, CVG_EINVAL, key, "%s.%s: must be a table name", path, key);
    }
    return (int)(errs->n - before);
}

/* The view's SELECT: this tenant's runs with their steps and a count of their
 * data-quality checks. tenant is a checked tenant id (no quotes possible). */
static void view_sql(const char *tenant, char *out, size_t size)
{
    snprintf(out, size,
             "SELECT r.tenant_id, r.pipeline_logging_id, r.pipeline_id, r.pipeline, "
             "r.status AS run_status, r.trigger_type, r.trigger_by, r.attempt AS run_attempt, "
             "r.start_time AS run_start_time, r.end_time AS run_end_time, "
             "r.duration_ms AS run_duration_ms, r.rows_processed AS run_rows_processed, "
             "r.error_message AS run_error_message, s.step_log_id, s.step_id, s.step_index, "
             "s.ps_type, s.status AS step_status, s.attempt AS step_attempt, "
             "s.start_time AS step_start_time, s.end_time AS step_end_time, "
             "s.duration_ms AS step_duration_ms, s.rows_processed AS step_rows_processed, "
             "s.error_message AS step_error_message, "
             "(SELECT count(*) FROM tenants.tenant_dq_results d "
             "WHERE d.step_log_id = s.step_log_id) AS dq_checks, "
             "(SELECT count(*) FROM tenants.tenant_dq_results d "
             "WHERE d.step_log_id = s.step_log_id AND NOT d.passed) AS dq_failed "
             "FROM tenants.tenant_pipeline_runs r LEFT JOIN tenants.tenant_step_logs s "
             "ON s.pipeline_logging_id = r.pipeline_logging_id WHERE r.tenant_id = '%s'",
             tenant);
}

typedef struct onboard {
    const proc_ctx_t *ctx;
    tenant_request_t *req;
    const cvg_plan_t *plan;
    char now[CVG_TIME_ISO_LEN];
    char today[CVG_TIME_DATE_LEN];
    char trial_end[CVG_TIME_DATE_LEN];
    const char *status; /* subscription status */
    cvg_issued_key_t key;
    cvg_err_t err;
} onboard_t;

static int central_records(onboard_t *o)
{
    cvg_wh_t *wh = o->ctx->wh;
    const tenant_request_t *r = o->req;
    const cvg_plan_t *p = o->plan;
    char sub_id[CVG_ID_LEN];
    cvg_id_new(sub_id);
    char month[8];
    snprintf(month, sizeof(month), "%.7s", o->today);
    cvg_val_t prof[7] = {cvg_v_text(r->tenant_id),   cvg_v_text(r->company_name),
                         cvg_v_text(r->admin_email), cvg_v_text(r->dataset),
                         cvg_v_text(p->name),        cvg_v_text(o->now),
                         cvg_v_text(o->now)};
    int rc = cvg_wh_exec(wh,
                         "INSERT INTO tenants.tenant_profiles (tenant_id, company_name, "
                         "admin_email, dataset_id, status, subscription_plan, created_at, "
                         "updated_at) VALUES ($1, $2, $3, $4, 'ACTIVE', $5, $6, $7)",
                         prof, 7, NULL, NULL, NULL, &o->err);
    if (rc != 0)
        return rc;
    cvg_val_t sub[11] = {cvg_v_text(sub_id),
                         cvg_v_text(r->tenant_id),
                         cvg_v_text(p->name),
                         cvg_v_text(o->status),
                         CVG_V_INT(p->daily_limit),
                         CVG_V_INT(p->monthly_limit),
                         CVG_V_INT(p->concurrent_limit),
                         CVG_V_INT(p->rate_limit_per_minute),
                         o->trial_end[0] ? cvg_v_text(o->trial_end) : CVG_V_NULL,
                         cvg_v_text(o->today),
                         cvg_v_text(o->now)};
    rc = cvg_wh_exec(wh,
                     "INSERT INTO tenants.tenant_subscriptions (subscription_id, tenant_id, "
                     "plan_name, status, daily_limit, monthly_limit, concurrent_limit, "
                     "rate_limit_per_minute, trial_end_date, subscription_start_date, "
                     "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                     "$11, $11)",
                     sub, 11, NULL, NULL, NULL, &o->err);
    if (rc != 0)
        return rc;
    cvg_val_t quota[7] = {cvg_v_text(r->tenant_id),    cvg_v_text(o->today),
                          cvg_v_text(month),           CVG_V_INT(p->daily_limit),
                          CVG_V_INT(p->monthly_limit), CVG_V_INT(p->concurrent_limit),
                          cvg_v_text(o->now)};
    rc = cvg_wh_exec(wh,
                     "INSERT INTO tenants.tenant_usage_quotas (tenant_id, usage_date, "
                     "usage_month, pipelines_run_today, pipelines_run_month, "
                     "pipelines_succeeded_today, pipelines_failed_today, "
                     "concurrent_pipelines_running, daily_limit, monthly_limit, "
                     "concurrent_limit, updated_at) VALUES ($1, $2, $3, 0, 0, 0, 0, 0, $4, $5, "
                     "$6, $7)",
                     quota, 7, NULL, NULL, NULL, &o->err);
    if (rc != 0)
        return rc;
    return cvg_keystore_issue(wh, o->ctx->keys->pepper, r->tenant_id, CVG_SCOPE_ALL, 0,
                              "first key, issued at onboarding", o->ctx->triggered_by, NULL,
                              &o->key, &o->err);
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    if (ctx->keys == NULL || !ctx->keys->has_pepper || ctx->plans == NULL)
        return proc_fail(res, CVG_ECONFIG, "onboarding needs the API key pepper and the plans");
    onboard_t o = {.ctx = ctx};
    cvg_err_clear(&o.err);
    o.req = calloc(1, sizeof(*o.req));
    if (o.req == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    tenant_request_read(ctx, o.req);
    tenant_request_t *r = o.req;
    char why[320], trimmed[sizeof(r->company_name)];
    int rc = 0;
    bool dataset_created = false, in_txn = false;
    cvg_schema_t schema = {0};
    /* The dry-run step has checked everything; these guard what this step
     * relies on. */
    if (cvg_tenant_id_check(r->tenant_id, why, sizeof(why)) != 0 ||
        cvg_company_name_check(r->company_name, trimmed, sizeof(trimmed), why, sizeof(why)) != 0 ||
        (o.plan = cvg_plans_find(ctx->plans, r->plan_name)) == NULL) {
        rc = proc_fail(res, CVG_EINVAL, "invalid onboarding request");
        goto out;
    }
    memcpy(r->company_name, trimmed, strlen(trimmed) + 1);
    cvg_tenant_dataset(r->tenant_id, r->dataset);
    int64_t now = cvg_time_now_ms();
    cvg_time_format_iso(now, o.now);
    cvg_time_format_date(now, o.today);
    o.status = o.plan->trial_days > 0 ? "TRIAL" : "ACTIVE";
    if (o.plan->trial_days > 0)
        cvg_time_format_date(now + (int64_t)o.plan->trial_days * 86400000, o.trial_end);

    const char *table = step_str(step, "validation_table", DEFAULT_TABLE);
    const char *view = step_str(step, "view", DEFAULT_VIEW);
    char path[2300];
    snprintf(path, sizeof(path), "%s/%s/%s.json", ctx->cfg->templates_dir,
             step_str(step, "schemas", DEFAULT_SCHEMAS), table);
    if ((rc = cvg_schema_load_file(path, &schema, &o.err)) != 0) {
        proc_fail(res, rc, "%s", o.err.message);
        goto out;
    }

    /* 1. The tenant's dataset. */
    rc = cvg_wh_dataset_create(ctx->wh, r->dataset, &o.err);
    if (rc == CVG_EEXIST) {
        proc_fail(res, rc, "Dataset '%s' is already taken", r->dataset);
        goto out;
    }
    if (rc != 0)
        goto failed;
    dataset_created = true;
    if (fault(ctx, "after_dataset")) {
        rc = cvg_err_set(&o.err, CVG_EIO, "", "injected fault after the dataset was created");
        goto failed;
    }
    /* 2. The validation table and its row. */
    if ((rc = cvg_wh_table_create(ctx->wh, r->dataset, &schema, &o.err)) != 0)
        goto failed;
    char sql[8192], vid[CVG_ID_LEN];
    cvg_id_new(vid);
    snprintf(sql, sizeof(sql),
             "INSERT INTO \"%s\".\"%s\" (validation_id, tenant_id, status, message, "
             "created_at) VALUES ($1, $2, 'PASSED', 'Onboarding validation row', $3)",
             r->dataset, table);
    cvg_val_t vrow[3] = {cvg_v_text(vid), cvg_v_text(r->tenant_id), cvg_v_text(o.now)};
    if ((rc = cvg_wh_exec(ctx->wh, sql, vrow, 3, NULL, NULL, NULL, &o.err)) != 0)
        goto failed;
    if (fault(ctx, "after_table")) {
        rc = cvg_err_set(&o.err, CVG_EIO, "", "injected fault after the table was created");
        goto failed;
    }
    /* 3. The comprehensive view over the central logs. */
    view_sql(r->tenant_id, sql, sizeof(sql));
    const char *reads[] = {CVG_CENTRAL_DATASET, NULL};
    if ((rc = cvg_wh_view_create(ctx->wh, r->dataset, view, sql, reads, &o.err)) != 0)
        goto failed;
    if (fault(ctx, "after_view")) {
        rc = cvg_err_set(&o.err, CVG_EIO, "", "injected fault after the view was created");
        goto failed;
    }
    /* 4. The central records, together. */
    /* that file's lock alone: the tenants' datasets attached beside it may
     * be in the middle of their runs' writes */
    if ((rc = cvg_wh_begin_write(ctx->wh, CVG_CENTRAL_DATASET, &o.err)) != 0)
        goto failed;
    in_txn = true;
    if ((rc = central_records(&o)) != 0)
        goto failed;
    if (fault(ctx, "before_commit")) {
        rc = cvg_err_set(&o.err, CVG_EIO, "", "injected fault before the commit");
        goto failed;
    }
    if ((rc = cvg_wh_commit(ctx->wh, &o.err)) != 0) {
        in_txn = false; /* commit rolled back */
        goto failed;
    }
    in_txn = false;

    if (ctx->secret_out != NULL)
        cvg_str_copy(ctx->secret_out, ctx->secret_out_size, o.key.key);
    json_t *tables = json_pack("[s]", table), *views = json_pack("[s]", view);
    res->rows = 1;
    res->detail =
        json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:s, s:s, s:s?, s:s, s:s, s:o}", "tenant_id",
                  r->tenant_id, "company_name", r->company_name, "dataset_id", r->dataset,
                  "dataset_created", 1, "tables_created", tables, "views_created", views,
                  "subscription_plan", o.plan->name, "subscription_status", o.status,
                  "trial_end_date", o.trial_end[0] ? o.trial_end : NULL, "api_key_id", o.key.key_id,
                  "api_key_prefix", o.key.prefix, "scopes", cvg_scopes_json(CVG_SCOPE_ALL));
    goto out;

failed:
    if (in_txn)
        cvg_wh_rollback(ctx->wh);
    char cleanup[400] = "";
    if (dataset_created) {
        cvg_err_t derr;
        cvg_err_clear(&derr);
        if (cvg_wh_dataset_drop(ctx->wh, r->dataset, &derr) != 0)
            snprintf(cleanup, sizeof(cleanup), "; removing dataset %s also failed: %.300s",
                     r->dataset, derr.message);
    }
    if (rc == CVG_EEXIST)
        proc_fail(res, rc, "Tenant '%s' was onboarded by another request at the same time",
                  r->tenant_id);
    else
        proc_fail(res, rc, "onboarding failed and was rolled back: %.500s%s", o.err.message,
                  cleanup);
    res->transient = rc == CVG_EBUSY;
out:
    cvg_wipe(&o.key, sizeof(o.key));
    cvg_schema_cleanup(&schema);
    free(o.req);
    return rc;
}

const proc_def_t proc_setup_tenants_onboarding = {
    .ps_type = "setup.tenants.onboarding",
    .summary = "create a tenant: dataset, validation table, view, records and first API key",
    .setup_only = true,
    .validate = validate,
    .run = run,
};
