/*
 * cvg-logger: the single writer of the run, step and data-quality logs.
 * Receives events on a ROUTER socket, writes them in batches (bounded by
 * size and age), acknowledges each sender after the commit, then publishes
 * the committed events on the stream. `cvg-logger tail` follows the stream.
 */
#include "common/buf.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/proc.h"
#include "common/sock.h"
#include "common/time.h"
#include "common/warehouse.h"
#include "logger/batch.h"
#include "logger/seen.h"
#include "logger/stream.h"
#include "logger/tail.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEARTBEAT_MS         1000
#define FAILURE_LOG_EVERY_MS 10000
/* How long a starting logger gives its stream's subscribers to reconnect
 * before it takes events (ZeroMQ retries a lost connection every 100 ms). */
#define STREAM_REJOIN_MS 500

typedef struct logger {
    cvg_config_t cfg;
    cvg_wh_t *wh;
    zsock_t *router;
    zsock_t *pub;
    lgr_batch_t batch;
    lgr_seen_t *seen;
    uint64_t committed, rejected, stale, batches, failed_flushes;
    int64_t last_heartbeat, last_failure_log;
} logger_t;

/* Sends [identity][ack of ids] in messages of at most CVG_ACK_IDS_MAX ids. */
static void send_ack(logger_t *lg, zframe_t *identity, char (*ids)[CVG_ID_LEN], size_t n)
{
    for (size_t off = 0; off < n; off += CVG_ACK_IDS_MAX) {
        size_t chunk = n - off < CVG_ACK_IDS_MAX ? n - off : CVG_ACK_IDS_MAX;
        cvg_msg_t m = {.type = CVG_MSG_ACK};
        m.u.ack.n = chunk;
        m.u.ack.ids = ids + off;
        cvg_buf_t b;
        cvg_buf_init(&b, CVG_MSG_MAX);
        if (cvg_msg_encode(&m, &b) == 0) {
            zframe_t *id = zframe_dup(identity);
            zframe_send(&id, lg->router, ZFRAME_MORE);
            zframe_t *body = zframe_new(b.data, b.len);
            zframe_send(&body, lg->router, 0);
        }
        cvg_buf_cleanup(&b);
    }
}

/* Acknowledges every settled entry, grouped by sender. */
static void ack_settled(logger_t *lg)
{
    lgr_batch_t *b = &lg->batch;
    char(*ids)[CVG_ID_LEN] = calloc(b->n ? b->n : 1, CVG_ID_LEN);
    bool *done = calloc(b->n ? b->n : 1, sizeof(bool));
    if (ids == NULL || done == NULL) {
        free(ids);
        free(done);
        return; /* senders will resend; the seen set acks them then */
    }
    for (size_t i = 0; i < b->n; i++) {
        if (done[i] || !lgr_entry_settled(b, i))
            continue;
        size_t n = 0;
        for (size_t j = i; j < b->n; j++) {
            if (done[j] || !lgr_entry_settled(b, j) ||
                !zframe_eq(b->items[i].identity, b->items[j].identity))
                continue;
            memcpy(ids[n++], b->items[j].ev.id, CVG_ID_LEN);
            done[j] = true;
        }
        send_ack(lg, b->items[i].identity, ids, n);
    }
    free(ids);
    free(done);
}

/* The steps a committed run event closed, told on the stream as their own
 * ends would have been (their worker will never send them). */
static void publish_closed(logger_t *lg, const lgr_closed_t *closed)
{
    for (size_t i = 0; i < closed->n; i++) {
        cvg_buf_t b;
        cvg_buf_init(&b, 64 * 1024);
        if (cvg_msg_encode_event(&closed->evs[i], &b) == 0)
            lgr_stream_publish(lg->pub, &closed->evs[i], b.data, b.len);
        cvg_buf_cleanup(&b);
    }
}

