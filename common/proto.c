/*
 * Helpers for the message types of proto.h: names, init, copies, cleanup.
 */
#include "common/proto.h"
#include "common/err.h"
#include "common/time.h"

#include <stdlib.h>
#include <string.h>

static const char *kind_names[] = {
    [CVG_EV_RUN_QUEUED] = "run_queued",       [CVG_EV_RUN_STARTED] = "run_started",
    [CVG_EV_RUN_FINISHED] = "run_finished",   [CVG_EV_STEP_STARTED] = "step_started",
    [CVG_EV_STEP_FINISHED] = "step_finished", [CVG_EV_HEARTBEAT] = "heartbeat",
    [CVG_EV_DQ_RESULT] = "dq_result",
};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *cvg_event_kind_name(cvg_event_kind_t kind)
{
    if ((size_t)kind < NKINDS && kind_names[kind] != NULL)
        return kind_names[kind];
    return "unknown";
}

cvg_event_kind_t cvg_event_kind_parse(const char *name)
{
    for (size_t i = 1; i < NKINDS; i++) {
        if (kind_names[i] && strcmp(kind_names[i], name) == 0)
            return (cvg_event_kind_t)i;
    }
    return (cvg_event_kind_t)0;
}

int cvg_event_init(cvg_event_t *ev, cvg_event_kind_t kind)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->ts_ms = cvg_time_now_ms();
    ev->rows = -1;
    ev->step_index = -1;
    ev->attempt = 1;
    return cvg_id_new(ev->id);
}

void cvg_params_cleanup(cvg_params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    p->n = 0;
}

int cvg_params_add(cvg_params_t *p, const char *key, const char *value)
{
    if (p->n >= CVG_PARAMS_MAX)
        return CVG_EFULL;
    if (strlen(key) > CVG_PARAM_KEY_MAX || strlen(value) > CVG_PARAM_VALUE_MAX)
        return CVG_ETOOBIG;
    char *k = strdup(key), *v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return CVG_ENOMEM;
    }
    p->keys[p->n] = k;
    p->values[p->n] = v;
    p->n++;
    return 0;
}

const char *cvg_params_get(const cvg_params_t *p, const char *key)
{
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        if (strcmp(p->keys[i], key) == 0)
            return p->values[i];
    }
    return NULL;
}

void cvg_event_cleanup(cvg_event_t *ev)
{
    free(ev->error);
    free(ev->detail);
    ev->error = NULL;
    ev->detail = NULL;
}

int cvg_event_copy(cvg_event_t *dst, const cvg_event_t *src)
{
    *dst = *src;
    dst->error = NULL;
    dst->detail = NULL;
    if (src->error && (dst->error = strdup(src->error)) == NULL)
        return CVG_ENOMEM;
    if (src->detail && (dst->detail = strdup(src->detail)) == NULL) {
        cvg_event_cleanup(dst);
        return CVG_ENOMEM;
    }
    return 0;
}

void cvg_enq_run_cleanup(cvg_enq_run_t *r)
{
    free(r->parameters);
    r->parameters = NULL;
}

void cvg_msg_cleanup(cvg_msg_t *m)
{
    switch (m->type) {
    case CVG_MSG_JOB:
        cvg_params_cleanup(&m->u.job.params);
        break;
    case CVG_MSG_EVENT:
        cvg_event_cleanup(&m->u.event);
        break;
    case CVG_MSG_ACK:
        free(m->u.ack.ids);
        m->u.ack.ids = NULL;
        m->u.ack.n = 0;
        break;
    case CVG_MSG_CTL:
        free(m->u.ctl.body);
        m->u.ctl.body = NULL;
        break;
    case CVG_MSG_ENQUEUE:
        for (size_t i = 0; i < m->u.enqueue.n; i++)
            cvg_enq_run_cleanup(&m->u.enqueue.runs[i]);
        free(m->u.enqueue.runs);
        m->u.enqueue.runs = NULL;
        m->u.enqueue.n = 0;
        break;
    case CVG_MSG_ENQUEUED:
        free(m->u.enqueued.results);
        m->u.enqueued.results = NULL;
        m->u.enqueued.n = 0;
        break;
    default:
        break;
    }
}
