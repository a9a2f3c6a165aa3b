/*
 * The real cluster, end to end: four kinds of process over tcp:// sockets
 * in a temporary directory. Health and readiness, the bootstrap (auth,
 * bad bodies, exactly 12 tables, idempotent), the run log, the tail, a job
 * through the scheduler and a worker, events kept across a logger restart,
 * and a clean SIGTERM. The tests run in order and share the cluster.
 */
#include "common/buf.h"
#include "common/central.h"
#include "common/emitter.h"
#include "common/id.h"
#include "common/msg.h"
#include "common/time.h"
#include "tests/integration/harness.h"
#include "tests/tests.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static cluster_t c;
static char first_run[64];
static char key_header[128];

static int setup(void)
{
    if (cluster_start(&c, 2, true) != 0)
        return 1;
    snprintf(key_header, sizeof(key_header), "X-Admin-Key: %s", c.admin_key);
    if (!cluster_wait_ready(&c, 20000))
        return 1;
    /* The operator's tail, connected before anything happens. */
    const char *args[] = {"tail", "--json", NULL};
    const char *acme[] = {"tail", "--no-color", "--tenant", "acme", NULL};
    const char *path[] = {"tail", "--no-color", "--pipeline", "gcp/cost/no_such_pipeline", NULL};
    if (cluster_spawn(&c, "tail", "cvg-logger", args, NULL) == NULL ||
        cluster_spawn(&c, "tail-acme", "cvg-logger", acme, NULL) == NULL ||
        cluster_spawn(&c, "tail-path", "cvg-logger", path, NULL) == NULL)
        return 1;
    return cluster_wait_log(&c, "tail", "tail: connected", 10000) &&
                   cluster_wait_log(&c, "tail-acme", "tail: connected", 10000) &&
                   cluster_wait_log(&c, "tail-path", "tail: connected", 10000)
               ? 0
               : 1;
}

static int teardown(void)
{
    int bad = cluster_destroy(&c);
    return bad != 0;
}

static const char *error_code(json_t *body)
{
    return json_string_value(json_object_get(json_object_get(body, "error"), "code"));
}

static void test_cluster_ready_with_two_workers(void)
{
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "status")), "ready");
    json_t *checks = json_object_get(body, "checks");
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(checks, "workers"), "alive")), 2);
    CU_ASSERT(json_is_true(json_object_get(json_object_get(checks, "scheduler"), "ok")));
    CU_ASSERT(json_is_true(json_object_get(json_object_get(checks, "logger"), "ok")));
    CU_ASSERT(json_is_true(json_object_get(json_object_get(checks, "warehouse"), "ok")));
    CU_ASSERT(json_is_false(json_object_get(json_object_get(checks, "warehouse"), "bootstrapped")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "missing")), 0);
    json_decref(body);
}

static void test_cluster_health_endpoints(void)
{
    static const char *paths[] = {"/health", "/api/v1/health"};
    for (size_t i = 0; i < 2; i++) {
        json_t *body = NULL;
        CU_ASSERT_EQUAL(http_request(&c, "GET", paths[i], NULL, NULL, &body), 200);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "status")), "healthy");
        CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(body, "version")));
        json_decref(body);
    }
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/live", NULL, NULL, &body), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "status")), "alive");
    json_decref(body);
}

static void test_cluster_unknown_route_and_wrong_method(void)
{
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/api/v1/nothing/here", NULL, NULL, &body), 404);
    CU_ASSERT_STRING_EQUAL(error_code(body), "not_found");
    json_decref(body);
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", "/health/ready", NULL, NULL, &body), 405);
    CU_ASSERT_STRING_EQUAL(error_code(body), "method_not_allowed");
    json_decref(body);
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/api/v1/admin/bootstrap", NULL, NULL, &body), 405);
    json_decref(body);
}

static bool central_dataset_exists(void)
{
    return wh_int(&c, "tenants", "SELECT count(*) FROM sqlite_schema", NULL) >= 0;
}

static void test_cluster_bootstrap_refuses_missing_and_wrong_key(void)
{
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", NULL, NULL, &body), 401);
    CU_ASSERT_STRING_EQUAL(error_code(body), "unauthorized");
    json_decref(body);
    const char *wrong[] = {"X-Admin-Key: not-the-key-at-all", NULL};
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", wrong, NULL, &body), 403);
    CU_ASSERT_STRING_EQUAL(error_code(body), "forbidden");
    json_decref(body);
    /* A key that is a prefix of the real one is just as wrong. */
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "X-Admin-Key: %.*s", (int)strlen(c.admin_key) - 1,
             c.admin_key);
    const char *almost[] = {prefix, NULL};
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", almost, NULL, &body), 403);
    json_decref(body);
    CU_ASSERT_FALSE(central_dataset_exists());
}

