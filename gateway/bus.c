/*
 * The gateway's control client (see bus.h). Each thread's sockets hang off
 * a pthread key whose destructor closes them when the thread ends.
 * Runs to queue are handed to the bus thread on a list under a mutex, with
 * an eventfd to wake it; it sends those waiting together in one enqueue
 * message and keeps them in the order sent, so answers (which come mostly
 * in that order) are matched near the head.
 */
#include "gateway/bus.h"
#include "common/buf.h"
#include "common/msg.h"
#include "common/time.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BUS_IDLE_POLL_MS 1000
#define BUS_HWM          1000 /* messages queued to the scheduler, at most */
/* Runs sent and not yet answered, at most: past this the scheduler is not
 * keeping up, and runs wait unsent (then fail) instead of reaching it
 * after their callers were told it did not answer. */
#define BUS_MAX_INFLIGHT 1024

static const char *const names[] = {"scheduler", "logger"};

typedef struct gw_call gw_call_t;

struct gw_bus {
    char endpoints[2][256];
    pthread_key_t key;
    pthread_mutex_t lock; /* guards submitted and stopping */
    gw_call_t *submitted; /* newest first, not yet seen by the thread */
    bool stopping;
    int wake_fd;
    pthread_t thread;
    bool running;
};

static void *bus_main(void *arg);

typedef struct thread_socks {
    zsock_t *sock[2];
} thread_socks_t;

static void close_socks(void *p)
{
    thread_socks_t *t = p;
    if (t == NULL)
        return;
    zsock_destroy(&t->sock[0]);
    zsock_destroy(&t->sock[1]);
    free(t);
}

gw_bus_t *gw_bus_new(const char *scheduler_endpoint, const char *logger_endpoint, cvg_err_t *err)
{
    gw_bus_t *bus = calloc(1, sizeof(*bus));
    if (bus == NULL || pthread_key_create(&bus->key, close_socks) != 0) {
        free(bus);
        cvg_err_set(err, CVG_ENOMEM, "", "cannot create the control client");
        return NULL;
    }
    snprintf(bus->endpoints[0], sizeof(bus->endpoints[0]), "%s", scheduler_endpoint);
    snprintf(bus->endpoints[1], sizeof(bus->endpoints[1]), "%s", logger_endpoint);
    pthread_mutex_init(&bus->lock, NULL);
    /* czmq sets itself up on first use, and that is not thread-safe: do it
     * here, before the bus thread and the main thread both make sockets. */
    zsys_init();
    bus->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (bus->wake_fd < 0 || pthread_create(&bus->thread, NULL, bus_main, bus) != 0) {
        if (bus->wake_fd >= 0)
            close(bus->wake_fd);
        pthread_mutex_destroy(&bus->lock);
        pthread_key_delete(bus->key);
        free(bus);
        cvg_err_set(err, CVG_EIO, "", "cannot start the control client's thread");
        return NULL;
    }
    bus->running = true;
    return bus;
}

static void wake(gw_bus_t *bus)
{
    uint64_t one = 1;
    /* fails only when the counter is full, and then the thread is awake */
    ssize_t n = write(bus->wake_fd, &one, sizeof(one));
    (void)n;
}

void gw_bus_stop(gw_bus_t *bus)
{
    if (bus == NULL || !bus->running)
        return;
    pthread_mutex_lock(&bus->lock);
    bus->stopping = true;
    pthread_mutex_unlock(&bus->lock);
    wake(bus);
    pthread_join(bus->thread, NULL);
    bus->running = false;
}

void gw_bus_destroy(gw_bus_t **pbus)
{
    if (pbus == NULL || *pbus == NULL)
        return;
    gw_bus_t *bus = *pbus;
    gw_bus_stop(bus);
    close(bus->wake_fd);
    pthread_mutex_destroy(&bus->lock);
    close_socks(pthread_getspecific(bus->key));
    pthread_setspecific(bus->key, NULL);
    pthread_key_delete(bus->key);
    free(bus);
    *pbus = NULL;
}

static zsock_t *sock_for(gw_bus_t *bus, gw_peer_t peer, cvg_err_t *err)
{
    thread_socks_t *t = pthread_getspecific(bus->key);
    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL || pthread_setspecific(bus->key, t) != 0) {
            free(t);
            cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
            return NULL;
        }
    }
    if (t->sock[peer] == NULL) {
        zsock_t *s = zsock_new(ZMQ_DEALER);
        if (s == NULL) {
            cvg_err_set(err, CVG_EIO, "", "cannot create a socket");
            return NULL;
        }
        /* Refuse to queue requests for a peer that is not connected. */
        zsock_set_immediate(s, 1);
        zsock_set_linger(s, 0);
        if (zsock_connect(s, "%s", bus->endpoints[peer]) != 0) {
            zsock_destroy(&s);
            cvg_err_set(err, CVG_EIO, "", "cannot connect to %s", bus->endpoints[peer]);
            return NULL;
        }
        t->sock[peer] = s;
    }
    return t->sock[peer];
}

