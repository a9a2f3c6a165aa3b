/*
 * cvg-run: the local supervisor behind `make run`. Starts the logger, the
 * scheduler, WORKERS workers and the gateway on this host (their logs go to
 * var/log/), restarts a process that dies with exponential backoff and says
 * so, waits until the gateway is ready, bootstraps the warehouse (or brings
 * it up to date), prints where everything is, then follows the event stream
 * in the foreground. Ctrl-C stops the cluster in order: gateway, workers,
 * scheduler, logger (last, so the final events are committed).
 * In containers the orchestrator supervises instead (compose/).
 */
#include "common/buf.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/fs.h"
#include "common/id.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/time.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN        70
#define READY_TIMEOUT_MS    30000
#define ALL_WORKERS_WAIT_MS 5000
#define BACKOFF_START_MS    1000
#define BACKOFF_MAX_MS      30000
#define STABLE_AFTER_MS     60000
#define STOP_EXTRA_MS       3000
#define DEMO_TENANT         "demo"

typedef struct child {
    char name[32];
    char binary[1100];
    const char *arg; /* optional first argument ("tail") */
    bool foreground; /* stays in the terminal's process group */
    pid_t pid;       /* 0 when not running */
    int restarts;
    int backoff_ms;
    int64_t started_mono;
    int64_t restart_at; /* monotonic time of the next start, 0 = none */
} child_t;

typedef struct run {
    cvg_config_t cfg;
    char bin_dir[1024];
    char log_dir[1100];
    char key_file[1100];
    bool tail, bootstrap, demo, ready;
    child_t children[MAX_CHILDREN];
    size_t n;
    int fatal; /* exit code when a child cannot run at all */
} run_t;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cvg-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static child_t *add_child(run_t *r, const char *name, const char *binary, const char *arg)
{
    child_t *c = &r->children[r->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->binary, sizeof(c->binary), "%s/%s", r->bin_dir, binary);
    c->arg = arg;
    c->backoff_ms = BACKOFF_START_MS;
    return c;
}

static int spawn(run_t *r, child_t *c)
{
    pid_t pid = fork();
    if (pid < 0) {
        say("cannot start %s: %s", c->name, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (!c->foreground) {
            /* Out of the terminal's process group: Ctrl-C reaches only this
             * supervisor, which then stops the cluster in order. */
            setpgid(0, 0);
            char path[1200];
            snprintf(path, sizeof(path), "%s/%s.log", r->log_dir, c->name);
            int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
            int null = open("/dev/null", O_RDWR);
            if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                close(null);
            }
        }
        signal(SIGPIPE, SIG_DFL);
        char *argv[3] = {c->binary, (char *)c->arg, NULL};
        execv(c->binary, argv);
        fprintf(stderr, "cvg-run: cannot execute %s: %s\n", c->binary, strerror(errno));
        _exit(127);
    }
    c->pid = pid;
    c->started_mono = cvg_time_mono_ms();
    c->restart_at = 0;
    return 0;
}

/* Exit codes that mean "this will not work however often it is tried". */
static bool fatal_code(int code)
{
    return code == EX_USAGE || code == EX_CONFIG || code == 127;
}

static void on_exit_status(run_t *r, child_t *c, int status)
{
    c->pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (cvg_stop_requested())
        return;
    int64_t now = cvg_time_mono_ms();
    if (fatal_code(code) || (!r->ready && code == EX_CANTCREAT)) {
        say("%s cannot run (exit code %d); see %s/%s.log", c->name, code, r->log_dir, c->name);
        r->fatal = code;
        return;
    }
    if (now - c->started_mono > STABLE_AFTER_MS)
        c->backoff_ms = BACKOFF_START_MS;
    c->restarts++;
    c->restart_at = now + c->backoff_ms;
    say("%s exited (%s %d); restart %d in %d ms", c->name,
        WIFEXITED(status) ? "exit code" : "signal",
        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), c->restarts, c->backoff_ms);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Reaps exited children and restarts those due. */
