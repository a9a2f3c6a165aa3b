/*
 * Scheduled pipelines: the due slots of tenants.tenant_pipeline_configs
 * fired into the queue. For each active config whose next_run_time has
 * come, one transaction records the slot in
 * tenants.tenant_scheduled_pipeline_runs (unique on config and slot, so a
 * slot fires once whatever restarts or second schedulers do), queues its
 * run as a manual run is queued (the tenant's standing, daily and monthly
 * limits and usage counters apply), and moves next_run_time to the cron's
 * next slot after now. Slots missed while nothing fired (the scheduler was
 * down) are collapsed into the latest one: one run, not a burst.
 *
 * The slot's state then follows its run (QUEUED until the run ends, then
 * COMPLETED, FAILED or DEAD), read from the run log and the queue on the
 * same tick, so every way a run ends (its worker's end, a cancel, a lost
 * lease) is seen in one place.
 */
#include "scheduler/fire.h"
#include "common/cron.h"
#include "common/id.h"
#include "common/log.h"
#include "common/standing.h"
#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C "tenants.tenant_pipeline_configs"
#define S "tenants.tenant_scheduled_pipeline_runs"
#define Q "tenants.tenant_pipeline_execution_queue"

/* The first window back from now that the latest slot is looked for in. */
#define SLOT_WINDOW_MS   3600000
#define MISSED_COUNT_MAX 10000 /* missed slots counted, at most */
#define CATCH_UP_MAX     31    /* missed slots a catching-up schedule fires, at most */
#define SYNC_MAX         200   /* slots followed to their run's end per pass */
#define MAX_ATTEMPTS     3

typedef struct due {
    char config_id[CVG_SCHEDULE_ID_MAX];
    char tenant_id[CVG_TENANT_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX];
    char pipeline_id[CVG_NAME_MAX];
    char cron[CVG_CRON_TEXT_MAX + 1];
    char next_run[CVG_TIME_ISO_LEN];
    char *params; /* owned JSON object text, or NULL */
    int priority;
    bool catch_up; /* missed slots fire one by one, oldest first */
} due_t;

typedef struct due_list {
    due_t *rows;
    size_t n, max;
} due_list_t;

static void text_of(const cvg_val_t *v, char *out, size_t size)
{
    if (v->type == CVG_VAL_TEXT)
        snprintf(out, size, "%.*s", (int)v->len, v->s);
    else
        out[0] = '\0';
}

/* config_id, tenant_id, pipeline (provider/domain/template), pipeline_id,
 * schedule_cron, parameters, priority, next_run_time, catch_up */
static int take_due(void *ud, const cvg_row_t *row)
{
    due_list_t *l = ud;
    if (l->n >= l->max)
        return 1;
    due_t *d = &l->rows[l->n++];
    memset(d, 0, sizeof(*d));
    text_of(&row->vals[0], d->config_id, sizeof(d->config_id));
    text_of(&row->vals[1], d->tenant_id, sizeof(d->tenant_id));
    text_of(&row->vals[2], d->pipeline, sizeof(d->pipeline));
    text_of(&row->vals[3], d->pipeline_id, sizeof(d->pipeline_id));
    text_of(&row->vals[4], d->cron, sizeof(d->cron));
    if (row->vals[5].type == CVG_VAL_TEXT)
        d->params = strndup(row->vals[5].s, row->vals[5].len);
    d->priority = row->vals[6].type == CVG_VAL_INT ? (int)row->vals[6].i : SCH_SCHEDULED_PRIORITY;
    if (d->priority < CVG_PRIORITY_MIN || d->priority > CVG_PRIORITY_MAX)
        d->priority = SCH_SCHEDULED_PRIORITY;
    text_of(&row->vals[7], d->next_run, sizeof(d->next_run));
    d->catch_up = (row->vals[8].type == CVG_VAL_INT && row->vals[8].i != 0) ||
                  (row->vals[8].type == CVG_VAL_BOOL && row->vals[8].b);
    return 0;
}

