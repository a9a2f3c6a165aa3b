/*
 * Tenant credentials, encrypted at rest (see credentials.h).
 */
#include "common/credentials.h"
#include "common/central.h"
#include "common/utf8.h"
#include "common/crypto.h"
#include "common/proto.h"
#include "common/str.h"
#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDS "tenants.tenant_cloud_credentials"

void cvg_sealed_cleanup(cvg_sealed_t *s)
{
    free(s->ciphertext);
    free(s->nonce);
    free(s->wrapped_key);
    memset(s, 0, sizeof(*s));
}

/* ---- shapes -------------------------------------------------------------- */

typedef struct provider_shape {
    const char *name;
    const char *const *required; /* secret fields that must be non-empty strings */
    const char *const *optional;
    const char *const *public; /* copied into the metadata */
} provider_shape_t;

static const char *const gcp_req[] = {"type", "project_id", "private_key", "client_email", NULL};
static const char *const gcp_opt[] = {"private_key_id",
                                      "client_id",
                                      "auth_uri",
                                      "token_uri",
                                      "auth_provider_x509_cert_url",
                                      "client_x509_cert_url",
                                      "universe_domain",
                                      NULL};
static const char *const gcp_pub[] = {"project_id", "client_email", NULL};
static const char *const aws_req[] = {"access_key_id", "secret_access_key", NULL};
static const char *const aws_opt[] = {"session_token", "region", "endpoint", NULL};
static const char *const aws_pub[] = {"region", "endpoint", NULL};
static const char *const azure_req[] = {"tenant_id", "client_id", "client_secret", NULL};
static const char *const azure_opt[] = {"subscription_id", NULL};
static const char *const azure_pub[] = {"tenant_id", "client_id", "subscription_id", NULL};
static const char *const smtp_req[] = {"host", "username", "password", NULL};
static const char *const smtp_opt[] = {"port", "from", "tls", NULL};
static const char *const smtp_pub[] = {"host", "port", "username", "from", NULL};
static const char *const slack_req[] = {"webhook_url", NULL};
static const char *const slack_opt[] = {"channel", NULL};
static const char *const slack_pub[] = {"channel", NULL};

/* Secret values, checked for type only (a PEM key has newlines). */
static const char *const opaque[] = {"private_key",   "secret_access_key", "session_token",
                                     "client_secret", "password",          NULL};

static const provider_shape_t shapes[] = {
    {"gcp", gcp_req, gcp_opt, gcp_pub},         {"aws", aws_req, aws_opt, aws_pub},
    {"azure", azure_req, azure_opt, azure_pub}, {"smtp", smtp_req, smtp_opt, smtp_pub},
    {"slack", slack_req, slack_opt, slack_pub},
};

static const provider_shape_t *shape_of(const char *provider)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (strcmp(shapes[i].name, provider) == 0)
            return &shapes[i];
    }
    return NULL;
}

bool cvg_cred_provider_ok(const char *provider)
{
    return provider && shape_of(provider) != NULL;
}

static bool listed(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(list[i], key) == 0)
            return true;
    }
    return false;
}

