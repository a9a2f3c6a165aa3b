/*
 * BigQuery JSON schema parsing (see schema.h).
 */
#include "common/schema.h"
#include "common/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    cvg_col_type_t type;
} type_names[] = {
    {"STRING", CVG_COL_STRING},   {"INT64", CVG_COL_INT64},   {"INTEGER", CVG_COL_INT64},
    {"FLOAT64", CVG_COL_FLOAT64}, {"FLOAT", CVG_COL_FLOAT64}, {"NUMERIC", CVG_COL_NUMERIC},
    {"BOOL", CVG_COL_BOOL},       {"BOOLEAN", CVG_COL_BOOL},  {"TIMESTAMP", CVG_COL_TIMESTAMP},
    {"DATE", CVG_COL_DATE},       {"JSON", CVG_COL_JSON},     {"RECORD", CVG_COL_RECORD},
    {"STRUCT", CVG_COL_RECORD},
};

const char *cvg_col_type_name(cvg_col_type_t t)
{
    static const char *names[] = {"STRING",    "INT64", "FLOAT64", "NUMERIC", "BOOL",
                                  "TIMESTAMP", "DATE",  "JSON",    "RECORD"};
    return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "STRING";
}

bool cvg_col_is_json(const cvg_column_t *c)
{
    return c->type == CVG_COL_JSON || c->type == CVG_COL_RECORD || c->mode == CVG_MODE_REPEATED;
}

void cvg_schema_cleanup(cvg_schema_t *s)
{
    for (size_t i = 0; i < s->ncols; i++)
        free(s->cols[i].description);
    free(s->cols);
    free(s->description);
    memset(s, 0, sizeof(*s));
}

