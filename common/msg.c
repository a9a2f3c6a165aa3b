/*
 * msgpack codec for proto.h messages (see msg.h). Encoding writes through a
 * bounded cvg_buf. Decoding first walks the raw bytes (scan) to prove that
 * every container holds as many items as it claims and nothing trails, so
 * msgpack-c never sizes an allocation from an untrusted header; then reads
 * the fields by name, checking each type and maximum.
 */
#include "common/msg.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_DEPTH 4

/* ---- encoding ------------------------------------------------------------ */

/* Where the packer writes: the first failed append sticks, so a message
 * that hit its maximum is never emitted with a hole in it. */
typedef struct sink {
    cvg_buf_t buf;
    int rc;
} sink_t;

static int buf_write(void *data, const char *p, size_t n)
{
    sink_t *s = data;
    if (s->rc == 0)
        s->rc = cvg_buf_append(&s->buf, p, n);
    return s->rc == 0 ? 0 : -1;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    pk_str(pk, key);
    if (val == NULL)
        msgpack_pack_nil(pk);
    else
        pk_str(pk, val);
}

static void kv_int(msgpack_packer *pk, const char *key, int64_t v)
{
    pk_str(pk, key);
    msgpack_pack_int64(pk, v);
}

static void pack_header(msgpack_packer *pk, size_t nfields, const char *type)
{
    msgpack_pack_map(pk, nfields + 2);
    kv_int(pk, "v", CVG_PROTO_VERSION);
    kv_str(pk, "t", type);
}

static void pack_job(msgpack_packer *pk, const cvg_job_t *j)
{
    pack_header(pk, 10, "job");
    kv_str(pk, "run_id", j->run_id);
    kv_str(pk, "queue_id", j->queue_id);
    kv_str(pk, "tenant_id", j->tenant_id);
    kv_str(pk, "pipeline", j->pipeline);
    kv_str(pk, "pipeline_id", j->pipeline_id);
    kv_str(pk, "trigger_type", j->trigger_type);
    kv_str(pk, "triggered_by", j->triggered_by);
    kv_int(pk, "attempt", j->attempt);
    kv_int(pk, "lease_deadline_ms", j->lease_deadline_ms);
    pk_str(pk, "params");
    msgpack_pack_map(pk, j->params.n);
    for (size_t i = 0; i < j->params.n; i++) {
        pk_str(pk, j->params.keys[i]);
        pk_str(pk, j->params.values[i]);
    }
}

static void pack_event(msgpack_packer *pk, const cvg_event_t *e)
{
    pack_header(pk, 22, "event");
    kv_str(pk, "id", e->id);
    kv_str(pk, "kind", cvg_event_kind_name(e->kind));
    kv_str(pk, "run_id", e->run_id);
    kv_str(pk, "tenant_id", e->tenant_id);
    kv_str(pk, "pipeline_id", e->pipeline_id);
    kv_str(pk, "pipeline", e->pipeline);
    kv_str(pk, "status", e->status);
    kv_int(pk, "ts_ms", e->ts_ms);
    kv_int(pk, "start_ms", e->start_ms);
    kv_int(pk, "end_ms", e->end_ms);
    kv_int(pk, "rows", e->rows);
    kv_int(pk, "attempt", e->attempt);
    kv_int(pk, "run_attempt", e->run_attempt);
    kv_int(pk, "step_index", e->step_index);
    kv_str(pk, "step_id", e->step_id);
    kv_str(pk, "step_log_id", e->step_log_id);
    kv_str(pk, "ps_type", e->ps_type);
    kv_str(pk, "trigger_type", e->trigger_type);
    kv_str(pk, "triggered_by", e->triggered_by);
    kv_str(pk, "worker_id", e->worker_id);
    kv_str(pk, "error", e->error);
    kv_str(pk, "detail", e->detail);
}

static void pack_ack(msgpack_packer *pk, const cvg_ack_t *a)
{
    pack_header(pk, 1, "ack");
    pk_str(pk, "ids");
    msgpack_pack_array(pk, a->n);
    for (size_t i = 0; i < a->n; i++)
        pk_str(pk, a->ids[i]);
}

static void pack_ctl(msgpack_packer *pk, const cvg_ctl_t *c)
{
    pack_header(pk, 4, "ctl");
    kv_str(pk, "id", c->id);
    kv_str(pk, "op", c->op);
    kv_int(pk, "status", c->status);
    kv_str(pk, "body", c->body);
}