/* The tenant's standing now; 0, or the reason in why (code: message). */
typedef struct standing_row {
    char tenant_status[17], sub_status[17], trial_end[11], sub_end[11];
    bool found;
} standing_row_t;

static int take_standing(void *ud, const cvg_row_t *row)
{
    standing_row_t *r = ud;
    r->found = true;
    text_of(&row->vals[0], r->tenant_status, sizeof(r->tenant_status));
    text_of(&row->vals[1], r->sub_status, sizeof(r->sub_status));
    text_of(&row->vals[2], r->trial_end, sizeof(r->trial_end));
    text_of(&row->vals[3], r->sub_end, sizeof(r->sub_end));
    return 1;
}

static int standing_of(sch_t *s, const char *tenant, const char *today, char *why, size_t size,
                       bool *ok, bool *found, cvg_err_t *err)
{
    standing_row_t r = {0};
    cvg_val_t t = cvg_v_text(tenant);
    int rc = cvg_wh_exec(s->wh,
                         "SELECT p.status, s.status, s.trial_end_date, s.subscription_end_date "
                         "FROM tenants.tenant_profiles p LEFT JOIN tenants.tenant_subscriptions s "
                         "ON s.tenant_id = p.tenant_id WHERE p.tenant_id = $1 "
                         "ORDER BY s.created_at DESC LIMIT 1",
                         &t, 1, take_standing, &r, NULL, err);
    if (rc == 1)
        rc = 0;
    if (rc != 0)
        return rc;
    cvg_standing_t st = {r.tenant_status, r.sub_status, r.trial_end, r.sub_end};
    const char *code = NULL;
    char msg[200];
    *found = r.found;
    *ok = r.found && cvg_standing_check(tenant, &st, today, &code, msg, sizeof(msg)) == 0;
    if (!r.found)
        snprintf(why, size, "not_found: tenant %s does not exist; the schedule is deactivated",
                 tenant);
    else if (!*ok)
        snprintf(why, size, "%s: %s", code, msg);
    return 0;
}

/* The run's parameters: the schedule's, with the slot's day as `date`
 * unless the schedule names one. NULL when out of memory or not an
 * object. */
static char *slot_params(const char *stored, int64_t slot_ms)
{
    json_t *p = stored ? json_loads(stored, 0, NULL) : json_object();
    if (!json_is_object(p)) {
        json_decref(p);
        return NULL;
    }
    if (json_object_get(p, "date") == NULL) {
        char day[CVG_TIME_DATE_LEN];
        cvg_time_format_date(slot_ms, day);
        json_object_set_new(p, "date", json_string(day));
    }
    char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);
    return text;
}

static int slot_update(sch_t *s, const char *config_id, const char *slot, const char *state,
                       const char *run_id, const char *error, const char *now, cvg_err_t *err)
{
    cvg_val_t v[6] = {cvg_v_text(config_id),
                      cvg_v_text(slot),
                      cvg_v_text(state),
                      run_id ? cvg_v_text(run_id) : CVG_V_NULL,
                      error ? cvg_v_text(error) : CVG_V_NULL,
                      cvg_v_text(now)};
    return cvg_wh_exec(s->wh,
                       "UPDATE " S " SET state = $3, pipeline_logging_id = $4, error = $5, "
                       "updated_at = $6 WHERE config_id = $1 AND scheduled_time = $2",
                       v, 6, NULL, NULL, NULL, err);
}

/* What became of a slot, told once its transaction committed. */
typedef struct outcome {
    bool queued;     /* its run is queued: run_id */
    bool refused;    /* no run: why */
    bool deactivate; /* the schedule stops (its tenant is gone) */
    char run_id[CVG_ID_LEN];
    char why[CVG_REASON_MAX + CVG_OP_MAX + 4];
} outcome_t;

