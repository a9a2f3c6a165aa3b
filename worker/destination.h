/*
 * The destination table of the processors that write rows (the
 * `destination:` block of ps_templates/common/destination.yml): creating
 * it on first write, from a schema template or from the columns written,
 * and applying the write mode inside the caller's transaction.
 */
#ifndef WRK_DESTINATION_H
#define WRK_DESTINATION_H

#include "common/schema.h"
#include "worker/processor.h"

#include <stdbool.h>

typedef enum wrk_write_mode {
    WRK_WRITE_APPEND,
    WRK_WRITE_TRUNCATE,
    WRK_WRITE_EMPTY
} wrk_write_mode_t;

typedef struct wrk_dest {
    char dataset[CVG_DATASET_MAX];
    char table[CVG_SCHEMA_NAME_MAX];
    wrk_write_mode_t mode;
    char partition[64];                        /* value of the partition replaced, or "" */
    char partition_field[CVG_SCHEMA_NAME_MAX]; /* table_config.time_partitioning.field */
    char schema_template[CVG_SCHEMA_NAME_MAX];
    size_t nclust;
    char clustering[4][CVG_SCHEMA_NAME_MAX];
    bool has_schema;
    cvg_schema_t schema; /* the template's, when has_schema */
} wrk_dest_t;

/* The rules across destination fields the schema cannot say (partition
 * needs truncate and a partitioning field), for a step at path. */
int wrk_dest_validate(const json_t *step, const char *path, cvg_errlist_t *errs);
/* The step's destination.schema_template, when it names one outright, must
 * exist for its processor: an error at path otherwise. */
void wrk_dest_check_template(const char *templates_dir, const char *ps_type, const json_t *step,
                             const char *path, cvg_errlist_t *errs);

/* Reads a resolved `destination` object; the run may write its tenant's
 * dataset only. Loads the schema template of ps_type when one is named. */
int wrk_dest_parse(const proc_ctx_t *ctx, const char *ps_type, const json_t *destination,
                   wrk_dest_t *d, proc_result_t *res);

void wrk_dest_cleanup(wrk_dest_t *d);

/*
 * Inside the caller's write transaction (cvg_wh_begin_write on the
 * destination's dataset), so a failed step leaves no table behind:
 * creates the table when it does not exist: from the schema template, or
 * else with `columns` (all text) or, when select_sql is given, with the
 * query's columns. Partitioning and clustering become indexes; what was
 * done goes into detail ("table_created", "table_config").
 */
int wrk_dest_ensure(const proc_ctx_t *ctx, const wrk_dest_t *d, const cvg_strlist_t *columns,
                    const char *select_sql, const cvg_val_t *params, size_t nparams, json_t *detail,
                    proc_result_t *res);

/* Before anything is created or changed, given the columns the source
 * (what: "file", "query") brings: a partition's rows are placed by the
 * column time_partitioning names, which they must have; and a table about
 * to be made from those columns needs it too (an existing table that has
 * it, or one from a template, takes the rows with NULL there). */
int wrk_dest_check_partition_column(const proc_ctx_t *ctx, const wrk_dest_t *d,
                                    const cvg_strlist_t *columns, const char *what,
                                    proc_result_t *res);

/* For a destination named without a schema_template, once its table
 * exists: the table's own column types (cvg_wh_table_schema), so loaded
 * values are checked and converted against them as against a template's. */
int wrk_dest_schema_from_table(const proc_ctx_t *ctx, wrk_dest_t *d, proc_result_t *res);

/* After the caller's transaction was rolled back: detail no longer says a
 * table was made (nor what its table_config became) or rows replaced. */
void wrk_dest_rolled_back(json_t *detail);

/* Inside the caller's transaction, before rows go in: truncate (all rows
 * or the partition's), or refuse a non-empty table for write_empty. */
int wrk_dest_prepare_write(const proc_ctx_t *ctx, const wrk_dest_t *d, json_t *detail,
                           proc_result_t *res);

/* The column types of the table for the names given (text when neither a
 * template nor the table gives one); for converting loaded values. */
cvg_col_type_t wrk_dest_column_type(const wrk_dest_t *d, const char *column);

#endif
