/*
 * The client behind trusted proxies (see forwarded.h).
 */
#include "gateway/forwarded.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ENTRY_MAX 64

static bool digits(const char *s, const char *end)
{
    if (s >= end)
        return false;
    for (; s < end; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
    }
    return true;
}

/* The address an entry (a..b) names, without blanks, brackets or port,
 * into e; "" when it is none. */
static void entry_address(const char *a, const char *b, char e[ENTRY_MAX])
{
    e[0] = '\0';
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (a < b && *a == '[') {
        /* [2001:db8::1] or [2001:db8::1]:443 */
        const char *close = memchr(a, ']', (size_t)(b - a));
        if (close == NULL || (close + 1 < b && (close[1] != ':' || !digits(close + 2, b))))
            return;
        a++;
        b = close;
    } else {
        /* 192.0.2.1:4711: one colon is a port, more are IPv6 */
        const char *colon = memchr(a, ':', (size_t)(b - a));
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(b - colon - 1)) == NULL) {
            if (!digits(colon + 1, b))
                return;
            b = colon;
        }
    }
    size_t len = (size_t)(b - a);
    if (len == 0 || len >= ENTRY_MAX)
        return; /* too long for an address: read as not one */
    memcpy(e, a, len);
    e[len] = '\0';
}

void gw_forwarded_client(const cvg_cidr_list_t *trusted, const char *peer, const char *const *lines,
                         size_t n, char *out, size_t size)
{
    char client[ENTRY_MAX];
    if (!cvg_ip_canonical(peer, client, sizeof(client)))
        snprintf(client, sizeof(client), "%s", peer);
    bool walking = n > 0 && trusted->n > 0 && cvg_cidr_list_match(trusted, peer);
    for (size_t l = n; walking && l-- > 0;) {
        const char *line = lines[l] ? lines[l] : "";
        const char *end = line + strlen(line);
        while (walking && end > line) {
            const char *start = end;
            while (start > line && start[-1] != ',')
                start--;
            char e[ENTRY_MAX];
            entry_address(start, end, e);
            /* an entry that is no address: the hop that wrote it is the
             * client we know */
            walking =
                cvg_ip_canonical(e, client, sizeof(client)) && cvg_cidr_list_match(trusted, e);
            end = start > line ? start - 1 : line;
        }
    }
    snprintf(out, size, "%s", client);
}
