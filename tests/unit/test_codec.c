/*
 * The message codec: every type round-trips, and malformed, truncated,
 * wrong-version, oversized and hostile input is refused with an error.
 */
#include "common/msg.h"
#include "tests/tests.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static void encode(const cvg_msg_t *m, cvg_buf_t *b)
{
    cvg_buf_init(b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_encode(m, b), 0);
}

static void test_codec_job_round_trip(void)
{
    cvg_msg_t m = {.type = CVG_MSG_JOB};
    cvg_job_t *j = &m.u.job;
    cvg_id_new(j->run_id);
    cvg_id_new(j->queue_id);
    STRSET(j->tenant_id, "acme_corp");
    STRSET(j->pipeline, "gcp/cost/cost_billing");
    STRSET(j->pipeline_id, "gcp_cost_billing");
    STRSET(j->trigger_type, "manual");
    STRSET(j->triggered_by, "user-42");
    j->attempt = 3;
    j->lease_deadline_ms = 1795000000123;
    cvg_params_add(&j->params, "date", "2026-11-03");
    cvg_params_add(&j->params, "note", "it's \"quoted\"; DROP TABLE x; --");
    cvg_buf_t b;
    encode(&m, &b);
    cvg_msg_t out;
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.type, CVG_MSG_JOB);
    CU_ASSERT_STRING_EQUAL(out.u.job.run_id, j->run_id);
    CU_ASSERT_STRING_EQUAL(out.u.job.queue_id, j->queue_id);
    CU_ASSERT_STRING_EQUAL(out.u.job.tenant_id, "acme_corp");
    CU_ASSERT_STRING_EQUAL(out.u.job.pipeline, "gcp/cost/cost_billing");
    CU_ASSERT_STRING_EQUAL(out.u.job.pipeline_id, "gcp_cost_billing");
    CU_ASSERT_STRING_EQUAL(out.u.job.trigger_type, "manual");
    CU_ASSERT_STRING_EQUAL(out.u.job.triggered_by, "user-42");
    CU_ASSERT_EQUAL(out.u.job.attempt, 3);
    CU_ASSERT_EQUAL(out.u.job.lease_deadline_ms, 1795000000123);
    CU_ASSERT_EQUAL(out.u.job.params.n, 2);
    CU_ASSERT_STRING_EQUAL(cvg_params_get(&out.u.job.params, "date"), "2026-11-03");
    CU_ASSERT_STRING_EQUAL(cvg_params_get(&out.u.job.params, "note"),
                           "it's \"quoted\"; DROP TABLE x; --");
    cvg_msg_cleanup(&out);
    cvg_msg_cleanup(&m);
    cvg_buf_cleanup(&b);
}

static void test_codec_event_round_trip(void)
{
    cvg_msg_t m = {.type = CVG_MSG_EVENT};
    cvg_event_t *e = &m.u.event;
    cvg_event_init(e, CVG_EV_STEP_FINISHED);
    cvg_id_new(e->run_id);
    cvg_id_new(e->step_log_id);
    STRSET(e->tenant_id, "t1");
    STRSET(e->pipeline_id, "cost_billing");
    STRSET(e->status, "FAILED");
    STRSET(e->step_id, "load");
    STRSET(e->ps_type, "gcp.bq_etl");
    STRSET(e->worker_id, "host-1");
    e->start_ms = 1000;
    e->end_ms = 2500;
    e->rows = 0;
    e->attempt = 2;
    e->run_attempt = 3;
    e->step_index = 1;
    e->error = strdup("boom: ünïcödé \n and newline");
    e->detail = strdup("{\"k\":[1,2,3]}");
    cvg_buf_t b;
    encode(&m, &b);
    cvg_msg_t out;
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    cvg_event_t *o = &out.u.event;
    CU_ASSERT_EQUAL(out.type, CVG_MSG_EVENT);
    CU_ASSERT_STRING_EQUAL(o->id, e->id);
    CU_ASSERT_EQUAL(o->kind, CVG_EV_STEP_FINISHED);
    CU_ASSERT_STRING_EQUAL(o->run_id, e->run_id);
    CU_ASSERT_STRING_EQUAL(o->step_log_id, e->step_log_id);
    CU_ASSERT_STRING_EQUAL(o->status, "FAILED");
    CU_ASSERT_EQUAL(o->start_ms, 1000);
    CU_ASSERT_EQUAL(o->end_ms, 2500);
    CU_ASSERT_EQUAL(o->rows, 0);
    CU_ASSERT_EQUAL(o->attempt, 2);
    CU_ASSERT_EQUAL(o->run_attempt, 3);
    CU_ASSERT_EQUAL(o->step_index, 1);
    CU_ASSERT_EQUAL(o->ts_ms, e->ts_ms);
    CU_ASSERT_STRING_EQUAL(o->error, e->error);
    CU_ASSERT_STRING_EQUAL(o->detail, e->detail);
    cvg_msg_cleanup(&out);
    cvg_msg_cleanup(&m);
    cvg_buf_cleanup(&b);
}

