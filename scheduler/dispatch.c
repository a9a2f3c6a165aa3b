/*
 * Dispatch: claims due runs from the queue and pushes them to workers, at
 * most as many as there are idle workers not already promised a run. PUSH
 * round-robins over every worker, busy or not: a busy one refuses the run
 * at once and it is pushed again (sch_refused). The PUSH socket keeps a
 * high-water mark of one, so a run never waits long in a pipe; if it does,
 * its short dispatch lease brings it back.
 */
#include "scheduler/scheduler.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/time.h"

#include <string.h>

#define CLAIM_MAX 32

void sch_dispatch_taken(sch_t *s, const char *run_id)
{
    for (size_t i = 0; i < s->npushed; i++) {
        if (strcmp(s->pushed[i].run_id, run_id) == 0) {
            s->pushed[i] = s->pushed[--s->npushed];
            return;
        }
    }
}

/* Forgets pushes older than the dispatch lease: the lease takes over. */
static void forget_old(sch_t *s, int64_t now)
{
    for (size_t i = 0; i < s->npushed;) {
        if (now - s->pushed[i].at_mono > s->queue.dispatch_lease_ms)
            s->pushed[i] = s->pushed[--s->npushed];
        else
            i++;
    }
}

size_t sch_dispatch(sch_t *s)
{
    int64_t now = cvg_time_mono_ms();
    forget_old(s, now);
    size_t idle = sch_workers_idle(&s->workers);
    size_t room = idle > s->npushed ? idle - s->npushed : 0;
    if (room > CLAIM_MAX)
        room = CLAIM_MAX;
    if (room > SCH_PUSHED_MAX - s->npushed)
        room = SCH_PUSHED_MAX - s->npushed;
    if (room == 0)
        return 0;
    cvg_job_t jobs[CLAIM_MAX];
    size_t n = 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (sch_queue_claim(&s->queue, room, jobs, &n, &err) != 0) {
        cvg_warn(NULL, "cannot read the queue: %s", err.message);
        return 0;
    }
    size_t pushed = 0;
    for (size_t i = 0; i < n; i++) {
        cvg_job_t *j = &jobs[i];
        /* the job names its config's path, not its pipeline_id */
        cvg_log_ctx_t lc = {.tenant_id = j->tenant_id, .run_id = j->run_id};
        cvg_buf_t b;
        cvg_buf_init(&b, CVG_MSG_MAX);
        int rc = cvg_msg_encode_job(j, &b);
        if (rc == 0 && zmq_send(zsock_resolve(s->jobs), b.data, b.len, ZMQ_DONTWAIT) < 0)
            rc = CVG_EBUSY;
        cvg_buf_cleanup(&b);
        if (rc != 0) {
            sch_queue_unclaim(&s->queue, j->queue_id, NULL);
            cvg_debug(&lc, "run of %s not pushed (%s); back in the queue", j->pipeline,
                      cvg_strerror(rc));
        } else {
            memcpy(s->pushed[s->npushed].run_id, j->run_id, CVG_ID_LEN);
            s->pushed[s->npushed++].at_mono = now;
            s->dispatched++;
            pushed++;
            cvg_log_field_t f[2] = {CVG_LF_STR("pipeline", j->pipeline),
                                    CVG_LF_NUM("attempt", j->attempt)};
            cvg_log_write(CVG_LOG_INFO, &lc, f, 2, "run dispatched");
        }
        cvg_params_cleanup(&j->params);
    }
    return pushed;
}

/* Tells the run log what became of a run the scheduler took back: queued
 * again (RETRYING), or ended (DEAD, CANCELLED). */
static void emit_taken_back(sch_t *s, const sch_expired_t *e, const char *status, const char *error)
{
    sch_announce(s, &(sch_announce_t){.run_id = e->run_id,
                                      .tenant_id = e->tenant_id,
                                      .pipeline_id = e->pipeline_id,
                                      .pipeline = e->pipeline,
                                      .status = status,
                                      .error = error,
                                      .attempt = e->attempt});
}

