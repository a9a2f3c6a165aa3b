/*
 * cvg-worker: runs one pipeline run at a time. Pulls jobs from the
 * scheduler (PULL, high-water mark one, read at once: one that comes while
 * a run is in hand is refused back to the scheduler), runs them on
 * a job thread through the runner while the main loop heartbeats to the
 * scheduler, and reports every state as an event to the logger.
 * `cvg-worker validate FILE...` checks pipeline configs and exits.
 */
#include "common/buf.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/outbound.h"
#include "common/proc.h"
#include "common/sock.h"
#include "common/time.h"
#include "common/yaml.h"
#include "worker/runner.h"
#include "worker/querycmd.h"
#include "worker/registry.h"

#include <czmq.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EMITTER_MAX_PENDING 10000
#define CANCEL_WAIT_MS      2000
#define START_MARGIN_MS     1000 /* a job with less lease left than this is not started */
#define FLUSH_POLL_MS       100
#define FLUSH_WAIT_MS       50 /* at most, per turn of the loop, for the logger's ack */

typedef struct wrk {
    cvg_config_t cfg;
    char id[CVG_NAME_MAX];
    cvg_wh_t *wh;       /* used only by the job thread while busy: the run's */
    cvg_wh_t *meta_wh;  /* the runner's own reads (settings, credentials) */
    cvg_keyring_t keys; /* credentials master keys */
    cvg_emitter_t *emitter;
    zsock_t *jobs;           /* PULL from the scheduler */
    zsock_t *status;         /* DEALER to the scheduler's worker socket */
    bool busy;               /* a run in hand, running or flushing */
    bool flushing;           /* ran; its events are not all committed yet */
    char run_id[CVG_ID_LEN]; /* the run in hand, for heartbeats */
    int attempt;
    pthread_t thread;
    cvg_job_t job;                /* the run in hand, owned while busy */
    volatile sig_atomic_t cancel; /* WRK_CANCEL_* or 0 */
    bool handed_back;             /* the run stopped unfinished because this worker stops */
    atomic_bool done;
    int done_pipe[2];
    int64_t last_heartbeat;
    uint64_t runs, failed;
    cvg_providers_t providers; /* settings tenants may store */
} wrk_t;

static void send_worker_msg(wrk_t *w, const cvg_worker_msg_t *m)
{
    cvg_buf_t b;
    cvg_buf_init(&b, 4096);
    if (cvg_msg_encode_worker(m, &b) == 0)
        zmq_send(zsock_resolve(w->status), b.data, b.len, ZMQ_DONTWAIT);
    cvg_buf_cleanup(&b);
}

static void send_status(wrk_t *w, const char *op)
{
    cvg_worker_msg_t m = {.pid = getpid(), .ts_ms = cvg_time_now_ms()};
    snprintf(m.op, sizeof(m.op), "%s", op);
    snprintf(m.worker_id, sizeof(m.worker_id), "%s", w->id);
    snprintf(m.state, sizeof(m.state), "%s",
             cvg_stop_requested() ? "stopping"
             : w->busy            ? "busy"
                                  : "idle");
    if (w->busy) {
        memcpy(m.run_id, w->run_id, sizeof(m.run_id));
        m.attempt = w->attempt;
    }
    send_worker_msg(w, &m);
    w->last_heartbeat = cvg_time_mono_ms();
}

/* Gives a pushed job back unstarted (this worker is busy): that dispatch
 * of it, named by its lease deadline, is queued again at once. */
static void refuse(wrk_t *w, const cvg_job_t *j)
{
    cvg_worker_msg_t m = {.pid = getpid(), .ts_ms = cvg_time_now_ms()};
    snprintf(m.op, sizeof(m.op), "refused");
    snprintf(m.worker_id, sizeof(m.worker_id), "%s", w->id);
    snprintf(m.state, sizeof(m.state), "busy");
    memcpy(m.run_id, j->run_id, sizeof(m.run_id));
    m.attempt = j->attempt;
    m.lease_deadline_ms = j->lease_deadline_ms;
    send_worker_msg(w, &m);
}

/* Reports a run that could not start (bad config) as started and failed,
 * so its run log says why. */
