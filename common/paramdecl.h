/*
 * Runtime parameters a pipeline declares under `parameters:`: a name, a type
 * (date, timestamp, string, int, identifier, enum), and either required or
 * a default (only `date` may have neither: it defaults to the run's day).
 * A run accepts only declared parameters, each checked against its type;
 * `date` is always declared (type date, defaulting to the run's date).
 */
#ifndef CVG_PARAMDECL_H
#define CVG_PARAMDECL_H

#include "common/err.h"
#include "common/errlist.h"
#include "common/vars.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_PARAM_DEFAULT_MAX 256 /* characters of a default value */

typedef enum cvg_ptype {
    CVG_PT_STRING = 1,
    CVG_PT_DATE,
    CVG_PT_TIMESTAMP,
    CVG_PT_INT,
    CVG_PT_IDENT,
    CVG_PT_ENUM
} cvg_ptype_t;

typedef struct cvg_paramdecl {
    char name[CVG_VAR_NAME_MAX + 1];
    cvg_ptype_t type;
    bool required;
    bool has_default;
    char default_value[CVG_PARAM_DEFAULT_MAX + 1];
    const json_t *values; /* enum: the allowed strings, borrowed from the doc */
    int64_t min, max;     /* int bounds */
    size_t max_length;    /* string: longest value (default 256) */
} cvg_paramdecl_t;

/* Parses the `parameters:` mapping (node may be NULL) into a new array with
 * `date` added when missing; every problem goes to errs with its path. */
int cvg_paramdecls_parse(const json_t *node, cvg_paramdecl_t **out, size_t *n, cvg_errlist_t *errs);

/* The declaration called name, or NULL. */
const cvg_paramdecl_t *cvg_paramdecl_find(const cvg_paramdecl_t *d, size_t n, const char *name);

/* Checks a value against its declaration; why gets the reason. */
int cvg_paramdecl_check(const cvg_paramdecl_t *d, const char *value, char *why, size_t size);

/* A run request's JSON body as the run's parameters: each key declared
 * (else "not a parameter of pipeline <pipeline_id>"), each value of its
 * type (an int as a JSON number, an integral real or a string; the others
 * as strings), every required one present; an int comes back as a number,
 * the others as strings, and `date` is today when not given. Every problem
 * goes to errs with its name; the object is returned all the same. */
json_t *cvg_paramdecl_check_body(const cvg_paramdecl_t *decls, size_t n, const char *pipeline_id,
                                 const json_t *body, const char *today, cvg_errlist_t *errs);

/* The type's name ("date", ...). */
const char *cvg_ptype_name(cvg_ptype_t t);

#endif
