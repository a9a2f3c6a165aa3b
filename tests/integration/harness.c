/*
 * Integration harness (see harness.h).
 */
#include "tests/integration/harness.h"
#include "common/crypto.h"
#include "common/fs.h"
#include "common/id.h"
#include "common/time.h"
#include "tests/tests.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

proc_t *cluster_proc(cluster_t *c, const char *name)
{
    for (int i = 0; i < c->nprocs; i++) {
        if (strcmp(c->procs[i].name, name) == 0)
            return &c->procs[i];
    }
    return NULL;
}

proc_t *cluster_spawn_argv(cluster_t *c, const char *name, char *const *argv,
                           const char *const *env)
{
    proc_t *p = cluster_proc(c, name);
    if (p == NULL) {
        if (c->nprocs >= HARNESS_MAX_PROCS)
            return NULL;
        p = &c->procs[c->nprocs++];
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    char log[700];
    snprintf(log, sizeof(log), "%s/%s.log", c->dir, name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execvp(argv[0], argv);
        _exit(127);
    }
    p->pid = pid;
    return p;
}

proc_t *cluster_spawn(cluster_t *c, const char *name, const char *binary, const char *const *args,
                      const char *const *env)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", bin_dir(), binary);
    /* Each cluster process under valgrind when asked: errors and definite
     * leaks make it exit 99, which the tests see. */
    char *argv[24] = {"valgrind",
                      "-q",
                      "--leak-check=full",
                      "--show-leak-kinds=definite,indirect",
                      "--errors-for-leak-kinds=definite,indirect",
                      "--error-exitcode=99"};
    int n = getenv("CVG_VALGRIND_CHILDREN") != NULL ? 6 : 0;
    argv[n++] = path;
    argv[n++] = "--env-file";
    argv[n++] = c->env_file;
    for (size_t i = 0; args && args[i] && n < 23; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return cluster_spawn_argv(c, name, argv, env);
}

int cluster_prepare(cluster_t *c, bool without_key)
{
    memset(c, 0, sizeof(*c));
    c->dir = tmpdir_new("it");
    if (c->dir == NULL)
        return -1;
    c->api_port = harness_free_port();
    unsigned char raw[16];
    cvg_random_bytes(raw, sizeof(raw));
    snprintf(c->admin_key, sizeof(c->admin_key), "it-admin-");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(c->admin_key + 9 + 2 * i, 3, "%02x", raw[i]);
    snprintf(c->warehouse_dir, sizeof(c->warehouse_dir), "%s/var/warehouse", c->dir);
    snprintf(c->env_file, sizeof(c->env_file), "%s/test.env", c->dir);
    int ports[5];
    for (int i = 0; i < 5; i++)
        ports[i] = harness_free_port();
    c->control_port = ports[0];
    FILE *f = fopen(c->env_file, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "CVG_VAR_DIR=%s/var\nCVG_CONFIG_DIR=%s/configs\nCVG_TEMPLATES_DIR=%s/ps_templates\n"
            "API_PORT=%d\nLOG_LEVEL=INFO\nCVG_HEARTBEAT_MS=200\n"
            "CVG_WORKER_TIMEOUT_MS=2000\nCVG_EVENT_ACK_TIMEOUT_MS=300\nCVG_SHUTDOWN_GRACE_MS=5000\n"
            "CVG_CONTROL_ENDPOINT=tcp://127.0.0.1:%d\nCVG_JOBS_ENDPOINT=tcp://127.0.0.1:%d\n"
            "CVG_WORKERS_ENDPOINT=tcp://127.0.0.1:%d\nCVG_EVENTS_ENDPOINT=tcp://127.0.0.1:%d\n"
            "CVG_STREAM_ENDPOINT=tcp://127.0.0.1:%d\n",
            c->dir, source_dir(), source_dir(), c->api_port, ports[0], ports[1], ports[2], ports[3],
            ports[4]);
    if (!without_key) {
        /* Fresh server secrets per cluster; cvg-run makes its own when
         * they are left out. */
        unsigned char pepper[32], master[32];
        cvg_random_bytes(pepper, sizeof(pepper));
        cvg_random_bytes(master, sizeof(master));
        char hex[65];
        cvg_hex(pepper, sizeof(pepper), hex);
        char *b64 = cvg_base64_encode(master, sizeof(master));
        snprintf(c->master_b64, sizeof(c->master_b64), "%s", b64);
        fprintf(f, "ADMIN_API_KEY=%s\nCVG_API_KEY_PEPPER=%s\nCVG_MASTER_KEY=1:%s\n", c->admin_key,
                hex, b64);
        free(b64);
    }
    fclose(f);
    return 0;
}

int cluster_env_set(cluster_t *c, const char *name, const char *value)
{
    char *text = NULL;
    size_t len = 0;
    if (cvg_fs_read_file(c->env_file, 1 << 20, &text, &len, NULL) != 0)
        return -1;
    cvg_buf_t b;
    cvg_buf_init(&b, 1 << 20);
    size_t n = strlen(name);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) : strlen(line);
        if (!(l > n && strncmp(line, name, n) == 0 && line[n] == '='))
            cvg_buf_printf(&b, "%.*s\n", (int)l, line);
        line = nl ? nl + 1 : NULL;
    }
    cvg_buf_printf(&b, "%s=%s\n", name, value);
    int rc = cvg_fs_write_file(c->env_file, b.data, b.len, 0600, NULL);
    cvg_buf_cleanup(&b);
    free(text);
    return rc;
}