int cvg_schema_find(const cvg_schema_t *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++) {
        if (strcasecmp(s->cols[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

static int parse_fields(const json_t *fields, const char *path, cvg_column_t *cols, size_t *ncols,
                        int depth, cvg_err_t *err);

/* Checks one field; RECORD fields check their sub-fields too (which are
 * stored as JSON, so only validated). */
static int parse_field(const json_t *f, const char *path, cvg_column_t *col, int depth,
                       cvg_err_t *err)
{
    if (!json_is_object(f))
        return cvg_err_set(err, CVG_EINVAL, path, "%s: expected an object", path);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)f, key, val)
    {
        if (strcmp(key, "name") && strcmp(key, "type") && strcmp(key, "mode") &&
            strcmp(key, "description") && strcmp(key, "fields") && strcmp(key, "policyTags") &&
            strcmp(key, "defaultValueExpression") && strcmp(key, "maxLength") &&
            strcmp(key, "precision") && strcmp(key, "scale"))
            return cvg_err_set(err, CVG_EINVAL, path, "%s.%s: unknown schema key", path, key);
    }
    const char *name = json_string_value(json_object_get(f, "name"));
    if (name == NULL)
        return cvg_err_set(err, CVG_EINVAL, path, "%s.name: field required", path);
    if (!cvg_ident_valid(name, CVG_SCHEMA_NAME_MAX - 1))
        return cvg_err_set(err, CVG_EINVAL, path,
                           "%s.name: '%s' is not a valid column name (letters, digits, _)", path,
                           name);
    memcpy(col->name, name, strlen(name) + 1);
    const char *type = json_string_value(json_object_get(f, "type"));
    if (type == NULL)
        return cvg_err_set(err, CVG_EINVAL, path, "%s.type: field required", path);
    size_t t = 0;
    for (; t < sizeof(type_names) / sizeof(type_names[0]); t++) {
        if (strcasecmp(type, type_names[t].name) == 0)
            break;
    }
    if (t == sizeof(type_names) / sizeof(type_names[0]))
        return cvg_err_set(err, CVG_EINVAL, path,
                           "%s.type: unknown type '%s' (STRING, INT64, FLOAT64, NUMERIC, BOOL, "
                           "TIMESTAMP, DATE, JSON, RECORD)",
                           path, type);
    col->type = type_names[t].type;
    col->mode = CVG_MODE_NULLABLE;
    json_t *mode = json_object_get(f, "mode");
    if (mode != NULL) {
        const char *m = json_string_value(mode);
        if (m && strcasecmp(m, "NULLABLE") == 0)
            col->mode = CVG_MODE_NULLABLE;
        else if (m && strcasecmp(m, "REQUIRED") == 0)
            col->mode = CVG_MODE_REQUIRED;
        else if (m && strcasecmp(m, "REPEATED") == 0)
            col->mode = CVG_MODE_REPEATED;
        else
            return cvg_err_set(err, CVG_EINVAL, path,
                               "%s.mode: must be NULLABLE, REQUIRED or REPEATED", path);
    }
    json_t *desc = json_object_get(f, "description");
    if (desc != NULL && !json_is_string(desc))
        return cvg_err_set(err, CVG_EINVAL, path, "%s.description: expected a string", path);
    json_t *sub = json_object_get(f, "fields");
    if (col->type == CVG_COL_RECORD) {
        if (sub == NULL)
            return cvg_err_set(err, CVG_EINVAL, path, "%s.fields: RECORD needs fields", path);
        if (depth >= 15)
            return cvg_err_set(err, CVG_EINVAL, path, "%s: RECORD nesting deeper than 15", path);
        cvg_column_t *subcols = calloc(CVG_SCHEMA_MAX_COLUMNS, sizeof(*subcols));
        if (subcols == NULL)
            return cvg_err_set(err, CVG_ENOMEM, path, "out of memory");
        size_t nsub = 0;
        char subpath[CVG_ERR_FIELD_MAX + 8];
        snprintf(subpath, sizeof(subpath), "%s.fields", path);
        int rc = parse_fields(sub, subpath, subcols, &nsub, depth + 1, err);
        for (size_t i = 0; i < nsub; i++)
            free(subcols[i].description);
        free(subcols);
        if (rc != 0)
            return rc;
    } else if (sub != NULL) {
        return cvg_err_set(err, CVG_EINVAL, path, "%s.fields: only RECORD fields have fields",
                           path);
    }
    col->description = desc ? strdup(json_string_value(desc)) : NULL;
    if (desc && col->description == NULL)
        return cvg_err_set(err, CVG_ENOMEM, path, "out of memory");
    return 0;
}

static int parse_fields(const json_t *fields, const char *path, cvg_column_t *cols, size_t *ncols,
                        int depth, cvg_err_t *err)
{
    if (!json_is_array(fields))
        return cvg_err_set(err, CVG_EINVAL, path, "%s: expected an array of fields", path);
    size_t n = json_array_size(fields);
    if (n == 0)
        return cvg_err_set(err, CVG_EINVAL, path, "%s: no fields", path);
    if (n > CVG_SCHEMA_MAX_COLUMNS)
        return cvg_err_set(err, CVG_ETOOBIG, path, "%s: more than %d fields", path,
                           CVG_SCHEMA_MAX_COLUMNS);
    for (size_t i = 0; i < n; i++) {
        char fpath[CVG_ERR_FIELD_MAX];
        snprintf(fpath, sizeof(fpath), "%s[%zu]", path, i);
        int rc = parse_field(json_array_get(fields, i), fpath, &cols[i], depth, err);
        if (rc == 0) {
            (*ncols)++;
            for (size_t j = 0; j < i; j++) {
                if (strcasecmp(cols[j].name, cols[i].name) == 0)
                    rc = cvg_err_set(err, CVG_EINVAL, fpath, "%s.name: duplicate column '%s'",
                                     fpath, cols[i].name);
            }
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads a list of column names that must exist in the schema. */
static int parse_keys(const cvg_schema_t *s, const json_t *list, const char *path,
                      char keys[][CVG_SCHEMA_NAME_MAX], size_t *n, cvg_err_t *err)
{
    if (!json_is_array(list))
        return cvg_err_set(err, CVG_EINVAL, path, "%s: expected an array of column names", path);
    if (json_array_size(list) > CVG_SCHEMA_MAX_KEYS)
        return cvg_err_set(err, CVG_ETOOBIG, path, "%s: more than %d columns", path,
                           CVG_SCHEMA_MAX_KEYS);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *name = json_string_value(json_array_get(list, i));
        int idx = name ? cvg_schema_find(s, name) : -1;
        if (idx < 0)
            return cvg_err_set(err, CVG_EINVAL, path, "%s[%zu]: '%s' is not a column", path, i,
                               name ? name : "(not a string)");
        memcpy(keys[i], s->cols[idx].name, sizeof(keys[i]));
        (*n)++;
    }
    return 0;
}

/* Index names the drivers and the loaders use for indexes of their own:
 * the clustering index (<table>__cluster) and the destination's
 * partition and clustering indexes. */
static bool reserved_index(const char *name)
{
    return strcasecmp(name, "cluster") == 0 || strcasecmp(name, "clustering") == 0 ||
           strcasecmp(name, "partition") == 0;
}

/* An index name at `label` (what the error names; err->field is path): an
 * identifier that fits, and not one of the reserved names. */
static int check_index_name(const char *name, const char *label, const char *path, cvg_err_t *err)
{
    if (name == NULL || !cvg_ident_valid(name, CVG_SCHEMA_INDEX_NAME - 1))
        return cvg_err_set(err, CVG_EINVAL, path,
                           "%s: expected an identifier of at most %d characters", label,
                           CVG_SCHEMA_INDEX_NAME - 1);
    if (reserved_index(name))
        return cvg_err_set(err, CVG_EINVAL, path, "%s: '%s' is reserved", label, name);
    return 0;
}

/* "indexes": [{"name": "run", "columns": ["pipeline_logging_id"]}, ...] */
static int parse_indexes(cvg_schema_t *s, const json_t *list, cvg_err_t *err)
{
    if (!json_is_array(list))
        return cvg_err_set(err, CVG_EINVAL, "indexes", "indexes: expected an array");
    if (json_array_size(list) > CVG_SCHEMA_MAX_INDEXES)
        return cvg_err_set(err, CVG_EINVAL, "indexes", "indexes: more than %d",
                           CVG_SCHEMA_MAX_INDEXES);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *ix = json_array_get(list, i);
        char path[64];
        snprintf(path, sizeof(path), "indexes[%zu]", i);
        const char *key;
        json_t *val;
        if (!json_is_object(ix))
            return cvg_err_set(err, CVG_EINVAL, path, "%s: expected an object", path);
        json_object_foreach((json_t *)ix, key, val)
        {
            if (strcmp(key, "name") && strcmp(key, "columns") && strcmp(key, "not_null"))
                return cvg_err_set(err, CVG_EINVAL, path, "%s.%s: unknown field", path, key);
        }
        const char *name = json_string_value(json_object_get(ix, "name"));
        char label[80];
        snprintf(label, sizeof(label), "%s.name", path);
        int rc = check_index_name(name, label, path, err);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < s->nidx; j++) {
            if (strcasecmp(s->idx[j].name, name) == 0)
                return cvg_err_set(err, CVG_EINVAL, path, "%s.name: duplicate index '%s'", path,
                                   name);
        }
        const json_t *cols = json_object_get(ix, "columns");
        char cpath[80];
        snprintf(cpath, sizeof(cpath), "%s.columns", path);
        if (!json_is_array(cols) || json_array_size(cols) == 0 ||
            json_array_size(cols) > CVG_SCHEMA_INDEX_COLS)
            return cvg_err_set(err, CVG_EINVAL, cpath, "%s: expected 1 to %d column names", cpath,
                               CVG_SCHEMA_INDEX_COLS);
        cvg_index_t *out = &s->idx[s->nidx];
        rc = parse_keys(s, cols, cpath, out->cols, &out->ncols, err);
        if (rc != 0)
            return rc;
        const json_t *nn = json_object_get(ix, "not_null");
        if (nn != NULL) {
            const char *col = json_string_value(nn);
            int at = col ? cvg_schema_find(s, col) : -1;
            if (at < 0)
                return cvg_err_set(err, CVG_EINVAL, path, "%s.not_null: '%s' is not a column", path,
                                   col ? col : "(not a string)");
            memcpy(out->not_null, s->cols[at].name, sizeof(out->not_null));
        }
        memcpy(out->name, name, strlen(name) + 1);
        s->nidx++;
    }
    return 0;
}

/* "retired_indexes": ["idempotency"]: identifiers, none a current index. */
static int parse_retired(cvg_schema_t *s, const json_t *list, cvg_err_t *err)
{
    if (!json_is_array(list))
        return cvg_err_set(err, CVG_EINVAL, "retired_indexes",
                           "retired_indexes: expected an array of index names");
    if (json_array_size(list) > CVG_SCHEMA_MAX_INDEXES)
        return cvg_err_set(err, CVG_EINVAL, "retired_indexes", "retired_indexes: more than %d",
                           CVG_SCHEMA_MAX_INDEXES);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *name = json_string_value(json_array_get(list, i));
        char path[64];
        snprintf(path, sizeof(path), "retired_indexes[%zu]", i);
        int rc = check_index_name(name, path, path, err);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < s->nidx; j++) {
            if (strcasecmp(s->idx[j].name, name) == 0)
                return cvg_err_set(err, CVG_EINVAL, path, "%s: '%s' is one of the indexes", path,
                                   name);
        }
        for (size_t j = 0; j < s->nretired; j++) {
            if (strcasecmp(s->retired[j], name) == 0)
                return cvg_err_set(err, CVG_EINVAL, path, "%s: '%s' is listed twice", path, name);
        }
        memcpy(s->retired[s->nretired++], name, strlen(name) + 1);
    }
    return 0;
}

