/*
 * Integration harness: starts the real binaries (logger, scheduler,
 * workers, gateway) in a temporary directory, on free ports, over tcp://
 * sockets, and talks to them over HTTP as a client would.
 */
#ifndef CVG_HARNESS_H
#define CVG_HARNESS_H

#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#define HARNESS_MAX_PROCS 32

typedef struct proc {
    char name[32];
    pid_t pid;
    int exit_status; /* raw wait status once reaped */
    bool reaped;
} proc_t;

typedef struct cluster {
    char *dir; /* temporary directory */
    int api_port;
    int control_port; /* the scheduler's control socket (tcp://127.0.0.1) */
    char admin_key[80];
    char master_b64[64]; /* the credentials master key, version 1 */
    char warehouse_dir[600];
    char env_file[600];
    proc_t procs[HARNESS_MAX_PROCS];
    int nprocs;
} cluster_t;

/* Makes the temporary directory, picks free ports and writes the env file
 * every process reads; without_key leaves ADMIN_API_KEY out. */
int cluster_prepare(cluster_t *c, bool without_key);

/* Prepares, then starts a cluster with `workers` workers (0 allowed);
 * with_gateway false leaves the gateway out. 0 when all were started. */
int cluster_start(cluster_t *c, int workers, bool with_gateway);

/* Starts the processes of a prepared cluster (cluster_start without the
 * preparing), for suites that change the env file first. */
int cluster_launch(cluster_t *c, int workers, bool with_gateway);

/* Sets NAME=VALUE in the env file every process reads, replacing it. */
int cluster_env_set(cluster_t *c, const char *name, const char *value);

/* Copies the repository's configs/ and the test pipelines
 * (tests/configs/pipelines/test, as configs/test) into the cluster's
 * directory and points CVG_CONFIG_DIR at the copy; before launching. 0 on
 * success. */
int cluster_use_test_configs(cluster_t *c);

/* Onboards tenant on plan with the admin key; its first API key goes to
 * key ("" when the onboarding was refused). */
void cluster_onboard(const cluster_t *c, const char *tenant, const char *plan, char *key,
                     size_t size);

/* The value of a variable in the env file into out; false when absent. */
bool cluster_env_get(const cluster_t *c, const char *name, char *out, size_t size);

/* Starts one more process of the cluster (binary "cvg-logger", ...), with
 * extra arguments and NAME=VALUE environment overrides (both NULL-terminated,
 * may be NULL). Its stdout and stderr go to <dir>/<name>.log. */
proc_t *cluster_spawn(cluster_t *c, const char *name, const char *binary, const char *const *args,
                      const char *const *env);

/* Starts a second gateway of the cluster, as process name, on a free port
 * (*port) with the extra environment settings env (NULL-terminated, may be
 * NULL), and waits until it answers 200 on health (a path: /health/live,
 * /health/ready), up to 15 s. NULL when it did not start or answer. */
proc_t *cluster_spawn_gateway(cluster_t *c, const char *name, const char *const *env,
                              const char *health, int *port);

/* Starts any command as process name of the cluster: argv[0] is looked up
 * in PATH, argv is NULL-terminated; stdout and stderr go to <dir>/<name>.log. */
proc_t *cluster_spawn_argv(cluster_t *c, const char *name, char *const *argv,
                           const char *const *env);

/* The content of <dir>/<name>.log ("" when none); free() it. */
char *cluster_log(const cluster_t *c, const char *name);

/* Waits until <name>.log contains text. */
bool cluster_wait_log(const cluster_t *c, const char *name, const char *text, int timeout_ms);

/* The same, for text written past the log's first `from` bytes (what a
 * process says from some moment on). */
bool cluster_wait_log_after(const cluster_t *c, const char *name, size_t from, const char *text,
                            int timeout_ms);

/* Waits for a process to exit by itself; returns its exit code or -1. */
int cluster_wait_exit(cluster_t *c, proc_t *p, int timeout_ms);

/* Runs a write statement on a dataset file with up to 8 text parameters
 * (NULL-terminated). Returns 0 on success. */
int wh_exec(const cluster_t *c, const char *dataset, const char *sql, const char *const *args);

/* Waits until GET /health/ready answers 200 (true) or timeout_ms passes. */
bool cluster_wait_ready(cluster_t *c, int timeout_ms);

/* Sends SIGTERM to one process and waits for it; returns its exit code,
 * or -1 when it had to be killed or died of a signal. */
int cluster_stop_proc(cluster_t *c, proc_t *p, int timeout_ms);

/* Stops every process still running (the cluster in shutdown order, then
 * the rest) and removes the directory. Returns how many processes valgrind
 * found errors in (make valgrind), each reported with its log. */
int cluster_destroy(cluster_t *c);

/* The process named name, or NULL. */
proc_t *cluster_proc(cluster_t *c, const char *name);

/* The first row of a run's "steps" (as GET /api/v1/pipelines/runs/{id}
 * answers) with this step_id, i.e. its first attempt; NULL when none.
 * Borrowed from run. */
const json_t *run_step(const json_t *run, const char *step_id);

/* One HTTP request. headers: NULL-terminated "Name: value" strings.
 * Returns the status (0 on transport failure); *json gets the parsed body
 * when it is JSON (json_decref it). */
long http_request(const cluster_t *c, const char *method, const char *path,
                  const char *const *headers, const char *body, json_t **json);

/* The same against another gateway's port. */
long http_request_at(int port, const char *method, const char *path, const char *const *headers,
                     const char *body, json_t **json);

/* A whole reply: status (0 on transport failure), raw header block and body. */
typedef struct http_reply {
    long status;
    cvg_buf_t headers;
    cvg_buf_t body;
} http_reply_t;

/* One request keeping the raw reply; http_reply_free() it afterwards. */
long http_call(int port, const char *method, const char *path, const char *const *headers,
               const char *body, http_reply_t *reply);
void http_reply_free(http_reply_t *reply);

/* The value of reply header name (case-insensitive) into out; false when
 * the reply has no such header. */
bool http_reply_header(const http_reply_t *reply, const char *name, char *out, size_t size);

/* The value of an unlabelled counter in the gateway's /metrics text, or
 * -1 when it cannot be read. */
long long gateway_metric(const cluster_t *c, const char *name);
long long gateway_metric_at(int port, const char *name);

/* A TCP port nobody listens on right now. */
int harness_free_port(void);

/* Row counts of the central management tables, as one string: equal
 * strings before and after a request mean it changed nothing there. */
void central_snapshot(const cluster_t *c, char *out, size_t size);

/* Runs a query on a dataset file of the cluster's warehouse and returns
 * the first column of the first row as an integer (-1 on error). */
long long wh_int(const cluster_t *c, const char *dataset, const char *sql, const char *arg);

/* Same, as text into out ("" when no row). */
void wh_text(const cluster_t *c, const char *dataset, const char *sql, const char *arg, char *out,
             size_t size);

/* Polls wh_int until it equals want or timeout_ms passes. */
bool wait_wh_int(const cluster_t *c, const char *dataset, const char *sql, const char *arg,
                 long long want, int timeout_ms);

#endif
