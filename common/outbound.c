/*
 * The outbound policy (see outbound.h). The address check runs in
 * libcurl's open-socket callback, on the address about to be connected,
 * after every resolution libcurl did: a name that resolves to a public
 * address when it is checked and to 127.0.0.1 when it is used is still
 * caught, because only the second answer is ever connected to.
 */
#include "common/outbound.h"
#include "common/str.h"
#include "common/time.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNECT_TIMEOUT_MS 30000 /* at most, for one connection */
#define LOW_SPEED_SECONDS  60    /* a transfer this long below 1 byte/s is dead */

/* ---- the allow list ------------------------------------------------------ */

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* Copies host (brackets stripped, lower case, one trailing dot dropped)
 * into out; false when it does not fit or is empty. */
static bool normalise_host(const char *host, size_t len, char *out, size_t size)
{
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len >= size)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)host[i]);
    out[len] = '\0';
    return true;
}

static int parse_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return -1;
    int port = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
}

static int bad_entry(cvg_err_t *err, const char *s, size_t len, const char *why)
{
    return cvg_err_set(err, CVG_ECONFIG, "CVG_OUTBOUND_ALLOW",
                       "CVG_OUTBOUND_ALLOW: '%.*s' %s (expected host, host:port, [ipv6] or "
                       "[ipv6]:port)",
                       (int)(len > 200 ? 200 : len), s, why);
}

static int parse_entry(const char *s, size_t len, cvg_outbound_host_t *e, cvg_err_t *err)
{
    const char *host = s, *port = NULL;
    size_t hlen = len, plen = 0;
    struct in6_addr a6;
    char tmp[CVG_OUTBOUND_HOST_MAX];
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return bad_entry(err, s, len, "has no closing ]");
        host = s + 1;
        hlen = (size_t)(close - host);
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest > 0) {
            if (close[1] != ':')
                return bad_entry(err, s, len, "has text after ]");
            port = close + 2;
            plen = rest - 1;
        }
        if (!normalise_host(host, hlen, tmp, sizeof(tmp)) || inet_pton(AF_INET6, tmp, &a6) != 1)
            return bad_entry(err, s, len, "is not an IPv6 address");
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
            /* Several colons: an IPv6 literal without a port. */
            if (!normalise_host(s, len, tmp, sizeof(tmp)) || inet_pton(AF_INET6, tmp, &a6) != 1)
                return bad_entry(err, s, len, "is not an IPv6 address (a port needs [brackets])");
        } else {
            if (colon) {
                hlen = (size_t)(colon - s);
                port = colon + 1;
                plen = len - hlen - 1;
            }
            for (size_t i = 0; i < hlen; i++) {
                if (!name_char(s[i]))
                    return bad_entry(err, s, len, "is not a host name");
            }
        }
    }
    if (!normalise_host(host, hlen, e->host, sizeof(e->host)))
        return bad_entry(err, s, len, "has an empty or too long host");
    e->port = 0;
    if (port && (e->port = parse_port(port, plen)) < 0)
        return bad_entry(err, s, len, "has a port outside 1..65535");
    return 0;
}

