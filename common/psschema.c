/*
 * Processor schemas (see psschema.h). A field spec is a mapping with a
 * `type` (string, text, sql, identifier, uri, int, number, bool, enum,
 * object, list, map) and, by type, required/default/values/value_hints/
 * min/max/items/fields/did_you_mean/schemes/max_length/min_items/max_items,
 * and tenant_dataset (an identifier that must name the run's tenant's
 * dataset: a fixed name is an error).
 */
#include "common/psschema.h"
#include "common/utf8.h"
#include "common/buf.h"
#include "common/sqltmpl.h"
#include "common/str.h"
#include "common/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDENT_MAX      128
#define STRING_MAX     1024
#define TEXT_MAX       (64 * 1024)
#define SQL_MAX        (256 * 1024)
#define PATH_MAX_CHARS 256

typedef enum ftype {
    FT_STRING = 1,
    FT_TEXT,
    FT_SQL,
    FT_IDENT,
    FT_URI,
    FT_INT,
    FT_NUMBER,
    FT_BOOL,
    FT_ENUM,
    FT_OBJECT,
    FT_LIST,
    FT_MAP
} ftype_t;

static const struct {
    const char *name;
    ftype_t type;
} ftypes[] = {
    {"string", FT_STRING}, {"text", FT_TEXT},     {"sql", FT_SQL},       {"identifier", FT_IDENT},
    {"uri", FT_URI},       {"int", FT_INT},       {"number", FT_NUMBER}, {"bool", FT_BOOL},
    {"enum", FT_ENUM},     {"object", FT_OBJECT}, {"list", FT_LIST},     {"map", FT_MAP},
};

static const char *const common_fields[] = {
    "step_id", "name",         "description",         "ps_type", "timeout_minutes",
    "trigger", "retry_policy", "continue_on_failure", NULL};

bool cvg_psschema_common_field(const char *name)
{
    for (size_t i = 0; common_fields[i]; i++) {
        if (strcmp(common_fields[i], name) == 0)
            return true;
    }
    return false;
}

const char *cvg_psschema_step_hint(const char *name)
{
    if (strcmp(name, "id") == 0 || strcmp(name, "step_name") == 0)
        return "; did you mean step_id?";
    if (strcmp(name, "type") == 0 || strcmp(name, "processor") == 0)
        return "; did you mean ps_type?";
    if (strcmp(name, "timeout") == 0)
        return "; did you mean timeout_minutes?";
    return "";
}

static ftype_t type_of(const json_t *spec)
{
    const char *t = json_string_value(json_object_get(spec, "type"));
    for (size_t i = 0; t && i < sizeof(ftypes) / sizeof(ftypes[0]); i++) {
        if (strcmp(ftypes[i].name, t) == 0)
            return ftypes[i].type;
    }
    return 0;
}

static bool is_stringy(ftype_t t)
{
    return t == FT_STRING || t == FT_TEXT || t == FT_SQL || t == FT_IDENT || t == FT_URI;
}

/* ---- the schema file itself ---------------------------------------------- */

static int spec_ok(const json_t *spec, const char *where, int depth, cvg_err_t *err);

