/*
 * Processor schemas: ps_templates/{provider}/{processor}/config.yml says
 * which fields a step of that ps_type accepts (type, required, default,
 * allowed values, nested fields, hints for common mistakes). Steps are
 * checked against it before anything runs, and resolved through it
 * (defaults filled, variables expanded) before their processor sees them.
 */
#ifndef CVG_PSSCHEMA_H
#define CVG_PSSCHEMA_H

#include "common/err.h"
#include "common/errlist.h"
#include "common/vars.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct cvg_psschema {
    json_t *doc; /* the parsed config.yml, owned */
    const json_t *fields;
    const json_t *did_you_mean; /* step-level hints, may be NULL */
} cvg_psschema_t;

/* Loads the schema of ps_type ("gcp.bq_etl" is gcp/bq_etl/config.yml under
 * templates_dir, each dot a directory) and checks the schema file itself. */
int cvg_psschema_load(const char *templates_dir, const char *ps_type, cvg_psschema_t *out,
                      cvg_err_t *err);

/* Checks a schema document (for tests of hand-written schemas). */
int cvg_psschema_from_json(json_t *doc, const char *name, cvg_psschema_t *out, cvg_err_t *err);

void cvg_psschema_cleanup(cvg_psschema_t *s);

/* Called for every `{name}` a step's strings use, with the field path. A
 * non-zero return adds nothing; the callback records what it needs. */
typedef void (*cvg_psschema_ref_fn)(void *ud, const char *name, const char *path);

/*
 * Checks the processor's fields of a step (the common step fields are the
 * pipeline's business). Every problem goes to errs with its path under
 * `path` ("steps[1]"). Returns the number of problems added.
 */
int cvg_psschema_check(const cvg_psschema_t *s, const json_t *step, const char *path,
                       cvg_psschema_ref_fn ref, void *ud, cvg_errlist_t *errs);

/*
 * The step as its processor sees it: a new object with defaults filled in,
 * variables expanded in every string except `sql` fields (which the
 * processor renders with bound parameters), and identifier and uri fields
 * checked again after expansion. NULL with errs filled when a value is bad.
 */
json_t *cvg_psschema_resolve(const cvg_psschema_t *s, const json_t *step, const cvg_vars_t *vars,
                             const char *path, cvg_errlist_t *errs);

/* True for the fields every step has (step_id, ps_type, trigger, ...). */
bool cvg_psschema_common_field(const char *name);

/* For a step field the originals' users often wrote instead of a common
 * one ("id", "type", ...): "; did you mean step_id?" and the like; else "". */
const char *cvg_psschema_step_hint(const char *name);

#endif
