/*
 * Whether the tenant a request's path names exists: one check for every
 * handler that acts on a tenant by id.
 */
#include "gateway/gateway.h"

int gw_tenant_exists(cvg_wh_t *wh, const char *tenant, bool *exists, cvg_err_t *err)
{
    cvg_val_t p = cvg_v_text(tenant);
    int64_t n = 0;
    int rc =
        cvg_wh_query_int(wh, "SELECT count(*) FROM tenants.tenant_profiles WHERE tenant_id = $1",
                         &p, 1, &n, NULL, err);
    *exists = rc == 0 && n > 0;
    return rc;
}

bool gw_tenant_known(gw_req_t *req, gw_resp_t *resp, cvg_wh_t *wh, const char *tenant)
{
    if (req->principal == GW_TENANT_KEY)
        return true; /* its own tenant, checked by authentication */
    bool exists = false;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (gw_tenant_exists(wh, tenant, &exists, &err) != 0) {
        gw_resp_error(resp, 503, "unavailable", NULL, "cannot read the tenant: %s", err.message);
        return false;
    }
    if (!exists)
        gw_resp_error(resp, 404, "not_found", "tenant_id", "no tenant %.64s", tenant);
    return exists;
}
