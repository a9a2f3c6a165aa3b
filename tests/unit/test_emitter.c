/*
 * The event emitter against a ROUTER socket that plays the logger: events
 * go out in the order sent, unacknowledged ones are sent again after the
 * ack timeout, acknowledged ones are retired (flush returns), and events
 * sent while no logger listens wait in the outbox until one binds. A burst
 * larger than the socket's high-water mark goes out whole and in order.
 */
#include "common/emitter.h"
#include "common/msg.h"
#include "common/time.h"
#include "tests/tests.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define N     200
#define BURST 3000 /* over the socket's high-water mark (1000): some sends are refused */

static void make_event(cvg_event_t *ev, int i)
{
    cvg_event_init(ev, CVG_EV_RUN_STARTED);
    cvg_id_new(ev->run_id);
    snprintf(ev->tenant_id, sizeof(ev->tenant_id), "acme");
    snprintf(ev->pipeline_id, sizeof(ev->pipeline_id), "p%d", i);
    snprintf(ev->status, sizeof(ev->status), "RUNNING");
}

/* Receives up to max events (waiting up to timeout_ms for each), keeping
 * their ids and the sender's identity. Returns how many came. */
static int receive(zsock_t *router, char (*ids)[CVG_ID_LEN], int max, int timeout_ms,
                   zframe_t **sender)
{
    int n = 0;
    zsock_set_rcvtimeo(router, timeout_ms);
    while (n < max) {
        zmsg_t *msg = zmsg_recv(router);
        if (msg == NULL)
            break;
        zframe_t *who = zmsg_pop(msg);
        zframe_t *body = zmsg_last(msg);
        cvg_msg_t m;
        memset(&m, 0, sizeof(m));
        if (body && cvg_msg_decode(zframe_data(body), zframe_size(body), &m, NULL) == 0 &&
            m.type == CVG_MSG_EVENT)
            memcpy(ids[n++], m.u.event.id, CVG_ID_LEN);
        cvg_msg_cleanup(&m);
        if (sender && *sender == NULL)
            *sender = who;
        else
            zframe_destroy(&who);
        zmsg_destroy(&msg);
    }
    return n;
}

static void ack(zsock_t *router, zframe_t *sender, char (*ids)[CVG_ID_LEN], size_t n)
{
    for (size_t off = 0; off < n; off += CVG_ACK_IDS_MAX) {
        cvg_msg_t m = {.type = CVG_MSG_ACK};
        m.u.ack.n = n - off < CVG_ACK_IDS_MAX ? n - off : CVG_ACK_IDS_MAX;
        m.u.ack.ids = ids + off;
        cvg_buf_t b;
        cvg_buf_init(&b, CVG_MSG_MAX);
        CU_ASSERT_EQUAL_FATAL(cvg_msg_encode(&m, &b), 0);
        zframe_t *id = zframe_dup(sender);
        zframe_send(&id, router, ZFRAME_MORE);
        zframe_t *body = zframe_new(b.data, b.len);
        zframe_send(&body, router, 0);
        cvg_buf_cleanup(&b);
    }
}

/* A ROUTER bound to a free local port; its endpoint into endpoint. */
static zsock_t *bind_router(char endpoint[256])
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    if (router == NULL || zsock_bind(router, "tcp://127.0.0.1:*") <= 0) {
        zsock_destroy(&router);
        return NULL;
    }
    char *last = zsock_last_endpoint(router);
    snprintf(endpoint, 256, "%s", last);
    zstr_free(&last);
    return router;
}

/* Sends n events, keeping their ids in sent. */
static void send_events(cvg_emitter_t *em, char (*sent)[CVG_ID_LEN], int n)
{
    for (int i = 0; i < n; i++) {
        cvg_event_t ev;
        make_event(&ev, i);
        memcpy(sent[i], ev.id, CVG_ID_LEN);
        CU_ASSERT_EQUAL(cvg_emitter_send(em, &ev, 1000), 0);
        cvg_event_cleanup(&ev);
    }
}

