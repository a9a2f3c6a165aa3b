/*
 * The gateway's bus for runs to queue (gateway/bus.c), against a ROUTER
 * socket the test answers on as the scheduler would: runs go in enqueue
 * messages and each gets its own result back; at most 1024 runs are sent
 * and unanswered, the rest wait until answers free room; a run the
 * scheduler does not answer in time ends CVG_ETIMEDOUT once, and a late
 * answer does not end it again.
 */
#include "common/buf.h"
#include "common/id.h"
#include "common/msg.h"
#include "common/time.h"
#include "gateway/bus.h"
#include "tests/tests.h"

#include <czmq.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INFLIGHT 1024 /* the bus's cap on runs sent and unanswered */

typedef struct ends {
    pthread_mutex_t lock;
    size_t n;   /* callbacks seen */
    int *rc;    /* per run: its rc, or -1 before its callback */
    int *calls; /* per run: how many callbacks */
    char (*run_id)[CVG_ID_LEN];
} ends_t;

typedef struct slot {
    ends_t *e;
    size_t i;
} slot_t;

static void ended(void *ctx, int rc, const cvg_enq_result_t *res, const cvg_err_t *err)
{
    (void)err;
    slot_t *s = ctx;
    pthread_mutex_lock(&s->e->lock);
    s->e->rc[s->i] = rc;
    s->e->calls[s->i]++;
    if (rc == 0)
        snprintf(s->e->run_id[s->i], CVG_ID_LEN, "%s", res->run_id);
    s->e->n++;
    pthread_mutex_unlock(&s->e->lock);
}

static size_t ended_count(ends_t *e)
{
    pthread_mutex_lock(&e->lock);
    size_t n = e->n;
    pthread_mutex_unlock(&e->lock);
    return n;
}

