/*
 * ZeroMQ socket helpers: bind and connect with the project's defaults
 * (linger, HWMs) and clear errors. An ipc:// bind creates its directory and
 * refuses to take over a socket file another live process is serving.
 */
#ifndef CVG_SOCK_H
#define CVG_SOCK_H

#include "common/err.h"

#include <czmq.h>

/* A new socket of type (ZMQ_ROUTER, ...) bound to endpoint; NULL on error. */
zsock_t *cvg_sock_bind(int type, const char *endpoint, cvg_err_t *err);

/* A new socket of type connected to endpoint; NULL on error. */
zsock_t *cvg_sock_connect(int type, const char *endpoint, cvg_err_t *err);

#endif
