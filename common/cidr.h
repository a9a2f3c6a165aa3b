/*
 * Lists of IP addresses and CIDR ranges ("10.0.0.0/8, 192.168.1.7,
 * fd00::/8"), and whether an address falls in one: the gateway's trusted
 * proxies (API_TRUSTED_PROXIES). An IPv4-mapped IPv6 address
 * (::ffff:10.1.2.3) matches as the IPv4 address it carries.
 */
#ifndef CVG_CIDR_H
#define CVG_CIDR_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_CIDR_MAX 32 /* ranges in a list */

typedef struct cvg_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits; /* prefix length */
} cvg_cidr_t;

typedef struct cvg_cidr_list {
    size_t n;
    cvg_cidr_t items[CVG_CIDR_MAX];
} cvg_cidr_list_t;

/* Parses a comma-separated list (blanks around entries allowed, empty
 * text an empty list); 0, or CVG_EINVAL naming the entry that is not an
 * address or a range (host bits set in a range are refused: "10.0.0.1/8"
 * is not what its writer meant), an entry over 95 bytes or past
 * CVG_CIDR_MAX, with out left empty. field names the setting in messages. */
int cvg_cidr_list_parse(const char *text, const char *field, cvg_cidr_list_t *out, cvg_err_t *err);

/* True when ip (text) is an address inside one of the list's ranges. */
bool cvg_cidr_list_match(const cvg_cidr_list_t *l, const char *ip);

/* True when ip is an IPv4 or IPv6 address in text form. */
bool cvg_ip_valid(const char *ip);

/* The address as one text whatever its spelling (IPv4-mapped IPv6 as
 * IPv4, IPv6 compressed in lower case); false when ip is not one or out
 * is too small. */
bool cvg_ip_canonical(const char *ip, char *out, size_t size);

/* What a client is counted as in per-address limits: its IPv4 address,
 * or the /64 network of its IPv6 one ("2001:db8:0:1::/64"), since one
 * IPv6 client may hold a whole /64. False as cvg_ip_canonical. */
bool cvg_ip_bucket(const char *ip, char *out, size_t size);

#endif
