/*
 * Loading rows into a destination (see loadcore.h). Rows go in as
 * multi-row INSERTs of bound values, a batch at a time.
 */
#include "worker/loadcore.h"
#include "common/buf.h"
#include "common/str.h"
#include "common/time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bound values in one INSERT: SQLite looks parameter names up linearly,
 * so far larger statements cost more than they save. */
#define BATCH_VALUES_MAX 999
#define BATCH_ROWS_MAX   200
#define SAMPLES_MAX      10
/* 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
#define TIMESTAMP_MIN_MS (-62135596800000LL)
#define TIMESTAMP_MAX_MS (253402300799999LL)

void wrk_rows_opts_from(const json_t *source, cvg_rows_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    const char *fmt = json_string_value(json_object_get(source, "format"));
    o->format = fmt && strcmp(fmt, "csv") == 0     ? CVG_ROWS_CSV
                : fmt && strcmp(fmt, "jsonl") == 0 ? CVG_ROWS_JSONL
                                                   : CVG_ROWS_AUTO;
    const char *delim = json_string_value(json_object_get(source, "delimiter"));
    o->delimiter = delim && delim[0] ? delim[0] : ',';
}

void wrk_load_opts_from(const json_t *step, wrk_load_opts_t *o)
{
    json_t *n = json_object_get(step, "max_bad_rows"),
           *p = json_object_get(step, "max_bad_percent");
    o->max_bad_rows = json_is_integer(n) ? json_integer_value(n) : 0;
    o->max_bad_percent = json_is_number(p) ? json_number_value(p) : -1;
}

typedef struct loader {
    const proc_ctx_t *ctx;
    wrk_dest_t *d;
    cvg_strlist_t cols;    /* columns written, in order */
    cvg_col_type_t *types; /* their types */
    bool *required;        /* REQUIRED in the template */
    size_t batch_rows, batch_max;
    cvg_val_t *vals;     /* batch_max * ncols */
    cvg_strlist_t owned; /* text made for the batch (numbers from JSON, nested values) */
    json_t *held;        /* rows of the batch, kept alive for their strings */
    cvg_buf_t sql;
    int64_t loaded, read, bad;
    int64_t skipped; /* rows of other partitions than the one replaced */
    int part_col;    /* the partitioning column's position in cols, or -1 */
    bool by_name;    /* rows are JSON objects: each member checked against cols */
    json_t *samples;
    cvg_err_t err;
} loader_t;

