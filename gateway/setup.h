/*
 * Setup pipelines (bootstrap now; dry-run and onboarding later) run inside
 * the gateway, synchronously, through the same runner the workers use, and
 * are logged like every run: their events go to the logger.
 */
#ifndef GW_SETUP_H
#define GW_SETUP_H

#include "common/pipeline.h"
#include "gateway/gateway.h"
#include "worker/runner.h"

#define GW_SYSTEM_TENANT "system" /* tenant id of system-wide runs */

/*
 * Runs configs/<path>.yml for tenant with params. Fills run_id and out
 * (wrk_outcome_cleanup it). A processor may leave a secret meant for the
 * caller alone (a new API key) in secret_out (may be NULL). Returns 0 when the run ran (out->status
 * says how), CVG_EBUSY when no warehouse connection came free, or a config error with every problem
 * in errs.
 */
int gw_setup_run(gw_t *gw, const char *path, const char *tenant, const cvg_params_t *params,
                 const char *triggered_by, char *secret_out, size_t secret_size,
                 char run_id[CVG_ID_LEN], wrk_outcome_t *out, cvg_errlist_t *errs, cvg_err_t *err);

#endif
