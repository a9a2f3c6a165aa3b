/*
 * The variables of a run (see runvars.h).
 */
#include "worker/runvars.h"
#include "common/tenant.h"
#include "common/time.h"

#include <stdio.h>
#include <string.h>

static int collect_text(void *ud, const cvg_row_t *row)
{
    return row->ncols > 0 && row->vals[0].s ? cvg_strlist_add(ud, row->vals[0].s) : 0;
}

/* The tenant's provider settings become variables. */
static int load_settings(const wrk_env_t *env, const char *tenant, cvg_vars_t *vars, cvg_err_t *err)
{
    cvg_wh_t *wh = env->meta_wh ? env->meta_wh : env->wh;
    if (env->providers == NULL || wh == NULL)
        return 0;
    cvg_val_t t = cvg_v_text(tenant);
    cvg_strlist_t rows = {0};
    int rc =
        cvg_wh_exec(wh, "SELECT settings FROM tenants.tenant_provider_configs WHERE tenant_id = $1",
                    &t, 1, collect_text, &rows, NULL, err);
    for (size_t i = 0; rc == 0 && i < rows.n; i++) {
        json_t *o = json_loads(rows.items[i], 0, NULL);
        const char *key;
        json_t *val;
        json_object_foreach(o, key, val)
        {
            char num[32];
            const char *text = json_string_value(val);
            if (json_is_integer(val)) {
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
                text = num;
            } else if (json_is_boolean(val)) {
                text = json_is_true(val) ? "true" : "false";
            }
            if (text && cvg_providers_owner(env->providers, key))
                cvg_vars_set(vars, key, text, CVG_VAR_SETTING, false);
        }
        json_decref(o);
    }
    cvg_strlist_cleanup(&rows);
    return rc;
}

int wrk_run_vars(const wrk_env_t *env, const wrk_run_t *run, const cvg_pipeline_t *p,
                 cvg_vars_t *vars, cvg_err_t *err)
{
    const char *date = cvg_params_get(run->params, "date");
    char today[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms(), today);
    char dataset[CVG_DATASET_MAX];
    cvg_tenant_dataset(run->tenant_id, dataset);
    cvg_vars_set(vars, "tenant_id", run->tenant_id, CVG_VAR_BUILTIN, false);
    /* where a name is expected ({tenant_id}.table, dataset_type), the
     * tenant's dataset: acme-corp's is acme_corp */
    if (cvg_vars_set_name(vars, "tenant_id", dataset) == CVG_ENOMEM)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    cvg_vars_set(vars, "pipeline_id", p->pipeline_id, CVG_VAR_BUILTIN, false);
    cvg_vars_set(vars, "run_id", run->run_id, CVG_VAR_BUILTIN, false);
    cvg_vars_set(vars, "project_id", env->cfg->project_id, CVG_VAR_BUILTIN, false);
    /* The run so far, for notification steps; the runner updates both
     * before each step. */
    cvg_vars_set(vars, "run_status", "SUCCEEDED", CVG_VAR_BUILTIN, false);
    cvg_vars_set(vars, "run_error", "", CVG_VAR_BUILTIN, false);
    /* The gateway's setup pipelines take their request fields as parameters
     * for their processors alone, checked by the handlers: not variables. */
    for (size_t i = 0; !env->setup_allowed && run->params && i < run->params->n; i++) {
        const char *k = run->params->keys[i], *v = run->params->values[i];
        const cvg_paramdecl_t *d = cvg_paramdecl_find(p->params, p->nparams, k);
        char why[200];
        if (d == NULL)
            return cvg_err_set(err, CVG_EINVAL, k, "parameter %s is not declared by the pipeline",
                               k);
        if (cvg_paramdecl_check(d, v, why, sizeof(why)) != 0)
            return cvg_err_set(err, CVG_EINVAL, k, "parameter %s: %s", k, why);
        if (strcmp(k, "date") != 0)
            cvg_vars_set(vars, k, v, CVG_VAR_PARAM, d->type == CVG_PT_INT);
    }
    cvg_vars_set(vars, "date", date ? date : today, CVG_VAR_BUILTIN, false);
    for (size_t i = 0; i < p->nparams; i++) {
        const cvg_paramdecl_t *d = &p->params[i];
        if (cvg_vars_find(vars, d->name))
            continue;
        if (d->required)
            return cvg_err_set(err, CVG_EINVAL, d->name, "parameter %s is required", d->name);
        if (d->has_default)
            cvg_vars_set(vars, d->name, d->default_value, CVG_VAR_PARAM, d->type == CVG_PT_INT);
    }
    int rc = load_settings(env, run->tenant_id, vars, err);
    if (rc != 0)
        return rc;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)p->variables, key, val)
    {
        char num[32];
        const char *text = cvg_pipeline_variable(p, key, num, sizeof(num));
        cvg_buf_t b, name;
        cvg_buf_init(&b, 4096);
        cvg_buf_init(&name, 4096);
        rc = cvg_vars_expand(vars, text, &b, err);
        if (rc == 0)
            rc = cvg_vars_expand_name(vars, text, &name, err);
        int set = rc;
        if (rc == 0)
            set = cvg_vars_set(vars, key, cvg_buf_cstr(&b), CVG_VAR_PIPELINE, json_is_integer(val));
        /* a variable made of {tenant_id} names the dataset too */
        if (set == 0 && cvg_vars_find(vars, key)->source == CVG_VAR_PIPELINE)
            set = cvg_vars_set_name(vars, key, cvg_buf_cstr(&name));
        cvg_buf_cleanup(&b);
        cvg_buf_cleanup(&name);
        if (rc != 0)
            return rc;
        if (set == CVG_ENOMEM)
            return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    }
    return 0;
}