static void flush(logger_t *lg)
{
    lgr_batch_t *b = &lg->batch;
    if (b->n == 0)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = lgr_batch_commit(b, lg->wh, &err);
    lg->batches++;
    size_t committed = 0;
    for (size_t i = 0; i < b->n; i++) {
        lgr_entry_t *e = &b->items[i];
        if (e->state == LGR_COMMITTED) {
            committed++;
            lgr_seen_add(lg->seen, e->ev.id);
            /* the steps it closed end before the run's news */
            publish_closed(lg, &e->closed);
            if (e->stale)
                lg->stale++; /* stored already, further along: no news to follow */
            else
                lgr_stream_publish(lg->pub, &e->ev, zframe_data(e->payload),
                                   zframe_size(e->payload));
        } else if (e->state == LGR_REJECTED) {
            lg->rejected++;
            lgr_seen_add(lg->seen, e->ev.id);
            cvg_log_ctx_t lc = {.tenant_id = e->ev.tenant_id, .run_id = e->ev.run_id};
            cvg_log_field_t f[2] = {CVG_LF_STR("event_id", e->ev.id),
                                    CVG_LF_STR("kind", cvg_event_kind_name(e->ev.kind))};
            cvg_log_write(CVG_LOG_ERROR, &lc, f, 2, "event rejected, not stored: %s", e->error);
        }
    }
    lg->committed += committed;
    ack_settled(lg);
    if (rc != 0) {
        lg->failed_flushes++;
        int64_t now = cvg_time_mono_ms();
        if (now - lg->last_failure_log >= FAILURE_LOG_EVERY_MS) {
            cvg_log_field_t f = CVG_LF_NUM("events", b->n - committed);
            bool behind = cvg_wh_err_missing_column(&err);
            cvg_log_write(CVG_LOG_WARNING, NULL, &f, 1,
                          "batch not written, senders will send again: %s%s", err.message,
                          behind ? " (the central tables are older than this build: run the "
                                   "bootstrap, POST /api/v1/admin/bootstrap)"
                                 : "");
            lg->last_failure_log = now;
        }
    } else {
        cvg_log_field_t f[2] = {CVG_LF_NUM("events", committed), CVG_LF_NUM("batch", b->n)};
        cvg_log_write(CVG_LOG_DEBUG, NULL, f, 2, "batch committed");
    }
    lgr_batch_clear(b);
}

static void reply_ctl(logger_t *lg, zframe_t *identity, const cvg_ctl_t *req)
{
    char body[256];
    cvg_ctl_t rep = {.op = "reply"};
    memcpy(rep.id, req->id, sizeof(rep.id));
    if (strcmp(req->op, "ping") == 0) {
        snprintf(body, sizeof(body),
                 "{\"process\":\"logger\",\"pid\":%ld,\"committed\":%llu,\"rejected\":%llu,"
                 "\"stale\":%llu,\"batches\":%llu,\"failed_batches\":%llu,\"pending\":%zu}",
                 (long)getpid(), (unsigned long long)lg->committed,
                 (unsigned long long)lg->rejected, (unsigned long long)lg->stale,
                 (unsigned long long)lg->batches, (unsigned long long)lg->failed_flushes,
                 lg->batch.n);
    } else {
        rep.status = CVG_EINVAL;
        snprintf(body, sizeof(body), "{\"error\":\"unknown operation\"}");
    }
    rep.body = body;
    cvg_buf_t b;
    cvg_buf_init(&b, CVG_MSG_MAX);
    if (cvg_msg_encode_ctl(&rep, &b) == 0) {
        zframe_t *id = zframe_dup(identity);
        zframe_send(&id, lg->router, ZFRAME_MORE);
        zframe_t *f = zframe_new(b.data, b.len);
        zframe_send(&f, lg->router, 0);
    }
    cvg_buf_cleanup(&b);
}