/* Queues the slot's run inside the transaction, or records why not. */
static int queue_slot(sch_t *s, const due_t *d, int64_t slot_ms, const char *slot,
                      const char *slot_id, const char *now, outcome_t *o, cvg_err_t *err)
{
    char today[CVG_TIME_DATE_LEN];
    cvg_time_format_date(cvg_time_now_ms(), today);
    bool ok = false, found = false;
    int rc = standing_of(s, d->tenant_id, today, o->why, sizeof(o->why), &ok, &found, err);
    if (rc != 0)
        return rc;
    o->deactivate = !found;
    cvg_enq_run_t run = {.priority = d->priority, .max_attempts = MAX_ATTEMPTS, .date_given = true};
    cvg_enq_result_t res = {0};
    if (ok) {
        run.parameters = slot_params(d->params, slot_ms);
        if (run.parameters == NULL) {
            ok = false;
            snprintf(o->why, sizeof(o->why),
                     "invalid_parameters: the schedule's parameters are not a JSON object");
        }
    }
    if (ok) {
        snprintf(run.tenant_id, sizeof(run.tenant_id), "%s", d->tenant_id);
        snprintf(run.pipeline, sizeof(run.pipeline), "%s", d->pipeline);
        snprintf(run.pipeline_id, sizeof(run.pipeline_id), "%s", d->pipeline_id);
        snprintf(run.trigger_type, sizeof(run.trigger_type), "scheduled");
        snprintf(run.triggered_by, sizeof(run.triggered_by), "scheduler");
        const cvg_enq_run_t *runs[1] = {&run};
        size_t added = 0;
        rc = sch_enqueue_in_tx(s, 1, runs, &res, &added, err);
        if (rc == 0 && res.status != 0 && res.status != CVG_EFULL && res.status != CVG_ENOTFOUND &&
            res.status != CVG_EINVAL)
            /* the row could not be written: the transaction's fault */
            rc = cvg_err_set(err, res.status, "", "%s", res.reason);
        if (rc == 0 && res.status != 0) {
            ok = false;
            snprintf(o->why, sizeof(o->why), "%s: %s", res.code, res.reason);
        }
    }
    cvg_enq_run_cleanup(&run);
    if (rc != 0)
        return rc;
    if (!ok) {
        o->refused = true;
        return slot_update(s, d->config_id, slot, "FAILED", NULL, o->why, now, err);
    }
    o->queued = true;
    snprintf(o->run_id, sizeof(o->run_id), "%s", res.run_id);
    rc = slot_update(s, d->config_id, slot, "QUEUED", res.run_id, NULL, now, err);
    if (rc == 0) {
        cvg_val_t v[2] = {cvg_v_text(res.run_id), cvg_v_text(slot_id)};
        rc = cvg_wh_exec(s->wh,
                         "UPDATE " Q " SET scheduled_run_id = $2 WHERE pipeline_logging_id = $1", v,
                         2, NULL, NULL, NULL, err);
    }
    return rc;
}

/* The latest slot at or before now, from first (at or before now): after
 * a long gap, looked for in windows back from now that double until one
 * holds a slot, so the walk covers that window's slots, not the gap's. */
static int64_t latest_slot(const cvg_cron_t *c, int64_t first, int64_t now)
{
    int64_t from = first, n;
    for (int64_t w = SLOT_WINDOW_MS; now - w > first; w *= 2) {
        n = cvg_cron_next(c, now - w);
        if (n != -1 && n <= now) {
            from = n;
            break;
        }
    }
    int64_t slot = from;
    while ((n = cvg_cron_next(c, slot)) != -1 && n <= now)
        slot = n;
    return slot;
}

/* Slots from first up to latest (not counted), at most MISSED_COUNT_MAX. */
static size_t missed_slots(const cvg_cron_t *c, int64_t first, int64_t latest)
{
    size_t k = 0;
    for (int64_t t = first; t != -1 && t < latest && k < MISSED_COUNT_MAX; k++)
        t = cvg_cron_next(c, t);
    return k;
}

/* Catching up: the oldest of the last CATCH_UP_MAX slots up to latest
 * (latest included) that are not before first, found in a window back
 * from latest that doubles until it holds them or reaches first, so the
 * walk covers that window's slots, however long the outage. */
