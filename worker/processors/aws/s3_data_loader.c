/*
 * aws.s3_data_loader: an object of S3 (or an S3-compatible store) into a
 * table of the tenant's dataset. The GET is signed by libcurl (SigV4 with
 * the tenant's `aws` credential) and goes through the outbound policy.
 *
 * The body is streamed, not stored: the transfer runs on a curl multi
 * handle driven from the row reader's pull callback, through a bounded
 * window (WINDOW_BYTES). When the window is full the write callback pauses
 * the transfer, and the pull callback resumes it once the loader has taken
 * everything, so memory stays bounded whatever the object's size and
 * nothing is written to disk. The loading itself is worker/loadcore.c.
 */
#include "common/outbound.h"
#include "worker/loadcore.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_BYTES    (256 * 1024) /* body bytes held between libcurl and the reader */
#define ERROR_BODY_MAX  4096         /* bytes of an error answer kept */
#define POLL_MS         100          /* longest wait for the socket in one pump */
#define DEFAULT_REGION  "us-east-1"
#define URL_MAX         4096
#define EMPTY_SHA256    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SECURITY_HEADER "x-amz-security-token: "

/* ---- where the object is ------------------------------------------------- */

typedef struct s3_object {
    const char *bucket, *key;
    char region[33];
    char endpoint[CVG_ENDPOINT_MAX + 256]; /* scheme://host[:port][/prefix], no trailing / */
    bool path_style;
    char url[URL_MAX];
} s3_object_t;

static bool bucket_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' ||
              b[i] == '.'))
            return false;
    }
    return true;
}

static bool region_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)r[i]) || isdigit((unsigned char)r[i]) || r[i] == '-'))
            return false;
    }
    return true;
}

static const char *var_value(const proc_ctx_t *ctx, const char *name)
{
    const cvg_var_t *v = ctx->vars ? cvg_vars_find(ctx->vars, name) : NULL;
    return v && v->value[0] ? v->value : NULL;
}

/* The first of the values given that is set. */
static const char *first_set(const char *a, const char *b, const char *c)
{
    return a && a[0] ? a : b && b[0] ? b : c && c[0] ? c : NULL;
}

/* Appends key to out with every byte outside A-Z a-z 0-9 - _ . ~ / as
 * %XX, as S3 (and SigV4's canonical URI) expect. */
static int put_key(char *out, size_t size, size_t used, const char *key)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        bool plain = isalnum(*p) || strchr("-_.~/", *p) != NULL;
        if (used + (plain ? 1 : 3) >= size)
            return -1;
        if (plain) {
            out[used++] = (char)*p;
        } else {
            out[used++] = '%';
            out[used++] = hex[*p >> 4];
            out[used++] = hex[*p & 15];
        }
    }
    out[used] = '\0';
    return 0;
}

/* Reads the step's source and the settings and credential behind its
 * defaults; builds the URL of the object. */
