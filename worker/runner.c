/*
 * The runner (see runner.h). Steps run in order; a failed step fails the
 * run unless it has continue_on_failure, after which only on_failure and
 * always steps run. Every state change is an event to the logger.
 */
#include "worker/runner.h"
#include "worker/destination.h"
#include "common/log.h"
#include "common/str.h"
#include "common/id.h"
#include "common/tenant.h"
#include "common/time.h"
#include "worker/registry.h"
#include "worker/runvars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMIT_TIMEOUT_MS        30000
#define WRK_DEFAULT_TIMEOUT_MS (30 * 60000) /* a step without timeout_minutes */

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
    ev->run_attempt = ev->attempt; /* a step event sets attempt to the step's */
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

/* A parameter's value as JSON: an int parameter's as the number it is. */
static json_t *param_value(const cvg_pipeline_t *p, const char *name, const char *value)
{
    const cvg_paramdecl_t *d = cvg_paramdecl_find(p->params, p->nparams, name);
    int64_t n;
    if (d != NULL && d->type == CVG_PT_INT && cvg_parse_int64(value, INT64_MIN, INT64_MAX, &n) == 0)
        return json_integer(n);
    return json_string(value);
}

/* The run's parameters as it used them, for the run log: those given,
 * then, once its variables are built (vars not NULL), every declared one
 * it took by default, `date` included. */
static char *params_json(const wrk_run_t *run, const cvg_pipeline_t *p, const cvg_vars_t *vars)
{
    json_t *o = json_object();
    for (size_t i = 0; run->params && i < run->params->n; i++)
        json_object_set_new(o, run->params->keys[i],
                            param_value(p, run->params->keys[i], run->params->values[i]));
    for (size_t i = 0; vars && i < p->nparams; i++) {
        const cvg_var_t *v = cvg_vars_find(vars, p->params[i].name);
        if (v != NULL && json_object_get(o, v->name) == NULL)
            json_object_set_new(o, v->name, param_value(p, v->name, v->value));
    }
    json_t *wrap = json_pack("{s:o}", "parameters", o);
    char *s = json_dumps(wrap, JSON_COMPACT);
    json_decref(wrap);
    return s;
}

typedef struct refcheck {
    const wrk_env_t *env;
    const cvg_pipeline_t *p;
    cvg_errlist_t *errs;
    cvg_strlist_t *settings; /* provider settings used, or NULL */
} refcheck_t;

/* A step may use built-ins, declared parameters, pipeline variables and
 * the settings of any provider. */
static void check_ref(void *ud, const char *name, const char *path)
{
    refcheck_t *r = ud;
    if (cvg_vars_is_builtin(name) || cvg_paramdecl_find(r->p->params, r->p->nparams, name) ||
        json_object_get(r->p->variables, name))
        return;
    if (r->env->providers && cvg_providers_owner(r->env->providers, name)) {
        bool seen = false;
        for (size_t i = 0; r->settings && i < r->settings->n && !seen; i++)
            seen = strcmp(r->settings->items[i], name) == 0;
        if (r->settings && !seen)
            cvg_strlist_add(r->settings, name);
        return;
    }
    cvg_errlist_add(r->errs, CVG_EINVAL, path,
                    "%s: unknown variable {%s} (not a built-in, a declared parameter, a "
                    "variable of the pipeline or a provider setting)",
                    path, name);
}

int wrk_runner_validate(const wrk_env_t *env, const cvg_pipeline_t *p, cvg_errlist_t *errs)
{
    return wrk_runner_validate_ex(env, p, errs, NULL);
}

