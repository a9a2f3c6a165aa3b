/*
 * The warehouse: where datasets, tables and logs live. One interface, one
 * driver per backend chosen by WAREHOUSE_URL (sqlite:// today; postgres://
 * and bigquery:// implement the same calls). A dataset is a named group of
 * tables ("tenants", one per tenant); SQL names tables as dataset.table.
 *
 * Every value goes in as a bound parameter: SQL uses $1, $2, ... in value
 * positions, on every driver. Identifiers (dataset, table, column names)
 * are checked against [A-Za-z_][A-Za-z0-9_]* and quoted by the driver.
 * A connection is used by one thread at a time.
 */
#ifndef CVG_WAREHOUSE_H
#define CVG_WAREHOUSE_H

#include "common/err.h"
#include "common/schema.h"

#include <jansson.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_DATASET_MAX 65 /* dataset names: 64 characters + NUL */

typedef enum cvg_val_type {
    CVG_VAL_NULL = 0,
    CVG_VAL_INT,
    CVG_VAL_REAL,
    CVG_VAL_TEXT,
    CVG_VAL_BOOL
} cvg_val_type_t;

/* A parameter or a result value. Text is borrowed: for parameters from the
 * caller for the call, for results from the driver for the callback. */
typedef struct cvg_val {
    cvg_val_type_t type;
    int64_t i;
    double d;
    const char *s;
    size_t len;
    bool b;
} cvg_val_t;

#define CVG_V_NULL    ((cvg_val_t){.type = CVG_VAL_NULL})
#define CVG_V_INT(v)  ((cvg_val_t){.type = CVG_VAL_INT, .i = (int64_t)(v)})
#define CVG_V_REAL(v) ((cvg_val_t){.type = CVG_VAL_REAL, .d = (v)})
#define CVG_V_BOOL(v) ((cvg_val_t){.type = CVG_VAL_BOOL, .b = (v)})

/* Text value; NULL s gives a NULL value. */
cvg_val_t cvg_v_text(const char *s);

/* One result row, valid during the callback. */
typedef struct cvg_row {
    size_t ncols;
    const char *const *names;
    const cvg_val_t *vals;
} cvg_row_t;

/* Copies a text value into dst (size bytes, always terminated, cut to fit);
 * any other value gives "". */
void cvg_val_copy_text(char *dst, size_t size, const cvg_val_t *v);

/* A value as JSON (text, integer, real, boolean or null): a new reference. */
json_t *cvg_val_json(const cvg_val_t *v);

/* A row as a JSON object of column names to values: a new reference. */
json_t *cvg_row_json(const cvg_row_t *row);

/* Called per row; a non-zero return stops the query and is returned. */
typedef int (*cvg_row_fn)(void *ud, const cvg_row_t *row);

typedef struct cvg_wh cvg_wh_t;

/* A growable list of owned strings. */
typedef struct cvg_strlist {
    size_t n, cap;
    char **items;
} cvg_strlist_t;

int cvg_strlist_add(cvg_strlist_t *l, const char *s);
void cvg_strlist_cleanup(cvg_strlist_t *l);

/* Opens a connection for url. The sqlite driver creates its directory.
 * *out is NULL on failure. */
int cvg_wh_open(const char *url, cvg_wh_t **out, cvg_err_t *err);

/* Closes and frees; accepts NULL and sets *wh to NULL. */
void cvg_wh_close(cvg_wh_t **wh);

/* The driver's name: "sqlite", ... */
const char *cvg_wh_driver(const cvg_wh_t *wh);

/* A cheap round trip proving the warehouse answers. */
int cvg_wh_ping(cvg_wh_t *wh, cvg_err_t *err);

/*
 * Runs one statement with params (may be NULL/0), calling fn per row (fn
 * may be NULL). *changes (may be NULL) gets the rows changed by a write.
 * Errors: CVG_ENOTFOUND when a named dataset or table does not exist,
 * CVG_EBUSY when locked past the busy timeout, CVG_EEXIST for a duplicate
 * key or object, CVG_EINVAL for a statement that does not compile or more
 * than one statement, CVG_EDB otherwise.
 */
