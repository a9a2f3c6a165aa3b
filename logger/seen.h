/*
 * Recently committed event ids, so an event sent again after its ack was
 * lost is acknowledged without being stored or published twice. Two
 * generations of fixed size: when the current one fills, the previous one
 * is forgotten, so memory stays bounded and the newest ids are kept.
 */
#ifndef LGR_SEEN_H
#define LGR_SEEN_H

#include "common/id.h"

#include <stdbool.h>
#include <stddef.h>

#define LGR_SEEN_GENERATION 16384 /* ids per generation */

typedef struct lgr_seen lgr_seen_t;

lgr_seen_t *lgr_seen_new(void);
void lgr_seen_destroy(lgr_seen_t **s);

/* True when id was added recently. */
bool lgr_seen_has(const lgr_seen_t *s, const char *id);

/* Remembers id. */
void lgr_seen_add(lgr_seen_t *s, const char *id);

#endif
