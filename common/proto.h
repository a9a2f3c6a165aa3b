/*
 * The messages that cross process boundaries: jobs (scheduler -> worker),
 * events (worker, gateway, scheduler -> logger, then logger -> stream),
 * acks (logger -> event sender), control requests and replies (gateway ->
 * scheduler or logger) and worker liveness (worker -> scheduler).
 * docs/protocol.md is the reference for the wire form; msg.h encodes them.
 */
#ifndef CVG_PROTO_H
#define CVG_PROTO_H

#include "common/id.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_PROTO_VERSION 1

/* Maxima: a field over its maximum makes the whole message invalid. */
#define CVG_MSG_MAX           (1024 * 1024) /* bytes in one encoded message */
#define CVG_TENANT_MAX        65            /* tenant id, 64 characters + NUL */
#define CVG_NAME_MAX          129           /* pipeline, step, processor, worker names */
#define CVG_PIPELINE_PATH_MAX 257           /* provider/domain/template */
#define CVG_STATUS_MAX        17            /* run and step states */
#define CVG_OP_MAX            33            /* control operation names */
#define CVG_TEXT_MAX          (512 * 1024)  /* error text, detail and control bodies */
#define CVG_PARAMS_MAX        64            /* runtime parameters in a job */
#define CVG_PARAM_KEY_MAX     64            /* characters in a parameter name */
#define CVG_PARAM_VALUE_MAX   4096          /* characters in a parameter value */
#define CVG_ACK_IDS_MAX       1000          /* event ids in one ack */
#define CVG_ENQUEUE_MAX       256           /* runs in one enqueue message */
#define CVG_IDEMPOTENCY_MAX   129           /* Idempotency-Key, 128 characters + NUL */
#define CVG_REASON_MAX        512           /* why a run was not queued */

typedef enum cvg_msg_type {
    CVG_MSG_JOB = 1,
    CVG_MSG_EVENT,
    CVG_MSG_ACK,
    CVG_MSG_CTL,
    CVG_MSG_WORKER,
    CVG_MSG_ENQUEUE,
    CVG_MSG_ENQUEUED
} cvg_msg_type_t;

/* Runtime parameters: name/value pairs, both owned strings. */
typedef struct cvg_params {
    size_t n;
    char *keys[CVG_PARAMS_MAX];
    char *values[CVG_PARAMS_MAX];
} cvg_params_t;

/* A run handed to a worker. */
typedef struct cvg_job {
    char run_id[CVG_ID_LEN];   /* pipeline_logging_id */
    char queue_id[CVG_ID_LEN]; /* row in the execution queue */
    char tenant_id[CVG_TENANT_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX]; /* provider/domain/template */
    char pipeline_id[CVG_NAME_MAX];       /* the config's when queued (reports of a run whose
                                             config no longer loads); may be "" */
    char trigger_type[CVG_STATUS_MAX];    /* manual, scheduled, api */
    char triggered_by[CVG_NAME_MAX];      /* user id or "scheduler" */
    int attempt;                          /* 1 for the first */
    int64_t lease_deadline_ms;            /* epoch ms; heartbeats extend it */
    cvg_params_t params;
} cvg_job_t;

typedef enum cvg_event_kind {
    CVG_EV_RUN_QUEUED = 1,
    CVG_EV_RUN_STARTED,
    CVG_EV_RUN_FINISHED,
    CVG_EV_STEP_STARTED,
    CVG_EV_STEP_FINISHED,
    CVG_EV_HEARTBEAT,
    CVG_EV_DQ_RESULT
} cvg_event_kind_t;

/* Something that happened to a run; the logger stores and republishes it. */
typedef struct cvg_event {
    char id[CVG_ID_LEN]; /* unique; the logger dedupes on it */
    cvg_event_kind_t kind;
    char run_id[CVG_ID_LEN];
    char tenant_id[CVG_TENANT_MAX];
    char pipeline_id[CVG_NAME_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX]; /* config path, may be "" */
    char status[CVG_STATUS_MAX];          /* run or step state */
    int64_t ts_ms;                        /* when it happened */
    int64_t start_ms;                     /* 0 when unknown */
    int64_t end_ms;                       /* 0 when unknown */
    int64_t rows;                         /* -1 when unknown */
    int attempt;                          /* the run's; a step event's: the step's */
    int run_attempt;                      /* the run's attempt, step events too; 0 when unknown */
    int step_index;                       /* -1 for run events */
    char step_id[CVG_NAME_MAX];
    char step_log_id[CVG_ID_LEN];
    char ps_type[CVG_NAME_MAX];
    char trigger_type[CVG_STATUS_MAX];
    char triggered_by[CVG_NAME_MAX];
    char worker_id[CVG_NAME_MAX];
    char *error;  /* owned, NULL when none */
    char *detail; /* owned JSON object text, or NULL */
} cvg_event_t;