static int fields_ok(const json_t *fields, const char *where, int depth, cvg_err_t *err)
{
    if (!json_is_object(fields))
        return cvg_err_set(err, CVG_EINVAL, where, "%s.fields: expected a mapping", where);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)fields, key, val)
    {
        char w[PATH_MAX_CHARS];
        cvg_path_join(w, sizeof(w), where, key);
        if (!cvg_ident_valid(key, IDENT_MAX))
            return cvg_err_set(err, CVG_EINVAL, w, "%s: not a valid field name", w);
        int rc = spec_ok(val, w, depth + 1, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int spec_ok(const json_t *spec, const char *where, int depth, cvg_err_t *err)
{
    static const char *const keys[] = {
        "type",           "required", "default",    "description", "values",
        "value_hints",    "min",      "max",        "items",       "fields",
        "did_you_mean",   "schemes",  "max_length", "min_items",   "max_items",
        "tenant_dataset", NULL};
    if (depth > 16)
        return cvg_err_set(err, CVG_EINVAL, where, "%s: nested too deep", where);
    if (!json_is_object(spec))
        return cvg_err_set(err, CVG_EINVAL, where, "%s: expected a mapping with a type", where);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)spec, key, val)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(keys[i], key) == 0;
        if (!known)
            return cvg_err_set(err, CVG_EINVAL, where, "%s.%s: unknown schema key", where, key);
    }
    ftype_t t = type_of(spec);
    if (t == 0)
        return cvg_err_set(err, CVG_EINVAL, where, "%s.type: missing or unknown", where);
    const json_t *td = json_object_get(spec, "tenant_dataset");
    if (td && (t != FT_IDENT || !json_is_boolean(td)))
        return cvg_err_set(err, CVG_EINVAL, where,
                           "%s.tenant_dataset: true or false, for an identifier only", where);
    if (t == FT_ENUM) {
        const json_t *v = json_object_get(spec, "values");
        if (!json_is_array(v) || json_array_size(v) == 0)
            return cvg_err_set(err, CVG_EINVAL, where, "%s.values: required for an enum", where);
    }
    if (t == FT_OBJECT)
        return fields_ok(json_object_get(spec, "fields"), where, depth, err);
    if (t == FT_LIST || t == FT_MAP) {
        const json_t *items = json_object_get(spec, t == FT_LIST ? "items" : "values");
        if (items)
            return spec_ok(items, where, depth + 1, err);
        if (t == FT_LIST)
            return cvg_err_set(err, CVG_EINVAL, where, "%s.items: required for a list", where);
    }
    return 0;
}

int cvg_psschema_from_json(json_t *doc, const char *name, cvg_psschema_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return cvg_err_set(err, CVG_EINVAL, name, "%s: expected a mapping", name);
    const json_t *fields = json_object_get(doc, "fields");
    if (fields == NULL)
        fields = json_object(); /* a processor without fields of its own */
    else
        json_incref((json_t *)fields);
    int rc = fields_ok(fields, name, 0, err);
    if (rc != 0) {
        json_decref((json_t *)fields);
        return rc;
    }
    out->doc = json_incref(doc);
    json_object_set_new(out->doc, "fields", (json_t *)fields);
    out->fields = json_object_get(out->doc, "fields");
    out->did_you_mean = json_object_get(out->doc, "did_you_mean");
    return 0;
}

/*
 * A field spec `{include: common/destination}` takes the spec in
 * <templates_dir>/common/destination.yml; keys written next to include
 * (description, required, default) win over the included ones. One level:
 * an included file does not include others.
 */