int cvg_wh_exec(cvg_wh_t *wh, const char *sql, const cvg_val_t *params, size_t nparams,
                cvg_row_fn fn, void *ud, int64_t *changes, cvg_err_t *err);

/* Reads the first column of the first row as an integer or text
 * (copied into out, size bytes). *found says whether there was a row. */
int cvg_wh_query_int(cvg_wh_t *wh, const char *sql, const cvg_val_t *params, size_t nparams,
                     int64_t *out, bool *found, cvg_err_t *err);
int cvg_wh_query_text(cvg_wh_t *wh, const char *sql, const cvg_val_t *params, size_t nparams,
                      char *out, size_t size, bool *found, cvg_err_t *err);

/* Transactions for writes. Datasets a transaction touches must be named by
 * cvg_wh_use before begin. On SQLite, begin locks every dataset this
 * connection has reached: a transaction that writes one dataset takes
 * cvg_wh_begin_write instead. */
int cvg_wh_begin(cvg_wh_t *wh, cvg_err_t *err);
int cvg_wh_commit(cvg_wh_t *wh, cvg_err_t *err);
int cvg_wh_rollback(cvg_wh_t *wh);

/* A read from one snapshot: the statements until cvg_wh_rollback (or
 * commit) see the named datasets (NULL-terminated) as of one moment, take
 * no write lock, and pay for locking and checking once. */
int cvg_wh_begin_read(cvg_wh_t *wh, const char *const *datasets, cvg_err_t *err);

/* A write transaction that holds dataset's write lock from its start,
 * waiting for it as any writer does: what it reads before writing (is the
 * table there, its columns, its rows) no other writer changes in between,
 * and its first write never finds the lock taken. A restricted connection
 * (a tenant's run), or one with other datasets reached, locks that dataset
 * only; ended by commit or rollback. */
int cvg_wh_begin_write(cvg_wh_t *wh, const char *dataset, cvg_err_t *err);

/* Makes a dataset reachable from this connection (a no-op where every
 * dataset always is). CVG_ENOTFOUND when it does not exist. */
int cvg_wh_use(cvg_wh_t *wh, const char *dataset, cvg_err_t *err);

/* Datasets. create gives CVG_EEXIST when it exists; drop removes it with
 * every table in it. */
int cvg_wh_dataset_exists(cvg_wh_t *wh, const char *dataset, bool *out, cvg_err_t *err);
int cvg_wh_dataset_create(cvg_wh_t *wh, const char *dataset, cvg_err_t *err);
int cvg_wh_dataset_drop(cvg_wh_t *wh, const char *dataset, cvg_err_t *err);

/* Tables. create builds the table, its primary key and its clustering
 * index from schema (named schema->table); CVG_EEXIST when it exists. */
int cvg_wh_table_exists(cvg_wh_t *wh, const char *dataset, const char *table, bool *out,
                        cvg_err_t *err);
int cvg_wh_table_create(cvg_wh_t *wh, const char *dataset, const cvg_schema_t *schema,
                        cvg_err_t *err);
int cvg_wh_table_drop(cvg_wh_t *wh, const char *dataset, const char *table, cvg_err_t *err);

/*
 * Creates view `view` in dataset from select_sql (portable SQL naming its
 * tables dataset.table), which may read other datasets, listed in reads
 * (NULL-terminated). `SELECT * FROM dataset.view` then works on every driver.
 * CVG_EEXIST when the name is taken; dropped with cvg_wh_table_drop.
 */
int cvg_wh_view_create(cvg_wh_t *wh, const char *dataset, const char *view, const char *select_sql,
                       const char *const *reads, cvg_err_t *err);

/*
 * Limits this connection to the named datasets (NULL-terminated; NULL
 * lifts the limit): a statement naming any other dataset is refused, and
 * so are pragmas and new virtual tables. Tenant runs are limited to the
 * tenant's own dataset.
 */
int cvg_wh_restrict(cvg_wh_t *wh, const char *const *datasets, cvg_err_t *err);

