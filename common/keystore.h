/*
 * Tenant API keys in tenants.tenant_api_keys: issue (the key is returned
 * once and stored only as its HMAC), list (masked), revoke, rotate, and the
 * lookup behind authentication, which joins the key with its tenant's
 * subscription so one query answers every auth question.
 */
#ifndef CVG_KEYSTORE_H
#define CVG_KEYSTORE_H

#include "common/apikey.h"
#include "common/err.h"
#include "common/id.h"
#include "common/time.h"
#include "common/warehouse.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define CVG_KEY_DESCRIPTION_MAX 200

/* What a key lookup knows; everything authentication checks. */
typedef struct cvg_keyinfo {
    char key_id[CVG_ID_LEN];
    char tenant_id[65];
    unsigned scopes;
    bool active;            /* not revoked */
    int64_t expires_ms;     /* 0 = never */
    char tenant_status[17]; /* profile status: ACTIVE, SUSPENDED, DELETED */
    char sub_status[17];    /* ACTIVE, TRIAL, SUSPENDED, CANCELLED, "" if none */
    char plan_name[33];
    char trial_end[11]; /* YYYY-MM-DD or "" */
    char sub_end[11];   /* YYYY-MM-DD or "" */
    int rate_limit_per_minute;
    int64_t last_used_ms; /* 0 = never */
} cvg_keyinfo_t;

/* A newly issued key; the key text is shown once and never stored. */
typedef struct cvg_issued_key {
    char key[CVG_APIKEY_LEN + 1];
    char key_id[CVG_ID_LEN];
    char prefix[CVG_APIKEY_DISPLAY_LEN + 1];
    int64_t created_ms;
    int64_t expires_ms;
} cvg_issued_key_t;

/* Issues a key for tenant with scopes; expires_ms 0 = never. A successor
 * (rotated_from set) without a description of its own keeps the one of
 * the key it replaces. Runs inside the caller's transaction when there is
 * one. */
int cvg_keystore_issue(cvg_wh_t *wh, const unsigned char pepper[32], const char *tenant_id,
                       unsigned scopes, int64_t expires_ms, const char *description,
                       const char *created_by, const char *rotated_from, cvg_issued_key_t *out,
                       cvg_err_t *err);

/* Looks a key up by its hash. *found false when no key has that hash. */
int cvg_keystore_lookup(cvg_wh_t *wh, const char *key_hash, cvg_keyinfo_t *out, bool *found,
                        cvg_err_t *err);

/* Loads a key's record by id (for revoke and rotate); *found as above. */
int cvg_keystore_get(cvg_wh_t *wh, const char *key_id, cvg_keyinfo_t *out, bool *found,
                     cvg_err_t *err);

/* Revokes a key; *changed false when it was already revoked. revoked_at
 * gets the time stored (the first revocation's), "" when none is. */
int cvg_keystore_revoke(cvg_wh_t *wh, const char *key_id, const char *reason, bool *changed,
                        char revoked_at[CVG_TIME_ISO_LEN], cvg_err_t *err);

/* Sets a key's expiry (for rotation overlaps). */
int cvg_keystore_expire_at(cvg_wh_t *wh, const char *key_id, int64_t expires_ms, cvg_err_t *err);

/* The key that replaced key_id in a rotation, if any (into successor;
 * *found says whether there is one). */
int cvg_keystore_successor(cvg_wh_t *wh, const char *key_id, char successor[CVG_ID_LEN],
                           bool *found, cvg_err_t *err);

/* Records a successful use. */
int cvg_keystore_touch(cvg_wh_t *wh, const char *key_id, int64_t now_ms, cvg_err_t *err);

/* The tenant's keys, masked, newest first: a JSON array (new reference). */
int cvg_keystore_list(cvg_wh_t *wh, const char *tenant_id, json_t **out, cvg_err_t *err);

/* Scope bits as a JSON array of names (new reference). */
json_t *cvg_scopes_json(unsigned scopes);

#endif
