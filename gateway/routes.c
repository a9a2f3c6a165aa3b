/*
 * The route table: every HTTP endpoint in one place, with the
 * authentication it needs. Matching splits the path into segments; a
 * "{name}" segment captures one path segment.
 */
#include "gateway/gateway.h"

#include <stdio.h>
#include <string.h>

static const gw_route_t routes[] = {
    {"GET", "/health", gw_health, GW_AUTH_NONE, "overall health and readiness"},
    {"GET", "/health/live", gw_health_live, GW_AUTH_NONE, "liveness: the gateway answers"},
    {"GET", "/health/ready", gw_health_ready, GW_AUTH_NONE,
     "readiness: warehouse, scheduler, logger and a worker answer"},
    {"GET", "/api/v1/health", gw_health, GW_AUTH_NONE, "overall health (versioned path)"},
    {"POST", "/api/v1/admin/bootstrap", gw_admin_bootstrap, GW_AUTH_ADMIN,
     "create the central dataset and tables"},
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