static void supervise(run_t *r)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < r->n; i++) {
            if (r->children[i].pid == pid)
                on_exit_status(r, &r->children[i], status);
        }
    }
    int64_t now = cvg_time_mono_ms();
    for (size_t i = 0; i < r->n && !cvg_stop_requested() && !r->fatal; i++) {
        child_t *c = &r->children[i];
        if (c->pid == 0 && c->restart_at != 0 && now >= c->restart_at) {
            if (spawn(r, c) == 0)
                say("%s restarted (pid %ld)", c->name, (long)c->pid);
        }
    }
}

static size_t collect(void *data, size_t size, size_t n, void *ud)
{
    return cvg_buf_append(ud, data, size * n) == 0 ? size * n : 0;
}

/* One HTTP request to the gateway; returns the status (0 when none). */
static long http(const run_t *r, const char *method, const char *path, const char *admin_key,
                 const char *json, cvg_buf_t *body)
{
    char url[512];
    const char *host = strcmp(r->cfg.api_host, "0.0.0.0") == 0 ? "127.0.0.1" : r->cfg.api_host;
    snprintf(url, sizeof(url), "http://%s:%d%s", host, r->cfg.api_port, path);
    CURL *h = curl_easy_init();
    if (h == NULL)
        return 0;
    struct curl_slist *headers = NULL;
    char key_header[400];
    if (admin_key) {
        snprintf(key_header, sizeof(key_header), "X-Admin-Key: %s", admin_key);
        headers = curl_slist_append(headers, key_header);
    }
    if (json) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return status;
}

/* The admin key: from the environment, or the key file (made on first run
 * with mode 0600 when neither is set). */
static int admin_key(run_t *r, char *out, size_t size)
{
    if (r->cfg.admin_api_key[0] != '\0') {
        snprintf(out, size, "%s", r->cfg.admin_api_key);
        snprintf(r->key_file, sizeof(r->key_file), "(ADMIN_API_KEY in the environment)");
        return 0;
    }
    if (r->cfg.admin_api_key_file[0] != '\0')
        snprintf(r->key_file, sizeof(r->key_file), "%s", r->cfg.admin_api_key_file);
    else
        snprintf(r->key_file, sizeof(r->key_file), "%s/admin_api_key", r->cfg.var_dir);
    cvg_err_t err;
    cvg_err_clear(&err);
    char *data = NULL;
    int rc = cvg_fs_read_file(r->key_file, 4096, &data, NULL, &err);
    if (rc == CVG_ENOTFOUND && r->cfg.admin_api_key_file[0] == '\0') {
        unsigned char raw[32];
        char hex[65];
        if (cvg_random_bytes(raw, sizeof(raw)) != 0)
            return -1;
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        char line[80];
        snprintf(line, sizeof(line), "cvg_admin_%s\n", hex);
        if (cvg_fs_write_file(r->key_file, line, strlen(line), 0600, &err) != 0) {
            say("cannot write %s: %s", r->key_file, err.message);
            return -1;
        }
        say("generated an admin key in %s (mode 0600)", r->key_file);
        rc = cvg_fs_read_file(r->key_file, 4096, &data, NULL, &err);
    }
    if (rc != 0) {
        say("cannot read the admin key: %s", err.message);
        return -1;
    }
    data[strcspn(data, "\r\n")] = '\0';
    snprintf(out, size, "%s", data);
    free(data);
    setenv("ADMIN_API_KEY_FILE", r->key_file, 1);
    return 0;
}

/* Makes sure a server secret exists when the environment gives none: the
 * file var/<name> (mode 0600) is created on first run with `make`'s output
 * and handed to the children through file_var. */
