/*
 * Tenant credentials (the tenant's key with credentials:* scopes, or the
 * admin key):
 *   PUT /api/v1/tenants/{tenant_id}/credentials/{provider}  store, encrypted
 *   GET /api/v1/tenants/{tenant_id}/credentials/{provider}  metadata only
 *   GET /api/v1/tenants/{tenant_id}/credentials             all, metadata only
 *   DELETE /api/v1/tenants/{tenant_id}/credentials/{provider} removed, secret and all
 * No response, log line or error message ever carries a secret: errors
 * name fields, and a malformed body is reported without quoting it.
 */
#include "common/credentials.h"
#include "common/crypto.h"
#include "common/json.h"
#include "gateway/gateway.h"
#include "gateway/whpool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POOL_WAIT_MS 5000

void gw_credentials_put(gw_req_t *req, gw_resp_t *resp)
{
    gw_t *gw = req->gw;
    const char *tenant = gw_req_param(req, "tenant_id");
    const char *provider = gw_req_param(req, "provider");
    if (!cvg_cred_provider_ok(provider)) {
        gw_resp_error(resp, 404, "not_found", "provider",
                      "unknown provider (gcp, aws, azure, smtp, slack)");
        return;
    }
    if (gw->keys.current == 0) {
        gw_resp_error(resp, 503, "not_configured", NULL,
                      "the credentials store has no master key (CVG_MASTER_KEY_FILE)");
        return;
    }
    const char *ct = gw_req_header(req, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        gw_resp_error(resp, 415, "unsupported_media_type", "Content-Type",
                      "request body must be application/json");
        return;
    }
    json_t *secret = NULL;
    if (req->body.len == 0 ||
        cvg_json_parse(cvg_buf_cstr(&req->body), req->body.len, 8, &secret, NULL) != 0) {
        gw_resp_error(resp, 400, "invalid_json", NULL,
                      "the body must be the credential as a JSON object");
        goto wipe;
    }
    json_t *meta = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    /* the outbound policy, for a webhook's URL */
    cvg_outbound_t *policy = NULL;
    if (strcmp(provider, "slack") == 0 && ((policy = malloc(sizeof(*policy))) == NULL ||
                                           cvg_outbound_from_config(&gw->cfg, policy, &err) != 0)) {
        gw_resp_error(resp, 500, "internal", NULL, "the outbound policy cannot be read: %s",
                      policy ? err.message : "out of memory");
        free(policy);
        goto out;
    }
    int checked = cvg_cred_check(provider, secret, policy, &meta, &err);
    free(policy);
    if (checked != 0) {
        gw_resp_error(resp, 422, "invalid_field", err.field, "%s", err.message);
        goto out;
    }
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        goto out;
    char cred_id[CVG_ID_LEN];
    if (gw_tenant_known(req, resp, wh, tenant)) {
        int rc = cvg_cred_store(wh, &gw->keys, tenant, provider, NULL, secret, meta,
                                gw_req_actor(req), cred_id, &err);
        if (rc == CVG_ETOOBIG)
            gw_resp_error(resp, 413, "payload_too_large", NULL, "%s", err.message);
        else if (rc != 0)
            gw_resp_error(resp, rc == CVG_ENOTFOUND ? 503 : 500, "unavailable", NULL,
                          "the credential was not stored: %s", cvg_strerror(rc));
        else
            gw_resp_json(resp, 200,
                         json_pack("{s:s, s:s, s:s, s:O, s:i, s:s}", "credential_id", cred_id,
                                   "tenant_id", tenant, "provider", provider, "metadata", meta,
                                   "key_version", gw->keys.current, "message",
                                   "Stored encrypted; the secret is never returned."));
    }
    gw_whpool_release(gw->pool, wh);
out:
    json_decref(meta);
wipe:
    /* The body held the secret. */
    cvg_wipe(req->body.data, req->body.len);
    json_decref(secret);
}

/* A warehouse connection for a request on provider's credential (all
 * providers when NULL), or NULL once answered: unknown provider, or no
 * connection free. */
static cvg_wh_t *connection_for(gw_req_t *req, gw_resp_t *resp, const char *provider)
{
    if (provider && !cvg_cred_provider_ok(provider)) {
        gw_resp_error(resp, 404, "not_found", "provider",
                      "unknown provider (gcp, aws, azure, smtp, slack)");
        return NULL;
    }
    return gw_req_warehouse(req, resp, POOL_WAIT_MS);
}

static void list(gw_req_t *req, gw_resp_t *resp, const char *provider)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    cvg_wh_t *wh = connection_for(req, resp, provider);
    if (wh == NULL)
        return;
    json_t *items = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (gw_tenant_known(req, resp, wh, tenant)) {
        if (cvg_cred_list(wh, tenant, provider, &items, &err) != 0)
            gw_resp_error(resp, 503, "unavailable", NULL, "cannot read credentials");
        else if (provider && json_array_size(items) == 0)
            gw_resp_error(resp, 404, "not_found", "provider", "no %s credential stored", provider);
        else if (provider)
            gw_resp_json(resp, 200, json_incref(json_array_get(items, 0)));
        else
            gw_resp_json(resp, 200,
                         json_pack("{s:s, s:O}", "tenant_id", tenant, "credentials", items));
    }
    json_decref(items);
    gw_whpool_release(req->gw->pool, wh);
}

void gw_credentials_get(gw_req_t *req, gw_resp_t *resp)
{
    list(req, resp, gw_req_param(req, "provider"));
}

void gw_credentials_list(gw_req_t *req, gw_resp_t *resp)
{
    list(req, resp, NULL);
}

void gw_credentials_delete(gw_req_t *req, gw_resp_t *resp)
{
    if (gw_req_no_body(req, resp) != 0)
        return;
    const char *tenant = gw_req_param(req, "tenant_id");
    const char *provider = gw_req_param(req, "provider");
    cvg_wh_t *wh = connection_for(req, resp, provider);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t removed = 0;
    if (gw_tenant_known(req, resp, wh, tenant)) {
        if (cvg_cred_delete(wh, tenant, provider, &removed, &err) != 0)
            gw_resp_error(resp, 503, "unavailable", NULL, "the credential was not removed");
        else if (removed == 0)
            gw_resp_error(resp, 404, "not_found", "provider", "no %s credential stored", provider);
        else
            gw_resp_json(resp, 200,
                         json_pack("{s:s, s:s, s:b, s:s}", "tenant_id", tenant, "provider",
                                   provider, "deleted", 1, "message",
                                   "Removed; runs that need it fail until one is stored again."));
    }
    gw_whpool_release(req->gw->pool, wh);
}