static void test_cluster_bootstrap_refuses_bad_bodies(void)
{
    static const struct {
        const char *content_type, *body;
        long status;
        const char *field;
    } cases[] = {
        {"Content-Type: application/json", "{\"force_recreate_dataset\": \"yes\"}", 422,
         "force_recreate_dataset"},
        {"Content-Type: application/json", "{\"force_recreate_everything\": true}", 422,
         "force_recreate_everything"},
        {"Content-Type: application/json", "{\"force_recreate_tables\": tru", 400, NULL},
        {"Content-Type: application/json", "[true]", 400, NULL},
        {"Content-Type: text/plain", "{}", 415, "Content-Type"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *headers[] = {key_header, cases[i].content_type, NULL};
        json_t *body = NULL;
        CU_ASSERT_EQUAL(
            http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, cases[i].body, &body),
            cases[i].status);
        CU_ASSERT_PTR_NOT_NULL(error_code(body));
        if (cases[i].field)
            CU_ASSERT_STRING_EQUAL(
                json_string_value(json_object_get(json_object_get(body, "error"), "field")),
                cases[i].field);
        json_decref(body);
    }
    /* Deep nesting is refused before it is parsed. */
    char deep[2100];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    const char *headers[] = {key_header, "Content-Type: application/json", NULL};
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, deep, &body), 400);
    json_decref(body);
    CU_ASSERT_FALSE(central_dataset_exists());
}

static void test_cluster_oversized_bodies_get_413(void)
{
    size_t n = 2 * 1024 * 1024; /* over the 1 MiB default */
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    const char *sized[] = {key_header, "Content-Type: application/json", NULL};
    const char *chunked[] = {key_header, "Content-Type: application/json",
                             "Transfer-Encoding: chunked", NULL};
    const char *const *variants[] = {sized, chunked};
    for (size_t i = 0; i < 2; i++) {
        json_t *body = NULL;
        CU_ASSERT_EQUAL(
            http_request(&c, "POST", "/api/v1/admin/bootstrap", variants[i], big, &body), 413);
        CU_ASSERT_STRING_EQUAL(error_code(body), "payload_too_large");
        json_decref(body);
    }
    free(big);
    CU_ASSERT_FALSE(central_dataset_exists());
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/live", NULL, NULL, NULL), 200);
}

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the peer closes or timeout_ms passes; the bytes read go to
 * out. True when the peer closed. */
static bool read_until_closed(int fd, char *out, size_t size, int timeout_ms)
{
    size_t used = 0;
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - cvg_time_mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0)
            return true;
        size_t take = used + (size_t)n < size ? (size_t)n : size - used - 1;
        memcpy(out + used, tmp, take);
        used += take;
        out[used] = '\0';
    }
}

static void test_cluster_big_headers_and_slow_clients(void)
{
    /* A gateway of the cluster that gives clients one second per request. */
    int port = 0;
    const char *env[] = {"API_REQUEST_TIMEOUT_S=1", NULL};
    proc_t *gw = cluster_spawn_gateway(&c, "gateway-slow", env, "/health", &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);

    /* Big headers within the limit are served (16 KiB: twice what common
     * servers take in one header line). */
    char *big = malloc(16 * 1024 + 32);
    int blen = snprintf(big, 32, "X-Filler: ");
    memset(big + blen, 'a', 16 * 1024);
    big[blen + 16 * 1024] = '\0';
    const char *bh[] = {big, NULL};
    CU_ASSERT_EQUAL(http_request_at(port, "GET", "/health", bh, NULL, NULL), 200);
    free(big);

    /* Headers past the limit: 431, the connection closed. */
    size_t n = 80 * 1024;
    char *req = malloc(n + 128);
    int len = snprintf(req, n + 128, "GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ");
    memset(req + len, 'a', n);
    memcpy(req + len + n, "\r\n\r\n", 5);
    int fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(send(fd, req, (size_t)len + n + 4, MSG_NOSIGNAL) > 0);
    char reply[2048] = "";
    CU_ASSERT_TRUE(read_until_closed(fd, reply, sizeof(reply), 10000));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "HTTP/1.1 431"));
    close(fd);
    free(req);

    /* A client that never finishes its headers is cut off; meanwhile
     * everyone else is served. */
    fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    const char *partial = "GET /health HTTP/1.1\r\nHost: x\r\n";
    CU_ASSERT(send(fd, partial, strlen(partial), MSG_NOSIGNAL) > 0);
    CU_ASSERT_EQUAL(http_request_at(port, "GET", "/health", NULL, NULL, NULL), 200);
    reply[0] = '\0';
    CU_ASSERT_TRUE(read_until_closed(fd, reply, sizeof(reply), 15000));
    CU_ASSERT_PTR_NULL(strstr(reply, "200 OK"));
    close(fd);
    CU_ASSERT_EQUAL(http_request_at(port, "GET", "/health", NULL, NULL, NULL), 200);
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw, 10000), 0);
}

/* Sends all n bytes on fd. */
static bool send_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, data, n, MSG_NOSIGNAL);
        if (k <= 0)
            return false;
        data += k;
        n -= (size_t)k;
    }
    return true;
}

