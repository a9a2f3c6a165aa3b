/*
 * The client behind trusted proxies (see forwarded.h).
 */
#include "gateway/forwarded.h"

#include <stdio.h>
#include <string.h>

#define ENTRY_MAX 64

/* The entry ending before end (exclusive), trimmed, into e; start gets
 * where it begins (its comma, or xff). */
static const char *entry_before(const char *xff, const char *end, char e[ENTRY_MAX])
{
    const char *start = end;
    while (start > xff && start[-1] != ',')
        start--;
    const char *a = start, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    size_t len = (size_t)(b - a);
    if (len >= ENTRY_MAX)
        len = 0; /* too long for an address: read as not one */
    memcpy(e, a, len);
    e[len] = '\0';
    return start;
}

void gw_forwarded_client(const cvg_cidr_list_t *trusted, const char *peer, const char *xff,
                         char *out, size_t size)
{
    snprintf(out, size, "%s", peer);
    if (xff == NULL || trusted->n == 0 || !cvg_cidr_list_match(trusted, peer))
        return;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        char e[ENTRY_MAX];
        const char *start = entry_before(xff, end, e);
        if (!cvg_ip_valid(e))
            return; /* the hop that wrote it is the client we know */
        snprintf(out, size, "%s", e);
        if (!cvg_cidr_list_match(trusted, e))
            return;
        end = start > xff ? start - 1 : xff;
    }
}
