/*
 * What a request naming a pipeline is checked against, for the run
 * endpoint and the schedules: the config found and valid, the tenant
 * existing, the provider settings its steps use stored.
 */
#include "gateway/gateway.h"
#include "gateway/pipecache.h"
#include "gateway/pipeline_checks.h"
#include "gateway/whpool.h"

#include <stdio.h>
#include <string.h>

#define POOL_WAIT_MS 2000

void gw_errors_reply(gw_resp_t *resp, int status, const char *code, const cvg_errlist_t *errs)
{
    json_t *list = json_array();
    for (size_t i = 0; i < errs->n; i++)
        json_array_append_new(list, json_string(errs->items[i].message));
    if (errs->dropped)
        json_array_append_new(list, json_sprintf("... and %zu more", errs->dropped));
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message",
                          errs->n ? errs->items[0].message : "invalid request");
    if (errs->n && errs->items[0].field[0])
        json_object_set_new(e, "field", json_string(errs->items[0].field));
    gw_resp_json(resp, status, json_pack("{s:o, s:o}", "error", e, "errors", list));
}

static int collect_settings(void *ud, const cvg_row_t *row)
{
    json_t *all = ud;
    json_t *o = row->vals[0].type == CVG_VAL_TEXT
                    ? json_loadb(row->vals[0].s, row->vals[0].len, 0, NULL)
                    : NULL;
    json_object_update(all, o);
    json_decref(o);
    return 0;
}

/* The admin key may name any tenant; one that does not exist is a 404 (a
 * tenant key names its own, which authentication found). */
bool gw_pipeline_tenant_exists(gw_req_t *req, gw_resp_t *resp, const char *tenant)
{
    if (req->principal == GW_TENANT_KEY)
        return true;
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return false;
    bool known = gw_tenant_known(req, resp, wh, tenant);
    gw_whpool_release(req->gw->pool, wh);
    return known;
}

/* Every provider setting the steps use must be stored for the tenant. */
int gw_pipeline_settings_check(gw_req_t *req, const char *tenant, const gw_pipe_t *pipe,
                               cvg_errlist_t *errs, cvg_err_t *err)
{
    if (pipe->settings.n == 0)
        return 0;
    cvg_wh_t *wh = gw_whpool_acquire(req->gw->pool, POOL_WAIT_MS);
    if (wh == NULL)
        return cvg_err_set(err, CVG_EBUSY, "", "no warehouse connection free; try again");
    json_t *all = json_object();
    cvg_val_t t = cvg_v_text(tenant);
    int rc =
        cvg_wh_exec(wh, "SELECT settings FROM tenants.tenant_provider_configs WHERE tenant_id = $1",
                    &t, 1, collect_settings, all, NULL, err);
    gw_whpool_release(req->gw->pool, wh);
    for (size_t i = 0; rc == 0 && i < pipe->settings.n; i++) {
        const char *name = pipe->settings.items[i];
        if (json_object_get(all, name) != NULL)
            continue;
        const char *provider = cvg_providers_owner(&req->gw->providers, name);
        cvg_errlist_add(errs, CVG_EINVAL, name,
                        "the pipeline needs the %s setting %s, which tenant %s has not set "
                        "(PUT /api/v1/tenants/%s/providers/%s)",
                        provider ? provider : "provider", name, tenant, tenant,
                        provider ? provider : "...");
    }
    json_decref(all);
    return rc;
}

int gw_pipeline_get(gw_req_t *req, gw_resp_t *resp, const char *path, cvg_errlist_t *errs,
                    const gw_pipe_t **pipe)
{
    *pipe = NULL;
    /* setup pipelines run through their own endpoints only */
    if (strncmp(path, "setup/", 6) == 0 || strncmp(path, "system/", 7) == 0) {
        gw_resp_error(resp, 404, "not_found", "pipeline", "no pipeline %s", path);
        return CVG_ENOTFOUND;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = gw_pipecache_get(req->gw->pipes, path, pipe, errs, &err);
    if (rc == CVG_ENOTFOUND) {
        gw_resp_error(resp, 404, "not_found", "pipeline", "no pipeline %s", path);
    } else if (rc != 0 && rc != CVG_ENOMEM && errs->n > 0) {
        /* bad YAML, too big, too deep, or invalid: the config's fault */
        gw_errors_reply(resp, 400, "invalid_pipeline", errs);
    } else if (rc != 0) {
        gw_resp_error(resp, 500, "internal", NULL, "cannot load pipeline %s: %s", path,
                      err.message);
    }
    if (rc != 0) {
        gw_pipecache_put(req->gw->pipes, *pipe);
        *pipe = NULL;
    }
    return rc;
}
