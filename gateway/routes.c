/*
 * The route table: every HTTP endpoint in one place, with the
 * authentication it needs. Matching splits the path into segments; a
 * "{name}" segment captures one path segment.
 */
#include "gateway/gateway.h"

#include <stdio.h>
#include <string.h>

/* Every endpoint: method, path, handler, authentication, the scope a tenant
 * key needs, whether a tenant whose subscription lapsed may still call it. */
static const gw_route_t routes[] = {
    {"GET", "/health", gw_health, GW_AUTH_NONE, 0, false, "overall health and readiness"},
    {"GET", "/health/live", gw_health_live, GW_AUTH_NONE, 0, false,
     "liveness: the gateway answers"},
    {"GET", "/health/ready", gw_health_ready, GW_AUTH_NONE, 0, false,
     "readiness: warehouse, scheduler, logger and a worker answer"},
    {"GET", "/api/v1/health", gw_health, GW_AUTH_NONE, 0, false, "overall health (versioned)"},
    {"GET", "/metrics", gw_metrics, GW_AUTH_NONE, 0, false, "counters in Prometheus text"},
    {"POST", "/api/v1/admin/bootstrap", gw_admin_bootstrap, GW_AUTH_ADMIN, 0, false,
     "create the central dataset and tables"},
    {"POST", "/api/v1/tenants/dryrun", gw_tenants_dryrun, GW_AUTH_SIGNUP, 0, false,
     "check a tenant before onboarding; creates nothing"},
    {"POST", "/api/v1/tenants/onboard", gw_tenants_onboard, GW_AUTH_SIGNUP, 0, false,
     "onboard a tenant; answers its first API key once"},
    {"POST", "/api/v1/admin/tenants", gw_tenants_onboard, GW_AUTH_ADMIN, 0, false,
     "onboard a tenant (admin alias)"},
    {"GET", "/api/v1/tenants/{tenant_id}", gw_tenants_get, GW_AUTH_TENANT_OR_ADMIN,
     CVG_SCOPE_TENANT_READ, true, "a tenant: profile, plan, limits, usage, subscription"},
    {"PATCH", "/api/v1/admin/tenants/{tenant_id}/subscription", gw_admin_subscription_update,
     GW_AUTH_ADMIN, 0, false, "change a tenant's plan, status or dates"},
    {"POST", "/api/v1/admin/api-keys", gw_admin_keys_issue, GW_AUTH_ADMIN, 0, false,
     "issue an API key for a tenant"},
    {"GET", "/api/v1/admin/tenants/{tenant_id}/api-keys", gw_admin_keys_list, GW_AUTH_ADMIN, 0,
     false, "a tenant's API keys, masked"},
    {"DELETE", "/api/v1/admin/api-keys/{key_id}", gw_admin_keys_revoke, GW_AUTH_ADMIN, 0, false,
     "revoke an API key"},
    {"POST", "/api/v1/admin/api-keys/{key_id}/rotate", gw_admin_keys_rotate, GW_AUTH_ADMIN, 0,
     false, "replace an API key; the old one keeps working for an overlap"},
    {"PUT", "/api/v1/tenants/{tenant_id}/credentials/{provider}", gw_credentials_put,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_CREDENTIALS_WRITE, false,
     "store a cloud or notification secret, encrypted"},
    {"GET", "/api/v1/tenants/{tenant_id}/credentials/{provider}", gw_credentials_get,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_CREDENTIALS_READ, false,
     "a stored credential's metadata (never the secret)"},
    {"GET", "/api/v1/tenants/{tenant_id}/credentials", gw_credentials_list, GW_AUTH_TENANT_OR_ADMIN,
     CVG_SCOPE_CREDENTIALS_READ, false, "a tenant's stored credentials, metadata only"},
    {"DELETE", "/api/v1/tenants/{tenant_id}/credentials/{provider}", gw_credentials_delete,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_CREDENTIALS_WRITE, false,
     "remove a stored credential, secret and all"},
    {"PUT", "/api/v1/tenants/{tenant_id}/providers/{provider}", gw_providers_put,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PROVIDERS_WRITE, false,
     "store a tenant's settings for a provider (configs/system/providers.yml)"},
    {"GET", "/api/v1/tenants/{tenant_id}/providers/{provider}", gw_providers_get,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PROVIDERS_READ, false,
     "a tenant's settings for a provider"},
    {"POST", "/api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/{template}", gw_pipelines_run,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PIPELINES_RUN, false,
     "run a pipeline now; 202 with the run's id and status URL"},
    {"GET", "/api/v1/pipelines/runs", gw_pipelines_runs_list, GW_AUTH_TENANT_OR_ADMIN,
     CVG_SCOPE_PIPELINES_READ, true, "the tenant's runs, newest first, filtered and paged"},
    {"GET", "/api/v1/pipelines/runs/{run_id}", gw_pipelines_run_get, GW_AUTH_TENANT_OR_ADMIN,
     CVG_SCOPE_PIPELINES_READ, true, "a run with its steps and data-quality results"},
    {"POST", "/api/v1/pipelines/runs/{run_id}/cancel", gw_pipelines_run_cancel,
     GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PIPELINES_RUN, true, "cancel a queued or running run"},
    {"PUT", "/api/v1/tenants/{tenant_id}/schedules/{provider}/{domain}/{template}",
     gw_schedules_put, GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PIPELINES_RUN, false,
     "run a pipeline on a cron schedule (create or replace)"},
    {"GET", "/api/v1/tenants/{tenant_id}/schedules/{provider}/{domain}/{template}",
     gw_schedules_get, GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PIPELINES_READ, true,
     "a pipeline's schedule, its next slot and its latest slots' runs"},
    {"DELETE", "/api/v1/tenants/{tenant_id}/schedules/{provider}/{domain}/{template}",
     gw_schedules_delete, GW_AUTH_TENANT_OR_ADMIN, CVG_SCOPE_PIPELINES_RUN, true,
     "stop a pipeline's schedule (its slots' history stays)"},
    {"GET", "/api/v1/tenants/{tenant_id}/schedules", gw_schedules_list, GW_AUTH_TENANT_OR_ADMIN,
     CVG_SCOPE_PIPELINES_READ, true, "a tenant's schedules"},
    {"POST", "/api/v1/scheduler/trigger", gw_scheduler_trigger, GW_AUTH_ADMIN, 0, false,
     "fire the schedules that are due now (also done every second)"},
    {"POST", "/api/v1/scheduler/process-queue", gw_scheduler_process_queue, GW_AUTH_ADMIN, 0, false,
     "dispatch queued runs to free workers now (also done every 250 ms)"},
    {"POST", "/api/v1/scheduler/reset-daily-quotas", gw_scheduler_reset_daily_quotas, GW_AUTH_ADMIN,
     0, false, "delete daily usage counters older than CVG_USAGE_RETENTION_DAYS"},
};

