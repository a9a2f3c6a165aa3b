/*
 * Warehouse front: picks the driver from the URL, checks identifiers before
 * any driver sees them, and offers small helpers over exec.
 */
#include "common/warehouse.h"
#include "common/str.h"
#include "common/warehouse/driver.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cvg_wh {
    const cvg_wh_ops_t *ops;
    void *impl;
};

static const cvg_wh_ops_t *drivers[] = {&cvg_wh_sqlite_ops};

void cvg_val_copy_text(char *dst, size_t size, const cvg_val_t *v)
{
    size_t n = v->type == CVG_VAL_TEXT ? v->len : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, v->s, n);
    dst[n] = '\0';
}

json_t *cvg_val_json(const cvg_val_t *v)
{
    switch (v->type) {
    case CVG_VAL_TEXT:
        return json_stringn(v->s, v->len);
    case CVG_VAL_INT:
        return json_integer(v->i);
    case CVG_VAL_REAL:
        return json_real(v->d);
    case CVG_VAL_BOOL:
        return json_boolean(v->b);
    default:
        return json_null();
    }
}

json_t *cvg_row_json(const cvg_row_t *row)
{
    json_t *o = json_object();
    for (size_t i = 0; i < row->ncols; i++)
        json_object_set_new(o, row->names[i], cvg_val_json(&row->vals[i]));
    return o;
}

cvg_val_t cvg_v_text(const char *s)
{
    if (s == NULL)
        return CVG_V_NULL;
    return (cvg_val_t){.type = CVG_VAL_TEXT, .s = s, .len = strlen(s)};
}

int cvg_strlist_add(cvg_strlist_t *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return CVG_ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    if ((l->items[l->n] = strdup(s)) == NULL)
        return CVG_ENOMEM;
    l->n++;
    return 0;
}

void cvg_strlist_cleanup(cvg_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

bool cvg_wh_ident_ok(const char *name)
{
    return cvg_ident_valid(name, CVG_DATASET_MAX - 1);
}

static int check_ident(const char *what, const char *name, cvg_err_t *err)
{
    if (!cvg_wh_ident_ok(name))
        return cvg_err_set(err, CVG_EINVAL, what,
                           "%s '%s' is not a valid name (letters, digits and _, at most %d)", what,
                           name ? name : "(null)", CVG_DATASET_MAX - 1);
    return 0;
}

int cvg_wh_open(const char *url, cvg_wh_t **out, cvg_err_t *err)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
        const cvg_wh_ops_t *ops = drivers[i];
        if (!cvg_str_starts(url, ops->scheme))
            continue;
        cvg_wh_t *wh = calloc(1, sizeof(*wh));
        if (wh == NULL)
            return cvg_err_set(err, CVG_ENOMEM, "WAREHOUSE_URL", "out of memory");
        int rc = ops->open(url + strlen(ops->scheme), &wh->impl, err);
        if (rc != 0) {
            free(wh);
            return rc;
        }
        wh->ops = ops;
        *out = wh;
        return 0;
    }
    return cvg_err_set(err, CVG_ECONFIG, "WAREHOUSE_URL",
                       "no warehouse driver for '%s' in this build (available: sqlite://)", url);
}

void cvg_wh_close(cvg_wh_t **wh)
{
    if (wh == NULL || *wh == NULL)
        return;
    (*wh)->ops->close((*wh)->impl);
    free(*wh);
    *wh = NULL;
}

const char *cvg_wh_driver(const cvg_wh_t *wh)
{
    return wh->ops->name;
}

int cvg_wh_ping(cvg_wh_t *wh, cvg_err_t *err)
{
    int64_t one = 0;
    bool found = false;
    return cvg_wh_query_int(wh, "SELECT 1", NULL, 0, &one, &found, err);
}

int cvg_wh_exec(cvg_wh_t *wh, const char *sql, const cvg_val_t *params, size_t nparams,
                cvg_row_fn fn, void *ud, int64_t *changes, cvg_err_t *err)
{
    return wh->ops->exec(wh->impl, sql, params, nparams, fn, ud, changes, err);
}

typedef struct first {
    bool found;
    int64_t i;
    char *text;
    size_t size;
    int rc;
} first_t;

static int take_first(void *ud, const cvg_row_t *row)
{
    first_t *f = ud;
    f->found = true;
    if (row->ncols == 0)
        return 1;
    const cvg_val_t *v = &row->vals[0];
    if (f->text != NULL) {
        if (v->type == CVG_VAL_TEXT) {
            if (v->len >= f->size)
                f->rc = CVG_ETOOBIG;
            size_t n = v->len < f->size ? v->len : f->size - 1;
            memcpy(f->text, v->s, n);
            f->text[n] = '\0';
        } else if (v->type == CVG_VAL_NULL) {
            f->text[0] = '\0';
        } else {
            f->rc = CVG_EINVAL;
        }
    } else if (v->type == CVG_VAL_INT) {
        f->i = v->i;
    } else if (v->type == CVG_VAL_BOOL) {
        f->i = v->b;
    } else if (v->type == CVG_VAL_NULL) {
        f->i = 0;
    } else {
        f->rc = CVG_EINVAL;
    }
    return 1; /* only the first row */
}

