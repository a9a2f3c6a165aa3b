/*
 * A list of errors, for validation that reports everything it finds at
 * once: each entry is a code, the exact field path and a message.
 */
#ifndef CVG_ERRLIST_H
#define CVG_ERRLIST_H

#include "common/err.h"

#include <stddef.h>

#define CVG_ERRLIST_MAX 64

typedef struct cvg_errlist {
    size_t n;
    size_t dropped; /* errors past CVG_ERRLIST_MAX */
    cvg_err_t items[CVG_ERRLIST_MAX];
} cvg_errlist_t;

/* An empty list on the heap (free() it), or NULL when out of memory. Only
 * the counts are set: entries are written as they are added, so a request
 * does not clear the whole list (64 KiB) to report nothing. */
cvg_errlist_t *cvg_errlist_new(void);

/* Empties l (the entries are left as they are, past the count). */
void cvg_errlist_reset(cvg_errlist_t *l);

/* Appends an error (field path + message); l may be NULL. */
void cvg_errlist_add(cvg_errlist_t *l, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
