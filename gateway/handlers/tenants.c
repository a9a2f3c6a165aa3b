/*
 * Tenant endpoints: POST /api/v1/tenants/dryrun (configs/setup/dryrun/
 * dryrun.yml), POST /api/v1/tenants/onboard and POST /api/v1/admin/tenants
 * (configs/setup/tenants/onboarding.yml), GET /api/v1/tenants/{tenant_id}.
 * Dry-run and onboarding run as logged setup pipelines in this process; the
 * response shapes follow the original service.
 */
#include "common/central.h"
#include "common/crypto.h"
#include "common/id.h"
#include "common/time.h"
#include "gateway/gateway.h"
#include "common/quota.h"
#include "gateway/setup.h"
#include "gateway/whpool.h"

#include <stdlib.h>
#include <string.h>

#define POOL_WAIT_MS 5000

/* Reads the onboarding request fields into runtime parameters. Wrong types,
 * missing or unknown fields are 422 (the values themselves are judged by
 * the checks). Returns 0, or -1 with resp filled. */
static int request_params(gw_req_t *req, gw_resp_t *resp, cvg_params_t *params)
{
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return -1;
    if (body == NULL) {
        gw_resp_error(resp, 422, "invalid_field", NULL,
                      "a JSON body with tenant_id, company_name, admin_email and plan_name is "
                      "required");
        return -1;
    }
    static const char *const fields[] = {"tenant_id", "company_name", "admin_email", "plan_name"};
    int rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        bool known = strcmp(key, "subscription_plan") == 0;
        for (size_t i = 0; i < 4; i++)
            known |= strcmp(key, fields[i]) == 0;
        if (!known) {
            gw_resp_error(resp, 422, "invalid_field", key,
                          "%s: unknown field (expected tenant_id, company_name, admin_email, "
                          "plan_name)",
                          key);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && json_object_get(body, "plan_name") &&
        json_object_get(body, "subscription_plan")) {
        gw_resp_error(resp, 422, "invalid_field", "subscription_plan",
                      "give plan_name or subscription_plan, not both");
        rc = -1;
    }
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        json_t *v = json_object_get(body, fields[i]);
        const char *given = fields[i]; /* the name the client used */
        if (v == NULL && i == 3 && (v = json_object_get(body, "subscription_plan")) != NULL)
            given = "subscription_plan"; /* the originals' other name */
        if (v == NULL) {
            gw_resp_error(resp, 422, "invalid_field", given, "%s: field required", given);
            rc = -1;
        } else if (!json_is_string(v)) {
            gw_resp_error(resp, 422, "invalid_field", given, "%s: must be a string", given);
            rc = -1;
        } else if (json_string_length(v) > CVG_PARAM_VALUE_MAX ||
                   strlen(json_string_value(v)) != json_string_length(v)) {
            gw_resp_error(resp, 422, "invalid_field", given,
                          "%s: longer than %d characters or holds a NUL", given,
                          CVG_PARAM_VALUE_MAX);
            rc = -1;
        } else {
            cvg_params_add(params, fields[i], json_string_value(v));
        }
    }
    json_decref(body);
    return rc;
}

/* The tenant a run is logged under: the requested id when it is well
 * formed and no tenant has it yet (a dry-run and the onboarding are the
 * new tenant's first runs), else the system tenant: an invalid id names
 * nothing, and a request naming an existing tenant (its dry-run, an
 * onboarding refused as taken) is not that tenant's doing and must not
 * show in its runs. */
static const char *log_tenant(gw_t *gw, const cvg_params_t *params)
{
    const char *id = cvg_params_get(params, "tenant_id");
    char why[256];
    if (id == NULL || cvg_tenant_id_check(id, why, sizeof(why)) != 0)
        return GW_SYSTEM_TENANT;
    cvg_wh_t *wh = gw_whpool_acquire(gw->pool, POOL_WAIT_MS);
    bool taken = true; /* unknown counts as taken */
    if (wh == NULL || gw_tenant_exists(wh, id, &taken, NULL) != 0)
        taken = true;
    gw_whpool_release(gw->pool, wh);
    return taken ? GW_SYSTEM_TENANT : id;
}

