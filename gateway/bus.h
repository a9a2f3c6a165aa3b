/*
 * The gateway's control client: request/reply to the scheduler (control
 * socket) and the logger (event socket, for ping) over DEALER sockets, one
 * per HTTP thread and peer (sockets never cross threads). A call that times
 * out drops its socket, so a late reply can never answer the next call.
 *
 * Runs to queue must not hold an HTTP thread while the scheduler works:
 * they go through gw_bus_enqueue instead. A thread of the bus sends the
 * runs waiting together in one enqueue message on a socket of its own and
 * calls back when the answer comes, so many requests wait on the scheduler
 * at once and it commits them together.
 */
#ifndef GW_BUS_H
#define GW_BUS_H

#include "common/err.h"
#include "common/proto.h"

typedef enum gw_peer { GW_PEER_SCHEDULER = 0, GW_PEER_LOGGER = 1 } gw_peer_t;

typedef struct gw_bus gw_bus_t;

gw_bus_t *gw_bus_new(const char *scheduler_endpoint, const char *logger_endpoint, cvg_err_t *err);

/* Ends the submitted calls still waiting (CVG_EIO, "the gateway is
 * stopping") and stops the bus thread. Accepts NULL; idempotent. */
void gw_bus_stop(gw_bus_t *bus);

/* Stops the bus, closes the calling thread's sockets and frees the bus;
 * call after every other thread that used it has ended. Accepts NULL. */
void gw_bus_destroy(gw_bus_t **bus);

/*
 * Sends op with body (JSON text or NULL) to peer and waits up to timeout_ms.
 * On success *status is the reply's status and *reply its body (free()).
 * CVG_ETIMEDOUT when the peer did not answer, CVG_EIO when it cannot be
 * reached.
 */
int gw_bus_call(gw_bus_t *bus, gw_peer_t peer, const char *op, const char *body, int timeout_ms,
                int *status, char **reply, cvg_err_t *err);

/* How a run handed to gw_bus_enqueue ended: rc 0 with the scheduler's
 * result (valid during the call only), or rc CVG_ETIMEDOUT, CVG_EIO,
 * CVG_ETOOBIG or CVG_ENOMEM with err. Runs on the bus thread, or on the
 * submitting thread when the run cannot be sent at all. */
typedef void (*gw_bus_enqueued_fn)(void *ctx, int rc, const cvg_enq_result_t *res,
                                   const cvg_err_t *err);

/* Hands run to the scheduler without waiting; takes run->parameters (set
 * to NULL), copies the rest. done(ctx, ...) is called exactly once, within
 * about timeout_ms. */
void gw_bus_enqueue(gw_bus_t *bus, cvg_enq_run_t *run, int timeout_ms, gw_bus_enqueued_fn done,
                    void *ctx);

#endif