static void test_codec_ack_ctl_worker_round_trip(void)
{
    char ids[3][CVG_ID_LEN];
    for (int i = 0; i < 3; i++)
        cvg_id_new(ids[i]);
    cvg_msg_t m = {.type = CVG_MSG_ACK};
    m.u.ack.n = 3;
    m.u.ack.ids = ids;
    cvg_buf_t b;
    encode(&m, &b);
    cvg_msg_t out;
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.type, CVG_MSG_ACK);
    CU_ASSERT_EQUAL_FATAL(out.u.ack.n, 3);
    CU_ASSERT_STRING_EQUAL(out.u.ack.ids[2], ids[2]);
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);

    cvg_ctl_t c = {.op = "status", .status = CVG_EBUSY, .body = "{\"a\":1}"};
    cvg_id_new(c.id);
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_encode_ctl(&c, &b), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.type, CVG_MSG_CTL);
    CU_ASSERT_STRING_EQUAL(out.u.ctl.op, "status");
    CU_ASSERT_STRING_EQUAL(out.u.ctl.id, c.id);
    CU_ASSERT_EQUAL(out.u.ctl.status, CVG_EBUSY);
    CU_ASSERT_STRING_EQUAL(out.u.ctl.body, "{\"a\":1}");
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);

    cvg_worker_msg_t w = {.op = "refused",
                          .worker_id = "h-1",
                          .pid = 77,
                          .state = "busy",
                          .attempt = 2,
                          .lease_deadline_ms = 1795000000123};
    cvg_id_new(w.run_id);
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_encode_worker(&w, &b), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.type, CVG_MSG_WORKER);
    CU_ASSERT_STRING_EQUAL(out.u.worker.state, "busy");
    CU_ASSERT_STRING_EQUAL(out.u.worker.run_id, w.run_id);
    CU_ASSERT_EQUAL(out.u.worker.pid, 77);
    CU_ASSERT_STRING_EQUAL(out.u.worker.op, "refused");
    CU_ASSERT_EQUAL(out.u.worker.attempt, 2);
    CU_ASSERT_EQUAL(out.u.worker.lease_deadline_ms, 1795000000123);
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);
}

/* Packs an arbitrary map with msgpack-c directly, for hostile cases. */
typedef struct raw {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} raw_t;

static void raw_init(raw_t *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void raw_str(raw_t *r, const char *s)
{
    msgpack_pack_str(&r->pk, strlen(s));
    msgpack_pack_str_body(&r->pk, s, strlen(s));
}

/* A message map of fields + 2 entries opened with version 1 and type. */
static void raw_header(raw_t *r, uint32_t fields, const char *type)
{
    msgpack_pack_map(&r->pk, fields + 2);
    raw_str(r, "v");
    msgpack_pack_int(&r->pk, 1);
    raw_str(r, "t");
    raw_str(r, type);
}

static int decode_raw(raw_t *r, cvg_err_t *err)
{
    cvg_msg_t out;
    int rc = cvg_msg_decode(r->sb.data, r->sb.size, &out, err);
    cvg_msg_cleanup(&out);
    msgpack_sbuffer_destroy(&r->sb);
    return rc;
}

static void test_codec_rejects_wrong_version(void)
{
    raw_t r;
    raw_init(&r);
    msgpack_pack_map(&r.pk, 2);
    raw_str(&r, "v");
    msgpack_pack_int(&r.pk, 2);
    raw_str(&r, "t");
    raw_str(&r, "job");
    cvg_err_t err;
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EVERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "version 2"));

    raw_init(&r); /* no version at all */
    msgpack_pack_map(&r.pk, 1);
    raw_str(&r, "t");
    raw_str(&r, "job");
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EPROTO);
    CU_ASSERT_STRING_EQUAL(err.field, "v");
}

