/*
 * Worker pool view (see workers.h).
 */
#include "scheduler/workers.h"
#include "common/time.h"

#include <stdio.h>
#include <string.h>

void sch_workers_init(sch_workers_t *w, int timeout_ms)
{
    memset(w, 0, sizeof(*w));
    w->timeout_ms = timeout_ms;
}

sch_worker_t *sch_workers_find(sch_workers_t *w, const char *id)
{
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->items[i].id, id) == 0)
            return &w->items[i];
    }
    return NULL;
}

sch_worker_t *sch_workers_update(sch_workers_t *w, const cvg_worker_msg_t *m, int64_t now_mono)
{
    sch_worker_t *x = sch_workers_find(w, m->worker_id);
    if (strcmp(m->op, "bye") == 0) {
        if (x != NULL)
            *x = w->items[--w->n];
        return NULL;
    }
    if (x == NULL) {
        if (w->n >= SCH_WORKERS_MAX)
            return NULL;
        x = &w->items[w->n++];
        memset(x, 0, sizeof(*x));
        snprintf(x->id, sizeof(x->id), "%s", m->worker_id);
        x->first_seen_ms = cvg_time_now_ms();
    }
    x->pid = m->pid;
    snprintf(x->state, sizeof(x->state), "%s", m->state[0] ? m->state : "idle");
    snprintf(x->run_id, sizeof(x->run_id), "%s", m->run_id);
    x->last_seen_mono = now_mono;
    return x;
}

size_t sch_workers_prune(sch_workers_t *w, int64_t now_mono)
{
    size_t gone = 0;
    for (size_t i = 0; i < w->n;) {
        if (now_mono - w->items[i].last_seen_mono > w->timeout_ms) {
            w->items[i] = w->items[--w->n];
            gone++;
        } else {
            i++;
        }
    }
    return gone;
}

size_t sch_workers_alive(const sch_workers_t *w)
{
    return w->n;
}

size_t sch_workers_idle(const sch_workers_t *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += strcmp(w->items[i].state, "idle") == 0;
    return n;
}

void sch_workers_set_identity(sch_worker_t *x, const void *ident, size_t len)
{
    if (len > sizeof(x->ident))
        len = sizeof(x->ident);
    memcpy(x->ident, ident, len);
    x->ident_len = len;
}

const sch_worker_t *sch_workers_by_run(const sch_workers_t *w, const char *run_id)
{
    for (size_t i = 0; i < w->n; i++) {
        if (run_id[0] && strcmp(w->items[i].run_id, run_id) == 0)
            return &w->items[i];
    }
    return NULL;
}

json_t *sch_workers_json(const sch_workers_t *w, int64_t now_mono)
{
    json_t *list = json_array();
    size_t busy = 0;
    for (size_t i = 0; i < w->n; i++) {
        const sch_worker_t *x = &w->items[i];
        busy += strcmp(x->state, "busy") == 0;
        json_t *o = json_pack("{s:s, s:I, s:s, s:I}", "worker_id", x->id, "pid", (json_int_t)x->pid,
                              "state", x->state, "last_seen_ms_ago",
                              (json_int_t)(now_mono - x->last_seen_mono));
        if (x->run_id[0])
            json_object_set_new(o, "run_id", json_string(x->run_id));
        json_array_append_new(list, o);
    }
    return json_pack("{s:I, s:I, s:I, s:o}", "alive", (json_int_t)w->n, "idle",
                     (json_int_t)sch_workers_idle(w), "busy", (json_int_t)busy, "workers", list);
}