int cvg_cred_check(const char *provider, const json_t *secret, const cvg_outbound_t *policy,
                   json_t **metadata, cvg_err_t *err)
{
    *metadata = NULL;
    const provider_shape_t *sh = shape_of(provider);
    if (sh == NULL)
        return cvg_err_set(err, CVG_EINVAL, "provider",
                           "provider must be one of gcp, aws, azure, smtp, slack");
    if (!json_is_object(secret))
        return cvg_err_set(err, CVG_EINVAL, "", "the credential must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)secret, key, val)
    {
        if (!listed(sh->required, key) && !listed(sh->optional, key)) {
            char name[CVG_PATH_KEY_MAX + 4];
            cvg_path_join(name, sizeof(name), "", key);
            return cvg_err_set(err, CVG_EINVAL, name, "%s: unknown field in %s credentials", name,
                               provider);
        }
        const char *want = strcmp(key, "port") == 0  ? "an integer"
                           : strcmp(key, "tls") == 0 ? "true or false"
                                                     : "a string";
        if (strcmp(key, "port") == 0  ? !json_is_integer(val)
            : strcmp(key, "tls") == 0 ? !json_is_boolean(val)
                                      : !json_is_string(val))
            return cvg_err_set(err, CVG_EINVAL, key, "%s: must be %s", key, want);
    }
    for (size_t i = 0; sh->required[i]; i++) {
        const char *v = json_string_value(json_object_get(secret, sh->required[i]));
        if (v == NULL || v[0] == '\0')
            return cvg_err_set(err, CVG_EINVAL, sh->required[i], "%s: field required",
                               sh->required[i]);
    }
    if (strcmp(provider, "gcp") == 0 &&
        strcmp(json_string_value(json_object_get(secret, "type")), "service_account") != 0)
        return cvg_err_set(err, CVG_EINVAL, "type", "type: must be service_account");
    if (strcmp(provider, "gcp") == 0 &&
        !cvg_str_starts(json_string_value(json_object_get(secret, "private_key")),
                        "-----BEGIN PRIVATE KEY-----"))
        return cvg_err_set(err, CVG_EINVAL, "private_key", "private_key: not a PEM private key");
    if (strcmp(provider, "slack") == 0) {
        /* the rules the processor's transfer will meet, now rather than at
         * the first notification (plain http only to allowed hosts) */
        cvg_err_t why;
        cvg_err_clear(&why);
        const char *url = json_string_value(json_object_get(secret, "webhook_url"));
        bool web = cvg_str_starts(url, "https://") || cvg_str_starts(url, "http://");
        if (!web || cvg_outbound_check_url(policy, url, &why) != 0) {
            /* the reason without the URL itself: it is the secret */
            bool plain = cvg_str_starts(url, "http://");
            return cvg_err_set(err, CVG_EINVAL, "webhook_url", "webhook_url: %s",
                               plain ? "must be an https URL (plain http only to hosts in "
                                       "CVG_OUTBOUND_ALLOW)"
                                     : "not a URL a notification may reach (https to a "
                                       "public host)");
        }
    }
    /* names, ids, hosts and addresses (some shown back as metadata, some
     * sent in protocol headers) are one plain line of text; the secrets
     * themselves are taken as they are */
    json_object_foreach((json_t *)secret, key, val)
    {
        const char *v = json_string_value(val);
        if (v != NULL && !listed(opaque, key) && !cvg_utf8_plain(v))
            return cvg_err_set(err, CVG_EINVAL, key,
                               "%s: contains control or bidi characters, or is not UTF-8", key);
    }
    json_t *port = json_object_get(secret, "port");
    if (port && (json_integer_value(port) < 1 || json_integer_value(port) > 65535))
        return cvg_err_set(err, CVG_EINVAL, "port", "port: must be 1..65535");
    json_t *meta = json_object();
    for (size_t i = 0; sh->public[i]; i++) {
        json_t *v = json_object_get(secret, sh->public[i]);
        if (v)
            json_object_set(meta, sh->public[i], v);
    }
    if (strcmp(provider, "aws") == 0) {
        /* Enough of the key id to recognise it, not to use it. */
        const char *id = json_string_value(json_object_get(secret, "access_key_id"));
        size_t n = strlen(id);
        char masked[32];
        snprintf(masked, sizeof(masked), "%.4s...%s", id, n > 8 ? id + n - 4 : "");
        json_object_set_new(meta, "access_key_id", json_string(masked));
    }
    *metadata = meta;
    return 0;
}

/* ---- sealing ------------------------------------------------------------- */

static void data_aad(char *out, size_t size, const char *tenant, const char *cred_id)
{
    snprintf(out, size, "cvg-credential/v1|%s|%s", tenant, cred_id);
}

static void key_aad(char *out, size_t size, const char *tenant, const char *cred_id, int version)
{
    snprintf(out, size, "cvg-datakey/v1|%s|%s|%d", tenant, cred_id, version);
}

/* Seals a data key under the current master key into s->wrapped_key. */
static int wrap(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                const unsigned char dk[CVG_AES_KEY_LEN], cvg_sealed_t *s, cvg_err_t *err)
{
    const unsigned char *mk = cvg_keyring_master(k, k->current);
    if (mk == NULL)
        return cvg_err_set(err, CVG_ECONFIG, "CVG_MASTER_KEY",
                           "no master key configured (CVG_MASTER_KEY or CVG_MASTER_KEY_FILE)");
    char aad[256];
    key_aad(aad, sizeof(aad), tenant, cred_id, k->current);
    unsigned char sealed[CVG_GCM_NONCE_LEN + CVG_AES_KEY_LEN + CVG_GCM_TAG_LEN];
    size_t n = 0;
    int rc = cvg_aead_seal(mk, aad, strlen(aad), dk, CVG_AES_KEY_LEN, sealed, &n);
    if (rc != 0)
        return cvg_err_set(err, rc, "", "cannot seal the data key");
    char *b64 = cvg_base64_encode(sealed, n);
    if (b64 == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    free(s->wrapped_key);
    s->wrapped_key = b64;
    s->key_version = k->current;
    return 0;
}

/* Opens s->wrapped_key with the master key of its version. */
static int unwrap(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                  const cvg_sealed_t *s, unsigned char dk[CVG_AES_KEY_LEN], cvg_err_t *err)
{
    const unsigned char *mk = cvg_keyring_master(k, s->key_version);
    if (mk == NULL)
        return cvg_err_set(err, CVG_EAUTH, "key_version", "master key version %d is not configured",
                           s->key_version);
    size_t len = 0;
    unsigned char *sealed = cvg_base64_decode(s->wrapped_key ? s->wrapped_key : "", &len);
    if (sealed == NULL || len != CVG_GCM_NONCE_LEN + CVG_AES_KEY_LEN + CVG_GCM_TAG_LEN) {
        free(sealed);
        return cvg_err_set(err, CVG_EAUTH, "", "the stored data key is damaged");
    }
    char aad[256];
    key_aad(aad, sizeof(aad), tenant, cred_id, s->key_version);
    size_t n = 0;
    int rc = cvg_aead_open(mk, aad, strlen(aad), sealed, len, dk, &n);
    free(sealed);
    if (rc != 0 || n != CVG_AES_KEY_LEN) {
        cvg_wipe(dk, CVG_AES_KEY_LEN);
        return cvg_err_set(err, CVG_EAUTH, "", "the credential cannot be decrypted");
    }
    return 0;
}

int cvg_cred_seal(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                  const void *plain, size_t len, cvg_sealed_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (len > CVG_SECRET_MAX)
        return cvg_err_set(err, CVG_ETOOBIG, "", "the credential is over %d bytes", CVG_SECRET_MAX);
    unsigned char dk[CVG_AES_KEY_LEN];
    if (cvg_random_bytes(dk, sizeof(dk)) != 0)
        return cvg_err_set(err, CVG_EIO, "", "the random generator failed");
    char aad[256];
    data_aad(aad, sizeof(aad), tenant, cred_id);
    size_t cap = len + CVG_GCM_NONCE_LEN + CVG_GCM_TAG_LEN, n = 0;
    unsigned char *sealed = malloc(cap);
    int rc = sealed ? cvg_aead_seal(dk, aad, strlen(aad), plain, len, sealed, &n) : CVG_ENOMEM;
    if (rc == 0) {
        out->nonce = cvg_base64_encode(sealed, CVG_GCM_NONCE_LEN);
        out->ciphertext = cvg_base64_encode(sealed + CVG_GCM_NONCE_LEN, n - CVG_GCM_NONCE_LEN);
        if (out->nonce == NULL || out->ciphertext == NULL)
            rc = CVG_ENOMEM;
    }
    if (rc == 0)
        rc = wrap(k, tenant, cred_id, dk, out, err);
    else
        cvg_err_set(err, rc, "", "cannot seal the credential");
    cvg_wipe(dk, sizeof(dk));
    free(sealed);
    if (rc != 0)
        cvg_sealed_cleanup(out);
    return rc;
}

int cvg_cred_open(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                  const cvg_sealed_t *in, char **plain, size_t *len, cvg_err_t *err)
{
    *plain = NULL;
    unsigned char dk[CVG_AES_KEY_LEN];
    int rc = unwrap(k, tenant, cred_id, in, dk, err);
    if (rc != 0)
        return rc;
    size_t nlen = 0, clen = 0;
    unsigned char *nonce = cvg_base64_decode(in->nonce ? in->nonce : "", &nlen);
    unsigned char *ct = cvg_base64_decode(in->ciphertext ? in->ciphertext : "", &clen);
    unsigned char *sealed = NULL;
    char *out = NULL;
    rc = CVG_EAUTH;
    if (nonce && ct && nlen == CVG_GCM_NONCE_LEN && clen >= CVG_GCM_TAG_LEN) {
        sealed = malloc(nlen + clen);
        out = malloc(clen + 1);
        if (sealed && out) {
            memcpy(sealed, nonce, nlen);
            memcpy(sealed + nlen, ct, clen);
            char aad[256];
            data_aad(aad, sizeof(aad), tenant, cred_id);
            size_t n = 0;
            if (cvg_aead_open(dk, aad, strlen(aad), sealed, nlen + clen, (unsigned char *)out,
                              &n) == 0) {
                out[n] = '\0';
                *plain = out;
                *len = n;
                out = NULL;
                rc = 0;
            }
        }
    }
    cvg_wipe(dk, sizeof(dk));
    free(nonce);
    free(ct);
    free(sealed);
    free(out);
    if (rc != 0)
        cvg_err_set(err, CVG_EAUTH, "", "the credential cannot be decrypted");
    return rc;
}

int cvg_cred_rewrap(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                    cvg_sealed_t *s, cvg_err_t *err)
{
    unsigned char dk[CVG_AES_KEY_LEN];
    int rc = unwrap(k, tenant, cred_id, s, dk, err);
    if (rc == 0)
        rc = wrap(k, tenant, cred_id, dk, s, err);
    cvg_wipe(dk, sizeof(dk));
    return rc;
}

/* ---- storage ------------------------------------------------------------- */

/* When and by whom the provider's credential was first stored: a
 * replacement keeps them (it is a new secret with an id of its own, since
 * the id is bound into its encryption). */
typedef struct first_store {
    char at[CVG_TIME_ISO_LEN];
    char by[CVG_NAME_MAX];
} first_store_t;

static int take_first_store(void *ud, const cvg_row_t *row)
{
    first_store_t *f = ud;
    if (row->vals[0].type == CVG_VAL_TEXT)
        snprintf(f->at, sizeof(f->at), "%.*s", (int)row->vals[0].len, row->vals[0].s);
    if (row->vals[1].type == CVG_VAL_TEXT)
        snprintf(f->by, sizeof(f->by), "%.*s", (int)row->vals[1].len, row->vals[1].s);
    return 0;
}

int cvg_cred_store(cvg_wh_t *wh, const cvg_keyring_t *k, const char *tenant, const char *provider,
                   const char *name, const json_t *secret, const json_t *metadata,
                   const char *created_by, char cred_id[CVG_ID_LEN], cvg_err_t *err)
{
    cvg_id_new(cred_id);
    char *plain = json_dumps(secret, JSON_COMPACT);
    if (plain == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    cvg_sealed_t s;
    int rc = cvg_cred_seal(k, tenant, cred_id, plain, strlen(plain), &s, err);
    cvg_wipe(plain, strlen(plain));
    free(plain);
    if (rc != 0)
        return rc;
    char *meta = metadata ? json_dumps(metadata, JSON_COMPACT) : NULL;
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    rc = cvg_wh_begin_write(wh, CVG_CENTRAL_DATASET, err); /* that file's lock alone */
    first_store_t first = {0};
    if (rc == 0) {
        cvg_val_t del[2] = {cvg_v_text(tenant), cvg_v_text(provider)};
        rc = cvg_wh_exec(wh,
                         "DELETE FROM " CREDS " WHERE tenant_id = $1 AND provider = $2 "
                         "RETURNING created_at, created_by",
                         del, 2, take_first_store, &first, NULL, err);
    }
    char created[CVG_TIME_ISO_LEN];
    snprintf(created, sizeof(created), "%s", first.at[0] ? first.at : now);
    if (first.by[0] != '\0')
        created_by = first.by;
    if (rc == 0) {
        cvg_val_t p[12] = {cvg_v_text(cred_id),
                           cvg_v_text(tenant),
                           cvg_v_text(provider),
                           name ? cvg_v_text(name) : CVG_V_NULL,
                           cvg_v_text(s.ciphertext),
                           cvg_v_text(s.nonce),
                           cvg_v_text(s.wrapped_key),
                           CVG_V_INT(s.key_version),
                           meta ? cvg_v_text(meta) : CVG_V_NULL,
                           cvg_v_text(now),
                           created_by ? cvg_v_text(created_by) : CVG_V_NULL,
                           cvg_v_text(created)};
        rc = cvg_wh_exec(wh,
                         "INSERT INTO " CREDS " (credential_id, tenant_id, provider, "
                         "credential_name, ciphertext, nonce, wrapped_data_key, key_version, "
                         "metadata, is_active, created_at, created_by, updated_at) VALUES ($1, $2, "
                         "$3, $4, $5, $6, $7, $8, $9, TRUE, $12, $11, $10)",
                         p, 12, NULL, NULL, NULL, err);
    }
    if (rc == 0)
        rc = cvg_wh_commit(wh, err);
    else
        cvg_wh_rollback(wh);
    free(meta);
    cvg_sealed_cleanup(&s);
    return rc;
}

static char *dup_text(const cvg_val_t *v)
{
    if (v->type != CVG_VAL_TEXT)
        return NULL;
    char *s = malloc(v->len + 1);
    if (s) {
        memcpy(s, v->s, v->len);
        s[v->len] = '\0';
    }
    return s;
}

typedef struct sealed_row {
    char cred_id[CVG_ID_LEN];
    char tenant[CVG_TENANT_MAX];
    cvg_sealed_t s;
    bool found;
} sealed_row_t;

static int take_sealed(void *ud, const cvg_row_t *row)
{
    sealed_row_t *r = ud;
    r->found = true;
    snprintf(r->cred_id, sizeof(r->cred_id), "%.*s", (int)row->vals[0].len,
             row->vals[0].s ? row->vals[0].s : "");
    snprintf(r->tenant, sizeof(r->tenant), "%.*s", (int)row->vals[1].len,
             row->vals[1].s ? row->vals[1].s : "");
    r->s.ciphertext = dup_text(&row->vals[2]);
    r->s.nonce = dup_text(&row->vals[3]);
    r->s.wrapped_key = dup_text(&row->vals[4]);
    r->s.key_version = row->vals[5].type == CVG_VAL_INT ? (int)row->vals[5].i : 0;
    return 1;
}

int cvg_cred_delete(cvg_wh_t *wh, const char *tenant, const char *provider, int64_t *removed,
                    cvg_err_t *err)
{
    *removed = 0;
    cvg_val_t p[2] = {cvg_v_text(tenant), cvg_v_text(provider)};
    return cvg_wh_exec(wh, "DELETE FROM " CREDS " WHERE tenant_id = $1 AND provider = $2", p, 2,
                       NULL, NULL, removed, err);
}

int cvg_cred_load(cvg_wh_t *wh, const cvg_keyring_t *k, const char *tenant, const char *provider,
                  char **secret, cvg_err_t *err)
{
    *secret = NULL;
    sealed_row_t r = {0};
    cvg_val_t p[2] = {cvg_v_text(tenant), cvg_v_text(provider)};
    int rc = cvg_wh_exec(wh,
                         "SELECT credential_id, tenant_id, ciphertext, nonce, wrapped_data_key, "
                         "key_version FROM " CREDS " WHERE tenant_id = $1 AND provider = $2 "
                         "AND is_active",
                         p, 2, take_sealed, &r, NULL, err);
    if (rc == 1)
        rc = 0;
    if (rc == 0 && !r.found)
        rc = cvg_err_set(err, CVG_ENOTFOUND, "provider", "no %s credential stored for the tenant",
                         provider);
    size_t len = 0;
    if (rc == 0)
        rc = cvg_cred_open(k, tenant, r.cred_id, &r.s, secret, &len, err);
    cvg_sealed_cleanup(&r.s);
    return rc;
}

static int add_meta(void *ud, const cvg_row_t *row)
{
    json_t *o = json_object();
    for (size_t i = 0; i < row->ncols; i++) {
        const cvg_val_t *v = &row->vals[i];
        if (strcmp(row->names[i], "metadata") == 0)
            json_object_set_new(o, "metadata",
                                v->type == CVG_VAL_TEXT ? json_loadb(v->s, v->len, 0, NULL)
                                                        : json_object());
        else if (v->type == CVG_VAL_TEXT)
            json_object_set_new(o, row->names[i], json_stringn(v->s, v->len));
        else if (v->type == CVG_VAL_INT)
            json_object_set_new(o, row->names[i], json_integer(v->i));
        else
            json_object_set_new(o, row->names[i], json_null());
    }
    json_array_append_new(ud, o);
    return 0;
}

int cvg_cred_list(cvg_wh_t *wh, const char *tenant, const char *provider, json_t **out,
                  cvg_err_t *err)
{
    *out = json_array();
    cvg_val_t p[2] = {cvg_v_text(tenant), provider ? cvg_v_text(provider) : CVG_V_NULL};
    int rc = cvg_wh_exec(wh,
                         "SELECT credential_id, provider, credential_name, key_version, "
                         "metadata, created_at, created_by, updated_at FROM " CREDS
                         " WHERE tenant_id = $1 AND is_active AND ($2 IS NULL OR provider = $2) "
                         "ORDER BY provider",
                         p, 2, add_meta, *out, NULL, err);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

typedef struct rows {
    sealed_row_t *items;
    size_t n, cap;
} rows_t;

static int collect(void *ud, const cvg_row_t *row)
{
    rows_t *r = ud;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        sealed_row_t *items = realloc(r->items, cap * sizeof(*items));
        if (items == NULL)
            return CVG_ENOMEM;
        r->items = items;
        r->cap = cap;
    }
    memset(&r->items[r->n], 0, sizeof(r->items[0]));
    take_sealed(&r->items[r->n++], row);
    return 0;
}

int cvg_cred_rotate_all(cvg_wh_t *wh, const cvg_keyring_t *k, size_t *done, size_t *failed,
                        cvg_err_t *err)
{
    *done = *failed = 0;
    if (k->current == 0)
        return cvg_err_set(err, CVG_ECONFIG, "CVG_MASTER_KEY", "no master key configured");
    rows_t rows = {0};
    cvg_val_t v = CVG_V_INT(k->current);
    int rc = cvg_wh_exec(wh,
                         "SELECT credential_id, tenant_id, ciphertext, nonce, wrapped_data_key, "
                         "key_version FROM " CREDS " WHERE key_version <> $1",
                         &v, 1, collect, &rows, NULL, err);
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    for (size_t i = 0; rc == 0 && i < rows.n; i++) {
        sealed_row_t *r = &rows.items[i];
        cvg_err_t one;
        cvg_err_clear(&one);
        int old = r->s.key_version;
        if (cvg_cred_rewrap(k, r->tenant, r->cred_id, &r->s, &one) != 0) {
            (*failed)++;
            continue;
        }
        cvg_val_t p[5] = {cvg_v_text(r->cred_id), cvg_v_text(r->s.wrapped_key),
                          CVG_V_INT(r->s.key_version), cvg_v_text(now), CVG_V_INT(old)};
        /* Only if nobody changed the row meanwhile. */
        int64_t changed = 0;
        rc = cvg_wh_exec(wh,
                         "UPDATE " CREDS " SET wrapped_data_key = $2, key_version = $3, "
                         "updated_at = $4 WHERE credential_id = $1 AND key_version = $5",
                         p, 5, NULL, NULL, &changed, err);
        if (rc == 0)
            *done += (size_t)changed;
    }
    for (size_t i = 0; i < rows.n; i++)
        cvg_sealed_cleanup(&rows.items[i].s);
    free(rows.items);
    return rc;
}
