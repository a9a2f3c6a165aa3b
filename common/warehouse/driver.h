/*
 * What a warehouse driver provides: a table of operations that warehouse.c
 * dispatches to after checking identifiers. Private to common/warehouse*.
 */
#ifndef CVG_WAREHOUSE_DRIVER_H
#define CVG_WAREHOUSE_DRIVER_H

#include "common/warehouse.h"

typedef struct cvg_wh_ops {
    const char *name;   /* "sqlite" */
    const char *scheme; /* "sqlite://" */
    int (*open)(const char *rest, void **impl, cvg_err_t *err);
    void (*close)(void *impl);
    int (*exec)(void *impl, const char *sql, const cvg_val_t *params, size_t nparams, cvg_row_fn fn,
                void *ud, int64_t *changes, cvg_err_t *err);
    int (*begin)(void *impl, cvg_err_t *err);
    int (*commit)(void *impl, cvg_err_t *err);
    int (*rollback)(void *impl);
    int (*begin_read)(void *impl, const char *const *datasets, cvg_err_t *err);
    int (*begin_write)(void *impl, const char *dataset, cvg_err_t *err);
    int (*use)(void *impl, const char *dataset, cvg_err_t *err);
    int (*dataset_exists)(void *impl, const char *dataset, bool *out, cvg_err_t *err);
    int (*dataset_create)(void *impl, const char *dataset, cvg_err_t *err);
    int (*dataset_drop)(void *impl, const char *dataset, cvg_err_t *err);
    int (*table_exists)(void *impl, const char *dataset, const char *table, bool *out,
                        cvg_err_t *err);
    int (*table_create)(void *impl, const char *dataset, const cvg_schema_t *schema,
                        cvg_err_t *err);
    int (*table_drop)(void *impl, const char *dataset, const char *table, cvg_err_t *err);
    int (*table_list)(void *impl, const char *dataset, cvg_strlist_t *out, cvg_err_t *err);
    int (*view_create)(void *impl, const char *dataset, const char *view, const char *select_sql,
                       const char *const *reads, cvg_err_t *err);
    int (*restrict_to)(void *impl, const char *const *datasets, cvg_err_t *err);
    void (*set_interrupt)(void *impl, int64_t deadline_ms, const volatile sig_atomic_t *cancel);
    void (*set_lock_wait)(void *impl, int max_ms);
    int (*table_create_as)(void *impl, const char *dataset, const char *table,
                           const char *select_sql, const cvg_val_t *params, size_t nparams,
                           cvg_err_t *err);
    int (*table_columns)(void *impl, const char *dataset, const char *table, cvg_strlist_t *out,
                         cvg_err_t *err);
    int (*table_schema)(void *impl, const char *dataset, const char *table, cvg_schema_t *out,
                        cvg_err_t *err);
    int (*query_columns)(void *impl, const char *sql, cvg_strlist_t *out, cvg_err_t *err);
    int (*index_create)(void *impl, const char *dataset, const char *table, const char *suffix,
                        const char *const *columns, size_t n, const char *not_null, bool *created,
                        cvg_err_t *err);
    int (*index_drop)(void *impl, const char *dataset, const char *table, const char *suffix,
                      bool *dropped, cvg_err_t *err);
    int (*column_add)(void *impl, const char *dataset, const char *table, const cvg_column_t *col,
                      cvg_err_t *err);
    char ident_quote; /* '"' */
} cvg_wh_ops_t;

extern const cvg_wh_ops_t cvg_wh_sqlite_ops;

#endif
