/*
 * Destination tables (see destination.h).
 */
#include "worker/destination.h"
#include "common/fs.h"
#include "common/str.h"
#include "common/tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* How a partition value of each granularity is written. */
static const char *partition_shape(const char *type)
{
    if (strcmp(type, "YEAR") == 0)
        return "YYYY";
    if (strcmp(type, "MONTH") == 0)
        return "YYYY-MM";
    if (strcmp(type, "HOUR") == 0)
        return "YYYY-MM-DDTHH";
    return "YYYY-MM-DD";
}

/* Characters of a partition value for each granularity. */
static size_t partition_len(const char *type)
{
    if (strcmp(type, "YEAR") == 0)
        return 4;
    if (strcmp(type, "MONTH") == 0)
        return 7;
    if (strcmp(type, "HOUR") == 0)
        return 13;
    return 10;
}

static bool partition_ok(const char *v, size_t len)
{
    static const char shape[] = "dddd-dd-ddTdd";
    if (strlen(v) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool digit = v[i] >= '0' && v[i] <= '9';
        if (shape[i] == 'd' ? !digit : v[i] != shape[i])
            return false;
    }
    return true;
}

/* Where ps_type's schema template name is: <templates>/<provider>/
 * <processor>/schemas/<name>.json; rel gets the part after <templates>. */
static void template_path(const char *templates_dir, const char *ps_type, const char *name,
                          char *out, size_t size, char *rel, size_t rel_size)
{
    char dirs[CVG_NAME_MAX];
    snprintf(dirs, sizeof(dirs), "%s", ps_type);
    for (char *p = dirs; *p; p++)
        *p = *p == '.' ? '/' : *p;
    snprintf(rel, rel_size, "%s/schemas/%s.json", dirs, name);
    snprintf(out, size, "%s/%s", templates_dir, rel);
}

static int load_template(const proc_ctx_t *ctx, const char *ps_type, wrk_dest_t *d,
                         proc_result_t *res)
{
    char path[4096], rel[512];
    template_path(ctx->cfg->templates_dir, ps_type, d->schema_template, path, sizeof(path), rel,
                  sizeof(rel));
    if (!cvg_fs_exists(path))
        return proc_fail(res, CVG_ECONFIG,
                         "destination.schema_template: %s has no schema '%s' "
                         "(ps_templates/%s)",
                         ps_type, d->schema_template, rel);
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_schema_load_file(path, &d->schema, &err) != 0)
        return proc_fail(res, CVG_ECONFIG, "destination.schema_template: %s: %s",
                         d->schema_template, err.message);
    snprintf(d->schema.table, sizeof(d->schema.table), "%s", d->table);
    d->has_schema = true;
    return 0;
}

void wrk_dest_check_template(const char *templates_dir, const char *ps_type, const json_t *step,
                             const char *path, cvg_errlist_t *errs)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(step, "destination"), "schema_template"));
    /* one from variables is looked for when the step runs; a name that is
     * no identifier, the schema check has told */
    if (name == NULL || strchr(name, '{') || !cvg_ident_valid(name, CVG_SCHEMA_NAME_MAX - 1))
        return;
    char file[4096], rel[512];
    template_path(templates_dir, ps_type, name, file, sizeof(file), rel, sizeof(rel));
    if (!cvg_fs_exists(file))
        cvg_errlist_add(errs, CVG_EINVAL, path,
                        "%s.destination.schema_template: %s has no schema '%s' (ps_templates/%s)",
                        path, ps_type, name, rel);
}

