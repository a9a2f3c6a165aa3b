/*
 * E-mail messages as the notification processors send them: RFC 5322
 * headers (non-ASCII text as RFC 2047 encoded words, long lines folded),
 * a text/plain UTF-8 body (7bit when it can be, quoted-printable when not)
 * with CRLF line ends. Header values with line breaks are refused, so no
 * value can add a header. SMTP's dot-stuffing is the transport's job
 * (libcurl does it while sending): lines here are left as written.
 */
#ifndef CVG_MAIL_H
#define CVG_MAIL_H

#include "common/buf.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_MAIL_ADDR_MAX  254          /* characters of an address */
#define CVG_MAIL_NAME_MAX  200          /* bytes of a display name */
#define CVG_MAIL_MAX_BYTES (512 * 1024) /* a whole built message */

/* True for a plain ASCII address local@domain: dot-atom local part of at
 * most 64 characters, host name labels of letters, digits and '-'. No
 * display name, no quoted local part, no address literal. */
bool cvg_mail_addr_ok(const char *addr);

/* Splits a mailbox, "addr" or "Display Name <addr>" (the name maybe
 * quoted), into name (may come out "") and addr. CVG_EINVAL when the
 * address is not one cvg_mail_addr_ok accepts or the text holds a line
 * break or another control character. */
int cvg_mail_mailbox(const char *text, char name[CVG_MAIL_NAME_MAX + 1],
                     char addr[CVG_MAIL_ADDR_MAX + 1], cvg_err_t *err);

/* True when s is well-formed UTF-8 (no overlong forms, no surrogates). */
bool cvg_mail_utf8_ok(const char *s);

/*
 * Appends text as the value of a header whose line already holds `used`
 * characters ("Subject: " is 9): as it is when it is printable ASCII,
 * folded at spaces past 78 characters; else as RFC 2047 "=?UTF-8?B?...?="
 * words of whole characters, one per folded line. text must be UTF-8
 * without control characters (checked by cvg_mail_build).
 */
int cvg_mail_header_text(cvg_buf_t *out, const char *text, size_t used);

/* A message to build; everything borrowed. */
typedef struct cvg_mail {
    const char *from;       /* "addr" or "Display Name <addr>" */
    const char *const *to;  /* addresses (cvg_mail_addr_ok) */
    size_t nto;             /* at least 1 */
    const char *const *cc;  /* may be NULL */
    size_t ncc;             /* entries of cc */
    const char *subject;    /* UTF-8, one line */
    const char *body;       /* UTF-8 text, LF or CRLF line ends */
    const char *message_id; /* "<left@right>" */
    int64_t date_ms;        /* wall-clock time of the Date header */
} cvg_mail_t;

/*
 * Appends the whole message (headers, blank line, body ending in CRLF) to
 * out. CVG_EINVAL naming the field ("subject: contains a line break
 * (header injection refused)", "to[1]: 'x' is not an e-mail address",
 * "body: not UTF-8"), CVG_ETOOBIG when out's maximum is reached.
 */
int cvg_mail_build(const cvg_mail_t *m, cvg_buf_t *out, cvg_err_t *err);

#endif