static void pack_worker(msgpack_packer *pk, const cvg_worker_msg_t *w)
{
    pack_header(pk, 8, "worker");
    kv_str(pk, "op", w->op);
    kv_str(pk, "worker_id", w->worker_id);
    kv_int(pk, "pid", w->pid);
    kv_str(pk, "state", w->state);
    kv_str(pk, "run_id", w->run_id);
    kv_int(pk, "attempt", w->attempt);
    kv_int(pk, "ts_ms", w->ts_ms);
    kv_int(pk, "lease_deadline_ms", w->lease_deadline_ms);
}

static void kv_bool(msgpack_packer *pk, const char *key, bool v)
{
    pk_str(pk, key);
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void pack_enq_run(msgpack_packer *pk, const cvg_enq_run_t *r)
{
    msgpack_pack_map(pk, 10);
    kv_str(pk, "tenant_id", r->tenant_id);
    kv_str(pk, "pipeline", r->pipeline);
    kv_str(pk, "pipeline_id", r->pipeline_id);
    kv_str(pk, "trigger_type", r->trigger_type);
    kv_str(pk, "triggered_by", r->triggered_by);
    kv_int(pk, "priority", r->priority);
    kv_int(pk, "max_attempts", r->max_attempts);
    kv_str(pk, "idempotency_key", r->idempotency_key);
    kv_bool(pk, "date_given", r->date_given);
    kv_str(pk, "parameters", r->parameters);
}

/* The runs come from an array (runs) or from pointers (ptrs). */
static void pack_enqueue(msgpack_packer *pk, const char *id, const cvg_enq_run_t *runs,
                         const cvg_enq_run_t *const *ptrs, size_t n)
{
    pack_header(pk, 2, "enqueue");
    kv_str(pk, "id", id);
    pk_str(pk, "runs");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        pack_enq_run(pk, runs ? &runs[i] : ptrs[i]);
}

static void pack_enqueued(msgpack_packer *pk, const cvg_enqueued_t *q)
{
    pack_header(pk, 2, "enqueued");
    kv_str(pk, "id", q->id);
    pk_str(pk, "results");
    msgpack_pack_array(pk, q->n);
    for (size_t i = 0; i < q->n; i++) {
        const cvg_enq_result_t *r = &q->results[i];
        msgpack_pack_map(pk, 7);
        kv_int(pk, "status", r->status);
        kv_str(pk, "run_id", r->run_id);
        kv_str(pk, "state", r->state);
        kv_bool(pk, "existing", r->existing);
        kv_int(pk, "retry_after_s", r->retry_after_s);
        kv_str(pk, "code", r->code);
        kv_str(pk, "reason", r->reason);
    }
}

static bool runs_ok(const cvg_enq_run_t *runs, const cvg_enq_run_t *const *ptrs, size_t n)
{
    if (n > CVG_ENQUEUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        const cvg_enq_run_t *r = runs ? &runs[i] : ptrs[i];
        if (r->parameters == NULL || strlen(r->parameters) > CVG_TEXT_MAX)
            return false;
    }
    return true;
}

/* A heap text field over its maximum would encode but never decode: refuse
 * it here so the sender learns at once. */
static bool text_ok(const char *s)
{
    return s == NULL || strlen(s) <= CVG_TEXT_MAX;
}

int cvg_msg_encode(const cvg_msg_t *m, cvg_buf_t *out)
{
    if ((m->type == CVG_MSG_EVENT && (!text_ok(m->u.event.error) || !text_ok(m->u.event.detail))) ||
        (m->type == CVG_MSG_CTL && !text_ok(m->u.ctl.body)) ||
        (m->type == CVG_MSG_ACK && m->u.ack.n > CVG_ACK_IDS_MAX) ||
        (m->type == CVG_MSG_JOB && m->u.job.params.n > CVG_PARAMS_MAX))
        return CVG_ETOOBIG;
    sink_t sink = {.rc = 0};
    cvg_buf_init(&sink.buf, out->max < CVG_MSG_MAX ? out->max : CVG_MSG_MAX);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, buf_write);
    switch (m->type) {
    case CVG_MSG_JOB:
        pack_job(&pk, &m->u.job);
        break;
    case CVG_MSG_EVENT:
        pack_event(&pk, &m->u.event);
        break;
    case CVG_MSG_ACK:
        pack_ack(&pk, &m->u.ack);
        break;
    case CVG_MSG_CTL:
        pack_ctl(&pk, &m->u.ctl);
        break;
    case CVG_MSG_WORKER:
        pack_worker(&pk, &m->u.worker);
        break;
    case CVG_MSG_ENQUEUE:
        if (!runs_ok(m->u.enqueue.runs, NULL, m->u.enqueue.n)) {
            cvg_buf_cleanup(&sink.buf);
            return CVG_ETOOBIG;
        }
        pack_enqueue(&pk, m->u.enqueue.id, m->u.enqueue.runs, NULL, m->u.enqueue.n);
        break;
    case CVG_MSG_ENQUEUED:
        if (m->u.enqueued.n > CVG_ENQUEUE_MAX) {
            cvg_buf_cleanup(&sink.buf);
            return CVG_ETOOBIG;
        }
        pack_enqueued(&pk, &m->u.enqueued);
        break;
    default:
        cvg_buf_cleanup(&sink.buf);
        return CVG_EINVAL;
    }
    int rc = sink.rc;
    if (rc == 0)
        rc = cvg_buf_append(out, sink.buf.data, sink.buf.len);
    cvg_buf_cleanup(&sink.buf);
    return rc;
}