int wrk_dest_validate(const json_t *step, const char *path, cvg_errlist_t *errs)
{
    const json_t *dest = json_object_get(step, "destination");
    const json_t *part = json_object_get(dest, "partition");
    const char *mode = json_string_value(json_object_get(dest, "write_mode"));
    const json_t *field = json_object_get(
        json_object_get(json_object_get(dest, "table_config"), "time_partitioning"), "field");
    char f[160];
    snprintf(f, sizeof(f), "%s.destination.partition", path);
    int n = 0;
    if (part && (mode == NULL || strcmp(mode, "truncate") != 0)) {
        cvg_errlist_add(errs, CVG_EINVAL, f, "%s: needs write_mode: truncate", f);
        n++;
    }
    if (part && field == NULL) {
        cvg_errlist_add(errs, CVG_EINVAL, f,
                        "%s: needs table_config.time_partitioning.field to match it against", f);
        n++;
    }
    /* a value written out (not from variables) can be judged now */
    const char *value = json_string_value(part);
    const json_t *tp = json_object_get(json_object_get(dest, "table_config"), "time_partitioning");
    const char *type = json_string_value(json_object_get(tp, "type"));
    if (value && !strchr(value, '{') && !partition_ok(value, partition_len(type ? type : "DAY"))) {
        cvg_errlist_add(errs, CVG_EINVAL, f, "%s: '%.40s' is not a %s partition (%s)", f, value,
                        type ? type : "DAY", partition_shape(type ? type : "DAY"));
        n++;
    }
    return n;
}

int wrk_dest_parse(const proc_ctx_t *ctx, const char *ps_type, const json_t *destination,
                   wrk_dest_t *d, proc_result_t *res)
{
    memset(d, 0, sizeof(*d));
    char own[CVG_DATASET_MAX];
    cvg_tenant_dataset(ctx->tenant_id, own);
    if (cvg_str_copy(d->dataset, sizeof(d->dataset), text(destination, "dataset_type")) != 0 ||
        cvg_str_copy(d->table, sizeof(d->table), text(destination, "table")) != 0)
        return proc_fail(res, CVG_EINVAL, "destination: dataset or table name too long");
    if (strcmp(d->dataset, own) != 0)
        return proc_fail(res, CVG_EINVAL,
                         "destination.dataset_type: a run of tenant %s writes only its own "
                         "dataset %s, not '%s'",
                         ctx->tenant_id, own, d->dataset);
    const char *mode = text(destination, "write_mode");
    d->mode = strcmp(mode, "truncate") == 0      ? WRK_WRITE_TRUNCATE
              : strcmp(mode, "write_empty") == 0 ? WRK_WRITE_EMPTY
                                                 : WRK_WRITE_APPEND;
    const json_t *tc = json_object_get(destination, "table_config");
    const json_t *tp = json_object_get(tc, "time_partitioning");
    snprintf(d->partition_field, sizeof(d->partition_field), "%s", text(tp, "field"));
    const json_t *cl = json_object_get(tc, "clustering_fields");
    for (size_t i = 0; i < json_array_size(cl) && d->nclust < 4; i++)
        snprintf(d->clustering[d->nclust++], sizeof(d->clustering[0]), "%s",
                 json_string_value(json_array_get(cl, i)));
    const char *part = text(destination, "partition");
    if (part[0] != '\0') {
        const char *type = tp ? text(tp, "type") : "DAY";
        if (d->mode != WRK_WRITE_TRUNCATE || d->partition_field[0] == '\0')
            return proc_fail(res, CVG_EINVAL,
                             "destination.partition needs write_mode truncate and "
                             "table_config.time_partitioning.field");
        if (!partition_ok(part, partition_len(type)))
            return proc_fail(res, CVG_EINVAL,
                             "destination.partition: '%.40s' is not a %s partition (%s)", part,
                             type, partition_shape(type));
        snprintf(d->partition, sizeof(d->partition), "%s", part);
    }
    snprintf(d->schema_template, sizeof(d->schema_template), "%s",
             text(destination, "schema_template"));
    if (d->schema_template[0] == '\0')
        return 0;
    int rc = load_template(ctx, ps_type, d, res);
    /* an hour is part of a timestamp, not of a date (BigQuery refuses it too) */
    const char *type = tp ? text(tp, "type") : "DAY";
    if (rc == 0 && d->partition_field[0] && strcmp(type, "HOUR") == 0 &&
        wrk_dest_column_type(d, d->partition_field) == CVG_COL_DATE) {
        /* a failed parse leaves nothing to clean up */
        wrk_dest_cleanup(d);
        return proc_fail(res, CVG_EINVAL,
                         "table_config.time_partitioning: HOUR partitions need a TIMESTAMP "
                         "column; %s is a DATE",
                         d->partition_field);
    }
    return rc;
}

