/*
 * `cvg-logger tail` (see tail.h). It subscribes by tenant prefix on the
 * socket and filters pipeline and run itself; the logger's heartbeats tell
 * it that the stream is alive, which it reports once on stderr.
 */
#include "logger/tail.h"
#include "common/buf.h"
#include "common/msg.h"
#include "common/proc.h"
#include "common/str.h"
#include "common/time.h"
#include "logger/stream.h"

#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SILENCE_WARN_MS 5000

static const char USAGE[] =
    "Usage: cvg-logger tail [--tenant T] [--pipeline P] [--run R] [--json] [--no-color]\n"
    "                       [--count N]\n"
    "Follows committed run, step and data-quality events live.\n"
    "  --tenant T     only events of tenant T\n"
    "  --pipeline P   only events of pipeline P: its pipeline_id (gcp_cost_billing)\n"
    "                 or its config path (gcp/cost/cost_billing)\n"
    "  --run R        only events of run (pipeline_logging_id) R\n"
    "  --json         one JSON object per line\n"
    "  --no-color     no colour even on a terminal\n"
    "  --count N      exit after N events\n";

static const char *colour_of(const char *status)
{
    if (strcmp(status, "SUCCEEDED") == 0)
        return "\033[32m";
    if (strcmp(status, "FAILED") == 0 || strcmp(status, "DEAD") == 0 ||
        strcmp(status, "TIMED_OUT") == 0)
        return "\033[31m";
    if (strcmp(status, "RUNNING") == 0 || strcmp(status, "RETRYING") == 0)
        return "\033[33m";
    if (strcmp(status, "CANCELLED") == 0 || strcmp(status, "SKIPPED") == 0)
        return "\033[90m";
    return "\033[36m";
}

/* Appends s with control characters shown as '?', so text inside events
 * (errors come from tenant SQL and remote servers) cannot drive the
 * operator's terminal. */
static void put_clean(cvg_buf_t *b, const char *s)
{
    for (; *s; s++) {
        char c = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
        cvg_buf_append(b, &c, 1);
    }
}

