/*
 * gcp.bq_etl: a query on the warehouse into a table of the tenant's
 * dataset (the originals' name; it runs on whichever warehouse is
 * configured). The query's variables are bound (common/sqltmpl.h); the
 * write is one transaction holding the dataset's write lock from its start,
 * table creation included, so a step that fails (or is cancelled, or times
 * out) leaves the table as it was: old rows kept, a new table not made.
 */
#include "common/sqltmpl.h"
#include "worker/destination.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* INSERT INTO dest (the query's columns, cols) SELECT * FROM (query). */
static int insert_select(const proc_ctx_t *ctx, const wrk_dest_t *d, const cvg_sql_t *q,
                         const cvg_strlist_t *cols, int64_t *rows, proc_result_t *res)
{
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_strlist_t table = {0};
    int rc = cvg_wh_table_columns(ctx->wh, d->dataset, d->table, &table, &err);
    if (rc != 0) {
        cvg_strlist_cleanup(&table);
        return proc_fail(res, rc, "%.900s", err.message);
    }
    char qc = cvg_wh_ident_quote(ctx->wh);
    cvg_buf_t sql;
    cvg_buf_init(&sql, 2 * CVG_SQL_MAX_BYTES);
    cvg_buf_printf(&sql, "INSERT INTO %c%s%c.%c%s%c (", qc, d->dataset, qc, qc, d->table, qc);
    for (size_t i = 0; rc == 0 && i < cols->n; i++) {
        bool known = false;
        for (size_t j = 0; j < table.n && !known; j++)
            known = strcmp(table.items[j], cols->items[i]) == 0;
        if (!known || !cvg_wh_ident_ok(cols->items[i]))
            rc = proc_fail(res, CVG_EINVAL, "the query's column '%.100s' is not a column of %s.%s",
                           cols->items[i], d->dataset, d->table);
        cvg_buf_printf(&sql, "%s%c%s%c", i ? ", " : "", qc, cols->items[i], qc);
    }
    cvg_buf_printf(&sql, ") SELECT * FROM (%s)", cvg_buf_cstr(&q->text));
    if (rc == 0 && sql.overflow)
        rc = proc_fail(res, CVG_ETOOBIG, "the query is too long");
    if (rc == 0) {
        rc =
            cvg_wh_exec(ctx->wh, cvg_buf_cstr(&sql), q->params, q->nparams, NULL, NULL, rows, &err);
        if (rc != 0)
            proc_fail(res, rc, "%.900s", err.message);
    }
    cvg_buf_cleanup(&sql);
    cvg_strlist_cleanup(&table);
    return rc;
}

/* The largest rowid of the destination before the write: the rows written
 * are those above it. */
static int last_rowid(const proc_ctx_t *ctx, const wrk_dest_t *d, int64_t *out, proc_result_t *res)
{
    char qc = cvg_wh_ident_quote(ctx->wh), sql[400];
    snprintf(sql, sizeof(sql), "SELECT coalesce(max(rowid), 0) FROM %c%s%c.%c%s%c", qc, d->dataset,
             qc, qc, d->table, qc);
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_wh_query_int(ctx->wh, sql, NULL, 0, out, NULL, &err);
    return rc == 0 ? 0 : proc_fail(res, rc, "%.900s", err.message);
}

/* The times a query wrote into the TIMESTAMP and DATE columns of a table
 * made from a schema template, held to what the loader stores: a
 * timestamp as UTC with milliseconds (another offset or a space for the T
 * converted, as the loader converts them), a date as a real YYYY-MM-DD.
 * A value that is neither fails the step, so nothing is written. */
