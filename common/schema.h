/*
 * Table schemas in BigQuery's JSON format. A schema file is either the
 * plain field array that `bq` reads ([{"name", "type", "mode",
 * "description"}, ...]) or a table resource {"description", "schema":
 * {"fields": [...]}, "tableConstraints": {"primaryKey": {"columns": [...]}},
 * "clustering": {"fields": [...]}}. Each warehouse driver turns a parsed
 * schema into its own DDL; primary keys and clustering become keys and
 * indexes where the driver has them.
 *
 * One key of ours is not BigQuery's: "indexes": [{"name": "run",
 * "columns": ["pipeline_logging_id"]}, ...], the secondary lookups the
 * services make on a table (a run by its id in a queue ordered by state).
 * An index may add "not_null": "<column>" to leave out the rows where that
 * column is NULL (a partial index, for lookups that always name a value).
 * Drivers with indexes create them; BigQuery would ignore them.
 */
#ifndef CVG_SCHEMA_H
#define CVG_SCHEMA_H

#include "common/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CVG_SCHEMA_NAME_MAX    129 /* column and table names, 128 + NUL */
#define CVG_SCHEMA_MAX_COLUMNS 1000
#define CVG_SCHEMA_MAX_KEYS    16 /* columns in a primary key or clustering */
#define CVG_SCHEMA_MAX_INDEXES 4
#define CVG_SCHEMA_INDEX_COLS  4
#define CVG_SCHEMA_INDEX_NAME  33 /* 32 + NUL */

typedef enum cvg_col_type {
    CVG_COL_STRING,
    CVG_COL_INT64,
    CVG_COL_FLOAT64,
    CVG_COL_NUMERIC,
    CVG_COL_BOOL,
    CVG_COL_TIMESTAMP,
    CVG_COL_DATE,
    CVG_COL_JSON,
    CVG_COL_RECORD
} cvg_col_type_t;

typedef enum cvg_col_mode {
    CVG_MODE_NULLABLE,
    CVG_MODE_REQUIRED,
    CVG_MODE_REPEATED
} cvg_col_mode_t;

typedef struct cvg_column {
    char name[CVG_SCHEMA_NAME_MAX];
    cvg_col_type_t type;
    cvg_col_mode_t mode;
    char *description; /* owned, may be NULL */
} cvg_column_t;

/* A secondary index: the driver names it <table>__<name>. */
typedef struct cvg_index {
    char name[CVG_SCHEMA_INDEX_NAME];
    size_t ncols;
    char cols[CVG_SCHEMA_INDEX_COLS][CVG_SCHEMA_NAME_MAX];
    char not_null[CVG_SCHEMA_NAME_MAX]; /* "" or a column whose NULL rows are left out */
} cvg_index_t;

typedef struct cvg_schema {
    char table[CVG_SCHEMA_NAME_MAX];
    char *description; /* owned, may be NULL */
    size_t ncols;
    cvg_column_t *cols; /* owned array */
    size_t npk;
    char pk[CVG_SCHEMA_MAX_KEYS][CVG_SCHEMA_NAME_MAX];
    size_t nclust;
    char clustering[CVG_SCHEMA_MAX_KEYS][CVG_SCHEMA_NAME_MAX];
    size_t nidx;
    cvg_index_t idx[CVG_SCHEMA_MAX_INDEXES];
    /* "retired_indexes": names of indexes the table had once and must not
     * keep (bootstrap drops them from existing tables) */
    size_t nretired;
    char retired[CVG_SCHEMA_MAX_INDEXES][CVG_SCHEMA_INDEX_NAME];
} cvg_schema_t;

/* Parses a schema document for table `table`. On error err names the field
 * path ("fields[3].type") and *out holds nothing to free. */
int cvg_schema_parse(const json_t *doc, const char *table, cvg_schema_t *out, cvg_err_t *err);

/* Loads <dir>/<table>.json style files: the table name is the file's base
 * name without ".json". */
int cvg_schema_load_file(const char *path, cvg_schema_t *out, cvg_err_t *err);

/* Frees what a schema owns. */
void cvg_schema_cleanup(cvg_schema_t *s);

/* Index of a column by name, or -1. */
int cvg_schema_find(const cvg_schema_t *s, const char *name);

/* The BigQuery name of a type ("INT64", ...). */
const char *cvg_col_type_name(cvg_col_type_t t);

/* True when the column's values are stored as JSON text (JSON, RECORD and
 * REPEATED columns). */
bool cvg_col_is_json(const cvg_column_t *c);

#endif
