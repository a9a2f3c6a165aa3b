/*
 * Runtime parameter declarations (see paramdecl.h).
 */
#include "common/paramdecl.h"
#include "common/proto.h"
#include "common/str.h"
#include "common/time.h"
#include "common/utf8.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRING_MAX_DEFAULT 256
#define STRING_MAX_LIMIT   4096

static const struct {
    const char *name;
    cvg_ptype_t type;
} types[] = {
    {"string", CVG_PT_STRING}, {"date", CVG_PT_DATE},        {"timestamp", CVG_PT_TIMESTAMP},
    {"int", CVG_PT_INT},       {"identifier", CVG_PT_IDENT}, {"enum", CVG_PT_ENUM},
};

const char *cvg_ptype_name(cvg_ptype_t t)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (types[i].type == t)
            return types[i].name;
    }
    return "?";
}

const cvg_paramdecl_t *cvg_paramdecl_find(const cvg_paramdecl_t *d, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(d[i].name, name) == 0)
            return &d[i];
    }
    return NULL;
}

int cvg_paramdecl_check(const cvg_paramdecl_t *d, const char *value, char *why, size_t size)
{
    int64_t ms = 0, iv = 0;
    switch (d->type) {
    case CVG_PT_DATE:
        if (strlen(value) != 10 || cvg_time_parse_iso(value, &ms) != 0) {
            snprintf(why, size, "must be a date YYYY-MM-DD");
            return CVG_EINVAL;
        }
        return 0;
    case CVG_PT_TIMESTAMP:
        if (strlen(value) < 19 || cvg_time_parse_iso(value, &ms) != 0) {
            snprintf(why, size, "must be a timestamp YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM]");
            return CVG_EINVAL;
        }
        return 0;
    case CVG_PT_INT:
        /* strtoll would skip leading blanks: a value with blanks is a mistake */
        if (isspace((unsigned char)value[0]) || cvg_parse_int64(value, d->min, d->max, &iv) != 0) {
            snprintf(why, size, "must be an integer from %" PRId64 " to %" PRId64, d->min, d->max);
            return CVG_EINVAL;
        }
        return 0;
    case CVG_PT_IDENT:
        if (!cvg_ident_valid(value, 128)) {
            snprintf(why, size,
                     "must be an identifier: letters, digits and _, not starting with "
                     "a digit, at most 128");
            return CVG_EINVAL;
        }
        return 0;
    case CVG_PT_ENUM:
        for (size_t i = 0; i < json_array_size(d->values); i++) {
            /* values that are not strings were reported when declared */
            const char *v = json_string_value(json_array_get(d->values, i));
            if (v != NULL && strcmp(v, value) == 0)
                return 0;
        }
        /* named, as many as fit: "must be one of eu, us" */
        size_t used = (size_t)snprintf(why, size, "must be one of "), named = 0;
        for (size_t i = 0; i < json_array_size(d->values) && used < size; i++) {
            const char *v = json_string_value(json_array_get(d->values, i));
            if (v != NULL)
                used += (size_t)snprintf(why + used, size - used, "%s%s", named++ ? ", " : "", v);
        }
        if (named == 0)
            snprintf(why, size, "must be one of the declared values");
        return CVG_EINVAL;
    case CVG_PT_STRING:
        /* one line of text, shown as it reads (no bidi overrides) */
        if (!cvg_utf8_plain(value)) {
            snprintf(why, size, "contains a control or bidi character, or is not UTF-8");
            return CVG_EINVAL;
        }
        if (cvg_utf8_chars(value) > d->max_length) {
            snprintf(why, size, "longer than %zu characters", d->max_length);
            return CVG_EINVAL;
        }
        /* what a run's parameter can carry, whatever max_length says */
        if (strlen(value) > CVG_PARAM_VALUE_MAX) {
            snprintf(why, size, "longer than %d bytes of UTF-8", CVG_PARAM_VALUE_MAX);
            return CVG_EINVAL;
        }
        return 0;
    }
    snprintf(why, size, "unknown type");
    return CVG_EINVAL;
}

/* A scalar default in string form. */
static bool scalar_text(const json_t *v, char *out, size_t size)
{
    if (json_is_string(v))
        return cvg_str_copy(out, size, json_string_value(v)) == 0;
    if (json_is_integer(v))
        return snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < (int)size;
    return false;
}

