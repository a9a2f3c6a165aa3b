/*
 * Pipeline variables (see vars.h).
 */
#include "common/vars.h"

#include <stdlib.h>
#include <string.h>

const char *const cvg_vars_builtins[] = {"tenant_id",  "pipeline_id", "run_id",    "date",
                                         "project_id", "run_status",  "run_error", NULL};

bool cvg_vars_is_builtin(const char *name)
{
    for (size_t i = 0; cvg_vars_builtins[i]; i++) {
        if (strcmp(cvg_vars_builtins[i], name) == 0)
            return true;
    }
    return false;
}

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

bool cvg_var_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CVG_VAR_NAME_MAX || !name_start(name[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!name_char(name[i]))
            return false;
    }
    return true;
}

static cvg_var_t *find(const cvg_vars_t *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->items[i].name, name) == 0)
            return &v->items[i];
    }
    return NULL;
}

const cvg_var_t *cvg_vars_find(const cvg_vars_t *v, const char *name)
{
    return find(v, name);
}

int cvg_vars_set(cvg_vars_t *v, const char *name, const char *value, cvg_var_source_t source,
                 bool is_int)
{
    if (!cvg_var_name_ok(name) || value == NULL)
        return CVG_EINVAL;
    cvg_var_t *cur = find(v, name);
    if (cur && cur->source > source)
        return 0;
    char *copy = strdup(value);
    if (copy == NULL)
        return CVG_ENOMEM;
    if (cur == NULL) {
        if (v->n == v->cap) {
            size_t cap = v->cap ? v->cap * 2 : 16;
            cvg_var_t *items = realloc(v->items, cap * sizeof(*items));
            if (items == NULL) {
                free(copy);
                return CVG_ENOMEM;
            }
            v->items = items;
            v->cap = cap;
        }
        cur = &v->items[v->n];
        cur->name = strdup(name);
        if (cur->name == NULL) {
            free(copy);
            return CVG_ENOMEM;
        }
        cur->value = NULL;
        cur->as_name = NULL;
        v->n++;
    }
    free(cur->value);
    free(cur->as_name);
    cur->as_name = NULL;
    cur->value = copy;
    cur->source = source;
    cur->is_int = is_int;
    return 0;
}

int cvg_vars_set_name(cvg_vars_t *v, const char *name, const char *as_name)
{
    cvg_var_t *cur = find(v, name);
    if (cur == NULL)
        return CVG_ENOTFOUND;
    char *copy = NULL;
    if (strcmp(as_name, cur->value) != 0 && (copy = strdup(as_name)) == NULL)
        return CVG_ENOMEM;
    free(cur->as_name);
    cur->as_name = copy;
    return 0;
}

const char *cvg_var_name_value(const cvg_var_t *var)
{
    return var->as_name ? var->as_name : var->value;
}

void cvg_vars_cleanup(cvg_vars_t *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->items[i].name);
        free(v->items[i].value);
        free(v->items[i].as_name);
    }
    free(v->items);
    memset(v, 0, sizeof(*v));
}

int cvg_vars_walk(const char *text, cvg_var_ref_fn fn, void *ud)
{
    for (size_t i = 0; text[i]; i++) {
        if (text[i] != '{' || !name_start(text[i + 1]))
            continue;
        size_t j = i + 1;
        while (j - i <= CVG_VAR_NAME_MAX && name_char(text[j]))
            j++;
        if (text[j] != '}' || j - i - 1 > CVG_VAR_NAME_MAX)
            continue;
        char name[CVG_VAR_NAME_MAX + 1];
        memcpy(name, text + i + 1, j - i - 1);
        name[j - i - 1] = '\0';
        int rc = fn(ud, name, i, j - i + 1);
        if (rc != 0)
            return rc;
        i = j;
    }
    return 0;
}

typedef struct expand {
    const cvg_vars_t *vars;
    const char *text;
    size_t done; /* text consumed so far */
    cvg_buf_t *out;
    cvg_err_t *err;
    bool name; /* the text is a name: cvg_var_name_value */
} expand_t;

static int expand_one(void *ud, const char *name, size_t offset, size_t length)
{
    expand_t *x = ud;
    const cvg_var_t *var = find(x->vars, name);
    if (var == NULL)
        return cvg_err_set(x->err, CVG_EINVAL, name, "unknown variable {%s}", name);
    if (cvg_buf_append(x->out, x->text + x->done, offset - x->done) != 0 ||
        cvg_buf_puts(x->out, x->name ? cvg_var_name_value(var) : var->value) != 0)
        return cvg_err_set(x->err, CVG_ETOOBIG, name, "value too long after expanding {%s}", name);
    x->done = offset + length;
    return 0;
}

static int expand(const cvg_vars_t *v, const char *text, cvg_buf_t *out, cvg_err_t *err, bool name)
{
    expand_t x = {.vars = v, .text = text, .out = out, .err = err, .name = name};
    int rc = cvg_vars_walk(text, expand_one, &x);
    if (rc != 0)
        return rc;
    if (cvg_buf_puts(out, text + x.done) != 0)
        return cvg_err_set(err, CVG_ETOOBIG, "", "value too long after expanding variables");
    return 0;
}

int cvg_vars_expand(const cvg_vars_t *v, const char *text, cvg_buf_t *out, cvg_err_t *err)
{
    return expand(v, text, out, err, false);
}

int cvg_vars_expand_name(const cvg_vars_t *v, const char *text, cvg_buf_t *out, cvg_err_t *err)
{
    return expand(v, text, out, err, true);
}