int cvg_wh_query_int(cvg_wh_t *wh, const char *sql, const cvg_val_t *params, size_t nparams,
                     int64_t *out, bool *found, cvg_err_t *err)
{
    first_t f = {0};
    int rc = cvg_wh_exec(wh, sql, params, nparams, take_first, &f, NULL, err);
    if (rc == 1)
        rc = 0;
    if (rc == 0 && f.rc != 0)
        rc = cvg_err_set(err, f.rc, "", "query result is not an integer");
    if (found)
        *found = f.found;
    if (rc == 0)
        *out = f.i;
    return rc;
}

int cvg_wh_query_text(cvg_wh_t *wh, const char *sql, const cvg_val_t *params, size_t nparams,
                      char *out, size_t size, bool *found, cvg_err_t *err)
{
    first_t f = {.text = out, .size = size};
    out[0] = '\0';
    int rc = cvg_wh_exec(wh, sql, params, nparams, take_first, &f, NULL, err);
    if (rc == 1)
        rc = 0;
    if (rc == 0 && f.rc != 0)
        rc = cvg_err_set(err, f.rc, "", "query result is not text or too long");
    if (found)
        *found = f.found;
    return rc;
}

int cvg_wh_begin(cvg_wh_t *wh, cvg_err_t *err)
{
    return wh->ops->begin(wh->impl, err);
}

int cvg_wh_commit(cvg_wh_t *wh, cvg_err_t *err)
{
    return wh->ops->commit(wh->impl, err);
}

int cvg_wh_begin_read(cvg_wh_t *wh, const char *const *datasets, cvg_err_t *err)
{
    for (size_t i = 0; datasets[i] != NULL; i++) {
        int rc = check_ident("dataset", datasets[i], err);
        if (rc != 0)
            return rc;
    }
    return wh->ops->begin_read(wh->impl, datasets, err);
}

int cvg_wh_begin_write(cvg_wh_t *wh, const char *dataset, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc != 0)
        return rc;
    if (wh->ops->begin_write == NULL)
        return wh->ops->begin(wh->impl, err);
    return wh->ops->begin_write(wh->impl, dataset, err);
}

int cvg_wh_rollback(cvg_wh_t *wh)
{
    return wh->ops->rollback(wh->impl);
}

int cvg_wh_use(cvg_wh_t *wh, const char *dataset, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    return rc ? rc : wh->ops->use(wh->impl, dataset, err);
}

int cvg_wh_dataset_exists(cvg_wh_t *wh, const char *dataset, bool *out, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    return rc ? rc : wh->ops->dataset_exists(wh->impl, dataset, out, err);
}

int cvg_wh_dataset_create(cvg_wh_t *wh, const char *dataset, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    return rc ? rc : wh->ops->dataset_create(wh->impl, dataset, err);
}

int cvg_wh_dataset_drop(cvg_wh_t *wh, const char *dataset, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    return rc ? rc : wh->ops->dataset_drop(wh->impl, dataset, err);
}

int cvg_wh_table_exists(cvg_wh_t *wh, const char *dataset, const char *table, bool *out,
                        cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    return rc ? rc : wh->ops->table_exists(wh->impl, dataset, table, out, err);
}

int cvg_wh_table_create(cvg_wh_t *wh, const char *dataset, const cvg_schema_t *schema,
                        cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", schema->table, err);
    return rc ? rc : wh->ops->table_create(wh->impl, dataset, schema, err);
}

int cvg_wh_table_drop(cvg_wh_t *wh, const char *dataset, const char *table, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    return rc ? rc : wh->ops->table_drop(wh->impl, dataset, table, err);
}

int cvg_wh_view_create(cvg_wh_t *wh, const char *dataset, const char *view, const char *select_sql,
                       const char *const *reads, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("view", view, err);
    for (size_t i = 0; rc == 0 && reads && reads[i]; i++)
        rc = check_ident("dataset", reads[i], err);
    return rc ? rc : wh->ops->view_create(wh->impl, dataset, view, select_sql, reads, err);
}

int cvg_wh_restrict(cvg_wh_t *wh, const char *const *datasets, cvg_err_t *err)
{
    for (size_t i = 0; datasets && datasets[i]; i++) {
        int rc = check_ident("dataset", datasets[i], err);
        if (rc != 0)
            return rc;
    }
    return wh->ops->restrict_to(wh->impl, datasets, err);
}

void cvg_wh_set_interrupt(cvg_wh_t *wh, int64_t deadline_ms, const volatile sig_atomic_t *cancel)
{
    wh->ops->set_interrupt(wh->impl, deadline_ms, cancel);
}