static void test_codec_rejects_malformed(void)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\xc1", 1},                                 /* never-used byte */
        {"\x92\x01\x02", 3},                         /* an array, not a map */
        {"\x81\xa1v\x01\x01", 5},                    /* trailing byte */
        {"\x80", 1},                                 /* empty map: no version */
        {"hello world", 11},                         /* text */
        {"\xdd\xff\xff\xff\xff", 5},                 /* array32 claiming 4 billion items */
        {"\xdf\x7f\xff\xff\xff", 5},                 /* map32 claiming 2 billion pairs */
        {"\xdb\xff\xff\xff\xff", 5},                 /* str32 claiming 4 GB */
        {"\x91\x91\x91\x91\x91\x91\x91\x91\x00", 9}, /* nested deeper than allowed */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_msg_t out;
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = cvg_msg_decode(cases[i].bytes, cases[i].len, &out, &err);
        CU_ASSERT(rc == CVG_EPROTO || rc == CVG_EVERSION);
        CU_ASSERT(err.message[0] != '\0');
        cvg_msg_cleanup(&out);
    }
    cvg_msg_t out;
    CU_ASSERT_EQUAL(cvg_msg_decode("", 0, &out, NULL), CVG_EPROTO);
}

static void test_codec_rejects_every_truncation(void)
{
    cvg_msg_t m = {.type = CVG_MSG_EVENT};
    cvg_event_init(&m.u.event, CVG_EV_RUN_STARTED);
    cvg_id_new(m.u.event.run_id);
    STRSET(m.u.event.tenant_id, "acme");
    m.u.event.detail = strdup("{\"parameters\":{}}");
    cvg_buf_t b;
    encode(&m, &b);
    for (size_t n = 0; n < b.len; n++) {
        cvg_msg_t out;
        int rc = cvg_msg_decode(b.data, n, &out, NULL);
        CU_ASSERT_NOT_EQUAL(rc, 0);
        cvg_msg_cleanup(&out);
    }
    cvg_msg_t out;
    CU_ASSERT_EQUAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    cvg_msg_cleanup(&out);
    cvg_msg_cleanup(&m);
    cvg_buf_cleanup(&b);
}

static void test_codec_rejects_oversized(void)
{
    cvg_msg_t out;
    char *big = calloc(1, CVG_MSG_MAX + 10);
    CU_ASSERT_EQUAL(cvg_msg_decode(big, CVG_MSG_MAX + 1, &out, NULL), CVG_ETOOBIG);
    free(big);

    /* A field over its own maximum. */
    raw_t r;
    raw_init(&r);
    raw_header(&r, 2, "job");
    raw_str(&r, "run_id");
    raw_str(&r, "0193c2b0-0000-7000-8000-000000000001");
    raw_str(&r, "tenant_id");
    char tenant[200];
    memset(tenant, 'a', sizeof(tenant) - 1);
    tenant[sizeof(tenant) - 1] = '\0';
    raw_str(&r, tenant);
    cvg_err_t err;
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(err.field, "tenant_id");

    /* More parameters than allowed. */
    raw_init(&r);
    raw_header(&r, 5, "job");
    raw_str(&r, "run_id");
    raw_str(&r, "0193c2b0-0000-7000-8000-000000000001");
    raw_str(&r, "tenant_id");
    raw_str(&r, "t");
    raw_str(&r, "pipeline");
    raw_str(&r, "gcp/cost/cost_billing");
    raw_str(&r, "attempt");
    msgpack_pack_int(&r.pk, 1);
    raw_str(&r, "params");
    msgpack_pack_map(&r.pk, CVG_PARAMS_MAX + 1);
    for (int i = 0; i <= CVG_PARAMS_MAX; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        raw_str(&r, k);
        raw_str(&r, "v");
    }
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(err.field, "params");

    /* Encoding refuses a message over the frame maximum. */
    cvg_msg_t m = {.type = CVG_MSG_EVENT};
    cvg_event_init(&m.u.event, CVG_EV_RUN_FINISHED);
    m.u.event.error = malloc(CVG_MSG_MAX + 1);
    memset(m.u.event.error, 'x', CVG_MSG_MAX);
    m.u.event.error[CVG_MSG_MAX] = '\0';
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL(cvg_msg_encode(&m, &b), CVG_ETOOBIG);
    CU_ASSERT_EQUAL(b.len, 0);
    cvg_buf_cleanup(&b);
    cvg_msg_cleanup(&m);
}

