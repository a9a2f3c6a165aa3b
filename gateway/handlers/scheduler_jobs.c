/*
 * The scheduler's jobs, for Cloud Scheduler or cron (admin key):
 *   POST /api/v1/scheduler/trigger             fire the schedules that are due
 *   POST /api/v1/scheduler/process-queue       dispatch queued runs to free workers
 *   POST /api/v1/scheduler/reset-daily-quotas  drop old daily usage counters
 * The scheduler does all three on its own tick as well; these calls make
 * them happen now and say what was done.
 */
#include "gateway/bus.h"
#include "gateway/gateway.h"

#include <stdlib.h>
#include <string.h>

static void call(gw_req_t *req, gw_resp_t *resp, const char *op)
{
    if (gw_req_no_body(req, resp) != 0)
        return;
    int status = 0;
    char *reply = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = gw_bus_call(req->gw->bus, GW_PEER_SCHEDULER, op, "{}", req->gw->cfg.rpc_timeout_ms,
                         &status, &reply, &err);
    json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    const char *message = json_string_value(json_object_get(r, "message"));
    if (rc != 0)
        gw_resp_error(resp, 503, "scheduler_unavailable", NULL,
                      "the scheduler did not answer; try again (%s)", err.message);
    else if (status != 0 || r == NULL)
        gw_resp_error(resp, 503, "unavailable", NULL, "%s: %s", op,
                      message ? message : "the scheduler could not do it now; try again");
    else {
        json_object_set_new(r, "job", json_string(op));
        gw_resp_json(resp, 200, r);
        r = NULL;
    }
    json_decref(r);
}

void gw_scheduler_trigger(gw_req_t *req, gw_resp_t *resp)
{
    call(req, resp, "trigger");
}

void gw_scheduler_process_queue(gw_req_t *req, gw_resp_t *resp)
{
    call(req, resp, "process-queue");
}

void gw_scheduler_reset_daily_quotas(gw_req_t *req, gw_resp_t *resp)
{
    call(req, resp, "reset-daily-quotas");
}
