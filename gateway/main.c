/*
 * cvg-gateway: the only HTTP surface. Authenticates, answers health and
 * admin requests, runs the setup pipelines, and talks to the scheduler and
 * the logger over ZeroMQ. Stops on SIGTERM/SIGINT: no new connections, the
 * open ones served within the grace period, events flushed.
 */
#include "common/log.h"
#include "common/proc.h"
#include "common/time.h"
#include "common/credentials.h"
#include "gateway/auth.h"
#include "gateway/bus.h"
#include "gateway/gateway.h"
#include "gateway/keycache.h"
#include "gateway/pipecache.h"
#include "gateway/ratelimit.h"
#include "gateway/runcache.h"
#include "gateway/server.h"
#include "gateway/whpool.h"
#include "worker/registry.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define EMITTER_MAX_PENDING 10000
#define KEYCACHE_CAPACITY   65536
#define RESUMED_GRACE_MS    300         /* for answers given at shutdown to go out */
#define RUNCACHE_CAPACITY   4096        /* finished runs kept */
#define RUNCACHE_BYTES      (32u << 20) /* and their answers' bytes */

static const char USAGE[] =
    "Commands:\n"
    "  (none)              run the gateway\n"
    "  rotate-master-key   re-seal every stored credential's data key under the newest\n"
    "                      master key version (CVG_MASTER_KEY_FILE), then exit";

/* Loads the pepper, master keys, plans and e-mail policy. */
static int load_policy(gw_t *gw, cvg_err_t *err)
{
    int rc = cvg_keyring_load(&gw->keys, &gw->cfg, err);
    if (rc == 0 && !gw->keys.has_pepper)
        rc = cvg_err_set(err, CVG_ECONFIG, "CVG_API_KEY_PEPPER",
                         "CVG_API_KEY_PEPPER (or CVG_API_KEY_PEPPER_FILE) must be set: tenant API "
                         "keys are hashed under it");
    if (rc == 0)
        rc = cvg_plans_load(gw->cfg.config_dir, &gw->plans, err);
    if (rc == 0)
        rc =
            cvg_email_policy_load(gw->cfg.config_dir, gw->cfg.email_policy, &gw->email_policy, err);
    if (rc == 0)
        rc = cvg_providers_load(gw->cfg.config_dir, &gw->providers, err);
    if (rc == 0)
        rc = cvg_cidr_list_parse(gw->cfg.api_trusted_proxies, "API_TRUSTED_PROXIES",
                                 &gw->trusted_proxies, err);
    return rc;
}

static int rotate_master_key(gw_t *gw)
{
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_wh_t *wh = NULL;
    if (cvg_wh_open(gw->cfg.warehouse_url, &wh, &err) != 0) {
        cvg_error(NULL, "cannot open the warehouse: %s", err.message);
        return EX_UNAVAILABLE;
    }
    size_t done = 0, failed = 0;
    int rc = cvg_cred_rotate_all(wh, &gw->keys, &done, &failed, &err);
    cvg_wh_close(&wh);
    if (rc != 0) {
        cvg_error(NULL, "rotation stopped: %s", err.message);
        return EX_SOFTWARE;
    }
    printf("re-sealed %zu credential(s) under master key version %d; %zu could not be opened\n",
           done, gw->keys.current, failed);
    return failed > 0 ? EX_DATAERR : 0;
}

int main(int argc, char **argv)
{
    cvg_cli_t cli = {.prog = "cvg-gateway",
                     .summary = "HTTP API: auth, tenants, pipelines, admin",
                     .usage = USAGE,
                     .procs = CVG_PROC_GATEWAY};
    int rc = cvg_cli_parse(&cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    bool rotate = cli.argc > 0 && strcmp(cli.argv[0], "rotate-master-key") == 0;
    if (cli.argc > (rotate ? 1 : 0)) {
        fprintf(stderr, "cvg-gateway: unexpected argument %s (see --help)\n", cli.argv[0]);
        return EX_USAGE;
    }
    static gw_t gw;
    rc = cvg_startup(&cli, "gateway", &gw.cfg);
    if (rc != 0)
        return rc;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (load_policy(&gw, &err) != 0) {
        cvg_log_field_t f = CVG_LF_STR("variable", err.field);
        cvg_log_write(CVG_LOG_ERROR, NULL, &f, 1, "configuration error: %s", err.message);
        cvg_keyring_wipe(&gw.keys);
        cvg_email_policy_cleanup(&gw.email_policy);
        cvg_providers_cleanup(&gw.providers);
        return EX_CONFIG;
    }
    if (rotate) {
        rc = rotate_master_key(&gw);
        cvg_keyring_wipe(&gw.keys);
        cvg_email_policy_cleanup(&gw.email_policy);
        cvg_providers_cleanup(&gw.providers);
        return rc;
    }
    if (gw.keys.current == 0)
        cvg_warn(NULL, "no credentials master key (CVG_MASTER_KEY_FILE): storing credentials "
                       "is refused until one is configured");
    gw.keycache = gw_keycache_new(KEYCACHE_CAPACITY);
    gw.limits = gw_ratelimit_new();
    gw.pipes = gw_pipecache_new(&gw.cfg, &gw.providers);
    gw.runs = gw_runcache_new(RUNCACHE_CAPACITY, RUNCACHE_BYTES);
    if (gw.keycache == NULL || gw.limits == NULL || gw.pipes == NULL || gw.runs == NULL) {
        cvg_error(NULL, "out of memory");
        return EX_OSERR;
    }
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
    /* what readiness compares the central tables with (not fatal: the
     * bootstrap reports a bad schema file itself) */
    if (cvg_central_schemas_load(gw.cfg.templates_dir, gw.central, &err) != 0) {
        snprintf(gw.central_error, sizeof(gw.central_error), "%.200s", err.message);
        cvg_warn(NULL, "the central tables' schemas: %s", err.message);
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
    gw_bus_stop(gw.bus); /* answers the requests still waiting on the scheduler */
    /* those answers go out on their connections' threads: give them a moment
     * (stopping the server closes a resumed connection without answering) */
    deadline = cvg_time_mono_ms() + RESUMED_GRACE_MS;
    while (gw_server_connections(&gw) > 0 && cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(10);
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
    gw_bus_stop(gw.bus);
    gw_server_stop(&gw);
    cvg_emitter_destroy(&gw.emitter);
    gw_bus_destroy(&gw.bus);
    gw_whpool_destroy(&gw.pool);
    pthread_mutex_destroy(&gw.setup_lock);
    gw_keycache_destroy(&gw.keycache);
    gw_ratelimit_destroy(&gw.limits);
    gw_runcache_destroy(&gw.runs);
    gw_pipecache_destroy(&gw.pipes);
    cvg_providers_cleanup(&gw.providers);
    cvg_central_schemas_cleanup(gw.central);
    wrk_registry_unload();
    cvg_email_policy_cleanup(&gw.email_policy);
    cvg_keyring_wipe(&gw.keys);
    return rc;
}
