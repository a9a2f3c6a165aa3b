/*
 * E-mail messages (see mail.h): RFC 5322 for the headers, RFC 2047 for
 * non-ASCII header text, RFC 2045 quoted-printable for bodies that are not
 * 7bit-clean.
 */
#include "common/mail.h"
#include "common/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_SOFT      78  /* header lines are folded past this */
#define LINE_HARD      998 /* no line may be longer (RFC 5322 2.1.1) */
#define QP_LINE        76  /* quoted-printable line length */
#define WORD_BYTES     36  /* UTF-8 bytes in one encoded word (48 base64 characters) */
#define PLAIN_WORD_MAX 900 /* a longer run without spaces is encoded, to fold it */

/* ---- addresses ----------------------------------------------------------- */

static bool atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool cvg_mail_addr_ok(const char *addr)
{
    const char *at = addr ? strchr(addr, '@') : NULL;
    if (at == NULL || strchr(at + 1, '@') != NULL || strlen(addr) > CVG_MAIL_ADDR_MAX)
        return false;
    size_t local = (size_t)(at - addr);
    if (local == 0 || local > 64 || addr[0] == '.' || at[-1] == '.')
        return false;
    for (const char *p = addr; p < at; p++) {
        if (!(atext(*p) || (*p == '.' && p[1] != '.')))
            return false;
    }
    const char *d = at + 1;
    if (*d == '\0')
        return false;
    while (*d) {
        size_t n = 0;
        while (label_char(d[n]))
            n++;
        if (n == 0 || n > 63 || d[0] == '-' || d[n - 1] == '-')
            return false;
        d += n;
        if (*d == '.') {
            d++;
            if (*d == '\0')
                return false;
        } else if (*d != '\0') {
            return false;
        }
    }
    return true;
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return true;
    }
    return false;
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int cvg_mail_mailbox(const char *text, char name[CVG_MAIL_NAME_MAX + 1],
                     char addr[CVG_MAIL_ADDR_MAX + 1], cvg_err_t *err)
{
    name[0] = addr[0] = '\0';
    if (text == NULL || has_control(text))
        return cvg_err_set(err, CVG_EINVAL, "from",
                           "contains a line break or a control character (header injection "
                           "refused)");
    const char *lt = strrchr(text, '<');
    const char *a = text;
    size_t alen = strlen(text);
    if (lt != NULL) {
        const char *gt = strchr(lt, '>');
        if (gt == NULL || gt[1] != '\0')
            return cvg_err_set(err, CVG_EINVAL, "from",
                               "'%.100s' is not \"Name <address>\" or an address", text);
        a = lt + 1;
        alen = (size_t)(gt - a);
        const char *n = text, *e = lt;
        while (n < e && *n == ' ')
            n++;
        while (e > n && e[-1] == ' ')
            e--;
        if (e - n >= 2 && *n == '"' && e[-1] == '"') {
            n++;
            e--;
        }
        if ((size_t)(e - n) > CVG_MAIL_NAME_MAX)
            return cvg_err_set(err, CVG_EINVAL, "from", "the display name is longer than %d bytes",
                               CVG_MAIL_NAME_MAX);
        memcpy(name, n, (size_t)(e - n));
        name[e - n] = '\0';
    }
    if (alen > CVG_MAIL_ADDR_MAX)
        return cvg_err_set(err, CVG_EINVAL, "from", "the address is longer than %d characters",
                           CVG_MAIL_ADDR_MAX);
    memcpy(addr, a, alen);
    addr[alen] = '\0';
    if (!cvg_mail_addr_ok(addr))
        return cvg_err_set(err, CVG_EINVAL, "from", "'%.100s' is not an e-mail address", addr);
    if (!cvg_mail_utf8_ok(name))
        return cvg_err_set(err, CVG_EINVAL, "from", "the display name is not UTF-8");
    return 0;
}

/* ---- text ---------------------------------------------------------------- */

/* Bytes of the UTF-8 character at s, or 0 when it is malformed. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||  /* overlong */
        (n == 3 && s[0] == 0xed && s[1] >= 0xa0) || /* surrogate */
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) ||  /* overlong */
        (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))   /* past U+10FFFF */
        return 0;
    return n;
}

bool cvg_mail_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

/* Printable ASCII only, no "=?" (which a reader could take for an encoded
 * word), and no run without spaces too long to fold. */
