/*
 * The scheduler's view of the worker pool, kept from the workers' hello,
 * heartbeat and bye messages. A worker silent for longer than the worker
 * timeout counts as gone.
 */
#ifndef SCH_WORKERS_H
#define SCH_WORKERS_H

#include "common/proto.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SCH_WORKERS_MAX 1024

typedef struct sch_worker {
    char id[CVG_NAME_MAX];
    int64_t pid;
    char state[CVG_STATUS_MAX]; /* idle, busy, stopping */
    char run_id[CVG_ID_LEN];    /* run in hand, or "" */
    int64_t first_seen_ms;      /* wall clock */
    int64_t last_seen_mono;     /* monotonic */
    size_t ident_len;           /* its ROUTER identity, to send it a command */
    unsigned char ident[256];
} sch_worker_t;

typedef struct sch_workers {
    size_t n;
    sch_worker_t items[SCH_WORKERS_MAX];
    int timeout_ms;
} sch_workers_t;

void sch_workers_init(sch_workers_t *w, int timeout_ms);

/* Applies a worker message; returns the worker's entry (or NULL for "bye"
 * or when the table is full). */
/* The worker called id, or NULL. */
sch_worker_t *sch_workers_find(sch_workers_t *w, const char *id);

sch_worker_t *sch_workers_update(sch_workers_t *w, const cvg_worker_msg_t *m, int64_t now_mono);

/* Forgets workers silent past the timeout; returns how many. */
size_t sch_workers_prune(sch_workers_t *w, int64_t now_mono);

/* Counts of live workers. */
size_t sch_workers_alive(const sch_workers_t *w);
size_t sch_workers_idle(const sch_workers_t *w);

/* Remembers the ROUTER identity a worker's last message came from. */
void sch_workers_set_identity(sch_worker_t *x, const void *ident, size_t len);

/* The worker holding run_id, or NULL. */
const sch_worker_t *sch_workers_by_run(const sch_workers_t *w, const char *run_id);

/* A JSON summary: {"alive": n, "idle": n, "busy": n, "workers": [...]}. */
json_t *sch_workers_json(const sch_workers_t *w, int64_t now_mono);

#endif