static void report_unrunnable(wrk_t *w, const cvg_job_t *j, const char *pipeline_id,
                              const char *error)
{
    cvg_event_kind_t kinds[2] = {CVG_EV_RUN_STARTED, CVG_EV_RUN_FINISHED};
    int64_t now = cvg_time_now_ms();
    for (int i = 0; i < 2; i++) {
        cvg_event_t ev;
        cvg_event_init(&ev, kinds[i]);
        snprintf(ev.run_id, sizeof(ev.run_id), "%s", j->run_id);
        snprintf(ev.tenant_id, sizeof(ev.tenant_id), "%s", j->tenant_id);
        snprintf(ev.pipeline_id, sizeof(ev.pipeline_id), "%.128s", pipeline_id);
        snprintf(ev.pipeline, sizeof(ev.pipeline), "%s", j->pipeline);
        snprintf(ev.status, sizeof(ev.status), "%s", i == 0 ? "RUNNING" : "FAILED");
        snprintf(ev.worker_id, sizeof(ev.worker_id), "%s", w->id);
        snprintf(ev.trigger_type, sizeof(ev.trigger_type), "%s", j->trigger_type);
        snprintf(ev.triggered_by, sizeof(ev.triggered_by), "%s", j->triggered_by);
        ev.attempt = j->attempt;
        ev.start_ms = now;
        if (i == 1) {
            ev.end_ms = now;
            ev.error = strdup(error);
        }
        cvg_emitter_send(w->emitter, &ev, 30000);
        cvg_event_cleanup(&ev);
    }
}

static void *job_thread(void *arg)
{
    wrk_t *w = arg;
    cvg_job_t *j = &w->job;
    cvg_pipeline_t p;
    cvg_errlist_t *errs = cvg_errlist_new();
    cvg_err_t err;
    cvg_err_clear(&err);
    wrk_env_t env = {.wh = w->wh,
                     .cfg = &w->cfg,
                     .emitter = w->emitter,
                     .worker_id = w->id,
                     .cancel = &w->cancel,
                     .providers = &w->providers,
                     .keys = &w->keys,
                     .meta_wh = w->meta_wh};
    int rc = errs ? wrk_runner_load(&env, j->pipeline, &p, errs, &err, NULL)
                  : cvg_err_set(&err, CVG_ENOMEM, "", "out of memory");
    if (rc != 0) {
        char msg[1400];
        snprintf(msg, sizeof(msg), "pipeline %s cannot run: %.1000s", j->pipeline, err.message);
        cvg_log_ctx_t lc = {.tenant_id = j->tenant_id, .run_id = j->run_id};
        cvg_error(&lc, "%s", msg);
        /* No valid config to take pipeline_id from: the one it had when
         * the run was queued, else the template's name. */
        const char *name = strrchr(j->pipeline, '/');
        report_unrunnable(w, j,
                          j->pipeline_id[0] ? j->pipeline_id
                          : name            ? name + 1
                                            : j->pipeline,
                          msg);
        w->failed++;
    } else {
        wrk_run_t run = {.run_id = j->run_id,
                         .tenant_id = j->tenant_id,
                         .trigger_type = j->trigger_type,
                         .triggered_by = j->triggered_by,
                         .attempt = j->attempt,
                         .params = &j->params};
        wrk_outcome_t out;
        wrk_runner_run(&env, &run, &p, &out);
        w->handed_back = strcmp(out.status, "RETRYING") == 0;
        if (strcmp(out.status, "SUCCEEDED") != 0 && !w->handed_back)
            w->failed++;
        wrk_outcome_cleanup(&out);
        cvg_pipeline_cleanup(&p);
    }
    free(errs);
    atomic_store(&w->done, true);
    char c = 1;
    ssize_t n = write(w->done_pipe[1], &c, 1);
    (void)n;
    return NULL;
}