static int64_t catch_up_from(const cvg_cron_t *c, int64_t first, int64_t latest)
{
    for (int64_t w = SLOT_WINDOW_MS;; w *= 2) {
        bool whole = latest - w <= first;
        int64_t start = whole ? first : latest - w;
        int64_t ring[CATCH_UP_MAX];
        size_t n = 0;
        for (int64_t t = cvg_cron_next(c, start - 1); t != -1 && t <= latest;
             t = cvg_cron_next(c, t))
            ring[n++ % CATCH_UP_MAX] = t;
        if (n >= CATCH_UP_MAX)
            return ring[n % CATCH_UP_MAX]; /* where the next write would go: the oldest */
        if (whole)
            return n > 0 ? ring[0] : latest;
    }
}

static void deactivate_unreadable(sch_t *s, const due_t *d, const char *why, const char *now,
                                  sch_fired_t *out)
{
    cvg_log_ctx_t lc = {.tenant_id = d->tenant_id, .pipeline_id = d->pipeline_id};
    cvg_val_t v[2] = {cvg_v_text(d->config_id), cvg_v_text(now)};
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_exec(s->wh,
                    "UPDATE " C " SET is_active = FALSE, next_run_time = NULL, updated_at = $2 "
                    "WHERE config_id = $1",
                    v, 2, NULL, NULL, NULL, &err) != 0) {
        cvg_warn(&lc, "schedule %s cannot be deactivated: %s", d->config_id, err.message);
        return;
    }
    out->broken++;
    cvg_error(&lc, "schedule %s deactivated: %s", d->config_id, why);
}

/* One due config, in its own transaction. A non-zero return is the
 * warehouse's failure (nothing of this config changed). */