static void bad_row(loader_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad_row(loader_t *l, const char *fmt, ...)
{
    l->bad++;
    if (json_array_size(l->samples) >= SAMPLES_MAX)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(l->samples, json_string(msg));
}

/* The column list: the template's columns the file has, or the table's. */
static int plan_columns(loader_t *l, const char *const *file_cols, size_t nfile, proc_result_t *res)
{
    cvg_strlist_t table = {0};
    int rc = cvg_wh_table_columns(l->ctx->wh, l->d->dataset, l->d->table, &table, &l->err);
    if (rc != 0) {
        cvg_strlist_cleanup(&table);
        return proc_fail(res, rc, "%s.%s: %.900s", l->d->dataset, l->d->table, l->err.message);
    }
    for (size_t i = 0; i < nfile; i++) {
        bool known = false;
        for (size_t j = 0; j < table.n && !known; j++)
            known = strcmp(table.items[j], file_cols[i]) == 0;
        if (!known) {
            rc = proc_fail(res, CVG_EINVAL, "the file's column '%.100s' is not a column of %s.%s",
                           file_cols[i], l->d->dataset, l->d->table);
            break;
        }
        cvg_strlist_add(&l->cols, file_cols[i]);
    }
    cvg_strlist_cleanup(&table);
    if (rc != 0)
        return rc;
    /* required columns the file lacks can only be bad rows: say it once */
    for (size_t i = 0; l->d->has_schema && i < l->d->schema.ncols; i++) {
        const cvg_column_t *c = &l->d->schema.cols[i];
        bool present = false;
        for (size_t j = 0; j < l->cols.n && !present; j++)
            present = strcmp(l->cols.items[j], c->name) == 0;
        if (c->mode == CVG_MODE_REQUIRED && !present)
            return proc_fail(res, CVG_EINVAL, "the file has no column %s, which %s.%s requires",
                             c->name, l->d->dataset, l->d->table);
    }
    size_t n = l->cols.n;
    l->types = calloc(n, sizeof(*l->types));
    l->required = calloc(n, sizeof(*l->required));
    l->batch_max = BATCH_VALUES_MAX / (n ? n : 1);
    if (l->batch_max > BATCH_ROWS_MAX)
        l->batch_max = BATCH_ROWS_MAX;
    if (l->batch_max == 0)
        l->batch_max = 1;
    l->vals = calloc(l->batch_max * (n ? n : 1), sizeof(*l->vals));
    if (l->types == NULL || l->required == NULL || l->vals == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    l->part_col = -1;
    for (size_t i = 0; i < n; i++) {
        if (l->d->partition[0] && strcmp(l->cols.items[i], l->d->partition_field) == 0)
            l->part_col = (int)i;
        l->types[i] = wrk_dest_column_type(l->d, l->cols.items[i]);
        int k = l->d->has_schema ? cvg_schema_find(&l->d->schema, l->cols.items[i]) : -1;
        l->required[i] = k >= 0 && l->d->schema.cols[k].mode == CVG_MODE_REQUIRED;
    }
    return 0;
}

static const char *keep(loader_t *l, char *s)
{
    if (s == NULL || cvg_strlist_add(&l->owned, s) != 0) {
        free(s);
        return NULL;
    }
    free(s);
    return l->owned.items[l->owned.n - 1];
}

/* A value as a bad row's message quotes it: its text, or for an object or
 * an array its compact JSON (cut by the message). */
static const char *shown(loader_t *l, const char *s, const json_t *v)
{
    const char *json = s ? NULL : keep(l, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
    return s ? s : json ? json : "?";
}

/* Converts one value for column i; false (and a bad row) when it cannot. */
static bool convert(loader_t *l, size_t i, const json_t *v, cvg_val_t *out, unsigned long line)
{
    const char *col = l->cols.items[i];
    if (v == NULL || json_is_null(v)) {
        if (l->required[i]) {
            bad_row(l, "line %lu: column %s is required but empty", line, col);
            return false;
        }
        *out = CVG_V_NULL;
        return true;
    }
    const char *s = json_string_value(v);
    char num[64];
    if (s == NULL && (json_is_number(v) || json_is_boolean(v))) {
        if (json_is_integer(v))
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            cvg_format_double(json_real_value(v), num);
        else
            snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" : "false");
        s = num;
    }
    switch (l->types[i]) {
    case CVG_COL_INT64: {
        int64_t x;
        if (s == NULL || cvg_parse_int64(s, INT64_MIN, INT64_MAX, &x) != 0) {
            bad_row(l, "line %lu: column %s: '%.60s' is not an integer", line, col, shown(l, s, v));
            return false;
        }
        *out = CVG_V_INT(x);
        return true;
    }
    case CVG_COL_FLOAT64:
    case CVG_COL_NUMERIC: {
        char *end = NULL;
        errno = 0;
        double x = s ? strtod(s, &end) : 0;
        if (s == NULL || end == s || *end != '\0' || errno == ERANGE || !isfinite(x)) {
            bad_row(l, "line %lu: column %s: '%.60s' is not a number", line, col, shown(l, s, v));
            return false;
        }
        *out = CVG_V_REAL(x);
        return true;
    }
    case CVG_COL_BOOL: {
        bool b;
        if (s == NULL || cvg_parse_bool(s, &b) != 0) {
            bad_row(l, "line %lu: column %s: '%.60s' is not true or false", line, col,
                    shown(l, s, v));
            return false;
        }
        *out = CVG_V_BOOL(b);
        return true;
    }
    case CVG_COL_TIMESTAMP:
    case CVG_COL_DATE: {
        int64_t ms;
        if (s == NULL || cvg_time_parse_iso(s, &ms) != 0 ||
            (l->types[i] == CVG_COL_DATE && strlen(s) != 10)) {
            bad_row(l, "line %lu: column %s: '%.60s' is not a %s", line, col, shown(l, s, v),
                    l->types[i] == CVG_COL_DATE ? "date YYYY-MM-DD" : "timestamp");
            return false;
        }
        if (l->types[i] == CVG_COL_DATE) {
            *out = cvg_v_text(s == num ? keep(l, strdup(s)) : s);
            return true;
        }
        /* stored as every timestamp of the system: UTC, milliseconds, so
         * its text sorts as it reads and a partition is a prefix of it;
         * years 0001 to 9999 only, as BigQuery and the text form allow */
        if (ms < TIMESTAMP_MIN_MS || ms > TIMESTAMP_MAX_MS) {
            bad_row(l, "line %lu: column %s: '%.60s' is outside the years 0001 to 9999", line, col,
                    s);
            return false;
        }
        char iso[CVG_TIME_ISO_LEN];
        cvg_time_format_iso(ms, iso);
        *out = cvg_v_text(keep(l, strdup(iso)));
        return out->s != NULL;
    }
    case CVG_COL_JSON:
    case CVG_COL_RECORD: {
        if (s != NULL && s != num) {
            json_t *check = json_loads(s, JSON_DECODE_ANY, NULL);
            if (check == NULL) {
                bad_row(l, "line %lu: column %s: not valid JSON", line, col);
                return false;
            }
            json_decref(check);
            *out = cvg_v_text(s);
        } else {
            *out = cvg_v_text(keep(l, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)));
        }
        return out->s != NULL;
    }
    default:
        if (s == NULL)
            *out = cvg_v_text(keep(l, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)));
        else
            *out = cvg_v_text(s == num ? keep(l, strdup(s)) : s);
        return out->s != NULL;
    }
}

static int flush(loader_t *l, proc_result_t *res)
{
    if (l->batch_rows == 0)
        return 0;
    char q = cvg_wh_ident_quote(l->ctx->wh);
    cvg_buf_reset(&l->sql);
    cvg_buf_printf(&l->sql, "INSERT INTO %c%s%c.%c%s%c (", q, l->d->dataset, q, q, l->d->table, q);
    for (size_t c = 0; c < l->cols.n; c++)
        cvg_buf_printf(&l->sql, "%s%c%s%c", c ? ", " : "", q, l->cols.items[c], q);
    cvg_buf_puts(&l->sql, ") VALUES ");
    size_t k = 1;
    for (size_t r = 0; r < l->batch_rows; r++) {
        cvg_buf_puts(&l->sql, r ? ", (" : "(");
        for (size_t c = 0; c < l->cols.n; c++)
            cvg_buf_printf(&l->sql, "%s$%zu", c ? ", " : "", k++);
        cvg_buf_puts(&l->sql, ")");
    }
    int64_t changes = 0;
    int rc = l->sql.overflow ? CVG_ETOOBIG
                             : cvg_wh_exec(l->ctx->wh, cvg_buf_cstr(&l->sql), l->vals, k - 1, NULL,
                                           NULL, &changes, &l->err);
    l->loaded += changes;
    l->batch_rows = 0;
    json_array_clear(l->held);
    cvg_strlist_cleanup(&l->owned);
    if (rc != 0)
        return proc_fail(res, rc, "writing %s.%s: %.900s", l->d->dataset, l->d->table,
                         l->err.message);
    return 0;
}

/*
 * A load that replaces one partition takes that partition's rows only: the
 * ones whose partitioning value, converted as its column is (a TIMESTAMP
 * to UTC text), starts with the partition's value, which are the rows the
 * replace deleted. The value is converted first, into its slot: a row
 * whose value is missing or cannot be is bad (its partition is unknown);
 * a row of another partition is skipped before its other values are
 * looked at. False when the row is not to be loaded.
 */
static bool in_partition(loader_t *l, const json_t *row, cvg_val_t *slot, unsigned long line)
{
    if (l->part_col < 0)
        return true;
    size_t c = (size_t)l->part_col;
    if (!convert(l, c, json_object_get(row, l->cols.items[c]), &slot[c], line))
        return false;
    if (slot[c].type != CVG_VAL_TEXT || slot[c].len == 0) {
        bool none = slot[c].type == CVG_VAL_NULL || slot[c].type == CVG_VAL_TEXT;
        bad_row(l, "line %lu: %s in %s, the partitioning field", line,
                none ? "no value" : "not a date or time", l->cols.items[c]);
        return false;
    }
    size_t n = strlen(l->d->partition);
    if (slot[c].len < n || memcmp(slot[c].s, l->d->partition, n) != 0) {
        l->skipped++;
        return false;
    }
    return true;
}

/* A row not loaded (skipped or bad) gives back the text made for it, so a
 * file of other partitions' rows costs no memory however long it is. */
static int drop_row(loader_t *l, json_t *row, size_t owned_mark)
{
    while (l->owned.n > owned_mark)
        free(l->owned.items[--l->owned.n]);
    json_decref(row);
    return 0;
}

static int add_row(loader_t *l, json_t *row, unsigned long line, proc_result_t *res)
{
    cvg_val_t *slot = &l->vals[l->batch_rows * l->cols.n];
    size_t mark = l->owned.n;
    if (!in_partition(l, row, slot, line))
        return drop_row(l, row, mark);
    for (size_t c = 0; c < l->cols.n; c++) {
        if ((int)c == l->part_col)
            continue;
        if (!convert(l, c, json_object_get(row, l->cols.items[c]), &slot[c], line))
            return drop_row(l, row, mark);
    }
    /* A CSV row has the header's names, all columns; a JSON object may
     * leave columns out and still name one that is none. */
    if (l->by_name && json_is_object(row)) {
        const char *key;
        json_t *val;
        json_object_foreach(row, key, val)
        {
            bool known = false;
            for (size_t c = 0; c < l->cols.n && !known; c++)
                known = strcmp(l->cols.items[c], key) == 0;
            if (!known) {
                bad_row(l, "line %lu: field '%.60s' is not a column of %s", line, key, l->d->table);
                return drop_row(l, row, mark);
            }
        }
    }
    json_array_append_new(l->held, row);
    if (++l->batch_rows == l->batch_max)
        return flush(l, res);
    return 0;
}

/*
 * The columns of a file without a header (JSON Lines, or an empty file):
 * the table's when it exists, else the template's, else the first
 * object's members, which make the table. An object may leave out any of
 * them (NULL), so a sparse export loads; a member that is none of them is
 * a bad row.
 */
static int jsonl_columns(loader_t *l, const json_t *first, cvg_strlist_t *names, proc_result_t *res)
{
    bool exists = false;
    int rc = cvg_wh_table_exists(l->ctx->wh, l->d->dataset, l->d->table, &exists, &l->err);
    if (rc == 0 && exists)
        rc = cvg_wh_table_columns(l->ctx->wh, l->d->dataset, l->d->table, names, &l->err);
    if (rc != 0)
        return proc_fail(res, rc, "%s.%s: %.900s", l->d->dataset, l->d->table, l->err.message);
    if (exists)
        return 0;
    for (size_t i = 0; l->d->has_schema && i < l->d->schema.ncols; i++)
        cvg_strlist_add(names, l->d->schema.cols[i].name);
    const char *key;
    json_t *val;
    if (!l->d->has_schema && first) {
        json_object_foreach((json_t *)first, key, val)
        {
            cvg_strlist_add(names, key);
        }
    }
    return 0;
}

static bool over_threshold(const loader_t *l, const wrk_load_opts_t *o)
{
    if (l->bad == 0)
        return false;
    int64_t considered = l->read - l->skipped;
    if (o->max_bad_percent >= 0 && considered > 0)
        return 100.0 * (double)l->bad / (double)considered > o->max_bad_percent;
    return l->bad > o->max_bad_rows;
}

/* Stops at the step's deadline or on cancel, between batches. */
static int interrupted(const proc_ctx_t *ctx, proc_result_t *res)
{
    if (ctx->cancel && *ctx->cancel)
        return proc_fail(res, CVG_ECANCELED, "cancelled");
    if (ctx->deadline_ms > 0 && cvg_time_mono_ms() >= ctx->deadline_ms)
        return proc_fail(res, CVG_ETIMEDOUT, "the load ran past the step's time limit");
    return 0;
}

int wrk_load_rows(const proc_ctx_t *ctx, cvg_rows_t *r, wrk_dest_t *d, const wrk_load_opts_t *o,
                  json_t *detail, proc_result_t *res)
{
    loader_t l = {
        .ctx = ctx, .d = d, .samples = json_array(), .held = json_array(), .part_col = -1};
    cvg_buf_init(&l.sql, 8 * 1024 * 1024);
    cvg_err_clear(&l.err);
    json_t *first = NULL;
    int rc = 0;
    /* The first row fixes the columns (CSV: the header). */
    for (;;) {
        rc = cvg_rows_next(r, &first, &l.err);
        if (rc == CVG_ROWS_BAD) {
            l.read++;
            bad_row(&l, "%s", l.err.message);
            continue;
        }
        break;
    }
    if (rc < 0) {
        rc = proc_fail(res, rc, "reading the source: %.900s", l.err.message);
        goto out;
    }
    size_t nfile = 0;
    const char *const *file_cols = cvg_rows_columns(r, &nfile);
    cvg_strlist_t names = {0};
    for (size_t i = 0; i < nfile; i++)
        cvg_strlist_add(&names, file_cols[i]);
    l.by_name = nfile == 0;
    if (nfile == 0 && (rc = jsonl_columns(&l, first, &names, res)) != 0) {
        cvg_strlist_cleanup(&names);
        json_decref(first);
        goto out;
    }
    if (names.n == 0 && !d->has_schema) {
        cvg_strlist_cleanup(&names);
        json_decref(first);
        json_object_set_new(detail, "rows_read", json_integer(0));
        res->rows = 0;
        rc = 0; /* an empty file into no table: nothing to do */
        goto out;
    }
    rc = wrk_dest_check_partition_column(ctx, d, &names, "file", res);
    /* One transaction holding the dataset from here on: a table made for
     * the load goes again with its rows when the load fails. */
    if (rc == 0 && (rc = cvg_wh_begin_write(ctx->wh, d->dataset, &l.err)) != 0)
        proc_fail(res, rc, "%s: %.900s", d->dataset, l.err.message);
    bool begun = rc == 0;
    if (rc == 0)
        rc = wrk_dest_ensure(ctx, d, &names, NULL, NULL, 0, detail, res);
    if (rc == 0)
        rc = wrk_dest_schema_from_table(ctx, d, res);
    if (rc == 0)
        rc = plan_columns(&l, (const char *const *)names.items, names.n, res);
    cvg_strlist_cleanup(&names);
    if (rc != 0) {
        if (begun) {
            cvg_wh_rollback(ctx->wh);
            wrk_dest_rolled_back(detail);
        }
        json_decref(first);
        goto out;
    }
    rc = wrk_dest_prepare_write(ctx, d, detail, res);
    unsigned long line = cvg_rows_line(r);
    json_t *row = first;
    while (rc == 0 && row != NULL) {
        l.read++;
        rc = add_row(&l, row, line, res);
        if (rc == 0 && l.batch_rows == 0)
            rc = interrupted(ctx, res);
        row = NULL;
        if (rc != 0)
            break;
        int next = cvg_rows_next(r, &row, &l.err);
        line = cvg_rows_line(r);
        while (next == CVG_ROWS_BAD) {
            l.read++;
            bad_row(&l, "%s", l.err.message);
            next = cvg_rows_next(r, &row, &l.err);
            line = cvg_rows_line(r);
        }
        if (next < 0)
            rc = proc_fail(res, next, "reading the source: %.900s", l.err.message);
    }
    if (rc == 0)
        rc = flush(&l, res);
    if (rc == 0 && over_threshold(&l, o)) {
        char of[96] = "";
        if (d->partition[0])
            snprintf(of, sizeof(of), " of partition %s", d->partition);
        char limit[64];
        if (o->max_bad_percent >= 0)
            snprintf(limit, sizeof(limit), "max_bad_percent %g", o->max_bad_percent);
        else
            snprintf(limit, sizeof(limit), "max_bad_rows %lld", (long long)o->max_bad_rows);
        rc = proc_fail(res, CVG_EINVAL, "%lld of %lld rows%s are bad (over %s): %s",
                       (long long)l.bad, (long long)(l.read - l.skipped), of, limit,
                       json_string_value(json_array_get(l.samples, 0)));
    }
    if (rc == 0)
        rc = cvg_wh_commit(ctx->wh, &l.err) == 0
                 ? 0
                 : proc_fail(res, CVG_EDB, "commit: %.900s", l.err.message);
    if (rc != 0) {
        cvg_wh_rollback(ctx->wh);
        wrk_dest_rolled_back(detail);
        l.loaded = 0;
    }
    res->rows = rc == 0 ? l.loaded : -1;
out:
    json_object_set_new(detail, "rows_read", json_integer(l.read));
    json_object_set_new(detail, "rows_loaded", json_integer(l.loaded));
    json_object_set_new(detail, "bad_rows", json_integer(l.bad));
    if (d->partition[0])
        json_object_set_new(detail, "rows_skipped", json_integer(l.skipped));
    json_object_set_new(detail, "bad_row_samples", l.samples);
    json_decref(l.held);
    cvg_strlist_cleanup(&l.owned);
    cvg_strlist_cleanup(&l.cols);
    free(l.types);
    free(l.required);
    free(l.vals);
    cvg_buf_cleanup(&l.sql);
    return rc;
}