static void test_codec_rejects_bad_fields(void)
{
    raw_t r;
    cvg_err_t err;
    /* A job without its attempt (found by fuzzing: it decoded as attempt 0,
     * below the field's range). */
    raw_init(&r);
    raw_header(&r, 3, "job");
    raw_str(&r, "run_id");
    raw_str(&r, "0193c2b0-0000-7000-8000-000000000001");
    raw_str(&r, "tenant_id");
    raw_str(&r, "t");
    raw_str(&r, "pipeline");
    raw_str(&r, "gcp/cost/cost_billing");
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EPROTO);
    CU_ASSERT_STRING_EQUAL(err.field, "attempt");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "missing"));

    /* Wrong type for a field. */
    raw_init(&r);
    raw_header(&r, 2, "job");
    raw_str(&r, "run_id");
    msgpack_pack_int(&r.pk, 5);
    raw_str(&r, "tenant_id");
    raw_str(&r, "t");
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EPROTO);
    CU_ASSERT_STRING_EQUAL(err.field, "run_id");

    /* A NUL inside a string. */
    raw_init(&r);
    raw_header(&r, 1, "ctl");
    raw_str(&r, "id");
    msgpack_pack_str(&r.pk, 3);
    msgpack_pack_str_body(&r.pk, "a\0b", 3);
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EPROTO);

    /* Unknown type and unknown event kind. */
    raw_init(&r);
    raw_header(&r, 0, "bogus");
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EPROTO);
    raw_init(&r);
    raw_header(&r, 3, "event");
    raw_str(&r, "id");
    raw_str(&r, "0193c2b0-0000-7000-8000-000000000001");
    raw_str(&r, "kind");
    raw_str(&r, "run_exploded");
    raw_str(&r, "ts_ms");
    msgpack_pack_int(&r.pk, 1);
    CU_ASSERT_EQUAL(decode_raw(&r, &err), CVG_EPROTO);
    CU_ASSERT_STRING_EQUAL(err.field, "kind");
}

static void fill_run(cvg_enq_run_t *r, int i)
{
    snprintf(r->tenant_id, sizeof(r->tenant_id), "tenant_%d", i);
    STRSET(r->pipeline, "gcp/cost/cost_billing");
    STRSET(r->pipeline_id, "cost_billing");
    STRSET(r->trigger_type, "manual");
    STRSET(r->triggered_by, "key-1");
    r->priority = 1;
    r->max_attempts = 3;
    if (i % 2 == 0)
        snprintf(r->idempotency_key, sizeof(r->idempotency_key), "key-%d", i);
    r->date_given = i % 3 == 0;
    r->parameters = strdup("{\"date\":\"2026-11-03\",\"note\":\"it's; DROP TABLE x\"}");
}

/* An enqueue message carries its runs in order, by pointer or by array;
 * its answer the results in the same order. */
