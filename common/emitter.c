/*
 * Event emitter (see emitter.h). The outbox is a FIFO list under a mutex;
 * producers append and poke a pipe; the thread polls the DEALER socket and
 * the pipe, sends what is due and retires what is acked.
 *
 * Events are appended in order and acknowledged mostly in order, so the
 * list keeps a cursor to the first event never sent: the thread sends from
 * there, and walks the whole list for resends only when the earliest resend
 * is due. A producer pokes the pipe only when the thread has not been poked
 * since it last looked, so a burst of events costs one wake-up.
 */
#include "common/emitter.h"
#include "common/buf.h"
#include "common/msg.h"
#include "common/time.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BACKOFF_FACTOR 8

typedef struct pending {
    char id[CVG_ID_LEN];
    char *data; /* encoded event */
    size_t len;
    int64_t next_send; /* monotonic ms; 0 = send now */
    int sends;
    struct pending *next;
} pending_t;

struct cvg_emitter {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signalled when events are retired */
    pending_t *head, *tail;
    pending_t *unsent; /* first event never sent; all after it too */
    int64_t resend_at; /* no resend is due before (0: none sent) */
    bool poked;        /* the pipe was written since the thread looked */
    size_t count, max;
    int wake[2]; /* producers write, the thread reads */
    bool stop;
    char endpoint[256];
    int ack_timeout_ms;
    int start_rc; /* the thread's socket set-up result */
    bool started;
};

static void poke(cvg_emitter_t *em)
{
    char c = 1;
    ssize_t n = write(em->wake[1], &c, 1);
    (void)n; /* a full pipe already wakes the thread */
}

static void retire(cvg_emitter_t *em, const char *id)
{
    pending_t *prev = NULL;
    for (pending_t *p = em->head; p; prev = p, p = p->next) {
        if (strcmp(p->id, id) != 0)
            continue;
        if (prev)
            prev->next = p->next;
        else
            em->head = p->next;
        if (em->tail == p)
            em->tail = prev;
        if (em->unsent == p)
            em->unsent = p->next;
        free(p->data);
        free(p);
        em->count--;
        return;
    }
}

static void on_reply(cvg_emitter_t *em, zsock_t *sock)
{
    for (;;) {
        zframe_t *f = zframe_recv_nowait(sock);
        if (f == NULL)
            return;
        cvg_msg_t m;
        memset(&m, 0, sizeof(m));
        if (cvg_msg_decode(zframe_data(f), zframe_size(f), &m, NULL) == 0 &&
            m.type == CVG_MSG_ACK) {
            pthread_mutex_lock(&em->lock);
            for (size_t i = 0; i < m.u.ack.n; i++)
                retire(em, m.u.ack.ids[i]);
            pthread_cond_broadcast(&em->changed);
            pthread_mutex_unlock(&em->lock);
        }
        cvg_msg_cleanup(&m);
        zframe_destroy(&f);
    }
}

#define RETRY_MS 50 /* a resend the socket refused is tried again after this */

/* Sends p; false when the socket refused it (p then waits RETRY_MS). */
static bool send_one(cvg_emitter_t *em, void *raw, pending_t *p, int64_t now)
{
    if (zmq_send(raw, p->data, p->len, ZMQ_DONTWAIT) < 0) {
        p->next_send = now + RETRY_MS;
        return false;
    }
    int factor = 1 << (p->sends < 3 ? p->sends : 3);
    if (factor > MAX_BACKOFF_FACTOR)
        factor = MAX_BACKOFF_FACTOR;
    p->sends++;
    p->next_send = now + (int64_t)em->ack_timeout_ms * factor;
    return true;
}

/* Sends what is due; returns ms until something may be due again. Sets
 * *blocked when the socket refused a new event (no logger connected, or
 * the high-water mark): the thread then waits for it to take more. */
static int64_t send_due(cvg_emitter_t *em, void *raw, bool *blocked)
{
    int64_t now = cvg_time_mono_ms();
    pthread_mutex_lock(&em->lock);
    em->poked = false;
    /* Resends (and retries of refused first sends) when one is due: the
     * whole list, which also finds the next resend time. */
    if (em->resend_at != 0 && now >= em->resend_at) {
        em->resend_at = 0;
        for (pending_t *p = em->head; p && p != em->unsent; p = p->next) {
            if (p->next_send <= now)
                send_one(em, raw, p, now);
            if (em->resend_at == 0 || p->next_send < em->resend_at)
                em->resend_at = p->next_send;
        }
    }
    /* New events, in order, until the socket refuses one. */
    int64_t wait = 1000;
    *blocked = false;
    while (em->unsent != NULL) {
        pending_t *p = em->unsent;
        if (!send_one(em, raw, p, now)) {
            *blocked = true;
            break;
        }
        em->unsent = p->next;
        if (em->resend_at == 0 || p->next_send < em->resend_at)
            em->resend_at = p->next_send;
    }
    if (em->resend_at != 0 && em->resend_at - now < wait)
        wait = em->resend_at > now ? em->resend_at - now : 0;
    pthread_mutex_unlock(&em->lock);
    return wait;
}