int cvg_schema_parse(const json_t *doc, const char *table, cvg_schema_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!cvg_ident_valid(table, CVG_SCHEMA_NAME_MAX - 1))
        return cvg_err_set(err, CVG_EINVAL, "table", "'%s' is not a valid table name", table);
    memcpy(out->table, table, strlen(table) + 1);
    const json_t *fields = doc;
    const json_t *pk = NULL, *clust = NULL, *indexes = NULL, *retired = NULL;
    if (json_is_object(doc)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)doc, key, val)
        {
            if (strcmp(key, "schema") && strcmp(key, "description") &&
                strcmp(key, "tableConstraints") && strcmp(key, "clustering") &&
                strcmp(key, "timePartitioning") && strcmp(key, "tableReference") &&
                strcmp(key, "indexes") && strcmp(key, "retired_indexes"))
                return cvg_err_set(err, CVG_EINVAL, key, "%s: unknown table key", key);
        }
        fields = json_object_get(json_object_get(doc, "schema"), "fields");
        if (fields == NULL)
            return cvg_err_set(err, CVG_EINVAL, "schema.fields", "schema.fields: field required");
        json_t *desc = json_object_get(doc, "description");
        if (desc && !json_is_string(desc))
            return cvg_err_set(err, CVG_EINVAL, "description", "description: expected a string");
        if (desc && (out->description = strdup(json_string_value(desc))) == NULL)
            return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        pk = json_object_get(
            json_object_get(json_object_get(doc, "tableConstraints"), "primaryKey"), "columns");
        clust = json_object_get(json_object_get(doc, "clustering"), "fields");
        indexes = json_object_get(doc, "indexes");
        retired = json_object_get(doc, "retired_indexes");
    }
    size_t n = json_is_array(fields) ? json_array_size(fields) : 0;
    out->cols = calloc(n ? n : 1, sizeof(*out->cols));
    if (out->cols == NULL) {
        cvg_schema_cleanup(out);
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    }
    int rc = parse_fields(fields, json_is_object(doc) ? "schema.fields" : "fields", out->cols,
                          &out->ncols, 0, err);
    if (rc == 0 && pk != NULL)
        rc = parse_keys(out, pk, "tableConstraints.primaryKey.columns", out->pk, &out->npk, err);
    if (rc == 0 && clust != NULL)
        rc = parse_keys(out, clust, "clustering.fields", out->clustering, &out->nclust, err);
    if (rc == 0 && indexes != NULL)
        rc = parse_indexes(out, indexes, err);
    if (rc == 0 && retired != NULL)
        rc = parse_retired(out, retired, err);
    if (rc != 0)
        cvg_schema_cleanup(out);
    return rc;
}

int cvg_schema_load_file(const char *path, cvg_schema_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char table[CVG_SCHEMA_NAME_MAX];
    size_t n = strlen(base);
    if (n <= 5 || strcmp(base + n - 5, ".json") != 0 || n - 5 >= sizeof(table))
        return cvg_err_set(err, CVG_EINVAL, path, "%s: schema files are named <table>.json", path);
    memcpy(table, base, n - 5);
    table[n - 5] = '\0';
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return cvg_err_set(err, CVG_EINVAL, path, "%s:%d: %s", path, jerr.line, jerr.text);
    int rc = cvg_schema_parse(doc, table, out, err);
    json_decref(doc);
    if (rc != 0 && err != NULL) {
        char msg[CVG_ERR_MSG_MAX], field[CVG_ERR_FIELD_MAX];
        snprintf(msg, sizeof(msg), "%s", err->message);
        snprintf(field, sizeof(field), "%s", err->field);
        cvg_err_set(err, rc, field, "%s: %s", path, msg);
    }
    return rc;
}