static int check_times(const proc_ctx_t *ctx, const wrk_dest_t *d, const cvg_strlist_t *cols,
                       int64_t after, proc_result_t *res)
{
    if (!d->has_schema)
        return 0;
    char qc = cvg_wh_ident_quote(ctx->wh);
    cvg_val_t p = CVG_V_INT(after);
    for (size_t i = 0; i < d->schema.ncols; i++) {
        const cvg_column_t *c = &d->schema.cols[i];
        bool written = false;
        for (size_t j = 0; j < cols->n && !written; j++)
            written = strcmp(cols->items[j], c->name) == 0;
        if (!written || (c->type != CVG_COL_TIMESTAMP && c->type != CVG_COL_DATE))
            continue;
        char t[300], col[CVG_SCHEMA_NAME_MAX + 2], sql[4096];
        snprintf(t, sizeof(t), "%c%s%c.%c%s%c", qc, d->dataset, qc, qc, d->table, qc);
        snprintf(col, sizeof(col), "%c%s%c", qc, c->name, qc);
        /* a real day: SQLite keeps 02-30 as it is written unless a modifier
         * makes it compute, which rolls it over into March */
        char day_ok[640], canon[200];
        snprintf(day_ok, sizeof(day_ok),
                 "typeof(%s) = 'text' AND date(substr(%s, 1, 10), '+0 days') = substr(%s, 1, 10)",
                 col, col, col);
        snprintf(canon, sizeof(canon), "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', %s)", col);
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = 0;
        if (c->type == CVG_COL_TIMESTAMP) {
            snprintf(
                sql, sizeof(sql),
                "UPDATE %s SET %s = %s WHERE rowid > $1 AND %s AND %s IS NOT NULL AND %s <> %s", t,
                col, canon, day_ok, canon, canon, col);
            rc = cvg_wh_exec(ctx->wh, sql, &p, 1, NULL, NULL, NULL, &err);
            snprintf(sql, sizeof(sql),
                     "SELECT CAST(%s AS TEXT) FROM %s WHERE rowid > $1 AND %s IS NOT NULL AND NOT "
                     "(%s AND %s IS NOT NULL AND %s = %s) LIMIT 1",
                     col, t, col, day_ok, canon, canon, col);
        } else {
            snprintf(sql, sizeof(sql),
                     "SELECT CAST(%s AS TEXT) FROM %s WHERE rowid > $1 AND %s IS NOT NULL AND NOT "
                     "(%s AND length(%s) = 10) LIMIT 1",
                     col, t, col, day_ok, col);
        }
        char bad[120] = "";
        bool found = false;
        if (rc == 0)
            rc = cvg_wh_query_text(ctx->wh, sql, &p, 1, bad, sizeof(bad), &found, &err);
        if (rc != 0)
            return proc_fail(res, rc, "%.900s", err.message);
        if (found)
            return proc_fail(res, CVG_EINVAL, "column %s: '%.60s' is not a %s; nothing was written",
                             c->name, bad,
                             c->type == CVG_COL_DATE ? "date YYYY-MM-DD"
                                                     : "timestamp (ISO 8601, e.g. "
                                                       "2026-11-03T10:00:00Z)");
    }
    return 0;
}

/* A partition replace takes that partition's rows only (as BigQuery
 * refuses rows of other partitions for a partition decorator): the
 * partition was emptied in this transaction, so it now holds exactly the
 * rows written unless some of them fell outside it. */
static int check_partition(const proc_ctx_t *ctx, const wrk_dest_t *d, int64_t written,
                           proc_result_t *res)
{
    if (d->partition[0] == '\0')
        return 0;
    char qc = cvg_wh_ident_quote(ctx->wh), sql[700];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM %c%s%c.%c%s%c WHERE substr(%c%s%c, 1, %zu) = $1", qc, d->dataset,
             qc, qc, d->table, qc, qc, d->partition_field, qc, strlen(d->partition));
    cvg_val_t p = cvg_v_text(d->partition);
    int64_t inside = 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_wh_query_int(ctx->wh, sql, &p, 1, &inside, NULL, &err);
    if (rc != 0)
        return proc_fail(res, rc, "%.900s", err.message);
    if (inside != written)
        return proc_fail(res, CVG_EINVAL,
                         "the query returned %lld of its %lld rows outside partition %s (by %s, "
                         "compared as text: a time as ISO 8601 UTC, e.g. "
                         "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', ...)): a partition replace writes "
                         "that partition's rows only; nothing was changed",
                         (long long)(written - inside), (long long)written, d->partition,
                         d->partition_field);
    return 0;
}