void wrk_dest_cleanup(wrk_dest_t *d)
{
    if (d->has_schema)
        cvg_schema_cleanup(&d->schema);
    d->has_schema = false;
}

/* A schema of text columns, for a table made from the names of a file. */
static int text_schema(const wrk_dest_t *d, const cvg_strlist_t *columns, cvg_schema_t *s,
                       proc_result_t *res)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->table, sizeof(s->table), "%s", d->table);
    s->cols = calloc(columns->n, sizeof(*s->cols));
    if (s->cols == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    for (size_t i = 0; i < columns->n; i++) {
        if (!cvg_ident_valid(columns->items[i], CVG_SCHEMA_NAME_MAX - 1)) {
            cvg_schema_cleanup(s);
            return proc_fail(res, CVG_EINVAL,
                             "column '%.100s' cannot be a column name (letters, digits and _); "
                             "name a schema_template",
                             columns->items[i]);
        }
        snprintf(s->cols[i].name, sizeof(s->cols[i].name), "%s", columns->items[i]);
        s->cols[i].type = CVG_COL_STRING;
        s->ncols++;
    }
    return 0;
}

static int indexes(const proc_ctx_t *ctx, const wrk_dest_t *d, json_t *detail, cvg_err_t *err)
{
    json_t *done = json_object();
    int rc = 0;
    if (d->partition_field[0]) {
        const char *cols[] = {d->partition_field};
        rc = cvg_wh_index_create(ctx->wh, d->dataset, d->table, "partition", cols, 1, NULL, NULL,
                                 err);
        json_object_set_new(done, "time_partitioning",
                            json_sprintf("index on %s (%s has no partitions)", d->partition_field,
                                         cvg_wh_driver(ctx->wh)));
    }
    if (rc == 0 && d->nclust > 0) {
        const char *cols[4];
        for (size_t i = 0; i < d->nclust; i++)
            cols[i] = d->clustering[i];
        rc = cvg_wh_index_create(ctx->wh, d->dataset, d->table, "clustering", cols, d->nclust, NULL,
                                 NULL, err);
        json_object_set_new(done, "clustering_fields",
                            json_sprintf("index on %zu column(s) (%s has no clustering)", d->nclust,
                                         cvg_wh_driver(ctx->wh)));
    }
    if (json_object_size(done) > 0)
        json_object_set_new(detail, "table_config", done);
    else
        json_decref(done);
    return rc;
}

int wrk_dest_ensure(const proc_ctx_t *ctx, const wrk_dest_t *d, const cvg_strlist_t *columns,
                    const char *select_sql, const cvg_val_t *params, size_t nparams, json_t *detail,
                    proc_result_t *res)
{
    cvg_err_t err;
    cvg_err_clear(&err);
    bool exists = false;
    int rc = cvg_wh_table_exists(ctx->wh, d->dataset, d->table, &exists, &err);
    if (rc == 0 && !exists) {
        if (d->has_schema) {
            rc = cvg_wh_table_create(ctx->wh, d->dataset, &d->schema, &err);
        } else if (select_sql) {
            rc = cvg_wh_table_create_as(ctx->wh, d->dataset, d->table, select_sql, params, nparams,
                                        &err);
        } else if (columns && columns->n > 0) {
            cvg_schema_t s;
            rc = text_schema(d, columns, &s, res);
            if (rc != 0)
                return rc;
            rc = cvg_wh_table_create(ctx->wh, d->dataset, &s, &err);
            cvg_schema_cleanup(&s);
        } else {
            return proc_fail(res, CVG_EINVAL,
                             "%s.%s does not exist and there are no columns to "
                             "create it from",
                             d->dataset, d->table);
        }
        /* another run may have created it meanwhile */
        if (rc == CVG_EEXIST)
            rc = 0;
        else if (rc == 0)
            json_object_set_new(detail, "table_created", json_true());
    }
    if (rc == 0)
        rc = indexes(ctx, d, detail, &err);
    if (rc != 0)
        return proc_fail(res, rc, "%s.%s: %.900s", d->dataset, d->table, err.message);
    return 0;
}

