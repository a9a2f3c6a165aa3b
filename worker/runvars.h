/*
 * The variables of a run: built-ins (tenant_id, pipeline_id, run_id, date,
 * project_id, and run_status / run_error, which the runner updates before
 * each step), the declared runtime parameters (checked, defaults filled
 * in), the tenant's provider settings and the pipeline's variables.
 */
#ifndef WRK_RUNVARS_H
#define WRK_RUNVARS_H

#include "worker/runner.h"

/* Fills vars for run; CVG_EINVAL naming an undeclared or bad parameter. */
int wrk_run_vars(const wrk_env_t *env, const wrk_run_t *run, const cvg_pipeline_t *p,
                 cvg_vars_t *vars, cvg_err_t *err);

#endif
