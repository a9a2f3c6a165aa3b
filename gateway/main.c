/*
 * cvg-gateway: the only HTTP surface. Authenticates, answers health and
 * admin requests, runs the setup pipelines, and talks to the scheduler and
 * the logger over ZeroMQ. Stops on SIGTERM/SIGINT: no new connections, the
 * open ones served within the grace period, events flushed.
 */
#include "common/log.h"
#include "common/proc.h"
#include "common/time.h"
#include "gateway/auth.h"
#include "gateway/bus.h"
#include "gateway/gateway.h"
#include "gateway/server.h"
#include "gateway/whpool.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define EMITTER_MAX_PENDING 10000

int main(int argc, char **argv)
{
    cvg_cli_t cli = {.prog = "cvg-gateway",
                     .summary = "HTTP API: auth, tenants, pipelines, admin",
                     .procs = CVG_PROC_GATEWAY};
    int rc = cvg_cli_parse(&cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (cli.argc > 0) {
        fprintf(stderr, "cvg-gateway: unexpected argument %s (see --help)\n", cli.argv[0]);
        return EX_USAGE;
    }
    static gw_t gw;
    rc = cvg_startup(&cli, "gateway", &gw.cfg);
    if (rc != 0)
        return rc;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (gw_auth_init(&gw, &err) != 0) {
        cvg_log_field_t f = CVG_LF_STR("variable", err.field);
        cvg_log_write(CVG_LOG_ERROR, NULL, &f, 1, "configuration error: %s", err.message);
        return EX_CONFIG;
    }
    cvg_signals_install();
    pthread_mutex_init(&gw.setup_lock, NULL);
    gw.pool = gw_whpool_new(gw.cfg.warehouse_url, (size_t)gw.cfg.api_threads + 1, &err);
    if (gw.pool == NULL) {
        cvg_error(NULL, "cannot open the warehouse: %s", err.message);
        return EX_UNAVAILABLE;
    }
    if (cli.check_config) {
        printf("cvg-gateway: configuration ok\n");
        gw_whpool_destroy(&gw.pool);
        return 0;
    }
    rc = EX_UNAVAILABLE;
    gw.bus = gw_bus_new(gw.cfg.control_endpoint, gw.cfg.events_endpoint, &err);
    if (gw.bus)
        gw.emitter = cvg_emitter_new(gw.cfg.events_endpoint, gw.cfg.event_ack_timeout_ms,
                                     EMITTER_MAX_PENDING, &err);
    if (gw.emitter == NULL) {
        cvg_error(NULL, "cannot set up messaging: %s", err.message);
        goto out;
    }
    if (gw_server_start(&gw, &err) != 0) {
        cvg_error(NULL, "%s", err.message);
        rc = EX_CANTCREAT;
        goto out;
    }
    cvg_log_field_t f[3] = {CVG_LF_STR("host", gw.cfg.api_host),
                            CVG_LF_NUM("port", gw.cfg.api_port),
                            CVG_LF_NUM("threads", gw.cfg.api_threads)};
    cvg_log_write(CVG_LOG_INFO, NULL, f, 3, "gateway started (version %s) on http://%s:%d",
                  CVG_VERSION, gw.cfg.api_host, gw.cfg.api_port);
    while (!cvg_stop_requested())
        cvg_time_sleep_ms(200);

    cvg_info(NULL, "stopping: no new connections, serving the open ones");
    gw_server_quiesce(&gw);
    int64_t deadline = cvg_time_mono_ms() + gw.cfg.shutdown_grace_ms;
    while (gw_server_connections(&gw) > 0 && cvg_time_mono_ms() < deadline && cvg_stop_count() < 2)
        cvg_time_sleep_ms(50);
    gw_server_stop(&gw);
    if (cvg_emitter_flush(gw.emitter, gw.cfg.shutdown_grace_ms) != 0)
        cvg_warn(NULL, "%zu event(s) not acknowledged by the logger at exit",
                 cvg_emitter_pending(gw.emitter));
    cvg_log_field_t g[3] = {CVG_LF_NUM("requests", atomic_load(&gw.requests)),
                            CVG_LF_NUM("responses_4xx", atomic_load(&gw.responses_4xx)),
                            CVG_LF_NUM("responses_5xx", atomic_load(&gw.responses_5xx))};
    cvg_log_write(CVG_LOG_INFO, NULL, g, 3, "gateway stopped");
    rc = 0;
out:
    gw_server_stop(&gw);
    cvg_emitter_destroy(&gw.emitter);
    gw_bus_destroy(&gw.bus);
    gw_whpool_destroy(&gw.pool);
    pthread_mutex_destroy(&gw.setup_lock);
    return rc;
}