static int ensure_secret(run_t *r, const char *value, const char *file_value, const char *file_var,
                         const char *name, int (*make)(char *out, size_t size))
{
    if (value[0] != '\0' || file_value[0] != '\0')
        return 0;
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", r->cfg.var_dir, name);
    if (!cvg_fs_exists(path)) {
        char text[512];
        cvg_err_t err;
        cvg_err_clear(&err);
        if (make(text, sizeof(text)) != 0 ||
            cvg_fs_write_file(path, text, strlen(text), 0600, &err) != 0) {
            say("cannot create %s: %s", path, err.message);
            return -1;
        }
        say("generated %s (mode 0600)", path);
    }
    setenv(file_var, path, 1);
    return 0;
}

static int make_pepper(char *out, size_t size)
{
    unsigned char raw[48];
    if (cvg_random_bytes(raw, sizeof(raw)) != 0)
        return -1;
    char *b64 = cvg_base64_encode(raw, sizeof(raw));
    if (b64 == NULL)
        return -1;
    int n = snprintf(out, size, "%s\n", b64);
    free(b64);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static int make_master_key(char *out, size_t size)
{
    unsigned char raw[32];
    if (cvg_random_bytes(raw, sizeof(raw)) != 0)
        return -1;
    char *b64 = cvg_base64_encode(raw, sizeof(raw));
    if (b64 == NULL)
        return -1;
    int n = snprintf(out, size,
                     "# Credentials master keys, VERSION:base64. To rotate: add a line with the "
                     "next\n# version, restart, run cvg-gateway rotate-master-key, then drop the "
                     "old line.\n1:%s\n",
                     b64);
    free(b64);
    return n > 0 && (size_t)n < size ? 0 : -1; /* never a cut key */
}

/* True when something already listens on the API address: the cluster's
 * readiness would then be that program's answer, not our gateway's. */
static bool api_port_taken(const run_t *r)
{
    /* the address as the gateway takes it: an IPv4 literal */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->cfg.api_port)};
    if (inet_pton(AF_INET, r->cfg.api_host, &addr.sin_addr) != 1)
        return false; /* the gateway will say what is wrong with the address */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1; /* as the gateway binds: a port in TIME_WAIT is free */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool taken = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

/* Waits for /health/ready; returns its JSON (or NULL on timeout). */
static json_t *wait_ready(run_t *r)
{
    int64_t deadline = cvg_time_mono_ms() + READY_TIMEOUT_MS, first_ready = 0;
    json_t *last = NULL;
    while (cvg_time_mono_ms() < deadline && !cvg_stop_requested() && !r->fatal) {
        supervise(r);
        cvg_buf_t b;
        cvg_buf_init(&b, 1 << 20);
        long status = http(r, "GET", "/health/ready", NULL, NULL, &b);
        json_decref(last);
        last = json_loads(cvg_buf_cstr(&b), 0, NULL);
        cvg_buf_cleanup(&b);
        /* Ready needs one worker; give the others a moment to check in so
         * the banner shows the cluster as started. */
        json_t *w = json_object_get(json_object_get(last, "checks"), "workers");
        if (status == 200 &&
            (json_integer_value(json_object_get(w, "alive")) >= r->cfg.workers ||
             (first_ready && cvg_time_mono_ms() - first_ready > ALL_WORKERS_WAIT_MS)))
            return last;
        if (status == 200 && !first_ready)
            first_ready = cvg_time_mono_ms();
        cvg_time_sleep_ms(100);
    }
    if (!cvg_stop_requested() && !r->fatal) {
        char *text = last ? json_dumps(json_object_get(last, "checks"), JSON_COMPACT) : NULL;
        say("the cluster did not become ready within %d s: %s", READY_TIMEOUT_MS / 1000,
            text ? text : "the gateway does not answer");
        free(text);
    }
    json_decref(last);
    return NULL;
}

