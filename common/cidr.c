/*
 * Address lists (see cidr.h).
 */
#include "common/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ip in binary, IPv4-mapped IPv6 folded to IPv4 (*mapped, may be NULL,
 * says so); false when not an address. */
static bool to_binary_mapped(const char *ip, int *family, uint8_t out[16], bool *mapped)
{
    memset(out, 0, 16);
    if (mapped != NULL)
        *mapped = false;
    if (inet_pton(AF_INET, ip, out) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, ip, out) != 1)
        return false;
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, prefix, sizeof(prefix)) == 0) {
        memmove(out, out + 12, 4);
        memset(out + 4, 0, 12);
        *family = AF_INET;
        if (mapped != NULL)
            *mapped = true;
        return true;
    }
    *family = AF_INET6;
    return true;
}

static bool to_binary(const char *ip, int *family, uint8_t out[16])
{
    return to_binary_mapped(ip, family, out, NULL);
}

bool cvg_ip_valid(const char *ip)
{
    int family;
    uint8_t b[16];
    return ip != NULL && to_binary(ip, &family, b);
}

bool cvg_ip_canonical(const char *ip, char *out, size_t size)
{
    int family;
    uint8_t b[16];
    char text[INET6_ADDRSTRLEN];
    if (ip == NULL || !to_binary(ip, &family, b) ||
        inet_ntop(family, b, text, sizeof(text)) == NULL)
        return false;
    return (size_t)snprintf(out, size, "%s", text) < size;
}

bool cvg_ip_bucket(const char *ip, char *out, size_t size)
{
    int family;
    uint8_t b[16];
    char text[INET6_ADDRSTRLEN];
    if (ip == NULL || !to_binary(ip, &family, b))
        return false;
    if (family == AF_INET6)
        memset(b + 8, 0, 8); /* one /64, one client */
    if (inet_ntop(family, b, text, sizeof(text)) == NULL)
        return false;
    return (size_t)snprintf(out, size, "%s%s", text, family == AF_INET6 ? "/64" : "") < size;
}

/* The first `bits` bits of a and b agree. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static int parse_one(const char *entry, const char *field, cvg_cidr_t *out, cvg_err_t *err)
{
    char addr[64];
    const char *slash = strchr(entry, '/');
    size_t len = slash ? (size_t)(slash - entry) : strlen(entry);
    bool ok = len > 0 && len < sizeof(addr), mapped = false;
    if (ok) {
        memcpy(addr, entry, len);
        addr[len] = '\0';
        ok = to_binary_mapped(addr, &out->family, out->addr, &mapped);
    }
    if (!ok)
        return cvg_err_set(err, CVG_EINVAL, field, "%s: '%.64s' is not an IP address or a range",
                           field, entry);
    /* a mapped range is written in IPv6 bits: ::ffff:10.0.0.0/104 */
    int least = mapped ? 96 : 0, max = mapped || out->family == AF_INET6 ? 128 : 32;
    out->bits = out->family == AF_INET ? 32 : 128;
    if (slash != NULL) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits < least || bits > max)
            return cvg_err_set(err, CVG_EINVAL, field,
                               "%s: '%.64s': the prefix length must be %d to %d", field, entry,
                               least, max);
        out->bits = (int)bits - least;
        uint8_t zero[16] = {0}, host[16];
        memcpy(host, out->addr, 16);
        /* the bits past the prefix, which must be 0 */
        for (int i = 0; i < 16; i++) {
            int keep = out->bits - i * 8;
            host[i] &= keep >= 8 ? 0 : keep <= 0 ? 0xff : (uint8_t)(0xff >> keep);
        }
        if (memcmp(host, zero, 16) != 0)
            return cvg_err_set(err, CVG_EINVAL, field,
                               "%s: '%.64s' has bits set past its /%d prefix; write the range's "
                               "first address",
                               field, entry, (int)bits);
    }
    return 0;
}

/* The next entry of the list at *p into entry; *more false at the end. */
static int next_entry(const char **p, const char *field, char *entry, size_t size, bool *more,
                      cvg_err_t *err)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    *more = *s != '\0';
    if (!*more)
        return 0;
    const char *end = s;
    while (*end && *end != ',' && *end != ' ' && *end != '\t')
        end++;
    size_t len = (size_t)(end - s);
    if (len >= size)
        return cvg_err_set(err, CVG_EINVAL, field, "%s: '%.64s...' is too long", field, s);
    memcpy(entry, s, len);
    entry[len] = '\0';
    *p = end;
    return 0;
}

int cvg_cidr_list_parse(const char *text, const char *field, cvg_cidr_list_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    const char *p = text ? text : "";
    int rc = 0;
    bool more = true;
    while (rc == 0) {
        char entry[96];
        rc = next_entry(&p, field, entry, sizeof(entry), &more, err);
        if (rc != 0 || !more)
            break;
        if (out->n == CVG_CIDR_MAX)
            rc = cvg_err_set(err, CVG_EINVAL, field, "%s: more than %d entries", field,
                             CVG_CIDR_MAX);
        else if ((rc = parse_one(entry, field, &out->items[out->n], err)) == 0)
            out->n++;
    }
    /* all or nothing */
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

bool cvg_cidr_list_match(const cvg_cidr_list_t *l, const char *ip)
{
    int family;
    uint8_t b[16];
    if (l->n == 0 || ip == NULL || !to_binary(ip, &family, b))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].family == family && prefix_equal(l->items[i].addr, b, l->items[i].bits))
            return true;
    }
    return false;
}