static void parse_one(const char *name, const json_t *spec, cvg_paramdecl_t *d, cvg_errlist_t *errs)
{
    char path[160];
    cvg_path_join(path, sizeof(path), "parameters", name);
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->min = INT64_MIN;
    d->max = INT64_MAX;
    d->max_length = STRING_MAX_DEFAULT;
    if (!cvg_var_name_ok(name)) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: not a valid parameter name", path);
        return;
    }
    if (cvg_vars_is_builtin(name) && strcmp(name, "date") != 0) {
        cvg_errlist_add(errs, CVG_EINVAL, path,
                        "%s: %s is a built-in variable and cannot be a "
                        "parameter",
                        path, name);
        return;
    }
    if (!json_is_object(spec)) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: expected a mapping with a type", path);
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)spec, key, val)
    {
        static const char *const known[] = {"type", "required", "default",    "values",
                                            "min",  "max",      "max_length", "description"};
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok) {
            char f[240];
            cvg_path_join(f, sizeof(f), path, key);
            cvg_errlist_add(errs, CVG_EINVAL, path, "%s: unknown field", f);
        }
    }
    const char *type = json_string_value(json_object_get(spec, "type"));
    for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].name, type) == 0)
            d->type = types[i].type;
    }
    if (d->type == 0) {
        cvg_errlist_add(errs, CVG_EINVAL, path,
                        "%s.type: %s; one of date, timestamp, string, int, identifier, enum", path,
                        type ? "unknown type" : "field required");
        return;
    }
    if (strcmp(name, "date") == 0 && d->type != CVG_PT_DATE)
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s.type: date is always of type date", path);
    json_t *req = json_object_get(spec, "required");
    if (req && !json_is_boolean(req))
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s.required: must be true or false", path);
    d->required = json_is_true(req);
    d->values = json_object_get(spec, "values");
    if (d->type == CVG_PT_ENUM) {
        bool ok = json_is_array(d->values) && json_array_size(d->values) > 0;
        for (size_t i = 0; ok && i < json_array_size(d->values); i++)
            ok = json_is_string(json_array_get(d->values, i));
        if (!ok)
            cvg_errlist_add(errs, CVG_EINVAL, path, "%s.values: a list of strings is required",
                            path);
    } else if (d->values) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s.values: only for type enum", path);
    }
    json_t *mn = json_object_get(spec, "min"), *mx = json_object_get(spec, "max");
    if ((mn || mx) && d->type != CVG_PT_INT)
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: min and max are only for type int", path);
    if ((mn && !json_is_integer(mn)) || (mx && !json_is_integer(mx)))
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: min and max must be integers", path);
    if (json_is_integer(mn))
        d->min = json_integer_value(mn);
    if (json_is_integer(mx))
        d->max = json_integer_value(mx);
    if (json_is_integer(mn) && json_is_integer(mx) && d->min > d->max)
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s.min: %" PRId64 " is greater than max %" PRId64,
                        path, d->min, d->max);
    json_t *ml = json_object_get(spec, "max_length");
    if (ml) {
        if (d->type != CVG_PT_STRING || !json_is_integer(ml) || json_integer_value(ml) < 1 ||
            json_integer_value(ml) > STRING_MAX_LIMIT)
            cvg_errlist_add(errs, CVG_EINVAL, path,
                            "%s.max_length: for type string, an integer from 1 to %d", path,
                            STRING_MAX_LIMIT);
        else
            d->max_length = (size_t)json_integer_value(ml);
    }
    json_t *def = json_object_get(spec, "default");
    if (def) {
        char why[200];
        if (d->required)
            cvg_errlist_add(errs, CVG_EINVAL, path,
                            "%s: required and default exclude each other (a required parameter "
                            "is always given)",
                            path);
        else if (strcmp(name, "date") == 0)
            /* the run's day (or its scheduled slot's) is date's default */
            cvg_errlist_add(errs, CVG_EINVAL, path,
                            "%s.default: date takes no default: a run's date is the day it is "
                            "run for (today in UTC, or a schedule's slot) unless the request "
                            "gives one",
                            path);
        else if (!scalar_text(def, d->default_value, sizeof(d->default_value)))
            cvg_errlist_add(errs, CVG_EINVAL, path, "%s.default: expected a string or integer",
                            path);
        else if (cvg_paramdecl_check(d, d->default_value, why, sizeof(why)) != 0)
            cvg_errlist_add(errs, CVG_EINVAL, path, "%s.default: %s", path, why);
        else
            d->has_default = true;
    } else if (!d->required && strcmp(name, "date") != 0) {
        /* a run without it could not resolve {name}: say so now, not at
         * run time (date defaults to the run's day) */
        cvg_errlist_add(errs, CVG_EINVAL, path,
                        "%s: give it a default or make it required (required: true); a run "
                        "without it could not resolve {%s}",
                        path, name);
    }
}

