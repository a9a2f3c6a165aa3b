/*
 * setup.initial: creates a dataset and one table per BigQuery-format schema
 * file in a directory under ps_templates/. Existing tables are reported, not
 * touched, unless the run asks for force_recreate_tables; the whole dataset
 * is dropped first under force_recreate_dataset. Used by the bootstrap
 * pipeline to create the central `tenants` dataset.
 */
#include "common/fs.h"
#include "common/log.h"
#include "common/schema.h"
#include "common/str.h"
#include "worker/processor.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCHEMA_FILES 256
#define DEFAULT_SCHEMAS  "setup/initial/schemas"

/* A relative directory of identifier segments: no "..", no absolute path. */
static bool safe_dir(const char *s)
{
    if (s[0] == '\0' || s[0] == '/')
        return false;
    char seg[128];
    size_t n = 0;
    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            seg[n] = '\0';
            if (!cvg_ident_valid(seg, sizeof(seg) - 1))
                return false;
            n = 0;
            if (*p == '\0')
                return true;
            continue;
        }
        if (n + 1 >= sizeof(seg))
            return false;
        seg[n++] = *p;
    }
}

static int validate(const json_t *step, const char *path, cvg_errlist_t *errs)
{
    /* its fields' names and types are its schema's to check */
    size_t before = errs->n;
    const char *ds = json_string_value(json_object_get(step, "dataset"));
    if (ds == NULL)
        cvg_errlist_add(errs, CVG_EINVAL, "dataset", "%s.dataset: field required", path);
    else if (!cvg_wh_ident_ok(ds))
        cvg_errlist_add(errs, CVG_EINVAL, "dataset",
                        "%s.dataset: '%s' must be letters, digits and _", path, ds);
    json_t *sch = json_object_get(step, "schemas");
    if (sch != NULL && (!json_is_string(sch) || !safe_dir(json_string_value(sch))))
        cvg_errlist_add(errs, CVG_EINVAL, "schemas",
                        "%s.schemas: must be a relative directory under ps_templates/", path);
    return (int)(errs->n - before);
}

static bool param_true(const cvg_params_t *params, const char *name)
{
    const char *v = params ? cvg_params_get(params, name) : NULL;
    bool b = false;
    return v != NULL && cvg_parse_bool(v, &b) == 0 && b;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The schema files of dir, sorted. */
static int list_schemas(const char *dir, cvg_strlist_t *out, proc_result_t *res)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return proc_fail(res, CVG_ENOTFOUND, "schema directory %s not found", dir);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (e->d_name[0] == '.' || !cvg_str_ends(e->d_name, ".json"))
            continue;
        if (out->n >= MAX_SCHEMA_FILES)
            rc = proc_fail(res, CVG_ETOOBIG, "more than %d schema files in %s", MAX_SCHEMA_FILES,
                           dir);
        else
            rc = cvg_strlist_add(out, e->d_name);
    }
    closedir(d);
    if (rc == 0 && out->n == 0)
        rc = proc_fail(res, CVG_ENOTFOUND, "no schema files in %s", dir);
    if (rc == 0)
        qsort(out->items, out->n, sizeof(char *), by_name);
    return rc;
}

/* Adds the schema's columns an existing table lacks (each added named in
 * `added` as table.column): NULLABLE ones only, since rows already there
 * have no value for them; a missing REQUIRED one is an error. */
static int ensure_columns(cvg_wh_t *wh, const char *dataset, const cvg_schema_t *sc, json_t *added,
                          cvg_err_t *err)
{
    size_t missing[CVG_SCHEMA_MAX_COLUMNS], n = 0;
    int rc = cvg_wh_missing_columns(wh, dataset, sc, missing, CVG_SCHEMA_MAX_COLUMNS, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const cvg_column_t *c = &sc->cols[missing[i]];
        rc = cvg_wh_column_add(wh, dataset, sc->table, c, err);
        if (rc == 0)
            json_array_append_new(added, json_sprintf("%s.%s", sc->table, c->name));
    }
    return rc;
}

/* Creates the schema's secondary indexes that an existing table lacks
 * (each made named in `added`), then drops those it retired (each dropped
 * named in `retired`): a replacement exists before what it replaces goes. */
