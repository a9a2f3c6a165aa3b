/*
 * A batch of received events, written in one transaction. Each entry ends
 * the flush in one of three states: committed (ack and publish), rejected
 * (can never be stored: ack so the sender stops, log it) or pending (a
 * transient failure: no ack, the sender will send it again).
 */
#ifndef LGR_BATCH_H
#define LGR_BATCH_H

#include "common/proto.h"
#include "common/warehouse.h"
#include "logger/sink.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LGR_BATCH_MAX 10000

typedef enum { LGR_PENDING = 0, LGR_COMMITTED, LGR_REJECTED, LGR_DUPLICATE } lgr_state_t;

typedef struct lgr_entry {
    zframe_t *identity;  /* sender's routing id, owned */
    zframe_t *payload;   /* the event as received, owned, republished as is */
    cvg_event_t ev;      /* decoded, owned */
    lgr_closed_t closed; /* the steps its commit closes, to publish after it */
    lgr_state_t state;
    bool stale;      /* committed, but its row had moved past it: not published */
    size_t dup_of;   /* LGR_DUPLICATE: index of the first copy */
    char error[512]; /* why it was rejected */
} lgr_entry_t;

typedef struct lgr_batch {
    size_t n, max;
    lgr_entry_t *items;
    int64_t first_ms; /* monotonic time the oldest entry arrived */
} lgr_batch_t;

int lgr_batch_init(lgr_batch_t *b, size_t max);
void lgr_batch_cleanup(lgr_batch_t *b);

/* Takes ownership of *identity, *payload (nulled) and ev's heap fields.
 * CVG_EFULL when the batch is full. */
int lgr_batch_add(lgr_batch_t *b, zframe_t **identity, zframe_t **payload, cvg_event_t *ev);

/* True when the entry's fate is decided: committed, rejected, or a copy of
 * one that is. Only settled entries are acknowledged. */
bool lgr_entry_settled(const lgr_batch_t *b, size_t i);

/* Empties the batch, freeing the entries. */
void lgr_batch_clear(lgr_batch_t *b);

/*
 * Writes the batch: one transaction for all; when an event is refused for
 * its content, the others are written one by one so only that one is
 * rejected. Returns 0, or the transient error that left entries pending
 * (err says why).
 */
int lgr_batch_commit(lgr_batch_t *b, cvg_wh_t *wh, cvg_err_t *err);

#endif