int cvg_msg_encode_job(const cvg_job_t *job, cvg_buf_t *out)
{
    cvg_msg_t m = {.type = CVG_MSG_JOB};
    m.u.job = *job;
    return cvg_msg_encode(&m, out);
}

int cvg_msg_encode_event(const cvg_event_t *ev, cvg_buf_t *out)
{
    cvg_msg_t m = {.type = CVG_MSG_EVENT};
    m.u.event = *ev;
    return cvg_msg_encode(&m, out);
}

int cvg_msg_encode_ctl(const cvg_ctl_t *ctl, cvg_buf_t *out)
{
    cvg_msg_t m = {.type = CVG_MSG_CTL};
    m.u.ctl = *ctl;
    return cvg_msg_encode(&m, out);
}

int cvg_msg_encode_worker(const cvg_worker_msg_t *w, cvg_buf_t *out)
{
    cvg_msg_t m = {.type = CVG_MSG_WORKER};
    m.u.worker = *w;
    return cvg_msg_encode(&m, out);
}

int cvg_msg_encode_enqueue(const char *id, const cvg_enq_run_t *const *runs, size_t n,
                           cvg_buf_t *out)
{
    if (!runs_ok(NULL, runs, n))
        return CVG_ETOOBIG;
    sink_t sink = {.rc = 0};
    cvg_buf_init(&sink.buf, out->max < CVG_MSG_MAX ? out->max : CVG_MSG_MAX);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, buf_write);
    pack_enqueue(&pk, id, NULL, runs, n);
    int rc = sink.rc;
    if (rc == 0)
        rc = cvg_buf_append(out, sink.buf.data, sink.buf.len);
    cvg_buf_cleanup(&sink.buf);
    return rc;
}

/* ---- structural scan ----------------------------------------------------- */

static bool read_be(const unsigned char *p, size_t len, size_t *pos, int k, uint64_t *out)
{
    if ((size_t)k > len - *pos)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | p[*pos + (size_t)i];
    *pos += (size_t)k;
    *out = v;
    return true;
}

