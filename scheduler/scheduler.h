/*
 * The scheduler process's context, shared by its modules: sockets, the
 * worker pool view, the queue and the runs pushed but not yet taken.
 */
#ifndef SCH_SCHEDULER_H
#define SCH_SCHEDULER_H

#include "common/config.h"
#include "common/emitter.h"
#include "common/warehouse.h"
#include "scheduler/queue.h"
#include "scheduler/workers.h"

#include <czmq.h>
#include <jansson.h>

#define SCH_PUSHED_MAX 256

typedef struct sch_pushed {
    char run_id[CVG_ID_LEN];
    int64_t at_mono;
} sch_pushed_t;

typedef struct sch {
    cvg_config_t cfg;
    cvg_wh_t *wh;
    cvg_emitter_t *emitter;
    zsock_t *control;    /* ROUTER: gateway requests */
    zsock_t *workers_in; /* ROUTER: worker hello/heartbeat/bye */
    zsock_t *jobs;       /* PUSH: runs to workers */
    zsock_t *stream;     /* SUB: committed events from the logger */
    sch_workers_t workers;
    sch_queue_t queue;
    size_t npushed; /* pushed runs no worker has reported yet */
    sch_pushed_t pushed[SCH_PUSHED_MAX];
    uint64_t dispatched, redispatched, refused, requeued, dead, pruned;
    uint64_t fired, fire_refused; /* scheduled slots queued, and refused */
    int64_t next_prune_mono;      /* when the queue's retention runs next */
    int64_t next_fire_mono;       /* when due schedules are looked for next */
    int64_t fire_warned_mono;     /* when a failing pass was last logged */
    uint64_t fire_unlogged;       /* failing passes since */
    bool reconciled;              /* the run log was compared with the queue */
} sch_t;

/* Answers one control request; *status gets 0 or a CVG_E* code. Returns
 * the reply body (owned by the caller). */
json_t *sch_control_handle(sch_t *s, const char *op, const char *body, int *status);

/* Queues n runs (borrowed) in one transaction, one commit (see
 * enqueue.c); results[i] (n of them, the caller's) says what became of
 * runs[i]. */
void sch_enqueue_batch(sch_t *s, size_t n, const cvg_enq_run_t *const *runs,
                       cvg_enq_result_t *results);

/* The same inside the caller's transaction: no commit, no dispatch; *added
 * gets how many new runs were queued. A non-zero return (the transaction
 * failed, err says why) leaves the caller to roll back. */
int sch_enqueue_in_tx(sch_t *s, size_t n, const cvg_enq_run_t *const *runs,
                      cvg_enq_result_t *results, size_t *added, cvg_err_t *err);

/* Control op "cancel": cancels a queued run, or asks its worker to stop. */
json_t *sch_cancel(sch_t *s, const char *body, int *status);

/* Tells worker x to stop the run it holds. */
void sch_cancel_send(sch_t *s, const sch_worker_t *x, const char *run_id);

/* Pushes due runs to free workers; returns how many. */
size_t sch_dispatch(sch_t *s);

/* Takes back runs whose lease lapsed (worker lost). */
void sch_expire(sch_t *s);

/* The error of a run cancelled while queued. */
#define SCH_CANCELLED_BEFORE_START "cancelled before it started"

/* What the run log is told of a run the scheduler took back or ended. */
typedef struct sch_announce {
    const char *run_id, *tenant_id, *pipeline_id, *pipeline;
    const char *status; /* RETRYING, DEAD or CANCELLED */
    const char *error;
    int attempt;
    int64_t at_ms; /* when the queue took that state; 0: now */
    /* for a run the log may not have: what the queue knows, else NULL */
    const char *trigger_type, *triggered_by, *params;
} sch_announce_t;

/* Finished runs leave the queue after CVG_QUEUE_RETENTION_HOURS (see
 * retention.c): at most SCH_PRUNE_MAX rows a pass, a pass every
 * SCH_PRUNE_EVERY_MS, or on the next tick while a pass found a full batch. */
#define SCH_PRUNE_MAX      500
#define SCH_PRUNE_EVERY_MS 60000
void sch_retention_tick(sch_t *s, int64_t now_mono);

/* Deletes the usage counters' rows of days before keep_days ago (control
 * op "reset-daily-quotas"); *n gets how many. */
int sch_usage_prune(sch_t *s, int keep_days, size_t *n, cvg_err_t *err);

/* Sends the run event (through the emitter, so until the logger took it). */
void sch_announce(sch_t *s, const sch_announce_t *a);

/* Tells the run log the ends it missed: queue rows DEAD or CANCELLED whose
 * run log row is not final (or missing), and runs queued again whose log
 * still shows the lost attempt RUNNING. The scheduler's own events are in
 * memory until the logger takes them, so a scheduler that died (or stopped
 * while the logger was down) lost them; the queue, written first, still
 * holds the truth. Call before the scheduler ends or requeues anything
 * itself. *n gets how many were announced, at most max; 0, or the code of
 * a failed read of the queue (call again later). */
int sch_reconcile(sch_t *s, size_t max, size_t *n);

/* A stopping worker hands back the run it could not finish: queued again
 * at once (sch_queue_handback), and the run log told. */
void sch_handback(sch_t *s, const cvg_worker_msg_t *w);

/* A busy worker refused a run PUSH's round-robin gave it: queued again at
 * once for another worker (sch_queue_refused), and that worker marked busy. */
void sch_refused(sch_t *s, const cvg_worker_msg_t *w);

/* A worker reported it holds run_id: it is no longer waiting to be taken. */
void sch_dispatch_taken(sch_t *s, const char *run_id);

#endif