void cvg_wh_set_lock_wait(cvg_wh_t *wh, int max_ms)
{
    wh->ops->set_lock_wait(wh->impl, max_ms);
}

char cvg_wh_ident_quote(const cvg_wh_t *wh)
{
    return wh->ops->ident_quote;
}

int cvg_wh_table_create_as(cvg_wh_t *wh, const char *dataset, const char *table,
                           const char *select_sql, const cvg_val_t *params, size_t nparams,
                           cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    return rc ? rc
              : wh->ops->table_create_as(wh->impl, dataset, table, select_sql, params, nparams,
                                         err);
}

int cvg_wh_index_create(cvg_wh_t *wh, const char *dataset, const char *table, const char *suffix,
                        const char *const *columns, size_t n, const char *not_null, bool *created,
                        cvg_err_t *err)
{
    bool made = false;
    if (created != NULL)
        *created = false;
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    if (rc == 0)
        rc = check_ident("index", suffix, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = check_ident("column", columns[i], err);
    if (rc == 0 && (n == 0 || n > CVG_SCHEMA_MAX_KEYS))
        rc = cvg_err_set(err, CVG_EINVAL, "index", "an index has 1 to %d columns",
                         CVG_SCHEMA_MAX_KEYS);
    if (rc == 0 && not_null != NULL && not_null[0] != '\0')
        rc = check_ident("column", not_null, err);
    if (rc == 0)
        rc = wh->ops->index_create(wh->impl, dataset, table, suffix, columns, n,
                                   not_null && not_null[0] ? not_null : NULL, &made, err);
    if (rc == 0 && created != NULL)
        *created = made;
    return rc;
}

int cvg_wh_index_drop(cvg_wh_t *wh, const char *dataset, const char *table, const char *suffix,
                      bool *dropped, cvg_err_t *err)
{
    *dropped = false;
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    if (rc == 0)
        rc = check_ident("index", suffix, err);
    return rc ? rc : wh->ops->index_drop(wh->impl, dataset, table, suffix, dropped, err);
}

bool cvg_wh_err_missing_column(const cvg_err_t *err)
{
    /* SQLite's words: "no such column" in a read or an update, "has no
     * column named" in an insert */
    return err != NULL && err->code == CVG_EINVAL &&
           (strstr(err->message, "no such column") != NULL ||
            strstr(err->message, "has no column named") != NULL);
}

int cvg_wh_missing_columns(cvg_wh_t *wh, const char *dataset, const cvg_schema_t *sc, size_t *idx,
                           size_t max, size_t *n, cvg_err_t *err)
{
    *n = 0;
    cvg_strlist_t have = {0};
    int rc = cvg_wh_table_columns(wh, dataset, sc->table, &have, err);
    for (size_t i = 0; rc == 0 && i < sc->ncols && *n < max; i++) {
        bool present = false;
        for (size_t j = 0; j < have.n && !present; j++)
            present = strcasecmp(have.items[j], sc->cols[i].name) == 0;
        if (!present)
            idx[(*n)++] = i;
    }
    cvg_strlist_cleanup(&have);
    return rc;
}

int cvg_wh_column_add(cvg_wh_t *wh, const char *dataset, const char *table, const cvg_column_t *col,
                      cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    if (rc == 0)
        rc = check_ident("column", col->name, err);
    if (rc == 0 && col->mode == CVG_MODE_REQUIRED)
        rc = cvg_err_set(err, CVG_EINVAL, "column",
                         "%s.%s lacks the REQUIRED column %s, which cannot be added to rows that "
                         "have no value for it",
                         dataset, table, col->name);
    return rc ? rc : wh->ops->column_add(wh->impl, dataset, table, col, err);
}

int cvg_wh_query_columns(cvg_wh_t *wh, const char *sql, cvg_strlist_t *out, cvg_err_t *err)
{
    return wh->ops->query_columns(wh->impl, sql, out, err);
}

int cvg_wh_table_columns(cvg_wh_t *wh, const char *dataset, const char *table, cvg_strlist_t *out,
                         cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    return rc ? rc : wh->ops->table_columns(wh->impl, dataset, table, out, err);
}

int cvg_wh_table_schema(cvg_wh_t *wh, const char *dataset, const char *table, cvg_schema_t *out,
                        cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    int rc = check_ident("dataset", dataset, err);
    if (rc == 0)
        rc = check_ident("table", table, err);
    return rc ? rc : wh->ops->table_schema(wh->impl, dataset, table, out, err);
}

int cvg_wh_table_list(cvg_wh_t *wh, const char *dataset, cvg_strlist_t *out, cvg_err_t *err)
{
    int rc = check_ident("dataset", dataset, err);
    return rc ? rc : wh->ops->table_list(wh->impl, dataset, out, err);
}
