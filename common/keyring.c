/*
 * Server-side secrets (see keyring.h).
 */
#include "common/keyring.h"
#include "common/fs.h"
#include "common/str.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PEPPER_MIN 32

/* Reads a secret file that only its owner may read. */
static int read_secret_file(const char *path, const char *var, char **out, cvg_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cvg_err_set(err, CVG_ECONFIG, var, "%s: cannot read %s", var, path);
    if ((st.st_mode & 077) != 0)
        return cvg_err_set(err, CVG_ECONFIG, var, "%s: %s is readable by others (chmod 600 it)",
                           var, path);
    size_t len = 0;
    if (cvg_fs_read_file(path, 64 * 1024, out, &len, NULL) != 0)
        return cvg_err_set(err, CVG_ECONFIG, var, "%s: cannot read %s", var, path);
    while (len > 0 &&
           ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r' || (*out)[len - 1] == ' '))
        (*out)[--len] = '\0';
    return 0;
}

static int add_master(cvg_keyring_t *k, int version, const char *b64, const char *what,
                      cvg_err_t *err)
{
    if (version < 1 || version > 1000000)
        return cvg_err_set(err, CVG_ECONFIG, what, "%s: key version must be 1..1000000", what);
    if (k->nmaster >= CVG_KEYRING_MAX_VERSIONS)
        return cvg_err_set(err, CVG_ECONFIG, what, "%s: more than %d key versions", what,
                           CVG_KEYRING_MAX_VERSIONS);
    for (size_t i = 0; i < k->nmaster; i++) {
        if (k->versions[i] == version)
            return cvg_err_set(err, CVG_ECONFIG, what, "%s: version %d given twice", what, version);
    }
    size_t len = 0;
    unsigned char *raw = cvg_base64_decode(b64, &len);
    if (raw == NULL || len != CVG_AES_KEY_LEN) {
        if (raw)
            cvg_wipe(raw, len);
        free(raw);
        return cvg_err_set(err, CVG_ECONFIG, what,
                           "%s: version %d is not base64 of 32 bytes (openssl rand -base64 32)",
                           what, version);
    }
    k->versions[k->nmaster] = version;
    memcpy(k->master[k->nmaster], raw, CVG_AES_KEY_LEN);
    k->nmaster++;
    if (version > k->current)
        k->current = version;
    cvg_wipe(raw, len);
    free(raw);
    return 0;
}

int cvg_keyring_parse_master(cvg_keyring_t *k, const char *text, const char *what, cvg_err_t *err)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return cvg_err_set(err, CVG_ENOMEM, what, "out of memory");
    int rc = 0;
    char *line = copy;
    while (line && rc == 0) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        while (*line == ' ' || *line == '\t' || *line == '\r')
            line++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (*line != '\0' && *line != '#') {
            char *colon = strchr(line, ':');
            int64_t version = 1;
            const char *b64 = line;
            if (colon != NULL) {
                *colon = '\0';
                if (cvg_parse_int64(line, 1, 1000000, &version) != 0) {
                    rc = cvg_err_set(err, CVG_ECONFIG, what,
                                     "%s: expected VERSION:base64 on each line", what);
                    break;
                }
                b64 = colon + 1;
            }
            rc = add_master(k, (int)version, b64, what, err);
        }
        line = next;
    }
    cvg_wipe(copy, strlen(text));
    free(copy);
    return rc;
}

int cvg_keyring_load(cvg_keyring_t *k, const cvg_config_t *cfg, cvg_err_t *err)
{
    memset(k, 0, sizeof(*k));
    char *text = NULL;
    const char *pepper = cfg->api_key_pepper;
    if (pepper[0] == '\0' && cfg->api_key_pepper_file[0] != '\0') {
        int rc = read_secret_file(cfg->api_key_pepper_file, "CVG_API_KEY_PEPPER_FILE", &text, err);
        if (rc != 0)
            return rc;
        pepper = text;
    }
    if (pepper[0] != '\0') {
        if (strlen(pepper) < PEPPER_MIN) {
            if (text) {
                cvg_wipe(text, strlen(text));
                free(text);
            }
            return cvg_err_set(err, CVG_ECONFIG, "CVG_API_KEY_PEPPER",
                               "CVG_API_KEY_PEPPER: too short (at least %d characters)",
                               PEPPER_MIN);
        }
        SHA256((const unsigned char *)pepper, strlen(pepper), k->pepper);
        k->has_pepper = true;
    }
    if (text) {
        cvg_wipe(text, strlen(text));
        free(text);
        text = NULL;
    }
    int rc = 0;
    if (cfg->master_key[0] != '\0') {
        rc = cvg_keyring_parse_master(k, cfg->master_key, "CVG_MASTER_KEY", err);
    } else if (cfg->master_key_file[0] != '\0') {
        rc = read_secret_file(cfg->master_key_file, "CVG_MASTER_KEY_FILE", &text, err);
        if (rc == 0)
            rc = cvg_keyring_parse_master(k, text, "CVG_MASTER_KEY_FILE", err);
        if (text) {
            cvg_wipe(text, strlen(text));
            free(text);
        }
    }
    if (rc != 0)
        cvg_keyring_wipe(k);
    return rc;
}

const unsigned char *cvg_keyring_master(const cvg_keyring_t *k, int version)
{
    for (size_t i = 0; i < k->nmaster; i++) {
        if (k->versions[i] == version)
            return k->master[i];
    }
    return NULL;
}

void cvg_keyring_wipe(cvg_keyring_t *k)
{
    cvg_wipe(k, sizeof(*k));
}