static json_t *step_result(const wrk_outcome_t *out, size_t i)
{
    return json_object_get(json_array_get(out->steps, i), "result");
}

/* dryrun_{tenant}_{YYYYMMDD_HHMMSS}_{6 hex}, the id lower-cased and anything
 * else unusual in it as _; the random tail tells apart two dry-runs of one
 * tenant in the same second. */
static void validation_id(const char *tenant, char *out, size_t size)
{
    char clean[CVG_TENANT_MAX], stamp[CVG_TIME_COMPACT_LEN];
    unsigned char tail[3] = {0};
    size_t i = 0;
    for (; i < sizeof(clean) - 1 && tenant[i]; i++) {
        char c = tenant[i] >= 'A' && tenant[i] <= 'Z' ? (char)(tenant[i] - 'A' + 'a') : tenant[i];
        clean[i] =
            ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') ? c : '_';
    }
    clean[i] = '\0';
    cvg_time_format_compact(cvg_time_now_ms(), stamp);
    (void)cvg_random_bytes(tail, sizeof(tail)); /* zeros still make an id */
    snprintf(out, size, "dryrun_%s_%s_%02x%02x%02x", clean, stamp, tail[0], tail[1], tail[2]);
}

static void run_failed(gw_resp_t *resp, int rc, const cvg_err_t *err)
{
    gw_resp_error(resp, rc == CVG_EBUSY ? 503 : 500, "setup_unavailable", NULL,
                  "the setup pipeline could not run: %s", err->message);
}

void gw_tenants_dryrun(gw_req_t *req, gw_resp_t *resp)
{
    cvg_params_t params = {0};
    if (request_params(req, resp, &params) != 0)
        goto out;
    char vid[128];
    validation_id(cvg_params_get(&params, "tenant_id"), vid, sizeof(vid));
    cvg_params_add(&params, "validation_id", vid);
    char run_id[CVG_ID_LEN];
    wrk_outcome_t outcome;
    cvg_errlist_t *errs = cvg_errlist_new();
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = errs ? gw_setup_run(req->gw, "setup/dryrun/dryrun", log_tenant(req->gw, &params),
                                 &params, gw_req_actor(req), NULL, 0, run_id, &outcome, errs, &err)
                  : CVG_ENOMEM;
    free(errs);
    if (rc != 0) {
        run_failed(resp, rc, &err);
        goto out;
    }
    json_t *result = step_result(&outcome, 0);
    bool passed = strcmp(outcome.status, "SUCCEEDED") == 0;
    json_t *errors = json_object_get(result, "errors");
    if (result == NULL) {
        /* the checks never ran: nothing to report but why */
        gw_resp_error(resp, 500, "setup_unavailable", NULL, "the dry-run did not run: %s",
                      outcome.error[0] ? outcome.error : outcome.status);
        wrk_outcome_cleanup(&outcome);
        goto out;
    }
    gw_resp_json(
        resp, 200,
        json_pack("{s:s, s:s, s:s, s:O, s:O, s:o, s:s, s:s}", "status",
                  passed ? "success" : "failed", "validation_id", vid, "tenant_id",
                  cvg_params_get(&params, "tenant_id"), "checks_passed",
                  json_object_get(result, "checks_passed"), "checks_failed",
                  json_object_get(result, "checks_failed"), "errors",
                  errors ? json_incref(errors) : json_array(), "message",
                  passed ? "All validations passed. Safe to proceed with onboarding."
                         : "Validation failed. Fix errors before onboarding.",
                  "next_step",
                  passed ? "POST /api/v1/tenants/onboard" : "Review errors and retry dry-run"));
    wrk_outcome_cleanup(&outcome);
out:
    cvg_params_cleanup(&params);
}

/* The HTTP status for failed checks: invalid input first, then conflicts,
 * then the system; *field and *why are the request field and the error of
 * the first failed check of that kind (or NULL). */
