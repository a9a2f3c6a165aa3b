/*
 * Logger ingest benchmark: sends N run events through the real event path
 * (emitter outbox -> DEALER -> logger ROUTER -> batch transaction -> ack)
 * and reports committed events per second, end to end. The logger under
 * test is started by tests/bench/run.sh with the batch size being measured;
 * this program creates the log tables it needs in the warehouse first.
 *
 *   cvg-bench-logger WAREHOUSE_URL TEMPLATES_DIR EVENTS_ENDPOINT N
 */
#include "common/emitter.h"
#include "common/schema.h"
#include "common/time.h"
#include "common/warehouse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int make_tables(const char *url, const char *templates)
{
    cvg_wh_t *wh = NULL;
    cvg_err_t err;
    if (cvg_wh_open(url, &wh, &err) != 0)
        return 1;
    bool exists = false;
    cvg_wh_dataset_exists(wh, "tenants", &exists, &err);
    if (!exists && cvg_wh_dataset_create(wh, "tenants", &err) != 0)
        return 1;
    static const char *tables[] = {"tenant_pipeline_runs", "tenant_step_logs", "tenant_dq_results"};
    for (size_t i = 0; i < 3; i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/setup/initial/schemas/%s.json", templates, tables[i]);
        cvg_schema_t s;
        if (cvg_schema_load_file(path, &s, &err) != 0)
            return 1;
        int rc = cvg_wh_table_create(wh, "tenants", &s, &err);
        cvg_schema_cleanup(&s);
        if (rc != 0 && rc != CVG_EEXIST)
            return 1;
    }
    cvg_wh_close(&wh);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s WAREHOUSE_URL TEMPLATES_DIR EVENTS_ENDPOINT N\n", argv[0]);
        return 64;
    }
    long n = strtol(argv[4], NULL, 10);
    if (n <= 0 || make_tables(argv[1], argv[2]) != 0) {
        fprintf(stderr, "bench: cannot prepare the warehouse\n");
        return 1;
    }
    cvg_err_t err;
    cvg_emitter_t *em = cvg_emitter_new(argv[3], 2000, (size_t)n, &err);
    if (em == NULL) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    int64_t t0 = cvg_time_mono_ms();
    for (long i = 0; i < n; i++) {
        cvg_event_t ev;
        cvg_event_init(&ev, CVG_EV_RUN_STARTED);
        cvg_id_new(ev.run_id);
        snprintf(ev.tenant_id, sizeof(ev.tenant_id), "bench_%ld", i % 50);
        snprintf(ev.pipeline_id, sizeof(ev.pipeline_id), "cost_billing");
        snprintf(ev.pipeline, sizeof(ev.pipeline), "gcp/cost/cost_billing");
        snprintf(ev.status, sizeof(ev.status), "RUNNING");
        ev.start_ms = ev.ts_ms;
        if (cvg_emitter_send(em, &ev, 60000) != 0) {
            fprintf(stderr, "bench: outbox full\n");
            return 1;
        }
    }
    int rc = cvg_emitter_flush(em, 300000);
    int64_t ms = cvg_time_mono_ms() - t0;
    size_t left = cvg_emitter_pending(em);
    cvg_emitter_destroy(&em);
    if (rc != 0) {
        fprintf(stderr, "bench: %zu events not acknowledged\n", left);
        return 1;
    }
    printf("%ld events committed and acknowledged in %lld ms: %.0f events/s\n", n, (long long)ms,
           ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0);
    return 0;
}
