/*
 * Fuzz target: the outbound policy's checks on text (common/outbound.c).
 * The input's first line is an allow list as an operator writes
 * CVG_OUTBOUND_ALLOW (cvg_outbound_parse); the rest is a URL as a tenant
 * writes one in a setting, a credential or a step (cvg_outbound_check_url,
 * through libcurl's URL parser), also taken as a host for the allow list and
 * as an address literal to classify. One promise is held to: a URL the
 * policy passes without an allow list never names a loopback, private,
 * link-local or metadata address literal, however it is written.
 */
#include "common/outbound.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The host part of a URL the way a resolver would meet it, when it is an
 * address literal that is not public; else -1. Only for the promise above,
 * so it reads the simple forms: scheme://[userinfo@]host[:port][/...]. */
static int literal_class(const char *url)
{
    const char *p = url;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    if (p == url || strncmp(p, "://", 3) != 0)
        return -1; /* not "scheme://" at the start: libcurl reads it otherwise */
    p += 3;
    size_t n = strcspn(p, "/?#");
    char host[256];
    if (n >= sizeof(host))
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    char *at = strrchr(host, '@');
    char *h = at ? at + 1 : host;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (close == NULL)
            return -1;
        *close = '\0';
        h++;
    } else {
        char *colon = strchr(h, ':');
        if (colon)
            *colon = '\0';
    }
    int c = cvg_outbound_classify_text(h);
    return c > 0 ? c : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *url = strchr(text, '\n');
    if (url != NULL)
        *url++ = '\0';
    else
        url = text;

    cvg_outbound_t policy;
    cvg_err_t err;
    cvg_err_clear(&err);
    bool parsed = cvg_outbound_parse(url == text ? "" : text, &policy, &err) == 0;
    if (parsed && policy.n > CVG_OUTBOUND_MAX_ALLOW)
        abort();
    if (parsed)
        cvg_outbound_check_url(&policy, url, &err);
    cvg_outbound_host_allowed(parsed ? &policy : NULL, url, 443);
    cvg_outbound_classify_text(url);

    cvg_err_clear(&err);
    if (cvg_outbound_check_url(NULL, url, &err) == 0) {
        int c = literal_class(url);
        if (c > 0) {
            fprintf(stderr, "passed without an allow list: %s (a %s address)\n", url,
                    cvg_addr_class_name((cvg_addr_class_t)c));
            abort();
        }
    }
    free(text);
    return 0;
}
