/*
 * Error codes: names and the detail struct helpers.
 */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cvg_strerror(int code)
{
    switch (code) {
    case CVG_OK:
        return "ok";
    case CVG_EINVAL:
        return "invalid input";
    case CVG_ENOMEM:
        return "out of memory";
    case CVG_EIO:
        return "i/o error";
    case CVG_ENOTFOUND:
        return "not found";
    case CVG_EEXIST:
        return "already exists";
    case CVG_ETIMEDOUT:
        return "timed out";
    case CVG_EPROTO:
        return "malformed message";
    case CVG_EVERSION:
        return "unsupported version";
    case CVG_ETOOBIG:
        return "too big";
    case CVG_EDB:
        return "warehouse error";
    case CVG_EBUSY:
        return "busy";
    case CVG_ECONFIG:
        return "configuration error";
    case CVG_EAUTH:
        return "authentication failed";
    case CVG_EFULL:
        return "queue full";
    case CVG_ECANCELED:
        return "cancelled";
    default:
        return "unknown error";
    }
}

void cvg_err_clear(cvg_err_t *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->field[0] = '\0';
    err->message[0] = '\0';
}

int cvg_err_set(cvg_err_t *err, int code, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void cvg_err_prefix_field(cvg_err_t *err, const char *prefix)
{
    if (err == NULL || prefix == NULL || prefix[0] == '\0')
        return;
    /* Twice the room, then cut to the field's size. */
    char joined[2 * CVG_ERR_FIELD_MAX + 2];
    if (err->field[0] == '\0')
        snprintf(joined, sizeof(joined), "%s", prefix);
    else if (err->field[0] == '[')
        snprintf(joined, sizeof(joined), "%s%s", prefix, err->field);
    else
        snprintf(joined, sizeof(joined), "%s.%s", prefix, err->field);
    joined[CVG_ERR_FIELD_MAX - 1] = '\0';
    memcpy(err->field, joined, CVG_ERR_FIELD_MAX);
}
