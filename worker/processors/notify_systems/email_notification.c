/*
 * notify_systems.email_notification: one plain-text e-mail through the
 * tenant's SMTP server (its `smtp` credential), over the outbound policy
 * (common/outbound.h): smtps on port 465, STARTTLS required elsewhere
 * unless the credential says tls: false and the host is allowed. The
 * message is built by common/mail.h; libcurl does the SMTP dialogue and
 * the dot-stuffing.
 */
#include "common/id.h"
#include "common/mail.h"
#include "common/outbound.h"
#include "common/time.h"
#include "worker/processor.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECIPIENTS    50  /* to_emails and cc_emails together */
#define SMTP_REPLY_MAX    200 /* bytes of the server's last reply kept */
#define SMTP_DEFAULT_PORT 587
#define SMTPS_PORT        465

/* Adds the addresses of a list field (each entry one address or a
 * comma-separated list) to out. */
static int add_addresses(const json_t *list, const char *field, cvg_strlist_t *out, size_t *total,
                         proc_result_t *res)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *entry = json_string_value(json_array_get(list, i));
        if (entry == NULL)
            continue;
        if (strpbrk(entry, "\r\n"))
            return proc_fail(res, CVG_EINVAL,
                             "%s[%zu]: contains a line break (header injection refused)", field, i);
        size_t before = *total;
        const char *p = entry;
        while (*p) {
            size_t n = strcspn(p, ",");
            const char *s = p, *e = p + n;
            while (s < e && isspace((unsigned char)*s))
                s++;
            while (e > s && isspace((unsigned char)e[-1]))
                e--;
            if (e > s) {
                char addr[CVG_MAIL_ADDR_MAX + 1];
                size_t len = (size_t)(e - s);
                if (len > CVG_MAIL_ADDR_MAX)
                    return proc_fail(res, CVG_EINVAL, "%s[%zu]: an address longer than %d", field,
                                     i, CVG_MAIL_ADDR_MAX);
                memcpy(addr, s, len);
                addr[len] = '\0';
                if (!cvg_mail_addr_ok(addr))
                    return proc_fail(res, CVG_EINVAL, "%s[%zu]: '%.100s' is not an e-mail address",
                                     field, i, addr);
                if (++*total > MAX_RECIPIENTS)
                    return proc_fail(res, CVG_EINVAL,
                                     "%s: more than %d recipients (to_emails and cc_emails)", field,
                                     MAX_RECIPIENTS);
                if (cvg_strlist_add(out, addr) != 0)
                    return proc_fail(res, CVG_ENOMEM, "out of memory");
            }
            p += n + (p[n] == ',');
        }
        if (*total == before)
            return proc_fail(res, CVG_EINVAL, "%s[%zu]: no address in '%.100s'", field, i, entry);
    }
    return 0;
}

/* The SMTP server and login of the tenant's smtp credential. */
typedef struct smtp_server {
    const char *host, *username, *password;
    char from[CVG_MAIL_NAME_MAX + CVG_MAIL_ADDR_MAX + 8]; /* as written */
    char from_addr[CVG_MAIL_ADDR_MAX + 1];
    int port;
    bool tls; /* TLS required (default) */
} smtp_server_t;

static bool host_ok(const char *h)
{
    if (h == NULL || h[0] == '\0' || strlen(h) >= CVG_OUTBOUND_HOST_MAX)
        return false;
    for (const char *p = h; *p; p++) {
        if (!(isalnum((unsigned char)*p) || strchr(".-_:[]", *p)))
            return false;
    }
    return true;
}

