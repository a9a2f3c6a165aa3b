/*
 * The run queue (tenants.tenant_pipeline_execution_queue), owned by the
 * scheduler. A run moves QUEUED -> DISPATCHED (pushed, with a short dispatch
 * lease) -> RUNNING (a worker's heartbeat or start event names it; its
 * heartbeats renew the lease) -> a final state. A DISPATCHED run nobody took
 * within its lease is pushed again, same attempt (it never started). A
 * RUNNING run whose lease lapses is first checked against the run log, which
 * may already hold its end; otherwise it goes back to QUEUED for another
 * attempt, or to DEAD after the last one.
 */
#ifndef SCH_QUEUE_H
#define SCH_QUEUE_H

#include "common/err.h"
#include "common/proto.h"
#include "common/warehouse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sch_queue {
    cvg_wh_t *wh;          /* borrowed */
    int dispatch_lease_ms; /* time for a worker to start a pushed run */
    int run_lease_ms;      /* lease renewed by each heartbeat */
    int retry_delay_ms;    /* first backoff after a lost lease */
    bool ready;            /* the queue table exists */
} sch_queue_t;

/* A running run whose lease lapsed, and what became of it. */
typedef struct sch_expired {
    char run_id[CVG_ID_LEN];
    char tenant_id[CVG_TENANT_MAX];
    char pipeline_id[CVG_NAME_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX];
    int attempt; /* the attempt that was lost */
    int max_attempts;
    bool dead;                   /* no attempts left */
    bool cancelled;              /* a cancel was asked for: it ends CANCELLED */
    char logged[CVG_STATUS_MAX]; /* final state found in the run log, or "" */
    char worker[CVG_NAME_MAX];   /* the lease's owner, the worker lost, or "" */
    int64_t ended_ms;            /* its end there (else now), for the usage counters */
} sch_expired_t;

void sch_queue_init(sch_queue_t *q, cvg_wh_t *wh, int dispatch_lease_ms, int run_lease_ms);

/* True once the central queue table exists (checked again while false). */
bool sch_queue_check_ready(sch_queue_t *q);

/* Claims up to max due QUEUED runs, oldest first within priority, marking
 * them DISPATCHED under a lease; fills jobs[0..*n). */
int sch_queue_claim(sch_queue_t *q, size_t max, cvg_job_t *jobs, size_t *n, cvg_err_t *err);

/* Puts a claimed run back to QUEUED (the push failed). */
int sch_queue_unclaim(sch_queue_t *q, const char *queue_id, cvg_err_t *err);

/* A worker that was busy refused a pushed run: back to QUEUED at once, if
 * it is still that dispatch (DISPATCHED with that lease deadline; a later
 * one is left alone). *changed says whether it was. */
int sch_queue_refused(sch_queue_t *q, const char *run_id, int attempt, int64_t lease_deadline_ms,
                      int64_t *changed, cvg_err_t *err);

/* Follows a committed run event: started -> RUNNING, finished -> final
 * (counted in the tenant's usage). Outside any open transaction. */
int sch_queue_on_event(sch_queue_t *q, const cvg_event_t *ev, cvg_err_t *err);

/* A live worker reports it holds attempt `attempt` of run_id: a DISPATCHED
 * run becomes RUNNING under its lease, a RUNNING one it owns is renewed. */
int sch_queue_held(sch_queue_t *q, const char *run_id, int attempt, const char *worker_id,
                   cvg_err_t *err);

/* True when someone asked to cancel run_id (it is still on a worker). */
bool sch_queue_cancel_requested(sch_queue_t *q, const char *run_id);

/* Queues again the DISPATCHED runs nobody took in time, up to max of them
 * a call; *n gets how many, ids (max entries) which. */
int sch_queue_redispatch(sch_queue_t *q, char (*ids)[CVG_ID_LEN], size_t max, size_t *n,
                         cvg_err_t *err);

/* Settles RUNNING runs whose end is in the run log (an end missed on the
 * stream), at once, and those whose lease lapsed without one: queued
 * again or dead-lettered; fills out[0..*n). */
int sch_queue_expire(sch_queue_t *q, sch_expired_t *out, size_t max, size_t *n, cvg_err_t *err);

/* A run its worker hands back on stopping, before the run ended: queued
 * again at once, due after the first retry delay (5 s) as a lost run is,
 * the stopped attempt not counted against max_attempts
 * (max_attempts rises with the attempt). Only while that attempt is
 * DISPATCHED, or RUNNING under that worker, and no cancel was asked for;
 * *requeued says whether it was, and out then describes it. */
int sch_queue_handback(sch_queue_t *q, const char *run_id, int attempt, const char *worker_id,
                       sch_expired_t *out, bool *requeued, cvg_err_t *err);

/* Deletes up to max queue rows of finished runs whose last change is
 * before before_ms and whose run log row is final too; *n gets how many
 * (see retention.c). */
int sch_queue_prune(sch_queue_t *q, int64_t before_ms, size_t max, size_t *n, cvg_err_t *err);

/* Counts of queue rows by state, as a JSON object. */
int sch_queue_counts(sch_queue_t *q, char *out, size_t size, cvg_err_t *err);

#endif