static void test_codec_enqueue_round_trip(void)
{
    enum { N = 5 };
    cvg_enq_run_t runs[N];
    const cvg_enq_run_t *ptrs[N];
    memset(runs, 0, sizeof(runs));
    for (int i = 0; i < N; i++) {
        fill_run(&runs[i], i);
        ptrs[i] = &runs[i];
    }
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_encode_enqueue("batch-1", ptrs, N, &b), 0);
    cvg_msg_t out;
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.type, CVG_MSG_ENQUEUE);
    CU_ASSERT_STRING_EQUAL(out.u.enqueue.id, "batch-1");
    CU_ASSERT_EQUAL_FATAL(out.u.enqueue.n, N);
    for (int i = 0; i < N; i++) {
        const cvg_enq_run_t *r = &out.u.enqueue.runs[i];
        CU_ASSERT_STRING_EQUAL(r->tenant_id, runs[i].tenant_id);
        CU_ASSERT_STRING_EQUAL(r->pipeline, "gcp/cost/cost_billing");
        CU_ASSERT_STRING_EQUAL(r->pipeline_id, "cost_billing");
        CU_ASSERT_STRING_EQUAL(r->trigger_type, "manual");
        CU_ASSERT_STRING_EQUAL(r->triggered_by, "key-1");
        CU_ASSERT_EQUAL(r->priority, 1);
        CU_ASSERT_EQUAL(r->max_attempts, 3);
        CU_ASSERT_STRING_EQUAL(r->idempotency_key, runs[i].idempotency_key);
        CU_ASSERT_EQUAL(r->date_given, runs[i].date_given);
        CU_ASSERT_STRING_EQUAL(r->parameters, runs[i].parameters);
    }
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);

    /* the same runs from an array, through cvg_msg_encode */
    cvg_msg_t m = {.type = CVG_MSG_ENQUEUE};
    STRSET(m.u.enqueue.id, "batch-2");
    m.u.enqueue.n = N;
    m.u.enqueue.runs = runs;
    encode(&m, &b);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.u.enqueue.n, N);
    CU_ASSERT_STRING_EQUAL(out.u.enqueue.runs[N - 1].tenant_id, "tenant_4");
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);

    cvg_enq_result_t results[3] = {
        {.status = 0, .run_id = "0193c2b0-0000-7000-8000-000000000001", .state = "QUEUED"},
        {.status = 0,
         .run_id = "0193c2b0-0000-7000-8000-000000000002",
         .state = "RUNNING",
         .existing = true},
        {.status = CVG_EFULL,
         .retry_after_s = 3600,
         .code = "quota_exceeded",
         .reason = "daily limit of 5 pipeline runs reached"},
    };
    cvg_msg_t rep = {.type = CVG_MSG_ENQUEUED};
    STRSET(rep.u.enqueued.id, "batch-2");
    rep.u.enqueued.n = 3;
    rep.u.enqueued.results = results;
    encode(&rep, &b);
    CU_ASSERT_EQUAL_FATAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.type, CVG_MSG_ENQUEUED);
    CU_ASSERT_STRING_EQUAL(out.u.enqueued.id, "batch-2");
    CU_ASSERT_EQUAL_FATAL(out.u.enqueued.n, 3);
    CU_ASSERT_EQUAL(out.u.enqueued.results[0].status, 0);
    CU_ASSERT_STRING_EQUAL(out.u.enqueued.results[0].state, "QUEUED");
    CU_ASSERT_FALSE(out.u.enqueued.results[0].existing);
    CU_ASSERT_TRUE(out.u.enqueued.results[1].existing);
    CU_ASSERT_STRING_EQUAL(out.u.enqueued.results[1].run_id, results[1].run_id);
    CU_ASSERT_EQUAL(out.u.enqueued.results[2].status, CVG_EFULL);
    CU_ASSERT_EQUAL(out.u.enqueued.results[2].retry_after_s, 3600);
    CU_ASSERT_STRING_EQUAL(out.u.enqueued.results[2].code, "quota_exceeded");
    CU_ASSERT_STRING_EQUAL(out.u.enqueued.results[2].reason, results[2].reason);
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);
    for (int i = 0; i < N; i++)
        cvg_enq_run_cleanup(&runs[i]);
}

/* Too many runs, a run without parameters or a tenant, a priority out of
 * range: refused by the encoder or the decoder, naming the field. */