bool cluster_env_get(const cluster_t *c, const char *name, char *out, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    bool found = false;
    if (cvg_fs_read_file(c->env_file, 1 << 20, &text, &len, NULL) != 0)
        return false;
    size_t n = strlen(name);
    for (char *line = text; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) : strlen(line);
        if (l > n && strncmp(line, name, n) == 0 && line[n] == '=') {
            snprintf(out, size, "%.*s", (int)(l - n - 1), line + n + 1);
            found = true;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return found;
}

int cluster_start(cluster_t *c, int workers, bool with_gateway)
{
    if (cluster_prepare(c, false) != 0)
        return -1;
    return cluster_launch(c, workers, with_gateway);
}

int cluster_launch(cluster_t *c, int workers, bool with_gateway)
{
    if (cluster_spawn(c, "logger", "cvg-logger", NULL, NULL) == NULL ||
        cluster_spawn(c, "scheduler", "cvg-scheduler", NULL, NULL) == NULL)
        return -1;
    for (int i = 1; i <= workers; i++) {
        char name[32];
        snprintf(name, sizeof(name), "worker-%d", i);
        if (cluster_spawn(c, name, "cvg-worker", NULL, NULL) == NULL)
            return -1;
    }
    if (with_gateway && cluster_spawn(c, "gateway", "cvg-gateway", NULL, NULL) == NULL)
        return -1;
    return 0;
}

int cluster_use_test_configs(cluster_t *c)
{
    char src[1100], dst[1100];
    snprintf(src, sizeof(src), "%s/configs", source_dir());
    snprintf(dst, sizeof(dst), "%s/configs", c->dir);
    if (tree_copy(src, dst) != 0)
        return -1;
    snprintf(src, sizeof(src), "%s/tests/configs/pipelines/test", source_dir());
    snprintf(dst, sizeof(dst), "%s/configs/test", c->dir);
    if (tree_copy(src, dst) != 0)
        return -1;
    snprintf(dst, sizeof(dst), "%s/configs", c->dir);
    return cluster_env_set(c, "CVG_CONFIG_DIR", dst);
}

void cluster_onboard(const cluster_t *c, const char *tenant, const char *plan, char *key,
                     size_t size)
{
    char body[512], admin[128];
    snprintf(body, sizeof(body),
             "{\"tenant_id\": \"%s\", \"company_name\": \"%s Inc\", \"admin_email\": "
             "\"ops@%s.io\", \"plan_name\": \"%s\"}",
             tenant, tenant, tenant, plan);
    snprintf(admin, sizeof(admin), "X-Admin-Key: %s", c->admin_key);
    const char *h[] = {admin, "Content-Type: application/json", NULL};
    json_t *b = NULL;
    long st = http_request(c, "POST", "/api/v1/tenants/onboard", h, body, &b);
    const char *k = json_string_value(json_object_get(b, "api_key"));
    snprintf(key, size, "%s", st == 201 && k ? k : "");
    json_decref(b);
}

bool cluster_wait_ready(cluster_t *c, int timeout_ms)
{
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    while (cvg_time_mono_ms() < deadline) {
        if (http_request(c, "GET", "/health/ready", NULL, NULL, NULL) == 200)
            return true;
        cvg_time_sleep_ms(100);
    }
    return false;
}

int cluster_stop_proc(cluster_t *c, proc_t *p, int timeout_ms)
{
    (void)c;
    if (p == NULL || p->pid <= 0 || p->reaped)
        return p && p->reaped && WIFEXITED(p->exit_status) ? WEXITSTATUS(p->exit_status) : -1;
    kill(p->pid, SIGTERM);
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(p->pid, &status, WNOHANG);
        if (got == p->pid)
            break;
        if (cvg_time_mono_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->reaped = true;
            p->exit_status = status;
            return -1;
        }
        cvg_time_sleep_ms(20);
    }
    p->reaped = true;
    p->exit_status = status;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cluster_wait_exit(cluster_t *c, proc_t *p, int timeout_ms)
{
    (void)c;
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    while (!p->reaped && cvg_time_mono_ms() < deadline) {
        int status = 0;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->reaped = true;
            p->exit_status = status;
            break;
        }
        cvg_time_sleep_ms(20);
    }
    if (!p->reaped)
        return -1;
    return WIFEXITED(p->exit_status) ? WEXITSTATUS(p->exit_status) : -1;
}

