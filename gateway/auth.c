/*
 * Gateway authentication (see auth.h).
 */
#include "gateway/auth.h"
#include "common/cidr.h"
#include "common/fs.h"
#include "common/standing.h"
#include "common/time.h"
#include "common/utf8.h"
#include "gateway/keycache.h"
#include "gateway/ratelimit.h"
#include "gateway/whpool.h"

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define TOUCH_EVERY_MS        60000 /* last_used_at is written at most this often */
#define KNOWN_KEY_MS          60000 /* a key found valid this recently passes a throttled address */
#define ADMIN_RATE_PER_MINUTE 6000
#define POOL_WAIT_MS          2000

#define ADMIN_KEY_MIN 16

int gw_auth_init(gw_t *gw, cvg_err_t *err)
{
    const char *key = gw->cfg.admin_api_key;
    char *file_key = NULL;
    if (key[0] == '\0' && gw->cfg.admin_api_key_file[0] != '\0') {
        const char *path = gw->cfg.admin_api_key_file;
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
            return cvg_err_set(err, CVG_ECONFIG, "ADMIN_API_KEY_FILE",
                               "ADMIN_API_KEY_FILE: %s is readable by others (chmod 600 it)", path);
        size_t len = 0;
        int rc = cvg_fs_read_file(path, 4096, &file_key, &len, err);
        if (rc != 0)
            return cvg_err_set(err, CVG_ECONFIG, "ADMIN_API_KEY_FILE",
                               "ADMIN_API_KEY_FILE: cannot read %s", path);
        while (len > 0 &&
               (file_key[len - 1] == '\n' || file_key[len - 1] == '\r' || file_key[len - 1] == ' '))
            file_key[--len] = '\0';
        key = file_key;
    }
    int rc = 0;
    if (key[0] == '\0')
        rc = cvg_err_set(err, CVG_ECONFIG, "ADMIN_API_KEY",
                         "ADMIN_API_KEY (or ADMIN_API_KEY_FILE) must be set: the gateway does "
                         "not start without an admin key");
    else if (strlen(key) < ADMIN_KEY_MIN)
        rc = cvg_err_set(err, CVG_ECONFIG, "ADMIN_API_KEY",
                         "ADMIN_API_KEY: too short (at least %d characters)", ADMIN_KEY_MIN);
    else
        SHA256((const unsigned char *)key, strlen(key), gw->admin_key_hash);
    if (file_key) {
        OPENSSL_cleanse(file_key, strlen(file_key));
        free(file_key);
    }
    /* The plain key is not needed any more. */
    OPENSSL_cleanse(gw->cfg.admin_api_key, sizeof(gw->cfg.admin_api_key));
    return rc;
}

/* A header value's length without the blanks after it (HTTP's optional
 * whitespace, which a client may leave in). */
static size_t trimmed_len(const char *v)
{
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n;
}

bool gw_auth_admin(gw_t *gw, const gw_req_t *req, gw_resp_t *resp)
{
    const char *given = gw_req_header(req, "X-Admin-Key");
    if (given == NULL || trimmed_len(given) == 0) {
        gw_resp_error(resp, 401, "unauthorized", "X-Admin-Key",
                      "missing X-Admin-Key header: this endpoint needs the admin key");
        return false;
    }
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, trimmed_len(given), h);
    if (CRYPTO_memcmp(h, gw->admin_key_hash, sizeof(h)) != 0) {
        gw_resp_error(resp, 403, "forbidden", "X-Admin-Key", "invalid admin key");
        return false;
    }
    return true;
}

static void rate_headers(gw_resp_t *resp, const char *policy, const gw_rl_result_t *r)
{
    gw_resp_header(resp, "RateLimit-Policy", "\"%s\";q=%d;w=%d", policy, r->limit, r->window_s);
    gw_resp_header(resp, "RateLimit", "\"%s\";r=%d;t=%d", policy, r->remaining, r->reset_s);
}