int cvg_paramdecls_parse(const json_t *node, cvg_paramdecl_t **out, size_t *n, cvg_errlist_t *errs)
{
    *out = NULL;
    *n = 0;
    if (node && !json_is_object(node)) {
        cvg_errlist_add(errs, CVG_EINVAL, "parameters",
                        "parameters: expected a mapping of name: {type: ...}");
        return CVG_EINVAL;
    }
    size_t count = node ? json_object_size(node) : 0;
    cvg_paramdecl_t *d = calloc(count + 1, sizeof(*d));
    if (d == NULL)
        return CVG_ENOMEM;
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)node, key, val)
    {
        parse_one(key, val, &d[i++], errs);
    }
    if (cvg_paramdecl_find(d, i, "date") == NULL) {
        cvg_paramdecl_t *date = &d[i++];
        snprintf(date->name, sizeof(date->name), "date");
        date->type = CVG_PT_DATE;
    }
    *out = d;
    *n = i;
    return 0;
}

json_t *cvg_paramdecl_check_body(const cvg_paramdecl_t *decls, size_t n, const char *pipeline_id,
                                 const json_t *body, const char *today, cvg_errlist_t *errs)
{
    json_t *out = json_object();
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val)
    {
        const cvg_paramdecl_t *d = cvg_paramdecl_find(decls, n, key);
        char name[CVG_PATH_KEY_MAX + 4];
        cvg_path_join(name, sizeof(name), "", key);
        if (d == NULL) {
            cvg_errlist_add(errs, CVG_EINVAL, name, "%s: not a parameter of pipeline %s", name,
                            pipeline_id);
            continue;
        }
        char num[32], why[200];
        const char *text = json_string_value(val);
        if (json_is_integer(val) && d->type == CVG_PT_INT) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
            text = num;
        }
        /* JSON has one kind of number: 1e2 and 100.0 are the integer 100
         * (one past any int64 is told its range by the check) */
        double x = json_real_value(val);
        if (json_is_real(val) && d->type == CVG_PT_INT && isfinite(x) && x == trunc(x)) {
            snprintf(num, sizeof(num), "%.0f", fabs(x) < 1e18 ? x : x > 0 ? 1e19 : -1e19);
            text = num;
        }
        if (text == NULL) {
            cvg_errlist_add(errs, CVG_EINVAL, name, "%s: expected %s, not %s", name,
                            d->type == CVG_PT_INT ? "an integer (a JSON number or string)"
                                                  : "a JSON string",
                            json_is_null(val)                            ? "null"
                            : json_is_boolean(val)                       ? "a boolean"
                            : json_is_real(val) && d->type == CVG_PT_INT ? "a fraction"
                            : json_is_number(val)                        ? "a number"
                            : json_is_array(val)                         ? "a list"
                                                                         : "an object");
            continue;
        }
        if (cvg_paramdecl_check(d, text, why, sizeof(why)) != 0) {
            cvg_errlist_add(errs, CVG_EINVAL, name, "%s: %s", name, why);
            continue;
        }
        int64_t iv;
        if (d->type == CVG_PT_INT && cvg_parse_int64(text, INT64_MIN, INT64_MAX, &iv) == 0)
            json_object_set_new(out, key, json_integer(iv)); /* "007" and "+7" are 7 */
        else
            json_object_set_new(out, key, json_string(text));
    }
    for (size_t i = 0; i < n; i++) {
        const cvg_paramdecl_t *d = &decls[i];
        if (d->required && json_object_get(out, d->name) == NULL &&
            json_object_get(body, d->name) == NULL)
            cvg_errlist_add(errs, CVG_EINVAL, d->name, "%s: required (%s)", d->name,
                            cvg_ptype_name(d->type));
    }
    if (json_object_get(out, "date") == NULL)
        json_object_set_new(out, "date", json_string(today));
    return out;
}
