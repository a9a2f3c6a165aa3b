/*
 * The runner (see runner.h). Steps run in order; a failed step fails the
 * run unless it has continue_on_failure, after which only on_failure and
 * always steps run. Every state change is an event to the logger.
 */
#include "worker/runner.h"
#include "common/log.h"
#include "common/time.h"
#include "worker/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMIT_TIMEOUT_MS 30000

/* Fills the fields every event of this run shares. */
static void event_base(cvg_event_t *ev, cvg_event_kind_t kind, const wrk_env_t *env,
                       const wrk_run_t *run, const cvg_pipeline_t *p)
{
    cvg_event_init(ev, kind);
    snprintf(ev->run_id, sizeof(ev->run_id), "%s", run->run_id);
    snprintf(ev->tenant_id, sizeof(ev->tenant_id), "%s", run->tenant_id);
    snprintf(ev->pipeline_id, sizeof(ev->pipeline_id), "%s", p->pipeline_id);
    snprintf(ev->pipeline, sizeof(ev->pipeline), "%s", p->path);
    snprintf(ev->trigger_type, sizeof(ev->trigger_type), "%s",
             run->trigger_type ? run->trigger_type : "");
    snprintf(ev->triggered_by, sizeof(ev->triggered_by), "%s",
             run->triggered_by ? run->triggered_by : "");
    snprintf(ev->worker_id, sizeof(ev->worker_id), "%s", env->worker_id);
    ev->attempt = run->attempt > 0 ? run->attempt : 1;
}

static void emit(const wrk_env_t *env, cvg_event_t *ev)
{
    if (env->emitter != NULL) {
        int rc = cvg_emitter_send(env->emitter, ev, EMIT_TIMEOUT_MS);
        if (rc == CVG_ETOOBIG) {
            /* A result or error too large for one message: keep the event,
             * say what was cut. */
            size_t detail = ev->detail ? strlen(ev->detail) : 0;
            free(ev->detail);
            ev->detail = NULL;
            char note[128];
            snprintf(note, sizeof(note), "{\"truncated\":true,\"detail_bytes\":%zu}", detail);
            ev->detail = strdup(note);
            if (ev->error && strlen(ev->error) > 4096)
                ev->error[4096] = '\0';
            rc = cvg_emitter_send(env->emitter, ev, EMIT_TIMEOUT_MS);
        }
        if (rc != 0) {
            cvg_log_ctx_t lc = {.tenant_id = ev->tenant_id, .run_id = ev->run_id};
            cvg_error(&lc, "event %s (%s) not queued for the logger: %s", ev->id,
                      cvg_event_kind_name(ev->kind), cvg_strerror(rc));
        }
    }
    cvg_event_cleanup(ev);
}

static char *params_json(const cvg_params_t *params)
{
    json_t *o = json_object();
    for (size_t i = 0; params && i < params->n; i++)
        json_object_set_new(o, params->keys[i], json_string(params->values[i]));
    json_t *wrap = json_pack("{s:o}", "parameters", o);
    char *s = json_dumps(wrap, JSON_COMPACT);
    json_decref(wrap);
    return s;
}

typedef struct refcheck {
    const wrk_env_t *env;
    const cvg_pipeline_t *p;
    cvg_errlist_t *errs;
} refcheck_t;

/* A step may use built-ins, declared parameters, pipeline variables and
 * the settings of any provider. */
static void check_ref(void *ud, const char *name, const char *path)
{
    refcheck_t *r = ud;
    if (cvg_vars_is_builtin(name) || cvg_paramdecl_find(r->p->params, r->p->nparams, name) ||
        json_object_get(r->p->variables, name) ||
        (r->env->providers && cvg_providers_owner(r->env->providers, name)))
        return;
    cvg_errlist_add(r->errs, CVG_EINVAL, path,
                    "%s: unknown variable {%s} (not a built-in, a declared parameter, a "
                    "variable of the pipeline or a provider setting)",
                    path, name);
}