static void stop_all(run_t *r)
{
    /* Gateway first (no new work), workers, scheduler, then the logger so
     * it commits what the others sent on their way out. */
    static const char *order[] = {"tail", "gateway", "worker", "scheduler", "logger"};
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        int64_t deadline = cvg_time_mono_ms() + r->cfg.shutdown_grace_ms + STOP_EXTRA_MS;
        for (size_t i = 0; i < r->n; i++) {
            child_t *c = &r->children[i];
            if (c->pid > 0 && strncmp(c->name, order[o], strlen(order[o])) == 0)
                kill(c->pid, SIGTERM);
        }
        for (size_t i = 0; i < r->n; i++) {
            child_t *c = &r->children[i];
            if (c->pid <= 0 || strncmp(c->name, order[o], strlen(order[o])) != 0)
                continue;
            int status = 0;
            for (;;) {
                pid_t got = waitpid(c->pid, &status, WNOHANG);
                if (got == c->pid || (got < 0 && errno != EINTR))
                    break;
                if (cvg_time_mono_ms() > deadline) {
                    say("%s did not stop in time: killed", c->name);
                    kill(c->pid, SIGKILL);
                    waitpid(c->pid, &status, 0);
                    break;
                }
                cvg_time_sleep_ms(20);
            }
            if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && strcmp(order[o], "tail") != 0)
                say("%s stopped with exit code %d", c->name, WEXITSTATUS(status));
            c->pid = 0;
        }
    }
}

static void banner(const run_t *r, const char *bootstrap_note, const char *demo_note,
                   size_t workers)
{
    const char *host = strcmp(r->cfg.api_host, "0.0.0.0") == 0 ? "127.0.0.1" : r->cfg.api_host;
    bool in_env = r->cfg.admin_api_key[0] != '\0';
    char key_expr[1200];
    if (in_env)
        snprintf(key_expr, sizeof(key_expr), "$ADMIN_API_KEY");
    else
        snprintf(key_expr, sizeof(key_expr), "$(cat %s)", r->key_file);
    fprintf(stderr,
            "\nConvergence is running: gateway, scheduler, logger and %zu worker%s.\n\n"
            "  API          http://%s:%d\n"
            "  Admin key    %s\n"
            "  Warehouse    %s\n"
            "  Logs         %s/*.log\n"
            "  Bootstrap    %s\n"
            "  Demo tenant  %s\n\n"
            "Try:\n"
            "  curl -s http://%s:%d/health/ready\n"
            "  curl -s -X POST http://%s:%d/api/v1/admin/bootstrap -H \"X-Admin-Key: %s\"\n",
            workers, workers == 1 ? "" : "s", host, r->cfg.api_port, r->key_file,
            r->cfg.warehouse_url, r->log_dir, bootstrap_note, demo_note, host, r->cfg.api_port,
            host, r->cfg.api_port, key_expr);
    char demo_key[1200];
    snprintf(demo_key, sizeof(demo_key), "%s/demo_api_key", r->cfg.var_dir);
    if (cvg_fs_exists(demo_key))
        fprintf(stderr,
                "  curl -s http://%s:%d/api/v1/tenants/" DEMO_TENANT
                " -H \"X-API-Key: $(cat %s)\"\n"
                "  curl -s -X POST http://%s:%d/api/v1/pipelines/run/" DEMO_TENANT
                "/gcp/cost/cost_billing -H \"X-API-Key: $(cat %s)\" -H 'Content-Type: "
                "application/json' -d '{\"date\": \"2026-11-03\"}'\n",
                host, r->cfg.api_port, demo_key, host, r->cfg.api_port, demo_key);
    fprintf(stderr, "\nFollowing the event stream (Ctrl-C stops the cluster):\n\n");
}

/* Names of a string array as "a, b" into out. */
static void join_names(const json_t *names, char *out, size_t size)
{
    size_t i, len = 0;
    json_t *name;
    out[0] = '\0';
    json_array_foreach(names, i, name)
    {
        const char *text = json_string_value(name);
        int n = snprintf(out + len, size - len, "%s%s", i ? ", " : "", text ? text : "?");
        if (n < 0 || (size_t)n >= size - len) {
            /* cut before a name, and says so */
            snprintf(out + len, size - len, "%s...", i ? ", " : "");
            break;
        }
        len += (size_t)n;
    }
}