void sch_refused(sch_t *s, const cvg_worker_msg_t *w)
{
    /* the refusing worker is busy, whatever the scheduler last heard */
    sch_worker_t *x = sch_workers_find(&s->workers, w->worker_id);
    if (x != NULL)
        snprintf(x->state, sizeof(x->state), "busy");
    int64_t changed = 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_log_ctx_t lc = {.run_id = w->run_id};
    if (sch_queue_refused(&s->queue, w->run_id, w->attempt, w->lease_deadline_ms, &changed, &err) !=
        0) {
        cvg_warn(&lc, "cannot queue a refused run again (its dispatch lease will): %s",
                 err.message);
        return;
    }
    if (changed > 0) {
        sch_dispatch_taken(s, w->run_id); /* no longer promised to a worker */
        s->refused++;
        cvg_log_field_t f = CVG_LF_STR("worker_id", w->worker_id);
        cvg_log_write(CVG_LOG_DEBUG, &lc, &f, 1, "busy worker refused the run; queued again");
    }
}

void sch_handback(sch_t *s, const cvg_worker_msg_t *w)
{
    sch_expired_t e;
    bool requeued = false;
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_log_ctx_t lc = {.run_id = w->run_id};
    if (sch_queue_handback(&s->queue, w->run_id, w->attempt, w->worker_id, &e, &requeued, &err) !=
        0) {
        cvg_warn(&lc, "cannot take back the run of stopping worker %s (its lease will): %s",
                 w->worker_id, err.message);
        return;
    }
    if (!requeued)
        return; /* it ended meanwhile, or is not that worker's: nothing to do */
    s->requeued++;
    lc =
        (cvg_log_ctx_t){.tenant_id = e.tenant_id, .pipeline_id = e.pipeline_id, .run_id = e.run_id};
    cvg_log_field_t f[2] = {CVG_LF_STR("worker_id", w->worker_id),
                            CVG_LF_NUM("attempt", e.attempt)};
    cvg_log_write(CVG_LOG_INFO, &lc, f, 2, "run handed back by its stopping worker: queued again");
    emit_taken_back(s, &e, "RETRYING", "its worker stopped before the run ended; queued again");
}

void sch_expire(sch_t *s)
{
    sch_expired_t lost[16];
    size_t n = 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (sch_queue_expire(&s->queue, lost, 16, &n, &err) != 0) {
        cvg_warn(NULL, "cannot check leases: %s", err.message);
        return;
    }
    char again[16][CVG_ID_LEN];
    size_t nagain = 0;
    if (sch_queue_redispatch(&s->queue, again, 16, &nagain, &err) == 0) {
        s->redispatched += nagain;
        for (size_t i = 0; i < nagain; i++) {
            cvg_log_ctx_t lc = {.run_id = again[i]};
            sch_dispatch_taken(s, again[i]); /* its promise lapsed with it */
            cvg_info(&lc, "pushed run not taken within its dispatch lease: queued again");
        }
    }
    for (size_t i = 0; i < n; i++) {
        sch_expired_t *e = &lost[i];
        cvg_log_ctx_t lc = {
            .tenant_id = e->tenant_id, .pipeline_id = e->pipeline_id, .run_id = e->run_id};
        if (e->logged[0] != '\0') {
            cvg_log_field_t f = CVG_LF_STR("status", e->logged);
            cvg_log_write(CVG_LOG_INFO, &lc, &f, 1,
                          "run ended (its end taken from the run log, not seen on the stream)");
            continue;
        }
        if (e->dead)
            s->dead++;
        else if (!e->cancelled)
            s->requeued++;
        cvg_log_field_t f = CVG_LF_NUM("attempt", e->attempt);
        cvg_log_write(CVG_LOG_WARNING, &lc, &f, 1, "lease expired: %s",
                      e->cancelled ? "it was being cancelled: run is CANCELLED"
                      : e->dead    ? "no attempts left, run is DEAD"
                                   : "run queued again");
        /* the lost worker named, as the operator will look for it */
        char who[CVG_NAME_MAX + 16] = "worker";
        if (e->worker[0] != '\0')
            snprintf(who, sizeof(who), "worker %s", e->worker);
        char why[CVG_NAME_MAX + 80];
        snprintf(why, sizeof(why), "%s%s lost%s",
                 e->cancelled ? "cancelled; " : "lease expired: ", who,
                 e->cancelled ? ""
                 : e->dead    ? ", no attempts left"
                              : "; queued again");
        emit_taken_back(s, e, e->cancelled ? "CANCELLED" : e->dead ? "DEAD" : "RETRYING", why);
    }
}