char *cluster_log(const cluster_t *c, const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.log", c->dir, name);
    FILE *f = fopen(path, "r");
    cvg_buf_t b;
    cvg_buf_init(&b, 64 << 20);
    if (f != NULL) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            cvg_buf_append(&b, chunk, n);
        fclose(f);
    }
    return cvg_buf_detach(&b);
}

bool cluster_wait_log(const cluster_t *c, const char *name, const char *text, int timeout_ms)
{
    return cluster_wait_log_after(c, name, 0, text, timeout_ms);
}

bool cluster_wait_log_after(const cluster_t *c, const char *name, size_t from, const char *text,
                            int timeout_ms)
{
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    for (;;) {
        char *log = cluster_log(c, name);
        bool found = log && strlen(log) >= from && strstr(log + from, text) != NULL;
        free(log);
        if (found)
            return true;
        if (cvg_time_mono_ms() > deadline)
            return false;
        cvg_time_sleep_ms(50);
    }
}

int wh_exec(const cluster_t *c, const char *dataset, const char *sql, const char *const *args)
{
    char path[800];
    snprintf(path, sizeof(path), "%s/%s.db", c->warehouse_dir, dataset);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        for (int i = 0; args && args[i] && i < 8; i++)
            sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    if (rc != 0)
        fprintf(stderr, "wh_exec: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int cluster_destroy(cluster_t *c)
{
    /* Same order as a real shutdown: the logger last. */
    static const char *order[] = {"gateway", "worker", "scheduler", "logger", "tail"};
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        for (int i = 0; i < c->nprocs; i++) {
            if (strncmp(c->procs[i].name, order[o], strlen(order[o])) == 0)
                cluster_stop_proc(c, &c->procs[i], 10000);
        }
    }
    /* Then the rest: the test servers (testsrv.h). */
    for (int i = 0; i < c->nprocs; i++)
        cluster_stop_proc(c, &c->procs[i], 10000);
    /* Under valgrind a process that found errors or leaks exited 99 (any
     * process of the suite, also one a test stopped): name it, show what
     * valgrind said, and fail the suite. */
    int bad = 0;
    for (int i = 0; getenv("CVG_VALGRIND_CHILDREN") != NULL && i < c->nprocs; i++) {
        const proc_t *p = &c->procs[i];
        if (!p->reaped || !WIFEXITED(p->exit_status) || WEXITSTATUS(p->exit_status) != 99)
            continue;
        bad++;
        printf("\n  valgrind found errors in %s:\n", p->name);
        char *log = cluster_log(c, p->name);
        for (char *line = log; line && *line;) {
            char *nl = strchr(line, '\n');
            if (strncmp(line, "==", 2) == 0)
                printf("  %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
            line = nl ? nl + 1 : NULL;
        }
        free(log);
    }
    if (getenv("CVG_KEEP_TEST_DIRS") == NULL)
        tmpdir_remove(&c->dir);
    return bad;
}

static size_t collect(void *data, size_t size, size_t n, void *ud)
{
    return cvg_buf_append(ud, data, size * n) == 0 ? size * n : 0;
}

const json_t *run_step(const json_t *run, const char *step_id)
{
    const json_t *steps = json_object_get(run, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *step = json_array_get(steps, i);
        const char *id = json_string_value(json_object_get(step, "step_id"));
        if (id && strcmp(id, step_id) == 0)
            return step;
    }
    return NULL;
}

long http_request(const cluster_t *c, const char *method, const char *path,
                  const char *const *headers, const char *body, json_t **json)
{
    return http_request_at(c->api_port, method, path, headers, body, json);
}

void central_snapshot(const cluster_t *c, char *out, size_t size)
{
    static const char *const tables[] = {
        "tenant_profiles",          "tenant_api_keys",
        "tenant_subscriptions",     "tenant_usage_quotas",
        "tenant_cloud_credentials", "tenant_provider_configs",
        "tenant_pipeline_configs",  "tenant_pipeline_execution_queue"};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && used < size; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        int n = snprintf(out + used, size - used, "%s=%lld ", tables[i],
                         wh_int(c, "tenants", sql, NULL));
        used += n > 0 ? (size_t)n : 0;
    }
    /* and the datasets present */
    DIR *d = opendir(c->warehouse_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && used < size) {
        if (strstr(e->d_name, ".db") && !strstr(e->d_name, ".db-")) {
            int n = snprintf(out + used, size - used, "%s ", e->d_name);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (d)
        closedir(d);
}

proc_t *cluster_spawn_gateway(cluster_t *c, const char *name, const char *const *env,
                              const char *health, int *port)
{
    *port = harness_free_port();
    char port_env[32];
    snprintf(port_env, sizeof(port_env), "API_PORT=%d", *port);
    const char *all[16] = {port_env};
    size_t n = 1;
    for (size_t i = 0; env && env[i] && n < sizeof(all) / sizeof(all[0]) - 1; i++)
        all[n++] = env[i];
    all[n] = NULL;
    proc_t *gw = cluster_spawn(c, name, "cvg-gateway", NULL, all);
    if (gw == NULL)
        return NULL;
    int64_t deadline = cvg_time_mono_ms() + 15000;
    while (http_request_at(*port, "GET", health, NULL, NULL, NULL) != 200) {
        if (cvg_time_mono_ms() > deadline)
            return NULL;
        cvg_time_sleep_ms(50);
    }
    return gw;
}

long http_request_at(int port, const char *method, const char *path, const char *const *headers,
                     const char *body, json_t **json)
{
    http_reply_t r;
    long status = http_call(port, method, path, headers, body, &r);
    if (json)
        *json = r.body.len ? json_loads(cvg_buf_cstr(&r.body), 0, NULL) : NULL;
    http_reply_free(&r);
    return status;
}

void http_reply_free(http_reply_t *reply)
{
    cvg_buf_cleanup(&reply->headers);
    cvg_buf_cleanup(&reply->body);
}

bool http_reply_header(const http_reply_t *reply, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    const char *line = cvg_buf_cstr(&reply->headers);
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(line + len - v);
            while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            snprintf(out, size, "%.*s", (int)vlen, v);
            return true;
        }
        line += len + (end ? 1 : 0);
    }
    return false;
}

long http_call(int port, const char *method, const char *path, const char *const *headers,
               const char *body, http_reply_t *reply)
{
    char url[600];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    cvg_buf_init(&reply->headers, 1 << 16);
    cvg_buf_init(&reply->body, 16 << 20);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply->headers);
    bool chunked = false;
    for (size_t i = 0; headers && headers[i]; i++)
        chunked |= strcmp(headers[i], "Transfer-Encoding: chunked") == 0;
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        if (!chunked) /* with the header, libcurl sends the body chunked */
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    reply->status = status;
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return status;
}

