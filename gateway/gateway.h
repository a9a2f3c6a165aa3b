/*
 * The gateway's shared types: the process context, a request as handlers
 * see it, the response they fill, and the route table entry. Handlers live
 * in handlers/ and are listed in routes.c.
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "common/cidr.h"
#include "common/buf.h"
#include "common/central.h"
#include "common/config.h"
#include "common/emitter.h"
#include "common/id.h"
#include "common/keyring.h"
#include "common/keystore.h"
#include "common/plans.h"
#include "common/providers.h"
#include "common/tenant.h"
#include "common/warehouse.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Daemon;
typedef struct gw_whpool gw_whpool_t;
typedef struct gw_bus gw_bus_t;
typedef struct gw_keycache gw_keycache_t;
typedef struct gw_ratelimit gw_ratelimit_t;
typedef struct gw_pipecache gw_pipecache_t;
typedef struct gw_runcache gw_runcache_t;

typedef struct gw {
    cvg_config_t cfg;
    unsigned char admin_key_hash[32]; /* SHA-256 of the admin key */
    gw_whpool_t *pool;                /* warehouse connections */
    gw_bus_t *bus;                    /* control requests to scheduler and logger */
    cvg_emitter_t *emitter;           /* run events of setup pipelines */
    pthread_mutex_t setup_lock;       /* one setup pipeline at a time */
    struct MHD_Daemon *daemon;
    cvg_keyring_t keys;                            /* API key pepper, credential master keys */
    cvg_plans_t plans;                             /* configs/system/plans.yml */
    cvg_email_policy_t email_policy;               /* configs/system/email_policy.yml */
    cvg_providers_t providers;                     /* configs/system/providers.yml */
    cvg_schema_t central[CVG_CENTRAL_TABLE_COUNT]; /* the central tables' schemas */
    char central_error[256];                       /* why they did not load, or "" */
    gw_pipecache_t *pipes;                         /* validated pipeline configs */
    gw_keycache_t *keycache;                       /* recent API key lookups */
    gw_ratelimit_t *limits;                        /* token buckets: per key, per address */
    gw_runcache_t *runs;                           /* answers of finished runs */
    cvg_cidr_list_t trusted_proxies;               /* API_TRUSTED_PROXIES */
    atomic_ullong requests;
    atomic_ullong responses_4xx;
    atomic_ullong responses_5xx;
    atomic_ullong auth_lookups;   /* API key lookups that went to the warehouse */
    atomic_ullong auth_refused;   /* requests refused by authentication */
    atomic_ullong rate_limited;   /* 429s */
    atomic_ullong run_cache_hits; /* run reads answered from memory */
    atomic_ullong body_bytes;     /* request body bytes held, all connections */
    atomic_ullong body_refused;   /* 503s for API_MAX_BUFFERED_BYTES */
} gw_t;

typedef enum gw_auth {
    GW_AUTH_NONE = 0,        /* open: health */
    GW_AUTH_ADMIN,           /* X-Admin-Key */
    GW_AUTH_TENANT,          /* X-API-Key of the tenant named in the path */
    GW_AUTH_TENANT_OR_ADMIN, /* either */
    GW_AUTH_SIGNUP           /* X-Admin-Key, or anyone when self sign-up is on */
} gw_auth_t;

/* Who a request is, once authenticated. */
typedef enum gw_principal { GW_ANON = 0, GW_ADMIN, GW_TENANT_KEY, GW_SIGNUP } gw_principal_t;

#define GW_PATH_PARAMS_MAX 6
#define GW_PARAM_MAX       256

typedef struct gw_req {
    gw_t *gw;
    struct MHD_Connection *conn;
    char method[16];
    char path[1024];
    size_t nparams;
    const char *param_names[GW_PATH_PARAMS_MAX];
    char param_values[GW_PATH_PARAMS_MAX][GW_PARAM_MAX];
    cvg_buf_t body;
    bool body_too_big;
    bool body_refused;            /* over API_MAX_BUFFERED_BYTES: 503 */
    size_t body_held;             /* bytes counted in gw->body_bytes */
    const struct gw_route *route; /* found with the headers, for a body */
    struct gw_resp *gate;         /* its authentication's answer headers */
    char request_id[CVG_ID_LEN];
    int64_t start_mono;
    int status; /* of the response, for the access log */
    gw_principal_t principal;
    cvg_keyinfo_t key;          /* GW_TENANT_KEY: the key and its tenant */
    char user_id[CVG_NAME_MAX]; /* X-User-ID, for audit; "" when none */
    char client[64];            /* the client's address */
    struct gw_resp *later;      /* the answer of a suspended request */
} gw_req_t;

#define GW_RESP_HEADERS_MAX 6

typedef struct gw_resp gw_resp_t;

struct gw_resp {
    int status;
    char *body; /* owned JSON text */
    size_t len;
    char allow[64];           /* Allow header of a 405 */
    const char *content_type; /* NULL: application/json */
    size_t nheaders;
    char header_names[GW_RESP_HEADERS_MAX][32];
    char header_values[GW_RESP_HEADERS_MAX][96];
};