/* Bootstraps an empty warehouse, and brings an existing one up to date
 * (bootstrap is idempotent: it creates what is missing, adds indexes the
 * schemas gained and drops the ones they retired), so an upgraded build
 * started with `make run` needs no manual step. */
static int bootstrap(run_t *r, json_t *ready, const char *key, char *note, size_t size)
{
    json_t *wh = json_object_get(json_object_get(ready, "checks"), "warehouse");
    bool present = json_is_true(json_object_get(wh, "bootstrapped"));
    if (!r->bootstrap) {
        snprintf(note, size, "%s (--no-bootstrap)",
                 present ? "central dataset present, not brought up to date" : "not done yet");
        return 0;
    }
    cvg_buf_t b;
    cvg_buf_init(&b, 1 << 20);
    long status = http(r, "POST", "/api/v1/admin/bootstrap", key, NULL, &b);
    json_t *reply = json_loads(cvg_buf_cstr(&b), 0, NULL);
    int rc = 0;
    size_t created = json_array_size(json_object_get(reply, "tables_created"));
    size_t existing = json_array_size(json_object_get(reply, "tables_existing"));
    json_t *retired = json_object_get(reply, "indexes_retired");
    json_t *added = json_object_get(reply, "columns_added");
    json_t *indexes = json_object_get(reply, "indexes_added");
    if (status == 200 && existing == 0) {
        snprintf(note, size, "done: %zu central tables created", created);
    } else if (status == 200) {
        char names[160], columns[160] = "", made[160] = "";
        join_names(retired, names, sizeof(names));
        if (json_array_size(added) > 0) {
            char list[140];
            join_names(added, list, sizeof(list));
            snprintf(columns, sizeof(columns), "columns added: %s; ", list);
        }
        if (json_array_size(indexes) > 0) {
            char list[140];
            join_names(indexes, list, sizeof(list));
            snprintf(made, sizeof(made), "indexes added: %s; ", list);
        }
        snprintf(note, size, "up to date: %zu central tables present, %zu created; %s%s%s%s",
                 existing, created, columns, made,
                 json_array_size(retired) ? "indexes retired: " : "",
                 json_array_size(retired) ? names : "no index retired");
    } else if (present) {
        /* the cluster runs on the tables it has: say so, go on */
        say("warning: bringing the warehouse up to date failed (HTTP %ld): %s", status,
            cvg_buf_cstr(&b));
        snprintf(note, size,
                 "central dataset present; bringing it up to date FAILED (HTTP %ld), "
                 "see above",
                 status);
    } else {
        say("bootstrap failed (HTTP %ld): %s", status, cvg_buf_cstr(&b));
        snprintf(note, size, "FAILED (HTTP %ld), see above", status);
        rc = -1;
    }
    json_decref(reply);
    cvg_buf_cleanup(&b);
    return rc;
}

/* The demo tenant: onboarded on the first start, its key kept in
 * var/demo_api_key (mode 0600) since it is shown only once. */
/* The demo tenant's billing export: the sample of configs/samples, set
 * unless the tenant has a setting of its own. */
static void demo_settings(run_t *r, const char *key)
{
    cvg_buf_t b;
    cvg_buf_init(&b, 1 << 20);
    long status = http(r, "GET", "/api/v1/tenants/" DEMO_TENANT "/providers/gcp", key, NULL, &b);
    char dir[PATH_MAX];
    if (status == 404 && realpath(r->cfg.config_dir, dir) != NULL) {
        json_t *body = json_pack("{s:o}", "billing_export_uri",
                                 json_sprintf("file://%s/samples/gcp_billing_export.csv", dir));
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        cvg_buf_reset(&b);
        status = http(r, "PUT", "/api/v1/tenants/" DEMO_TENANT "/providers/gcp", key, text, &b);
        if (status != 200)
            say("setting the demo tenant's billing export failed (HTTP %ld): %s", status,
                cvg_buf_cstr(&b));
        free(text);
    }
    cvg_buf_cleanup(&b);
}