static int ensure_indexes(cvg_wh_t *wh, const char *dataset, const cvg_schema_t *sc, json_t *added,
                          json_t *retired, cvg_err_t *err)
{
    for (size_t i = 0; i < sc->nidx; i++) {
        const char *cols[CVG_SCHEMA_INDEX_COLS];
        for (size_t c = 0; c < sc->idx[i].ncols; c++)
            cols[c] = sc->idx[i].cols[c];
        bool created = false;
        int rc = cvg_wh_index_create(wh, dataset, sc->table, sc->idx[i].name, cols,
                                     sc->idx[i].ncols, sc->idx[i].not_null, &created, err);
        if (rc != 0)
            return rc;
        if (created)
            json_array_append_new(added, json_sprintf("%s__%s", sc->table, sc->idx[i].name));
    }
    for (size_t i = 0; i < sc->nretired; i++) {
        bool dropped = false;
        int rc = cvg_wh_index_drop(wh, dataset, sc->table, sc->retired[i], &dropped, err);
        if (rc != 0)
            return rc;
        if (dropped)
            json_array_append_new(retired, json_sprintf("%s__%s", sc->table, sc->retired[i]));
    }
    return 0;
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    const char *dataset = json_string_value(json_object_get(step, "dataset"));
    const char *rel = json_string_value(json_object_get(step, "schemas"));
    if (rel == NULL)
        rel = DEFAULT_SCHEMAS;
    if (dataset == NULL || !cvg_wh_ident_ok(dataset) || !safe_dir(rel))
        return proc_fail(res, CVG_EINVAL, "invalid step configuration");
    bool force_dataset = param_true(ctx->params, "force_recreate_dataset");
    bool force_tables = param_true(ctx->params, "force_recreate_tables");

    char dir[2048];
    if (cvg_fs_join(dir, sizeof(dir), ctx->cfg->templates_dir, rel) != 0)
        return proc_fail(res, CVG_ETOOBIG, "schema directory path too long");

    /* Parse every schema before touching the warehouse: a bad file changes
     * nothing. */
    cvg_strlist_t files = {0};
    cvg_schema_t *schemas = NULL;
    size_t nschemas = 0;
    json_t *created = json_array(), *existing = json_array(), *recreated = json_array();
    json_t *retired = json_array(), *columns_added = json_array(), *indexes_added = json_array();
    bool dataset_created = false;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = list_schemas(dir, &files, res);
    if (rc != 0)
        goto out;
    schemas = calloc(files.n, sizeof(*schemas));
    if (schemas == NULL) {
        rc = proc_fail(res, CVG_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < files.n; i++, nschemas++) {
        char path[2300];
        snprintf(path, sizeof(path), "%s/%s", dir, files.items[i]);
        rc = cvg_schema_load_file(path, &schemas[i], &err);
        if (rc != 0) {
            rc = proc_fail(res, rc, "%s", err.message);
            goto out;
        }
    }

    bool exists = false;
    if ((rc = cvg_wh_dataset_exists(ctx->wh, dataset, &exists, &err)) != 0)
        goto db_error;
    if (exists && force_dataset) {
        if ((rc = cvg_wh_dataset_drop(ctx->wh, dataset, &err)) != 0)
            goto db_error;
        exists = false;
    }
    if (!exists) {
        rc = cvg_wh_dataset_create(ctx->wh, dataset, &err);
        if (rc == CVG_EEXIST)
            rc = 0; /* created by a concurrent bootstrap */
        else if (rc == 0)
            dataset_created = true;
        if (rc != 0)
            goto db_error;
    }
    for (size_t i = 0; i < nschemas; i++) {
        const char *table = schemas[i].table;
        bool texists = false;
        if ((rc = cvg_wh_table_exists(ctx->wh, dataset, table, &texists, &err)) != 0)
            goto db_error;
        if (texists && !force_tables) {
            /* a column, or an index, added to the schema since the table
             * was made (the columns first: an index may use one) */
            if ((rc = ensure_columns(ctx->wh, dataset, &schemas[i], columns_added, &err)) != 0 ||
                (rc = ensure_indexes(ctx->wh, dataset, &schemas[i], indexes_added, retired,
                                     &err)) != 0)
                goto db_error;
            json_array_append_new(existing, json_string(table));
            continue;
        }
        if (texists && (rc = cvg_wh_table_drop(ctx->wh, dataset, table, &err)) != 0)
            goto db_error;
        rc = cvg_wh_table_create(ctx->wh, dataset, &schemas[i], &err);
        if (rc == CVG_EEXIST) {
            json_array_append_new(existing, json_string(table));
            rc = 0;
            continue;
        }
        if (rc != 0)
            goto db_error;
        json_array_append_new(texists ? recreated : created, json_string(table));
    }
    res->rows = 0;
    res->detail = json_pack("{s:s, s:b, s:O, s:O, s:O, s:O, s:O, s:O, s:i}", "dataset", dataset,
                            "dataset_created", dataset_created, "tables_created", created,
                            "tables_existing", existing, "tables_recreated", recreated,
                            "columns_added", columns_added, "indexes_added", indexes_added,
                            "indexes_retired", retired, "total_tables", (int)nschemas);
    goto out;
db_error:
    proc_fail(res, rc, "%s", err.message);
    res->transient = rc == CVG_EBUSY;
out:
    for (size_t i = 0; i < nschemas; i++)
        cvg_schema_cleanup(&schemas[i]);
    free(schemas);
    cvg_strlist_cleanup(&files);
    json_decref(created);
    json_decref(existing);
    json_decref(recreated);
    json_decref(retired);
    json_decref(columns_added);
    json_decref(indexes_added);
    return rc;
}

const proc_def_t proc_setup_initial = {
    .ps_type = "setup.initial",
    .summary = "create a dataset and its tables from JSON schema files",
    .setup_only = true,
    .validate = validate,
    .run = run,
};
