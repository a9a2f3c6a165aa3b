/*
 * The HTTP server on libmicrohttpd: a thread pool with epoll, request
 * bodies collected into a bounded buffer (413 past API_MAX_BODY_BYTES),
 * slow clients cut off by the connection timeout, headers bounded by the
 * per-connection memory limit, connections per client address bounded.
 * A response is queued on the second call for a request (never the first),
 * which keeps HTTP keep-alive working; but a request that brings a body
 * is routed and authenticated with its headers, and refused there (the
 * connection then closes), so no body is held for a caller who may not
 * send it. The bodies held at once are bounded too (503 past
 * API_MAX_BUFFERED_BYTES). A
 * handler waiting on another process suspends its connection instead of
 * its thread (gw_req_suspend); the answer goes out on the call that
 * follows the resume.
 */
#include "gateway/server.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/utf8.h"
#include "gateway/auth.h"
#include "gateway/forwarded.h"
#include "gateway/whpool.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Request line and headers, and the answer's headers. libmicrohttpd's
 * default; it zeroes this much per request, so more costs every request. */
#define CONNECTION_MEMORY_LIMIT (32 * 1024)
#define CONNECTION_LIMIT        10000

void gw_resp_json(gw_resp_t *r, int status, json_t *body)
{
    free(r->body);
    r->status = status;
    r->body = json_dumps(body, JSON_COMPACT);
    r->len = r->body ? strlen(r->body) : 0;
    /* one line per answer, so `curl` output ends cleanly */
    char *line = r->body ? realloc(r->body, r->len + 2) : NULL;
    if (line) {
        line[r->len++] = '\n';
        line[r->len] = '\0';
        r->body = line;
    }
    json_decref(body);
}

void gw_resp_error(gw_resp_t *r, int status, const char *code, const char *field, const char *fmt,
                   ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* a message may quote what the client sent, or be cut mid character */
    cvg_utf8_clean(msg);
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
    if (field && field[0])
        json_object_set_new(e, "field", json_string(field));
    gw_resp_json(r, status, json_pack("{s:o}", "error", e));
}

void gw_resp_warehouse_error(gw_resp_t *r, const char *what, const cvg_err_t *err)
{
    if (cvg_wh_err_missing_column(err))
        gw_resp_error(r, 503, "system_not_ready", NULL,
                      "%s: the central tables are older than this build (%s): run the "
                      "bootstrap, POST /api/v1/admin/bootstrap",
                      what, err->message);
    else
        gw_resp_error(r, 503, "unavailable", NULL, "%s: %s", what, err->message);
}

cvg_wh_t *gw_req_warehouse(gw_req_t *req, gw_resp_t *resp, int wait_ms)
{
    cvg_wh_t *wh = gw_whpool_acquire(req->gw->pool, wait_ms);
    if (wh == NULL)
        gw_resp_error(resp, 503, "busy", NULL, "no warehouse connection free; try again");
    return wh;
}

void gw_resp_header(gw_resp_t *r, const char *name, const char *fmt, ...)
{
    if (r->nheaders >= GW_RESP_HEADERS_MAX)
        return;
    snprintf(r->header_names[r->nheaders], sizeof(r->header_names[0]), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->header_values[r->nheaders], sizeof(r->header_values[0]), fmt, ap);
    va_end(ap);
    r->nheaders++;
}

const char *gw_req_actor(const gw_req_t *req)
{
    if (req->user_id[0])
        return req->user_id;
    switch (req->principal) {
    case GW_ADMIN:
        return "admin";
    case GW_TENANT_KEY:
        return req->key.key_id;
    case GW_SIGNUP:
        return "self-signup";
    default:
        return "anonymous";
    }
}