static void test_cluster_bodies_and_connections_bounded(void)
{
    /* A gateway that holds 1 MiB of bodies at once, and 4 connections per
     * client address. */
    int port = 0;
    const char *env[] = {"API_MAX_BUFFERED_BYTES=1048576", "API_MAX_CONNECTIONS_PER_IP=4", NULL};
    proc_t *gw = cluster_spawn_gateway(&c, "gateway-bounded", env, "/health", &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    int64_t deadline;

    /* A body without a valid key is refused at its headers: the 401 comes
     * though not one byte of the body was sent. */
    static const char head[] = "POST /api/v1/admin/api-keys HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\n%s"
                               "Content-Length: %d\r\n\r\n";
    char req[512], reply[4096] = "";
    int fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(req, sizeof(req), head, "X-Admin-Key: not-the-admin-key-at-all\r\n", 500000);
    CU_ASSERT_TRUE(send_all(fd, req, strlen(req)));
    CU_ASSERT_TRUE(read_until_closed(fd, reply, sizeof(reply), 10000));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "HTTP/1.1 403"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "invalid admin key"));
    close(fd);
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_body_bytes"), 0);
    /* A body on an open route (or any read) is refused at its headers: no
     * key is needed there, so none may fill the bodies held. */
    fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    static const char get_head[] = "GET /health/live HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: 500000\r\n\r\n";
    CU_ASSERT_TRUE(send_all(fd, get_head, strlen(get_head)));
    reply[0] = '\0';
    CU_ASSERT_TRUE(read_until_closed(fd, reply, sizeof(reply), 10000));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "HTTP/1.1 400"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "takes no request body"));
    close(fd);
    /* Content-Length and Transfer-Encoding together: refused, never read
     * one way or the other. */
    fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(req, sizeof(req), head, "Transfer-Encoding: chunked\r\n", 5);
    CU_ASSERT_TRUE(send_all(fd, req, strlen(req)));
    CU_ASSERT_TRUE(send_all(fd, "0\r\n\r\n", 5));
    reply[0] = '\0';
    CU_ASSERT_TRUE(read_until_closed(fd, reply, sizeof(reply), 10000));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "HTTP/1.1 400"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "both Content-Length and Transfer-Encoding"));
    close(fd);

    /* One authenticated upload holds 900 000 bytes; meanwhile a second
     * body does not fit and gets 503 busy, and nothing changes. */
    char auth[160];
    snprintf(auth, sizeof(auth), "%s\r\n", key_header);
    fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(req, sizeof(req), head, auth, 1000000);
    char *junk = malloc(1000000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(junk);
    memset(junk, 'x', 1000000);
    CU_ASSERT_TRUE(send_all(fd, req, strlen(req)));
    CU_ASSERT_TRUE(send_all(fd, junk, 900000));
    deadline = cvg_time_mono_ms() + 15000;
    while (gateway_metric_at(port, "cvg_gateway_body_bytes") < 900000 &&
           cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(20);
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_body_bytes"), 900000);
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    char *second = malloc(300001);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    memset(second, ' ', 300000);
    memcpy(second, "{\"tenant_id\": \"nosuch\"}", 23);
    second[300000] = '\0';
    const char *h[] = {key_header, "Content-Type: application/json", NULL};
    http_reply_t r;
    CU_ASSERT_EQUAL(http_call(port, "POST", "/api/v1/admin/api-keys", h, second, &r), 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "\"busy\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "API_MAX_BUFFERED_BYTES"));
    char retry[16] = "";
    CU_ASSERT_TRUE(http_reply_header(&r, "Retry-After", retry, sizeof(retry)));
    http_reply_free(&r);
    CU_ASSERT(gateway_metric_at(port, "cvg_gateway_body_refused_total") >= 1);
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
    /* The first upload ends (its body is no JSON); its bytes are let go and
     * the second body fits again. */
    CU_ASSERT_TRUE(send_all(fd, junk, 100000));
    reply[0] = '\0';
    read_until_closed(fd, reply, sizeof(reply), 3000);
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "HTTP/1.1 400"));
    close(fd);
    free(junk);
    deadline = cvg_time_mono_ms() + 15000;
    while (gateway_metric_at(port, "cvg_gateway_body_bytes") != 0 && cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(20);
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_body_bytes"), 0);
    /* (answered by the handler: the central dataset is not bootstrapped
     * at this point of the suite) */
    CU_ASSERT(http_call(port, "POST", "/api/v1/admin/api-keys", h, second, &r) > 0);
    CU_ASSERT_PTR_NULL(strstr(cvg_buf_cstr(&r.body), "\"busy\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "tenant"));
    http_reply_free(&r);
    free(second);

    /* A chunked body past API_MAX_BODY_BYTES is read and dropped until it
     * ends (then 413): what it counted is given back as soon as it is
     * dropped, not when the client finally stops. */
    fd = connect_local(port);
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(req, sizeof(req),
             "POST /api/v1/admin/api-keys HTTP/1.1\r\nHost: x\r\n%sContent-Type: "
             "application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
             auth);
    CU_ASSERT_TRUE(send_all(fd, req, strlen(req)));
    char *chunk = malloc(65536 + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(chunk);
    int hl = snprintf(chunk, 16, "10000\r\n");
    memset(chunk + hl, ' ', 65536);
    memcpy(chunk + hl + 65536, "\r\n", 2);
    /* 15 chunks (960 KiB): held and counted */
    for (int i = 0; i < 15; i++)
        CU_ASSERT_TRUE(send_all(fd, chunk, (size_t)hl + 65536 + 2));
    deadline = cvg_time_mono_ms() + 30000;
    while (gateway_metric_at(port, "cvg_gateway_body_bytes") < 15 * 65536 &&
           cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(20);
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_body_bytes"), 15 * 65536);
    /* 5 more (1.25 MiB in all): past the limit, dropped, nothing counted */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_TRUE(send_all(fd, chunk, (size_t)hl + 65536 + 2));
    free(chunk);
    long long held = -1;
    deadline = cvg_time_mono_ms() + 30000;
    while ((held = gateway_metric_at(port, "cvg_gateway_body_bytes")) != 0 &&
           cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(20);
    if (held != 0)
        printf("\n  bytes still counted: %lld\n", held);
    CU_ASSERT_EQUAL(held, 0);
    CU_ASSERT_TRUE(send_all(fd, "0\r\n\r\n", 5));
    reply[0] = '\0';
    read_until_closed(fd, reply, sizeof(reply), 3000);
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "HTTP/1.1 413"));
    close(fd);

    /* Four open connections from one address are all it gets: a fifth is
     * closed unanswered, until one of the four goes. (A connection of the
     * parts above that the gateway has not yet seen closed still counts
     * for a moment, and a connection refused for it is closed at once:
     * such a one is opened again, until all four stay open.) */
    int idle[4] = {-1, -1, -1, -1};
    long st = 200;
    deadline = cvg_time_mono_ms() + 15000;
    while (st == 200 && cvg_time_mono_ms() < deadline) {
        for (int i = 0; i < 4; i++) {
            char peek;
            if (idle[i] >= 0 && recv(idle[i], &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
                close(idle[i]); /* refused: the gateway closed it */
                idle[i] = -1;
            }
            if (idle[i] < 0)
                idle[i] = connect_local(port);
        }
        cvg_time_sleep_ms(50);
        st = http_request_at(port, "GET", "/health/live", NULL, NULL, NULL);
    }
    if (st >= 100)
        printf("\n  fifth connection answered %ld\n", st);
    CU_ASSERT(st < 100);
    close(idle[0]);
    deadline = cvg_time_mono_ms() + 15000;
    while ((st = http_request_at(port, "GET", "/health/live", NULL, NULL, NULL)) != 200 &&
           cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(20);
    CU_ASSERT_EQUAL(st, 200);
    for (int i = 1; i < 4; i++)
        close(idle[i]);
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw, 10000), 0);
}

static void test_cluster_bootstrap_creates_the_12_tables(void)
{
    const char *headers[] = {key_header, "Content-Type: application/json", NULL};
    json_t *body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers,
                                       "{\"force_recreate_dataset\": false, "
                                       "\"force_recreate_tables\": false}",
                                       &body),
                          200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "status")), "SUCCESS");
    json_t *created = json_object_get(body, "tables_created");
    CU_ASSERT_EQUAL(json_array_size(created), CVG_CENTRAL_TABLE_COUNT);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_existing")), 0);
    for (size_t i = 0; i < CVG_CENTRAL_TABLE_COUNT; i++) {
        bool listed = false;
        for (size_t j = 0; j < json_array_size(created); j++)
            listed |=
                strcmp(json_string_value(json_array_get(created, j)), cvg_central_tables[i]) == 0;
        CU_ASSERT_TRUE(listed);
        /* And it really is there. */
        CU_ASSERT_EQUAL(
            wh_int(&c, "tenants",
                   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?",
                   cvg_central_tables[i]),
            1);
    }
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants", "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", NULL),
        CVG_CENTRAL_TABLE_COUNT);
    const char *id = json_string_value(json_object_get(body, "pipeline_logging_id"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(id);
    snprintf(first_run, sizeof(first_run), "%s", id);
    json_decref(body);
    body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 200);
    CU_ASSERT(json_is_true(json_object_get(
        json_object_get(json_object_get(body, "checks"), "warehouse"), "bootstrapped")));
    json_decref(body);
}