int wrk_runner_validate_ex(const wrk_env_t *env, const cvg_pipeline_t *p, cvg_errlist_t *errs,
                           cvg_strlist_t *settings)
{
    size_t before = errs->n + errs->dropped;
    refcheck_t rc = {env, p, errs, settings};
    for (size_t i = 0; i < p->nsteps; i++) {
        const cvg_step_t *st = &p->steps[i];
        if (st->config == NULL || st->ps_type[0] == '\0')
            continue; /* not a mapping, or no ps_type: said when it was read */
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
        /* Cross-field rules only once every field is known to be well typed,
         * unless the processor's own check copes with any. */
        if ((cvg_psschema_check(schema, st->config, path, check_ref, &rc, errs) == 0 ||
             def->validate_always) &&
            def->validate)
            def->validate(st->config, path, errs);
        if (json_object_get(schema->fields, "destination") != NULL)
            wrk_dest_check_template(env->cfg->templates_dir, st->ps_type, st->config, path, errs);
    }
    return (int)(errs->n + errs->dropped - before);
}

int wrk_runner_prepare(const wrk_env_t *env, json_t *doc, const char *path, cvg_pipeline_t *out,
                       cvg_errlist_t *errs, cvg_err_t *err, cvg_strlist_t *settings)
{
    int rc = cvg_pipeline_parse(doc, path, out, errs, err);
    if (rc == 0 || rc == CVG_EINVAL) {
        /* the steps too, whatever the root's errors: all of them at once */
        wrk_runner_validate_ex(env, out, errs, settings);
        rc = errs->n > 0 ? CVG_EINVAL : 0;
        if (rc != 0 && err != NULL) {
            *err = errs->items[0];
            err->code = CVG_EINVAL;
        }
    }
    if (rc != 0)
        cvg_pipeline_cleanup(out);
    return rc;
}