/* Takes a token; on refusal fills a 429 with Retry-After. */
static bool rate(gw_t *gw, gw_resp_t *resp, const char *policy, const char *bucket, int limit,
                 int window_s)
{
    gw_rl_result_t r;
    gw_ratelimit_take(gw->limits, bucket, limit, window_s, cvg_time_mono_ms(), &r);
    rate_headers(resp, policy, &r);
    if (r.allowed)
        return true;
    atomic_fetch_add(&gw->rate_limited, 1);
    gw_resp_header(resp, "Retry-After", "%d", r.retry_after_s);
    gw_resp_error(resp, 429, "rate_limited", NULL,
                  "rate limit of %d requests per %d s exceeded; retry in %d s", limit, window_s,
                  r.retry_after_s);
    return false;
}

static bool refuse(gw_t *gw, gw_resp_t *resp, int status, const char *code, const char *field,
                   const char *message)
{
    atomic_fetch_add(&gw->auth_refused, 1);
    gw_resp_error(resp, status, code, field, "%s", message);
    return false;
}

/* A tenant API key, and no admin key, on a route only the admin key opens. */
static bool tenant_key_refused(gw_t *gw, gw_resp_t *resp)
{
    return refuse(gw, resp, 403, "forbidden", "X-Admin-Key",
                  "this endpoint needs the admin key; a tenant API key is not enough");
}

static bool admin(gw_t *gw, gw_req_t *req, gw_resp_t *resp)
{
    if (!gw_auth_admin(gw, req, resp)) {
        atomic_fetch_add(&gw->auth_refused, 1);
        return false;
    }
    req->principal = GW_ADMIN;
    return rate(gw, resp, "admin", "admin", ADMIN_RATE_PER_MINUTE, 60);
}

/* The subscription allows use today? Fills resp when not. */
static bool standing(gw_t *gw, const cvg_keyinfo_t *k, gw_resp_t *resp)
{
    char today[CVG_TIME_DATE_LEN], why[200];
    cvg_time_format_date(cvg_time_now_ms(), today);
    cvg_standing_t st = {k->tenant_status, k->sub_status, k->trial_end, k->sub_end};
    const char *code = NULL;
    int status = cvg_standing_check(k->tenant_id, &st, today, &code, why, sizeof(why));
    return status == 0 || refuse(gw, resp, status, code, NULL, why);
}

/*
 * Invalid API keys, counted per client address: an address that spent its
 * API_MAX_INVALID_KEYS_PER_IP a minute is refused before the warehouse
 * lookup of a key this gateway has not found valid lately, so a scan of
 * made-up keys costs neither the warehouse nor the pool of connections
 * that the real clients' lookups need.
 */
static void badkey_bucket(const gw_req_t *req, char out[96])
{
    char who[64];
    if (!cvg_ip_bucket(req->client, who, sizeof(who)))
        snprintf(who, sizeof(who), "%s", req->client);
    snprintf(out, 96, "badkey:%s", who);
}

static void invalid_key_seen(gw_t *gw, const gw_req_t *req)
{
    int limit = gw->cfg.api_max_invalid_keys_per_ip;
    if (limit <= 0)
        return;
    char bucket[96];
    badkey_bucket(req, bucket);
    gw_rl_result_t r;
    gw_ratelimit_take(gw->limits, bucket, limit, 60, cvg_time_mono_ms(), &r);
}

static bool invalid_keys_throttled(gw_t *gw, const gw_req_t *req, const char *hash, int64_t now,
                                   gw_resp_t *resp)
{
    int limit = gw->cfg.api_max_invalid_keys_per_ip;
    if (limit <= 0)
        return false;
    char bucket[96];
    badkey_bucket(req, bucket);
    gw_rl_result_t r;
    gw_ratelimit_peek(gw->limits, bucket, limit, 60, now, &r);
    if (r.allowed)
        return false;
    bool found = false;
    cvg_keyinfo_t known;
    if (gw_keycache_get(gw->keycache, hash, KNOWN_KEY_MS, now, &found, &known) && found)
        return false;
    atomic_fetch_add(&gw->rate_limited, 1);
    gw_resp_header(resp, "Retry-After", "%d", r.retry_after_s);
    gw_resp_error(resp, 429, "too_many_invalid_keys", "X-API-Key",
                  "more than %d requests with an invalid API key from this address in a "
                  "minute; retry in %d s",
                  limit, r.retry_after_s);
    return true;
}