static int fire_one(sch_t *s, const due_t *d, int64_t now_ms, sch_fired_t *out, cvg_err_t *err)
{
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(now_ms, now);
    cvg_cron_t cron;
    int64_t first = 0;
    cvg_err_t perr;
    cvg_err_clear(&perr);
    if (cvg_cron_parse(d->cron, &cron, &perr) != 0) {
        /* written by another version, or by hand: stop it, say why */
        deactivate_unreadable(s, d, perr.message, now, out);
        return 0;
    }
    if (cvg_time_parse_iso(d->next_run, &first) != 0) {
        deactivate_unreadable(s, d, "its next_run_time is not a timestamp", now, out);
        return 0;
    }
    /* the latest slot that has come: missed ones collapse into it, or,
     * catching up, the oldest of the last CATCH_UP_MAX fires and the next
     * pass takes the one after */
    int64_t slot_ms = latest_slot(&cron, first, now_ms);
    size_t missed = missed_slots(&cron, first, slot_ms);
    int64_t next_ms = cvg_cron_next(&cron, now_ms);
    bool catching_up = false;
    if (d->catch_up && missed > 0) {
        /* the missed ones and the latest, from the first real slot (a
         * next_run_time set by hand is not one): the oldest past
         * CATCH_UP_MAX go */
        int64_t from = cvg_cron_next(&cron, first - 1);
        int64_t oldest = catch_up_from(&cron, from, slot_ms);
        missed = missed_slots(&cron, from, oldest);
        slot_ms = oldest;
        next_ms = cvg_cron_next(&cron, oldest);
        catching_up = next_ms != -1 && next_ms <= now_ms;
    }
    char slot[CVG_TIME_ISO_LEN], next[CVG_TIME_ISO_LEN], slot_id[CVG_ID_LEN];
    cvg_time_format_iso(slot_ms, slot);
    cvg_time_format_iso(next_ms, next);
    cvg_id_new(slot_id);
    int rc = cvg_wh_begin(s->wh, err);
    if (rc != 0)
        return rc;
    /* first, and only while the schedule is as read: one deleted, paused
     * or changed meanwhile does not fire */
    int64_t current = 0, added = 0;
    cvg_val_t u[5] = {cvg_v_text(d->config_id), next_ms > 0 ? cvg_v_text(next) : CVG_V_NULL,
                      cvg_v_text(slot), cvg_v_text(now), cvg_v_text(d->next_run)};
    rc = cvg_wh_exec(s->wh,
                     "UPDATE " C " SET next_run_time = $2, last_run_time = $3, updated_at = $4 "
                     "WHERE config_id = $1 AND is_active = TRUE AND next_run_time = $5",
                     u, 5, NULL, NULL, &current, err);
    if (rc == 0 && current > 0) {
        cvg_val_t v[6] = {cvg_v_text(d->config_id), cvg_v_text(slot),           cvg_v_text(slot_id),
                          cvg_v_text(d->tenant_id), cvg_v_text(d->pipeline_id), cvg_v_text(now)};
        rc = cvg_wh_exec(s->wh,
                         "INSERT INTO " S " (config_id, scheduled_time, scheduled_run_id, "
                         "tenant_id, pipeline_id, state, created_at, updated_at) VALUES ($1, $2, "
                         "$3, $4, $5, 'PENDING', $6, $6) ON CONFLICT (config_id, scheduled_time) "
                         "DO NOTHING",
                         v, 6, NULL, NULL, &added, err);
    }
    outcome_t o = {0};
    if (rc == 0 && added > 0)
        rc = queue_slot(s, d, slot_ms, slot, slot_id, now, &o, err);
    if (rc == 0 && o.deactivate) {
        cvg_val_t v[2] = {cvg_v_text(d->config_id), cvg_v_text(now)};
        rc = cvg_wh_exec(s->wh,
                         "UPDATE " C " SET is_active = FALSE, next_run_time = NULL, "
                         "updated_at = $2 WHERE config_id = $1",
                         v, 2, NULL, NULL, NULL, err);
    }
    /* a catch-up that hit the tenant's limit or standing stops there: the
     * slots after this one would be refused too, each a warning, and
     * would spend what the tenant has left today */
    size_t dropped = 0;
    int64_t resume = cvg_cron_next(&cron, now_ms);
    if (rc == 0 && o.refused && !o.deactivate && catching_up) {
        char at[CVG_TIME_ISO_LEN];
        cvg_time_format_iso(resume, at);
        cvg_val_t v[3] = {cvg_v_text(d->config_id), resume > 0 ? cvg_v_text(at) : CVG_V_NULL,
                          cvg_v_text(now)};
        rc = cvg_wh_exec(s->wh,
                         "UPDATE " C " SET next_run_time = $2, updated_at = $3 WHERE "
                         "config_id = $1",
                         v, 3, NULL, NULL, NULL, err);
        dropped = missed_slots(&cron, next_ms, now_ms + 1);
        catching_up = false;
    }
    if (rc == 0)
        rc = cvg_wh_commit(s->wh, err);
    if (rc != 0) {
        cvg_wh_rollback(s->wh);
        return rc;
    }
    /* told once committed: nothing above happened otherwise */
    cvg_log_ctx_t lc = {.tenant_id = d->tenant_id,
                        .pipeline_id = d->pipeline_id,
                        .run_id = o.queued ? o.run_id : NULL};
    if (current > 0 && added == 0)
        out->already++; /* another scheduler, or this one before a restart */
    if (o.queued) {
        out->fired++;
        cvg_log_field_t f[2] = {CVG_LF_STR("slot", slot), CVG_LF_STR("config_id", d->config_id)};
        cvg_log_write(CVG_LOG_INFO, &lc, f, 2, "scheduled run queued");
    }
    if (o.refused) {
        out->refused++;
        cvg_warn(&lc, "scheduled slot %s of %s started no run: %s", slot, d->config_id, o.why);
    }
    if (o.deactivate)
        out->broken++;
    /* catching up: its next slot has come too, taken on the next tick */
    if (current > 0 && catching_up)
        out->more = true;
    if (current > 0 && missed > 0) {
        out->skipped += missed;
        cvg_warn(&lc,
                 "schedule %s: %s%zu earlier slot(s) missed while no scheduler ran were not "
                 "fired; %s",
                 d->config_id, missed == MISSED_COUNT_MAX ? "at least " : "", missed,
                 d->catch_up ? "catching up from the last 31" : "the latest stands for them");
    }
    if (dropped > 0) {
        out->skipped += dropped;
        cvg_warn(&lc,
                 "schedule %s: catching up stopped at slot %s, refused; %s%zu later missed "
                 "slot(s) were not fired, the schedule goes on from its next slot",
                 d->config_id, slot, dropped == MISSED_COUNT_MAX ? "at least " : "", dropped);
    }
    return 0;
}