int wrk_runner_load(const wrk_env_t *env, const char *path, cvg_pipeline_t *out,
                    cvg_errlist_t *errs, cvg_err_t *err, cvg_strlist_t *settings)
{
    memset(out, 0, sizeof(*out));
    json_t *doc = NULL;
    int rc = cvg_pipeline_read(env->cfg->config_dir, path, &doc, errs, err);
    if (rc == 0)
        rc = wrk_runner_prepare(env, doc, path, out, errs, err, settings);
    json_decref(doc);
    return rc;
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
    /* 15 digits: a measure of 821.8 reads 821.8, not 821.79999999999995 */
    ev.detail = json_dumps(detail, JSON_COMPACT | JSON_REAL_PRECISION(15));
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
    cvg_errlist_t *errs = cvg_errlist_new();
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

/* One run of the steps, shared by every attempt of a step. */
typedef struct runstate {
    const wrk_env_t *env;
    const wrk_run_t *run;
    const cvg_pipeline_t *p;
    cvg_vars_t vars;
    emit_ctx_t ectx;
    cvg_log_ctx_t lc;
} runstate_t;

static void step_event(const runstate_t *rs, cvg_event_t *ev, cvg_event_kind_t kind, size_t i,
                       const char *status, const char *step_log_id, int attempt)
{
    const cvg_step_t *st = &rs->p->steps[i];
    event_base(ev, kind, rs->env, rs->run, rs->p);
    snprintf(ev->status, sizeof(ev->status), "%s", status);
    snprintf(ev->step_id, sizeof(ev->step_id), "%s", st->step_id);
    snprintf(ev->ps_type, sizeof(ev->ps_type), "%s", st->ps_type);
    snprintf(ev->step_log_id, sizeof(ev->step_log_id), "%s", step_log_id);
    ev->step_index = (int)i;
    ev->attempt = attempt;
}

/* Errors a retry may cure: the processor says so, or the kind says so. */
static bool transient(int rc, const proc_result_t *res)
{
    return res->transient || rc == CVG_EBUSY || rc == CVG_EIO;
}

/* retry_delay_seconds doubled per attempt, at most an hour, +-20% jitter. */
static int64_t backoff_ms(const cvg_step_t *st, int attempt)
{
    int64_t ms = (int64_t)st->retry_delay_seconds * 1000;
    for (int i = 1; i < attempt && ms < 3600000; i++)
        ms *= 2;
    if (ms > 3600000)
        ms = 3600000;
    uint32_t r = 0;
    cvg_random_bytes(&r, sizeof(r));
    int64_t jitter = ms / 5;
    return jitter > 0 ? ms - jitter + (int64_t)(r % (uint32_t)(2 * jitter + 1)) : ms;
}

/* Waits ms unless the run is cancelled meanwhile; false when it is. */
static bool wait_retry(const wrk_env_t *env, int64_t ms)
{
    int64_t end = cvg_time_mono_ms() + ms;
    while (cvg_time_mono_ms() < end) {
        if (env->cancel && *env->cancel)
            return false;
        int64_t left = end - cvg_time_mono_ms();
        cvg_time_sleep_ms(left < 100 ? left : 100);
    }
    return !(env->cancel && *env->cancel);
}

/* Runs step i, with its retries; fills summary; returns its final status
 * and the last result code. */
static const char *run_step(runstate_t *rs, size_t i, json_t *summary, proc_result_t *last,
                            int *last_rc)
{
    const wrk_env_t *env = rs->env;
    const cvg_step_t *st = &rs->p->steps[i];
    const proc_def_t *def = wrk_registry_find(st->ps_type);
    int attempts = 1 + st->max_retries;
    int64_t timeout_ms = st->timeout_ms > 0 ? st->timeout_ms : WRK_DEFAULT_TIMEOUT_MS;
    const char *status = "FAILED";
    json_t *tries = json_array();
    for (int attempt = 1; attempt <= attempts; attempt++) {
        char step_log_id[CVG_ID_LEN];
        cvg_id_new(step_log_id);
        int64_t sstart = cvg_time_now_ms(), s0 = cvg_time_mono_ms();
        int64_t deadline = s0 + timeout_ms;
        cvg_event_t ev;
        step_event(rs, &ev, CVG_EV_STEP_STARTED, i, "RUNNING", step_log_id, attempt);
        ev.start_ms = sstart;
        emit(env, &ev);

        proc_result_t res = {.rows = -1};
        json_t *step_cfg = NULL;
        int rc;
        if (def == NULL)
            rc = proc_fail(&res, CVG_EINVAL, "unknown processor '%s'", st->ps_type);
        else if (def->setup_only && !env->setup_allowed)
            rc = proc_fail(&res, CVG_EINVAL, "%s runs only in the gateway", st->ps_type);
        else if ((rc = resolve_step(env, def, st, i, &rs->vars, &step_cfg, &res)) != 0)
            ; /* res says why */
        else {
            proc_ctx_t ctx = {.wh = env->wh,
                              .cfg = env->cfg,
                              .tenant_id = rs->run->tenant_id,
                              .run_id = rs->run->run_id,
                              .pipeline_id = rs->p->pipeline_id,
                              .step_id = st->step_id,
                              .params = rs->run->params,
                              .vars = &rs->vars,
                              .step_log_id = step_log_id,
                              .step_index = (int)i,
                              .deadline_ms = deadline,
                              .emit_dq = emit_dq,
                              .emit_ud = &rs->ectx,
                              .triggered_by = rs->run->triggered_by,
                              .cancel = env->cancel,
                              .keys = env->keys,
                              .meta_wh = env->meta_wh ? env->meta_wh : env->wh,
                              .plans = env->plans,
                              .email_policy = env->email_policy,
                              .secret_out = env->secret_out,
                              .secret_out_size = env->secret_out_size};
            if (env->wh)
                cvg_wh_set_interrupt(env->wh, deadline, env->cancel);
            rc = def->run(&ctx, step_cfg, &res);
            if (env->wh)
                cvg_wh_set_interrupt(env->wh, 0, NULL);
        }
        json_decref(step_cfg);
        bool timed_out = rc == CVG_ETIMEDOUT && cvg_time_mono_ms() >= deadline;
        if (timed_out && res.error[0] == '\0')
            snprintf(res.error, sizeof(res.error), "the step ran past its time limit");
        if (timed_out) {
            /* the limit, whatever part of the step said it ran past it */
            size_t used = strlen(res.error);
            snprintf(res.error + used, sizeof(res.error) - used, " (timeout_minutes: %g)",
                     (double)timeout_ms / 60000.0);
        }
        status = rc == 0               ? "SUCCEEDED"
                 : rc == CVG_ECANCELED ? "CANCELLED"
                 : timed_out           ? "TIMED_OUT"
                                       : "FAILED";
        if (rc != 0 && res.error[0] == '\0')
            snprintf(res.error, sizeof(res.error), "%s", cvg_strerror(rc));
        if (rc == CVG_ECANCELED && env->cancel && *env->cancel == WRK_CANCEL_STOPPING)
            snprintf(res.error, sizeof(res.error),
                     "stopped: its worker is stopping; the run goes back to the queue");
        bool retry = strcmp(status, "FAILED") == 0 && attempt < attempts && transient(rc, &res);
        int64_t wait = retry ? backoff_ms(st, attempt) : 0;
        if (retry) {
            if (res.detail == NULL)
                res.detail = json_object();
            json_object_set_new(res.detail, "retry_in_ms", json_integer(wait));
        }
        int64_t dur = cvg_time_mono_ms() - s0;
        step_event(rs, &ev, CVG_EV_STEP_FINISHED, i, status, step_log_id, attempt);
        ev.start_ms = sstart;
        ev.end_ms = cvg_time_now_ms();
        ev.rows = res.rows;
        if (rc != 0)
            ev.error = strdup(res.error);
        if (res.detail)
            ev.detail = json_dumps(res.detail, JSON_COMPACT);
        emit(env, &ev);

        json_t *t = json_pack("{s:i, s:s, s:I}", "attempt", attempt, "status", status,
                              "duration_ms", (json_int_t)dur);
        if (rc != 0)
            json_object_set_new(t, "error", json_string(res.error));
        json_array_append_new(tries, t);
        json_object_set_new(summary, "status", json_string(status));
        json_object_set_new(summary, "duration_ms", json_integer(dur));
        json_object_del(summary, "error");
        json_object_del(summary, "result");
        if (res.rows >= 0)
            json_object_set_new(summary, "rows", json_integer(res.rows));
        if (rc != 0) {
            json_object_set_new(summary, "error", json_string(res.error));
            json_object_set_new(summary, "code", json_integer(rc));
        }
        if (res.detail)
            json_object_set_new(summary, "result", res.detail);
        *last = res;
        last->detail = NULL;
        *last_rc = rc;
        if (!retry)
            break;
        cvg_warn(&rs->lc, "step failed (attempt %d of %d), retrying in %lld ms: %s", attempt,
                 attempts, (long long)wait, res.error);
        if (!wait_retry(env, wait)) {
            status = "CANCELLED";
            *last_rc = CVG_ECANCELED;
            break;
        }
    }
    if (json_array_size(tries) > 1)
        json_object_set_new(summary, "attempts", tries);
    else
        json_decref(tries);
    return status;
}

#define RUN_ERROR_VAR_MAX 500 /* bytes of {run_error} */

/* {run_status} and {run_error} for the next step: SUCCEEDED while no step
 * has failed the run, then FAILED or TIMED_OUT and the first failure, on
 * one line (so it fits a Subject) and at most RUN_ERROR_VAR_MAX bytes. */
static void set_run_vars(runstate_t *rs, bool failed, bool timed_out, bool cancelled,
                         const char *error)
{
    char line[RUN_ERROR_VAR_MAX + 1];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)error; *p && n < RUN_ERROR_VAR_MAX; p++)
        line[n++] = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
    /* never end inside a UTF-8 character */
    if (error[n] != '\0') {
        size_t k = n;
        while (k > 0 && ((unsigned char)line[k - 1] & 0xc0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)line[k - 1] >= 0xc0)
            n = k - 1;
    }
    line[n] = '\0';
    cvg_vars_set(&rs->vars, "run_status",
                 cancelled   ? "CANCELLED"
                 : !failed   ? "SUCCEEDED"
                 : timed_out ? "TIMED_OUT"
                             : "FAILED",
                 CVG_VAR_BUILTIN, false);
    cvg_vars_set(&rs->vars, "run_error", line, CVG_VAR_BUILTIN, false);
}

