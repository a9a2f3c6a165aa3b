/*
 * A tenant's provider settings (tenants.tenant_provider_configs):
 *   PUT /api/v1/tenants/{tenant_id}/providers/{provider}   replace them
 *   GET /api/v1/tenants/{tenant_id}/providers/{provider}   read them
 * Settings are checked against configs/system/providers.yml: known names,
 * types, URI schemes, file:// paths the tenant may read. Secrets belong in
 * credentials, not here.
 */
#include "common/time.h"
#include "gateway/gateway.h"
#include "gateway/whpool.h"

#include <stdlib.h>
#include <string.h>

#define POOL_WAIT_MS 5000

void gw_providers_put(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    const char *provider = gw_req_param(req, "provider");
    if (cvg_providers_find(&req->gw->providers, provider) == NULL) {
        gw_resp_error(resp, 404, "not_found", "provider", "no provider called '%.64s'", provider);
        return;
    }
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    if (body == NULL) {
        gw_resp_error(resp, 400, "invalid_json", NULL,
                      "the body must be a JSON object of settings");
        return;
    }
    cvg_errlist_t *errs = cvg_errlist_new();
    if (errs == NULL) {
        json_decref(body);
        gw_resp_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    if (cvg_providers_check(&req->gw->providers, &req->gw->cfg, tenant, provider, body, errs) > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < errs->n; i++)
            json_array_append_new(list, json_string(errs->items[i].message));
        json_t *e = json_pack("{s:s, s:s, s:s}", "code", "invalid_field", "message",
                              errs->items[0].message, "field", errs->items[0].field);
        gw_resp_json(resp, 422, json_pack("{s:o, s:o}", "error", e, "errors", list));
        free(errs);
        json_decref(body);
        return;
    }
    free(errs);
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL) {
        json_decref(body);
        return;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = 0;
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (gw_tenant_known(req, resp, wh, tenant)) {
        cvg_val_t v[5] = {cvg_v_text(tenant), cvg_v_text(provider), cvg_v_text(text),
                          cvg_v_text(now), cvg_v_text(gw_req_actor(req))};
        rc = cvg_wh_exec(wh,
                         "INSERT INTO tenants.tenant_provider_configs (tenant_id, provider, "
                         "settings, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $4, "
                         "$4, $5) ON CONFLICT (tenant_id, provider) DO UPDATE SET settings = $3, "
                         "updated_at = $4, updated_by = $5",
                         v, 5, NULL, NULL, NULL, &err);
        if (rc == 0)
            gw_resp_json(resp, 200,
                         json_pack("{s:s, s:s, s:O, s:s}", "tenant_id", tenant, "provider",
                                   provider, "settings", body, "updated_at", now));
    }
    if (rc != 0)
        gw_resp_error(resp, 503, "unavailable", NULL, "cannot store the settings: %s", err.message);
    gw_whpool_release(req->gw->pool, wh);
    free(text);
    json_decref(body);
}

typedef struct found {
    json_t *row;
} found_t;

static int take(void *ud, const cvg_row_t *row)
{
    ((found_t *)ud)->row = cvg_row_json(row);
    return 1;
}

void gw_providers_get(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    const char *provider = gw_req_param(req, "provider");
    if (cvg_providers_find(&req->gw->providers, provider) == NULL) {
        gw_resp_error(resp, 404, "not_found", "provider", "no provider called '%.64s'", provider);
        return;
    }
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    if (!gw_tenant_known(req, resp, wh, tenant)) {
        gw_whpool_release(req->gw->pool, wh);
        return;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    found_t f = {0};
    cvg_val_t p[2] = {cvg_v_text(tenant), cvg_v_text(provider)};
    int rc = cvg_wh_exec(wh,
                         "SELECT tenant_id, provider, settings, updated_at, updated_by FROM "
                         "tenants.tenant_provider_configs WHERE tenant_id = $1 AND provider = $2",
                         p, 2, take, &f, NULL, &err);
    gw_whpool_release(req->gw->pool, wh);
    if (rc != 0 && rc != 1) {
        gw_resp_error(resp, 503, "unavailable", NULL, "cannot read the settings: %s", err.message);
    } else if (f.row == NULL) {
        gw_resp_error(resp, 404, "not_found", "provider", "tenant %s has no %s settings", tenant,
                      provider);
    } else {
        json_t *settings =
            json_loads(json_string_value(json_object_get(f.row, "settings")), 0, NULL);
        json_object_set_new(f.row, "settings", settings ? settings : json_object());
        gw_resp_json(resp, 200, f.row);
        f.row = NULL;
    }
    json_decref(f.row);
}