static void test_cluster_bootstrap_again_creates_nothing(void)
{
    const char *headers[] = {key_header, NULL};
    json_t *body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body),
                          200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_created")), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_existing")),
                    CVG_CENTRAL_TABLE_COUNT);
    CU_ASSERT(json_is_false(json_object_get(body, "dataset_created")));
    json_decref(body);
}

/* An installation from before the queue's idempotency index became
 * partial has the old full one: bootstrap drops it and says so, once. */
static void test_cluster_bootstrap_drops_retired_index(void)
{
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants",
                                  "CREATE INDEX tenant_pipeline_execution_queue__idempotency ON "
                                  "tenant_pipeline_execution_queue (tenant_id, idempotency_key)",
                                  NULL),
                          0);
    const char *count = "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?";
    const char *old = "tenant_pipeline_execution_queue__idempotency";
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", count, old), 1);
    /* and one from before the slots' state index: made, and said */
    const char *state = "tenant_scheduled_pipeline_runs__state";
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants", "DROP INDEX tenant_scheduled_pipeline_runs__state", NULL), 0);
    const char *headers[] = {key_header, NULL};
    json_t *body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body),
                          200);
    json_t *retired = json_object_get(body, "indexes_retired");
    CU_ASSERT_EQUAL(json_array_size(retired), 1);
    const char *name = json_string_value(json_array_get(retired, 0));
    CU_ASSERT_STRING_EQUAL(name ? name : "", old);
    json_t *made = json_object_get(body, "indexes_added");
    CU_ASSERT_EQUAL(json_array_size(made), 1);
    name = json_string_value(json_array_get(made, 0));
    CU_ASSERT_STRING_EQUAL(name ? name : "", state);
    json_decref(body);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", count, old), 0);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", count, state), 1);
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants", count, "tenant_pipeline_execution_queue__idempotency_set"), 1);
    body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body),
                          200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "indexes_retired")), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "indexes_added")), 0);
    json_decref(body);
}