static void test_codec_enqueue_rejects_bad_runs(void)
{
    static cvg_enq_run_t runs[CVG_ENQUEUE_MAX + 1];
    static const cvg_enq_run_t *ptrs[CVG_ENQUEUE_MAX + 1];
    for (int i = 0; i <= CVG_ENQUEUE_MAX; i++) {
        fill_run(&runs[i], i);
        ptrs[i] = &runs[i];
    }
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL(cvg_msg_encode_enqueue("x", ptrs, CVG_ENQUEUE_MAX + 1, &b), CVG_ETOOBIG);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(cvg_msg_encode_enqueue("x", ptrs, CVG_ENQUEUE_MAX, &b), 0);
    cvg_msg_t out;
    CU_ASSERT_EQUAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    CU_ASSERT_EQUAL(out.u.enqueue.n, CVG_ENQUEUE_MAX);
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);
    free(runs[0].parameters);
    runs[0].parameters = NULL;
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL(cvg_msg_encode_enqueue("x", ptrs, 1, &b), CVG_ETOOBIG);
    cvg_buf_cleanup(&b);
    for (int i = 0; i <= CVG_ENQUEUE_MAX; i++)
        cvg_enq_run_cleanup(&runs[i]);

    static const struct {
        const char *key;
        int value; /* -1: leave the field out */
        const char *field;
    } cases[] = {
        {"priority", 0, "priority"},         {"priority", 101, "priority"},
        {"max_attempts", 0, "max_attempts"}, {"tenant_id", -1, "tenant_id"},
        {"parameters", -1, "parameters"},    {"id", 0, "id"}, /* an empty correlation id */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_t r;
        raw_init(&r);
        raw_header(&r, 2, "enqueue");
        raw_str(&r, "id");
        raw_str(&r, strcmp(cases[i].key, "id") == 0 ? "" : "b");
        raw_str(&r, "runs");
        msgpack_pack_array(&r.pk, 1);
        bool leave_out = cases[i].value == -1;
        bool is_int =
            strcmp(cases[i].key, "priority") == 0 || strcmp(cases[i].key, "max_attempts") == 0;
        msgpack_pack_map(&r.pk, leave_out ? 4 : 5);
        static const char *const fields[] = {"tenant_id", "pipeline", "pipeline_id", "trigger_type",
                                             "parameters"};
        for (size_t f = 0; f < 5; f++) {
            if (leave_out && strcmp(fields[f], cases[i].key) == 0)
                continue;
            if (!leave_out && f == 4 && is_int)
                continue; /* the int takes the fifth place, parameters go */
            raw_str(&r, fields[f]);
            raw_str(&r, f == 4 ? "{}" : "acme");
        }
        if (!leave_out && is_int) {
            raw_str(&r, cases[i].key);
            msgpack_pack_int(&r.pk, cases[i].value);
        }
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_NOT_EQUAL(decode_raw(&r, &err), 0);
        if (strstr(err.field, cases[i].field) == NULL)
            fprintf(stderr, "case %zu: field '%s', message %s\n", i, err.field, err.message);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.field, cases[i].field));
    }
}

/* Random bytes never crash the decoder. */
static void test_codec_survives_random_input(void)
{
    unsigned char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 255) + 1;
        cvg_random_bytes(buf, n);
        if (round % 3 == 0)
            buf[0] = 0x80 | (buf[0] & 0x0f); /* start as a map more often */
        cvg_msg_t out;
        int rc = cvg_msg_decode(buf, n, &out, NULL);
        cvg_msg_cleanup(&out);
        CU_ASSERT(rc <= 0);
    }
}

/* The encoder refuses what the decoder would refuse, so a sender learns at
 * once instead of resending something the logger can never read. */
static void test_codec_encoder_enforces_field_maxima(void)
{
    cvg_msg_t m = {.type = CVG_MSG_EVENT};
    cvg_event_init(&m.u.event, CVG_EV_RUN_FINISHED);
    m.u.event.detail = malloc(CVG_TEXT_MAX + 2);
    memset(m.u.event.detail, 'x', CVG_TEXT_MAX + 1);
    m.u.event.detail[CVG_TEXT_MAX + 1] = '\0';
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    CU_ASSERT_EQUAL(cvg_msg_encode(&m, &b), CVG_ETOOBIG);
    m.u.event.detail[CVG_TEXT_MAX] = '\0'; /* exactly the maximum is fine */
    CU_ASSERT_EQUAL(cvg_msg_encode(&m, &b), 0);
    cvg_msg_t out;
    CU_ASSERT_EQUAL(cvg_msg_decode(b.data, b.len, &out, NULL), 0);
    cvg_msg_cleanup(&out);
    cvg_buf_cleanup(&b);
    cvg_msg_cleanup(&m);
}

static void test_codec_peeks_the_id_of_a_bad_event(void)
{
    raw_t r;
    raw_init(&r);
    raw_header(&r, 3, "event");
    raw_str(&r, "id");
    raw_str(&r, "0193c2b0-0000-7000-8000-000000000001");
    raw_str(&r, "kind");
    raw_str(&r, "run_started");
    raw_str(&r, "ts_ms");
    raw_str(&r, "not a number"); /* undecodable */
    char id[CVG_ID_LEN];
    cvg_msg_t out;
    CU_ASSERT_NOT_EQUAL(cvg_msg_decode(r.sb.data, r.sb.size, &out, NULL), 0);
    cvg_msg_cleanup(&out);
    CU_ASSERT_EQUAL(cvg_msg_peek_event_id(r.sb.data, r.sb.size, id), 0);
    CU_ASSERT_STRING_EQUAL(id, "0193c2b0-0000-7000-8000-000000000001");
    CU_ASSERT_NOT_EQUAL(cvg_msg_peek_event_id(r.sb.data, r.sb.size - 1, id), 0);
    msgpack_sbuffer_destroy(&r.sb);
}

