/*
 * Configuration from the environment. One typed table (config.c) names every
 * variable, its type, default, bounds and the processes that read it; the
 * same table drives loading, validation, --help and command-line flags.
 * Defaults may refer to earlier variables as {NAME}.
 */
#ifndef CVG_CONFIG_H
#define CVG_CONFIG_H

#include "common/err.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CVG_PATH_MAX     1024
#define CVG_ENDPOINT_MAX 256

/* Which processes read a variable (for --help). */
enum {
    CVG_PROC_GATEWAY = 1,
    CVG_PROC_SCHEDULER = 2,
    CVG_PROC_WORKER = 4,
    CVG_PROC_LOGGER = 8,
    CVG_PROC_RUN = 16,
    CVG_PROC_ALL = 31
};

typedef struct cvg_config {
    char environment[32];                    /* ENVIRONMENT */
    int log_level;                           /* LOG_LEVEL, a cvg_log_level_t */
    char admin_api_key[257];                 /* ADMIN_API_KEY (secret) */
    char admin_api_key_file[CVG_PATH_MAX];   /* ADMIN_API_KEY_FILE */
    char api_host[256];                      /* API_HOST */
    int api_port;                            /* API_PORT */
    int api_threads;                         /* API_THREADS */
    int api_max_body_bytes;                  /* API_MAX_BODY_BYTES */
    int api_request_timeout_s;               /* API_REQUEST_TIMEOUT_S */
    int api_max_buffered_bytes;              /* API_MAX_BUFFERED_BYTES */
    int api_max_connections_per_ip;          /* API_MAX_CONNECTIONS_PER_IP */
    int api_max_invalid_keys_per_ip;         /* API_MAX_INVALID_KEYS_PER_IP */
    char project_id[128];                    /* GCP_PROJECT_ID: {project_id} */
    char warehouse_url[CVG_PATH_MAX];        /* WAREHOUSE_URL */
    char var_dir[CVG_PATH_MAX];              /* CVG_VAR_DIR */
    char run_dir[CVG_PATH_MAX];              /* CVG_RUN_DIR */
    char config_dir[CVG_PATH_MAX];           /* CVG_CONFIG_DIR */
    char templates_dir[CVG_PATH_MAX];        /* CVG_TEMPLATES_DIR */
    char shared_import_dirs[CVG_PATH_MAX];   /* CVG_SHARED_IMPORT_DIRS */
    char import_dir[CVG_PATH_MAX];           /* CVG_IMPORT_DIR */
    char outbound_allow[CVG_PATH_MAX];       /* CVG_OUTBOUND_ALLOW (common/outbound.h) */
    char api_trusted_proxies[CVG_PATH_MAX];  /* API_TRUSTED_PROXIES (common/cidr.h) */
    char control_endpoint[CVG_ENDPOINT_MAX]; /* CVG_CONTROL_ENDPOINT */
    char control_bind[CVG_ENDPOINT_MAX];     /* CVG_CONTROL_BIND */
    char jobs_endpoint[CVG_ENDPOINT_MAX];    /* CVG_JOBS_ENDPOINT */
    char jobs_bind[CVG_ENDPOINT_MAX];        /* CVG_JOBS_BIND */
    char workers_endpoint[CVG_ENDPOINT_MAX]; /* CVG_WORKERS_ENDPOINT */
    char workers_bind[CVG_ENDPOINT_MAX];     /* CVG_WORKERS_BIND */
    char events_endpoint[CVG_ENDPOINT_MAX];  /* CVG_EVENTS_ENDPOINT */
    char events_bind[CVG_ENDPOINT_MAX];      /* CVG_EVENTS_BIND */
    char stream_endpoint[CVG_ENDPOINT_MAX];  /* CVG_STREAM_ENDPOINT */
    char stream_bind[CVG_ENDPOINT_MAX];      /* CVG_STREAM_BIND */
    int workers;                             /* WORKERS */
    int logger_batch_size;                   /* CVG_LOGGER_BATCH_SIZE */
    int logger_batch_ms;                     /* CVG_LOGGER_BATCH_MS */
    int heartbeat_ms;                        /* CVG_HEARTBEAT_MS */
    int worker_timeout_ms;                   /* CVG_WORKER_TIMEOUT_MS */
    int dispatch_lease_ms;                   /* CVG_DISPATCH_LEASE_MS */
    int queue_retention_hours;               /* CVG_QUEUE_RETENTION_HOURS */
    int usage_retention_days;                /* CVG_USAGE_RETENTION_DAYS */
    int rpc_timeout_ms;                      /* CVG_RPC_TIMEOUT_MS */
    int event_ack_timeout_ms;                /* CVG_EVENT_ACK_TIMEOUT_MS */
    int shutdown_grace_ms;                   /* CVG_SHUTDOWN_GRACE_MS */
    char api_key_pepper[257];                /* CVG_API_KEY_PEPPER (secret) */
    char api_key_pepper_file[CVG_PATH_MAX];  /* CVG_API_KEY_PEPPER_FILE */
    char master_key[1024];                   /* CVG_MASTER_KEY (secret) */
    char master_key_file[CVG_PATH_MAX];      /* CVG_MASTER_KEY_FILE */
    char email_policy[16];                   /* CVG_EMAIL_POLICY: reserved, corporate */
    bool self_signup;                        /* CVG_SELF_SIGNUP */
    int signup_per_hour;                     /* CVG_SIGNUP_PER_HOUR */
    int auth_cache_ms;                       /* CVG_AUTH_CACHE_MS */
    int run_cache_ms;                        /* CVG_RUN_CACHE_MS */
    int config_recheck_ms;                   /* CVG_CONFIG_RECHECK_MS */
    int key_rotation_overlap_s;              /* CVG_KEY_ROTATION_OVERLAP_S */
    char test_fault[64];                     /* CVG_TEST_FAULT (test builds only) */
} cvg_config_t;

/* Returns the value of a variable, or NULL when unset. */
typedef const char *(*cvg_config_lookup_fn)(void *ud, const char *name);

/*
 * Fills cfg from lookup (NULL means getenv). Unset variables take their
 * defaults. On a bad value returns CVG_ECONFIG with err->field naming the
 * variable and err->message saying what is wrong.
 */
int cvg_config_load(cvg_config_t *cfg, cvg_config_lookup_fn lookup, void *ud, cvg_err_t *err);

/* Number of variables in the table, and the i-th variable's name, flag
 * (e.g. "--api-port"), default, help text and process mask. */
size_t cvg_config_count(void);
const char *cvg_config_name(size_t i);
const char *cvg_config_default(size_t i);
const char *cvg_config_help(size_t i);
int cvg_config_procs(size_t i);
bool cvg_config_secret(size_t i);

/* Turns "--api-port" into "API_PORT"; NULL when no variable has that flag. */
const char *cvg_config_flag_to_name(const char *flag);

/*
 * Reads KEY=VALUE lines from a .env file into the environment without
 * replacing variables already set. Blank lines and # comments are skipped;
 * "export " and matching quotes are allowed. A missing file is not an error
 * when optional is true. Must run before threads start.
 */
int cvg_dotenv_load(const char *path, bool optional, cvg_err_t *err);

#endif