/* Walks exactly one msgpack object covering all len bytes. */
static int scan(const unsigned char *p, size_t len, cvg_err_t *err)
{
    uint64_t left[SCAN_MAX_DEPTH + 1];
    int depth = 1;
    size_t pos = 0;
    left[0] = 1;
    while (depth > 0) {
        if (left[depth - 1] == 0) {
            depth--;
            continue;
        }
        left[depth - 1]--;
        if (pos >= len)
            return cvg_err_set(err, CVG_EPROTO, "", "truncated message");
        unsigned char b = p[pos++];
        uint64_t skip = 0, items = 0, v = 0;
        bool container = false, ok = true;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool: the byte itself */
        } else if ((b & 0xf0) == 0x80) {
            items = 2u * (b & 0x0f);
            container = true;
        } else if ((b & 0xf0) == 0x90) {
            items = b & 0x0f;
            container = true;
        } else if ((b & 0xe0) == 0xa0) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: /* bin 8/16/32 */
            case 0xd9: /* str 8/16/32 */
                ok = read_be(p, len, &pos, 1, &skip);
                break;
            case 0xc5:
            case 0xda:
                ok = read_be(p, len, &pos, 2, &skip);
                break;
            case 0xc6:
            case 0xdb:
                ok = read_be(p, len, &pos, 4, &skip);
                break;
            case 0xc7: /* ext 8/16/32: length then a type byte */
                ok = read_be(p, len, &pos, 1, &v);
                skip = v + 1;
                break;
            case 0xc8:
                ok = read_be(p, len, &pos, 2, &v);
                skip = v + 1;
                break;
            case 0xc9:
                ok = read_be(p, len, &pos, 4, &v);
                skip = v + 1;
                break;
            case 0xca:
                skip = 4;
                break;
            case 0xcb:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break;
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                ok = read_be(p, len, &pos, 2, &items);
                container = true;
                break;
            case 0xdd:
                ok = read_be(p, len, &pos, 4, &items);
                container = true;
                break;
            case 0xde:
                ok = read_be(p, len, &pos, 2, &items);
                items *= 2;
                container = true;
                break;
            case 0xdf:
                ok = read_be(p, len, &pos, 4, &items);
                items *= 2;
                container = true;
                break;
            default: /* 0xc1 is never used */
                return cvg_err_set(err, CVG_EPROTO, "", "invalid msgpack byte 0x%02x at %zu", b,
                                   pos - 1);
            }
        }
        if (!ok || skip > len - pos)
            return cvg_err_set(err, CVG_EPROTO, "", "truncated message");
        pos += skip;
        if (container) {
            /* Every item takes at least one byte. */
            if (items > len - pos)
                return cvg_err_set(err, CVG_EPROTO, "",
                                   "container claims %llu items with %zu bytes left",
                                   (unsigned long long)items, len - pos);
            if (depth >= SCAN_MAX_DEPTH)
                return cvg_err_set(err, CVG_EPROTO, "", "nesting deeper than %d", SCAN_MAX_DEPTH);
            left[depth++] = items;
        }
    }
    if (pos != len)
        return cvg_err_set(err, CVG_EPROTO, "", "%zu bytes after the message", len - pos);
    return 0;
}

/* ---- field access -------------------------------------------------------- */

static const msgpack_object *field(const msgpack_object_map *map, const char *key)
{
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return &map->ptr[i].val;
    }
    return NULL;
}

/* Checks a str object for length and embedded NULs. */
static int check_str(const msgpack_object *o, const char *key, size_t max, cvg_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return cvg_err_set(err, CVG_EPROTO, key, "field %s: expected a string", key);
    if (o->via.str.size > max)
        return cvg_err_set(err, CVG_ETOOBIG, key, "field %s: longer than %zu bytes", key, max);
    if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
        return cvg_err_set(err, CVG_EPROTO, key, "field %s: contains a NUL byte", key);
    return 0;
}

/* Copies a string field into a fixed buffer; a missing or nil optional
 * field leaves "". */
static int get_str(const msgpack_object_map *map, const char *key, bool required, char *dst,
                   size_t size, cvg_err_t *err)
{
    dst[0] = '\0';
    const msgpack_object *o = field(map, key);
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
        if (required)
            return cvg_err_set(err, CVG_EPROTO, key, "field %s: missing", key);
        return 0;
    }
    int rc = check_str(o, key, size - 1, err);
    if (rc != 0)
        return rc;
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

/* Copies an optional string field to the heap (NULL when missing or nil). */
static int get_text(const msgpack_object_map *map, const char *key, char **dst, cvg_err_t *err)
{
    *dst = NULL;
    const msgpack_object *o = field(map, key);
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = check_str(o, key, CVG_TEXT_MAX, err);
    if (rc != 0)
        return rc;
    char *s = malloc(o->via.str.size + 1);
    if (s == NULL)
        return cvg_err_set(err, CVG_ENOMEM, key, "out of memory");
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    *dst = s;
    return 0;
}

static int get_int(const msgpack_object_map *map, const char *key, bool required, int64_t min,
                   int64_t max, int64_t *out, cvg_err_t *err)
{
    const msgpack_object *o = field(map, key);
    if (o == NULL) {
        if (required)
            return cvg_err_set(err, CVG_EPROTO, key, "field %s: missing", key);
        return 0;
    }
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return cvg_err_set(err, CVG_EPROTO, key, "field %s: out of range", key);
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return cvg_err_set(err, CVG_EPROTO, key, "field %s: expected an integer", key);
    }
    if (v < min || v > max)
        return cvg_err_set(err, CVG_EPROTO, key, "field %s: %lld out of range", key, (long long)v);
    *out = v;
    return 0;
}