static void emit_skipped(const runstate_t *rs, size_t i)
{
    cvg_event_t ev;
    char id[CVG_ID_LEN];
    cvg_id_new(id);
    step_event(rs, &ev, CVG_EV_STEP_FINISHED, i, "SKIPPED", id, 1);
    emit(rs->env, &ev);
}

/* A tenant run reaches its own dataset only (and, through the stored
 * comprehensive view, its rows of the central logs). */
static int confine(const wrk_env_t *env, const char *tenant, cvg_err_t *err)
{
    if (env->setup_allowed || env->wh == NULL)
        return 0;
    char ds[CVG_DATASET_MAX];
    cvg_tenant_dataset(tenant, ds);
    const char *only[] = {ds, NULL};
    cvg_wh_use(env->wh, "tenants", NULL); /* the view's own reads stay reachable */
    return cvg_wh_restrict(env->wh, only, err);
}

int wrk_runner_run(const wrk_env_t *env, const wrk_run_t *run, const cvg_pipeline_t *p,
                   wrk_outcome_t *out)
{
    memset(out, 0, sizeof(*out));
    out->steps = json_array();
    if (out->steps == NULL)
        return CVG_ENOMEM;
    runstate_t rs = {.env = env, .run = run, .p = p};
    rs.ectx = (emit_ctx_t){env, run, p};
    rs.lc = (cvg_log_ctx_t){
        .tenant_id = run->tenant_id, .pipeline_id = p->pipeline_id, .run_id = run->run_id};
    int64_t start = cvg_time_now_ms(), t0 = cvg_time_mono_ms();

    bool failed = false, cancelled = false, timed_out = false, unstartable = false;
    /* the worker's stop interrupted or kept back a step that was to run */
    bool left_undone = false;
    cvg_err_t verr;
    cvg_err_clear(&verr);
    bool vars_built = wrk_run_vars(env, run, p, &rs.vars, &verr) == 0;
    if (!vars_built || confine(env, run->tenant_id, &verr) != 0) {
        snprintf(out->error, sizeof(out->error), "the run cannot start: %.900s", verr.message);
        failed = unstartable = true;
    }
    /* the parameters it runs with, defaults and date included, for the
     * started event and again the finished one */
    char *params = params_json(run, p, vars_built ? &rs.vars : NULL);

    cvg_event_t ev;
    event_base(&ev, CVG_EV_RUN_STARTED, env, run, p);
    snprintf(ev.status, sizeof(ev.status), "RUNNING");
    ev.start_ms = start;
    ev.detail = params ? strdup(params) : NULL;
    emit(env, &ev);
    cvg_info(&rs.lc, "run started (%zu steps)", p->nsteps);
    if (unstartable)
        cvg_warn(&rs.lc, "%s", out->error);
    for (size_t i = 0; i < p->nsteps; i++) {
        const cvg_step_t *st = &p->steps[i];
        rs.lc.step_id = st->step_id;
        json_t *summary = json_pack("{s:s, s:s}", "step_id", st->step_id, "ps_type", st->ps_type);
        int why = env->cancel ? *env->cancel : 0;
        if (why == WRK_CANCEL_REQUESTED)
            cancelled = true;
        /* A cancel request skips the steps left but the `always` ones,
         * which run unstoppable but for their own time limit (cleanup,
         * notices); a stopping worker runs none, and a step it keeps back
         * that was to run leaves the run unfinished. */
        bool wanted = !unstartable && should_run(st, failed);
        bool after_cancel = cancelled && st->trigger == CVG_TRIGGER_ALWAYS;
        if (why == WRK_CANCEL_STOPPING || (cancelled && !after_cancel) || !wanted) {
            left_undone |= why == WRK_CANCEL_STOPPING && !cancelled && wanted;
            json_object_set_new(summary, "status", json_string("SKIPPED"));
            json_array_append_new(out->steps, summary);
            emit_skipped(&rs, i);
            continue;
        }
        set_run_vars(&rs, failed, timed_out, cancelled, out->error);
        proc_result_t res = {.rows = -1};
        int rc = 0;
        wrk_env_t uncancelled;
        if (after_cancel) {
            uncancelled = *env;
            uncancelled.cancel = NULL;
            rs.env = &uncancelled;
        }
        const char *status = run_step(&rs, i, summary, &res, &rc);
        rs.env = env;
        json_array_append_new(out->steps, summary);
        if (res.rows >= 0 && rc == 0)
            out->rows += res.rows;
        if (strcmp(status, "CANCELLED") == 0) {
            /* by which of the two: the flag says */
            if (env->cancel && *env->cancel == WRK_CANCEL_STOPPING)
                left_undone = true;
            else
                cancelled = true;
        } else if (rc != 0) {
            cvg_warn(&rs.lc, "step %s: %s", status, res.error);
            if (!st->continue_on_failure) {
                if (!failed)
                    snprintf(out->error, sizeof(out->error), "step %s %s: %.800s", st->step_id,
                             strcmp(status, "TIMED_OUT") == 0 ? "timed out" : "failed", res.error);
                timed_out |= !failed && strcmp(status, "TIMED_OUT") == 0;
                failed = true;
            }
        } else {
            cvg_info(&rs.lc, "step succeeded");
        }
    }
    rs.lc.step_id = NULL;
    if (!env->setup_allowed && env->wh)
        cvg_wh_restrict(env->wh, NULL, NULL);
    cvg_vars_cleanup(&rs.vars);
    /* Handed back only while the run's outcome is still open: a run that
     * already failed (its on_failure steps cut short) or was cancelled ends
     * so, and one whose stop kept back nothing it needed ends as it went. */
    bool handed_back = left_undone && !failed && !cancelled;
    snprintf(out->status, sizeof(out->status), "%s",
             handed_back ? "RETRYING"
             : cancelled ? "CANCELLED"
             : timed_out ? "TIMED_OUT"
             : failed    ? "FAILED"
                         : "SUCCEEDED");
    out->duration_ms = cvg_time_mono_ms() - t0;
    if (cancelled && !handed_back && out->error[0] == '\0')
        snprintf(out->error, sizeof(out->error), "cancelled while it ran");
    if (handed_back) {
        /* not over: the scheduler queues it again and says so */
        snprintf(out->error, sizeof(out->error), "its worker stopped before the run ended");
        cvg_info(&rs.lc, "run handed back after %lld ms: its worker is stopping",
                 (long long)out->duration_ms);
        free(params);
        return 0;
    }

    event_base(&ev, CVG_EV_RUN_FINISHED, env, run, p);
    snprintf(ev.status, sizeof(ev.status), "%s", out->status);
    ev.start_ms = start;
    ev.end_ms = start + out->duration_ms;
    ev.rows = out->rows;
    if (out->error[0])
        ev.error = strdup(out->error);
    /* The parameters travel again so the run log has them even when the
     * started event is applied after this one. */
    json_t *detail = params ? json_loads(params, 0, NULL) : json_object();
    json_object_set(detail, "steps", out->steps);
    ev.detail = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    free(params);
    emit(env, &ev);
    cvg_info(&rs.lc, "run %s in %lld ms", out->status, (long long)out->duration_ms);
    return 0;
}

void wrk_outcome_cleanup(wrk_outcome_t *out)
{
    json_decref(out->steps);
    out->steps = NULL;
}
