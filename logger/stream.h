/*
 * The logger's stream: committed events on a PUB socket, two frames each,
 * [topic][event as received]. The topic is "<tenant>\x1f<pipeline>\x1f<run>"
 * so a subscriber filters by tenant with the prefix "<tenant>\x1f". Once a
 * second the logger also publishes a heartbeat on "~heartbeat" (tenant ids
 * never start with '~') so subscribers know the stream is alive.
 */
#ifndef LGR_STREAM_H
#define LGR_STREAM_H

#include "common/proto.h"

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#define LGR_TOPIC_SEP       '\x1f'
#define LGR_HEARTBEAT_TOPIC "~heartbeat"
#define LGR_TOPIC_MAX       512

/* Writes the topic of ev into out. */
void lgr_stream_topic(const cvg_event_t *ev, char *out, size_t size);

/* The subscription prefix for a tenant ("" for all). */
void lgr_stream_tenant_prefix(const char *tenant, char *out, size_t size);

/* Publishes one committed event (payload is the encoded event). */
int lgr_stream_publish(zsock_t *pub, const cvg_event_t *ev, const void *payload, size_t len);

/* Publishes a heartbeat carrying the count of committed events. */
int lgr_stream_heartbeat(zsock_t *pub, uint64_t committed);

#endif