static int get_int32(const msgpack_object_map *map, const char *key, int min, int max, int *out,
                     cvg_err_t *err)
{
    int64_t v = *out;
    int rc = get_int(map, key, false, min, max, &v, err);
    *out = (int)v;
    return rc;
}

static int get_params(const msgpack_object_map *map, cvg_params_t *p, cvg_err_t *err)
{
    const msgpack_object *o = field(map, "params");
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return cvg_err_set(err, CVG_EPROTO, "params", "field params: expected a map");
    if (o->via.map.size > CVG_PARAMS_MAX)
        return cvg_err_set(err, CVG_ETOOBIG, "params", "field params: more than %d entries",
                           CVG_PARAMS_MAX);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        int rc = check_str(k, "params", CVG_PARAM_KEY_MAX, err);
        if (rc == 0)
            rc = check_str(v, "params", CVG_PARAM_VALUE_MAX, err);
        if (rc != 0)
            return rc;
        char key[CVG_PARAM_KEY_MAX + 1], val[CVG_PARAM_VALUE_MAX + 1];
        memcpy(key, k->via.str.ptr, k->via.str.size);
        key[k->via.str.size] = '\0';
        memcpy(val, v->via.str.ptr, v->via.str.size);
        val[v->via.str.size] = '\0';
        if (cvg_params_add(p, key, val) != 0)
            return cvg_err_set(err, CVG_ENOMEM, "params", "out of memory");
    }
    return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static int decode_job(const msgpack_object_map *m, cvg_job_t *j, cvg_err_t *err)
{
    int64_t deadline = 0, attempt = 0;
    int rc;
    if ((rc = get_str(m, "run_id", true, j->run_id, sizeof(j->run_id), err)) ||
        (rc = get_str(m, "queue_id", false, j->queue_id, sizeof(j->queue_id), err)) ||
        (rc = get_str(m, "tenant_id", true, j->tenant_id, sizeof(j->tenant_id), err)) ||
        (rc = get_str(m, "pipeline", true, j->pipeline, sizeof(j->pipeline), err)) ||
        (rc = get_str(m, "pipeline_id", false, j->pipeline_id, sizeof(j->pipeline_id), err)) ||
        (rc = get_str(m, "trigger_type", false, j->trigger_type, sizeof(j->trigger_type), err)) ||
        (rc = get_str(m, "triggered_by", false, j->triggered_by, sizeof(j->triggered_by), err)) ||
        (rc = get_int(m, "attempt", true, 1, 1000, &attempt, err)) ||
        (rc = get_int(m, "lease_deadline_ms", false, 0, INT64_MAX, &deadline, err)) ||
        (rc = get_params(m, &j->params, err)))
        return rc;
    j->attempt = (int)attempt; /* required: the worker reports it, the lease checks it */
    j->lease_deadline_ms = deadline;
    return 0;
}

static int decode_event(const msgpack_object_map *m, cvg_event_t *e, cvg_err_t *err)
{
    char kind[32];
    int rc;
    e->rows = -1;
    e->step_index = -1;
    if ((rc = get_str(m, "id", true, e->id, sizeof(e->id), err)) ||
        (rc = get_str(m, "kind", true, kind, sizeof(kind), err)))
        return rc;
    e->kind = cvg_event_kind_parse(kind);
    if (e->kind == 0)
        return cvg_err_set(err, CVG_EPROTO, "kind", "field kind: unknown event kind '%s'", kind);
    if ((rc = get_str(m, "run_id", false, e->run_id, sizeof(e->run_id), err)) ||
        (rc = get_str(m, "tenant_id", false, e->tenant_id, sizeof(e->tenant_id), err)) ||
        (rc = get_str(m, "pipeline_id", false, e->pipeline_id, sizeof(e->pipeline_id), err)) ||
        (rc = get_str(m, "pipeline", false, e->pipeline, sizeof(e->pipeline), err)) ||
        (rc = get_str(m, "status", false, e->status, sizeof(e->status), err)) ||
        (rc = get_int(m, "ts_ms", true, 0, INT64_MAX, &e->ts_ms, err)) ||
        (rc = get_int(m, "start_ms", false, 0, INT64_MAX, &e->start_ms, err)) ||
        (rc = get_int(m, "end_ms", false, 0, INT64_MAX, &e->end_ms, err)) ||
        (rc = get_int(m, "rows", false, -1, INT64_MAX, &e->rows, err)) ||
        (rc = get_int32(m, "attempt", 0, 1000, &e->attempt, err)) ||
        (rc = get_int32(m, "run_attempt", 0, 1000, &e->run_attempt, err)) ||
        (rc = get_int32(m, "step_index", -1, 10000, &e->step_index, err)) ||
        (rc = get_str(m, "step_id", false, e->step_id, sizeof(e->step_id), err)) ||
        (rc = get_str(m, "step_log_id", false, e->step_log_id, sizeof(e->step_log_id), err)) ||
        (rc = get_str(m, "ps_type", false, e->ps_type, sizeof(e->ps_type), err)) ||
        (rc = get_str(m, "trigger_type", false, e->trigger_type, sizeof(e->trigger_type), err)) ||
        (rc = get_str(m, "triggered_by", false, e->triggered_by, sizeof(e->triggered_by), err)) ||
        (rc = get_str(m, "worker_id", false, e->worker_id, sizeof(e->worker_id), err)) ||
        (rc = get_text(m, "error", &e->error, err)) ||
        (rc = get_text(m, "detail", &e->detail, err)))
        return rc;
    if (!cvg_id_valid(e->id))
        return cvg_err_set(err, CVG_EPROTO, "id", "field id: not a UUID");
    return 0;
}