static void *run(void *arg)
{
    cvg_emitter_t *em = arg;
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock != NULL) {
        /* Queue only to a connected logger, so nothing piles up in a pipe
         * while it is down; the outbox keeps the events instead. */
        zsock_set_immediate(sock, 1);
        zsock_set_linger(sock, 0);
        if (zsock_connect(sock, "%s", em->endpoint) != 0)
            zsock_destroy(&sock);
    }
    pthread_mutex_lock(&em->lock);
    em->start_rc = sock ? 0 : CVG_EIO;
    em->started = true;
    pthread_cond_broadcast(&em->changed);
    pthread_mutex_unlock(&em->lock);
    if (sock == NULL)
        return NULL;
    void *raw = zsock_resolve(sock);
    for (;;) {
        pthread_mutex_lock(&em->lock);
        bool stop = em->stop;
        pthread_mutex_unlock(&em->lock);
        if (stop)
            break;
        bool blocked = false;
        int64_t wait = send_due(em, raw, &blocked);
        /* refused: wake when the socket takes messages again */
        short events = blocked ? ZMQ_POLLIN | ZMQ_POLLOUT : ZMQ_POLLIN;
        zmq_pollitem_t items[2] = {{raw, 0, events, 0}, {NULL, em->wake[0], ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, (long)wait) < 0 && zmq_errno() != EINTR)
            break;
        if (items[1].revents & ZMQ_POLLIN) {
            char drain[64];
            while (read(em->wake[0], drain, sizeof(drain)) > 0) {
            }
        }
        if (items[0].revents & ZMQ_POLLIN)
            on_reply(em, sock);
    }
    zsock_destroy(&sock);
    return NULL;
}

cvg_emitter_t *cvg_emitter_new(const char *endpoint, int ack_timeout_ms, size_t max_pending,
                               cvg_err_t *err)
{
    cvg_emitter_t *em = calloc(1, sizeof(*em));
    if (em == NULL) {
        cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        return NULL;
    }
    snprintf(em->endpoint, sizeof(em->endpoint), "%s", endpoint);
    em->ack_timeout_ms = ack_timeout_ms;
    em->max = max_pending;
    pthread_mutex_init(&em->lock, NULL);
    pthread_cond_init(&em->changed, NULL);
    if (pipe(em->wake) != 0) {
        cvg_err_set(err, CVG_EIO, "", "pipe: %s", strerror(errno));
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(em->wake[i], F_SETFL, O_NONBLOCK);
        fcntl(em->wake[i], F_SETFD, FD_CLOEXEC);
    }
    if (pthread_create(&em->thread, NULL, run, em) != 0) {
        cvg_err_set(err, CVG_EIO, "", "cannot start the emitter thread");
        close(em->wake[0]);
        close(em->wake[1]);
        goto fail;
    }
    pthread_mutex_lock(&em->lock);
    while (!em->started)
        pthread_cond_wait(&em->changed, &em->lock);
    int rc = em->start_rc;
    pthread_mutex_unlock(&em->lock);
    if (rc != 0) {
        cvg_err_set(err, rc, endpoint, "cannot connect to the logger at %s", endpoint);
        cvg_emitter_destroy(&em);
        return NULL;
    }
    return em;
fail:
    pthread_cond_destroy(&em->changed);
    pthread_mutex_destroy(&em->lock);
    free(em);
    return NULL;
}

/* Absolute CLOCK_REALTIME deadline for pthread_cond_timedwait. */
static struct timespec deadline_in(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int cvg_emitter_send(cvg_emitter_t *em, const cvg_event_t *ev, int timeout_ms)
{
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    int rc = cvg_msg_encode_event(ev, &b);
    if (rc != 0) {
        cvg_buf_cleanup(&b);
        return rc;
    }
    pending_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        cvg_buf_cleanup(&b);
        return CVG_ENOMEM;
    }
    memcpy(p->id, ev->id, sizeof(p->id));
    p->len = b.len;
    p->data = cvg_buf_detach(&b);
    struct timespec until = deadline_in(timeout_ms);
    pthread_mutex_lock(&em->lock);
    while (em->count >= em->max && rc == 0) {
        if (pthread_cond_timedwait(&em->changed, &em->lock, &until) == ETIMEDOUT)
            rc = CVG_EFULL;
    }
    bool wake = false;
    if (rc == 0) {
        if (em->tail)
            em->tail->next = p;
        else
            em->head = p;
        em->tail = p;
        if (em->unsent == NULL)
            em->unsent = p;
        em->count++;
        wake = !em->poked;
        em->poked = true;
    }
    pthread_mutex_unlock(&em->lock);
    if (rc != 0) {
        free(p->data);
        free(p);
        return rc;
    }
    if (wake)
        poke(em);
    return 0;
}

size_t cvg_emitter_pending(cvg_emitter_t *em)
{
    pthread_mutex_lock(&em->lock);
    size_t n = em->count;
    pthread_mutex_unlock(&em->lock);
    return n;
}

int cvg_emitter_flush(cvg_emitter_t *em, int timeout_ms)
{
    struct timespec until = deadline_in(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&em->lock);
    while (em->count > 0 && rc == 0) {
        if (pthread_cond_timedwait(&em->changed, &em->lock, &until) == ETIMEDOUT)
            rc = CVG_ETIMEDOUT;
    }
    pthread_mutex_unlock(&em->lock);
    return rc;
}

void cvg_emitter_destroy(cvg_emitter_t **pem)
{
    if (pem == NULL || *pem == NULL)
        return;
    cvg_emitter_t *em = *pem;
    pthread_mutex_lock(&em->lock);
    em->stop = true;
    pthread_mutex_unlock(&em->lock);
    poke(em);
    pthread_join(em->thread, NULL);
    close(em->wake[0]);
    close(em->wake[1]);
    while (em->head) {
        pending_t *p = em->head;
        em->head = p->next;
        free(p->data);
        free(p);
    }
    pthread_cond_destroy(&em->changed);
    pthread_mutex_destroy(&em->lock);
    free(em);
    *pem = NULL;
}