/* An installation from before the step log had run_attempt: bootstrap
 * adds the column (its rows NULL there) and says so, once. */
static void test_cluster_bootstrap_adds_new_columns(void)
{
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants", "ALTER TABLE tenant_step_logs DROP COLUMN run_attempt", NULL), 0);
    const char *has = "SELECT count(*) FROM pragma_table_info('tenant_step_logs') WHERE name = ?";
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", has, "run_attempt"), 0);
    const char *headers[] = {key_header, NULL};
    json_t *body = NULL;
    /* readiness names the column (the cluster stays ready: the bootstrap
     * that adds it needs it so) */
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 200);
    json_t *behind = json_object_get(json_object_get(json_object_get(body, "checks"), "warehouse"),
                                     "columns_missing");
    const char *first_missing = json_string_value(json_array_get(behind, 0));
    CU_ASSERT_STRING_EQUAL(first_missing ? first_missing : "", "tenant_step_logs.run_attempt");
    json_decref(body);
    body = NULL;
    /* meanwhile a run's read says what to do */
    char run[CVG_ID_LEN], run_path[128];
    cvg_id_new(run);
    const char *args[] = {run, NULL};
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_pipeline_runs (pipeline_logging_id, tenant_id, pipeline_id, "
                "pipeline, status, state_seq, trigger_type, attempt, created_at, updated_at) "
                "VALUES (?1, 'system', 'bootstrap_system', 'setup/bootstrap_system', 'SUCCEEDED', "
                "24, 'api', 1, '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')",
                args),
        0);
    snprintf(run_path, sizeof(run_path), "/api/v1/pipelines/runs/%s", run);
    CU_ASSERT_EQUAL(http_request(&c, "GET", run_path, headers, NULL, &body), 503);
    CU_ASSERT_STRING_EQUAL(error_code(body), "system_not_ready");
    const char *m = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    CU_ASSERT_PTR_NOT_NULL(m ? strstr(m, "run the bootstrap") : NULL);
    json_decref(body);
    body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body),
                          200);
    json_t *added = json_object_get(body, "columns_added");
    CU_ASSERT_EQUAL(json_array_size(added), 1);
    const char *name = json_string_value(json_array_get(added, 0));
    CU_ASSERT_STRING_EQUAL(name ? name : "", "tenant_step_logs.run_attempt");
    json_decref(body);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", has, "run_attempt"), 1);
    body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body),
                          200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "columns_added")), 0);
    json_decref(body);
    body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 200);
    CU_ASSERT_PTR_NULL(json_object_get(
        json_object_get(json_object_get(body, "checks"), "warehouse"), "columns_missing"));
    json_decref(body);
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* An enqueue message the scheduler cannot read (its runs lack their
 * required fields) is answered at once, each run with why, rather than
 * left for its caller to time out. */
static void test_cluster_unreadable_enqueue_answered(void)
{
    static const char id[] = "0193c2b0-0000-7000-8000-0000000000e1";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, CVG_PROTO_VERSION);
    pack_str(&pk, "t");
    pack_str(&pk, "enqueue");
    pack_str(&pk, "id");
    pack_str(&pk, id);
    pack_str(&pk, "runs");
    msgpack_pack_array(&pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&pk, 1);
        pack_str(&pk, "tenant_id");
        pack_str(&pk, "acme");
    }
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), ">tcp://127.0.0.1:%d", c.control_port);
    zsock_t *dealer = zsock_new_dealer(endpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dealer);
    zframe_t *f = zframe_new(sb.data, sb.size);
    CU_ASSERT_EQUAL(zframe_send(&f, dealer, 0), 0);
    msgpack_sbuffer_destroy(&sb);
    zpoller_t *p = zpoller_new(dealer, NULL);
    bool answered = zpoller_wait(p, 5000) == dealer;
    zpoller_destroy(&p);
    CU_ASSERT_TRUE_FATAL(answered);
    zframe_t *reply = zframe_recv(dealer);
    cvg_msg_t m;
    CU_ASSERT_EQUAL(cvg_msg_decode(zframe_data(reply), zframe_size(reply), &m, NULL), 0);
    CU_ASSERT_EQUAL(m.type, CVG_MSG_ENQUEUED);
    CU_ASSERT_STRING_EQUAL(m.u.enqueued.id, id);
    CU_ASSERT_EQUAL_FATAL(m.u.enqueued.n, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(m.u.enqueued.results[i].status, CVG_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(
            strstr(m.u.enqueued.results[i].reason, "could not read the run request"));
    }
    cvg_msg_cleanup(&m);
    zframe_destroy(&reply);
    zsock_destroy(&dealer);
}

static void test_cluster_bootstrap_run_is_logged(void)
{
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE "
                               "pipeline_logging_id = ? AND status = 'SUCCEEDED'",
                               first_run, 1, 10000));
    char text[128];
    wh_text(&c, "tenants",
            "SELECT pipeline_id || '|' || tenant_id || '|' || trigger_by FROM tenant_pipeline_runs "
            "WHERE pipeline_logging_id = ?",
            first_run, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "bootstrap_system|system|admin");
    CU_ASSERT_TRUE(
        wait_wh_int(&c, "tenants",
                    "SELECT count(*) FROM tenant_step_logs WHERE pipeline_logging_id = ? "
                    "AND step_id = 'create_central_tables' AND status = 'SUCCEEDED'",
                    first_run, 1, 10000));
}