static int locate(const proc_ctx_t *ctx, const json_t *source, const json_t *cred, s3_object_t *o,
                  proc_result_t *res)
{
    memset(o, 0, sizeof(*o));
    o->bucket = json_string_value(json_object_get(source, "s3_bucket"));
    o->key = json_string_value(json_object_get(source, "s3_key"));
    if (o->bucket == NULL || !bucket_ok(o->bucket))
        return proc_fail(res, CVG_EINVAL,
                         "source.s3_bucket: '%.100s' is not a bucket name (3 to 63 of a-z, 0-9, "
                         "'.', '-')",
                         o->bucket ? o->bucket : "");
    if (o->key == NULL || o->key[0] == '\0')
        return proc_fail(res, CVG_EINVAL, "source.s3_key: must not be empty");
    for (const unsigned char *p = (const unsigned char *)o->key; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return proc_fail(res, CVG_EINVAL, "source.s3_key: contains a control character");
    }
    const char *region =
        first_set(json_string_value(json_object_get(source, "region")),
                  var_value(ctx, "aws_region"), json_string_value(json_object_get(cred, "region")));
    snprintf(o->region, sizeof(o->region), "%s", region ? region : DEFAULT_REGION);
    if (!region_ok(o->region))
        return proc_fail(res, CVG_EINVAL, "region: '%.40s' is not a region name", o->region);

    const char *endpoint = first_set(json_string_value(json_object_get(source, "endpoint")),
                                     var_value(ctx, "s3_endpoint"),
                                     json_string_value(json_object_get(cred, "endpoint")));
    bool custom = endpoint != NULL;
    if (!custom)
        snprintf(o->endpoint, sizeof(o->endpoint), "https://s3.%s.amazonaws.com", o->region);
    else if (snprintf(o->endpoint, sizeof(o->endpoint), "%s", endpoint) >= (int)sizeof(o->endpoint))
        return proc_fail(res, CVG_EINVAL, "endpoint: longer than %zu characters",
                         sizeof(o->endpoint) - 1);
    size_t n = strlen(o->endpoint);
    while (n > 0 && o->endpoint[n - 1] == '/')
        o->endpoint[--n] = '\0';
    const char *sep = strstr(o->endpoint, "://");
    if (sep == NULL || strpbrk(o->endpoint, "?#@ ") != NULL)
        return proc_fail(res, CVG_EINVAL,
                         "endpoint: '%.200s' is not scheme://host[:port] (no query, no user)",
                         o->endpoint);
    const char *host = sep + 3;
    bool literal = host[0] == '[' || strspn(host, "0123456789.:") == strcspn(host, "/");
    json_t *ps = json_object_get(source, "path_style");
    o->path_style = json_is_boolean(ps) ? json_is_true(ps)
                                        : custom || literal || strchr(o->bucket, '.') != NULL;
    int used;
    if (o->path_style)
        used = snprintf(o->url, sizeof(o->url), "%s/%s/", o->endpoint, o->bucket);
    else
        used = snprintf(o->url, sizeof(o->url), "%.*s%s.%s/", (int)(host - o->endpoint),
                        o->endpoint, o->bucket, host);
    if (used < 0 || (size_t)used >= sizeof(o->url) ||
        put_key(o->url, sizeof(o->url), (size_t)used, o->key[0] == '/' ? o->key + 1 : o->key) != 0)
        return proc_fail(res, CVG_EINVAL, "source.s3_key: the URL would be longer than %d",
                         URL_MAX - 1);
    return 0;
}

/* ---- the stream ---------------------------------------------------------- */

typedef struct s3_stream {
    CURLM *multi;
    CURL *h;
    char *window; /* WINDOW_BYTES */
    size_t off, len;
    bool paused;        /* the write callback paused the transfer */
    bool done;          /* the transfer ended; result says how */
    CURLcode result;    /* of the transfer, once done */
    cvg_buf_t answer;   /* a non-2xx answer's body, ERROR_BODY_MAX at most */
    uint64_t delivered; /* body bytes handed to the reader */
} s3_stream_t;

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    s3_stream_t *s = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        size_t room = s->answer.max - s->answer.len;
        cvg_buf_append(&s->answer, data, len < room ? len : room);
        return len;
    }
    if (len > WINDOW_BYTES - s->len) {
        /* libcurl keeps the chunk and hands it again after the pause */
        s->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (s->off + s->len + len > WINDOW_BYTES) {
        memmove(s->window, s->window + s->off, s->len);
        s->off = 0;
    }
    memcpy(s->window + s->off + s->len, data, len);
    s->len += len;
    return len;
}

/* Runs the transfer a little: what is ready now, or a short wait. */
static void pump(s3_stream_t *s)
{
    int running = 0;
    CURLMcode mc = curl_multi_perform(s->multi, &running);
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            s->done = true;
            s->result = msg->data.result;
        }
    }
    if (mc != CURLM_OK && !s->done) {
        s->done = true;
        s->result = CURLE_RECV_ERROR;
    }
    if (!s->done && s->len == 0 && !s->paused)
        curl_multi_poll(s->multi, NULL, 0, POLL_MS, NULL);
}

/* Resumes a paused transfer; libcurl may deliver (and pause) at once. */
static void resume(s3_stream_t *s)
{
    s->paused = false;
    if (curl_easy_pause(s->h, CURLPAUSE_CONT) != CURLE_OK && !s->done) {
        s->done = true;
        s->result = CURLE_RECV_ERROR;
    }
}

/* The row reader's pull callback. */
static ssize_t pull(void *ud, void *out, size_t size)
{
    s3_stream_t *s = ud;
    while (s->len == 0) {
        if (s->paused)
            resume(s);
        else if (s->done)
            return s->result == CURLE_OK ? 0 : -1;
        else
            pump(s);
    }
    size_t n = size < s->len ? size : s->len;
    memcpy(out, s->window + s->off, n);
    s->off += n;
    s->len -= n;
    if (s->len == 0)
        s->off = 0;
    s->delivered += n;
    return (ssize_t)n;
}

/* Runs the transfer until the answer's status is known and the body has
 * started (or the transfer ended); a non-2xx answer is read to its end. */