static void demo_tenant(run_t *r, const char *key, char *note, size_t size)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/demo_api_key", r->cfg.var_dir);
    cvg_buf_t b;
    cvg_buf_init(&b, 1 << 20);
    long status = http(r, "GET", "/api/v1/tenants/" DEMO_TENANT, key, NULL, &b);
    if (status == 200) {
        snprintf(note, size,
                 cvg_fs_exists(path) ? "%s (its key is in %s)"
                                     : "%s (its key file %s is gone: issue a new key with "
                                       "POST /api/v1/admin/api-keys)",
                 DEMO_TENANT, path);
        cvg_buf_cleanup(&b);
        demo_settings(r, key);
        return;
    }
    cvg_buf_reset(&b);
    status = http(r, "POST", "/api/v1/tenants/onboard", key,
                  "{\"tenant_id\": \"" DEMO_TENANT "\", \"company_name\": \"Demo Company\", "
                  "\"admin_email\": \"finops@demo-company.io\", \"plan_name\": \"ENTERPRISE\"}",
                  &b);
    json_t *reply = json_loads(cvg_buf_cstr(&b), 0, NULL);
    const char *api_key = json_string_value(json_object_get(reply, "api_key"));
    cvg_err_t err;
    cvg_err_clear(&err);
    char line[128];
    if (status != 201 || api_key == NULL) {
        say("onboarding the demo tenant failed (HTTP %ld): %s", status, cvg_buf_cstr(&b));
        snprintf(note, size, "not onboarded (HTTP %ld), see above", status);
    } else if (snprintf(line, sizeof(line), "%s\n", api_key) >= (int)sizeof(line) ||
               cvg_fs_write_file(path, line, strlen(line), 0600, &err) != 0) {
        say("cannot keep the demo tenant's key in %s: %s", path, err.message);
        snprintf(note, size, "%s onboarded, but its key could not be saved", DEMO_TENANT);
    } else {
        say("onboarded the demo tenant %s; its API key is in %s (mode 0600)", DEMO_TENANT, path);
        snprintf(note, size, "%s (its key is in %s)", DEMO_TENANT, path);
        demo_settings(r, key);
    }
    json_decref(reply);
    cvg_buf_cleanup(&b);
}

static const char USAGE[] =
    "Options of cvg-run itself:\n"
    "  --bin-dir DIR    where the cvg-* binaries are (default: build)\n"
    "  --no-tail        do not follow the event stream (for scripts)\n"
    "  --no-bootstrap   do not bootstrap the warehouse or bring it up to date (nor add the\n"
    "                   demo tenant)\n"
    "  --no-demo        do not onboard the demo tenant";

