/*
 * Health endpoints. /health/live answers while the process serves HTTP.
 * /health/ready (and /health, /api/v1/health) answer 200 only when the
 * warehouse answers, the scheduler and the logger answer a ping and at least
 * one worker is alive; otherwise 503 with the missing parts named.
 */
#include "common/central.h"
#include "gateway/bus.h"
#include "gateway/gateway.h"
#include "gateway/whpool.h"

#include <stdlib.h>
#include <string.h>

#define PING_TIMEOUT_MS 1000

static void add_missing(json_t *missing, json_t *checks, const char *part, json_t *detail)
{
    json_object_set_new(detail, "ok", json_false());
    json_object_set_new(checks, part, detail);
    json_array_append_new(missing, json_string(part));
}

static void check_warehouse(gw_t *gw, json_t *checks, json_t *missing)
{
    cvg_wh_t *wh = gw_whpool_acquire(gw->pool, PING_TIMEOUT_MS);
    if (wh == NULL) {
        add_missing(missing, checks, "warehouse",
                    json_pack("{s:s}", "error", "no warehouse connection came free"));
        return;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    size_t present = 0;
    int rc = cvg_wh_ping(wh, &err);
    if (rc == 0)
        rc = cvg_central_count(wh, &present, &err);
    /* columns this build's schemas declare and the tables lack: not a
     * reason to be unready (the bootstrap that adds them needs the cluster
     * ready), but the reason run reads fail and workers wait meanwhile */
    json_t *behind = json_array();
    if (rc == 0 && present == CVG_CENTRAL_TABLE_COUNT && gw->central_error[0] != '\0') {
        json_array_append_new(behind, json_sprintf("(not checked: %s)", gw->central_error));
    } else if (rc == 0 && present == CVG_CENTRAL_TABLE_COUNT &&
               cvg_central_missing_columns(wh, gw->central, behind, &err) != 0) {
        json_array_append_new(behind, json_sprintf("(not checked: %s)", err.message));
        cvg_err_clear(&err);
    }
    const char *driver = cvg_wh_driver(wh);
    gw_whpool_release(gw->pool, wh);
    if (rc != 0) {
        json_decref(behind);
        add_missing(missing, checks, "warehouse",
                    json_pack("{s:s, s:s}", "driver", driver, "error", err.message));
        return;
    }
    json_t *w = json_pack("{s:b, s:s, s:b, s:i, s:i}", "ok", 1, "driver", driver, "bootstrapped",
                          present == CVG_CENTRAL_TABLE_COUNT, "central_tables", (int)present,
                          "central_tables_expected", CVG_CENTRAL_TABLE_COUNT);
    if (json_array_size(behind) > 0) {
        json_object_set_new(w, "columns_missing", behind);
        json_object_set_new(w, "action",
                            json_string("run the bootstrap: POST /api/v1/admin/bootstrap"));
    } else {
        json_decref(behind);
    }
    json_object_set_new(checks, "warehouse", w);
}

/* Pings a peer; returns its reply object (or NULL, with the reason). */
static json_t *ping(gw_t *gw, gw_peer_t peer, char *why, size_t size)
{
    int status = 0;
    char *reply = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    int timeout =
        gw->cfg.rpc_timeout_ms < PING_TIMEOUT_MS ? gw->cfg.rpc_timeout_ms : PING_TIMEOUT_MS;
    if (gw_bus_call(gw->bus, peer, "ping", NULL, timeout, &status, &reply, &err) != 0) {
        snprintf(why, size, "%s", err.message);
        return NULL;
    }
    json_t *o = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    if (status != 0 || !json_is_object(o)) {
        json_decref(o);
        snprintf(why, size, "bad ping reply");
        return NULL;
    }
    return o;
}

/* Fills checks and missing; returns true when everything is there. */
static bool readiness(gw_t *gw, json_t *checks, json_t *missing)
{
    char why[CVG_ERR_MSG_MAX];
    check_warehouse(gw, checks, missing);
    json_t *sch = ping(gw, GW_PEER_SCHEDULER, why, sizeof(why));
    if (sch == NULL) {
        add_missing(missing, checks, "scheduler", json_pack("{s:s}", "error", why));
        add_missing(missing, checks, "workers",
                    json_pack("{s:s}", "error", "unknown: the scheduler keeps the worker count"));
    } else {
        json_object_set_new(checks, "scheduler", json_pack("{s:b}", "ok", 1));
        json_int_t alive = json_integer_value(json_object_get(sch, "workers_alive"));
        json_int_t idle = json_integer_value(json_object_get(sch, "workers_idle"));
        json_t *w = json_pack("{s:I, s:I}", "alive", alive, "idle", idle);
        if (alive >= 1) {
            json_object_set_new(w, "ok", json_true());
            json_object_set_new(checks, "workers", w);
        } else {
            json_object_set_new(w, "error", json_string("no worker is alive"));
            add_missing(missing, checks, "workers", w);
        }
        json_decref(sch);
    }
    json_t *lgr = ping(gw, GW_PEER_LOGGER, why, sizeof(why));
    if (lgr == NULL) {
        add_missing(missing, checks, "logger", json_pack("{s:s}", "error", why));
    } else {
        json_object_set_new(checks, "logger", json_pack("{s:b}", "ok", 1));
        json_decref(lgr);
    }
    return json_array_size(missing) == 0;
}

static void report(gw_req_t *req, gw_resp_t *resp, const char *good, const char *bad)
{
    json_t *checks = json_object(), *missing = json_array();
    bool ready = readiness(req->gw, checks, missing);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", ready ? good : bad, "version", CVG_VERSION,
                  "environment", req->gw->cfg.environment, "checks", checks, "missing", missing);
    gw_resp_json(resp, ready ? 200 : 503, body);
}

void gw_health(gw_req_t *req, gw_resp_t *resp)
{
    report(req, resp, "healthy", "unhealthy");
}

void gw_health_ready(gw_req_t *req, gw_resp_t *resp)
{
    report(req, resp, "ready", "not_ready");
}

void gw_health_live(gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_json(resp, 200, json_pack("{s:s, s:s}", "status", "alive", "version", CVG_VERSION));
    (void)req;
}
