/*
 * Error lists (see errlist.h).
 */
#include "common/errlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

cvg_errlist_t *cvg_errlist_new(void)
{
    cvg_errlist_t *l = malloc(sizeof(*l));
    if (l != NULL)
        cvg_errlist_reset(l);
    return l;
}

void cvg_errlist_reset(cvg_errlist_t *l)
{
    l->n = 0;
    l->dropped = 0;
}

void cvg_errlist_add(cvg_errlist_t *l, int code, const char *field, const char *fmt, ...)
{
    if (l == NULL)
        return;
    if (l->n >= CVG_ERRLIST_MAX) {
        l->dropped++;
        return;
    }
    cvg_err_t *e = &l->items[l->n++];
    e->code = code;
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}