int wrk_runner_validate(const wrk_env_t *env, const cvg_pipeline_t *p, cvg_errlist_t *errs)
{
    size_t before = errs->n + errs->dropped;
    refcheck_t rc = {env, p, errs};
    for (size_t i = 0; i < p->nsteps; i++) {
        const cvg_step_t *st = &p->steps[i];
        char path[64];
        snprintf(path, sizeof(path), "steps[%zu]", i);
        const proc_def_t *def = wrk_registry_find(st->ps_type);
        if (def == NULL) {
            cvg_errlist_add(errs, CVG_EINVAL, path, "%s.ps_type: unknown processor '%s'", path,
                            st->ps_type);
            continue;
        }
        if (def->setup_only && !env->setup_allowed) {
            cvg_errlist_add(errs, CVG_EINVAL, path,
                            "%s.ps_type: %s runs only in setup pipelines of the gateway", path,
                            st->ps_type);
            continue;
        }
        cvg_err_t err;
        cvg_err_clear(&err);
        const cvg_psschema_t *schema = wrk_registry_schema(def, env->cfg->templates_dir, &err);
        if (schema == NULL) {
            cvg_errlist_add(errs, CVG_ECONFIG, path, "%s.ps_type: the schema of %s: %s", path,
                            st->ps_type, err.message);
            continue;
        }
        /* Cross-field rules only once every field is known to be well typed. */
        if (cvg_psschema_check(schema, st->config, path, check_ref, &rc, errs) == 0 &&
            def->validate)
            def->validate(st->config, path, errs);
    }
    return (int)(errs->n + errs->dropped - before);
}

static int collect_text(void *ud, const cvg_row_t *row)
{
    return row->ncols > 0 && row->vals[0].s ? cvg_strlist_add(ud, row->vals[0].s) : 0;
}

typedef struct emit_ctx {
    const wrk_env_t *env;
    const wrk_run_t *run;
    const cvg_pipeline_t *p;
} emit_ctx_t;

static void emit_dq(void *ud, const proc_ctx_t *ctx, json_t *detail)
{
    emit_ctx_t *e = ud;
    cvg_event_t ev;
    event_base(&ev, CVG_EV_DQ_RESULT, e->env, e->run, e->p);
    snprintf(ev.status, sizeof(ev.status), "%s",
             json_is_true(json_object_get(detail, "passed")) ? "PASSED" : "FAILED");
    snprintf(ev.step_id, sizeof(ev.step_id), "%s", ctx->step_id);
    snprintf(ev.step_log_id, sizeof(ev.step_log_id), "%s", ctx->step_log_id);
    ev.step_index = ctx->step_index;
    ev.detail = json_dumps(detail, JSON_COMPACT);
    emit(e->env, &ev);
}