const gw_route_t *gw_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

/* Matches one pattern; fills captures into req when given. */
static bool match(const char *pattern, const char *path, gw_req_t *req)
{
    size_t nparams = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pend = strchr(p, '/'), *send = strchr(s, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || slen >= GW_PARAM_MAX || nparams >= GW_PATH_PARAMS_MAX)
                return false;
            if (req) {
                req->param_names[nparams] = p + 1; /* "name}..." compared by length */
                memcpy(req->param_values[nparams], s, slen);
                req->param_values[nparams][slen] = '\0';
            }
            nparams++;
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return false;
    if (req)
        req->nparams = nparams;
    return true;
}

const gw_route_t *gw_route_match(const char *method, const char *path, gw_req_t *req,
                                 bool *path_known, char *allow, size_t allow_size)
{
    /* "/health/" is "/health". */
    char trimmed[1024];
    snprintf(trimmed, sizeof(trimmed), "%s", path);
    size_t n = strlen(trimmed);
    while (n > 1 && trimmed[n - 1] == '/')
        trimmed[--n] = '\0';
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    *path_known = false;
    allow[0] = '\0';
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!match(routes[i].pattern, trimmed, NULL))
            continue;
        if (strcmp(routes[i].method, m) == 0) {
            match(routes[i].pattern, trimmed, req);
            return &routes[i];
        }
        *path_known = true;
        size_t used = strlen(allow);
        snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "", routes[i].method);
    }
    return NULL;
}

const char *gw_req_param(const gw_req_t *r, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < r->nparams; i++) {
        if (strncmp(r->param_names[i], name, len) == 0 && r->param_names[i][len] == '}')
            return r->param_values[i];
    }
    return NULL;
}
