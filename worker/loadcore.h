/*
 * Loading rows (CSV or JSON Lines, from common/rows.h) into a destination
 * table: one transaction, the write mode applied first, values converted
 * to the table's column types, bad rows counted and the first ones quoted,
 * and past the reject threshold nothing is kept.
 */
#ifndef WRK_LOADCORE_H
#define WRK_LOADCORE_H

#include "common/rows.h"
#include "worker/destination.h"

typedef struct wrk_load_opts {
    int64_t max_bad_rows;   /* bad rows tolerated (default 0) */
    double max_bad_percent; /* or this share of the rows read; < 0: unused */
} wrk_load_opts_t;

/* Reader options from a loader's `source` block (format, delimiter). */
void wrk_rows_opts_from(const json_t *source, cvg_rows_opts_t *o);

/* Reads the loader fields `max_bad_rows` and `max_bad_percent`. */
void wrk_load_opts_from(const json_t *step, wrk_load_opts_t *o);

/* Loads every row of r into d. Fills detail (rows_read, rows_loaded,
 * bad_rows, bad_row_samples, table_created, ...) and res->rows. */
int wrk_load_rows(const proc_ctx_t *ctx, cvg_rows_t *r, wrk_dest_t *d, const wrk_load_opts_t *o,
                  json_t *detail, proc_result_t *res);

#endif
