/*
 * GET /metrics: the gateway's counters in the Prometheus text format, the
 * scheduler's (its queue by state, its workers, what it dispatched,
 * queued again, dead-lettered and fired) and the logger's (events
 * committed, rejected, received again, batches), asked for on each
 * scrape.
 */
#include "common/buf.h"
#include "common/emitter.h"
#include "gateway/bus.h"
#include "gateway/gateway.h"

#include <stdlib.h>

/* How long a scrape waits for the scheduler's numbers, and then the logger's. */
#define PEER_WAIT_MS 1000

static void counter(cvg_buf_t *b, const char *name, const char *help, const char *labels,
                    unsigned long long v)
{
    cvg_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s%s %llu\n", name, help, name, name,
                   labels, v);
}

static void gauge(cvg_buf_t *b, const char *name, const char *help, const char *labels, long long v)
{
    cvg_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s%s %lld\n", name, help, name, name, labels,
                   v);
}

static long long num(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* A peer's answer to op as JSON, or NULL when it did not answer in time. */
static json_t *ask(gw_t *gw, gw_peer_t peer, const char *op)
{
    int status = 0;
    char *reply = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *st = NULL;
    if (gw_bus_call(gw->bus, peer, op, NULL, PEER_WAIT_MS, &status, &reply, &err) == 0 &&
        status == 0)
        st = json_loads(reply ? reply : "", 0, NULL);
    free(reply);
    return st;
}

/* The scheduler's numbers, or cvg_scheduler_up 0 when it does not answer. */
static void scheduler_metrics(gw_t *gw, cvg_buf_t *b)
{
    json_t *st = ask(gw, GW_PEER_SCHEDULER, "status");
    gauge(b, "cvg_scheduler_up", "1 when the scheduler answered this scrape, else 0.", "",
          st != NULL);
    if (st == NULL)
        return;
    json_t *workers = json_object_get(st, "workers");
    gauge(b, "cvg_scheduler_workers_alive", "Workers the scheduler hears from.", "",
          num(workers, "alive"));
    gauge(b, "cvg_scheduler_workers_idle", "Workers free for a run.", "", num(workers, "idle"));
    cvg_buf_printf(b, "# HELP cvg_scheduler_queue_runs Runs in the queue table, by state.\n"
                      "# TYPE cvg_scheduler_queue_runs gauge\n");
    const char *state;
    json_t *n;
    json_object_foreach(json_object_get(st, "queue"), state, n)
    {
        cvg_buf_printf(b, "cvg_scheduler_queue_runs{state=\"%s\"} %lld\n", state,
                       (long long)json_integer_value(n));
    }
    counter(b, "cvg_scheduler_dispatched_total",
            "Runs pushed to workers since the scheduler started.", "",
            (unsigned long long)num(st, "dispatched"));
    counter(b, "cvg_scheduler_redispatched_total",
            "Pushed runs no worker took within the dispatch lease, queued again.", "",
            (unsigned long long)num(st, "redispatched"));
    counter(b, "cvg_scheduler_requeued_total",
            "Runs queued again after their worker was lost or stopped.", "",
            (unsigned long long)num(st, "requeued"));
    counter(b, "cvg_scheduler_dead_total", "Runs dead-lettered after their last attempt.", "",
            (unsigned long long)num(st, "dead"));
    counter(b, "cvg_scheduler_pruned_total",
            "Finished runs deleted from the queue past CVG_QUEUE_RETENTION_HOURS.", "",
            (unsigned long long)num(st, "pruned"));
    counter(b, "cvg_scheduler_fired_total", "Scheduled slots whose run was queued.", "",
            (unsigned long long)num(st, "fired"));
    counter(b, "cvg_scheduler_fire_refused_total",
            "Scheduled slots that started no run (the tenant's standing or quota).", "",
            (unsigned long long)num(st, "fire_refused"));
    json_decref(st);
}

/* The logger's numbers (its ping), or cvg_logger_up 0 when it does not
 * answer. Counted since the logger started. */
static void logger_metrics(gw_t *gw, cvg_buf_t *b)
{
    json_t *st = ask(gw, GW_PEER_LOGGER, "ping");
    gauge(b, "cvg_logger_up", "1 when the logger answered this scrape, else 0.", "", st != NULL);
    if (st == NULL)
        return;
    counter(b, "cvg_logger_events_committed_total",
            "Run, step and DQ events taken into the log (stale ones included).", "",
            (unsigned long long)num(st, "committed"));
    counter(b, "cvg_logger_events_rejected_total",
            "Events refused as unstorable (acknowledged so their senders stop).", "",
            (unsigned long long)num(st, "rejected"));
    counter(b, "cvg_logger_events_stale_total",
            "Events that changed nothing, the log holding them as far or further: sent again "
            "after a lost ack or a logger restart.",
            "", (unsigned long long)num(st, "stale"));
    counter(b, "cvg_logger_batches_total",
            "Batches the logger wrote or tried to (one transaction each; the failed ones are also "
            "in cvg_logger_failed_batches_total).",
            "", (unsigned long long)num(st, "batches"));
    counter(b, "cvg_logger_failed_batches_total",
            "Batches the warehouse refused; their senders send the events again.", "",
            (unsigned long long)num(st, "failed_batches"));
    gauge(b, "cvg_logger_events_pending", "Events received, waiting for the next batch.", "",
          num(st, "pending"));
    json_decref(st);
}

void gw_metrics(gw_req_t *req, gw_resp_t *resp)
{
    gw_t *gw = req->gw;
    cvg_buf_t b;
    cvg_buf_init(&b, 64 * 1024);
    counter(&b, "cvg_gateway_requests_total", "HTTP requests received.", "",
            atomic_load(&gw->requests));
    counter(&b, "cvg_gateway_client_errors_total", "Responses with a 4xx status.", "",
            atomic_load(&gw->responses_4xx));
    counter(&b, "cvg_gateway_server_errors_total", "Responses with a 5xx status.", "",
            atomic_load(&gw->responses_5xx));
    counter(&b, "cvg_gateway_auth_lookups_total",
            "API key lookups that went to the warehouse (cache misses).", "",
            atomic_load(&gw->auth_lookups));
    counter(&b, "cvg_gateway_auth_refused_total", "Requests refused by authentication.", "",
            atomic_load(&gw->auth_refused));
    counter(&b, "cvg_gateway_run_cache_hits_total",
            "Run reads answered from memory (finished runs, CVG_RUN_CACHE_MS).", "",
            atomic_load(&gw->run_cache_hits));
    counter(&b, "cvg_gateway_rate_limited_total",
            "Requests refused by the rate limit (429 rate_limited; a spent quota's 429 is a 4xx).",
            "", atomic_load(&gw->rate_limited));
    counter(&b, "cvg_gateway_body_refused_total",
            "Requests refused with 503 because the bodies held reached API_MAX_BUFFERED_BYTES.", "",
            atomic_load(&gw->body_refused));
    gauge(&b, "cvg_gateway_body_bytes", "Request body bytes held, all connections together.", "",
          (long long)atomic_load(&gw->body_bytes));
    gauge(&b, "cvg_gateway_events_pending",
          "Run events of setup pipelines not yet acknowledged by the logger.", "",
          gw->emitter ? (long long)cvg_emitter_pending(gw->emitter) : 0);
    scheduler_metrics(gw, &b);
    logger_metrics(gw, &b);
    resp->status = 200;
    resp->len = b.len;
    resp->body = cvg_buf_detach(&b);
    resp->content_type = "text/plain; version=0.0.4";
}