static bool plain_header(const char *s)
{
    size_t run = 0;
    for (const char *p = s; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || (p[0] == '=' && p[1] == '?'))
            return false;
        run = *p == ' ' ? 0 : run + 1;
        if (run > PLAIN_WORD_MAX)
            return false;
    }
    return true;
}

static int encoded_words(cvg_buf_t *out, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    bool first = true;
    int rc = 0;
    while (*p && rc == 0) {
        size_t n = 0;
        while (p[n]) {
            size_t c = utf8_len(p + n);
            if (c == 0 || n + c > WORD_BYTES)
                break;
            n += c;
        }
        if (n == 0)
            return CVG_EINVAL; /* not UTF-8: the caller checked, so never */
        char *b64 = cvg_base64_encode(p, n);
        if (b64 == NULL)
            return CVG_ENOMEM;
        rc = cvg_buf_printf(out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
        free(b64);
        first = false;
        p += n;
    }
    return rc;
}

int cvg_mail_header_text(cvg_buf_t *out, const char *text, size_t used)
{
    if (!plain_header(text))
        return encoded_words(out, text);
    /* Fold before a space once the line would pass LINE_SOFT: unfolding
     * (taking the CRLF out) gives the text back exactly. */
    size_t line = used;
    const char *p = text;
    int rc = 0;
    bool first = true;
    while (rc == 0) {
        size_t n = strcspn(p, " ");
        if (!first && n > 0 && line + 1 + n > LINE_SOFT && line > 1) {
            rc = cvg_buf_puts(out, "\r\n");
            line = 0;
        }
        if (!first && rc == 0) {
            rc = cvg_buf_puts(out, " ");
            line++;
        }
        if (rc == 0)
            rc = cvg_buf_append(out, p, n);
        line += n;
        first = false;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    return rc;
}

/* A display name as a phrase: an atom run, a quoted string, or encoded
 * words for non-ASCII. */
static int display_name(cvg_buf_t *out, const char *name)
{
    bool specials = false;
    for (const char *p = name; *p; p++)
        specials |= strchr("()<>[]:;@\\,.\"", *p) != NULL;
    if (!plain_header(name) || !specials)
        return cvg_mail_header_text(out, name, 6);
    int rc = cvg_buf_puts(out, "\"");
    for (const char *p = name; *p && rc == 0; p++)
        rc = cvg_buf_printf(out, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
    return rc == 0 ? cvg_buf_puts(out, "\"") : rc;
}

/* ---- the body ------------------------------------------------------------ */

/* True when the body can go as 7bit: ASCII without controls but tab, and
 * no line over LINE_HARD. */
static bool body_7bit(const char *body)
{
    size_t line = 0;
    for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            line = 0;
            continue;
        }
        if (*p >= 0x80 || (*p < 0x20 && *p != '\t') || *p == 0x7f || ++line > LINE_HARD)
            return false;
    }
    return true;
}

/* The body's lines with CRLF ends (a lone CR or LF counts as one). */
static int put_body_7bit(cvg_buf_t *out, const char *body)
{
    const char *p = body;
    int rc = 0;
    while (*p && rc == 0) {
        size_t n = strcspn(p, "\r\n");
        rc = cvg_buf_append(out, p, n);
        if (rc == 0)
            rc = cvg_buf_puts(out, "\r\n");
        p += n;
        if (p[0] == '\r' && p[1] == '\n')
            p += 2;
        else if (*p)
            p++;
    }
    return rc;
}

static int put_body_qp(cvg_buf_t *out, const char *body)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)body;
    int rc = 0;
    while (*p && rc == 0) {
        size_t n = strcspn((const char *)p, "\r\n"), col = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            unsigned char c = p[i];
            bool last = i + 1 == n;
            bool encode = c == '=' || c > 0x7e || (c < 0x20 && c != '\t') ||
                          ((c == ' ' || c == '\t') && last);
            size_t width = encode ? 3 : 1;
            /* a soft break keeps every line within QP_LINE with its '=' */
            if (col + width > QP_LINE - (last ? 0 : 1)) {
                rc = cvg_buf_puts(out, "=\r\n");
                col = 0;
            }
            if (rc == 0 && encode)
                rc = cvg_buf_printf(out, "=%c%c", hex[c >> 4], hex[c & 15]);
            else if (rc == 0)
                rc = cvg_buf_append(out, &c, 1);
            col += width;
        }
        if (rc == 0)
            rc = cvg_buf_puts(out, "\r\n");
        p += n;
        if (p[0] == '\r' && p[1] == '\n')
            p += 2;
        else if (*p)
            p++;
    }
    return rc;
}

