/*
 * Admin endpoints for tenant API keys and subscriptions:
 *   POST   /api/v1/admin/api-keys                         issue a key
 *   GET    /api/v1/admin/tenants/{tenant_id}/api-keys     list, masked
 *   DELETE /api/v1/admin/api-keys/{key_id}                revoke
 *   POST   /api/v1/admin/api-keys/{key_id}/rotate         replace, with overlap
 *   PATCH  /api/v1/admin/tenants/{tenant_id}/subscription plan, status, dates
 * A revocation or subscription change evicts the cached lookups at once.
 */
#include "common/central.h"
#include "common/crypto.h"
#include "common/id.h"
#include "common/str.h"
#include "common/time.h"
#include "common/utf8.h"
#include "gateway/gateway.h"
#include "gateway/keycache.h"
#include "gateway/whpool.h"

#include <stdlib.h>
#include <string.h>

#define POOL_WAIT_MS    5000
#define MAX_EXPIRY_DAYS 3650

static void db_error(gw_resp_t *resp, int rc, const cvg_err_t *err)
{
    gw_resp_error(resp, rc == CVG_ENOTFOUND ? 503 : 500, "unavailable", NULL, "warehouse error: %s",
                  err->message);
}

static json_t *issued_json(const cvg_issued_key_t *k, const char *tenant, unsigned scopes)
{
    char created[CVG_TIME_ISO_LEN], expires[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(k->created_ms, created);
    cvg_time_format_iso(k->expires_ms, expires);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s?, s:s}", "api_key", k->key, "api_key_id",
                     k->key_id, "key_prefix", k->prefix, "tenant_id", tenant, "scopes",
                     cvg_scopes_json(scopes), "created_at", created, "expires_at",
                     k->expires_ms > 0 ? expires : NULL, "message",
                     "Save the API key now: it is shown only once and cannot be recovered.");
}

void gw_admin_keys_issue(gw_req_t *req, gw_resp_t *resp)
{
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    cvg_wh_t *wh = NULL;
    const char *tenant = json_string_value(json_object_get(body, "tenant_id"));
    json_t *scopes_j = json_object_get(body, "scopes");
    json_t *days = json_object_get(body, "expires_in_days");
    json_t *desc = json_object_get(body, "description");
    unsigned scopes = CVG_SCOPE_ALL;
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "tenant_id") && strcmp(key, "scopes") && strcmp(key, "expires_in_days") &&
            strcmp(key, "description")) {
            gw_resp_error(resp, 422, "invalid_field", key,
                          "%s: unknown field (expected tenant_id, scopes, expires_in_days, "
                          "description)",
                          key);
            goto out;
        }
    }
    if (tenant == NULL) {
        gw_resp_error(resp, 422, "invalid_field", "tenant_id", "tenant_id: field required");
        goto out;
    }
    if (scopes_j != NULL) {
        const char *names[16];
        size_t n = json_array_size(scopes_j);
        if (!json_is_array(scopes_j) || n == 0 || n > 16) {
            gw_resp_error(resp, 422, "invalid_field", "scopes",
                          "scopes: a list of 1 to 16 scope names");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            names[i] = json_string_value(json_array_get(scopes_j, i));
            if (names[i] == NULL) {
                gw_resp_error(resp, 422, "invalid_field", "scopes", "scopes: names are strings");
                goto out;
            }
        }
        const char *bad = NULL;
        if (cvg_scopes_parse(names, n, &scopes, &bad) != 0) {
            gw_resp_error(resp, 422, "invalid_field", "scopes",
                          "scopes: unknown scope '%.64s' (tenant:read, pipelines:run, "
                          "pipelines:read, credentials:read, credentials:write, providers:read, "
                          "providers:write, or *)",
                          bad);
            goto out;
        }
    }
    int64_t expires = 0;
    if (days != NULL) {
        if (!json_is_integer(days) || json_integer_value(days) < 1 ||
            json_integer_value(days) > MAX_EXPIRY_DAYS) {
            gw_resp_error(resp, 422, "invalid_field", "expires_in_days",
                          "expires_in_days: an integer from 1 to %d", MAX_EXPIRY_DAYS);
            goto out;
        }
        expires = cvg_time_now_ms() + json_integer_value(days) * 86400000LL;
    }
    if (desc != NULL &&
        (!json_is_string(desc) || json_string_length(desc) > CVG_KEY_DESCRIPTION_MAX ||
         !cvg_utf8_plain(json_string_value(desc)))) {
        gw_resp_error(resp, 422, "invalid_field", "description",
                      "description: one line of text of at most %d characters, without control "
                      "or bidi characters",
                      CVG_KEY_DESCRIPTION_MAX);
        goto out;
    }
    if ((wh = gw_req_warehouse(req, resp, POOL_WAIT_MS)) == NULL)
        goto out;
    if (!gw_tenant_known(req, resp, wh, tenant))
        goto out;
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_issued_key_t k;
    int rc = cvg_keystore_issue(wh, req->gw->keys.pepper, tenant, scopes, expires,
                                json_string_value(desc), gw_req_actor(req), NULL, &k, &err);
    if (rc != 0) {
        db_error(resp, rc, &err);
        goto out;
    }
    gw_resp_json(resp, 201, issued_json(&k, tenant, scopes));
    cvg_wipe(&k, sizeof(k));