static int expand_includes(const char *templates_dir, json_t *fields, const char *where,
                           cvg_err_t *err)
{
    const char *key;
    json_t *spec;
    json_object_foreach(fields, key, spec)
    {
        const char *inc = json_string_value(json_object_get(spec, "include"));
        if (inc == NULL) {
            json_t *sub = json_object_get(spec, "fields");
            if (json_is_object(sub)) {
                int rc = expand_includes(templates_dir, sub, where, err);
                if (rc != 0)
                    return rc;
            }
            continue;
        }
        bool ok = inc[0] != '\0' && inc[0] != '/' && strstr(inc, "..") == NULL;
        for (const char *p = inc; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '/';
        if (!ok)
            return cvg_err_set(err, CVG_EINVAL, where,
                               "%s: %s.include: '%.100s' is not a path "
                               "under ps_templates/",
                               where, key, inc);
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s.yml", templates_dir, inc);
        json_t *base = NULL;
        int rc = cvg_yaml_load_file(path, &base, err);
        if (rc != 0)
            return rc;
        if (!json_is_object(base) || json_object_get(base, "include")) {
            json_decref(base);
            return cvg_err_set(err, CVG_EINVAL, path,
                               "%s: an included spec is a mapping that "
                               "includes nothing",
                               path);
        }
        const char *k;
        json_t *v;
        json_object_foreach(spec, k, v)
        {
            if (strcmp(k, "include") != 0)
                json_object_set(base, k, v);
        }
        json_object_set_new(fields, key, base);
    }
    return 0;
}

int cvg_psschema_load(const char *templates_dir, const char *ps_type, cvg_psschema_t *out,
                      cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    char rel[256];
    if (cvg_str_copy(rel, sizeof(rel), ps_type) != 0 || strchr(ps_type, '.') == NULL ||
        strstr(ps_type, "..") || ps_type[0] == '.' || ps_type[strlen(ps_type) - 1] == '.')
        return cvg_err_set(err, CVG_EINVAL, "ps_type", "'%.100s' is not provider.processor",
                           ps_type);
    for (char *p = rel; *p; p++) {
        if (*p == '.')
            *p = '/';
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return cvg_err_set(err, CVG_EINVAL, "ps_type", "'%.100s' is not provider.processor",
                               ps_type);
    }
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s/config.yml", templates_dir, rel);
    json_t *doc = NULL;
    int rc = cvg_yaml_load_file(path, &doc, err);
    if (rc != 0)
        return rc;
    const char *declared = json_string_value(json_object_get(doc, "ps_type"));
    if (declared == NULL || strcmp(declared, ps_type) != 0)
        rc = cvg_err_set(err, CVG_EINVAL, path, "%s: ps_type must be %s", path, ps_type);
    else if ((rc = expand_includes(templates_dir, json_object_get(doc, "fields"), path, err)) == 0)
        rc = cvg_psschema_from_json(doc, path, out, err);
    json_decref(doc);
    return rc;
}

void cvg_psschema_cleanup(cvg_psschema_t *s)
{
    json_decref(s->doc);
    memset(s, 0, sizeof(*s));
}

/* ---- checking a step ------------------------------------------------------ */

typedef struct checker {
    cvg_psschema_ref_fn ref;
    void *ud;
    cvg_errlist_t *errs;
    const char *path; /* of the value being checked */
} checker_t;

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* "; did you mean X?" from the explicit hints, else the closest name. */
static void suggest(const json_t *hints, const json_t *names, const char *key, char *out,
                    size_t size)
{
    out[0] = '\0';
    const char *hint = json_string_value(json_object_get(hints, key));
    if (hint) {
        snprintf(out, size, "; did you mean %s?", hint);
        return;
    }
    size_t best = 3;
    const char *name;
    json_t *unused;
    json_object_foreach((json_t *)names, name, unused)
    {
        size_t d = edit_distance(key, name);
        if (d < best && strlen(key) > 2) {
            best = d;
            snprintf(out, size, "; did you mean %s?", name);
        }
    }
}

static int on_ref(void *ud, const char *name, size_t offset, size_t length)
{
    (void)offset;
    (void)length;
    checker_t *c = ud;
    if (c->ref)
        c->ref(c->ud, name, c->path);
    return 0;
}

static int any_ref(void *ud, const char *name, size_t offset, size_t length)
{
    (void)name;
    (void)offset;
    (void)length;
    *(bool *)ud = true;
    return 1;
}

static bool has_refs(const char *s)
{
    bool found = false;
    cvg_vars_walk(s, any_ref, &found);
    return found;
}

static bool scheme_ok(const json_t *spec, const char *uri)
{
    const json_t *schemes = json_object_get(spec, "schemes");
    const char *colon = strstr(uri, "://");
    if (colon == NULL)
        return false;
    if (schemes == NULL)
        return true;
    for (size_t i = 0; i < json_array_size(schemes); i++) {
        const char *s = json_string_value(json_array_get(schemes, i));
        if (s && strlen(s) == (size_t)(colon - uri) && strncmp(uri, s, strlen(s)) == 0)
            return true;
    }
    return false;
}

/* A URI of any scheme but file:// must name its host (for s3://, the
 * bucket): "https:///x" and "s3:///key" name none. */
static bool host_missing(const char *uri)
{
    const char *colon = strstr(uri, "://");
    if (colon == NULL || (colon - uri == 4 && strncmp(uri, "file", 4) == 0))
        return false;
    char c = colon[3];
    return c == '\0' || c == '/' || c == '?' || c == '#' || c == ':';
}

static void schemes_text(const json_t *spec, char *out, size_t size)
{
    const json_t *schemes = json_object_get(spec, "schemes");
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(schemes) && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s://", i ? ", " : "",
                         json_string_value(json_array_get(schemes, i)));
        used += n > 0 ? (size_t)n : 0;
    }
}