static int checks_status(json_t *result, const char **code, const char **field, const char **why)
{
    static const char *const kinds[] = {"invalid", "conflict", "system"};
    json_t *checks = json_object_get(result, "checks");
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < json_array_size(checks); i++) {
            json_t *c = json_array_get(checks, i);
            const char *kind = json_string_value(json_object_get(c, "kind"));
            if (json_is_true(json_object_get(c, "passed")) || !json_object_get(c, "error") ||
                kind == NULL || strcmp(kind, kinds[k]) != 0)
                continue;
            *field = json_string_value(json_object_get(c, "field"));
            *why = json_string_value(json_object_get(c, "error"));
            *code = k == 0 ? "invalid_request" : k == 1 ? "conflict" : "system_not_ready";
            return k == 0 ? 422 : k == 1 ? 409 : 503;
        }
    }
    *field = *why = NULL;
    *code = "system_not_ready";
    return 503;
}

void gw_tenants_onboard(gw_req_t *req, gw_resp_t *resp)
{
    cvg_params_t params = {0};
    char key[CVG_APIKEY_LEN + 1] = "";
    if (request_params(req, resp, &params) != 0)
        goto out;
    char run_id[CVG_ID_LEN];
    wrk_outcome_t outcome;
    cvg_errlist_t *errs = cvg_errlist_new();
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = errs ? gw_setup_run(req->gw, "setup/tenants/onboarding", log_tenant(req->gw, &params),
                                 &params, gw_req_actor(req), key, sizeof(key), run_id, &outcome,
                                 errs, &err)
                  : CVG_ENOMEM;
    free(errs);
    if (rc != 0) {
        run_failed(resp, rc, &err);
        goto out;
    }
    const char *tenant = cvg_params_get(&params, "tenant_id");
    json_t *checks = step_result(&outcome, 0);
    json_t *created = step_result(&outcome, 1);
    json_t *create_step = json_array_get(outcome.steps, 1);
    const char *create_status = json_string_value(json_object_get(create_step, "status"));
    if (strcmp(outcome.status, "SUCCEEDED") == 0 && created != NULL && key[0] != '\0') {
        json_t *body = json_deep_copy(created);
        json_object_set_new(body, "status", json_string("SUCCESS"));
        json_object_set_new(body, "admin_email",
                            json_string(cvg_params_get(&params, "admin_email")));
        json_object_set_new(body, "api_key", json_string(key));
        json_object_set_new(body, "pipeline_logging_id", json_string(run_id));
        json_object_set_new(body, "message",
                            json_string("Tenant onboarded. Save the API key now: it is shown only "
                                        "once and cannot be recovered."));
        json_object_set_new(body, "next_step",
                            json_string("GET /api/v1/tenants/{tenant_id} "
                                        "with X-API-Key"));
        gw_resp_json(resp, 201, body);
    } else if (create_status && strcmp(create_status, "SKIPPED") != 0) {
        /* The checks passed but creating failed: everything was removed. */
        json_int_t code = json_integer_value(json_object_get(create_step, "code"));
        const char *error = json_string_value(json_object_get(create_step, "error"));
        gw_resp_error(resp, code == CVG_EEXIST ? 409 : 500,
                      code == CVG_EEXIST ? "conflict" : "onboarding_failed",
                      code == CVG_EEXIST ? "tenant_id" : NULL, "%s",
                      error ? error : "onboarding failed and was rolled back");
    } else if (checks == NULL) {
        gw_resp_error(resp, 500, "onboarding_failed", NULL, "onboarding did not run: %s",
                      outcome.error[0] ? outcome.error : outcome.status);
    } else {
        const char *code = NULL, *field = NULL, *why = NULL;
        int status = checks_status(checks, &code, &field, &why);
        json_t *e = json_pack("{s:s, s:s, s:s*}", "code", code, "message",
                              why ? why : "Validation failed. Fix errors before onboarding.",
                              "field", field);
        json_t *errors = json_object_get(checks, "errors");
        gw_resp_json(resp, status,
                     json_pack("{s:o, s:s, s:s?, s:O, s:O, s:o}", "error", e, "status", "failed",
                               "tenant_id", tenant, "checks_passed",
                               json_object_get(checks, "checks_passed"), "checks_failed",
                               json_object_get(checks, "checks_failed"), "errors",
                               errors ? json_incref(errors) : json_array()));
    }
    wrk_outcome_cleanup(&outcome);
out:
    cvg_wipe(key, sizeof(key));
    cvg_params_cleanup(&params);
}