/* The logger's receipt: these events are committed. */
typedef struct cvg_ack {
    size_t n;
    char (*ids)[CVG_ID_LEN]; /* owned array of n ids */
} cvg_ack_t;

/* A control request or its reply (same shape; replies carry status). */
typedef struct cvg_ctl {
    char id[CVG_ID_LEN]; /* correlation id, echoed */
    char op[CVG_OP_MAX]; /* "ping", "status", ...; "reply" */
    int status;          /* 0 or a CVG_E* code, replies only */
    char *body;          /* owned JSON text, or NULL */
} cvg_ctl_t;

/* A worker saying it is alive, what it is doing, or that it leaves. */
typedef struct cvg_worker_msg {
    char op[CVG_OP_MAX]; /* "hello", "heartbeat", "handback", "refused", "bye" */
    char worker_id[CVG_NAME_MAX];
    int64_t pid;
    char state[CVG_STATUS_MAX]; /* "idle", "busy", "stopping" */
    char run_id[CVG_ID_LEN];    /* the run in hand, or "" */
    int attempt;                /* its attempt, 0 when none */
    int64_t ts_ms;
    int64_t lease_deadline_ms; /* "refused": the refused job's, naming that dispatch */
} cvg_worker_msg_t;

/* A run to queue, as the gateway's run endpoint accepted it. */
/* A queued run's priority: lower first. */
#define CVG_PRIORITY_MIN 1
#define CVG_PRIORITY_MAX 100

typedef struct cvg_enq_run {
    char tenant_id[CVG_TENANT_MAX];
    char pipeline[CVG_PIPELINE_PATH_MAX]; /* provider/domain/template */
    char pipeline_id[CVG_NAME_MAX];
    char trigger_type[CVG_STATUS_MAX];         /* "manual" */
    char triggered_by[CVG_NAME_MAX];           /* the key's id or "admin" */
    int priority;                              /* CVG_PRIORITY_MIN..MAX */
    int max_attempts;                          /* 1..100 */
    char idempotency_key[CVG_IDEMPOTENCY_MAX]; /* "" when none */
    bool date_given;  /* the request named its date (else the day it came) */
    char *parameters; /* owned JSON object text (checked by the scheduler) */
} cvg_enq_run_t;

/* What became of one run of an enqueue message. */
typedef struct cvg_enq_result {
    int status;                  /* 0 queued (now or before), else a CVG_E* code */
    char run_id[CVG_ID_LEN];     /* the run, when status is 0 or CVG_EEXIST */
    char state[CVG_STATUS_MAX];  /* its queue state, when status is 0 */
    bool existing;               /* queued earlier under the same Idempotency-Key */
    int64_t retry_after_s;       /* CVG_EFULL: when the quota frees up */
    char code[CVG_OP_MAX];       /* error code when status is not 0 */
    char reason[CVG_REASON_MAX]; /* why, when status is not 0 */
} cvg_enq_result_t;

/* Runs to queue in one transaction (gateway -> scheduler), and the
 * results in the same order (scheduler -> gateway, same id). */
typedef struct cvg_enqueue {
    char id[CVG_ID_LEN]; /* correlation id, echoed */
    size_t n;
    cvg_enq_run_t *runs; /* owned array of n (requests) */
} cvg_enqueue_t;

typedef struct cvg_enqueued {
    char id[CVG_ID_LEN];
    size_t n;
    cvg_enq_result_t *results; /* owned array of n (replies) */
} cvg_enqueued_t;

typedef struct cvg_msg {
    cvg_msg_type_t type;
    union {
        cvg_job_t job;
        cvg_event_t event;
        cvg_ack_t ack;
        cvg_ctl_t ctl;
        cvg_worker_msg_t worker;
        cvg_enqueue_t enqueue;
        cvg_enqueued_t enqueued;
    } u;
} cvg_msg_t;

/* Name of an event kind ("run_started", ...), and back (0 when unknown). */
const char *cvg_event_kind_name(cvg_event_kind_t kind);
cvg_event_kind_t cvg_event_kind_parse(const char *name);

/* Prepares an event with a new id, the time now and no values. */
int cvg_event_init(cvg_event_t *ev, cvg_event_kind_t kind);

/* Frees what a message or one of its parts owns; the struct may be reused. */
void cvg_params_cleanup(cvg_params_t *p);
void cvg_event_cleanup(cvg_event_t *ev);
void cvg_msg_cleanup(cvg_msg_t *m);
void cvg_enq_run_cleanup(cvg_enq_run_t *r);

/* Adds a copy of key/value to p. CVG_EFULL, CVG_ETOOBIG, CVG_ENOMEM. */
int cvg_params_add(cvg_params_t *p, const char *key, const char *value);

/* The value for key, or NULL (also when p is NULL). Borrowed. */
const char *cvg_params_get(const cvg_params_t *p, const char *key);

/* Deep copy of an event (dst is overwritten). */
int cvg_event_copy(cvg_event_t *dst, const cvg_event_t *src);

#endif