static void test_emitter_order_resend_and_retire(void)
{
    char endpoint[256];
    zsock_t *router = bind_router(endpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL(router);
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_emitter_t *em = cvg_emitter_new(endpoint, 1000, N, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    static char sent[N][CVG_ID_LEN], got[N][CVG_ID_LEN];
    send_events(em, sent, N);
    /* All of them, in the order sent. */
    zframe_t *sender = NULL;
    CU_ASSERT_EQUAL_FATAL(receive(router, got, N, 5000, &sender), N);
    for (int i = 0; i < N; i++)
        CU_ASSERT_STRING_EQUAL(got[i], sent[i]);
    CU_ASSERT_EQUAL(cvg_emitter_pending(em), N);
    /* The first half acknowledged; the rest comes again after the ack
     * timeout, still in order, and nothing acknowledged does. */
    ack(router, sender, sent, N / 2);
    int again = receive(router, got, N / 2, 5000, NULL);
    CU_ASSERT_EQUAL_FATAL(again, N / 2);
    for (int i = 0; i < again; i++)
        CU_ASSERT_STRING_EQUAL(got[i], sent[N / 2 + i]);
    /* Acknowledged: retired, the outbox is empty. */
    ack(router, sender, sent + N / 2, N / 2);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 5000), 0);
    CU_ASSERT_EQUAL(cvg_emitter_pending(em), 0);
    zframe_destroy(&sender);
    cvg_emitter_destroy(&em);
    zsock_destroy(&router);
}

static void test_emitter_burst_over_the_high_water_mark(void)
{
    char endpoint[256];
    zsock_t *router = bind_router(endpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL(router);
    cvg_err_t err;
    cvg_err_clear(&err);
    /* an ack timeout far past the test: every event arrives exactly once */
    cvg_emitter_t *em = cvg_emitter_new(endpoint, 60000, BURST, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    static char sent[BURST][CVG_ID_LEN], got[BURST][CVG_ID_LEN];
    send_events(em, sent, BURST);
    zframe_t *sender = NULL;
    CU_ASSERT_EQUAL_FATAL(receive(router, got, BURST, 10000, &sender), BURST);
    int in_order = 0;
    for (int i = 0; i < BURST; i++)
        in_order += strcmp(got[i], sent[i]) == 0;
    CU_ASSERT_EQUAL(in_order, BURST);
    ack(router, sender, sent, BURST);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 10000), 0);
    zframe_destroy(&sender);
    cvg_emitter_destroy(&em);
    zsock_destroy(&router);
}

static void test_emitter_waits_for_a_logger(void)
{
    /* A free port: bind, note it, unbind. */
    char endpoint[256];
    zsock_t *probe = bind_router(endpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL(probe);
    zsock_destroy(&probe);
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_emitter_t *em = cvg_emitter_new(endpoint, 200, 16, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    char sent[3][CVG_ID_LEN], got[3][CVG_ID_LEN];
    send_events(em, sent, 3);
    /* Nobody listens: they wait in the outbox. */
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 300), CVG_ETIMEDOUT);
    CU_ASSERT_EQUAL(cvg_emitter_pending(em), 3);
    /* A logger binds: they arrive, in order, and are retired on its ack. */
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    CU_ASSERT_FATAL(zsock_bind(router, "%s", endpoint) > 0);
    zframe_t *sender = NULL;
    CU_ASSERT_EQUAL_FATAL(receive(router, got, 3, 5000, &sender), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_STRING_EQUAL(got[i], sent[i]);
    ack(router, sender, sent, 3);
    CU_ASSERT_EQUAL(cvg_emitter_flush(em, 5000), 0);
    zframe_destroy(&sender);
    cvg_emitter_destroy(&em);
    zsock_destroy(&router);
}

static CU_TestInfo tests[] = {
    {"test_emitter_order_resend_and_retire", test_emitter_order_resend_and_retire},
    {"test_emitter_burst_over_the_high_water_mark", test_emitter_burst_over_the_high_water_mark},
    {"test_emitter_waits_for_a_logger", test_emitter_waits_for_a_logger},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_emitter = {"unit_emitter", NULL, NULL, tests, 60};