static int decode_ack(const msgpack_object_map *m, cvg_ack_t *a, cvg_err_t *err)
{
    const msgpack_object *o = field(m, "ids");
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
        return cvg_err_set(err, CVG_EPROTO, "ids", "field ids: expected an array");
    if (o->via.array.size > CVG_ACK_IDS_MAX)
        return cvg_err_set(err, CVG_ETOOBIG, "ids", "field ids: more than %d ids", CVG_ACK_IDS_MAX);
    if (o->via.array.size == 0)
        return 0;
    a->ids = calloc(o->via.array.size, sizeof(*a->ids));
    if (a->ids == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "ids", "out of memory");
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *s = &o->via.array.ptr[i];
        int rc = check_str(s, "ids", CVG_ID_LEN - 1, err);
        if (rc != 0)
            return rc;
        memcpy(a->ids[i], s->via.str.ptr, s->via.str.size);
        a->ids[i][s->via.str.size] = '\0';
        a->n++;
    }
    return 0;
}

static int decode_ctl(const msgpack_object_map *m, cvg_ctl_t *c, cvg_err_t *err)
{
    int rc;
    if ((rc = get_str(m, "id", true, c->id, sizeof(c->id), err)) ||
        (rc = get_str(m, "op", true, c->op, sizeof(c->op), err)) ||
        (rc = get_int32(m, "status", -1000, 1000, &c->status, err)) ||
        (rc = get_text(m, "body", &c->body, err)))
        return rc;
    return 0;
}

static int decode_worker(const msgpack_object_map *m, cvg_worker_msg_t *w, cvg_err_t *err)
{
    int rc;
    if ((rc = get_str(m, "op", true, w->op, sizeof(w->op), err)) ||
        (rc = get_str(m, "worker_id", true, w->worker_id, sizeof(w->worker_id), err)) ||
        (rc = get_int(m, "pid", false, 0, INT32_MAX, &w->pid, err)) ||
        (rc = get_str(m, "state", false, w->state, sizeof(w->state), err)) ||
        (rc = get_str(m, "run_id", false, w->run_id, sizeof(w->run_id), err)) ||
        (rc = get_int32(m, "attempt", 0, 1000, &w->attempt, err)) ||
        (rc = get_int(m, "ts_ms", false, 0, INT64_MAX, &w->ts_ms, err)) ||
        (rc = get_int(m, "lease_deadline_ms", false, 0, INT64_MAX, &w->lease_deadline_ms, err)))
        return rc;
    return 0;
}

static int get_bool(const msgpack_object_map *map, const char *key, bool *out, cvg_err_t *err)
{
    const msgpack_object *o = field(map, key);
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return cvg_err_set(err, CVG_EPROTO, key, "field %s: expected true or false", key);
    *out = o->via.boolean;
    return 0;
}

