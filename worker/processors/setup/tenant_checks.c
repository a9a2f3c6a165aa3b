/*
 * Tenant checks (see tenant_checks.h). Input checks first; the warehouse
 * checks that need a valid tenant id, or a bootstrapped system, are counted
 * as failed without an error of their own when that prerequisite failed.
 * The permission checks create a scratch dataset, table and view and drop
 * them again, leaving nothing behind.
 */
#include "worker/processors/setup/tenant_checks.h"
#include "common/central.h"
#include "common/str.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The management tables a new tenant must have no rows in (the run logs
 * may already hold its dry-runs). */
static const char *const managed[] = {
    "tenant_api_keys",
    "tenant_subscriptions",
    "tenant_usage_quotas",
    "tenant_cloud_credentials",
    "tenant_provider_configs",
    "tenant_pipeline_configs",
    "tenant_scheduled_pipeline_runs",
    "tenant_pipeline_execution_queue",
};

void tenant_request_read(const proc_ctx_t *ctx, tenant_request_t *req)
{
    memset(req, 0, sizeof(*req));
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"tenant_id", offsetof(tenant_request_t, tenant_id)},
        {"company_name", offsetof(tenant_request_t, company_name)},
        {"admin_email", offsetof(tenant_request_t, admin_email)},
        {"plan_name", offsetof(tenant_request_t, plan_name)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *v = ctx->params ? cvg_params_get(ctx->params, fields[i].name) : NULL;
        if (v != NULL) /* parameter values are at most CVG_PARAM_VALUE_MAX */
            cvg_str_copy((char *)req + fields[i].offset, CVG_PARAM_VALUE_MAX + 1, v);
    }
}

static void fail(tenant_check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(tenant_check_t *c, const char *fmt, ...)
{
    c->passed = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof(c->error), fmt, ap);
    va_end(ap);
}

/* A check the warehouse could not answer: a system failure. */
static void unanswered(tenant_check_t *c, const char *what, const cvg_err_t *err)
{
    c->kind = CHECK_SYSTEM;
    c->field = NULL; /* nothing the request can change */
    fail(c, "Cannot check %s: %.200s", what, err->message);
}

static int64_t count_rows(cvg_wh_t *wh, const char *table, const char *column, const char *value,
                          cvg_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM tenants.%s WHERE %s = $1", table, column);
    cvg_val_t p = cvg_v_text(value);
    int64_t n = 0;
    if (cvg_wh_query_int(wh, sql, &p, 1, &n, NULL, err) != 0)
        return -1;
    return n;
}

/* Creates and drops a scratch dataset with a table and a view. */
static void permission_checks(const proc_ctx_t *ctx, tenant_check_t *ds, tenant_check_t *table,
                              tenant_check_t *view)
{
    char scratch[CVG_DATASET_MAX], id[CVG_ID_LEN];
    cvg_id_new(id);
    snprintf(scratch, sizeof(scratch), "cvg_dryrun_%.8s%.4s", id + 24, id + 9);
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_dataset_create(ctx->wh, scratch, &err) != 0) {
        fail(ds, "Warehouse refused to create a dataset: %.200s", err.message);
        fail(table, "%s", "");
        fail(view, "%s", "");
        return;
    }
    ds->passed = true;
    json_t *doc = json_loads("[{\"name\":\"probe\",\"type\":\"STRING\"}]", 0, NULL);
    cvg_schema_t s;
    int rc = cvg_schema_parse(doc, "probe", &s, &err);
    json_decref(doc);
    if (rc == 0) {
        rc = cvg_wh_table_create(ctx->wh, scratch, &s, &err);
        cvg_schema_cleanup(&s);
    }
    if (rc != 0) {
        fail(table, "Warehouse refused to create a table: %.200s", err.message);
        fail(view, "%s", "");
    } else {
        table->passed = true;
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT probe FROM %s.probe", scratch);
        if (cvg_wh_view_create(ctx->wh, scratch, "probe_view", sql, NULL, &err) != 0)
            fail(view, "Warehouse refused to create a view: %.200s", err.message);
        else
            view->passed = true;
    }
    if (cvg_wh_dataset_drop(ctx->wh, scratch, &err) != 0)
        fail(ds, "Scratch dataset %s could not be removed: %.200s", scratch, err.message);
}

