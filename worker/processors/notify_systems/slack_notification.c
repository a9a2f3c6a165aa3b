/*
 * notify_systems.slack_notification: one message to the tenant's Slack
 * incoming webhook (its `slack` credential), POSTed as JSON over the
 * outbound policy (common/outbound.h). The webhook URL holds a secret
 * token: errors and results name its host only.
 */
#include "common/mail.h"
#include "common/outbound.h"
#include "worker/processor.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REPLY_MAX         4096 /* bytes of the webhook's answer kept */
#define ERROR_BODY_CHARS  200  /* characters of it quoted in an error */
#define RETRY_AFTER_MAX_S 3600 /* a longer Retry-After is not worth reporting */

typedef struct reply {
    cvg_buf_t body;
    long retry_after; /* seconds, -1 when none or not a number */
} reply_t;

static size_t on_body(void *data, size_t size, size_t n, void *ud)
{
    cvg_buf_t *b = ud;
    size_t len = size * n, room = b->max - b->len;
    /* the rest is read and dropped: only the start is ever shown */
    cvg_buf_append(b, data, len < room ? len : room);
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    reply_t *r = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *p = data + sizeof(name) - 1, *end = data + len;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        long v = 0;
        bool digits = false;
        while (p < end && isdigit((unsigned char)*p) && v <= RETRY_AFTER_MAX_S * 10L) {
            v = v * 10 + (*p++ - '0');
            digits = true;
        }
        /* an HTTP date is not used: the retry policy waits anyway */
        r->retry_after = digits ? v : -1;
    }
    return len;
}

/* The first ERROR_BODY_CHARS characters of the answer, on one line. */
static void body_excerpt(const cvg_buf_t *b, char *out, size_t size)
{
    size_t n = 0, chars = 0;
    for (size_t i = 0; i < b->len && n + 1 < size; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if ((c & 0xc0) != 0x80 && ++chars > ERROR_BODY_CHARS)
            break;
        out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = '\0';
    /* the step log is JSON: an answer that is not UTF-8 is shown as ASCII */
    if (!cvg_mail_utf8_ok(out)) {
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)out[i] >= 0x80 ? '?' : out[i];
    }
}

/* The channel: the step's, the credential's, the {slack_channel} setting,
 * or none (the webhook posts to its own). */
static const char *pick_channel(const proc_ctx_t *ctx, const json_t *step, const json_t *cred)
{
    const char *ch = json_string_value(json_object_get(step, "channel"));
    if (ch == NULL || ch[0] == '\0')
        ch = json_string_value(json_object_get(cred, "channel"));
    if (ch == NULL || ch[0] == '\0') {
        const cvg_var_t *v = ctx->vars ? cvg_vars_find(ctx->vars, "slack_channel") : NULL;
        ch = v ? v->value : NULL;
    }
    return ch && ch[0] ? ch : NULL;
}

/* 2xx: done; 429 and 5xx may pass (transient); other answers will not. */
static int judge(const cvg_outbound_call_t *call, long status, const reply_t *r, json_t *detail,
                 proc_result_t *res)
{
    char excerpt[ERROR_BODY_CHARS * 4 + 1];
    body_excerpt(&r->body, excerpt, sizeof(excerpt));
    json_object_set_new(detail, "status", json_integer(status));
    if (status >= 200 && status < 300)
        return 0;
    if (r->retry_after >= 0 && r->retry_after <= RETRY_AFTER_MAX_S)
        json_object_set_new(detail, "retry_after_seconds", json_integer(r->retry_after));
    if (status == 429 || status >= 500) {
        res->transient = true;
        return proc_fail(res, CVG_EIO, "the webhook at %.200s answered %ld%s%s%s", call->host,
                         status, excerpt[0] ? ": " : "", excerpt,
                         status == 429 ? " (rate limited; retried per retry_policy)" : "");
    }
    if (status >= 300 && status < 400)
        return proc_fail(res, CVG_EPROTO,
                         "the webhook at %.200s answered %ld, a redirect: redirects are not "
                         "followed",
                         call->host, status);
    return proc_fail(res, CVG_EPROTO, "the webhook at %.200s answered %ld%s%s", call->host, status,
                     excerpt[0] ? ": " : "", excerpt);
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    json_t *cred = NULL, *payload = NULL;
    char *body = NULL;
    CURL *h = NULL;
    struct curl_slist *headers = NULL;
    reply_t reply = {.retry_after = -1};
    cvg_buf_init(&reply.body, REPLY_MAX);
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = proc_credential(ctx, "slack", &cred, &err);
    if (rc != 0) {
        rc = proc_fail(res, rc, "%.900s", err.message);
        goto out;
    }
    const char *url = json_string_value(json_object_get(cred, "webhook_url"));
    if (url == NULL || url[0] == '\0') {
        rc = proc_fail(res, CVG_EINVAL, "the slack credential has no webhook_url");
        goto out;
    }
    const char *channel = pick_channel(ctx, step, cred);
    const char *text = json_string_value(json_object_get(step, "message_template"));
    /* a template's last line may be a variable that was empty ({run_error}
     * of a run that went well): no blank lines at the message's end */
    size_t len = text ? strlen(text) : 0;
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    payload = json_pack("{s:s%}", "text", text ? text : "", len);
    if (channel)
        json_object_set_new(payload, "channel", json_string(channel));
    body = json_dumps(payload, JSON_COMPACT);
    res->detail = channel ? json_pack("{s:s}", "channel", channel) : json_object();
    cvg_outbound_t policy;
    if (body == NULL || res->detail == NULL || (h = curl_easy_init()) == NULL) {
        rc = proc_fail(res, CVG_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cvg_outbound_from_config(ctx->cfg, &policy, &err)) != 0) {
        rc = proc_fail(res, CVG_ECONFIG, "%.900s", err.message);
        goto out;
    }
    cvg_outbound_call_t call = {
        .policy = &policy, .deadline_ms = ctx->deadline_ms, .cancel = ctx->cancel};
    if ((rc = cvg_outbound_prepare(h, &call, url, &err)) != 0) {
        rc = proc_fail(res, rc, "slack webhook: %.900s", err.message);
        goto out;
    }
    json_object_set_new(res->detail, "host", json_string(call.host));
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *more = headers ? curl_slist_append(headers, "Expect:") : NULL;
    if (more == NULL) {
        rc = proc_fail(res, CVG_ENOMEM, "out of memory");
        goto out;
    }
    headers = more;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply);
    CURLcode cc = curl_easy_perform(h);
    bool transient = false;
    if ((rc = cvg_outbound_result(&call, cc, &transient, &err)) != 0) {
        res->transient = transient;
        rc = proc_fail(res, rc, "slack webhook: %.900s", err.message);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    rc = judge(&call, status, &reply, res->detail, res);
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(body);
    json_decref(payload);
    json_decref(cred);
    cvg_buf_cleanup(&reply.body);
    return rc;
}

const proc_def_t proc_notify_systems_slack_notification = {
    .ps_type = "notify_systems.slack_notification",
    .summary = "post a message to the tenant's Slack incoming webhook",
    .run = run,
};