/* From now on a statement stops with CVG_ETIMEDOUT once the monotonic
 * clock passes deadline_ms (0: no deadline) and with CVG_ECANCELED once
 * *cancel is non-zero (cancel may be NULL). */
void cvg_wh_set_interrupt(cvg_wh_t *wh, int64_t deadline_ms, const volatile sig_atomic_t *cancel);

/* How long a statement waits for another writer's lock before it fails
 * with CVG_EBUSY: max_ms (10 s when a connection opens), or with -1 as
 * long as the deadline of cvg_wh_set_interrupt allows (10 s without one).
 * Workers wait until their step's time limit; the gateway and the other
 * processes, which hold a client or a loop meanwhile, keep a bound. */
void cvg_wh_set_lock_wait(cvg_wh_t *wh, int max_ms);

/* The character the driver quotes identifiers with ('"' or '`'). */
char cvg_wh_ident_quote(const cvg_wh_t *wh);

/* Creates dataset.table, empty, with the columns select_sql returns
 * (params bound). CVG_EEXIST when the table exists. */
int cvg_wh_table_create_as(cvg_wh_t *wh, const char *dataset, const char *table,
                           const char *select_sql, const cvg_val_t *params, size_t nparams,
                           cvg_err_t *err);

/* Makes sure an index named <table>__<suffix> on columns (n of them)
 * exists; a no-op where the warehouse has no indexes. not_null (NULL or
 * "" for none) names a column whose NULL rows the index leaves out (a
 * partial index, for a lookup that always names a value). *created (may
 * be NULL) says whether this call made it. */
int cvg_wh_index_create(cvg_wh_t *wh, const char *dataset, const char *table, const char *suffix,
                        const char *const *columns, size_t n, const char *not_null, bool *created,
                        cvg_err_t *err);

/* Drops the index <table>__<suffix> if it exists; *dropped says whether it
 * did. */
int cvg_wh_index_drop(cvg_wh_t *wh, const char *dataset, const char *table, const char *suffix,
                      bool *dropped, cvg_err_t *err);

/* True when err says a statement named a column its table lacks: after an
 * upgrade, a table the bootstrap has not brought up to date yet. */
bool cvg_wh_err_missing_column(const cvg_err_t *err);

/* The columns of schema sc that table sc->table of dataset lacks, by
 * name (any case), in the schema's order: indexes into sc->cols. n gets
 * their count (at most max). */
int cvg_wh_missing_columns(cvg_wh_t *wh, const char *dataset, const cvg_schema_t *sc, size_t *idx,
                           size_t max, size_t *n, cvg_err_t *err);

/* Adds a NULLABLE (or REPEATED) column of the schema to an existing table,
 * its rows NULL there; a REQUIRED one cannot be added to rows that lack it
 * (CVG_EINVAL). */
int cvg_wh_column_add(cvg_wh_t *wh, const char *dataset, const char *table, const cvg_column_t *col,
                      cvg_err_t *err);

/* Names of the columns a query returns, without running it. */
int cvg_wh_query_columns(cvg_wh_t *wh, const char *sql, cvg_strlist_t *out, cvg_err_t *err);

/* Column names of a table, in order. CVG_ENOTFOUND when it does not exist. */
int cvg_wh_table_columns(cvg_wh_t *wh, const char *dataset, const char *table, cvg_strlist_t *out,
                         cvg_err_t *err);

/* A table's columns as a schema named after the table: a column's type is
 * read from the type the warehouse declares for it (integer, floating
 * point, numeric; anything else is STRING) and it is REQUIRED where NULL
 * is refused. CVG_ENOTFOUND when the table does not exist. Free it with
 * cvg_schema_cleanup. */
int cvg_wh_table_schema(cvg_wh_t *wh, const char *dataset, const char *table, cvg_schema_t *out,
                        cvg_err_t *err);

/* Names of the tables (not views) in a dataset, sorted. */
int cvg_wh_table_list(cvg_wh_t *wh, const char *dataset, cvg_strlist_t *out, cvg_err_t *err);

/* True when name is acceptable as a dataset, table or column name. */
bool cvg_wh_ident_ok(const char *name);

#endif
