/*
 * cvg-scheduler: the single owner of the run queue. Answers the gateway's
 * control requests, keeps the view of live workers from their heartbeats,
 * pushes due runs to idle workers, follows completions on the logger's
 * stream and takes back runs whose worker was lost.
 */
#include "common/buf.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/proc.h"
#include "common/sock.h"
#include "common/time.h"
#include "scheduler/fire.h"
#include "scheduler/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 250
/* Runs whose end the run log missed, told again at one start, at most. */
#define RECONCILE_MAX       1000
#define EMITTER_MAX_PENDING 10000

/* An enqueue message that did not decode but says whom to answer. */
typedef struct refused {
    char id[CVG_ID_LEN]; /* "" when not even that could be read */
    size_t n;            /* its runs */
} refused_t;

/* Reads [identity][payload] from a ROUTER and decodes the payload; when
 * that fails and refused is given, peeks for an enqueue message's id. */
static int recv_routed(zsock_t *sock, zframe_t **identity, cvg_msg_t *m, cvg_err_t *err,
                       refused_t *refused)
{
    zmsg_t *msg = zmsg_recv(sock);
    *identity = NULL;
    memset(m, 0, sizeof(*m));
    if (refused)
        memset(refused, 0, sizeof(*refused));
    if (msg == NULL)
        return CVG_EIO;
    *identity = zmsg_pop(msg);
    zframe_t *payload = zmsg_last(msg);
    int rc = payload ? cvg_msg_decode(zframe_data(payload), zframe_size(payload), m, err)
                     : cvg_err_set(err, CVG_EPROTO, "", "message without payload");
    if (rc != 0 && payload && refused &&
        cvg_msg_peek_enqueue(zframe_data(payload), zframe_size(payload), refused->id,
                             &refused->n) != 0)
        refused->id[0] = '\0';
    zmsg_destroy(&msg);
    return rc;
}

#define CONTROL_BATCH    128  /* control messages read at once */
#define ENQUEUE_RUNS_MAX 1024 /* runs queued in one transaction, at most */

static void send_routed(sch_t *s, zframe_t *identity, const cvg_buf_t *b)
{
    zframe_t *id = zframe_dup(identity);
    zframe_send(&id, s->control, ZFRAME_MORE);
    zframe_t *f = zframe_new(b->data, b->len);
    zframe_send(&f, s->control, 0);
}

static void send_reply(sch_t *s, zframe_t *identity, const cvg_ctl_t *req, json_t *body, int status)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    cvg_ctl_t rep = {.op = "reply", .status = status, .body = text};
    memcpy(rep.id, req->id, sizeof(rep.id));
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    if (cvg_msg_encode_ctl(&rep, &b) == 0)
        send_routed(s, identity, &b);
    cvg_buf_cleanup(&b);
    free(text);
}

/* Answers an enqueue message with the results of its n runs. */
static void send_enqueued(sch_t *s, zframe_t *identity, const cvg_enqueue_t *req,
                          cvg_enq_result_t *results)
{
    cvg_msg_t m = {.type = CVG_MSG_ENQUEUED};
    memcpy(m.u.enqueued.id, req->id, sizeof(m.u.enqueued.id));
    m.u.enqueued.n = req->n;
    m.u.enqueued.results = results;
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    if (cvg_msg_encode(&m, &b) == 0)
        send_routed(s, identity, &b);
    else
        cvg_warn(NULL, "the results of %zu runs could not be encoded", req->n);
    cvg_buf_cleanup(&b);
}

/* Answers each run of an enqueue message that could not be read with why,
 * rather than leaving its callers to time out. */
static void answer_refused(sch_t *s, zframe_t *identity, const refused_t *r, const cvg_err_t *why)
{
    cvg_enq_result_t *results = calloc(r->n ? r->n : 1, sizeof(*results));
    if (results == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        results[i].status = CVG_EPROTO;
        snprintf(results[i].code, sizeof(results[i].code), "invalid_request");
        snprintf(results[i].reason, sizeof(results[i].reason),
                 "the scheduler could not read the run request: %.150s", why->message);
    }
    cvg_enqueue_t req = {.n = r->n};
    memcpy(req.id, r->id, sizeof(req.id));
    send_enqueued(s, identity, &req, results);
    free(results);
}

/* Reads what is waiting (up to CONTROL_BATCH messages): the runs of every
 * enqueue message among them share one transaction, control requests are
 * answered one by one. */