static void check_value(const json_t *spec, const json_t *v, checker_t *c);

/* Every mistake of a SQL field, each its own error. */
static void sql_mistake(void *ud, const cvg_err_t *mistake)
{
    checker_t *c = ud;
    cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: %s", c->path, mistake->message);
}

static void check_string(const json_t *spec, ftype_t t, const json_t *v, checker_t *c)
{
    const char *p = c->path;
    if (!json_is_string(v)) {
        cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: expected a string", p);
        return;
    }
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    json_t *ml = json_object_get(spec, "max_length");
    size_t max = json_is_integer(ml) ? (size_t)json_integer_value(ml)
                 : t == FT_SQL       ? SQL_MAX
                 : t == FT_TEXT      ? TEXT_MAX
                 : t == FT_IDENT     ? IDENT_MAX
                                     : STRING_MAX;
    if (len > max) {
        cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: longer than %zu characters", p, max);
        return;
    }
    if (len == 0) {
        cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: must not be empty", p);
        return;
    }
    if ((t == FT_STRING || t == FT_IDENT || t == FT_URI) && strpbrk(s, "\r\n")) {
        cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: must be a single line", p);
        return;
    }
    if ((t == FT_STRING || t == FT_IDENT || t == FT_URI) && !cvg_utf8_plain(s)) {
        cvg_errlist_add(c->errs, CVG_EINVAL, p,
                        "%s: contains control or bidi characters, or is not UTF-8", p);
        return;
    }
    if (t == FT_SQL) {
        /* read as the run will render it: the variables it uses (not those
         * in comments); a literal left open, a variable in part of a quoted
         * text, a ? placeholder are errors now */
        cvg_err_t err;
        cvg_err_clear(&err);
        if (cvg_sql_check_each(s, on_ref, c, sql_mistake, c, &err) != 0)
            cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: %s", p, err.message);
        return;
    }
    cvg_vars_walk(s, on_ref, c);
    if (has_refs(s))
        return; /* checked again once expanded */
    if (t == FT_IDENT && json_is_true(json_object_get(spec, "tenant_dataset"))) {
        /* a config serves every tenant, and a run writes its own dataset */
        cvg_errlist_add(c->errs, CVG_EINVAL, p,
                        "%s: '%.100s' names one dataset, but a run reaches only its tenant's: "
                        "write \"{tenant_id}\"",
                        p, s);
        return;
    }
    if (t == FT_IDENT && !cvg_ident_valid(s, IDENT_MAX))
        cvg_errlist_add(c->errs, CVG_EINVAL, p,
                        "%s: '%s' is not an identifier (letters, digits and _, not starting with "
                        "a digit)",
                        p, s);
    if (t == FT_URI && !scheme_ok(spec, s)) {
        char list[200];
        schemes_text(spec, list, sizeof(list));
        cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: must be a URI starting with %s", p, list);
    } else if (t == FT_URI && host_missing(s)) {
        cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: '%.100s' names no host (for s3://, no bucket)",
                        p, s);
    }
}

