/*
 * Authentication in the gateway. The admin key comes from ADMIN_API_KEY or
 * the file named by ADMIN_API_KEY_FILE; only its SHA-256 is kept, and a
 * presented key is hashed and compared in constant time, so neither its
 * content nor its length leaks through timing. Tenant API keys are checked
 * for form (prefix, length, checksum) before anything else, then looked up
 * by their HMAC through the key cache; the result decides 401 (missing,
 * invalid, revoked, expired), 403 (another tenant, missing scope, suspended
 * or cancelled), 402 (trial or subscription over) or 429 (rate limit).
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "common/err.h"
#include "gateway/gateway.h"

/* Loads and hashes the admin key. CVG_ECONFIG when there is none: the
 * gateway does not start without one. */
int gw_auth_init(gw_t *gw, cvg_err_t *err);

/* Checks X-Admin-Key: true when it matches; otherwise fills resp with 401
 * (missing) or 403 (wrong). */
bool gw_auth_admin(gw_t *gw, const gw_req_t *req, gw_resp_t *resp);

/* Authenticates req for route (sets req->principal and req->key, adds the
 * rate limit headers to resp). False with resp filled when refused. */
bool gw_auth_check(gw_t *gw, const gw_route_t *route, gw_req_t *req, gw_resp_t *resp);

/* True when a query parameter carries a credential (refused: keys in URLs
 * end up in logs and histories). */
bool gw_auth_key_in_url(const gw_req_t *req);

#endif
