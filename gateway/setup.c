/*
 * Setup pipelines in the gateway (see setup.h). One at a time: they create
 * and drop datasets, which must not interleave.
 */
#include "gateway/setup.h"
#include "common/emitter.h"
#include "common/log.h"
#include "gateway/whpool.h"

#include <string.h>

#define POOL_WAIT_MS 5000
/* How long a setup run's answer waits for the logger to have its events. */
#define LOG_WAIT_MS 3000

int gw_setup_run(gw_t *gw, const char *path, const char *tenant, const cvg_params_t *params,
                 const char *triggered_by, char *secret_out, size_t secret_size,
                 char run_id[CVG_ID_LEN], wrk_outcome_t *out, cvg_errlist_t *errs, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    cvg_pipeline_t p;
    wrk_env_t env = {.cfg = &gw->cfg,
                     .emitter = gw->emitter,
                     .worker_id = "gateway",
                     .setup_allowed = true,
                     .keys = &gw->keys,
                     .plans = &gw->plans,
                     .email_policy = &gw->email_policy,
                     .secret_out = secret_out,
                     .secret_out_size = secret_size};
    int rc = wrk_runner_load(&env, path, &p, errs, err, NULL);
    if (rc != 0)
        return rc;
    cvg_wh_t *wh = gw_whpool_acquire(gw->pool, POOL_WAIT_MS);
    if (wh == NULL) {
        cvg_pipeline_cleanup(&p);
        return cvg_err_set(err, CVG_EBUSY, "", "no warehouse connection free");
    }
    env.wh = wh;
    cvg_id_new(run_id);
    wrk_run_t run = {.run_id = run_id,
                     .tenant_id = tenant,
                     .trigger_type = "api",
                     .triggered_by = triggered_by,
                     .attempt = 1,
                     .params = params};
    pthread_mutex_lock(&gw->setup_lock);
    rc = wrk_runner_run(&env, &run, &p, out);
    pthread_mutex_unlock(&gw->setup_lock);
    gw_whpool_release(gw->pool, wh);
    cvg_pipeline_cleanup(&p);
    /* Answered once the run log has the run (its events are in this
     * process's memory until then, and die with it); a logger that does
     * not take them in time does not hold the answer longer. Waited for
     * outside the lock and without a connection, so a slow logger does not
     * queue the next setup run behind this one's wait. */
    if (gw->emitter != NULL && cvg_emitter_flush(gw->emitter, LOG_WAIT_MS) != 0) {
        cvg_log_ctx_t lc = {.tenant_id = tenant, .run_id = run_id};
        cvg_warn(&lc,
                 "setup run answered before the run log has it: the logger did not take its "
                 "events within %d ms (%zu waiting; sent until it does, lost if the gateway "
                 "stops first)",
                 LOG_WAIT_MS, cvg_emitter_pending(gw->emitter));
    }
    return rc;
}