/* ---- the message --------------------------------------------------------- */

static void rfc5322_date(int64_t ms, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int check_header(const char *field, const char *value, cvg_err_t *err)
{
    if (value == NULL)
        return cvg_err_set(err, CVG_EINVAL, field, "%s: missing", field);
    if (has_line_break(value))
        return cvg_err_set(err, CVG_EINVAL, field,
                           "%s: contains a line break (header injection refused)", field);
    if (has_control(value))
        return cvg_err_set(err, CVG_EINVAL, field, "%s: contains a control character", field);
    if (!cvg_mail_utf8_ok(value))
        return cvg_err_set(err, CVG_EINVAL, field, "%s: not UTF-8", field);
    return 0;
}

static int check_list(const char *field, const char *const *list, size_t n, cvg_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        char f[32];
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        int rc = check_header(f, list[i], err);
        if (rc != 0)
            return rc;
        if (!cvg_mail_addr_ok(list[i]))
            return cvg_err_set(err, CVG_EINVAL, f, "%s: '%.100s' is not an e-mail address", f,
                               list[i]);
    }
    return 0;
}

static int put_list(cvg_buf_t *out, const char *header, const char *const *list, size_t n)
{
    int rc = cvg_buf_printf(out, "%s: ", header);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cvg_buf_printf(out, "%s%s", list[i], i + 1 < n ? ",\r\n " : "\r\n");
    return rc;
}

int cvg_mail_build(const cvg_mail_t *m, cvg_buf_t *out, cvg_err_t *err)
{
    int rc;
    if ((rc = check_header("subject", m->subject, err)) != 0 ||
        (rc = check_header("from", m->from, err)) != 0 ||
        (rc = check_header("message_id", m->message_id, err)) != 0 ||
        (rc = check_list("to", m->to, m->nto, err)) != 0 ||
        (rc = check_list("cc", m->cc, m->ncc, err)) != 0)
        return rc;
    if (m->nto == 0)
        return cvg_err_set(err, CVG_EINVAL, "to", "to: at least one recipient");
    const char *id = m->message_id;
    size_t idlen = strlen(id), inner = idlen >= 2 ? strcspn(id + 1, "<> ") : 0;
    if (idlen < 5 || id[0] != '<' || id[idlen - 1] != '>' || strchr(id, '@') == NULL ||
        inner != idlen - 2)
        return cvg_err_set(err, CVG_EINVAL, "message_id", "message_id: not <left@right>");
    if (m->body == NULL || !cvg_mail_utf8_ok(m->body))
        return cvg_err_set(err, CVG_EINVAL, "body", "body: not UTF-8");
    char name[CVG_MAIL_NAME_MAX + 1], addr[CVG_MAIL_ADDR_MAX + 1];
    if ((rc = cvg_mail_mailbox(m->from, name, addr, err)) != 0)
        return rc;

    char date[40];
    rfc5322_date(m->date_ms, date);
    bool seven = body_7bit(m->body);
    rc = cvg_buf_printf(out, "Date: %s\r\nFrom: ", date);
    if (rc == 0 && name[0]) {
        rc = display_name(out, name);
        if (rc == 0)
            rc = cvg_buf_printf(out, " <%s>\r\n", addr);
    } else if (rc == 0) {
        rc = cvg_buf_printf(out, "%s\r\n", addr);
    }
    if (rc == 0)
        rc = put_list(out, "To", m->to, m->nto);
    if (rc == 0 && m->ncc > 0)
        rc = put_list(out, "Cc", m->cc, m->ncc);
    if (rc == 0)
        rc = cvg_buf_puts(out, "Subject: ");
    if (rc == 0)
        rc = cvg_mail_header_text(out, m->subject, 9);
    if (rc == 0)
        rc = cvg_buf_printf(out,
                            "\r\nMessage-ID: %s\r\n"
                            "MIME-Version: 1.0\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: %s\r\n"
                            "Auto-Submitted: auto-generated\r\n"
                            "\r\n",
                            id, seven ? "7bit" : "quoted-printable");
    if (rc == 0)
        rc = seven ? put_body_7bit(out, m->body) : put_body_qp(out, m->body);
    if (rc == CVG_ETOOBIG || out->overflow)
        return cvg_err_set(err, CVG_ETOOBIG, "body", "the message is larger than %zu bytes",
                           out->max);
    return rc == 0 ? 0 : cvg_err_set(err, rc, "body", "the message could not be built");
}