typedef struct tenant_row {
    json_t *body;
    int found;
} tenant_row_t;

static int take_tenant(void *ud, const cvg_row_t *row)
{
    tenant_row_t *t = ud;
    t->found = 1;
    json_decref(t->body);
    t->body = cvg_row_json(row);
    return 1;
}

void gw_tenants_get(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    tenant_row_t t = {.body = json_object()};
    cvg_val_t p = cvg_v_text(tenant);
    int rc = cvg_wh_exec(wh,
                         "SELECT p.tenant_id, p.company_name, p.admin_email, p.dataset_id, "
                         "p.status, p.created_at, s.plan_name, s.status AS subscription_status, "
                         "s.trial_end_date, s.subscription_start_date, s.subscription_end_date, "
                         "s.daily_limit, s.monthly_limit, s.concurrent_limit, "
                         "s.rate_limit_per_minute FROM tenants.tenant_profiles p LEFT JOIN "
                         "tenants.tenant_subscriptions s ON s.tenant_id = p.tenant_id "
                         "WHERE p.tenant_id = $1",
                         &p, 1, take_tenant, &t, NULL, &err);
    cvg_usage_t usage;
    char today[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms(), today);
    if ((rc == 0 || rc == 1) && t.found)
        rc = cvg_quota_read(wh, tenant, today, &usage, &err);
    gw_whpool_release(req->gw->pool, wh);
    if (rc != 0 && rc != 1) {
        json_decref(t.body);
        gw_resp_error(resp, rc == CVG_ENOTFOUND ? 503 : 500, "unavailable", NULL,
                      "cannot read the tenant: %s", err.message);
        return;
    }
    if (!t.found) {
        json_decref(t.body);
        gw_resp_error(resp, 404, "not_found", "tenant_id", "no tenant %s", tenant);
        return;
    }
    json_t *b = t.body;
    json_int_t daily = json_integer_value(json_object_get(b, "daily_limit"));
    json_int_t monthly = json_integer_value(json_object_get(b, "monthly_limit"));
    json_t *limits =
        json_pack("{s:O, s:O, s:O, s:O}", "daily_pipeline_runs", json_object_get(b, "daily_limit"),
                  "monthly_pipeline_runs", json_object_get(b, "monthly_limit"),
                  "concurrent_pipeline_runs", json_object_get(b, "concurrent_limit"),
                  "requests_per_minute", json_object_get(b, "rate_limit_per_minute"));
    json_t *sub =
        json_pack("{s:O, s:O, s:O, s:O, s:O, s:o}", "plan_name", json_object_get(b, "plan_name"),
                  "status", json_object_get(b, "subscription_status"), "trial_end_date",
                  json_object_get(b, "trial_end_date"), "subscription_start_date",
                  json_object_get(b, "subscription_start_date"), "subscription_end_date",
                  json_object_get(b, "subscription_end_date"), "limits", limits);
    json_t *use = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "date", usage.date, "pipelines_run_today",
        (json_int_t)usage.run_today, "pipelines_run_month", (json_int_t)usage.run_month,
        "pipelines_succeeded_today", (json_int_t)usage.succeeded_today, "pipelines_failed_today",
        (json_int_t)usage.failed_today, "concurrent_pipelines_running", (json_int_t)usage.running,
        "remaining_today", (json_int_t)(daily > usage.run_today ? daily - usage.run_today : 0),
        "remaining_month", (json_int_t)(monthly > usage.run_month ? monthly - usage.run_month : 0));
    json_t *out = json_pack(
        "{s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:o}", "tenant_id", json_object_get(b, "tenant_id"),
        "company_name", json_object_get(b, "company_name"), "admin_email",
        json_object_get(b, "admin_email"), "dataset_id", json_object_get(b, "dataset_id"), "status",
        json_object_get(b, "status"), "created_at", json_object_get(b, "created_at"),
        "subscription", sub, "usage", use);
    json_decref(b);
    gw_resp_json(resp, 200, out);
}
