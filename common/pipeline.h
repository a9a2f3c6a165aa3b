/*
 * Pipeline configs: configs/{provider}/{domain}/{template}.yml (and
 * configs/setup/...) loaded through the safe YAML loader into a model of
 * root fields and steps. Structural checks report every problem at once,
 * each with the exact field path. Processor-specific fields are checked by
 * the processor named in ps_type.
 */
#ifndef CVG_PIPELINE_H
#define CVG_PIPELINE_H

#include "common/err.h"
#include "common/errlist.h"
#include "common/paramdecl.h"
#include "common/proto.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CVG_PIPELINE_MAX_STEPS 100
typedef enum cvg_trigger {
    CVG_TRIGGER_ON_SUCCESS = 0, /* runs while nothing has failed (default) */
    CVG_TRIGGER_ON_FAILURE,     /* runs only after a failure */
    CVG_TRIGGER_ALWAYS          /* runs in any case */
} cvg_trigger_t;

typedef struct cvg_step {
    char step_id[CVG_NAME_MAX];
    char name[CVG_NAME_MAX];
    char ps_type[CVG_NAME_MAX];
    cvg_trigger_t trigger;
    int64_t timeout_ms; /* timeout_minutes; 0: the runner's default */
    bool continue_on_failure;
    int max_retries;
    int retry_delay_seconds;
    const json_t *config; /* the step's mapping, borrowed from the doc */
} cvg_step_t;

typedef struct cvg_pipeline {
    json_t *doc;                      /* owned YAML tree */
    char path[CVG_PIPELINE_PATH_MAX]; /* e.g. gcp/cost/cost_billing */
    char provider[CVG_NAME_MAX];      /* the path's first segment: gcp */
    char pipeline_id[CVG_NAME_MAX];
    char description[1024];
    size_t nsteps;
    cvg_step_t *steps; /* owned array */
    size_t nparams;
    cvg_paramdecl_t *params; /* owned array; `date` always among them */
    const json_t *variables; /* the variables: mapping (name: string or
                              * integer), borrowed from doc, or NULL */
} cvg_pipeline_t;

/* The text of pipeline variable `name` ("" when it has none). */
const char *cvg_pipeline_variable(const cvg_pipeline_t *p, const char *name, char *buf,
                                  size_t size);

/* True when path is 1 to 4 segments of [a-z0-9_] joined by '/'. */
bool cvg_pipeline_path_valid(const char *path);

/*
 * Loads <config_dir>/<path>.yml and checks its structure. On failure
 * returns CVG_ENOTFOUND (no such pipeline), or CVG_EINVAL with every
 * problem in errs (may be NULL) and the first in err.
 */
int cvg_pipeline_load(const char *config_dir, const char *path, cvg_pipeline_t *out,
                      cvg_errlist_t *errs, cvg_err_t *err);

/* Builds the model from a parsed document (takes a reference to doc). */
int cvg_pipeline_from_json(json_t *doc, const char *path, cvg_pipeline_t *out, cvg_errlist_t *errs,
                           cvg_err_t *err);

/* The YAML document of <config_dir>/<path>.yml (*doc owned by the caller),
 * with the errors of cvg_pipeline_load. */
int cvg_pipeline_read(const char *config_dir, const char *path, json_t **doc, cvg_errlist_t *errs,
                      cvg_err_t *err);

/* As cvg_pipeline_from_json (errs required), but on CVG_EINVAL out keeps
 * what could be read, so each step's processor fields can be checked too
 * and every error reported at once (worker/runner.h, wrk_runner_prepare).
 * The caller calls cvg_pipeline_cleanup whatever the result. */
int cvg_pipeline_parse(json_t *doc, const char *path, cvg_pipeline_t *out, cvg_errlist_t *errs,
                       cvg_err_t *err);

void cvg_pipeline_cleanup(cvg_pipeline_t *p);

/* Name of a trigger ("on_success", ...). */
const char *cvg_trigger_name(cvg_trigger_t t);

#endif
