/*
 * The runner: executes one pipeline run step by step through the processor
 * registry and reports it as run and step events. Used by the worker for
 * queued runs and by the gateway for the synchronous setup pipelines.
 */
#ifndef WRK_RUNNER_H
#define WRK_RUNNER_H

#include "common/config.h"
#include "common/emitter.h"
#include "common/keyring.h"
#include "common/plans.h"
#include "common/providers.h"
#include "common/tenant.h"
#include "common/pipeline.h"
#include "common/proto.h"
#include "common/warehouse.h"

#include <jansson.h>
#include <signal.h>

/* Values of *cancel: the run was asked to stop by a cancel request, or
 * because its worker is stopping (the run is then handed back, not ended:
 * status RETRYING and no run-finished event; the scheduler queues it
 * again). */
#define WRK_CANCEL_REQUESTED 1
#define WRK_CANCEL_STOPPING  2

/* Where a run executes; borrowed. */
typedef struct wrk_env {
    cvg_wh_t *wh;
    const cvg_config_t *cfg;
    cvg_emitter_t *emitter;              /* may be NULL: no events */
    const char *worker_id;               /* "gateway" for setup runs */
    bool setup_allowed;                  /* may run setup_only processors */
    const volatile sig_atomic_t *cancel; /* may be NULL */
    const cvg_keyring_t *keys;           /* pepper (setup runs), master keys */
    cvg_wh_t *meta_wh;                   /* the runner's own connection for central reads (settings,
                                          * credentials), never confined; NULL: wh */
    const cvg_plans_t *plans;
    const cvg_email_policy_t *email_policy;
    char *secret_out; /* see proc_ctx_t */
    size_t secret_out_size;
    const cvg_providers_t *providers; /* settings tenants may store; NULL: none */
} wrk_env_t;

/* Which run; borrowed. */
typedef struct wrk_run {
    const char *run_id;
    const char *tenant_id;
    const char *trigger_type;
    const char *triggered_by;
    int attempt;
    const cvg_params_t *params;
} wrk_run_t;

/* How it went. */
typedef struct wrk_outcome {
    char status[CVG_STATUS_MAX]; /* SUCCEEDED, FAILED, TIMED_OUT, CANCELLED; RETRYING when
                                  * handed back by a stopping worker */
    int64_t rows;                /* rows written by all steps */
    int64_t duration_ms;
    char error[1024]; /* first failure, or "" */
    json_t *steps;    /* owned array of per-step results */
} wrk_outcome_t;

/* Checks every step against its processor (ps_type known, allowed here,
 * fields valid). Adds all problems to errs; returns how many. */
int wrk_runner_validate(const wrk_env_t *env, const cvg_pipeline_t *p, cvg_errlist_t *errs);

/* The same, and collects into settings the names of the provider settings
 * the steps use (each once), for a caller that must know the tenant has
 * them before the run is accepted. */
int wrk_runner_validate_ex(const wrk_env_t *env, const cvg_pipeline_t *p, cvg_errlist_t *errs,
                           cvg_strlist_t *settings);

/*
 * Builds the pipeline from doc (path names it) and checks it whole: the
 * root, each step's common fields and each step against its processor.
 * 0, or CVG_EINVAL with every problem in errs (required) and the first in
 * err; another code when out of memory. settings as in
 * wrk_runner_validate_ex (may be NULL). out is cleaned up on failure.
 */
int wrk_runner_prepare(const wrk_env_t *env, json_t *doc, const char *path, cvg_pipeline_t *out,
                       cvg_errlist_t *errs, cvg_err_t *err, cvg_strlist_t *settings);

/* The same for the config at path under env->cfg->config_dir; also
 * CVG_ENOTFOUND when there is none, or the YAML loader's error. */
int wrk_runner_load(const wrk_env_t *env, const char *path, cvg_pipeline_t *out,
                    cvg_errlist_t *errs, cvg_err_t *err, cvg_strlist_t *settings);

/* Runs p and fills out (release with wrk_outcome_cleanup). Returns 0 when
 * the run ran to an end (successful or not), or an error when it could not
 * start. */
int wrk_runner_run(const wrk_env_t *env, const wrk_run_t *run, const cvg_pipeline_t *p,
                   wrk_outcome_t *out);

void wrk_outcome_cleanup(wrk_outcome_t *out);

#endif
