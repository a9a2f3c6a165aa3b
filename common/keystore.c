/*
 * Tenant API keys in the central dataset (see keystore.h).
 */
#include "common/keystore.h"
#include "common/crypto.h"
#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS "tenants.tenant_api_keys"

json_t *cvg_scopes_json(unsigned scopes)
{
    json_t *a = json_array();
    for (unsigned bit = 1; bit & CVG_SCOPE_ALL; bit <<= 1) {
        if (scopes & bit)
            json_array_append_new(a, json_string(cvg_scope_name(bit)));
    }
    return a;
}

static unsigned scopes_from_json(const char *text, size_t len)
{
    json_t *a = json_loadb(text, len, 0, NULL);
    unsigned bits = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *name = json_string_value(json_array_get(a, i));
        unsigned b = 0;
        if (name && cvg_scopes_parse(&name, 1, &b, NULL) == 0)
            bits |= b;
    }
    json_decref(a);
    return bits;
}

int cvg_keystore_issue(cvg_wh_t *wh, const unsigned char pepper[32], const char *tenant_id,
                       unsigned scopes, int64_t expires_ms, const char *description,
                       const char *created_by, const char *rotated_from, cvg_issued_key_t *out,
                       cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (cvg_apikey_generate(out->key) != 0 || cvg_id_new(out->key_id) != 0)
        return cvg_err_set(err, CVG_EIO, "", "the random generator failed");
    char hash[CVG_APIKEY_HASH_HEX];
    cvg_apikey_hash(pepper, out->key, hash);
    cvg_apikey_display(out->key, out->prefix);
    out->created_ms = cvg_time_now_ms();
    out->expires_ms = expires_ms;
    char created[CVG_TIME_ISO_LEN], expires[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(out->created_ms, created);
    cvg_time_format_iso(expires_ms, expires);
    json_t *sj = cvg_scopes_json(scopes);
    char *scopes_text = json_dumps(sj, JSON_COMPACT);
    json_decref(sj);
    cvg_val_t p[10] = {
        cvg_v_text(out->key_id),
        cvg_v_text(tenant_id),
        cvg_v_text(hash),
        cvg_v_text(out->prefix),
        cvg_v_text(scopes_text),
        description && description[0] ? cvg_v_text(description) : CVG_V_NULL,
        cvg_v_text(created),
        created_by && created_by[0] ? cvg_v_text(created_by) : CVG_V_NULL,
        expires_ms > 0 ? cvg_v_text(expires) : CVG_V_NULL,
        rotated_from && rotated_from[0] ? cvg_v_text(rotated_from) : CVG_V_NULL,
    };
    int rc = cvg_wh_exec(wh,
                         "INSERT INTO " KEYS " (api_key_id, tenant_id, key_hash, key_prefix, "
                         "scopes, description, is_active, created_at, created_by, expires_at, "
                         "rotated_from) VALUES ($1, $2, $3, $4, $5, COALESCE($6, (SELECT "
                         "description FROM " KEYS " WHERE api_key_id = $10)), TRUE, $7, $8, $9, "
                         "$10)",
                         p, 10, NULL, NULL, NULL, err);
    free(scopes_text);
    cvg_wipe(hash, sizeof(hash));
    if (rc != 0)
        cvg_wipe(out->key, sizeof(out->key));
    return rc;
}

static int64_t iso_ms(const cvg_val_t *v)
{
    char buf[64];
    cvg_val_copy_text(buf, sizeof(buf), v);
    int64_t ms = 0;
    if (buf[0] && cvg_time_parse_iso(buf, &ms) != 0)
        ms = 0;
    return ms;
}

typedef struct lookup_ctx {
    cvg_keyinfo_t *info;
    bool found;
} lookup_ctx_t;

static int take_key(void *ud, const cvg_row_t *row)
{
    lookup_ctx_t *c = ud;
    cvg_keyinfo_t *k = c->info;
    c->found = true;
    cvg_val_copy_text(k->key_id, sizeof(k->key_id), &row->vals[0]);
    cvg_val_copy_text(k->tenant_id, sizeof(k->tenant_id), &row->vals[1]);
    k->scopes =
        row->vals[2].type == CVG_VAL_TEXT ? scopes_from_json(row->vals[2].s, row->vals[2].len) : 0;
    k->active = (row->vals[3].type == CVG_VAL_INT && row->vals[3].i != 0) ||
                (row->vals[3].type == CVG_VAL_BOOL && row->vals[3].b);
    k->expires_ms = iso_ms(&row->vals[4]);
    cvg_val_copy_text(k->tenant_status, sizeof(k->tenant_status), &row->vals[5]);
    cvg_val_copy_text(k->sub_status, sizeof(k->sub_status), &row->vals[6]);
    cvg_val_copy_text(k->plan_name, sizeof(k->plan_name), &row->vals[7]);
    cvg_val_copy_text(k->trial_end, sizeof(k->trial_end), &row->vals[8]);
    cvg_val_copy_text(k->sub_end, sizeof(k->sub_end), &row->vals[9]);
    k->rate_limit_per_minute = row->vals[10].type == CVG_VAL_INT ? (int)row->vals[10].i : 0;
    k->last_used_ms = iso_ms(&row->vals[11]);
    return 1;
}

#define KEY_SELECT                                                                                \
    "SELECT k.api_key_id, k.tenant_id, k.scopes, k.is_active, k.expires_at, p.status, s.status, " \
    "s.plan_name, s.trial_end_date, s.subscription_end_date, s.rate_limit_per_minute, "           \
    "k.last_used_at FROM " KEYS " k LEFT JOIN tenants.tenant_profiles p ON p.tenant_id = "        \
    "k.tenant_id LEFT JOIN tenants.tenant_subscriptions s ON s.tenant_id = k.tenant_id "

static int lookup(cvg_wh_t *wh, const char *sql, const char *arg, cvg_keyinfo_t *out, bool *found,
                  cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    lookup_ctx_t c = {.info = out};
    cvg_val_t p = cvg_v_text(arg);
    int rc = cvg_wh_exec(wh, sql, &p, 1, take_key, &c, NULL, err);
    if (rc == 1)
        rc = 0;
    *found = c.found;
    return rc;
}

int cvg_keystore_lookup(cvg_wh_t *wh, const char *key_hash, cvg_keyinfo_t *out, bool *found,
                        cvg_err_t *err)
{
    return lookup(wh, KEY_SELECT "WHERE k.key_hash = $1", key_hash, out, found, err);
}

int cvg_keystore_get(cvg_wh_t *wh, const char *key_id, cvg_keyinfo_t *out, bool *found,
                     cvg_err_t *err)
{
    return lookup(wh, KEY_SELECT "WHERE k.api_key_id = $1", key_id, out, found, err);
}

int cvg_keystore_revoke(cvg_wh_t *wh, const char *key_id, const char *reason, bool *changed,
                        char revoked_at[CVG_TIME_ISO_LEN], cvg_err_t *err)
{
    revoked_at[0] = '\0';
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    cvg_val_t p[3] = {cvg_v_text(key_id), cvg_v_text(now),
                      reason && reason[0] ? cvg_v_text(reason) : CVG_V_NULL};
    int64_t n = 0;
    int rc = cvg_wh_exec(wh,
                         "UPDATE " KEYS " SET is_active = FALSE, revoked_at = $2, "
                         "revoked_reason = $3 WHERE api_key_id = $1 AND is_active",
                         p, 3, NULL, NULL, &n, err);
    *changed = n == 1;
    /* the time stored, by this call or the one that revoked it first */
    bool found = false;
    if (rc == 0)
        rc = cvg_wh_query_text(wh, "SELECT revoked_at FROM " KEYS " WHERE api_key_id = $1", p, 1,
                               revoked_at, CVG_TIME_ISO_LEN, &found, err);
    return rc;
}

int cvg_keystore_expire_at(cvg_wh_t *wh, const char *key_id, int64_t expires_ms, cvg_err_t *err)
{
    char at[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(expires_ms, at);
    cvg_val_t p[2] = {cvg_v_text(key_id), cvg_v_text(at)};
    return cvg_wh_exec(wh,
                       "UPDATE " KEYS " SET expires_at = $2 WHERE api_key_id = $1 AND "
                       "(expires_at IS NULL OR expires_at > $2)",
                       p, 2, NULL, NULL, NULL, err);
}

int cvg_keystore_successor(cvg_wh_t *wh, const char *key_id, char successor[CVG_ID_LEN],
                           bool *found, cvg_err_t *err)
{
    cvg_val_t p = cvg_v_text(key_id);
    successor[0] = '\0';
    return cvg_wh_query_text(wh,
                             "SELECT api_key_id FROM " KEYS " WHERE rotated_from = $1 "
                             "ORDER BY created_at LIMIT 1",
                             &p, 1, successor, CVG_ID_LEN, found, err);
}

int cvg_keystore_touch(cvg_wh_t *wh, const char *key_id, int64_t now_ms, cvg_err_t *err)
{
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(now_ms, now);
    cvg_val_t p[2] = {cvg_v_text(key_id), cvg_v_text(now)};
    return cvg_wh_exec(wh, "UPDATE " KEYS " SET last_used_at = $2 WHERE api_key_id = $1", p, 2,
                       NULL, NULL, NULL, err);
}

static void set_text(json_t *o, const char *key, const cvg_val_t *v)
{
    if (v->type == CVG_VAL_TEXT)
        json_object_set_new(o, key, json_stringn(v->s, v->len));
    else
        json_object_set_new(o, key, json_null());
}

static int add_listed(void *ud, const cvg_row_t *row)
{
    json_t *list = ud, *o = json_object();
    set_text(o, "api_key_id", &row->vals[0]);
    char prefix[32];
    cvg_val_copy_text(prefix, sizeof(prefix), &row->vals[1]);
    char masked[64];
    snprintf(masked, sizeof(masked), "%s...", prefix);
    json_object_set_new(o, "key_prefix", json_string(masked));
    json_object_set_new(o, "scopes",
                        row->vals[2].type == CVG_VAL_TEXT
                            ? json_loadb(row->vals[2].s, row->vals[2].len, 0, NULL)
                            : json_array());
    set_text(o, "description", &row->vals[3]);
    bool active = (row->vals[4].type == CVG_VAL_INT && row->vals[4].i != 0);
    set_text(o, "created_at", &row->vals[5]);
    set_text(o, "expires_at", &row->vals[6]);
    set_text(o, "last_used_at", &row->vals[7]);
    set_text(o, "revoked_at", &row->vals[8]);
    set_text(o, "rotated_from", &row->vals[9]);
    int64_t expires = iso_ms(&row->vals[6]);
    const char *status = !active                                       ? "revoked"
                         : expires > 0 && expires <= cvg_time_now_ms() ? "expired"
                                                                       : "active";
    json_object_set_new(o, "status", json_string(status));
    json_array_append_new(list, o);
    return 0;
}

int cvg_keystore_list(cvg_wh_t *wh, const char *tenant_id, json_t **out, cvg_err_t *err)
{
    *out = json_array();
    cvg_val_t p = cvg_v_text(tenant_id);
    int rc = cvg_wh_exec(wh,
                         "SELECT api_key_id, key_prefix, scopes, description, is_active, "
                         "created_at, expires_at, last_used_at, revoked_at, rotated_from FROM " KEYS
                         " WHERE tenant_id = $1 ORDER BY created_at DESC, api_key_id DESC",
                         &p, 1, add_listed, *out, NULL, err);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