static void test_cluster_tail_prints_the_run(void)
{
    char want[128];
    snprintf(want, sizeof(want), "\"pipeline_logging_id\":\"%s\",\"status\":\"SUCCEEDED\"",
             first_run);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail", want, 10000));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail", "\"kind\":\"step_finished\"", 1000));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail", "\"kind\":\"run_started\"", 1000));
}

/* An operator's tail says when the logger falls silent (frozen here, as a
 * hung or stopped logger would be) and again when its heartbeat is back. */
static void test_cluster_tail_tells_a_silent_logger(void)
{
    proc_t *lg = cluster_proc(&c, "logger");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lg);
    char *log = cluster_log(&c, "tail-acme");
    size_t from = log ? strlen(log) : 0; /* only what the tail says from now on */
    free(log);
    kill(lg->pid, SIGSTOP);
    bool silent = cluster_wait_log_after(&c, "tail-acme", from,
                                         "tail: no heartbeat from the logger for 5 s", 20000);
    kill(lg->pid, SIGCONT);
    CU_ASSERT_TRUE(silent);
    CU_ASSERT_TRUE(cluster_wait_log_after(&c, "tail-acme", from,
                                          "tail: the logger's heartbeat is back", 20000));
}

/* A restarted logger's first batches are the backlog its senders kept
 * while it was down; an operator's tail, reconnecting meanwhile, still
 * shows every one of them. */
static void test_cluster_tail_sees_backlog_after_logger_restart(void)
{
    char endpoint[256];
    CU_ASSERT_TRUE_FATAL(cluster_env_get(&c, "CVG_EVENTS_ENDPOINT", endpoint, sizeof(endpoint)));
    proc_t *lg = cluster_proc(&c, "logger");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lg);
    kill(lg->pid, SIGKILL);
    CU_ASSERT_TRUE_FATAL(cluster_wait_exit(&c, lg, 10000) >= -1);
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_emitter_t *em = cvg_emitter_new(endpoint, 300, 64, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    enum { N = 20 };
    char ids[N][CVG_ID_LEN];
    for (int i = 0; i < N; i++) {
        cvg_event_t ev;
        cvg_event_init(&ev, CVG_EV_RUN_FINISHED);
        cvg_id_new(ev.run_id);
        memcpy(ids[i], ev.run_id, CVG_ID_LEN);
        snprintf(ev.tenant_id, sizeof(ev.tenant_id), "acme");
        snprintf(ev.pipeline_id, sizeof(ev.pipeline_id), "backlog_%02d", i);
        snprintf(ev.worker_id, sizeof(ev.worker_id), "test-worker");
        snprintf(ev.status, sizeof(ev.status), "SUCCEEDED");
        ev.attempt = 1;
        ev.start_ms = ev.ts_ms;
        ev.end_ms = ev.ts_ms + 1;
        CU_ASSERT_EQUAL(cvg_emitter_send(em, &ev, 1000), 0);
        cvg_event_cleanup(&ev);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(cluster_spawn(&c, "logger", "cvg-logger", NULL, NULL));
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 20000), 0); /* all committed */
    cvg_emitter_destroy(&em);
    for (int i = 0; i < N; i++) {
        char want[200];
        snprintf(want, sizeof(want), "acme  backlog_%02d  run  SUCCEEDED", i);
        CU_ASSERT_TRUE(cluster_wait_log(&c, "tail-acme", want, i == 0 ? 10000 : 1000));
    }
    CU_ASSERT_TRUE(cluster_wait_ready(&c, 20000));
}

/* A run's start that reaches the logger after its end (sent again after a
 * failed write): stored already, so the stream does not show the run going
 * back to RUNNING after its end. */
static void test_cluster_late_event_not_streamed_again(void)
{
    char endpoint[256];
    CU_ASSERT_TRUE_FATAL(cluster_env_get(&c, "CVG_EVENTS_ENDPOINT", endpoint, sizeof(endpoint)));
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_emitter_t *em = cvg_emitter_new(endpoint, 300, 10, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    cvg_event_t end, start;
    cvg_event_init(&end, CVG_EV_RUN_FINISHED);
    cvg_event_init(&start, CVG_EV_RUN_STARTED);
    cvg_id_new(end.run_id);
    memcpy(start.run_id, end.run_id, CVG_ID_LEN);
    cvg_event_t *both[2] = {&end, &start};
    for (int i = 0; i < 2; i++) {
        snprintf(both[i]->tenant_id, sizeof(both[i]->tenant_id), "acme");
        snprintf(both[i]->pipeline_id, sizeof(both[i]->pipeline_id), "late_events");
        snprintf(both[i]->worker_id, sizeof(both[i]->worker_id), "test-worker");
        both[i]->attempt = 1;
        both[i]->start_ms = start.ts_ms;
    }
    snprintf(start.status, sizeof(start.status), "RUNNING");
    snprintf(end.status, sizeof(end.status), "SUCCEEDED");
    end.end_ms = end.start_ms + 5;
    /* each acknowledged (committed) before the next is sent */
    CU_ASSERT_EQUAL(cvg_emitter_send(em, &end, 1000), 0);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 20000), 0);
    CU_ASSERT_EQUAL(cvg_emitter_send(em, &start, 1000), 0);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 20000), 0);
    cvg_event_t mark;
    cvg_event_init(&mark, CVG_EV_RUN_STARTED);
    cvg_id_new(mark.run_id);
    snprintf(mark.tenant_id, sizeof(mark.tenant_id), "acme");
    snprintf(mark.pipeline_id, sizeof(mark.pipeline_id), "late_events_mark");
    snprintf(mark.status, sizeof(mark.status), "RUNNING");
    mark.attempt = 1;
    CU_ASSERT_EQUAL(cvg_emitter_send(em, &mark, 1000), 0);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 20000), 0);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail-acme", "late_events_mark", 10000));
    char *log = cluster_log(&c, "tail-acme");
    char line[256];
    snprintf(line, sizeof(line), "acme  late_events  run  SUCCEEDED");
    CU_ASSERT_PTR_NOT_NULL(log ? strstr(log, line) : NULL);
    snprintf(line, sizeof(line), "acme  late_events  run  RUNNING");
    CU_ASSERT_PTR_NULL(log ? strstr(log, line) : NULL);
    free(log);
    /* and the run log keeps its end */
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_pipeline_runs WHERE pipeline_logging_id = ? "
               "AND status = 'SUCCEEDED'",
               end.run_id),
        1);
    cvg_event_cleanup(&end);
    cvg_event_cleanup(&start);
    cvg_event_cleanup(&mark);
    cvg_emitter_destroy(&em);
}

