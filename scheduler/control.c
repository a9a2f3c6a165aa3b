/*
 * Control requests from the gateway (DEALER -> scheduler ROUTER): ping for
 * readiness, status for operators, cancel for the run API. Runs are
 * queued by enqueue messages (main.c, enqueue.c).
 */
#include "scheduler/scheduler.h"
#include "common/time.h"

#include <string.h>
#include <unistd.h>

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
    char counts[1024];
    *status = sch_queue_counts(&s->queue, counts, sizeof(counts), NULL);
    json_t *queue = json_loads(counts, 0, NULL);
    return json_pack(
        "{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "workers",
        sch_workers_json(&s->workers, cvg_time_mono_ms()), "queue", queue ? queue : json_object(),
        "pushed_waiting", (json_int_t)s->npushed, "dispatched", (json_int_t)s->dispatched,
        "redispatched", (json_int_t)s->redispatched, "refused", (json_int_t)s->refused, "requeued",
        (json_int_t)s->requeued, "dead", (json_int_t)s->dead, "pruned", (json_int_t)s->pruned);
}

static const struct {
    const char *op;
    json_t *(*fn)(sch_t *s, const char *body, int *status);
} ops[] = {
    {"ping", op_ping},
    {"status", op_status},
    {"cancel", sch_cancel},
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