int cvg_outbound_parse(const char *list, cvg_outbound_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    const char *p = list ? list : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t n = len;
        while (n > 0 && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            n--;
        if (n > 0) {
            if (out->n == CVG_OUTBOUND_MAX_ALLOW)
                return cvg_err_set(err, CVG_ECONFIG, "CVG_OUTBOUND_ALLOW",
                                   "CVG_OUTBOUND_ALLOW: more than %d entries",
                                   CVG_OUTBOUND_MAX_ALLOW);
            int rc = parse_entry(s, n, &out->allow[out->n], err);
            if (rc != 0)
                return rc;
            out->n++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int cvg_outbound_from_config(const cvg_config_t *cfg, cvg_outbound_t *out, cvg_err_t *err)
{
    return cvg_outbound_parse(cfg->outbound_allow, out, err);
}

/* Same host: equal names, or equal addresses however they are written. */
static bool same_host(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
        return memcmp(x, y, 16) == 0;
    return strcasecmp(a, b) == 0;
}

bool cvg_outbound_host_allowed(const cvg_outbound_t *p, const char *host, int port)
{
    char h[CVG_OUTBOUND_HOST_MAX];
    if (p == NULL || host == NULL || !normalise_host(host, strlen(host), h, sizeof(h)))
        return false;
    for (size_t i = 0; i < p->n; i++) {
        if (same_host(p->allow[i].host, h) && (p->allow[i].port == 0 || p->allow[i].port == port))
            return true;
    }
    return false;
}

/* ---- address classes ----------------------------------------------------- */

static cvg_addr_class_t classify4(uint32_t a)
{
    if ((a >> 24) == 0)
        return CVG_ADDR_UNSPECIFIED;
    if ((a >> 24) == 127)
        return CVG_ADDR_LOOPBACK;
    if ((a >> 24) == 10 || (a & 0xFFF00000u) == 0xAC100000u || (a & 0xFFFF0000u) == 0xC0A80000u)
        return CVG_ADDR_PRIVATE;
    if ((a & 0xFFC00000u) == 0x64400000u)
        return CVG_ADDR_CGNAT;
    /* 169.254.169.254 (AWS, GCP, Azure, OCI) and Azure's platform address
     * 168.63.129.16, which answers metadata-like requests too. */
    if (a == 0xA9FEA9FEu || a == 0xA83F8110u)
        return CVG_ADDR_METADATA;
    if ((a & 0xFFFF0000u) == 0xA9FE0000u)
        return CVG_ADDR_LINK_LOCAL;
    if ((a & 0xF0000000u) == 0xE0000000u)
        return CVG_ADDR_MULTICAST;
    if ((a & 0xF0000000u) == 0xF0000000u)
        return CVG_ADDR_RESERVED;
    /* Not reachable on the Internet (RFC 6890's registry): protocol
     * assignments 192.0.0.0/24, the documentation nets 192.0.2.0/24,
     * 198.51.100.0/24 and 203.0.113.0/24, benchmarking 198.18.0.0/15 and
     * the retired 6to4 relays 192.88.99.0/24; inside a provider's network
     * they may be routed to its own hosts. */
    if ((a & 0xFFFFFF00u) == 0xC0000000u || (a & 0xFFFFFF00u) == 0xC0000200u ||
        (a & 0xFFFFFF00u) == 0xC6336400u || (a & 0xFFFFFF00u) == 0xCB007100u ||
        (a & 0xFFFE0000u) == 0xC6120000u || (a & 0xFFFFFF00u) == 0xC0586300u)
        return CVG_ADDR_RESERVED;
    return CVG_ADDR_PUBLIC;
}

static uint32_t v4_at(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool zeros(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0)
            return false;
    }
    return true;
}

static cvg_addr_class_t classify6(const unsigned char *b)
{
    static const unsigned char aws_metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                                   0,    0,    0,    0,    0, 0, 0x02, 0x54};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    if (zeros(b, 16))
        return CVG_ADDR_UNSPECIFIED;
    if (zeros(b, 15) && b[15] == 1)
        return CVG_ADDR_LOOPBACK;
    if (zeros(b, 10) && b[10] == 0xff && b[11] == 0xff) /* ::ffff:a.b.c.d */
        return classify4(v4_at(b + 12));
    if (zeros(b, 12)) /* ::a.b.c.d, deprecated but still routed by some stacks */
        return classify4(v4_at(b + 12));
    if (memcmp(b, translated, sizeof(translated)) == 0) /* ::ffff:0:a.b.c.d (SIIT) */
        return classify4(v4_at(b + 12));
    if (memcmp(b, nat64, sizeof(nat64)) == 0) /* 64:ff9b::a.b.c.d */
        return classify4(v4_at(b + 12));
    /* Local NAT64 64:ff9b:1::/48 (the IPv4 address sits where the local
     * prefix length puts it); 2001::/23, protocol assignments, Teredo's
     * 2001::/32 among them, whose IPv4 address is hidden in the bits;
     * documentation 2001:db8::/32; discard 100::/64. */
    if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
        return CVG_ADDR_RESERVED;
    if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0)
        return CVG_ADDR_RESERVED;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return CVG_ADDR_RESERVED;
    if (b[0] == 0x01 && b[1] == 0 && zeros(b + 2, 6))
        return CVG_ADDR_RESERVED;
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: 2002:aabb:ccdd:: */
        return classify4(v4_at(b + 2));
    if (memcmp(b, aws_metadata, 16) == 0)
        return CVG_ADDR_METADATA;
    if ((b[0] & 0xfe) == 0xfc)
        return CVG_ADDR_UNIQUE_LOCAL;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return CVG_ADDR_LINK_LOCAL;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* site-local, deprecated */
        return CVG_ADDR_PRIVATE;
    if (b[0] == 0xff)
        return CVG_ADDR_MULTICAST;
    return CVG_ADDR_PUBLIC;
}