static void on_control(sch_t *s)
{
    static zframe_t *ids[CONTROL_BATCH];
    static cvg_msg_t msgs[CONTROL_BATCH];
    static const cvg_enq_run_t *runs[ENQUEUE_RUNS_MAX];
    static cvg_enq_result_t results[ENQUEUE_RUNS_MAX];
    size_t n = 0, nruns = 0;
    do {
        cvg_err_t err;
        cvg_err_clear(&err);
        refused_t refused;
        int rc = recv_routed(s->control, &ids[n], &msgs[n], &err, &refused);
        cvg_msg_type_t type = msgs[n].type;
        if (rc != 0 || (type != CVG_MSG_CTL && type != CVG_MSG_ENQUEUE)) {
            if (rc != 0)
                cvg_warn(NULL, "control message dropped: %s", err.message);
            if (rc != 0 && refused.id[0] != '\0' && ids[n] != NULL)
                answer_refused(s, ids[n], &refused, &err);
            cvg_msg_cleanup(&msgs[n]);
            zframe_destroy(&ids[n]);
            continue;
        }
        for (size_t i = 0; type == CVG_MSG_ENQUEUE && i < msgs[n].u.enqueue.n; i++)
            runs[nruns++] = &msgs[n].u.enqueue.runs[i];
        n++;
    } while (n < CONTROL_BATCH && nruns + CVG_ENQUEUE_MAX <= ENQUEUE_RUNS_MAX &&
             (zsock_events(s->control) & ZMQ_POLLIN));
    if (nruns > 0)
        sch_enqueue_batch(s, nruns, runs, results);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].type == CVG_MSG_ENQUEUE) {
            send_enqueued(s, ids[i], &msgs[i].u.enqueue, &results[at]);
            at += msgs[i].u.enqueue.n;
        } else {
            const cvg_ctl_t *req = &msgs[i].u.ctl;
            int status = 0;
            json_t *reply = sch_control_handle(s, req->op, req->body, &status);
            send_reply(s, ids[i], req, reply, status);
        }
        cvg_msg_cleanup(&msgs[i]);
        zframe_destroy(&ids[i]);
    }
}

static void on_worker(sch_t *s)
{
    zframe_t *identity = NULL;
    cvg_msg_t m;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = recv_routed(s->workers_in, &identity, &m, &err, NULL);
    if (rc != 0) {
        zframe_destroy(&identity);
        cvg_warn(NULL, "worker message dropped: %s", err.message);
        cvg_msg_cleanup(&m);
        return;
    }
    if (m.type != CVG_MSG_WORKER) {
        zframe_destroy(&identity);
        cvg_msg_cleanup(&m);
        return;
    }
    cvg_worker_msg_t *w = &m.u.worker;
    if (strcmp(w->op, "handback") == 0) {
        zframe_destroy(&identity);
        sch_handback(s, w);
        cvg_msg_cleanup(&m);
        sch_dispatch(s);
        return;
    }
    if (strcmp(w->op, "refused") == 0) {
        zframe_destroy(&identity);
        sch_refused(s, w);
        cvg_msg_cleanup(&m);
        sch_dispatch(s);
        return;
    }
    size_t before = sch_workers_alive(&s->workers);
    const sch_worker_t *known = sch_workers_find(&s->workers, w->worker_id);
    bool was_idle = known != NULL && strcmp(known->state, "idle") == 0;
    sch_worker_t *x = sch_workers_update(&s->workers, w, cvg_time_mono_ms());
    if (x != NULL && identity != NULL)
        sch_workers_set_identity(x, zframe_data(identity), zframe_size(identity));
    zframe_destroy(&identity);
    size_t after = sch_workers_alive(&s->workers);
    cvg_log_field_t f[2] = {CVG_LF_STR("worker_id", w->worker_id), CVG_LF_NUM("workers", after)};
    if (after > before)
        cvg_log_write(CVG_LOG_INFO, NULL, f, 2, "worker joined");
    else if (after < before)
        cvg_log_write(CVG_LOG_INFO, NULL, f, 2, "worker left");
    if (x != NULL && w->run_id[0]) {
        sch_dispatch_taken(s, w->run_id);
        sch_queue_held(&s->queue, w->run_id, w->attempt, w->worker_id, NULL);
        /* a run cancelled while it was on its way to this worker */
        if (sch_queue_cancel_requested(&s->queue, w->run_id))
            sch_cancel_send(s, x, w->run_id);
    }
    if (x != NULL && !was_idle && strcmp(x->state, "idle") == 0)
        sch_dispatch(s);
}

static void on_stream(sch_t *s)
{
    zmsg_t *msg = zmsg_recv(s->stream);
    if (msg == NULL)
        return;
    zframe_t *payload = zmsg_last(msg);
    cvg_msg_t m;
    memset(&m, 0, sizeof(m));
    if (payload && cvg_msg_decode(zframe_data(payload), zframe_size(payload), &m, NULL) == 0) {
        if (m.type == CVG_MSG_EVENT) {
            cvg_err_t err;
            cvg_err_clear(&err);
            if (sch_queue_on_event(&s->queue, &m.u.event, &err) != 0)
                cvg_warn(NULL, "cannot follow run %s: %s", m.u.event.run_id, err.message);
        }
    }
    cvg_msg_cleanup(&m);
    zmsg_destroy(&msg);
}

