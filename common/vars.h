/*
 * Pipeline variables: `{name}` placeholders in config strings and the set of
 * values they resolve to. Sources rank built-ins (never redefined) above
 * runtime parameters, above the tenant's provider settings, above the
 * pipeline's `variables:`; docs/pipelines.md states the rule.
 */
#ifndef CVG_VARS_H
#define CVG_VARS_H

#include "common/buf.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>

#define CVG_VAR_NAME_MAX 64 /* characters in a variable name */

typedef enum cvg_var_source {
    CVG_VAR_PIPELINE = 1, /* the pipeline's variables: (lowest) */
    CVG_VAR_SETTING,      /* the tenant's provider settings */
    CVG_VAR_PARAM,        /* runtime parameters of the run */
    CVG_VAR_BUILTIN       /* tenant_id, pipeline_id, run_id, date, project_id,
                             run_status, run_error (set by the runner before each step) */
} cvg_var_source_t;

typedef struct cvg_var {
    char *name;
    char *value;
    cvg_var_source_t source;
    bool is_int;   /* an int parameter: bound as an integer in SQL */
    char *as_name; /* what it stands for where a name is expected, when that
                      differs (tenant_id: the tenant's dataset), or NULL */
} cvg_var_t;

typedef struct cvg_vars {
    size_t n, cap;
    cvg_var_t *items;
} cvg_vars_t;

/* The built-in names, NULL-terminated. */
extern const char *const cvg_vars_builtins[];

/* True for a built-in name. */
bool cvg_vars_is_builtin(const char *name);

/* True when name can be a variable: [A-Za-z_][A-Za-z0-9_]*, at most 64. */
bool cvg_var_name_ok(const char *name);

/* Sets name from source unless a higher-ranked source already set it.
 * 0, CVG_EINVAL for a bad name, CVG_ENOMEM. */
int cvg_vars_set(cvg_vars_t *v, const char *name, const char *value, cvg_var_source_t source,
                 bool is_int);

/* Sets what the variable called name stands for where a name is expected
 * (a SQL identifier, an identifier field): tenant_id's dataset, whose '-'
 * are '_'. 0, CVG_ENOTFOUND when no such variable, CVG_ENOMEM. */
int cvg_vars_set_name(cvg_vars_t *v, const char *name, const char *as_name);

/* The variable's value where a name is expected. */
const char *cvg_var_name_value(const cvg_var_t *var);

/* The variable called name, or NULL. Borrowed. */
const cvg_var_t *cvg_vars_find(const cvg_vars_t *v, const char *name);

void cvg_vars_cleanup(cvg_vars_t *v);

/*
 * Walks the placeholders of text, calling fn(ud, name, offset, length) for
 * each `{name}` (offset and length cover the braces). A `{` not followed by
 * a variable name and `}` is ordinary text. A non-zero return from fn stops
 * the walk and is returned.
 */
typedef int (*cvg_var_ref_fn)(void *ud, const char *name, size_t offset, size_t length);
int cvg_vars_walk(const char *text, cvg_var_ref_fn fn, void *ud);

/* Appends text to out with every placeholder replaced by its value. An
 * unknown name is CVG_EINVAL naming it (field is set to the name). */
int cvg_vars_expand(const cvg_vars_t *v, const char *text, cvg_buf_t *out, cvg_err_t *err);

/* The same for a text that is a name (an identifier field): each variable
 * gives cvg_var_name_value. */
int cvg_vars_expand_name(const cvg_vars_t *v, const char *text, cvg_buf_t *out, cvg_err_t *err);

#endif