void lgr_tail_format(const cvg_event_t *ev, bool colour, char *out, size_t size)
{
    char ts[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(ev->ts_ms, ts);
    ts[10] = ' ';
    ts[23] = '\0'; /* "YYYY-MM-DD HH:MM:SS.mmm" */
    const char *c0 = colour ? colour_of(ev->status) : "";
    const char *c1 = colour ? "\033[0m" : "";
    const char *dim = colour ? "\033[2m" : "";
    cvg_buf_t b;
    cvg_buf_init(&b, size > 0 ? size - 1 : 0);
    cvg_buf_printf(&b, "%s%s%s  ", dim, ts, c1);
    put_clean(&b, ev->tenant_id);
    cvg_buf_puts(&b, "  ");
    put_clean(&b, ev->pipeline_id);
    cvg_buf_puts(&b, "  ");
    switch (ev->kind) {
    case CVG_EV_STEP_STARTED:
    case CVG_EV_STEP_FINISHED:
        cvg_buf_puts(&b, "step ");
        put_clean(&b, ev->step_id);
        cvg_buf_printf(&b, "  %s", c0);
        put_clean(&b, ev->status);
        cvg_buf_puts(&b, c1);
        if (ev->attempt > 1)
            cvg_buf_printf(&b, "  attempt %d", ev->attempt);
        if (ev->run_attempt > 1)
            cvg_buf_printf(&b, "  run attempt %d", ev->run_attempt);
        if (ev->kind == CVG_EV_STEP_FINISHED && ev->detail) {
            /* a failed attempt the runner will try again */
            json_t *d = json_loads(ev->detail, 0, NULL);
            json_t *again = json_object_get(d, "retry_in_ms");
            if (json_is_integer(again))
                cvg_buf_printf(&b, "  retry in %.1f s", (double)json_integer_value(again) / 1000);
            json_decref(d);
        }
        break;
    case CVG_EV_DQ_RESULT: {
        /* dq check_daily_cost has_rows  PASSED  row_count 60 ... */
        json_t *d = ev->detail ? json_loads(ev->detail, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(d, "check_name"));
        const char *sev = json_string_value(json_object_get(d, "severity"));
        const char *msg = json_string_value(json_object_get(d, "message"));
        const char *shade = !colour                             ? ""
                            : strcmp(ev->status, "PASSED") == 0 ? "\033[32m"
                            : sev && strcmp(sev, "warn") == 0   ? "\033[33m"
                                                                : "\033[31m";
        cvg_buf_puts(&b, "dq   ");
        put_clean(&b, ev->step_id);
        cvg_buf_puts(&b, " ");
        put_clean(&b, name ? name : "?");
        cvg_buf_printf(&b, "  %s", shade);
        put_clean(&b, ev->status);
        cvg_buf_puts(&b, c1);
        if (sev && strcmp(ev->status, "PASSED") != 0) {
            cvg_buf_puts(&b, " (");
            put_clean(&b, sev);
            cvg_buf_puts(&b, ")");
        }
        if (msg) {
            cvg_buf_puts(&b, "  ");
            put_clean(&b, msg);
        }
        json_decref(d);
        break;
    }
    case CVG_EV_HEARTBEAT:
        cvg_buf_printf(&b, "heartbeat");
        break;
    default:
        cvg_buf_printf(&b, "run  %s", c0);
        put_clean(&b, ev->status);
        cvg_buf_puts(&b, c1);
        if (ev->attempt > 1)
            cvg_buf_printf(&b, "  attempt %d", ev->attempt);
    }
    if (ev->end_ms > 0 && ev->start_ms > 0)
        cvg_buf_printf(&b, "  %lld ms", (long long)(ev->end_ms - ev->start_ms));
    if (ev->rows >= 0)
        cvg_buf_printf(&b, "  rows=%lld", (long long)ev->rows);
    if (ev->kind == CVG_EV_RUN_STARTED && ev->trigger_type[0]) {
        cvg_buf_puts(&b, "  trigger=");
        put_clean(&b, ev->trigger_type);
        if (ev->triggered_by[0]) {
            cvg_buf_puts(&b, " by ");
            put_clean(&b, ev->triggered_by);
        }
    }
    cvg_buf_printf(&b, "  %srun=", dim);
    put_clean(&b, ev->run_id);
    cvg_buf_puts(&b, c1);
    if (ev->error && ev->error[0]) {
        cvg_buf_printf(&b, "\n    %serror:%s ", colour ? "\033[31m" : "", c1);
        put_clean(&b, ev->error);
    }
    snprintf(out, size, "%s", cvg_buf_cstr(&b));
    cvg_buf_cleanup(&b);
}

static void set_ts(json_t *o, const char *key, int64_t ms)
{
    if (ms <= 0)
        return;
    char ts[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(ms, ts);
    json_object_set_new(o, key, json_string(ts));
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

void lgr_tail_format_json(const cvg_event_t *ev, char *out, size_t size)
{
    json_t *o = json_object();
    set_str(o, "event_id", ev->id);
    set_str(o, "kind", cvg_event_kind_name(ev->kind));
    set_ts(o, "time", ev->ts_ms);
    set_str(o, "tenant_id", ev->tenant_id);
    set_str(o, "pipeline_id", ev->pipeline_id);
    set_str(o, "pipeline", ev->pipeline);
    set_str(o, "pipeline_logging_id", ev->run_id);
    set_str(o, "status", ev->status);
    set_str(o, "step_id", ev->step_id);
    set_str(o, "step_log_id", ev->step_log_id);
    set_str(o, "ps_type", ev->ps_type);
    set_str(o, "trigger_type", ev->trigger_type);
    set_str(o, "triggered_by", ev->triggered_by);
    set_str(o, "worker_id", ev->worker_id);
    json_object_set_new(o, "attempt", json_integer(ev->attempt));
    if (ev->run_attempt > 0 && ev->step_index >= 0)
        json_object_set_new(o, "run_attempt", json_integer(ev->run_attempt));
    set_ts(o, "start_time", ev->start_ms);
    set_ts(o, "end_time", ev->end_ms);
    if (ev->start_ms > 0 && ev->end_ms > 0)
        json_object_set_new(o, "duration_ms", json_integer(ev->end_ms - ev->start_ms));
    if (ev->rows >= 0)
        json_object_set_new(o, "rows", json_integer(ev->rows));
    set_str(o, "error", ev->error);
    if (ev->detail) {
        json_t *d = json_loads(ev->detail, 0, NULL);
        if (d)
            json_object_set_new(o, "detail", d);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    snprintf(out, size, "%s", s ? s : "{}");
    free(s);
    json_decref(o);
}

typedef struct filter {
    const char *tenant, *pipeline, *run;
    bool json, colour;
    long long count;
} filter_t;

static int parse_args(int argc, char **argv, filter_t *f)
{
    f->colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            f->json = true;
        } else if (strcmp(a, "--no-color") == 0) {
            f->colour = false;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
            fputs(USAGE, stdout);
            return 1;
        } else if (next && strcmp(a, "--tenant") == 0) {
            f->tenant = argv[++i];
        } else if (next && strcmp(a, "--pipeline") == 0) {
            f->pipeline = argv[++i];
        } else if (next && strcmp(a, "--run") == 0) {
            f->run = argv[++i];
        } else if (next && strcmp(a, "--count") == 0) {
            int64_t n;
            if (cvg_parse_int64(argv[++i], 1, INT64_MAX, &n) != 0) {
                fprintf(stderr, "tail: --count needs a positive integer\n");
                return EX_USAGE;
            }
            f->count = n;
        } else {
            fprintf(stderr, "tail: unknown or incomplete option %s\n%s", a, USAGE);
            return EX_USAGE;
        }
    }
    return 0;
}

static bool matches(const filter_t *f, const cvg_event_t *ev)
{
    return (!f->tenant || strcmp(f->tenant, ev->tenant_id) == 0) &&
           (!f->pipeline || strcmp(f->pipeline, ev->pipeline_id) == 0 ||
            strcmp(f->pipeline, ev->pipeline) == 0) &&
           (!f->run || strcmp(f->run, ev->run_id) == 0);
}

int lgr_tail_main(const cvg_config_t *cfg, int argc, char **argv)
{
    filter_t f = {0};
    int rc = parse_args(argc, argv, &f);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    cvg_signals_install();
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (sub == NULL || zsock_connect(sub, "%s", cfg->stream_endpoint) != 0) {
        fprintf(stderr, "tail: cannot connect to %s\n", cfg->stream_endpoint);
        zsock_destroy(&sub);
        return EX_UNAVAILABLE;
    }
    zsock_set_linger(sub, 0);
    char prefix[LGR_TOPIC_MAX];
    lgr_stream_tenant_prefix(f.tenant, prefix, sizeof(prefix));
    zsock_set_subscribe(sub, prefix);
    if (prefix[0] != '\0')
        zsock_set_subscribe(sub, LGR_HEARTBEAT_TOPIC);
    setvbuf(stdout, NULL, _IOLBF, 0);
    fprintf(stderr, "tail: following %s%s%s%s%s%s%s\n", cfg->stream_endpoint,
            f.tenant ? ", tenant " : "", f.tenant ? f.tenant : "", f.pipeline ? ", pipeline " : "",
            f.pipeline ? f.pipeline : "", f.run ? ", run " : "", f.run ? f.run : "");
    /* an ipc:// stream is a file: say so when it is not there (the wrong
     * directory, or no cluster), rather than only that nothing arrives */
    if (strncmp(cfg->stream_endpoint, "ipc://", 6) == 0 &&
        access(cfg->stream_endpoint + 6, F_OK) != 0)
        fprintf(stderr,
                "tail: %s does not exist (yet): is the cluster running, and is this the "
                "directory it runs in (or its CVG_STREAM_ENDPOINT)?\n",
                cfg->stream_endpoint + 6);
    bool alive = false, warned = false;
    int64_t last_beat = cvg_time_mono_ms();
    long long printed = 0;
    void *raw = zsock_resolve(sub);
    rc = 0;
    while (!cvg_stop_requested() && (f.count == 0 || printed < f.count)) {
        zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 500) < 0)
            continue; /* EINTR: check the stop flag */
        int64_t now = cvg_time_mono_ms();
        if (!(item.revents & ZMQ_POLLIN)) {
            if (now - last_beat > SILENCE_WARN_MS && !warned) {
                fprintf(stderr, "tail: no heartbeat from the logger for %d s; is it running?\n",
                        SILENCE_WARN_MS / 1000);
                warned = true;
            }
            continue;
        }
        zmsg_t *msg = zmsg_recv(sub);
        if (msg == NULL)
            continue;
        zframe_t *topic = zmsg_first(msg), *body = zmsg_next(msg);
        if (topic && body) {
            cvg_msg_t m;
            int drc = cvg_msg_decode(zframe_data(body), zframe_size(body), &m, NULL);
            if (drc == 0 && m.type == CVG_MSG_CTL) {
                last_beat = now;
                if (warned)
                    fprintf(stderr, "tail: the logger's heartbeat is back\n");
                warned = false;
                if (!alive) {
                    fprintf(stderr, "tail: connected; waiting for events\n");
                    alive = true;
                }
            } else if (drc == 0 && m.type == CVG_MSG_EVENT && matches(&f, &m.u.event)) {
                static char line[CVG_TEXT_MAX + 4096];
                if (f.json)
                    lgr_tail_format_json(&m.u.event, line, sizeof(line));
                else
                    lgr_tail_format(&m.u.event, f.colour, line, sizeof(line));
                if (puts(line) < 0) {
                    rc = EX_IOERR; /* stdout closed: nobody is reading */
                    cvg_msg_cleanup(&m);
                    zmsg_destroy(&msg);
                    break;
                }
                printed++;
            }
            cvg_msg_cleanup(&m);
        }
        zmsg_destroy(&msg);
    }
    zsock_destroy(&sub);
    return rc;
}
