/*
 * Filesystem helpers: directories, bounded whole-file reads, atomic writes
 * with a given mode.
 */
#ifndef CVG_FS_H
#define CVG_FS_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates dir and its parents with mode (existing ones are fine). */
int cvg_fs_mkdir_p(const char *dir, mode_t mode, cvg_err_t *err);

/* Reads a whole file of at most max bytes into a NUL-terminated heap
 * buffer (*out, free() it). CVG_ENOTFOUND, CVG_ETOOBIG, CVG_EIO. */
int cvg_fs_read_file(const char *path, size_t max, char **out, size_t *len, cvg_err_t *err);

/* Writes data to path atomically (temp file, fsync, rename) with mode. */
int cvg_fs_write_file(const char *path, const void *data, size_t len, mode_t mode, cvg_err_t *err);

/* True when path exists (any type). */
bool cvg_fs_exists(const char *path);

/* Joins a and b with one '/' into out. CVG_ETOOBIG when it does not fit. */
int cvg_fs_join(char *out, size_t size, const char *a, const char *b);

#endif
