/*
 * setup.dryrun: checks a tenant onboarding request (tenant id, company,
 * e-mail, plan, conflicts in the central dataset, warehouse permissions)
 * and creates nothing. The first step of both the dry-run and the
 * onboarding pipelines; it fails when any check fails.
 */
#include "worker/processors/setup/tenant_checks.h"

#include <stdlib.h>
#include <string.h>

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    (void)step;
    tenant_request_t *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    tenant_request_read(ctx, req);
    tenant_check_t checks[TENANT_CHECKS];
    int failed = tenant_checks_run(ctx, req, checks);
    res->rows = -1;
    res->detail = tenant_checks_json(checks);
    if (req->id_ok)
        json_object_set_new(res->detail, "dataset_id", json_string(req->dataset));
    int rc = 0;
    if (failed > 0) {
        /* counted as the answer counts them: a check not run because one
         * it depends on failed is neither passed nor failed */
        const char *first = "";
        int with_error = 0;
        for (int i = 0; i < TENANT_CHECKS; i++) {
            with_error += checks[i].error[0] != '\0';
            if (first[0] == '\0')
                first = checks[i].error;
        }
        char skipped[32] = "";
        if (failed > with_error)
            snprintf(skipped, sizeof(skipped), ", %d not run", failed - with_error);
        rc = proc_fail(res, CVG_EINVAL, "%d of %d checks failed%s: %.900s", with_error,
                       TENANT_CHECKS, skipped, first);
    }
    free(req);
    return rc;
}

const proc_def_t proc_setup_dryrun = {
    .ps_type = "setup.dryrun",
    .summary = "check a tenant onboarding request without creating anything",
    .setup_only = true,
    .run = run,
};
