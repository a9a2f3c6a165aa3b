/*
 * Identifiers: UUIDv7 (RFC 9562), time-ordered so that inserts into indexed
 * tables stay append-mostly, with the random bits from the kernel's CSPRNG.
 */
#ifndef CVG_ID_H
#define CVG_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_ID_LEN 37 /* 36 characters + NUL */

/* Fills n bytes from the kernel CSPRNG. 0 or CVG_EIO. */
int cvg_random_bytes(void *buf, size_t n);

/* Writes a new lowercase UUIDv7. Ids from one process are strictly
 * increasing. 0 or CVG_EIO when the CSPRNG fails. */
int cvg_id_new(char out[CVG_ID_LEN]);

/* True when s is a canonical lowercase UUID (any version). */
bool cvg_id_valid(const char *s);

/* The millisecond timestamp of a UUIDv7; -1 when s is not one. */
int64_t cvg_id_time_ms(const char *s);

#endif