/* Adds a response header (ignored past GW_RESP_HEADERS_MAX). */
void gw_resp_header(gw_resp_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef void (*gw_handler_fn)(gw_req_t *req, gw_resp_t *resp);

typedef struct gw_route {
    const char *method;
    const char *pattern; /* "/api/v1/tenants/{tenant_id}" */
    gw_handler_fn fn;
    gw_auth_t auth;
    unsigned scope;  /* CVG_SCOPE_* a tenant key needs, 0 for none */
    bool any_status; /* a suspended or lapsed tenant may still call it */
    const char *summary;
} gw_route_t;

/* Sets a JSON response (steals body). */
void gw_resp_json(gw_resp_t *r, int status, json_t *body);

/* Sets {"error": {"code", "message", "field"?}}. field may be NULL. */
void gw_resp_error(gw_resp_t *r, int status, const char *code, const char *field, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

/* A 503 for a failed read or write of the warehouse: "what: why", or
 * system_not_ready saying to run the bootstrap when the central tables
 * lack a column this build uses. */
void gw_resp_warehouse_error(gw_resp_t *r, const char *what, const cvg_err_t *err);

/* A warehouse connection from the pool for this request, waiting up to
 * wait_ms; NULL, with 503 busy answered, when none came free. Give it back
 * with gw_whpool_release. */
cvg_wh_t *gw_req_warehouse(gw_req_t *req, gw_resp_t *resp, int wait_ms);

/* A path parameter by name ("tenant_id"), or NULL. */
const char *gw_req_param(const gw_req_t *r, const char *name);

/* A request header, or NULL. */
const char *gw_req_header(const gw_req_t *r, const char *name);

/* A query-string argument, or NULL. */
const char *gw_req_query(const gw_req_t *r, const char *name);

/* The first query-string argument whose name is not in known
 * (NULL-terminated), or NULL when all are known; then *repeated is the
 * first known one given more than once (only the first value would be
 * read), or NULL. */
const char *gw_req_query_unknown(const gw_req_t *r, const char *const *known,
                                 const char **repeated);

/*
 * Parses the body as a JSON object. An empty body gives *out = NULL and 0.
 * Otherwise checks the content type (415), depth and syntax (400); on
 * failure fills resp and returns non-zero.
 */
int gw_req_json_body(gw_req_t *req, gw_resp_t *resp, json_t **out);
/* For a route that takes no body: none, or an empty JSON object. Anything
 * else is answered (415, 400 or 422 naming the first field) and -1 returned. */
int gw_req_no_body(gw_req_t *req, gw_resp_t *resp);

/* Route table (routes.c). */
const gw_route_t *gw_routes(size_t *n);

/* Finds the route for method and path, filling req's path parameters.
 * When none matches, *path_known says whether another method would. */
const gw_route_t *gw_route_match(const char *method, const char *path, gw_req_t *req,
                                 bool *path_known, char *allow, size_t allow_size);

/*
 * Parks a request whose answer comes later, from another thread, without
 * holding an HTTP thread: the handler returns leaving resp empty, and
 * whoever finishes the work fills the returned response (it starts as a
 * copy of resp, headers included) and calls gw_req_resume(req), after
 * which req must not be touched. NULL when out of memory (answer at once).
 */
gw_resp_t *gw_req_suspend(gw_req_t *req, const gw_resp_t *resp);
void gw_req_resume(gw_req_t *req);

/* Whether a tenant profile with this id exists. */
int gw_tenant_exists(cvg_wh_t *wh, const char *tenant, bool *exists, cvg_err_t *err);

/* Whether the tenant the path names exists (always, for its own key);
 * otherwise answers 404, or 503 when it cannot be read, and returns false. */
bool gw_tenant_known(gw_req_t *req, gw_resp_t *resp, cvg_wh_t *wh, const char *tenant);

/* Who triggered something, for run logs: X-User-ID, else the principal. */
const char *gw_req_actor(const gw_req_t *req);

/* Handlers. */
void gw_health(gw_req_t *req, gw_resp_t *resp);
void gw_health_live(gw_req_t *req, gw_resp_t *resp);
void gw_health_ready(gw_req_t *req, gw_resp_t *resp);
void gw_metrics(gw_req_t *req, gw_resp_t *resp);
void gw_admin_bootstrap(gw_req_t *req, gw_resp_t *resp);
void gw_tenants_dryrun(gw_req_t *req, gw_resp_t *resp);
void gw_tenants_onboard(gw_req_t *req, gw_resp_t *resp);
void gw_tenants_get(gw_req_t *req, gw_resp_t *resp);
void gw_admin_subscription_update(gw_req_t *req, gw_resp_t *resp);
void gw_admin_keys_issue(gw_req_t *req, gw_resp_t *resp);
void gw_admin_keys_list(gw_req_t *req, gw_resp_t *resp);
void gw_admin_keys_revoke(gw_req_t *req, gw_resp_t *resp);
void gw_admin_keys_rotate(gw_req_t *req, gw_resp_t *resp);
void gw_credentials_put(gw_req_t *req, gw_resp_t *resp);
void gw_credentials_get(gw_req_t *req, gw_resp_t *resp);
void gw_credentials_list(gw_req_t *req, gw_resp_t *resp);
void gw_credentials_delete(gw_req_t *req, gw_resp_t *resp);
void gw_providers_put(gw_req_t *req, gw_resp_t *resp);
void gw_providers_get(gw_req_t *req, gw_resp_t *resp);
void gw_pipelines_run(gw_req_t *req, gw_resp_t *resp);
void gw_pipelines_run_get(gw_req_t *req, gw_resp_t *resp);
void gw_pipelines_runs_list(gw_req_t *req, gw_resp_t *resp);
void gw_pipelines_run_cancel(gw_req_t *req, gw_resp_t *resp);
void gw_schedules_put(gw_req_t *req, gw_resp_t *resp);
void gw_schedules_get(gw_req_t *req, gw_resp_t *resp);
void gw_schedules_delete(gw_req_t *req, gw_resp_t *resp);
void gw_schedules_list(gw_req_t *req, gw_resp_t *resp);
void gw_scheduler_trigger(gw_req_t *req, gw_resp_t *resp);
void gw_scheduler_process_queue(gw_req_t *req, gw_resp_t *resp);
void gw_scheduler_reset_daily_quotas(gw_req_t *req, gw_resp_t *resp);

#endif