out:
    gw_whpool_release(req->gw->pool, wh);
    json_decref(body);
}

void gw_admin_keys_list(gw_req_t *req, gw_resp_t *resp)
{
    const char *tenant = gw_req_param(req, "tenant_id");
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *keys = NULL;
    if (!gw_tenant_known(req, resp, wh, tenant))
        ; /* answered */
    else if (cvg_keystore_list(wh, tenant, &keys, &err) != 0)
        db_error(resp, CVG_EDB, &err);
    else
        gw_resp_json(resp, 200, json_pack("{s:s, s:o}", "tenant_id", tenant, "api_keys", keys));
    gw_whpool_release(req->gw->pool, wh);
}

/* The key named in the path, or a 404. */
static bool load_key(gw_req_t *req, gw_resp_t *resp, cvg_wh_t *wh, cvg_keyinfo_t *k)
{
    const char *id = gw_req_param(req, "key_id");
    if (!cvg_id_valid(id)) {
        gw_resp_error(resp, 404, "not_found", "key_id", "no API key with that id");
        return false;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    bool found = false;
    if (cvg_keystore_get(wh, id, k, &found, &err) != 0) {
        db_error(resp, CVG_EDB, &err);
        return false;
    }
    if (!found) {
        gw_resp_error(resp, 404, "not_found", "key_id", "no API key with that id");
        return false;
    }
    return true;
}

void gw_admin_keys_revoke(gw_req_t *req, gw_resp_t *resp)
{
    if (gw_req_no_body(req, resp) != 0)
        return;
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    cvg_keyinfo_t k;
    if (load_key(req, resp, wh, &k)) {
        cvg_err_t err;
        cvg_err_clear(&err);
        bool changed = false;
        char reason[160];
        snprintf(reason, sizeof(reason), "revoked by %s", gw_req_actor(req));
        char revoked_at[CVG_TIME_ISO_LEN];
        if (cvg_keystore_revoke(wh, k.key_id, reason, &changed, revoked_at, &err) != 0) {
            db_error(resp, CVG_EDB, &err);
        } else {
            /* Every HTTP thread of this gateway refuses it from now on. */
            gw_keycache_forget_key(req->gw->keycache, k.key_id);
            /* an expired key was not in use, revoked or not */
            bool expired = k.expires_ms > 0 && k.expires_ms <= cvg_time_now_ms();
            gw_resp_json(resp, 200,
                         json_pack("{s:s, s:s, s:b, s:b, s:s?}", "api_key_id", k.key_id,
                                   "tenant_id", k.tenant_id, "revoked", 1, "was_active",
                                   changed && !expired, "revoked_at",
                                   revoked_at[0] ? revoked_at : NULL));
        }
    }
    gw_whpool_release(req->gw->pool, wh);
}

void gw_admin_keys_rotate(gw_req_t *req, gw_resp_t *resp)
{
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    int64_t overlap = req->gw->cfg.key_rotation_overlap_s;
    json_t *o = json_object_get(body, "overlap_seconds");
    if (json_object_size(body) > (o ? 1u : 0u)) {
        const char *key = NULL, *k;
        json_t *v;
        json_object_foreach(body, k, v)
        {
            if (key == NULL && strcmp(k, "overlap_seconds") != 0)
                key = k;
        }
        char name[CVG_PATH_KEY_MAX + 4];
        cvg_path_join(name, sizeof(name), "", key ? key : "");
        cvg_utf8_clean(name);
        gw_resp_error(resp, 422, "invalid_field", name,
                      "%s: unknown field; the only field accepted is overlap_seconds", name);
        json_decref(body);
        return;
    }
    if (o &&
        (!json_is_integer(o) || json_integer_value(o) < 0 || json_integer_value(o) > 30 * 86400)) {
        gw_resp_error(resp, 422, "invalid_field", "overlap_seconds",
                      "overlap_seconds: an integer from 0 to 2592000 (30 days)");
        json_decref(body);
        return;
    }
    if (o)
        overlap = json_integer_value(o);
    json_decref(body);
    cvg_wh_t *wh = gw_req_warehouse(req, resp, POOL_WAIT_MS);
    if (wh == NULL)
        return;
    cvg_keyinfo_t old;
    cvg_issued_key_t k;
    memset(&k, 0, sizeof(k));
    if (!load_key(req, resp, wh, &old))
        goto out;
    if (!old.active || (old.expires_ms > 0 && old.expires_ms <= cvg_time_now_ms())) {
        gw_resp_error(resp, 409, "conflict", "key_id",
                      "only an active key can be rotated; issue a new one instead");
        goto out;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    /* the overlap never lengthens the old key's life */
    int64_t old_until = cvg_time_now_ms() + overlap * 1000;
    if (old.expires_ms > 0 && old.expires_ms < old_until)
        old_until = old.expires_ms;
    char successor[CVG_ID_LEN];
    bool rotated = false;
    /* the central dataset's write lock only: the gateway keeps tenants'
     * datasets attached, and their runs' writes must not hold this up */
    int rc = cvg_wh_begin_write(wh, CVG_CENTRAL_DATASET, &err);
    if (rc == 0)
        rc = cvg_keystore_successor(wh, old.key_id, successor, &rotated, &err);
    if (rc == 0 && rotated) {
        /* a retried rotate: its successor stands, and this key's overlap
         * is already running */
        cvg_wh_rollback(wh);
        gw_resp_error(resp, 409, "conflict", "key_id",
                      "key %s was already rotated: its successor is %s (rotate that one)",
                      old.key_id, successor);
        goto out;
    }
    if (rc == 0)
        rc = cvg_keystore_issue(wh, req->gw->keys.pepper, old.tenant_id, old.scopes, old.expires_ms,
                                NULL, gw_req_actor(req), old.key_id, &k, &err);
    if (rc == 0)
        rc = cvg_keystore_expire_at(wh, old.key_id, old_until, &err);
    if (rc == 0)
        rc = cvg_wh_commit(wh, &err);
    else
        cvg_wh_rollback(wh);
    if (rc != 0) {
        db_error(resp, rc, &err);
        goto out;
    }
    gw_keycache_forget_key(req->gw->keycache, old.key_id);
    json_t *reply = issued_json(&k, old.tenant_id, old.scopes);
    char until[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(old_until, until);
    json_object_set_new(reply, "replaces", json_string(old.key_id));
    json_object_set_new(reply, "old_key_expires_at", json_string(until));
    gw_resp_json(resp, 201, reply);
out:
    cvg_wipe(&k, sizeof(k));
    gw_whpool_release(req->gw->pool, wh);
}

static bool valid_date(json_t *v)
{
    if (json_is_null(v))
        return true;
    const char *s = json_string_value(v);
    int64_t ms;
    return s && strlen(s) == 10 && cvg_time_parse_iso(s, &ms) == 0;
}

void gw_admin_subscription_update(gw_req_t *req, gw_resp_t *resp)
{
    static const char *const statuses[] = {"ACTIVE", "TRIAL", "SUSPENDED", "CANCELLED"};
    const char *tenant = gw_req_param(req, "tenant_id");
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    cvg_wh_t *wh = NULL;
    const cvg_plan_t *plan = NULL;
    if (body == NULL || json_object_size(body) == 0) {
        gw_resp_error(resp, 422, "invalid_field", NULL,
                      "give at least one of status, plan_name, trial_end_date, "
                      "subscription_end_date");
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "status") == 0) {
            bool ok = false;
            for (size_t i = 0; i < 4; i++)
                ok |= json_is_string(val) && strcmp(json_string_value(val), statuses[i]) == 0;
            if (!ok) {
                gw_resp_error(resp, 422, "invalid_field", key,
                              "status: one of ACTIVE, TRIAL, SUSPENDED, CANCELLED");
                goto out;
            }
        } else if (strcmp(key, "plan_name") == 0) {
            plan = cvg_plans_find(&req->gw->plans, json_string_value(val));
            if (plan == NULL) {
                char names[256];
                cvg_plans_names(&req->gw->plans, names, sizeof(names));
                gw_resp_error(resp, 422, "invalid_field", key, "plan_name: one of %s", names);
                goto out;
            }
        } else if (strcmp(key, "trial_end_date") == 0 ||
                   strcmp(key, "subscription_end_date") == 0) {
            if (!valid_date(val)) {
                gw_resp_error(resp, 422, "invalid_field", key, "%s: YYYY-MM-DD or null", key);
                goto out;
            }
        } else {
            gw_resp_error(resp, 422, "invalid_field", key,
                          "%s: unknown field (expected status, plan_name, trial_end_date, "
                          "subscription_end_date)",
                          key);
            goto out;
        }
    }
    if ((wh = gw_req_warehouse(req, resp, POOL_WAIT_MS)) == NULL)
        goto out;
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    json_t *st = json_object_get(body, "status"), *te = json_object_get(body, "trial_end_date"),
           *se = json_object_get(body, "subscription_end_date");
    /* Fields not given keep their value (flag parameters say which). */
    cvg_val_t p[14] = {
        cvg_v_text(tenant),
        cvg_v_text(now),
        CVG_V_INT(st != NULL),
        cvg_v_text(json_string_value(st)),
        CVG_V_INT(plan != NULL),
        cvg_v_text(plan ? plan->name : NULL),
        CVG_V_INT(plan ? plan->daily_limit : 0),
        CVG_V_INT(plan ? plan->monthly_limit : 0),
        CVG_V_INT(plan ? plan->concurrent_limit : 0),
        CVG_V_INT(plan ? plan->rate_limit_per_minute : 0),
        CVG_V_INT(te != NULL),
        cvg_v_text(json_string_value(te)),
        CVG_V_INT(se != NULL),
        cvg_v_text(json_string_value(se)),
    };
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t changed = 0;
    int rc = cvg_wh_exec(
        wh,
        "UPDATE tenants.tenant_subscriptions SET updated_at = $2, "
        "status = CASE WHEN $3 = 1 THEN $4 ELSE status END, "
        "plan_name = CASE WHEN $5 = 1 THEN $6 ELSE plan_name END, "
        "daily_limit = CASE WHEN $5 = 1 THEN $7 ELSE daily_limit END, "
        "monthly_limit = CASE WHEN $5 = 1 THEN $8 ELSE monthly_limit END, "
        "concurrent_limit = CASE WHEN $5 = 1 THEN $9 ELSE concurrent_limit END, "
        "rate_limit_per_minute = CASE WHEN $5 = 1 THEN $10 ELSE rate_limit_per_minute END, "
        "trial_end_date = CASE WHEN $11 = 1 THEN $12 ELSE trial_end_date END, "
        "subscription_end_date = CASE WHEN $13 = 1 THEN $14 ELSE subscription_end_date END "
        "WHERE tenant_id = $1",
        p, 14, NULL, NULL, &changed, &err);
    if (rc != 0) {
        db_error(resp, rc, &err);
        goto out;
    }
    if (changed == 0) {
        gw_resp_error(resp, 404, "not_found", "tenant_id", "no subscription for that tenant");
        goto out;
    }
    gw_keycache_forget_tenant(req->gw->keycache, tenant);
    gw_resp_json(resp, 200,
                 json_pack("{s:s, s:b, s:O}", "tenant_id", tenant, "updated", 1, "changes", body));
out:
    gw_whpool_release(req->gw->pool, wh);
    json_decref(body);
}