static void test_cluster_job_runs_on_a_worker(void)
{
    /* A queued run as the scheduler's enqueue will write it; its pipeline
     * does not exist, so the worker reports it failed with the reason. */
    char run[CVG_ID_LEN], queue[CVG_ID_LEN];
    cvg_id_new(run);
    cvg_id_new(queue);
    const char *args[] = {queue, run, NULL};
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_pipeline_execution_queue (queue_id, pipeline_logging_id, "
                "tenant_id, pipeline, trigger_type, priority, state, attempt, max_attempts, "
                "enqueued_at, updated_at) VALUES (?1, ?2, 'acme', 'gcp/cost/no_such_pipeline', "
                "'manual', 5, 'QUEUED', 1, 3, '2026-01-01T00:00:00.000Z', "
                "'2026-01-01T00:00:00.000Z')",
                args),
        0);
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE "
                               "pipeline_logging_id = ? AND status = 'FAILED'",
                               run, 1, 15000));
    char text[512];
    wh_text(&c, "tenants",
            "SELECT error_message FROM tenant_pipeline_runs WHERE pipeline_logging_id = ?", run,
            text, sizeof(text));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "no pipeline config gcp/cost/no_such_pipeline.yml"));
    wh_text(&c, "tenants",
            "SELECT worker_id FROM tenant_pipeline_runs WHERE pipeline_logging_id = ?", run, text,
            sizeof(text));
    CU_ASSERT(text[0] != '\0' && strcmp(text, "gateway") != 0);
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_execution_queue WHERE "
                               "pipeline_logging_id = ? AND state = 'FAILED'",
                               run, 1, 10000));
    /* The tail filtered on tenant acme shows this run and nothing else. */
    char want[128];
    snprintf(want, sizeof(want), "run=%s", run);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail-acme", want, 5000));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail-acme", "acme  no_such_pipeline  run  FAILED", 100));
    char *log = cluster_log(&c, "tail-acme");
    CU_ASSERT_PTR_NULL(strstr(log, "bootstrap_system"));
    free(log);
    /* So does the tail filtered on the config's path, and its banner
     * names the filter. */
    CU_ASSERT_TRUE(cluster_wait_log(&c, "tail-path", want, 5000));
    log = cluster_log(&c, "tail-path");
    CU_ASSERT_PTR_NOT_NULL(strstr(log, ", pipeline gcp/cost/no_such_pipeline"));
    CU_ASSERT_PTR_NULL(strstr(log, "bootstrap_system"));
    free(log);
}

static void test_cluster_events_survive_a_logger_restart(void)
{
    proc_t *logger = cluster_proc(&c, "logger");
    CU_ASSERT_EQUAL_FATAL(cluster_stop_proc(&c, logger, 10000), 0);
    const char *headers[] = {key_header, NULL};
    json_t *body = NULL;
    CU_ASSERT_EQUAL_FATAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body),
                          200);
    char run[64];
    snprintf(run, sizeof(run), "%s",
             json_string_value(json_object_get(body, "pipeline_logging_id")));
    json_decref(body);
    /* Nobody has stored the run yet: the gateway still holds its events. */
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_pipeline_runs WHERE pipeline_logging_id = ?", run),
        0);
    /* the operator's view of it: down, then up and storing */
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_logger_up"), 0);
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_logger_events_committed_total"), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cluster_spawn(&c, "logger", "cvg-logger", NULL, NULL));
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE "
                               "pipeline_logging_id = ? AND status = 'SUCCEEDED'",
                               run, 1, 15000));
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_logger_up"), 1);
    CU_ASSERT(gateway_metric(&c, "cvg_logger_events_committed_total") >= 2);
    CU_ASSERT(gateway_metric(&c, "cvg_logger_batches_total") >= 1);
    CU_ASSERT(gateway_metric(&c, "cvg_logger_events_pending") >= 0);
    CU_ASSERT_TRUE(wait_wh_int(
        &c, "tenants", "SELECT count(*) FROM tenant_step_logs WHERE pipeline_logging_id = ?", run,
        1, 5000));
}

