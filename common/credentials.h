/*
 * Tenant credentials (cloud keys, SMTP and Slack secrets), encrypted at rest
 * in tenants.tenant_cloud_credentials. Envelope encryption: each credential
 * gets a fresh 256-bit data key; the secret is sealed with it (AES-256-GCM,
 * AAD binding the tenant and credential id), and the data key is sealed
 * with the current master key (AAD binding tenant, credential id and the
 * master key version). Rotating the master key re-seals data keys only.
 * Nothing here logs or returns a secret in an error.
 */
#ifndef CVG_CREDENTIALS_H
#define CVG_CREDENTIALS_H

#include "common/err.h"
#include "common/outbound.h"
#include "common/id.h"
#include "common/keyring.h"
#include "common/warehouse.h"

#include <jansson.h>
#include <stddef.h>

#define CVG_SECRET_MAX (64 * 1024)

/* A sealed secret as stored: base64 text fields and the key version. */
typedef struct cvg_sealed {
    char *ciphertext;  /* base64(ciphertext || tag), owned */
    char *nonce;       /* base64(12-byte nonce), owned */
    char *wrapped_key; /* base64(nonce || sealed data key || tag), owned */
    int key_version;
} cvg_sealed_t;

void cvg_sealed_cleanup(cvg_sealed_t *s);

/* True when provider is one we store: gcp, aws, azure, smtp, slack. */
bool cvg_cred_provider_ok(const char *provider);

/* Checks the shape of a provider's secret; fills *metadata (new
 * reference) with its non-secret parts. A Slack webhook_url must be one
 * the outbound policy (may be NULL: https to public hosts only) lets a
 * processor reach. Errors name the field, never a value. */
int cvg_cred_check(const char *provider, const json_t *secret, const cvg_outbound_t *policy,
                   json_t **metadata, cvg_err_t *err);

/* Seals plain (len bytes) for tenant and credential id. */
int cvg_cred_seal(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                  const void *plain, size_t len, cvg_sealed_t *out, cvg_err_t *err);

/* Opens a sealed secret into *plain (heap, NUL-terminated; wipe and free).
 * CVG_EAUTH when anything does not match: key, version, tenant, id, bytes. */
int cvg_cred_open(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                  const cvg_sealed_t *in, char **plain, size_t *len, cvg_err_t *err);

/* Re-seals the data key under the current master key version. */
int cvg_cred_rewrap(const cvg_keyring_t *k, const char *tenant, const char *cred_id,
                    cvg_sealed_t *s, cvg_err_t *err);

/* Stores a tenant's secret for a provider, replacing the one it had;
 * *cred_id gets the new credential's id. One transaction. */
int cvg_cred_store(cvg_wh_t *wh, const cvg_keyring_t *k, const char *tenant, const char *provider,
                   const char *name, const json_t *secret, const json_t *metadata,
                   const char *created_by, char cred_id[CVG_ID_LEN], cvg_err_t *err);

/* Removes a tenant's credential for a provider, secret and all; *removed
 * says how many rows went (0: there was none). */
int cvg_cred_delete(cvg_wh_t *wh, const char *tenant, const char *provider, int64_t *removed,
                    cvg_err_t *err);

/* The active credential's secret for a tenant and provider (heap JSON text;
 * wipe and free). CVG_ENOTFOUND when there is none. */
int cvg_cred_load(cvg_wh_t *wh, const cvg_keyring_t *k, const char *tenant, const char *provider,
                  char **secret, cvg_err_t *err);

/* Metadata of the tenant's active credentials (all providers when provider
 * is NULL): a JSON array (new reference). */
int cvg_cred_list(cvg_wh_t *wh, const char *tenant, const char *provider, json_t **out,
                  cvg_err_t *err);

/* Re-seals every data key not under the current master key version;
 * *done and *failed count rows. */
int cvg_cred_rotate_all(cvg_wh_t *wh, const cvg_keyring_t *k, size_t *done, size_t *failed,
                        cvg_err_t *err);

#endif