/* A command from the scheduler: "cancel" the run in hand. */
static void on_command(wrk_t *w)
{
    zframe_t *f = zframe_recv(w->status);
    if (f == NULL)
        return;
    cvg_msg_t m;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_msg_decode(zframe_data(f), zframe_size(f), &m, &err) != 0) {
        cvg_warn(NULL, "command from the scheduler dropped: %s", err.message);
        zframe_destroy(&f);
        return;
    }
    if (m.type == CVG_MSG_WORKER && strcmp(m.u.worker.op, "cancel") == 0 && w->busy &&
        !w->flushing && strcmp(m.u.worker.run_id, w->run_id) == 0) {
        cvg_log_ctx_t lc = {.tenant_id = w->job.tenant_id, .run_id = w->run_id};
        cvg_info(&lc, "cancel requested: stopping the run");
        w->cancel = WRK_CANCEL_REQUESTED;
    }
    cvg_msg_cleanup(&m);
    zframe_destroy(&f);
}

/* The job thread ended. The run stays in hand (and in heartbeats, which
 * keep its lease) until the logger has committed all its events: only then
 * is it safe to take another. */
static void finish_job(wrk_t *w)
{
    pthread_join(w->thread, NULL);
    cvg_params_cleanup(&w->job.params);
    w->flushing = true;
    w->cancel = 0;
    atomic_store(&w->done, false);
    char drain[16];
    while (read(w->done_pipe[0], drain, sizeof(drain)) > 0) {
    }
    w->runs++;
}

static void take_job(wrk_t *w)
{
    zframe_t *f = zframe_recv(w->jobs);
    if (f == NULL)
        return;
    cvg_msg_t m;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_msg_decode(zframe_data(f), zframe_size(f), &m, &err);
    zframe_destroy(&f);
    if (rc != 0 || m.type != CVG_MSG_JOB) {
        cvg_warn(NULL, "job message dropped: %s", rc ? err.message : "not a job");
        cvg_msg_cleanup(&m);
        return;
    }
    cvg_log_ctx_t lc = {.tenant_id = m.u.job.tenant_id, .run_id = m.u.job.run_id};
    if (w->busy) {
        /* PUSH's round-robin does not know who is free: give it back at
         * once for another worker, rather than keep it waiting here */
        refuse(w, &m.u.job);
        cvg_debug(&lc, "busy: run of %s refused", m.u.job.pipeline);
        cvg_msg_cleanup(&m);
        return;
    }
    if (m.u.job.lease_deadline_ms > 0 &&
        m.u.job.lease_deadline_ms - START_MARGIN_MS < cvg_time_now_ms()) {
        /* It waited too long in a pipe: the scheduler takes it back at the
         * deadline, so starting it now could run it twice. */
        cvg_warn(&lc, "job for %s arrived too close to its dispatch lease; left to the scheduler",
                 m.u.job.pipeline);
        cvg_msg_cleanup(&m);
        return;
    }
    w->job = m.u.job; /* takes the params */
    memcpy(w->run_id, w->job.run_id, sizeof(w->run_id));
    w->attempt = w->job.attempt;
    w->busy = true;
    w->flushing = false;
    w->cancel = 0;
    if (pthread_create(&w->thread, NULL, job_thread, w) != 0) {
        cvg_error(&lc, "cannot start the job thread; the lease will return the run");
        cvg_params_cleanup(&w->job.params);
        w->busy = false;
        return;
    }
    send_status(w, "heartbeat");
}

static int serve(wrk_t *w)
{
    send_status(w, "hello");
    while (!cvg_stop_requested()) {
        /* A finished run's events: take the next job as soon as the logger
         * has acknowledged them (the wait ends at the ack). */
        if (w->flushing)
            cvg_emitter_flush(w->emitter, FLUSH_WAIT_MS);
        if (w->flushing && cvg_emitter_pending(w->emitter) == 0) {
            w->flushing = false;
            w->busy = false;
            w->run_id[0] = '\0';
            send_status(w, "heartbeat");
        }
        int64_t now = cvg_time_mono_ms();
        long wait = w->cfg.heartbeat_ms - (long)(now - w->last_heartbeat);
        if (wait <= 0) {
            send_status(w, "heartbeat");
            wait = w->cfg.heartbeat_ms;
        }
        if (w->flushing && wait > FLUSH_POLL_MS)
            wait = FLUSH_POLL_MS;
        zmq_pollitem_t items[3] = {{zsock_resolve(w->status), 0, ZMQ_POLLIN, 0},
                                   {NULL, w->done_pipe[0], ZMQ_POLLIN, 0},
                                   {zsock_resolve(w->jobs), 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 3, wait);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            return EX_SOFTWARE;
        }
        if (items[0].revents & ZMQ_POLLIN)
            on_command(w);
        if ((items[1].revents & ZMQ_POLLIN) && atomic_load(&w->done))
            finish_job(w);
        if (items[2].revents & ZMQ_POLLIN)
            take_job(w);
    }
    return 0;
}