/* The array field key of a batch message: its items, each a map. */
static int get_batch(const msgpack_object_map *m, const char *key, const msgpack_object **items,
                     size_t *n, cvg_err_t *err)
{
    const msgpack_object *o = field(m, key);
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
        return cvg_err_set(err, CVG_EPROTO, key, "field %s: expected an array", key);
    if (o->via.array.size > CVG_ENQUEUE_MAX)
        return cvg_err_set(err, CVG_ETOOBIG, key, "field %s: more than %d items", key,
                           CVG_ENQUEUE_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
            return cvg_err_set(err, CVG_EPROTO, key, "field %s: item %u is not a map", key, i);
    }
    *items = o->via.array.ptr;
    *n = o->via.array.size;
    return 0;
}

static int decode_enq_run(const msgpack_object_map *m, cvg_enq_run_t *r, cvg_err_t *err)
{
    int rc;
    if ((rc = get_str(m, "tenant_id", true, r->tenant_id, sizeof(r->tenant_id), err)) ||
        (rc = get_str(m, "pipeline", true, r->pipeline, sizeof(r->pipeline), err)) ||
        (rc = get_str(m, "pipeline_id", true, r->pipeline_id, sizeof(r->pipeline_id), err)) ||
        (rc = get_str(m, "trigger_type", true, r->trigger_type, sizeof(r->trigger_type), err)) ||
        (rc = get_str(m, "triggered_by", false, r->triggered_by, sizeof(r->triggered_by), err)) ||
        (rc = get_int32(m, "priority", CVG_PRIORITY_MIN, CVG_PRIORITY_MAX, &r->priority, err)) ||
        (rc = get_int32(m, "max_attempts", 1, 100, &r->max_attempts, err)) ||
        (rc = get_str(m, "idempotency_key", false, r->idempotency_key, sizeof(r->idempotency_key),
                      err)) ||
        (rc = get_bool(m, "date_given", &r->date_given, err)) ||
        (rc = get_text(m, "parameters", &r->parameters, err)))
        return rc;
    if (r->tenant_id[0] == '\0' || r->pipeline[0] == '\0' || r->pipeline_id[0] == '\0')
        return cvg_err_set(err, CVG_EPROTO, "runs", "a run without tenant, pipeline or its id");
    if (r->parameters == NULL)
        return cvg_err_set(err, CVG_EPROTO, "parameters", "field parameters: missing");
    return 0;
}

static int decode_enqueue(const msgpack_object_map *m, cvg_enqueue_t *q, cvg_err_t *err)
{
    const msgpack_object *items = NULL;
    size_t n = 0;
    int rc;
    if ((rc = get_str(m, "id", true, q->id, sizeof(q->id), err)) ||
        (rc = get_batch(m, "runs", &items, &n, err)))
        return rc;
    if (q->id[0] == '\0')
        return cvg_err_set(err, CVG_EPROTO, "id", "field id: empty");
    if (n == 0)
        return 0;
    q->runs = calloc(n, sizeof(*q->runs));
    if (q->runs == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "runs", "out of memory");
    for (size_t i = 0; i < n; i++) {
        /* counted first, so cleanup frees what a failed run holds */
        q->n++;
        q->runs[i].priority = 5;
        q->runs[i].max_attempts = 3;
        if ((rc = decode_enq_run(&items[i].via.map, &q->runs[i], err)) != 0)
            return rc;
    }
    return 0;
}

static int decode_enqueued(const msgpack_object_map *m, cvg_enqueued_t *q, cvg_err_t *err)
{
    const msgpack_object *items = NULL;
    size_t n = 0;
    int rc;
    if ((rc = get_str(m, "id", true, q->id, sizeof(q->id), err)) ||
        (rc = get_batch(m, "results", &items, &n, err)))
        return rc;
    if (q->id[0] == '\0')
        return cvg_err_set(err, CVG_EPROTO, "id", "field id: empty");
    if (n == 0)
        return 0;
    q->results = calloc(n, sizeof(*q->results));
    if (q->results == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "results", "out of memory");
    q->n = n;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object_map *r = &items[i].via.map;
        cvg_enq_result_t *out = &q->results[i];
        if ((rc = get_int32(r, "status", -1000, 1000, &out->status, err)) ||
            (rc = get_str(r, "run_id", false, out->run_id, sizeof(out->run_id), err)) ||
            (rc = get_str(r, "state", false, out->state, sizeof(out->state), err)) ||
            (rc = get_bool(r, "existing", &out->existing, err)) ||
            (rc = get_int(r, "retry_after_s", false, 0, INT64_MAX, &out->retry_after_s, err)) ||
            (rc = get_str(r, "code", false, out->code, sizeof(out->code), err)) ||
            (rc = get_str(r, "reason", false, out->reason, sizeof(out->reason), err)))
            return rc;
    }
    return 0;
}

