/*
 * The central dataset: its name and the 12 tables the architecture fixes.
 * The table definitions themselves are the schema files under
 * ps_templates/setup/initial/schemas/ (a test checks both agree).
 */
#ifndef CVG_CENTRAL_H
#define CVG_CENTRAL_H

#include "common/schema.h"
#include "common/warehouse.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

#define CVG_CENTRAL_DATASET     "tenants"
#define CVG_CENTRAL_TABLE_COUNT 12

extern const char *const cvg_central_tables[CVG_CENTRAL_TABLE_COUNT];

/* How many of the central tables exist (0 when the dataset does not). */
int cvg_central_count(cvg_wh_t *wh, size_t *present, cvg_err_t *err);

/* The central tables' schemas, from templates_dir/setup/initial/schemas
 * (all or none: on failure out is left empty). */
int cvg_central_schemas_load(const char *templates_dir, cvg_schema_t out[CVG_CENTRAL_TABLE_COUNT],
                             cvg_err_t *err);
void cvg_central_schemas_cleanup(cvg_schema_t s[CVG_CENTRAL_TABLE_COUNT]);

/* The columns those schemas declare and the existing central tables lack
 * (the bootstrap adds them), appended to list as "table.column". */
int cvg_central_missing_columns(cvg_wh_t *wh, const cvg_schema_t schemas[CVG_CENTRAL_TABLE_COUNT],
                                json_t *list, cvg_err_t *err);

#endif
