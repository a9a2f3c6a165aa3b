/*
 * Control requests from the gateway (DEALER -> scheduler ROUTER): ping for
 * readiness, status for operators, cancel for the run API, and the three
 * jobs Cloud Scheduler or cron calls (trigger, process-queue,
 * reset-daily-quotas), which the scheduler's own tick also does. Runs are
 * queued by enqueue messages (main.c, enqueue.c).
 */
#include "scheduler/fire.h"
#include "scheduler/scheduler.h"
#include "common/time.h"

#include <string.h>
#include <unistd.h>

/* The queue's runs by state, as an object ({} when they cannot be read;
 * *status then says why). */
static json_t *queue_counts(sch_t *s, int *status)
{
    char counts[1024];
    *status = sch_queue_counts(&s->queue, counts, sizeof(counts), NULL);
    json_t *queue = json_loads(counts, 0, NULL);
    return queue ? queue : json_object();
}

static json_t *op_ping(sch_t *s, const char *body, int *status)
{
    (void)body;
    *status = 0;
    return json_pack(
        "{s:s, s:I, s:I, s:I, s:b}", "process", "scheduler", "pid", (json_int_t)getpid(),
        "workers_alive", (json_int_t)sch_workers_alive(&s->workers), "workers_idle",
        (json_int_t)sch_workers_idle(&s->workers), "queue_ready", sch_queue_check_ready(&s->queue));
}

static json_t *op_status(sch_t *s, const char *body, int *status)
{
    (void)body;
    json_t *queue = queue_counts(s, status);
    json_t *r = json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "workers",
                          sch_workers_json(&s->workers, cvg_time_mono_ms()), "queue", queue,
                          "pushed_waiting", (json_int_t)s->npushed, "dispatched",
                          (json_int_t)s->dispatched, "redispatched", (json_int_t)s->redispatched,
                          "refused", (json_int_t)s->refused, "requeued", (json_int_t)s->requeued,
                          "dead", (json_int_t)s->dead, "pruned", (json_int_t)s->pruned);
    json_object_set_new(r, "fired", json_integer((json_int_t)s->fired));
    json_object_set_new(r, "fire_refused", json_integer((json_int_t)s->fire_refused));
    return r;
}

/* Configs fired per trigger request, at most: the rest on the next one or
 * on the tick. */
#define TRIGGER_MAX 1000

static json_t *op_trigger(sch_t *s, const char *body, int *status)
{
    (void)body;
    cvg_err_t err;
    cvg_err_clear(&err);
    size_t settled = 0;
    *status = sch_fire_sync(s, &settled, &err);
    sch_fired_t f = {0};
    if (*status == 0)
        *status = sch_fire_due(s, TRIGGER_MAX, &f, &err);
    /* some schedules failed, the others fired: say both */
    if (*status != 0 && f.failed == 0)
        return json_pack("{s:s}", "message", err.message);
    *status = 0;
    json_t *r = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "fired", (json_int_t)f.fired,
                          "refused", (json_int_t)f.refused, "already_fired", (json_int_t)f.already,
                          "missed_slots_skipped", (json_int_t)f.skipped, "deactivated",
                          (json_int_t)f.broken, "failed", (json_int_t)f.failed, "settled",
                          (json_int_t)settled, "more_due", f.more);
    if (f.failed > 0)
        json_object_set_new(r, "error", json_string(err.message));
    return r;
}

static json_t *op_process_queue(sch_t *s, const char *body, int *status)
{
    (void)body;
    sch_expire(s);
    size_t n = sch_dispatch(s);
    json_t *queue = queue_counts(s, status);
    return json_pack("{s:I, s:I, s:I, s:o}", "dispatched", (json_int_t)n, "workers_alive",
                     (json_int_t)sch_workers_alive(&s->workers), "workers_idle",
                     (json_int_t)sch_workers_idle(&s->workers), "queue", queue);
}

static json_t *op_reset_daily_quotas(sch_t *s, const char *body, int *status)
{
    (void)body;
    cvg_err_t err;
    cvg_err_clear(&err);
    size_t n = 0;
    *status = sch_usage_prune(s, s->cfg.usage_retention_days, &n, &err);
    if (*status != 0)
        return json_pack("{s:s}", "message", err.message);
    char today[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms(), today);
    return json_pack("{s:s, s:s, s:I, s:i}", "today", today, "counters",
                     "kept per UTC day: each tenant's daily count starts at 0 when the day "
                     "does, whether or not this is called",
                     "deleted_days", (json_int_t)n, "retention_days", s->cfg.usage_retention_days);
}

static const struct {
    const char *op;
    json_t *(*fn)(sch_t *s, const char *body, int *status);
} ops[] = {
    {"ping", op_ping},
    {"status", op_status},
    {"cancel", sch_cancel},
    {"trigger", op_trigger},
    {"process-queue", op_process_queue},
    {"reset-daily-quotas", op_reset_daily_quotas},
};

json_t *sch_control_handle(sch_t *s, const char *op, const char *body, int *status)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(ops[i].op, op) == 0)
            return ops[i].fn(s, body, status);
    }
    *status = CVG_EINVAL;
    return json_pack("{s:s}", "error", "unknown operation");
}
