/*
 * Starting and cancelling pipeline runs:
 *   POST /api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/{template}
 *   POST /api/v1/pipelines/runs/{run_id}/cancel
 * A run request is checked here (the config and its validation, the
 * declared parameters, the provider settings the steps use) and queued by
 * the scheduler, which owns the queue and the quota counters and applies
 * the Idempotency-Key and the daily and monthly limits in one transaction.
 * While the scheduler works the connection is suspended, not the thread.
 */
#include "common/buf.h"
#include "common/id.h"
#include "common/str.h"
#include "common/time.h"
#include "gateway/bus.h"
#include "gateway/gateway.h"
#include "gateway/pipecache.h"
#include "gateway/pipeline_checks.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDEMPOTENCY_KEY_MAX (CVG_IDEMPOTENCY_MAX - 1)
#define MANUAL_PRIORITY     1 /* before scheduled runs */
#define MAX_ATTEMPTS        3

static bool idempotency_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
        return false;
    for (const char *p = k; *p; p++) {
        if (*p < 0x21 || *p > 0x7e)
            return false;
    }
    return true;
}

/* A run request waiting on the scheduler. */
typedef struct pending {
    gw_req_t *req;
    gw_resp_t *resp;
    char pipeline_id[CVG_NAME_MAX];
} pending_t;

/* The 202 body, written out: this runs on the bus thread once per
 * accepted run, and a JSON tree for five fields was a fifth of its time.
 * Every string is escaped, though the run id and state are the
 * scheduler's own (a UUID, a state name). */