static long open_stream(s3_stream_t *s)
{
    long status = 0;
    while (!s->done && s->len == 0 && !s->paused)
        pump(s);
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    while ((status < 200 || status >= 300) && !s->done)
        pump(s);
    return status;
}

/* ---- failures ------------------------------------------------------------ */

/* The text of <tag>...</tag> in an S3 error answer, or "". */
static void xml_field(const char *xml, const char *tag, char *out, size_t size)
{
    char open[40], close[40];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(xml, open), *b = a ? strstr(a, close) : NULL;
    size_t n = 0;
    if (a && b) {
        for (const char *p = a + strlen(open); p < b && n + 1 < size; p++)
            out[n++] = (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ? ' ' : *p;
    }
    out[n] = '\0';
}

static int http_failure(const s3_object_t *o, long status, const cvg_buf_t *answer,
                        proc_result_t *res)
{
    char code[64], message[300], why[400] = "";
    xml_field(cvg_buf_cstr(answer), "Code", code, sizeof(code));
    xml_field(cvg_buf_cstr(answer), "Message", message, sizeof(message));
    if (code[0])
        snprintf(why, sizeof(why), " %s%s%s", code, message[0] ? ": " : "", message);
    if (status == 404 && strcmp(code, "NoSuchBucket") == 0)
        return proc_fail(res, CVG_ENOTFOUND, "s3://%s/%.600s: no such bucket '%s' (404%s)",
                         o->bucket, o->key, o->bucket, why);
    if (status == 404)
        return proc_fail(res, CVG_ENOTFOUND, "s3://%s/%.600s: no such key '%.600s' (404%s)",
                         o->bucket, o->key, o->key, why);
    if (status == 401 || status == 403)
        return proc_fail(res, CVG_EAUTH, "s3://%s/%.600s: access denied (%ld%s)", o->bucket, o->key,
                         status, why);
    if (status == 429 || status >= 500) {
        res->transient = true;
        return proc_fail(res, CVG_EIO, "s3://%s/%.600s: the store answered %ld%s (temporary)",
                         o->bucket, o->key, status, why);
    }
    if (status >= 300 && status < 400)
        return proc_fail(res, CVG_EPROTO,
                         "s3://%s/%.600s: the store answered %ld%s; redirects are not followed "
                         "(check region and endpoint)",
                         o->bucket, o->key, status, why);
    return proc_fail(res, CVG_EPROTO, "s3://%s/%.600s: the store answered %ld%s", o->bucket, o->key,
                     status, why);
}

/* ---- the step ------------------------------------------------------------ */

static int set_auth(CURL *h, const s3_object_t *o, const json_t *cred, struct curl_slist **hdrs,
                    proc_result_t *res)
{
    const char *id = json_string_value(json_object_get(cred, "access_key_id"));
    const char *secret = json_string_value(json_object_get(cred, "secret_access_key"));
    const char *token = json_string_value(json_object_get(cred, "session_token"));
    if (id == NULL || secret == NULL)
        return proc_fail(res, CVG_EINVAL,
                         "the aws credential needs access_key_id and secret_access_key");
    /* libcurl 7.88 signs with SigV4 but sends no payload hash, which S3
     * requires: the hash of the empty body of a GET. */
    *hdrs = curl_slist_append(NULL, "x-amz-content-sha256: " EMPTY_SHA256);
    if (*hdrs && token && token[0]) {
        if (strpbrk(token, "\r\n"))
            return proc_fail(res, CVG_EINVAL, "the aws credential's session_token has a newline");
        char *line = malloc(strlen(SECURITY_HEADER) + strlen(token) + 1);
        struct curl_slist *more = NULL;
        if (line) {
            memcpy(line, SECURITY_HEADER, strlen(SECURITY_HEADER));
            memcpy(line + strlen(SECURITY_HEADER), token, strlen(token) + 1);
            more = curl_slist_append(*hdrs, line);
            free(line);
        }
        if (more == NULL)
            return proc_fail(res, CVG_ENOMEM, "out of memory");
        *hdrs = more;
    }
    if (*hdrs == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    char sigv4[64];
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", o->region);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, id);
    curl_easy_setopt(h, CURLOPT_PASSWORD, secret);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    /* A key is a name, not a path: "a/../b.csv" is its own object, so the
     * URL's dot segments are sent (and signed) as they are, never resolved
     * to another key or, path-style, another bucket. */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    return 0;
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    const json_t *source = json_object_get(step, "source");
    json_t *cred = NULL;
    struct curl_slist *hdrs = NULL;
    cvg_rows_t *rows = NULL;
    s3_stream_t s = {0};
    cvg_buf_init(&s.answer, ERROR_BODY_MAX);
    wrk_dest_t d;
    bool have_dest = false;
    s3_object_t o;
    cvg_outbound_t policy;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = proc_credential(ctx, "aws", &cred, &err);
    if (rc != 0) {
        rc = proc_fail(res, rc, "%.900s", err.message);
        goto out;
    }
    if ((rc = locate(ctx, source, cred, &o, res)) != 0)
        goto out;
    if ((rc = wrk_dest_parse(ctx, "aws.s3_data_loader", json_object_get(step, "destination"), &d,
                             res)) != 0)
        goto out;
    have_dest = true;
    if ((rc = cvg_outbound_from_config(ctx->cfg, &policy, &err)) != 0) {
        rc = proc_fail(res, CVG_ECONFIG, "%.900s", err.message);
        goto out;
    }
    s.window = malloc(WINDOW_BYTES);
    s.h = curl_easy_init();
    s.multi = curl_multi_init();
    if (s.window == NULL || s.h == NULL || s.multi == NULL) {
        rc = proc_fail(res, CVG_ENOMEM, "out of memory");
        goto out;
    }
    cvg_outbound_call_t call = {
        .policy = &policy, .deadline_ms = ctx->deadline_ms, .cancel = ctx->cancel};
    if ((rc = cvg_outbound_prepare(s.h, &call, o.url, &err)) != 0) {
        rc = proc_fail(res, rc, "s3://%s/%.600s: %.300s", o.bucket, o.key, err.message);
        goto out;
    }
    if ((rc = set_auth(s.h, &o, cred, &hdrs, res)) != 0)
        goto out;
    curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
    curl_multi_add_handle(s.multi, s.h);
    res->detail = json_pack("{s:s+++, s:s, s:s, s:b}", "source", "s3://", o.bucket, "/", o.key,
                            "endpoint", o.endpoint, "region", o.region, "path_style", o.path_style);

    long status = open_stream(&s);
    bool transient = false;
    if (status == 0 || (s.done && s.result != CURLE_OK && status >= 200 && status < 300)) {
        rc = cvg_outbound_result(&call, s.done ? s.result : CURLE_RECV_ERROR, &transient, &err);
        res->transient = transient;
        rc = proc_fail(res, rc ? rc : CVG_EIO, "s3://%s/%.600s: %.600s", o.bucket, o.key,
                       err.message);
        goto out;
    }
    if (status < 200 || status >= 300) {
        rc = http_failure(&o, status, &s.answer, res);
        goto out;
    }
    cvg_rows_opts_t opts;
    wrk_rows_opts_from(source, &opts);
    rows = cvg_rows_new(pull, &s, o.key, &opts, &err);
    if (rows == NULL) {
        rc = proc_fail(res, err.code ? err.code : CVG_EINVAL, "source: %.900s", err.message);
        goto out;
    }
    wrk_load_opts_t lo;
    wrk_load_opts_from(step, &lo);
    json_object_set_new(res->detail, "table", json_string(d.table));
    rc = wrk_load_rows(ctx, rows, &d, &lo, res->detail, res);
    json_object_set_new(res->detail, "compressed", json_boolean(cvg_rows_compressed(rows)));
    json_object_set_new(res->detail, "bytes", json_integer((json_int_t)s.delivered));
    if (rc != 0 && s.done && s.result != CURLE_OK) {
        /* the transfer broke off: say so rather than "the source failed" */
        cvg_outbound_result(&call, s.result, &transient, &err);
        res->transient = transient;
        rc = proc_fail(res, transient ? CVG_EIO : rc, "s3://%s/%.600s: reading the object: %.600s",
                       o.bucket, o.key, err.message);
    }
out:
    cvg_rows_destroy(&rows);
    if (s.multi && s.h)
        curl_multi_remove_handle(s.multi, s.h);
    curl_easy_cleanup(s.h);
    curl_multi_cleanup(s.multi);
    curl_slist_free_all(hdrs);
    free(s.window);
    cvg_buf_cleanup(&s.answer);
    if (have_dest)
        wrk_dest_cleanup(&d);
    json_decref(cred);
    return rc;
}

const proc_def_t proc_aws_s3_data_loader = {
    .ps_type = "aws.s3_data_loader",
    .summary = "load a CSV or JSON Lines object of S3 (maybe gzip) into a table",
    .validate = wrk_dest_validate,
    .run = run,
};