static void drop_sock(gw_bus_t *bus, gw_peer_t peer)
{
    thread_socks_t *t = pthread_getspecific(bus->key);
    if (t)
        zsock_destroy(&t->sock[peer]);
}

int gw_bus_call(gw_bus_t *bus, gw_peer_t peer, const char *op, const char *body, int timeout_ms,
                int *status, char **reply, cvg_err_t *err)
{
    *reply = NULL;
    zsock_t *s = sock_for(bus, peer, err);
    if (s == NULL)
        return CVG_EIO;
    cvg_ctl_t req = {.body = (char *)body};
    snprintf(req.op, sizeof(req.op), "%s", op);
    cvg_id_new(req.id);
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    int rc = cvg_msg_encode_ctl(&req, &b);
    if (rc != 0) {
        cvg_buf_cleanup(&b);
        return cvg_err_set(err, rc, "", "request too large");
    }
    void *raw = zsock_resolve(s);
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    /* With ZMQ_IMMEDIATE a send to an unconnected peer would block: poll
     * for writability within the same deadline. */
    zmq_pollitem_t wr = {raw, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&wr, 1, timeout_ms) <= 0 || zmq_send(raw, b.data, b.len, ZMQ_DONTWAIT) < 0) {
        cvg_buf_cleanup(&b);
        drop_sock(bus, peer);
        return cvg_err_set(err, CVG_EIO, "", "%s is not reachable", names[peer]);
    }
    cvg_buf_cleanup(&b);
    for (;;) {
        int64_t left = deadline - cvg_time_mono_ms();
        zmq_pollitem_t rd = {raw, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&rd, 1, (long)left) <= 0) {
            drop_sock(bus, peer);
            return cvg_err_set(err, CVG_ETIMEDOUT, "", "%s did not answer within %d ms",
                               names[peer], timeout_ms);
        }
        zframe_t *f = zframe_recv(s);
        if (f == NULL)
            continue;
        cvg_msg_t m;
        rc = cvg_msg_decode(zframe_data(f), zframe_size(f), &m, NULL);
        zframe_destroy(&f);
        if (rc != 0) {
            cvg_msg_cleanup(&m);
            continue;
        }
        if (m.type == CVG_MSG_CTL && strcmp(m.u.ctl.id, req.id) == 0) {
            *status = m.u.ctl.status;
            *reply = m.u.ctl.body;
            m.u.ctl.body = NULL;
            cvg_msg_cleanup(&m);
            return 0;
        }
        cvg_msg_cleanup(&m); /* a stale reply: keep waiting */
    }
}

/* ---- runs to queue, served by the bus thread ------------------------------ */

/* Bytes of an enqueue message a run may take beyond its parameters. */
#define RUN_OVERHEAD 1400

typedef struct gw_call {
    struct gw_call *next;
    cvg_enq_run_t run;
    char batch[CVG_ID_LEN]; /* the message it went in; "" while unsent */
    size_t pos;             /* its place in that message */
    int timeout_ms;
    int64_t deadline;
    gw_bus_enqueued_fn done;
    void *ctx;
} gw_call_t;

static void finish(gw_call_t *c, int rc, const cvg_enq_result_t *res, const cvg_err_t *err)
{
    c->done(c->ctx, rc, res, err);
    cvg_enq_run_cleanup(&c->run);
    free(c);
}