cvg_addr_class_t cvg_outbound_classify(const struct sockaddr *sa)
{
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return classify4(ntohl(in->sin_addr.s_addr));
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return classify6(in6->sin6_addr.s6_addr);
    }
    return CVG_ADDR_RESERVED;
}

int cvg_outbound_classify_text(const char *text)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, text, b) == 1)
        return (int)classify4(v4_at(b));
    if (inet_pton(AF_INET6, text, b) == 1)
        return (int)classify6(b);
    return -1;
}

const char *cvg_addr_class_name(cvg_addr_class_t c)
{
    switch (c) {
    case CVG_ADDR_PUBLIC:
        return "public";
    case CVG_ADDR_UNSPECIFIED:
        return "unspecified (0.0.0.0/8, ::)";
    case CVG_ADDR_LOOPBACK:
        return "loopback";
    case CVG_ADDR_PRIVATE:
        return "private (RFC 1918)";
    case CVG_ADDR_CGNAT:
        return "carrier-grade NAT (100.64.0.0/10)";
    case CVG_ADDR_LINK_LOCAL:
        return "link-local";
    case CVG_ADDR_METADATA:
        return "link-local/metadata";
    case CVG_ADDR_UNIQUE_LOCAL:
        return "unique-local (fc00::/7)";
    case CVG_ADDR_MULTICAST:
        return "multicast";
    case CVG_ADDR_RESERVED:
        return "reserved";
    }
    return "unknown";
}

/* Fills why and returns false when the call may not reach address text
 * (of class c). */
static bool address_ok(cvg_outbound_call_t *call, const char *text, cvg_addr_class_t c)
{
    if (c == CVG_ADDR_PUBLIC || call->host_allowed)
        return true;
    if (call->refused[0] != '\0')
        return false; /* keep the first reason: it is the one to read */
    if (same_host(text, call->host))
        snprintf(call->refused, sizeof(call->refused),
                 "refused: %.64s is a %s address (not in CVG_OUTBOUND_ALLOW)", text,
                 cvg_addr_class_name(c));
    else
        snprintf(call->refused, sizeof(call->refused),
                 "refused: %.64s is a %s address (host %.200s resolved to it; not in "
                 "CVG_OUTBOUND_ALLOW)",
                 text, cvg_addr_class_name(c), call->host);
    return false;
}

/* libcurl's socket: only for an address the policy allows. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    cvg_outbound_call_t *call = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    char text[INET6_ADDRSTRLEN] = "?";
    if (a->family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr, text,
                  sizeof(text));
    else if (a->family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr, text,
                  sizeof(text));
    if (!address_ok(call, text, cvg_outbound_classify(&a->addr)))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    cvg_outbound_call_t *call = ud;
    if (call->cancel && *call->cancel) {
        call->cancelled = true;
        return 1;
    }
    return 0;
}

/* ---- preparing a transfer ------------------------------------------------ */

