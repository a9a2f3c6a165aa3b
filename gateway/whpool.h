/*
 * A pool of warehouse connections shared by the gateway's HTTP threads: a
 * thread takes one for the length of a request and gives it back.
 */
#ifndef GW_WHPOOL_H
#define GW_WHPOOL_H

#include "common/err.h"
#include "common/warehouse.h"

#include <stddef.h>

typedef struct gw_whpool gw_whpool_t;

/* Opens n connections to url. NULL on failure. */
gw_whpool_t *gw_whpool_new(const char *url, size_t n, cvg_err_t *err);

/* Closes every connection; all must be back. Accepts NULL. */
void gw_whpool_destroy(gw_whpool_t **pool);

/* Takes a connection, waiting up to timeout_ms; NULL when none came free. */
cvg_wh_t *gw_whpool_acquire(gw_whpool_t *pool, int timeout_ms);

/* Gives a connection back. */
void gw_whpool_release(gw_whpool_t *pool, cvg_wh_t *wh);

#endif