static json_t *bootstrap(const char *body, long *status)
{
    const char *headers[] = {key_header, "Content-Type: application/json", NULL};
    json_t *reply = NULL;
    *status = http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, body, &reply);
    return reply;
}

static void test_cluster_bootstrap_force_recreate(void)
{
    /* The first bootstrap's first events reached the logger before its
     * tables existed and were refused; the gateway sends them again. Wait
     * for the logger to have them all, or one could land in the new log. */
    int64_t deadline = cvg_time_mono_ms() + 15000;
    while (gateway_metric(&c, "cvg_gateway_events_pending") != 0 && cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(50);
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_gateway_events_pending"), 0);
    const char *profile[] = {NULL};
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_profiles (tenant_id, company_name, admin_email, dataset_id, "
                "status, created_at, updated_at) VALUES ('acme', 'Acme', 'ops@acme.io', 'acme', "
                "'ACTIVE', '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z')",
                profile),
        0);
    long status = 0;
    json_t *body = bootstrap("{\"force_recreate_tables\": true}", &status);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_recreated")),
                    CVG_CENTRAL_TABLE_COUNT);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_existing")), 0);
    json_decref(body);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", "SELECT count(*) FROM tenant_profiles", NULL), 0);

    body = bootstrap("{\"force_recreate_dataset\": true}", &status);
    CU_ASSERT_EQUAL_FATAL(status, 200);
    CU_ASSERT(json_is_true(json_object_get(body, "dataset_created")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_created")),
                    CVG_CENTRAL_TABLE_COUNT);
    char run[64];
    snprintf(run, sizeof(run), "%s",
             json_string_value(json_object_get(body, "pipeline_logging_id")));
    json_decref(body);
    /* The logger follows the new dataset: this run lands in the fresh log,
     * the older runs are gone with the old one. */
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE "
                               "pipeline_logging_id = ? AND status = 'SUCCEEDED'",
                               run, 1, 15000));
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants",
               "SELECT count(*) FROM tenant_pipeline_runs WHERE pipeline_logging_id = ?",
               first_run),
        0);
    /* The cluster is still ready afterwards. */
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, NULL), 200);
}

static void test_cluster_sigterm_stops_everything_cleanly(void)
{
    static const char *order[] = {"tail",     "tail-acme", "tail-path", "gateway",
                                  "worker-1", "worker-2",  "scheduler", "logger"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        proc_t *p = cluster_proc(&c, order[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        int code = cluster_stop_proc(&c, p, 15000);
        if (code != 0)
            printf("\n  %s exited with %d\n", order[i], code);
        CU_ASSERT_EQUAL(code, 0);
    }
    CU_ASSERT_TRUE(cluster_wait_log(&c, "gateway", "gateway stopped", 100));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "logger", "logger stopped", 100));
}

static CU_TestInfo tests[] = {
    {"test_cluster_ready_with_two_workers", test_cluster_ready_with_two_workers},
    {"test_cluster_health_endpoints", test_cluster_health_endpoints},
    {"test_cluster_unknown_route_and_wrong_method", test_cluster_unknown_route_and_wrong_method},
    {"test_cluster_bootstrap_refuses_missing_and_wrong_key",
     test_cluster_bootstrap_refuses_missing_and_wrong_key},
    {"test_cluster_bootstrap_refuses_bad_bodies", test_cluster_bootstrap_refuses_bad_bodies},
    {"test_cluster_oversized_bodies_get_413", test_cluster_oversized_bodies_get_413},
    {"test_cluster_big_headers_and_slow_clients", test_cluster_big_headers_and_slow_clients},
    {"test_cluster_bodies_and_connections_bounded", test_cluster_bodies_and_connections_bounded},
    {"test_cluster_bootstrap_creates_the_12_tables", test_cluster_bootstrap_creates_the_12_tables},
    {"test_cluster_bootstrap_again_creates_nothing", test_cluster_bootstrap_again_creates_nothing},
    {"test_cluster_bootstrap_drops_retired_index", test_cluster_bootstrap_drops_retired_index},
    {"test_cluster_bootstrap_adds_new_columns", test_cluster_bootstrap_adds_new_columns},
    {"test_cluster_unreadable_enqueue_answered", test_cluster_unreadable_enqueue_answered},
    {"test_cluster_bootstrap_run_is_logged", test_cluster_bootstrap_run_is_logged},
    {"test_cluster_tail_prints_the_run", test_cluster_tail_prints_the_run},
    {"test_cluster_tail_tells_a_silent_logger", test_cluster_tail_tells_a_silent_logger},
    {"test_cluster_tail_sees_backlog_after_logger_restart",
     test_cluster_tail_sees_backlog_after_logger_restart},
    {"test_cluster_late_event_not_streamed_again", test_cluster_late_event_not_streamed_again},
    {"test_cluster_job_runs_on_a_worker", test_cluster_job_runs_on_a_worker},
    {"test_cluster_events_survive_a_logger_restart", test_cluster_events_survive_a_logger_restart},
    {"test_cluster_bootstrap_force_recreate", test_cluster_bootstrap_force_recreate},
    {"test_cluster_sigterm_stops_everything_cleanly",
     test_cluster_sigterm_stops_everything_cleanly},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_cluster = {"integration_cluster", setup, teardown, tests, 240};