static sqlite3 *open_ds(const cluster_t *c, const char *dataset)
{
    char path[800];
    snprintf(path, sizeof(path), "%s/%s.db", c->warehouse_dir, dataset);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

long long gateway_metric(const cluster_t *c, const char *name)
{
    return gateway_metric_at(c->api_port, name);
}

long long gateway_metric_at(int port, const char *name)
{
    long long value = -1;
    http_reply_t r;
    if (http_call(port, "GET", "/metrics", NULL, NULL, &r) == 200) {
        const char *text = cvg_buf_cstr(&r.body);
        const char *p = strstr(text, name);
        while (p && ((p != text && p[-1] != '\n') || p[strlen(name)] != ' '))
            p = strstr(p + 1, name);
        if (p)
            value = strtoll(p + strlen(name), NULL, 10);
    }
    http_reply_free(&r);
    return value;
}

long long wh_int(const cluster_t *c, const char *dataset, const char *sql, const char *arg)
{
    sqlite3 *db = open_ds(c, dataset);
    if (db == NULL)
        return -1;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (arg)
            sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void wh_text(const cluster_t *c, const char *dataset, const char *sql, const char *arg, char *out,
             size_t size)
{
    out[0] = '\0';
    sqlite3 *db = open_ds(c, dataset);
    if (db == NULL)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (arg)
            sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

bool wait_wh_int(const cluster_t *c, const char *dataset, const char *sql, const char *arg,
                 long long want, int timeout_ms)
{
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    while (cvg_time_mono_ms() < deadline) {
        if (wh_int(c, dataset, sql, arg) == want)
            return true;
        cvg_time_sleep_ms(50);
    }
    return false;
}
