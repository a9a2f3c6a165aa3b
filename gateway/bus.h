/*
 * The gateway's control client: request/reply to the scheduler (control
 * socket) and the logger (event socket, for ping) over DEALER sockets, one
 * per HTTP thread and peer (sockets never cross threads). A call that times
 * out drops its socket, so a late reply can never answer the next call.
 */
#ifndef GW_BUS_H
#define GW_BUS_H

#include "common/err.h"

typedef enum gw_peer { GW_PEER_SCHEDULER = 0, GW_PEER_LOGGER = 1 } gw_peer_t;

typedef struct gw_bus gw_bus_t;

gw_bus_t *gw_bus_new(const char *scheduler_endpoint, const char *logger_endpoint, cvg_err_t *err);

/* Closes the calling thread's sockets and frees the bus; call after every
 * other thread that used it has ended. Accepts NULL. */
void gw_bus_destroy(gw_bus_t **bus);

/*
 * Sends op with body (JSON text or NULL) to peer and waits up to timeout_ms.
 * On success *status is the reply's status and *reply its body (free()).
 * CVG_ETIMEDOUT when the peer did not answer, CVG_EIO when it cannot be
 * reached.
 */
int gw_bus_call(gw_bus_t *bus, gw_peer_t peer, const char *op, const char *body, int timeout_ms,
                int *status, char **reply, cvg_err_t *err);

#endif