/* The step as its processor sees it (defaults, variables). */
static int resolve_step(const wrk_env_t *env, const proc_def_t *def, const cvg_step_t *st, size_t i,
                        const cvg_vars_t *vars, json_t **out, proc_result_t *res)
{
    cvg_err_t err;
    cvg_err_clear(&err);
    const cvg_psschema_t *schema = wrk_registry_schema(def, env->cfg->templates_dir, &err);
    if (schema == NULL)
        return proc_fail(res, CVG_ECONFIG, "the schema of %s: %s", st->ps_type, err.message);
    char path[64];
    snprintf(path, sizeof(path), "steps[%zu]", i);
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    if (errs == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    *out = cvg_psschema_resolve(schema, st->config, vars, path, errs);
    int rc = 0;
    if (*out == NULL)
        rc = proc_fail(res, CVG_EINVAL, "%s",
                       errs->n ? errs->items[0].message : "the step could not be resolved");
    free(errs);
    return rc;
}

static bool should_run(const cvg_step_t *st, bool failed)
{
    switch (st->trigger) {
    case CVG_TRIGGER_ON_FAILURE:
        return failed;
    case CVG_TRIGGER_ALWAYS:
        return true;
    default:
        return !failed;
    }
}

/* The tenant's provider settings become variables. */
static int load_settings(const wrk_env_t *env, const char *tenant, cvg_vars_t *vars, cvg_err_t *err)
{
    if (env->providers == NULL || env->wh == NULL)
        return 0;
    cvg_val_t t = cvg_v_text(tenant);
    cvg_strlist_t rows = {0};
    int rc = cvg_wh_exec(
        env->wh, "SELECT settings FROM tenants.tenant_provider_configs WHERE tenant_id = $1", &t, 1,
        collect_text, &rows, NULL, err);
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

/* Built-ins, parameters (declared ones only, defaults filled in), settings
 * and the pipeline's variables. */
static int build_vars(const wrk_env_t *env, const wrk_run_t *run, const cvg_pipeline_t *p,
                      cvg_vars_t *vars, cvg_err_t *err)
{
    const char *date = cvg_params_get(run->params, "date");
    char today[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms(), today);
    cvg_vars_set(vars, "tenant_id", run->tenant_id, CVG_VAR_BUILTIN, false);
    cvg_vars_set(vars, "pipeline_id", p->pipeline_id, CVG_VAR_BUILTIN, false);
    cvg_vars_set(vars, "run_id", run->run_id, CVG_VAR_BUILTIN, false);
    cvg_vars_set(vars, "project_id", env->cfg->project_id, CVG_VAR_BUILTIN, false);
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
        cvg_buf_t b;
        cvg_buf_init(&b, 4096);
        rc = cvg_vars_expand(vars, cvg_pipeline_variable(p, key, num, sizeof(num)), &b, err);
        if (rc == 0)
            cvg_vars_set(vars, key, cvg_buf_cstr(&b), CVG_VAR_PIPELINE, json_is_integer(val));
        cvg_buf_cleanup(&b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int wrk_runner_run(const wrk_env_t *env, const wrk_run_t *run, const cvg_pipeline_t *p,
                   wrk_outcome_t *out)
{
    memset(out, 0, sizeof(*out));
    out->steps = json_array();
    if (out->steps == NULL)
        return CVG_ENOMEM;
    cvg_log_ctx_t lc = {
        .tenant_id = run->tenant_id, .pipeline_id = p->pipeline_id, .run_id = run->run_id};
    int64_t start = cvg_time_now_ms(), t0 = cvg_time_mono_ms();

    cvg_event_t ev;
    event_base(&ev, CVG_EV_RUN_STARTED, env, run, p);
    snprintf(ev.status, sizeof(ev.status), "RUNNING");
    ev.start_ms = start;
    ev.detail = params_json(run->params);
    emit(env, &ev);
    cvg_info(&lc, "run started (%zu steps)", p->nsteps);

    bool failed = false, cancelled = false, unstartable = false;
    emit_ctx_t ectx = {env, run, p};
    cvg_vars_t vars = {0};
    cvg_err_t verr;
    cvg_err_clear(&verr);
    if (build_vars(env, run, p, &vars, &verr) != 0) {
        snprintf(out->error, sizeof(out->error), "the run cannot start: %.900s", verr.message);
        cvg_warn(&lc, "%s", out->error);
        failed = unstartable = true;
    }
    for (size_t i = 0; i < p->nsteps; i++) {
        const cvg_step_t *st = &p->steps[i];
        lc.step_id = st->step_id;
        json_t *summary = json_pack("{s:s, s:s}", "step_id", st->step_id, "ps_type", st->ps_type);
        if (env->cancel && *env->cancel)
            cancelled = true;
        if (cancelled || unstartable || !should_run(st, failed)) {
            json_object_set_new(summary, "status", json_string("SKIPPED"));
            json_array_append_new(out->steps, summary);
            event_base(&ev, CVG_EV_STEP_FINISHED, env, run, p);
            snprintf(ev.status, sizeof(ev.status), "SKIPPED");
            snprintf(ev.step_id, sizeof(ev.step_id), "%s", st->step_id);
            snprintf(ev.ps_type, sizeof(ev.ps_type), "%s", st->ps_type);
            cvg_id_new(ev.step_log_id);
            ev.step_index = (int)i;
            emit(env, &ev);
            continue;
        }
        char step_log_id[CVG_ID_LEN];
        cvg_id_new(step_log_id);
        int64_t sstart = cvg_time_now_ms(), s0 = cvg_time_mono_ms();
        event_base(&ev, CVG_EV_STEP_STARTED, env, run, p);
        snprintf(ev.status, sizeof(ev.status), "RUNNING");
        snprintf(ev.step_id, sizeof(ev.step_id), "%s", st->step_id);
        snprintf(ev.ps_type, sizeof(ev.ps_type), "%s", st->ps_type);
        memcpy(ev.step_log_id, step_log_id, sizeof(step_log_id));
        ev.step_index = (int)i;
        ev.start_ms = sstart;
        emit(env, &ev);

        proc_result_t res = {.rows = -1};
        const proc_def_t *def = wrk_registry_find(st->ps_type);
        int rc;
        json_t *step_cfg = NULL;
        if (def == NULL)
            rc = proc_fail(&res, CVG_EINVAL, "unknown processor '%s'", st->ps_type);
        else if (def->setup_only && !env->setup_allowed)
            rc = proc_fail(&res, CVG_EINVAL, "%s runs only in the gateway", st->ps_type);
        else if ((rc = resolve_step(env, def, st, i, &vars, &step_cfg, &res)) != 0)
            ; /* res says why */
        else {
            proc_ctx_t ctx = {.wh = env->wh,
                              .cfg = env->cfg,
                              .tenant_id = run->tenant_id,
                              .run_id = run->run_id,
                              .pipeline_id = p->pipeline_id,
                              .step_id = st->step_id,
                              .params = run->params,
                              .vars = &vars,
                              .step_log_id = step_log_id,
                              .step_index = (int)i,
                              .emit_dq = emit_dq,
                              .emit_ud = &ectx,
                              .triggered_by = run->triggered_by,
                              .cancel = env->cancel,
                              .keys = env->keys,
                              .plans = env->plans,
                              .email_policy = env->email_policy,
                              .secret_out = env->secret_out,
                              .secret_out_size = env->secret_out_size};
            rc = def->run(&ctx, step_cfg, &res);
        }
        json_decref(step_cfg);
        const char *status = rc == 0 ? "SUCCEEDED" : rc == CVG_ECANCELED ? "CANCELLED" : "FAILED";
        int64_t send = cvg_time_now_ms(), dur = cvg_time_mono_ms() - s0;
        if (rc != 0 && res.error[0] == '\0')
            snprintf(res.error, sizeof(res.error), "%s", cvg_strerror(rc));

        event_base(&ev, CVG_EV_STEP_FINISHED, env, run, p);
        snprintf(ev.status, sizeof(ev.status), "%s", status);
        snprintf(ev.step_id, sizeof(ev.step_id), "%s", st->step_id);
        snprintf(ev.ps_type, sizeof(ev.ps_type), "%s", st->ps_type);
        memcpy(ev.step_log_id, step_log_id, sizeof(step_log_id));
        ev.step_index = (int)i;
        ev.start_ms = sstart;
        ev.end_ms = send;
        ev.rows = res.rows;
        if (rc != 0)
            ev.error = strdup(res.error);
        if (res.detail)
            ev.detail = json_dumps(res.detail, JSON_COMPACT);
        emit(env, &ev);

        json_object_set_new(summary, "status", json_string(status));
        json_object_set_new(summary, "duration_ms", json_integer(dur));
        if (res.rows >= 0) {
            json_object_set_new(summary, "rows", json_integer(res.rows));
            out->rows += res.rows;
        }
        if (rc != 0) {
            json_object_set_new(summary, "error", json_string(res.error));
            json_object_set_new(summary, "code", json_integer(rc));
        }
        if (res.detail)
            json_object_set_new(summary, "result", res.detail);
        json_array_append_new(out->steps, summary);

        if (rc == CVG_ECANCELED) {
            cancelled = true;
        } else if (rc != 0) {
            cvg_warn(&lc, "step failed: %s", res.error);
            if (!st->continue_on_failure) {
                if (!failed)
                    snprintf(out->error, sizeof(out->error), "step %s failed: %.800s", st->step_id,
                             res.error);
                failed = true;
            }
        } else {
            cvg_info(&lc, "step succeeded in %lld ms", (long long)dur);
        }
    }
    lc.step_id = NULL;
    cvg_vars_cleanup(&vars);
    snprintf(out->status, sizeof(out->status), "%s",
             cancelled ? "CANCELLED"
             : failed  ? "FAILED"
                       : "SUCCEEDED");
    out->duration_ms = cvg_time_mono_ms() - t0;

    event_base(&ev, CVG_EV_RUN_FINISHED, env, run, p);
    snprintf(ev.status, sizeof(ev.status), "%s", out->status);
    ev.start_ms = start;
    ev.end_ms = start + out->duration_ms;
    ev.rows = out->rows;
    if (out->error[0])
        ev.error = strdup(out->error);
    /* The parameters travel again so the run log has them even when the
     * started event is applied after this one. */
    char *params = params_json(run->params);
    json_t *detail = json_loads(params, 0, NULL);
    json_object_set(detail, "steps", out->steps);
    ev.detail = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    free(params);
    emit(env, &ev);
    cvg_info(&lc, "run %s in %lld ms", out->status, (long long)out->duration_ms);
    return 0;
}

void wrk_outcome_cleanup(wrk_outcome_t *out)
{
    json_decref(out->steps);
    out->steps = NULL;
}
