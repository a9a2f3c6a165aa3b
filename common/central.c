/*
 * The central dataset's table list (see central.h).
 */
#include "common/central.h"

#include <string.h>

const char *const cvg_central_tables[CVG_CENTRAL_TABLE_COUNT] = {
    "tenant_profiles",
    "tenant_api_keys",
    "tenant_subscriptions",
    "tenant_usage_quotas",
    "tenant_cloud_credentials",
    "tenant_provider_configs",
    "tenant_pipeline_configs",
    "tenant_scheduled_pipeline_runs",
    "tenant_pipeline_execution_queue",
    "tenant_pipeline_runs",
    "tenant_step_logs",
    "tenant_dq_results",
};

int cvg_central_count(cvg_wh_t *wh, size_t *present, cvg_err_t *err)
{
    *present = 0;
    bool exists = false;
    int rc = cvg_wh_dataset_exists(wh, CVG_CENTRAL_DATASET, &exists, err);
    if (rc != 0 || !exists)
        return rc;
    cvg_strlist_t tables = {0};
    rc = cvg_wh_table_list(wh, CVG_CENTRAL_DATASET, &tables, err);
    for (size_t i = 0; rc == 0 && i < CVG_CENTRAL_TABLE_COUNT; i++) {
        for (size_t j = 0; j < tables.n; j++) {
            if (strcmp(tables.items[j], cvg_central_tables[i]) == 0) {
                (*present)++;
                break;
            }
        }
    }
    cvg_strlist_cleanup(&tables);
    return rc;
}