static ends_t *ends_new(size_t n, slot_t **slots)
{
    ends_t *e = calloc(1, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
    e->rc = malloc(n * sizeof(int));
    e->calls = calloc(n, sizeof(int));
    e->run_id = calloc(n, CVG_ID_LEN);
    *slots = calloc(n, sizeof(slot_t));
    for (size_t i = 0; i < n; i++) {
        e->rc[i] = -1;
        (*slots)[i] = (slot_t){e, i};
    }
    return e;
}

static void ends_free(ends_t *e, slot_t *slots)
{
    pthread_mutex_destroy(&e->lock);
    free(e->rc);
    free(e->calls);
    free(e->run_id);
    free(e);
    free(slots);
}

/* Run i of a test: its tenant names it, so answers can be checked. */
static void submit(gw_bus_t *bus, size_t i, int timeout_ms, slot_t *slot)
{
    cvg_enq_run_t run = {.priority = 50, .max_attempts = 3};
    snprintf(run.tenant_id, sizeof(run.tenant_id), "tenant_%zu", i);
    STRSET(run.pipeline, "gcp/cost/cost_billing");
    STRSET(run.pipeline_id, "cost_billing");
    STRSET(run.trigger_type, "manual");
    STRSET(run.triggered_by, "unit");
    run.parameters = strdup("{}");
    gw_bus_enqueue(bus, &run, timeout_ms, ended, slot);
}

/* One enqueue message as the scheduler receives it. */
typedef struct got {
    zframe_t *identity;
    cvg_msg_t m;
} got_t;

/* Waits up to ms for the next enqueue message; false when none came. */
static bool receive(zsock_t *router, int ms, got_t *g)
{
    zpoller_t *p = zpoller_new(router, NULL);
    bool ok = zpoller_wait(p, ms) == router;
    zpoller_destroy(&p);
    if (!ok)
        return false;
    zmsg_t *msg = zmsg_recv(router);
    g->identity = zmsg_pop(msg);
    zframe_t *payload = zmsg_first(msg);
    int rc = cvg_msg_decode(zframe_data(payload), zframe_size(payload), &g->m, NULL);
    zmsg_destroy(&msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(g->m.type, CVG_MSG_ENQUEUE);
    return true;
}

/* Answers every run of g as queued, its run id "r-<tenant>". */
static void answer(zsock_t *router, got_t *g)
{
    const cvg_enqueue_t *q = &g->m.u.enqueue;
    cvg_enq_result_t *res = calloc(q->n, sizeof(*res));
    for (size_t i = 0; i < q->n; i++) {
        snprintf(res[i].run_id, sizeof(res[i].run_id), "r-%.30s", q->runs[i].tenant_id);
        STRSET(res[i].state, "QUEUED");
    }
    cvg_msg_t m = {.type = CVG_MSG_ENQUEUED};
    memcpy(m.u.enqueued.id, q->id, sizeof(m.u.enqueued.id));
    m.u.enqueued.n = q->n;
    m.u.enqueued.results = res;
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL(cvg_msg_encode(&m, &b), 0);
    zframe_send(&g->identity, router, ZFRAME_MORE);
    zframe_t *f = zframe_new(b.data, b.len);
    zframe_send(&f, router, 0);
    cvg_buf_cleanup(&b);
    free(res);
    cvg_msg_cleanup(&g->m);
}

static void got_drop(got_t *g)
{
    zframe_destroy(&g->identity);
    cvg_msg_cleanup(&g->m);
}

static bool wait_ended(ends_t *e, size_t n, int ms)
{
    int64_t until = cvg_time_mono_ms() + ms;
    while (ended_count(e) < n && cvg_time_mono_ms() < until)
        zclock_sleep(5);
    return ended_count(e) >= n;
}

/* A scheduler's socket of its own for each test (an inproc name is not
 * free again at once). */
static gw_bus_t *bus_up(zsock_t **router)
{
    static int tests_run;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "inproc://unit-bus-scheduler-%d", ++tests_run);
    *router = zsock_new_router(endpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*router);
    cvg_err_t err;
    cvg_err_clear(&err);
    gw_bus_t *bus = gw_bus_new(endpoint, "inproc://unit-bus-logger", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bus);
    return bus;
}

static void test_bus_answers_each_run(void)
{
    zsock_t *router;
    gw_bus_t *bus = bus_up(&router);
    enum { N = 300 }; /* more than one message holds */
    slot_t *slots;
    ends_t *e = ends_new(N, &slots);
    for (size_t i = 0; i < N; i++)
        submit(bus, i, 10000, &slots[i]);
    size_t runs = 0, messages = 0;
    got_t g;
    while (runs < N && receive(router, 5000, &g)) {
        CU_ASSERT(g.m.u.enqueue.n >= 1 && g.m.u.enqueue.n <= CVG_ENQUEUE_MAX);
        runs += g.m.u.enqueue.n;
        messages++;
        answer(router, &g);
    }
    CU_ASSERT_EQUAL(runs, N);
    CU_ASSERT(messages >= 2 && messages < N); /* runs travel together */
    CU_ASSERT(wait_ended(e, N, 5000));
    for (size_t i = 0; i < N; i++) {
        char want[CVG_ID_LEN];
        snprintf(want, sizeof(want), "r-tenant_%zu", i);
        CU_ASSERT_EQUAL(e->rc[i], 0);
        CU_ASSERT_EQUAL(e->calls[i], 1);
        CU_ASSERT_STRING_EQUAL(e->run_id[i], want); /* its own result, not a neighbour's */
    }
    gw_bus_destroy(&bus);
    zsock_destroy(&router);
    ends_free(e, slots);
}

static void test_bus_caps_runs_unanswered(void)
{
    zsock_t *router;
    gw_bus_t *bus = bus_up(&router);
    enum { N = INFLIGHT + 100 };
    slot_t *slots;
    ends_t *e = ends_new(N, &slots);
    for (size_t i = 0; i < N; i++)
        submit(bus, i, 20000, &slots[i]);
    got_t *held = calloc(N, sizeof(*held));
    size_t nheld = 0, runs = 0;
    while (runs < INFLIGHT && receive(router, 5000, &held[nheld])) {
        runs += held[nheld].m.u.enqueue.n;
        nheld++;
    }
    CU_ASSERT_EQUAL(runs, INFLIGHT);
    /* nothing more while those are unanswered */
    got_t extra;
    bool more = receive(router, 300, &extra);
    CU_ASSERT_FALSE(more);
    if (more)
        got_drop(&extra);
    CU_ASSERT_EQUAL(ended_count(e), 0);
    /* answers free room: the 100 waiting go out */
    size_t answered = 0, freed = 0;
    while (freed < 100 && answered < nheld) {
        freed += held[answered].m.u.enqueue.n;
        answer(router, &held[answered++]);
    }
    size_t rest = 0;
    got_t g;
    while (rest < 100 && receive(router, 5000, &g)) {
        rest += g.m.u.enqueue.n;
        answer(router, &g);
    }
    CU_ASSERT_EQUAL(rest, 100);
    for (size_t i = answered; i < nheld; i++)
        answer(router, &held[i]);
    free(held);
    CU_ASSERT(wait_ended(e, N, 5000));
    for (size_t i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(e->rc[i], 0);
        CU_ASSERT_EQUAL(e->calls[i], 1);
    }
    gw_bus_destroy(&bus);
    zsock_destroy(&router);
    ends_free(e, slots);
}

static void test_bus_times_out_once(void)
{
    zsock_t *router;
    gw_bus_t *bus = bus_up(&router);
    slot_t *slots;
    ends_t *e = ends_new(1, &slots);
    submit(bus, 0, 1500, &slots[0]); /* long enough to be sent under valgrind */
    got_t g;
    CU_ASSERT_FATAL(receive(router, 5000, &g));
    CU_ASSERT(wait_ended(e, 1, 5000)); /* nobody answers */
    CU_ASSERT_EQUAL(e->rc[0], CVG_ETIMEDOUT);
    answer(router, &g); /* too late: ends nothing again */
    slot_t *slots2;
    ends_t *e2 = ends_new(1, &slots2);
    submit(bus, 1, 5000, &slots2[0]); /* the bus still works */
    got_t g2;
    CU_ASSERT_FATAL(receive(router, 5000, &g2));
    answer(router, &g2);
    CU_ASSERT(wait_ended(e2, 1, 5000));
    CU_ASSERT_EQUAL(e2->rc[0], 0);
    CU_ASSERT_EQUAL(e->calls[0], 1);
    gw_bus_destroy(&bus);
    zsock_destroy(&router);
    ends_free(e, slots);
    ends_free(e2, slots2);
}

static CU_TestInfo tests[] = {
    {"each run gets its own result, runs travel several to a message", test_bus_answers_each_run},
    {"at most 1024 runs sent and unanswered; answers free room", test_bus_caps_runs_unanswered},
    {"an unanswered run times out once; a late answer ends nothing", test_bus_times_out_once},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_bus = {"unit_bus", NULL, NULL, tests, 60};