/* Reads one message from the ROUTER: [identity][payload]. */
static void receive(logger_t *lg)
{
    zmsg_t *msg = zmsg_recv(lg->router);
    if (msg == NULL)
        return;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    while (payload && zframe_size(payload) == 0 && zmsg_size(msg) > 0) {
        zframe_destroy(&payload);
        payload = zmsg_pop(msg);
    }
    zmsg_destroy(&msg);
    if (identity == NULL || payload == NULL) {
        zframe_destroy(&identity);
        zframe_destroy(&payload);
        return;
    }
    cvg_msg_t m;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_msg_decode(zframe_data(payload), zframe_size(payload), &m, &err);
    if (rc != 0) {
        /* An event that cannot be stored will never become storable:
         * acknowledge it as rejected so its sender stops sending it. */
        char ids[1][CVG_ID_LEN];
        bool has_id =
            cvg_msg_peek_event_id(zframe_data(payload), zframe_size(payload), ids[0]) == 0;
        cvg_log_field_t f[2] = {CVG_LF_NUM("bytes", zframe_size(payload)),
                                CVG_LF_STR("event_id", has_id ? ids[0] : "")};
        cvg_log_write(has_id ? CVG_LOG_ERROR : CVG_LOG_WARNING, NULL, f, 2, "%s: %s",
                      has_id ? "event rejected, not stored" : "message dropped", err.message);
        if (has_id) {
            lg->rejected++;
            lgr_seen_add(lg->seen, ids[0]);
            send_ack(lg, identity, ids, 1);
        }
    } else if (m.type == CVG_MSG_CTL) {
        reply_ctl(lg, identity, &m.u.ctl);
    } else if (m.type == CVG_MSG_EVENT) {
        if (lgr_seen_has(lg->seen, m.u.event.id)) {
            /* Already committed; the first ack was lost. */
            char ids[1][CVG_ID_LEN];
            memcpy(ids[0], m.u.event.id, CVG_ID_LEN);
            send_ack(lg, identity, ids, 1);
        } else {
            if (lg->batch.n >= lg->batch.max)
                flush(lg);
            lgr_batch_add(&lg->batch, &identity, &payload, &m.u.event);
        }
    } else {
        cvg_warn(NULL, "unexpected message type %d on the event socket dropped", (int)m.type);
    }
    cvg_msg_cleanup(&m); /* also frees what a failed decode left */
    zframe_destroy(&identity);
    zframe_destroy(&payload);
}

static int serve(logger_t *lg)
{
    void *raw = zsock_resolve(lg->router);
    while (!cvg_stop_requested()) {
        int64_t now = cvg_time_mono_ms();
        if (now - lg->last_heartbeat >= HEARTBEAT_MS) {
            lgr_stream_heartbeat(lg->pub, lg->committed);
            lg->last_heartbeat = now;
        }
        long timeout = HEARTBEAT_MS - (long)(now - lg->last_heartbeat);
        if (lg->batch.n > 0) {
            long age_left = lg->cfg.logger_batch_ms - (long)(now - lg->batch.first_ms);
            if (age_left < timeout)
                timeout = age_left > 0 ? age_left : 0;
        }
        zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, timeout);
        if (n < 0 && zmq_errno() != EINTR)
            return EX_SOFTWARE;
        if (n > 0) {
            /* Drain what is waiting, up to one batch, before deciding. */
            for (size_t i = 0;
                 i < (size_t)lg->cfg.logger_batch_size && (zsock_events(lg->router) & ZMQ_POLLIN);
                 i++)
                receive(lg);
        }
        /* Write when the batch is full, when nothing more is waiting (the
         * senders, workers among them, wait for the acknowledgement), or at
         * the latest when its oldest event is CVG_LOGGER_BATCH_MS old. Under
         * load, what arrives during a commit makes the next batch. */
        now = cvg_time_mono_ms();
        bool waiting = (zsock_events(lg->router) & ZMQ_POLLIN) != 0;
        if (lg->batch.n >= (size_t)lg->cfg.logger_batch_size ||
            (lg->batch.n > 0 && (!waiting || now - lg->batch.first_ms >= lg->cfg.logger_batch_ms)))
            flush(lg);
    }
    /* Stop: write what is in hand; what is still queued in the socket was
     * never acknowledged, so its senders give it to the next logger. */
    flush(lg);
    return 0;
}

