/*
 * Whether the tenant a request's path names exists: one check for every
 * handler that acts on a tenant by id.
 */
#include "gateway/gateway.h"

bool gw_tenant_known(gw_req_t *req, gw_resp_t *resp, cvg_wh_t *wh, const char *tenant)
{
    if (req->principal == GW_TENANT_KEY)
        return true; /* its own tenant, checked by authentication */
    cvg_val_t p = cvg_v_text(tenant);
    int64_t n = 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_query_int(wh, "SELECT count(*) FROM tenants.tenant_profiles WHERE tenant_id = $1",
                         &p, 1, &n, NULL, &err) != 0) {
        gw_resp_error(resp, 503, "unavailable", NULL, "cannot read the tenant: %s", err.message);
        return false;
    }
    if (n == 0) {
        gw_resp_error(resp, 404, "not_found", "tenant_id", "no tenant %.64s", tenant);
        return false;
    }
    return true;
}
