/*
 * Local files a tenant may read (see importpath.h).
 */
#include "common/importpath.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The path of a file:///... URI, percent-decoded. */
static int uri_path(const char *uri, char *out, size_t size, cvg_err_t *err)
{
    const char *p = uri;
    if (strncmp(p, "file://", 7) == 0) {
        p += 7;
        if (*p != '/')
            return cvg_err_set(err, CVG_EINVAL, "uri",
                               "%.200s: a file URI needs an absolute path (file:///dir/file)", uri);
    } else if (strstr(p, "://") != NULL) {
        return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: not a file:// URI", uri);
    }
    size_t o = 0;
    for (; *p; p++) {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: bad percent-escape", uri);
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (o + 1 >= size)
            return cvg_err_set(err, CVG_ETOOBIG, "uri", "path too long");
        out[o++] = c;
    }
    out[o] = '\0';
    if (o == 0)
        return cvg_err_set(err, CVG_EINVAL, "uri", "empty path");
    return 0;
}

/* True when path is dir itself's child (both resolved). */
static bool below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || (n == 1 && dir[0] == '/'));
}

static bool inside(const char *resolved, const char *root)
{
    char real[PATH_MAX];
    if (root[0] == '\0' || realpath(root, real) == NULL)
        return false;
    return below(resolved, real);
}

int cvg_import_path(const cvg_config_t *cfg, const char *tenant_id, const char *uri, char *out,
                    size_t size, cvg_err_t *err)
{
    char path[PATH_MAX], resolved[PATH_MAX];
    int rc = uri_path(uri, path, sizeof(path), err);
    if (rc != 0)
        return rc;
    if (realpath(path, resolved) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return cvg_err_set(err, CVG_ENOTFOUND, "uri", "%.200s: no such file", uri);
        return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: cannot be resolved: %s", uri,
                           strerror(errno));
    }
    bool ok = false;
    char roots[CVG_PATH_MAX];
    snprintf(roots, sizeof(roots), "%s", cfg->shared_import_dirs);
    char *save = NULL;
    for (char *r = strtok_r(roots, ",", &save); r && !ok; r = strtok_r(NULL, ",", &save))
        ok = inside(resolved, r);
    char own[CVG_PATH_MAX + 80];
    snprintf(own, sizeof(own), "%s/%s", cfg->import_dir, tenant_id);
    if (!ok && tenant_id[0] != '\0' && strchr(tenant_id, '/') == NULL)
        ok = inside(resolved, own);
    if (!ok)
        return cvg_err_set(err, CVG_EINVAL, "uri",
                           "%.200s is outside the directories this tenant may read (%.200s, "
                           "%.200s)",
                           uri, cfg->shared_import_dirs, own);
    struct stat st;
    if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
        return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: not a regular file", uri);
    if (strlen(resolved) >= size)
        return cvg_err_set(err, CVG_ETOOBIG, "uri", "path too long");
    memcpy(out, resolved, strlen(resolved) + 1);
    return 0;
}
