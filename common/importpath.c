/*
 * Local files a tenant may read (see importpath.h).
 */
#include "common/importpath.h"
#include "common/str.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
            int hi = cvg_hex_digit(p[1]), lo = hi >= 0 ? cvg_hex_digit(p[2]) : -1;
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

/* True when path is dir or lies below it (both resolved); dir itself is
 * refused later as not a file. */
static bool below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 &&
           (path[n] == '/' || path[n] == '\0' || (n == 1 && dir[0] == '/'));
}

/* True when a segment of path is "..". */
static bool has_dotdot(const char *path)
{
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/* An absolute path with "." and ".." taken out and slashes single, without
 * touching the disk: nothing is learnt about what exists. */
static bool normalize(const char *path, char *out, size_t size)
{
    if (path[0] != '/' || size < 2)
        return false;
    size_t o = 0;
    out[o++] = '/';
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--; /* the slash before the dropped segment */
        } else {
            if (o > 1) {
                if (o + 1 >= size)
                    return false;
                out[o++] = '/';
            }
            if (o + n >= size)
                return false;
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return true;
}

/* path made absolute (from the working directory) and normalized, by
 * name only. False when it does not fit. */
static bool by_name_path(const char *path, char *out, size_t size)
{
    char abs[PATH_MAX], cwd[PATH_MAX];
    if (path[0] == '/')
        snprintf(abs, sizeof(abs), "%s", path);
    else if (getcwd(cwd, sizeof(cwd)) != NULL)
        snprintf(abs, sizeof(abs), "%.2000s/%.2000s", cwd, path);
    else
        return false;
    return normalize(abs, out, size);
}

/* True when path lies below root. A resolved path is held against the
 * resolved root only; a path checked by name also against the root as
 * written (made absolute, . and .. taken out), as a user would write it. */
static bool inside(const char *path, const char *root, bool by_name)
{
    char real[PATH_MAX], norm[PATH_MAX];
    if (root[0] == '\0')
        return false;
    if (realpath(root, real) != NULL && below(path, real))
        return true;
    return by_name && by_name_path(root, norm, sizeof(norm)) && below(path, norm);
}

/* Whether path lies below one of the tenant's roots: the shared import
 * directories and its own. */
static bool allowed(const cvg_config_t *cfg, const char *tenant_id, const char *path, bool by_name,
                    char *own, size_t own_size)
{
    bool ok = false;
    char roots[CVG_PATH_MAX];
    snprintf(roots, sizeof(roots), "%s", cfg->shared_import_dirs);
    char *save = NULL;
    for (char *r = strtok_r(roots, ",", &save); r && !ok; r = strtok_r(NULL, ",", &save))
        ok = inside(path, r, by_name);
    snprintf(own, own_size, "%s/%s", cfg->import_dir, tenant_id);
    if (!ok && tenant_id[0] != '\0' && strchr(tenant_id, '/') == NULL)
        ok = inside(path, own, by_name);
    return ok;
}

/* The tenant's directories as absolute paths, for a message: a file://
 * URI must name them so. */
static void roots_shown(const cvg_config_t *cfg, const char *own, char *out, size_t size)
{
    char roots[2 * CVG_PATH_MAX + 160], norm[PATH_MAX];
    snprintf(roots, sizeof(roots), "%.*s,%.*s", CVG_PATH_MAX, cfg->shared_import_dirs,
             CVG_PATH_MAX + 80, own);
    size_t used = 0;
    out[0] = '\0';
    char *save = NULL;
    for (char *r = strtok_r(roots, ",", &save); r && used + 1 < size;
         r = strtok_r(NULL, ",", &save)) {
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                         by_name_path(r, norm, sizeof(norm)) ? norm : r);
        used += n > 0 ? (size_t)n : 0;
        if (used >= size)
            used = size - 1; /* cut: nothing more fits */
    }
}

int cvg_import_path(const cvg_config_t *cfg, const char *tenant_id, const char *uri, char *out,
                    size_t size, cvg_err_t *err)
{
    char path[PATH_MAX], norm[PATH_MAX], resolved[PATH_MAX], own[CVG_PATH_MAX + 80] = "";
    char shown[600];
    int rc = uri_path(uri, path, sizeof(path), err);
    if (rc != 0)
        return rc;
    if (has_dotdot(path))
        return cvg_err_set(err, CVG_EINVAL, "uri",
                           "%.200s: a path may not contain '..'; name the file by its own path",
                           uri);
    /* First by name alone: a path outside the tenant's directories is
     * refused the same whether or not it exists, so its answer says
     * nothing about other tenants' files. Then resolved: a symlink out of
     * them is refused too. */
    bool ok = by_name_path(path, norm, sizeof(norm)) &&
              allowed(cfg, tenant_id, norm, true, own, sizeof(own));
    if (ok && realpath(path, resolved) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return cvg_err_set(err, CVG_ENOTFOUND, "uri", "%.200s: no such file", uri);
        return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: cannot be resolved: %s", uri,
                           strerror(errno));
    }
    bool named_inside = ok;
    if (ok)
        ok = allowed(cfg, tenant_id, resolved, false, own, sizeof(own));
    if (!ok) {
        if (own[0] == '\0')
            snprintf(own, sizeof(own), "%s/%s", cfg->import_dir, tenant_id);
        roots_shown(cfg, own, shown, sizeof(shown));
        return cvg_err_set(
            err, CVG_EINVAL, "uri", "%.200s %s the directories this tenant may read (%s)", uri,
            named_inside ? "leads through a symbolic link outside" : "is outside", shown);
    }
    struct stat st;
    if (stat(resolved, &st) == 0 && S_ISDIR(st.st_mode))
        return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: is a directory, not a file", uri);
    if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
        return cvg_err_set(err, CVG_EINVAL, "uri", "%.200s: not a regular file", uri);
    if (strlen(resolved) >= size)
        return cvg_err_set(err, CVG_ETOOBIG, "uri", "path too long");
    memcpy(out, resolved, strlen(resolved) + 1);
    return 0;
}