int sch_fire_due(sch_t *s, size_t max, sch_fired_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!sch_queue_check_ready(&s->queue))
        return 0;
    int64_t now_ms = cvg_time_now_ms();
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(now_ms, now);
    due_list_t l = {.rows = calloc(max ? max : 1, sizeof(due_t)), .max = max};
    if (l.rows == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    cvg_val_t p[2] = {cvg_v_text(now), CVG_V_INT((int64_t)max)};
    int rc = cvg_wh_exec(s->wh,
                         "SELECT config_id, tenant_id, provider || '/' || domain || '/' || "
                         "template, pipeline_id, schedule_cron, parameters, priority, "
                         "next_run_time, catch_up FROM " C
                         " WHERE is_active = TRUE AND next_run_time <= $1 "
                         "ORDER BY next_run_time LIMIT $2",
                         p, 2, take_due, &l, NULL, err);
    if (rc == 1)
        rc = 0;
    /* one config failing (its tenant's row, a lock) does not hold up the
     * others: the first failure is returned, the rest counted */
    bool listed = rc == 0;
    for (size_t i = 0; listed && i < l.n; i++) {
        cvg_err_t one;
        cvg_err_clear(&one);
        if (fire_one(s, &l.rows[i], now_ms, out, &one) == 0)
            continue;
        if (out->failed++ == 0) {
            rc = one.code ? one.code : CVG_EIO;
            *err = one;
        }
    }
    out->more = out->more || (listed && l.n == max);
    for (size_t i = 0; i < l.n; i++)
        free(l.rows[i].params);
    free(l.rows);
    s->fired += out->fired;
    s->fire_refused += out->refused;
    if (out->fired > 0)
        sch_dispatch(s);
    return rc;
}

/* A slot's state from its run's: the run log's end, else the queue's. */
static const char *slot_state(const char *logged, const char *queued)
{
    static const char *const final[] = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "DEAD"};
    const char *end = NULL;
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]) && end == NULL; i++) {
        if (strcmp(logged, final[i]) == 0)
            end = logged;
    }
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]) && end == NULL; i++) {
        if (strcmp(queued, final[i]) == 0)
            end = queued;
    }
    if (end == NULL)
        return NULL;
    return strcmp(end, "SUCCEEDED") == 0 ? "COMPLETED"
           : strcmp(end, "DEAD") == 0    ? "DEAD"
                                         : "FAILED";
}

typedef struct ended_slot {
    char config_id[CVG_SCHEDULE_ID_MAX];
    char slot[CVG_TIME_ISO_LEN];
    char logged[CVG_STATUS_MAX], queued[CVG_STATUS_MAX];
    char error[CVG_REASON_MAX];
} ended_slot_t;

typedef struct ended_list {
    ended_slot_t *rows;
    size_t n, max;
} ended_list_t;

static int take_ended(void *ud, const cvg_row_t *row)
{
    ended_list_t *l = ud;
    if (l->n >= l->max)
        return 1;
    ended_slot_t *e = &l->rows[l->n++];
    text_of(&row->vals[0], e->config_id, sizeof(e->config_id));
    text_of(&row->vals[1], e->slot, sizeof(e->slot));
    text_of(&row->vals[2], e->queued, sizeof(e->queued));
    text_of(&row->vals[3], e->logged, sizeof(e->logged));
    text_of(&row->vals[4], e->error, sizeof(e->error));
    return 0;
}