static void tick(sch_t *s)
{
    size_t gone = sch_workers_prune(&s->workers, cvg_time_mono_ms());
    if (gone > 0) {
        cvg_log_field_t f = CVG_LF_NUM("workers", sch_workers_alive(&s->workers));
        cvg_log_write(CVG_LOG_WARNING, NULL, &f, 1, "%zu worker(s) silent past %d ms: gone", gone,
                      s->cfg.worker_timeout_ms);
    }
    /* before this scheduler expires or ends anything itself: what the
     * reconcile finds was then decided by an earlier one */
    if (!s->reconciled && sch_queue_check_ready(&s->queue)) {
        size_t n = 0;
        s->reconciled = sch_reconcile(s, RECONCILE_MAX, &n) == 0;
        if (n == RECONCILE_MAX)
            cvg_warn(NULL,
                     "%zu runs told again to the run log, the most one start does; the "
                     "next start tells the rest",
                     n);
    }
    sch_expire(s);
    sch_dispatch(s);
    if (s->reconciled) {
        sch_retention_tick(s, cvg_time_mono_ms());
        sch_fire_tick(s, cvg_time_mono_ms());
    }
}

static int serve(sch_t *s)
{
    zmq_pollitem_t items[3] = {{zsock_resolve(s->control), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve(s->workers_in), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve(s->stream), 0, ZMQ_POLLIN, 0}};
    int64_t next_tick = cvg_time_mono_ms();
    while (!cvg_stop_requested()) {
        int64_t now = cvg_time_mono_ms();
        if (now >= next_tick) {
            tick(s);
            next_tick = now + TICK_MS;
        }
        int n = zmq_poll(items, 3, (long)(next_tick - now));
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            return EX_SOFTWARE;
        }
        if (items[0].revents & ZMQ_POLLIN)
            on_control(s);
        if (items[1].revents & ZMQ_POLLIN)
            on_worker(s);
        if (items[2].revents & ZMQ_POLLIN)
            on_stream(s);
    }
    return 0;
}

int main(int argc, char **argv)
{
    cvg_cli_t cli = {.prog = "cvg-scheduler",
                     .summary = "owns the run queue and dispatches runs to workers",
                     .procs = CVG_PROC_SCHEDULER};
    int rc = cvg_cli_parse(&cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (cli.argc > 0) {
        fprintf(stderr, "cvg-scheduler: unexpected argument %s (see --help)\n", cli.argv[0]);
        return EX_USAGE;
    }
    static sch_t s;
    rc = cvg_startup(&cli, "scheduler", &s.cfg);
    if (rc != 0)
        return rc;
    cvg_signals_install();
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_open(s.cfg.warehouse_url, &s.wh, &err) != 0) {
        cvg_error(NULL, "cannot open the warehouse: %s", err.message);
        return EX_UNAVAILABLE;
    }
    if (cli.check_config) {
        printf("cvg-scheduler: configuration ok (warehouse %s)\n", cvg_wh_driver(s.wh));
        cvg_wh_close(&s.wh);
        return 0;
    }
    sch_workers_init(&s.workers, s.cfg.worker_timeout_ms);
    sch_queue_init(&s.queue, s.wh, s.cfg.dispatch_lease_ms, s.cfg.worker_timeout_ms * 3);
    rc = EX_CANTCREAT;
    s.control = cvg_sock_bind(ZMQ_ROUTER, s.cfg.control_bind, &err);
    if (s.control)
        s.workers_in = cvg_sock_bind(ZMQ_ROUTER, s.cfg.workers_bind, &err);
    if (s.workers_in)
        s.jobs = cvg_sock_bind(ZMQ_PUSH, s.cfg.jobs_bind, &err);
    if (s.jobs)
        s.stream = cvg_sock_connect(ZMQ_SUB, s.cfg.stream_endpoint, &err);
    if (s.stream == NULL) {
        cvg_error(NULL, "cannot set up sockets: %s", err.message);
        goto out;
    }
    zsock_set_sndhwm(s.jobs, 1);
    zsock_set_subscribe(s.stream, "");
    s.emitter = cvg_emitter_new(s.cfg.events_endpoint, s.cfg.event_ack_timeout_ms,
                                EMITTER_MAX_PENDING, &err);
    if (s.emitter == NULL) {
        cvg_error(NULL, "cannot start the event emitter: %s", err.message);
        goto out;
    }
    cvg_log_field_t f[3] = {CVG_LF_STR("control", s.cfg.control_bind),
                            CVG_LF_STR("jobs", s.cfg.jobs_bind),
                            CVG_LF_STR("workers", s.cfg.workers_bind)};
    cvg_log_write(CVG_LOG_INFO, NULL, f, 3, "scheduler started (version %s)", CVG_VERSION);
    rc = serve(&s);
    if (cvg_emitter_flush(s.emitter, s.cfg.shutdown_grace_ms) != 0)
        cvg_warn(NULL, "%zu event(s) not acknowledged by the logger at exit",
                 cvg_emitter_pending(s.emitter));
    cvg_log_field_t g[3] = {CVG_LF_NUM("dispatched", s.dispatched),
                            CVG_LF_NUM("requeued", s.requeued), CVG_LF_NUM("dead", s.dead)};
    cvg_log_write(CVG_LOG_INFO, NULL, g, 3, "scheduler stopped");
out:
    cvg_emitter_destroy(&s.emitter);
    zsock_destroy(&s.stream);
    zsock_destroy(&s.jobs);
    zsock_destroy(&s.workers_in);
    zsock_destroy(&s.control);
    cvg_wh_close(&s.wh);
    return rc;
}