/* An enqueue message the scheduler cannot read still names whom to answer
 * and how many runs it carried; anything else names nothing. */
static void test_codec_peeks_a_bad_enqueue(void)
{
    static const char id[] = "0193c2b0-0000-7000-8000-000000000002";
    raw_t r;
    raw_init(&r);
    raw_header(&r, 2, "enqueue");
    raw_str(&r, "id");
    raw_str(&r, id);
    raw_str(&r, "runs");
    msgpack_pack_array(&r.pk, 3);
    for (int i = 0; i < 3; i++) { /* runs without their required fields */
        msgpack_pack_map(&r.pk, 1);
        raw_str(&r, "tenant_id");
        raw_str(&r, "acme");
    }
    cvg_msg_t out;
    CU_ASSERT_NOT_EQUAL(cvg_msg_decode(r.sb.data, r.sb.size, &out, NULL), 0);
    cvg_msg_cleanup(&out);
    char got[CVG_ID_LEN];
    size_t n = 99;
    CU_ASSERT_EQUAL(cvg_msg_peek_enqueue(r.sb.data, r.sb.size, got, &n), 0);
    CU_ASSERT_STRING_EQUAL(got, id);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_NOT_EQUAL(cvg_msg_peek_enqueue(r.sb.data, r.sb.size - 1, got, &n), 0);
    CU_ASSERT_STRING_EQUAL(got, "");
    CU_ASSERT_NOT_EQUAL(cvg_msg_peek_event_id(r.sb.data, r.sb.size, got), 0); /* not an event */
    msgpack_sbuffer_destroy(&r.sb);

    raw_init(&r); /* runs not an array */
    raw_header(&r, 2, "enqueue");
    raw_str(&r, "id");
    raw_str(&r, id);
    raw_str(&r, "runs");
    raw_str(&r, "three");
    CU_ASSERT_NOT_EQUAL(cvg_msg_peek_enqueue(r.sb.data, r.sb.size, got, &n), 0);
    msgpack_sbuffer_destroy(&r.sb);

    raw_init(&r); /* an id that is not one */
    raw_header(&r, 2, "enqueue");
    raw_str(&r, "id");
    raw_str(&r, "b");
    raw_str(&r, "runs");
    msgpack_pack_array(&r.pk, 0);
    CU_ASSERT_NOT_EQUAL(cvg_msg_peek_enqueue(r.sb.data, r.sb.size, got, &n), 0);
    msgpack_sbuffer_destroy(&r.sb);
}

static CU_TestInfo tests[] = {
    {"test_codec_job_round_trip", test_codec_job_round_trip},
    {"test_codec_event_round_trip", test_codec_event_round_trip},
    {"test_codec_ack_ctl_worker_round_trip", test_codec_ack_ctl_worker_round_trip},
    {"test_codec_rejects_wrong_version", test_codec_rejects_wrong_version},
    {"test_codec_rejects_malformed", test_codec_rejects_malformed},
    {"test_codec_rejects_every_truncation", test_codec_rejects_every_truncation},
    {"test_codec_rejects_oversized", test_codec_rejects_oversized},
    {"test_codec_rejects_bad_fields", test_codec_rejects_bad_fields},
    {"test_codec_survives_random_input", test_codec_survives_random_input},
    {"test_codec_encoder_enforces_field_maxima", test_codec_encoder_enforces_field_maxima},
    {"test_codec_peeks_the_id_of_a_bad_event", test_codec_peeks_the_id_of_a_bad_event},
    {"test_codec_enqueue_round_trip", test_codec_enqueue_round_trip},
    {"test_codec_enqueue_rejects_bad_runs", test_codec_enqueue_rejects_bad_runs},
    {"test_codec_peeks_a_bad_enqueue", test_codec_peeks_a_bad_enqueue},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_codec = {"unit_codec", NULL, NULL, tests, 60};