/* A value as an error message shows it: a tab as \t, another control
 * character as \xNN (a delimiter may be one); at most size - 1 bytes. */
static void shown(const char *v, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && o + 5 < size; p++) {
        if (*p == '\t')
            o += (size_t)snprintf(out + o, size - o, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
}

static void check_enum(const json_t *spec, const json_t *v, checker_t *c)
{
    const json_t *values = json_object_get(spec, "values");
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < json_array_size(values); i++) {
        if (strcmp(json_string_value(json_array_get(values, i)), s) == 0)
            return;
    }
    char list[300] = "";
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(values) && used < sizeof(list); i++) {
        char one[64];
        shown(json_string_value(json_array_get(values, i)), one, sizeof(one));
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", one);
        used += n > 0 ? (size_t)n : 0;
    }
    char hint[160] = "";
    const char *h =
        s ? json_string_value(json_object_get(json_object_get(spec, "value_hints"), s)) : NULL;
    if (h)
        snprintf(hint, sizeof(hint), "; did you mean %s?", h);
    for (size_t i = 0; s && !h && i < json_array_size(values); i++) {
        const char *cand = json_string_value(json_array_get(values, i));
        if (strcasecmp(cand, s) == 0)
            snprintf(hint, sizeof(hint), "; did you mean %s?", cand);
    }
    char got[160];
    if (s)
        shown(s, got, sizeof(got));
    if (s)
        cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: '%s' is not one of %s%s", c->path, got,
                        list, hint);
    else
        cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: expected one of %s", c->path, list);
}

static void check_number(const json_t *spec, ftype_t t, const json_t *v, checker_t *c)
{
    bool ok = t == FT_INT ? json_is_integer(v) : json_is_number(v);
    if (!ok) {
        cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: expected %s", c->path,
                        t == FT_INT ? "an integer" : "a number");
        return;
    }
    double x = json_number_value(v);
    const json_t *mn = json_object_get(spec, "min"), *mx = json_object_get(spec, "max");
    if ((mn && x < json_number_value(mn)) || (mx && x > json_number_value(mx))) {
        double lo = json_number_value(mn), hi = json_number_value(mx);
        if (mn && mx)
            cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: must be from %.15g to %.15g",
                            c->path, lo, hi);
        else if (mn)
            cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: must be at least %.15g", c->path,
                            lo);
        else
            cvg_errlist_add(c->errs, CVG_EINVAL, c->path, "%s: must be at most %.15g", c->path, hi);
    }
}

static void check_object(const json_t *fields, const json_t *hints, const json_t *v, checker_t *c,
                         bool step_level)
{
    const char *base = c->path;
    if (!json_is_object(v)) {
        cvg_errlist_add(c->errs, CVG_EINVAL, base, "%s: expected a mapping", base);
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        /* common fields, and the classic slips for them, are the
         * pipeline's to check (common/pipeline.c) */
        if (step_level && (cvg_psschema_common_field(key) || cvg_psschema_step_hint(key)[0]))
            continue;
        char p[PATH_MAX_CHARS];
        cvg_path_join(p, sizeof(p), base, key);
        const json_t *fs = json_object_get(fields, key);
        if (fs == NULL) {
            char hint[160];
            suggest(hints, fields, key, hint, sizeof(hint));
            cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: unknown field%s", p, hint);
            continue;
        }
        c->path = p;
        check_value(fs, val, c);
        c->path = base;
    }
    json_object_foreach((json_t *)fields, key, val)
    {
        if (json_is_true(json_object_get(val, "required")) && json_object_get(v, key) == NULL) {
            char p[PATH_MAX_CHARS];
            cvg_path_join(p, sizeof(p), base, key);
            cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: field required", p);
        }
    }
}