static void fail(gw_call_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(gw_call_t *c, int rc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_err_set(&err, rc, "", "%s", msg);
    finish(c, rc, NULL, &err);
}

void gw_bus_enqueue(gw_bus_t *bus, cvg_enq_run_t *run, int timeout_ms, gw_bus_enqueued_fn done,
                    void *ctx)
{
    gw_call_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        cvg_enq_run_cleanup(run);
        cvg_err_t err;
        cvg_err_clear(&err);
        cvg_err_set(&err, CVG_ENOMEM, "", "out of memory");
        done(ctx, CVG_ENOMEM, NULL, &err);
        return;
    }
    c->run = *run;
    run->parameters = NULL; /* ours now */
    c->timeout_ms = timeout_ms;
    c->deadline = cvg_time_mono_ms() + timeout_ms;
    c->done = done;
    c->ctx = ctx;
    if (c->run.parameters == NULL || strlen(c->run.parameters) > CVG_TEXT_MAX) {
        fail(c, CVG_ETOOBIG, "the run's parameters are over %d bytes", CVG_TEXT_MAX);
        return;
    }
    pthread_mutex_lock(&bus->lock);
    bool stopping = bus->stopping, was_empty = bus->submitted == NULL;
    if (!stopping) {
        c->next = bus->submitted;
        bus->submitted = c;
    }
    pthread_mutex_unlock(&bus->lock);
    if (stopping)
        fail(c, CVG_EIO, "the gateway is stopping; the scheduler was not asked");
    else if (was_empty)
        wake(bus);
}

/* The calls sent and not yet answered, oldest first. */
typedef struct inflight {
    gw_call_t *head, *tail;
    int64_t next_deadline;
} inflight_t;

static void inflight_add(inflight_t *f, gw_call_t *c)
{
    c->next = NULL;
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    if (f->next_deadline == 0 || c->deadline < f->next_deadline)
        f->next_deadline = c->deadline;
}

/* Unlinks and returns the first call that `match` accepts, or NULL. */
static gw_call_t *inflight_take(inflight_t *f, bool (*match)(const gw_call_t *, const void *),
                                const void *arg)
{
    gw_call_t *prev = NULL;
    for (gw_call_t *c = f->head; c; prev = c, c = c->next) {
        if (!match(c, arg))
            continue;
        if (prev)
            prev->next = c->next;
        else
            f->head = c->next;
        if (f->tail == c)
            f->tail = prev;
        return c;
    }
    return NULL;
}

static bool in_batch(const gw_call_t *c, const void *id)
{
    return strcmp(c->batch, id) == 0;
}

static bool is_call(const gw_call_t *c, const void *which)
{
    return c == which;
}

static bool expired(const gw_call_t *c, const void *now)
{
    return c->deadline <= *(const int64_t *)now;
}

static bool any(const gw_call_t *c, const void *arg)
{
    (void)c;
    (void)arg;
    return true;
}

static bool any_unsent(const inflight_t *f)
{
    for (const gw_call_t *c = f->head; c; c = c->next) {
        if (c->batch[0] == '\0')
            return true;
    }
    return false;
}

static void end_expired(inflight_t *f, int64_t now)
{
    if (f->next_deadline == 0 || now < f->next_deadline)
        return;
    gw_call_t *c;
    while ((c = inflight_take(f, expired, &now)) != NULL) {
        if (c->batch[0] != '\0')
            fail(c, CVG_ETIMEDOUT, "the scheduler did not answer within %d ms", c->timeout_ms);
        else
            fail(c, CVG_EIO, "the scheduler is not reachable");
    }
    f->next_deadline = 0;
    for (c = f->head; c; c = c->next) {
        if (f->next_deadline == 0 || c->deadline < f->next_deadline)
            f->next_deadline = c->deadline;
    }
}

/*
 * Sends the runs waiting, as many to a message as it holds, while the
 * socket takes messages without blocking (ZMQ_IMMEDIATE: not while the
 * scheduler is not connected). A run too large for any message fails.
 */
static void send_waiting(inflight_t *f, void *sock)
{
    static const cvg_enq_run_t *runs[CVG_ENQUEUE_MAX];
    static gw_call_t *calls[CVG_ENQUEUE_MAX];
    size_t limit = CVG_ENQUEUE_MAX, sent = 0;
    for (const gw_call_t *c = f->head; c; c = c->next)
        sent += c->batch[0] != '\0';
    for (;;) {
        size_t n = 0, bytes = 0;
        size_t room = sent < BUS_MAX_INFLIGHT ? BUS_MAX_INFLIGHT - sent : 0;
        for (gw_call_t *c = f->head; c && n < limit && n < room; c = c->next) {
            if (c->batch[0] != '\0')
                continue;
            size_t need = strlen(c->run.parameters) + RUN_OVERHEAD;
            if (n > 0 && bytes + need > CVG_MSG_MAX)
                break;
            bytes += need;
            calls[n] = c;
            runs[n++] = &c->run;
        }
        if (n == 0)
            return;
        char id[CVG_ID_LEN];
        cvg_id_new(id);
        cvg_buf_t b;
        cvg_buf_init(&b, CVG_MSG_MAX);
        int rc = cvg_msg_encode_enqueue(id, runs, n, &b);
        if (rc != 0) {
            cvg_buf_cleanup(&b);
            if (n > 1) {
                limit = 1; /* the estimate was short: one run a message */
            } else {
                gw_call_t *big = inflight_take(f, is_call, calls[0]);
                fail(big, CVG_ETOOBIG, "the run request is over the message limit");
            }
            continue;
        }
        bool queued = zmq_send(sock, b.data, b.len, ZMQ_DONTWAIT) >= 0;
        cvg_buf_cleanup(&b);
        if (!queued)
            return;
        for (size_t i = 0; i < n; i++) {
            memcpy(calls[i]->batch, id, sizeof(id));
            calls[i]->pos = i;
            cvg_enq_run_cleanup(&calls[i]->run); /* sent: the parameters are not needed */
        }
        sent += n;
    }
}

