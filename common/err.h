/*
 * Error codes and the error detail struct shared by every module.
 * Fallible functions return 0 or a negative CVG_E* code; details for the
 * user (message, field path) go into an optional cvg_err_t.
 */
#ifndef CVG_ERR_H
#define CVG_ERR_H

#include <stddef.h>

enum {
    CVG_OK = 0,
    CVG_EINVAL = -1,    /* invalid argument or input */
    CVG_ENOMEM = -2,    /* allocation failed */
    CVG_EIO = -3,       /* file or socket I/O failed */
    CVG_ENOTFOUND = -4, /* the named thing does not exist */
    CVG_EEXIST = -5,    /* the named thing already exists */
    CVG_ETIMEDOUT = -6, /* a deadline passed */
    CVG_EPROTO = -7,    /* malformed or truncated message */
    CVG_EVERSION = -8,  /* message or file of an unknown version */
    CVG_ETOOBIG = -9,   /* input over its documented maximum */
    CVG_EDB = -10,      /* the warehouse refused a statement */
    CVG_EBUSY = -11,    /* resource busy or locked, try again */
    CVG_ECONFIG = -12,  /* bad configuration value */
    CVG_EAUTH = -13,    /* missing or wrong credentials */
    CVG_EFULL = -14,    /* a bounded queue is full */
    CVG_ECANCELED = -15 /* the operation was cancelled */
};

#define CVG_ERR_FIELD_MAX 256
#define CVG_ERR_MSG_MAX   1024

/* Detail of a failure, filled by the function that detected it. */
typedef struct cvg_err {
    int code;                      /* the CVG_E* code, 0 when unset */
    char field[CVG_ERR_FIELD_MAX]; /* path of the offending field, or "" */
    char message[CVG_ERR_MSG_MAX]; /* human readable, never holds secrets */
} cvg_err_t;

/* Short name of a code ("invalid argument", ...); never NULL. */
const char *cvg_strerror(int code);

/* Clears an error struct; accepts NULL. */
void cvg_err_clear(cvg_err_t *err);

/*
 * Records code, field (may be NULL) and a printf-style message into err
 * (which may be NULL) and returns code, so callers can write
 * `return cvg_err_set(err, CVG_EINVAL, "port", "must be 1..65535");`.
 */
int cvg_err_set(cvg_err_t *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes err->field with `prefix` and a dot or bracket as needed. */
void cvg_err_prefix_field(cvg_err_t *err, const char *prefix);

#endif
