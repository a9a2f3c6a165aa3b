/*
 * The gateway's HTTP server (libmicrohttpd).
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "common/err.h"
#include "gateway/gateway.h"

#include <stddef.h>

/* Starts listening on API_HOST:API_PORT with API_THREADS threads. */
int gw_server_start(gw_t *gw, cvg_err_t *err);

/* Stops accepting new connections; those open are served. */
void gw_server_quiesce(gw_t *gw);

/* Connections still open. */
size_t gw_server_connections(gw_t *gw);

/* Closes everything and joins the threads. */
void gw_server_stop(gw_t *gw);

#endif