const char *gw_req_header(const gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *gw_req_query(const gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct unknown_arg {
    const char *const *known;
    const char *first;
    const char *repeated;
    uint64_t seen; /* bit i: known[i] met */
} unknown_arg_t;

static enum MHD_Result find_unknown(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    unknown_arg_t *u = cls;
    for (size_t i = 0; u->known[i]; i++) {
        if (strcmp(key, u->known[i]) != 0)
            continue;
        uint64_t bit = i < 64 ? (uint64_t)1 << i : 0;
        if ((u->seen & bit) && u->repeated == NULL)
            u->repeated = u->known[i];
        u->seen |= bit;
        return MHD_YES;
    }
    u->first = key;
    return MHD_NO;
}

const char *gw_req_query_unknown(const gw_req_t *r, const char *const *known, const char **repeated)
{
    unknown_arg_t u = {known, NULL, NULL, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, find_unknown, &u);
    *repeated = u.first ? NULL : u.repeated;
    return u.first;
}

int gw_req_json_body(gw_req_t *req, gw_resp_t *resp, json_t **out)
{
    *out = NULL;
    if (req->body.len == 0)
        return 0;
    const char *ct = gw_req_header(req, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        gw_resp_error(resp, 415, "unsupported_media_type", "Content-Type",
                      "request body must be application/json");
        return -1;
    }
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *doc = NULL;
    int rc =
        cvg_json_parse(cvg_buf_cstr(&req->body), req->body.len, CVG_JSON_MAX_DEPTH, &doc, &err);
    if (rc != 0) {
        gw_resp_error(resp, 400, "invalid_json", NULL, "%s", err.message);
        return -1;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        gw_resp_error(resp, 400, "invalid_json", NULL, "request body must be a JSON object");
        return -1;
    }
    *out = doc;
    return 0;
}

int gw_req_no_body(gw_req_t *req, gw_resp_t *resp)
{
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return -1;
    const char *first =
        json_object_size(body) > 0 ? json_object_iter_key(json_object_iter(body)) : NULL;
    if (first != NULL)
        gw_resp_error(resp, 422, "invalid_field", first,
                      "%.64s: unknown field; %s %s takes no body", first, req->method, req->path);
    json_decref(body);
    return first != NULL ? -1 : 0;
}

/* The route of the request, authenticated; NULL with resp filled when it
 * is refused. */
static const gw_route_t *gate(gw_t *gw, gw_req_t *req, gw_resp_t *resp)
{
    if (gw_auth_key_in_url(req)) {
        gw_resp_error(resp, 400, "credentials_in_url", NULL,
                      "API keys are not accepted in the URL; send X-API-Key or X-Admin-Key "
                      "headers");
        return NULL;
    }
    bool known = false;
    char allow[64];
    const gw_route_t *route =
        gw_route_match(req->method, req->path, req, &known, allow, sizeof(allow));
    if (route == NULL && known) {
        snprintf(resp->allow, sizeof(resp->allow), "%s", allow);
        gw_resp_error(resp, 405, "method_not_allowed", NULL,
                      "%s is not allowed on %s (allowed: %s)", req->method, req->path, allow);
        return NULL;
    }
    if (route == NULL) {
        gw_resp_error(resp, 404, "not_found", NULL, "no route for %s %s", req->method, req->path);
        return NULL;
    }
    return gw_auth_check(gw, route, req, resp) ? route : NULL;
}

static void dispatch(gw_t *gw, gw_req_t *req, gw_resp_t *resp)
{
    if (req->body_too_big) {
        gw_resp_error(resp, 413, "payload_too_large", NULL, "request body over the %d byte limit",
                      gw->cfg.api_max_body_bytes);
        return;
    }
    if (req->body_refused) {
        gw_resp_header(resp, "Retry-After", "1");
        gw_resp_error(resp, 503, "busy", NULL,
                      "the gateway holds as many request bodies as it may "
                      "(API_MAX_BUFFERED_BYTES); retry shortly");
        return;
    }
    const gw_route_t *route = req->route;
    if (route == NULL && (route = gate(gw, req, resp)) == NULL)
        return;
    route->fn(req, resp);
    if (resp->body == NULL && req->later == NULL)
        gw_resp_error(resp, 500, "internal", NULL, "the handler produced no response");
}

static enum MHD_Result queue(gw_t *gw, gw_req_t *req, struct MHD_Connection *conn, gw_resp_t *resp)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(resp->body);
        return MHD_NO;
    }
    resp->body = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Request-ID", req->request_id);
    if (resp->allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    req->status = resp->status;
    if (resp->status >= 500)
        atomic_fetch_add(&gw->responses_5xx, 1);
    else if (resp->status >= 400)
        atomic_fetch_add(&gw->responses_4xx, 1);
    return rc;
}

gw_resp_t *gw_req_suspend(gw_req_t *req, const gw_resp_t *resp)
{
    gw_resp_t *later = malloc(sizeof(*later));
    if (later == NULL)
        return NULL;
    *later = *resp;
    later->body = NULL;
    later->len = 0;
    req->later = later;
    MHD_suspend_connection(req->conn);
    return later;
}

void gw_req_resume(gw_req_t *req)
{
    MHD_resume_connection(req->conn);
}

/* A request with a body, at its headers: routed and authenticated now, and
 * refused before its body is read (libmicrohttpd then closes the
 * connection). The authentication's answer headers (rate limits) are kept
 * for the answer. */
static enum MHD_Result gate_body(gw_t *gw, gw_req_t *req, struct MHD_Connection *conn)
{
    gw_resp_t *resp = calloc(1, sizeof(*resp));
    if (resp == NULL)
        return MHD_NO;
    req->route = gate(gw, req, resp);
    if (req->route != NULL &&
        (req->route->auth == GW_AUTH_NONE || strcmp(req->method, "GET") == 0 ||
         strcmp(req->method, "HEAD") == 0)) {
        /* open routes and reads take no body: none is held for them, or
         * anyone could fill API_MAX_BUFFERED_BYTES without a key */
        req->route = NULL;
        gw_resp_error(resp, 400, "invalid_request", NULL, "%s %s takes no request body",
                      req->method, req->path);
    }
    if (req->route != NULL) {
        req->gate = resp;
        return MHD_YES;
    }
    enum MHD_Result rc = queue(gw, req, conn, resp);
    free(resp);
    return rc;
}

/* Counts n more body bytes against API_MAX_BUFFERED_BYTES; false, and
 * nothing counted, when they would go past it. */
static bool hold_body(gw_t *gw, gw_req_t *req, size_t n)
{
    unsigned long long cap = (unsigned long long)gw->cfg.api_max_buffered_bytes;
    unsigned long long held = atomic_fetch_add(&gw->body_bytes, n) + n;
    if (held > cap) {
        atomic_fetch_sub(&gw->body_bytes, n);
        atomic_fetch_add(&gw->body_refused, 1);
        return false;
    }
    req->body_held += n;
    return true;
}

/* Drops the body and gives back what it counted. */
static void release_body(gw_t *gw, gw_req_t *req)
{
    atomic_fetch_sub(&gw->body_bytes, req->body_held);
    req->body_held = 0;
    cvg_buf_cleanup(&req->body);
}

/* The X-Forwarded-For header lines, in the order they came: the last
 * GW_XFF_LINES_MAX of them (the nearest proxies'). libmicrohttpd keeps
 * each value for as long as the request. */
typedef struct xff_lines {
    const char *v[GW_XFF_LINES_MAX];
    size_t n;
} xff_lines_t;

static enum MHD_Result take_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    xff_lines_t *x = cls;
    if (strcasecmp(key, "X-Forwarded-For") != 0 || value == NULL)
        return MHD_YES;
    if (x->n == GW_XFF_LINES_MAX) {
        memmove(x->v, x->v + 1, (GW_XFF_LINES_MAX - 1) * sizeof(x->v[0]));
        x->n--;
    }
    x->v[x->n++] = value;
    return MHD_YES;
}