static void accepted(gw_resp_t *resp, const cvg_enq_result_t *res, const char *pipeline_id)
{
    const char *state = res->state[0] ? res->state : "QUEUED";
    cvg_buf_t b;
    cvg_buf_init(&b, 4096);
    cvg_buf_puts(&b, "{\"pipeline_logging_id\":");
    cvg_buf_append_json_str(&b, res->run_id, strlen(res->run_id));
    cvg_buf_puts(&b, ",\"status\":");
    cvg_buf_append_json_str(&b, state, strlen(state));
    char url[64 + CVG_ID_LEN];
    snprintf(url, sizeof(url), "/api/v1/pipelines/runs/%s", res->run_id);
    cvg_buf_puts(&b, ",\"status_url\":");
    cvg_buf_append_json_str(&b, url, strlen(url));
    cvg_buf_puts(&b, ",\"pipeline_id\":");
    cvg_buf_append_json_str(&b, pipeline_id, strlen(pipeline_id));
    if (res->existing)
        cvg_buf_puts(&b, ",\"idempotent_replay\":true");
    cvg_buf_puts(&b, "}\n");
    /* a refused append refuses every later one: one check for all */
    char *body = b.overflow ? NULL : cvg_buf_detach(&b);
    cvg_buf_cleanup(&b);
    if (body == NULL) {
        gw_resp_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    free(resp->body);
    resp->status = 202;
    resp->len = strlen(body);
    resp->body = body;
}

/* The scheduler's answer turned into ours (on the bus thread). */
static void enqueued(void *ctx, int rc, const cvg_enq_result_t *res, const cvg_err_t *err)
{
    pending_t *p = ctx;
    gw_resp_t *resp = p->resp;
    const char *reason = res && res->reason[0] ? res->reason : NULL;
    int status = res ? res->status : 0;
    if (rc != 0) {
        gw_resp_error(resp, 503, "scheduler_unavailable", NULL,
                      "the scheduler did not answer; try again (%s)", err->message);
    } else if (status == 0) {
        accepted(resp, res, p->pipeline_id);
    } else if (status == CVG_EFULL) {
        int64_t after = res->retry_after_s;
        gw_resp_header(resp, "Retry-After", "%lld", (long long)(after > 0 ? after : 60));
        gw_resp_error(resp, 429, "quota_exceeded", NULL, "%s",
                      reason ? reason : "run quota exceeded");
    } else if (status == CVG_EEXIST) {
        gw_resp_error(resp, 409, "idempotency_key_reused", "Idempotency-Key", "%s",
                      reason ? reason : "Idempotency-Key reused");
    } else if (status == CVG_ENOTFOUND) {
        gw_resp_error(resp, 403, "no_subscription", NULL, "%s",
                      reason ? reason : "the tenant has no subscription");
    } else {
        gw_resp_error(resp, 503, "unavailable", NULL, "%s",
                      reason ? reason : "the run could not be queued; try again");
    }
    gw_req_t *req = p->req;
    free(p);
    gw_req_resume(req);
}

/* Hands the run to the scheduler; the answer comes in enqueued(). */
static void enqueue(gw_req_t *req, gw_resp_t *resp, const char *tenant, const gw_pipe_t *pipe,
                    json_t *params, const char *key, bool date_given)
{
    pending_t *p = calloc(1, sizeof(*p));
    cvg_enq_run_t run = {.priority = MANUAL_PRIORITY, .max_attempts = MAX_ATTEMPTS};
    /* stored as the queue keeps them: compact, keys sorted */
    run.parameters = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    if (p != NULL && run.parameters != NULL)
        p->resp = gw_req_suspend(req, resp);
    if (p == NULL || p->resp == NULL) {
        free(p);
        cvg_enq_run_cleanup(&run);
        gw_resp_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    p->req = req;
    snprintf(p->pipeline_id, sizeof(p->pipeline_id), "%s", pipe->p.pipeline_id);
    snprintf(run.tenant_id, sizeof(run.tenant_id), "%s", tenant);
    snprintf(run.pipeline, sizeof(run.pipeline), "%s", pipe->p.path);
    snprintf(run.pipeline_id, sizeof(run.pipeline_id), "%s", pipe->p.pipeline_id);
    snprintf(run.trigger_type, sizeof(run.trigger_type), "manual");
    snprintf(run.triggered_by, sizeof(run.triggered_by), "%s", gw_req_actor(req));
    snprintf(run.idempotency_key, sizeof(run.idempotency_key), "%s", key ? key : "");
    run.date_given = date_given;
    gw_bus_enqueue(req->gw->bus, &run, req->gw->cfg.rpc_timeout_ms, enqueued, p);
}

void gw_pipelines_run(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    char path[CVG_PIPELINE_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s/%s", gw_req_param(req, "provider"),
             gw_req_param(req, "domain"), gw_req_param(req, "template"));
    const char *key = gw_req_header(req, "Idempotency-Key");
    if (key && !idempotency_key_ok(key)) {
        gw_resp_error(resp, 400, "invalid_field", "Idempotency-Key",
                      "Idempotency-Key: 1 to %d printable ASCII characters, no spaces",
                      IDEMPOTENCY_KEY_MAX);
        return;
    }
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    cvg_errlist_t *errs = cvg_errlist_new();
    if (errs == NULL) {
        json_decref(body);
        gw_resp_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    const gw_pipe_t *pipe = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *params = NULL;
    if (gw_pipeline_get(req, resp, path, errs, &pipe) == 0) {
        char today[CVG_TIME_DATE_LEN];
        cvg_time_format_date(cvg_time_now_ms(), today);
        params = cvg_paramdecl_check_body(pipe->p.params, pipe->p.nparams, pipe->p.pipeline_id,
                                          body, today, errs);
        int rc = 0;
        if (errs->n > 0)
            gw_errors_reply(resp, 400, "invalid_parameter", errs);
        else if (!gw_pipeline_tenant_exists(req, resp, tenant))
            ; /* answered: 404 or 503 */
        else if ((rc = gw_pipeline_settings_check(req, tenant, pipe, errs, &err)) != 0)
            gw_resp_error(resp, 503, "unavailable", NULL, "%s", err.message);
        else if (errs->n > 0)
            gw_errors_reply(resp, 400, "missing_setting", errs);
        else
            enqueue(req, resp, tenant, pipe, params, key, json_object_get(body, "date") != NULL);
    }
    gw_pipecache_put(req->gw->pipes, pipe);
    json_decref(params);
    json_decref(body);
    free(errs);
}

void gw_pipelines_run_cancel(gw_req_t *req, gw_resp_t *resp)
{
    if (gw_req_no_body(req, resp) != 0)
        return;
    const char *run_id = gw_req_param(req, "run_id");
    if (!cvg_id_valid(run_id)) { /* as GET of the run: no run has such an id */
        gw_resp_error(resp, 404, "not_found", "run_id", "no run %.64s", run_id);
        return;
    }
    json_t *msg = json_pack("{s:s, s:s?}", "run_id", run_id, "tenant_id",
                            req->principal == GW_TENANT_KEY ? req->key.tenant_id : NULL);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    int status = 0;
    char *reply = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = gw_bus_call(req->gw->bus, GW_PEER_SCHEDULER, "cancel", text,
                         req->gw->cfg.rpc_timeout_ms, &status, &reply, &err);
    free(text);
    json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    const char *message = json_string_value(json_object_get(r, "message"));
    if (rc != 0)
        gw_resp_error(resp, 503, "scheduler_unavailable", NULL,
                      "the scheduler did not answer; try again (%s)", err.message);
    else if (status == 0)
        gw_resp_json(resp, 202,
                     json_pack("{s:s, s:O, s:o}", "pipeline_logging_id", run_id, "status",
                               json_object_get(r, "state"), "status_url",
                               json_sprintf("/api/v1/pipelines/runs/%s", run_id)));
    else if (status == CVG_ENOTFOUND)
        gw_resp_error(resp, 404, "not_found", "run_id", "no run %s", run_id);
    else if (status == CVG_EEXIST)
        gw_resp_error(resp, 409, "already_finished", "run_id", "run %s already ended (%s)", run_id,
                      json_string_value(json_object_get(r, "state")));
    else
        gw_resp_error(resp, 503, "unavailable", NULL, "%s",
                      message ? message : "the run could not be cancelled; try again");
    json_decref(r);
}