static int read_server(const json_t *cred, smtp_server_t *s, proc_result_t *res)
{
    memset(s, 0, sizeof(*s));
    s->host = json_string_value(json_object_get(cred, "host"));
    s->username = json_string_value(json_object_get(cred, "username"));
    s->password = json_string_value(json_object_get(cred, "password"));
    json_t *port = json_object_get(cred, "port"), *tls = json_object_get(cred, "tls");
    s->port = json_is_integer(port) ? (int)json_integer_value(port) : SMTP_DEFAULT_PORT;
    s->tls = !json_is_false(tls);
    if (!host_ok(s->host))
        return proc_fail(res, CVG_EINVAL, "the smtp credential's host is not a host name");
    if (s->port < 1 || s->port > 65535)
        return proc_fail(res, CVG_EINVAL, "the smtp credential's port is not in 1..65535");
    const char *from = json_string_value(json_object_get(cred, "from"));
    if (from == NULL && s->username && strchr(s->username, '@'))
        from = s->username;
    if (from == NULL)
        return proc_fail(res, CVG_EINVAL,
                         "the smtp credential has no from address (and its username is not one)");
    snprintf(s->from, sizeof(s->from), "%s", from);
    char name[CVG_MAIL_NAME_MAX + 1];
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_mail_mailbox(from, name, s->from_addr, &err) != 0)
        return proc_fail(res, CVG_EINVAL, "the smtp credential's from: %.300s", err.message);
    return 0;
}

typedef struct upload {
    const char *data;
    size_t left;
} upload_t;

static size_t read_message(char *out, size_t size, size_t n, void *ud)
{
    upload_t *u = ud;
    size_t len = size * n < u->left ? size * n : u->left;
    memcpy(out, u->data, len);
    u->data += len;
    u->left -= len;
    return len;
}

/* Keeps the server's last reply line (never what we sent: that holds the
 * login). */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    char *last = ud;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    size_t start = size;
    while (start > 0 && data[start - 1] != '\n')
        start--;
    size_t n = 0;
    for (size_t i = start; i < size && n < SMTP_REPLY_MAX; i++)
        last[n++] = (unsigned char)data[i] < 0x20 || (unsigned char)data[i] > 0x7e ? ' ' : data[i];
    if (n > 0)
        last[n] = '\0';
    return 0;
}

/* The outcome of the SMTP dialogue: 4xx replies and network trouble may
 * pass (transient), 5xx replies and policy refusals will not. */
static int judge(const cvg_outbound_call_t *call, CURLcode cc, long code, const char *reply,
                 proc_result_t *res)
{
    bool transient = false;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_outbound_result(call, cc, &transient, &err);
    if (rc == 0 || call->refused[0] || rc == CVG_ECANCELED || rc == CVG_ETIMEDOUT)
        return rc == 0 ? 0 : proc_fail(res, rc, "smtp: %.900s", err.message);
    if (code >= 400 && code < 500) {
        res->transient = true;
        return proc_fail(res, CVG_EIO, "the SMTP server %.200s:%d answered %.200s (temporary)",
                         call->host, call->port, reply[0] ? reply : "a 4xx reply");
    }
    if (code >= 500)
        return proc_fail(res, cc == CURLE_LOGIN_DENIED ? CVG_EAUTH : CVG_EPROTO,
                         "the SMTP server %.200s:%d refused %s: %.200s", call->host, call->port,
                         cc == CURLE_LOGIN_DENIED ? "the login" : "the message",
                         reply[0] ? reply : "a 5xx reply");
    res->transient = transient;
    return proc_fail(res, rc, "smtp: %.900s", err.message);
}