/* On stop: let the run in hand finish within the grace period, then stop
 * it and hand it back to the scheduler (sent after its events, with the
 * "bye"), which queues it again at once; a run that still does not end is
 * left to its lease. Returns false when the job thread is still running. */
static bool drain(wrk_t *w)
{
    if (!w->busy || w->flushing)
        return true;
    cvg_log_ctx_t lc = {.tenant_id = w->job.tenant_id, .run_id = w->job.run_id};
    cvg_info(&lc, "stopping: waiting up to %d ms for the run in hand", w->cfg.shutdown_grace_ms);
    int64_t deadline = cvg_time_mono_ms() + w->cfg.shutdown_grace_ms;
    bool cancelled = false;
    while (!atomic_load(&w->done)) {
        int64_t now = cvg_time_mono_ms();
        if (now >= deadline && !cancelled) {
            /* a cancel asked for already goes on: the run ends CANCELLED */
            if (w->cancel == 0)
                w->cancel = WRK_CANCEL_STOPPING;
            cancelled = true;
            deadline = now + CANCEL_WAIT_MS;
            cvg_warn(&lc, "run did not finish in time; stopping it to hand it back");
        } else if (now >= deadline) {
            cvg_warn(&lc, "run still busy; handing it back to the scheduler's lease");
            return false;
        }
        if (now - w->last_heartbeat >= w->cfg.heartbeat_ms)
            send_status(w, "heartbeat");
        zmq_pollitem_t item = {NULL, w->done_pipe[0], ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, 100);
    }
    finish_job(w);
    return true;
}

/* Whether file is one of the setup pipelines (below CVG_CONFIG_DIR/setup/),
 * whose steps may be setup processors, as in the gateway; any other is a
 * tenant pipeline, checked as a run request would be. */
static bool setup_file(const cvg_config_t *cfg, const char *file)
{
    char real[PATH_MAX], setup[PATH_MAX], dir[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s/setup", cfg->config_dir);
    if (realpath(file, real) == NULL || realpath(dir, setup) == NULL)
        return false;
    size_t n = strlen(setup);
    return strncmp(real, setup, n) == 0 && real[n] == '/';
}

static int validate_files(const cvg_config_t *cfg, const cvg_providers_t *providers, int argc,
                          char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cvg-worker validate FILE...\n");
        return EX_USAGE;
    }
    int bad = 0;
    wrk_env_t env = {.cfg = cfg, .setup_allowed = true, .providers = providers};
    cvg_errlist_t *errs = cvg_errlist_new();
    if (errs == NULL)
        return EX_OSERR;
    for (int i = 1; i < argc; i++) {
        json_t *doc = NULL;
        cvg_err_t err;
        cvg_err_clear(&err);
        cvg_errlist_reset(errs);
        env.setup_allowed = setup_file(cfg, argv[i]);
        cvg_pipeline_t p;
        int rc = cvg_yaml_load_file(argv[i], &doc, &err);
        if (rc != 0) {
            cvg_errlist_add(errs, rc, "", "%s", err.message);
        } else if (wrk_runner_prepare(&env, doc, argv[i], &p, errs, &err, NULL) == 0) {
            cvg_pipeline_cleanup(&p);
        }
        json_decref(doc);
        if (errs->n == 0) {
            printf("%s: ok\n", argv[i]);
            continue;
        }
        bad++;
        size_t named = strlen(argv[i]);
        for (size_t e = 0; e < errs->n; e++) {
            /* the loader's messages name the file already (FILE:LINE:COL) */
            const char *m = errs->items[e].message;
            bool has_name = strncmp(m, argv[i], named) == 0 && (m[named] == ':' || m[named] == ' ');
            if (has_name)
                printf("%s\n", m);
            else
                printf("%s: %s\n", argv[i], m);
        }
        if (errs->dropped)
            printf("%s: ... and %zu more errors\n", argv[i], errs->dropped);
    }
    free(errs);
    return bad ? EX_DATAERR : 0;
}

