/*
 * Event batches (see batch.h).
 */
#include "logger/batch.h"
#include "common/time.h"
#include "logger/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lgr_batch_init(lgr_batch_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max > LGR_BATCH_MAX ? LGR_BATCH_MAX : max;
    b->items = calloc(b->max, sizeof(*b->items));
    return b->items ? 0 : CVG_ENOMEM;
}

void lgr_batch_clear(lgr_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        zframe_destroy(&b->items[i].identity);
        zframe_destroy(&b->items[i].payload);
        cvg_event_cleanup(&b->items[i].ev);
        lgr_closed_clear(&b->items[i].closed);
    }
    b->n = 0;
    b->first_ms = 0;
}

void lgr_batch_cleanup(lgr_batch_t *b)
{
    lgr_batch_clear(b);
    free(b->items);
    b->items = NULL;
}

int lgr_batch_add(lgr_batch_t *b, zframe_t **identity, zframe_t **payload, cvg_event_t *ev)
{
    if (b->n >= b->max)
        return CVG_EFULL;
    lgr_entry_t *e = &b->items[b->n++];
    memset(e, 0, sizeof(*e));
    e->identity = *identity;
    e->payload = *payload;
    *identity = NULL;
    *payload = NULL;
    e->ev = *ev;
    ev->error = NULL;
    ev->detail = NULL;
    if (b->n == 1)
        b->first_ms = cvg_time_mono_ms();
    return 0;
}

bool lgr_entry_settled(const lgr_batch_t *b, size_t i)
{
    lgr_state_t st = b->items[i].state;
    if (st == LGR_DUPLICATE)
        st = b->items[b->items[i].dup_of].state;
    return st == LGR_COMMITTED || st == LGR_REJECTED;
}

/* Applies every entry still pending inside one transaction. Returns 0, the
 * transient error, or CVG_EINVAL with *bad set to the offending entry. */
static int apply_all(lgr_batch_t *b, cvg_wh_t *wh, size_t *bad, cvg_err_t *err)
{
    int rc = cvg_wh_begin(wh, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].state != LGR_PENDING)
            continue;
        rc = lgr_sink_apply_closing(wh, &b->items[i].ev, &b->items[i].stale, &b->items[i].closed,
                                    err);
        if (rc != 0) {
            cvg_wh_rollback(wh);
            *bad = i;
            return lgr_sink_transient(rc, err) ? rc : CVG_EINVAL;
        }
    }
    rc = cvg_wh_commit(wh, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].state == LGR_PENDING)
            b->items[i].state = LGR_COMMITTED;
    }
    return 0;
}

int lgr_batch_commit(lgr_batch_t *b, cvg_wh_t *wh, cvg_err_t *err)
{
    /* Copies of one event in the same batch (a resend that crossed the
     * ack) are acknowledged with the first. */
    for (size_t i = 0; i < b->n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (b->items[j].state != LGR_DUPLICATE &&
                strcmp(b->items[i].ev.id, b->items[j].ev.id) == 0) {
                b->items[i].state = LGR_DUPLICATE;
                b->items[i].dup_of = j;
                break;
            }
        }
    }
    int rc = cvg_wh_use(wh, "tenants", err);
    if (rc != 0)
        return rc; /* not bootstrapped yet: everything stays pending */
    size_t bad = 0;
    rc = apply_all(b, wh, &bad, err);
    if (rc != CVG_EINVAL)
        return rc;
    /* One event cannot be stored: write the others one by one, so only the
     * events that are themselves bad are rejected. */
    for (size_t i = 0; i < b->n; i++) {
        lgr_entry_t *e = &b->items[i];
        if (e->state != LGR_PENDING)
            continue;
        rc = cvg_wh_begin(wh, err);
        if (rc == 0)
            rc = lgr_sink_apply_closing(wh, &e->ev, &e->stale, &e->closed, err);
        if (rc == 0) {
            rc = cvg_wh_commit(wh, err);
            if (rc == 0)
                e->state = LGR_COMMITTED;
            else
                return rc;
        } else {
            cvg_wh_rollback(wh);
            if (lgr_sink_transient(rc, err))
                return rc;
            e->state = LGR_REJECTED;
            snprintf(e->error, sizeof(e->error), "%.500s", err ? err->message : cvg_strerror(rc));
        }
    }
    return 0;
}