static bool tenant_key(gw_t *gw, const gw_route_t *route, gw_req_t *req, gw_resp_t *resp)
{
    const char *key = gw_req_header(req, "X-API-Key");
    if (key == NULL || trimmed_len(key) == 0)
        return refuse(gw, resp, 401, "unauthorized", "X-API-Key",
                      "missing X-API-Key header: this endpoint needs the tenant's API key");
    char bare[CVG_APIKEY_LEN + 1];
    size_t klen = trimmed_len(key);
    if (klen != strlen(key) && klen < sizeof(bare)) {
        memcpy(bare, key, klen);
        bare[klen] = '\0';
        key = bare;
    }
    /* A mistyped or scanned key is refused here, before any lookup. */
    if (!cvg_apikey_well_formed(key)) {
        invalid_key_seen(gw, req);
        return refuse(gw, resp, 401, "invalid_api_key", "X-API-Key", "invalid API key");
    }
    char hash[CVG_APIKEY_HASH_HEX];
    cvg_apikey_hash(gw->keys.pepper, key, hash);
    int64_t now = cvg_time_mono_ms();
    bool found = false;
    cvg_keyinfo_t *k = &req->key;
    if (!gw_keycache_get(gw->keycache, hash, gw->cfg.auth_cache_ms, now, &found, k)) {
        if (invalid_keys_throttled(gw, req, hash, now, resp))
            return false;
        cvg_wh_t *wh = gw_whpool_acquire(gw->pool, POOL_WAIT_MS);
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = wh ? cvg_keystore_lookup(wh, hash, k, &found, &err) : CVG_EBUSY;
        gw_whpool_release(gw->pool, wh);
        atomic_fetch_add(&gw->auth_lookups, 1);
        if (rc != 0)
            return refuse(gw, resp, 503, "auth_unavailable", NULL,
                          "cannot check the API key right now; try again");
        gw_keycache_put(gw->keycache, hash, found, k, now);
    }
    if (!found) {
        invalid_key_seen(gw, req);
        return refuse(gw, resp, 401, "invalid_api_key", "X-API-Key", "invalid API key");
    }
    if (!k->active)
        return refuse(gw, resp, 401, "key_revoked", "X-API-Key", "API key revoked");
    if (k->expires_ms > 0 && k->expires_ms <= cvg_time_now_ms())
        return refuse(gw, resp, 401, "key_expired", "X-API-Key", "API key expired");
    const char *path_tenant = gw_req_param(req, "tenant_id");
    if (path_tenant != NULL && strcmp(path_tenant, k->tenant_id) != 0)
        return refuse(gw, resp, 403, "forbidden", "tenant_id",
                      "this API key does not belong to the tenant in the path");
    unsigned missing = route->scope & ~k->scopes;
    if (missing != 0) {
        char msg[128];
        unsigned bit = missing & (~missing + 1);
        snprintf(msg, sizeof(msg), "API key lacks the scope %s", cvg_scope_name(bit));
        return refuse(gw, resp, 403, "insufficient_scope", NULL, msg);
    }
    if (!route->any_status && !standing(gw, k, resp))
        return false;
    req->principal = GW_TENANT_KEY;
    char bucket[64];
    snprintf(bucket, sizeof(bucket), "key:%s", k->key_id);
    if (!rate(gw, resp, "tenant", bucket,
              k->rate_limit_per_minute > 0 ? k->rate_limit_per_minute : 60, 60))
        return false;
    if (gw_keycache_should_touch(gw->keycache, hash, now, TOUCH_EVERY_MS)) {
        cvg_wh_t *wh = gw_whpool_acquire(gw->pool, POOL_WAIT_MS);
        if (wh)
            cvg_keystore_touch(wh, k->key_id, cvg_time_now_ms(), NULL);
        gw_whpool_release(gw->pool, wh);
    }
    return true;
}