static void check_value(const json_t *spec, const json_t *v, checker_t *c)
{
    ftype_t t = type_of(spec);
    const char *base = c->path;
    switch (t) {
    case FT_STRING:
    case FT_TEXT:
    case FT_SQL:
    case FT_IDENT:
    case FT_URI:
        check_string(spec, t, v, c);
        return;
    case FT_INT:
    case FT_NUMBER:
        check_number(spec, t, v, c);
        return;
    case FT_BOOL:
        if (!json_is_boolean(v))
            cvg_errlist_add(c->errs, CVG_EINVAL, base, "%s: must be true or false", base);
        return;
    case FT_ENUM:
        check_enum(spec, v, c);
        return;
    case FT_OBJECT:
        check_object(json_object_get(spec, "fields"), json_object_get(spec, "did_you_mean"), v, c,
                     false);
        return;
    case FT_LIST: {
        if (!json_is_array(v)) {
            cvg_errlist_add(c->errs, CVG_EINVAL, base, "%s: expected a list", base);
            return;
        }
        const json_t *mn = json_object_get(spec, "min_items"),
                     *mx = json_object_get(spec, "max_items");
        size_t n = json_array_size(v);
        if ((mn && (json_int_t)n < json_integer_value(mn)) ||
            (mx && (json_int_t)n > json_integer_value(mx)))
            cvg_errlist_add(c->errs, CVG_EINVAL, base,
                            "%s: %zu items; expected %" JSON_INTEGER_FORMAT
                            " to %" JSON_INTEGER_FORMAT,
                            base, n, mn ? json_integer_value(mn) : 0,
                            mx ? json_integer_value(mx) : (json_int_t)1000000);
        for (size_t i = 0; i < n; i++) {
            char p[PATH_MAX_CHARS];
            snprintf(p, sizeof(p), "%s[%zu]", base, i);
            c->path = p;
            check_value(json_object_get(spec, "items"), json_array_get(v, i), c);
            c->path = base;
        }
        return;
    }
    case FT_MAP: {
        if (!json_is_object(v)) {
            cvg_errlist_add(c->errs, CVG_EINVAL, base, "%s: expected a mapping", base);
            return;
        }
        const json_t *vs = json_object_get(spec, "values");
        json_t *str = json_pack("{s:s}", "type", "string");
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            char p[PATH_MAX_CHARS];
            cvg_path_join(p, sizeof(p), base, key);
            if (!cvg_ident_valid(key, IDENT_MAX)) {
                cvg_errlist_add(c->errs, CVG_EINVAL, p, "%s: not a valid key", p);
                continue;
            }
            c->path = p;
            check_value(vs ? vs : str, val, c);
            c->path = base;
        }
        json_decref(str);
        return;
    }
    }
}

int cvg_psschema_check(const cvg_psschema_t *s, const json_t *step, const char *path,
                       cvg_psschema_ref_fn ref, void *ud, cvg_errlist_t *errs)
{
    size_t before = errs->n + errs->dropped;
    checker_t c = {.ref = ref, .ud = ud, .errs = errs, .path = path};
    check_object(s->fields, s->did_you_mean, step, &c, true);
    return (int)(errs->n + errs->dropped - before);
}

/* ---- resolving a step ---------------------------------------------------- */

static json_t *resolve_value(const json_t *spec, const json_t *v, const cvg_vars_t *vars,
                             const char *path, cvg_errlist_t *errs);