int wrk_dest_schema_from_table(const proc_ctx_t *ctx, wrk_dest_t *d, proc_result_t *res)
{
    if (d->has_schema)
        return 0;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_wh_table_schema(ctx->wh, d->dataset, d->table, &d->schema, &err);
    if (rc != 0)
        return proc_fail(res, rc, "%s.%s: %.900s", d->dataset, d->table, err.message);
    d->has_schema = true;
    return 0;
}

void wrk_dest_rolled_back(json_t *detail)
{
    if (json_object_get(detail, "rows_replaced"))
        json_object_set_new(detail, "rows_replaced", json_integer(0));
    /* a table made in the transaction went with it, and its indexes */
    if (json_object_get(detail, "table_created"))
        json_object_del(detail, "table_config");
    json_object_del(detail, "table_created");
}

int wrk_dest_check_partition_column(const proc_ctx_t *ctx, const wrk_dest_t *d,
                                    const cvg_strlist_t *columns, const char *what,
                                    proc_result_t *res)
{
    if (d->partition_field[0] == '\0')
        return 0;
    for (size_t i = 0; i < columns->n; i++) {
        if (strcmp(columns->items[i], d->partition_field) == 0)
            return 0;
    }
    if (d->partition[0])
        return proc_fail(res, CVG_EINVAL,
                         "the %s has no column %s, by which its rows go to "
                         "partition %s",
                         what, d->partition_field, d->partition);
    if (d->has_schema)
        return 0;
    bool exists = true;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_table_exists(ctx->wh, d->dataset, d->table, &exists, &err) != 0)
        return proc_fail(res, err.code, "%s.%s: %.900s", d->dataset, d->table, err.message);
    if (!exists)
        return proc_fail(res, CVG_EINVAL,
                         "the %s has no column %s, which table_config.time_partitioning names",
                         what, d->partition_field);
    return 0;
}

int wrk_dest_prepare_write(const proc_ctx_t *ctx, const wrk_dest_t *d, json_t *detail,
                           proc_result_t *res)
{
    char q = cvg_wh_ident_quote(ctx->wh);
    char sql[800];
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t n = 0;
    int rc = 0;
    if (d->mode == WRK_WRITE_EMPTY) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %c%s%c.%c%s%c", q, d->dataset, q, q,
                 d->table, q);
        rc = cvg_wh_query_int(ctx->wh, sql, NULL, 0, &n, NULL, &err);
        if (rc == 0 && n > 0)
            return proc_fail(res, CVG_EEXIST,
                             "%s.%s already has %lld row%s (write_mode write_empty)", d->dataset,
                             d->table, (long long)n, n == 1 ? "" : "s");
    } else if (d->mode == WRK_WRITE_TRUNCATE && d->partition[0]) {
        snprintf(sql, sizeof(sql), "DELETE FROM %c%s%c.%c%s%c WHERE substr(%c%s%c, 1, %zu) = $1", q,
                 d->dataset, q, q, d->table, q, q, d->partition_field, q, strlen(d->partition));
        cvg_val_t p = cvg_v_text(d->partition);
        rc = cvg_wh_exec(ctx->wh, sql, &p, 1, NULL, NULL, &n, &err);
        json_object_set_new(detail, "rows_replaced", json_integer(n));
        json_object_set_new(detail, "partition", json_string(d->partition));
    } else if (d->mode == WRK_WRITE_TRUNCATE) {
        snprintf(sql, sizeof(sql), "DELETE FROM %c%s%c.%c%s%c", q, d->dataset, q, q, d->table, q);
        rc = cvg_wh_exec(ctx->wh, sql, NULL, 0, NULL, NULL, &n, &err);
        json_object_set_new(detail, "rows_replaced", json_integer(n));
    }
    if (rc != 0)
        return proc_fail(res, rc, "%s.%s: %.900s", d->dataset, d->table, err.message);
    return 0;
}

cvg_col_type_t wrk_dest_column_type(const wrk_dest_t *d, const char *column)
{
    if (!d->has_schema)
        return CVG_COL_STRING;
    int i = cvg_schema_find(&d->schema, column);
    return i < 0 ? CVG_COL_STRING : d->schema.cols[i].type;
}