static int url_part(CURLU *u, CURLUPart part, unsigned flags, char *out, size_t size)
{
    char *v = NULL;
    if (curl_url_get(u, part, &v, flags) != CURLUE_OK || v == NULL)
        return -1;
    int rc = strlen(v) < size ? 0 : -1;
    if (rc == 0)
        memcpy(out, v, strlen(v) + 1);
    curl_free(v);
    return rc;
}

/* The scheme rules; fills the protocol libcurl may use. */
static int check_scheme(cvg_outbound_call_t *call, cvg_err_t *err)
{
    const char *s = call->scheme;
    if (strcmp(s, "https") == 0 || strcmp(s, "smtps") == 0)
        return 0;
    if (strcmp(s, "http") == 0 && !call->host_allowed)
        return cvg_err_set(err, CVG_EINVAL, "url",
                           "refused: http://%.200s is plain HTTP; only https is allowed unless "
                           "%.200s is in CVG_OUTBOUND_ALLOW",
                           call->host, call->host);
    if (strcmp(s, "http") == 0)
        return 0;
    if (strcmp(s, "smtp") == 0 && call->smtp_plain && !call->host_allowed)
        return cvg_err_set(err, CVG_EINVAL, "url",
                           "refused: smtp://%.200s without TLS is allowed only to hosts in "
                           "CVG_OUTBOUND_ALLOW",
                           call->host);
    if (strcmp(s, "smtp") == 0)
        return 0;
    return cvg_err_set(err, CVG_EINVAL, "url",
                       "refused: the scheme %.20s is not allowed (https, smtps, or smtp with "
                       "STARTTLS)",
                       s);
}

/* Reads the URL's scheme, host and port into call and applies the rules
 * that need no connection: the scheme, the allow list, an address literal. */
static int check_url(cvg_outbound_call_t *call, const char *url, cvg_err_t *err)
{
    CURLU *u = curl_url();
    if (u == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "url", "out of memory");
    char port[8], host[CVG_OUTBOUND_HOST_MAX], *user = NULL;
    int rc = 0;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        /* "https://127.0.0.1%2f@example.com/" reads as one host and goes to
         * another; and secrets belong in credentials, not in a URL. */
        curl_free(user);
        curl_url_cleanup(u);
        return cvg_err_set(err, CVG_EINVAL, "url",
                           "refused: the URL carries a user name before '@'; credentials belong "
                           "in the tenant's credentials, not in a URL");
    }
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        url_part(u, CURLUPART_SCHEME, 0, call->scheme, sizeof(call->scheme)) != 0 ||
        url_part(u, CURLUPART_HOST, 0, host, sizeof(host)) != 0 ||
        url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof(port)) != 0 ||
        !normalise_host(host, strlen(host), call->host, sizeof(call->host)))
        rc = cvg_err_set(err, CVG_EINVAL, "url",
                         "not a URL with a scheme, a host and a port libcurl knows");
    curl_url_cleanup(u);
    if (rc != 0)
        return rc;
    call->port = (int)strtol(port, NULL, 10);
    call->host_allowed = cvg_outbound_host_allowed(call->policy, call->host, call->port);
    if ((rc = check_scheme(call, err)) != 0)
        return rc;
    /* An address written in the URL is refused before anything is tried,
     * and so are the names that always mean this machine (RFC 6761). */
    int cls = cvg_outbound_classify_text(call->host);
    if (cls < 0 && (strcmp(call->host, "localhost") == 0 || cvg_str_ends(call->host, ".localhost")))
        cls = CVG_ADDR_LOOPBACK;
    if (cls >= 0 && !address_ok(call, call->host, (cvg_addr_class_t)cls))
        return cvg_err_set(err, CVG_EINVAL, "url", "%s", call->refused);
    return 0;
}

