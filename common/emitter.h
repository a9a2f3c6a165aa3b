/*
 * Event emitter: the sending side of "acknowledged after commit". Events are
 * encoded into an outbox and sent to the logger over a DEALER socket owned
 * by a background thread; an event leaves the outbox only when the logger's
 * ack for its id arrives, and is sent again (with backoff) until then.
 * Safe to call from any thread.
 */
#ifndef CVG_EMITTER_H
#define CVG_EMITTER_H

#include "common/err.h"
#include "common/proto.h"

#include <stddef.h>

typedef struct cvg_emitter cvg_emitter_t;

/* Starts the emitter thread connected to the logger at endpoint. Events not
 * acked within ack_timeout_ms are sent again; at most max_pending wait.
 * NULL on failure. */
cvg_emitter_t *cvg_emitter_new(const char *endpoint, int ack_timeout_ms, size_t max_pending,
                               cvg_err_t *err);

/* Queues a copy of ev. Waits up to timeout_ms for room when the outbox is
 * full: 0, CVG_EFULL, CVG_ETOOBIG (does not encode), CVG_ENOMEM. */
int cvg_emitter_send(cvg_emitter_t *em, const cvg_event_t *ev, int timeout_ms);

/* Events not yet acknowledged. */
size_t cvg_emitter_pending(cvg_emitter_t *em);

/* Waits until every queued event is acknowledged: 0 or CVG_ETIMEDOUT. */
int cvg_emitter_flush(cvg_emitter_t *em, int timeout_ms);

/* Stops the thread and frees everything; events still pending are dropped
 * (callers flush first and report what is left). Accepts NULL. */
void cvg_emitter_destroy(cvg_emitter_t **em);

#endif