int main(int argc, char **argv)
{
    static run_t r;
    snprintf(r.bin_dir, sizeof(r.bin_dir), "build");
    r.tail = true;
    r.bootstrap = true;
    r.demo = true;
    /* Our own options first, then the common ones. */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bin-dir") == 0 && i + 1 < argc)
            snprintf(r.bin_dir, sizeof(r.bin_dir), "%s", argv[++i]);
        else if (strcmp(argv[i], "--no-tail") == 0)
            r.tail = false;
        else if (strcmp(argv[i], "--no-bootstrap") == 0)
            r.bootstrap = false;
        else if (strcmp(argv[i], "--no-demo") == 0)
            r.demo = false;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    cvg_cli_t cli = {.prog = "cvg-run",
                     .summary = "run the whole cluster on this host (make run)",
                     .usage = USAGE,
                     .procs = CVG_PROC_RUN};
    int rc = cvg_cli_parse(&cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    rc = cvg_startup(&cli, "cvg-run", &r.cfg);
    if (rc != 0)
        return rc;
    /* before anything is written or started */
    if (api_port_taken(&r)) {
        say("%s:%d is in use by another program (a cluster started from another directory?): "
            "stop it, or set API_PORT",
            r.cfg.api_host, r.cfg.api_port);
        return EX_UNAVAILABLE;
    }
    cvg_signals_install();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cvg_err_t err;
    cvg_err_clear(&err);
    snprintf(r.log_dir, sizeof(r.log_dir), "%s/log", r.cfg.var_dir);
    if (cvg_fs_mkdir_p(r.log_dir, 0700, &err) != 0) {
        say("%s", err.message);
        return EX_CANTCREAT;
    }
    char key[300];
    if (admin_key(&r, key, sizeof(key)) != 0 ||
        ensure_secret(&r, r.cfg.api_key_pepper, r.cfg.api_key_pepper_file,
                      "CVG_API_KEY_PEPPER_FILE", "api_key_pepper", make_pepper) != 0 ||
        ensure_secret(&r, r.cfg.master_key, r.cfg.master_key_file, "CVG_MASTER_KEY_FILE",
                      "master_keys", make_master_key) != 0)
        return EX_CONFIG;

    add_child(&r, "logger", "cvg-logger", NULL);
    add_child(&r, "scheduler", "cvg-scheduler", NULL);
    for (int i = 1; i <= r.cfg.workers; i++) {
        char name[32];
        snprintf(name, sizeof(name), "worker-%d", i);
        add_child(&r, name, "cvg-worker", NULL);
    }
    add_child(&r, "gateway", "cvg-gateway", NULL);
    for (size_t i = 0; i < r.n; i++) {
        if (access(r.children[i].binary, X_OK) != 0) {
            say("%s not found: run `make` first (or give --bin-dir)", r.children[i].binary);
            return EX_UNAVAILABLE;
        }
        spawn(&r, &r.children[i]);
    }
    say("started logger, scheduler, %d worker%s and gateway; waiting until ready", r.cfg.workers,
        r.cfg.workers == 1 ? "" : "s");

    rc = 0;
    json_t *ready = wait_ready(&r);
    if (ready == NULL) {
        rc = r.fatal ? r.fatal : cvg_stop_requested() ? 0 : EX_UNAVAILABLE;
        goto stop;
    }
    r.ready = true;
    char note[1024];
    char demo[1400] = "not added (--no-demo)";
    if (bootstrap(&r, ready, key, note, sizeof(note)) != 0) {
        rc = EX_SOFTWARE;
        snprintf(demo, sizeof(demo), "not checked (the bootstrap failed)");
    } else if (r.bootstrap && r.demo)
        demo_tenant(&r, key, demo, sizeof(demo));
    else if (!r.bootstrap) {
        /* looked at, not added: a warehouse left as it is may have it */
        char demo_key[1200];
        snprintf(demo_key, sizeof(demo_key), "%s/demo_api_key", r.cfg.var_dir);
        if (cvg_fs_exists(demo_key))
            snprintf(demo, sizeof(demo), "%s (its key is in %s; not checked: --no-bootstrap)",
                     DEMO_TENANT, demo_key);
        else
            snprintf(demo, sizeof(demo), "not added (--no-bootstrap)");
    }
    size_t workers = (size_t)json_integer_value(
        json_object_get(json_object_get(json_object_get(ready, "checks"), "workers"), "alive"));
    json_decref(ready);
    banner(&r, note, demo, workers);
    if (r.tail) {
        child_t *t = add_child(&r, "tail", "cvg-logger", "tail");
        t->foreground = true;
        spawn(&r, t);
    }
    while (!cvg_stop_requested() && !r.fatal) {
        supervise(&r);
        cvg_time_sleep_ms(100);
    }
    if (r.fatal)
        rc = r.fatal;
stop:
    say("stopping the cluster");
    stop_all(&r);
    say("stopped");
    curl_global_cleanup();
    return rc;
}
