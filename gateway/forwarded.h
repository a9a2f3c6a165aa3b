/*
 * The client behind trusted proxies: a request whose connection comes from
 * an address of API_TRUSTED_PROXIES is counted (invalid-key throttle,
 * sign-up limit, logs) for the address its X-Forwarded-For names, read
 * from the right (the nearest proxy's entry) past every trusted address.
 * Entries a client wrote itself are left of its own address and never
 * read.
 */
#ifndef GW_FORWARDED_H
#define GW_FORWARDED_H

#include "common/cidr.h"

#include <stddef.h>

/* The client's address into out: peer when it is not a trusted proxy or
 * xff (the X-Forwarded-For values joined by commas; may be NULL) names
 * nothing; else the rightmost entry of xff that is not trusted, or the
 * leftmost when all are (an entry that is not an address stops the walk
 * at the hop after it, the one that wrote it). */
void gw_forwarded_client(const cvg_cidr_list_t *trusted, const char *peer, const char *xff,
                         char *out, size_t size);

#endif
