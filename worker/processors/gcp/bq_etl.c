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
        if (rc == 0)
            rc = insert_select(ctx, &d, &q, &cols, &rows, res);
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
