/*
 * The gateway's and workers' server-side secrets: the pepper under which
 * tenant API keys are hashed, and the versioned master keys that wrap the
 * data keys of stored credentials. Each comes from the environment or from
 * a file only its owner may read; neither is ever stored in the warehouse.
 *
 *   CVG_API_KEY_PEPPER       text of at least 32 characters
 *   CVG_API_KEY_PEPPER_FILE  file holding that text
 *   CVG_MASTER_KEY           base64 of 32 bytes, optionally "VERSION:" first
 *   CVG_MASTER_KEY_FILE      lines "VERSION:base64", '#' comments; the
 *                            highest version wraps new data keys
 */
#ifndef CVG_KEYRING_H
#define CVG_KEYRING_H

#include "common/config.h"
#include "common/crypto.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>

#define CVG_KEYRING_MAX_VERSIONS 16

typedef struct cvg_keyring {
    bool has_pepper;
    unsigned char pepper[32]; /* SHA-256 of the pepper text */
    size_t nmaster;
    int current; /* highest master key version, 0 if none */
    int versions[CVG_KEYRING_MAX_VERSIONS];
    unsigned char master[CVG_KEYRING_MAX_VERSIONS][CVG_AES_KEY_LEN];
} cvg_keyring_t;

/* Loads what the configuration names. A missing pepper or master key is
 * not an error here (has_pepper / nmaster say); a malformed one, or a file
 * readable by others, is CVG_ECONFIG naming the variable. */
int cvg_keyring_load(cvg_keyring_t *k, const cvg_config_t *cfg, cvg_err_t *err);

/* Parses master keys from text (the file format); for tests and rotation. */
int cvg_keyring_parse_master(cvg_keyring_t *k, const char *text, const char *what, cvg_err_t *err);

/* The master key of a version, or NULL when unknown. */
const unsigned char *cvg_keyring_master(const cvg_keyring_t *k, int version);

/* Overwrites every secret. */
void cvg_keyring_wipe(cvg_keyring_t *k);

#endif