static const char USAGE[] =
    "Commands:\n"
    "  (none)             run the worker\n"
    "  validate FILE...   check pipeline configs and exit (non-zero on "
    "errors)\n"
    "  query SQL          run one SELECT on the warehouse and print the "
    "rows as JSON lines\n"
    "                     (views such as <tenant>.tenant_comprehensive_view "
    "included)";

int main(int argc, char **argv)
{
    cvg_cli_t cli = {.prog = "cvg-worker",
                     .summary = "runs pipeline runs pushed by the scheduler",
                     .usage = USAGE,
                     .procs = CVG_PROC_WORKER};
    int rc = cvg_cli_parse(&cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    static wrk_t w;
    bool validate = cli.argc > 0 && strcmp(cli.argv[0], "validate") == 0;
    bool query = cli.argc > 0 && strcmp(cli.argv[0], "query") == 0;
    if (cli.argc > 0 && !validate && !query) {
        fprintf(stderr, "cvg-worker: unknown command %s (see --help)\n", cli.argv[0]);
        return EX_USAGE;
    }
    rc = cvg_startup(&cli, "worker", &w.cfg);
    if (rc != 0)
        return rc;
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_outbound_t outbound;
    const char *variable = NULL; /* the setting at fault */
    if (cvg_outbound_from_config(&w.cfg, &outbound, &err) != 0)
        variable = err.field[0] ? err.field : "CVG_OUTBOUND_ALLOW";
    else if (cvg_providers_load(w.cfg.config_dir, &w.providers, &err) != 0)
        variable = "CVG_CONFIG_DIR";
    else if (cvg_keyring_load(&w.keys, &w.cfg, &err) != 0)
        variable = err.field[0] ? err.field : "CVG_MASTER_KEY";
    else if (!query && !cvg_fs_exists(w.cfg.templates_dir)) {
        /* every step's schema is read from there (a query needs none) */
        cvg_err_set(&err, CVG_ENOTFOUND, "CVG_TEMPLATES_DIR", "no processor schemas: %s not found",
                    w.cfg.templates_dir);
        variable = "CVG_TEMPLATES_DIR";
    }
    if (variable != NULL) {
        if ((validate || query) && err.code == CVG_ENOTFOUND &&
            (strcmp(variable, "CVG_CONFIG_DIR") == 0 ||
             strcmp(variable, "CVG_TEMPLATES_DIR") == 0)) {
            /* a command at a terminal: a plain line, and where it looked */
            fprintf(stderr,
                    "cvg-worker: configuration error: %s (CVG_CONFIG_DIR is '%s' and "
                    "CVG_TEMPLATES_DIR '%s': run from the directory holding configs/ and "
                    "ps_templates/, or set them; see --help)\n",
                    err.message, w.cfg.config_dir, w.cfg.templates_dir);
        } else if (validate || query) {
            fprintf(stderr, "cvg-worker: configuration error: %s (check %s; see --help)\n",
                    err.message, variable);
        } else {
            cvg_log_field_t f = CVG_LF_STR("variable", variable);
            cvg_log_write(CVG_LOG_ERROR, NULL, &f, 1, "configuration error: %s", err.message);
        }
        return EX_CONFIG;
    }
    if (query) {
        cvg_providers_cleanup(&w.providers);
        cvg_keyring_wipe(&w.keys);
        if (cli.argc != 2) {
            fprintf(stderr, "usage: cvg-worker query \"SELECT ...\"\n");
            return EX_USAGE;
        }
        return wrk_query_command(&w.cfg, cli.argv[1]);
    }
    if (validate) {
        rc = validate_files(&w.cfg, &w.providers, cli.argc, cli.argv);
        cvg_providers_cleanup(&w.providers);
        wrk_registry_unload();
        return rc;
    }

    /* Before any thread: processors' libcurl transfers rely on it. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cvg_error(NULL, "cannot initialise libcurl");
        rc = EX_SOFTWARE;
        goto out;
    }
    cvg_signals_install();
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(w.id, sizeof(w.id), "%s-%ld", host, (long)getpid());
    if (cvg_wh_open(w.cfg.warehouse_url, &w.wh, &err) != 0 ||
        cvg_wh_open(w.cfg.warehouse_url, &w.meta_wh, &err) != 0) {
        cvg_error(NULL, "cannot open the warehouse: %s", err.message);
        rc = EX_UNAVAILABLE;
        goto out;
    }
    /* a step waits for its dataset's write lock as long as its time limit
     * allows: the tenant's other runs write it too */
    cvg_wh_set_lock_wait(w.wh, -1);
    if (cli.check_config) {
        printf("cvg-worker: configuration ok (warehouse %s)\n", cvg_wh_driver(w.wh));
        rc = 0;
        goto out;
    }
    rc = EX_CANTCREAT;
    if (pipe(w.done_pipe) != 0) {
        rc = EX_OSERR;
        goto out;
    }
    fcntl(w.done_pipe[0], F_SETFL, O_NONBLOCK);
    w.jobs = cvg_sock_connect(ZMQ_PULL, w.cfg.jobs_endpoint, &err);
    if (w.jobs)
        w.status = cvg_sock_connect(ZMQ_DEALER, w.cfg.workers_endpoint, &err);
    if (w.status == NULL) {
        cvg_error(NULL, "cannot set up sockets: %s", err.message);
        goto out;
    }
    zsock_set_rcvhwm(w.jobs, 1);
    w.emitter = cvg_emitter_new(w.cfg.events_endpoint, w.cfg.event_ack_timeout_ms,
                                EMITTER_MAX_PENDING, &err);
    if (w.emitter == NULL) {
        cvg_error(NULL, "cannot start the event emitter: %s", err.message);
        goto out;
    }
    cvg_log_field_t f[2] = {CVG_LF_STR("worker_id", w.id), CVG_LF_STR("jobs", w.cfg.jobs_endpoint)};
    cvg_log_write(CVG_LOG_INFO, NULL, f, 2, "worker started (version %s)", CVG_VERSION);
    rc = serve(&w);
    /* Taking no more jobs: leave the scheduler's PUSH round-robin at once,
     * so no job (the run this worker is about to hand back among them)
     * waits in a pipe to a worker that will not read it. */
    zsock_destroy(&w.jobs);
    bool clean = drain(&w);
    if (cvg_emitter_flush(w.emitter, w.cfg.shutdown_grace_ms) != 0)
        cvg_warn(NULL, "%zu event(s) not acknowledged by the logger at exit",
                 cvg_emitter_pending(w.emitter));
    if (clean && w.handed_back)
        send_status(&w, "handback"); /* after its events: the next attempt's come later */
    send_status(&w, "bye");
    cvg_log_field_t g[3] = {CVG_LF_STR("worker_id", w.id), CVG_LF_NUM("runs", w.runs),
                            CVG_LF_NUM("failed", w.failed)};
    cvg_log_write(CVG_LOG_INFO, NULL, g, 3, "worker stopped");
    if (!clean) {
        /* The job thread still holds the warehouse: leave without tearing
         * down what it uses. */
        fflush(NULL);
        _exit(rc);
    }
out:
    cvg_emitter_destroy(&w.emitter);
    zsock_destroy(&w.status);
    zsock_destroy(&w.jobs);
    if (w.done_pipe[0] > 0) {
        close(w.done_pipe[0]);
        close(w.done_pipe[1]);
    }
    cvg_wh_close(&w.wh);
    cvg_wh_close(&w.meta_wh);
    cvg_keyring_wipe(&w.keys);
    cvg_providers_cleanup(&w.providers);
    wrk_registry_unload();
    curl_global_cleanup();
    return rc;
}
