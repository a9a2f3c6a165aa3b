/*
 * The client behind trusted proxies: a request whose connection comes from
 * an address of API_TRUSTED_PROXIES is counted (invalid-key throttle,
 * sign-up limit, logs) for the address its X-Forwarded-For names, read
 * from the right (the nearest proxy's entry) past every trusted address.
 * Entries a client wrote itself are left of its own address and never
 * read, provided every listed proxy adds the address it was connected
 * from (as nginx's $proxy_add_x_forwarded_for and the cloud load
 * balancers do).
 */
#ifndef GW_FORWARDED_H
#define GW_FORWARDED_H

#include "common/cidr.h"

#include <stddef.h>

#define GW_XFF_LINES_MAX 16 /* X-Forwarded-For header lines read, the last ones */

/* The client's address into out (canonical: cvg_ip_canonical): peer when
 * it is not a trusted proxy or the header names nothing; else the
 * rightmost entry that is not trusted, or the leftmost when all are.
 * lines are the header's values in the order they came (n of them, each
 * a comma-separated list); an entry may carry a port ("192.0.2.1:4711",
 * "[2001:db8::1]:443"). An entry that is not an address stops the walk
 * at the hop after it, the one that wrote it. */
void gw_forwarded_client(const cvg_cidr_list_t *trusted, const char *peer, const char *const *lines,
                         size_t n, char *out, size_t size);

#endif
