/*
 * Admin endpoints (X-Admin-Key). POST /api/v1/admin/bootstrap runs
 * configs/setup/bootstrap_system.yml: it creates the central dataset and
 * its tables, and reports which it created and which already existed.
 */
#include "common/central.h"
#include "gateway/gateway.h"
#include "gateway/setup.h"

#include <stdlib.h>
#include <string.h>

static json_t *step_result(const wrk_outcome_t *out)
{
    json_t *step = json_array_get(out->steps, 0);
    return json_object_get(step, "result");
}

void gw_admin_bootstrap(gw_req_t *req, gw_resp_t *resp)
{
    static const char *const flags[] = {"force_recreate_dataset", "force_recreate_tables"};
    json_t *body = NULL;
    if (gw_req_json_body(req, resp, &body) != 0)
        return;
    cvg_params_t params = {0};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, flags[0]) != 0 && strcmp(key, flags[1]) != 0) {
            gw_resp_error(resp, 422, "invalid_field", key,
                          "%s: unknown field (expected force_recreate_dataset, "
                          "force_recreate_tables)",
                          key);
            goto out;
        }
        if (!json_is_boolean(val)) {
            gw_resp_error(resp, 422, "invalid_field", key, "%s: must be true or false", key);
            goto out;
        }
        cvg_params_add(&params, key, json_is_true(val) ? "true" : "false");
    }
    char run_id[CVG_ID_LEN];
    wrk_outcome_t outcome;
    cvg_errlist_t *errs = cvg_errlist_new();
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = errs ? gw_setup_run(req->gw, "setup/bootstrap_system", GW_SYSTEM_TENANT, &params,
                                 gw_req_actor(req), NULL, 0, run_id, &outcome, errs, &err)
                  : CVG_ENOMEM;
    free(errs);
    if (rc != 0) {
        gw_resp_error(resp, rc == CVG_EBUSY ? 503 : 500, "bootstrap_unavailable", NULL,
                      "bootstrap could not run: %s", err.message);
        goto out;
    }
    json_t *result = step_result(&outcome);
    if (strcmp(outcome.status, "SUCCEEDED") != 0 || result == NULL) {
        json_t *e = json_pack("{s:s, s:s}", "code", "bootstrap_failed", "message",
                              outcome.error[0] ? outcome.error : "bootstrap did not succeed");
        gw_resp_json(resp, 500,
                     json_pack("{s:o, s:s, s:O}", "error", e, "pipeline_logging_id", run_id,
                               "steps", outcome.steps));
        wrk_outcome_cleanup(&outcome);
        goto out;
    }
    json_t *created = json_object_get(result, "tables_created");
    json_t *existing = json_object_get(result, "tables_existing");
    json_t *recreated = json_object_get(result, "tables_recreated");
    json_t *retired = json_object_get(result, "indexes_retired");
    json_t *added = json_object_get(result, "columns_added");
    json_t *indexes = json_object_get(result, "indexes_added");
    char message[256];
    snprintf(message, sizeof(message),
             "Bootstrap complete: %zu table(s) created, %zu recreated, %zu already existed",
             json_array_size(created), json_array_size(recreated), json_array_size(existing));
    json_t *reply =
        json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:o, s:o, s:o, s:O, s:I, s:s}", "status",
                  "SUCCESS", "pipeline_logging_id", run_id, "dataset", CVG_CENTRAL_DATASET,
                  "dataset_created", json_object_get(result, "dataset_created"), "tables_created",
                  created, "tables_existing", existing, "tables_recreated", recreated,
                  "columns_added", added ? json_incref(added) : json_array(), "indexes_added",
                  indexes ? json_incref(indexes) : json_array(), "indexes_retired",
                  retired ? json_incref(retired) : json_array(), "total_tables",
                  json_object_get(result, "total_tables"), "duration_ms",
                  (json_int_t)outcome.duration_ms, "message", message);
    gw_resp_json(resp, 200, reply);
    wrk_outcome_cleanup(&outcome);
out:
    cvg_params_cleanup(&params);
    json_decref(body);
}