int cvg_outbound_check_url(const cvg_outbound_t *p, const char *url, cvg_err_t *err)
{
    static const cvg_outbound_t none;
    cvg_outbound_call_t call = {.policy = p ? p : &none};
    return check_url(&call, url, err);
}

int cvg_outbound_prepare(CURL *h, cvg_outbound_call_t *call, const char *url, cvg_err_t *err)
{
    call->scheme[0] = call->host[0] = call->refused[0] = call->curl_error[0] = '\0';
    call->port = 0;
    call->host_allowed = call->cancelled = false;
    int64_t timeout_ms = 0;
    if (call->deadline_ms > 0) {
        timeout_ms = call->deadline_ms - cvg_time_mono_ms();
        if (timeout_ms <= 0)
            return cvg_err_set(err, CVG_ETIMEDOUT, "url", "the step's time ran out");
    }
    int rc = check_url(call, url, err);
    if (rc != 0)
        return rc;

    bool smtp = strncmp(call->scheme, "smtp", 4) == 0;
    CURLcode c = CURLE_OK;
    c |= curl_easy_setopt(h, CURLOPT_URL, url);
    c |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, call->scheme);
    c |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, call->scheme);
    c |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    c |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
    c |= curl_easy_setopt(h, CURLOPT_PROXY, ""); /* no proxy from the environment */
    c |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    c |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, call);
    c |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    c |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    c |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, call);
    c |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->curl_error);
    c |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    c |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    c |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    c |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                          (long)(timeout_ms > 0 && timeout_ms < CONNECT_TIMEOUT_MS
                                     ? timeout_ms
                                     : CONNECT_TIMEOUT_MS));
    c |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    c |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_SECONDS);
    if (smtp && strcmp(call->scheme, "smtp") == 0)
        c |= curl_easy_setopt(h, CURLOPT_USE_SSL,
                              call->smtp_plain ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    if (c != CURLE_OK)
        return cvg_err_set(err, CVG_EPROTO, "url", "libcurl refused an option of the transfer");
    return 0;
}

/* ---- results ------------------------------------------------------------- */

int cvg_outbound_result(const cvg_outbound_call_t *call, CURLcode rc, bool *transient,
                        cvg_err_t *err)
{
    *transient = false;
    if (rc == CURLE_OK)
        return 0;
    const char *what = call->curl_error[0] ? call->curl_error : curl_easy_strerror(rc);
    if (call->refused[0] != '\0')
        return cvg_err_set(err, CVG_EINVAL, "url", "%s", call->refused);
    if (rc == CURLE_ABORTED_BY_CALLBACK && call->cancelled)
        return cvg_err_set(err, CVG_ECANCELED, "url", "cancelled");
    if (rc == CURLE_OPERATION_TIMEDOUT && call->deadline_ms > 0 &&
        cvg_time_mono_ms() >= call->deadline_ms)
        return cvg_err_set(err, CVG_ETIMEDOUT, "url", "%.200s:%d: the step's time ran out (%s)",
                           call->host, call->port, what);
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        *transient = true;
        return cvg_err_set(err, CVG_EIO, "url", "%.200s:%d: %s", call->host, call->port, what);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return cvg_err_set(err, CVG_EAUTH, "url", "%.200s:%d: TLS: %s", call->host, call->port,
                           what);
    case CURLE_LOGIN_DENIED:
        return cvg_err_set(err, CVG_EAUTH, "url", "%.200s:%d: login refused: %s", call->host,
                           call->port, what);
    case CURLE_USE_SSL_FAILED:
        return cvg_err_set(err, CVG_EPROTO, "url",
                           "%.200s:%d: the server does not offer STARTTLS, and TLS is required",
                           call->host, call->port);
    default:
        return cvg_err_set(err, CVG_EPROTO, "url", "%.200s:%d: %s", call->host, call->port, what);
    }
}
