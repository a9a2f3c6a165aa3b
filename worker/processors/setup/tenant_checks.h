/*
 * The twelve checks a tenant must pass before it is onboarded, shared by
 * the dry-run (setup.dryrun) and onboarding (setup.tenants.onboarding)
 * processors. Each check is invalid input (HTTP 422), a conflict (409) or a
 * system problem (503) when it fails; the gateway maps them.
 */
#ifndef WRK_TENANT_CHECKS_H
#define WRK_TENANT_CHECKS_H

#include "worker/processor.h"

#include <jansson.h>

#define TENANT_CHECKS 12

typedef enum check_kind { CHECK_INVALID, CHECK_CONFLICT, CHECK_SYSTEM } check_kind_t;

typedef struct tenant_check {
    const char *name;
    const char *field; /* the request field it judges, or NULL */
    check_kind_t kind;
    bool passed;
    char error[320]; /* "" when passed, or when skipped because a check it
                      * depends on failed: then it counts as neither */
} tenant_check_t;

/* The request, from the run's parameters, normalised. */
typedef struct tenant_request {
    char tenant_id[CVG_PARAM_VALUE_MAX + 1];    /* room for any parameter value, */
    char company_name[CVG_PARAM_VALUE_MAX + 1]; /* so an overlong one gets */
    char admin_email[CVG_PARAM_VALUE_MAX + 1];  /* its own check's message */
    char plan_name[CVG_PARAM_VALUE_MAX + 1];
    char dataset[CVG_DATASET_MAX];
    bool id_ok;
} tenant_request_t;

/* Reads tenant_id, company_name, admin_email and plan_name from the run's
 * parameters; missing ones are empty (and fail their checks). */
void tenant_request_read(const proc_ctx_t *ctx, tenant_request_t *req);

/* Runs every check; returns how many failed. */
int tenant_checks_run(const proc_ctx_t *ctx, tenant_request_t *req,
                      tenant_check_t checks[TENANT_CHECKS]);

/* {"checks": [...], "checks_passed": n, "checks_failed": n, "errors": [...]};
 * a check that judges a request field names it ("field"). */
json_t *tenant_checks_json(const tenant_check_t checks[TENANT_CHECKS]);

#endif
