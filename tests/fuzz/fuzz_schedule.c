/*
 * Fuzz target: what a tenant or a proxy writes that decides when and for
 * whom things happen, picked by the first byte: a schedule's cron
 * expression (common/cron.c), parsed and, when it reads, its next slot
 * after a time from the input checked against the expression minute by
 * minute (the slot is on a whole minute, after that time, matches every
 * field, and no minute before it in a two-day window matches); or a
 * trusted-proxy list (common/cidr.c) with a peer address and an
 * X-Forwarded-For value (gateway/forwarded.c; lines split at newlines),
 * parts split by NUL bytes: the client found is the peer or an address.
 */
#include "common/cidr.h"
#include "common/cron.h"
#include "gateway/forwarded.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN_MS 60000LL

/* Does minute t (ms, UTC) match c, by the plain rules? */
static int matches(const cvg_cron_t *c, int64_t t)
{
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    if (gmtime_r(&s, &tm) == NULL)
        return 0;
    int dom = (c->dom >> tm.tm_mday) & 1, dow = (c->dow >> tm.tm_wday) & 1;
    int day = c->dom_any || c->dow_any ? dom && dow : dom || dow;
    return ((c->minute >> tm.tm_min) & 1) && ((c->hour >> tm.tm_hour) & 1) &&
           ((c->month >> (tm.tm_mon + 1)) & 1) && day;
}

static void cron(const char *text, size_t n, int64_t after)
{
    (void)n;
    cvg_cron_t c;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_cron_parse(text, &c, &err) != 0) {
        if (err.message[0] == '\0' || strcmp(err.field, "schedule_cron") != 0)
            abort(); /* a refusal names its field and says why */
        return;
    }
    int64_t next = cvg_cron_next(&c, after);
    if (next == -1)
        return;
    if (next <= after || next % MIN_MS != 0 || !matches(&c, next))
        abort();
    /* nothing earlier in a window of two days before it */
    int64_t from = (after / MIN_MS + 1) * MIN_MS;
    if (next - from <= 2 * 86400000LL) {
        for (int64_t t = from; t < next; t += MIN_MS) {
            if (matches(&c, t))
                abort();
        }
    }
}

static void proxies(const char *s, size_t n)
{
    const char *peer = memchr(s, '\0', n) ? s + strlen(s) + 1 : NULL;
    const char *xff = peer && peer < s + n && memchr(peer, '\0', (size_t)(s + n - peer))
                          ? peer + strlen(peer) + 1
                          : NULL;
    if (xff != NULL && xff >= s + n)
        xff = NULL;
    cvg_cidr_list_t l;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_cidr_list_parse(s, "API_TRUSTED_PROXIES", &l, &err) != 0) {
        if (l.n != 0 || err.message[0] == '\0')
            abort();
        return;
    }
    if (peer == NULL)
        return;
    (void)cvg_cidr_list_match(&l, peer);
    /* the header's lines, split at newlines */
    const char *lines[GW_XFF_LINES_MAX];
    size_t nlines = 0;
    char *copy = xff ? strdup(xff) : NULL;
    for (char *p = copy; p != NULL && nlines < GW_XFF_LINES_MAX;) {
        lines[nlines++] = p;
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        p = nl;
    }
    char out[64];
    gw_forwarded_client(&l, peer, lines, nlines, out, sizeof(out));
    /* the peer itself (cut to the buffer), or an address */
    char canon[64];
    bool is_peer = strncmp(out, peer, sizeof(out) - 1) == 0 ||
                   (cvg_ip_canonical(peer, canon, sizeof(canon)) && strcmp(out, canon) == 0);
    if (!is_peer && (copy == NULL || !cvg_ip_valid(out)))
        abort();
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    /* the text, NUL-terminated, after the selector and (cron) 6 bytes of time */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (data[0] % 2 == 0) {
        int64_t after = 0;
        size_t k = size - 1 < 6 ? size - 1 : 6;
        for (size_t i = 0; i < k; i++)
            after = after * 256 + (uint8_t)s[i];
        /* 1970 to about 2150, on any millisecond */
        after %= 5600000000000LL;
        cron(s + k, size - 1 - k, after);
    } else {
        proxies(s, size - 1);
    }
    free(s);
    return 0;
}