int sch_fire_sync(sch_t *s, size_t *n, cvg_err_t *err)
{
    *n = 0;
    if (!sch_queue_check_ready(&s->queue))
        return 0;
    ended_list_t l = {.rows = calloc(SYNC_MAX, sizeof(ended_slot_t)), .max = SYNC_MAX};
    if (l.rows == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    cvg_val_t lim = CVG_V_INT(SYNC_MAX);
    int rc = cvg_wh_exec(s->wh,
                         "SELECT s.config_id, s.scheduled_time, q.state, r.status, "
                         "COALESCE(r.error_message, q.last_error) FROM " S " s LEFT JOIN " Q
                         " q ON q.pipeline_logging_id = s.pipeline_logging_id LEFT JOIN "
                         "tenants.tenant_pipeline_runs r ON r.pipeline_logging_id = "
                         "s.pipeline_logging_id WHERE s.state = 'QUEUED' "
                         "ORDER BY s.scheduled_time LIMIT $1",
                         &lim, 1, take_ended, &l, NULL, err);
    if (rc == 1)
        rc = 0;
    bool begun = false;
    char now[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), now);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const ended_slot_t *e = &l.rows[i];
        const char *state = slot_state(e->logged, e->queued);
        if (state == NULL)
            continue;
        if (!begun && (rc = cvg_wh_begin(s->wh, err)) == 0)
            begun = true;
        cvg_val_t v[5] = {cvg_v_text(e->config_id), cvg_v_text(e->slot), cvg_v_text(state),
                          e->error[0] && strcmp(state, "COMPLETED") != 0 ? cvg_v_text(e->error)
                                                                         : CVG_V_NULL,
                          cvg_v_text(now)};
        if (rc == 0)
            rc = cvg_wh_exec(s->wh,
                             "UPDATE " S " SET state = $3, error = $4, updated_at = $5 "
                             "WHERE config_id = $1 AND scheduled_time = $2 AND state = 'QUEUED'",
                             v, 5, NULL, NULL, NULL, err);
        if (rc == 0)
            (*n)++;
    }
    if (begun && rc == 0)
        rc = cvg_wh_commit(s->wh, err);
    if (begun && rc != 0) {
        cvg_wh_rollback(s->wh);
        *n = 0;
    }
    free(l.rows);
    return rc;
}

/* A failing pass, logged at most once a minute with how many failed since
 * (a warehouse down, or tables older than this build, would otherwise
 * write a line a second). */
static void pass_failed(sch_t *s, int64_t now_mono, const char *what, const cvg_err_t *err)
{
    s->fire_unlogged++;
    if (s->fire_warned_mono != 0 && now_mono - s->fire_warned_mono < SCH_FIRE_WARN_EVERY_MS)
        return;
    cvg_log_field_t f = CVG_LF_NUM("failed_passes", (int64_t)s->fire_unlogged);
    cvg_log_write(CVG_LOG_WARNING, NULL, &f, 1, "cannot %s: %s%s", what, err->message,
                  cvg_wh_err_missing_column(err)
                      ? " (the central tables are older than this build: run POST "
                        "/api/v1/admin/bootstrap)"
                      : "");
    s->fire_warned_mono = now_mono;
    s->fire_unlogged = 0;
}

void sch_fire_tick(sch_t *s, int64_t now_mono)
{
    if (now_mono < s->next_fire_mono)
        return;
    cvg_err_t err;
    cvg_err_clear(&err);
    size_t settled = 0;
    if (sch_fire_sync(s, &settled, &err) != 0)
        pass_failed(s, now_mono, "follow scheduled runs to their end", &err);
    sch_fired_t f;
    cvg_err_clear(&err);
    if (sch_fire_due(s, SCH_FIRE_MAX, &f, &err) != 0)
        pass_failed(s, now_mono, "fire due schedules", &err);
    /* a full pass: more are due, taken on the next tick */
    s->next_fire_mono = now_mono + (f.more ? 0 : SCH_FIRE_EVERY_MS);
}
