/*
 * The outbound policy: every HTTP(S) or SMTP connection a processor makes
 * (notifications, S3 loads) is prepared here. It allows TLS schemes only,
 * plain http/smtp only to hosts the operator listed in CVG_OUTBOUND_ALLOW,
 * checks the address actually connected to (so DNS cannot point a public
 * name at an internal address), follows no redirects, and ties the transfer
 * to the step's deadline and cancel flag.
 */
#ifndef CVG_OUTBOUND_H
#define CVG_OUTBOUND_H

#include "common/config.h"
#include "common/err.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CVG_OUTBOUND_MAX_ALLOW  64  /* entries in CVG_OUTBOUND_ALLOW */
#define CVG_OUTBOUND_HOST_MAX   256 /* bytes of a host name, with its NUL */
#define CVG_OUTBOUND_REASON_MAX 512 /* bytes of a refusal message */

/* One allowed host: a name or address literal, maybe with a port. */
typedef struct cvg_outbound_host {
    char host[CVG_OUTBOUND_HOST_MAX]; /* lower case; an IPv6 literal without brackets */
    int port;                         /* 0: any port */
} cvg_outbound_host_t;

/* The policy: the operator's allow list (empty by default). */
typedef struct cvg_outbound {
    size_t n;
    cvg_outbound_host_t allow[CVG_OUTBOUND_MAX_ALLOW];
} cvg_outbound_t;

/* What an address is, for the checks. Everything but PUBLIC is refused
 * unless the host is allowed. */
typedef enum cvg_addr_class {
    CVG_ADDR_PUBLIC = 0,
    CVG_ADDR_UNSPECIFIED,  /* 0.0.0.0/8, :: */
    CVG_ADDR_LOOPBACK,     /* 127.0.0.0/8, ::1 */
    CVG_ADDR_PRIVATE,      /* 10/8, 172.16/12, 192.168/16, fec0::/10 */
    CVG_ADDR_CGNAT,        /* 100.64.0.0/10 */
    CVG_ADDR_LINK_LOCAL,   /* 169.254.0.0/16, fe80::/10 */
    CVG_ADDR_METADATA,     /* 169.254.169.254, fd00:ec2::254 */
    CVG_ADDR_UNIQUE_LOCAL, /* fc00::/7 */
    CVG_ADDR_MULTICAST,    /* 224.0.0.0/4, ff00::/8 */
    CVG_ADDR_RESERVED      /* 240.0.0.0/4 and the broadcast address */
} cvg_addr_class_t;

/*
 * Parses a comma-separated allow list: entries "host", "host:port",
 * "1.2.3.4", "[::1]" or "[::1]:8080"; blanks around entries are ignored.
 * CVG_ECONFIG naming the bad entry (err->field "CVG_OUTBOUND_ALLOW").
 */
int cvg_outbound_parse(const char *list, cvg_outbound_t *out, cvg_err_t *err);

/* The policy of cfg->outbound_allow. */
int cvg_outbound_from_config(const cvg_config_t *cfg, cvg_outbound_t *out, cvg_err_t *err);

/* True when host (as written in a URL, brackets allowed) and port are on
 * the allow list. Case does not matter. */
bool cvg_outbound_host_allowed(const cvg_outbound_t *p, const char *host, int port);

/* The checks a transfer to url would meet before connecting (its scheme,
 * plain http only to allowed hosts, an address literal's class), for a URL
 * stored now and used later. p may be NULL (nothing allowed). 0, or
 * CVG_EINVAL saying why. */
int cvg_outbound_check_url(const cvg_outbound_t *p, const char *url, cvg_err_t *err);

/* The class of an IPv4 or IPv6 socket address. IPv4 embedded in IPv6
 * (::ffff:a.b.c.d, 64:ff9b::/96, 2002::/16, ::a.b.c.d) is classed as the
 * IPv4 address it carries. Anything not AF_INET/AF_INET6 is RESERVED. */
cvg_addr_class_t cvg_outbound_classify(const struct sockaddr *sa);

/* The class of a textual address ("10.0.0.1", "::1"); -1 when text is
 * not an address literal. */
int cvg_outbound_classify_text(const char *text);

/* "loopback", "link-local/metadata", ...; never NULL. */
const char *cvg_addr_class_name(cvg_addr_class_t c);

/*
 * One transfer under the policy. The caller fills the first block, passes
 * the struct to cvg_outbound_prepare and keeps it alive (and in place)
 * until the transfer ends: libcurl's callbacks point to it.
 */
typedef struct cvg_outbound_call {
    const cvg_outbound_t *policy;        /* borrowed */
    int64_t deadline_ms;                 /* monotonic end of the step, 0: none */
    const volatile sig_atomic_t *cancel; /* non-zero aborts the transfer; may be NULL */
    bool smtp_plain;                     /* smtp:// without STARTTLS: allowed hosts only */
    /* Filled by cvg_outbound_prepare and during the transfer: */
    char scheme[8];
    char host[CVG_OUTBOUND_HOST_MAX]; /* without brackets, lower case */
    int port;
    bool host_allowed;
    bool cancelled;                        /* the progress callback saw cancel */
    char refused[CVG_OUTBOUND_REASON_MAX]; /* why a connection was refused, or "" */
    char curl_error[CURL_ERROR_SIZE];      /* libcurl's own words */
} cvg_outbound_call_t;

/*
 * Checks url against the policy and sets up h for it: the URL, the one
 * protocol allowed (https, http, smtps or smtp; STARTTLS required for smtp
 * unless call->smtp_plain), no redirects, no proxy, the connect-time
 * address check, the timeouts left before call->deadline_ms and the cancel
 * check. Refusals are CVG_EINVAL with err->message naming the host and why
 * ("refused: 169.254.169.254 is a link-local/metadata address ..."); a
 * deadline already past is CVG_ETIMEDOUT. Nothing is connected here.
 */
int cvg_outbound_prepare(CURL *h, cvg_outbound_call_t *call, const char *url, cvg_err_t *err);

/*
 * Turns the result of a transfer prepared above into 0 or a CVG_E* code
 * with err->message saying what happened: a policy refusal (CVG_EINVAL),
 * cancellation (CVG_ECANCELED), the step's deadline (CVG_ETIMEDOUT),
 * network trouble a retry may cure (CVG_EIO, *transient true), TLS and
 * login failures (CVG_EAUTH) and the rest (CVG_EPROTO).
 */
int cvg_outbound_result(const cvg_outbound_call_t *call, CURLcode rc, bool *transient,
                        cvg_err_t *err);

#endif