/* What a message that does not decode still says: that it is a map of
 * type `type` with a valid id and, when `list` is given, an array under
 * that key of at most CVG_ENQUEUE_MAX items (*n of them). */
static int peek(const void *data, size_t len, const char *type, char id[CVG_ID_LEN],
                const char *list, size_t *n)
{
    id[0] = '\0';
    if (len == 0 || len > CVG_MSG_MAX || scan(data, len, NULL) != 0)
        return CVG_EPROTO;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = CVG_EPROTO;
    if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_MAP) {
        char t[16];
        const msgpack_object_map *map = &up.data.via.map;
        const msgpack_object *items = list ? field(map, list) : NULL;
        if (get_str(map, "t", true, t, sizeof(t), NULL) == 0 && strcmp(t, type) == 0 &&
            get_str(map, "id", true, id, CVG_ID_LEN, NULL) == 0 && cvg_id_valid(id) &&
            (list == NULL || (items != NULL && items->type == MSGPACK_OBJECT_ARRAY &&
                              items->via.array.size <= CVG_ENQUEUE_MAX))) {
            if (list != NULL)
                *n = items->via.array.size;
            rc = 0;
        }
    }
    msgpack_unpacked_destroy(&up);
    if (rc != 0)
        id[0] = '\0';
    return rc;
}

int cvg_msg_peek_event_id(const void *data, size_t len, char id[CVG_ID_LEN])
{
    return peek(data, len, "event", id, NULL, NULL);
}

int cvg_msg_peek_enqueue(const void *data, size_t len, char id[CVG_ID_LEN], size_t *n)
{
    *n = 0;
    return peek(data, len, "enqueue", id, "runs", n);
}

int cvg_msg_decode(const void *data, size_t len, cvg_msg_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (len > CVG_MSG_MAX)
        return cvg_err_set(err, CVG_ETOOBIG, "", "message of %zu bytes over the %d byte limit", len,
                           CVG_MSG_MAX);
    if (len == 0)
        return cvg_err_set(err, CVG_EPROTO, "", "empty message");
    int rc = scan(data, len, err);
    if (rc != 0)
        return rc;

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&up);
        return cvg_err_set(err, CVG_EPROTO, "", "undecodable msgpack");
    }
    const msgpack_object *root = &up.data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        rc = cvg_err_set(err, CVG_EPROTO, "", "message is not a map");
        goto done;
    }
    const msgpack_object_map *map = &root->via.map;
    int64_t version = 0;
    if ((rc = get_int(map, "v", true, 0, INT32_MAX, &version, err)) != 0)
        goto done;
    if (version != CVG_PROTO_VERSION) {
        rc = cvg_err_set(err, CVG_EVERSION, "v", "message version %lld, expected %d",
                         (long long)version, CVG_PROTO_VERSION);
        goto done;
    }
    char type[16];
    if ((rc = get_str(map, "t", true, type, sizeof(type), err)) != 0)
        goto done;
    if (strcmp(type, "job") == 0) {
        out->type = CVG_MSG_JOB;
        rc = decode_job(map, &out->u.job, err);
    } else if (strcmp(type, "event") == 0) {
        out->type = CVG_MSG_EVENT;
        rc = decode_event(map, &out->u.event, err);
    } else if (strcmp(type, "ack") == 0) {
        out->type = CVG_MSG_ACK;
        rc = decode_ack(map, &out->u.ack, err);
    } else if (strcmp(type, "ctl") == 0) {
        out->type = CVG_MSG_CTL;
        rc = decode_ctl(map, &out->u.ctl, err);
    } else if (strcmp(type, "worker") == 0) {
        out->type = CVG_MSG_WORKER;
        rc = decode_worker(map, &out->u.worker, err);
    } else if (strcmp(type, "enqueue") == 0) {
        out->type = CVG_MSG_ENQUEUE;
        rc = decode_enqueue(map, &out->u.enqueue, err);
    } else if (strcmp(type, "enqueued") == 0) {
        out->type = CVG_MSG_ENQUEUED;
        rc = decode_enqueued(map, &out->u.enqueued, err);
    } else {
        rc = cvg_err_set(err, CVG_EPROTO, "t", "unknown message type '%s'", type);
    }
done:
    msgpack_unpacked_destroy(&up);
    return rc;
}
