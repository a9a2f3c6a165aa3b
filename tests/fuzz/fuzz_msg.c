/*
 * Fuzz target: one ZeroMQ frame from a peer, as every process decodes it
 * (common/msg.c): cvg_msg_decode (the structural scan, then msgpack-c and
 * the field checks), and the two peeks the logger and the scheduler make at
 * a frame that does not decode (cvg_msg_peek_event_id,
 * cvg_msg_peek_enqueue). A frame that decodes must encode again, and that
 * encoding must decode to a message that encodes to the same bytes: the
 * logger republishes what it decoded, the scheduler answers with it.
 *
 * The seeds of tests/fuzz/seeds/msg/ are messages of every type made by
 * the project's encoders: CVG_FUZZ_WRITE_SEEDS=<dir> fuzz_msg writes them
 * into <dir> and exits.
 */
#include "common/msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RUN_ID "0190a3c4-7b2e-7c1d-9e4f-0a1b2c3d4e5f"
#define EV_ID  "0190a3c4-7b2e-7c1d-9e4f-0a1b2c3d4e60"

static void write_seed(const char *dir, const char *name, const cvg_msg_t *m)
{
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.msgpack", dir, name);
    FILE *f = fopen(path, "wb");
    if (cvg_msg_encode(m, &b) != 0 || f == NULL || fwrite(b.data, 1, b.len, f) != b.len) {
        fprintf(stderr, "fuzz_msg: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    cvg_buf_cleanup(&b);
}

/* One message of each type, as the processes send them. */
static void write_seeds(const char *dir)
{
    cvg_msg_t m = {.type = CVG_MSG_JOB};
    cvg_job_t *j = &m.u.job;
    snprintf(j->run_id, sizeof(j->run_id), RUN_ID);
    snprintf(j->queue_id, sizeof(j->queue_id), EV_ID);
    snprintf(j->tenant_id, sizeof(j->tenant_id), "acme-corp");
    snprintf(j->pipeline, sizeof(j->pipeline), "gcp/cost/cost_billing");
    snprintf(j->pipeline_id, sizeof(j->pipeline_id), "gcp_cost_billing");
    snprintf(j->trigger_type, sizeof(j->trigger_type), "manual");
    snprintf(j->triggered_by, sizeof(j->triggered_by), "key_1234");
    j->attempt = 2;
    j->lease_deadline_ms = 1767225600000;
    cvg_params_add(&j->params, "date", "2026-11-03");
    cvg_params_add(&j->params, "n", "42");
    write_seed(dir, "job", &m);
    cvg_msg_cleanup(&m);

    memset(&m, 0, sizeof(m));
    m.type = CVG_MSG_EVENT;
    cvg_event_t *e = &m.u.event;
    cvg_event_init(e, CVG_EV_STEP_FINISHED);
    snprintf(e->id, sizeof(e->id), EV_ID);
    snprintf(e->run_id, sizeof(e->run_id), RUN_ID);
    snprintf(e->tenant_id, sizeof(e->tenant_id), "acme-corp");
    snprintf(e->pipeline_id, sizeof(e->pipeline_id), "gcp_cost_billing");
    snprintf(e->status, sizeof(e->status), "FAILED");
    e->step_index = 1;
    e->rows = 1234;
    e->error = strdup("step failed: timeout");
    e->detail = strdup("{\"rows_read\":10,\"bad_rows\":[\"line 3: x\"]}");
    write_seed(dir, "event", &m);
    cvg_msg_cleanup(&m);

    char ids[2][CVG_ID_LEN] = {RUN_ID, EV_ID};
    memset(&m, 0, sizeof(m));
    m.type = CVG_MSG_ACK;
    m.u.ack.n = 2;
    m.u.ack.ids = ids;
    write_seed(dir, "ack", &m);

    memset(&m, 0, sizeof(m));
    m.type = CVG_MSG_CTL;
    snprintf(m.u.ctl.id, sizeof(m.u.ctl.id), EV_ID);
    snprintf(m.u.ctl.op, sizeof(m.u.ctl.op), "cancel");
    m.u.ctl.status = -4;
    m.u.ctl.body = "{\"run_id\":\"" RUN_ID "\"}";
    write_seed(dir, "ctl", &m);

    memset(&m, 0, sizeof(m));
    m.type = CVG_MSG_WORKER;
    snprintf(m.u.worker.op, sizeof(m.u.worker.op), "heartbeat");
    snprintf(m.u.worker.worker_id, sizeof(m.u.worker.worker_id), "worker-1");
    m.u.worker.pid = 4242;
    snprintf(m.u.worker.state, sizeof(m.u.worker.state), "busy");
    snprintf(m.u.worker.run_id, sizeof(m.u.worker.run_id), RUN_ID);
    m.u.worker.attempt = 1;
    m.u.worker.ts_ms = 1767225600000;
    write_seed(dir, "worker", &m);

    cvg_enq_run_t runs[2] = {0};
    for (int i = 0; i < 2; i++) {
        snprintf(runs[i].tenant_id, sizeof(runs[i].tenant_id), "acme-corp");
        snprintf(runs[i].pipeline, sizeof(runs[i].pipeline), "gcp/cost/cost_billing");
        snprintf(runs[i].pipeline_id, sizeof(runs[i].pipeline_id), "gcp_cost_billing");
        snprintf(runs[i].trigger_type, sizeof(runs[i].trigger_type), "manual");
        runs[i].priority = 1 + i;
        runs[i].max_attempts = 3;
        runs[i].date_given = i == 0;
        runs[i].parameters = i ? "{}" : "{\"date\":\"2026-11-03\"}";
    }
    snprintf(runs[1].idempotency_key, sizeof(runs[1].idempotency_key), "key-7");
    memset(&m, 0, sizeof(m));
    m.type = CVG_MSG_ENQUEUE;
    snprintf(m.u.enqueue.id, sizeof(m.u.enqueue.id), EV_ID);
    m.u.enqueue.n = 2;
    m.u.enqueue.runs = runs;
    write_seed(dir, "enqueue", &m);

    cvg_enq_result_t results[2] = {0};
    snprintf(results[0].run_id, sizeof(results[0].run_id), RUN_ID);
    snprintf(results[0].state, sizeof(results[0].state), "QUEUED");
    results[1].status = CVG_EFULL;
    results[1].retry_after_s = 3600;
    snprintf(results[1].code, sizeof(results[1].code), "quota_exceeded");
    snprintf(results[1].reason, sizeof(results[1].reason), "daily limit of 10 runs reached");
    memset(&m, 0, sizeof(m));
    m.type = CVG_MSG_ENQUEUED;
    snprintf(m.u.enqueued.id, sizeof(m.u.enqueued.id), EV_ID);
    m.u.enqueued.n = 2;
    m.u.enqueued.results = results;
    write_seed(dir, "enqueued", &m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("CVG_FUZZ_WRITE_SEEDS");
    if (dir != NULL) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* A decoded message encodes, and decodes again to the same encoding. */
static void round_trip(const cvg_msg_t *m)
{
    cvg_buf_t first, second;
    cvg_buf_init(&first, CVG_MSG_MAX);
    cvg_buf_init(&second, CVG_MSG_MAX);
    int rc = cvg_msg_encode(m, &first);
    if (rc == 0) {
        cvg_msg_t again;
        cvg_err_t err;
        cvg_err_clear(&err);
        rc = cvg_msg_decode(first.data, first.len, &again, &err);
        if (rc != 0) {
            fprintf(stderr, "a decoded message re-encoded does not decode: %s\n", err.message);
            abort();
        }
        if (cvg_msg_encode(&again, &second) != 0 || second.len != first.len ||
            memcmp(first.data, second.data, first.len) != 0) {
            fprintf(stderr, "decode(encode(m)) encodes differently from m\n");
            abort();
        }
        cvg_msg_cleanup(&again);
    } else if (rc != CVG_ETOOBIG) {
        fprintf(stderr, "a decoded message does not encode: %s\n", cvg_strerror(rc));
        abort();
    }
    cvg_buf_cleanup(&first);
    cvg_buf_cleanup(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cvg_msg_t m;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_msg_decode(data, size, &m, &err) == 0)
        round_trip(&m);
    cvg_msg_cleanup(&m);

    char id[CVG_ID_LEN];
    if (cvg_msg_peek_event_id(data, size, id) == 0 && !cvg_id_valid(id))
        abort();
    size_t n = 0;
    if (cvg_msg_peek_enqueue(data, size, id, &n) == 0 && (!cvg_id_valid(id) || n > CVG_ENQUEUE_MAX))
        abort();
    return 0;
}