int tenant_checks_run(const proc_ctx_t *ctx, tenant_request_t *req,
                      tenant_check_t checks[TENANT_CHECKS])
{
    static const struct {
        const char *name;
        const char *field;
        check_kind_t kind;
    } defs[TENANT_CHECKS] = {
        {"tenant_id_format", "tenant_id", CHECK_INVALID},
        {"company_name", "company_name", CHECK_INVALID},
        {"admin_email_format", "admin_email", CHECK_INVALID},
        {"admin_email_domain", "admin_email", CHECK_INVALID},
        {"plan_name", "plan_name", CHECK_INVALID},
        {"system_bootstrapped", NULL, CHECK_SYSTEM},
        {"tenant_id_available", "tenant_id", CHECK_CONFLICT},
        {"dataset_available", "tenant_id", CHECK_CONFLICT},
        {"no_conflicting_records", "tenant_id", CHECK_CONFLICT},
        {"warehouse_create_dataset", NULL, CHECK_SYSTEM},
        {"warehouse_create_table", NULL, CHECK_SYSTEM},
        {"warehouse_create_view", NULL, CHECK_SYSTEM},
    };
    for (int i = 0; i < TENANT_CHECKS; i++) {
        memset(&checks[i], 0, sizeof(checks[i]));
        checks[i].name = defs[i].name;
        checks[i].field = defs[i].field;
        checks[i].kind = defs[i].kind;
    }
    char why[320];
    /* 1. tenant id */
    req->id_ok = false;
    if (req->tenant_id[0] == '\0')
        fail(&checks[0], "tenant_id is required");
    else if (cvg_tenant_id_check(req->tenant_id, why, sizeof(why)) != 0)
        fail(&checks[0], "%s", why);
    else {
        checks[0].passed = true;
        req->id_ok = true;
        cvg_tenant_dataset(req->tenant_id, req->dataset);
    }
    /* 2. company name (normalised in place) */
    char trimmed[sizeof(req->company_name)];
    if (req->company_name[0] == '\0')
        fail(&checks[1], "company_name is required");
    else if (cvg_company_name_check(req->company_name, trimmed, sizeof(trimmed), why,
                                    sizeof(why)) != 0)
        fail(&checks[1], "%s", why);
    else {
        checks[1].passed = true;
        memcpy(req->company_name, trimmed, strlen(trimmed) + 1);
    }
    /* 3-4. e-mail */
    if (req->admin_email[0] == '\0') {
        fail(&checks[2], "admin_email is required");
        fail(&checks[3], "%s", "");
    } else if (cvg_email_check(req->admin_email, why, sizeof(why)) != 0) {
        fail(&checks[2], "%s", why);
        fail(&checks[3], "%s", "");
    } else {
        checks[2].passed = true;
        if (ctx->email_policy &&
            cvg_email_domain_check(ctx->email_policy, req->admin_email, why, sizeof(why)) != 0)
            fail(&checks[3], "%s", why);
        else
            checks[3].passed = true;
    }
    /* 5. plan */
    if (ctx->plans && cvg_plans_find(ctx->plans, req->plan_name) != NULL) {
        checks[4].passed = true;
    } else {
        char names[256] = "";
        if (ctx->plans)
            cvg_plans_names(ctx->plans, names, sizeof(names));
        char echo[80];
        cvg_tenant_echo(req->plan_name, echo, sizeof(echo));
        if (req->plan_name[0] == '\0')
            fail(&checks[4], "plan_name is required (one of %s)", names);
        else
            fail(&checks[4], "Invalid plan_name '%s' (must be one of %s)", echo, names);
    }
    /* 6. bootstrapped */
    cvg_err_t err;
    cvg_err_clear(&err);
    size_t present = 0;
    if (cvg_central_count(ctx->wh, &present, &err) != 0)
        fail(&checks[5], "Cannot read the central dataset: %.200s", err.message);
    else if (present != CVG_CENTRAL_TABLE_COUNT)
        fail(&checks[5],
             "System is not bootstrapped: %zu of %d central tables present (POST "
             "/api/v1/admin/bootstrap)",
             present, CVG_CENTRAL_TABLE_COUNT);
    else
        checks[5].passed = true;
    /* 7-9. not taken */
    if (req->id_ok && checks[5].passed) {
        /* a warehouse that cannot answer is the system's failure (503), not
         * a conflict of the request's */
        int64_t n = count_rows(ctx->wh, "tenant_profiles", "tenant_id", req->tenant_id, &err);
        if (n < 0)
            unanswered(&checks[6], "the tenant id", &err);
        else if (n > 0)
            fail(&checks[6], "Tenant ID '%s' already exists", req->tenant_id);
        else
            checks[6].passed = true;
        bool exists = false;
        int64_t same = -1;
        if (cvg_wh_dataset_exists(ctx->wh, req->dataset, &exists, &err) != 0 ||
            (same = count_rows(ctx->wh, "tenant_profiles", "dataset_id", req->dataset, &err)) < 0)
            unanswered(&checks[7], "the dataset", &err);
        else if (exists || same != 0)
            fail(&checks[7],
                 "Dataset '%s' is already taken (tenant ids that differ only in - and _ name the "
                 "same dataset)",
                 req->dataset);
        else
            checks[7].passed = true;
        char tables[320] = "";
        bool answered = true;
        for (size_t i = 0; i < sizeof(managed) / sizeof(managed[0]) && answered; i++) {
            int64_t rows = count_rows(ctx->wh, managed[i], "tenant_id", req->tenant_id, &err);
            answered = rows >= 0;
            if (rows > 0) {
                size_t used = strlen(tables);
                snprintf(tables + used, sizeof(tables) - used, "%s%s", used ? ", " : "",
                         managed[i]);
            }
        }
        if (!answered)
            unanswered(&checks[8], "for conflicting records", &err);
        else if (tables[0] != '\0')
            fail(&checks[8], "Conflicting records for tenant '%s' in %s", req->tenant_id, tables);
        else
            checks[8].passed = true;
    }
    /* 10-12. what onboarding will need from the warehouse */
    if (checks[5].passed)
        permission_checks(ctx, &checks[9], &checks[10], &checks[11]);
    int failed = 0;
    for (int i = 0; i < TENANT_CHECKS; i++)
        failed += !checks[i].passed;
    return failed;
}

json_t *tenant_checks_json(const tenant_check_t checks[TENANT_CHECKS])
{
    static const char *kinds[] = {"invalid", "conflict", "system"};
    json_t *list = json_array(), *errors = json_array();
    int passed = 0, failed = 0;
    for (int i = 0; i < TENANT_CHECKS; i++) {
        const tenant_check_t *c = &checks[i];
        json_t *o = json_pack("{s:s, s:s*, s:b, s:s}", "name", c->name, "field", c->field, "passed",
                              c->passed, "kind", kinds[c->kind]);
        if (c->passed) {
            passed++;
        } else if (c->error[0]) {
            /* every failed check names what is wrong */
            failed++;
            json_object_set_new(o, "error", json_string(c->error));
            json_array_append_new(errors, json_string(c->error));
        } else {
            /* not run: a check it depends on failed (and says why) */
            json_object_set_new(o, "skipped", json_true());
        }
        json_array_append_new(list, o);
    }
    return json_pack("{s:o, s:i, s:i, s:o}", "checks", list, "checks_passed", passed,
                     "checks_failed", failed, "errors", errors);
}
