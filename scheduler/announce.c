/*
 * What the run log is told of the runs the scheduler itself takes back or
 * ends (the workers report everything else): RETRYING, DEAD, CANCELLED.
 */
#include "common/time.h"
#include "scheduler/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sch_announce(sch_t *s, const sch_announce_t *a)
{
    if (s->emitter == NULL || a->pipeline_id[0] == '\0')
        return;
    bool final = strcmp(a->status, "RETRYING") != 0;
    cvg_event_t ev;
    cvg_event_init(&ev, final ? CVG_EV_RUN_FINISHED : CVG_EV_RUN_QUEUED);
    snprintf(ev.run_id, sizeof(ev.run_id), "%s", a->run_id);
    snprintf(ev.tenant_id, sizeof(ev.tenant_id), "%s", a->tenant_id);
    snprintf(ev.pipeline_id, sizeof(ev.pipeline_id), "%s", a->pipeline_id);
    snprintf(ev.pipeline, sizeof(ev.pipeline), "%s", a->pipeline);
    snprintf(ev.status, sizeof(ev.status), "%s", a->status);
    snprintf(ev.worker_id, sizeof(ev.worker_id), "scheduler");
    /* a run the log may not have yet (it gets a run from its first event):
     * the event carries what the queue knows of it */
    if (a->trigger_type != NULL)
        snprintf(ev.trigger_type, sizeof(ev.trigger_type), "%s", a->trigger_type);
    if (a->triggered_by != NULL)
        snprintf(ev.triggered_by, sizeof(ev.triggered_by), "%s", a->triggered_by);
    if (a->params != NULL) {
        size_t n = strlen(a->params) + sizeof("{\"parameters\":}");
        ev.detail = malloc(n);
        if (ev.detail != NULL)
            snprintf(ev.detail, n, "{\"parameters\":%s}", a->params);
    }
    ev.attempt = a->attempt;
    ev.error = strdup(a->error ? a->error : "");
    /* told late (the reconcile), the event keeps the time the queue took
     * the state: the logger closes the lost attempt's steps begun before
     * it, never a step of the next attempt */
    if (a->at_ms > 0)
        ev.ts_ms = a->at_ms;
    if (final)
        ev.end_ms = a->at_ms > 0 ? a->at_ms : cvg_time_now_ms();
    cvg_emitter_send(s->emitter, &ev, 1000);
    cvg_event_cleanup(&ev);
}