static int send_mail(const proc_ctx_t *ctx, const smtp_server_t *s, const cvg_strlist_t *rcpts,
                     const cvg_buf_t *message, json_t *detail, proc_result_t *res)
{
    cvg_outbound_t policy;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_outbound_from_config(ctx->cfg, &policy, &err) != 0)
        return proc_fail(res, CVG_ECONFIG, "%.900s", err.message);
    const char *domain = strchr(s->from_addr, '@') + 1;
    char url[CVG_OUTBOUND_HOST_MAX + CVG_MAIL_ADDR_MAX + 32];
    bool v6 = strchr(s->host, ':') != NULL && s->host[0] != '[';
    snprintf(url, sizeof(url), "%s://%s%s%s:%d/%s", s->port == SMTPS_PORT ? "smtps" : "smtp",
             v6 ? "[" : "", s->host, v6 ? "]" : "", s->port, domain);
    cvg_outbound_call_t call = {.policy = &policy,
                                .deadline_ms = ctx->deadline_ms,
                                .cancel = ctx->cancel,
                                .smtp_plain = !s->tls};
    CURL *h = curl_easy_init();
    if (h == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    struct curl_slist *to = NULL;
    char reply[SMTP_REPLY_MAX + 1] = "", from[CVG_MAIL_ADDR_MAX + 3];
    int rc = cvg_outbound_prepare(h, &call, url, &err);
    if (rc != 0) {
        rc = proc_fail(res, rc, "smtp: %.900s", err.message);
        goto out;
    }
    for (size_t i = 0; i < rcpts->n; i++) {
        char one[CVG_MAIL_ADDR_MAX + 3];
        snprintf(one, sizeof(one), "<%s>", rcpts->items[i]);
        struct curl_slist *next = curl_slist_append(to, one);
        if (next == NULL) {
            rc = proc_fail(res, CVG_ENOMEM, "out of memory");
            goto out;
        }
        to = next;
    }
    snprintf(from, sizeof(from), "<%s>", s->from_addr);
    upload_t up = {message->data, message->len};
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)message->len);
    curl_easy_setopt(h, CURLOPT_USERNAME, s->username);
    curl_easy_setopt(h, CURLOPT_PASSWORD, s->password);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, (void *)reply);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    json_object_set_new(detail, "server", json_sprintf("%s:%d", call.host, call.port));
    if (reply[0])
        json_object_set_new(detail, "smtp_response", json_string(reply));
    rc = judge(&call, cc, code, reply, res);
out:
    curl_slist_free_all(to);
    curl_easy_cleanup(h);
    return rc;
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    cvg_strlist_t to = {0}, cc = {0};
    json_t *cred = NULL;
    cvg_buf_t message;
    cvg_buf_init(&message, CVG_MAIL_MAX_BYTES);
    size_t total = 0;
    int rc = add_addresses(json_object_get(step, "to_emails"), "to_emails", &to, &total, res);
    if (rc == 0)
        rc = add_addresses(json_object_get(step, "cc_emails"), "cc_emails", &cc, &total, res);
    if (rc != 0)
        goto out;
    cvg_err_t err;
    cvg_err_clear(&err);
    if ((rc = proc_credential(ctx, "smtp", &cred, &err)) != 0) {
        rc = proc_fail(res, rc, "%.900s", err.message);
        goto out;
    }
    smtp_server_t server;
    if ((rc = read_server(cred, &server, res)) != 0)
        goto out;

    char uuid[CVG_ID_LEN], message_id[CVG_ID_LEN + CVG_MAIL_ADDR_MAX + 4];
    cvg_id_new(uuid);
    snprintf(message_id, sizeof(message_id), "<%s@%s>", uuid, strchr(server.from_addr, '@') + 1);
    cvg_mail_t m = {.from = server.from,
                    .to = (const char *const *)to.items,
                    .nto = to.n,
                    .cc = (const char *const *)cc.items,
                    .ncc = cc.n,
                    .subject = json_string_value(json_object_get(step, "subject_template")),
                    .body = json_string_value(json_object_get(step, "body_template")),
                    .message_id = message_id,
                    .date_ms = cvg_time_now_ms()};
    if ((rc = cvg_mail_build(&m, &message, &err)) != 0) {
        rc = proc_fail(res, rc, "%.900s", err.message);
        goto out;
    }
    json_t *recipients = json_array();
    for (size_t i = 0; i < to.n + cc.n; i++)
        json_array_append_new(recipients, json_string(i < to.n ? to.items[i] : cc.items[i - to.n]));
    res->detail = json_pack("{s:o, s:s}", "recipients", recipients, "message_id", message_id);
    /* the envelope: every recipient, copies included */
    for (size_t i = 0; i < cc.n; i++) {
        if (cvg_strlist_add(&to, cc.items[i]) != 0) {
            rc = proc_fail(res, CVG_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = send_mail(ctx, &server, &to, &message, res->detail, res);
out:
    json_decref(cred);
    cvg_strlist_cleanup(&to);
    cvg_strlist_cleanup(&cc);
    cvg_buf_cleanup(&message);
    return rc;
}

const proc_def_t proc_notify_systems_email_notification = {
    .ps_type = "notify_systems.email_notification",
    .summary = "send a plain-text e-mail through the tenant's SMTP server",
    .run = run,
};
