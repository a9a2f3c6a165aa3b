/*
 * The gateway's control client (see bus.h). Each thread's sockets hang off
 * a pthread key whose destructor closes them when the thread ends.
 */
#include "gateway/bus.h"
#include "common/buf.h"
#include "common/msg.h"
#include "common/time.h"

#include <czmq.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gw_bus {
    char endpoints[2][256];
    pthread_key_t key;
};

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
    return bus;
}

void gw_bus_destroy(gw_bus_t **pbus)
{
    if (pbus == NULL || *pbus == NULL)
        return;
    gw_bus_t *bus = *pbus;
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
    static const char *names[] = {"scheduler", "logger"};
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