/* The destination's rules, and a query that is one SELECT: its rows are
 * what the step writes, inside INSERT ... SELECT * FROM (query). */
static int validate(const json_t *step, const char *path, cvg_errlist_t *errs)
{
    int n = wrk_dest_validate(step, path, errs);
    const char *query =
        json_string_value(json_object_get(json_object_get(step, "source"), "query"));
    cvg_err_t err;
    cvg_err_clear(&err);
    if (query && cvg_sql_select_only(query, NULL, &err) != 0) {
        char f[160];
        snprintf(f, sizeof(f), "%s.source.query", path);
        cvg_errlist_add(errs, CVG_EINVAL, f,
                        "%s: must be one SELECT (or WITH ... SELECT) statement; %s", f,
                        err.message);
        n++;
    }
    return n;
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    const char *query =
        json_string_value(json_object_get(json_object_get(step, "source"), "query"));
    cvg_sql_t q;
    cvg_err_t err;
    cvg_err_clear(&err);
    size_t len = 0;
    if (cvg_sql_select_only(query ? query : "", &len, &err) != 0)
        return proc_fail(res, err.code,
                         "source.query: must be one SELECT (or WITH ... SELECT) statement; %.900s",
                         err.message);
    char *one = strndup(query, len); /* without a closing ';' */
    if (one == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    int r = cvg_sql_render(one, ctx->vars, cvg_wh_ident_quote(ctx->wh), &q, &err);
    free(one);
    if (r != 0)
        return proc_fail(res, err.code, "source.query: %.900s", err.message);
    wrk_dest_t d;
    int rc = wrk_dest_parse(ctx, "gcp.bq_etl", json_object_get(step, "destination"), &d, res);
    if (rc != 0) {
        cvg_sql_cleanup(&q);
        return rc;
    }
    res->detail = json_pack("{s:s}", "table", d.table);
    /* the query's columns, read once: checked, then written */
    cvg_strlist_t cols = {0};
    rc = cvg_wh_query_columns(ctx->wh, cvg_buf_cstr(&q.text), &cols, &err);
    if (rc != 0)
        proc_fail(res, rc, "%.900s", err.message);
    if (rc == 0)
        rc = wrk_dest_check_partition_column(ctx, &d, &cols, "query", res);
    int64_t rows = 0;
    if (rc == 0) {
        rc = cvg_wh_begin_write(ctx->wh, d.dataset, &err);
        if (rc != 0)
            proc_fail(res, rc, "%s: %.900s", d.dataset, err.message);
    }
    if (rc == 0) {
        rc = wrk_dest_ensure(ctx, &d, NULL, cvg_buf_cstr(&q.text), q.params, q.nparams, res->detail,
                             res);
        if (rc == 0)
            rc = wrk_dest_prepare_write(ctx, &d, res->detail, res);
        int64_t before = 0;
        if (rc == 0 && d.has_schema)
            rc = last_rowid(ctx, &d, &before, res);
        if (rc == 0)
            rc = insert_select(ctx, &d, &q, &cols, &rows, res);
        if (rc == 0)
            rc = check_times(ctx, &d, &cols, before, res);
        if (rc == 0)
            rc = check_partition(ctx, &d, rows, res);
        if (rc == 0 && cvg_wh_commit(ctx->wh, &err) != 0)
            rc = proc_fail(res, CVG_EDB, "commit: %.900s", err.message);
        if (rc != 0) {
            cvg_wh_rollback(ctx->wh);
            wrk_dest_rolled_back(res->detail);
        }
    }
    if (rc == 0) {
        res->rows = rows;
        json_object_set_new(res->detail, "rows_written", json_integer(rows));
    }
    cvg_strlist_cleanup(&cols);
    wrk_dest_cleanup(&d);
    cvg_sql_cleanup(&q);
    return rc;
}

const proc_def_t proc_gcp_bq_etl = {
    .ps_type = "gcp.bq_etl",
    .summary = "run a query and write its rows to a table",
    .validate = validate,
    .validate_always = true, /* its rules read each field only if it is of the right type */
    .run = run,
};
