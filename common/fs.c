/*
 * Filesystem helpers (see fs.h).
 */
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cvg_fs_mkdir_p(const char *dir, mode_t mode, cvg_err_t *err)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return cvg_err_set(err, CVG_EINVAL, dir, "bad directory path '%s'", dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, mode) != 0 && errno != EEXIST)
            return cvg_err_set(err, CVG_EIO, dir, "cannot create directory %s: %s", path,
                               strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cvg_err_set(err, CVG_EIO, dir, "%s is not a directory", dir);
    return 0;
}

int cvg_fs_read_file(const char *path, size_t max, char **out, size_t *len, cvg_err_t *err)
{
    *out = NULL;
    /* non-blocking until it is known to be a regular file: opening a FIFO
     * would otherwise wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cvg_err_set(err, errno == ENOENT ? CVG_ENOTFOUND : CVG_EIO, path,
                           "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cvg_err_set(err, CVG_EIO, path, "%s is not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if ((size_t)st.st_size > max) {
        close(fd);
        return cvg_err_set(err, CVG_ETOOBIG, path, "%s is %lld bytes, over the %zu byte limit",
                           path, (long long)st.st_size, max);
    }
    size_t cap = (size_t)st.st_size + 1;
    char *data = malloc(cap);
    if (data == NULL) {
        close(fd);
        return cvg_err_set(err, CVG_ENOMEM, path, "out of memory reading %s", path);
    }
    size_t got = 0;
    for (;;) {
        if (got + 1 == cap) {
            /* Full: more than max bytes means the file is over the limit
             * (it may have grown since fstat); otherwise make room. */
            if (got > max) {
                free(data);
                close(fd);
                return cvg_err_set(err, CVG_ETOOBIG, path, "%s grew over the %zu byte limit", path,
                                   max);
            }
            size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
            char *p = realloc(data, ncap);
            if (p == NULL) {
                free(data);
                close(fd);
                return cvg_err_set(err, CVG_ENOMEM, path, "out of memory reading %s", path);
            }
            data = p;
            cap = ncap;
        }
        ssize_t n = read(fd, data + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(data);
            close(fd);
            return cvg_err_set(err, CVG_EIO, path, "cannot read %s: %s", path, strerror(errno));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > max) {
        free(data);
        close(fd);
        return cvg_err_set(err, CVG_ETOOBIG, path, "%s grew over the %zu byte limit", path, max);
    }
    close(fd);
    data[got] = '\0';
    *out = data;
    if (len)
        *len = got;
    return 0;
}

int cvg_fs_write_file(const char *path, const void *data, size_t len, mode_t mode, cvg_err_t *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return cvg_err_set(err, CVG_ETOOBIG, path, "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return cvg_err_set(err, CVG_EIO, path, "cannot create %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return cvg_err_set(err, CVG_EIO, path, "cannot write %s: %s", tmp, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return cvg_err_set(err, CVG_EIO, path, "cannot finish %s: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cvg_err_set(err, CVG_EIO, path, "cannot rename to %s: %s", path, strerror(e));
    }
    return 0;
}

bool cvg_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int cvg_fs_join(char *out, size_t size, const char *a, const char *b)
{
    size_t la = strlen(a);
    const char *sep = (la > 0 && a[la - 1] == '/') ? "" : "/";
    int n = snprintf(out, size, "%s%s%s", a, sep, b);
    return (n < 0 || (size_t)n >= size) ? CVG_ETOOBIG : 0;
}
