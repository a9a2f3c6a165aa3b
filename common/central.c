/*
 * The central dataset's table list (see central.h).
 */
#include "common/central.h"

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

int cvg_central_schemas_load(const char *templates_dir, cvg_schema_t out[CVG_CENTRAL_TABLE_COUNT],
                             cvg_err_t *err)
{
    memset(out, 0, CVG_CENTRAL_TABLE_COUNT * sizeof(*out));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < CVG_CENTRAL_TABLE_COUNT; i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/setup/initial/schemas/%s.json", templates_dir,
                 cvg_central_tables[i]);
        rc = cvg_schema_load_file(path, &out[i], err);
    }
    if (rc != 0)
        cvg_central_schemas_cleanup(out);
    return rc;
}

void cvg_central_schemas_cleanup(cvg_schema_t s[CVG_CENTRAL_TABLE_COUNT])
{
    for (size_t i = 0; i < CVG_CENTRAL_TABLE_COUNT; i++)
        cvg_schema_cleanup(&s[i]);
    memset(s, 0, CVG_CENTRAL_TABLE_COUNT * sizeof(*s));
}

int cvg_central_missing_columns(cvg_wh_t *wh, const cvg_schema_t schemas[CVG_CENTRAL_TABLE_COUNT],
                                json_t *list, cvg_err_t *err)
{
    size_t *missing = calloc(CVG_SCHEMA_MAX_COLUMNS, sizeof(*missing));
    if (missing == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < CVG_CENTRAL_TABLE_COUNT; i++) {
        size_t n = 0;
        rc = cvg_wh_missing_columns(wh, CVG_CENTRAL_DATASET, &schemas[i], missing,
                                    CVG_SCHEMA_MAX_COLUMNS, &n, err);
        for (size_t j = 0; rc == 0 && j < n; j++)
            json_array_append_new(
                list, json_sprintf("%s.%s", schemas[i].table, schemas[i].cols[missing[j]].name));
    }
    free(missing);
    return rc;
}
