/*
 * Transparent gzip for byte streams: a pull reader over a read callback that
 * inflates the input when it starts with the gzip magic (every member of a
 * concatenated file) and passes any other input through unchanged. The file
 * loaders read through it, so a .csv.gz and a .csv look the same to them.
 */
#ifndef CVG_GZ_H
#define CVG_GZ_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to size bytes into buf: the count, 0 at the end, -1 on error. */
typedef ssize_t (*cvg_gz_read_fn)(void *ud, void *buf, size_t size);

typedef struct cvg_gz cvg_gz_t;

/* A reader pulling from read(ud, ...); ud is borrowed and must outlive the
 * reader. Inflated output over max_inflated bytes is refused (a gzip bomb
 * stops there); plain input is not counted. NULL when out of memory. */
cvg_gz_t *cvg_gz_new(cvg_gz_read_fn read, void *ud, uint64_t max_inflated);

/* Reads up to size (> 0) bytes into buf and sets *got; *got == 0 only at
 * the end.
 * 0, or: CVG_EIO (the callback failed), CVG_EPROTO (corrupt or truncated
 * gzip), CVG_ETOOBIG (over max_inflated), CVG_ENOMEM. An error is final:
 * every later call returns it again. Bytes inflated before a corrupt or
 * truncated member is detected (its CRC is checked at its end) may already
 * have been returned: a caller treats the error as spoiling the whole read,
 * as the loaders do by rolling their write back. */
int cvg_gz_read(cvg_gz_t *gz, void *buf, size_t size, size_t *got, cvg_err_t *err);

/* True once the first bytes showed the gzip magic. */
bool cvg_gz_compressed(const cvg_gz_t *gz);

/* Frees the reader (never the callback's ud); accepts NULL. */
void cvg_gz_destroy(cvg_gz_t **gz);

#endif