static const char USAGE[] = "Commands:\n"
                            "  (none)            run the logger\n"
                            "  tail [options]    follow the event stream (tail --help)";

int main(int argc, char **argv)
{
    cvg_cli_t cli = {.prog = "cvg-logger",
                     .summary = "batch-writes run and step events and streams them",
                     .usage = USAGE,
                     .procs = CVG_PROC_LOGGER};
    int rc = cvg_cli_parse(&cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    logger_t lg;
    memset(&lg, 0, sizeof(lg));
    bool tail = cli.argc > 0 && strcmp(cli.argv[0], "tail") == 0;
    if (cli.argc > 0 && !tail) {
        fprintf(stderr, "cvg-logger: unknown command %s (see --help)\n", cli.argv[0]);
        return EX_USAGE;
    }
    rc = cvg_startup(&cli, tail ? "tail" : "logger", &lg.cfg);
    if (rc != 0)
        return rc;
    if (tail)
        return lgr_tail_main(&lg.cfg, cli.argc, cli.argv);

    cvg_signals_install();
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_open(lg.cfg.warehouse_url, &lg.wh, &err) != 0) {
        cvg_error(NULL, "cannot open the warehouse: %s", err.message);
        return EX_UNAVAILABLE;
    }
    if (cli.check_config) {
        printf("cvg-logger: configuration ok (warehouse %s)\n", cvg_wh_driver(lg.wh));
        cvg_wh_close(&lg.wh);
        return 0;
    }
    rc = EX_CANTCREAT;
    lg.seen = lgr_seen_new();
    if (lg.seen == NULL || lgr_batch_init(&lg.batch, (size_t)lg.cfg.logger_batch_size) != 0) {
        rc = EX_OSERR;
        goto out;
    }
    /* The stream first, and events only once its subscribers (the
     * scheduler, operators' tails) had time to reconnect: a restarted
     * logger's first batches are the senders' backlog, and a PUB socket
     * drops what it sends before a subscriber is back. Meanwhile the
     * senders keep their events. */
    lg.pub = cvg_sock_bind(ZMQ_PUB, lg.cfg.stream_bind, &err);
    if (lg.pub != NULL) {
        zsock_set_sndhwm(lg.pub, 100000);
        for (int64_t until = cvg_time_mono_ms() + STREAM_REJOIN_MS;
             cvg_time_mono_ms() < until && !cvg_stop_requested();)
            cvg_time_sleep_ms(20);
        lg.router = cvg_sock_bind(ZMQ_ROUTER, lg.cfg.events_bind, &err);
    }
    if (lg.router != NULL)
        zsock_set_rcvhwm(lg.router, 100000);
    if (lg.router == NULL || lg.pub == NULL) {
        cvg_error(NULL, "cannot bind: %s", err.message);
        goto out;
    }
    cvg_log_field_t f[4] = {CVG_LF_STR("events", lg.cfg.events_bind),
                            CVG_LF_STR("stream", lg.cfg.stream_bind),
                            CVG_LF_NUM("batch_size", lg.cfg.logger_batch_size),
                            CVG_LF_NUM("batch_ms", lg.cfg.logger_batch_ms)};
    cvg_log_write(CVG_LOG_INFO, NULL, f, 4, "logger started (version %s)", CVG_VERSION);
    rc = serve(&lg);
    cvg_log_field_t g[2] = {CVG_LF_NUM("committed", lg.committed),
                            CVG_LF_NUM("rejected", lg.rejected)};
    cvg_log_write(CVG_LOG_INFO, NULL, g, 2, "logger stopped");
out:
    zsock_destroy(&lg.pub);
    zsock_destroy(&lg.router);
    lgr_batch_cleanup(&lg.batch);
    lgr_seen_destroy(&lg.seen);
    cvg_wh_close(&lg.wh);
    return rc;
}
