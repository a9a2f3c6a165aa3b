/*
 * Gateway authentication (see auth.h).
 */
#include "gateway/auth.h"
#include "common/fs.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

bool gw_auth_admin(gw_t *gw, const gw_req_t *req, gw_resp_t *resp)
{
    const char *given = gw_req_header(req, "X-Admin-Key");
    if (given == NULL || given[0] == '\0') {
        gw_resp_error(resp, 401, "unauthorized", "X-Admin-Key",
                      "missing X-Admin-Key header: this endpoint needs the admin key");
        return false;
    }
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, strlen(given), h);
    if (CRYPTO_memcmp(h, gw->admin_key_hash, sizeof(h)) != 0) {
        gw_resp_error(resp, 403, "forbidden", "X-Admin-Key", "invalid admin key");
        return false;
    }
    return true;
}