static void take_replies(inflight_t *f, void *sock)
{
    for (;;) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            return;
        }
        cvg_msg_t m;
        int rc = cvg_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), &m, NULL);
        zmq_msg_close(&frame);
        if (rc == 0 && m.type == CVG_MSG_ENQUEUED) {
            const cvg_enqueued_t *q = &m.u.enqueued;
            gw_call_t *c; /* the calls of a message past their deadline are gone */
            while ((c = inflight_take(f, in_batch, q->id)) != NULL) {
                if (c->pos < q->n)
                    finish(c, 0, &q->results[c->pos], NULL);
                else
                    fail(c, CVG_EPROTO, "the scheduler's answer left this run out");
            }
        }
        cvg_msg_cleanup(&m);
    }
}

static zsock_t *bus_socket(const char *endpoint)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (s == NULL)
        return NULL;
    zsock_set_immediate(s, 1);
    zsock_set_linger(s, 0);
    /* bounded: past this many unread messages the scheduler is not keeping
     * up, and a run waits unsent (then fails) rather than piling up there */
    zsock_set_sndhwm(s, BUS_HWM);
    zsock_set_rcvhwm(s, 0);
    if (zsock_connect(s, "%s", endpoint) != 0)
        zsock_destroy(&s);
    return s;
}

static void *bus_main(void *arg)
{
    gw_bus_t *bus = arg;
    zsock_t *sock = bus_socket(bus->endpoints[GW_PEER_SCHEDULER]);
    inflight_t f = {0};
    bool stopping = false;
    while (!stopping) {
        zmq_pollitem_t items[2] = {{NULL, bus->wake_fd, ZMQ_POLLIN, 0}};
        int n = 1;
        if (sock != NULL)
            items[n++] = (zmq_pollitem_t){zsock_resolve(sock), 0,
                                          ZMQ_POLLIN | (any_unsent(&f) ? ZMQ_POLLOUT : 0), 0};
        int64_t now = cvg_time_mono_ms();
        long wait = f.next_deadline ? (long)(f.next_deadline - now) : BUS_IDLE_POLL_MS;
        if (zmq_poll(items, n, wait < 0 ? 0 : wait) < 0 && zmq_errno() != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            uint64_t count;
            if (read(bus->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                break;
            pthread_mutex_lock(&bus->lock);
            gw_call_t *got = bus->submitted;
            bus->submitted = NULL;
            stopping = bus->stopping;
            pthread_mutex_unlock(&bus->lock);
            /* the list is newest first: reverse it to keep the order */
            gw_call_t *ordered = NULL;
            while (got) {
                gw_call_t *next = got->next;
                got->next = ordered;
                ordered = got;
                got = next;
            }
            while (ordered) {
                gw_call_t *next = ordered->next;
                if (sock == NULL)
                    fail(ordered, CVG_EIO, "cannot connect to the scheduler");
                else
                    inflight_add(&f, ordered);
                ordered = next;
            }
        }
        if (sock != NULL) {
            send_waiting(&f, zsock_resolve(sock));
            take_replies(&f, zsock_resolve(sock));
        }
        end_expired(&f, cvg_time_mono_ms());
    }
    /* Stopping: every call still waiting gets its answer now. */
    pthread_mutex_lock(&bus->lock);
    gw_call_t *left = bus->submitted;
    bus->submitted = NULL;
    bus->stopping = true;
    pthread_mutex_unlock(&bus->lock);
    while (left) {
        gw_call_t *next = left->next;
        inflight_add(&f, left);
        left = next;
    }
    gw_call_t *c;
    while ((c = inflight_take(&f, any, NULL)) != NULL)
        fail(c, CVG_EIO, "the gateway is stopping; no answer from the scheduler");
    zsock_destroy(&sock);
    return NULL;
}
