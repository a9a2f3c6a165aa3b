/*
 * The processor contract. A processor is one C file that fills a proc_def_t
 * (its ps_type, a validate and a run function) and one line in registry.c.
 * The runner calls validate before any step runs and run for each step.
 */
#ifndef WRK_PROCESSOR_H
#define WRK_PROCESSOR_H

#include "common/config.h"
#include "common/keyring.h"
#include "common/plans.h"
#include "common/tenant.h"
#include "common/pipeline.h"
#include "common/proto.h"
#include "common/vars.h"
#include "common/warehouse.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* What a step runs with; everything is borrowed for the call. */
typedef struct proc_ctx proc_ctx_t;

struct proc_ctx {
    cvg_wh_t *wh;            /* warehouse connection */
    const cvg_config_t *cfg; /* directories, project id */
    const char *tenant_id;
    const char *run_id;
    const char *pipeline_id;
    const char *step_id;
    const cvg_params_t *params; /* runtime parameters */
    const cvg_vars_t *vars;     /* every variable of the run */
    const char *step_log_id;
    int step_index;
    int64_t deadline_ms; /* monotonic end of the step's time, 0: none */
    /* Where proc_emit_dq sends results (the runner's event path). */
    void (*emit_dq)(void *ud, const proc_ctx_t *ctx, json_t *detail);
    void *emit_ud;
    const char *triggered_by;            /* who asked, for created_by columns */
    const volatile sig_atomic_t *cancel; /* non-zero: stop as soon as possible */
    /* Setup processors in the gateway only (NULL elsewhere): */
    const cvg_keyring_t *keys;              /* pepper, credentials master keys */
    cvg_wh_t *meta_wh;                      /* the runner's own connection (central reads) */
    const cvg_plans_t *plans;               /* configs/system/plans.yml */
    const cvg_email_policy_t *email_policy; /* admin e-mail domains refused */
    char *secret_out;                       /* a secret for the caller alone (a new key): */
    size_t secret_out_size;                 /* never logged, never in an event */
};

/* What a step reports. */
typedef struct proc_result {
    int64_t rows;     /* rows written, -1 when it does not apply */
    json_t *detail;   /* owned JSON object, or NULL */
    char error[1024]; /* why it failed, for the step log */
    bool transient;   /* the failure may pass on a retry */
} proc_result_t;

typedef struct proc_def {
    const char *ps_type; /* "setup.initial" */
    const char *summary; /* one line for docs and errors */
    bool setup_only;     /* writes central tables: runs in the gateway only */
    /* Checks the step's own fields; adds every problem to errs with the
     * field path under `path` ("steps[0]"). Returns the number added. Runs
     * once the schema found every field well typed, or always when
     * validate_always (a validate that copes with any field, checking each
     * item of a list on its own, so one bad item hides nothing). */
    int (*validate)(const json_t *step, const char *path, cvg_errlist_t *errs);
    bool validate_always;
    /* Runs the step: 0, or a CVG_E* code with res->error filled in. The
     * step is resolved: schema defaults filled in, variables expanded
     * everywhere but in sql fields. */
    int (*run)(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res);
} proc_def_t;

/*
 * Reports one data-quality result, a row of tenants.tenant_dq_results
 * written by the logger. detail holds check_name, check_type, passed (a
 * boolean) and optionally target_table, severity ("error" or "warn"),
 * observed_value, expected_value and message. Takes detail.
 */
void proc_emit_dq(const proc_ctx_t *ctx, json_t *detail);

/* The tenant's stored secret for a provider ("smtp", "slack", "aws", ...)
 * as a new JSON reference: never log it, json_decref it when done.
 * CVG_ENOTFOUND (with a message saying how to store one) when there is
 * none. */
int proc_credential(const proc_ctx_t *ctx, const char *provider, json_t **secret, cvg_err_t *err);

/* Fills res->error and returns code. */
int proc_fail(proc_result_t *res, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