static json_t *resolve_string(const json_t *spec, ftype_t t, const json_t *v,
                              const cvg_vars_t *vars, const char *path, cvg_errlist_t *errs)
{
    const char *s = json_string_value(v);
    if (s == NULL || t == FT_SQL)
        return json_deep_copy(v);
    cvg_buf_t b;
    cvg_buf_init(&b, t == FT_TEXT ? TEXT_MAX : STRING_MAX);
    cvg_err_t err;
    cvg_err_clear(&err);
    json_t *out = NULL;
    int rc = t == FT_IDENT ? cvg_vars_expand_name(vars, s, &b, &err)
                           : cvg_vars_expand(vars, s, &b, &err);
    if (rc != 0) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: %s", path, err.message);
    } else if (t == FT_IDENT && !cvg_ident_valid(cvg_buf_cstr(&b), IDENT_MAX)) {
        cvg_errlist_add(errs, CVG_EINVAL, path,
                        "%s: '%.100s' (after variables) is not an identifier", path,
                        cvg_buf_cstr(&b));
    } else if (t == FT_URI && !scheme_ok(spec, cvg_buf_cstr(&b))) {
        char list[200];
        schemes_text(spec, list, sizeof(list));
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: must be a URI starting with %s", path, list);
    } else if (t == FT_URI && host_missing(cvg_buf_cstr(&b))) {
        cvg_errlist_add(errs, CVG_EINVAL, path,
                        "%s: '%.100s' (after variables) names no host (for s3://, no bucket)", path,
                        cvg_buf_cstr(&b));
    } else if ((t == FT_STRING || t == FT_IDENT || t == FT_URI) &&
               strpbrk(cvg_buf_cstr(&b), "\r\n")) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: must be a single line", path);
    } else {
        out = json_string(cvg_buf_cstr(&b));
    }
    cvg_buf_cleanup(&b);
    return out;
}

static json_t *resolve_fields(const json_t *fields, const json_t *v, const cvg_vars_t *vars,
                              const char *path, cvg_errlist_t *errs, bool step_level)
{
    json_t *out = json_object();
    bool bad = false;
    const char *key;
    json_t *val;
    if (step_level) {
        json_object_foreach((json_t *)v, key, val)
        {
            if (cvg_psschema_common_field(key))
                json_object_set(out, key, val);
        }
    }
    json_object_foreach((json_t *)fields, key, val)
    {
        const json_t *given = json_object_get(v, key);
        const json_t *use = given ? given : json_object_get(val, "default");
        if (use == NULL)
            continue;
        char p[PATH_MAX_CHARS];
        cvg_path_join(p, sizeof(p), path, key);
        json_t *r = resolve_value(val, use, vars, p, errs);
        if (r == NULL)
            bad = true;
        else
            json_object_set_new(out, key, r);
    }
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *resolve_value(const json_t *spec, const json_t *v, const cvg_vars_t *vars,
                             const char *path, cvg_errlist_t *errs)
{
    ftype_t t = type_of(spec);
    if (is_stringy(t))
        return resolve_string(spec, t, v, vars, path, errs);
    if (t == FT_OBJECT)
        return resolve_fields(json_object_get(spec, "fields"), v, vars, path, errs, false);
    if (t == FT_LIST || t == FT_MAP) {
        json_t *out = t == FT_LIST ? json_array() : json_object();
        json_t *str = json_pack("{s:s}", "type", "string");
        const json_t *item = json_object_get(spec, t == FT_LIST ? "items" : "values");
        bool bad = false;
        if (t == FT_LIST) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                char p[PATH_MAX_CHARS];
                snprintf(p, sizeof(p), "%s[%zu]", path, i);
                json_t *r = resolve_value(item, json_array_get(v, i), vars, p, errs);
                bad |= r == NULL;
                if (r)
                    json_array_append_new(out, r);
            }
        } else {
            const char *key;
            json_t *val;
            json_object_foreach((json_t *)v, key, val)
            {
                char p[PATH_MAX_CHARS];
                cvg_path_join(p, sizeof(p), path, key);
                json_t *r = resolve_value(item ? item : str, val, vars, p, errs);
                bad |= r == NULL;
                if (r)
                    json_object_set_new(out, key, r);
            }
        }
        json_decref(str);
        if (bad) {
            json_decref(out);
            return NULL;
        }
        return out;
    }
    return json_deep_copy(v);
}

json_t *cvg_psschema_resolve(const cvg_psschema_t *s, const json_t *step, const cvg_vars_t *vars,
                             const char *path, cvg_errlist_t *errs)
{
    return resolve_fields(s->fields, step, vars, path, errs, true);
}
