/*
 * The central dataset's table list (see central.h).
 */
#include "common/central.h"
#include "common/schema.h"

#include <stdio.h>
#include <stdlib.h>

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

int cvg_central_missing_columns(cvg_wh_t *wh, const char *templates_dir, json_t *list,
                                cvg_err_t *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < CVG_CENTRAL_TABLE_COUNT; i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/setup/initial/schemas/%s.json", templates_dir,
                 cvg_central_tables[i]);
        cvg_schema_t sc;
        rc = cvg_schema_load_file(path, &sc, err);
        if (rc != 0)
            break;
        size_t *missing = calloc(CVG_SCHEMA_MAX_COLUMNS, sizeof(*missing)), n = 0;
        rc = missing ? cvg_wh_missing_columns(wh, CVG_CENTRAL_DATASET, &sc, missing,
                                              CVG_SCHEMA_MAX_COLUMNS, &n, err)
                     : cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        for (size_t j = 0; rc == 0 && j < n; j++)
            json_array_append_new(
                list, json_sprintf("%s.%s", cvg_central_tables[i], sc.cols[missing[j]].name));
        free(missing);
        cvg_schema_cleanup(&sc);
    }
    return rc;
}