static bool authenticate(gw_t *gw, const gw_route_t *route, gw_req_t *req, gw_resp_t *resp);

/* The names recorded for a request without X-User-ID (gw_req_actor): a
 * caller may not claim one that is not its own, or a tenant's action would
 * read as the admin's. */
static bool actor_reserved(const char *user)
{
    static const char *const names[] = {"admin", "self-signup", "anonymous", "system", "scheduler"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(user, names[i]) == 0)
            return true;
    }
    return false;
}

bool gw_auth_check(gw_t *gw, const gw_route_t *route, gw_req_t *req, gw_resp_t *resp)
{
    const char *user = gw_req_header(req, "X-User-ID");
    if (user && user[0]) {
        /* recorded as who did it: one line of text, or the request is refused */
        if (strlen(user) >= sizeof(req->user_id) || !cvg_utf8_plain(user)) {
            gw_resp_error(resp, 400, "invalid_field", "X-User-ID",
                          "X-User-ID: at most %zu bytes of UTF-8 text without control characters",
                          sizeof(req->user_id) - 1);
            return false;
        }
    }
    if (!authenticate(gw, route, req, resp))
        return false;
    if (user && user[0]) {
        if (actor_reserved(user) && strcmp(user, gw_req_actor(req)) != 0) {
            gw_resp_error(resp, 400, "invalid_field", "X-User-ID",
                          "X-User-ID: '%s' is a name the system records for itself; send the "
                          "user's own id",
                          user);
            return false;
        }
        memcpy(req->user_id, user, strlen(user) + 1);
    }
    return true;
}

static bool authenticate(gw_t *gw, const gw_route_t *route, gw_req_t *req, gw_resp_t *resp)
{
    const char *admin_key = gw_req_header(req, "X-Admin-Key");
    bool has_admin = admin_key && admin_key[0];
    switch (route->auth) {
    case GW_AUTH_NONE:
        return true;
    case GW_AUTH_ADMIN:
        if (!has_admin && gw_req_header(req, "X-API-Key"))
            return tenant_key_refused(gw, resp);
        return admin(gw, req, resp);
    case GW_AUTH_TENANT:
        return tenant_key(gw, route, req, resp);
    case GW_AUTH_TENANT_OR_ADMIN:
        return has_admin ? admin(gw, req, resp) : tenant_key(gw, route, req, resp);
    case GW_AUTH_SIGNUP:
        if (!has_admin && !gw->cfg.self_signup && gw_req_header(req, "X-API-Key"))
            return tenant_key_refused(gw, resp);
        if (has_admin || !gw->cfg.self_signup)
            return admin(gw, req, resp);
        req->principal = GW_SIGNUP;
        char bucket[96];
        char who[64];
        if (!cvg_ip_bucket(req->client, who, sizeof(who)))
            snprintf(who, sizeof(who), "%s", req->client);
        snprintf(bucket, sizeof(bucket), "signup:%s", who);
        return rate(gw, resp, "signup", bucket, gw->cfg.signup_per_hour, 3600);
    }
    return false;
}

static enum MHD_Result find_key_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    static const char *const names[] = {"api_key",     "apikey",    "key",
                                        "x-api-key",   "x_api_key", "admin_key",
                                        "x-admin-key", "token",     "access_token"};
    bool *found = cls;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(key, names[i]) == 0)
            *found = true;
    }
    if (value && strncmp(value, CVG_APIKEY_PREFIX, strlen(CVG_APIKEY_PREFIX)) == 0)
        *found = true;
    return *found ? MHD_NO : MHD_YES;
}

bool gw_auth_key_in_url(const gw_req_t *req)
{
    bool found = false;
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_key_arg, &found);
    return found;
}
