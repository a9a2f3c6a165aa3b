/*
 * The logger's sink: applies one event to the central log tables
 * (tenant_pipeline_runs, tenant_step_logs, tenant_dq_results). Each apply
 * is an idempotent upsert: replaying an event, or receiving a run's events
 * out of order, leaves the same rows (a state only moves forward, ordered
 * by state_seq = attempt * 16 + rank of the state).
 */
#ifndef LGR_SINK_H
#define LGR_SINK_H

#include "common/err.h"
#include "common/proto.h"
#include "common/warehouse.h"

#include <stdbool.h>

/* Writes ev. CVG_EINVAL for an event that can never be stored (bad fields);
 * other errors are transient (warehouse busy, tables not created yet).
 * *stale says the event changed nothing: a run or step row had moved past
 * it (a late or resent event), or a DQ result was held already (resent),
 * so it is no news to follow on the stream. */
int lgr_sink_apply(cvg_wh_t *wh, const cvg_event_t *ev, bool *stale, cvg_err_t *err);

/* The steps a run event closed (their worker lost, or the run over while
 * they were still RUNNING), as the step-finished events that say so: the
 * stream carries them once the event's transaction commits. */
typedef struct lgr_closed {
    cvg_event_t *evs; /* owned */
    size_t n;
} lgr_closed_t;

/* As lgr_sink_apply, and fills *closed (emptied first). */
int lgr_sink_apply_closing(cvg_wh_t *wh, const cvg_event_t *ev, bool *stale, lgr_closed_t *closed,
                           cvg_err_t *err);
void lgr_closed_clear(lgr_closed_t *closed);

/* True when a failure of lgr_sink_apply (rc, and err when known) may pass
 * if tried again later: the warehouse busy or away, or its tables behind
 * this build (no such table or column, until the bootstrap brings them up
 * to date); not a bad event. */
bool lgr_sink_transient(int rc, const cvg_err_t *err);

/* Ordering rank of a run or step state (0 when unknown). */
int lgr_state_rank(const char *status);

#endif