/* A request through a trusted proxy: counted for the client it names. */
static void forwarded(gw_t *gw, struct MHD_Connection *conn, gw_req_t *req)
{
    if (!cvg_cidr_list_match(&gw->trusted_proxies, req->client))
        return;
    xff_lines_t x = {.n = 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, take_xff, &x);
    char peer[sizeof(req->client)];
    snprintf(peer, sizeof(peer), "%s", req->client);
    gw_forwarded_client(&gw->trusted_proxies, peer, x.v, x.n, req->client, sizeof(req->client));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    gw_t *gw = cls;
    gw_req_t *req = *con_cls;
    if (req == NULL) {
        /* First call: headers only. Never answer here (keep-alive). */
        req = calloc(1, sizeof(*req));
        if (req == NULL)
            return MHD_NO;
        req->gw = gw;
        req->conn = conn;
        req->start_mono = cvg_time_mono_ms();
        snprintf(req->method, sizeof(req->method), "%s", method);
        snprintf(req->path, sizeof(req->path), "%s", url);
        cvg_buf_init(&req->body, (size_t)gw->cfg.api_max_body_bytes);
        cvg_id_new(req->request_id);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                      req->client, sizeof(req->client));
        else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
                      req->client, sizeof(req->client));
        if (gw->trusted_proxies.n > 0)
            forwarded(gw, conn, req);
        *con_cls = req;
        atomic_fetch_add(&gw->requests, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t n = 0;
        if (cl && cvg_parse_int64(cl, 0, INT64_MAX, &n) == 0 && n > gw->cfg.api_max_body_bytes) {
            /* Refuse before reading the body. Answering on the first call
             * closes the connection, which is what a 413 wants anyway;
             * libmicrohttpd would not accept a response mid-upload. */
            req->body_too_big = true;
            gw_resp_t resp = {0};
            dispatch(gw, req, &resp);
            return queue(gw, req, conn, &resp);
        }
        const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
        if (cl && te) {
            /* Which of the two ends the body is the classic disagreement
             * between a proxy and a server (request smuggling): refused,
             * and the connection closed (RFC 9112, 6.3). */
            gw_resp_t resp = {0};
            gw_resp_error(&resp, 400, "invalid_request", "Transfer-Encoding",
                          "a request may not carry both Content-Length and Transfer-Encoding");
            return queue(gw, req, conn, &resp);
        }
        if ((cl && n > 0) || te != NULL)
            return gate_body(gw, req, conn);
        return MHD_YES;
    }
    req->conn = conn;
    if (req->later != NULL) {
        /* resumed: the answer is ready */
        gw_resp_t *later = req->later;
        req->later = NULL;
        if (later->body == NULL)
            gw_resp_error(later, 500, "internal", NULL, "the handler produced no response");
        enum MHD_Result rc = queue(gw, req, conn, later);
        free(later);
        return rc;
    }
    if (*upload_data_size > 0) {
        /* A body without a Content-Length (chunked) that grows past the
         * limit is read and dropped; the 413 goes out on the last call (a
         * body too big for any time before one that does not fit now). */
        size_t n = *upload_data_size;
        if (req->body_too_big || req->body_refused) {
            /* dropped */
        } else if (req->body.len + n > (size_t)gw->cfg.api_max_body_bytes) {
            req->body_too_big = true;
            release_body(gw, req);
        } else if (!hold_body(gw, req, n)) {
            req->body_refused = true;
            release_body(gw, req);
        } else if (cvg_buf_append(&req->body, upload_data, n) != 0) {
            req->body_too_big = true;
            release_body(gw, req);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    gw_resp_t resp = {0};
    if (req->gate != NULL)
        resp = *req->gate; /* the rate limit headers of the gate */
    dispatch(gw, req, &resp);
    if (req->later != NULL)
        return MHD_YES; /* suspended: answered after the resume */
    return queue(gw, req, conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    gw_t *gw = cls;
    gw_req_t *req = *con_cls;
    if (req == NULL)
        return;
    /* A 503 is what health answers while a part is down: not news there;
     * elsewhere it is a request refused (the scheduler unreachable, no
     * warehouse connection free), which the operator needs to see. */
    bool health =
        strncmp(req->path, "/health", 7) == 0 || strncmp(req->path, "/api/v1/health", 14) == 0;
    bool server_error = req->status >= 500 && !(req->status == 503 && health);
    if (cvg_log_enabled(CVG_LOG_DEBUG) || server_error ||
        toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        cvg_log_field_t f[6] = {CVG_LF_STR("method", req->method),
                                CVG_LF_STR("path", req->path),
                                CVG_LF_NUM("status", req->status),
                                CVG_LF_NUM("ms", cvg_time_mono_ms() - req->start_mono),
                                CVG_LF_STR("request_id", req->request_id),
                                CVG_LF_STR("client", req->client)};
        cvg_log_level_t level = server_error ? CVG_LOG_WARNING : CVG_LOG_DEBUG;
        cvg_log_write(level, NULL, f, 6, "%s",
                      toe == MHD_REQUEST_TERMINATED_COMPLETED_OK      ? "request"
                      : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "request timed out"
                                                                      : "request ended early");
    }
    if (req->later != NULL) {
        free(req->later->body);
        free(req->later);
    }
    release_body(gw, req);
    free(req->gate);
    free(req);
    *con_cls = NULL;
}

/* Percent-decoding of the path and the query, as libmicrohttpd's own but
 * for %00, which stays as it is: a decoded NUL would end the C string
 * there, and /tenants/demo%00xyz would be read as /tenants/demo. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    size_t r = 0, w = 0;
    while (s[r] != '\0') {
        int hi = s[r] == '%' ? cvg_hex_digit(s[r + 1]) : -1;
        int lo = hi >= 0 ? cvg_hex_digit(s[r + 2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            s[w++] = (char)(hi * 16 + lo);
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

/* libmicrohttpd's messages, at most LOG_PER_SECOND a second: a flood of
 * connections refused at a limit would otherwise write a line each. The
 * count of those left out is written with the next one that goes out. */
#define LOG_PER_SECOND 10

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int64_t second;
    static unsigned written, dropped;
    int64_t now = cvg_time_mono_ms() / 1000;
    unsigned before = 0;
    pthread_mutex_lock(&lock);
    if (now != second) {
        second = now;
        written = 0;
    }
    bool out = written < LOG_PER_SECOND;
    if (out) {
        written++;
        before = dropped;
        dropped = 0;
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
    if (!out)
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    if (before > 0)
        cvg_warn(NULL, "http: %s (and %u more such messages left out)", msg, before);
    else
        cvg_warn(NULL, "http: %s", msg);
}

int gw_server_start(gw_t *gw, cvg_err_t *err)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)gw->cfg.api_port);
    if (inet_pton(AF_INET, gw->cfg.api_host, &addr.sin_addr) != 1)
        return cvg_err_set(err, CVG_ECONFIG, "API_HOST", "API_HOST: '%s' is not an IPv4 address",
                           gw->cfg.api_host);
    if (gw->cfg.api_max_buffered_bytes < gw->cfg.api_max_body_bytes)
        return cvg_err_set(err, CVG_ECONFIG, "API_MAX_BUFFERED_BYTES",
                           "API_MAX_BUFFERED_BYTES (%d) must be at least API_MAX_BODY_BYTES (%d)",
                           gw->cfg.api_max_buffered_bytes, gw->cfg.api_max_body_bytes);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    gw->daemon = MHD_start_daemon(
        flags, (uint16_t)gw->cfg.api_port, NULL, NULL, &on_request, gw, MHD_OPTION_EXTERNAL_LOGGER,
        &mhd_log, gw, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)gw->cfg.api_threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)gw->cfg.api_request_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY_LIMIT, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)gw->cfg.api_max_connections_per_ip,
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, gw, MHD_OPTION_UNESCAPE_CALLBACK, &unescape,
        NULL, MHD_OPTION_END);
    if (gw->daemon == NULL)
        return cvg_err_set(err, CVG_EIO, "API_PORT", "cannot listen on %s:%d (in use?)",
                           gw->cfg.api_host, gw->cfg.api_port);
    return 0;
}

size_t gw_server_connections(gw_t *gw)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

void gw_server_quiesce(gw_t *gw)
{
    if (gw->daemon)
        MHD_quiesce_daemon(gw->daemon);
}

void gw_server_stop(gw_t *gw)
{
    if (gw->daemon)
        MHD_stop_daemon(gw->daemon);
    gw->daemon = NULL;
}
